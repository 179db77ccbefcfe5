//! Wide two-layer linear network f(x) = AᵀWx (P1 §4; `docs/theory.md` §2.1–2.4).
//!
//! A ∈ R^{h×c}, W ∈ R^{h×d}, β = WᵀA ∈ R^{d×c}, L = ½‖Xβ − Y‖²_F, rates η_a, η_w. θ = (W, A),
//! each row-major (first layer first, as in [`DeepLinear`], of which this is the L = 1 case).
//! Conserved: Δ = η_w AAᵀ − η_a WWᵀ ∈ R^{h×h} (P1 App. B; proof `docs/theory.md` §2.1).
//!
//! - [`isotropic_init`]: (W, A) with Δ = δI_h and β(0) = a given β0 (Assumption B.2,
//!   `docs/theory.md` §2.3). Feasible iff h ≤ c when δ > 0 and h ≤ d when δ < 0 (any h at δ = 0);
//!   otherwise a [`WidthError`] says why.
//! - [`Theorem42Flow`]: P1 Theorem 4.2 in its general-η form (`docs/theory.md` §2.4, derived there):
//!
//!   β̇ = −√(η_aη_w ββᵀ + δ²/4 I_d) G − G √(η_aη_w βᵀβ + δ²/4 I_c),   G = Xᵀ(Xβ − Y),
//!
//!   valid when Δ = δI_h and (δ < 0 ⇒ h = d; δ > 0 ⇒ h = c; δ = 0 any h). X need not be
//!   whitened. The square roots come from a one-sided Jacobi SVD of β (right-hand side: one SVD,
//!   on the orientation with min(d, c) columns; Jacobian: β and βᵀ, for full eigenbases)
//!   ([`super::linalg::jacobi_svd_right`]), never from an eigendecomposition of ββᵀ: at δ = 0
//!   that would take √ of round-off eigenvalues (`docs/theory.md` §2.4, "Numerics"). Its Jacobian is
//!   analytic: with T = U diag(t) Uᵀ, the Fréchet derivative of √T in direction dT is
//!   U [(UᵀdT U)_ij / (√t_i + √t_j)] Uᵀ (0/0 := 0: those entries of UᵀdT U vanish when both
//!   directions are in the null space of β at δ = 0).

use super::deep_linear::{DeepLinear, LinearData, check_matrix};
use super::linalg::{gemm, jacobi_svd_right, transpose};
use super::{GradientFlowModel, ModelError, VectorField, check_finite, check_rate};
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::cell::RefCell;

/// Why a width/δ combination fails Theorem 4.2 or the isotropic initialisation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WidthError {
    /// Theorem 4.2's width condition is violated.
    #[error(
        "Theorem 4.2 needs {condition} (docs/theory.md §2.4), but δ = {delta} with h = {h}, d = {d}, c = {c}: \
         use the parameter form (--form parameter), or an initialisation with {condition}"
    )]
    Theorem42 {
        /// The violated condition, e.g. "h = d when δ < 0".
        condition: &'static str,
        /// δ.
        delta: f64,
        /// Hidden width.
        h: usize,
        /// Input dimension.
        d: usize,
        /// Output dimension.
        c: usize,
    },
    /// Δ = δI_h is impossible for this width and sign.
    #[error(
        "Δ = δI_h with δ = {delta} is infeasible for h = {h}: {reason} (docs/theory.md §2.3); choose h ≤ {max_h} or δ = 0"
    )]
    Infeasible {
        /// δ.
        delta: f64,
        /// Hidden width.
        h: usize,
        /// The largest feasible width.
        max_h: usize,
        /// Why.
        reason: &'static str,
    },
    /// Δ is not a multiple of the identity.
    #[error(
        "Δ = η_w AAᵀ − η_a WWᵀ is not isotropic: max|Δ − δI| = {defect:.3e} (δ = tr Δ / h = {delta}) exceeds \
         {tol:.1e}; Theorem 4.2 needs Δ = δI_h (use an isotropic initialisation)"
    )]
    NotIsotropic {
        /// max_ij |Δ − δI|.
        defect: f64,
        /// tr Δ / h.
        delta: f64,
        /// The tolerance.
        tol: f64,
    },
    /// Bad inputs.
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Isotropy test: max|Δ − δI| ≤ ISOTROPY_TOL·(1 + max|η_w AAᵀ| + max|η_a WWᵀ|). Entries of Δ
/// computed in f64 carry ~h·ε relative rounding (≈ 1e-15 for h ≤ 20); 1e-12 accepts matrices
/// written with 15–16 digits while rejecting genuinely anisotropic ones (whose defect is O(1)).
pub const ISOTROPY_TOL: f64 = 1e-12;

/// Check Theorem 4.2's width condition.
///
/// # Errors
/// [`WidthError::Theorem42`] naming the violated condition.
pub fn check_theorem42_width(delta: f64, h: usize, d: usize, c: usize) -> Result<(), WidthError> {
    let err = |condition| WidthError::Theorem42 {
        condition,
        delta,
        h,
        d,
        c,
    };
    if delta < 0.0 && h != d {
        return Err(err("h = d when δ < 0"));
    }
    if delta > 0.0 && h != c {
        return Err(err("h = c when δ > 0"));
    }
    Ok(())
}

/// The two-layer network: a [`DeepLinear`] with layers (W, A) and rates (η_w, η_a).
#[derive(Debug, Clone)]
pub struct TwoLayerLinear {
    deep: DeepLinear,
    h: usize,
    eta_a: f64,
    eta_w: f64,
}

impl TwoLayerLinear {
    /// Build from data, width h and rates.
    ///
    /// # Errors
    /// [`ModelError`] for bad data, h = 0 or rates that are not positive.
    pub fn new(data: LinearData, h: usize, eta_a: f64, eta_w: f64) -> Result<Self, ModelError> {
        let eta_a = check_rate("eta_a", eta_a)?;
        let eta_w = check_rate("eta_w", eta_w)?;
        let deep = DeepLinear::new(data, &[h], &[eta_w, eta_a])?;
        Ok(TwoLayerLinear { deep, h, eta_a, eta_w })
    }

    /// Build from A0 (h×c) and W0 (h×d) as lists of rows; returns the model and θ0 = (W0, A0).
    ///
    /// # Errors
    /// [`ModelError::Shape`] when the shapes do not match the data or each other.
    pub fn from_init(
        data: LinearData,
        a0: &[Vec<f64>],
        w0: &[Vec<f64>],
        eta_a: f64,
        eta_w: f64,
    ) -> Result<(Self, Vec<f64>), ModelError> {
        let (ha, ca) = check_matrix("a0", a0)?;
        let (hw, dw) = check_matrix("w0", w0)?;
        if dw != data.d {
            return Err(ModelError::Shape {
                what: "w0".into(),
                expected: format!("h×{} (columns = columns of x)", data.d),
                found: format!("{hw}×{dw}"),
            });
        }
        if ca != data.c || ha != hw {
            return Err(ModelError::Shape {
                what: "a0".into(),
                expected: format!("{hw}×{} (rows = rows of w0, columns = columns of y)", data.c),
                found: format!("{ha}×{ca}"),
            });
        }
        let m = TwoLayerLinear::new(data, hw, eta_a, eta_w)?;
        let mut th: Vec<f64> = w0.iter().flatten().copied().collect();
        th.extend(a0.iter().flatten());
        Ok((m, th))
    }

    /// The underlying deep model.
    pub fn deep(&self) -> &DeepLinear {
        &self.deep
    }
    /// The data.
    pub fn data(&self) -> &LinearData {
        self.deep.data()
    }
    /// Hidden width h.
    pub fn h(&self) -> usize {
        self.h
    }
    /// η_a.
    pub fn eta_a(&self) -> f64 {
        self.eta_a
    }
    /// η_w.
    pub fn eta_w(&self) -> f64 {
        self.eta_w
    }
    /// Pack (W, A) (row-major slices) into θ.
    pub fn pack(&self, w: &[f64], a: &[f64]) -> Vec<f64> {
        let mut th = w.to_vec();
        th.extend_from_slice(a);
        th
    }
    /// Δ = η_w AAᵀ − η_a WWᵀ (h×h, row-major).
    pub fn delta_matrix(&self, theta: &[f64]) -> Vec<f64> {
        self.deep.conserved(theta).swap_remove(0)
    }
    /// δ = tr Δ / h and the defect max|Δ − δI|, with the scale of the isotropy test.
    pub fn isotropy(&self, theta: &[f64]) -> (f64, f64, f64) {
        let h = self.h;
        let dm = self.delta_matrix(theta);
        let delta = (0..h).map(|i| dm[i * h + i]).sum::<f64>() / h as f64;
        let mut defect: f64 = 0.0;
        for i in 0..h {
            for j in 0..h {
                defect = defect.max((dm[i * h + j] - if i == j { delta } else { 0.0 }).abs());
            }
        }
        let scale = 1.0 + self.deep.conserved_scale(theta);
        (delta, defect, scale)
    }
    /// δ when Δ = δI_h to within [`ISOTROPY_TOL`].
    ///
    /// # Errors
    /// [`WidthError::NotIsotropic`].
    pub fn isotropic_delta(&self, theta: &[f64]) -> Result<f64, WidthError> {
        let (delta, defect, scale) = self.isotropy(theta);
        let tol = ISOTROPY_TOL * scale;
        if defect > tol {
            return Err(WidthError::NotIsotropic { defect, delta, tol });
        }
        Ok(delta)
    }
}

impl GradientFlowModel for TwoLayerLinear {
    fn n_params(&self) -> usize {
        self.deep.n_params()
    }
    fn rate(&self, i: usize) -> f64 {
        self.deep.rate(i)
    }
    fn loss(&self, theta: &[f64]) -> f64 {
        self.deep.loss(theta)
    }
    fn grad_inplace(&self, theta: &[f64], grad: &mut [f64]) {
        self.deep.grad_inplace(theta, grad)
    }
    fn hessian_inplace(&self, theta: &[f64], hess: &mut [f64]) {
        self.deep.hessian_inplace(theta, hess)
    }
    fn hvp_inplace(&self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        self.deep.hvp_inplace(theta, v, out)
    }
}

/// Complete the orthonormal columns of `q` (m×r) to an orthonormal basis of R^m (m×m).
fn complete_basis(q: &DMatrix<f64>) -> DMatrix<f64> {
    let (m, r) = q.shape();
    let mut aug = DMatrix::<f64>::zeros(m, r + m);
    aug.view_mut((0, 0), (m, r)).copy_from(q);
    aug.view_mut((0, r), (m, m)).fill_with_identity();
    let full = aug.qr().q();
    let mut out = full.columns(0, m).into_owned();
    out.view_mut((0, 0), (m, r)).copy_from(q);
    out
}

/// A seeded random orthogonal h×h matrix (QR of a Gaussian matrix); the identity for `None`.
fn rotation(h: usize, seed: Option<u64>) -> DMatrix<f64> {
    match seed {
        None => DMatrix::identity(h, h),
        Some(s) => {
            let mut rng = ChaCha8Rng::seed_from_u64(s);
            let g = DMatrix::<f64>::from_fn(h, h, |_, _| StandardNormal.sample(&mut rng));
            g.qr().q()
        }
    }
}

/// (W0, A0) (row-major h×d and h×c) with Δ = η_w AAᵀ − η_a WWᵀ = δI_h and WᵀA = β0 truncated
/// to its h largest singular triples (= β0 when rank β0 ≤ h).
///
/// Construction (`docs/theory.md` §2.3, Algorithm 1 of P2 generalised to η): with β0 = Σ s_i u_i v_iᵀ
/// completed to orthonormal bases, W = R Σ_i e_i w_i u_iᵀ, A = R Σ_i e_i a_i v_iᵀ (R a random
/// orthogonal h×h from `seed`, the identity for `None`), where η_w a_i² − η_a w_i² = δ and
/// a_i w_i = s_i: a_i² = (δ + √(δ² + 4η_aη_w s_i²))/(2η_w), and for s_i = 0 either w_i = 0
/// (δ > 0, needs a column direction v_i, hence h ≤ c) or a_i = 0 (δ < 0, needs u_i, hence h ≤ d).
///
/// # Errors
/// [`WidthError::Infeasible`] when δ > 0 and h > c, or δ < 0 and h > d; [`ModelError`] for bad
/// shapes or values.
#[allow(clippy::too_many_arguments)]
pub fn isotropic_init(
    beta0: &[f64],
    d: usize,
    c: usize,
    h: usize,
    delta: f64,
    eta_a: f64,
    eta_w: f64,
    seed: Option<u64>,
) -> Result<(Vec<f64>, Vec<f64>), WidthError> {
    check_rate("eta_a", eta_a)?;
    check_rate("eta_w", eta_w)?;
    check_finite("beta0", beta0)?;
    check_finite("delta", &[delta])?;
    if beta0.len() != d * c || h == 0 {
        return Err(ModelError::Shape {
            what: "beta0 / h".into(),
            expected: format!("β0 of length d·c = {} and h ≥ 1", d * c),
            found: format!("length {}, h = {h}", beta0.len()),
        }
        .into());
    }
    if delta > 0.0 && h > c {
        return Err(WidthError::Infeasible {
            delta,
            h,
            max_h: c,
            reason: "δ > 0 needs η_w AAᵀ = δI + η_a WWᵀ ≻ 0, so rank A = h, and A has only c columns",
        });
    }
    if delta < 0.0 && h > d {
        return Err(WidthError::Infeasible {
            delta,
            h,
            max_h: d,
            reason: "δ < 0 needs η_a WWᵀ = |δ|I + η_w AAᵀ ≻ 0, so rank W = h, and W has only d columns",
        });
    }
    let b = DMatrix::from_row_slice(d, c, beta0);
    let svd = b.svd(true, true);
    let u = svd.u.expect("requested");
    let vt = svd.v_t.expect("requested");
    let r = svd.singular_values.len();
    let uf = complete_basis(&u);
    let vf = complete_basis(&vt.transpose());
    let rot = rotation(h, seed);
    let mut wm = DMatrix::<f64>::zeros(h, d);
    let mut am = DMatrix::<f64>::zeros(h, c);
    let eta = eta_a * eta_w;
    for i in 0..h {
        let s = if i < r { svd.singular_values[i] } else { 0.0 };
        let k = delta.hypot(2.0 * (eta).sqrt() * s);
        // cancellation-free: the larger of a², w² from the sum, the other from a·w = s.
        let (a, w) = if delta >= 0.0 {
            let a = ((delta + k) / (2.0 * eta_w)).sqrt();
            (a, if a > 0.0 { s / a } else { 0.0 })
        } else {
            let w = ((k - delta) / (2.0 * eta_a)).sqrt();
            (if w > 0.0 { s / w } else { 0.0 }, w)
        };
        if w != 0.0 {
            wm.row_mut(i).copy_from(&(uf.column(i).transpose() * w));
        }
        if a != 0.0 {
            am.row_mut(i).copy_from(&(vf.column(i).transpose() * a));
        }
    }
    let wm = &rot * wm;
    let am = &rot * am;
    Ok((wm.transpose().as_slice().to_vec(), am.transpose().as_slice().to_vec()))
}

#[derive(Debug, Clone)]
struct T42Scratch {
    /// β copy → β·V (d×c); V (c×c); σ (c).
    bv: Vec<f64>,
    v: Vec<f64>,
    sc: Vec<f64>,
    /// βᵀ copy → βᵀ·U (c×d); U (d×d); σ (d).
    bu: Vec<f64>,
    u: Vec<f64>,
    sd: Vec<f64>,
    /// √ of the eigenvalues t of T_d (d) and T_c (c).
    rd: Vec<f64>,
    rc: Vec<f64>,
    /// S_d (d×d), S_c (c×c).
    smd: Vec<f64>,
    smc: Vec<f64>,
    r: Vec<f64>,
    g: Vec<f64>,
    dg: Vec<f64>,
    ed: Vec<f64>,
    ec: Vec<f64>,
    td: Vec<f64>,
    tc: Vec<f64>,
    unit: Vec<f64>,
}

/// The Theorem 4.2 β flow as a [`VectorField`] on β (d×c, row-major, flattened).
#[derive(Debug, Clone)]
pub struct Theorem42Flow {
    data: LinearData,
    eta: f64,
    delta: f64,
    scratch: RefCell<T42Scratch>,
}

impl Theorem42Flow {
    /// The flow for a network of width `h` with Δ = δI_h.
    ///
    /// # Errors
    /// [`WidthError::Theorem42`] naming the violated width condition; [`ModelError`] for bad rates.
    pub fn new(data: LinearData, eta_a: f64, eta_w: f64, delta: f64, h: usize) -> Result<Self, WidthError> {
        check_theorem42_width(delta, h, data.d, data.c)?;
        Self::new_unchecked(data, eta_a, eta_w, delta)
    }

    /// The same equation without the width check: for negative controls only, where the
    /// theorem's hypothesis is violated on purpose and the mismatch is what is measured.
    ///
    /// # Errors
    /// [`ModelError`] for bad rates or a non-finite δ.
    pub fn new_unchecked(data: LinearData, eta_a: f64, eta_w: f64, delta: f64) -> Result<Self, WidthError> {
        check_rate("eta_a", eta_a)?;
        check_rate("eta_w", eta_w)?;
        check_finite("delta", &[delta])?;
        let (d, c, n) = (data.d, data.c, data.n);
        let scratch = T42Scratch {
            bv: vec![0.0; d * c],
            v: vec![0.0; c * c],
            sc: vec![0.0; c],
            bu: vec![0.0; c * d],
            u: vec![0.0; d * d],
            sd: vec![0.0; d],
            rd: vec![0.0; d],
            rc: vec![0.0; c],
            smd: vec![0.0; d * d],
            smc: vec![0.0; c * c],
            r: vec![0.0; n * c],
            g: vec![0.0; d * c],
            dg: vec![0.0; d * c],
            ed: vec![0.0; d * d],
            ec: vec![0.0; c * c],
            td: vec![0.0; d * d.max(c)],
            tc: vec![0.0; c * c.max(d)],
            unit: vec![0.0; d * c],
        };
        Ok(Theorem42Flow {
            data,
            eta: eta_a * eta_w,
            delta,
            scratch: RefCell::new(scratch),
        })
    }

    /// δ.
    pub fn delta(&self) -> f64 {
        self.delta
    }

    /// Decompose β (full orthonormal eigenbases of ββᵀ and βᵀβ, from Jacobi SVDs of β and βᵀ,
    /// needed by the Fréchet derivative) and form S_d, S_c and G in the scratch.
    fn prepare(&self, beta: &[f64], s: &mut T42Scratch) {
        let (d, c) = (self.data.d, self.data.c);
        let q = self.delta * self.delta / 4.0;
        s.bv.copy_from_slice(beta);
        jacobi_svd_right(&mut s.bv, d, c, &mut s.v, &mut s.sc);
        transpose(&mut s.bu, beta, d, c);
        jacobi_svd_right(&mut s.bu, c, d, &mut s.u, &mut s.sd);
        for (r, sg) in s.rd.iter_mut().zip(&s.sd) {
            *r = (self.eta * sg * sg + q).sqrt();
        }
        for (r, sg) in s.rc.iter_mut().zip(&s.sc) {
            *r = (self.eta * sg * sg + q).sqrt();
        }
        sandwich(&mut s.smd, &s.u, &s.rd, d, &mut s.td);
        sandwich(&mut s.smc, &s.v, &s.rc, c, &mut s.tc);
        self.data.residual_grad(beta, &mut s.r, &mut s.g);
    }

    /// The right-hand side's S_d, S_c and G from ONE Jacobi SVD, on the orientation of β with
    /// min(d, c) columns. With β = B Vᵀ (B = βV, columns b_j, σ_j = ‖b_j‖, r_j = √(ησ_j² + δ²/4)):
    /// √(η βᵀβ + δ²/4) = V diag(r) Vᵀ, and on the other side, without forming U,
    /// √(η ββᵀ + δ²/4) = |δ|/2·I + Σ_j b_j b_jᵀ · η/(r_j + |δ|/2)
    /// (since (r_j − |δ|/2)/σ_j² = η/(r_j + |δ|/2); no cancellation, no division by σ_j).
    fn prepare_rhs(&self, beta: &[f64], s: &mut T42Scratch) {
        let (d, c) = (self.data.d, self.data.c);
        let half = self.delta.abs() / 2.0;
        let q = half * half;
        if c <= d {
            s.bv.copy_from_slice(beta);
            jacobi_svd_right(&mut s.bv, d, c, &mut s.v, &mut s.sc);
            for (r, sg) in s.rc.iter_mut().zip(&s.sc) {
                *r = (self.eta * sg * sg + q).sqrt();
            }
            sandwich(&mut s.smc, &s.v, &s.rc, c, &mut s.tc);
            outer_sum(&mut s.smd, &s.bv, &s.sc, &s.rc, d, c, self.eta, half, &mut s.td);
        } else {
            transpose(&mut s.bu, beta, d, c);
            jacobi_svd_right(&mut s.bu, c, d, &mut s.u, &mut s.sd);
            for (r, sg) in s.rd.iter_mut().zip(&s.sd) {
                *r = (self.eta * sg * sg + q).sqrt();
            }
            sandwich(&mut s.smd, &s.u, &s.rd, d, &mut s.td);
            outer_sum(&mut s.smc, &s.bu, &s.sd, &s.rd, c, d, self.eta, half, &mut s.tc);
        }
        self.data.residual_grad(beta, &mut s.r, &mut s.g);
    }

    fn jvp_prepared(&self, beta: &[f64], v: &[f64], out: &mut [f64], s: &mut T42Scratch) {
        let (d, c) = (self.data.d, self.data.c);
        // dG = XᵀX dβ
        gemm(&mut s.dg, d, c, d, &self.data.xtx, false, v, false, false);
        // dT_d = η(dβ βᵀ + β dβᵀ) → E = Uᵀ dT_d U / (r_i + r_j) → dS_d = U E Uᵀ   (into ed)
        gemm(&mut s.ed, d, d, c, v, false, beta, true, false);
        symmetrise_scaled(&mut s.ed, d, self.eta);
        frechet_sqrt(&mut s.ed, &s.u, &s.rd, d, &mut s.td);
        gemm(&mut s.ec, c, c, d, v, true, beta, false, false);
        symmetrise_scaled(&mut s.ec, c, self.eta);
        frechet_sqrt(&mut s.ec, &s.v, &s.rc, c, &mut s.tc);
        // out = −(dS_d G + S_d dG + dG S_c + G dS_c)
        gemm(out, d, c, d, &s.ed, false, &s.g, false, false);
        gemm(out, d, c, d, &s.smd, false, &s.dg, false, true);
        gemm(out, d, c, c, &s.dg, false, &s.smc, false, true);
        gemm(out, d, c, c, &s.g, false, &s.ec, false, true);
        out.iter_mut().for_each(|o| *o = -*o);
    }
}

/// out = Q diag(r) Qᵀ (n×n), Q row-major n×n; `t` is n×n scratch.
fn sandwich(out: &mut [f64], q: &[f64], r: &[f64], n: usize, t: &mut [f64]) {
    for i in 0..n {
        for j in 0..n {
            t[i * n + j] = q[i * n + j] * r[j];
        }
    }
    gemm(out, n, n, n, t, false, q, true, false);
}

/// out (m×m) = half·I + Σ_j b_j b_jᵀ·η/(r_j + half) over the columns b_j of `b` (m×k) with σ_j > 0;
/// `t` is m×k scratch.
#[allow(clippy::too_many_arguments)]
fn outer_sum(
    out: &mut [f64],
    b: &[f64],
    sigma: &[f64],
    r: &[f64],
    m: usize,
    k: usize,
    eta: f64,
    half: f64,
    t: &mut [f64],
) {
    for i in 0..m {
        for j in 0..k {
            t[i * k + j] = if sigma[j] > 0.0 {
                b[i * k + j] * eta / (r[j] + half)
            } else {
                0.0
            };
        }
    }
    gemm(out, m, m, k, t, false, b, true, false);
    for i in 0..m {
        out[i * m + i] += half;
    }
}

/// m ← η(m + mᵀ) for square m (n×n).
fn symmetrise_scaled(m: &mut [f64], n: usize, eta: f64) {
    for i in 0..n {
        for j in i..n {
            let s = eta * (m[i * n + j] + m[j * n + i]);
            m[i * n + j] = s;
            m[j * n + i] = s;
        }
    }
}

/// dT (n×n, symmetric) ← Fréchet derivative of √T at T = Q diag(r²) Qᵀ in direction dT:
/// Q [(QᵀdT Q)_ij / (r_i + r_j)] Qᵀ, with 0/0 := 0.
fn frechet_sqrt(dt: &mut [f64], q: &[f64], r: &[f64], n: usize, t: &mut [f64]) {
    gemm(t, n, n, n, q, true, dt, false, false);
    gemm(dt, n, n, n, t, false, q, false, false);
    for i in 0..n {
        for j in 0..n {
            let den = r[i] + r[j];
            dt[i * n + j] = if den > 0.0 { dt[i * n + j] / den } else { 0.0 };
        }
    }
    gemm(t, n, n, n, q, false, dt, false, false);
    gemm(dt, n, n, n, t, false, q, true, false);
}

impl VectorField for Theorem42Flow {
    fn dim(&self) -> usize {
        self.data.d * self.data.c
    }
    fn eval_inplace(&self, y: &[f64], dy: &mut [f64]) {
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        let (d, c) = (self.data.d, self.data.c);
        self.prepare_rhs(y, s);
        gemm(dy, d, c, d, &s.smd, false, &s.g, false, false);
        gemm(dy, d, c, c, &s.g, false, &s.smc, false, true);
        dy.iter_mut().for_each(|o| *o = -*o);
    }
    fn jacobian_inplace(&self, y: &[f64], jac: &mut [f64]) {
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        let n = self.dim();
        self.prepare(y, s);
        let mut unit = std::mem::take(&mut s.unit);
        unit.iter_mut().for_each(|u| *u = 0.0);
        for j in 0..n {
            unit[j] = 1.0;
            self.jvp_prepared(y, &unit, &mut jac[j * n..(j + 1) * n], s);
            unit[j] = 0.0;
        }
        s.unit = unit;
    }
    fn jvp_inplace(&self, y: &[f64], v: &[f64], out: &mut [f64]) {
        let mut s = self.scratch.borrow_mut();
        let s = &mut *s;
        self.prepare(y, s);
        self.jvp_prepared(y, v, out, s);
    }
}
/// Δ = η_w A0A0ᵀ − η_a W0W0ᵀ of the decimal inputs taken exactly (rational arithmetic): returns
/// (δ = tr Δ / h, max_ij |Δ − δI|_ij). The defect is 0 exactly when the init is isotropic as
/// written, and then the sign of δ is decided exactly — an init balanced in its decimals has
/// δ = 0, not the ±1e-17 that f64 rounding of the same numbers may give.
///
/// # Errors
/// An entry or rate that is not a finite decimal.
pub fn exact_isotropy(
    a0: &[Vec<crate::num::decimal::Num>],
    w0: &[Vec<crate::num::decimal::Num>],
    eta_a: &crate::num::decimal::Num,
    eta_w: &crate::num::decimal::Num,
) -> Result<(rug::Rational, rug::Rational), crate::num::decimal::DecimalError> {
    use rug::Rational;
    let rows = |m: &[Vec<crate::num::decimal::Num>]| -> Result<Vec<Vec<Rational>>, crate::num::decimal::DecimalError> {
        m.iter()
            .map(|r| r.iter().map(crate::num::decimal::Num::to_rational).collect())
            .collect()
    };
    let (a, w) = (rows(a0)?, rows(w0)?);
    let (ea, ew) = (eta_a.to_rational()?, eta_w.to_rational()?);
    let h = a.len();
    let dot =
        |x: &[Rational], y: &[Rational]| -> Rational { x.iter().zip(y).map(|(p, q)| Rational::from(p * q)).sum() };
    let delta_m: Vec<Vec<Rational>> = (0..h)
        .map(|i| {
            (0..h)
                .map(|j| Rational::from(&ew * &dot(&a[i], &a[j])) - Rational::from(&ea * &dot(&w[i], &w[j])))
                .collect()
        })
        .collect();
    let delta: Rational = if h == 0 {
        Rational::new()
    } else {
        (0..h).map(|i| delta_m[i][i].clone()).sum::<Rational>() / Rational::from(h as u32)
    };
    let mut defect = Rational::new();
    for (i, row) in delta_m.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let mut e = v.clone();
            if i == j {
                e -= &delta;
            }
            e.abs_mut();
            if e > defect {
                defect = e;
            }
        }
    }
    Ok((delta, defect))
}
