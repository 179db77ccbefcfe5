//! Rigorous closed-form references for the λ-balanced experiment rows: the Riccati solution in
//! ball arithmetic ([`crate::exact::riccati::certified_qqt`]) for inputs whose decimals are
//! exactly whitened and exactly λ-balanced (so the enclosure is of the network's flow), and the
//! bookkeeping that turns an enclosure into a row's `abs_err`, `ref_bound` and `ref_rigorous`.

use crate::case::LambdaBalancedCase;
use crate::exact::riccati::{LbInputs, Riccati, certified_qqt, f_matrix_of};
use crate::metrics::lambda_balanced::kernel_distance_of;
use crate::models::lambda_balanced_exact::case_assumptions;
use crate::num::ball::Ball;
use crate::num::mat::Mat;
use crate::num::real::Real;
use crate::verify::{Certified, Row};
use nalgebra::DMatrix;

/// Working precision of the experiment references (escalated by `qqt_enclosure` where needed):
/// radii ≈ 1e-35, far below every row's tolerance, at ≈ 0.1–2 s a case (8-8-8 to t = 150).
pub const REF_PREC: u32 = 128;

/// Ball enclosures of QQᵀ at a case's times, with the parsed inputs.
#[derive(Debug, Clone)]
pub struct BallReference {
    /// QQᵀ(t) per time.
    pub qqt: Vec<Mat<Ball>>,
    /// Inputs at the working precision used.
    pub inputs: LbInputs<Ball>,
    /// The working precision used.
    pub prec_used: u32,
}

/// The `ref_method` text of these references.
pub fn method_text(prec_used: u32) -> String {
    format!(
        "closed form in ball arithmetic ({prec_used} bits; exact semigroup steps, proven Taylor remainders) for \
         decimal inputs exactly whitened and λ-balanced (checked in rationals): a proof"
    )
}

impl BallReference {
    /// The certified enclosure of `case` at [`REF_PREC`].
    ///
    /// # Errors
    /// Why there is no proof (the assumptions' defects, or a failed enclosure).
    pub fn new(case: &LambdaBalancedCase) -> Result<Self, String> {
        let (_, enc) = certified_qqt(case, REF_PREC).map_err(|e| e.to_string())?;
        let inputs = LbInputs::parse(case, &Ball::from_f64(enc.prec_used, 0.0)).map_err(|e| e.to_string())?;
        Ok(BallReference {
            qqt: enc.points,
            inputs,
            prec_used: enc.prec_used,
        })
    }

    /// (d_i, d_o).
    pub fn dims(&self) -> (usize, usize) {
        (self.inputs.x.nrows(), self.inputs.y.nrows())
    }

    /// W1ᵀW1 at time index k.
    pub fn w1tw1(&self, k: usize) -> Mat<Ball> {
        let (d_i, _) = self.dims();
        self.qqt[k].block(0, 0, d_i, d_i)
    }
    /// W2W2ᵀ at time index k.
    pub fn w2w2t(&self, k: usize) -> Mat<Ball> {
        let (d_i, d_o) = self.dims();
        self.qqt[k].block(d_i, d_i, d_o, d_o)
    }
    /// W2W1 at time index k.
    pub fn w2w1(&self, k: usize) -> Mat<Ball> {
        let (d_i, d_o) = self.dims();
        self.qqt[k].block(d_i, 0, d_o, d_i)
    }

    /// S(0, t_k) in balls, relative to the initial kernel.
    ///
    /// # Errors
    /// When a kernel is not bounded away from 0.
    pub fn kernel_distance(&self, k: usize) -> Result<Ball, String> {
        let (d_i, d_o) = self.dims();
        let p0 = self.inputs.p0();
        kernel_distance_of(
            &self.inputs.x,
            &p0.block(0, 0, d_i, d_i),
            &p0.block(d_i, d_i, d_o, d_o),
            &self.w1tw1(k),
            &self.w2w2t(k),
        )
        .map_err(|e| e.to_string())
    }

    /// QQᵀ at scaled times `s` of the Riccati flow of another task Σ̃_yx (d_o×d_i, decimal
    /// case `next`, same τ) started from this reference's QQᵀ at time index k: the continual-learning
    /// restart (the λ-balance is conserved, so the network's QQᵀ follows the new task's Riccati
    /// equation from there when `next`'s data are exactly whitened).
    ///
    /// # Errors
    /// When `next` fails its exact checks or the enclosure fails.
    pub fn restart(&self, k: usize, next: &LambdaBalancedCase) -> Result<Vec<Mat<Ball>>, String> {
        // `next` carries its own init; only its data (and the exactness of its whitening) matter,
        // and its λ must be this one's — `case_assumptions` checks both identities exactly (in
        // rationals; the enclosure of `next`'s own flow from its own init, which
        // `certified_qqt` would add, is not used here).
        case_assumptions(next).map_err(|e| e.to_string())?;
        let like = Ball::from_f64(self.prec_used, 0.0);
        let inp = LbInputs::parse(next, &like).map_err(|e| e.to_string())?;
        let f = f_matrix_of(
            &inp.syx().map_err(|e| e.to_string())?,
            &self.inputs.lambda().map_err(|e| e.to_string())?,
        );
        let r = Riccati::new(&f).map_err(|e| e.to_string())?;
        let s: Vec<Ball> = next
            .times
            .iter()
            .map(|t| like.num_r(t).and_then(|t| t.over(&inp.tau)))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        r.evaluate(&self.qqt[k], &s).map_err(|e| e.to_string())
    }
}

/// (max |value − midpoint|, max radius) of f64 values against an enclosure of the same shape.
pub fn compare(values: &DMatrix<f64>, enc: &Mat<Ball>) -> (f64, f64) {
    let mut err = 0.0f64;
    let mut rad = 0.0f64;
    for i in 0..enc.nrows() {
        for j in 0..enc.ncols() {
            let b = enc.at(i, j);
            err = err.max((values[(i, j)] - b.to_f64_r()).abs());
            rad = rad.max(b.rad());
        }
    }
    (err, rad)
}

/// Make `r`'s reference the ball closed form: `abs_err` measured against the midpoints, the
/// radius as `ref_bound` (so |value − exact| ≤ abs_err + ref_bound), margin recomputed as
/// abs_err/(bound + ref_bound).
pub fn set_reference(r: &mut Row, err: f64, rad: f64, scale: f64, prec_used: u32) {
    r.abs_err = err;
    r.rel_err = err / scale.max(f64::MIN_POSITIVE);
    r.ref_bound = rad;
    r.ref_method = method_text(prec_used);
    r.ref_rigorous = err.is_finite() && rad.is_finite();
    r.margin = err / (r.bound + rad);
    r.pass = r.margin.is_finite() && r.margin <= 1.0;
}

/// Accumulate f64 values against an enclosure of the same shape (proven |value − exact| per
/// entry, [`Certified::add_value`]).
pub(crate) fn add_matrix(acc: &mut Certified, values: &DMatrix<f64>, enc: &Mat<Ball>) {
    if values.nrows() != enc.nrows() || values.ncols() != enc.ncols() {
        acc.margin = f64::NAN;
        return;
    }
    for i in 0..enc.nrows() {
        for j in 0..enc.ncols() {
            acc.add_value(values[(i, j)], enc.at(i, j));
        }
    }
}

/// A simulation row measured against the ball closed form: reference and proven bound from the
/// enclosure (|simulated − exact| ≤ `bound`, rounded up), and the row also requires the bound ≤
/// the tolerance's promise (an estimate; ratio in the note).
pub(crate) fn certify_simulation_row(
    r: &mut Row,
    acc: &Certified,
    scale: f64,
    promise: f64,
    promise_why: &str,
    prec_used: u32,
) {
    r.abs_err = acc.err;
    r.rel_err = acc.err / scale.max(f64::MIN_POSITIVE);
    r.ref_bound = acc.rb;
    r.bound = acc.bound;
    r.ref_method = method_text(prec_used);
    r.bound_why = format!(
        "proven: max over the grid of |value − V| rounded up, V the closed form in balls; the row also requires it ≤ \
         the promise {promise:.3e} ({promise_why}; an estimate)"
    );
    r.note = format!(
        "{}{}certified error / promise = {:.3e}",
        r.note,
        if r.note.is_empty() { "" } else { "; " },
        acc.bound / promise
    );
    r.margin = acc.margin;
    r.ref_rigorous = acc.margin.is_finite();
    r.bound_rigorous = acc.margin.is_finite();
    r.pass = acc.margin.is_finite() && acc.margin <= 1.0 && acc.bound <= promise;
}
