//! Criterion benches of the λ-balanced closed form QQᵀ(t) (issue 5): 100 time points evenly
//! spaced in [0, 10], τ = 1, whitened random task (P = 2·d_i + 2), random λ-balanced init
//! (σ = 0.4), for (d_i, h, d_o) = (8, 8, 8) with λ = 1 and (10, 6, 4) with λ = −1 (λ > 0 is
//! infeasible there: h = 6 > d_o = 4); f64 and MPFR at 256 bits (one
//! evaluation at the working precision, without the +64-bit error estimate); and the rigorous
//! ball closed form at 256 bits for (3, 3, 3) and (10, 6, 4) on exactly whitened, exactly
//! λ-balanced decimal inputs.

use criterion::{Criterion, criterion_group, criterion_main};
use lazyrich::case::LambdaBalancedCase;
use lazyrich::exact::lambda_balanced::ClosedForm;
use lazyrich::exact::lambda_balanced_mp::ClosedFormMp;
use lazyrich::models::lambda_balanced::{LinearNetwork, random_init, whitened_task};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

fn setup(
    d_i: usize,
    h: usize,
    d_o: usize,
    lambda: f64,
) -> (
    LinearNetwork,
    LambdaBalancedCase,
    nalgebra::DMatrix<f64>,
    nalgebra::DMatrix<f64>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (x, y) = whitened_task(d_i, d_o, 2 * d_i + 2, &mut rng).unwrap();
    let (w1, w2) = random_init(d_i, h, d_o, lambda, 0.4, &mut rng).unwrap();
    let times: Vec<f64> = (0..100).map(|k| k as f64 * 10.0 / 99.0).collect();
    let net = LinearNetwork::new(&x, &y, h, 1.0).unwrap();
    let case = LambdaBalancedCase::from_f64(&x, &y, &w1, &w2, 1.0, &times).unwrap();
    (net, case, w1, w2)
}

fn exact(c: &mut Criterion) {
    let mut g = c.benchmark_group("exact/lambda_balanced");
    g.sample_size(10);
    for (d_i, h, d_o, lambda) in [(8, 8, 8, 1.0), (10, 6, 4, -1.0)] {
        let (net, case, w1, w2) = setup(d_i, h, d_o, lambda);
        let times = case.times_f64();
        let cf = ClosedForm::new(&net, &w1, &w2).unwrap();
        g.bench_function(format!("f64_100pts_{d_i}_{h}_{d_o}"), |b| {
            b.iter(|| cf.evaluate(black_box(&times)).unwrap())
        });
        let mp = ClosedFormMp::new(&case, 256).unwrap();
        g.bench_function(format!("mp256_100pts_{d_i}_{h}_{d_o}"), |b| {
            b.iter(|| mp.evaluate(black_box(&case.times)).unwrap())
        });
    }
    g.finish();
}

/// An exactly whitened, exactly λ-balanced decimal case (models::lambda_balanced_exact): task
/// singular values (2, 1.5, 1) (first min(d_i, d_o)), init σ = 0.4, seed 5, times 0, 0.1, …, 9.9.
fn exact_decimal_case(d_i: usize, h: usize, d_o: usize, lambda: i64) -> LambdaBalancedCase {
    use lazyrich::models::lambda_balanced_exact::{
        BalancedInit, balanced_init, exact_case, hadamard_order, task_with_singular_values,
    };
    use rug::Rational;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let s: Vec<Rational> = [(2, 1), (3, 2), (1, 1)]
        .iter()
        .take(d_i.min(d_o))
        .map(|&q| Rational::from(q))
        .collect();
    let task = task_with_singular_values(d_i, d_o, hadamard_order(d_i), &s, &mut rng).unwrap();
    let init = balanced_init(d_i, h, d_o, &Rational::from(lambda), &BalancedInit::new(0.4), &mut rng).unwrap();
    let times: Vec<Rational> = (0..100).map(|k| Rational::from((10 * k, 99))).collect();
    // 10k/99 has no finite decimal expansion: round each time to 6 decimals (exact decimals).
    let times: Vec<Rational> = times
        .iter()
        .map(|t| Rational::from(((t.clone() * 1_000_000u32).round().numer().clone(), 1_000_000u32)))
        .collect();
    exact_case(&task.x, &task.y, &init.w1, &init.w2, &Rational::from(1), &times).unwrap()
}

/// Issue 15: rigorous λ-balanced QQᵀ(t) at 256 bits for (3, 3, 3) and (10, 6, 4), 100 times in
/// [0, 9.9] (`exact::riccati::qqt_enclosure`, including its precision escalation).
fn rigorous(c: &mut Criterion) {
    use lazyrich::exact::riccati::qqt_enclosure;
    let mut g = c.benchmark_group("exact/lambda_balanced");
    g.sample_size(10);
    for (d_i, h, d_o, lambda) in [(3, 3, 3, 1), (10, 6, 4, -1)] {
        let case = exact_decimal_case(d_i, h, d_o, lambda);
        g.bench_function(format!("ball256_100pts_{d_i}_{h}_{d_o}"), |b| {
            b.iter(|| qqt_enclosure(black_box(&case), 256).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, exact, rigorous);
criterion_main!(benches);
