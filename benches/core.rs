//! Criterion benches of the core slice on problem L (issue 2): d = n = 10, orthonormal X,
//! a0 = 0.02, ‖w0‖ = 0.01, t ∈ [0, 20], rtol 1e-10 (atol 1e-12).
//!
//! Groups: `exact/single_neuron` (one closed-form time point: f64; MPFR at 256 bits, (a, w)
//! only and with all observables) and `flow/single_neuron` (one integration per method).
//!
//! Issue 15 item 1 (branch `sngen`, 2026-12-06, load average ≈ 5, old 97c59a0 and new binaries
//! interleaved, `-- --warm-up-time 1 --measurement-time 3`): with the closed form written once
//! over `num::real::Real`, `f64_point` 154 / 120 / 122 ns → 50 / 60 / 34 ns (the generic
//! evaluation skips the former per-sum condition numbers), `mp256_point_a_w` 13.6 / 15.3 /
//! 8.8 µs → 10.0 / 7.0 / 9.2 µs (two exponentials per point instead of three),
//! `mp256_point_all_observables` 31.9 / 30.6 / 22.8 µs → 16.5 / 10.3 / 14.9 µs.

use criterion::{Criterion, criterion_group, criterion_main};
use lazyrich::exact::single_neuron::ClosedForm;
use lazyrich::exact::single_neuron_mp::{ClosedFormMp, Form};
use lazyrich::flow::{FlowOptions, Method, integrate};
use lazyrich::models::samples;
use lazyrich::models::single_neuron::SingleNeuron;
use lazyrich::models::{GradientFlowModel, ParameterFlow};
use rug::Float;
use std::hint::black_box;

fn problem_l() -> (lazyrich::case::SingleNeuronCase, SingleNeuron, Vec<f64>) {
    let c = samples::problem_l(1);
    let m = SingleNeuron::new(&c.x_f64(), &c.y_f64(), 1.0, 1.0).unwrap();
    let th0 = m.theta(c.a0.to_f64(), &c.w0_f64()).unwrap();
    (c, m, th0)
}

fn exact(c: &mut Criterion) {
    let (case, m, _) = problem_l();
    let mut g = c.benchmark_group("exact/single_neuron");
    let cf = ClosedForm::new(&m, case.a0.to_f64(), &case.w0_f64()).unwrap();
    let mut th = vec![0.0; 11];
    g.bench_function("f64_point", |b| b.iter(|| cf.theta_at_inplace(black_box(7.3), &mut th)));
    let hp = ClosedFormMp::new(&case, 256).unwrap();
    let t = Float::with_val(256, 7.3);
    g.bench_function("mp256_point_a_w", |b| b.iter(|| hp.state(black_box(&t))));
    g.bench_function("mp256_point_all_observables", |b| {
        b.iter(|| hp.point(black_box(&t), Form::Linearised).unwrap())
    });
    g.finish();
}

fn models(c: &mut Criterion) {
    let (_, m, th0) = problem_l();
    let mut g = c.benchmark_group("models/single_neuron");
    let mut out = vec![0.0; th0.len()];
    g.bench_function("grad_problem_L", |b| {
        b.iter(|| m.grad_inplace(black_box(&th0), &mut out))
    });
    g.finish();
}

fn flow(c: &mut Criterion) {
    let (case, m, th0) = problem_l();
    let times = [0.0, 20.0];
    let _ = case;
    let mut g = c.benchmark_group("flow/single_neuron");
    for method in Method::ALL {
        let opts = FlowOptions::new(method).with_tol(1e-10, 1e-12);
        g.bench_function(format!("problem_L_{}", method.as_str()), |b| {
            b.iter(|| integrate(&ParameterFlow(&m), black_box(&th0), &times, &opts).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, models, exact, flow);
criterion_main!(benches);
