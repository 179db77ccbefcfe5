//! Criterion benches of the validated integrator (`taylor::validated`) on the peers' problem L
//! (`../shared/bench/problem_L_anchor.json`: d = n = 10, X orthogonal to 3.3e-16, t ∈ [0, 20];
//! CAPD's rigorous interval-double Taylor integrator: width 6.7e-14 in 0.14 s on this machine
//! class):
//!
//! - `validated/problem_L_anchor/ball53`: the rigorous enclosure at 53 bits (to t = 20, all the
//!   case's output times);
//! - `validated/problem_L_anchor/ball334`: the same at 334 bits (≈ 100 digits; no rigorous peer
//!   at this precision; heyoka's non-rigorous 100-digit solve takes 0.7–0.9 s).
//!
//! Widths and step counts are printed once before timing. Medians: see the session notes and
//! the README ("Validated integration"). 2026-12-06, commit 8628a13, `-- --warm-up-time 1
//! --measurement-time 10`, load average ≈ 1.5: ball53 35.1 ms (max radius 4.1e-14, 53 steps of
//! order 20, 8 rejected boxes); ball334 0.895 s (max radius 1.7e-98, 63 steps of order 117, 4
//! rejected). Before (1936b9d, load ≈ 0.8): 31.6 ms and 1.85 s — the second working-precision jet
//! over the set X, replaced by `Diff` hardware balls, was half the 334-bit time.
use criterion::{Criterion, criterion_group, criterion_main};
use lazyrich::case::Case;
use lazyrich::taylor::cases::enclose_case;
use lazyrich::taylor::validated::ValidatedOptions;

fn anchor() -> Option<Case> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/bench/problem_L_anchor.json");
    match std::fs::read_to_string(p) {
        Ok(text) => Some(Case::from_json(&text).expect("anchor case parses")),
        Err(e) => {
            println!("validated bench: {p} not readable ({e}); skipping");
            None
        }
    }
}

fn validated(c: &mut Criterion) {
    let Some(case) = anchor() else { return };
    let mut g = c.benchmark_group("validated/problem_L_anchor");
    g.sample_size(10);
    for prec in [53u32, 334] {
        let opts = ValidatedOptions::new(prec);
        let tr = enclose_case(&case, &opts).expect("anchor encloses");
        let w = tr
            .states
            .last()
            .map_or(0.0, |s| s.iter().map(|b| b.rad()).fold(0.0, f64::max));
        println!("ball{prec}: max radius at t = 20: {w:e}; {:?}", tr.stats);
        g.bench_function(format!("ball{prec}"), |b| {
            b.iter(|| enclose_case(std::hint::black_box(&case), &opts).expect("encloses"))
        });
    }
    g.finish();
}

criterion_group!(benches, validated);
criterion_main!(benches);
