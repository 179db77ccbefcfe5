//! Small box-constrained linear complementarity problems (a mixed LCP with box [lo, hi]).
//!
//! Given M ∈ R^{m×m} (row-major), q ∈ R^m and lo < hi, find c ∈ [lo, hi]^m such that
//! w = M c + q satisfies, for every i,
//!
//! - c_i = lo ⇒ w_i ≥ 0 ([`BoxMode::Lower`]),
//! - c_i = hi ⇒ w_i ≤ 0 ([`BoxMode::Upper`]),
//! - lo ≤ c_i ≤ hi and w_i = 0 ([`BoxMode::Free`]).
//!
//! For a P-matrix M (every principal minor positive) the solution exists and is unique for every
//! q (Samelson–Thrall–Wesler; for the box form, Cottle–Pang–Stone, *The Linear Complementarity
//! Problem*, §3.3). It is the choice of sliding set of `models::piecewise_linear::FrozenPatternFlow`
//! (there M = sgn(a_k)·G·diag(g) with G the Gram matrix of the on-surface samples).
//!
//! - **P-matrix** (the caller knows it): least-index single principal pivoting (Murty's rule,
//!   carried over to the box: the lowest-index violated condition moves between Lower, Upper and
//!   Free), each step an exact Gaussian-elimination solve of the free block; the comparisons are
//!   exact (no tolerance), so the returned modes satisfy the sign conditions as computed. The
//!   number of steps is capped ([`BoxLcp::solve`]); past the cap (a cycle on a nearly degenerate
//!   problem) the exhaustive search below runs instead.
//! - **Otherwise**: all 3^m mode assignments are tried (m ≤ [`MAX_ENUMERATION`]); the solution
//!   must be unique (distinct solutions c are an error: the Filippov motion is not unique).
//!   Solutions that differ only in the label of a degenerate entry (c_i at a bound with w_i = 0)
//!   are the same c and count once; the one with fewer free entries is kept.
//!
//! Buffers are reused between calls (no allocation once they have grown to m).

/// Label of one unknown in the solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoxMode {
    /// c_i = lo, w_i ≥ 0.
    Lower,
    /// c_i = hi, w_i ≤ 0.
    Upper,
    /// lo ≤ c_i ≤ hi, w_i = 0.
    Free,
}

/// Why a box LCP has no usable solution.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BoxLcpError {
    /// A principal block that must be solved is singular to working precision.
    #[error("a principal block of the complementarity matrix is singular (pivot {pivot:.2e})")]
    Singular {
        /// The failed pivot.
        pivot: f64,
    },
    /// More than one distinct solution (M is not a P-matrix).
    #[error("the complementarity problem has {solutions} distinct solutions (its matrix is not a P-matrix)")]
    NotUnique {
        /// Distinct solutions found.
        solutions: usize,
    },
    /// No mode assignment is consistent.
    #[error("the complementarity problem has no solution")]
    NoSolution,
    /// Too many unknowns for the exhaustive search of a non-P-matrix problem.
    #[error("{m} unknowns: exhaustive search is limited to {MAX_ENUMERATION}")]
    TooLarge {
        /// Unknowns.
        m: usize,
    },
}

/// Largest m for the exhaustive search (3^10 = 59049 assignments of ≤ 10×10 solves).
pub const MAX_ENUMERATION: usize = 10;

/// Relative tolerance of the exhaustive search's second pass (used only when no assignment
/// satisfies the conditions exactly, i.e. a degenerate solution lost to rounding): 1e-12 of the
/// size of the terms, ~10⁴ ulp.
const DEGENERATE_TOL: f64 = 1e-12;

/// Two solutions are the same when their c differ by less than this (relative to 1 + |c|): far
/// above the rounding of an m ≤ 10 solve, far below any genuine difference.
const SAME_SOLUTION: f64 = 1e-8;

/// Solver state and reusable buffers.
#[derive(Debug, Clone, Default)]
pub struct BoxLcp {
    modes: Vec<BoxMode>,
    c: Vec<f64>,
    w: Vec<f64>,
    a: Vec<f64>,
    rhs: Vec<f64>,
    free: Vec<usize>,
    best_modes: Vec<BoxMode>,
    best_c: Vec<f64>,
}

impl BoxLcp {
    /// An empty solver.
    pub fn new() -> Self {
        Self::default()
    }

    /// The solution's modes (length m of the last successful [`Self::solve`]).
    pub fn modes(&self) -> &[BoxMode] {
        &self.modes
    }
    /// The solution c.
    pub fn c(&self) -> &[f64] {
        &self.c
    }
    /// w = M c + q at the solution.
    pub fn w(&self) -> &[f64] {
        &self.w
    }

    /// Solve the problem of the module doc. `mat` is m×m row-major, `q` has length m, `start`
    /// (length m) is the first guess of the modes for the pivoting. `p_matrix` must be true only
    /// when M is known to be a P-matrix (then the pivoting's answer is the unique solution);
    /// otherwise the exhaustive search decides existence and uniqueness.
    ///
    /// # Errors
    /// [`BoxLcpError`]: a singular block, several or no solutions, or m too large for the
    /// exhaustive search.
    #[allow(clippy::too_many_arguments)]
    pub fn solve(
        &mut self,
        m: usize,
        mat: &[f64],
        q: &[f64],
        lo: f64,
        hi: f64,
        p_matrix: bool,
        start: &[BoxMode],
    ) -> Result<(), BoxLcpError> {
        self.modes.clear();
        self.modes.extend_from_slice(&start[..m]);
        self.c.resize(m, 0.0);
        self.w.resize(m, 0.0);
        self.a.resize(m * m, 0.0);
        self.rhs.resize(m, 0.0);
        self.free.resize(m, 0);
        if m == 0 {
            return Ok(());
        }
        if p_matrix {
            // Murty's least-index rule needs at most 2^m block solves on a P-matrix in exact
            // arithmetic; rounding on a degenerate problem can make it cycle, hence the cap.
            let cap = (1usize << m.min(16)) + 4 * m;
            for _ in 0..cap {
                if self.evaluate(m, mat, q, lo, hi).is_err() {
                    break;
                }
                let viol = (0..m).find_map(|i| {
                    let (c, w) = (self.c[i], self.w[i]);
                    match self.modes[i] {
                        BoxMode::Free if c < lo => Some((i, BoxMode::Lower)),
                        BoxMode::Free if c > hi => Some((i, BoxMode::Upper)),
                        BoxMode::Lower if w < 0.0 => Some((i, BoxMode::Free)),
                        BoxMode::Upper if w > 0.0 => Some((i, BoxMode::Free)),
                        _ => None,
                    }
                });
                match viol {
                    None => return Ok(()),
                    Some((i, mode)) => self.modes[i] = mode,
                }
            }
        }
        self.enumerate(m, mat, q, lo, hi)
    }

    /// c and w for the current modes (free block solved exactly). `Err(pivot)` when singular.
    fn evaluate(&mut self, m: usize, mat: &[f64], q: &[f64], lo: f64, hi: f64) -> Result<(), f64> {
        let mut nf = 0;
        for i in 0..m {
            match self.modes[i] {
                BoxMode::Lower => self.c[i] = lo,
                BoxMode::Upper => self.c[i] = hi,
                BoxMode::Free => {
                    self.free[nf] = i;
                    nf += 1;
                }
            }
        }
        if nf > 0 {
            let mut amax: f64 = 0.0;
            for r in 0..nf {
                let i = self.free[r];
                let mut acc = q[i];
                for j in 0..m {
                    if self.modes[j] != BoxMode::Free {
                        acc += mat[i * m + j] * self.c[j];
                    }
                }
                self.rhs[r] = -acc;
                for s in 0..nf {
                    let v = mat[i * m + self.free[s]];
                    self.a[r * nf + s] = v;
                    amax = amax.max(v.abs());
                }
            }
            gauss_solve(&mut self.a[..nf * nf], &mut self.rhs[..nf], nf, amax)?;
            for r in 0..nf {
                self.c[self.free[r]] = self.rhs[r];
            }
        }
        for i in 0..m {
            self.w[i] = q[i] + (0..m).map(|j| mat[i * m + j] * self.c[j]).sum::<f64>();
        }
        Ok(())
    }

    /// Whether the current (c, w, modes) satisfy the conditions within `tol_c` on c and
    /// `tol_w`·scale_i on w_i (both 0: exactly).
    fn consistent(&self, m: usize, mat: &[f64], q: &[f64], lo: f64, hi: f64, tol: f64) -> bool {
        let cmax = lo.abs().max(hi.abs());
        (0..m).all(|i| {
            let scale = q[i].abs() + (0..m).map(|j| mat[i * m + j].abs()).sum::<f64>() * cmax;
            let (c, w, tw) = (self.c[i], self.w[i], tol * scale);
            match self.modes[i] {
                BoxMode::Lower => w >= -tw,
                BoxMode::Upper => w <= tw,
                BoxMode::Free => c >= lo - tol * (hi - lo) && c <= hi + tol * (hi - lo),
            }
        })
    }

    /// Try every assignment; exactly one distinct solution is required.
    fn enumerate(&mut self, m: usize, mat: &[f64], q: &[f64], lo: f64, hi: f64) -> Result<(), BoxLcpError> {
        if m > MAX_ENUMERATION {
            return Err(BoxLcpError::TooLarge { m });
        }
        let total = 3usize.pow(m as u32);
        for tol in [0.0, DEGENERATE_TOL] {
            let mut found = 0usize;
            let mut best_free = usize::MAX;
            let mut singular: Option<f64> = None;
            for code in 0..total {
                let mut rest = code;
                for i in 0..m {
                    self.modes[i] = match rest % 3 {
                        0 => BoxMode::Lower,
                        1 => BoxMode::Upper,
                        _ => BoxMode::Free,
                    };
                    rest /= 3;
                }
                if let Err(p) = self.evaluate(m, mat, q, lo, hi) {
                    singular.get_or_insert(p);
                    continue;
                }
                if !self.consistent(m, mat, q, lo, hi, tol) {
                    continue;
                }
                let nfree = self.modes.iter().filter(|&&x| x == BoxMode::Free).count();
                if found == 0 {
                    found = 1;
                } else {
                    let same =
                        (0..m).all(|i| (self.c[i] - self.best_c[i]).abs() <= SAME_SOLUTION * (1.0 + self.c[i].abs()));
                    if !same {
                        found += 1;
                        continue;
                    }
                    if nfree >= best_free {
                        continue;
                    }
                }
                best_free = nfree;
                self.best_c.clear();
                self.best_c.extend_from_slice(&self.c[..m]);
                self.best_modes.clear();
                self.best_modes.extend_from_slice(&self.modes[..m]);
            }
            if let Some(pivot) = singular {
                // a singular block may hide a continuum of solutions: uniqueness is not certain.
                return Err(BoxLcpError::Singular { pivot });
            }
            match found {
                0 => continue,
                1 => {
                    self.modes.copy_from_slice(&self.best_modes);
                    self.evaluate(m, mat, q, lo, hi)
                        .map_err(|pivot| BoxLcpError::Singular { pivot })?;
                    for c in &mut self.c[..m] {
                        *c = c.clamp(lo, hi);
                    }
                    return Ok(());
                }
                k => return Err(BoxLcpError::NotUnique { solutions: k }),
            }
        }
        Err(BoxLcpError::NoSolution)
    }
}

/// Solve A x = b in place (A m×m row-major, b → x) by Gaussian elimination with partial
/// pivoting. `Err(pivot)` when a pivot is ≤ 1e-12·`scale` (singular to working precision).
pub(crate) fn gauss_solve(a: &mut [f64], b: &mut [f64], m: usize, scale: f64) -> Result<(), f64> {
    let tiny = 1e-12 * scale;
    for col in 0..m {
        let (piv_row, piv) = (col..m)
            .map(|r| (r, a[r * m + col].abs()))
            .fold((col, -1.0), |acc, x| if x.1 > acc.1 { x } else { acc });
        if piv.is_nan() || piv <= tiny {
            return Err(piv);
        }
        if piv_row != col {
            for q in 0..m {
                a.swap(col * m + q, piv_row * m + q);
            }
            b.swap(col, piv_row);
        }
        for r in col + 1..m {
            let f = a[r * m + col] / a[col * m + col];
            if f != 0.0 {
                for q in col..m {
                    a[r * m + q] -= f * a[col * m + q];
                }
                b[r] -= f * b[col];
            }
        }
    }
    for r in (0..m).rev() {
        let mut acc = b[r];
        for q in r + 1..m {
            acc -= a[r * m + q] * b[q];
        }
        b[r] = acc / a[r * m + r];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{DMatrix, DVector};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Every solution of the box LCP by brute force over the 3^m mode assignments, with the free
    /// blocks solved by nalgebra's LU (independent of [`gauss_solve`]); exact sign tests.
    fn brute_force(m: usize, mat: &[f64], q: &[f64], lo: f64, hi: f64) -> Vec<(Vec<BoxMode>, Vec<f64>)> {
        let mut out = Vec::new();
        for code in 0..3usize.pow(m as u32) {
            let modes: Vec<BoxMode> = (0..m)
                .map(|i| match (code / 3usize.pow(i as u32)) % 3 {
                    0 => BoxMode::Lower,
                    1 => BoxMode::Upper,
                    _ => BoxMode::Free,
                })
                .collect();
            let free: Vec<usize> = (0..m).filter(|&i| modes[i] == BoxMode::Free).collect();
            let mut c: Vec<f64> = modes
                .iter()
                .map(|md| if *md == BoxMode::Upper { hi } else { lo })
                .collect();
            if !free.is_empty() {
                let a = DMatrix::from_fn(free.len(), free.len(), |r, s| mat[free[r] * m + free[s]]);
                let b = DVector::from_fn(free.len(), |r, _| {
                    let i = free[r];
                    -(q[i]
                        + (0..m)
                            .filter(|j| !free.contains(j))
                            .map(|j| mat[i * m + j] * c[j])
                            .sum::<f64>())
                });
                let Some(x) = a.lu().solve(&b) else { continue };
                for (r, &i) in free.iter().enumerate() {
                    c[i] = x[r];
                }
            }
            let ok = (0..m).all(|i| {
                let w = q[i] + (0..m).map(|j| mat[i * m + j] * c[j]).sum::<f64>();
                match modes[i] {
                    BoxMode::Lower => w >= 0.0,
                    BoxMode::Upper => w <= 0.0,
                    BoxMode::Free => (lo..=hi).contains(&c[i]),
                }
            });
            if ok {
                out.push((modes, c));
            }
        }
        out
    }

    /// The rule the event handler used before: start with every entry free, then repeatedly
    /// move the entry whose c is furthest outside [lo, hi] to that bound (never checking w of
    /// the entries already moved).
    fn one_at_a_time(m: usize, mat: &[f64], q: &[f64], lo: f64, hi: f64) -> (Vec<BoxMode>, Vec<f64>, Vec<f64>) {
        let mut s = BoxLcp::new();
        s.solve(0, mat, q, lo, hi, true, &[]).unwrap();
        s.modes = vec![BoxMode::Free; m];
        s.c = vec![0.0; m];
        s.w = vec![0.0; m];
        s.a = vec![0.0; m * m];
        s.rhs = vec![0.0; m];
        s.free = vec![0; m];
        loop {
            s.evaluate(m, mat, q, lo, hi).unwrap();
            let worst = (0..m)
                .filter(|&i| s.modes[i] == BoxMode::Free && !(lo..=hi).contains(&s.c[i]))
                .max_by(|&a, &b| {
                    let e = |i: usize| (lo - s.c[i]).max(s.c[i] - hi);
                    e(a).total_cmp(&e(b))
                });
            match worst {
                Some(i) => s.modes[i] = if s.c[i] > hi { BoxMode::Upper } else { BoxMode::Lower },
                None => return (s.modes.clone(), s.c.clone(), s.w.clone()),
            }
        }
    }

    /// A two-sample neuron (ReLU, a > 0) with Gram matrix G = [[1, ¾], [¾, 1]] and residual
    /// derivatives g = (½, 2), so M = G·diag(g) = [[½, 3/2], [3/8, 2]] (a P-matrix), and
    /// q = (−¼, 1) from the other samples. The unconstrained equivalent control is
    /// c = −M⁻¹q = (32/7, −19/14): both outside [0, 1], c₁ further. The one-at-a-time rule
    /// sends sample 1 to the active side (c₁ = 1), then sample 2 to the inactive one, leaving
    /// w₁ = ½ + 3/2·0 − ¼ = ¼ > 0, i.e. ż₁ < 0 on the active side: inconsistent. The unique
    /// solution (brute force, and by hand: c₂ = 0, ½c₁ − ¼ = 0 ⇒ c₁ = ½, w₂ = 3/8·½ + 1 = 19/16
    /// ≥ 0) has sample 1 sliding with c₁ = ½ and sample 2 inactive.
    #[test]
    fn hand_made_two_sample_choice() {
        let mat = [0.5, 1.5, 0.375, 2.0];
        let q = [-0.25, 1.0];
        let (gm, _, gw) = one_at_a_time(2, &mat, &q, 0.0, 1.0);
        assert_eq!(gm, [BoxMode::Upper, BoxMode::Lower]);
        assert!(gw[0] > 0.0, "the one-at-a-time choice should violate w₁ ≤ 0: {gw:?}");
        let all = brute_force(2, &mat, &q, 0.0, 1.0);
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].0, [BoxMode::Free, BoxMode::Lower]);
        for start in [[BoxMode::Free, BoxMode::Free], [BoxMode::Upper, BoxMode::Lower]] {
            let mut s = BoxLcp::new();
            s.solve(2, &mat, &q, 0.0, 1.0, true, &start).unwrap();
            assert_eq!(s.modes(), all[0].0.as_slice());
            // c₁ = ½ is one division from exact data: a few ulp.
            assert!((s.c()[0] - 0.5).abs() <= 4.0 * f64::EPSILON, "{:?}", s.c());
            assert_eq!(s.c()[1], 0.0);
            // and the exhaustive path (p_matrix = false) agrees
            s.solve(2, &mat, &q, 0.0, 1.0, false, &start).unwrap();
            assert_eq!(s.modes(), all[0].0.as_slice());
        }
    }

    /// On random P-matrices of the sliding form sgn(a)·G·diag(g) (G a Gram matrix of random
    /// inputs, sgn(a)·g_j > 0) the pivoting returns the brute-force solution, which is unique.
    #[test]
    fn pivoting_matches_brute_force_on_p_matrices() {
        let mut rng = ChaCha8Rng::seed_from_u64(77);
        for trial in 0..400 {
            let m = 1 + trial % 5;
            let d = m + 1;
            let x: Vec<f64> = (0..m * d).map(|_| rng.random_range(-1.0..1.0)).collect();
            let sgn = if trial % 2 == 0 { 1.0 } else { -1.0 };
            let g: Vec<f64> = (0..m).map(|_| sgn * rng.random_range(0.1..2.0)).collect();
            let mut mat = vec![0.0; m * m];
            for i in 0..m {
                for j in 0..m {
                    let gij: f64 = (0..d).map(|l| x[i * d + l] * x[j * d + l]).sum();
                    mat[i * m + j] = sgn * gij * g[j];
                }
            }
            let q: Vec<f64> = (0..m).map(|_| rng.random_range(-3.0..3.0)).collect();
            let (lo, hi) = if trial % 3 == 0 { (0.2, 1.0) } else { (0.0, 1.0) };
            let all = brute_force(m, &mat, &q, lo, hi);
            assert_eq!(all.len(), 1, "trial {trial}: {all:?}");
            let start: Vec<BoxMode> = (0..m)
                .map(|i| [BoxMode::Free, BoxMode::Lower, BoxMode::Upper][(i + trial) % 3])
                .collect();
            let mut s = BoxLcp::new();
            s.solve(m, &mat, &q, lo, hi, true, &start).unwrap();
            assert_eq!(s.modes(), all[0].0.as_slice(), "trial {trial}");
            for (a, b) in s.c().iter().zip(&all[0].1) {
                // two LU solves of the same ≤ 5×5 block (condition ≲ 1e4 here): 1e-9 is far
                // above their rounding difference.
                assert!((a - b).abs() <= 1e-9, "trial {trial}: {:?} vs {:?}", s.c(), all[0].1);
            }
        }
    }

    /// One repelling sample (M = −1): both one-sided fields point away (q = ½) gives three
    /// solutions (c = 0, ½, 1), an error; a transversal crossing (q = −½: w < 0 for every c)
    /// has the unique solution c = 1.
    #[test]
    fn non_p_matrix_uniqueness() {
        let mut s = BoxLcp::new();
        let e = s.solve(1, &[-1.0], &[0.5], 0.0, 1.0, false, &[BoxMode::Free]);
        assert_eq!(e, Err(BoxLcpError::NotUnique { solutions: 3 }));
        s.solve(1, &[-1.0], &[-0.5], 0.0, 1.0, false, &[BoxMode::Free]).unwrap();
        assert_eq!(s.modes(), [BoxMode::Upper]);
        assert_eq!(s.c(), [1.0]);
        // singular: M = 0 with q = 0 (every c solves it)
        let e = s.solve(1, &[0.0], &[0.0], 0.0, 1.0, false, &[BoxMode::Free]);
        assert!(matches!(e, Err(BoxLcpError::Singular { .. })), "{e:?}");
    }
}
