//! α-scaling in a deep ReLU MLP: kernel distance and test error against α and the overall scale
//! (P1 Fig. 6, the kernel-distance panel; P1 App. D.3).
//!
//! **Task.** Teacher f*(x) = K^{−1/2} Σ_k a_k ReLU(u_kᵀx) with K units, u_k uniform on the unit
//! sphere, a_k = ±1; inputs x ~ N(0, I_d); labels y = f*(x) (no noise). Student: a bias-free
//! ReLU MLP of `hidden_layers` hidden layers of width `width` and a scalar output ([`super::mlp`]),
//! He-normal weights times `scale`, the first layer divided by α.
//!
//! **Training.** Full-batch gradient descent on ℓ = (1/2n)Σ(f − y)² for `steps` steps. Step size
//! η = c / (tr K_t / n_probe), with K_t the empirical NTK on the probe set (the first `n_probe`
//! training points), recomputed every `lr_every` steps: the linearised GD is stable while
//! η λ_max(JJᵀ/n) < 2 and λ_max(JJᵀ/n) ≤ mean_i ‖∇f(x_i)‖² = tr K/n, so c < 2 keeps every α and
//! scale stable at the start, and α's that change the kernel's size by orders of magnitude all
//! take steps of comparable effect in function space (a plain fixed step would be unstable for
//! α ≪ 1 or frozen for α ≫ 1). Step counts, not times, are therefore comparable across points.
//!
//! **Measured.** S(0,t) = 1 − ⟨K0,Kt⟩_F/(‖K0‖_F‖Kt‖_F) of the empirical NTK on the probe set
//! ([`crate::metrics::piecewise_linear::kernel_distance_of`]), and the relative test error
//! Σ(f − y)²/Σy² on `n_test` fresh points, at every checkpoint; a run whose loss becomes
//! non-finite is recorded as diverged (its values `null`).

use super::mlp::{self, Mlp};
use super::{Experiment, Kind, PointResult, PointSpec, RunRecord, run_seed};
use crate::metrics::piecewise_linear::kernel_distance_of;
use crate::report::plot::PlotError;
use faer::{Mat, MatRef};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Seeds per point.
    pub seeds: usize,
    /// Input dimension d.
    pub d: usize,
    /// Teacher units K.
    pub teacher_units: usize,
    /// Hidden layers of the student.
    pub hidden_layers: usize,
    /// Hidden width.
    pub width: usize,
    /// Training samples n.
    pub n_train: usize,
    /// Test samples.
    pub n_test: usize,
    /// Probe samples for the NTK (the first ones of the training set).
    pub n_probe: usize,
    /// GD steps.
    pub steps: usize,
    /// Checkpoints (equally spaced; the step size is re-derived at each).
    pub checkpoints: usize,
    /// c in η = c/(tr K/n_probe).
    pub step_factor: f64,
    /// Re-derive η from the probe kernel every this many steps.
    pub lr_every: usize,
    /// α values (first layer divided by α).
    pub alphas: Vec<f64>,
    /// Overall scales of the initial weights.
    pub scales: Vec<f64>,
}

impl Settings {
    /// `--quick`.
    pub fn quick() -> Self {
        Settings {
            seeds: 2,
            d: 16,
            teacher_units: 4,
            hidden_layers: 3,
            width: 64,
            n_train: 128,
            n_test: 1024,
            n_probe: 64,
            steps: 3000,
            checkpoints: 15,
            step_factor: 0.5,
            lr_every: 20,
            alphas: vec![0.1, 1.0, 10.0],
            scales: vec![0.5, 1.0, 2.0],
        }
    }

    /// Test-sized settings (a fraction of a second): for the end-to-end tests only.
    pub fn tiny() -> Self {
        Settings {
            seeds: 2,
            d: 4,
            width: 8,
            n_train: 16,
            n_test: 32,
            n_probe: 8,
            steps: 40,
            checkpoints: 4,
            alphas: vec![0.5, 2.0],
            scales: vec![1.0],
            ..Self::quick()
        }
    }

    /// The full settings.
    pub fn full() -> Self {
        Settings {
            seeds: 6,
            n_train: 256,
            steps: 6000,
            checkpoints: 20,
            alphas: vec![0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0],
            scales: vec![0.5, 1.0, 2.0],
            ..Self::quick()
        }
    }
}

fn data(rng: &mut ChaCha8Rng, s: &Settings, n: usize, u: &[Vec<f64>], a: &[f64]) -> (Mat<f64>, Mat<f64>) {
    let x = Mat::from_fn(n, s.d, |_, _| StandardNormal.sample(rng));
    let norm = (s.teacher_units as f64).sqrt();
    let y = Mat::from_fn(n, 1, |i, _| {
        u.iter()
            .zip(a)
            .map(|(uk, ak)| ak * (0..s.d).map(|j| uk[j] * x[(i, j)]).sum::<f64>().max(0.0))
            .sum::<f64>()
            / norm
    });
    (x, y)
}

fn rel_error(model: &Mlp, p: &mlp::Params, x: MatRef<'_, f64>, y: MatRef<'_, f64>, ws: &mut mlp::Workspace) -> f64 {
    model.forward(p, x, ws);
    let f = ws.output();
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..y.nrows() {
        num += (f[(i, 0)] - y[(i, 0)]).powi(2);
        den += y[(i, 0)].powi(2);
    }
    num / den
}

impl Experiment for Settings {
    fn kind(&self) -> Kind {
        Kind::AlphaScaling
    }
    fn settings_json(&self) -> Value {
        serde_json::to_value(self).expect("settings serialise")
    }
    fn validate(&self) -> Result<(), String> {
        use super::{positive, positive_list};
        for (n, v) in [
            ("seeds", self.seeds),
            ("d", self.d),
            ("teacher_units", self.teacher_units),
            ("hidden_layers", self.hidden_layers),
            ("width", self.width),
            ("n_test", self.n_test),
            ("n_probe", self.n_probe),
            ("steps", self.steps),
            ("checkpoints", self.checkpoints),
            ("lr_every", self.lr_every),
        ] {
            positive(n, v)?;
        }
        if self.n_probe > self.n_train {
            return Err(format!(
                "n_probe = {} > n_train = {}: the probe set is part of the training set",
                self.n_probe, self.n_train
            ));
        }
        positive_list("alphas", &self.alphas)?;
        positive_list("scales", &self.scales)?;
        positive_list("step_factor", &[self.step_factor])
    }
    fn seeds(&self) -> usize {
        self.seeds
    }
    fn points(&self) -> Vec<PointSpec> {
        self.scales
            .iter()
            .flat_map(|&sc| {
                self.alphas.iter().map(move |&al| PointSpec {
                    params: vec![("alpha".into(), al), ("scale".into(), sc)],
                })
            })
            .collect()
    }

    fn run(&self, point: usize, seed_index: usize) -> RunRecord {
        let spec = &self.points()[point];
        let (alpha, scale) = (spec.params[0].1, spec.params[1].1);
        let seed = run_seed(seed_index);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let u: Vec<Vec<f64>> = (0..self.teacher_units)
            .map(|_| {
                let v: Vec<f64> = (0..self.d).map(|_| StandardNormal.sample(&mut rng)).collect();
                let n = v.iter().map(|t| t * t).sum::<f64>().sqrt();
                v.iter().map(|t| t / n).collect()
            })
            .collect();
        let a: Vec<f64> = (0..self.teacher_units)
            .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
            .collect();
        let (x, y) = data(&mut rng, self, self.n_train, &u, &a);
        let (xt, yt) = data(&mut rng, self, self.n_test, &u, &a);
        let probe = x.as_ref().subrows(0, self.n_probe);
        let mut widths = vec![self.d];
        widths.extend(std::iter::repeat_n(self.width, self.hidden_layers));
        widths.push(1);
        let model = Mlp::new(&widths);
        let mut p = model.init(&mut rng, alpha, scale);
        let mut grad = model.zeros();
        let mut ws = model.workspace(self.n_train);
        let mut ws_test = model.workspace(self.n_test);
        let k0 = model.ntk(&p, probe);
        let mut kd = Vec::with_capacity(self.checkpoints + 1);
        let mut te = Vec::with_capacity(self.checkpoints + 1);
        let mut steps_at = Vec::with_capacity(self.checkpoints + 1);
        let mut lr = 0.0;
        let mut diverged = false;
        let mut train_loss = f64::NAN;
        for step in 0..=self.steps {
            let check = step % (self.steps / self.checkpoints).max(1) == 0 || step == self.steps;
            if check || step % self.lr_every == 0 {
                let kt = model.ntk(&p, probe);
                let tr = (0..self.n_probe).map(|i| kt[i * self.n_probe + i]).sum::<f64>() / self.n_probe as f64;
                lr = self.step_factor / tr;
                if check {
                    kd.push(kernel_distance_of(&k0, &kt));
                    te.push(rel_error(&model, &p, xt.as_ref(), yt.as_ref(), &mut ws_test));
                    steps_at.push(step as f64);
                }
            }
            if step == self.steps {
                break;
            }
            model.forward(&p, x.as_ref(), &mut ws);
            train_loss = mlp::mse(&mut ws, y.as_ref(), true);
            if !train_loss.is_finite() || !lr.is_finite() {
                diverged = true;
                break;
            }
            model.backward(&p, x.as_ref(), &mut ws, &mut grad);
            for (w, g) in p.iter_mut().zip(&grad) {
                *w -= faer::Scale(lr) * g;
            }
        }
        let last = |v: &[f64]| v.last().copied().filter(|t| t.is_finite() && !diverged);
        let mut values = BTreeMap::new();
        values.insert("kernel_distance".into(), last(&kd));
        values.insert("test_rel_error".into(), last(&te));
        values.insert("train_loss".into(), (!diverged).then_some(train_loss));
        values.insert("diverged".into(), Some(f64::from(u8::from(diverged))));
        let mut series = BTreeMap::new();
        series.insert("step".into(), steps_at);
        series.insert("kernel_distance".into(), kd);
        series.insert("test_rel_error".into(), te);
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
        let mut s_final = Vec::new();
        let mut err_final = Vec::new();
        for (c, &sc) in self.scales.iter().enumerate() {
            let label = format!("scale {sc}");
            s_final.extend(with_error_bars(
                &label,
                &curve(points, "alpha", "kernel_distance", &[("scale", sc)]),
                c,
                false,
            ));
            err_final.extend(with_error_bars(
                &label,
                &curve(points, "alpha", "test_rel_error", &[("scale", sc)]),
                c,
                true,
            ));
        }
        // Trajectories at the middle scale.
        let mid = self.scales[self.scales.len() / 2];
        let mut traj = Vec::new();
        for (c, p) in points.iter().filter(|p| p.params["scale"] == mid).enumerate() {
            let (Some(st), Some(kd)) = (p.series.get("step"), p.series.get("kernel_distance")) else {
                continue;
            };
            let pts: Vec<(f64, f64, f64)> = st
                .iter()
                .zip(kd)
                .filter_map(|(t, k)| Some((t.mean?, k.mean?, k.stderr.unwrap_or(0.0))))
                .collect();
            traj.extend(with_error_bars(&alpha_label(p.params["alpha"]), &pts, c, false));
        }
        let w = self.width;
        let depth = self.hidden_layers + 1;
        let fig = figure(
            &format!(
                "α-scaling, depth-{depth} ReLU MLP (width {w}), teacher task, GD {} steps — cf. P1 Fig. 6 (kernel distance)",
                self.steps
            ),
            vec![
                panel(
                    "kernel distance after training",
                    "α (first layer ÷ α; > 1 upstream)",
                    "S(0,T) (dimensionless)",
                    s_final,
                    true,
                    false,
                ),
                panel(
                    "test error after training",
                    "α (first layer ÷ α; > 1 upstream)",
                    "Σ(f−y)²/Σy² (relative)",
                    err_final,
                    true,
                    true,
                ),
                panel(
                    &format!("kernel distance during training (scale {mid})"),
                    "GD step",
                    "S(0,t) (dimensionless)",
                    traj,
                    false,
                    false,
                ),
            ],
        );
        Ok(vec![(
            "alpha_scaling.svg".to_string(),
            crate::report::plot::render_svg(&fig)?,
        )])
    }
}
