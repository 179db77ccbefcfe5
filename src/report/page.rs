//! The report's front page, `index.html`: one self-contained HTML file (inline SVG, inline CSS, no
//! script, no network) that a person opens first.
//!
//! It holds the headline counts ([`Counts`], computed by [`counts`] over the rows), one summary
//! line per check family with links into `table.md` / `table.csv`, the failed rows (if any), and
//! every figure inside a `<figure>` whose `<figcaption>` says what it shows, which paper figure it
//! reproduces and what was simulated how ([`caption`]). Rendering only: the figures arrive as SVG
//! text, the rows as [`Row`]s.

use crate::verify::Row;
use crate::verify::prove::certificates::{Certificate, CertificateStatus};

/// Headline counts over a set of rows. [`Counts::add`] is the one place that decides what is
/// counted, so a new row column (e.g. whether the promised bound is rigorous) is added there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Rows.
    pub rows: usize,
    /// Rows whose reference bound is rigorous (`ref_rigorous`: a proof, not an estimate).
    pub ref_rigorous: usize,
    /// Rows whose promised bound is proven (`bound_rigorous`): the certified rows.
    pub bound_rigorous: usize,
    /// Rows that failed.
    pub failed: usize,
}

impl Counts {
    /// Count one row.
    pub fn add(&mut self, r: &Row) {
        self.rows += 1;
        self.ref_rigorous += usize::from(r.ref_rigorous);
        self.bound_rigorous += usize::from(r.bound_rigorous);
        self.failed += usize::from(!r.pass);
    }

    /// Rows that passed.
    pub fn passed(&self) -> usize {
        self.rows - self.failed
    }
}

/// Counts of one check (`check` column) within a family, with its worst margin.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckCounts {
    /// Check id (e.g. `SN-FLOW`).
    pub check: String,
    /// Its counts.
    pub counts: Counts,
    /// Largest `margin` (error / bound) over its rows; NaN if any row's margin is NaN.
    pub worst_margin: f64,
}

/// Counts of one check family (`family` column), and of each of its checks in row order.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyCounts {
    /// Family (e.g. `single_neuron`).
    pub family: String,
    /// Counts over the family.
    pub counts: Counts,
    /// Per check, in order of first appearance.
    pub checks: Vec<CheckCounts>,
}

/// Counts over all rows.
pub fn counts(rows: &[Row]) -> Counts {
    let mut c = Counts::default();
    rows.iter().for_each(|r| c.add(r));
    c
}

/// Counts per family and per check, in order of first appearance.
pub fn family_counts(rows: &[Row]) -> Vec<FamilyCounts> {
    let mut out: Vec<FamilyCounts> = Vec::new();
    for r in rows {
        let fi = match out.iter().position(|f| f.family == r.family) {
            Some(i) => i,
            None => {
                out.push(FamilyCounts {
                    family: r.family.clone(),
                    counts: Counts::default(),
                    checks: Vec::new(),
                });
                out.len() - 1
            }
        };
        let f = &mut out[fi];
        f.counts.add(r);
        let ci = match f.checks.iter().position(|c| c.check == r.check) {
            Some(i) => i,
            None => {
                f.checks.push(CheckCounts {
                    check: r.check.clone(),
                    counts: Counts::default(),
                    worst_margin: 0.0,
                });
                f.checks.len() - 1
            }
        };
        let c = &mut f.checks[ci];
        c.counts.add(r);
        c.worst_margin = if r.margin.is_nan() || c.worst_margin.is_nan() {
            f64::NAN
        } else {
            c.worst_margin.max(r.margin)
        };
    }
    out
}

/// What a figure's caption says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caption {
    /// Short title.
    pub title: String,
    /// What the figure shows (axes, curves, markers).
    pub shows: String,
    /// Which paper figure it reproduces (or "none" for our own checks).
    pub paper: String,
    /// What was simulated, and how (model, solver, tolerance).
    pub simulated: String,
}

fn cap(title: &str, shows: &str, paper: &str, simulated: &str) -> Caption {
    Caption {
        title: title.into(),
        shows: shows.into(),
        paper: paper.into(),
        simulated: simulated.into(),
    }
}

/// The caption of a report figure, by its file name (`None` for a name the report does not
/// write). Sweep figures are named `sweep_<config>_<kind>.svg`.
pub fn caption(file: &str) -> Option<Caption> {
    let c = match file {
        "fig3_single_neuron.svg" => cap(
            "Single neuron: μ, φ and kernel distance against t",
            "Top: μ(t) = a‖w‖, φ(t) = cos∠(w, β*) and the kernel distance S(0, t) for δ ∈ {−4, …, 4}; the closed \
             form (P1 §3; docs/theory.md §1.4) as lines, the simulated gradient flow as markers (dense for t < 2, \
             where μ dips for δ ≥ 0). Bottom: |closed form − simulation| on a log axis (gaps: the two agree to \
             rounding, e.g. at t = 0), and as a dashed line of the same colour this simulation's proven error bound: the largest distance from a simulated value to its \
             enclosure over the validated integration of the exact flow (128-bit ball arithmetic, as \
             `simulate --certify` computes it); the curve touches the line where the error is largest.",
            "P1 Fig. 3 (single-neuron dynamics across δ).",
            "Parameter gradient flow of f(x) = a·wᵀx (d = 2, the P1 Fig. 3 setup) with diffsol BDF, rtol 1e-10, \
             atol 1e-12; closed form in f64.",
        ),
        "fig2_lambda_balanced.svg" => cap(
            "λ-balanced linear network: loss, network function and kernel distance",
            "Top: loss, projection of W2W1 on the task, and kernel distance S(0, t) for λ ∈ {−2, 0, 2}; the \
             Riccati closed form (P2 Thm 4.1) dashed, simulation as markers. λ = −2 and λ = 2 give identical \
             curves here, so λ = −2 lies under λ = 2, as its legend entry says. For λ = 0 the loss settles at \
             ½s₃² ≈ 0.1285, not 0, and that is its limit: the smallest task mode (singular value s₃ of Σ̃yx) starts \
             with the wrong sign (det W2W1(0) > 0 > det Σ̃yx), and for an exactly balanced square net (λ = 0, \
             d_i = h = d_o) the sign of det W2W1 never changes (docs/theory.md §4.4), so the flow converges to the \
             saddle where that mode is zero; the unbalanced nets (λ = ±2) take the direct path. (This init is \
             balanced only to rounding: after t ≈ 60 f64 computations leave the saddle at a time set by rounding, \
             which is why the window ends at t = 30.) Bottom: |closed form − simulation| at the \
             simulated times on a log axis (gaps: agreement to rounding); no table row bounds these three \
             quantities at this tolerance (LB-SIM bounds QQᵀ at rtol 1e-12), so no bound line is drawn. Time is \
             t/τ with τ = 1.",
            "P2 Fig. 2 (lazy vs rich learning as λ varies).",
            "3-3-3 linear network, P = 10 samples, λ-balanced random init σ = 0.05 (seed 2025), t ≤ 30, Tsit45 \
             rtol 1e-10; closed form in f64.",
        ),
        "thm42_wide_linear.svg" => cap(
            "Wide linear network: Theorem 4.2 β flow against the parameter flow",
            "Singular values of β(t) = WᵀA (d = 3, c = 2) in the downstream, balanced and upstream regimes; \
             Theorem 4.2's self-consistent β flow as lines, the parameter flow as markers. Bottom: \
             |σ_i(Thm 4.2 flow) − σ_i(parameter flow)| on a log axis, one colour per singular value, and the \
             WL-T42 row's bound as a black dashed line. That bound is proven for the Thm 4.2 flow against the \
             validated enclosure of the exact parameter flow; the plotted difference is taken against a Tsit45 \
             parameter flow whose own error (rtol 1e-12) is part of it, so a curve may cross the line without \
             contradicting the bound.",
            "P1 Thm 4.2 (no figure in the paper; our check).",
            "Both flows with diffsol Tsit45, rtol 1e-10.",
        ),
        "fig4b_implicit_bias.svg" => cap(
            "Single neuron, low-rank data: function-space trajectories and their limits",
            "Trajectories β(t) = a(t)w(t) in the (β₁, β₂) plane for X = [[0.5, 1]] (rank one), y = 1.1, one per \
             δ ∈ {−4, −2, −1, 0, 1, 2, 4}, all from the same β0 (black dot); the KKT solution of P1 Thm 3.1 for each \
             δ (open circle of the same colour: where the trajectory should end); the line of interpolants Xβ = y; \
             the δ → +∞ (lazy: β0 − X⁺(Xβ0 − y)) and δ → −∞ (rich: the interpolant cβ0 along β0) limits as dashed \
             lines from β0. Equal aspect.",
            "P1 Fig. 4b (implicit bias of the single neuron across δ).",
            "Parameter gradient flow (η = 1) to t = 200 with diffsol Tsit45 (the IB-KKT rows' tolerance), output \
             log-spaced in t; KKT limit by Newton's method.",
        ),
        "fig3_lambda_balanced_singular_values.svg" => cap(
            "λ-balanced: singular values of W2W1 against t",
            "Top: singular values of W2W1(t) for the task s = (3, 2, 1) from a small aligned init; the per-mode \
             closed form dashed, the SVD of the simulation as markers; λ and −λ give the same curves. Bottom: \
             |σ_i closed form − σ_i simulation| on a log axis, one colour per singular value (gaps: agreement to \
             rounding), and as a black dashed line the LB-MODES promise 1e-9·s₁ (1e-9 relative at rtol 1e-12). \
             It is marked an estimated bound: the LB-MODES rows prove their errors against validated enclosures \
             on other aligned cases (mode strengths 1e-2), not on this run.",
            "P2 Fig. 3 (stage-like learning of the singular values).",
            "3-3-3 linear net, aligned init 1e-3, τ = 1, Tsit45 rtol 1e-12 (the LB-MODES rows' tolerance).",
        ),
        "fig4_lambda_balanced_semantic_rsm.svg" => cap(
            "λ-balanced: representation similarity of the semantic task",
            "W1ᵀW1 (item × item) and W2W2ᵀ (feature × feature) at t_end for the 8-item hierarchical semantic task, \
             closed form and simulation, one column per λ; one diverging colour scale per matrix, shared by closed \
             form and simulation and across λ, with its colour bar. Bottom: |closed form − simulation| of every \
             entry on a log axis (per λ, W1ᵀW1's 64 entries row by row, then W2W2ᵀ's; entries equal to rounding \
             are counted in the panel title and not drawn), measured against the midpoints of the closed form in \
             ball arithmetic — the LB-RSM rows' reference — with each λ's LB-RSM proven bound as a dashed line of \
             its colour, so every entry lies on or under its line.",
            "P2 Fig. 4 (representations depend on λ).",
            "Tsit45 rtol 1e-12 from a λ-balanced init; closed form from the Riccati solution.",
        ),
        "fig5_lambda_balanced_kernel_distance.svg" => cap(
            "λ-balanced: kernel distance against λ and architecture",
            "Top: kernel distance S(0, t_end) against λ for a funnel, a square and an inverted-funnel network; \
             closed form as lines, simulation as markers. Bottom: |closed form − simulation| against λ on a log \
             axis, and as short dashed segments of the same colour the LB-KDIST rows' proven bounds, each at its \
             row's λ (the same runs; a row bounds its own λ only). The lines are the difference to the f64 \
             closed form; the markers on the dashed segments are the rows' own errors, to the closed form in ball \
             arithmetic, which is what the proven bounds bound.",
            "P2 Fig. 5 (NTK movement vs λ and architecture).",
            "Task singular values (2, 1.5, 1), seeded exact-decimal λ-balanced init of scale σ = 0.1 (the same for every λ), τ = 1, t_end = 20, Tsit45 rtol 1e-12 (the LB-KDIST rows' tolerance).",
        ),
        "continual_lambda_balanced.svg" => cap(
            "λ-balanced: continual learning",
            "Top: loss on task 1 and on task 2 while training on task 1, then on task 2; the closed form restarted \
             at the switch dashed, one simulation as markers; the legend gives the forgetting per λ. Bottom left: \
             |closed form − simulation| in the two losses on a log axis (task 1 solid, task 2 dotted; no table row \
             bounds the loss, so no line). Bottom right: the largest entry of |QQᵀ closed form − QQᵀ simulation|, \
             the quantity LB-CONT checks, with each λ's LB-CONT row bound (proven: certified against the restarted \
             closed form in ball arithmetic) as a dashed line of its colour. Gaps: agreement to rounding.",
            "P2 §6 (continual learning; our rendering).",
            "5-5-5 linear net, τ = 1, Tsit45 rtol 1e-12 (the run the LB-CONT rows bound).",
        ),
        "lambda_balanced_reversal.svg" => cap(
            "λ-balanced: reversal learning",
            "Task T until t = 20, then −T from where the network stopped. Top left: loss on −T (log axis), closed form \
             restarted at the switch dashed, simulation as markers; the λ = 0 curve stays at the saddle (for this 3×3 \
             task det(−T) = −det T, so the balanced net would have to cross det W = 0). Top right: the time after the \
             switch to reach loss 1e-2 against λ, the proven bracket from the closed form in ball arithmetic (lower \
             end dashed, upper end dotted; λ = 0 has no upper end on the grid) and the simulation's time as markers. \
             Bottom: max |QQᵀ closed form − QQᵀ simulation| with each λ's LB-REVERSAL proven bound dashed; the λ = 0 \
             row compares up to t = 26.5 only (the saddle's condition limit, docs/theory.md §4.7), where its bound \
             ends: later, rounding seeds the simulation's escape from the saddle and the curves separate.",
            "P2 §6 (reversal learning; quantitative form docs/theory.md §4.7).",
            "3-3-3 linear net, P = 4 exactly whitened points, exact λ-balanced init σ = 0.1, τ = 1, Tsit45 rtol 1e-12 (the run the LB-REVERSAL rows bound).",
        ),
        "lambda_balanced_transfer.svg" => cap(
            "λ-balanced: transfer learning",
            "Task U S Vᵀ until t = 20, then U′ S Vᵀ (the same input features V, new outputs U′). Top left: loss on the \
             second task, closed form restarted at the switch dashed, simulation markers. Top right: the change of the \
             hidden representation ρ(t) = ‖W1ᵀW1(t) − W1ᵀW1(t_s)‖/‖W1ᵀW1(t_s)‖ over the second task (it returns to \
             0: the converged W1ᵀW1 depends on V S² Vᵀ only, shared by both tasks; the transient depends on λ). \
             Bottom: max |ΔQQᵀ| with each λ's LB-TRANSFER proven bound dashed.",
            "P2 §6 (transfer learning; quantitative form docs/theory.md §4.7).",
            "3-3-3 linear net, P = 4 exactly whitened points, exact λ-balanced init σ = 0.1, τ = 1, Tsit45 rtol 1e-12.",
        ),
        "lambda_balanced_finetune.svg" => cap(
            "λ-balanced: fine-tuning",
            "Task U S Vᵀ until t = 20, then (UG) S (VG)ᵀ with G a rotation (cos θ = 4/5) of the two leading modes. \
             Top left: loss on the second task, closed form restarted at the switch dashed, simulation markers. Top right: \
             ρ(t), the relative change of W1ᵀW1 since the switch. Bottom: max |ΔQQᵀ| with each λ's LB-FINETUNE proven \
             bound dashed.",
            "P2 §6 (fine-tuning; quantitative form docs/theory.md §4.7).",
            "3-3-3 linear net, P = 4 exactly whitened points, exact λ-balanced init σ = 0.1, τ = 1, Tsit45 rtol 1e-12.",
        ),
        "lambda_balanced_noise.svg" => cap(
            "λ-balanced: sensitivity to input and parameter noise",
            "After learning the task (t = 20): the expected loss increase under isotropic Gaussian input noise \
             (σ = 0.1; top) and under i.i.d. Gaussian perturbations of every weight (σ = 0.01; bottom) against λ. \
             Lines: the exact expectations evaluated on the closed form in ball arithmetic; dashed: the values at \
             exact convergence (½σ²‖T‖², and ½σ²d Σ√(λ² + 4s²) + ½σ⁴d³); markers: Monte Carlo (20 000 samples, \
             seeded) on the simulated network, with dotted bars ± 5 standard errors (the LB-NOISE rows' estimated \
             bound). Input sensitivity is the same for every λ, parameter sensitivity \
             grows with |λ|.",
            "P2 Fig. 4E (noise sensitivity vs λ; formulas docs/theory.md §4.7).",
            "3-3-3 linear net, task A of the protocols; Monte Carlo seed 4242 (+ λ offset).",
        ),
        "lambda_balanced_lecun.svg" => cap(
            "LeCun initialisation becomes λ-balanced as the layers widen",
            "RMS entry D = ‖W2ᵀW2 − W1W1ᵀ − λ̄I‖_F/h of the balance defect of LeCun-initialised layers \
             (W1 ~ N(0, 1/d_i), W2 ~ N(0, 1/h), d_i = h = n, d_o = 2n, λ̄ = d_o/h − 1 = 1) against n on log–log axes: \
             Monte Carlo over 16 seeds per width (markers), the exact √((1 + 1/h)(d_o/h² + 1/d_i)) (line) and the rate \
             n^(−1/2) (dashed). Entrywise the defect vanishes at that rate; in operator or relative Frobenius norm it \
             does not (docs/theory.md §4.7).",
            "P2 Fig. 1C / Thm A.2–A.3 (statements not read; our quantitative form).",
            "Gaussian draws, seeds 7000 + 1000·n + k.",
        ),
        "fig1a_paths.svg" => cap(
            "Two-layer ReLU net: paths of |a_i|w_i",
            "Gradient-flow paths of |a_i| w_i in the plane (d = 2) for four (τ, δ), coloured by the sign of a_i(0); \
             activation-pattern switches as small dots; the teacher directions a*_j w*_j as dashed rays from the \
             origin. Axes zoomed to the student paths, equal aspect.",
            "P1 Fig. 1a (lazy vs rich paths of the neurons).",
            "h = 50, n = 20, seed 15, t ≤ 100, Tsit45 rtol 1e-6 with activation switches located as events.",
        ),
        "workprec.svg" => cap(
            "Work-precision",
            "Median wall time per solve against the true error (vs each problem's reference), one panel per problem, \
             one curve per solver.",
            "none (benchmark).",
            "See workprec.md for the reference of each problem.",
        ),
        _ => return sweep_caption(file),
    };
    Some(c)
}

fn sweep_caption(file: &str) -> Option<Caption> {
    let rest = file.strip_prefix("sweep_")?.strip_suffix(".svg")?;
    let (config, kind) = [
        "heatmap_phase",
        "heatmap_loss_kernel",
        "heatmap_hamming_param",
        "hamming_vs_param",
    ]
    .iter()
    .find_map(|k| rest.strip_suffix(k).and_then(|c| c.strip_suffix('_')).map(|c| (c, *k)))?;
    let simulated = format!(
        "Sweep `{config}` (data/sweeps/{config}.json; grid, seeds, d, h, n and solver in sweep_{config}.md): \
         two-layer ReLU nets trained by gradient flow, one run per (τ, δ, seed), seed means shown."
    );
    Some(match kind {
        "heatmap_phase" => cap(
            &format!("Sweep {config}: phase portrait over (τ, δ) at the last checkpoint"),
            "One cell per (τ, δ) (rows: initial scale τ, log-spaced; columns: δ = a_i² − ‖w_i‖² at init), coloured \
             by the seed mean at the last checkpoint of: the test loss (mean (f − y)² over fresh test points, log \
             colour scale with decade ticks), the kernel distance S(0, t) = 1 − ⟨K₀, K_t⟩/(‖K₀‖‖K_t‖) of the NTK \
             (with η_a = η_w = 1 it equals the unweighted ΦΦᵀ one), and the Hamming distance of the activation \
             patterns (neurons whose activation on an input flipped, averaged over the training inputs, out of h). \
             Each colour bar labels its two ends with the extreme values shown. Rich learning (large S, many flips, \
             low test loss) at small τ, lazy learning (S ≈ 0) at large τ; δ moves the boundary.",
            "P1 Fig. 1b (phase portrait of lazy vs rich learning).",
            &simulated,
        ),
        "heatmap_loss_kernel" => cap(
            &format!("Sweep {config}: test loss and kernel distance over (τ, δ)"),
            "Seed-mean test loss (log colour scale, decade ticks) and kernel distance S(0, t) (η-weighted NTK and \
             unweighted ΦΦᵀ: one row, titled as identical, when the two coincide, as they do for η_a = η_w = 1) \
             over the initialisation scale τ and δ, one column per checkpoint.",
            "P1 Fig. 1b (phase portrait of lazy vs rich learning).",
            &simulated,
        ),
        "heatmap_hamming_param" => cap(
            &format!("Sweep {config}: Hamming and parameter distance over (τ, δ)"),
            "Seed-mean Hamming distance of the activation patterns (neurons whose activation on an input \
             flipped, averaged over the training inputs, out of h) and parameter distance ‖θ(t) − θ(0)‖ over \
             (τ, δ), log colour scales, one column per checkpoint.",
            "P1 Fig. 1b / Fig. 5 (companion metrics).",
            &simulated,
        ),
        _ => cap(
            &format!("Sweep {config}: Hamming against parameter distance"),
            "Hamming distance (neurons flipped per input) against parameter distance ‖θ(t) − θ(0)‖ at the last \
             checkpoint, one curve per δ through the τ values (log–log; at most six δ values, both ends \
             included, so no two curves share a colour).",
            "P1 Fig. 5.",
            &simulated,
        ),
    })
}

/// Escape text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(ch),
        }
    }
    out
}

/// GitHub-style anchor of a Markdown heading (lowercase, spaces to dashes, other punctuation
/// except `-` and `_` dropped).
fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

fn sci(x: f64) -> String {
    if x.is_nan() { "NaN".into() } else { format!("{x:.2e}") }
}

/// One figure of the page: its file name (written next to the page) and its SVG text.
#[derive(Debug, Clone, Copy)]
pub struct PageFigure<'a> {
    /// File name, e.g. `fig3_single_neuron.svg`.
    pub file: &'a str,
    /// The SVG document.
    pub svg: &'a str,
}

const CSS: &str = "body{font-family:sans-serif;max-width:1500px;margin:1em auto;padding:0 1em;color:#222;line-height:1.4}\
table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.fail{color:#b00;font-weight:bold}.ok{color:#060}\
figure{margin:2em 0;border-top:1px solid #ddd;padding-top:1em}figure svg{max-width:100%;height:auto;display:block}\
figcaption{max-width:1100px;margin-top:0.5em}figcaption b{font-size:1.05em}.muted{color:#666}";

/// The whole page. `tables` names the table files written next to it (linked), `extra` other
/// documents to link (e.g. sweep tables).
pub fn index_html(
    title: &str,
    rows: &[Row],
    certificates: &[Certificate],
    figures: &[PageFigure<'_>],
    extra: &[&str],
) -> String {
    let all = counts(rows);
    let fams = family_counts(rows);
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str(&format!(
        "<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(title)
    ));
    h.push_str(&format!("<h1>{}</h1>\n", escape(title)));
    let verdict = if all.failed == 0 {
        "<span class=\"ok\">all passed</span>".to_string()
    } else {
        format!("<span class=\"fail\">{} failed</span>", all.failed)
    };
    h.push_str(&format!(
        "<p id=\"headline\"><b>{} rows: {} passed, {verdict}.</b> {}</p>\n",
        all.rows,
        all.passed(),
        escape(&crate::verify::Headline::of(rows).proofs_sentence()),
    ));
    h.push_str(
        "<p>Every row compares a computed value with a reference that carries its own error bound, states the bound \
         it promises and why, and passes when margin = error / (bound + reference bound) ≤ 1. A bound is either \
         proven (ball arithmetic, a validated integration: <code>bound_rigorous</code>) or an estimate; only the \
         proven ones are certified. Full tables: \
         <a href=\"table.md\">table.md</a> (one section per check, with the reference method and the reason for the \
         bound), <a href=\"table.csv\">table.csv</a>, <a href=\"table.json\">table.json</a>. Check ids are described \
         in <code>verification/README.md</code>.</p>\n",
    );
    h.push_str(
        "<h2 id=\"families\">Check families</h2>\n<table>\n<tr><th>family</th><th>rows</th><th>passed</th>\
                <th>failed</th><th>rigorous reference</th><th>proven bound</th><th>checks (rows, worst margin)</th></tr>\n",
    );
    for f in &fams {
        let checks: Vec<String> = f
            .checks
            .iter()
            .map(|c| {
                let cls = if c.counts.failed > 0 { " class=\"fail\"" } else { "" };
                format!(
                    "<a href=\"table.md#{}\"{cls}>{}</a> ({}, {})",
                    anchor(&c.check),
                    escape(&c.check),
                    c.counts.rows,
                    sci(c.worst_margin)
                )
            })
            .collect();
        let fcls = if f.counts.failed > 0 {
            " class=\"n fail\""
        } else {
            " class=\"n\""
        };
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td{fcls}>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n",
            escape(&f.family),
            f.counts.rows,
            f.counts.passed(),
            f.counts.failed,
            f.counts.ref_rigorous,
            f.counts.bound_rigorous,
            checks.join(", ")
        ));
    }
    h.push_str("</table>\n");
    if !certificates.is_empty() {
        h.push_str(
            "<h2 id=\"certificates\">Theorem certificates</h2>\n<p>Identities and closed forms of the two papers \
             proved by exact symbolic expansion over ℚ (<code>lazyrich prove</code> proves them for a case file).</p>\n\
             <table>\n<tr><th>statement</th><th>source</th><th>status</th><th>for</th><th>how</th></tr>\n",
        );
        for c in certificates {
            let (cls, status) = match c.status {
                CertificateStatus::Proved => ("ok", "proved"),
                CertificateStatus::Refuted => ("fail", "refuted"),
                CertificateStatus::NotCovered => ("muted", "not covered"),
            };
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class=\"{cls}\">{status}</td><td>{}</td><td>{}</td></tr>\n",
                escape(&c.statement),
                escape(&c.source),
                escape(&c.scope),
                escape(&c.how)
            ));
        }
        h.push_str("</table>\n");
    }
    let failed: Vec<&Row> = rows.iter().filter(|r| !r.pass).collect();
    if !failed.is_empty() {
        h.push_str(&format!(
            "<h2 id=\"failed\">Failed rows ({})</h2>\n<table>\n",
            failed.len()
        ));
        h.push_str("<tr><th>check</th><th>case</th><th>method</th><th>quantity</th><th>abs err</th><th>bound</th><th>note</th></tr>\n");
        for r in failed.iter().take(100) {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n",
                escape(&r.check),
                escape(&r.case),
                escape(&r.method),
                escape(&r.quantity),
                sci(r.abs_err),
                sci(r.bound),
                escape(&r.note)
            ));
        }
        h.push_str("</table>\n");
        if failed.len() > 100 {
            h.push_str(&format!(
                "<p>… and {} more in <a href=\"table.csv\">table.csv</a>.</p>\n",
                failed.len() - 100
            ));
        }
    }
    if !extra.is_empty() {
        let links: Vec<String> = extra
            .iter()
            .map(|e| format!("<a href=\"{0}\">{0}</a>", escape(e)))
            .collect();
        h.push_str(&format!("<p>Other tables: {}.</p>\n", links.join(", ")));
    }
    if !figures.is_empty() {
        h.push_str("<h2 id=\"figures\">Figures</h2>\n<ol>\n");
        for f in figures {
            let t = caption(f.file).map_or_else(|| f.file.to_string(), |c| c.title);
            h.push_str(&format!(
                "<li><a href=\"#{}\">{}</a></li>\n",
                anchor(f.file),
                escape(&t)
            ));
        }
        h.push_str("</ol>\n");
        for (i, f) in figures.iter().enumerate() {
            h.push_str(&format!("<figure id=\"{}\">\n", anchor(f.file)));
            h.push_str(strip_xml_prolog(f.svg).trim_end());
            h.push('\n');
            let c = caption(f.file).unwrap_or_else(|| cap(f.file, "(no caption)", "-", "-"));
            h.push_str(&format!(
                "<figcaption><b>Figure {}. {}.</b> {} <i>Reproduces:</i> {} <i>Simulated:</i> {} \
                 <a href=\"{}\" class=\"muted\">[{}]</a></figcaption>\n</figure>\n",
                i + 1,
                escape(&c.title),
                escape(&c.shows),
                escape(&c.paper),
                escape(&c.simulated),
                escape(f.file),
                escape(f.file)
            ));
        }
    }
    h.push_str("</body>\n</html>\n");
    h
}

/// Drop an `<?xml …?>` declaration, which is not allowed inside HTML.
fn strip_xml_prolog(svg: &str) -> &str {
    let s = svg.trim_start();
    if s.starts_with("<?xml") {
        s.find("?>").map_or(s, |i| s[i + 2..].trim_start())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(check: &str, family: &str, pass: bool, rigorous: bool, margin: f64) -> Row {
        let mut r = Row::pending(check, family, "c", "r".into(), "m", None, "q");
        r.pass = pass;
        r.ref_rigorous = rigorous;
        // Proven bound on the passing rigorous rows only, so the two counts differ.
        r.bound_rigorous = rigorous && pass;
        r.margin = margin;
        r
    }

    #[test]
    fn counts_per_family_and_check() {
        let rows = vec![
            row("SN-FLOW", "single_neuron", true, false, 0.1),
            row("SN-FLOW", "single_neuron", false, true, 2.0),
            row("SN-CONS", "single_neuron", true, true, 0.3),
            row("LB-SIM", "lambda_balanced", true, false, f64::NAN),
        ];
        let c = counts(&rows);
        assert_eq!(
            c,
            Counts {
                rows: 4,
                ref_rigorous: 2,
                bound_rigorous: 1,
                failed: 1
            }
        );
        assert_eq!(c.passed(), 3);
        let f = family_counts(&rows);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].family, "single_neuron");
        assert_eq!(f[0].counts.rows, 3);
        assert_eq!(f[0].checks[0].check, "SN-FLOW");
        assert_eq!(f[0].checks[0].counts.failed, 1);
        assert_eq!(f[0].checks[0].worst_margin, 2.0);
        assert!(f[1].checks[0].worst_margin.is_nan());
        assert_eq!(anchor("SN-TAYLOR-RIG"), "sn-taylor-rig");
    }

    #[test]
    fn every_report_figure_has_a_caption() {
        for f in [
            "fig3_single_neuron.svg",
            "fig2_lambda_balanced.svg",
            "thm42_wide_linear.svg",
            "fig4b_implicit_bias.svg",
            "fig3_lambda_balanced_singular_values.svg",
            "fig4_lambda_balanced_semantic_rsm.svg",
            "fig5_lambda_balanced_kernel_distance.svg",
            "continual_lambda_balanced.svg",
            "lambda_balanced_reversal.svg",
            "lambda_balanced_transfer.svg",
            "lambda_balanced_finetune.svg",
            "lambda_balanced_noise.svg",
            "lambda_balanced_lecun.svg",
            "fig1a_paths.svg",
            "sweep_fig1_small_heatmap_phase.svg",
            "sweep_fig1_small_heatmap_loss_kernel.svg",
            "sweep_xor_small_heatmap_hamming_param.svg",
            "sweep_fig1_paper_hamming_vs_param.svg",
        ] {
            let c = caption(f).unwrap_or_else(|| panic!("no caption for {f}"));
            assert!(!c.shows.is_empty() && !c.paper.is_empty() && !c.simulated.is_empty());
        }
        assert!(caption("sweep_x_other.svg").is_none());
        assert!(caption("nope.svg").is_none());
    }

    #[test]
    fn page_escapes_and_embeds() {
        let rows = vec![row("A<B", "fam&ily", false, false, 3.0)];
        let svg = "<?xml version=\"1.0\"?>\n<svg width=\"10\" height=\"10\"></svg>";
        let page = index_html(
            "t",
            &rows,
            &[],
            &[PageFigure {
                file: "fig2_lambda_balanced.svg",
                svg,
            }],
            &["sweep_a.md"],
        );
        assert!(page.contains("A&lt;B") && page.contains("fam&amp;ily"));
        assert!(!page.contains("<?xml"));
        assert!(page.contains("<figure id=\"fig2_lambda_balancedsvg\">\n<svg"));
        assert!(page.contains("<figcaption>") && page.contains("1 failed"));
    }
}
