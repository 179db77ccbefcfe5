//! Helpers shared by the integration tests: run the binary, parse its JSON, expect a clean
//! bad-input failure (exit 2, a message naming the problem, no panic, nothing on stdout); and
//! central-difference gradients and Jacobians for the derivative checks.

#![allow(dead_code)] // each test file uses a subset

use lazyrich::models::VectorField;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Run `lazyrich` with `args`.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lazyrich"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// Stdout as JSON, asserting success first.
pub fn json_of(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("stdout is JSON")
}

/// The command must fail as bad input: exit 2, `needle` in the message, no panic, no stdout.
pub fn expect_bad(args: &[&str], needle: &str) {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "args {args:?}: stderr {err}");
    assert!(err.contains(needle), "args {args:?}: expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        o.stdout.is_empty(),
        "partial output on stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Write `text` to `dir/name`.
pub fn write_case(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Central-difference gradient of `f` at `x`, step `step·(1 + |x_i|)`.
pub fn fd_grad(f: impl Fn(&[f64]) -> f64, x: &[f64], step: f64) -> Vec<f64> {
    let mut y = x.to_vec();
    (0..x.len())
        .map(|i| {
            let h = step * (1.0 + x[i].abs());
            y[i] = x[i] + h;
            let up = f(&y);
            y[i] = x[i] - h;
            let dn = f(&y);
            y[i] = x[i];
            (up - dn) / (2.0 * h)
        })
        .collect()
}

/// Column-major Jacobian of a vector field by central differences, step `step·(1 + |x_j|)`.
pub fn fd_jacobian(field: &dyn VectorField, x: &[f64], step: f64) -> Vec<f64> {
    let n = field.dim();
    let mut jac = vec![0.0; n * n];
    let (mut up, mut dn) = (vec![0.0; n], vec![0.0; n]);
    let mut y = x.to_vec();
    for j in 0..n {
        let h = step * (1.0 + x[j].abs());
        y[j] = x[j] + h;
        field.eval_inplace(&y, &mut up);
        y[j] = x[j] - h;
        field.eval_inplace(&y, &mut dn);
        y[j] = x[j];
        for i in 0..n {
            jac[i + j * n] = (up[i] - dn[i]) / (2.0 * h);
        }
    }
    jac
}

/// A JSON matrix of decimal strings (rows of `beta`, `a0`, …) flattened row-major to f64.
pub fn matrix_f64(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("a JSON array of rows")
        .iter()
        .flat_map(|r| {
            r.as_array()
                .expect("a JSON row")
                .iter()
                .map(|x| x.as_str().expect("a decimal string").parse::<f64>().expect("a number"))
        })
        .collect()
}
