//! Catalog families that several tests inspect, computed once for the whole binary, in process
//! (each a `OnceLock`: the first test that asks computes it, the others wait for it). Each is the
//! same library call the tests made on their own before, with the same arguments; the catalog
//! functions are deterministic (`quick_catalog::verify_quick_writes_the_library_tables_and_figures_and_passes`
//! compares exactly these in-process runs line by line with the CLI's run), so every test sees
//! the rows it computed before. Rows the quick catalog's CLI run (`quick_catalog::quick_rows`) already
//! holds are read from there instead, by the tests that need them. The MPFR Taylor references of
//! the catalog's case files ([`case_file_reference`]) are shared the same way.

use lazyrich::case::Case;
use lazyrich::num::decimal::Num;
use lazyrich::taylor::{TaylorOptions, cases, integrate};
use lazyrich::verify::{self, Mode, Row};
use rug::Float;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// `verify::single_neuron::run(Mode::Quick)`.
pub fn single_neuron_quick() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    ROWS.get_or_init(|| verify::single_neuron::run(Mode::Quick))
}

/// `verify::taylor_rigorous::run(Mode::Quick)`.
pub fn taylor_rigorous_quick() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    ROWS.get_or_init(|| verify::taylor_rigorous::run(Mode::Quick))
}

/// `verify::piecewise_linear::run(Mode::Quick)`.
pub fn piecewise_linear_quick() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    ROWS.get_or_init(|| verify::piecewise_linear::run(Mode::Quick))
}

/// Precision of [`case_file_reference`]: 256 bits.
pub const CASE_REF_PREC: u32 = 256;
/// Tolerance of [`case_file_reference`]: 1e-70.
pub const CASE_REF_TOL: f64 = 1e-70;

/// A non-rigorous reference: the MPFR Taylor integrator's states of a smooth case at `prec` bits
/// with tolerance `tol`, at the case's times (the inputs' decimals converted at `prec` bits).
pub fn taylor_reference(case: &Case, prec: u32, tol: f64) -> Vec<Vec<Float>> {
    let conv = |v: &Num| v.to_mp(prec);
    let opts = TaylorOptions::new(tol);
    macro_rules! run {
        ($c:expr, $build:path) => {{
            let (mut f, x0) = $build($c, &conv);
            let t: Vec<Float> = $c.times.iter().map(|v| v.to_mp(prec)).collect();
            integrate(&mut f, &x0, &t, &opts).unwrap().states
        }};
    }
    match case {
        Case::SingleNeuron(c) => run!(c, cases::single_neuron),
        Case::TwoLayerLinear(c) => run!(c, cases::two_layer_linear),
        Case::DeepLinear(c) => run!(c, cases::deep_linear),
        Case::LambdaBalanced(c) => run!(c, cases::lambda_balanced),
        Case::PiecewiseLinear(_) => unreachable!("not a smooth case"),
    }
}

/// The catalog case file `data/cases/{name}`, parsed.
pub fn case_file(name: &str) -> Case {
    let p = format!("{}/data/cases/{name}", env!("CARGO_MANIFEST_DIR"));
    Case::from_json(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// [`taylor_reference`] of the case file `data/cases/{name}` at its own times, at
/// [`CASE_REF_PREC`] bits and tolerance [`CASE_REF_TOL`], computed once per binary for each
/// file: `certify`'s tightness tests and `validated`'s containment tests made this same run on
/// seven of the same files (each against a different integrator: `simulate --certify`'s
/// enclosure, `enclose_case`'s), ≈ 0.1–1 s apiece.
pub fn case_file_reference(name: &str) -> Arc<Vec<Vec<Float>>> {
    type Slot = Arc<OnceLock<Arc<Vec<Vec<Float>>>>>;
    static REFS: OnceLock<Mutex<HashMap<String, Slot>>> = OnceLock::new();
    let slot = Arc::clone(
        REFS.get_or_init(Default::default)
            .lock()
            .unwrap()
            .entry(name.to_string())
            .or_default(),
    );
    Arc::clone(slot.get_or_init(|| Arc::new(taylor_reference(&case_file(name), CASE_REF_PREC, CASE_REF_TOL))))
}
