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
                    let same = (0..m).all(|i| (self.c[i] - self.best_c[i]).abs() <= SAME_SOLUTION * (1.0 + self.c[i].abs()));
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
