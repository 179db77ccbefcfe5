//! Criterion benches of the wide linear network (issue 4): d = 20, c = 10, n = 24, non-whitened
//! X, t ∈ [0, 5], rtol 1e-10 (atol 1e-12). The catalog case `w20x10_down_h20` (δ = −1, h = d = 20,
//! as Theorem 4.2 requires for δ < 0).
//!
//! Group `flow/wide_linear`: one Theorem 4.2 β-flow solve (200 states) and one parameter-flow
//! solve (θ = (W, A), 600 states), each with tsit45 and BDF.

use criterion::{Criterion, criterion_group, criterion_main};
use lazyrich::flow::{FlowOptions, Method, integrate};
use lazyrich::models::ParameterFlow;
use lazyrich::models::two_layer_linear::Theorem42Flow;
use lazyrich::verify::wide_linear;
use std::hint::black_box;

fn flows(c: &mut Criterion) {
    let w = wide_linear::catalog()
        .into_iter()
        .find(|w| w.name == "w20x10_down_h20")
        .expect("catalog case");
    let (m, th0, data) = wide_linear::build(&w).expect("builds");
    let field = Theorem42Flow::new(data, w.eta_a, w.eta_w, w.delta, w.h).expect("width condition holds");
    let beta0 = m.deep().beta(&th0);
    let times = [0.0, 5.0];
    let mut g = c.benchmark_group("flow/wide_linear");
    g.sample_size(10);
    for method in [Method::Tsit45, Method::Bdf] {
        let opts = FlowOptions::new(method).with_tol(1e-10, 1e-12);
        g.bench_function(format!("theorem42_beta_{method}"), |b| {
            b.iter(|| integrate(&field, black_box(&beta0), &times, &opts).expect("solves"))
        });
        g.bench_function(format!("parameter_{method}"), |b| {
            b.iter(|| integrate(&ParameterFlow(&m), black_box(&th0), &times, &opts).expect("solves"))
        });
    }
    g.finish();
}

criterion_group!(benches, flows);
criterion_main!(benches);
