//! Helpers shared by the command-line tests: run the binary, parse its JSON, expect a clean
//! bad-input failure (exit 2, a message naming the problem, no panic, nothing on stdout).

#![allow(dead_code)] // each test file uses a subset

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
