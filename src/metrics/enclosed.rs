//! The printed observables of `simulate` as functions of the state, written once over any
//! [`TaylorScalar`] — f64, MPFR or [`Ball`] — so that a validated enclosure of θ(t)
//! ([`crate::taylor::validated`]) gives rigorous enclosures of every quantity derived from it.
//!
//! - single neuron (P1 §3): a, w, β = a w, μ = a‖w‖, φ = wᵀb/(‖w‖‖b‖) with b = Xᵀy, and
//!   L = ½‖Xβ − y‖²;
//! - linear networks (P1 §4, App. B): β = B_0⋯B_{K−1} and L = ½‖Xβ − Y‖²_F ([`LinearJet`]);
//! - λ-balanced two-layer nets (P2 §2): W2W1, W1ᵀW1, W2W2ᵀ and L = (1/2P)Σ_n‖W2W1x_n − y_n‖².
//!
//! Singular values of a ball matrix ([`singular_values`], used by `LB-MODES`) are enclosed with
//! Ostrowski's and Weyl's inequalities (derivation in its doc); that one is ball-specific.
//!
//! Conservation drifts (δ, Δ, λ) are 0 on the exact flow, so their exact value is the exact
//! zero. The single neuron's kernel distance S(0, t) is here
//! ([`super::single_neuron::kernel_distance_of`]); the other models' kernel distances are not yet.

use crate::case::{LambdaBalancedCase, SingleNeuronCase};
use crate::num::ball::Ball;
use crate::num::decimal::Num;
use crate::taylor::TaylorScalar;
use crate::taylor::linear::LinearJet;

/// Shape of a printed quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One number.
    Scalar,
    /// A list.
    Vector,
    /// Nested rows × columns (row-major values).
    Matrix(usize, usize),
}

/// A named quantity: its JSON field name, shape and values (row-major).
#[derive(Debug, Clone)]
pub struct Quantity<S> {
    /// Field name in `simulate`'s JSON points.
    pub name: &'static str,
    /// Shape.
    pub shape: Shape,
    /// Values.
    pub values: Vec<S>,
}

fn q<S>(name: &'static str, shape: Shape, values: Vec<S>) -> Quantity<S> {
    Quantity { name, shape, values }
}

fn dot<S: TaylorScalar>(x: &[S], y: &[S]) -> S {
    let mut s = x[0].zero_like();
    let mut tmp = s.clone();
    for (a, b) in x.iter().zip(y) {
        s.mul_add_assign_tmp(a, b, &mut tmp);
    }
    s
}

/// Single neuron: a, w, beta, mu, phi, kernel_distance S(0, t) (from the case's θ0), loss,
/// delta_drift (= 0), at state θ = (a, w).
pub fn single_neuron<S: TaylorScalar>(c: &SingleNeuronCase, conv: &dyn Fn(&Num) -> S, theta: &[S]) -> Vec<Quantity<S>> {
    let a = theta[0].clone();
    let w = theta[1..].to_vec();
    let d = w.len();
    let beta: Vec<S> = w
        .iter()
        .map(|v| {
            let mut b = v.clone();
            b.mul_assign_ref(&a);
            b
        })
        .collect();
    let mut wn = dot(&w, &w);
    wn.sqrt_assign();
    let mut mu = wn.clone();
    mu.mul_assign_ref(&a);
    let x: Vec<Vec<S>> = c.x.iter().map(|r| r.iter().map(conv).collect()).collect();
    let y: Vec<S> = c.y.iter().map(conv).collect();
    let zero = a.zero_like();
    let mut b = vec![zero.clone(); d];
    let mut tmp = zero.clone();
    for (row, yi) in x.iter().zip(&y) {
        for j in 0..d {
            b[j].mul_add_assign_tmp(&row[j], yi, &mut tmp);
        }
    }
    let mut bn = dot(&b, &b);
    bn.sqrt_assign();
    let mut phi = dot(&w, &b);
    let mut den = wn;
    den.mul_assign_ref(&bn);
    phi.div_assign_ref(&den);
    let mut loss = zero.clone();
    for (row, yi) in x.iter().zip(&y) {
        let mut r = dot(row, &beta);
        r.sub_assign_ref(yi);
        loss.mul_add_assign(&r, &r);
    }
    loss.div_u32_assign(2);
    let (eta_a, eta_w) = (conv(&c.eta_a), conv(&c.eta_w));
    let mut gram = vec![zero.clone(); d * d];
    for row in &x {
        for i in 0..d {
            for j in 0..d {
                gram[i * d + j].mul_add_assign_tmp(&row[i], &row[j], &mut tmp);
            }
        }
    }
    let theta0: Vec<S> = std::iter::once(&c.a0).chain(&c.w0).map(conv).collect();
    let kd = super::single_neuron::kernel_distance_of(&eta_a, &eta_w, &gram, &theta0, theta);
    vec![
        q("a", Shape::Scalar, vec![a]),
        q("w", Shape::Vector, w),
        q("beta", Shape::Vector, beta),
        q("mu", Shape::Scalar, vec![mu]),
        q("phi", Shape::Scalar, vec![phi]),
        q("kernel_distance", Shape::Scalar, vec![kd]),
        q("loss", Shape::Scalar, vec![loss]),
        q("delta_drift", Shape::Scalar, vec![zero]),
    ]
}

/// Linear networks (two-layer or deep): beta (d×c), loss, conserved_drift (= 0).
pub fn linear<S: TaylorScalar>(jet: &LinearJet<S>, theta: &[S]) -> Vec<Quantity<S>> {
    let dims = jet.dims();
    let (d, c) = (dims[0], dims[dims.len() - 1]);
    let beta = jet.beta(theta);
    let loss = jet.loss(&beta);
    let zero = loss.zero_like();
    vec![
        q("beta", Shape::Matrix(d, c), beta),
        q("loss", Shape::Scalar, vec![loss]),
        q("conserved_drift", Shape::Scalar, vec![zero]),
    ]
}

/// The conserved matrices of a linear network (P1 App. B; `docs/theory.md` §2.6), for consecutive
/// layers l = 0 … K−2: Q_l = η_l B_{l+1}B_{l+1}ᵀ − η_{l+1} B_lᵀB_l (h_{l+1}² entries each,
/// row-major, concatenated; h_l = `dims\[l\]`), at θ laid out as in the case files: hidden
/// layers W_l = B_lᵀ (h_{l+1}×h_l), the last A = B_{K−1} (h_{K−1}×h_K), row-major. For the wide
/// two-layer net (K = 2, rates (η_w, η_a)) this is Δ = η_w AAᵀ − η_a WWᵀ.
pub fn linear_conserved<S: TaylorScalar>(dims: &[usize], etas: &[S], theta: &[S]) -> Vec<S> {
    let kk = dims.len() - 1;
    let mut offsets = vec![0usize];
    for l in 0..kk {
        offsets.push(offsets[l] + dims[l] * dims[l + 1]);
    }
    let layer = |l: usize| &theta[offsets[l]..offsets[l + 1]];
    let mut out = Vec::new();
    for l in 0..kk.saturating_sub(1) {
        let h = dims[l + 1];
        // B_{l+1}B_{l+1}ᵀ: W_{l+1}ᵀW_{l+1} for a hidden layer, AAᵀ for the last.
        let next = if l + 1 < kk - 1 {
            matmul_t(layer(l + 1), true, layer(l + 1), false, (h, dims[l + 2], h))
        } else {
            matmul_t(layer(l + 1), false, layer(l + 1), true, (h, dims[l + 2], h))
        };
        // B_lᵀB_l = W_lW_lᵀ.
        let this = matmul_t(layer(l), false, layer(l), true, (h, dims[l], h));
        for (a, b) in next.into_iter().zip(this) {
            let mut q = a;
            q.mul_assign_ref(&etas[l]);
            let mut r = b;
            r.mul_assign_ref(&etas[l + 1]);
            q.sub_assign_ref(&r);
            out.push(q);
        }
    }
    out
}

/// δ_k = η_w a_k² − η_a‖w_k‖² of every neuron of a two-layer net f(x) = Σ_k a_kσ(w_kᵀx)
/// (P1 §5; conserved through every activation switch, `docs/theory.md` §3), at θ = (W (h×d), a (h))
/// row-major, for any number type.
pub fn piecewise_deltas<S: TaylorScalar>((h, d): (usize, usize), eta_a: &S, eta_w: &S, theta: &[S]) -> Vec<S> {
    let (w, a) = theta.split_at(h * d);
    let mut tmp = eta_a.zero_like();
    (0..h)
        .map(|k| {
            let mut wn = eta_a.zero_like();
            for v in &w[k * d..(k + 1) * d] {
                wn.mul_add_assign_tmp(v, v, &mut tmp);
            }
            wn.mul_assign_ref(eta_a);
            let mut out = a[k].clone();
            out.mul_assign_ref(&a[k]);
            out.mul_assign_ref(eta_w);
            out.sub_assign_ref(&wn);
            out
        })
        .collect()
}

/// out (m×n) = op(A)·op(B) with A, B row-major, transposed when asked.
fn matmul_t<S: TaylorScalar>(a: &[S], ta: bool, b: &[S], tb: bool, (m, k, n): (usize, usize, usize)) -> Vec<S> {
    let zero = a[0].zero_like();
    let mut tmp = zero.clone();
    let mut out = vec![zero; m * n];
    for i in 0..m {
        for j in 0..n {
            let o = &mut out[i * n + j];
            for l in 0..k {
                let av = if ta { &a[l * m + i] } else { &a[i * k + l] };
                let bv = if tb { &b[j * k + l] } else { &b[l * n + j] };
                o.mul_add_assign_tmp(av, bv, &mut tmp);
            }
        }
    }
    out
}

/// λ-balanced nets: w2w1 (d_o×d_i), w1tw1 (d_i×d_i), w2w2t (d_o×d_o), loss, lambda_drift (= 0), at
/// θ = (W1 h×d_i, W2 d_o×h) row-major.
pub fn lambda_balanced<S: TaylorScalar>(
    c: &LambdaBalancedCase,
    conv: &dyn Fn(&Num) -> S,
    theta: &[S],
) -> Vec<Quantity<S>> {
    let (d_i, d_o, h) = (c.x.len(), c.y.len(), c.w1_0.len());
    let (w1, w2) = theta.split_at(h * d_i);
    let w = matmul_t(w2, false, w1, false, (d_o, h, d_i));
    let m = matmul_t(w1, true, w1, false, (d_i, h, d_i));
    let bb = matmul_t(w2, false, w2, true, (d_o, h, d_o));
    let x: Vec<Vec<S>> = c.x.iter().map(|r| r.iter().map(conv).collect()).collect();
    let y: Vec<Vec<S>> = c.y.iter().map(|r| r.iter().map(conv).collect()).collect();
    let p = x.first().map_or(0, Vec::len);
    let zero = theta[0].zero_like();
    let mut tmp = zero.clone();
    let mut loss = zero.clone();
    for n in 0..p {
        for o in 0..d_o {
            let mut r = y[o][n].clone();
            r.neg_assign();
            for j in 0..d_i {
                r.mul_add_assign_tmp(&w[o * d_i + j], &x[j][n], &mut tmp);
            }
            loss.mul_add_assign(&r, &r);
        }
    }
    loss.div_u32_assign(2 * u32::try_from(p).unwrap_or(u32::MAX / 2));
    vec![
        q("w2w1", Shape::Matrix(d_o, d_i), w),
        q("w1tw1", Shape::Matrix(d_i, d_i), m),
        q("w2w2t", Shape::Matrix(d_o, d_o), bb),
        q("loss", Shape::Scalar, vec![loss]),
        q("lambda_drift", Shape::Scalar, vec![zero]),
    ]
}

/// QQᵀ of a λ-balanced net (P2 §4: Q = [W1ᵀ; W2], the matrix whose Riccati flow the closed form
/// solves) at θ = (W1 (h×d_i), W2 (d_o×h)), both row-major: (d_i + d_o)² entries, row-major.
pub fn lambda_balanced_qqt<S: TaylorScalar>((d_i, h, d_o): (usize, usize, usize), theta: &[S]) -> Vec<S> {
    let (w1, w2) = theta.split_at(h * d_i);
    let n = d_i + d_o;
    let q: Vec<S> = (0..n)
        .flat_map(|i| (0..h).map(move |a| (i, a)))
        .map(|(i, a)| {
            if i < d_i {
                w1[a * d_i + i].clone()
            } else {
                w2[(i - d_i) * h + a].clone()
            }
        })
        .collect();
    matmul_t(&q, false, &q, true, (n, h, n))
}

/// The balance matrix W2ᵀW2 − W1W1ᵀ (h×h, row-major) of a λ-balanced net at θ (layout of
/// [`lambda_balanced_qqt`]): conserved by the gradient flow, = λI for a λ-balanced init (P2 §2).
pub fn lambda_balanced_balance<S: TaylorScalar>((d_i, h, d_o): (usize, usize, usize), theta: &[S]) -> Vec<S> {
    let (w1, w2) = theta.split_at(h * d_i);
    let mut out = matmul_t(w2, true, w2, false, (h, d_o, h));
    for (o, m) in out.iter_mut().zip(matmul_t(w1, false, w1, true, (h, d_i, h))) {
        o.sub_assign_ref(&m);
    }
    out
}

/// Two-layer piecewise-linear nets: loss, delta_drift (= 0: δ_k is conserved through every
/// switch), w (h·d, row-major), a (h), at θ = (W, a); `loss_c` is c of L = c·Σ(f − y)². The
/// activation of each pre-activation is read from its proven sign (σ(z) = z for z > 0, γz for
/// z < 0); an undecided sign gives a non-finite loss (no value is claimed for it).
pub fn piecewise_linear<S: TaylorScalar>(
    c: &crate::case::PiecewiseLinearCase,
    conv: &dyn Fn(&Num) -> S,
    theta: &[S],
    loss_c: S,
) -> Vec<Quantity<S>> {
    let (h, d, n) = (c.a0.len(), c.x.first().map_or(0, Vec::len), c.x.len());
    let x: Vec<S> = c.x.iter().flatten().map(conv).collect();
    let gamma = conv(&c.gamma);
    let z = crate::taylor::piecewise_linear::preactivations(theta, &x, (h, d, n));
    let zero = theta[0].zero_like();
    let mut tmp = zero.clone();
    let mut loss = zero.clone();
    for (i, yi) in c.y.iter().enumerate() {
        let mut r = conv(yi);
        r.neg_assign();
        for k in 0..h {
            let zk = &z[k * n + i];
            let mut s = if zk.sign_is(true) {
                zk.clone()
            } else if zk.sign_is(false) {
                let mut v = zk.clone();
                v.mul_assign_ref(&gamma);
                v
            } else {
                zero.like_f64(f64::INFINITY)
            };
            s.mul_assign_ref(&theta[h * d + k]);
            r.add_assign_ref(&s);
        }
        loss.mul_add_assign_tmp(&r, &r, &mut tmp);
    }
    loss.mul_assign_ref(&loss_c);
    vec![
        q("loss", Shape::Scalar, vec![loss]),
        q("delta_drift", Shape::Scalar, vec![zero]),
        q("w", Shape::Vector, theta[..h * d].to_vec()),
        q("a", Shape::Vector, theta[h * d..].to_vec()),
    ]
}

/// W2W1 (d_o×d_i, row-major) of a λ-balanced net at θ (layout of [`lambda_balanced_qqt`]).
pub fn lambda_balanced_w2w1<S: TaylorScalar>((d_i, h, d_o): (usize, usize, usize), theta: &[S]) -> Vec<S> {
    let (w1, w2) = theta.split_at(h * d_i);
    matmul_t(w2, false, w1, false, (d_o, h, d_i))
}

/// Proven enclosures of the min(m, n) largest singular values σ_1 ≥ σ_2 ≥ … of every matrix in
/// the ball matrix `a` (m×n, row-major), at the balls' precision.
///
/// Derivation. Pad A with zeros to the k×k matrix Ã, k = max(m, n) (same nonzero singular values,
/// σ_i(Ã) = σ_i(A) for i ≤ min(m, n)). Let Ã_mid ≈ U Σ Vᵀ be a binary64 SVD of the midpoints
/// (U, V k×k, only nearly orthogonal), e_U ≥ ‖UᵀU − I‖_F and e_V ≥ ‖VᵀV − I‖_F computed in balls
/// and rounded up, both < 1. Then ‖U‖₂² = λ_max(UᵀU) ≤ 1 + e_U and σ_min(U)² ≥ 1 − e_U.
/// 1. B = UᵀÃV in balls. Split B = D + E with D the diagonal of the midpoints mid(B_ii) (exact
///    numbers) and E the rest (off-diagonal entries and the diagonal radii):
///    ‖E‖₂ ≤ ‖E‖_F ≤ e := (Σ_{i≠j} mag(B_ij)² + Σ_i rad(B_ii)²)^{1/2}, rounded up. The singular
///    values of D are the |mid(B_ii)| sorted, d_1 ≥ d_2 ≥ …, and Weyl's inequality for singular
///    values, |σ_i(D + E) − σ_i(D)| ≤ ‖E‖₂, gives σ_i(B) ∈ \[d_i − e, d_i + e\] for every B in
///    the ball matrix.
/// 2. Ostrowski-type bounds (Horn & Johnson, *Topics in Matrix Analysis*, §3.3:
///    σ_{i+j−1}(XM) ≤ σ_i(X)σ_j(M), with i = 1 and then j = 1 on the other side, gives
///    σ_i(XMY) ≤ ‖X‖₂σ_i(M)‖Y‖₂): σ_i(B) = σ_i(UᵀÃV) ≤ ‖U‖₂‖V‖₂σ_i(Ã) and
///    σ_i(Ã) = σ_i(U⁻ᵀBV⁻¹) ≤ ‖U⁻¹‖₂‖V⁻¹‖₂σ_i(B), with ‖U⁻¹‖₂ = 1/σ_min(U). Hence
///    σ_i(A) ∈ \[(d_i − e)₊ / √((1 + e_U)(1 + e_V)), (d_i + e) / √((1 − e_U)(1 − e_V))\],
///    evaluated in ball arithmetic (outward rounding).
///
/// The width is ≈ 2(e + d_i(e_U + e_V)/2): binary64 rounding of the SVD (≈ 1e-15 relative) plus
/// the radii of `a`.
///
/// # Errors
/// A message when a midpoint is not finite, the SVD fails, or U or V is too far from orthogonal
/// (e_U or e_V ≥ 1/2).
#[allow(clippy::needless_range_loop)] // index notation mirrors UᵀÃV and UᵀU − I
pub fn singular_values(a: &[Ball], (m, n): (usize, usize)) -> Result<Vec<Ball>, String> {
    if a.len() != m * n || m == 0 || n == 0 {
        return Err(format!("singular values: {} entries for a {m}×{n} matrix", a.len()));
    }
    // At least 128 bits, so that the rounding of UᵀU − I and UᵀÃV stays far below their size
    // (≈ 1e-16) whatever the precision of `a`.
    let prec = a.iter().map(Ball::prec).max().unwrap_or(128).max(128);
    let k = m.max(n);
    let zero = Ball::from_f64(prec, 0.0);
    let at = |i: usize, j: usize| if i < m && j < n { &a[i * n + j] } else { &zero };
    if !a.iter().all(Ball::is_finite) {
        return Err("singular values: a matrix entry is not finite".into());
    }
    let mid = nalgebra::DMatrix::<f64>::from_fn(k, k, |i, j| at(i, j).mid().to_f64());
    let svd = nalgebra::linalg::SVD::try_new(mid, true, true, f64::EPSILON, 10_000)
        .ok_or("singular values: the binary64 SVD of the midpoints did not converge")?;
    let (u, vt) = match (svd.u, svd.v_t) {
        (Some(u), Some(vt)) if u.ncols() == k && vt.nrows() == k => (u, vt),
        _ => return Err("singular values: the SVD returned no square U, V".into()),
    };
    let ball = |x: f64| Ball::from_f64(prec, x);
    // √ of an upper bound of a sum of squares (whose ball may reach below 0 by rounding), rounded up.
    let sqrt_up = |sum: &Ball| -> Result<f64, String> {
        ball(sum.mag_up())
            .sqrt()
            .map(|x| x.mag_up())
            .map_err(|e| format!("singular values: {e}"))
    };
    // u_b[i][j] = U_ij, v_b[i][j] = V_ij = (Vᵀ)_ji, exact.
    let u_b: Vec<Vec<Ball>> = (0..k).map(|i| (0..k).map(|j| ball(u[(i, j)])).collect()).collect();
    let v_b: Vec<Vec<Ball>> = (0..k).map(|i| (0..k).map(|j| ball(vt[(j, i)])).collect()).collect();
    // e_M ≥ ‖MᵀM − I‖_F for M = U, V.
    let orth_defect = |mm: &[Vec<Ball>]| -> Result<f64, String> {
        let mut s = ball(0.0);
        for i in 0..k {
            for j in 0..k {
                let mut g = if i == j { ball(-1.0) } else { ball(0.0) };
                for r in mm {
                    g.add_assign(&r[i].mul(&r[j]));
                }
                s.add_assign(&g.sqr());
            }
        }
        sqrt_up(&s)
    };
    let (e_u, e_v) = (orth_defect(&u_b)?, orth_defect(&v_b)?);
    if !(e_u < 0.5 && e_v < 0.5) {
        return Err(format!(
            "singular values: the SVD's U, V are not nearly orthogonal (‖UᵀU − I‖_F ≤ {e_u:e}, ‖VᵀV − I‖_F ≤ {e_v:e})"
        ));
    }
    // B = Uᵀ Ã V.
    let mut av = vec![vec![ball(0.0); k]; k];
    for i in 0..k {
        for j in 0..k {
            for l in 0..k {
                // The 128-bit factor first: the product is rounded at its precision.
                av[i][j].add_assign(&v_b[l][j].mul(at(i, l)));
            }
        }
    }
    let mut e2 = ball(0.0);
    let mut d: Vec<rug::Float> = Vec::with_capacity(k);
    for i in 0..k {
        for j in 0..k {
            let mut b = ball(0.0);
            for l in 0..k {
                b.add_assign(&u_b[l][i].mul(&av[l][j]));
            }
            if i == j {
                d.push(rug::Float::with_val(prec, b.mid().abs_ref()));
                e2.add_assign(&ball(b.rad()).sqr());
            } else {
                e2.add_assign(&ball(b.mag_up()).sqr());
            }
        }
    }
    let e = sqrt_up(&e2)?;
    d.sort_by(|x, y| y.total_cmp(x));
    let one = ball(1.0);
    let grow = one.add(&ball(e_u)).mul(&one.add(&ball(e_v))).sqrt();
    let shrink = one.sub(&ball(e_u)).mul(&one.sub(&ball(e_v))).sqrt();
    let (grow, shrink) = match (grow, shrink) {
        (Ok(g), Ok(s)) => (g, s),
        _ => return Err("singular values: orthogonality factors out of range".into()),
    };
    let zero_f = rug::Float::new(prec);
    d.iter()
        .take(m.min(n))
        .map(|di| {
            let di = Ball::exact(di.clone());
            let lo = di
                .sub(&ball(e))
                .div(&grow)
                .map_err(|e| format!("singular values: {e}"))?
                .lo()
                .max(&zero_f);
            let hi = di
                .add(&ball(e))
                .div(&shrink)
                .map_err(|e| format!("singular values: {e}"))?
                .hi();
            if !(lo.is_finite() && hi.is_finite()) {
                return Err("singular values: an enclosure is not finite".into());
            }
            Ok(Ball::from_endpoints(prec, &lo, &hi))
        })
        .collect()
}
