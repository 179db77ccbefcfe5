//! Criterion benches of the symbolic proofs (issue 16): the conservation identity of every model
//! at the largest fixed dims (generic loss), the whole fixed-dim conservation sweep per model, and
//! P2 Lemma 4.1 at (3, 3, 3).

use criterion::{Criterion, criterion_group, criterion_main};
use lazyrich::verify::prove::identities::{Family, Loss, Plant, conservation, riccati};
use lazyrich::verify::prove::{MODELS, conservation_fixed};
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

criterion_group!(benches, largest, sweeps);
criterion_main!(benches);
