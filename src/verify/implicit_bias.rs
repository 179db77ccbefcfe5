//! Implicit-bias checks on low-rank data (P1 Thm 3.1 and Thm B.10; `docs/theory.md` §1.7, §2.6).
//! Ids (stable; see `verification/README.md`):
//!
//! - `IB-KKT`: the long-time limit of the simulated single-neuron flow (tsit45, rtol 1e-12) vs
//!   the KKT solution of Thm 3.1, ≤ [`IB_TOL`] (issue 4). Reference: a rigorous enclosure of the
//!   KKT solution at 128 bits (Krawczyk test, [`KktProblem::enclose`]), so the error is certified;
//!   the bound (the flow's distance to its limit) is an estimate,
//!   in every δ regime (small, order-1 and large |δ|), η_a ≠ η_w (through the rescaling derived
//!   in [`crate::exact::implicit_bias`]) and null spaces of dimension 1 to 4.
//! - `IB-DEEP`: the same for deep linear nets (depth L + 1 = 3 and 4, c = 1, square width h = d)
//!   from a balanced (δ = 0 exactly) rank-one initialisation, against Thm B.10's KKT solution.
//! - `IB-LIMIT`: the δ → +∞ (lazy interpolant closest to β0) and δ → −∞ (cβ0) limits, on the
//!   Fig. 4b problem: the KKT solution's distance to the limit must fall at the derived rate
//!   O(δ⁻²) (observed order in [1.8, 2.2] between |δ| = 10³ and 10⁴). The distances are certified
//!   (the KKT solutions enclosed by the Krawczyk test, the limits in balls); the rate is the claim.

use super::wide_linear::failed_row;
use super::{Mode, Row, abs_down, ratio};
use crate::exact::implicit_bias::{KktEnclosure, KktProblem, Potential};
use crate::flow::{FlowOptions, Method, integrate};
use crate::models::ParameterFlow;
use crate::models::deep_linear::{DeepLinear, LinearData};
use crate::models::samples;
use crate::models::single_neuron::SingleNeuron;
use crate::num::ball::Ball;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Flow limit vs KKT solution: the promise, absolute, ≤ 1e-8·max(1, max|β∞|). The flow's
/// global error at rtol 1e-12 is ≈ N_steps·1e-12 ≲ 1e-9 and the remaining distance to the limit
/// at the final time is below 1e-12 (reported per row as the feasibility residual |Xβ(T) − y|).
pub const IB_TOL: f64 = 1e-8;
/// Tolerances of the flows.
pub const IB_RTOL: f64 = 1e-12;
/// Absolute tolerance of the flows.
pub const IB_ATOL: f64 = 1e-14;
/// Precision of the KKT reference.
pub const IB_PREC: u32 = 128;

/// A single-neuron implicit-bias case.
#[derive(Debug, Clone)]
pub struct IbCase {
    /// Name.
    pub name: String,
    /// Data rows (n × d, n < d).
    pub x: Vec<Vec<f64>>,
    /// Targets.
    pub y: Vec<f64>,
    /// β0.
    pub beta0: Vec<f64>,
    /// δ.
    pub delta: f64,
    /// η_a.
    pub eta_a: f64,
    /// η_w.
    pub eta_w: f64,
    /// Final time.
    pub t_end: f64,
    /// In the quick catalog.
    pub quick: bool,
}

/// P1 Fig. 4b data (`docs/theory.md` §1.8): X = [[0.5, 1]], y = 1.1, β0 = (0.4, 0.05).
pub fn fig4b(delta: f64, eta_a: f64, eta_w: f64) -> IbCase {
    IbCase {
        name: format!("fig4b_delta{delta:+}_eta{eta_a}x{eta_w}"),
        x: vec![vec![0.5, 1.0]],
        y: vec![1.1],
        beta0: vec![0.4, 0.05],
        delta,
        eta_a,
        eta_w,
        t_end: 200.0,
        quick: false,
    }
}

fn random_case(name: &str, seed: u64, n: usize, d: usize, delta: f64, eta_a: f64, eta_w: f64) -> IbCase {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut g = || -> f64 { StandardNormal.sample(&mut rng) };
    let x: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..d).map(|_| g() / (d as f64).sqrt()).collect())
        .collect();
    let y: Vec<f64> = (0..n).map(|_| g()).collect();
    let beta0: Vec<f64> = (0..d).map(|_| 0.5 * g()).collect();
    IbCase {
        name: name.into(),
        x,
        y,
        beta0,
        delta,
        eta_a,
        eta_w,
        t_end: 400.0,
        quick: false,
    }
}

/// The catalog: every δ regime, η_a ≠ η_w, null spaces of dimension 1–4.
pub fn catalog() -> Vec<IbCase> {
    let q = |mut c: IbCase| {
        c.quick = true;
        c
    };
    vec![
        q(fig4b(-4.0, 1.0, 1.0)),
        fig4b(-1.0, 1.0, 1.0),
        q(fig4b(0.0, 1.0, 1.0)),
        fig4b(1.0, 1.0, 1.0),
        q(fig4b(4.0, 1.0, 1.0)),
        q(fig4b(1e-3, 1.0, 1.0)),
        fig4b(-1e-3, 1.0, 1.0),
        fig4b(25.0, 1.0, 1.0),
        q(fig4b(-25.0, 1.0, 1.0)),
        q(fig4b(1.5, 0.5, 2.0)),
        fig4b(-2.0, 2.0, 0.7),
        q(random_case("rand_n2_d4_down", 41, 2, 4, -1.0, 1.0, 1.0)),
        random_case("rand_n2_d4_up_eta", 42, 2, 4, 0.5, 0.6, 1.7),
        random_case("rand_n1_d5_bal", 43, 1, 5, 0.0, 1.0, 1.0),
        random_case("rand_n3_d5_up_large", 44, 3, 5, 20.0, 1.0, 1.0),
    ]
}

/// Build the KKT problem and the single-neuron model with θ0 = (a0, w0) of a case.
///
/// # Errors
/// A message when the problem is invalid.
pub fn build(c: &IbCase) -> Result<(KktProblem, SingleNeuron, Vec<f64>), String> {
    let (a0, w0) = samples::init_from_beta0(&c.beta0, c.delta, c.eta_a, c.eta_w, 1.0);
    let pb = KktProblem::new(
        &c.x,
        &c.y,
        &w0,
        Potential::Hyperbolic {
            a0,
            eta_a: c.eta_a,
            eta_w: c.eta_w,
        },
    )
    .map_err(|e| e.to_string())?;
    let m = SingleNeuron::new(&c.x, &c.y, c.eta_a, c.eta_w).map_err(|e| e.to_string())?;
    let th0 = m.theta(a0, &w0).map_err(|e| e.to_string())?;
    Ok((pb, m, th0))
}

/// β(T) of the simulated single-neuron flow (tsit45 at [`IB_RTOL`]), with steps and |Xβ(T) − y|.
///
/// # Errors
/// A message when the integration fails.
pub fn flow_limit(c: &IbCase) -> Result<(Vec<f64>, usize, f64), String> {
    let (_, m, th0) = build(c)?;
    let opts = FlowOptions::new(Method::Tsit45).with_tol(IB_RTOL, IB_ATOL);
    let tr = integrate(&ParameterFlow(&m), &th0, &[c.t_end], &opts).map_err(|e| e.to_string())?;
    let th = &tr.states[0];
    let mut beta = vec![0.0; c.x[0].len()];
    m.beta_inplace(th, &mut beta);
    let feas = (m.loss_beta(&beta) * 2.0).sqrt();
    Ok((beta, tr.stats.steps, feas))
}

#[allow(clippy::too_many_arguments)]
fn compare_row(
    check: &str,
    family: &str,
    name: &str,
    regime: String,
    beta_flow: &[f64],
    kkt: &KktEnclosure,
    theorem: &str,
    note: String,
) -> Row {
    // Certified error: |β_flow − mid| rounded down, against the Krawczyk enclosure's radius.
    let mut err = 0.0f64;
    let mut rb = 0.0f64;
    for (v, b) in beta_flow.iter().zip(&kkt.beta) {
        let d = Ball::from_f64(b.prec(), *v).sub(b);
        err = err.max(abs_down(d.mid()));
        rb = rb.max(d.rad());
    }
    let scale = kkt.beta.iter().map(|b| b.mid().to_f64().abs()).fold(0.0, f64::max);
    let bound = IB_TOL * scale.max(1.0);
    let margin = ratio(err, bound, rb);
    let finite = beta_flow.iter().all(|v| v.is_finite());
    Row {
        check: check.into(),
        family: family.into(),
        case: name.into(),
        regime,
        method: "tsit45".into(),
        tolerance: Some(IB_RTOL),
        quantity: "beta(T) vs beta_inf".into(),
        abs_err: err,
        rel_err: err / scale,
        ref_bound: rb,
        ref_method: format!("{theorem}: {}", kkt.method),
        ref_rigorous: true,
        bound_rigorous: false,
        drift: None,
        bound,
        bound_why:
            "promise: flow limit vs KKT ≤ 1e-8·max(1, |β∞|); flow global error ≈ N_steps·rtol, tail |Xβ(T) − y| \
                    in the note (an estimate: the distance from β(T) to β(∞) is not enclosed)"
                .into(),
        margin: if finite { margin } else { f64::NAN },
        pass: finite && margin.is_finite() && margin <= 1.0,
        note,
    }
}

/// Balanced (δ = 0 exactly) rank-one deep initialisation with β0 = σ^{L+1}·v̂, square width
/// h = d, c = 1: W_1 = σ u_1 v̂ᵀ, W_l = σ u_l u_{l−1}ᵀ, A = σ u_L (unit u_l), so that
/// W_{l+1}ᵀW_{l+1} = W_lW_lᵀ and W_LW_Lᵀ = AAᵀ (Lemma B.8 with δ = 0).
pub fn balanced_rank_one_layers(beta0: &[f64], l: usize, seed: u64) -> Vec<Vec<Vec<f64>>> {
    let d = beta0.len();
    let r = beta0.iter().map(|b| b * b).sum::<f64>().sqrt();
    let sigma = r.powf(1.0 / (l as f64 + 1.0));
    let vhat: Vec<f64> = beta0.iter().map(|b| b / r).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let us: Vec<Vec<f64>> = (0..l)
        .map(|_| {
            let u: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
            let n = u.iter().map(|v: &f64| v * v).sum::<f64>().sqrt();
            u.iter().map(|v| v / n).collect()
        })
        .collect();
    let outer = |a: &[f64], b: &[f64]| -> Vec<Vec<f64>> {
        a.iter().map(|x| b.iter().map(|y| sigma * x * y).collect()).collect()
    };
    let mut layers = vec![outer(&us[0], &vhat)];
    for k in 1..l {
        layers.push(outer(&us[k], &us[k - 1]));
    }
    layers.push(us[l - 1].iter().map(|u| vec![sigma * u]).collect());
    layers
}

/// Deep cases: (name, L, n, d, seed).
pub fn deep_catalog() -> Vec<(String, usize, usize, usize, u64, bool)> {
    vec![
        ("deep_L2_n1_d3".into(), 2, 1, 3, 61, true),
        ("deep_L3_n1_d3".into(), 3, 1, 3, 62, false),
        ("deep_L2_n2_d4".into(), 2, 2, 4, 63, false),
    ]
}

/// Run the implicit-bias checks.
pub fn run(mode: Mode) -> Vec<Row> {
    let fam = "implicit_bias";
    let mut out = Vec::new();
    for c in catalog().into_iter().filter(|c| mode == Mode::Full || c.quick) {
        let reg = super::single_neuron::regime(c.delta);
        let res = (|| -> Result<Row, String> {
            let (pb, _, _) = build(&c)?;
            let kkt = pb.enclose(IB_PREC).map_err(|e| e.to_string())?;
            let (beta, steps, feas) = flow_limit(&c)?;
            Ok(compare_row(
                "IB-KKT",
                fam,
                &c.name,
                reg.clone(),
                &beta,
                &kkt,
                "Thm 3.1 KKT system (general η)",
                format!(
                    "n={} d={} eta_a={} eta_w={} T={} steps={steps} |Xβ(T)−y|={feas:.1e}",
                    c.x.len(),
                    c.x[0].len(),
                    c.eta_a,
                    c.eta_w,
                    c.t_end,
                ),
            ))
        })();
        out.push(res.unwrap_or_else(|e| failed_row(fam, &c.name, reg, "IB-KKT", "tsit45", Some(IB_RTOL), e)));
    }
    for (name, l, n, d, seed, quick) in deep_catalog() {
        if mode == Mode::Quick && !quick {
            continue;
        }
        let reg = "balanced/exact0".to_string();
        let res = (|| -> Result<Row, String> {
            let c = random_case(&name, seed, n, d, 0.0, 1.0, 1.0);
            let pb = KktProblem::new(&c.x, &c.y, &c.beta0, Potential::DeepBalanced { l: l as u32 })
                .map_err(|e| e.to_string())?;
            let kkt = pb.enclose(IB_PREC).map_err(|e| e.to_string())?;
            let layers = balanced_rank_one_layers(&c.beta0, l, seed ^ 0xD00D);
            let ys: Vec<Vec<f64>> = c.y.iter().map(|v| vec![*v]).collect();
            let data = LinearData::new(&c.x, &ys).map_err(|e| e.to_string())?;
            let (m, th0) = DeepLinear::from_layers(data, &layers, &vec![1.0; l + 1]).map_err(|e| e.to_string())?;
            let b0 = m.beta(&th0);
            let init_err = b0.iter().zip(&c.beta0).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            let opts = FlowOptions::new(Method::Tsit45).with_tol(IB_RTOL, IB_ATOL);
            let tr = integrate(&ParameterFlow(&m), &th0, &[c.t_end], &opts).map_err(|e| e.to_string())?;
            let beta = m.beta(&tr.states[0]);
            let feas = (2.0 * m.loss_beta(&beta)).sqrt();
            let mut r = compare_row(
                "IB-DEEP",
                "deep_linear",
                &name,
                reg.clone(),
                &beta,
                &kkt,
                "Thm B.10 KKT system (δ → 0)",
                format!(
                    "depth={} n={n} d={d} h={d} T={} steps={} |Xβ(T)−y|={feas:.1e} |β(0)−β0|={init_err:.1e} \
                     drift={:.1e}",
                    l + 1,
                    c.t_end,
                    tr.stats.steps,
                    m.conserved_drift(&th0, &tr.states[0])
                ),
            );
            r.drift = Some(m.conserved_drift(&th0, &tr.states[0]));
            Ok(r)
        })();
        out.push(res.unwrap_or_else(|e| failed_row("deep_linear", &name, reg, "IB-DEEP", "tsit45", Some(IB_RTOL), e)));
    }
    out.extend(limit_rows());
    out
}

/// Distances of the KKT solution to the δ → ±∞ limits on the Fig. 4b problem, |δ| = 10², 10³, 10⁴,
/// certified: (δ, distance, its uncertainty), with β∞(δ) enclosed by the Krawczyk test and the limit
/// evaluated in ball arithmetic at [`IB_PREC`] bits, so that the true max-norm distance lies within
/// distance ± uncertainty.
///
/// # Errors
/// A message when an enclosure or a limit cannot be computed.
pub fn limit_distances(sign: f64) -> Result<Vec<(f64, f64, f64)>, String> {
    [1e2, 1e3, 1e4]
        .iter()
        .map(|m| {
            let c = fig4b(sign * m, 1.0, 1.0);
            let (pb, _, _) = build(&c)?;
            let one = Ball::from_f64(IB_PREC, 1.0);
            let lim = if sign > 0.0 {
                pb.lazy_limit_of(&one)
            } else {
                pb.rich_direction_limit_of(&one)
            }
            .map_err(|e| e.to_string())?;
            let kkt = pb.enclose(IB_PREC).map_err(|e| e.to_string())?;
            let (mut dist, mut unc) = (0.0f64, 0.0f64);
            for (b, l) in kkt.beta.iter().zip(&lim) {
                let d = b.sub(l);
                dist = dist.max(abs_down(d.mid()));
                unc = unc.max(d.rad());
            }
            Ok((sign * m, dist, unc))
        })
        .collect()
}

fn limit_rows() -> Vec<Row> {
    let mut out = Vec::new();
    for (sign, label, what) in [
        (1.0, "upstream/large", "lazy interpolant β0 − X⁺(Xβ0 − y)"),
        (-1.0, "downstream/large", "cβ0, c = (Xβ0)ᵀy/‖Xβ0‖² (n = 1)"),
    ] {
        let res = (|| -> Result<Row, String> {
            let dist = limit_distances(sign)?;
            let order = (dist[1].1 / dist[2].1).log10();
            let unc = dist.iter().map(|d| d.2).fold(0.0, f64::max);
            let pred = dist[1].1 / 100.0;
            Ok(Row {
                check: "IB-LIMIT".into(),
                family: "implicit_bias".into(),
                case: format!("fig4b_delta_to_{}inf", if sign > 0.0 { "+" } else { "-" }),
                regime: label.into(),
                method: "Krawczyk-enclosed KKT solutions".into(),
                tolerance: None,
                quantity: format!("max|β∞(δ) − limit| at |δ| = 1e4; limit: {what}"),
                abs_err: dist[2].1,
                rel_err: dist[2].1,
                ref_bound: unc,
                ref_method: format!(
                    "closed-form limit in ball arithmetic and β∞(δ) by the Krawczyk test, both at {IB_PREC} bits: \
                     each distance is certified to ± ref_bound"
                ),
                ref_rigorous: true,
                bound_rigorous: false,
                drift: None,
                bound: pred * 10f64.powf(0.2),
                bound_why: "derived rate O(δ⁻²): distance at 1e4 ≤ distance at 1e3 / 10^1.8 (observed order ≥ 1.8)"
                    .into(),
                margin: dist[2].1 / (pred * 10f64.powf(0.2)),
                // The certified distances must resolve the rate (uncertainty ≪ the smallest distance).
                pass: (1.8..=2.2).contains(&order) && unc < 1e-3 * dist[2].1,
                note: format!(
                    "distances {}; observed order between 1e3 and 1e4: {order:.3}",
                    dist.iter()
                        .map(|(d, e, _)| format!("δ={d:e}: {e:.3e}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        })();
        out.push(
            res.unwrap_or_else(|e| failed_row("implicit_bias", "fig4b_limits", label.into(), "IB-LIMIT", "-", None, e)),
        );
    }
    out
}

/// Data of the P1 Fig. 4b reproduction: β∞ against δ from the KKT system on a fine grid
/// (`theory`, rows [δ, β1, β2]) and from the flow at integer δ (`sim`), and the two limits.
pub struct Fig4bData {
    /// KKT solutions, rows [δ, β1, β2].
    pub theory: Vec<[f64; 3]>,
    /// Flow limits, rows [δ, β1, β2].
    pub sim: Vec<[f64; 3]>,
    /// δ → +∞ limit.
    pub lazy: [f64; 2],
    /// δ → −∞ limit.
    pub rich: [f64; 2],
    /// Function-space trajectories β(t) = a(t)w(t), one per δ in [`FIG4B_PATH_DELTAS`], on
    /// [`FIG4B_PATH_TIMES`] points from t = 0 to t_end (log-spaced after t = 0).
    pub paths: Vec<(f64, Vec<[f64; 2]>)>,
    /// The initial function β0 (shared by every δ).
    pub beta0: [f64; 2],
    /// The data: one row x, target y (Xβ = y is the line of interpolants).
    pub x: [f64; 2],
    /// Target.
    pub y: f64,
}

/// δ values of the trajectories in [`Fig4bData::paths`].
pub const FIG4B_PATH_DELTAS: [f64; 7] = [-4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0];
/// Number of output times per trajectory.
pub const FIG4B_PATH_TIMES: usize = 241;

/// Compute the Fig. 4b data (η = 1; δ ∈ [−4, 4]): KKT limits on a δ grid, flow limits at
/// integer δ, the δ → ±∞ limits, and the trajectories β(t) for [`FIG4B_PATH_DELTAS`].
///
/// # Errors
/// A message when a solve or a flow fails.
pub fn fig4b_data() -> Result<Fig4bData, String> {
    let mut theory = Vec::new();
    for k in 0..=160 {
        let delta = -4.0 + 8.0 * k as f64 / 160.0;
        let (pb, _, _) = build(&fig4b(delta, 1.0, 1.0))?;
        let s = pb.solve().map_err(|e| e.to_string())?;
        theory.push([delta, s.beta[0], s.beta[1]]);
    }
    let mut sim = Vec::new();
    for k in -4..=4 {
        let delta = f64::from(k);
        let (b, _, _) = flow_limit(&fig4b(delta, 1.0, 1.0))?;
        sim.push([delta, b[0], b[1]]);
    }
    let (pb, _, _) = build(&fig4b(1.0, 1.0, 1.0))?;
    let l = pb.lazy_limit();
    let r = pb.rich_direction_limit().0;
    let mut paths = Vec::new();
    for delta in FIG4B_PATH_DELTAS {
        let c = fig4b(delta, 1.0, 1.0);
        let (_, m, th0) = build(&c)?;
        // t = 0, then log-spaced from 1e-3 to t_end: the early turn of β is fast.
        let n = FIG4B_PATH_TIMES - 1;
        let times: Vec<f64> = std::iter::once(0.0)
            .chain((0..n).map(|k| 1e-3 * (c.t_end / 1e-3).powf(k as f64 / (n - 1) as f64)))
            .collect();
        let opts = FlowOptions::new(Method::Tsit45).with_tol(IB_RTOL, IB_ATOL);
        let tr = integrate(&ParameterFlow(&m), &th0, &times, &opts).map_err(|e| e.to_string())?;
        let path = tr
            .states
            .iter()
            .map(|th| {
                let mut b = vec![0.0; 2];
                m.beta_inplace(th, &mut b);
                [b[0], b[1]]
            })
            .collect();
        paths.push((delta, path));
    }
    let c = fig4b(1.0, 1.0, 1.0);
    Ok(Fig4bData {
        theory,
        sim,
        lazy: [l[0], l[1]],
        rich: [r[0], r[1]],
        paths,
        beta0: [c.beta0[0], c.beta0[1]],
        x: [c.x[0][0], c.x[0][1]],
        y: c.y[0],
    })
}
