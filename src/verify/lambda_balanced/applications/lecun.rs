//! `LB-LECUN` (P2 Fig. 1C, Thm A.2–A.3 — statements not read, see `docs/theory.md` §4.7): LeCun
//! initialisation W1 ~ N(0, 1/d_i), W2 ~ N(0, 1/h) with every layer growing, d_i = n, h = n,
//! d_o = 2n. The RMS entry D = ‖W2ᵀW2 − W1W1ᵀ − λ̄I‖_F/h of the balance defect, λ̄ = d_o/h − 1 = 1,
//! has E\[D²\] = (1 + 1/h)(d_o/h² + 1/d_i) exactly (Gaussian second moments), so D → 0 like n^{−1/2}:
//! Monte Carlo over seeds against that formula ([`super::MC_Z`] standard errors, an estimate), and
//! the fitted log–log slope against the formula's slope on the same widths.

use super::super::row_named;
use super::{MC_Z, mean_se};
use crate::verify::Row;
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Seed of the LeCun draws (seed k of width n uses `LECUN_SEED + 1000·n + k`).
pub const LECUN_SEED: u64 = 7000;

/// Mean square of the RMS entry D = ‖W2ᵀW2 − W1W1ᵀ − λ̄I‖_F/h under LeCun initialisation
/// (W1 ~ N(0, 1/d_i), W2 ~ N(0, 1/h)), λ̄ = d_o/h − 1: (1 + 1/h)(d_o/h² + 1/d_i) exactly
/// (docs/theory.md §4.7).
pub fn lecun_mean_square(d_i: usize, h: usize, d_o: usize) -> f64 {
    let (d_i, h, d_o) = (d_i as f64, h as f64, d_o as f64);
    (1.0 + 1.0 / h) * (d_o / (h * h) + 1.0 / d_i)
}

/// One LeCun draw of width n (d_i = n, h = n, d_o = 2n): D².
pub fn lecun_sample(n: usize, seed: u64) -> f64 {
    let (d_i, h, d_o) = (n, n, 2 * n);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut g = |r: usize, c: usize, s: f64| {
        DMatrix::<f64>::from_fn(r, c, |_, _| s * Distribution::<f64>::sample(&StandardNormal, &mut rng))
    };
    let w1 = g(h, d_i, (1.0 / d_i as f64).sqrt());
    let w2 = g(d_o, h, (1.0 / h as f64).sqrt());
    let lam = d_o as f64 / h as f64 - 1.0;
    let e = w2.transpose() * &w2 - &w1 * w1.transpose() - DMatrix::<f64>::identity(h, h) * lam;
    e.norm_squared() / (h * h) as f64
}

/// LeCun data: per width n, (n, Monte Carlo mean of D², its standard error, exact E\[D²\]).
#[derive(Debug, Clone)]
pub struct LecunData {
    /// Rows (n, mean D², standard error, exact).
    pub rows: Vec<(usize, f64, f64, f64)>,
    /// Seeds per width.
    pub seeds: usize,
}

/// Widths of `LB-LECUN`.
pub fn lecun_widths(quick: bool) -> Vec<usize> {
    if quick {
        vec![8, 16, 32, 64, 128, 256]
    } else {
        vec![8, 16, 32, 64, 128, 256, 512]
    }
}

/// Compute [`LecunData`] (`seeds` draws per width), once per process for each (quick, seeds).
pub fn lecun_data(quick: bool, seeds: usize) -> LecunData {
    static CACHE: crate::verify::Memo<LecunData> = crate::verify::Memo::new();
    CACHE.get(format!("{quick}/{seeds}"), || lecun_compute(quick, seeds))
}

fn lecun_compute(quick: bool, seeds: usize) -> LecunData {
    let rows = lecun_widths(quick)
        .into_iter()
        .map(|n| {
            let v: Vec<f64> = (0..seeds)
                .map(|k| lecun_sample(n, LECUN_SEED + 1000 * n as u64 + k as u64))
                .collect();
            let (m, se) = mean_se(&v);
            (n, m, se, lecun_mean_square(n, n, 2 * n))
        })
        .collect();
    LecunData { rows, seeds }
}

/// Least-squares slope of y on x with the first-order propagation Σ|w_i|·δy_i of per-point errors.
fn slope(points: &[(f64, f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    let xm = points.iter().map(|p| p.0).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - xm) * (p.0 - xm)).sum();
    let b = points.iter().map(|p| (p.0 - xm) * p.1).sum::<f64>() / sxx;
    let db = points.iter().map(|p| ((p.0 - xm) / sxx).abs() * p.2).sum::<f64>();
    (b, db)
}

/// Seeds per width of `LB-LECUN`.
pub const LECUN_SEEDS: usize = 16;

pub(super) fn rows(quick: bool, rows: &mut Vec<Row>) {
    let data = lecun_data(quick, LECUN_SEEDS);
    for &(n, m, se, exact) in &data.rows {
        let name = format!("lecun_{n}_{n}_{}", 2 * n);
        let err = (m - exact).abs();
        let bound = MC_Z * se;
        let mut r = row_named(
            "LB-LECUN",
            &name,
            1.0,
            &format!("monte_carlo_{}", data.seeds),
            None,
            "E[D²], D = ‖W2ᵀW2 − W1W1ᵀ − λ̄I‖_F/h (RMS entry of the balance defect)",
            err,
            exact,
            bound,
            &format!(
                "estimate: {MC_Z} standard errors of the mean over {} seeds (CLT; seeds {LECUN_SEED} + 1000·n + k)",
                data.seeds
            ),
            "exact second moment (1 + 1/h)(d_o/h² + 1/d_i) of Gaussian entries (docs/theory.md §4.7)",
            None,
            format!("mean D² = {m:.6e}, exact {exact:.6e}; λ̄ = d_o/h − 1 = 1"),
        );
        // The formula is exact; its f64 evaluation (six operations, each within ½ ulp) is within
        // 8ε relative of it.
        r.ref_bound = 8.0 * f64::EPSILON * exact;
        r.ref_rigorous = true;
        r.margin = err / (bound + r.ref_bound);
        r.pass = r.margin.is_finite() && r.margin <= 1.0;
        rows.push(r);
    }
    // Slope of log √E[D²] against log n: measured (Monte Carlo) vs the exact formula's on the same
    // widths; the error of each log point is ½·MC_Z·se/mean (first order).
    let meas: Vec<(f64, f64, f64)> = data
        .rows
        .iter()
        .map(|&(n, m, se, _)| ((n as f64).ln(), 0.5 * m.ln(), 0.5 * MC_Z * se / m))
        .collect();
    let exact: Vec<(f64, f64, f64)> = data
        .rows
        .iter()
        .map(|&(n, _, _, e)| ((n as f64).ln(), 0.5 * e.ln(), 0.0))
        .collect();
    let (b_m, db) = slope(&meas);
    let (b_e, _) = slope(&exact);
    let mut r = row_named(
        "LB-LECUN",
        "lecun_slope",
        1.0,
        &format!("monte_carlo_{}", data.seeds),
        None,
        "log–log slope of √E[D²] against width n",
        (b_m - b_e).abs(),
        b_e.abs(),
        db,
        &format!(
            "estimate: the {MC_Z}-standard-error interval of each point propagated through the least-squares \
             weights (first order)"
        ),
        "slope of the exact formula on the same widths (→ −½ as n → ∞, docs/theory.md §4.7)",
        None,
        format!(
            "fitted slope {b_m:.4}, exact-formula slope {b_e:.4}, asymptotic rate −0.5; widths {:?}",
            data.rows.iter().map(|r| r.0).collect::<Vec<_>>()
        ),
    );
    // The formula's slope is computed in f64 (logs and a least-squares fit): not proven.
    r.ref_rigorous = false;
    rows.push(r);
}
