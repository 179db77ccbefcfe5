//! The integration tests, in one test binary (`it`): each module below is one former
//! `tests/<name>.rs` file (its module doc says what it tests), and `common` holds the helpers
//! they share. Test names carry the module as a prefix (`catalog::…`, `certify::…`).
//!
//! Why one binary (issue 17, test time): Cargo runs test binaries one after the other, so with
//! one binary per file a file whose last test is long kept one core idle, and every binary
//! linked the library on its own. In one harness all the tests share the test threads to the
//! end, and processes' global state is shared too: nothing here sets environment variables or
//! the current directory, or builds rayon's global pool (it is the library's, sized by the
//! machine, shared by all the tests); statics such as the catalog's quick run are made once
//! for the whole binary.
//!
//! Proptest keeps failing cases in `tests/proptest-regressions/<module>.txt` (its default
//! `SourceParallel` persistence: the directory beside the one holding `main.rs`); they are read
//! before any new case is drawn.
mod ball_enclosure;
mod ball_exp;
mod catalog;
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
/// name order, and this name sorts first. The `catalog::` tests wait for it; when they run alone
/// (a filter), the first of them starts it.
#[test]
fn a_quick_catalog_run_starts_first() {
    catalog::start_quick_cli();
}
