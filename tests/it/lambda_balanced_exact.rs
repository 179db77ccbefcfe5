//! Exact decimal inputs for the λ-balanced closed form (`models::lambda_balanced_exact`): the
//! identities XXᵀ = P·I, W2ᵀW2 − W1W1ᵀ = λI and QᵀQ = I hold exactly, checked by products
//! recomputed here with plain triple loops in `rug::Rational` (not the module's own `mat_mul`);
//! `exact_assumptions` accepts them, returns λ, and rejects a one-digit change with the defect
//! computed here independently; the f64 roundings are the nearest binary64 values. Seeds are
//! printed (`cargo test -- --nocapture`).

use lazyrich::models::lambda_balanced_exact::{
    AssumptionError, BalancedInit, ExactError, balanced_init, decimal_orthogonal, exact_assumptions, exact_case,
    hadamard_order, hadamard_rows, rational_to_f64, significant_digits, task_with_singular_values, to_dmatrix, to_nums,
};
use lazyrich::num::decimal::Num;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rug::Rational;

type M = Vec<Vec<Rational>>;

/// Aᵀ·B by a plain triple loop (A n×a, B n×b).
fn at_b(a: &M, b: &M) -> M {
    let (ca, cb) = (a[0].len(), b[0].len());
    let mut out = vec![vec![Rational::new(); cb]; ca];
    for (ra, rb) in a.iter().zip(b) {
        for i in 0..ca {
            for j in 0..cb {
                out[i][j] += Rational::from(&ra[i] * &rb[j]);
            }
        }
    }
    out
}

/// A·Bᵀ by a plain triple loop.
fn a_bt(a: &M, b: &M) -> M {
    a.iter()
        .map(|ra| {
            b.iter()
                .map(|rb| {
                    ra.iter()
                        .zip(rb)
                        .fold(Rational::new(), |acc, (x, y)| acc + Rational::from(x * y))
                })
                .collect()
        })
        .collect()
}

fn is_scaled_identity(m: &M, s: &Rational) -> bool {
    m.iter().enumerate().all(|(i, row)| {
        row.iter()
            .enumerate()
            .all(|(j, v)| if i == j { v == s } else { *v == 0 })
    })
}

fn max_digits(m: &M) -> usize {
    m.iter()
        .flatten()
        .map(|q| significant_digits(q).unwrap())
        .max()
        .unwrap_or(0)
}

/// An explicit seed (printed), or `LAZYRICH_TEST_SEED` when set to explore others.
fn seed() -> u64 {
    let s = std::env::var("LAZYRICH_TEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x1b_e3ac);
    eprintln!("seed {s}");
    s
}

#[test]
fn decimal_orthogonal_is_exactly_orthogonal() {
    let s = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(s);
    for n in 1..=9 {
        let q = decimal_orthogonal(n, &mut rng).unwrap();
        assert!(
            is_scaled_identity(&at_b(&q, &q), &Rational::from(1)),
            "seed {s}, n = {n}: QᵀQ ≠ I"
        );
        assert!(
            is_scaled_identity(&a_bt(&q, &q), &Rational::from(1)),
            "seed {s}, n = {n}: QQᵀ ≠ I"
        );
        // Generic: for n ≥ 2 no zero entry survives the chain of rotations in most draws; at
        // least no zero row or column, and every entry a finite decimal.
        assert!(q.iter().all(|r| r.iter().any(|v| *v != 0)));
        let digits = max_digits(&q);
        eprintln!("n = {n}: max {digits} significant digits");
        assert!(digits <= 4 * n + 4, "n = {n}: {digits} digits");
    }
}

#[test]
fn hadamard_rows_are_exactly_whitened() {
    for (d_i, p) in [(1, 1), (3, 4), (6, 8), (8, 8), (5, 32)] {
        let x = hadamard_rows(d_i, p, &Rational::from(1)).unwrap();
        assert!(
            is_scaled_identity(&a_bt(&x, &x), &Rational::from(p as u64)),
            "({d_i}, {p})"
        );
        assert_eq!(hadamard_order(d_i), d_i.next_power_of_two());
    }
    let x = hadamard_rows(2, 4, &Rational::from((1, 2))).unwrap();
    assert!(is_scaled_identity(&a_bt(&x, &x), &Rational::from(1)));
    assert!(matches!(
        hadamard_rows(3, 6, &Rational::from(1)),
        Err(ExactError::Parameter { .. })
    ));
    assert!(matches!(
        hadamard_rows(5, 4, &Rational::from(1)),
        Err(ExactError::Parameter { .. })
    ));
}

/// YXᵀ = P·Σ̃_yx exactly, and Σ̃_yx has exactly the prescribed singular values: tr(Σ̃ᵀΣ̃)^k =
/// Σ s^{2k} for k = 1, 2, 3 (three power sums fix three values), and its f64 SVD agrees.
#[test]
fn task_has_exact_correlation_and_singular_values() {
    let s0 = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(s0);
    for (d_i, d_o) in [(3, 3), (6, 3), (3, 6), (5, 5), (2, 4)] {
        let m = d_i.min(d_o).min(3);
        let s: Vec<Rational> = [Rational::from(2), Rational::from((3, 2)), Rational::from((1, 4))][..m].to_vec();
        let p = hadamard_order(d_i);
        let t = task_with_singular_values(d_i, d_o, p, &s, &mut rng).unwrap();
        let yxt = a_bt(&t.y, &t.x);
        for (a, b) in yxt.iter().flatten().zip(t.syx.iter().flatten()) {
            assert_eq!(*a, Rational::from(b * p as u64), "seed {s0}");
        }
        let g = at_b(&t.syx, &t.syx);
        let mut pw = g.clone();
        for k in 1..=3u32 {
            let tr = (0..d_i).fold(Rational::new(), |acc, i| acc + &pw[i][i]);
            let want = s.iter().fold(Rational::new(), |acc, v| {
                acc + (0..2 * k).fold(Rational::from(1), |q, _| q * v)
            });
            assert_eq!(tr, want, "seed {s0}: power sum {k}");
            pw = at_b(&pw, &g); // g symmetric: (Gᵀ·Gᵏ) = G^{k+1}
        }
        let mut sv: Vec<f64> = to_dmatrix(&t.syx).singular_values().iter().copied().collect();
        sv.sort_by(|a, b| b.total_cmp(a));
        for (a, b) in sv.iter().zip(&s) {
            assert!((a - b.to_f64()).abs() < 1e-13, "seed {s0}: {sv:?}");
        }
    }
}

/// W2ᵀW2 − W1W1ᵀ = λI exactly for random seeds, dims (equal and unequal, extra hidden
/// directions where √|λ| is a decimal) and λ (0, negative, tiny, large, non-square); the singular
/// values of W2W1 are within 1e-3 (relative) of the targets the construction aims at.
#[test]
fn init_is_exactly_lambda_balanced() {
    let s0 = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(s0);
    let lambdas = [
        Rational::from(0),
        Rational::from(2),
        Rational::from(-2),
        Rational::from((1, 100)),
        Rational::from((-37, 100)),
        Rational::from(1000),
        Rational::from(-10),
        Rational::from((9, 4)),
        Rational::from(-100),
    ];
    let dims = [
        (3, 3, 3),
        (8, 8, 8),
        (6, 3, 3),
        (3, 3, 6),
        (5, 5, 5),
        (2, 3, 4),
        (4, 3, 2),
        (1, 1, 3),
        (4, 1, 1),
        (2, 2, 2),
    ];
    let mut worst_digits = 0;
    for &(d_i, h, d_o) in &dims {
        for lambda in &lambdas {
            let sigma = [0.03, 0.1, 0.5][rng.random_range(0..3)];
            let res = balanced_init(d_i, h, d_o, lambda, &BalancedInit::new(sigma), &mut rng);
            let init = match res {
                Ok(v) => v,
                Err(ExactError::Infeasible(_)) => continue,
                Err(ExactError::Unsupported { .. }) if h > d_i.min(d_o) => continue,
                Err(e) => panic!("seed {s0}, {:?}, λ = {lambda}: {e}", (d_i, h, d_o)),
            };
            let (w1, w2) = (&init.w1, &init.w2);
            assert_eq!((w1.len(), w1[0].len(), w2.len(), w2[0].len()), (h, d_i, d_o, h));
            let g2 = at_b(w2, w2);
            let g1 = a_bt(w1, w1);
            for a in 0..h {
                for b in 0..h {
                    let c = Rational::from(&g2[a][b] - &g1[a][b]);
                    let want = if a == b { lambda.clone() } else { Rational::new() };
                    assert_eq!(c, want, "seed {s0}, {:?}, λ = {lambda}: C[{a}][{b}]", (d_i, h, d_o));
                }
            }
            let prod = &to_dmatrix(w2) * &to_dmatrix(w1);
            let mut sv: Vec<f64> = prod.singular_values().iter().copied().collect();
            sv.sort_by(|a, b| b.total_cmp(a));
            // A single mode with d_i = 1 or d_o = 1 has no second plane to boost against: it keeps
            // its base point (module doc) unless λ = 0.
            let fixed = init.targets.len() == 1 && (d_i == 1 || d_o == 1) && *lambda != 0;
            for (k, t) in init.targets.iter().enumerate().filter(|_| !fixed) {
                assert!(
                    (sv[k] - t).abs() <= 1e-3 * t + 1e-12 * (1.0 + lambda.to_f64().abs()),
                    "seed {s0}, {:?}, λ = {lambda}: strengths {sv:?} vs targets {:?}",
                    (d_i, h, d_o),
                    init.targets
                );
            }
            let digits = max_digits(w1).max(max_digits(w2));
            worst_digits = worst_digits.max(digits);
            eprintln!(
                "{:?} λ = {lambda} σ = {sigma}: max {digits} significant digits",
                (d_i, h, d_o)
            );
        }
    }
    eprintln!("worst: {worst_digits} significant digits");
}

fn built_case(seed: u64, lambda: &Rational) -> lazyrich::case::LambdaBalancedCase {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t = task_with_singular_values(3, 4, 4, &[Rational::from(2), Rational::from(1)], &mut rng).unwrap();
    let init = balanced_init(3, 3, 4, lambda, &BalancedInit::new(0.2), &mut rng).unwrap();
    exact_case(
        &t.x,
        &t.y,
        &init.w1,
        &init.w2,
        &Rational::from(1),
        &[Rational::from(0), Rational::from((1, 2))],
    )
    .unwrap()
}

#[test]
fn exact_assumptions_accepts_built_cases_and_returns_lambda() {
    let s0 = seed();
    for lambda in [Rational::from(3), Rational::from(0), Rational::from((-5, 4))] {
        let case = built_case(s0, &lambda);
        let a = exact_assumptions(&case.x, &case.y, &case.w1_0, &case.w2_0).unwrap();
        assert_eq!(a.lambda, lambda, "seed {s0}");
        assert_eq!((a.p, a.dims), (4, (3, 3, 4)));
    }
}

/// Change one digit of one entry; the defect reported must be the exact one (computed here:
/// max |XXᵀ/P − I| and min_λ max |C − λI| by plain loops), rounded up to f64.
#[test]
fn exact_assumptions_rejects_a_one_digit_change_with_the_right_defect() {
    let s0 = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(s0 ^ 1);
    let case = built_case(s0, &Rational::from(2));
    let bump = |m: &Vec<Vec<Num>>, rng: &mut ChaCha8Rng| -> Vec<Vec<Num>> {
        let mut out = m.clone();
        let i = rng.random_range(0..m.len());
        let j = rng.random_range(0..m[0].len());
        let text = m[i][j].as_str().to_string();
        let pos: Vec<usize> = text
            .char_indices()
            .filter(|(_, c)| c.is_ascii_digit())
            .map(|(k, _)| k)
            .collect();
        let k = pos[rng.random_range(0..pos.len())];
        let d = text.as_bytes()[k] - b'0';
        let nd = (d + 1 + rng.random_range(0..9u8)) % 10;
        let mut t = text.clone();
        t.replace_range(k..=k, &nd.to_string());
        eprintln!("  [{i}][{j}]: {text} -> {t}");
        out[i][j] = Num::parse(&t).unwrap();
        out
    };
    let rat = |m: &Vec<Vec<Num>>| -> M {
        m.iter()
            .map(|r| r.iter().map(|v| v.to_rational().unwrap()).collect())
            .collect()
    };
    // Independent defects.
    let white = |x: &M| -> Rational {
        let p = Rational::from(x[0].len() as u64);
        let g = a_bt(x, x);
        let mut worst = Rational::new();
        for (i, row) in g.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                let e = if i == j { Rational::from(v - &p) } else { v.clone() };
                worst = worst.max(Rational::from(e.abs_ref()) / &p);
            }
        }
        worst
    };
    let balance = |w1: &M, w2: &M| -> Rational {
        let c: M = at_b(w2, w2)
            .iter()
            .zip(a_bt(w1, w1))
            .map(|(r2, r1)| r2.iter().zip(r1).map(|(a, b)| a - b).collect())
            .collect();
        let diag: Vec<&Rational> = (0..c.len()).map(|i| &c[i][i]).collect();
        let hi = diag.iter().copied().max().unwrap().clone();
        let lo = diag.iter().copied().min().unwrap().clone();
        let mut worst: Rational = Rational::from(&hi - &lo) / 2;
        for (i, row) in c.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                if i != j {
                    worst = worst.max(Rational::from(v.abs_ref()));
                }
            }
        }
        worst
    };
    let check = |reported: f64, exact: &Rational| {
        assert!(*exact > 0, "seed {s0}: the change left the identity intact");
        assert!(
            Rational::from_f64(reported).unwrap() >= *exact,
            "seed {s0}: {reported:e} < {exact}"
        );
        assert!(
            reported <= exact.to_f64() * (1.0 + 4.0 * f64::EPSILON),
            "seed {s0}: {reported:e} vs {exact}"
        );
    };
    for _ in 0..3 {
        let x2 = bump(&case.x, &mut rng);
        match exact_assumptions(&x2, &case.y, &case.w1_0, &case.w2_0) {
            Err(AssumptionError::Violated {
                whitening, balance: b, ..
            }) => {
                check(whitening, &white(&rat(&x2)));
                assert_eq!(b, 0.0);
            }
            other => panic!("seed {s0}: {other:?}"),
        }
        let w1 = bump(&case.w1_0, &mut rng);
        match exact_assumptions(&case.x, &case.y, &w1, &case.w2_0) {
            Err(AssumptionError::Violated {
                whitening, balance: b, ..
            }) => {
                assert_eq!(whitening, 0.0);
                check(b, &balance(&rat(&w1), &rat(&case.w2_0)));
            }
            other => panic!("seed {s0}: {other:?}"),
        }
        let w2 = bump(&case.w2_0, &mut rng);
        match exact_assumptions(&case.x, &case.y, &case.w1_0, &w2) {
            Err(AssumptionError::Violated { balance: b, .. }) => check(b, &balance(&rat(&case.w1_0), &rat(&w2))),
            other => panic!("seed {s0}: {other:?}"),
        }
    }
}

#[test]
fn exact_assumptions_refuses_hostile_sizes() {
    let one = Num::parse("1").unwrap();
    let x = vec![vec![one.clone(); 1]; 5000];
    let small = vec![vec![one.clone()]];
    assert!(matches!(
        exact_assumptions(&x, &small, &small, &small),
        Err(AssumptionError::Input(ExactError::TooLarge { .. }))
    ));
    let x = vec![vec![one.clone(); 4000]; 600];
    let y = vec![vec![one.clone(); 4000]];
    let w1 = vec![vec![one.clone(); 600]];
    assert!(matches!(
        exact_assumptions(&x, &y, &w1, &small),
        Err(AssumptionError::Input(ExactError::TooLarge { .. }))
    ));
    let huge = vec![vec![Num::parse("1e-99999").unwrap()]];
    assert!(matches!(
        exact_assumptions(&huge, &small, &small, &small),
        Err(AssumptionError::Input(ExactError::Entry { .. }))
    ));
    let ragged = vec![vec![one.clone(), one.clone()], vec![one.clone()]];
    assert!(matches!(
        exact_assumptions(&ragged, &small, &small, &small),
        Err(AssumptionError::Input(ExactError::Shape { .. }))
    ));
}

/// The f64 matrices are the nearest binary64 values of the exact decimals (≤ ½ ulp), the same
/// values `Num` parses from the decimal text.
#[test]
fn f64_roundings_are_nearest() {
    let s0 = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(s0);
    let init = balanced_init(4, 4, 4, &Rational::from((7, 5)), &BalancedInit::new(0.1), &mut rng).unwrap();
    let nums = to_nums(&init.w1).unwrap();
    let f = to_dmatrix(&init.w1);
    for (i, row) in init.w1.iter().enumerate() {
        for (j, q) in row.iter().enumerate() {
            let v = f[(i, j)];
            assert_eq!(v, nums[i][j].to_f64(), "seed {s0}");
            assert_eq!(v, rational_to_f64(q));
            let err = (q - Rational::from_f64(v).unwrap()).abs();
            let half_ulp = Rational::from_f64(v.abs() * f64::EPSILON / 2.0).unwrap();
            assert!(err <= half_ulp, "seed {s0}: [{i}][{j}]");
            assert_eq!(nums[i][j].to_rational().unwrap(), *q);
        }
    }
}
