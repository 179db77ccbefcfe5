//! Grokking on modular addition: steps to generalisation against α (P1 Fig. 6, the grokking
//! panel; P1 App. D.3).
//!
//! **Task.** All p² pairs (a, b) ∈ Z_p², label (a + b) mod p; a seeded random split puts
//! ⌊f·p²⌋ pairs in the training set (f = `train_fraction`) and the rest in the test set
//! ([`split`]). Input: the one-hot pair [e_a; e_b] ∈ R^{2p}.
//!
//! **Network.** A 2-layer bias-free ReLU MLP 2p → `width` → p ([`super::mlp`]), He-normal weights
//! with the first layer (the embedding of the two tokens) divided by α. P1 uses a one-layer
//! transformer with its embeddings divided by α; a 2-layer MLP on one-hot pairs also groks
//! this task (Gromov 2023; Liu et al. 2022) and fits the budget of 2 cores.
//!
//! **Training.** Full-batch AdamW (Loshchilov & Hutter 2019: decoupled weight decay
//! θ ← θ − lr(m̂/(√v̂ + ε) + λθ)) on softmax cross-entropy: grokking is documented with AdamW and
//! weight decay (Power et al. 2022, the setting P1 follows); plain GD at a stable step with
//! weight decay would make "time" depend on the α-dependent kernel size, while Adam's update
//! does not scale with the gradient, so α acts through the initial weights only.
//!
//! **Measured.** Test and training accuracy every `eval_every` steps; the step to generalisation
//! is the first evaluated step with test accuracy ≥ `threshold`, the step to memorisation the
//! first with training accuracy ≥ `threshold`. A run that does not reach the threshold within
//! `steps` is **censored**: its value is `null` and it is counted and drawn at the budget, never
//! dropped.

use super::mlp::{self, Mlp};
use super::{Experiment, Kind, PointResult, PointSpec, RunRecord, run_seed};
use crate::report::plot::{PlotError, Series, SeriesStyle};
use faer::Mat;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Seeds per point.
    pub seeds: usize,
    /// Modulus p.
    pub p: usize,
    /// Fraction of the p² pairs used for training.
    pub train_fraction: f64,
    /// Hidden width.
    pub width: usize,
    /// AdamW step size.
    pub lr: f64,
    /// AdamW decoupled weight decay λ.
    pub weight_decay: f64,
    /// Step budget.
    pub steps: usize,
    /// Evaluate accuracies every this many steps.
    pub eval_every: usize,
    /// Accuracy threshold for "generalised" / "memorised".
    pub threshold: f64,
    /// α values.
    pub alphas: Vec<f64>,
}

impl Settings {
    /// `--quick`.
    pub fn quick() -> Self {
        Settings {
            seeds: 2,
            p: 23,
            train_fraction: 0.7,
            width: 128,
            lr: 0.01,
            weight_decay: 1.0,
            steps: 2500,
            eval_every: 10,
            threshold: 0.95,
            alphas: vec![0.1, 1.0, 10.0],
        }
    }

    /// Test-sized settings (a fraction of a second): for the end-to-end tests only.
    pub fn tiny() -> Self {
        Settings {
            seeds: 2,
            p: 5,
            width: 8,
            steps: 40,
            eval_every: 5,
            alphas: vec![0.5, 2.0],
            ..Self::quick()
        }
    }

    /// The full settings.
    pub fn full() -> Self {
        Settings {
            seeds: 6,
            p: 31,
            train_fraction: 0.6,
            steps: 5000,
            alphas: vec![0.1, 0.3, 1.0, 3.0, 10.0],
            ..Self::quick()
        }
    }
}

/// A list of pairs (a, b).
pub type Pairs = Vec<(usize, usize)>;

/// The seeded train/test split of the p² pairs: (train, test) lists of (a, b), disjoint, their
/// union every pair; the training list has ⌊f·p²⌋ pairs.
pub fn split(p: usize, train_fraction: f64, rng: &mut impl rand::Rng) -> (Pairs, Pairs) {
    let mut pairs: Pairs = (0..p * p).map(|k| (k / p, k % p)).collect();
    pairs.shuffle(rng);
    let n_train = (train_fraction * (p * p) as f64).floor() as usize;
    let test = pairs.split_off(n_train);
    (pairs, test)
}

/// One-hot inputs and labels (a + b) mod p of `pairs`.
pub fn encode(p: usize, pairs: &[(usize, usize)]) -> (Mat<f64>, Vec<usize>) {
    let x = Mat::from_fn(pairs.len(), 2 * p, |i, j| {
        let (a, b) = pairs[i];
        if j == a || j == p + b { 1.0 } else { 0.0 }
    });
    (x, pairs.iter().map(|(a, b)| (a + b) % p).collect())
}

impl Experiment for Settings {
    fn kind(&self) -> Kind {
        Kind::Grokking
    }
    fn settings_json(&self) -> Value {
        serde_json::to_value(self).expect("settings serialise")
    }
    fn validate(&self) -> Result<(), String> {
        use super::{positive, positive_list};
        for (n, v) in [
            ("seeds", self.seeds),
            ("width", self.width),
            ("steps", self.steps),
            ("eval_every", self.eval_every),
        ] {
            positive(n, v)?;
        }
        if self.p < 2 {
            return Err(format!("setting p = {}: the modulus must be at least 2", self.p));
        }
        let n_train = (self.train_fraction * (self.p * self.p) as f64).floor() as usize;
        if !(n_train >= 1 && n_train < self.p * self.p) {
            return Err(format!(
                "setting train_fraction = {}: leaves no training or no test pair of the {} pairs; give a value in (0, 1)",
                self.train_fraction,
                self.p * self.p
            ));
        }
        positive_list("alphas", &self.alphas)?;
        positive_list("lr", &[self.lr])?;
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(format!(
                "setting weight_decay = {}: give a finite value ≥ 0",
                self.weight_decay
            ));
        }
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(format!(
                "setting threshold = {}: give an accuracy in (0, 1]",
                self.threshold
            ));
        }
        Ok(())
    }
    fn seeds(&self) -> usize {
        self.seeds
    }
    fn points(&self) -> Vec<PointSpec> {
        self.alphas
            .iter()
            .map(|&al| PointSpec {
                params: vec![("alpha".into(), al)],
            })
            .collect()
    }

    fn run(&self, point: usize, seed_index: usize) -> RunRecord {
        let alpha = self.points()[point].params[0].1;
        let seed = run_seed(seed_index);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (train, test) = split(self.p, self.train_fraction, &mut rng);
        let (x, y) = encode(self.p, &train);
        let (xt, yt) = encode(self.p, &test);
        let model = Mlp::new(&[2 * self.p, self.width, self.p]);
        let mut w = model.init(&mut rng, alpha, 1.0);
        let mut grad = model.zeros();
        let mut m1 = model.zeros();
        let mut m2 = model.zeros();
        let mut ws = model.workspace(train.len());
        let mut ws_t = model.workspace(test.len());
        let (b1, b2, eps) = (0.9f64, 0.98f64, 1e-8);
        let mut grok = None;
        let mut memo = None;
        let mut test_acc = Vec::new();
        let mut train_acc = Vec::new();
        let mut steps_at = Vec::new();
        let record_every = (self.steps / 100).max(self.eval_every);
        let (mut last_train, mut last_test) = (0.0, 0.0);
        for step in 0..=self.steps {
            let eval = step % self.eval_every == 0 || step == self.steps;
            model.forward(&w, x.as_ref(), &mut ws);
            let (_, correct) = mlp::cross_entropy(&mut ws, &y, true);
            if eval {
                last_train = correct as f64 / y.len() as f64;
                model.forward(&w, xt.as_ref(), &mut ws_t);
                let (_, ct) = mlp::cross_entropy(&mut ws_t, &yt, false);
                last_test = ct as f64 / yt.len() as f64;
                if memo.is_none() && last_train >= self.threshold {
                    memo = Some(step as f64);
                }
                if grok.is_none() && last_test >= self.threshold {
                    grok = Some(step as f64);
                }
                if step % record_every == 0 || step == self.steps {
                    steps_at.push(step as f64);
                    test_acc.push(last_test);
                    train_acc.push(last_train);
                }
            }
            if step == self.steps {
                break;
            }
            model.backward(&w, x.as_ref(), &mut ws, &mut grad);
            let t = (step + 1) as i32;
            let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
            for l in 0..w.len() {
                let (wl, gl, al, bl) = (&mut w[l], &grad[l], &mut m1[l], &mut m2[l]);
                for j in 0..wl.ncols() {
                    for i in 0..wl.nrows() {
                        let g = gl[(i, j)];
                        al[(i, j)] = b1 * al[(i, j)] + (1.0 - b1) * g;
                        bl[(i, j)] = b2 * bl[(i, j)] + (1.0 - b2) * g * g;
                        let upd = (al[(i, j)] / c1) / ((bl[(i, j)] / c2).sqrt() + eps);
                        wl[(i, j)] -= self.lr * (upd + self.weight_decay * wl[(i, j)]);
                    }
                }
            }
        }
        let mut values = BTreeMap::new();
        values.insert("grok_step".into(), grok);
        values.insert("memorise_step".into(), memo);
        values.insert("censored".into(), Some(f64::from(u8::from(grok.is_none()))));
        values.insert("final_test_accuracy".into(), Some(last_test));
        values.insert("final_train_accuracy".into(), Some(last_train));
        let mut series = BTreeMap::new();
        series.insert("step".into(), steps_at);
        series.insert("test_accuracy".into(), test_acc);
        series.insert("train_accuracy".into(), train_acc);
        RunRecord {
            index: point * self.seeds + seed_index,
            point,
            seed,
            values,
            series,
        }
    }

    fn figures(&self, points: &[PointResult]) -> Result<Vec<(String, String)>, PlotError> {
        use super::{alpha_label, curve, figure, panel, with_error_bars};
        let mut steps = with_error_bars(
            "test acc. ≥ threshold (grokked seeds)",
            &curve(points, "alpha", "grok_step", &[]),
            0,
            true,
        );
        steps.extend(with_error_bars(
            "train acc. ≥ threshold",
            &curve(points, "alpha", "memorise_step", &[]),
            1,
            true,
        ));
        let censored: Vec<(f64, f64)> = points
            .iter()
            .flat_map(|p| {
                let n = p
                    .metrics
                    .get("grok_step")
                    .map_or(0, |s| s.values.iter().filter(|v| v.is_none()).count());
                std::iter::repeat_n((p.params["alpha"], self.steps as f64), n)
            })
            .collect();
        if !censored.is_empty() {
            steps.push(Series {
                label: format!("censored run (no grok in {} steps)", self.steps),
                points: censored,
                style: SeriesStyle::OpenMarkers,
                color_index: 6,
            });
        }
        let mut curves = Vec::new();
        for (c, p) in points.iter().enumerate() {
            let (Some(st), Some(acc)) = (p.series.get("step"), p.series.get("test_accuracy")) else {
                continue;
            };
            let pts: Vec<(f64, f64)> = st
                .iter()
                .zip(acc)
                .filter_map(|(t, a)| Some((t.mean?, a.mean?)))
                .collect();
            curves.push(Series {
                label: alpha_label(p.params["alpha"]),
                points: pts,
                style: SeriesStyle::Line,
                color_index: c,
            });
        }
        let fig = figure(
            &format!(
                "Grokking (a+b) mod {}, MLP 2p→{}→p, AdamW wd {}, {:.0}% train — cf. P1 Fig. 6",
                self.p,
                self.width,
                self.weight_decay,
                100.0 * self.train_fraction
            ),
            vec![
                panel(
                    &format!("time to generalisation (threshold {:.0}%)", 100.0 * self.threshold),
                    "α (first layer ÷ α; > 1 upstream)",
                    "AdamW steps",
                    steps,
                    true,
                    true,
                ),
                panel(
                    "test accuracy (mean over seeds)",
                    "AdamW step",
                    "test accuracy (fraction)",
                    curves,
                    false,
                    false,
                ),
            ],
        );
        Ok(vec![(
            "grokking.svg".to_string(),
            crate::report::plot::render_svg(&fig)?,
        )])
    }
}
