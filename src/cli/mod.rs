//! Subcommands: `exact`, `simulate`, `prove`, `verify`, `report`, `init`, `cases`, `sweep`,
//! `experiment`.
//!
//! Model-specific output lives in one file per model (`single_neuron.rs`, …): `exact` and
//! `simulate` dispatch on the case's `"model"` field.

pub mod api;
mod bench;
mod certify;
mod deep_linear;
mod experiment;
mod init;
mod lambda_balanced;
mod lambda_balanced_apps;
mod piecewise_linear;
mod prove;
mod single_neuron;
mod sweep;
mod two_layer_linear;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand, ValueEnum};
use lazyrich::case::Case;
use lazyrich::exact::single_neuron_mp::Form;
use lazyrich::flow::Method;
use lazyrich::flow::imex::{ARK436, ARK548, ArkTableau};
use lazyrich::flow::kinks::JumpError;
use lazyrich::report::{self, plot, table};
use lazyrich::verify::{self, Mode, Row};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Exact learning dynamics of neural networks, checked against simulation.
#[derive(Parser, Debug)]
#[command(name = "lazyrich", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Evaluate the closed-form solution of a case at its times (JSON on stdout).
    Exact {
        /// Case file (JSON).
        #[arg(long)]
        case: PathBuf,
        /// Working precision in bits (53 = f64 closed form; more = MPFR).
        #[arg(long, default_value_t = 53, allow_negative_numbers = true, value_parser = parse_prec)]
        prec: u32,
        /// Which closed-form route.
        #[arg(long, value_enum, default_value_t = FormArg::Linearised)]
        form: FormArg,
        /// Rigorous enclosures (ball arithmetic): print lo/hi per quantity. single_neuron (linearised
        /// form) and lambda_balanced (inputs exactly whitened and λ-balanced as decimals).
        #[arg(long)]
        rigorous: bool,
        /// Replace the closed form's error estimates by proven bounds: `err_bound` at every point
        /// bounds |printed − exact| for every numeric field printed there, against a validated
        /// enclosure (at --prec + 32 bits) of the exact flow of the inputs as written — input
        /// defects the closed form assumes away and the printed decimals' rounding included.
        #[arg(long)]
        certify: bool,
        /// Keep the closed form's own error estimates when the inputs miss its assumptions (X not
        /// exactly whitened, an init not exactly λ-balanced or task-aligned, decided in exact
        /// arithmetic): the bounds then cover the idealised problem, not the inputs as written, and
        /// `bounds_cover` says so. Without it such inputs get proven bounds from a validated
        /// enclosure of their own flow (as --certify).
        #[arg(long)]
        idealised: bool,
    },
    /// Integrate the gradient flow of a case (JSON on stdout).
    Simulate {
        /// Case file (JSON).
        #[arg(long)]
        case: PathBuf,
        #[command(flatten)]
        args: api::SimulateArgs,
    },
    /// Theorem certificates for a case: identities proved by exact symbolic expansion, assumptions
    /// checked in exact arithmetic (JSON on stdout; statuses proved / refuted / not_applicable).
    Prove {
        /// Case file (JSON).
        #[arg(long)]
        case: PathBuf,
        /// Working precision in bits for an interval proof of `closed_form_solves_flow`: unused for
        /// the single neuron and λ-balanced nets (their proofs are exact) and recorded in the
        /// detail for two-layer linear nets (whose proof is not implemented in this version).
        #[arg(long, default_value_t = 256, allow_negative_numbers = true, value_parser = parse_prec)]
        prec: u32,
        /// End of the interval [0, T] for `closed_form_solves_flow` (default: the case's last time).
        #[arg(long, allow_negative_numbers = true)]
        t_end: Option<f64>,
    },
    /// Time problem R (two-layer ReLU gradient flow; default d = 100, h = 1000, n = 1000,
    /// t ∈ [0, 50]) on the built-in data or on raw data with `--data DIR`.
    BenchProblemR {
        /// Input dimension (default 100; with --data inferred from the files, and checked if given).
        #[arg(long)]
        d: Option<usize>,
        /// Hidden width (default 1000; with --data inferred from the files, and checked if given).
        #[arg(long)]
        h: Option<usize>,
        /// Samples (default 1000; with --data inferred from the files, and checked if given).
        #[arg(long)]
        n: Option<usize>,
        /// Folder with x.f64 (n×d row-major), y.f64 (n) and th0.f64 (θ0 = (W h×d row-major, a h)),
        /// raw little-endian f64: the flow of this data (γ = 0, η = 1, loss (1/2n)Σ(f − y)²)
        /// instead of the built-in seed-2024 problem.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Final time.
        #[arg(long, default_value_t = 50.0)]
        t_end: f64,
        /// Relative tolerance (atol = rtol/100).
        #[arg(long, default_value_t = 1e-8)]
        rtol: f64,
        /// Repetitions (median reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Method: ark436-events (default: the IMEX pair ARK4(3)6L[2]SA with the output layer's
        /// top Hessian mode implicit, on one frozen activation pattern at a time, each step that
        /// leaves it retaken to end on the first switch it crosses: it keeps its tolerance across
        /// the kinks); ark548-events (the same with the 8-stage pair ARK5(4)8L[2]SA); tsit45
        /// (explicit); the plain IMEX pairs ark548, ark436 (rank one, kinks crossed inside
        /// steps); ark548-lanczos, whose implicit subspace is re-estimated by Lanczos;
        /// ark548-kinks(-rem), with the activation-kink jump correction (flow::kinks).
        /// (diffsol's implicit methods would form the dense P×P Jacobian.)
        #[arg(long, value_enum, default_value_t = MethodArg::Ark436Events)]
        method: MethodArg,
        /// Threads for the gradient's GEMMs (1 = sequential, as the peers' timings).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Write the final θ (JSON array) here, to compare methods.
        #[arg(long)]
        save_final: Option<PathBuf>,
        /// Write the final θ here as raw little-endian f64, laid out as th0.f64 (W h×d row-major, a h).
        #[arg(long)]
        theta_out: Option<PathBuf>,
    },
    /// Run the verification catalog and write its tables (each row says whether its bound is proven or an estimate) and figures.
    ///
    /// With `--case F`, run instead every check that applies to the model of the case file F on
    /// F itself and write `table.md`, `table.csv`, `table.json` (the catalog's columns; `case` = the
    /// file's stem) and `not_applicable.json` (the checks whose assumptions F does not meet, and
    /// why). Exit 0: every row passed; 1: a row failed; 2: bad input (nothing written).
    /// Models: single_neuron, two_layer_linear, deep_linear, lambda_balanced, piecewise_linear.
    Verify {
        /// Only the quick catalog (every regime and method, fewer cases).
        #[arg(long, conflicts_with = "case")]
        quick: bool,
        /// Verify this case file (JSON) instead of the catalog.
        #[arg(long)]
        case: Option<PathBuf>,
        /// Output folder (default: `report`, or `report/case-<stem of F>` with --case).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Work-precision benchmark of every solver over a ladder of tolerances (tables + diagram).
    Bench {
        /// Short ladder (3 tolerances) and fewer repeats, for CI.
        #[arg(long)]
        quick: bool,
        /// Output folder.
        #[arg(long, default_value = "report/bench")]
        out: PathBuf,
        /// Compare ratios with this baseline; exit code 1 if a point is slower than the gate factor.
        #[arg(long)]
        gate: Option<PathBuf>,
        /// Write the measured ratios as a new baseline to this file.
        #[arg(long)]
        write_baseline: Option<PathBuf>,
        /// Rows measured by the peers harness (benches/peers), merged into the tables and diagram.
        #[arg(long)]
        peers: Option<PathBuf>,
        /// Write the problems (initial state, times, reference, model data) as JSON for the peers harness.
        #[arg(long)]
        export_problems: Option<PathBuf>,
        /// Only this problem (repeatable; default all): problem_L, single_neuron_downstream,
        /// lambda_balanced_3_3_3, wide_linear_3x2, relu_d3h8n12.
        #[arg(long = "problem")]
        problems: Vec<String>,
    },
    /// Write a case file from one of the library's initialisers on the data of an existing case
    /// file (λ-balanced, deep conserved-matrix, wide isotropic, symmetrised ReLU).
    Init {
        #[command(subcommand)]
        kind: init::InitCommand,
    },
    /// P2 §6 protocols on a λ-balanced case: task A (the case) until --switch, then task B from
    /// where task A ended — reversal (−Y), transfer or finetune (the y of --task2). Closed form
    /// restarted at the switch vs a Tsit45 simulation; proven bounds when the decimal inputs are
    /// exactly whitened and λ-balanced (JSON on stdout).
    Protocol {
        /// reversal, transfer or finetune.
        protocol: String,
        /// Case file (lambda_balanced): X, Y of task A, the init, τ (and default times).
        #[arg(long)]
        case: PathBuf,
        /// transfer/finetune: a lambda_balanced case file with the same x whose y is task B.
        #[arg(long)]
        task2: Option<PathBuf>,
        /// When task A ends and task B starts (> 0).
        #[arg(long, allow_negative_numbers = true)]
        switch: f64,
        /// Output times, comma-separated, absolute (default: the case's times).
        #[arg(long)]
        times: Option<String>,
        /// Tsit45 relative tolerance (atol = rtol·1e-2).
        #[arg(long, default_value_t = 1e-10, allow_negative_numbers = true)]
        rtol: f64,
        /// Loss level that defines task B's learning time.
        #[arg(long, default_value_t = 1e-2, allow_negative_numbers = true)]
        eps: f64,
    },
    /// Write the catalog's case files (JSON) into a folder.
    Cases {
        /// Output folder.
        #[arg(long, default_value = "data/cases")]
        out: PathBuf,
    },
    /// Parameter sweeps (P1 Fig. 1 and Fig. 5): run shards, merge, plot.
    Sweep {
        #[command(subcommand)]
        action: sweep::SweepCommand,
    },
    /// P1 Part III experiments (α-scaled first layer in deeper ReLU networks): run, shard, merge.
    Experiment {
        #[command(subcommand)]
        action: experiment::ExperimentCommand,
    },
    /// The full precision report: the whole catalog, tables and figures.
    Report {
        /// Output folder.
        #[arg(long, default_value = "report")]
        out: PathBuf,
    },
}

/// `on`/`off` (`--events`). The variants have no doc comments: clap would print them as help.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[allow(missing_docs)]
pub enum OnOff {
    On,
    Off,
}

/// The single-neuron closed form's route (`--form` of `exact`): linearised or hyperbolic. The
/// variants have no doc comments: clap would print them as help.
#[derive(Clone, Copy, Debug, ValueEnum)]
#[allow(missing_docs)]
pub enum FormArg {
    Linearised,
    Hyperbolic,
}

/// Parameter space or function space (`--form` of `simulate`). The variants have no doc
/// comments: clap would print them as help.
#[derive(Clone, Copy, Debug, ValueEnum)]
#[allow(missing_docs)]
pub enum SpaceArg {
    Parameter,
    #[value(name = "function_space")]
    FunctionSpace,
}

/// `--method` of `simulate`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MethodArg {
    /// diffsol BDF.
    Bdf,
    /// diffsol ESDIRK34.
    Esdirk34,
    /// diffsol TR-BDF2.
    #[value(name = "tr-bdf2")]
    TrBdf2,
    /// diffsol Tsit45.
    Tsit45,
    /// Taylor series (f64 or MPFR, `--prec`, `--tol`).
    Taylor,
    /// Additive RK 5(4)8L\[2\]SA, stiff modes implicit (piecewise_linear plain flow).
    #[value(help = "Additive RK 5(4)8L[2]SA, stiff modes implicit (piecewise_linear plain flow)")]
    Ark548,
    /// Additive RK 4(3)6L\[2\]SA, stiff modes implicit (piecewise_linear plain flow).
    #[value(help = "Additive RK 4(3)6L[2]SA, stiff modes implicit (piecewise_linear plain flow)")]
    Ark436,
    /// Additive RK 5(4)8L\[2\]SA with a Lanczos-estimated implicit subspace whose rank grows
    /// when more Hessian modes stiffen (piecewise_linear plain flow, η_a = η_w).
    #[value(
        name = "ark548-lanczos",
        help = "Additive RK 5(4)8L[2]SA with a Lanczos-estimated implicit subspace whose rank grows when more Hessian modes stiffen (piecewise_linear plain flow, η_a = η_w)"
    )]
    Ark548Lanczos,
    /// ark548-lanczos with the jump quadrature of `flow::kinks`: every step's error at the
    /// activation kinks it crosses is corrected and the correction counted as error
    /// (bench-problem-r).
    #[value(name = "ark548-kinks")]
    Ark548Kinks,
    /// ark548-kinks counting as error only an estimate of what the jump correction leaves
    /// (second order per crossing) instead of the whole correction (bench-problem-r).
    #[value(name = "ark548-kinks-rem")]
    Ark548KinksRem,
    /// Additive RK 5(4)8L\[2\]SA on the frozen activation pattern (rank-one implicit split), every
    /// step that leaves the pattern retaken to end on the first activation switch it crosses
    /// (`flow::landing`; Filippov sliding handled) (bench-problem-r).
    #[value(name = "ark548-events")]
    Ark548Events,
    /// Additive RK 4(3)6L\[2\]SA with the landing of ark548-events: six stages instead of
    /// eight, which pays where activation switches, not accuracy, set the steps (the default
    /// of bench-problem-r).
    #[value(name = "ark436-events")]
    Ark436Events,
}

impl MethodArg {
    /// The diffsol method, or `None` for the Taylor integrator.
    fn flow_method(self) -> Option<Method> {
        match self {
            MethodArg::Bdf => Some(Method::Bdf),
            MethodArg::Esdirk34 => Some(Method::Esdirk34),
            MethodArg::TrBdf2 => Some(Method::TrBdf2),
            MethodArg::Tsit45 => Some(Method::Tsit45),
            MethodArg::Taylor
            | MethodArg::Ark548
            | MethodArg::Ark436
            | MethodArg::Ark548Lanczos
            | MethodArg::Ark548Kinks
            | MethodArg::Ark548KinksRem
            | MethodArg::Ark548Events
            | MethodArg::Ark436Events => None,
        }
    }
    /// Whether the IMEX pair sizes its implicit subspace by Lanczos.
    fn adaptive(self) -> bool {
        matches!(
            self,
            MethodArg::Ark548Lanczos | MethodArg::Ark548Kinks | MethodArg::Ark548KinksRem
        )
    }
    /// The IMEX pair, if this is one.
    fn ark(self) -> Option<&'static ArkTableau> {
        match self {
            MethodArg::Ark548
            | MethodArg::Ark548Lanczos
            | MethodArg::Ark548Kinks
            | MethodArg::Ark548KinksRem
            | MethodArg::Ark548Events => Some(&ARK548),
            MethodArg::Ark436 | MethodArg::Ark436Events => Some(&ARK436),
            _ => None,
        }
    }
}

/// Entry point; returns the exit code.
/// `--prec`: an integer number of bits in 53 ..= MAX_PREC_BITS, with the range and an example
/// in the message otherwise (negative values included: they reach this parser).
/// Run `work` on a pool of `threads` workers, or on rayon's global pool (all cores) for `None`.
///
/// # Errors
/// When the pool cannot be started (e.g. the system refuses the threads).
fn on_threads<R: Send>(threads: Option<usize>, work: impl FnOnce() -> R + Send) -> Result<R> {
    match threads {
        Some(n) => Ok(rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| anyhow!("cannot start {n} threads: {e}"))?
            .install(work)),
        None => Ok(work()),
    }
}

pub(crate) fn parse_prec(s: &str) -> std::result::Result<u32, String> {
    let max = lazyrich::num::tol::MAX_PREC_BITS;
    match s.trim().parse::<i64>() {
        Ok(v) if (53..=i64::from(max)).contains(&v) => Ok(v as u32),
        Ok(_) | Err(_) => Err(format!(
            "{s} is not in 53..={max} bits (the working precision): pass e.g. --prec 53 (f64) or --prec 256"
        )),
    }
}

/// Print a JSON document on stdout. A reader that closes the pipe early (`| head`) ends the
/// output quietly instead of a panic.
///
/// # Errors
/// Serialisation failures and write errors other than a closed pipe.
pub(crate) fn emit_json(v: &Value) -> Result<()> {
    use std::io::Write;
    let text = serde_json::to_string_pretty(v)?;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Refuse an output in which a value could not be computed: a `null`, or a decimal string that
/// is NaN or infinite, anywhere in a point (values and bounds alike). A value that does not
/// exist is an error naming the quantity, the time and the likely cause — never a printed
/// number with a bound.
///
/// # Errors
/// The first such value, with its field, time and what to do.
fn check_computed(v: &Value, what: &str) -> Result<()> {
    fn bad(x: &Value) -> bool {
        match x {
            Value::Null => true,
            Value::String(s) => {
                let l = s.trim().to_ascii_lowercase();
                l.contains("nan") || l.contains("inf")
            }
            Value::Array(a) => a.iter().any(bad),
            Value::Object(o) => o.values().any(bad),
            _ => false,
        }
    }
    for p in v.get("points").and_then(Value::as_array).into_iter().flatten() {
        let Some(o) = p.as_object() else { continue };
        let t = o
            .get("t")
            .map_or_else(|| "?".to_string(), |t| t.to_string().trim_matches('"').to_string());
        for (k, x) in o {
            if bad(x) {
                let cause = match k.as_str() {
                    "phi" | "kernel_distance" => {
                        "it is undefined there (the angle φ and the kernel distance need w ≠ 0 and a ≠ 0)"
                    }
                    _ => {
                        "it overflowed or lost all precision (very large rates or times: the exponentials \
                         of the solution leave the number range)"
                    }
                };
                bail!(
                    "{what} could not compute {k} at t = {t}: {cause}; no value or bound can be printed for it — \
                     change the case (rates, times, initial weights) or, at high precision, raise --prec"
                );
            }
        }
    }
    Ok(())
}

/// The `lazyrich` command line: parse the arguments, run the command, return the exit code (0
/// success; 1 a verification row failed; 2 bad input or any other error).
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    }
}

/// The closed form of a case as `exact` prints it (no defect handling).
fn exact_closed_form(case: Case, prec: u32, form: FormArg, rigorous: bool) -> Result<Value> {
    Ok(match case {
        Case::SingleNeuron(c) if rigorous => single_neuron::exact_rigorous_json(&c, prec)?,
        Case::SingleNeuron(c) => single_neuron::exact_json(&c, prec, form.into())?,
        Case::LambdaBalanced(c) if rigorous => lambda_balanced::exact_rigorous_json(&c, prec)?,
        Case::LambdaBalanced(c) => {
            if matches!(form, FormArg::Hyperbolic) {
                bail!("--form hyperbolic is a single-neuron route: drop it for lambda_balanced");
            }
            lambda_balanced::exact_json(&c, prec)?
        }
        Case::TwoLayerLinear(_) if rigorous => {
            bail!(
                "--rigorous is available for single_neuron and lambda_balanced cases: drop it for two_layer_linear, \
                 or enclose its flow with `simulate --method taylor --rigorous`"
            )
        }
        Case::TwoLayerLinear(c) => {
            if matches!(form, FormArg::Hyperbolic) {
                bail!("--form hyperbolic is a single-neuron route: drop it for two_layer_linear");
            }
            two_layer_linear::exact_json(&c, prec)?
        }
        Case::DeepLinear(_) => bail!(
            "model \"deep_linear\" has no closed form in `exact`: the task-aligned modes of a deep net obey \
             ȧ_l ∝ Π_(k≠l) a_k (a scalar ODE of degree L+1 per mode) whose solution is not in the theory \
             this tool implements; use `lazyrich simulate` (verified flows)"
        ),
        Case::PiecewiseLinear(_) => bail!(
            "model \"piecewise_linear\" has no closed form in `exact` (its flow switches between \
             activation patterns): use `lazyrich simulate --events on` (event-located flow)"
        ),
    })
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Exact {
            case,
            prec,
            form,
            rigorous,
            certify: certify_flag,
            idealised,
        } => {
            let args = api::ExactArgs {
                prec,
                form,
                rigorous,
                certify: certify_flag,
                idealised,
            };
            api::check_exact_args(&args)?;
            let case_v = read_case(&case)?;
            emit_json(&api::exact(&case_v, &args)?)?;
            Ok(0)
        }
        Command::Simulate { case, args } => {
            let case_v = read_case(&case)?;
            emit_json(&api::simulate(&case_v, &args)?)?;
            Ok(0)
        }
        Command::BenchProblemR {
            d,
            h,
            n,
            data,
            t_end,
            rtol,
            runs,
            method,
            threads,
            save_final,
            theta_out,
        } => {
            let m = match (method.flow_method(), method.ark()) {
                (Some(m), _) => piecewise_linear::BenchMethod::Diffsol(m),
                (None, Some(t)) if matches!(method, MethodArg::Ark548Events | MethodArg::Ark436Events) => {
                    piecewise_linear::BenchMethod::ImexLanding(t)
                }
                (None, Some(t)) => {
                    let jumps = match method {
                        MethodArg::Ark548Kinks => Some(JumpError::Full),
                        MethodArg::Ark548KinksRem => Some(JumpError::Remainder),
                        _ => None,
                    };
                    piecewise_linear::BenchMethod::Imex(t, method.adaptive(), jumps)
                }
                (None, None) => bail!("bench-problem-r: --method taylor is not supported; use tsit45 or ark548"),
            };
            piecewise_linear::bench_problem_r(&piecewise_linear::BenchR {
                sizes: (d, h, n),
                data: data.as_deref(),
                t_end,
                rtol,
                runs,
                method: m,
                threads,
                save_final: save_final.as_deref(),
                theta_out: theta_out.as_deref(),
            })
        }
        Command::Prove { case, prec, t_end } => {
            let case_v = read_case(&case)?;
            let v = api::prove(&case_v, prec, t_end)?;
            emit_json(&v)?;
            Ok(0)
        }
        Command::Verify {
            quick,
            case: Some(case),
            out,
        } => {
            debug_assert!(!quick, "clap: --quick conflicts with --case");
            run_user_case(&case, out.as_deref())
        }
        Command::Verify { quick, case: None, out } => run_catalog(
            if quick { Mode::Quick } else { Mode::Full },
            out.as_deref().unwrap_or(Path::new("report")),
            false,
        ),
        Command::Report { out } => run_catalog(Mode::Full, &out, true),
        Command::Sweep { action } => sweep::run(action),
        Command::Experiment { action } => experiment::run(action),
        Command::Bench {
            quick,
            out,
            gate,
            write_baseline,
            peers,
            export_problems,
            problems,
        } => bench::run(
            quick,
            &out,
            gate.as_deref(),
            write_baseline.as_deref(),
            peers.as_deref(),
            export_problems.as_deref(),
            &problems,
        ),
        Command::Protocol {
            protocol,
            case,
            task2,
            switch,
            times,
            rtol,
            eps,
        } => {
            let v = lambda_balanced_apps::protocol_json(&lambda_balanced_apps::ProtocolArgs {
                protocol: &protocol,
                case: &case,
                task2: task2.as_deref(),
                switch,
                times: times.as_deref(),
                rtol,
                eps,
            })?;
            emit_json(&v)?;
            Ok(0)
        }
        Command::Init { kind } => init::run(kind),
        Command::Cases { out } => {
            let cases = verify::single_neuron::catalog();
            let mut files: Vec<(String, String)> = cases
                .iter()
                .map(|c| {
                    (
                        format!("{}.json", c.name),
                        Case::SingleNeuron(c.case.clone()).to_json() + "\n",
                    )
                })
                .collect();
            files.push((
                "non_whitened.json".into(),
                Case::SingleNeuron(verify::single_neuron::non_whitened_case()).to_json() + "\n",
            ));
            files.extend(verify::lambda_balanced::catalog(false).into_iter().map(|c| {
                (
                    format!("{}.json", c.name),
                    Case::LambdaBalanced(c.case).to_json() + "\n",
                )
            }));
            files.extend(linear_case_files()?);
            let refs: Vec<(&str, String)> = files.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
            write_all_atomically(&out, &refs)?;
            eprintln!("wrote {} case files to {}", refs.len(), out.display());
            Ok(0)
        }
    }
}

/// Case files of the linear catalogs: wide (`wl_*`, the Theorem 4.2 cases and controls), task-aligned
/// (`al_*`, which `exact` evaluates in closed form) and deep (`dl_*`).
fn linear_case_files() -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    let wide = verify::wide_linear::catalog()
        .into_iter()
        .chain(verify::wide_linear::controls());
    for w in wide {
        let c = verify::wide_linear::to_case(&w).map_err(|e| anyhow!("{}: {e}", w.name))?;
        files.push((format!("wl_{}.json", w.name), Case::TwoLayerLinear(c).to_json() + "\n"));
    }
    for s in verify::mirror_modes::catalog() {
        let c = verify::mirror_modes::aligned_case(&s);
        files.push((format!("al_{}.json", s.0), Case::TwoLayerLinear(c).to_json() + "\n"));
    }
    for dcase in verify::deep_linear::catalog() {
        let c = verify::deep_linear::to_case(&dcase).map_err(|e| anyhow!("{}: {e}", dcase.name))?;
        files.push((format!("dl_{}.json", dcase.name), Case::DeepLinear(c).to_json() + "\n"));
    }
    Ok(files)
}

fn read_case(path: &Path) -> Result<Case> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read case file {}: check the path and permissions",
            path.display()
        )
    })?;
    Case::from_json(&text).with_context(|| format!("in case file {}", path.display()))
}

impl From<FormArg> for Form {
    fn from(f: FormArg) -> Form {
        match f {
            FormArg::Linearised => Form::Linearised,
            FormArg::Hyperbolic => Form::Hyperbolic,
        }
    }
}

/// A finite f64 as a JSON number, anything else as null.
pub(crate) fn num_or_null(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

fn run_catalog(mode: Mode, out: &Path, full_report: bool) -> Result<i32> {
    preflight_out(out)?;
    eprintln!(
        "running the {} catalog…",
        if mode == Mode::Quick { "quick" } else { "full" }
    );
    let start = std::time::Instant::now();
    // The theorem certificates (≈ 0.8 s of exact algebra, one thread) do not depend on the rows:
    // made alongside the catalog instead of after it.
    let (rows, certificates): (Vec<Row>, _) = rayon::join(
        || verify::run(mode),
        lazyrich::verify::prove::certificates::certificates,
    );
    let fig = verify::single_neuron::fig3_data().map_err(|e| anyhow!("figure data: {e}"))?;
    let svg = plot::render_svg(&report::fig3_figure(&fig)).map_err(|e| anyhow!("figure: {e}"))?;
    let fig2 = verify::lambda_balanced::fig2_data().map_err(|e| anyhow!("figure data: {e}"))?;
    let svg2 = plot::render_svg(&report::lambda_balanced::fig2_figure(&fig2)).map_err(|e| anyhow!("figure: {e}"))?;
    let fig42 = verify::wide_linear::thm42_fig_data().map_err(|e| anyhow!("Theorem 4.2 figure data: {e}"))?;
    let svg42 =
        plot::render_svg(&report::thm42_figure(&fig42, &rows)).map_err(|e| anyhow!("Theorem 4.2 figure: {e}"))?;
    let fig4b = verify::implicit_bias::fig4b_data().map_err(|e| anyhow!("Fig. 4b data: {e}"))?;
    let svg4b = plot::render_svg(&report::implicit_bias::fig4b_figure(&fig4b)).map_err(|e| anyhow!("Fig. 4b: {e}"))?;
    let title = if full_report {
        "lazyrich precision report"
    } else {
        "lazyrich verification"
    };
    let mut lb_figs = lambda_balanced::extra_figures(&rows)?;
    lb_figs.extend(lambda_balanced_apps::figures(&rows)?);
    let extra = if full_report {
        sweep::report_files()?
    } else {
        Vec::new()
    };
    let mut figure_names = vec![
        "fig3_single_neuron.svg",
        "fig2_lambda_balanced.svg",
        "thm42_wide_linear.svg",
        "fig4b_implicit_bias.svg",
    ];
    figure_names.extend(lb_figs.iter().map(|(n, _)| *n));
    figure_names.extend(extra.iter().map(|(n, _)| n.as_str()).filter(|n| n.ends_with(".svg")));
    let figure_svgs: Vec<(&str, &str)> = vec![
        (figure_names[0], svg.as_str()),
        (figure_names[1], svg2.as_str()),
        (figure_names[2], svg42.as_str()),
        (figure_names[3], svg4b.as_str()),
    ];
    let page_figures: Vec<report::page::PageFigure<'_>> = figure_svgs
        .iter()
        .map(|(file, svg)| report::page::PageFigure { file, svg })
        .chain(lb_figs.iter().map(|(file, svg)| report::page::PageFigure { file, svg }))
        .chain(
            extra
                .iter()
                .filter(|(n, _)| n.ends_with(".svg"))
                .map(|(file, svg)| report::page::PageFigure { file, svg }),
        )
        .collect();
    let extra_docs: Vec<&str> = extra
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| n.ends_with(".md"))
        .collect();
    let page = report::page::index_html(title, &rows, &certificates, &page_figures, &extra_docs);
    let mut files: Vec<(&str, String)> = vec![
        ("index.html", page),
        ("README.md", report::summary(title, &rows, &figure_names)),
        ("table.md", table::markdown(title, &rows)),
        ("table.csv", table::csv(&rows)),
        ("table.json", table::json(&rows)),
    ];
    files.extend(figure_svgs.iter().map(|(n, c)| (*n, (*c).to_string())));
    files.extend(lb_figs.iter().map(|(n, c)| (*n, c.clone())));
    files.extend(extra.iter().map(|(n, c)| (n.as_str(), c.clone())));
    write_all_atomically(out, &files)?;
    let c = report::page::counts(&rows);
    let failed = c.failed;
    eprintln!(
        "{} rows: {} passed, {} failed ({} with a rigorous reference, {} with a proven bound) in {:.1} s.",
        c.rows,
        c.passed(),
        c.failed,
        c.ref_rigorous,
        c.bound_rigorous,
        start.elapsed().as_secs_f64(),
    );
    eprintln!(
        "Report: {} ({} figures; tables table.md, table.csv, table.json in {}).",
        out.join("index.html").display(),
        page_figures.len(),
        out.display()
    );
    const SHOWN_FAILURES: usize = 20;
    for r in rows.iter().filter(|r| !r.pass).take(SHOWN_FAILURES) {
        eprintln!(
            "FAIL {} {} {} {:?} {}: err {:.3e} bound {:.3e} {}",
            r.check, r.case, r.method, r.tolerance, r.quantity, r.abs_err, r.bound, r.note
        );
    }
    if failed > SHOWN_FAILURES {
        eprintln!("… and {} more failed rows (table.md).", failed - SHOWN_FAILURES);
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// `verify --case F`: the checks of F's model on F ([`verify::user_case::run`]), written as the
/// catalog's tables plus `not_applicable.json`; exit 0 / 1 as the rows pass / fail.
fn run_user_case(path: &Path, out: Option<&Path>) -> Result<i32> {
    let case = read_case(path)?;
    verify::user_case::check_supported(&case).map_err(|e| anyhow!("case file {}: {e}", path.display()))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            anyhow!(
                "case file {} has no file name: pass a path to a .json file",
                path.display()
            )
        })?;
    let default_out = Path::new("report").join(format!("case-{name}"));
    let out = out.unwrap_or(&default_out);
    preflight_out(out)?;
    eprintln!(
        "verifying case {name} ({}): every check of the model (closed forms, solvers, conservation, enclosures; \
         may take a minute)…",
        case.model_name()
    );
    let start = std::time::Instant::now();
    let t = verify::user_case::run(&name, &case).map_err(|e| anyhow!("case file {}: {e}", path.display()))?;
    let title = format!("lazyrich verification of case {name} ({})", case.model_name());
    let mut md = table::markdown(&title, &t.rows);
    if !t.not_applicable.is_empty() {
        let mut s = String::from("Not applicable to this case (not run):\n\n");
        for n in &t.not_applicable {
            s.push_str(&format!("- {}: {}\n", n.check, n.why));
        }
        s.push('\n');
        let at = md.find("\n\n").map_or(md.len(), |i| i + 2);
        md.insert_str(at, &s);
    }
    let na_json = serde_json::to_string_pretty(&json!({ "case": name, "not_applicable": t.not_applicable }))
        .context("not_applicable.json")?;
    let files: Vec<(&str, String)> = vec![
        ("table.md", md),
        ("table.csv", table::csv(&t.rows)),
        ("table.json", table::json(&t.rows)),
        ("not_applicable.json", na_json),
    ];
    write_all_atomically(out, &files)?;
    let failed = t.rows.iter().filter(|r| !r.pass).count();
    eprintln!(
        "{} rows: {} passed, {} failed; {} check group(s) not applicable, in {:.1} s. Tables in {}.",
        t.rows.len(),
        t.rows.len() - failed,
        failed,
        t.not_applicable.len(),
        start.elapsed().as_secs_f64(),
        out.display()
    );
    for n in &t.not_applicable {
        eprintln!("not applicable: {}: {}", n.check, n.why);
    }
    for r in t.rows.iter().filter(|r| !r.pass) {
        eprintln!(
            "FAIL {} {} {:?} {}: err {:.3e} bound {:.3e} {}",
            r.check, r.method, r.tolerance, r.quantity, r.abs_err, r.bound, r.note
        );
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// Check, before any work, that `dir` can be written: it is a directory, or its nearest existing
/// ancestor is one, and a probe file can be created (and is removed) there. Nothing is created.
///
/// # Errors
/// The path and the reason (not a directory, not writable), with the fix.
pub(crate) fn preflight_out(dir: &Path) -> Result<()> {
    let mut probe_in = dir;
    while !probe_in.exists() {
        match probe_in.parent() {
            Some(p) if !p.as_os_str().is_empty() => probe_in = p,
            _ => {
                probe_in = Path::new(".");
                break;
            }
        }
    }
    if !probe_in.is_dir() {
        bail!(
            "cannot write the output folder {}: {} exists and is not a folder; pass another --out",
            dir.display(),
            probe_in.display()
        );
    }
    let probe = probe_in.join(format!(".lazyrich-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| {
        format!(
            "cannot write the output folder {} (in {}): pass a writable --out",
            dir.display(),
            probe_in.display()
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Write every file to a temporary name in `dir`, then rename them all: an error leaves no
/// partial file behind.
pub(crate) fn write_all_atomically(dir: &Path, files: &[(&str, String)]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create output folder {}", dir.display()))?;
    let tmp: Vec<PathBuf> = files
        .iter()
        .map(|(n, _)| dir.join(format!(".{n}.tmp-{}", std::process::id())))
        .collect();
    for ((_, content), t) in files.iter().zip(&tmp) {
        if let Err(e) = std::fs::write(t, content) {
            for t in &tmp {
                let _ = std::fs::remove_file(t);
            }
            bail!("cannot write {}: {e}", t.display());
        }
    }
    for ((name, _), t) in files.iter().zip(&tmp) {
        std::fs::rename(t, dir.join(name)).with_context(|| format!("cannot write {}", dir.join(name).display()))?;
    }
    Ok(())
}
