//! `lazyrich._lazyrich`: the extension module behind the Python package `lazyrich`.
//!
//! It calls the same functions the CLI's commands call (`lazyrich::cli::api`), so a call returns
//! the JSON text `lazyrich exact|simulate|prove` would print, and `verify` the `table.json` that `lazyrich verify --case` would write. The
//! Python layer (`lazyrich/__init__.py`) converts dicts and numpy arrays to case JSON and parses
//! the results. Errors are `ValueError` with the CLI's message (`{e:#}`, as after `error: `).
//!
//! Long calls run on a worker thread while the calling thread, without the GIL, waits in 50 ms
//! slices and checks for signals between them: Ctrl-C raises `KeyboardInterrupt` at once, but the
//! worker (pure Rust, no cancellation points) finishes its computation in the background and its
//! result is dropped.

use lazyrich::cli;

use clap::ValueEnum;
use lazyrich::case::Case;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// An error as the CLI prints it (after `error: `), raised as `ValueError`.
fn value_error(e: &anyhow::Error) -> PyErr {
    PyValueError::new_err(format!("{e:#}"))
}

/// Run `f` on a worker thread; wait without the GIL, checking signals every 50 ms.
fn interruptible<T: Send + 'static>(
    py: Python<'_>,
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> PyResult<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("lazyrich-call".into())
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(r);
        })
        .map_err(|e| PyValueError::new_err(format!("cannot start a worker thread: {e}")))?;
    let mut rx = rx;
    loop {
        // The receiver is Send, not Sync: it goes into the GIL-free closure and comes back.
        let (got, back) = py.detach(move || (rx.recv_timeout(Duration::from_millis(50)), rx));
        rx = back;
        match got {
            Ok(Ok(r)) => return r.map_err(|e| value_error(&e)),
            Ok(Err(_)) => {
                return Err(PyValueError::new_err(
                    "internal error: the computation panicked (a bug: please report the case)",
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => py.check_signals()?,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(PyValueError::new_err(
                    "internal error: the worker thread ended without a result",
                ));
            }
        }
    }
}

/// The case: JSON text (from a dict) or a case file path (read with the CLI's messages).
fn load_case(case_json: Option<&str>, case_path: Option<&str>) -> anyhow::Result<Case> {
    match (case_json, case_path) {
        (Some(text), None) => Case::from_json(text).map_err(|e| anyhow::anyhow!("in the case dict: {e:#}")),
        (None, Some(p)) => cli::api::read_case(Path::new(p)),
        _ => anyhow::bail!("pass the case as a dict or as the path of a case file"),
    }
}

/// A clap value (`--method`, `--form`, `--events`) parsed as the CLI parses it.
fn choice<E: ValueEnum>(flag: &str, value: &str) -> anyhow::Result<E> {
    E::from_str(value, false).map_err(|_| {
        let names: Vec<String> = E::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        anyhow::anyhow!(
            "invalid value '{value}' for '--{flag}': possible values: {}",
            names.join(", ")
        )
    })
}

/// `lazyrich exact` → its JSON text.
#[pyfunction]
#[pyo3(signature = (case_json, case_path, prec, form, rigorous, certify, idealised))]
#[allow(clippy::too_many_arguments)]
fn exact_json(
    py: Python<'_>,
    case_json: Option<String>,
    case_path: Option<String>,
    prec: i64,
    form: String,
    rigorous: bool,
    certify: bool,
    idealised: bool,
) -> PyResult<String> {
    interruptible(py, move || {
        let args = cli::api::ExactArgs {
            prec: cli::api::check_prec(prec)?,
            form: choice("form", &form)?,
            rigorous,
            certify,
            idealised,
        };
        cli::api::check_exact_args(&args)?;
        let case = load_case(case_json.as_deref(), case_path.as_deref())?;
        Ok(serde_json::to_string(&cli::api::exact(&case, &args)?)?)
    })
}

/// `lazyrich simulate` → its JSON text.
#[pyfunction]
#[pyo3(signature = (case_json, case_path, method, rtol, atol, form, prec, tol, rigorous, certify, events))]
#[allow(clippy::too_many_arguments)]
fn simulate_json(
    py: Python<'_>,
    case_json: Option<String>,
    case_path: Option<String>,
    method: String,
    rtol: f64,
    atol: f64,
    form: String,
    prec: i64,
    tol: Option<f64>,
    rigorous: bool,
    certify: bool,
    events: Option<String>,
) -> PyResult<String> {
    interruptible(py, move || {
        let method = choice("method", &method)?;
        let form = choice("form", &form)?;
        let events = events.as_deref().map(|e| choice("events", e)).transpose()?;
        let prec = cli::api::check_prec(prec)?;
        let case = load_case(case_json.as_deref(), case_path.as_deref())?;
        let args = cli::api::SimulateArgs {
            method,
            rtol,
            atol,
            form,
            prec,
            tol,
            rigorous,
            certify,
            events,
        };
        Ok(serde_json::to_string(&cli::api::simulate(&case, &args)?)?)
    })
}

/// `lazyrich prove` → its JSON text.
#[pyfunction]
#[pyo3(signature = (case_json, case_path, prec, t_end))]
fn prove_json(
    py: Python<'_>,
    case_json: Option<String>,
    case_path: Option<String>,
    prec: i64,
    t_end: Option<f64>,
) -> PyResult<String> {
    interruptible(py, move || {
        let prec = cli::api::check_prec(prec)?;
        let case = load_case(case_json.as_deref(), case_path.as_deref())?;
        Ok(serde_json::to_string(&cli::api::prove(&case, prec, t_end)?)?)
    })
}

/// `lazyrich verify --case` → the `table.json` text (rows) and the `not_applicable` list as JSON.
#[pyfunction]
#[pyo3(signature = (case_json, case_path, name))]
fn verify_json(
    py: Python<'_>,
    case_json: Option<String>,
    case_path: Option<String>,
    name: String,
) -> PyResult<(String, String)> {
    interruptible(py, move || {
        let case = load_case(case_json.as_deref(), case_path.as_deref())?;
        let label = match &case_path {
            Some(p) => format!("case file {p}"),
            None => format!("case {name}"),
        };
        lazyrich::verify::user_case::check_supported(&case).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
        let t = lazyrich::verify::user_case::run(&name, &case).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
        let na = serde_json::to_string(&t.not_applicable)?;
        Ok((lazyrich::report::table::json(&t.rows), na))
    })
}

/// `lazyrich init ARGS…` (writes the case file named by `--out`).
#[pyfunction]
fn init_args(py: Python<'_>, args: Vec<String>) -> PyResult<()> {
    interruptible(py, move || cli::api::init_from_args(&args).map(|_| ()))
}

/// The extension module.
#[pymodule]
fn _lazyrich(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(exact_json, m)?)?;
    m.add_function(wrap_pyfunction!(simulate_json, m)?)?;
    m.add_function(wrap_pyfunction!(prove_json, m)?)?;
    m.add_function(wrap_pyfunction!(verify_json, m)?)?;
    m.add_function(wrap_pyfunction!(init_args, m)?)?;
    Ok(())
}
