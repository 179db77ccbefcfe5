//! Problem R (issue 6): one gradient of the two-layer ReLU network at d = 100, h = 1000,
//! n = 1000 (two GEMMs, 4·n·h·d = 4e8 flop, plus O(nh) element-wise work), next to faer's own
//! dgemm on the same shapes and on a 1000³ square product, all single-threaded
//! (`Par::Seq`, global parallelism off), and the gradient and the square dgemm again on two
//! threads (`Par::rayon(2)`). The % of dgemm rate is
//! (4e8 / t_gradient) / (2·m·n·k / t_dgemm); compute it from the printed times.
//!
//! Idle machine, commit 0539cef (`-- --warm-up-time 1 --measurement-time 4`), medians: gradient
//! 12.62 ms (31.7 GFLOP/s) vs dgemm 1000³ 53.44 ms (37.4 GFLOP/s): 85 % of the one-thread dgemm
//! rate; its two GEMMs alone 4.83 + 6.22 ms. Two threads: gradient 9.86 ms, dgemm 1000³ 28.1 ms.
//!
//! 2026-12-06 (this VM's faer dgemm runs its AVX-512 kernels, so the reference rate is higher):
//! before the change below, gradient 13.79 ms vs dgemm 1000³ 39.14 ms = 57 % of the dgemm rate,
//! the element-wise a-gradient sum being one scalar add chain (~30 % of the gradient). Commit
//! bda2fa7 (that sum in 8 partial sums, both element-wise passes under pulp's runtime SIMD
//! dispatch), `-- --warm-up-time 1 --measurement-time 4`, medians: gradient 8.71 ms
//! (45.9 GFLOP/s) vs dgemm 1000³ 37.97 ms (52.7 GFLOP/s): 87 %; its GEMMs' shapes alone
//! 3.74 + 4.18 ms; two threads: gradient 6.60 ms, dgemm 1000³ 21.26 ms.
//!
//! 2026-12-07, idle, after the two-thread gradient splits its element-wise passes into bands
//! (`with_threads`): one thread, gradient 4.159 ms (96 GFLOP/s) vs dgemm 1000³ 18.18 ms
//! (110 GFLOP/s): 87 %; two threads (`--warm-up-time 2 --measurement-time 6`), gradient
//! 2.745 ms [2.367, 3.087] vs dgemm 1000³ 10.14 ms (197 GFLOP/s): 74 % (four fork-joins per
//! gradient: faer's two GEMMs and the two banded passes). With each thread taking a band of
//! neurons through both GEMMs and both passes (two fork-joins), two runs: gradient 2.526 ms
//! [2.459, 2.608] vs dgemm 10.22 ms: 81 %; 2.430 ms [2.368, 2.486] vs 9.391 ms: 77 % (one
//! thread in the second run: 4.225 ms vs 17.81 ms, 84 %).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use lazyrich::models::GradientFlowModel;
use lazyrich::models::piecewise_linear::problem_r;
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    faer::set_global_parallelism(Par::Seq);
    let (d, h, n) = (100, 1000, 1000);
    let (model, th) = problem_r(d, h, n, 2024).expect("sizes > 0");
    let mut g = vec![0.0; model.n_params()];
    let mut grp = c.benchmark_group("problem_r");
    grp.measurement_time(Duration::from_secs(8)).sample_size(30);
    grp.throughput(Throughput::Elements((4 * n * h * d) as u64));
    grp.bench_function("gradient", |b| {
        b.iter(|| {
            model.grad_inplace(black_box(&th), &mut g);
        })
    });
    // The same gradient with its GEMMs on both cores (`PiecewiseLinear::with_threads(2)`).
    let model2 = model.clone().with_threads(2);
    grp.bench_function("gradient_2_threads", |b| {
        b.iter(|| {
            model2.grad_inplace(black_box(&th), &mut g);
        })
    });
    // faer dgemm, same shapes as the gradient's two products: (n×d)(d×h) and (h×n)(n×d).
    let a1 = Mat::<f64>::from_fn(n, d, |i, j| ((i * 31 + j * 17) % 97) as f64 / 97.0);
    let b1 = Mat::<f64>::from_fn(d, h, |i, j| ((i * 13 + j * 7) % 89) as f64 / 89.0);
    let mut c1 = Mat::<f64>::zeros(n, h);
    grp.throughput(Throughput::Elements((2 * n * h * d) as u64));
    grp.bench_function("faer_dgemm_n_d_h", |b| {
        b.iter(|| matmul(c1.as_mut(), Accum::Replace, a1.as_ref(), b1.as_ref(), 1.0, Par::Seq))
    });
    let a2 = Mat::<f64>::from_fn(h, n, |i, j| ((i * 31 + j * 17) % 97) as f64 / 97.0);
    let b2 = Mat::<f64>::from_fn(n, d, |i, j| ((i * 13 + j * 7) % 89) as f64 / 89.0);
    let mut c2 = Mat::<f64>::zeros(h, d);
    grp.bench_function("faer_dgemm_h_n_d", |b| {
        b.iter(|| matmul(c2.as_mut(), Accum::Replace, a2.as_ref(), b2.as_ref(), 1.0, Par::Seq))
    });
    let s = 1000;
    let a3 = Mat::<f64>::from_fn(s, s, |i, j| ((i * 31 + j * 17) % 97) as f64 / 97.0);
    let b3 = Mat::<f64>::from_fn(s, s, |i, j| ((i * 13 + j * 7) % 89) as f64 / 89.0);
    let mut c3 = Mat::<f64>::zeros(s, s);
    grp.throughput(Throughput::Elements((2 * s * s * s) as u64));
    grp.bench_function("faer_dgemm_1000_cubed", |b| {
        b.iter(|| matmul(c3.as_mut(), Accum::Replace, a3.as_ref(), b3.as_ref(), 1.0, Par::Seq))
    });
    grp.bench_function("faer_dgemm_1000_cubed_2_threads", |b| {
        b.iter(|| {
            matmul(
                c3.as_mut(),
                Accum::Replace,
                a3.as_ref(),
                b3.as_ref(),
                1.0,
                Par::rayon(2),
            )
        })
    });
    grp.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
