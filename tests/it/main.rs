//! The integration tests, in one test binary (`it`): each module below is one former
//! `tests/<name>.rs` file (its module doc says what it tests), `common` holds the helpers they
//! share and `shared` the catalog families several of them inspect, computed once. Test names
//! carry the module as a prefix (`quick_catalog::…`, `certify::…`).
//!
//! Why one binary (issue 17, the test step's wall time): Cargo runs test binaries one after the
//! other, so with one binary per file (37 of them) a file whose last test was long kept a core
//! idle, and every binary was compiled and linked on its own. In one harness all the tests share
//! the test threads to the end, the catalog's `verify --quick` child process starts first and
//! overlaps everything else ([`a_quick_catalog_run_starts_first`]), and the build links one test
//! binary. Process-global state is shared too: nothing here sets environment variables or the
//! current directory, or builds rayon's global pool (neither does the library: the default pool,
//! one thread per core, serves all the tests); statics such as the quick run are made once.
//!
//! Measured on 2 cores shared with two other engineers' builds (no idle window came up; load =
//! `uptime`'s 1-minute average at start → end), `PROPTEST_RNG_SEED=20261206`, after the build:
//! - the integration-test binaries alone, one after the other as Cargo runs them, interleaved
//!   (the same `lazyrich` binary for both; `src/` differs only in comments): the former 37
//!   binaries 147.0 s wall, 89.3 s user CPU, 61 % (load 5.5 → 7.5) and 89.7 s, 87.0 s, 97 %
//!   (5.6 → 4.5); this one 88.2 s, 87.3 s, 99 % (7.5 → 5.6) and 80.1 s, 79.6 s, 100 %
//!   (4.5 → 4.8);
//! - `/usr/bin/time -v cargo test --release` (with the unit tests and the doc-test): 103.1 s
//!   wall, 78.2 s user, 76 % (5.6 → 5.7); 97.5 s, 77.5 s, 80 % (3.9 → 5.0); 77.7 s, 76.1 s, 99 %
//!   (3.7 → 4.1); 66.4 s, 77.4 s, 118 % (4.0 → 3.3); 69.0 s, 81.8 s, 120 % (1.6 → 2.8).
//!
//! Under that load the tests got between one core and 1.2 of them, so these wall times do not
//! show the overlap (the figure, the test step's wall time on an idle machine, is still
//! to be measured).
//! The build, `cargo test --release --no-run` after `touch src/lib.rs`: 37 binaries 518.0 s
//! wall, 261.4 s user (load 9.5 → 7.8); one binary 398.9 s, 205.8 s (6.7 → 9.6) and 413.2 s,
//! 217.5 s (5.9 → 7.1).
//!
//! Proptest keeps failing cases in `tests/proptest-regressions/<module>.txt` (its default
//! `SourceParallel` persistence: the folder beside the one holding `main.rs`); they are read
//! before any new case is drawn.
mod ball_enclosure;
mod ball_exp;
mod certify;
mod cli;
mod cli_init;
mod cli_lambda_balanced;
mod cli_linear;
mod cli_rigorous_taylor;
mod common;
mod exact_ball;
mod exact_single_neuron;
mod experiment;
mod figures;
mod flow_vs_exact;
mod imex;
mod implicit_bias;
mod lambda_balanced;
mod lambda_balanced_apps;
mod lambda_balanced_exact;
mod lambda_balanced_experiments;
mod linear_models;
mod linear_taylor;
mod mirror_modes;
mod models_grad;
mod piecewise_linear;
mod prove;
mod prove_modes;
mod quick_catalog;
mod riccati;
mod shared;
mod single_neuron_generic;
mod stiff_krylov;
mod sweep;
mod taylor;
mod taylor_anchor;
mod taylor_span_mp;
mod validated;
mod verify_case;
mod workprec;

/// Starts the catalog's `lazyrich verify --quick` child process (the costliest single piece of
/// the test step) before every other test, so that it overlaps them: libtest starts tests in
/// name order, and this name sorts first. The `quick_catalog::` tests wait for it; when they run
/// alone (a filter), the first of them starts it.
///
/// The tests that read the child's table sort after most of the others (the module is
/// `quick_catalog`, not `catalog`; `verify_case`'s two such tests come near the end anyway, and
/// `lambda_balanced_apps::catalog_rows_all_pass` past the middle): a test waiting for the child
/// holds a test thread without using a core. With the module named `catalog`, reached a few
/// seconds in, both test threads waited at once for most of the child's run (sampled: the test
/// process used no CPU from 12 s to 22 s of a loaded run), so the child alone ran the machine,
/// on fewer than two cores whenever its own work was not parallel (the end of its λ-balanced
/// family, the figures and certificates after the catalog). Started first and read last, the
/// child overlaps the independent tests instead.
#[test]
fn a_quick_catalog_run_starts_first() {
    quick_catalog::start_quick_cli();
}
