//! Data and initialisations for the two-layer ReLU teacher–student experiment (P1 Fig. 1) and
//! the XOR-like task (P1 Fig. 5), in f64, with no I/O.
//!
//! **Student initialisation** (P1 App. D.1, `docs/theory.md` §3.2). For a scale τ > 0 and a
//! conserved quantity δ (learning rates η_a = η_w = 1), every hidden neuron starts with
//!
//! ```text
//!     w_i = (τ/α) u_i,   u_i ~ Unif(S^{d−1}),   a_i = ±α τ,   δ_i = a_i² − ‖w_i‖² = τ²(α² − α⁻²) = δ,
//! ```
//!
//! with the *paper's* α, α² = (r + √(r² + 4))/2, r = δ/τ² (the seed code's `get_alpha` returns
//! 1/α: it scales w by τ·α_code). The initialisation is **symmetrised** (seed code
//! `symmetrize=True`): h/2 directions are drawn, and each is used by a pair of neurons with equal
//! w and opposite a. Pairs are adjacent (neurons 2j and 2j+1), so the network output
//! f(x; θ0) = Σ_i a_i σ(w_iᵀx) is exactly 0 for every x when the sum is accumulated in index
//! order: the partial sums after each pair are exactly 0 (x − x = 0 in IEEE arithmetic).
//!
//! **Teacher** (P1 Fig. 1, seed code `utils.py`): k = 3 ReLU neurons, no bias, f*(x) =
//! Σ_j a*_j max(0, w*_jᵀx) with w*_j a normalised Gaussian vector (uniform on S^{d−1}) and
//! a*_j = sign(N(0, 1)) = ±1. Inputs x ~ Unif(S^{d−1}); labels are noiseless; the test set is a
//! fresh draw from the same distribution.
//!
//! **XOR-like task** (P1 Fig. 5). The paper describes it only as "XOR-like" with 2-D inputs
//! (`docs/theory.md` §3.2: the dataset was not found in any source), so lazyrich defines it: point i
//! belongs to cluster c = i mod 4 with centre μ_c ∈ {(1, 1), (−1, −1), (1, −1), (−1, 1)}/√2,
//! x_i = μ_c + s·ε_i with ε_i ~ N(0, I₂) and noise level s (default 0.15), and label y_i = +1 for
//! the first two clusters (x₁x₂ > 0 at the centre) and −1 for the last two. The target
//! sign(x₁x₂) on the centres is exactly representable by four bias-free ReLU neurons
//! (½[σ(x₁+x₂) + σ(−x₁−x₂) − σ(x₁−x₂) − σ(x₂−x₁)]·√2 takes ±1 there), so a bias-free network
//! can fit it, but only by moving its hidden directions to the diagonals: a task that needs rich
//! (feature-learning) dynamics from a random start.
//!
//! **Seeds.** One seed fixes the teacher, the training inputs, the test inputs and the student's
//! base directions (as in the seed code, where one seed is shared by the whole (τ, δ) grid).
//! Each comes from its own ChaCha8 stream, so changing n does not change the teacher.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Errors from building data or initialisations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TeacherStudentError {
    /// A size is not allowed.
    #[error("{what} = {value} is not allowed: {why}")]
    BadSize {
        /// Which size.
        what: &'static str,
        /// The value.
        value: usize,
        /// What is required.
        why: &'static str,
    },
    /// A scale or noise level is not a finite number in range.
    #[error("{what} = {value} is not allowed: {why}")]
    BadValue {
        /// Which value.
        what: &'static str,
        /// The value.
        value: f64,
        /// What is required.
        why: &'static str,
    },
}

/// ChaCha8 stream of the teacher.
const STREAM_TEACHER: u64 = 1;
/// ChaCha8 stream of the training inputs.
const STREAM_TRAIN: u64 = 2;
/// ChaCha8 stream of the test inputs.
const STREAM_TEST: u64 = 3;
/// ChaCha8 stream of the student's base directions.
const STREAM_STUDENT: u64 = 4;

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// `n` points uniform on the unit sphere S^{d−1} (normalised Gaussians), row-major `n × d`.
fn unit_sphere(rng: &mut ChaCha8Rng, n: usize, d: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n * d);
    for _ in 0..n {
        // A Gaussian vector is zero with probability 0; redraw in that (measure-zero) case.
        loop {
            let v: Vec<f64> = (0..d).map(|_| StandardNormal.sample(rng)).collect();
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                out.extend(v.iter().map(|x| x / norm));
                break;
            }
        }
    }
    out
}

fn positive_size(what: &'static str, value: usize) -> Result<usize, TeacherStudentError> {
    if value == 0 {
        Err(TeacherStudentError::BadSize {
            what,
            value,
            why: "it must be at least 1",
        })
    } else {
        Ok(value)
    }
}

/// The teacher network f*(x) = Σ_j a_j max(0, w_jᵀx).
#[derive(Debug, Clone, PartialEq)]
pub struct Teacher {
    /// Input dimension d.
    pub d: usize,
    /// Hidden weights, row-major `k × d`, each row of unit norm.
    pub w: Vec<f64>,
    /// Output weights a_j ∈ {−1, +1}.
    pub a: Vec<f64>,
}

impl Teacher {
    /// The seeded random teacher with `k` neurons in dimension `d` (module doc).
    ///
    /// # Errors
    /// [`TeacherStudentError::BadSize`] if `d` or `k` is 0.
    pub fn random(seed: u64, d: usize, k: usize) -> Result<Self, TeacherStudentError> {
        positive_size("d", d)?;
        positive_size("teacher width k", k)?;
        let mut r = rng(seed, STREAM_TEACHER);
        let w = unit_sphere(&mut r, k, d);
        let a = (0..k)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut r);
                if z >= 0.0 { 1.0 } else { -1.0 }
            })
            .collect();
        Ok(Teacher { d, w, a })
    }

    /// f*(x) for one input of length d (summed in neuron order).
    pub fn eval(&self, x: &[f64]) -> f64 {
        self.a
            .iter()
            .zip(self.w.chunks_exact(self.d))
            .map(|(a, w)| a * w.iter().zip(x).map(|(u, v)| u * v).sum::<f64>().max(0.0))
            .sum()
    }
}

/// A regression data set with a fresh test set.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Input dimension.
    pub d: usize,
    /// Training inputs, row-major `n × d`.
    pub x_train: Vec<f64>,
    /// Training labels (length n).
    pub y_train: Vec<f64>,
    /// Test inputs, row-major `n_test × d`.
    pub x_test: Vec<f64>,
    /// Test labels (length n_test).
    pub y_test: Vec<f64>,
}

impl Dataset {
    /// Number of training points.
    pub fn n(&self) -> usize {
        self.y_train.len()
    }
    /// Number of test points.
    pub fn n_test(&self) -> usize {
        self.y_test.len()
    }
}

/// Teacher–student data (module doc): the teacher of `seed`, `n` training and `n_test` test
/// inputs on S^{d−1}, noiseless labels.
///
/// # Errors
/// [`TeacherStudentError::BadSize`] if a size is 0.
pub fn teacher_student_data(
    seed: u64,
    d: usize,
    k: usize,
    n: usize,
    n_test: usize,
) -> Result<(Teacher, Dataset), TeacherStudentError> {
    let teacher = Teacher::random(seed, d, k)?;
    positive_size("n", n)?;
    positive_size("n_test", n_test)?;
    let x_train = unit_sphere(&mut rng(seed, STREAM_TRAIN), n, d);
    let x_test = unit_sphere(&mut rng(seed, STREAM_TEST), n_test, d);
    let label = |x: &[f64]| -> Vec<f64> { x.chunks_exact(d).map(|p| teacher.eval(p)).collect() };
    let data = Dataset {
        d,
        y_train: label(&x_train),
        y_test: label(&x_test),
        x_train,
        x_test,
    };
    Ok((teacher, data))
}

/// Default noise level s of the XOR-like clusters.
pub const XOR_DEFAULT_NOISE: f64 = 0.15;

fn xor_points(rng: &mut ChaCha8Rng, n: usize, noise: f64) -> (Vec<f64>, Vec<f64>) {
    let c = std::f64::consts::FRAC_1_SQRT_2;
    let centres = [(c, c, 1.0), (-c, -c, 1.0), (c, -c, -1.0), (-c, c, -1.0)];
    let mut x = Vec::with_capacity(2 * n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let (m1, m2, label) = centres[i % 4];
        let e1: f64 = StandardNormal.sample(rng);
        let e2: f64 = StandardNormal.sample(rng);
        x.push(m1 + noise * e1);
        x.push(m2 + noise * e2);
        y.push(label);
    }
    (x, y)
}

/// The XOR-like data set (module doc): `n` training and `n_test` test points, d = 2.
///
/// # Errors
/// [`TeacherStudentError`] if a size is 0 or `noise` is negative or not finite.
pub fn xor_data(seed: u64, n: usize, n_test: usize, noise: f64) -> Result<Dataset, TeacherStudentError> {
    positive_size("n", n)?;
    positive_size("n_test", n_test)?;
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(TeacherStudentError::BadValue {
            what: "xor noise",
            value: noise,
            why: "it must be a finite number ≥ 0 (e.g. 0.15)",
        });
    }
    let (x_train, y_train) = xor_points(&mut rng(seed, STREAM_TRAIN), n, noise);
    let (x_test, y_test) = xor_points(&mut rng(seed, STREAM_TEST), n_test, noise);
    Ok(Dataset {
        d: 2,
        x_train,
        y_train,
        x_test,
        y_test,
    })
}

/// The paper's α for scale τ and conserved quantity δ: the positive root of
/// τ²(α² − α⁻²) = δ, α² = (r + √(r² + 4))/2 with r = δ/τ² (written as 2/(√(r² + 4) − r) for
/// r < 0 to avoid cancellation). The seed code's α is 1/α.
///
/// # Errors
/// [`TeacherStudentError::BadValue`] if τ ≤ 0 or τ, δ is not finite.
pub fn alpha_from_delta(tau: f64, delta: f64) -> Result<f64, TeacherStudentError> {
    if !(tau.is_finite() && tau > 0.0) {
        return Err(TeacherStudentError::BadValue {
            what: "tau",
            value: tau,
            why: "the initial scale τ must be a finite number > 0",
        });
    }
    if !delta.is_finite() {
        return Err(TeacherStudentError::BadValue {
            what: "delta",
            value: delta,
            why: "δ must be finite",
        });
    }
    let r = delta / (tau * tau);
    let disc = r.hypot(2.0);
    let alpha2 = if r >= 0.0 { (r + disc) / 2.0 } else { 2.0 / (disc - r) };
    Ok(alpha2.sqrt())
}

/// The student's base directions for `seed`: h/2 unit vectors in R^d, row-major.
///
/// # Errors
/// [`TeacherStudentError::BadSize`] if `h` is odd or 0, or `d` is 0.
pub fn base_directions(seed: u64, h: usize, d: usize) -> Result<Vec<f64>, TeacherStudentError> {
    positive_size("d", d)?;
    if h == 0 || h % 2 == 1 {
        return Err(TeacherStudentError::BadSize {
            what: "h",
            value: h,
            why: "the symmetrised initialisation pairs neurons, so the width must be even and ≥ 2",
        });
    }
    Ok(unit_sphere(&mut rng(seed, STREAM_STUDENT), h / 2, d))
}

/// A student initialisation: hidden weights `w` (row-major `h × d`) and output weights `a`.
#[derive(Debug, Clone, PartialEq)]
pub struct StudentInit {
    /// Hidden weights, row-major `h × d`.
    pub w: Vec<f64>,
    /// Output weights (length h).
    pub a: Vec<f64>,
    /// The paper's α used.
    pub alpha: f64,
}

/// The symmetrised initialisation (module doc) from base directions `dirs` (row-major
/// `(h/2) × d`, unit rows): neurons 2j and 2j+1 share w = (τ/α)u_j and carry a = +ατ and −ατ.
///
/// # Errors
/// [`TeacherStudentError`] if τ ≤ 0, a value is not finite, or `dirs` is empty or not a multiple
/// of `d` long.
pub fn symmetrised_init(dirs: &[f64], d: usize, tau: f64, delta: f64) -> Result<StudentInit, TeacherStudentError> {
    positive_size("d", d)?;
    if dirs.is_empty() || dirs.len() % d != 0 {
        return Err(TeacherStudentError::BadSize {
            what: "length of the base directions",
            value: dirs.len(),
            why: "it must be a positive multiple of d",
        });
    }
    let alpha = alpha_from_delta(tau, delta)?;
    let (a_mag, w_scale) = (alpha * tau, tau / alpha);
    let mut w = Vec::with_capacity(2 * dirs.len());
    let mut a = Vec::with_capacity(2 * dirs.len() / d);
    for u in dirs.chunks_exact(d) {
        for sign in [1.0, -1.0] {
            w.extend(u.iter().map(|v| w_scale * v));
            a.push(sign * a_mag);
        }
    }
    Ok(StudentInit { w, a, alpha })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f(x) = Σ_i a_i max(0, w_iᵀx), summed in index order.
    fn student(init: &StudentInit, d: usize, x: &[f64]) -> f64 {
        init.a
            .iter()
            .zip(init.w.chunks_exact(d))
            .map(|(a, w)| a * w.iter().zip(x).map(|(u, v)| u * v).sum::<f64>().max(0.0))
            .sum()
    }

    #[test]
    fn symmetrised_init_gives_exactly_zero_output_and_the_requested_delta() {
        let (d, h) = (7, 12);
        let dirs = base_directions(3, h, d).unwrap();
        let (_, data) = teacher_student_data(3, d, 3, 50, 10).unwrap();
        for (tau, delta) in [
            (0.1, 0.0),
            (2.0, 0.0),
            (0.1, 0.9999),
            (0.1, -0.9999),
            (1.3, -40.0),
            (0.5, 7.0),
        ] {
            let init = symmetrised_init(&dirs, d, tau, delta).unwrap();
            assert_eq!(init.a.len(), h);
            for x in data.x_train.chunks_exact(d) {
                assert_eq!(student(&init, d, x), 0.0, "τ = {tau}, δ = {delta}");
            }
            for (a, w) in init.a.iter().zip(init.w.chunks_exact(d)) {
                let got = a * a - w.iter().map(|v| v * v).sum::<f64>();
                // a², ‖w‖² each carry a few ulps of τ²·max(α², α⁻²); the difference is δ.
                let scale = tau * tau * (init.alpha.powi(2) + init.alpha.powi(-2));
                assert!((got - delta).abs() <= 8.0 * f64::EPSILON * scale, "{got} vs {delta}");
            }
        }
    }

    #[test]
    fn alpha_matches_the_seed_code_reciprocal() {
        // Seed code: α_c = √((√(4 + (δ/τ²)²) − δ/τ²)/2) and α_paper = 1/α_c.
        for (tau, delta) in [(0.1, 0.9999), (0.1, -0.9999), (2.0, 0.0), (1.0, 3.0)] {
            let r: f64 = delta / (tau * tau);
            let alpha_code = (((4.0 + r * r).sqrt() - r) / 2.0).sqrt();
            let alpha = alpha_from_delta(tau, delta).unwrap();
            assert!((alpha * alpha_code - 1.0).abs() < 1e-12, "{alpha} · {alpha_code}");
        }
        // (τ, α_code) = (0.1, 0.1) is Fig. 1a's δ = τ²(1/α_c² − α_c²) = 0.9999.
        assert!((alpha_from_delta(0.1, 0.01 * (100.0 - 0.01)).unwrap() - 10.0).abs() < 1e-12);
        assert!(alpha_from_delta(0.0, 1.0).is_err() && alpha_from_delta(1.0, f64::NAN).is_err());
    }

    #[test]
    fn teacher_and_data_are_seeded_and_on_the_sphere() {
        let (t1, d1) = teacher_student_data(100, 5, 3, 20, 30).unwrap();
        let (t2, d2) = teacher_student_data(100, 5, 3, 40, 30).unwrap();
        assert_eq!(t1, t2, "the teacher does not depend on n");
        assert_eq!(d1.x_test, d2.x_test, "the test set does not depend on n");
        assert_eq!(
            d1.x_train[..],
            d2.x_train[..100],
            "a longer training set extends the shorter"
        );
        for row in d1.x_train.chunks_exact(5).chain(t1.w.chunks_exact(5)) {
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 4.0 * f64::EPSILON);
        }
        assert!(t1.a.iter().all(|a| *a == 1.0 || *a == -1.0));
        assert_ne!(teacher_student_data(101, 5, 3, 20, 30).unwrap().0, t1);
    }

    #[test]
    fn xor_clusters_are_balanced_and_labelled_by_quadrant_parity() {
        let data = xor_data(7, 400, 40, 0.1).unwrap();
        let mut agree = 0;
        for (x, y) in data.x_train.chunks_exact(2).zip(&data.y_train) {
            if (x[0] * x[1]).signum() == *y {
                agree += 1;
            }
        }
        // With s = 0.1 a point leaves its quadrant with probability ≈ 2Φ(−0.707/0.1) ≈ 1.6e-12.
        assert_eq!(agree, 400);
        assert_eq!(data.y_train.iter().sum::<f64>(), 0.0);
        assert!(xor_data(7, 0, 1, 0.1).is_err() && xor_data(7, 4, 4, -1.0).is_err());
    }

    #[test]
    fn bad_sizes_are_rejected() {
        assert!(base_directions(1, 5, 2).is_err());
        assert!(base_directions(1, 0, 2).is_err());
        assert!(teacher_student_data(1, 0, 3, 5, 5).is_err());
        assert!(symmetrised_init(&[1.0, 0.0, 0.0], 2, 1.0, 0.0).is_err());
    }
}
