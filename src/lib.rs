//! # lazyrich
//!
//! Exact theories of neural-network learning dynamics, checked against simulation, with error
//! bars you can trust.
//!
//! Layers (nothing imports upward):
//!
//! | layer | module | what |
//! |---|---|---|
//! | 0 | [`num`], [`case`] | tolerances, bounds, MPFR helpers, decimal inputs, case files |
//! | 1 | [`models`] | loss, gradient, Hessian of each network (f64, no I/O) |
//! | 2 | [`exact`], [`flow`], [`taylor`] | closed forms (f64, MPFR, balls); gradient-flow integration (diffsol; Taylor series in f64/MPFR) |
//! | 3 | [`metrics`] | observables of states: μ, φ, kernel distance, loss |
//! | 4 | [`verify`], [`sweep`] | theorem checks returning rows (proven or estimated bounds, labelled); τ × δ × seed sweeps (P1 Fig. 1, Fig. 5) |
//! | 5 | [`report`], [`experiment`] | Markdown/CSV/JSON tables and SVG figures; P1 Part III training experiments (deep ReLU MLPs, α-scaled first layer) |
//! | 6 | [`cli`] | commands, files, exit codes (the binary is `cli::main`; the Python package calls `cli::api`) |

#![warn(missing_docs)]

// The CLI's modules name the library `lazyrich::…`, as the binary and the Python package do.
extern crate self as lazyrich;

pub mod case;
pub mod cli;
pub mod exact;
pub mod experiment;
pub mod flow;
pub mod metrics;
pub mod models;
pub mod num;
pub mod report;
pub mod sweep;
pub mod taylor;
pub mod verify;
pub mod workprec;

/// The README's Rust example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctest;
