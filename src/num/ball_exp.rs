//! Fast rigorous eˣ, eˣ − 1 and (eˣ − 1)/x for balls at one fixed precision, with the
//! argument-independent work (tables, ln 2, Taylor coefficients) hoisted into [`ExpTable`].
//!
//! **Why.** MPFR's `exp`/`expm1` at 170 bits cost ~2–4 µs each and recompute everything per call;
//! one rigorous closed-form point of the single neuron needs two of them (`docs/theory.md` §1.4,
//! [`crate::exact::single_neuron_ball`]). With tables built once, a call costs ~20 MPFR
//! multiplications/additions at the working precision and no allocation except the result.
//!
//! **Algorithm** (working precision W = p + ≥ 12 guard bits, rounded up to 10 bits short of
//! whole 64-bit limbs, where MPFR's 2- and 3-limb multiplications take their short path — see
//! [`ExpTable::new`]; u = 2^−W; every MPFR operation rounds to nearest, so its relative error
//! is ≤ u):
//!
//! 1. *Reduction.* For |m| < ¾, k = 0 and r = m. Otherwise k = round(m/ln 2) (in f64; any integer
//!    is valid, this one gives |r| ≲ 0.35) and r = RN(m − k·L), where L is ln 2 rounded to W + 64
//!    bits (|L − ln 2| ≤ 2^−(W+65)) and k·L is formed exactly. So m = k ln 2 + r + Δ with
//!    |Δ| ≤ |k|·2^−(W+65) + (rounding of r, from MPFR's ternary value) =: `red_err`.
//! 2. *Table split.* With s = sign(r) and J = ⌊|r|·2²⁴⌋ = j₁2¹⁶ + j₂2⁸ + j₃ (0 ≤ jᵢ < 256),
//!    r = s(j₁2⁻⁸ + j₂2⁻¹⁶ + j₃2⁻²⁴) + ρ with ρ of sign s and |ρ| < q = 2⁻²⁴, all exact (ρ is
//!    |r|·2²⁴ − J scaled back: its bits are a subset of r's). Tables hold Eᵢ(j) = expm1(s j 2^−8i)
//!    and Tᵢ(j) = exp(s j 2^−8i) correctly rounded to W bits (relative error ≤ u), for both signs.
//! 3. *Series.* y = Σ_{n=1}^{N} ρⁿ/n! by Horner, sₙ = RN(RN(sₙ₊₁ρ) + cₙ), y = RN(s₁ρ), over
//!    coefficients cₙ = RN(1/n!) (c₁ = 1, c₂ = ½ exact). N is the least order with
//!    qᴺ/((N+1)!(1−q)) ≤ u, so the truncation Σ_{n>N}|ρ|ⁿ/n! ≤ u|ρ|. Horner error: with
//!    σₙ = 1/n! + ρσₙ₊₁ the exact partial sums (|σₙ| ≤ 1.01/n!) and εₙ = |sₙ − σₙ|,
//!    εₙ ≤ qεₙ₊₁ + uq|sₙ₊₁| + |cₙ − 1/n!| + u|sₙ| ≤ qεₙ₊₁ + 2.03u/n!, and c₁ exact gives
//!    ε₁ ≤ 1.02u + qε₂ ≤ 1.1u; the final product adds u|s₁ρ| ≤ 1.01u|ρ|; with the truncation,
//!    |y − expm1 ρ| ≤ 3.2u|ρ| ≤ 6u|expm1 ρ| (as |expm1 ρ| ≥ |ρ|(1 − q)).
//! 4. *Recombination, no cancellation.* F = E₁ + E₂T₁, P = T₁T₂, F ← F + E₃P, P ← PT₃,
//!    F ← F + yP (each product and each sum rounded once): F = expm1(r) in exact arithmetic, and
//!    **every summand has the sign s** (Eᵢ, y have the sign of their arguments; P > 0). Writing
//!    θₖ for a factor (1 + θ), |θ| ≤ γₖ = ku/(1 − ku): a sum of same-sign terms carrying θₐ and
//!    θ_b carries θ_max(a,b) before its own rounding. Tables bring θ₁, each rounding θ₁, y θ₆:
//!    F₁ ~ θ₄, P₂ ~ θ₃, F₂ ~ θ₆, P₃ ~ θ₅, F₃ ~ θ₁₃. Hence |F − expm1 r| ≤ γ₁₃|expm1 r|
//!    ≤ 14u|F| (`ferr`). Near 0 (k = 0, J = 0) this is a *relative* bound: expm1 keeps full
//!    accuracy on tiny arguments (1e−300).
//! 5. *Output.* exp: Z = RN(1 + F), value 2ᵏZ rounded to p bits (the shift is exact); error
//!    2ᵏ(ferr + ½ulp(Z) + ½ulp at p). expm1: for k = 0 the value is F rounded to p bits; for
//!    k ≠ 0 (then |m| ≥ ¾, so |eᵐ − 1| ≥ 0.52 and the subtraction cannot cancel) RN(2ᵏZ − 1).
//! 6. *Input radius and Δ.* For x in [m ± r] and m′ = k ln 2 + r (the point actually evaluated),
//!    |x − m′| ≤ r + red_err, and |eˣ − e^{m′}| = e^{m′}|e^{x−m′} − 1| ≤ e^{m′}·expm1(r + red_err)
//!    with e^{m′} bounded by |value| + its error (plus 1 for expm1). The same bound as
//!    [`Ball::exp`]/[`Ball::expm1`].
//!
//! All error sums are done in f64 rounded upward (the helpers of [`crate::num::ball`]).
//!
//! **Scope.** The fast path is used for midpoints with |m| ≤ 2²⁰ at precisions ≤
//! [`FAST_MAX_PREC`] bits; anything else (including NaN/∞ midpoints) is delegated to MPFR through
//! [`Ball::exp`]/[`Ball::expm1`], so every call returns a valid enclosure. Scratch numbers are
//! kept per thread (one set per working precision), so a call allocates only its result, and
//! nothing when the result is written into an existing ball ([`ExpTable::expm1_into`],
//! [`ExpTable::expm1_over_x_into`]: the rigorous closed form's scratch values).

use crate::num::ball::{Ball, abs_down, abs_up, add_up, div_up, exp_top, expm1_up, mul_up, pow2_up, round_err, up1};
use crate::num::mp::{self, PrecError};
use rug::float::{Constant, Round};
use rug::ops::{AssignRound, DivAssignRound, NegAssign, SubAssignRound};
use rug::{Assign, Float};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

/// Bits resolved per table level.
const LEVEL_BITS: u32 = 8;
/// Number of table levels: the series argument is below 2^−(LEVELS·LEVEL_BITS).
const LEVELS: usize = 3;
/// Entries per level and sign.
const TABLE_LEN: usize = 1 << LEVEL_BITS;
/// Bits split off by the tables (q = 2^−SPLIT_BITS).
const SPLIT_BITS: u32 = LEVEL_BITS * LEVELS as u32;
/// Below this |m| no ln 2 reduction is made (the tables cover |r| < 1).
const NO_REDUCTION_BELOW: f64 = 0.75;
/// Above this |m| MPFR is used (k stays a small integer; e^{2²⁰} is far outside the f64 radius
/// range anyway).
const MAX_FAST_ARG: f64 = 1_048_576.0;
/// Minimum guard bits of the working precision.
const GUARD_BITS: u32 = 12;
/// Bits the working precision stays below a whole number of 64-bit limbs (see [`ExpTable::new`]).
const SHORT_OF_LIMBS: u32 = 10;
/// Extra bits of the stored ln 2.
const LN2_EXTRA_BITS: u32 = 64;
/// Bound of the relative error of F in units of u (γ₁₃/(1 − γ₁₃) < 13.01, see step 4).
const F_ERR_ULPS: f64 = 14.0;
/// Precisions above this use MPFR's own exp (the series would need W/24 terms, and MPFR's
/// asymptotically faster methods win there).
pub const FAST_MAX_PREC: u32 = 1024;

/// Tables and constants for fast ball exponentials at output precision `prec`.
///
/// Everything but the output precision depends only on the working precision W
/// ([`ExpTable::new`]), so it lives in `WorkingTables`, built once per process for each W and
/// shared by every table whose precision maps to that W (and by clones).
#[derive(Clone)]
pub struct ExpTable {
    prec: u32,
    t: Arc<WorkingTables>,
}

/// The part of an [`ExpTable`] fixed by the working precision W.
struct WorkingTables {
    wp: u32,
    ln2: Float,
    /// expm1(s·j·2^−8(i+1)) at index [`idx`](i, s, j).
    em1: Vec<Float>,
    /// exp(s·j·2^−8(i+1)).
    ex: Vec<Float>,
    /// coef[n] = RN(1/n!), n = 0..=terms.
    coef: Vec<Float>,
    terms: usize,
    /// 14u rounded up: the relative error bound of F.
    f_err: f64,
    /// 1 at W bits: Z = 1 + F and 2ᵏZ − 1 as same-precision operations (MPFR's fast paths;
    /// the integer 1 would go through a temporary and the generic route, same results).
    one: Float,
}

impl fmt::Debug for ExpTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ExpTable {{ prec: {}, working: {}, series terms: {}, fast: {} }}",
            self.prec,
            self.t.wp,
            self.t.terms,
            self.is_fast()
        )
    }
}

#[inline]
fn idx(level: usize, neg: bool, j: usize) -> usize {
    (level * 2 + usize::from(neg)) * TABLE_LEN + j
}

/// Reusable intermediates at the working precision.
struct Scratch {
    wp: u32,
    r0: Float,
    tk: Float,
    rho: Float,
    /// J = ⌊|r|·2²⁴⌋ as a number of the working precision (exact: J < 2²⁴).
    jf: Float,
    s: Float,
    f: Float,
    pr: Float,
    t: Float,
    z: Float,
}

impl Scratch {
    fn new(wp: u32) -> Self {
        let f = || Float::new(wp);
        Scratch {
            wp,
            r0: f(),
            tk: Float::new(wp + LN2_EXTRA_BITS + 64),
            rho: f(),
            jf: f(),
            s: f(),
            f: f(),
            pr: f(),
            t: f(),
            z: f(),
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Vec<Scratch>> = const { RefCell::new(Vec::new()) };
}

/// Result of the reduced evaluation (F itself is left in the scratch's `f`).
struct Reduced {
    k: i64,
    /// Bound of |m − (k ln 2 + r)|.
    red_err: f64,
    /// Bound of |F − expm1(r)|.
    ferr: f64,
}

impl WorkingTables {
    /// The tables at working precision `wp` (`fast`: with the entries and the series
    /// coefficients; without, only the constants, and `terms` = 0 marks the fast path off).
    fn new(wp: u32, fast: bool) -> Self {
        let u = pow2_up(-i64::from(wp));
        let mut t = WorkingTables {
            wp,
            ln2: Float::with_val(wp + LN2_EXTRA_BITS, Constant::Log2),
            em1: Vec::new(),
            ex: Vec::new(),
            coef: Vec::new(),
            terms: 0,
            f_err: mul_up(F_ERR_ULPS, u),
            one: Float::with_val(wp, 1),
        };
        if !fast {
            return t;
        }
        let n = LEVELS * 2 * TABLE_LEN;
        t.em1 = vec![Float::new(wp); n];
        t.ex = vec![Float::new(wp); n];
        for level in 0..LEVELS {
            for neg in [false, true] {
                for j in 0..TABLE_LEN {
                    // s·j·2^−8(level+1), exact.
                    let mut x = Float::with_val(wp, j as u32) >> (LEVEL_BITS * (level as u32 + 1));
                    if neg {
                        x = -x;
                    }
                    let i = idx(level, neg, j);
                    t.em1[i].assign_round(x.exp_m1_ref(), Round::Nearest);
                    t.ex[i].assign_round(x.exp_ref(), Round::Nearest);
                }
            }
        }
        // Least N with q^N/((N+1)!(1 − q)) ≤ u, in log2 with one bit of margin for the f64 log.
        let mut terms = 1usize;
        let mut log2_fact = 1.0f64; // log2((N+1)!) for N = 1
        loop {
            let lhs = f64::from(SPLIT_BITS) * terms as f64 + log2_fact;
            if lhs >= f64::from(wp) + 1.0 {
                break;
            }
            terms += 1;
            log2_fact += ((terms + 1) as f64).log2();
        }
        t.terms = terms;
        let mut fact = rug::Integer::from(1);
        for k in 0..=terms {
            if k > 0 {
                fact *= k as u32;
            }
            let mut c = Float::with_val(wp, &fact); // exact: k! < 2^wp for these k
            c.recip_round(Round::Nearest);
            t.coef.push(c);
        }
        t
    }
}

impl ExpTable {
    /// The tables for results at `prec` bits. Their entries depend only on the working precision W
    /// below, so they are computed once per process for each W (≈ 3 ms at W = 118 to ≈ 16 ms at
    /// W = 758: 3072 correctly rounded MPFR exponentials) and shared: a table at another
    /// precision with the same W, or at the same precision again, costs an `Arc` clone. At most
    /// ⌈(FAST_MAX_PREC + 22)/64⌉ = 17 working precisions have tables (≈ 8 MB in all); above
    /// [`FAST_MAX_PREC`] there are none (MPFR is used) and nothing is kept.
    ///
    /// # Errors
    /// [`PrecError`] for a precision below 53 bits or above [`crate::num::tol::MAX_PREC_BITS`].
    pub fn new(prec: u32) -> Result<Self, PrecError> {
        mp::check_prec(prec)?;
        // Short of whole limbs: MPFR's fast paths for 2 and 3 limbs (mpfr_mul_2/3,
        // add1sp2/3, sub1sp2/3) need 64 < W < 128 or 128 < W < 192; at W = 192 every table
        // operation took the generic route (measured: the point's exponentials ≈ 30 % slower).
        // And mpfr_mul_2/3 form the product from the high limbs only, falling back to the full
        // mpn_mul_n whenever the low sh − 2 of the sh = 64·limbs − W spare bits cannot decide
        // the rounding: always for sh ≤ 2 (W = 191 took the full product on every one of the
        // ≈ 14 multiplications of an exponential, MPFR 4.2.2 mul.c), with probability
        // ≈ 5·2^{2−sh} otherwise. 10 spare bits make that ≈ 2 %; 12 guard bits keep the
        // table's error (14u relative) below 2^−8 of the final rounding to p bits.
        let wp = (prec + GUARD_BITS + SHORT_OF_LIMBS).div_ceil(64) * 64 - SHORT_OF_LIMBS;
        let fast = prec <= FAST_MAX_PREC;
        if !fast {
            return Ok(ExpTable {
                prec,
                t: Arc::new(WorkingTables::new(wp, false)),
            });
        }
        static SHARED: OnceLock<Mutex<HashMap<u32, Arc<WorkingTables>>>> = OnceLock::new();
        let shared = SHARED.get_or_init(Default::default);
        let found = shared.lock().ok().and_then(|m| m.get(&wp).cloned());
        let t = match found {
            Some(t) => t,
            None => {
                // Built outside the lock (other working precisions are not held up); two threads
                // that build the same W at once make the same tables, and the first one stays.
                let built = Arc::new(WorkingTables::new(wp, true));
                match shared.lock() {
                    Ok(mut m) => Arc::clone(m.entry(wp).or_insert(built)),
                    Err(_) => built,
                }
            }
        };
        Ok(ExpTable { prec, t })
    }

    /// Output precision in bits.
    pub fn prec(&self) -> u32 {
        self.prec
    }

    /// Whether the table-based path is available at this precision (else MPFR is used).
    pub fn is_fast(&self) -> bool {
        self.t.terms > 0
    }

    fn with_scratch<R>(&self, f: impl FnOnce(&mut Scratch) -> R) -> R {
        SCRATCH.with(|cell| {
            let mut v = cell.borrow_mut();
            let pos = match v.iter().position(|s| s.wp == self.t.wp) {
                Some(p) => p,
                None => {
                    v.push(Scratch::new(self.t.wp));
                    v.len() - 1
                }
            };
            f(&mut v[pos])
        })
    }

    /// Steps 1–4: F ≈ expm1(r) in `sc.f`, or `None` when the fast path does not apply.
    fn reduce_eval(&self, m: &Float, sc: &mut Scratch) -> Option<Reduced> {
        if !self.is_fast() || !m.is_finite() {
            return None;
        }
        // A truncated f64 of m (abs_down reads the top limb): any k is valid, and the range
        // tests below only need a value of at most |m| with m's sign.
        let mf = signed_down(m);
        if mf.abs() > MAX_FAST_ARG {
            return None;
        }
        let (k, mut red_err) = if mf.abs() < NO_REDUCTION_BELOW {
            let o = sc.r0.assign_round(m, Round::Nearest);
            (0i64, round_err(&sc.r0, o))
        } else {
            let k = (mf / std::f64::consts::LN_2).round() as i64;
            // k·L exactly (≤ 22-bit integer times a (W+64)-bit number in W+128 bits).
            let o1 = sc.tk.assign_round(&self.t.ln2 * (k as i32), Round::Nearest);
            let o2 = sc.r0.assign_round(m - &sc.tk, Round::Nearest);
            let ln2_err = mul_up(
                k.unsigned_abs() as f64,
                pow2_up(-i64::from(self.t.wp + LN2_EXTRA_BITS) - 1),
            );
            (k, add_up(add_up(ln2_err, round_err(&sc.tk, o1)), round_err(&sc.r0, o2)))
        };
        // |r| ≤ |truncated r|·(1 + 2⁻⁵²): below 0.999 proves |r| < 1, the tables' range.
        if signed_down(&sc.r0).abs() >= 0.999 {
            return None;
        }
        let neg = sc.r0.is_sign_negative();
        // ρ is formed in r's storage (r is not needed again): a swap instead of a copy.
        std::mem::swap(&mut sc.rho, &mut sc.r0);
        sc.rho.abs_mut();
        sc.rho <<= SPLIT_BITS;
        let big_j = floor_small(&sc.rho)?;
        // ρ·2²⁴ − J at one precision (MPFR's same-precision subtraction; `sub_ui` goes through
        // the generic route with a temporary).
        sc.jf.assign(big_j);
        let o = sc.rho.sub_assign_round(&sc.jf, Round::Nearest);
        // Exact in theory (see step 2); counted anyway.
        red_err = add_up(red_err, mul_up(round_err(&sc.rho, o), pow2_up(-i64::from(SPLIT_BITS))));
        sc.rho >>= SPLIT_BITS;
        if neg {
            sc.rho.neg_assign();
        }
        let j = [
            (big_j >> (2 * LEVEL_BITS)) as usize,
            ((big_j >> LEVEL_BITS) as usize) & (TABLE_LEN - 1),
            (big_j as usize) & (TABLE_LEN - 1),
        ];
        // Step 3: y = expm1(ρ) in sc.s.
        // Separate products and sums at one precision: MPFR's same-precision fast paths
        // (a fused multiply-add forms the 2W-bit product and takes the generic path).
        // (The first product straight from the coefficient: the same roundings as a copy of
        // c_N followed by s ← s·ρ.)
        sc.s.assign(&self.t.coef[self.t.terms] * &sc.rho);
        for n in (1..self.t.terms).rev() {
            sc.s += &self.t.coef[n];
            sc.s *= &sc.rho;
        }
        // Step 4.
        let e = |l: usize| &self.t.em1[idx(l, neg, j[l])];
        let x = |l: usize| &self.t.ex[idx(l, neg, j[l])];
        if j[0] == 0 {
            // E₁ = expm1(0) = 0 and T₁ = 1 exactly: F₁ = E₂ and P₂ = T₂ without rounding (every
            // argument below 2⁻⁸, e.g. the δt-sized φ₁ arguments of the closed form), read from
            // the tables directly (no copies; the same roundings as below).
            sc.t.assign(e(2) * x(1));
            sc.f.assign(e(1) + &sc.t);
            sc.pr.assign(x(1) * x(2));
        } else {
            sc.f.assign(e(1) * x(0));
            sc.f += e(0);
            sc.pr.assign(x(0) * x(1));
            sc.t.assign(e(2) * &sc.pr);
            sc.f += &sc.t;
            sc.pr *= x(2);
        }
        sc.t.assign(&sc.s * &sc.pr);
        sc.f += &sc.t;
        let ferr = mul_up(abs_up(&sc.f), self.t.f_err);
        Some(Reduced { k, red_err, ferr })
    }

    /// eˣ for the ball x (fast path when [`is_fast`](Self::is_fast) and |mid| ≤ 2²⁰; otherwise
    /// [`Ball::exp`]). The result has [`prec`](Self::prec) bits.
    pub fn exp(&self, x: &Ball) -> Ball {
        self.with_scratch(|sc| {
            let Some(red) = self.reduce_eval(x.mid(), sc) else {
                return x.exp();
            };
            let o = sc.z.assign_round(&sc.f + &self.t.one, Round::Nearest);
            let (mut mid, o2) = Float::with_val_round(self.prec, &sc.z, Round::Nearest);
            let err = add_up(add_up(red.ferr, round_err(&sc.z, o)), round_err(&mid, o2));
            // All bounds on the 2⁰ scale (e^{r} ≤ |Z_p| + err), scaled by 2ᵏ once: the radius
            // stays finite whenever it fits in f64, even if e^m does not.
            let em = add_up(abs_up(&mid), err);
            let rad0 = add_up(err, mul_up(em, expm1_up(add_up(x.rad(), red.red_err))));
            shift(&mut mid, red.k);
            Ball::with_rad(mid, scale_up(rad0, red.k))
        })
    }

    /// eˣ − 1 for the ball x, accurate relative to the value also near 0 (fast path as for
    /// [`exp`](Self::exp); otherwise [`Ball::expm1`]).
    pub fn expm1(&self, x: &Ball) -> Ball {
        let mut out = Ball::blank(self.prec);
        self.expm1_parts_into(x.mid(), x.rad(), &mut out);
        out
    }

    /// [`ExpTable::expm1`] into `out` (its storage reused: no allocation on the fast path; the
    /// result has [`prec`](Self::prec) bits, or the argument's on MPFR's fallback).
    pub fn expm1_into(&self, x: &Ball, out: &mut Ball) {
        self.expm1_parts_into(x.mid(), x.rad(), out);
    }

    /// [`ExpTable::expm1`] of the ball [m ± r] given by its parts (no ball to build for an
    /// exact midpoint), into `out`.
    fn expm1_parts_into(&self, m: &Float, r: f64, out: &mut Ball) {
        self.with_scratch(|sc| {
            let Some(red) = self.reduce_eval(m, sc) else {
                *out = Ball::with_rad(m.clone(), r).expm1();
                return;
            };
            let rr = expm1_up(add_up(r, red.red_err));
            let mid = out.mid_mut();
            if mid.prec() != self.prec {
                mid.set_prec(self.prec);
            }
            let rad = if red.k == 0 {
                let o = mid.assign_round(&sc.f, Round::Nearest);
                let comp = add_up(red.ferr, round_err(mid, o));
                // e^{m′} = 1 + expm1(m′) ≤ 1 + mid + comp (tight for negative m′).
                let mid_up = if mid.is_sign_negative() {
                    -abs_down(mid)
                } else {
                    abs_up(mid)
                };
                let em = add_up(1.0, add_up(mid_up, comp)).max(0.0);
                add_up(comp, mul_up(em, rr))
            } else {
                let o = sc.z.assign_round(&sc.f + &self.t.one, Round::Nearest);
                let err = add_up(red.ferr, round_err(&sc.z, o));
                // e^{m′} = 2ᵏe^{r} ≤ 2ᵏ(Z + err): the propagated term on the 2⁰ scale.
                let prop0 = mul_up(add_up(abs_up(&sc.z), err), rr);
                shift(&mut sc.z, red.k);
                let o2 = sc.z.sub_assign_round(&self.t.one, Round::Nearest);
                let o3 = mid.assign_round(&sc.z, Round::Nearest);
                let comp = add_up(round_err(&sc.z, o2), round_err(mid, o3));
                add_up(comp, scale_up(add_up(err, prop0), red.k))
            };
            out.set_rad(rad);
        })
    }

    /// φ₁(x) = (eˣ − 1)/x (entire, 1 at 0), as [`Ball::expm1_over_x`] but with the fast expm1:
    /// expm1(x)/x in balls when x excludes 0 and |x| > ½; otherwise φ₁ at the (exact) midpoint
    /// plus r·max|φ₁′| ≤ r (|φ₁′(ξ)| ≤ Σ k/(k+1)! = 1 for |ξ| ≤ 1).
    pub fn expm1_over_x(&self, x: &Ball) -> Ball {
        let mut out = Ball::blank(self.prec);
        self.expm1_over_x_into(x, &mut out);
        out
    }

    /// [`ExpTable::expm1_over_x`] into `out` (its storage reused: no allocation for an argument
    /// with |x| ≤ ½, the closed form's δt).
    pub fn expm1_over_x_into(&self, x: &Ball, out: &mut Ball) {
        let p = self.prec;
        let wide = || Ball::with_rad(Float::with_val(p, 0), f64::INFINITY);
        let big = add_up(abs_up(x.mid()), x.rad());
        if !x.contains_zero() && abs_down(x.mid()) > 0.5 {
            *out = self.expm1(x).div(x).unwrap_or_else(|_| wide());
            return;
        }
        if big > 1.0 {
            // Wide ball around 0: |φ₁| ≤ e^{|x|} on it.
            let hi = expm1_up(big).max(1.0) + 1.0;
            *out = Ball::with_rad(Float::with_val(p, 0), up1(hi));
            return;
        }
        if x.mid().is_zero() {
            *out = Ball::from_u32(p, 1);
        } else if !self.expm1_over_mid_into(x.mid(), out) {
            *out = wide();
        }
        out.widen(x.rad());
    }
}

impl ExpTable {
    /// φ₁(m) = expm1(m)/m at an exact non-zero midpoint m into `out`, without allocating: the
    /// ball E = expm1([m ± 0]) ([`ExpTable::expm1`]) divided in place by the exact m, so
    /// |E/m − φ₁(m)| ≤ r_E/|m| and the quotient's rounding adds half an ulp (the division of a
    /// ball by an exact non-zero divisor: no radius of the divisor to propagate). `false` (and
    /// `out` unspecified) when |m| is outside the f64 range and the general ball division fails,
    /// or the quotient is not finite.
    fn expm1_over_mid_into(&self, m: &Float, out: &mut Ball) -> bool {
        let den = abs_down(m);
        if den.is_nan() || den < f64::MIN_POSITIVE || den.is_infinite() {
            let mb = Ball::exact(m.clone());
            return match self.expm1(&mb).div(&mb) {
                Ok(q) => {
                    *out = q;
                    true
                }
                Err(_) => false,
            };
        }
        self.expm1_parts_into(m, 0.0, out);
        let r = out.rad();
        let q = out.mid_mut();
        let o = q.div_assign_round(m, Round::Nearest);
        let rad = add_up(div_up(r, den), round_err(q, o));
        if !q.is_finite() || !rad.is_finite() {
            return false;
        }
        out.set_rad(rad);
        true
    }
}

/// ⌊x⌋ for 0 ≤ x < 2³², read from the significand's top limb without MPFR's `get_ui` (which
/// rounds through a temporary): for x = 0.b₁b₂…·2^e, 1 ≤ e ≤ 32, ⌊x⌋ = b₁…b_e, the top limb
/// shifted right by 64 − e; 0 for x = 0 or e ≤ 0. MPFR's conversion elsewhere (other limb sizes,
/// larger x); `None` if it does not fit.
fn floor_small(x: &Float) -> Option<u32> {
    if x.is_zero() {
        return Some(0);
    }
    match exp_top(x) {
        Some((e, _)) if e <= 0 => Some(0),
        Some((e @ 1..=32, top)) if !x.is_sign_negative() => u32::try_from(top >> (64 - e)).ok(),
        _ => x.to_u32_saturating_round(Round::Down),
    }
}

/// x truncated toward zero to an f64 (the sign of x and |result| ≤ |x|; from the top limb
/// without a library call in the usual exponent range).
fn signed_down(x: &Float) -> f64 {
    let a = abs_down(x);
    if x.is_sign_negative() { -a } else { a }
}

/// An upper bound of x·2^k for x ≥ 0, in two factors so that 2^k itself may leave the f64
/// range while the product does not (e^709.78 = 2^1024·e^r with r < 0).
fn scale_up(x: f64, k: i64) -> f64 {
    let h = k / 2;
    mul_up(mul_up(x, pow2_up(h)), pow2_up(k - h))
}

/// x·2^k in place (exact: MPFR's exponent range is far wider than |k| ≤ 2²¹).
fn shift(x: &mut Float, k: i64) {
    if k >= 0 {
        *x <<= k as u32;
    } else {
        *x >>= (-k) as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_order_and_working_precision() {
        let t = ExpTable::new(170).unwrap();
        assert_eq!(t.t.wp, 182);
        // q^N/(N+1)! ≤ 2^−183 (u = 2^−182, one bit of margin) needs N = 7 for q = 2^−24:
        // 2^−168/8! ≈ 2^−183.3, 2^−144/7! ≈ 2^−156.3.
        assert_eq!(t.t.terms, 7);
        assert!(!ExpTable::new(FAST_MAX_PREC + 1).unwrap().is_fast());
        assert!(ExpTable::new(52).is_err());
    }

    /// A small deterministic generator (xorshift64*), so that a failure names its seed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        /// Uniform in [−1, 1).
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 * f64::EPSILON - 1.0
        }
    }

    /// The in-place operations (`Ball::set_*`, [`ExpTable::expm1_into`],
    /// [`ExpTable::expm1_over_x_into`]; and `Ball::lin_comb`) written into balls that hold an earlier result: at random
    /// balls (seed printed) at 64, 170 and 334 bits, each result contains the function's value
    /// at the ends, the centre and a random point of the input balls, computed at 2p + 64 bits,
    /// and equals the allocating form bit for bit; `floor_small` is MPFR's ⌊·⌋.
    #[test]
    fn in_place_operations_enclose() {
        let seed = 0x9E37_79B9_7F4A_7C15u64;
        eprintln!("in_place_operations_enclose: seed {seed:#x}");
        let mut rng = Rng(seed);
        for prec in [64u32, 170, 334] {
            let table = ExpTable::new(prec).unwrap();
            let hp = 2 * prec + 64;
            let mut out = Ball::from_f64(prec, 123.0);
            for case in 0..200 {
                let mut ball = |scale: f64| {
                    let m = Float::with_val(prec, rng.unit() * scale) / 3u32;
                    let m = Float::with_val(prec, m);
                    let rel = [0.0, 1e-40, 1e-20, 1e-6][(rng.next() % 4) as usize];
                    let rad = rel * m.to_f64().abs();
                    Ball::with_rad(m, rad)
                };
                let (x, y) = (ball(10.0), ball(10.0));
                let (u, v) = (ball(3.0), ball(3.0));
                let pos = Ball::with_rad(Float::with_val(prec, 0.5 + rng.unit().abs() * 8.0), 1e-30);
                let th = rng.unit();
                let ctx = format!("seed {seed:#x}, prec {prec}, case {case}");
                let pts = |b: &Ball| -> Vec<Float> {
                    [-1.0, 0.0, 1.0, th]
                        .iter()
                        .map(|t| Float::with_val(hp, b.mid()) + t * b.rad())
                        .collect()
                };
                let (px, py, pu, pv, pp) = (pts(&x), pts(&y), pts(&u), pts(&v), pts(&pos));
                let check = |out: &Ball, alloc: &Ball, exact: &[Float], what: &str| {
                    assert_eq!(out, alloc, "{what}: in place vs allocating ({ctx})");
                    for e in exact {
                        assert!(out.contains(e), "{what}: {out:?} misses {e} ({ctx})");
                    }
                };
                out.set_add(&x, &y);
                let ex: Vec<Float> = (0..4).map(|i| Float::with_val(hp, &px[i] + &py[i])).collect();
                check(&out, &x.add(&y), &ex, "set_add");
                out.set_sub(&x, &y);
                let ex: Vec<Float> = (0..4).map(|i| Float::with_val(hp, &px[i] - &py[i])).collect();
                check(&out, &x.sub(&y), &ex, "set_sub");
                out.set_mul(&x, &y);
                let ex: Vec<Float> = (0..4).map(|i| Float::with_val(hp, &px[i] * &py[i])).collect();
                check(&out, &x.mul(&y), &ex, "set_mul");
                out.set_mul_add_mul(&x, &y, &u, &v);
                let ex: Vec<Float> = (0..4)
                    .map(|i| Float::with_val(hp, &px[i] * &py[i]) + Float::with_val(hp, &pu[i] * &pv[i]))
                    .collect();
                check(&out, &x.mul_add_mul(&y, &u, &v), &ex, "set_mul_add_mul");
                // The vector form (hoisted |a|, |b|) gives the same balls as entry by entry.
                let lc = Ball::lin_comb(&[x.clone(), v.clone()], &y, &u, &[v.clone(), x.clone()]);
                assert_eq!(
                    lc,
                    vec![x.mul_add_mul(&y, &u, &v), v.mul_add_mul(&y, &u, &x)],
                    "lin_comb ({ctx})"
                );
                out.set_div(&x, &pos).unwrap();
                let ex: Vec<Float> = (0..4).map(|i| Float::with_val(hp, &px[i] / &pp[i])).collect();
                check(&out, &x.div(&pos).unwrap(), &ex, "set_div");
                out.set_rsqrt(&pos).unwrap();
                let ex: Vec<Float> = pp.iter().map(|p| Float::with_val(hp, p.recip_sqrt_ref())).collect();
                check(&out, &pos.rsqrt().unwrap(), &ex, "set_rsqrt");
                table.expm1_into(&u, &mut out);
                let ex: Vec<Float> = pu.iter().map(|p| Float::with_val(hp, p.exp_m1_ref())).collect();
                check(&out, &table.expm1(&u), &ex, "expm1_into");
                // φ₁ on the small arguments of the closed form (|x| ≤ ½: the in-place branch)
                // and on u (|u| ≤ 1: both branches).
                let small = Ball::with_rad(Float::with_val(prec, u.mid() / 7u32), u.rad() / 7.0);
                for z in [&small, &u] {
                    table.expm1_over_x_into(z, &mut out);
                    let ex: Vec<Float> = pts(z)
                        .iter()
                        .map(|p| {
                            if p.is_zero() {
                                Float::with_val(hp, 1)
                            } else {
                                Float::with_val(hp, p.exp_m1_ref()) / p
                            }
                        })
                        .collect();
                    check(&out, &table.expm1_over_x(z), &ex, "expm1_over_x_into");
                }
                let f = Float::with_val(prec, rng.unit().abs() * 16_777_216.0);
                let j = if case == 0 { Float::with_val(prec, 4097) } else { f };
                assert_eq!(
                    floor_small(&j),
                    j.to_u32_saturating_round(Round::Down),
                    "floor of {j} ({ctx})"
                );
            }
        }
    }

    #[test]
    fn exact_zero_gives_exact_values() {
        let t = ExpTable::new(170).unwrap();
        let z = Ball::exact(Float::with_val(170, 0));
        assert!(t.expm1(&z).is_exact_zero());
        let e = t.exp(&z);
        assert_eq!(e.mid().to_f64(), 1.0);
        assert!(e.rad() < 1e-50);
    }
}
