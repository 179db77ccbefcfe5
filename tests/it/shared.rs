//! Catalog families that several tests inspect, computed once for the whole binary, in process
//! (each a `OnceLock`: the first test that asks computes it, the others wait for it). Each is the
//! same library call the tests made on their own before, with the same arguments; the catalog
//! functions are deterministic (`quick_catalog::verify_quick_writes_the_library_tables_and_figures_and_passes`
//! compares exactly these in-process runs line by line with the CLI's run), so every test sees
//! the rows it computed before. Rows the quick catalog's CLI run (`quick_catalog::quick_rows`) already
//! holds are read from there instead, by the tests that need them.

use lazyrich::verify::{self, Mode, Row};
use std::sync::OnceLock;

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
