//! Deep linear checks (P1 App. B; `docs/theory.md` §2.6). Ids (stable; see `verification/README.md`):
//!
//! - `DL-CONS`: every consecutive-pair matrix η_k N_{k+1}ᵀN_{k+1} − η_{k+1} N_kN_kᵀ is conserved
//!   along diffsol parameter flows (every method), depth 3 and 4, unequal per-layer rates, as
//!   `WL-CONS`: rigorous reference (the matrices at t = 0 in balls) and certified drift on every
//!   net; proven bound on nets with P ≤ 30 (the validated enclosure), the accumulated-local-error
//!   estimate on larger ones.
//! - `DL-AGREE`: the network function β(t) of implicit (BDF, analytic Hessian) and explicit
//!   (Tsit45) integrations agree within the sum of their accumulated-local-error bounds,
//!   propagated through β = W_1ᵀ⋯W_Lᵀ A (an internal consistency check; no closed form is used;
//!   reference and bound are estimates: the row compares two simulations with each other).
//!
//! Times: 0, 0.8, …, 8 in the full catalog; the quick catalog checks the same cases and methods
//! over 0, 0.4, …, 4 (and `DL-TAYLOR` over t ≤ 2 instead of 4), which halves its validated
//! enclosures (`cons_times_for`, `taylor_times_for`).
//!
//! δ regimes for deep nets: the sign of δ_top = tr(η_L AAᵀ − η_A W_LW_Lᵀ)/h labels the case
//! (output layer larger: upstream; first layers larger: downstream); a "balanced" case scales
//! the layers so that δ_top is small. These inits are not isotropic (Thm B.10's isotropy is not
//! needed for conservation).

use super::wide_linear::{LinearEnclosure, base_row, conservation_row, data_rows, enclose_shared, failed_row, regime};
use super::{Fallback, Mode, Row};
use crate::flow::{FlowOptions, Method, integrate};
use crate::metrics::max_abs;
use crate::models::ParameterFlow;
use crate::models::deep_linear::{DeepLinear, LinearData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A deep catalog entry.
#[derive(Debug, Clone)]
pub struct DeepCase {
    /// Name.
    pub name: String,
    /// [d, h_1, …, h_L, c].
    pub dims: Vec<usize>,
    /// Per-layer rates.
    pub etas: Vec<f64>,
    /// Scale of each layer's Gaussian entries (times 1/√fan-in).
    pub scales: Vec<f64>,
    /// Seed.
    pub seed: u64,
    /// In the quick catalog.
    pub quick: bool,
    /// Balanced construction (every conserved matrix is 0; square dims only): W_l = O_l Σ_l O_{l−1}ᵀ,
    /// A = O_L Σ_{L+1} Pᵀ with Σ_k = √η_k·Σ, so η_k Σ_{k+1}² = η_{k+1} Σ_k² and Q_k = 0.
    pub balanced: bool,
    /// Conserved construction Q_l = δ_l·I (one δ per consecutive pair,
    /// [`crate::models::deep_linear::conserved_init`], σ_i = scales\[0\]·(1 + i/2)); the small-δ
    /// deep cases of every sign.
    pub deltas: Option<Vec<f64>>,
}

fn dc(name: &str, dims: &[usize], etas: &[f64], scales: &[f64], seed: u64, quick: bool) -> DeepCase {
    DeepCase {
        name: name.into(),
        dims: dims.to_vec(),
        etas: etas.to_vec(),
        scales: scales.to_vec(),
        seed,
        quick,
        balanced: false,
        deltas: None,
    }
}

fn dcons(name: &str, dims: &[usize], etas: &[f64], deltas: &[f64], seed: u64, quick: bool) -> DeepCase {
    DeepCase {
        deltas: Some(deltas.to_vec()),
        ..dc(name, dims, etas, &[0.6], seed, quick)
    }
}

/// Small nonzero δ for deep nets (issue 4): conserved matrices Q_l = δ_l·I of both signs
/// (and mixed), unequal rates, depth 3 and 4. Rectangular widths exercise the modes that exist
/// in only some layers (their chains are pinned by the neighbouring pair, see
/// [`crate::models::deep_linear::conserved_init`]).
pub fn small_delta_catalog() -> Vec<DeepCase> {
    vec![
        dcons(
            "deep3_up_small",
            &[3, 3, 3, 3],
            &[1.0, 0.5, 2.0],
            &[5e-4, 1e-3],
            211,
            true,
        ),
        dcons(
            "deep3_down_small",
            &[3, 3, 3, 3],
            &[1.5, 1.0, 0.7],
            &[-5e-4, -1e-3],
            212,
            false,
        ),
        dcons(
            "deep4_up_small",
            &[3, 4, 4, 4, 4],
            &[1.0, 0.5, 2.0, 1.5],
            &[1e-3, 5e-4, 1e-3],
            213,
            false,
        ),
        dcons(
            "deep4_down_small",
            &[4, 4, 4, 4, 3],
            &[2.0, 1.0, 0.5, 1.0],
            &[-1e-3, -5e-4, -1e-3],
            214,
            false,
        ),
        dcons(
            "deep4_mixed_small",
            &[4, 4, 4, 4, 4],
            &[1.0, 2.0, 0.5, 1.0],
            &[1e-3, -1e-3, 5e-4],
            215,
            false,
        ),
    ]
}

/// Combinations the conserved construction must refuse, with the pair whose width/sign
/// condition fails (`docs/theory.md` §2.3 generalised to each consecutive pair): (case, failing pair).
pub fn infeasible_catalog() -> Vec<(DeepCase, usize)> {
    vec![
        // δ_2 > 0 needs h_2 = 3 ≤ rows of N_3 = Aᵀ, i.e. c = 2: fails.
        (
            dcons(
                "deep3_up_small_narrow_out",
                &[3, 3, 3, 2],
                &[1.0, 1.0, 1.0],
                &[1e-3, 1e-3],
                221,
                true,
            ),
            2,
        ),
        // δ_1 < 0 needs h_1 = 4 ≤ columns of N_1 = W_1, i.e. d = 3: fails.
        (
            dcons(
                "deep4_down_small_narrow_in",
                &[3, 4, 4, 4, 4],
                &[1.0, 1.0, 1.0, 1.0],
                &[-1e-3, -1e-3, -1e-3],
                222,
                true,
            ),
            1,
        ),
    ]
}

/// The deep catalog: depth 3 (two hidden layers) and 4 (three), every sign of δ_top.
pub fn catalog() -> Vec<DeepCase> {
    let mut v = vec![
        dc("deep3_up", &[3, 3, 3, 2], &[1.0, 0.5, 2.0], &[0.3, 0.5, 1.5], 201, true),
        dc(
            "deep3_down",
            &[3, 3, 3, 2],
            &[1.0, 1.5, 0.7],
            &[1.5, 1.2, 0.2],
            202,
            true,
        ),
        dc(
            "deep4_mixed",
            &[4, 4, 4, 4, 3],
            &[1.0, 1.0, 1.0, 1.0],
            &[0.4, 0.4, 0.4, 0.4],
            203,
            false,
        ),
        DeepCase {
            balanced: true,
            ..dc(
                "deep4_bal",
                &[4, 4, 4, 4, 4],
                &[1.0, 0.5, 2.0, 1.5],
                &[0.6, 0.6, 0.6, 0.6],
                205,
                true,
            )
        },
        dc(
            "deep3_up_large",
            &[3, 3, 3, 2],
            &[1.0, 1.0, 1.0],
            &[0.3, 0.4, 9.0],
            206,
            false,
        ),
        dc(
            "deep3_down_large",
            &[3, 3, 3, 2],
            &[1.0, 1.0, 1.0],
            &[0.4, 9.0, 0.3],
            207,
            false,
        ),
        dc(
            "deep4_up_wide",
            &[20, 10, 10, 10, 10],
            &[0.5, 1.0, 1.0, 2.0],
            &[0.2, 0.3, 0.3, 1.0],
            204,
            false,
        ),
    ];
    v.extend(small_delta_catalog());
    v
}

/// Model and θ0 of a deep case.
///
/// # Errors
/// A message when the model cannot be built.
pub fn build(c: &DeepCase) -> Result<(DeepLinear, Vec<f64>), String> {
    let (d, out) = (c.dims[0], c.dims[c.dims.len() - 1]);
    let (x, y) = data_rows(d + 3, d, out, c.seed, false);
    let data = LinearData::new(&x, &y).map_err(|e| e.to_string())?;
    let mut rng = ChaCha8Rng::seed_from_u64(c.seed ^ 0xD00D);
    let k = c.dims.len() - 1;
    if let Some(deltas) = &c.deltas {
        let sigma: Vec<f64> = (0..c.dims.iter().copied().max().unwrap_or(1))
            .map(|i| c.scales[0] * (1.0 + 0.5 * i as f64))
            .collect();
        let layers = crate::models::deep_linear::conserved_init(&c.dims, &c.etas, deltas, &sigma, c.seed ^ 0xD00D)
            .map_err(|e| e.to_string())?;
        return DeepLinear::from_layers(data, &layers, &c.etas).map_err(|e| e.to_string());
    }
    if c.balanced {
        let h = c.dims[0];
        if c.dims.iter().any(|&x| x != h) {
            return Err(format!("balanced construction needs square dims, got {:?}", c.dims));
        }
        let mut orth = || {
            nalgebra::DMatrix::<f64>::from_fn(h, h, |_, _| {
                <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng)
            })
            .qr()
            .q()
        };
        let sigma: Vec<f64> = (0..h).map(|i| c.scales[0] * (1.0 + 0.5 * i as f64)).collect();
        let os: Vec<_> = (0..=k).map(|_| orth()).collect();
        let mut layers = Vec::new();
        for i in 0..k {
            let sd = nalgebra::DMatrix::from_diagonal(&nalgebra::DVector::from_iterator(
                h,
                sigma.iter().map(|s| s * c.etas[i].sqrt()),
            ));
            // W_i = O_{i+1} Σ_i O_iᵀ (h×h); A = (O_k Σ_k O_{k+1}ᵀ) read as h×c (c = h).
            let l = &os[i + 1] * sd * os[i].transpose();
            let m = if i + 1 < k { l } else { l.transpose() };
            layers.push(
                (0..h)
                    .map(|r| m.row(r).iter().copied().collect())
                    .collect::<Vec<Vec<f64>>>(),
            );
        }
        return DeepLinear::from_layers(data, &layers, &c.etas).map_err(|e| e.to_string());
    }
    let mut layers = Vec::new();
    for i in 0..k {
        // W_i: dims[i+1] × dims[i]; A: dims[k-1] × c.
        let (r, cols) = if i + 1 < k {
            (c.dims[i + 1], c.dims[i])
        } else {
            (c.dims[i], c.dims[i + 1])
        };
        let fan = if i + 1 < k { cols } else { r };
        let s = c.scales[i] / (fan as f64).sqrt();
        let l: Vec<Vec<f64>> = (0..r)
            .map(|_| {
                (0..cols)
                    .map(|_| s * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng))
                    .collect::<Vec<f64>>()
            })
            .collect();
        layers.push(l);
    }
    DeepLinear::from_layers(data, &layers, &c.etas).map_err(|e| e.to_string())
}

/// δ_top = tr(η_L AAᵀ − η_A W_LW_Lᵀ)/h_L.
pub fn delta_top(m: &DeepLinear, theta: &[f64]) -> f64 {
    let q = m.conserved(theta);
    let top = q.last().expect("≥ 2 layers");
    let h = (top.len() as f64).sqrt() as usize;
    (0..h).map(|i| top[i * h + i]).sum::<f64>() / h as f64
}

/// Output times of the `DL-CONS` and `DL-AGREE` rows: 0, 0.8, …, 8 in the full catalog; 0, 0.4,
/// …, 4 in the quick one. The quick grid shortens the validated enclosures behind the rows' proven
/// bounds (their cost grows with the time span at a near-even step density, ≈ 75 steps per unit
/// time on `deep3_down`): `deep3_up`, `deep3_down`, `deep3_up_small` take 243, 547, 316 steps to
/// t = 8 and 173, 304, 190 to t = 4 (≈ 5–8 ms a step at P = 24–27; 1.3 + 2.8 + 2.5 s to t = 8 on
/// one thread at load ≈ 7 on 2 cores); the same rows, checks and proofs over the first half of
/// the span.
pub fn cons_times_for(mode: Mode) -> Vec<f64> {
    let step = if mode == Mode::Full { 0.8 } else { 0.4 };
    (0..=10).map(|k| k as f64 * step).collect()
}

/// Output times of the `DL-TAYLOR` rows: 0, 0.5, …, 4 in the full catalog; 0, 0.25, …, 2 in the
/// quick one: `deep3_down_small`, which only DL-TAYLOR encloses in the quick catalog, takes
/// ≈ 120 validated steps per unit time after t = 1 — 447 steps (3.2 s on one thread at load ≈ 7
/// on 2 cores) to t = 4, 207 to t = 2. Its proven bound stays tight (the enclosure's radius
/// shrinks with the span).
pub(super) fn taylor_times_for(mode: Mode) -> Vec<f64> {
    let t_end = if mode == Mode::Full { 4.0 } else { 2.0 };
    (0..=8).map(|k| t_end * k as f64 / 8.0).collect()
}

/// The validated enclosure of a deep case at `ts` (a subset of [`cons_times_for`] ∪
/// [`taylor_times_for`] of `mode`): one enclosure per case over the union of both grids, computed
/// once and shared by `DL-CONS` and `DL-TAYLOR`.
///
/// # Errors
/// As [`LinearEnclosure::new`], or a time outside both grids.
pub(super) fn enclosure_at(c: &DeepCase, ts: &[f64], mode: Mode) -> Result<LinearEnclosure, Fallback> {
    let mut grid: Vec<f64> = cons_times_for(mode).into_iter().chain(taylor_times_for(mode)).collect();
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    enclosure_on(c, &grid)?.at_times(ts)
}

/// The validated enclosure of a deep case on the grid `grid` (shared per process, as
/// [`enclose_shared`]).
///
/// # Errors
/// As [`LinearEnclosure::new`].
pub(super) fn enclosure_on(c: &DeepCase, grid: &[f64]) -> Result<LinearEnclosure, Fallback> {
    let mut dc = to_case(c).map_err(|e| Fallback::Failed(format!("case file: {e}")))?;
    dc.times = grid
        .iter()
        .map(|t| crate::num::decimal::Num::from_f64(*t))
        .collect::<Result<_, _>>()
        .map_err(|e| Fallback::Failed(format!("times: {e}")))?;
    match &*enclose_shared(&crate::case::Case::DeepLinear(dc)) {
        Ok(e) => e.at_times(grid),
        Err(e) => Err(e.clone()),
    }
}

/// Run the deep-linear checks.
pub fn run(mode: Mode) -> Vec<Row> {
    use rayon::prelude::*;
    // The cases run in parallel; their rows come back in catalog order.
    let entries: Vec<_> = catalog()
        .into_iter()
        .filter(|c| mode == Mode::Full || c.quick)
        .collect();
    let per_case: Vec<Vec<Row>> = entries.par_iter().map(|c| entry_rows_in(c, mode)).collect();
    let mut out = per_case.concat();
    out.extend(infeasible_rows("deep_linear"));
    out
}

/// The full catalog's rows of one of its entries (what [`run`] writes for it in `Mode::Full`).
pub fn entry_rows(c: &DeepCase) -> Vec<Row> {
    entry_rows_in(c, Mode::Full)
}

/// The rows of one entry as the catalog of `mode` writes them (its times: `cons_times_for`).
pub fn entry_rows_in(c: &DeepCase, mode: Mode) -> Vec<Row> {
    let fam = "deep_linear";
    let ts = cons_times_for(mode);
    let mut out = Vec::new();
    let (m, th0) = match build(c) {
        Ok(v) => v,
        Err(e) => return vec![failed_row(fam, &c.name, "-".into(), "DL-CONS", "-", None, e)],
    };
    let reg = if c.balanced {
        "balanced (all Q_k = 0 up to rounding)".to_string()
    } else if let Some(ds) = &c.deltas {
        out.push(iso_row(fam, &c.name, &m, &th0, ds));
        format!("{} (δ_top; Q_l = δ_l·I, δ = {ds:?})", regime(ds[ds.len() - 1]))
    } else {
        format!("{} (δ_top)", regime(delta_top(&m, &th0)))
    };
    // The enclosure of this entry's case file (shared with DL-TAYLOR) at the rows' times.
    let enclosure = enclosure_at(c, &ts, mode);
    case_rows(&c.name, reg, &m, &th0, &ts, &enclosure, &mut out);
    out
}

/// The rows of one deep linear case named `name` (model `m`, θ0, times `ts`, regime label
/// `reg`): `DL-CONS` for every method (tsit45 and BDF only on nets with more than 100 parameters)
/// and `DL-AGREE` (BDF vs tsit45 on β). The catalog ([`run`]) and `lazyrich verify --case` both
/// call it.
pub(super) fn case_rows(
    name: &str,
    reg: String,
    m: &DeepLinear,
    th0: &[f64],
    ts: &[f64],
    enclosure: &Result<LinearEnclosure, Fallback>,
    out: &mut Vec<Row>,
) {
    let fam = "deep_linear";
    let mut trs = Vec::new();
    // Every method on the small nets; tsit45 and BDF (which DL-AGREE needs) on the wide one,
    // where each implicit step assembles a p×p Hessian (p = 500).
    let big = th0.len() > 100;
    let methods: &[Method] = if big {
        &[Method::Tsit45, Method::Bdf]
    } else {
        &Method::ALL
    };
    for &method in methods {
        let opts = FlowOptions::new(method).with_tol(1e-10, 1e-12);
        match integrate(&ParameterFlow(m), th0, ts, &opts) {
            Ok(tr) => {
                out.push(conservation_row(
                    fam,
                    name,
                    reg.clone(),
                    "DL-CONS",
                    m,
                    th0,
                    &tr,
                    &opts,
                    enclosure,
                ));
                trs.push((method, opts, tr));
            }
            Err(e) => out.push(failed_row(
                fam,
                name,
                reg.clone(),
                "DL-CONS",
                method.as_str(),
                Some(1e-10),
                e.to_string(),
            )),
        }
    }
    // DL-AGREE: BDF vs Tsit45 on β.
    let find = |mm: Method| trs.iter().find(|(me, _, _)| *me == mm);
    if let (Some((_, ob, tb)), Some((_, ot, tt))) = (find(Method::Bdf), find(Method::Tsit45)) {
        let p = th0.len() as f64;
        let th_max = tb
            .states
            .iter()
            .chain(&tt.states)
            .map(|s| max_abs(s))
            .fold(0.0, f64::max);
        let e_b = tb.stats.steps as f64 * p.sqrt() * (ob.atol + ob.rtol * th_max);
        let e_t = tt.stats.steps as f64 * p.sqrt() * (ot.atol + ot.rtol * th_max);
        // β is multilinear in K layers: |δβ| ≤ K·m^{K−1}·max|θ|^{K−1}·e (each factor's entries
        // ≤ max|θ|, inner sums over ≤ m = max width terms).
        let k = m.n_layers() as f64;
        let mw = m.dims().iter().copied().max().unwrap_or(1) as f64;
        let lip = k * (mw * th_max.max(1.0)).powf(k - 1.0);
        let bound = lip * (e_b + e_t);
        let (mut err, mut scale) = (0.0f64, 0.0f64);
        for (a, b) in tb.states.iter().zip(&tt.states) {
            let (ba, bb) = (m.beta(a), m.beta(b));
            for (x, y) in ba.iter().zip(&bb) {
                err = err.max((x - y).abs());
                scale = scale.max(y.abs());
            }
        }
        let mut r = failed_row(
            fam,
            name,
            reg.clone(),
            "DL-AGREE",
            "bdf vs tsit45",
            Some(1e-10),
            String::new(),
        );
        r.quantity = "beta".into();
        r.abs_err = err;
        r.rel_err = err / scale.max(f64::MIN_POSITIVE);
        r.ref_method = "tsit45 rtol 1e-10 (a simulation: no independent bound)".into();
        r.bound = bound;
        r.bound_why = "sum of both accumulated local errors N·√p·(atol + rtol·max|θ|), times the Lipschitz \
                           constant K·(m·max|θ|)^(K−1) of θ ↦ β"
            .into();
        r.margin = err / bound;
        r.pass = r.margin.is_finite() && r.margin <= 1.0;
        r.note = format!(
            "dims={:?} steps bdf={} tsit45={}",
            m.dims(),
            tb.stats.steps,
            tt.stats.steps
        );
        out.push(r);
    }
}

/// Isotropy tolerance of the conserved construction: Q_l is formed from the f64 layers with
/// O(m) rounding per entry relative to the size of the terms (the layer norms²·η), so a
/// defect above 1e-13 of that scale would be a construction error, not rounding.
pub const ISO_REL_TOL: f64 = 1e-13;

/// `DL-ISO`: the built layers have Q_l = δ_l·I (max |Q_l − δ_l I| over pairs and entries),
/// computed by the model's own [`DeepLinear::conserved`] (independent of the construction).
fn iso_row(fam: &str, name: &str, m: &DeepLinear, th0: &[f64], deltas: &[f64]) -> Row {
    let q = m.conserved(th0);
    let mut err: f64 = 0.0;
    for (l, (ql, dl)) in q.iter().zip(deltas).enumerate() {
        let h = m.dims()[l + 1];
        for i in 0..h {
            for j in 0..h {
                err = err.max((ql[i * h + j] - if i == j { *dl } else { 0.0 }).abs());
            }
        }
    }
    let scale = m.conserved_scale(th0).max(1.0);
    let mut r = base_row(
        fam,
        name,
        regime(deltas[deltas.len() - 1]),
        "DL-ISO",
        "conserved_init",
        None,
        "Q_l − δ_l I",
    );
    r.abs_err = err;
    r.rel_err = err / scale;
    r.ref_method = "the requested δ_l (exact)".into();
    r.ref_rigorous = true;
    r.bound = ISO_REL_TOL * scale;
    r.bound_why = "1e-13 × (1 + max_k η_max‖N_k‖²_F): f64 rounding of the Gram products".into();
    r.margin = err / r.bound;
    r.pass = r.margin <= 1.0;
    r.note = format!("dims={:?} etas={:?} deltas={deltas:?}", m.dims(), m.etas());
    r
}

/// `DL-INFEAS`: the combinations of [`infeasible_catalog`] are refused with an
/// [`crate::models::deep_linear::DeepInitError::Infeasible`] naming the expected pair.
fn infeasible_rows(fam: &str) -> Vec<Row> {
    use crate::models::deep_linear::{DeepInitError, conserved_init};
    infeasible_catalog()
        .into_iter()
        .map(|(c, pair)| {
            let ds = c.deltas.clone().unwrap_or_default();
            let res = conserved_init(&c.dims, &c.etas, &ds, &[0.6], c.seed);
            let mut r = base_row(
                fam,
                &c.name,
                regime(ds[pair - 1]),
                "DL-INFEAS",
                "conserved_init",
                None,
                "refusal",
            );
            r.ref_method = format!("width/sign condition of pair {pair} (docs/theory.md §2.3 per pair)");
            r.ref_rigorous = true;
            r.bound_why = "must refuse, naming the violated pair".into();
            let (ok, note) = match res {
                Err(DeepInitError::Infeasible { pair: p, .. }) if p == pair => (true, res.unwrap_err().to_string()),
                Err(e) => (false, format!("wrong refusal: {e}")),
                Ok(_) => (false, "built an initialisation the theory says is impossible".into()),
            };
            r.abs_err = if ok { 0.0 } else { 1.0 };
            // A yes/no outcome on a scale of 1.
            r.rel_err = r.abs_err;
            r.bound = 0.0;
            r.margin = if ok { 0.0 } else { f64::INFINITY };
            r.pass = ok;
            r.note = note;
            r
        })
        .collect()
}

/// The case file of a catalog entry (CLI contract, `"model": "deep_linear"`): the data, layers
/// and rates of [`build`], times 0, 0.5, …, 5.
///
/// # Errors
/// As [`build`].
pub fn to_case(c: &DeepCase) -> Result<crate::case::DeepLinearCase, String> {
    use crate::num::decimal::Num;
    let (m, th) = build(c)?;
    let (d, out) = (c.dims[0], c.dims[c.dims.len() - 1]);
    let (x, y) = data_rows(d + 3, d, out, c.seed, false);
    let num = |v: f64| Num::from_f64(v).expect("finite");
    let mat =
        |rows: &[Vec<f64>]| -> Vec<Vec<Num>> { rows.iter().map(|r| r.iter().map(|v| num(*v)).collect()).collect() };
    let weights0 = (0..m.n_layers())
        .map(|k| {
            let (r, cc) = m.layer_shape(k);
            let l = m.layer(&th, k);
            (0..r)
                .map(|i| l[i * cc..(i + 1) * cc].iter().map(|v| num(*v)).collect())
                .collect()
        })
        .collect();
    Ok(crate::case::DeepLinearCase {
        x: mat(&x),
        y: mat(&y),
        weights0,
        etas: m.etas().iter().map(|v| num(*v)).collect(),
        times: (0..=10).map(|k| num(0.5 * f64::from(k))).collect(),
    })
}
