//! Single hidden neuron f(x) = a·wᵀx (P1 §3; `docs/theory.md` §1).
//!
//! Parameters θ = (a, w) ∈ R^{1+d}, data X ∈ R^{n×d} (rows x_i), y ∈ R^n, loss
//! L = ½ Σ_i (a·wᵀx_i − y_i)² (no 1/n, `docs/theory.md` §5.1), learning rates η_a, η_w.
//!
//! With G = XᵀX, b = Xᵀy, β = a w and g = Gβ − b = ∂L/∂β:
//!
//! - ∇_a L = wᵀg, ∇_w L = a g;
//! - ∇²L: ∂²_a L = wᵀGw, ∂_a∂_w L = g + a G w, ∂²_w L = a² G;
//! - conserved under the flow: δ = η_w a² − η_a ‖w‖² (P1 §3, proof in `docs/theory.md` §1.2).
//!
//! [`FunctionSpaceFlow`] is the self-consistent flow of β (P1 eqs. 3–4, `docs/theory.md` §1.6):
//! β̇ = −M(β, δ) Xᵀ(Xβ − y), M = (κ+δ)/2·I + 2η_aη_w/(κ+δ)·ββᵀ, κ = √(δ² + 4η_aη_w‖β‖²),
//! valid for any X. (2η_aη_w/(κ+δ) = (κ−δ)/(2‖β‖²), the form of §1.6, written without the
//! cancellation of κ − δ for δ > 0.) M is singular at β = 0 when δ ≤ 0.

use super::{GradientFlowModel, ModelError, VectorField, check_finite, check_rate};
use std::cell::RefCell;

/// The single-neuron model: data and learning rates.
#[derive(Debug, Clone)]
pub struct SingleNeuron {
    n: usize,
    d: usize,
    /// X, row-major n×d.
    x: Vec<f64>,
    y: Vec<f64>,
    /// G = XᵀX, row-major d×d.
    gram: Vec<f64>,
    /// b = Xᵀy.
    xty: Vec<f64>,
    eta_a: f64,
    eta_w: f64,
}

impl SingleNeuron {
    /// Build from data rows `x` (n rows of length d), targets `y` (length n) and rates.
    ///
    /// # Errors
    /// [`ModelError`] for empty or ragged `x`, `y` of the wrong length, non-finite entries, or
    /// rates that are not positive.
    pub fn new(x: &[Vec<f64>], y: &[f64], eta_a: f64, eta_w: f64) -> Result<Self, ModelError> {
        let n = x.len();
        if n == 0 || x[0].is_empty() {
            return Err(ModelError::Shape {
                what: "x".into(),
                expected: "n×d with n ≥ 1, d ≥ 1".into(),
                found: format!("{n} rows{}", if n > 0 { " of length 0" } else { "" }),
            });
        }
        let d = x[0].len();
        for (i, row) in x.iter().enumerate() {
            if row.len() != d {
                return Err(ModelError::Shape {
                    what: format!("x row {i}"),
                    expected: format!("length {d} (as row 0)"),
                    found: format!("length {}", row.len()),
                });
            }
            check_finite(&format!("x[{i}]"), row)?;
        }
        if y.len() != n {
            return Err(ModelError::Shape {
                what: "y".into(),
                expected: format!("length {n} (one target per row of x)"),
                found: format!("length {}", y.len()),
            });
        }
        check_finite("y", y)?;
        let eta_a = check_rate("eta_a", eta_a)?;
        let eta_w = check_rate("eta_w", eta_w)?;
        let xf: Vec<f64> = x.iter().flatten().copied().collect();
        let mut gram = vec![0.0; d * d];
        let mut xty = vec![0.0; d];
        for i in 0..n {
            let row = &xf[i * d..(i + 1) * d];
            for j in 0..d {
                xty[j] += row[j] * y[i];
                for k in 0..d {
                    gram[j * d + k] += row[j] * row[k];
                }
            }
        }
        Ok(SingleNeuron {
            n,
            d,
            x: xf,
            y: y.to_vec(),
            gram,
            xty,
            eta_a,
            eta_w,
        })
    }

    /// Input dimension d.
    pub fn d(&self) -> usize {
        self.d
    }
    /// Number of samples n.
    pub fn n(&self) -> usize {
        self.n
    }
    /// η_a.
    pub fn eta_a(&self) -> f64 {
        self.eta_a
    }
    /// η_w.
    pub fn eta_w(&self) -> f64 {
        self.eta_w
    }
    /// G = XᵀX, row-major d×d.
    pub fn gram(&self) -> &[f64] {
        &self.gram
    }
    /// b = Xᵀy (equal to β* when X is whitened).
    pub fn xty(&self) -> &[f64] {
        &self.xty
    }

    /// max_ij |(XᵀX − I)_ij|: zero for whitened data.
    pub fn whitening_defect(&self) -> f64 {
        let d = self.d;
        let mut m: f64 = 0.0;
        for i in 0..d {
            for j in 0..d {
                let id = if i == j { 1.0 } else { 0.0 };
                m = m.max((self.gram[i * d + j] - id).abs());
            }
        }
        m
    }

    /// Pack (a, w) into θ.
    ///
    /// # Errors
    /// [`ModelError`] when `w` does not have length d or a value is not finite.
    pub fn theta(&self, a: f64, w: &[f64]) -> Result<Vec<f64>, ModelError> {
        if w.len() != self.d {
            return Err(ModelError::Shape {
                what: "w0".into(),
                expected: format!("length d = {} (columns of x)", self.d),
                found: format!("length {}", w.len()),
            });
        }
        check_finite("a0", &[a])?;
        check_finite("w0", w)?;
        let mut th = Vec::with_capacity(self.d + 1);
        th.push(a);
        th.extend_from_slice(w);
        Ok(th)
    }

    /// The conserved quantity δ = η_w a² − η_a ‖w‖².
    pub fn delta(&self, theta: &[f64]) -> f64 {
        let w2: f64 = theta[1..].iter().map(|v| v * v).sum();
        self.eta_w * theta[0] * theta[0] - self.eta_a * w2
    }

    /// β = a w into `beta`.
    pub fn beta_inplace(&self, theta: &[f64], beta: &mut [f64]) {
        for (b, w) in beta.iter_mut().zip(&theta[1..]) {
            *b = theta[0] * w;
        }
    }

    /// L(β) = ½‖Xβ − y‖² for a linear predictor β (computed from X, not from G, so that the
    /// small residuals near convergence do not cancel).
    pub fn loss_beta(&self, beta: &[f64]) -> f64 {
        let d = self.d;
        let mut s = 0.0;
        for i in 0..self.n {
            let row = &self.x[i * d..(i + 1) * d];
            let r: f64 = row.iter().zip(beta).map(|(x, b)| x * b).sum::<f64>() - self.y[i];
            s += r * r;
        }
        0.5 * s
    }

    /// (Gw)_i and g_i = a(Gw)_i − b_i.
    #[inline]
    fn gw_g(&self, a: f64, w: &[f64], i: usize) -> (f64, f64) {
        let d = self.d;
        let gw = dot(&self.gram[i * d..(i + 1) * d], w);
        (gw, a * gw - self.xty[i])
    }
}

impl GradientFlowModel for SingleNeuron {
    fn n_params(&self) -> usize {
        self.d + 1
    }
    fn rate(&self, i: usize) -> f64 {
        if i == 0 { self.eta_a } else { self.eta_w }
    }
    fn loss(&self, theta: &[f64]) -> f64 {
        let a = theta[0];
        let d = self.d;
        let mut s = 0.0;
        for i in 0..self.n {
            let row = &self.x[i * d..(i + 1) * d];
            let r: f64 = a * row.iter().zip(&theta[1..]).map(|(x, w)| x * w).sum::<f64>() - self.y[i];
            s += r * r;
        }
        0.5 * s
    }
    fn grad_inplace(&self, theta: &[f64], grad: &mut [f64]) {
        let (a, w) = (theta[0], &theta[1..]);
        let d = self.d;
        // g = aGw − b, formed column by column into `grad[1..]` (G is symmetric, so row j is
        // column j): the inner loop has independent accumulators and vectorises, where a row-wise
        // dot product is a chain of dependent additions.
        let g = &mut grad[1..];
        for (gi, bi) in g.iter_mut().zip(&self.xty) {
            *gi = -bi;
        }
        for (j, wj) in w.iter().enumerate() {
            let awj = a * wj;
            for (gi, gij) in g.iter_mut().zip(&self.gram[j * d..(j + 1) * d]) {
                *gi += gij * awj;
            }
        }
        let ga = dot(w, g);
        for gi in g.iter_mut() {
            *gi *= a;
        }
        grad[0] = ga;
    }
    fn hessian_inplace(&self, theta: &[f64], hess: &mut [f64]) {
        let (a, w) = (theta[0], &theta[1..]);
        let (d, n) = (self.d, self.d + 1);
        let mut haa = 0.0;
        for i in 0..d {
            let (gw, g) = self.gw_g(a, w, i);
            haa += w[i] * gw;
            let haw = g + a * gw;
            hess[1 + i] = haw; // (row 1+i, col 0)
            hess[(1 + i) * n] = haw; // (row 0, col 1+i)
            for j in 0..d {
                hess[(1 + i) + (1 + j) * n] = a * a * self.gram[i * d + j];
            }
        }
        hess[0] = haa;
    }
    fn hvp_inplace(&self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        let (a, w) = (theta[0], &theta[1..]);
        let (va, vw) = (v[0], &v[1..]);
        let d = self.d;
        let mut oa = 0.0;
        for i in 0..d {
            let row = &self.gram[i * d..(i + 1) * d];
            let (gw, g) = self.gw_g(a, w, i);
            let gv = dot(row, vw);
            let haw = g + a * gw;
            oa += w[i] * gw * va + haw * vw[i];
            out[1 + i] = haw * va + a * a * gv;
        }
        out[0] = oa;
    }
}

/// The function-space flow of β for fixed δ (P1 eqs. 3–4; `docs/theory.md` §1.6), as a
/// [`VectorField`] on β ∈ R^d. Works for any X (not only whitened).
#[derive(Debug, Clone)]
pub struct FunctionSpaceFlow {
    d: usize,
    gram: Vec<f64>,
    xty: Vec<f64>,
    delta: f64,
    /// η_a η_w.
    eta2: f64,
    scratch: RefCell<Vec<f64>>,
}

/// The coefficients of M = α I + γ ββᵀ at one β.
#[derive(Debug, Clone, Copy)]
struct MCoeffs {
    kappa: f64,
    alpha: f64,
    gamma: f64,
}

impl FunctionSpaceFlow {
    /// The flow for the data of `model` and conserved quantity `delta`.
    pub fn new(model: &SingleNeuron, delta: f64) -> Self {
        FunctionSpaceFlow {
            d: model.d,
            gram: model.gram.clone(),
            xty: model.xty.clone(),
            delta,
            eta2: model.eta_a * model.eta_w,
            scratch: RefCell::new(vec![0.0; 3 * model.d]),
        }
    }

    /// κ, α = (κ+δ)/2 and γ = 2η_aη_w/(κ+δ), each computed without cancellation. At β = 0 with
    /// δ ≤ 0 (where M is singular) γ is returned as 0, i.e. the undefined direction term dropped.
    fn coeffs(&self, q: f64) -> MCoeffs {
        let (delta, e2) = (self.delta, self.eta2);
        let kappa = delta.hypot(2.0 * (e2 * q).sqrt());
        let kpd = if delta >= 0.0 {
            kappa + delta
        } else {
            4.0 * e2 * q / (kappa - delta)
        };
        let alpha = 0.5 * kpd;
        let gamma = if kpd > 0.0 { 2.0 * e2 / kpd } else { 0.0 };
        MCoeffs { kappa, alpha, gamma }
    }

    /// M(β) as the pair (α, γ): M = αI + γββᵀ. Useful for diagnostics.
    pub fn m_coefficients(&self, beta: &[f64]) -> (f64, f64) {
        let c = self.coeffs(beta.iter().map(|b| b * b).sum());
        (c.alpha, c.gamma)
    }

    /// Condition number of M(β): its eigenvalues are α (multiplicity d−1) and κ (along β), so
    /// cond = κ/α = 2κ/(κ+δ). It grows like δ²/(η_aη_w‖β‖²) as β → 0 when δ < 0.
    pub fn condition(&self, beta: &[f64]) -> f64 {
        let c = self.coeffs(beta.iter().map(|b| b * b).sum());
        if self.d == 1 {
            1.0
        } else if c.alpha > 0.0 {
            c.kappa.max(c.alpha) / c.alpha.min(c.kappa.max(f64::MIN_POSITIVE))
        } else {
            f64::INFINITY
        }
    }

    fn gram_row(&self, i: usize) -> &[f64] {
        &self.gram[i * self.d..(i + 1) * self.d]
    }
}

impl VectorField for FunctionSpaceFlow {
    fn dim(&self) -> usize {
        self.d
    }
    fn eval_inplace(&self, beta: &[f64], dy: &mut [f64]) {
        let q: f64 = beta.iter().map(|b| b * b).sum();
        let c = self.coeffs(q);
        // g = Gβ − b into dy, s = βᵀg
        let mut s = 0.0;
        for i in 0..self.d {
            let g: f64 = self.gram_row(i).iter().zip(beta).map(|(a, b)| a * b).sum::<f64>() - self.xty[i];
            dy[i] = g;
            s += beta[i] * g;
        }
        for i in 0..self.d {
            dy[i] = -(c.alpha * dy[i] + c.gamma * s * beta[i]);
        }
    }
    fn jacobian_inplace(&self, beta: &[f64], jac: &mut [f64]) {
        // J = −[αG + (2e/κ) g βᵀ − (2γ²s/κ) ββᵀ + γ β (g + Gβ)ᵀ + γ s I]
        let d = self.d;
        let q: f64 = beta.iter().map(|b| b * b).sum();
        let c = self.coeffs(q);
        let mut sc = self.scratch.borrow_mut();
        let (g, gb) = sc.split_at_mut(d);
        let mut s = 0.0;
        for i in 0..d {
            gb[i] = self.gram_row(i).iter().zip(beta).map(|(a, b)| a * b).sum();
            g[i] = gb[i] - self.xty[i];
            s += beta[i] * g[i];
        }
        let (da, dg) = if c.kappa > 0.0 {
            (2.0 * self.eta2 / c.kappa, 2.0 * c.gamma * c.gamma * s / c.kappa)
        } else {
            (0.0, 0.0)
        };
        for j in 0..d {
            for i in 0..d {
                let mut v = c.alpha * self.gram[i * d + j] + da * g[i] * beta[j] - dg * beta[i] * beta[j]
                    + c.gamma * beta[i] * (g[j] + gb[j]);
                if i == j {
                    v += c.gamma * s;
                }
                jac[i + j * d] = -v;
            }
        }
    }
    fn jvp_inplace(&self, beta: &[f64], v: &[f64], out: &mut [f64]) {
        let d = self.d;
        let q: f64 = beta.iter().map(|b| b * b).sum();
        let c = self.coeffs(q);
        let mut s = 0.0;
        let (mut bv, mut hv) = (0.0, 0.0);
        let mut sc = self.scratch.borrow_mut();
        let (g, rest) = sc.split_at_mut(d);
        let (gv, _) = rest.split_at_mut(d);
        for i in 0..d {
            let row = self.gram_row(i);
            let gbi: f64 = row.iter().zip(beta).map(|(a, b)| a * b).sum();
            g[i] = gbi - self.xty[i];
            gv[i] = row.iter().zip(v).map(|(a, b)| a * b).sum();
            s += beta[i] * g[i];
            bv += beta[i] * v[i];
            hv += (g[i] + gbi) * v[i];
        }
        let (da, dg) = if c.kappa > 0.0 {
            (2.0 * self.eta2 / c.kappa, 2.0 * c.gamma * c.gamma * s / c.kappa)
        } else {
            (0.0, 0.0)
        };
        for i in 0..d {
            out[i] =
                -(c.alpha * gv[i] + da * bv * g[i] - dg * bv * beta[i] + c.gamma * hv * beta[i] + c.gamma * s * v[i]);
        }
    }
}

/// Dot product with four independent accumulators: a single running sum is a chain of dependent
/// floating-point additions (the compiler may not reassociate it), which made the gradient
/// latency-bound; four chains run in parallel and vectorise.
#[inline]
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for k in 0..4 {
            acc[k] += a[k] * b[k];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (a, b) in xr.iter().zip(yr) {
        s += a * b;
    }
    s
}

/// max_ij |(XᵀX − I)_ij| for the decimal rows of X taken exactly (rational arithmetic): zero
/// exactly when the data are whitened as written — decimals such as 0.6 and 0.8 included, which
/// no binary format holds exactly.
///
/// # Errors
/// An entry that is not a finite decimal number.
pub fn exact_whitening_defect(
    x: &[Vec<crate::num::decimal::Num>],
) -> Result<rug::Rational, crate::num::decimal::DecimalError> {
    use rug::Rational;
    let q: Vec<Vec<Rational>> = x
        .iter()
        .map(|r| {
            r.iter()
                .map(crate::num::decimal::Num::to_rational)
                .collect::<Result<_, _>>()
        })
        .collect::<Result<_, _>>()?;
    let d = q.first().map_or(0, Vec::len);
    let mut worst = Rational::new();
    for i in 0..d {
        for j in 0..d {
            let mut g: Rational = q.iter().map(|r| Rational::from(&r[i] * &r[j])).sum();
            if i == j {
                g -= 1;
            }
            g.abs_mut();
            if g > worst {
                worst = g;
            }
        }
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive_sum() {
        let x: Vec<f64> = (0..11).map(|i| (i as f64 * 0.7).sin()).collect();
        let y: Vec<f64> = (0..11).map(|i| (i as f64 * 1.3).cos()).collect();
        let naive: f64 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
        // different summation order: a few ulp of Σ|x_i y_i|
        let mag: f64 = x.iter().zip(&y).map(|(a, b)| (a * b).abs()).sum();
        assert!((dot(&x, &y) - naive).abs() <= 4.0 * f64::EPSILON * mag);
    }

    #[test]
    fn rejects_bad_shapes_and_rates() {
        let x = vec![vec![1.0, 0.0], vec![0.0]];
        assert!(matches!(
            SingleNeuron::new(&x, &[1.0, 2.0], 1.0, 1.0),
            Err(ModelError::Shape { .. })
        ));
        let x = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        assert!(matches!(
            SingleNeuron::new(&x, &[1.0], 1.0, 1.0),
            Err(ModelError::Shape { .. })
        ));
        assert!(matches!(
            SingleNeuron::new(&x, &[1.0, f64::NAN], 1.0, 1.0),
            Err(ModelError::NonFinite { .. })
        ));
        assert!(matches!(
            SingleNeuron::new(&x, &[1.0, 1.0], 0.0, 1.0),
            Err(ModelError::NonPositiveRate { .. })
        ));
        assert!(matches!(
            SingleNeuron::new(&x, &[1.0, 1.0], 1.0, -1.0),
            Err(ModelError::NonPositiveRate { .. })
        ));
        let m = SingleNeuron::new(&x, &[1.0, 1.0], 1.0, 1.0).unwrap();
        assert!(m.theta(1.0, &[1.0]).is_err());
        assert_eq!(m.whitening_defect(), 0.0);
    }
}

/// Names of the single neuron's scalar-or-vector quantities in output order (printed and JSON
/// names; `exact`, `metrics` and the CLI all use these).
pub const QUANTITIES: [&str; 7] = ["a", "w", "beta", "mu", "phi", "kernel_distance", "loss"];

/// A quantity of the single neuron (`metrics::single_neuron::Observables` holds their values), typed: a look-up by this enum is exhaustive, so a misspelt
/// name cannot select an empty list that a comparison then runs over and passes. Its
/// [`Observable::name`] is the printed/JSON name ([`QUANTITIES`], in the same order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Observable {
    /// a.
    A,
    /// w.
    W,
    /// β = a w.
    Beta,
    /// μ = a‖w‖.
    Mu,
    /// φ.
    Phi,
    /// S(0, t).
    KernelDistance,
    /// L.
    Loss,
}

impl Observable {
    /// Every quantity, in output order.
    pub const ALL: [Observable; 7] = [
        Observable::A,
        Observable::W,
        Observable::Beta,
        Observable::Mu,
        Observable::Phi,
        Observable::KernelDistance,
        Observable::Loss,
    ];

    /// The printed and JSON name (an entry of [`QUANTITIES`]).
    pub const fn name(self) -> &'static str {
        match self {
            Observable::A => "a",
            Observable::W => "w",
            Observable::Beta => "beta",
            Observable::Mu => "mu",
            Observable::Phi => "phi",
            Observable::KernelDistance => "kernel_distance",
            Observable::Loss => "loss",
        }
    }

    /// The quantity named `name`, if any.
    pub fn from_name(name: &str) -> Option<Observable> {
        Observable::ALL.into_iter().find(|q| q.name() == name)
    }
}

impl std::fmt::Display for Observable {
    /// The printed and JSON name.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
