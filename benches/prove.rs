//! Criterion benches of the symbolic proofs (issue 16): the conservation identity of every model
//! at the largest fixed dims (generic loss), the whole fixed-dim conservation sweep per model,
//! P2 Lemma 4.1 at (3, 3, 3), the single-neuron closed form (d = 1, 2, 3 and every d), every claim
//! of `prove` on a single-neuron case (fig3_delta+1, --prec 256, T = 20), and the theorem
//! certificates.

use criterion::{Criterion, criterion_group, criterion_main};
use lazyrich::case::Case;
use lazyrich::verify::prove::claims::{ProveOptions, claims};
use lazyrich::verify::prove::closed_form::{SnDim, single_neuron};
use lazyrich::verify::prove::identities::{Family, Loss, Plant, conservation, riccati};
use lazyrich::verify::prove::{MODELS, certificates, conservation_fixed};
use std::hint::black_box;

fn largest(c: &mut Criterion) {
    let mut g = c.benchmark_group("prove/conservation_largest");
    g.sample_size(10);
    let fams = [
        Family::SingleNeuron { d: 3 },
        Family::TwoLayerLinear { d: 3, h: 3, c: 3 },
        Family::DeepLinear {
            widths: vec![3, 3, 3, 3],
        },
        Family::PiecewiseLinear { d: 3, h: 3, n: 3 },
        Family::LambdaBalanced { d_i: 3, h: 3, d_o: 3 },
    ];
    for f in fams {
        g.bench_function(f.model(), |b| {
            b.iter(|| {
                let v = conservation(black_box(&f), Loss::Generic, Plant::None).check();
                assert!(v.is_proved());
            })
        });
    }
    g.finish();
}

fn sweeps(c: &mut Criterion) {
    let mut g = c.benchmark_group("prove/conservation_all_fixed_dims");
    g.sample_size(10);
    for m in MODELS {
        g.bench_function(*m, |b| {
            b.iter(|| assert!(conservation_fixed(black_box(m), Plant::None).failed.is_empty()))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("prove/riccati");
    g.sample_size(10);
    g.bench_function("3_3_3", |b| {
        b.iter(|| assert!(riccati(3, 3, 3, Plant::None).0.check().is_proved()))
    });
    g.finish();
}

fn closed_form(c: &mut Criterion) {
    let mut g = c.benchmark_group("prove/closed_form_single_neuron");
    g.sample_size(10);
    for (name, dim) in [
        ("d1", SnDim::Fixed(1)),
        ("d2", SnDim::Fixed(2)),
        ("d3", SnDim::Fixed(3)),
        ("every_d", SnDim::Every),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| assert!(single_neuron(black_box(dim), Plant::None).check().is_proved()))
        });
    }
    g.finish();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/cases/fig3_delta+1.json"))
        .expect("invariant: the catalog case exists");
    let case = Case::from_json(&text).expect("invariant: the catalog case parses");
    let opts = ProveOptions {
        prec: 256,
        t_end: Some(20.0),
    };
    let mut g = c.benchmark_group("prove/claims");
    g.sample_size(10);
    g.bench_function("single_neuron_fig3_delta+1", |b| {
        b.iter(|| claims(black_box(&case), &opts).expect("invariant: the case is valid"))
    });
    // λ-balanced 3-3-3, exactly whitened and λ-balanced (λ = 2): every claim, the closed form's
    // exact identity at n = 6 included.
    let lb = Case::LambdaBalanced(
        lazyrich::verify::lambda_balanced::experiments::experiment_case("shallow_3_3_3_lambda2")
            .expect("invariant: the experiment's exact inputs build"),
    );
    let proved = claims(&lb, &opts).expect("invariant: the case is valid");
    assert!(
        proved
            .iter()
            .any(|c| c.id == "closed_form_solves_flow" && c.status == lazyrich::verify::prove::Status::Proved),
        "{proved:?}"
    );
    g.bench_function("lambda_balanced_3_3_3", |b| {
        b.iter(|| claims(black_box(&lb), &opts).expect("invariant: the case is valid"))
    });
    // Two-layer (d, h, c) = (3, 4, 2), exactly whitened and task-aligned: every claim, the exact
    // alignment check and the decoupling identity at the case's dims included.
    let text = std::fs::read_to_string("data/cases/two_layer_aligned_example.json")
        .expect("invariant: the example case exists");
    let tl = Case::from_json(&text).expect("invariant: the example parses");
    g.bench_function("two_layer_aligned_example", |b| {
        b.iter(|| claims(black_box(&tl), &opts).expect("invariant: the case is valid"))
    });
    g.finish();
    let mut g = c.benchmark_group("prove/certificates");
    g.sample_size(10);
    g.bench_function("all", |b| b.iter(|| black_box(certificates())));
    g.finish();
}

criterion_group!(benches, largest, sweeps, closed_form);
criterion_main!(benches);
