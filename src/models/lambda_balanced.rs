//! Two-layer linear network ŷ = W2·W1·x and λ-balanced initialisation (P2; `docs/theory.md` §4.1–4.2).
//!
//! - W1 ∈ R^{h×d_i}, W2 ∈ R^{d_o×h}; data X ∈ R^{d_i×P} (columns are samples), Y ∈ R^{d_o×P}.
//! - Loss L = (1/2P) Σ_n ‖W2W1x_n − y_n‖² (P2 / S5 convention, `docs/theory.md` §5.1).
//! - Flow τẆ = −∇L, i.e. every parameter has learning rate 1/τ (τ = 1/lr).
//! - With Σ̃_xx = XXᵀ/P, Σ̃_yx = YXᵀ/P, W = W2W1 and G = ∂L/∂W = WΣ̃_xx − Σ̃_yx:
//!   ∇_{W1}L = W2ᵀG, ∇_{W2}L = GW1ᵀ; the Hessian-vector product along (V1, V2) is
//!   (V2ᵀG + W2ᵀ dG, dG W1ᵀ + G V1ᵀ) with dG = (V2W1 + W2V1)Σ̃_xx.
//! - Conserved: W2ᵀW2 − W1W1ᵀ (`docs/theory.md` §4.2, thesis Thm 2.2.1); λ-balanced means it equals λI_h.
//!   Sign: λ > 0 ⇔ the output layer is larger (P1 "upstream").
//!
//! θ is packed as W1 row-major, then W2 row-major.
//!
//! **λ-balanced initialisation** (P2 Algorithm 1, `docs/theory.md` §4.2): from a target product
//! W2W1 = U S Vᵀ and a random orthogonal R ∈ R^{h×h}, W1 = R·[c_k v_kᵀ] and W2 = [d_k u_k]·Rᵀ with
//! c_k d_k = s_k and d_k² − c_k² = λ, i.e. d_k² = (√(λ²+4s²)+λ)/2, c_k² = (√(λ²+4s²)−λ)/2 (the
//! smaller of the two is computed as s/larger, free of cancellation). Hidden directions beyond the
//! m = min(h, d_i, d_o) paired modes get √λ·u (λ > 0) or √(−λ)·v (λ < 0) on unused singular
//! directions, or zero (λ = 0). Hence the exact feasibility rule [D, generalises S5
//! `get_lambda_balanced`]: with e = h − min(d_i, d_o) > 0 extra directions, λ > 0 needs h ≤ d_o,
//! λ < 0 needs h ≤ d_i. The result is λ-balanced to rounding (R orthogonal to rounding).

use super::{GradientFlowModel, ModelError, check_finite, check_rate};
use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::StandardNormal;
use std::cell::RefCell;

/// Errors from building a λ-balanced initialisation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The combination of dimensions and sign of λ admits no λ-balanced pair.
    #[error("no λ-balanced initialisation exists for (d_i, h, d_o) = ({d_i}, {h}, {d_o}) and λ = {lambda}: {reason}")]
    Infeasible {
        /// Input dimension.
        d_i: usize,
        /// Hidden width.
        h: usize,
        /// Output dimension.
        d_o: usize,
        /// Requested λ.
        lambda: f64,
        /// Why, and what would work.
        reason: String,
    },
    /// Bad numeric input.
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Check that λ-balance is possible for these dimensions (see the module doc).
///
/// # Errors
/// [`InitError::Infeasible`] with the reason; [`InitError::Model`] for a non-finite λ or a zero
/// dimension.
pub fn check_feasible(d_i: usize, h: usize, d_o: usize, lambda: f64) -> Result<(), InitError> {
    check_finite("lambda", &[lambda])?;
    if d_i == 0 || h == 0 || d_o == 0 {
        return Err(ModelError::Shape {
            what: "(d_i, h, d_o)".into(),
            expected: "all ≥ 1".into(),
            found: format!("({d_i}, {h}, {d_o})"),
        }
        .into());
    }
    let r = d_i.min(d_o);
    let infeasible = |reason: String| InitError::Infeasible {
        d_i,
        h,
        d_o,
        lambda,
        reason,
    };
    if h > r && lambda > 0.0 && h > d_o {
        return Err(infeasible(format!(
            "λ > 0 puts √λ on every hidden direction of W2, which needs h ≤ d_o = {d_o} \
             (use λ ≤ 0, or h ≤ {d_o})"
        )));
    }
    if h > r && lambda < 0.0 && h > d_i {
        return Err(infeasible(format!(
            "λ < 0 puts √(−λ) on every hidden direction of W1, which needs h ≤ d_i = {d_i} \
             (use λ ≥ 0, or h ≤ {d_i})"
        )));
    }
    Ok(())
}

/// The pair (c, d) with c·d = s, d² − c² = λ, c, d ≥ 0, without cancellation.
pub fn mode_factors(s: f64, lambda: f64) -> (f64, f64) {
    let root = lambda.hypot(2.0 * s);
    if lambda >= 0.0 {
        let d = ((root + lambda) / 2.0).sqrt();
        let c = if d > 0.0 { s / d } else { 0.0 };
        (c, d)
    } else {
        let c = ((root - lambda) / 2.0).sqrt();
        let d = if c > 0.0 { s / c } else { 0.0 };
        (c, d)
    }
}

/// Complete the orthonormal columns of `q` (n×k) to an orthonormal basis of R^n (n×n), by
/// twice-iterated Gram–Schmidt on the unit vectors, picking at each step the one with the largest
/// remaining component.
pub fn complete_basis(q: &DMatrix<f64>) -> DMatrix<f64> {
    let n = q.nrows();
    let mut cols: Vec<nalgebra::DVector<f64>> = (0..q.ncols()).map(|j| q.column(j).into_owned()).collect();
    while cols.len() < n {
        let mut best: Option<(f64, nalgebra::DVector<f64>)> = None;
        for i in 0..n {
            let mut v = nalgebra::DVector::<f64>::zeros(n);
            v[i] = 1.0;
            for _ in 0..2 {
                for c in &cols {
                    let p = c.dot(&v);
                    v -= c * p;
                }
            }
            let nv = v.norm();
            if best.as_ref().is_none_or(|(b, _)| nv > *b) {
                best = Some((nv, v / nv));
            }
        }
        let (_, v) = best.expect("n > 0 candidates");
        cols.push(v);
    }
    DMatrix::from_columns(&cols)
}

/// A seeded random orthogonal h×h matrix (QR of a Gaussian matrix, signs fixed by diag(R) > 0).
pub fn random_orthogonal<R: Rng>(h: usize, rng: &mut R) -> DMatrix<f64> {
    let g = DMatrix::<f64>::from_fn(h, h, |_, _| rng.sample(StandardNormal));
    let qr = g.qr();
    let mut q = qr.q();
    let r = qr.r();
    for j in 0..h {
        if r[(j, j)] < 0.0 {
            q.column_mut(j).neg_mut();
        }
    }
    q
}

/// λ-balanced (W1, W2) with W2W1 = U diag(s) Vᵀ (U: d_o×m, V: d_i×m orthonormal columns,
/// m = s.len() ≤ min(h, d_i, d_o)) and hidden basis R (h×h orthogonal).
///
/// # Errors
/// [`InitError`] when infeasible (see [`check_feasible`]) or shapes disagree.
pub fn balanced_from_svd(
    u: &DMatrix<f64>,
    s: &[f64],
    v: &DMatrix<f64>,
    r: &DMatrix<f64>,
    lambda: f64,
) -> Result<(DMatrix<f64>, DMatrix<f64>), InitError> {
    let (d_o, d_i, h) = (u.nrows(), v.nrows(), r.nrows());
    check_feasible(d_i, h, d_o, lambda)?;
    let m = s.len();
    if u.ncols() != m || v.ncols() != m || m > h.min(d_i).min(d_o) || r.ncols() != h {
        return Err(ModelError::Shape {
            what: "SVD factors".into(),
            expected: format!(
                "U d_o×m, V d_i×m, R h×h with m ≤ min(h, d_i, d_o) = {}",
                h.min(d_i).min(d_o)
            ),
            found: format!(
                "U {}×{}, V {}×{}, R {}×{}, m = {m}",
                u.nrows(),
                u.ncols(),
                v.nrows(),
                v.ncols(),
                r.nrows(),
                r.ncols()
            ),
        }
        .into());
    }
    check_finite("s", s)?;
    let uf = complete_basis(u);
    let vf = complete_basis(v);
    // W1' = Rᵀ W1 (h×d_i), W2' = W2 R (d_o×h), built mode by mode.
    let mut w1p = DMatrix::<f64>::zeros(h, d_i);
    let mut w2p = DMatrix::<f64>::zeros(d_o, h);
    // Paired modes: the m given singular triplets, then (if h allows) zero-strength modes on the
    // remaining min(d_i, d_o) − m directions, then the extra directions.
    let r_min = d_i.min(d_o);
    let paired = h.min(r_min);
    for k in 0..paired {
        let sk = if k < m { s[k].abs() } else { 0.0 };
        let (c, d) = mode_factors(sk, lambda);
        let sign = if k < m && s[k] < 0.0 { -1.0 } else { 1.0 };
        for j in 0..d_i {
            w1p[(k, j)] = c * vf[(j, k)];
        }
        for i in 0..d_o {
            w2p[(i, k)] = sign * d * uf[(i, k)];
        }
    }
    for k in paired..h {
        if lambda > 0.0 {
            let d = lambda.sqrt();
            for i in 0..d_o {
                w2p[(i, k)] = d * uf[(i, k)];
            }
        } else if lambda < 0.0 {
            let c = (-lambda).sqrt();
            for j in 0..d_i {
                w1p[(k, j)] = c * vf[(j, k)];
            }
        }
    }
    Ok((r * w1p, w2p * r.transpose()))
}

/// Random λ-balanced initialisation (P2 Algorithm 1): W1, W2 with i.i.d. N(0, σ²) entries give
/// the target product W2W1 = U S Vᵀ; then [`balanced_from_svd`] with a random orthogonal R.
///
/// # Errors
/// [`InitError`] when infeasible or σ is not finite and > 0.
pub fn random_init<R: Rng>(
    d_i: usize,
    h: usize,
    d_o: usize,
    lambda: f64,
    sigma: f64,
    rng: &mut R,
) -> Result<(DMatrix<f64>, DMatrix<f64>), InitError> {
    check_feasible(d_i, h, d_o, lambda)?;
    check_rate("sigma", sigma)?;
    let w1 = DMatrix::<f64>::from_fn(h, d_i, |_, _| sigma * rng.sample::<f64, _>(StandardNormal));
    let w2 = DMatrix::<f64>::from_fn(d_o, h, |_, _| sigma * rng.sample::<f64, _>(StandardNormal));
    let m = h.min(d_i).min(d_o);
    let svd = (&w2 * &w1).svd(true, true);
    let u = svd.u.expect("requested U");
    let vt = svd.v_t.expect("requested Vᵀ");
    // nalgebra returns singular values unsorted in general: sort descending, keep m.
    let mut idx: Vec<usize> = (0..svd.singular_values.len()).collect();
    idx.sort_by(|&a, &b| svd.singular_values[b].total_cmp(&svd.singular_values[a]));
    idx.truncate(m);
    let s: Vec<f64> = idx.iter().map(|&k| svd.singular_values[k]).collect();
    let uu = DMatrix::from_columns(&idx.iter().map(|&k| u.column(k).into_owned()).collect::<Vec<_>>());
    let vv = DMatrix::from_columns(&idx.iter().map(|&k| vt.row(k).transpose()).collect::<Vec<_>>());
    let r = random_orthogonal(h, rng);
    balanced_from_svd(&uu, &s, &vv, &r, lambda)
}

/// Task-aligned λ-balanced initialisation: W2W1(0) = Ũ diag(s0) Ṽᵀ shares its singular vectors
/// with Σ̃_yx = Ũ S̃ Ṽᵀ (S5 `get_lambda_balanced_aligned`), mode strengths `s0` (length ≤ m).
///
/// # Errors
/// [`InitError`] when infeasible or shapes disagree.
pub fn aligned_init<R: Rng>(
    syx: &DMatrix<f64>,
    h: usize,
    s0: &[f64],
    lambda: f64,
    rng: &mut R,
) -> Result<(DMatrix<f64>, DMatrix<f64>), InitError> {
    let (d_o, d_i) = (syx.nrows(), syx.ncols());
    check_feasible(d_i, h, d_o, lambda)?;
    let m = s0.len();
    let svd = syx.clone().svd(true, true);
    let u = svd.u.expect("requested U");
    let vt = svd.v_t.expect("requested Vᵀ");
    let mut idx: Vec<usize> = (0..svd.singular_values.len()).collect();
    idx.sort_by(|&a, &b| svd.singular_values[b].total_cmp(&svd.singular_values[a]));
    idx.truncate(m);
    if idx.len() < m {
        return Err(ModelError::Shape {
            what: "s0".into(),
            expected: format!("at most {} mode strengths", idx.len()),
            found: format!("{m}"),
        }
        .into());
    }
    let uu = DMatrix::from_columns(&idx.iter().map(|&k| u.column(k).into_owned()).collect::<Vec<_>>());
    let vv = DMatrix::from_columns(&idx.iter().map(|&k| vt.row(k).transpose()).collect::<Vec<_>>());
    let r = random_orthogonal(h, rng);
    balanced_from_svd(&uu, s0, &vv, &r, lambda)
}

/// λ measured from a pair: λ = tr(W2ᵀW2 − W1W1ᵀ)/h and the defect max|W2ᵀW2 − W1W1ᵀ − λI|.
pub fn measure_lambda(w1: &DMatrix<f64>, w2: &DMatrix<f64>) -> (f64, f64) {
    let c = w2.transpose() * w2 - w1 * w1.transpose();
    let h = c.nrows();
    let lambda = c.trace() / h as f64;
    let mut defect: f64 = 0.0;
    for i in 0..h {
        for j in 0..h {
            let id = if i == j { lambda } else { 0.0 };
            defect = defect.max((c[(i, j)] - id).abs());
        }
    }
    (lambda, defect)
}

struct Scratch {
    w: Vec<f64>,
    g: Vec<f64>,
    dw: Vec<f64>,
    dg: Vec<f64>,
}

/// The two-layer linear network with its data and time constant τ.
pub struct LinearNetwork {
    d_i: usize,
    h: usize,
    d_o: usize,
    p: usize,
    /// X, d_i×P.
    x: DMatrix<f64>,
    /// Y, d_o×P.
    y: DMatrix<f64>,
    /// Σ̃_xx row-major d_i×d_i.
    sxx: Vec<f64>,
    /// Σ̃_yx row-major d_o×d_i.
    syx: Vec<f64>,
    tau: f64,
    scratch: RefCell<Scratch>,
}

impl std::fmt::Debug for LinearNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LinearNetwork(d_i={}, h={}, d_o={}, P={}, tau={})",
            self.d_i, self.h, self.d_o, self.p, self.tau
        )
    }
}

impl LinearNetwork {
    /// Build from X (d_i×P), Y (d_o×P), hidden width h and τ > 0.
    ///
    /// # Errors
    /// [`ModelError`] for empty or mismatched shapes, non-finite entries or τ ≤ 0.
    pub fn new(x: &DMatrix<f64>, y: &DMatrix<f64>, h: usize, tau: f64) -> Result<Self, ModelError> {
        let (d_i, p, d_o) = (x.nrows(), x.ncols(), y.nrows());
        if d_i == 0 || p == 0 || d_o == 0 || h == 0 {
            return Err(ModelError::Shape {
                what: "x, y, h".into(),
                expected: "d_i ≥ 1, P ≥ 1, d_o ≥ 1, h ≥ 1".into(),
                found: format!("d_i = {d_i}, P = {p}, d_o = {d_o}, h = {h}"),
            });
        }
        if y.ncols() != p {
            return Err(ModelError::Shape {
                what: "y".into(),
                expected: format!("d_o×P with P = {p} columns (one per sample, as x)"),
                found: format!("{}×{}", y.nrows(), y.ncols()),
            });
        }
        check_finite("x", x.as_slice())?;
        check_finite("y", y.as_slice())?;
        let tau = check_rate("tau", tau)?;
        let pf = p as f64;
        let sxx_m = x * x.transpose() / pf;
        let syx_m = y * x.transpose() / pf;
        let sxx = (0..d_i * d_i).map(|k| sxx_m[(k / d_i, k % d_i)]).collect();
        let syx = (0..d_o * d_i).map(|k| syx_m[(k / d_i, k % d_i)]).collect();
        let n = d_o * d_i;
        Ok(LinearNetwork {
            d_i,
            h,
            d_o,
            p,
            x: x.clone(),
            y: y.clone(),
            sxx,
            syx,
            tau,
            scratch: RefCell::new(Scratch {
                w: vec![0.0; n],
                g: vec![0.0; n],
                dw: vec![0.0; n],
                dg: vec![0.0; n],
            }),
        })
    }

    /// (d_i, h, d_o).
    pub fn dims(&self) -> (usize, usize, usize) {
        (self.d_i, self.h, self.d_o)
    }
    /// Number of samples P.
    pub fn n_samples(&self) -> usize {
        self.p
    }
    /// τ.
    pub fn tau(&self) -> f64 {
        self.tau
    }
    /// X (d_i×P).
    pub fn x(&self) -> &DMatrix<f64> {
        &self.x
    }
    /// Σ̃_yx = YXᵀ/P (d_o×d_i).
    pub fn syx(&self) -> DMatrix<f64> {
        DMatrix::from_row_slice(self.d_o, self.d_i, &self.syx)
    }
    /// Σ̃_xx = XXᵀ/P (d_i×d_i).
    pub fn sxx(&self) -> DMatrix<f64> {
        DMatrix::from_row_slice(self.d_i, self.d_i, &self.sxx)
    }
    /// max|Σ̃_xx − I|: zero for whitened data.
    pub fn whitening_defect(&self) -> f64 {
        let d = self.d_i;
        (0..d * d)
            .map(|k| (self.sxx[k] - if k / d == k % d { 1.0 } else { 0.0 }).abs())
            .fold(0.0, f64::max)
    }

    /// Pack (W1, W2) into θ.
    ///
    /// # Errors
    /// [`ModelError`] for wrong shapes or non-finite entries.
    pub fn theta(&self, w1: &DMatrix<f64>, w2: &DMatrix<f64>) -> Result<Vec<f64>, ModelError> {
        let want = [(w1, "w1_0", self.h, self.d_i), (w2, "w2_0", self.d_o, self.h)];
        for (m, what, r, c) in want {
            if m.nrows() != r || m.ncols() != c {
                return Err(ModelError::Shape {
                    what: what.into(),
                    expected: format!("{r}×{c}"),
                    found: format!("{}×{}", m.nrows(), m.ncols()),
                });
            }
            check_finite(what, m.as_slice())?;
        }
        let mut th = Vec::with_capacity(self.n_params());
        for a in 0..self.h {
            th.extend((0..self.d_i).map(|j| w1[(a, j)]));
        }
        for o in 0..self.d_o {
            th.extend((0..self.h).map(|a| w2[(o, a)]));
        }
        Ok(th)
    }

    /// Unpack θ into (W1, W2).
    pub fn unpack(&self, theta: &[f64]) -> (DMatrix<f64>, DMatrix<f64>) {
        let k = self.h * self.d_i;
        (
            DMatrix::from_row_slice(self.h, self.d_i, &theta[..k]),
            DMatrix::from_row_slice(self.d_o, self.h, &theta[k..k + self.d_o * self.h]),
        )
    }

    /// W = W2W1 into `w` (row-major d_o×d_i).
    fn product(&self, theta: &[f64], w: &mut [f64]) {
        let (d_i, h, d_o) = (self.d_i, self.h, self.d_o);
        let (w1, w2) = theta.split_at(h * d_i);
        for o in 0..d_o {
            for j in 0..d_i {
                let mut acc = 0.0;
                for a in 0..h {
                    acc += w2[o * h + a] * w1[a * d_i + j];
                }
                w[o * d_i + j] = acc;
            }
        }
    }

    /// out = m·Σ̃_xx − sub·Σ̃_yx (row-major d_o×d_i), sub ∈ {0, 1}.
    fn times_sxx(&self, m: &[f64], sub: f64, out: &mut [f64]) {
        let d_i = self.d_i;
        for o in 0..self.d_o {
            for j in 0..d_i {
                let mut acc = -sub * self.syx[o * d_i + j];
                for k in 0..d_i {
                    acc += m[o * d_i + k] * self.sxx[k * d_i + j];
                }
                out[o * d_i + j] = acc;
            }
        }
    }

    /// λ of a parameter vector (see [`measure_lambda`]).
    pub fn lambda_of(&self, theta: &[f64]) -> (f64, f64) {
        let (w1, w2) = self.unpack(theta);
        measure_lambda(&w1, &w2)
    }
}

impl GradientFlowModel for LinearNetwork {
    fn n_params(&self) -> usize {
        self.h * (self.d_i + self.d_o)
    }
    fn rate(&self, _i: usize) -> f64 {
        1.0 / self.tau
    }
    fn loss(&self, theta: &[f64]) -> f64 {
        let mut s = self.scratch.borrow_mut();
        self.product(theta, &mut s.w);
        let (d_i, d_o) = (self.d_i, self.d_o);
        let mut total = 0.0;
        for n in 0..self.p {
            for o in 0..d_o {
                let mut r = -self.y[(o, n)];
                for j in 0..d_i {
                    r += s.w[o * d_i + j] * self.x[(j, n)];
                }
                total += r * r;
            }
        }
        total / (2.0 * self.p as f64)
    }
    fn grad_inplace(&self, theta: &[f64], grad: &mut [f64]) {
        let (d_i, h, d_o) = (self.d_i, self.h, self.d_o);
        let mut guard = self.scratch.borrow_mut();
        let s = &mut *guard;
        self.product(theta, &mut s.w);
        self.times_sxx(&s.w, 1.0, &mut s.g);
        let (w1, w2) = theta.split_at(h * d_i);
        let (g1, g2) = grad.split_at_mut(h * d_i);
        for a in 0..h {
            for j in 0..d_i {
                g1[a * d_i + j] = (0..d_o).map(|o| w2[o * h + a] * s.g[o * d_i + j]).sum();
            }
        }
        for o in 0..d_o {
            for a in 0..h {
                g2[o * h + a] = (0..d_i).map(|j| s.g[o * d_i + j] * w1[a * d_i + j]).sum();
            }
        }
    }
    fn hessian_inplace(&self, theta: &[f64], hess: &mut [f64]) {
        // Column j of the Hessian is the HVP along the unit vector e_j (exact, not differenced).
        let n = self.n_params();
        let mut e = vec![0.0; n];
        for j in 0..n {
            e[j] = 1.0;
            self.hvp_inplace(theta, &e, &mut hess[j * n..(j + 1) * n]);
            e[j] = 0.0;
        }
    }
    fn hvp_inplace(&self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        let (d_i, h, d_o) = (self.d_i, self.h, self.d_o);
        let mut guard = self.scratch.borrow_mut();
        let s = &mut *guard;
        self.product(theta, &mut s.w);
        self.times_sxx(&s.w, 1.0, &mut s.g);
        let (w1, w2) = theta.split_at(h * d_i);
        let (v1, v2) = v.split_at(h * d_i);
        // dW = V2 W1 + W2 V1
        for o in 0..d_o {
            for j in 0..d_i {
                let mut acc = 0.0;
                for a in 0..h {
                    acc += v2[o * h + a] * w1[a * d_i + j] + w2[o * h + a] * v1[a * d_i + j];
                }
                s.dw[o * d_i + j] = acc;
            }
        }
        self.times_sxx(&s.dw, 0.0, &mut s.dg);
        let (o1, o2) = out.split_at_mut(h * d_i);
        for a in 0..h {
            for j in 0..d_i {
                o1[a * d_i + j] = (0..d_o)
                    .map(|o| v2[o * h + a] * s.g[o * d_i + j] + w2[o * h + a] * s.dg[o * d_i + j])
                    .sum();
            }
        }
        for o in 0..d_o {
            for a in 0..h {
                o2[o * h + a] = (0..d_i)
                    .map(|j| s.dg[o * d_i + j] * w1[a * d_i + j] + s.g[o * d_i + j] * v1[a * d_i + j])
                    .sum();
            }
        }
    }
}

/// Whitened regression data: X = √P·(d_i orthonormal rows of a random P×P orthogonal matrix), so
/// XXᵀ/P = I to rounding, and Y = T X + noise-free (T random d_o×d_i with N(0, 1) entries).
/// Needs P ≥ d_i.
///
/// # Errors
/// [`ModelError::Shape`] when P < d_i.
pub fn whitened_task<R: Rng>(
    d_i: usize,
    d_o: usize,
    p: usize,
    rng: &mut R,
) -> Result<(DMatrix<f64>, DMatrix<f64>), ModelError> {
    if p < d_i || d_i == 0 || d_o == 0 {
        return Err(ModelError::Shape {
            what: "P".into(),
            expected: format!("P ≥ d_i = {d_i} ≥ 1 samples for whitened data"),
            found: format!("P = {p}"),
        });
    }
    let q = random_orthogonal(p, rng);
    let sp = (p as f64).sqrt();
    let x = DMatrix::from_fn(d_i, p, |i, n| sp * q[(n, i)]);
    let t = DMatrix::<f64>::from_fn(d_o, d_i, |_, _| rng.sample(StandardNormal));
    let y = &t * &x;
    Ok((x, y))
}
