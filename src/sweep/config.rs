//! The sweep configuration (JSON) and its validation.
//!
//! Every field is checked before anything runs; a bad value gives a [`ConfigError`] naming the
//! field and the fix. Unknown fields are rejected (a typo must not silently fall back to a
//! default). Example files: `data/sweeps/*.json`, documented in `data/README.md`.

use serde::{Deserialize, Serialize};

/// The task whose data the student fits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// JSON: `{"teacher_student": {"d": 5, "teacher_width": 3}}` or `{"xor": {"noise": 0.15}}`
/// (externally tagged: serde_json's `arbitrary_precision` cannot buffer numbers through an
/// internally tagged enum).
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Task {
    /// P1 Fig. 1: a ReLU teacher with `teacher_width` neurons, inputs on S^{d−1}.
    TeacherStudent {
        /// Input dimension d.
        d: usize,
        /// Teacher width k (P1: 3).
        teacher_width: usize,
    },
    /// P1 Fig. 5: the XOR-like 2-D clusters of [`crate::models::teacher_student::xor_data`].
    Xor {
        /// Cluster noise level s.
        #[serde(default = "default_xor_noise")]
        noise: f64,
    },
}

fn default_xor_noise() -> f64 {
    crate::models::teacher_student::XOR_DEFAULT_NOISE
}

impl Task {
    /// Input dimension.
    pub fn d(&self) -> usize {
        match self {
            Task::TeacherStudent { d, .. } => *d,
            Task::Xor { .. } => 2,
        }
    }
    /// Short name.
    pub fn name(&self) -> &'static str {
        match self {
            Task::TeacherStudent { .. } => "teacher_student",
            Task::Xor { .. } => "xor",
        }
    }
}

fn default_gamma() -> f64 {
    0.0
}
fn default_loss() -> String {
    "half-sum".into()
}
fn default_method() -> String {
    "tsit45".into()
}
fn default_max_steps() -> usize {
    1_000_000
}

/// A τ × (δ or α) × seeds sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// Name (used in titles).
    pub name: String,
    /// The task.
    pub task: Task,
    /// Student width h (even: the initialisation is symmetrised in pairs).
    pub h: usize,
    /// Training points n.
    pub n: usize,
    /// Fresh test points.
    pub n_test: usize,
    /// Leaky slope γ ∈ [0, 1) (0 = ReLU, P1 Fig. 1).
    #[serde(default = "default_gamma")]
    pub gamma: f64,
    /// Loss normalisation: "half-sum" (½Σ, P1 theory), "half-mean" (1/(2n)Σ) or "mean"
    /// ((1/n)Σ, the seed code's objective).
    #[serde(default = "default_loss")]
    pub loss: String,
    /// Initial scales τ > 0.
    pub tau: Vec<f64>,
    /// Conserved quantities δ (give exactly one of `delta` and `alpha`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<Vec<f64>>,
    /// The paper's α > 0 (δ = τ²(α² − α⁻²); the seed code's α is 1/α).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<Vec<f64>>,
    /// Seeds: each fixes the teacher, the data and the student's base directions.
    pub seeds: Vec<u64>,
    /// Checkpoint times (≥ 0, strictly increasing), in flow time of the chosen loss.
    pub checkpoints: Vec<f64>,
    /// If true, the cell at scale τ records its checkpoints at t/τ² (the seed code trains
    /// with learning rate c/τ², so its step counts are times ∝ 1/τ²).
    #[serde(default)]
    pub times_over_tau_squared: bool,
    /// Integration method: "bdf", "esdirk34", "tr-bdf2" or "tsit45".
    #[serde(default = "default_method")]
    pub method: String,
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Step limit per cell.
    #[serde(default = "default_max_steps")]
    pub max_steps: usize,
}

/// A configuration that cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("sweep config: {field}: {why}")]
pub struct ConfigError {
    /// The offending field.
    pub field: String,
    /// What is wrong and how to fix it.
    pub why: String,
}

fn bad(field: &str, why: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        why: why.into(),
    }
}

/// The second grid axis: δ directly, or α (δ = τ²(α² − α⁻²) per cell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondAxis {
    /// Values are δ.
    Delta,
    /// Values are the paper's α.
    Alpha,
}

impl SecondAxis {
    /// Axis label.
    pub fn label(self) -> &'static str {
        match self {
            SecondAxis::Delta => "δ",
            SecondAxis::Alpha => "α",
        }
    }
}

impl SweepConfig {
    /// Parse and validate a JSON configuration.
    ///
    /// # Errors
    /// [`ConfigError`] naming the field (or the JSON syntax error) and the fix.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let cfg: SweepConfig = serde_json::from_str(text).map_err(|e| bad("JSON", e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Canonical JSON (pretty, stable field order).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("invariant: config serialises")
    }

    /// The second axis and its values.
    pub fn second_axis(&self) -> (SecondAxis, &[f64]) {
        match (&self.delta, &self.alpha) {
            (Some(d), _) => (SecondAxis::Delta, d),
            (None, Some(a)) => (SecondAxis::Alpha, a),
            (None, None) => (SecondAxis::Delta, &[]),
        }
    }

    /// Number of cells: |τ| · |δ or α| · |seeds|.
    pub fn n_cells(&self) -> usize {
        self.tau.len() * self.second_axis().1.len() * self.seeds.len()
    }

    /// Check every field.
    ///
    /// # Errors
    /// [`ConfigError`] for the first bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.name.trim().is_empty() {
            return Err(bad("name", "must not be empty"));
        }
        match &self.task {
            Task::TeacherStudent { d, teacher_width } => {
                if *d == 0 {
                    return Err(bad("task.d", "the input dimension must be ≥ 1"));
                }
                if *teacher_width == 0 {
                    return Err(bad("task.teacher_width", "the teacher needs ≥ 1 neuron (P1: 3)"));
                }
            }
            Task::Xor { noise } => {
                if !(noise.is_finite() && *noise >= 0.0) {
                    return Err(bad(
                        "task.noise",
                        format!("{noise} must be a finite number ≥ 0 (e.g. 0.15)"),
                    ));
                }
            }
        }
        if self.h == 0 || self.h % 2 == 1 {
            return Err(bad(
                "h",
                format!("{} must be even and ≥ 2 (neurons are initialised in ± pairs)", self.h),
            ));
        }
        if self.n == 0 {
            return Err(bad("n", "needs at least 1 training point"));
        }
        if self.n_test == 0 {
            return Err(bad("n_test", "needs at least 1 test point"));
        }
        if !(self.gamma.is_finite() && (0.0..1.0).contains(&self.gamma)) {
            return Err(bad(
                "gamma",
                format!("{} must satisfy 0 ≤ γ < 1 (0 = ReLU)", self.gamma),
            ));
        }
        if !["half-sum", "half-mean", "mean"].contains(&self.loss.as_str()) {
            return Err(bad(
                "loss",
                format!("\"{}\" is not one of \"half-sum\", \"half-mean\", \"mean\"", self.loss),
            ));
        }
        if !["bdf", "esdirk34", "tr-bdf2", "tsit45"].contains(&self.method.as_str()) {
            return Err(bad(
                "method",
                format!(
                    "\"{}\" is not one of \"bdf\", \"esdirk34\", \"tr-bdf2\", \"tsit45\"",
                    self.method
                ),
            ));
        }
        list("tau", &self.tau, |v| v > 0.0, "every τ must be a finite number > 0")?;
        match (&self.delta, &self.alpha) {
            (Some(_), Some(_)) => return Err(bad("delta/alpha", "give one of `delta` and `alpha`, not both")),
            (None, None) => return Err(bad("delta/alpha", "give the second grid axis as `delta` or `alpha`")),
            (Some(d), None) => list("delta", d, |_| true, "every δ must be finite")?,
            (None, Some(a)) => list("alpha", a, |v| v > 0.0, "every α must be a finite number > 0")?,
        }
        if self.seeds.is_empty() {
            return Err(bad("seeds", "give at least one seed"));
        }
        if has_duplicates(&self.seeds) {
            return Err(bad("seeds", "seeds must be distinct"));
        }
        list(
            "checkpoints",
            &self.checkpoints,
            |v| v >= 0.0,
            "every time must be finite and ≥ 0",
        )?;
        if self.checkpoints.windows(2).any(|w| w[1] <= w[0]) {
            return Err(bad("checkpoints", "times must be strictly increasing"));
        }
        for (name, v) in [("rtol", self.rtol), ("atol", self.atol)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(name, format!("{v} must be a finite number > 0 (e.g. 1e-8)")));
            }
        }
        if self.max_steps == 0 {
            return Err(bad("max_steps", "must be ≥ 1"));
        }
        Ok(())
    }
}

fn has_duplicates<T: PartialEq>(v: &[T]) -> bool {
    v.iter().enumerate().any(|(i, a)| v[..i].contains(a))
}

fn list(field: &str, v: &[f64], ok: impl Fn(f64) -> bool, why: &str) -> Result<(), ConfigError> {
    if v.is_empty() {
        return Err(bad(field, "give at least one value"));
    }
    if let Some(x) = v.iter().find(|x| !(x.is_finite() && ok(**x))) {
        return Err(bad(field, format!("{x}: {why}")));
    }
    if v.iter().enumerate().any(|(i, a)| v[..i].iter().any(|b| b == a)) {
        return Err(bad(field, "values must be distinct"));
    }
    Ok(())
}
