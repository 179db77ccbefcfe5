//! Wide two-layer linear nets with whitened data and task-aligned initialisation: decoupled modes,
//! each with the single-neuron closed form; and the hyperbolic-entropy potential q_δ of the
//! mirror flow (P1 Thm B.6, `docs/theory.md` §2.5) at any precision.
//!
//! **Reduction** [derived here]. Let XᵀX = I_d, β* = XᵀY = Σ_{i≤k} s_i u_i v_iᵀ (k = min(d, c),
//! distinct s_i > 0), and let the initialisation be task-aligned: W0 = Σ_i w_i q_i u_iᵀ and
//! A0 = Σ_i a_i q_i v_iᵀ with orthonormal q_i ∈ R^h (zero modes allowed). With G = ∂L/∂β = β − β*,
//! Ȧ = −η_a W G and Ẇ = −η_w A Gᵀ keep this form, and each mode obeys
//!
//! ```text
//! ȧ_i = −η_a w_i (a_i w_i − s_i),    ẇ_i = −η_w a_i (a_i w_i − s_i),
//! ```
//!
//! the single neuron of `docs/theory.md` §1.3 with d = 1, X = \[1\], y = s_i, conserved
//! δ_i = η_w a_i² − η_a w_i² (Δ = Σ δ_i q_i q_iᵀ; isotropy Δ = δI is not needed for the closed
//! form). Hence β(t) = Σ_i a_i(t) w_i(t) u_i v_iᵀ, with (a_i, w_i)(t) from
//! [`crate::exact::single_neuron`] (f64) or [`crate::exact::single_neuron_mp`] (MPFR), and
//! L(t) = ½Σ_i (a_iw_i − s_i)² + ½‖(I − XXᵀ)Y‖²_F. The singular values a_iw_i then follow the
//! mirror flow λ̇ = −√(δ_i² + 4η_aη_w λ²)(λ − s_i) exactly (Thm B.6 per mode), and the limit
//! β∞ = β* does not depend on δ (the caveat of §2.5).
//!
//! **Detection.** A case admits the closed form when (i) max|XᵀX − I| ≤
//! [`tol::WHITENING_TOL`], (ii) β*'s k singular values are positive and distinct (relative gap above
//! [`MODE_GAP_TOL`]; otherwise u_i, v_i are not determined), and (iii) the initialisation is
//! aligned: with p_i = W0u_i, r_i = A0v_i, the largest of max-abs(W0 − Σp_iu_iᵀ),
//! max-abs(A0 − Σr_iv_iᵀ), abs(p_iᵀp_j), abs(r_iᵀr_j), abs(p_iᵀr_j) (i ≠ j) and
//! ‖p_i‖‖r_i‖ − abs(p_iᵀr_i), relative to max(‖W0‖², ‖A0‖², ‖W0‖, ‖A0‖), is ≤ [`ALIGN_TOL`].
//! Then w_i = ‖p_i‖ and a_i = sgn(p_iᵀr_i)‖r_i‖.
//!
//! **Hyperbolic entropy** (general η [derived: §2.5 with 4x² → 4η x²]):
//! q_δ(x) = (1/(2√η))·(x·asinh(2√η x/|δ|) − (√(δ² + 4ηx²) − |δ|)/(2√η)),
//! q_δ′(x) = asinh(2√η x/|δ|)/(2√η), q_δ″(x) = 1/√(δ² + 4ηx²). Limits \[derived\]: as δ → 0,
//! q_δ(x)/ln(1/|δ|) → |x|/(2√η) (ℓ¹, relative error O(1/ln(1/|δ|))); as |δ| → ∞,
//! |δ|·q_δ(x) → x²/2 (ℓ², relative error O(ηx²/δ²)).

use super::ExactError;
use super::single_neuron::ClosedForm;
use super::single_neuron_mp::ClosedFormMp;
use crate::case::{SingleNeuronCase, TwoLayerLinearCase, f64_rows};
use crate::models::ModelError;
use crate::models::single_neuron::SingleNeuron;
use crate::num::decimal::Num;
use crate::num::mp::{self, two_precision_bound_mp};
use crate::num::real::{Real, RealError, abs_hint};
use crate::num::tol;
use nalgebra::DMatrix;
use rug::Float;

/// Relative gap below which two singular values of β* = XᵀY count as equal (the singular vectors,
/// and so the modes, are then not determined in f64).
pub const MODE_GAP_TOL: f64 = 1e-8;

/// Alignment tolerance (relative): an initialisation written in binary64 from an exactly aligned
/// one has defect ≈ k·ε ≈ 1e-15; 1e-10 accepts that and rejects anything visibly misaligned.
/// The measured defect is reported with every result (the closed form describes the aligned
/// projection of the inputs).
pub const ALIGN_TOL: f64 = 1e-10;

/// Why a case does not admit the per-mode closed form.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModeError {
    /// Singular values of β* are zero or repeated.
    #[error(
        "the per-mode closed form needs distinct positive singular values of β* = XᵀY, but the smallest \
         relative gap (or σ_min/σ_max) is {gap:.3e} ≤ {tol:.0e}: perturb Y, or use `simulate`"
    )]
    Degenerate {
        /// Smallest relative gap.
        gap: f64,
        /// Tolerance.
        tol: f64,
    },
    /// The initialisation is not task-aligned.
    #[error(
        "the per-mode closed form needs a task-aligned initialisation (W0 = Σ w_i q_i u_iᵀ, A0 = Σ a_i q_i v_iᵀ \
         with β* = Σ s_i u_i v_iᵀ and orthonormal q_i), but the alignment defect is {defect:.3e} > {tol:.0e} \
         ({which}): build W0, A0 from the SVD of XᵀY, or use `simulate`"
    )]
    NotAligned {
        /// Relative defect.
        defect: f64,
        /// Tolerance.
        tol: f64,
        /// Which condition is worst.
        which: &'static str,
    },
}

/// Modes of a task-aligned case (f64).
#[derive(Debug, Clone)]
pub struct Modes {
    /// d, c.
    pub d: usize,
    /// c.
    pub c: usize,
    /// u_i (d×k).
    pub u: DMatrix<f64>,
    /// v_i (c×k).
    pub v: DMatrix<f64>,
    /// s_i.
    pub s: Vec<f64>,
    /// a_i(0).
    pub a0: Vec<f64>,
    /// w_i(0).
    pub w0: Vec<f64>,
    /// ½‖(I − XXᵀ)Y‖²_F.
    pub loss_floor: f64,
    /// Relative alignment defect (≤ [`ALIGN_TOL`]).
    pub align_defect: f64,
    /// Whitening defect max|XᵀX − I|.
    pub whitening_defect: f64,
    eta_a: f64,
    eta_w: f64,
}

fn err_model(e: ModelError) -> ExactError {
    ExactError::Model(e)
}

/// Decompose a case (f64).
///
/// # Errors
/// [`ExactError::NotWhitened`], or [`ExactError::Singular`] carrying a [`ModeError`] message
/// naming the failed condition and its measured size; [`ExactError::Model`] for bad shapes.
pub fn decompose(case: &TwoLayerLinearCase) -> Result<Modes, ExactError> {
    let x = crate::case::LambdaBalancedCase::matrix_f64(&case.x, "x").map_err(|e| mode_err(e.to_string()))?;
    let y = crate::case::LambdaBalancedCase::matrix_f64(&case.y, "y").map_err(|e| mode_err(e.to_string()))?;
    let w0 = DMatrix::from_row_slice(
        case.w0.len(),
        case.w0.first().map_or(0, Vec::len),
        &f64_rows(&case.w0).concat(),
    );
    let a0 = DMatrix::from_row_slice(
        case.a0.len(),
        case.a0.first().map_or(0, Vec::len),
        &f64_rows(&case.a0).concat(),
    );
    let (eta_a, eta_w) = (
        crate::models::check_rate("eta_a", case.eta_a.to_f64()).map_err(err_model)?,
        crate::models::check_rate("eta_w", case.eta_w.to_f64()).map_err(err_model)?,
    );
    let (n, d, c, h) = (x.nrows(), x.ncols(), y.ncols(), w0.nrows());
    if y.nrows() != n || w0.ncols() != d || a0.nrows() != h || a0.ncols() != c {
        return Err(err_model(ModelError::Shape {
            what: "x, y, w0, a0".into(),
            expected: "x n×d, y n×c, w0 h×d, a0 h×c".into(),
            found: format!(
                "x {n}×{d}, y {}×{c}, w0 {h}×{}, a0 {}×{}",
                y.nrows(),
                w0.ncols(),
                a0.nrows(),
                a0.ncols()
            ),
        }));
    }
    let xtx = x.transpose() * &x;
    let whitening_defect = (xtx - DMatrix::<f64>::identity(d, d)).amax();
    if whitening_defect > tol::WHITENING_TOL {
        return Err(ExactError::NotWhitened {
            defect: whitening_defect,
            tol: tol::WHITENING_TOL,
        });
    }
    let bstar = x.transpose() * &y;
    let k = d.min(c);
    let svd = bstar.clone().svd(true, true);
    let mut order: Vec<usize> = (0..svd.singular_values.len()).collect();
    order.sort_by(|&i, &j| svd.singular_values[j].total_cmp(&svd.singular_values[i]));
    let uf = svd.u.expect("requested");
    let vtf = svd.v_t.expect("requested");
    let s: Vec<f64> = order.iter().take(k).map(|&i| svd.singular_values[i]).collect();
    let smax = s[0].max(f64::MIN_POSITIVE);
    let mut gap = s[k - 1] / smax;
    for i in 1..k {
        gap = gap.min((s[i - 1] - s[i]) / smax);
    }
    if gap <= MODE_GAP_TOL {
        return Err(mode_err(ModeError::Degenerate { gap, tol: MODE_GAP_TOL }.to_string()));
    }
    let u = DMatrix::from_fn(d, k, |r, j| uf[(r, order[j])]);
    let v = DMatrix::from_fn(c, k, |r, j| vtf[(order[j], r)]);
    let p = &w0 * &u;
    let r = &a0 * &v;
    let scale = [w0.norm(), a0.norm()]
        .into_iter()
        .flat_map(|x| [x, x * x])
        .fold(f64::MIN_POSITIVE, f64::max);
    let mut worst = (0.0f64, "");
    let mut upd = |val: f64, which: &'static str| {
        if val / scale > worst.0 {
            worst = (val / scale, which);
        }
    };
    upd((&w0 - &p * u.transpose()).amax(), "W0 has components outside span(u_i)");
    upd((&a0 - &r * v.transpose()).amax(), "A0 has components outside span(v_i)");
    let (ww, aa, wa) = (p.transpose() * &p, r.transpose() * &r, p.transpose() * &r);
    for i in 0..k {
        for j in 0..k {
            if i != j {
                upd(ww[(i, j)].abs(), "W0u_i not mutually orthogonal");
                upd(aa[(i, j)].abs(), "A0v_i not mutually orthogonal");
                upd(wa[(i, j)].abs(), "W0u_i not orthogonal to A0v_j");
            }
        }
        upd(
            ww[(i, i)].sqrt() * aa[(i, i)].sqrt() - wa[(i, i)].abs(),
            "W0u_i and A0v_i not parallel",
        );
    }
    if worst.0 > ALIGN_TOL {
        return Err(mode_err(
            ModeError::NotAligned {
                defect: worst.0,
                tol: ALIGN_TOL,
                which: worst.1,
            }
            .to_string(),
        ));
    }
    let w0m: Vec<f64> = (0..k).map(|i| ww[(i, i)].sqrt()).collect();
    let a0m: Vec<f64> = (0..k)
        .map(|i| {
            let sg = if wa[(i, i)] < 0.0 { -1.0 } else { 1.0 };
            sg * aa[(i, i)].sqrt()
        })
        .collect();
    let resid = &y - &x * &bstar;
    Ok(Modes {
        d,
        c,
        u,
        v,
        s,
        a0: a0m,
        w0: w0m,
        loss_floor: 0.5 * resid.norm_squared(),
        align_defect: worst.0,
        whitening_defect,
        eta_a,
        eta_w,
    })
}

fn mode_err(why: String) -> ExactError {
    ExactError::Singular {
        form: "per-mode (whitened, task-aligned)",
        why,
    }
}

impl Modes {
    /// Number of modes k = min(d, c).
    pub fn k(&self) -> usize {
        self.s.len()
    }

    /// Per-mode δ_i = η_w a_i² − η_a w_i².
    pub fn deltas(&self) -> Vec<f64> {
        self.a0
            .iter()
            .zip(&self.w0)
            .map(|(a, w)| self.eta_w * a * a - self.eta_a * w * w)
            .collect()
    }

    /// The single-neuron case of mode i (d = 1, X = [1], y = s_i).
    fn mode_model(&self, i: usize) -> Result<SingleNeuron, ExactError> {
        SingleNeuron::new(&[vec![1.0]], &[self.s[i]], self.eta_a, self.eta_w).map_err(err_model)
    }

    /// Mode strengths μ_i(t) = a_i(t)w_i(t) (f64 closed form).
    ///
    /// # Errors
    /// From [`ClosedForm::new`].
    pub fn strengths(&self, t: f64) -> Result<Vec<f64>, ExactError> {
        (0..self.k())
            .map(|i| {
                let cf = ClosedForm::new(&self.mode_model(i)?, self.a0[i], &[self.w0[i]])?;
                let th = cf.theta_at(t);
                Ok(th[0] * th[1])
            })
            .collect()
    }

    /// β(t) (d×c, row-major) and L(t) from the f64 per-mode closed form.
    ///
    /// # Errors
    /// From [`ClosedForm::new`].
    pub fn beta_loss(&self, t: f64) -> Result<(Vec<f64>, f64), ExactError> {
        let mu = self.strengths(t)?;
        let mut beta = DMatrix::<f64>::zeros(self.d, self.c);
        let mut loss = self.loss_floor;
        for (i, m) in mu.iter().enumerate() {
            beta += self.u.column(i) * self.v.column(i).transpose() * *m;
            loss += 0.5 * (m - self.s[i]).powi(2);
        }
        Ok((beta.transpose().iter().copied().collect(), loss))
    }
}

/// One time point of the MPFR per-mode closed form.
#[derive(Debug, Clone)]
pub struct ModePointMp {
    /// Time (as given).
    pub t: Num,
    /// β(t), row-major d×c.
    pub beta: Vec<Float>,
    /// Two-precision bounds of β.
    pub beta_bounds: Vec<Float>,
    /// L(t).
    pub loss: Float,
    /// Bound of L.
    pub loss_bound: Float,
}

/// β(t) and L(t) at precision p for each time: modes at precision p (Jacobi eigen-decomposition of
/// β*ᵀβ* or β*β*ᵀ), per-mode single-neuron closed forms at p.
fn evaluate_at(case: &TwoLayerLinearCase, p: u32) -> Result<Vec<(Vec<Float>, Float)>, ExactError> {
    use super::lambda_balanced_mp::{MatMp, jacobi_eigen};
    let parse = |rows: &[Vec<Num>]| -> Vec<Vec<Float>> {
        rows.iter().map(|r| r.iter().map(|v| v.to_mp(p)).collect()).collect()
    };
    let (x, y, w0, a0) = (parse(&case.x), parse(&case.y), parse(&case.w0), parse(&case.a0));
    let (n, d, c, h) = (x.len(), x[0].len(), y[0].len(), w0.len());
    let k = d.min(c);
    let dotp = |a: &mut dyn Iterator<Item = Float>| a.fold(Float::new(p), |s, v| s + v);
    // β* = XᵀY (d×c).
    let bstar: Vec<Vec<Float>> = (0..d)
        .map(|i| {
            (0..c)
                .map(|j| dotp(&mut (0..n).map(|r| Float::with_val(p, &x[r][i] * &y[r][j]))))
                .collect()
        })
        .collect();
    // Eigen-decomposition of the smaller Gram matrix.
    let small_is_c = c <= d;
    let m = if small_is_c { c } else { d };
    let mut data = Vec::with_capacity(m * m);
    for i in 0..m {
        for j in 0..m {
            data.push(if small_is_c {
                dotp(&mut (0..d).map(|r| Float::with_val(p, &bstar[r][i] * &bstar[r][j])))
            } else {
                dotp(&mut (0..c).map(|r| Float::with_val(p, &bstar[i][r] * &bstar[j][r])))
            });
        }
    }
    let gram = MatMp { rows: m, cols: m, data };
    let (ev, vecs) = jacobi_eigen(&gram, p).map_err(|e| mode_err(e.to_string()))?;
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| ev[j].partial_cmp(&ev[i]).unwrap_or(std::cmp::Ordering::Equal));
    let mut us = Vec::new();
    let mut vs = Vec::new();
    let mut ss = Vec::new();
    for &o in order.iter().take(k) {
        let s = Float::with_val(p, ev[o].clone().abs().sqrt());
        let e: Vec<Float> = (0..m).map(|r| vecs.at(r, o).clone()).collect();
        // The other side: u = β* v / s (or v = β*ᵀ u / s).
        let other: Vec<Float> = if small_is_c {
            (0..d)
                .map(|r| dotp(&mut (0..c).map(|j| Float::with_val(p, &bstar[r][j] * &e[j]))) / &s)
                .collect()
        } else {
            (0..c)
                .map(|r| dotp(&mut (0..d).map(|j| Float::with_val(p, &bstar[j][r] * &e[j]))) / &s)
                .collect()
        };
        if small_is_c {
            us.push(other);
            vs.push(e);
        } else {
            us.push(e);
            vs.push(other);
        }
        ss.push(s);
    }
    // Per-mode scalars.
    let mut cases = Vec::new();
    let text = |v: &Float| -> Result<Num, ExactError> {
        Num::parse(&v.to_string_radix(10, None)).map_err(|e| mode_err(e.to_string()))
    };
    for i in 0..k {
        let pi: Vec<Float> = (0..h)
            .map(|r| dotp(&mut (0..d).map(|j| Float::with_val(p, &w0[r][j] * &us[i][j]))))
            .collect();
        let ri: Vec<Float> = (0..h)
            .map(|r| dotp(&mut (0..c).map(|j| Float::with_val(p, &a0[r][j] * &vs[i][j]))))
            .collect();
        let wi = dotp(&mut pi.iter().map(|v| Float::with_val(p, v.square_ref()))).sqrt();
        let mut ai = dotp(&mut ri.iter().map(|v| Float::with_val(p, v.square_ref()))).sqrt();
        let sign = dotp(&mut pi.iter().zip(&ri).map(|(a, b)| Float::with_val(p, a * b)));
        if sign < 0 {
            ai = -ai;
        }
        cases.push(SingleNeuronCase {
            x: vec![vec![Num::parse("1").expect("literal")]],
            y: vec![text(&ss[i])?],
            a0: text(&ai)?,
            w0: vec![text(&wi)?],
            eta_a: case.eta_a.clone(),
            eta_w: case.eta_w.clone(),
            times: case.times.clone(),
        });
    }
    let cfs: Vec<ClosedFormMp> = cases
        .iter()
        .map(|sc| ClosedFormMp::new(sc, p))
        .collect::<Result<_, _>>()?;
    // Loss floor ½‖Y − Xβ*‖².
    let mut floor = Float::new(p);
    for r in 0..n {
        for j in 0..c {
            let fit = dotp(&mut (0..d).map(|i| Float::with_val(p, &x[r][i] * &bstar[i][j])));
            floor += Float::with_val(p, &y[r][j] - fit).square();
        }
    }
    floor /= 2u32;
    let mut out = Vec::new();
    for t in &case.times {
        let tm = t.to_mp(p);
        let mut beta = vec![Float::new(p); d * c];
        let mut loss = floor.clone();
        for (i, cf) in cfs.iter().enumerate() {
            let (a, w) = cf.state(&tm);
            let mu = Float::with_val(p, &a * &w[0]);
            for r in 0..d {
                for j in 0..c {
                    beta[r * c + j] += Float::with_val(p, &mu * &us[i][r]) * &vs[i][j];
                }
            }
            loss += Float::with_val(p, &mu - &ss[i]).square() / 2u32;
        }
        out.push((beta, loss));
    }
    Ok(out)
}

/// The per-mode closed form at `prec` bits with two-precision bounds (p and p + 64).
///
/// # Errors
/// As [`decompose`] (checked in f64 first), [`ExactError::Prec`], invalid times.
pub fn evaluate_with_bounds(case: &TwoLayerLinearCase, prec: u32) -> Result<(Modes, Vec<ModePointMp>), ExactError> {
    mp::check_prec(prec)?;
    let modes = decompose(case)?;
    crate::num::check_times(&case.times.iter().map(Num::to_f64).collect::<Vec<_>>())?;
    let lo = evaluate_at(case, prec)?;
    let hi = evaluate_at(case, prec + tol::GUARD_BITS)?;
    let pts = lo
        .into_iter()
        .zip(hi)
        .zip(&case.times)
        .map(|(((bl, ll), (bh, lh)), t)| ModePointMp {
            t: t.clone(),
            beta_bounds: bl.iter().zip(&bh).map(|(a, b)| two_precision_bound_mp(a, b)).collect(),
            beta: bl,
            loss_bound: two_precision_bound_mp(&ll, &lh),
            loss: ll,
        })
        .collect();
    Ok((modes, pts))
}

/// q_δ(x), q_δ′(x), q_δ″(x) of the hyperbolic entropy at `p` bits (δ ≠ 0, η = η_aη_w > 0):
/// [`q_delta_of`] in MPFR.
///
/// # Errors
/// [`ExactError::Singular`] at δ = 0 (q_δ diverges like ln(1/|δ|); see the ℓ¹ limit).
pub fn q_delta_mp(x: &Float, delta: &Float, eta: &Float, p: u32) -> Result<[Float; 3], ExactError> {
    if delta.is_zero() {
        return Err(q_singular());
    }
    let w = |v: &Float| Float::with_val(p, v);
    q_delta_of(&w(x), &w(delta), &w(eta)).map_err(|_| q_singular())
}

fn q_singular() -> ExactError {
    ExactError::Singular {
        form: "hyperbolic entropy q_δ",
        why: "δ = 0: q_δ(x) diverges like |x|·ln(1/|δ|)/(2√η) (the ℓ¹ limit); use δ ≠ 0".into(),
    }
}

/// q_δ, q_δ′, q_δ″ in f64 (δ ≠ 0): [`q_delta_of`] in f64 (NaN at δ = 0).
pub fn q_delta(x: f64, delta: f64, eta: f64) -> [f64; 3] {
    q_delta_of(&x, &delta, &eta).unwrap_or([f64::NAN; 3])
}

/// q_δ(x) = (x·asinh(2√η x/|δ|) − (√(δ² + 4ηx²) − |δ|)/(2√η))/(2√η), q_δ′ = asinh(2√η x/|δ|)/(2√η)
/// and q_δ″ = 1/√(δ² + 4ηx²), written once for every scalar ([`Real`]; f64, MPFR, balls), with
/// √(δ² + 4ηx²) − |δ| = 4ηx²/(√(δ² + 4ηx²) + |δ|) to avoid cancellation.
///
/// # Errors
/// [`RealError`] at δ = 0 (or a ball δ containing 0).
pub fn q_delta_of<S: Real>(x: &S, delta: &S, eta: &S) -> Result<[S; 3], RealError> {
    let ad = abs_hint(delta);
    let se = eta.sqrt_r()?;
    let two_se = se.times(&se.real(2.0));
    let ash = two_se.times(x).over(&ad)?.asinh_r();
    let ex4 = x.times(x).times(eta).times(&x.real(4.0));
    let root = delta.times(delta).plus(&ex4).sqrt_r()?;
    let diff = ex4.over(&root.plus(&ad))?;
    let q = x.times(&ash).minus(&diff.over(&two_se)?).over(&two_se)?;
    let q1 = ash.over(&two_se)?;
    let q2 = root.real(1.0).over(&root)?;
    Ok([q, q1, q2])
}
