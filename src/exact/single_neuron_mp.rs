//! Single-neuron closed form at arbitrary precision (MPFR via `rug`), by two routes.
//!
//! Both assume whitened data (XᵀX = I, `docs/theory.md` §1.3) and take every input as decimal text,
//! parsed exactly at the working precision p. Every value comes with an error bound obtained by
//! repeating the evaluation at p + 64 bits ([`crate::num::mp::two_precision_bound`]): an
//! honest estimate, not a proof (issue 3 adds rigorous enclosures).
//!
//! **Linearised route** ([`Form::Linearised`], `docs/theory.md` §1.4): with g(t) = √(1 + 2η_w I2),
//! A = c₊e^{λ₊t} + c₋e^{λ₋t}, a = A/g, w = (w0 + η_w I1 β*)/g, where I1 = ∫A and I2 = ∫A²
//! are sums of (e^{λt} − 1)/λ terms written through `expm1`. No singular points.
//!
//! **Paper's route** ([`Form::Hyperbolic`], P1 §3 / App. A.2 as reconstructed in `docs/theory.md`
//! §1.2–§1.4): the Riccati variable ν = wᵀβ*/a,
//! ν(t) = (−δ + K tanh(Kt/2 + c))/(2η_a), tanh c = z = (δ + 2η_aν0)/K, evaluated as
//! tanh(x + c) = (sinh x + z cosh x)/(cosh x + z sinh x), which is also the value of the
//! complex-artanh branch the authors' notebook uses when |z| > 1; then the Bernoulli equation for
//! u = a⁻²: u̇ = −2(δ + η_aν)u + 2η_w, solved with the integrating factor
//! e^{h} = e^{δt/2}(cosh x + z sinh x); the component of w orthogonal to β* decays by the same
//! factor; and μ from the hyperbolic coordinates of (a, ‖w‖) (`docs/theory.md` §1.2):
//! μ = |δ| sinh(2θ)/(2√(η_aη_w)). Singular points are reported, not evaluated: a0 = 0 (ν0 is
//! infinite), a(t) = 0 (pole of ν), β* = 0 and K = 0.
//!
//! Quantities: a, w, β = a w, μ = a‖w‖, φ = wᵀβ*/(‖w‖‖β*‖), the kernel distance S(0,t)
//! (`docs/theory.md` §1.5, with a_t — not the seed notebook's a0) and the loss
//! L = ½(‖β − β*‖² + ‖y − Xβ*‖²) (exact for whitened X, no cancellation near convergence).

use super::ExactError;
use crate::case::SingleNeuronCase;
use crate::models::{ModelError, check_rate};
use crate::num::mp::{self, two_precision_bound_mp};
use crate::num::tol::{self, Bound};
use rug::Float;

/// Which closed-form route to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The singularity-free linearised form (default).
    Linearised,
    /// The paper's route: Riccati ν, Bernoulli a, hyperbolic coordinates.
    Hyperbolic,
}

impl Form {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Linearised => "linearised",
            Form::Hyperbolic => "hyperbolic",
        }
    }
}

/// One time point at working precision.
#[derive(Debug, Clone)]
pub struct PointMp {
    /// Time.
    pub t: Float,
    /// a(t).
    pub a: Float,
    /// w(t).
    pub w: Vec<Float>,
    /// β(t) = a w.
    pub beta: Vec<Float>,
    /// μ = a‖w‖.
    pub mu: Float,
    /// φ = cos∠(w, β*).
    pub phi: Float,
    /// S(0, t).
    pub kernel_distance: Float,
    /// L(t).
    pub loss: Float,
}

/// Names of the quantities of a point, in output order.
pub const QUANTITIES: [&str; 7] = ["a", "w", "beta", "mu", "phi", "kernel_distance", "loss"];

impl PointMp {
    /// The values of quantity `name` (vectors for w, β; one element otherwise).
    pub fn values(&self, name: &str) -> Vec<&Float> {
        match name {
            "a" => vec![&self.a],
            "w" => self.w.iter().collect(),
            "beta" => self.beta.iter().collect(),
            "mu" => vec![&self.mu],
            "phi" => vec![&self.phi],
            "kernel_distance" => vec![&self.kernel_distance],
            "loss" => vec![&self.loss],
            _ => vec![],
        }
    }
}

/// A point with one error bound per scalar value.
#[derive(Debug, Clone)]
pub struct BoundedPoint {
    /// Values at the working precision.
    pub point: PointMp,
    /// Two-precision bounds as 64-bit MPFR numbers (they can be far below f64's range), in the
    /// order of [`QUANTITIES`] and of the components of each.
    pub bounds: Vec<(&'static str, Vec<Float>)>,
}

impl BoundedPoint {
    /// Largest bound over all values.
    pub fn max_bound_mp(&self) -> Float {
        let mut m = Float::new(64);
        for b in self.bounds.iter().flat_map(|(_, b)| b.iter()) {
            if *b > m {
                m = b.clone();
            }
        }
        m
    }
    /// Largest absolute bound over all values, as an f64 rounded up.
    pub fn max_bound(&self) -> f64 {
        self.max_bound_mp().to_f64_round(rug::float::Round::Up)
    }
    /// Bounds of one quantity as MPFR numbers.
    pub fn bounds_mp_of(&self, name: &str) -> &[Float] {
        self.bounds
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| b.as_slice())
            .unwrap_or(&[])
    }
    /// Bounds of one quantity as f64 (rounded up).
    pub fn bounds_of(&self, name: &str) -> Vec<Bound> {
        self.bounds_mp_of(name)
            .iter()
            .map(|b| Bound {
                abs: b.to_f64_round(rug::float::Round::Up),
                method: crate::num::tol::BoundMethod::TwoPrecision,
            })
            .collect()
    }
}

/// Inputs and t-independent constants at one precision.
#[derive(Debug, Clone)]
pub struct ClosedFormMp {
    prec: u32,
    eta_a: Float,
    eta_w: Float,
    bstar: Vec<Float>,
    a0: Float,
    w0: Vec<Float>,
    s2: Float,
    p0: Float,
    delta: Float,
    k: Float,
    lp: Float,
    lm: Float,
    cp: Float,
    cm: Float,
    /// ‖y − Xβ*‖², the irreducible part of the loss.
    resid0: Float,
    /// max|XᵀX − I| at this precision.
    whitening_defect: Float,
    lin: LinCoeffs,
}

/// t-independent coefficients of the linearised route: r± = η_w c±/λ±, q± = η_w c±²/λ±,
/// q₀ = 4η_w c₊c₋/δ (each with λ = 0 replaced by its limit: the coefficient then multiplies t,
/// holding η_w c±, 2η_w c±² and 4η_w c₊c₋ instead).
#[derive(Debug, Clone)]
struct LinCoeffs {
    rp: Float,
    rm: Float,
    qp: Float,
    qm: Float,
    q0: Float,
}

impl LinCoeffs {
    fn new(p: u32, eta_w: &Float, cp: &Float, cm: &Float, lp: &Float, lm: &Float, delta: &Float) -> Self {
        let div = |x: Float, l: &Float| if l.is_zero() { x } else { x / l };
        let ecp = Float::with_val(p, eta_w * cp);
        let ecm = Float::with_val(p, eta_w * cm);
        // E(2λ) = m(2+m)/(2λ), so 2η_w c²E(2λ) = η_w c² m(2+m)/λ; limit 2η_w c² t.
        let qp = if lp.is_zero() {
            Float::with_val(p, &ecp * cp) * 2u32
        } else {
            Float::with_val(p, &ecp * cp) / lp
        };
        let qm = if lm.is_zero() {
            Float::with_val(p, &ecm * cm) * 2u32
        } else {
            Float::with_val(p, &ecm * cm) / lm
        };
        LinCoeffs {
            rp: div(ecp.clone(), lp),
            rm: div(ecm.clone(), lm),
            qp,
            qm,
            q0: div(Float::with_val(p, &ecp * cm) * 4u32, delta),
        }
    }
}

impl ClosedFormMp {
    /// Parse `case` at `prec` bits and compute the t-independent constants.
    ///
    /// # Errors
    /// [`ExactError`] for a precision below 53 bits, invalid shapes or rates, or data that is not
    /// whitened (checked in f64 against [`tol::WHITENING_TOL`]).
    pub fn new(case: &SingleNeuronCase, prec: u32) -> Result<Self, ExactError> {
        mp::check_prec(prec)?;
        let model = crate::models::single_neuron::SingleNeuron::new(
            &case.x_f64(),
            &case.y_f64(),
            case.eta_a.to_f64(),
            case.eta_w.to_f64(),
        )?;
        model.theta(case.a0.to_f64(), &case.w0_f64())?;
        let defect = model.whitening_defect();
        if defect > tol::WHITENING_TOL {
            return Err(ExactError::NotWhitened {
                defect,
                tol: tol::WHITENING_TOL,
            });
        }
        check_rate("eta_a", case.eta_a.to_f64())?;
        let p = prec;
        let f = |v: f64| Float::with_val(p, v);
        let x: Vec<Vec<Float>> = case.x.iter().map(|r| r.iter().map(|v| v.to_mp(p)).collect()).collect();
        let y: Vec<Float> = case.y.iter().map(|v| v.to_mp(p)).collect();
        let (n, d) = (x.len(), x[0].len());
        let eta_a = case.eta_a.to_mp(p);
        let eta_w = case.eta_w.to_mp(p);
        if eta_a <= 0 || eta_w <= 0 {
            return Err(ExactError::Model(ModelError::NonPositiveRate {
                name: if eta_a <= 0 { "eta_a" } else { "eta_w" },
                value: 0.0,
            }));
        }
        let a0 = case.a0.to_mp(p);
        let w0: Vec<Float> = case.w0.iter().map(|v| v.to_mp(p)).collect();
        let mut bstar = vec![f(0.0); d];
        for (i, row) in x.iter().enumerate() {
            for (j, xij) in row.iter().enumerate() {
                bstar[j] += Float::with_val(p, xij * &y[i]);
            }
        }
        let mut whitening_defect = f(0.0);
        for j in 0..d {
            for k in 0..d {
                let mut s = f(if j == k { -1.0 } else { 0.0 });
                for row in &x {
                    s += Float::with_val(p, &row[j] * &row[k]);
                }
                let s = s.abs();
                if s > whitening_defect {
                    whitening_defect = s;
                }
            }
        }
        let mut resid0 = f(0.0);
        for i in 0..n {
            let mut r = y[i].clone();
            for j in 0..d {
                r -= Float::with_val(p, &x[i][j] * &bstar[j]);
            }
            resid0 += r.square();
        }
        let s2 = dot(&bstar, &bstar, p);
        let p0 = dot(&w0, &bstar, p);
        let delta = Float::with_val(p, &eta_w * a0.clone().square()) - Float::with_val(p, &eta_a * dot(&w0, &w0, p));
        let es2 = Float::with_val(p, &eta_a * &eta_w) * &s2;
        let k = Float::with_val(p, delta.clone().square() + Float::with_val(p, &es2 * 4u32)).sqrt();
        let (lp, lm) = if delta >= 0 {
            let lp = Float::with_val(p, &delta + &k) / 2u32;
            let lm = if lp > 0 {
                -Float::with_val(p, &es2 / &lp)
            } else {
                f(0.0)
            };
            (lp, lm)
        } else {
            let lm = Float::with_val(p, &delta - &k) / 2u32;
            (-Float::with_val(p, &es2 / &lm), lm)
        };
        let eap0 = Float::with_val(p, &eta_a * &p0);
        let (cp, cm) = if k > 0 {
            (
                Float::with_val(p, &eap0 + Float::with_val(p, &a0 * &lp)) / &k,
                -(Float::with_val(p, &eap0 + Float::with_val(p, &a0 * &lm)) / &k),
            )
        } else {
            (a0.clone(), f(0.0))
        };
        let lin = LinCoeffs::new(p, &eta_w, &cp, &cm, &lp, &lm, &delta);
        Ok(ClosedFormMp {
            lin,
            prec: p,
            eta_a,
            eta_w,
            bstar,
            a0,
            w0,
            s2,
            p0,
            delta,
            k,
            lp,
            lm,
            cp,
            cm,
            resid0,
            whitening_defect,
        })
    }

    /// Working precision in bits.
    pub fn prec(&self) -> u32 {
        self.prec
    }
    /// δ at working precision.
    pub fn delta(&self) -> &Float {
        &self.delta
    }
    /// max|XᵀX − I| at working precision (the closed form is exact for the data only when 0).
    pub fn whitening_defect(&self) -> &Float {
        &self.whitening_defect
    }

    /// Evaluate the chosen route at time `t`.
    ///
    /// # Errors
    /// [`ExactError::Singular`] for the hyperbolic route at its singular points.
    pub fn point(&self, t: &Float, form: Form) -> Result<PointMp, ExactError> {
        let (a, w) = match form {
            Form::Linearised => self.linearised(t),
            Form::Hyperbolic => self.hyperbolic(t)?,
        };
        Ok(self.observables(t, a, w, form))
    }

    /// (a(t), w(t)) by the linearised route, without the derived observables.
    pub fn state(&self, t: &Float) -> (Float, Vec<Float>) {
        self.linearised(t)
    }

    fn linearised(&self, t: &Float) -> (Float, Vec<Float>) {
        // A = a0 + c₊m₊ + c₋m₋, η_w I1 = r₊m₊ + r₋m₋,
        // g² = 1 + q₊m₊(2+m₊) + q₀m_δ + q₋m₋(2+m₋), with m = expm1(λt) and the t-independent
        // coefficients of `LinCoeffs` (λ = 0 terms use t in place of m/λ).
        let p = self.prec;
        let k = &self.lin;
        let m = |l: &Float| -> Float {
            let mut x = Float::with_val(p, l * t);
            x.exp_m1_mut();
            x
        };
        let (mp_, mm, md) = (m(&self.lp), m(&self.lm), m(&self.delta));
        // term(m, r, λ): r·m, or r·λ·t when λ = 0 (then r holds c instead of c/λ)
        let term = |mv: &Float, r: &Float, l: &Float| -> Float {
            if l.is_zero() {
                Float::with_val(p, r * t)
            } else {
                Float::with_val(p, r * mv)
            }
        };
        let mut a_big = Float::with_val(p, &self.cp * &mp_);
        a_big += Float::with_val(p, &self.cm * &mm);
        a_big += &self.a0;
        let mut ewi1 = term(&mp_, &k.rp, &self.lp);
        ewi1 += term(&mm, &k.rm, &self.lm);
        let sq = |mv: &Float| -> Float { Float::with_val(p, mv * Float::with_val(p, mv + 2u32)) };
        let mut g2 = Float::with_val(p, 1u32);
        g2 += term(&sq(&mp_), &k.qp, &self.lp);
        g2 += term(&md, &k.q0, &self.delta);
        g2 += term(&sq(&mm), &k.qm, &self.lm);
        g2.recip_sqrt_mut();
        let ginv = g2;
        let a = Float::with_val(p, &a_big * &ginv);
        ewi1 *= &ginv;
        let w = self
            .w0
            .iter()
            .zip(&self.bstar)
            .map(|(w0, b)| {
                let mut wi = Float::with_val(p, w0 * &ginv);
                wi += Float::with_val(p, &ewi1 * b);
                wi
            })
            .collect();
        (a, w)
    }

    fn hyperbolic(&self, t: &Float) -> Result<(Float, Vec<Float>), ExactError> {
        let p = self.prec;
        let sing = |why: String| ExactError::Singular {
            form: "hyperbolic",
            why,
        };
        if self.a0.is_zero() {
            return Err(sing(
                "a0 = 0, so the Riccati variable ν = wᵀβ*/a is infinite at t = 0".into(),
            ));
        }
        if self.s2.is_zero() {
            return Err(sing("β* = Xᵀy = 0, so φ and ν are undefined".into()));
        }
        if self.k.is_zero() {
            return Err(sing("K = √(δ² + 4η_aη_w‖β*‖²) = 0".into()));
        }
        let nu0 = Float::with_val(p, &self.p0 / &self.a0);
        // z = tanh c = (δ + 2η_a ν0)/K
        let z = Float::with_val(p, &self.delta + Float::with_val(p, &self.eta_a * &nu0) * 2u32) / &self.k;
        let x = Float::with_val(p, &self.k * t) / 2u32;
        let (sh, ch) = x.sinh_cosh(Float::new(p));
        let r = Float::with_val(p, &ch + Float::with_val(p, &z * &sh));
        if r.is_zero() {
            return Err(sing(format!("a(t) = 0 at t = {} (pole of ν)", t.to_f64())));
        }
        let tanh = Float::with_val(p, &sh + Float::with_val(p, &z * &ch)) / &r;
        let nu = (Float::with_val(p, &self.k * &tanh) - &self.delta) / Float::with_val(p, &self.eta_a * 2u32);
        // Bernoulli: J = ∫ e^{δs} R(s)² ds
        let ed = ratio_or_t(&Float::with_val(p, &self.delta * t).exp_m1(), &self.delta, t);
        let two_lp = Float::with_val(p, &self.lp * 2u32);
        let two_lm = Float::with_val(p, &self.lm * 2u32);
        let e2p = ratio_or_t(&Float::with_val(p, &two_lp * t).exp_m1(), &two_lp, t);
        let e2m = ratio_or_t(&Float::with_val(p, &two_lm * t).exp_m1(), &two_lm, t);
        let zp = Float::with_val(p, &z + 1u32).square();
        let zm = Float::with_val(p, 1u32 - &z).square();
        let omz2 = Float::with_val(p, 1u32 - Float::with_val(p, z.clone().square()));
        let j = Float::with_val(p, &omz2 * &ed) / 2u32
            + Float::with_val(p, &zp * &e2p) / 4u32
            + Float::with_val(p, &zm * &e2m) / 4u32;
        let den = Float::with_val(p, Float::with_val(p, &self.eta_w * self.a0.clone().square()) * &j) * 2u32 + 1u32;
        let sq = den.sqrt();
        let eh = (Float::with_val(p, &self.delta * t) / 2u32).exp();
        let a = Float::with_val(p, &self.a0 * &eh) * &r / &sq;
        // w = (νa/s²) β* + w0⊥/√den
        let pa = Float::with_val(p, &nu * &a);
        let c_par = Float::with_val(p, &pa / &self.s2);
        let c0 = Float::with_val(p, &self.p0 / &self.s2);
        let w = self
            .w0
            .iter()
            .zip(&self.bstar)
            .map(|(w0, b)| {
                let wperp = Float::with_val(p, w0 - Float::with_val(p, &c0 * b));
                Float::with_val(p, &c_par * b) + wperp / &sq
            })
            .collect();
        Ok((a, w))
    }

    /// μ via hyperbolic coordinates of (a, ‖w‖) for the hyperbolic route, a‖w‖ otherwise.
    fn mu_hyperbolic(&self, a: &Float, wn: &Float) -> Float {
        let p = self.prec;
        let e = Float::with_val(p, &self.eta_a * &self.eta_w).sqrt();
        if self.delta.is_zero() {
            return Float::with_val(p, a * wn);
        }
        let ad = Float::with_val(p, self.delta.abs_ref());
        // δ > 0: ‖w‖ = √(δ/η_a) sinh θ; δ < 0: a = √(|δ|/η_w) sinh θ (signed)
        let theta = if self.delta > 0 {
            Float::with_val(p, wn * Float::with_val(p, &self.eta_a / &ad).sqrt()).asinh()
        } else {
            Float::with_val(p, a * Float::with_val(p, &self.eta_w / &ad).sqrt()).asinh()
        };
        let mut mu = Float::with_val(p, &ad * Float::with_val(p, &theta * 2u32).sinh()) / (e * 2u32);
        if self.delta > 0 && *a < 0 {
            mu = -mu;
        }
        mu
    }

    fn observables(&self, t: &Float, a: Float, w: Vec<Float>, form: Form) -> PointMp {
        let p = self.prec;
        let beta: Vec<Float> = w.iter().map(|wi| Float::with_val(p, &a * wi)).collect();
        let wn = dot(&w, &w, p).sqrt();
        let mu = match form {
            Form::Hyperbolic => self.mu_hyperbolic(&a, &wn),
            Form::Linearised => Float::with_val(p, &a * &wn),
        };
        let s = Float::with_val(p, self.s2.sqrt_ref());
        let phi = if s.is_zero() || wn.is_zero() {
            Float::with_val(p, f64::NAN)
        } else {
            dot(&w, &self.bstar, p) / Float::with_val(p, &wn * &s)
        };
        let mut l = self.resid0.clone();
        for (b, bs) in beta.iter().zip(&self.bstar) {
            l += Float::with_val(p, b - bs).square();
        }
        let loss = l / 2u32;
        let kernel_distance = kernel_distance_mp(&self.eta_a, &self.eta_w, &self.a0, &self.w0, &a, &w, p);
        PointMp {
            t: t.clone(),
            a,
            w,
            beta,
            mu,
            phi,
            kernel_distance,
            loss,
        }
    }
}

/// S(0,t) = ½‖M̂0 − M̂t‖²_F for whitened X (`docs/theory.md` §1.5), with M = η_w a² I + η_a wwᵀ and
/// M̂ = M/‖M‖_F, written as a sum of non-negative terms:
/// ‖D‖² = (d−1)Δα² + (Δα + Δν)² + 2‖u0 ∧ ut‖², α = η_w a²/‖M‖, u = √(η_a/‖M‖) w, Δν = ‖u0‖² − ‖ut‖².
pub fn kernel_distance_mp(
    eta_a: &Float,
    eta_w: &Float,
    a0: &Float,
    w0: &[Float],
    at: &Float,
    wt: &[Float],
    p: u32,
) -> Float {
    let d = w0.len();
    let norm_m = |a: &Float, w: &[Float]| -> (Float, Float) {
        // ‖M‖² = d η_w² a⁴ + 2η_aη_w a²‖w‖² + η_a²‖w‖⁴
        let a2 = Float::with_val(p, a.square_ref());
        let w2 = dot(w, w, p);
        let x = Float::with_val(p, eta_w * &a2);
        let y = Float::with_val(p, eta_a * &w2);
        let n2 = Float::with_val(p, x.clone().square() * d as u32)
            + Float::with_val(p, &x * &y) * 2u32
            + Float::with_val(p, y.clone().square());
        (n2.sqrt(), Float::with_val(p, &x + &y))
    };
    let (n0, tr0) = norm_m(a0, w0);
    let (nt, trt) = norm_m(at, wt);
    if n0.is_zero() || nt.is_zero() {
        return Float::with_val(p, f64::NAN);
    }
    let al0 = Float::with_val(p, eta_w * a0.clone().square()) / &n0;
    let alt = Float::with_val(p, eta_w * at.clone().square()) / &nt;
    let dal = Float::with_val(p, &al0 - &alt);
    // Δα + Δν = tr(M0)/‖M0‖ − tr(Mt)/‖Mt‖ − (d−1)... careful: tr(M̂) = dα + ‖u‖², and
    // Δα + Δν = (α0 + ‖u0‖²) − (αt + ‖ut‖²) = (η_w a0² + η_a‖w0‖²)/n0 − (…)/nt.
    let dsum = Float::with_val(p, &tr0 / &n0) - Float::with_val(p, &trt / &nt);
    let mut wedge = Float::with_val(p, 0);
    for i in 0..d {
        for j in (i + 1)..d {
            let c = Float::with_val(p, &w0[i] * &wt[j]) - Float::with_val(p, &w0[j] * &wt[i]);
            wedge += c.square();
        }
    }
    let wedge = Float::with_val(p, eta_a.square_ref()) * wedge / Float::with_val(p, &n0 * &nt);
    let dd = Float::with_val(p, dal.square() * (d as u32 - 1)) + dsum.square() + wedge * 2u32;
    dd / 2u32
}

fn dot(x: &[Float], y: &[Float], p: u32) -> Float {
    let mut s = Float::with_val(p, 0);
    for (a, b) in x.iter().zip(y) {
        s += Float::with_val(p, a * b);
    }
    s
}

/// m/λ with m = expm1(λt), or t when λ = 0.
fn ratio_or_t(m: &Float, l: &Float, t: &Float) -> Float {
    if l.is_zero() {
        Float::with_val(m.prec(), t)
    } else {
        Float::with_val(m.prec(), m / l)
    }
}

/// Evaluate `case` at its times with the chosen route at `prec` bits, each value with a
/// two-precision error bound (the same evaluation at `prec + 64` bits).
///
/// # Errors
/// [`ExactError`] from setup or from a singular point of the hyperbolic route.
pub fn evaluate_with_bounds(case: &SingleNeuronCase, prec: u32, form: Form) -> Result<Vec<BoundedPoint>, ExactError> {
    let lo = ClosedFormMp::new(case, prec)?;
    let hi = ClosedFormMp::new(case, prec + tol::GUARD_BITS)?;
    case.times
        .iter()
        .map(|t| {
            let pl = lo.point(&t.to_mp(prec), form)?;
            let ph = hi.point(&t.to_mp(prec + tol::GUARD_BITS), form)?;
            let bounds = QUANTITIES
                .iter()
                .map(|q| {
                    let b = pl
                        .values(q)
                        .iter()
                        .zip(ph.values(q))
                        .map(|(l, h)| two_precision_bound_mp(l, h))
                        .collect();
                    (*q, b)
                })
                .collect();
            Ok(BoundedPoint { point: pl, bounds })
        })
        .collect()
}

/// Residual of the ODE at time t, independent of how the closed form was derived: the time
/// derivative of the closed form by a 6th-order central difference
/// f' ≈ [−f(t−3h) + 9f(t−2h) − 45f(t−h) + 45f(t+h) − 9f(t+2h) + f(t+3h)]/(60h), compared with
/// the right-hand side ȧ = η_a(wᵀβ* − a‖w‖²), ẇ = η_w(aβ* − a²w) at the same point.
///
/// The result is max_i |FD_i − F_i| divided by the size of the terms that make up F
/// (η_a(|wᵀβ*| + |a|‖w‖²) and η_w(|a||β*_i| + a²|w_i|)), so that it stays meaningful at
/// convergence, where F itself → 0. With h = 2^(−p/7)/r, r the fastest rate max(|λ±|, 1),
/// truncation (∝ (rh)⁶) and rounding (∝ 2^−p/(rh)) are both ≈ 2^(−6p/7) (≈ 1e-66 at 256 bits).
///
/// # Errors
/// [`ExactError::Singular`] if the hyperbolic route hits a singular point near t.
pub fn ode_residual(cf: &ClosedFormMp, t: &Float, form: Form) -> Result<Float, ExactError> {
    let p = cf.prec;
    let mut rate = Float::with_val(p, cf.lp.abs_ref());
    let lm = Float::with_val(p, cf.lm.abs_ref());
    if lm > rate {
        rate = lm;
    }
    if rate < 1 {
        rate = Float::with_val(p, 1);
    }
    let h = Float::with_val(p, Float::i_exp(1, -(p as i32) / 7)) / &rate;
    let weights: [(i32, i32); 6] = [(-3, -1), (-2, 9), (-1, -45), (1, 45), (2, -9), (3, 1)];
    let (a, w) = point_aw(cf, t, form)?;
    let d = w.len();
    let mut fd = vec![Float::with_val(p, 0); d + 1];
    for (k, c) in weights {
        let tk = Float::with_val(p, t + Float::with_val(p, &h * k));
        let (ak, wk) = point_aw(cf, &tk, form)?;
        fd[0] += Float::with_val(p, &ak * c);
        for i in 0..d {
            fd[i + 1] += Float::with_val(p, &wk[i] * c);
        }
    }
    let sixty_h = Float::with_val(p, &h * 60u32);
    let wb = dot(&w, &cf.bstar, p);
    let ww = dot(&w, &w, p);
    let a_ww = Float::with_val(p, &a * &ww);
    let rhs_a = Float::with_val(p, &cf.eta_a * Float::with_val(p, &wb - &a_ww));
    let mut scale = Float::with_val(p, &cf.eta_a * (Float::with_val(p, wb.abs_ref()) + a_ww.abs()));
    let mut num = Float::with_val(p, Float::with_val(p, &fd[0] / &sixty_h) - &rhs_a).abs();
    let a2 = Float::with_val(p, a.square_ref());
    for i in 0..d {
        let t1 = Float::with_val(p, &a * &cf.bstar[i]);
        let t2 = Float::with_val(p, &a2 * &w[i]);
        let rhs = Float::with_val(p, &cf.eta_w * Float::with_val(p, &t1 - &t2));
        let e = Float::with_val(p, Float::with_val(p, &fd[i + 1] / &sixty_h) - &rhs).abs();
        if e > num {
            num = e;
        }
        let sc = Float::with_val(p, &cf.eta_w * (t1.abs() + t2.abs()));
        if sc > scale {
            scale = sc;
        }
    }
    Ok(if scale.is_zero() { num } else { num / scale })
}

fn point_aw(cf: &ClosedFormMp, t: &Float, form: Form) -> Result<(Float, Vec<Float>), ExactError> {
    match form {
        Form::Linearised => Ok(cf.linearised(t)),
        Form::Hyperbolic => cf.hyperbolic(t),
    }
}

/// δ(t) = η_w a(t)² − η_a‖w(t)‖² of the closed form's route at t, at working precision.
///
/// # Errors
/// From the route ([`ClosedFormMp::point`]).
pub fn delta_at(cf: &ClosedFormMp, t: &Float, form: Form) -> Result<Float, ExactError> {
    let p = cf.prec;
    let (a, w) = point_aw(cf, t, form)?;
    Ok(Float::with_val(p, &cf.eta_w * a.square()) - Float::with_val(p, &cf.eta_a * dot(&w, &w, p)))
}

/// η_w a0² + η_a‖w0‖², the scale of δ's terms, at working precision.
pub fn delta_scale(cf: &ClosedFormMp) -> Float {
    let p = cf.prec;
    Float::with_val(p, &cf.eta_w * cf.a0.clone().square()) + Float::with_val(p, &cf.eta_a * dot(&cf.w0, &cf.w0, p))
}

/// δ(t) − δ(0) of the closed form at t, relative to η_w a0² + η_a‖w0‖² (the scale of δ's terms).
///
/// # Errors
/// From the route ([`ClosedFormMp::point`]).
pub fn delta_drift(cf: &ClosedFormMp, t: &Float, form: Form) -> Result<Float, ExactError> {
    let dt = delta_at(cf, t, form)?;
    Ok(Float::with_val(cf.prec, dt - &cf.delta).abs() / delta_scale(cf))
}

/// Decimal text of x with the digits its bound supports.
pub fn decimal(x: &Float, b: &Bound) -> String {
    mp::to_decimal(x, b.abs)
}
