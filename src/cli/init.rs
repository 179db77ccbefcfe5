//! `lazyrich init …`: the library's initialisers on the user's data, writing a case file.
//!
//! Each kind takes the data (x, y) of an existing case file (`--data F`, a model with the same
//! data layout), builds the initialisation with the library function named in its doc, and
//! writes a case file of the target model (numbers as exact decimals) that `exact`/`simulate`/
//! `verify --case` accept. The written text is parsed back before it is written (a case that
//! would not load is an error, not a file), and the file is written atomically (a temporary
//! sibling, then one rename). Bad input: exit 2, a message naming the problem and the fix,
//! nothing written. The seed is explicit (required) and printed.

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use lazyrich::case::{Case, DeepLinearCase, LambdaBalancedCase, PiecewiseLinearCase, TwoLayerLinearCase, f64_rows};
use lazyrich::num::decimal::Num;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::path::{Path, PathBuf};

/// The initialisers.
#[derive(Subcommand, Debug)]
pub(super) enum InitCommand {
    /// λ-balanced pair (P2 Algorithm 1, exact decimals: W2ᵀW2 − W1W1ᵀ = λI exactly) on the X, Y of
    /// a lambda_balanced case file.
    LambdaBalanced {
        /// Case file (model lambda_balanced) whose X (d_i×P) and Y (d_o×P) are used.
        #[arg(long)]
        data: PathBuf,
        /// Dimensions d_i,h,d_o (d_i and d_o must match the data).
        #[arg(long)]
        dims: String,
        /// λ, a decimal (e.g. 2, -0.5).
        #[arg(long, allow_hyphen_values = true)]
        lambda: String,
        /// Scale σ of the Gaussian matrices whose product sets the mode strengths.
        #[arg(long, default_value = "1", allow_hyphen_values = true)]
        sigma: f64,
        /// Seed of the random draws (explicit, printed).
        #[arg(long)]
        seed: u64,
        /// Time constant τ (decimal, > 0).
        #[arg(long, default_value = "1", allow_hyphen_values = true)]
        tau: String,
        /// Output times, comma-separated decimals.
        #[arg(long, default_value = "0,1,2,5,10", allow_hyphen_values = true)]
        times: String,
        /// The case file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Deep linear net whose conserved matrices are Q_l = δ_l·I (aligned singular vectors) on the
    /// x, y of a two_layer_linear or deep_linear case file.
    DeepConserved {
        /// Case file (two_layer_linear or deep_linear) whose x (n×d) and y (n×c) are used.
        #[arg(long)]
        data: PathBuf,
        /// Hidden widths h_1,…,h_L (L ≥ 1).
        #[arg(long)]
        hidden: String,
        /// One learning rate per layer (L + 1 values), comma-separated; default all 1.
        #[arg(long, allow_hyphen_values = true)]
        etas: Option<String>,
        /// δ_1,…,δ_L (one per consecutive pair of layers).
        #[arg(long, allow_hyphen_values = true)]
        deltas: String,
        /// Singular-value scales σ_i, comma-separated (the last one repeated).
        #[arg(long, default_value = "1", allow_hyphen_values = true)]
        sigma: String,
        /// Seed of the random orthogonal factors (explicit, printed).
        #[arg(long)]
        seed: u64,
        /// Output times, comma-separated decimals.
        #[arg(long, default_value = "0,1,2,5,10", allow_hyphen_values = true)]
        times: String,
        /// The case file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Wide two-layer linear net with Δ = η_w AAᵀ − η_a WWᵀ = δI_h and WᵀA = β0 on the x, y of a
    /// two_layer_linear or deep_linear case file.
    WideIsotropic {
        /// Case file (two_layer_linear or deep_linear) whose x (n×d) and y (n×c) are used.
        #[arg(long)]
        data: PathBuf,
        /// Hidden width h.
        #[arg(long)]
        hidden: usize,
        /// δ.
        #[arg(long, allow_hyphen_values = true)]
        delta: f64,
        /// The initial function β0 = WᵀA (d×c), row-major, comma-separated.
        #[arg(long, allow_hyphen_values = true)]
        beta0: String,
        /// Learning rate of A.
        #[arg(long, default_value = "1", allow_hyphen_values = true)]
        eta_a: f64,
        /// Learning rate of W.
        #[arg(long, default_value = "1", allow_hyphen_values = true)]
        eta_w: f64,
        /// Seed of the random hidden rotation R (explicit, printed).
        #[arg(long)]
        seed: u64,
        /// Output times, comma-separated decimals.
        #[arg(long, default_value = "0,1,2,5,10", allow_hyphen_values = true)]
        times: String,
        /// The case file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Exactly whitened, exactly task-aligned two-layer linear problem (synthetic data: X from
    /// Hadamard rows, β* = U diag(s) Vᵀ with decimal orthogonal U, V; W0, A0 aligned to its modes),
    /// on which `lazyrich prove` proves the per-mode closed form is the flow.
    TaskAligned {
        /// Dimensions d,h,c.
        #[arg(long)]
        dims: String,
        /// The min(d, c) singular values of β* = XᵀY, distinct decimals > 0, comma-separated.
        #[arg(long)]
        singular_values: String,
        /// Per-mode initial w_i (min(d, c, h) decimals), comma-separated.
        #[arg(long, allow_hyphen_values = true)]
        w: String,
        /// Per-mode initial a_i (min(d, c, h) decimals), comma-separated.
        #[arg(long, allow_hyphen_values = true)]
        a: String,
        /// Learning rate of A (decimal > 0).
        #[arg(long, default_value = "1", allow_hyphen_values = true)]
        eta_a: String,
        /// Learning rate of W (decimal > 0).
        #[arg(long, default_value = "1", allow_hyphen_values = true)]
        eta_w: String,
        /// Seed of the random orthogonal factors U, V, Q (explicit, printed).
        #[arg(long)]
        seed: u64,
        /// Output times, comma-separated decimals.
        #[arg(long, default_value = "0,1,2,5,10", allow_hyphen_values = true)]
        times: String,
        /// The case file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Symmetrised ReLU / leaky net (P1 App. D.1 with rates): h/2 seeded unit directions, each
    /// unit doubled with a negated output weight, so f(x; θ0) = 0 exactly and every δ_k = δ; on
    /// the x, y of a piecewise_linear or single_neuron case file.
    SymmetrisedRelu {
        /// Case file (piecewise_linear or single_neuron) whose x (n×d) and y (n) are used.
        #[arg(long)]
        data: PathBuf,
        /// Hidden width h (even).
        #[arg(long)]
        hidden: usize,
        /// Scale τ: |a_k|·‖w_k‖ = τ².
        #[arg(long, default_value = "0.5", allow_hyphen_values = true)]
        tau: f64,
        /// δ of every unit (η_w a_k² − η_a‖w_k‖²).
        #[arg(long, allow_hyphen_values = true)]
        delta: f64,
        /// Leaky slope γ ∈ [0, 1) (0 = ReLU).
        #[arg(long, default_value = "0", allow_hyphen_values = true)]
        gamma: f64,
        /// Learning rate of a.
        #[arg(long, default_value = "1", allow_hyphen_values = true)]
        eta_a: f64,
        /// Learning rate of W.
        #[arg(long, default_value = "1", allow_hyphen_values = true)]
        eta_w: f64,
        /// Seed of the unit directions (explicit, printed).
        #[arg(long)]
        seed: u64,
        /// Loss normalisation: half-sum, half-mean or mean.
        #[arg(long, default_value = "half-sum")]
        loss: String,
        /// Output times, comma-separated decimals.
        #[arg(long, default_value = "0,1,2,5,10", allow_hyphen_values = true)]
        times: String,
        /// The case file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Run an initialiser: exit 0 with the file written, or an error (exit 2, nothing written).
pub(super) fn run(cmd: InitCommand) -> Result<i32> {
    let (out, case, what) = match cmd {
        InitCommand::LambdaBalanced {
            data,
            dims,
            lambda,
            sigma,
            seed,
            tau,
            times,
            out,
        } => {
            preflight_file(&out)?;
            let (case, what) = lambda_balanced(&data, &dims, &lambda, sigma, seed, &tau, &times)?;
            (out, Case::LambdaBalanced(case), what)
        }
        InitCommand::DeepConserved {
            data,
            hidden,
            etas,
            deltas,
            sigma,
            seed,
            times,
            out,
        } => {
            preflight_file(&out)?;
            let (case, what) = deep_conserved(&data, &hidden, etas.as_deref(), &deltas, &sigma, seed, &times)?;
            (out, Case::DeepLinear(case), what)
        }
        InitCommand::WideIsotropic {
            data,
            hidden,
            delta,
            beta0,
            eta_a,
            eta_w,
            seed,
            times,
            out,
        } => {
            preflight_file(&out)?;
            let case = wide_isotropic(&data, hidden, delta, &beta0, (eta_a, eta_w), seed, &times)?;
            let what = format!("wide isotropic init, h = {hidden}, δ = {delta}, seed {seed}");
            (out, Case::TwoLayerLinear(case), what)
        }
        InitCommand::TaskAligned {
            dims,
            singular_values,
            w,
            a,
            eta_a,
            eta_w,
            seed,
            times,
            out,
        } => {
            preflight_file(&out)?;
            let case = task_aligned(&dims, &singular_values, (&w, &a), (&eta_a, &eta_w), seed, &times)?;
            let what = format!("task-aligned init, dims {dims}, singular values {singular_values}, seed {seed}");
            (out, Case::TwoLayerLinear(case), what)
        }
        InitCommand::SymmetrisedRelu {
            data,
            hidden,
            tau,
            delta,
            gamma,
            eta_a,
            eta_w,
            seed,
            loss,
            times,
            out,
        } => {
            preflight_file(&out)?;
            let spec = ReluSpec {
                hidden,
                tau,
                delta,
                gamma,
                eta_a,
                eta_w,
                seed,
                loss,
            };
            let case = symmetrised_relu(&data, &spec, &times)?;
            let what = format!(
                "symmetrised {} init, h = {hidden}, τ = {tau}, δ = {delta}, seed {seed}",
                if gamma == 0.0 { "ReLU" } else { "leaky" }
            );
            (out, Case::PiecewiseLinear(case), what)
        }
    };
    let text = case.to_json() + "\n";
    // The written case must load as it will be read: parse it back first.
    Case::from_json(&text).map_err(|e| anyhow!("the built case does not load ({e}); nothing written"))?;
    write_file_atomically(&out, &text)?;
    eprintln!("wrote {} ({what})", out.display());
    Ok(0)
}

/// `--out` must name a file in an existing folder (checked before any work).
fn preflight_file(out: &Path) -> Result<()> {
    if out.is_dir() {
        bail!(
            "--out {} is a folder: give a file name, e.g. {}/case.json",
            out.display(),
            out.display()
        );
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        bail!(
            "--out {}: the folder {} does not exist or is not a folder: create it first",
            out.display(),
            parent.display()
        );
    }
    Ok(())
}

/// Write `text` to `out` through a temporary sibling and one rename.
fn write_file_atomically(out: &Path, text: &str) -> Result<()> {
    let name = out
        .file_name()
        .ok_or_else(|| anyhow!("--out {}: not a file name", out.display()))?
        .to_string_lossy()
        .into_owned();
    let tmp = out.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let res = std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, out))
        .with_context(|| format!("cannot write {}: check the folder's permissions", out.display()));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

fn read_data(path: &Path) -> Result<Case> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --data {}: check the path and permissions", path.display()))?;
    Case::from_json(&text).with_context(|| format!("in --data {}", path.display()))
}

fn model_name(c: &Case) -> &'static str {
    match c {
        Case::SingleNeuron(_) => "single_neuron",
        Case::LambdaBalanced(_) => "lambda_balanced",
        Case::TwoLayerLinear(_) => "two_layer_linear",
        Case::DeepLinear(_) => "deep_linear",
        Case::PiecewiseLinear(_) => "piecewise_linear",
    }
}

/// Comma-separated decimals of flag `flag`.
fn nums(flag: &str, text: &str) -> Result<Vec<Num>> {
    text.split(',')
        .map(|s| {
            Num::parse(s.trim()).map_err(|e| {
                anyhow!("--{flag} {text:?}: {s:?} is not a decimal ({e}); give comma-separated decimals, e.g. 0,1,2.5")
            })
        })
        .collect()
}

/// Comma-separated positive integers of flag `flag`.
fn sizes(flag: &str, text: &str) -> Result<Vec<usize>> {
    text.split(',')
        .map(|s| match s.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(anyhow!(
                "--{flag} {text:?}: {s:?} is not a positive integer; give comma-separated sizes, e.g. 3,4,2"
            )),
        })
        .collect()
}

/// Output times: decimals, checked as every case's times are.
fn times_of(text: &str) -> Result<Vec<Num>> {
    let ts = nums("times", text)?;
    let f: Vec<f64> = ts.iter().map(Num::to_f64).collect();
    lazyrich::num::check_times(&f).map_err(|e| anyhow!("--times {text:?}: {e}"))?;
    Ok(ts)
}

fn num_of(what: &str, v: f64) -> Result<Num> {
    Num::from_f64(v).map_err(|e| anyhow!("{what} = {v}: {e}"))
}

fn num_rows(what: &str, flat: &[f64], cols: usize) -> Result<Vec<Vec<Num>>> {
    flat.chunks(cols.max(1))
        .map(|r| r.iter().map(|v| num_of(what, *v)).collect())
        .collect()
}

fn lambda_balanced(
    data: &Path,
    dims: &str,
    lambda: &str,
    sigma: f64,
    seed: u64,
    tau: &str,
    times: &str,
) -> Result<(LambdaBalancedCase, String)> {
    use lazyrich::models::lambda_balanced_exact::{BalancedInit, balanced_init, to_nums};
    let dims = sizes("dims", dims)?;
    let [d_i, h, d_o] = dims[..] else {
        bail!(
            "--dims needs three sizes d_i,h,d_o (input, hidden, output), got {}",
            dims.len()
        );
    };
    let src = read_data(data)?;
    let Case::LambdaBalanced(c) = src else {
        bail!(
            "--data {}: a lambda_balanced case file is needed (X d_i×P and Y d_o×P, samples as columns), got model {}",
            data.display(),
            model_name(&src)
        );
    };
    let (di_data, do_data) = (c.x.len(), c.y.len());
    if d_i != di_data || d_o != do_data {
        bail!(
            "--dims {d_i},{h},{d_o} does not match the data: X has d_i = {di_data} rows and Y has d_o = {do_data}; use \
             --dims {di_data},{h},{do_data}"
        );
    }
    let lam = Num::parse(lambda.trim())
        .and_then(|n| n.to_rational())
        .map_err(|e| anyhow!("--lambda {lambda:?}: not a decimal ({e}); give e.g. 2 or -0.5"))?;
    let tau_n = Num::parse(tau.trim()).map_err(|e| anyhow!("--tau {tau:?}: not a decimal ({e})"))?;
    if !(tau_n.to_f64() > 0.0 && tau_n.to_f64().is_finite()) {
        bail!("--tau {tau}: τ must be a finite decimal > 0 (it is 1/learning rate)");
    }
    let ts = times_of(times)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let init = balanced_init(d_i, h, d_o, &lam, &BalancedInit::new(sigma), &mut rng)
        .map_err(|e| anyhow!("λ-balanced init (dims {d_i},{h},{d_o}, λ = {lambda}, σ = {sigma}): {e}"))?;
    let case = LambdaBalancedCase {
        x: c.x,
        y: c.y,
        w1_0: to_nums(&init.w1).map_err(|e| anyhow!("W1: {e}"))?,
        w2_0: to_nums(&init.w2).map_err(|e| anyhow!("W2: {e}"))?,
        tau: tau_n,
        times: ts,
    };
    Ok((
        case,
        format!("λ-balanced init (P2 Algorithm 1), dims {d_i},{h},{d_o}, λ = {lambda}, σ = {sigma}, seed {seed}"),
    ))
}

/// Rows of decimals.
type NumRows = Vec<Vec<Num>>;

/// x (n×d) and y (n×c) of a linear case file.
fn linear_data(data: &Path) -> Result<(NumRows, NumRows)> {
    match read_data(data)? {
        Case::TwoLayerLinear(c) => Ok((c.x, c.y)),
        Case::DeepLinear(c) => Ok((c.x, c.y)),
        other => bail!(
            "--data {}: a two_layer_linear or deep_linear case file is needed (x n×d, y n×c), got model {}",
            data.display(),
            model_name(&other)
        ),
    }
}

fn deep_conserved(
    data: &Path,
    hidden: &str,
    etas: Option<&str>,
    deltas: &str,
    sigma: &str,
    seed: u64,
    times: &str,
) -> Result<(DeepLinearCase, String)> {
    let hidden = sizes("hidden", hidden)?;
    let (x, y) = linear_data(data)?;
    let (d, c) = (x.first().map_or(0, Vec::len), y.first().map_or(0, Vec::len));
    let mut dims = vec![d];
    dims.extend(&hidden);
    dims.push(c);
    let k = dims.len() - 1;
    let etas: Vec<Num> = match etas {
        Some(t) => nums("etas", t)?,
        None => vec![Num::parse("1").map_err(|e| anyhow!("{e}"))?; k],
    };
    if etas.len() != k {
        bail!(
            "--etas: {} rates given, the net has {k} layers (dims {dims:?}): give one rate per layer",
            etas.len()
        );
    }
    let deltas_n = nums("deltas", deltas)?;
    if deltas_n.len() != k - 1 {
        bail!(
            "--deltas: {} values given, the net has {} consecutive pairs of layers (dims {dims:?}): give one δ per pair",
            deltas_n.len(),
            k - 1
        );
    }
    let sig: Vec<f64> = nums("sigma", sigma)?.iter().map(Num::to_f64).collect();
    if sig.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        bail!("--sigma {sigma}: every σ must be finite and > 0");
    }
    let ts = times_of(times)?;
    let eta_f: Vec<f64> = etas.iter().map(Num::to_f64).collect();
    let delta_f: Vec<f64> = deltas_n.iter().map(Num::to_f64).collect();
    let layers = lazyrich::models::deep_linear::conserved_init(&dims, &eta_f, &delta_f, &sig, seed)
        .map_err(|e| anyhow!("deep conserved-matrix init: {e}"))?;
    let weights0 = layers
        .iter()
        .map(|l| {
            l.iter()
                .map(|r| r.iter().map(|v| num_of("a weight", *v)).collect())
                .collect()
        })
        .collect::<Result<_>>()?;
    // The rates written are the binary64 values the init was built for.
    let etas = eta_f.iter().map(|v| num_of("eta", *v)).collect::<Result<_>>()?;
    Ok((
        DeepLinearCase {
            x,
            y,
            weights0,
            etas,
            times: ts,
        },
        format!("deep conserved-matrix init, dims {dims:?}, δ = {delta_f:?}, seed {seed}"),
    ))
}

fn wide_isotropic(
    data: &Path,
    h: usize,
    delta: f64,
    beta0: &str,
    (eta_a, eta_w): (f64, f64),
    seed: u64,
    times: &str,
) -> Result<TwoLayerLinearCase> {
    let (x, y) = linear_data(data)?;
    let (d, c) = (x.first().map_or(0, Vec::len), y.first().map_or(0, Vec::len));
    let b: Vec<f64> = nums("beta0", beta0)?.iter().map(Num::to_f64).collect();
    if b.len() != d * c {
        bail!(
            "--beta0: {} values given, β0 is d×c = {d}×{c} for this data: give {} values, row-major",
            b.len(),
            d * c
        );
    }
    if h == 0 {
        bail!("--hidden 0: the hidden width must be ≥ 1");
    }
    let ts = times_of(times)?;
    let (w, a) = lazyrich::models::two_layer_linear::isotropic_init(&b, d, c, h, delta, eta_a, eta_w, Some(seed))
        .map_err(|e| anyhow!("wide isotropic init: {e}"))?;
    Ok(TwoLayerLinearCase {
        x,
        y,
        a0: num_rows("A0", &a, c)?,
        w0: num_rows("W0", &w, d)?,
        eta_a: num_of("eta_a", eta_a)?,
        eta_w: num_of("eta_w", eta_w)?,
        times: ts,
    })
}

/// `init task-aligned`: [`lazyrich::models::two_layer_aligned::aligned_problem`] as a case.
fn task_aligned(
    dims: &str,
    svals: &str,
    (w, a): (&str, &str),
    (eta_a, eta_w): (&str, &str),
    seed: u64,
    times: &str,
) -> Result<TwoLayerLinearCase> {
    use lazyrich::models::lambda_balanced_exact::to_nums;
    use lazyrich::models::two_layer_aligned::{AlignedSpec, aligned_problem};
    let dims = sizes("dims", dims)?;
    let [d, h, c] = dims[..] else {
        bail!(
            "--dims needs three sizes d,h,c (input, hidden, output), got {}",
            dims.len()
        );
    };
    let rationals = |flag: &str, text: &str| -> Result<Vec<rug::Rational>> {
        nums(flag, text)?
            .iter()
            .map(|n| n.to_rational().map_err(|e| anyhow!("--{flag}: {e}")))
            .collect()
    };
    let spec = AlignedSpec {
        d,
        h,
        c,
        singular_values: rationals("singular-values", svals)?,
        w: rationals("w", w)?,
        a: rationals("a", a)?,
    };
    let rate = |flag: &str, text: &str| -> Result<Num> {
        let n = Num::parse(text.trim()).map_err(|e| anyhow!("--{flag} {text:?}: not a decimal ({e})"))?;
        if !(n.to_f64() > 0.0 && n.to_f64().is_finite()) {
            bail!("--{flag} {text}: a learning rate must be a finite decimal > 0");
        }
        Ok(n)
    };
    let (eta_a, eta_w) = (rate("eta-a", eta_a)?, rate("eta-w", eta_w)?);
    let ts = times_of(times)?;
    let pr = aligned_problem(&spec, &mut ChaCha8Rng::seed_from_u64(seed))
        .map_err(|e| anyhow!("task-aligned init (dims {d},{h},{c}): {e}"))?;
    let n = |what: &str, m: &[Vec<rug::Rational>]| to_nums(m).map_err(|e| anyhow!("{what}: {e}"));
    Ok(TwoLayerLinearCase {
        x: n("X", &pr.x)?,
        y: n("Y", &pr.y)?,
        a0: n("A0", &pr.a0)?,
        w0: n("W0", &pr.w0)?,
        eta_a,
        eta_w,
        times: ts,
    })
}

struct ReluSpec {
    hidden: usize,
    tau: f64,
    delta: f64,
    gamma: f64,
    eta_a: f64,
    eta_w: f64,
    seed: u64,
    loss: String,
}

fn symmetrised_relu(data: &Path, s: &ReluSpec, times: &str) -> Result<PiecewiseLinearCase> {
    use lazyrich::models::piecewise_linear::{LossScale, check_gamma, scaled_init};
    let (x, y) = match read_data(data)? {
        Case::PiecewiseLinear(c) => (c.x, c.y),
        Case::SingleNeuron(c) => (c.x, c.y),
        other => bail!(
            "--data {}: a piecewise_linear or single_neuron case file is needed (x n×d, y n), got model {}",
            data.display(),
            model_name(&other)
        ),
    };
    if s.hidden < 2 || s.hidden % 2 != 0 {
        bail!(
            "--hidden {}: a symmetrised init pairs every unit (w, a) with (w, −a), so h must be even and ≥ 2",
            s.hidden
        );
    }
    if !(s.tau.is_finite() && s.tau > 0.0) {
        bail!("--tau {}: τ must be finite and > 0 (|a_k|·‖w_k‖ = τ²)", s.tau);
    }
    check_gamma(s.gamma).map_err(|e| anyhow!("--gamma: {e}"))?;
    let _: LossScale = s.loss.parse().map_err(|e| anyhow!("--loss: {e}"))?;
    let ts = times_of(times)?;
    let d = x.first().map_or(0, Vec::len);
    if d == 0 {
        bail!("--data {}: x has no columns", data.display());
    }
    let m = s.hidden / 2;
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let mut dirs = Vec::with_capacity(m * d);
    for _ in 0..m {
        let v: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
        let nrm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        dirs.extend(v.iter().map(|x| x / nrm));
    }
    let signs: Vec<f64> = (0..m).map(|k| if k % 2 == 0 { 1.0 } else { -1.0 }).collect();
    let (w, a) = scaled_init(&dirs, d, &signs, s.tau, s.delta, s.eta_a, s.eta_w, true)
        .map_err(|e| anyhow!("symmetrised init: {e}"))?;
    // The data are checked by the model, as `simulate` will check them.
    lazyrich::models::piecewise_linear::PiecewiseLinear::from_init(
        &f64_rows(&x),
        &lazyrich::case::f64_vec(&y),
        &a,
        &w.chunks(d).map(<[f64]>::to_vec).collect::<Vec<_>>(),
        s.gamma,
        s.eta_a,
        s.eta_w,
        s.loss.parse().map_err(|e| anyhow!("--loss: {e}"))?,
    )
    .map_err(|e| anyhow!("the data and the init do not form a model: {e}"))?;
    Ok(PiecewiseLinearCase {
        x,
        y,
        a0: a.iter().map(|v| num_of("a0", *v)).collect::<Result<_>>()?,
        w0: num_rows("W0", &w, d)?,
        gamma: num_of("gamma", s.gamma)?,
        eta_a: num_of("eta_a", s.eta_a)?,
        eta_w: num_of("eta_w", s.eta_w)?,
        times: ts,
        loss: s.loss.clone(),
    })
}
