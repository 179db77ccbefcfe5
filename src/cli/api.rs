//! The JSON documents of `exact`, `simulate` and `prove` built from a parsed case and options,
//! without printing: the CLI prints them (`emit_json`), the Python package (`python/`, which
//! compiles this module tree in) returns them as dicts. One code path, so both give the same JSON.

use super::{FormArg, MethodArg, OnOff, SpaceArg, certify, check_computed, exact_closed_form};
use super::{deep_linear, lambda_balanced, piecewise_linear, prove, single_neuron, two_layer_linear};
use anyhow::{Result, bail};
use lazyrich::case::Case;
use lazyrich::flow::FlowOptions;
use lazyrich::flow::imex::ImexOptions;
use serde_json::Value;
use std::path::Path;

/// Options of `lazyrich exact` (the flags, parsed).
pub struct ExactArgs {
    /// `--prec`.
    pub prec: u32,
    /// `--form`.
    pub form: FormArg,
    /// `--rigorous`.
    pub rigorous: bool,
    /// `--certify`.
    pub certify: bool,
    /// `--idealised`.
    pub idealised: bool,
}

/// Options of `lazyrich simulate` (the flags, parsed; their doc comments are the help texts).
#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Integration method.
    #[arg(long, value_enum)]
    pub method: MethodArg,
    /// Relative tolerance.
    #[arg(long, default_value_t = 1e-8, allow_negative_numbers = true)]
    pub rtol: f64,
    /// Absolute tolerance.
    #[arg(long, default_value_t = 1e-10, allow_negative_numbers = true)]
    pub atol: f64,
    /// Parameter space (θ = (a, w)) or function space (β, P1 eqs. 3–4).
    #[arg(long, value_enum, default_value_t = SpaceArg::Parameter)]
    pub form: SpaceArg,
    /// Working precision in bits for `--method taylor` (53 = f64; more = MPFR).
    #[arg(long, default_value_t = 53, allow_negative_numbers = true, value_parser = super::parse_prec)]
    pub prec: u32,
    /// Local error tolerance for `--method taylor` (default 1e-12; with `--rigorous`, 2^−prec).
    #[arg(long, allow_negative_numbers = true)]
    pub tol: Option<f64>,
    /// With `--method taylor`: validated integration in ball arithmetic; every quantity is
    /// printed as a proven enclosure {"lo", "hi", "rad"} (single_neuron, two_layer_linear,
    /// deep_linear, lambda_balanced, piecewise_linear up to a switch it cannot cross; any X;
    /// `--prec` 53 … 900).
    #[arg(long)]
    pub rigorous: bool,
    /// Add to every point `err_bound`, a proven upper bound on the absolute error of every
    /// numeric field printed there (against a validated enclosure of the exact flow of the
    /// inputs as written, printed decimals' rounding included), and a top-level `certificate`.
    #[arg(long)]
    pub certify: bool,
    /// piecewise_linear only: locate activation switches as events (default on) or not.
    #[arg(long, value_enum)]
    pub events: Option<OnOff>,
}

/// A case file, read and parsed, with the CLI's messages.
///
/// # Errors
/// An unreadable file or an invalid case (the message names the file).
pub fn read_case(path: &Path) -> Result<Case> {
    super::read_case(path)
}

/// A working precision checked as `--prec` is (53 ..= the maximum), with its message.
///
/// # Errors
/// A value out of range.
pub fn check_prec(prec: i64) -> Result<u32> {
    super::parse_prec(&prec.to_string()).map_err(|e| anyhow::anyhow!("invalid value for '--prec': {e}"))
}

/// The flag conflicts of `lazyrich exact`, checked before the case is read (as the CLI does).
///
/// # Errors
/// Two options that exclude each other.
pub fn check_exact_args(a: &ExactArgs) -> Result<()> {
    if a.rigorous && a.certify {
        bail!("--rigorous prints enclosures and --certify bounds the printed values: pick one");
    }
    if a.idealised && (a.rigorous || a.certify) {
        bail!("--idealised keeps the closed form's estimates; --rigorous and --certify prove bounds: pick one");
    }
    if a.rigorous && matches!(a.form, FormArg::Hyperbolic) {
        bail!("--rigorous evaluates the linearised form only: drop --form hyperbolic");
    }
    Ok(())
}

/// What `lazyrich exact` prints for `case`.
///
/// # Errors
/// Conflicting options, a model without a closed form, a value that could not be computed.
pub fn exact(case_v: &Case, a: &ExactArgs) -> Result<Value> {
    check_exact_args(a)?;
    let ExactArgs {
        prec,
        form,
        rigorous,
        certify: certify_flag,
        idealised,
    } = *a;
    let defect = if rigorous || !certify_flag {
        certify::exact_defect(case_v)?
    } else {
        None
    };
    let v = match (case_v.clone(), defect.as_deref()) {
        (Case::SingleNeuron(_) | Case::LambdaBalanced(_), Some(why)) if rigorous => {
            certify::rigorous_fold(case_v, prec, why)?
        }
        (c, _) => exact_closed_form(c, prec, form, rigorous)?,
    };
    let mut v = v;
    check_computed(&v, "the closed form")?;
    if certify_flag {
        certify::certify_exact(case_v, &mut v, prec)?;
    } else if !rigorous && let Some(why) = defect {
        if idealised {
            certify::mark_idealised(&mut v, &why);
        } else {
            certify::fold_defect(case_v, &mut v, prec, &why)?;
        }
    }
    Ok(v)
}

/// What `lazyrich simulate` prints for `case`.
///
/// # Errors
/// Options that do not apply to the model or method, solver failures, a value that could not be
/// computed.
pub fn simulate(case_v: &Case, a: &SimulateArgs) -> Result<Value> {
    let SimulateArgs {
        method,
        rtol,
        atol,
        form,
        prec,
        tol,
        rigorous,
        certify,
        events,
    } = *a;
    let function_space = matches!(form, SpaceArg::FunctionSpace);
    let case_v = case_v.clone();
    if rigorous {
        if method.flow_method().is_some() || method.ark().is_some() {
            bail!(
                "--rigorous is a mode of --method taylor (validated Taylor integration): use --method taylor, or --certify for a proven bound on another method's output"
            );
        }
        if function_space || events.is_some() {
            bail!("--rigorous integrates the parameter flow: drop --form/--events");
        }
        return certify::rigorous_json(&case_v, prec, tol);
    }
    let certify_case = if certify {
        certify::check_model(&case_v)?;
        Some(case_v.clone())
    } else {
        None
    };
    let tol = tol.unwrap_or(1e-12);
    if events.is_some() && !matches!(case_v, Case::PiecewiseLinear(_)) {
        bail!(
            "--events applies to piecewise_linear cases only (the {} flow is smooth): drop it",
            case_v.model_name()
        );
    }
    let v = match method.flow_method() {
        None if method.ark().is_some() => {
            let tab = method.ark().expect("checked");
            match case_v {
                Case::PiecewiseLinear(c) => {
                    if function_space {
                        bail!("--form function_space is not defined for piecewise_linear: drop it");
                    }
                    let opts = ImexOptions::new()
                        .with_tableau(tab)
                        .with_tol(rtol, atol)
                        .with_adaptive(method.adaptive());
                    if matches!(method, MethodArg::Ark548Events | MethodArg::Ark436Events) && events == Some(OnOff::Off)
                    {
                        bail!(
                            "--method {} lands on every activation switch: drop --events off",
                            clap::ValueEnum::to_possible_value(&method)
                                .map(|v| v.get_name().to_string())
                                .unwrap_or_default()
                        );
                    }
                    piecewise_linear::simulate_json(
                        &c,
                        piecewise_linear::Solver::Imex(opts),
                        events != Some(OnOff::Off),
                    )?
                }
                other => bail!(
                    "--method {} needs a field that names its stiff modes: piecewise_linear cases only, not {}; use bdf or tsit45",
                    tab.name,
                    other.model_name()
                ),
            }
        }
        None => {
            if function_space {
                bail!("--method taylor integrates the parameter flow only: drop --form function_space");
            }
            match case_v {
                Case::SingleNeuron(c) => single_neuron::simulate_taylor_json(&c, prec, tol)?,
                Case::TwoLayerLinear(c) => {
                    deep_linear::simulate_taylor_json(deep_linear::LinearCaseRef::Two(&c), prec, tol)?
                }
                Case::DeepLinear(c) => {
                    deep_linear::simulate_taylor_json(deep_linear::LinearCaseRef::Deep(&c), prec, tol)?
                }
                other => bail!(
                    "--method taylor supports single_neuron, two_layer_linear and deep_linear cases, not {}: use bdf, esdirk34, tr-bdf2 or tsit45",
                    other.model_name()
                ),
            }
        }
        Some(m) => {
            let opts = FlowOptions::new(m).with_tol(rtol, atol);
            match case_v {
                Case::SingleNeuron(c) => single_neuron::simulate_json(&c, &opts, function_space)?,
                Case::LambdaBalanced(c) => {
                    if function_space {
                        bail!(
                            "--form function_space is defined for single_neuron and the linear models, not lambda_balanced: drop it"
                        );
                    }
                    lambda_balanced::simulate_json(&c, &opts)?
                }
                Case::TwoLayerLinear(c) => two_layer_linear::simulate_json(&c, &opts, function_space)?,
                Case::DeepLinear(c) => deep_linear::simulate_json(&c, &opts, function_space)?,
                Case::PiecewiseLinear(c) => {
                    if function_space {
                        bail!("--form function_space is not defined for piecewise_linear: drop it");
                    }
                    piecewise_linear::simulate_json(
                        &c,
                        piecewise_linear::Solver::Diffsol(&opts),
                        events != Some(OnOff::Off),
                    )?
                }
            }
        }
    };
    let mut v = v;
    check_computed(&v, "the simulation")?;
    if let Some(c) = &certify_case {
        certify::certify(c, &mut v)?;
    }
    Ok(v)
}

/// What `lazyrich prove` prints for `case`.
///
/// # Errors
/// As `lazyrich prove`'s JSON.
pub fn prove(case_v: &Case, prec: u32, t_end: Option<f64>) -> Result<Value> {
    prove::prove_json(case_v, prec, t_end)
}

/// `lazyrich init KIND --flag value …` from its arguments (without the leading `lazyrich init`):
/// parsed by the CLI's own parser, then run (writes the case file named by `--out`).
///
/// # Errors
/// Arguments the parser refuses (clap's message, with the usage), and the initialiser's errors.
pub fn init_from_args(args: &[String]) -> Result<i32> {
    #[derive(clap::Parser)]
    #[command(name = "lazyrich init", no_binary_name = true)]
    struct InitArgs {
        #[command(subcommand)]
        kind: super::init::InitCommand,
    }
    let parsed = <InitArgs as clap::Parser>::try_parse_from(args).map_err(|e| anyhow::anyhow!("{}", e.render()))?;
    super::init::run(parsed.kind)
}
