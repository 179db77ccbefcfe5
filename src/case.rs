//! Case files: the inputs of one experiment, as JSON (CLI contract, issue 2).
//!
//! ```json
//! {"model": "single_neuron", "x": [[1, 0], [0, 1]], "y": ["0", "1"], "a0": 1, "w0": [-1, 0],
//!  "eta_a": 1, "eta_w": 1, "times": [0, 1, 2.5]}
//! ```
//!
//! Every number may be a JSON number or a decimal string; both are kept as text ([`Num`]) so that
//! arbitrary-precision code parses them exactly at its working precision. The `"model"` field
//! selects the model; each model has its own fields. Parsing validates shapes and finiteness; the
//! model constructors validate the rest (rates > 0 and so on).

use crate::num::decimal::Num;
use serde::Serialize;
use serde_json::Value;

/// Largest square matrix (in numbers) a case may make the models build: 2^26 ≈ 6.7e7 numbers,
/// 512 MiB in f64 (a side of 8,192); more is refused when the case is read, before any
/// allocation (a single neuron with d = 10⁶ asked for 8 TB and aborted).
pub const MAX_MATRIX_ELEMENTS: usize = 1 << 26;

/// The fields of each model besides `"model"` (required and optional).
fn model_fields(model: &str) -> Option<&'static [&'static str]> {
    Some(match model {
        "single_neuron" => &["x", "y", "a0", "w0", "eta_a", "eta_w", "times"],
        "lambda_balanced" => &["x", "y", "w1_0", "w2_0", "tau", "times"],
        "two_layer_linear" => &["x", "y", "a0", "w0", "eta_a", "eta_w", "times"],
        "deep_linear" => &["x", "y", "weights0", "etas", "times"],
        "piecewise_linear" => &["x", "y", "a0", "w0", "gamma", "eta_a", "eta_w", "times", "loss"],
        _ => return None,
    })
}

/// The first key that occurs twice in one JSON object of `text` (any depth), if any; `None`
/// also for text that is not JSON (the parser reports that).
fn first_duplicate_key(text: &str) -> Option<String> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::cell::RefCell;
    struct Walk<'a>(&'a RefCell<Option<String>>);
    impl<'de> DeserializeSeed<'de> for Walk<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Walk<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
            while a.next_element_seed(Walk(self.0))?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(k) = m.next_key::<String>()? {
                if !seen.insert(k.clone()) && self.0.borrow().is_none() {
                    *self.0.borrow_mut() = Some(k);
                }
                m.next_value_seed(Walk(self.0))?;
            }
            Ok(())
        }
    }
    let found = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let _ = Walk(&found).deserialize(&mut de);
    found.into_inner()
}

/// Errors from reading a case.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CaseError {
    /// Not valid JSON.
    #[error("case is not valid JSON ({detail}): check the file's syntax")]
    Json {
        /// Parser message.
        detail: String,
    },
    /// Missing field.
    #[error("case has no field \"{field}\": add it (see README, 'Case files')")]
    Missing {
        /// Field name.
        field: String,
    },
    /// Wrong type or shape in a field.
    #[error("case field \"{field}\": {problem}")]
    Field {
        /// Field path.
        field: String,
        /// What is wrong and what is expected.
        problem: String,
    },
    /// Unknown model name.
    #[error("unknown model \"{model}\": supported models are: {supported}")]
    UnknownModel {
        /// The name found.
        model: String,
        /// Supported names.
        supported: String,
    },
}

/// Single-neuron case (P1 §3): f(x) = a·wᵀx.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SingleNeuronCase {
    /// Data rows x_i (n × d).
    pub x: Vec<Vec<Num>>,
    /// Targets (n).
    pub y: Vec<Num>,
    /// Initial a.
    pub a0: Num,
    /// Initial w (d).
    pub w0: Vec<Num>,
    /// Learning rate of a.
    pub eta_a: Num,
    /// Learning rate of w.
    pub eta_w: Num,
    /// Output times (≥ 0, non-decreasing).
    pub times: Vec<Num>,
}

/// λ-balanced two-layer linear network case (P2; `docs/theory.md` §4): ŷ = W2·W1·x, loss
/// (1/2P)Σ‖W2W1x − y‖², flow τẆ = −∇L (τ = 1/learning rate).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LambdaBalancedCase {
    /// Data X, d_i×P (columns are samples).
    pub x: Vec<Vec<Num>>,
    /// Targets Y, d_o×P.
    pub y: Vec<Vec<Num>>,
    /// Initial W1, h×d_i.
    pub w1_0: Vec<Vec<Num>>,
    /// Initial W2, d_o×h.
    pub w2_0: Vec<Vec<Num>>,
    /// Time constant τ = 1/learning rate (> 0).
    pub tau: Num,
    /// Output times (≥ 0, non-decreasing).
    pub times: Vec<Num>,
}

/// Wide two-layer linear case (P1 §4): f(x) = AᵀWx.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TwoLayerLinearCase {
    /// Data rows x_i (n × d).
    pub x: Vec<Vec<Num>>,
    /// Target rows y_i (n × c).
    pub y: Vec<Vec<Num>>,
    /// Initial A (h × c).
    pub a0: Vec<Vec<Num>>,
    /// Initial W (h × d).
    pub w0: Vec<Vec<Num>>,
    /// Learning rate of A.
    pub eta_a: Num,
    /// Learning rate of W.
    pub eta_w: Num,
    /// Output times (≥ 0, non-decreasing).
    pub times: Vec<Num>,
}

/// Deep linear case (P1 App. B): f(x) = AᵀW_L⋯W_1x.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeepLinearCase {
    /// Data rows x_i (n × d).
    pub x: Vec<Vec<Num>>,
    /// Target rows y_i (n × c).
    pub y: Vec<Vec<Num>>,
    /// Initial layers, first layer first (W_1: h_1 × d, …), the last one A (h_L × c).
    pub weights0: Vec<Vec<Vec<Num>>>,
    /// One learning rate per layer, in the same order.
    pub etas: Vec<Num>,
    /// Output times (≥ 0, non-decreasing).
    pub times: Vec<Num>,
}

/// Two-layer piecewise-linear case (P1 §5, `docs/theory.md` §3): f(x) = aᵀσ(Wx), σ(z) = max(z, γz).
///
/// The loss is L = c·Σ_i (f(x_i) − y_i)² with c from the optional field `"loss"`:
/// `"half-sum"` (c = ½, P1's theory and eqs. 9–10; the default), `"half-mean"` (c = 1/(2n),
/// issue 6's problem R) or `"mean"` (c = 1/n, the seed code's Fig. 1 objective, whose time runs
/// ×2/n relative to ½Σ; `docs/theory.md` §5.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PiecewiseLinearCase {
    /// Data rows x_i (n × d).
    pub x: Vec<Vec<Num>>,
    /// Targets y_i (n).
    pub y: Vec<Num>,
    /// Initial a (h).
    pub a0: Vec<Num>,
    /// Initial W (h × d).
    pub w0: Vec<Vec<Num>>,
    /// Leaky slope γ ∈ [0, 1) (0 = ReLU).
    pub gamma: Num,
    /// Learning rate of a.
    pub eta_a: Num,
    /// Learning rate of W.
    pub eta_w: Num,
    /// Output times (≥ 0, non-decreasing).
    pub times: Vec<Num>,
    /// Loss normalisation: "half-sum" (default), "half-mean" or "mean".
    pub loss: String,
}

/// A parsed case.
#[derive(Debug, Clone, PartialEq)]
pub enum Case {
    /// `"model": "single_neuron"`.
    SingleNeuron(SingleNeuronCase),
    /// `"model": "lambda_balanced"`.
    LambdaBalanced(LambdaBalancedCase),
    /// `"model": "two_layer_linear"`.
    TwoLayerLinear(TwoLayerLinearCase),
    /// `"model": "deep_linear"`.
    DeepLinear(DeepLinearCase),
    /// `"model": "piecewise_linear"`.
    PiecewiseLinear(PiecewiseLinearCase),
}

/// Names accepted in the `"model"` field.
pub const SUPPORTED_MODELS: &[&str] = &[
    "single_neuron",
    "lambda_balanced",
    "two_layer_linear",
    "deep_linear",
    "piecewise_linear",
];

impl Case {
    /// Parse a case from JSON text.
    ///
    /// # Errors
    /// [`CaseError`] naming the field and the problem.
    pub fn from_json(text: &str) -> Result<Case, CaseError> {
        let case = Self::parse(text)?;
        case.check_size()?;
        Ok(case)
    }

    /// The largest square matrix the models build for this case (XᵀX, the layer Gram matrices,
    /// Σ̃_xx, …): its side and what it is, so that an absurd size is refused before any model
    /// allocates it.
    fn largest_square(&self) -> (usize, &'static str) {
        let cols = |m: &[Vec<Num>]| m.first().map_or(0, Vec::len);
        match self {
            Case::SingleNeuron(c) => (cols(&c.x), "d (XᵀX is d×d)"),
            Case::TwoLayerLinear(c) => (cols(&c.x).max(c.w0.len()).max(cols(&c.y)), "max(d, h, c)"),
            Case::DeepLinear(c) => (
                c.weights0
                    .iter()
                    .flat_map(|w| [w.len(), cols(w)])
                    .max()
                    .unwrap_or(0)
                    .max(cols(&c.x)),
                "the widest layer",
            ),
            Case::LambdaBalanced(c) => (c.x.len().max(c.w1_0.len()).max(c.y.len()), "max(d_i, h, d_o)"),
            Case::PiecewiseLinear(c) => (cols(&c.x), "d"),
        }
    }

    /// Refuse a case whose largest square matrix exceeds [`MAX_MATRIX_ELEMENTS`] numbers.
    fn check_size(&self) -> Result<(), CaseError> {
        let (side, what) = self.largest_square();
        let elements = side.saturating_mul(side);
        if elements > MAX_MATRIX_ELEMENTS {
            return Err(CaseError::Field {
                field: "(dimensions)".into(),
                problem: format!(
                    "{what} = {side} needs a {side}×{side} matrix ({:.1e} numbers, {:.1e} bytes), above this \
                     tool's limit of {MAX_MATRIX_ELEMENTS} numbers per matrix: use a smaller case",
                    elements as f64,
                    elements as f64 * 8.0
                ),
            });
        }
        Ok(())
    }

    fn parse(text: &str) -> Result<Case, CaseError> {
        let v: Value = serde_json::from_str(text).map_err(|e| CaseError::Json { detail: e.to_string() })?;
        if let Some(key) = first_duplicate_key(text) {
            return Err(CaseError::Field {
                field: key,
                problem: "appears twice in one object (JSON keeps only one of them): keep one".into(),
            });
        }
        let obj = v.as_object().ok_or_else(|| CaseError::Field {
            field: "(top level)".into(),
            problem: "expected a JSON object {\"model\": ..., ...}".into(),
        })?;
        let model = obj
            .get("model")
            .ok_or_else(|| CaseError::Missing { field: "model".into() })?
            .as_str()
            .ok_or_else(|| CaseError::Field {
                field: "model".into(),
                problem: "expected a string such as \"single_neuron\"".into(),
            })?;
        if let Some(known) = model_fields(model) {
            if let Some(k) = obj
                .keys()
                .find(|k| k.as_str() != "model" && !known.contains(&k.as_str()))
            {
                let near = known
                    .iter()
                    .find(|f| f.eq_ignore_ascii_case(k))
                    .map_or(String::new(), |f| format!(" (did you mean \"{f}\"?)"));
                return Err(CaseError::Field {
                    field: k.clone(),
                    problem: format!(
                        "is not a field of model \"{model}\"{near}: its fields are {}; remove or rename it",
                        known.join(", ")
                    ),
                });
            }
        }
        match model {
            "single_neuron" => Ok(Case::SingleNeuron(SingleNeuronCase {
                x: matrix(&v, "x")?,
                y: vector(&v, "y")?,
                a0: scalar(&v, "a0")?,
                w0: vector(&v, "w0")?,
                eta_a: scalar(&v, "eta_a")?,
                eta_w: scalar(&v, "eta_w")?,
                times: vector(&v, "times")?,
            })),
            "lambda_balanced" => Ok(Case::LambdaBalanced(LambdaBalancedCase {
                x: matrix(&v, "x")?,
                y: matrix(&v, "y")?,
                w1_0: matrix(&v, "w1_0")?,
                w2_0: matrix(&v, "w2_0")?,
                tau: scalar(&v, "tau")?,
                times: vector(&v, "times")?,
            })),
            "two_layer_linear" => Ok(Case::TwoLayerLinear(TwoLayerLinearCase {
                x: matrix(&v, "x")?,
                y: matrix(&v, "y")?,
                a0: matrix(&v, "a0")?,
                w0: matrix(&v, "w0")?,
                eta_a: scalar(&v, "eta_a")?,
                eta_w: scalar(&v, "eta_w")?,
                times: vector(&v, "times")?,
            })),
            "deep_linear" => {
                let layers = field(&v, "weights0")?.as_array().ok_or_else(|| CaseError::Field {
                    field: "weights0".into(),
                    problem: "expected a list of layer matrices (each a list of rows)".into(),
                })?;
                let weights0 = layers
                    .iter()
                    .enumerate()
                    .map(|(k, l)| matrix_of(l, &format!("weights0[{k}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Case::DeepLinear(DeepLinearCase {
                    x: matrix(&v, "x")?,
                    y: matrix(&v, "y")?,
                    weights0,
                    etas: vector(&v, "etas")?,
                    times: vector(&v, "times")?,
                }))
            }
            "piecewise_linear" => {
                let loss = match v.get("loss") {
                    None => "half-sum".to_string(),
                    Some(Value::String(s)) if ["half-sum", "half-mean", "mean"].contains(&s.as_str()) => s.clone(),
                    Some(other) => {
                        return Err(CaseError::Field {
                            field: "loss".into(),
                            problem: format!(
                                "{other} is not a loss normalisation: use \"half-sum\" (½Σ), \"half-mean\" (1/(2n)Σ) or \"mean\" (1/nΣ)"
                            ),
                        });
                    }
                };
                Ok(Case::PiecewiseLinear(PiecewiseLinearCase {
                    x: matrix(&v, "x")?,
                    y: vector(&v, "y")?,
                    a0: vector(&v, "a0")?,
                    w0: matrix(&v, "w0")?,
                    gamma: scalar(&v, "gamma")?,
                    eta_a: scalar(&v, "eta_a")?,
                    eta_w: scalar(&v, "eta_w")?,
                    times: vector(&v, "times")?,
                    loss,
                }))
            }
            other => Err(CaseError::UnknownModel {
                model: other.into(),
                supported: SUPPORTED_MODELS.join(", "),
            }),
        }
    }

    /// The model name.
    pub fn model_name(&self) -> &'static str {
        match self {
            Case::SingleNeuron(_) => "single_neuron",
            Case::LambdaBalanced(_) => "lambda_balanced",
            Case::TwoLayerLinear(_) => "two_layer_linear",
            Case::DeepLinear(_) => "deep_linear",
            Case::PiecewiseLinear(_) => "piecewise_linear",
        }
    }

    /// Serialize back to JSON (numbers as decimal strings, so nothing is lost).
    pub fn to_json(&self) -> String {
        let mut v = match self {
            Case::SingleNeuron(c) => serde_json::to_value(c),
            Case::LambdaBalanced(c) => serde_json::to_value(c),
            Case::TwoLayerLinear(c) => serde_json::to_value(c),
            Case::DeepLinear(c) => serde_json::to_value(c),
            Case::PiecewiseLinear(c) => serde_json::to_value(c),
        }
        .expect("invariant: case serializes");
        v["model"] = Value::String(self.model_name().into());
        serde_json::to_string_pretty(&v).expect("invariant: value serializes")
    }
}

impl LambdaBalancedCase {
    /// Build a case from f64 matrices (each number written as the shortest decimal that
    /// round-trips, so the case holds exactly these binary64 values).
    ///
    /// # Errors
    /// [`CaseError::Field`] for a non-finite entry.
    pub fn from_f64(
        x: &nalgebra::DMatrix<f64>,
        y: &nalgebra::DMatrix<f64>,
        w1_0: &nalgebra::DMatrix<f64>,
        w2_0: &nalgebra::DMatrix<f64>,
        tau: f64,
        times: &[f64],
    ) -> Result<Self, CaseError> {
        let n = |v: f64, field: &str| {
            Num::from_f64(v).map_err(|e| CaseError::Field {
                field: field.into(),
                problem: e.to_string(),
            })
        };
        let m = |a: &nalgebra::DMatrix<f64>, field: &str| -> Result<Vec<Vec<Num>>, CaseError> {
            (0..a.nrows())
                .map(|i| (0..a.ncols()).map(|j| n(a[(i, j)], field)).collect())
                .collect()
        };
        Ok(LambdaBalancedCase {
            x: m(x, "x")?,
            y: m(y, "y")?,
            w1_0: m(w1_0, "w1_0")?,
            w2_0: m(w2_0, "w2_0")?,
            tau: n(tau, "tau")?,
            times: times.iter().map(|&t| n(t, "times")).collect::<Result<_, _>>()?,
        })
    }
    /// A matrix field as f64 (`nrows` × `ncols` from the rows; ragged rows are an error).
    ///
    /// # Errors
    /// [`CaseError::Field`] for an empty or ragged matrix.
    pub fn matrix_f64(rows: &[Vec<Num>], field: &str) -> Result<nalgebra::DMatrix<f64>, CaseError> {
        let r = rows.len();
        let c = rows.first().map_or(0, Vec::len);
        if r == 0 || c == 0 {
            return Err(CaseError::Field {
                field: field.into(),
                problem: "expected a non-empty matrix (a list of rows)".into(),
            });
        }
        if let Some(i) = rows.iter().position(|row| row.len() != c) {
            return Err(CaseError::Field {
                field: format!("{field}[{i}]"),
                problem: format!(
                    "row has {} entries but row 0 has {c}: every row needs the same length",
                    rows[i].len()
                ),
            });
        }
        Ok(nalgebra::DMatrix::from_fn(r, c, |i, j| rows[i][j].to_f64()))
    }
    /// Times as f64.
    pub fn times_f64(&self) -> Vec<f64> {
        self.times.iter().map(Num::to_f64).collect()
    }
}

impl SingleNeuronCase {
    /// Data rows as f64.
    pub fn x_f64(&self) -> Vec<Vec<f64>> {
        self.x.iter().map(|r| r.iter().map(Num::to_f64).collect()).collect()
    }
    /// Targets as f64.
    pub fn y_f64(&self) -> Vec<f64> {
        self.y.iter().map(Num::to_f64).collect()
    }
    /// w0 as f64.
    pub fn w0_f64(&self) -> Vec<f64> {
        self.w0.iter().map(Num::to_f64).collect()
    }
    /// Times as f64.
    pub fn times_f64(&self) -> Vec<f64> {
        self.times.iter().map(Num::to_f64).collect()
    }
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, CaseError> {
    v.get(name).ok_or_else(|| CaseError::Missing { field: name.into() })
}

fn num(v: &Value, path: &str) -> Result<Num, CaseError> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => {
            return Err(CaseError::Field {
                field: path.into(),
                problem: format!("expected a number or a decimal string, found {v}"),
            });
        }
    };
    Num::parse(&text).map_err(|e| CaseError::Field {
        field: path.into(),
        problem: e.to_string(),
    })
}

fn scalar(v: &Value, name: &str) -> Result<Num, CaseError> {
    num(field(v, name)?, name)
}

fn vector_of(v: &Value, path: &str) -> Result<Vec<Num>, CaseError> {
    let arr = v.as_array().ok_or_else(|| CaseError::Field {
        field: path.into(),
        problem: "expected a list of numbers".into(),
    })?;
    arr.iter()
        .enumerate()
        .map(|(i, e)| num(e, &format!("{path}[{i}]")))
        .collect()
}

fn vector(v: &Value, name: &str) -> Result<Vec<Num>, CaseError> {
    vector_of(field(v, name)?, name)
}

fn matrix(v: &Value, name: &str) -> Result<Vec<Vec<Num>>, CaseError> {
    matrix_of(field(v, name)?, name)
}

fn matrix_of(v: &Value, name: &str) -> Result<Vec<Vec<Num>>, CaseError> {
    let arr = v.as_array().ok_or_else(|| CaseError::Field {
        field: name.into(),
        problem: "expected a list of rows (a list of lists of numbers)".into(),
    })?;
    arr.iter()
        .enumerate()
        .map(|(i, r)| vector_of(r, &format!("{name}[{i}]")))
        .collect()
}

/// A matrix of [`Num`] as f64 rows.
pub fn f64_rows(m: &[Vec<Num>]) -> Vec<Vec<f64>> {
    m.iter().map(|r| r.iter().map(Num::to_f64).collect()).collect()
}

/// A list of [`Num`] as f64.
pub fn f64_vec(v: &[Num]) -> Vec<f64> {
    v.iter().map(Num::to_f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"model":"single_neuron","x":[[1,0],[0,1]],"y":["0.1",1],
        "a0":1,"w0":[-1,0],"eta_a":1,"eta_w":"2","times":[0,1]}"#;

    /// A misspelt field and a duplicated key are refused, naming the key (and the near miss);
    /// a nested duplicate is found too; the good case still parses.
    #[test]
    fn unknown_and_duplicate_fields_are_refused() {
        let misspelt = GOOD.replace("\"eta_w\"", "\"eta_W\"");
        let e = Case::from_json(&misspelt).unwrap_err().to_string();
        assert!(e.contains("eta_W") && e.contains("did you mean \"eta_w\""), "{e}");
        let dup = GOOD.replace("\"a0\":1", "\"a0\":1,\"a0\":2");
        let e = Case::from_json(&dup).unwrap_err().to_string();
        assert!(e.contains("\"a0\"") && e.contains("twice"), "{e}");
        let nested = r#"{"model":"deep_linear","x":[[1]],"y":[[1]],"weights0":[[[1]],[[1]]],"etas":[1,1],
            "times":[0],"extra":{"k":1,"k":2}}"#;
        let e = Case::from_json(nested).unwrap_err().to_string();
        assert!(e.contains("\"k\"") && e.contains("twice"), "{e}");
        assert!(Case::from_json(GOOD).is_ok());
    }

    #[test]
    fn parses_and_round_trips() {
        let c = Case::from_json(GOOD).unwrap();
        let Case::SingleNeuron(sn) = &c else {
            panic!("single_neuron case")
        };
        assert_eq!(sn.y[0].as_str(), "0.1");
        assert_eq!(sn.eta_w.to_f64(), 2.0);
        let again = Case::from_json(&c.to_json()).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn long_json_numbers_keep_their_digits() {
        let t = GOOD.replace("\"a0\":1", "\"a0\":0.12345678901234567890123456789");
        let Case::SingleNeuron(sn) = Case::from_json(&t).unwrap() else {
            panic!("single_neuron case")
        };
        assert_eq!(sn.a0.as_str(), "0.12345678901234567890123456789");
    }

    #[test]
    fn errors_name_the_field() {
        let e = Case::from_json(&GOOD.replace("\"a0\":1,", "")).unwrap_err();
        assert_eq!(e, CaseError::Missing { field: "a0".into() });
        let e = Case::from_json(&GOOD.replace("\"0.1\"", "\"NaN\"")).unwrap_err();
        assert!(e.to_string().contains("y[0]"), "{e}");
        let e = Case::from_json(&GOOD.replace("single_neuron", "resnet")).unwrap_err();
        assert!(matches!(e, CaseError::UnknownModel { .. }));
        assert!(matches!(Case::from_json("{not json"), Err(CaseError::Json { .. })));
    }

    #[test]
    fn linear_cases_parse_and_round_trip() {
        let t = r#"{"model":"two_layer_linear","x":[[1,0,0]],"y":[[1,"0.5"]],"a0":[[1,0]],
            "w0":[[0,1,0]],"eta_a":1,"eta_w":2,"times":[0,1]}"#;
        let c = Case::from_json(t).unwrap();
        let Case::TwoLayerLinear(tl) = &c else {
            panic!("wrong model")
        };
        assert_eq!(tl.y[0][1].as_str(), "0.5");
        assert_eq!(Case::from_json(&c.to_json()).unwrap(), c);
        let t = r#"{"model":"deep_linear","x":[[1,0]],"y":[[1]],"weights0":[[[1,0]],[[2]],[[3]]],
            "etas":[1,1,1],"times":[0]}"#;
        let c = Case::from_json(t).unwrap();
        let Case::DeepLinear(dl) = &c else {
            panic!("wrong model")
        };
        assert_eq!(dl.weights0.len(), 3);
        assert_eq!(Case::from_json(&c.to_json()).unwrap(), c);
        let e = Case::from_json(&t.replace("[[3]]]", "[[\"x\"]]]")).unwrap_err();
        assert!(e.to_string().contains("weights0[2][0][0]"), "{e}");
    }
}
