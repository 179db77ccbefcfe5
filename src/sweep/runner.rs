//! The cell runner of the teacher–student and XOR sweeps, and the d = 2 trajectories of
//! P1 Fig. 1a.
//!
//! One cell: data and base directions of its seed ([`crate::models::teacher_student`]), the
//! symmetrised initialisation at (τ, δ) (η_a = η_w = 1), the gradient flow of
//! [`PiecewiseLinear`] with the configured loss normalisation, integrated by
//! [`crate::flow::integrate`] to the checkpoints, and at each checkpoint the metrics of
//! [`crate::metrics::piecewise_linear`]: training loss, test loss (mean of (f − y)² over the fresh
//! test set, as the seed code), kernel distances S(0, t) of the η-weighted NTK and of the
//! unweighted ΦΦᵀ, Hamming distance of the activation patterns and parameter distance, plus the
//! per-neuron conservation defect max_k |δ_k(t) − δ_k(0)|/(1 + a_k(0)² + ‖w_k(0)‖²).
//!
//! Seed data are built once per seed (lazily, shared by every cell of that seed). Each cell
//! builds its own model (models hold scratch buffers and are not shared between threads).

use super::{Cell, CellRecord, CellRunner, Checkpoint, SweepConfig, Task};
use crate::flow::{self, FlowOptions, Method};
use crate::metrics::piecewise_linear::{self as pm, Kernel};
use crate::models::piecewise_linear::{LossScale, PiecewiseLinear};
use crate::models::teacher_student::{self as ts, Dataset};
use crate::models::{GradientFlowModel, ParameterFlow};
use std::sync::OnceLock;

/// Data shared by every cell of one seed.
#[derive(Debug)]
struct SeedData {
    data: Dataset,
    /// Student base directions, (h/2) × d row-major.
    dirs: Vec<f64>,
}

/// Runs the cells of one validated [`SweepConfig`].
#[derive(Debug)]
pub struct SweepRunner<'c> {
    cfg: &'c SweepConfig,
    scale: LossScale,
    opts: FlowOptions,
    seeds: Vec<OnceLock<Result<SeedData, String>>>,
}

/// The flow method and options of a config.
fn flow_options(cfg: &SweepConfig) -> Result<FlowOptions, String> {
    let method: Method = cfg.method.parse().map_err(|e: flow::FlowError| e.to_string())?;
    let mut opts = FlowOptions::new(method).with_tol(cfg.rtol, cfg.atol);
    opts.max_steps = cfg.max_steps;
    Ok(opts)
}

/// Build the data of one seed for `cfg`'s task.
fn seed_data(cfg: &SweepConfig, seed: u64) -> Result<SeedData, String> {
    let d = cfg.task.d();
    let data = match cfg.task {
        Task::TeacherStudent { d, teacher_width } => {
            ts::teacher_student_data(seed, d, teacher_width, cfg.n, cfg.n_test).map(|(_, data)| data)
        }
        Task::Xor { noise } => ts::xor_data(seed, cfg.n, cfg.n_test, noise),
    }
    .map_err(|e| e.to_string())?;
    let dirs = ts::base_directions(seed, cfg.h, d).map_err(|e| e.to_string())?;
    Ok(SeedData { data, dirs })
}

impl<'c> SweepRunner<'c> {
    /// A runner for `cfg`.
    ///
    /// # Errors
    /// A message if the config is invalid.
    pub fn new(cfg: &'c SweepConfig) -> Result<Self, super::ConfigError> {
        cfg.validate()?;
        let bad = |field: &str, why: String| super::ConfigError {
            field: field.into(),
            why,
        };
        let scale: LossScale = cfg
            .loss
            .parse()
            .map_err(|e: crate::models::ModelError| bad("loss", e.to_string()))?;
        let opts = flow_options(cfg).map_err(|e| bad("method", e))?;
        Ok(SweepRunner {
            cfg,
            scale,
            opts,
            seeds: (0..cfg.seeds.len()).map(|_| OnceLock::new()).collect(),
        })
    }

    /// The times at which `cell` records its checkpoints.
    pub fn cell_times(&self, cell: &Cell) -> Vec<f64> {
        let s = if self.cfg.times_over_tau_squared {
            1.0 / (cell.tau * cell.tau)
        } else {
            1.0
        };
        self.cfg.checkpoints.iter().map(|t| t * s).collect()
    }

    fn run_inner(&self, cell: &Cell, rec: &mut CellRecord) -> Result<(), String> {
        let sd = self.seeds[cell.i_seed]
            .get_or_init(|| seed_data(self.cfg, cell.seed))
            .as_ref()
            .map_err(|e| e.clone())?;
        let (d, data) = (sd.data.d, &sd.data);
        let init = ts::symmetrised_init(&sd.dirs, d, cell.tau, cell.delta).map_err(|e| e.to_string())?;
        let model = PiecewiseLinear::new(
            data.x_train.clone(),
            data.n(),
            d,
            data.y_train.clone(),
            self.cfg.h,
            self.cfg.gamma,
            1.0,
            1.0,
            self.scale,
        )
        .map_err(|e| e.to_string())?;
        let theta0 = model.pack(&init.w, &init.a);
        let times = self.cell_times(cell);
        let traj = flow::integrate(&ParameterFlow(&model), &theta0, &times, &self.opts).map_err(|e| e.to_string())?;
        rec.steps = traj.stats.steps;
        rec.rhs_evals = traj.stats.rhs_evals;
        let k0_ntk = pm::kernel_matrix(&model, &theta0, Kernel::Ntk);
        let k0_phi = pm::kernel_matrix(&model, &theta0, Kernel::Unweighted);
        for (&t, theta) in traj.times.iter().zip(&traj.states) {
            let cp = Checkpoint {
                t,
                train_loss: model.loss(theta),
                test_loss: pm::test_loss(&model, theta, &data.x_test, &data.y_test),
                kernel_distance_ntk: pm::kernel_distance_of(&k0_ntk, &pm::kernel_matrix(&model, theta, Kernel::Ntk)),
                kernel_distance_phi: pm::kernel_distance_of(
                    &k0_phi,
                    &pm::kernel_matrix(&model, theta, Kernel::Unweighted),
                ),
                hamming: pm::hamming(&model, &theta0, theta),
                param_distance: pm::param_distance(&theta0, theta),
            };
            if let Some(i) = cp.values().iter().position(|v| !v.is_finite()) {
                return Err(format!(
                    "{} is not finite at t = {t:e} (a kernel is zero or the flow blew up)",
                    Checkpoint::METRICS[i]
                ));
            }
            rec.checkpoints.push(cp);
            rec.delta_drift = rec.delta_drift.max(model.delta_drift(&theta0, theta));
        }
        Ok(())
    }
}

impl CellRunner for SweepRunner<'_> {
    fn run(&self, cell: &Cell) -> CellRecord {
        let mut rec = CellRecord::new(cell);
        if let Err(e) = self.run_inner(cell, &mut rec) {
            rec.error = Some(e);
        }
        rec
    }
}

/// One Fig. 1a panel: the paths of |a_i|w_i for every student neuron (d = 2).
#[derive(Debug, Clone, PartialEq)]
pub struct Fig1aPanel {
    /// τ.
    pub tau: f64,
    /// δ.
    pub delta: f64,
    /// Output times.
    pub times: Vec<f64>,
    /// paths\[i\]\[j\] = |a_i(t_j)| w_i(t_j) ∈ R².
    pub paths: Vec<Vec<[f64; 2]>>,
    /// Sign of a_i(0) (the symmetrised pairs start with opposite signs).
    pub signs: Vec<f64>,
    /// Points (neuron i, output index j) where neuron i's activation pattern on the training set
    /// differs from the one at output j − 1.
    pub switches: Vec<(usize, usize)>,
    /// Teacher neurons a*_j w*_j.
    pub teacher: Vec<[f64; 2]>,
    /// Training loss at the last time.
    pub final_loss: f64,
}

/// P1 Fig. 1a: d = 2, `h` neurons, `n` points, teacher width 3, loss "mean" ((1/n)Σ, the seed
/// code's objective; its 10⁶ GD steps at lr 1e-4 are t = 100), for each (τ, δ) of `settings`.
/// One `seed` fixes the teacher, data and directions (the paper uses teacher seed 15 and student
/// seed 100; lazyrich uses one seed for both). Outputs at `n_times` times, geometric from
/// t_end·1e-4 to t_end, plus t = 0.
///
/// # Errors
/// A message if the data or the flow fails.
pub fn fig1a(
    seed: u64,
    h: usize,
    n: usize,
    settings: &[(f64, f64)],
    t_end: f64,
    n_times: usize,
    opts: &FlowOptions,
) -> Result<Vec<Fig1aPanel>, String> {
    let (teacher, data) = ts::teacher_student_data(seed, 2, 3, n, 1).map_err(|e| e.to_string())?;
    let dirs = ts::base_directions(seed, h, 2).map_err(|e| e.to_string())?;
    let mut times = vec![0.0];
    times.extend((0..n_times).map(|j| t_end * 10f64.powf(-4.0 + 4.0 * j as f64 / (n_times.max(2) - 1) as f64)));
    let teacher_pts: Vec<[f64; 2]> = teacher
        .a
        .iter()
        .zip(teacher.w.chunks_exact(2))
        .map(|(a, w)| [a.abs() * w[0], a.abs() * w[1]])
        .collect();
    let mut out = Vec::new();
    for &(tau, delta) in settings {
        let init = ts::symmetrised_init(&dirs, 2, tau, delta).map_err(|e| e.to_string())?;
        let model = PiecewiseLinear::new(
            data.x_train.clone(),
            n,
            2,
            data.y_train.clone(),
            h,
            0.0,
            1.0,
            1.0,
            LossScale::Mean,
        )
        .map_err(|e| e.to_string())?;
        let theta0 = model.pack(&init.w, &init.a);
        let traj = flow::integrate(&ParameterFlow(&model), &theta0, &times, opts)
            .map_err(|e| format!("Fig. 1a (τ = {tau}, δ = {delta}): {e}"))?;
        let mut paths = vec![Vec::with_capacity(times.len()); h];
        let mut switches = Vec::new();
        let mut prev: Option<Vec<bool>> = None;
        for (j, theta) in traj.states.iter().enumerate() {
            let (w, a) = (model.w(theta), model.a(theta));
            for i in 0..h {
                paths[i].push([a[i].abs() * w[2 * i], a[i].abs() * w[2 * i + 1]]);
            }
            let pat = model.activation_pattern(theta);
            if let Some(p) = &prev {
                for i in 0..h {
                    if p[i * n..(i + 1) * n] != pat[i * n..(i + 1) * n] {
                        switches.push((i, j));
                    }
                }
            }
            prev = Some(pat);
        }
        let last = traj.states.last().expect("invariant: t = 0 is an output");
        out.push(Fig1aPanel {
            tau,
            delta,
            times: times.clone(),
            paths,
            signs: init.a.iter().map(|a| a.signum()).collect(),
            switches,
            teacher: teacher_pts.clone(),
            final_loss: model.loss(last),
        });
    }
    Ok(out)
}
