//! Figures of P2 §6's applications (issue 20): one per protocol (reversal, transfer,
//! fine-tuning), noise sensitivity against λ (P2 Fig. 4E) and the approach of LeCun-initialised
//! networks to λ-balance with width (P2 Fig. 1C). Closed form as lines, simulation or Monte Carlo
//! as markers; error panels with the catalog rows' bounds. Rendering only: the data come from
//! [`crate::verify::lambda_balanced::applications`].

use super::plot::{Figure, Panel, Series, SeriesStyle};
use super::{BoundLine, T_LABEL_P2, error_panel};
use crate::verify::Row;
use crate::verify::lambda_balanced::applications::lecun::LecunData;
use crate::verify::lambda_balanced::applications::noise::NoisePoint;
use crate::verify::lambda_balanced::applications::{
    APPS_T_PHASE, MC_Z, Protocol, ProtocolData, RELEARN_EPS, SADDLE_WINDOW,
};

fn bound_of(rows: &[Row], check: &str, case: &str) -> Option<(f64, bool)> {
    rows.iter()
        .find(|r| r.check == check && r.case == case)
        .map(|r| (r.bound, r.bound_rigorous))
}

fn panel(title: &str, x: &str, y: &str, series: Vec<Series>, log_x: bool, log_y: bool) -> Panel {
    Panel {
        title: title.into(),
        x_label: x.into(),
        y_label: y.into(),
        series,
        log_x,
        log_y,
        equal_aspect: false,
    }
}

/// One protocol's figure: loss on task B over both tasks (closed form restarted at the switch
/// dashed, simulation markers), a protocol panel (reversal: the relearning time T_ε against λ,
/// proven brackets and the simulation; transfer and fine-tuning: ρ(t) over task B), and the
/// error panel |ΔQQᵀ| with each λ's row bound.
pub fn protocol_figure(data: &ProtocolData, rows: &[Row]) -> Figure {
    let p = data.protocol;
    let mut loss_series = Vec::new();
    let mut qqt_err = Vec::new();
    let mut bounds = Vec::new();
    let mut second = Vec::new();
    let mut t_lo = Vec::new();
    let mut t_hi = Vec::new();
    let mut t_sim = Vec::new();
    let t_end = 2.0 * APPS_T_PHASE;
    for (i, c) in data.curves.iter().flatten().enumerate() {
        let run = &c.run;
        // Log axis: the loss reaches ~1e-30; clip at 1e-16 of the start for legibility.
        let floor = 1e-14;
        let pos = |v: f64| if v > floor { v } else { f64::NAN };
        loss_series.push(Series {
            label: format!("λ = {:+}", c.lambda),
            points: run
                .times
                .iter()
                .zip(&run.theory_loss)
                .map(|(t, l)| (*t, pos(l[1])))
                .collect(),
            style: SeriesStyle::DashedLine,
            color_index: i,
        });
        loss_series.push(Series {
            label: String::new(),
            points: run
                .times
                .iter()
                .zip(&run.sim_loss)
                .step_by(2)
                .map(|(t, l)| (*t, pos(l[1])))
                .collect(),
            style: SeriesStyle::Markers,
            color_index: i,
        });
        let res = f64::EPSILON * run.theory_qqt.iter().map(|q| q.amax()).fold(0.0, f64::max);
        qqt_err.push(Series {
            label: String::new(),
            points: run
                .times
                .iter()
                .zip(run.theory_qqt.iter().zip(&run.sim_qqt))
                .map(|(t, (a, b))| {
                    let e = (a - b).amax();
                    (*t, if e > res { e } else { f64::NAN })
                })
                .collect(),
            style: SeriesStyle::Line,
            color_index: i,
        });
        let case = format!("{}_3_3_3_lambda{:+}", p.name(), c.lambda);
        // The λ = 0 reversal row compares up to t_s + SADDLE_WINDOW only (the saddle's condition
        // limit, docs/theory.md §4.7): its bound is drawn there.
        let t_bound = if p == Protocol::Reversal && c.lambda == 0.0 {
            APPS_T_PHASE + SADDLE_WINDOW
        } else {
            t_end
        };
        if let Some((b, r)) = bound_of(rows, p.check_id(), &case) {
            bounds.extend(BoundLine::constant(b, r, i, (0.0, t_bound)));
        }
        match p {
            Protocol::Reversal => {
                if let Ok((lo, hi)) = c.learn_time_proven(RELEARN_EPS) {
                    t_lo.push((c.lambda, lo));
                    t_hi.push((c.lambda, if hi.is_finite() { hi } else { f64::NAN }));
                }
                let ts = c.learn_time_sim(RELEARN_EPS);
                t_sim.push((c.lambda, if ts.is_finite() { ts } else { f64::NAN }));
            }
            _ => {
                let rho = c.rho_sim();
                let ts = &run.times[run.switch..];
                second.push(Series {
                    label: format!("λ = {:+}", c.lambda),
                    points: ts.iter().zip(&rho).map(|(t, r)| (*t, *r)).collect(),
                    style: SeriesStyle::Line,
                    color_index: i,
                });
            }
        }
    }
    let mut panels = vec![panel(
        &format!("loss on task B; switch at t = {APPS_T_PHASE}"),
        T_LABEL_P2,
        "loss on task B",
        loss_series,
        false,
        true,
    )];
    match p {
        Protocol::Reversal => {
            let series = vec![
                Series {
                    label: "proven lower end of T_ε".into(),
                    points: t_lo,
                    style: SeriesStyle::DashedLine,
                    color_index: 0,
                },
                Series {
                    label: "proven upper end (none at λ = 0: > 20)".into(),
                    points: t_hi,
                    style: SeriesStyle::DottedLine,
                    color_index: 1,
                },
                Series {
                    label: "simulation (interpolated)".into(),
                    points: t_sim,
                    style: SeriesStyle::Markers,
                    color_index: 2,
                },
            ];
            panels.push(panel(
                &format!("time to relearn (loss on −T ≤ {RELEARN_EPS}) against λ"),
                "λ",
                "T_ε after the switch",
                series,
                false,
                false,
            ));
        }
        _ => panels.push(panel(
            "ρ(t) = ‖W1ᵀW1(t) − W1ᵀW1(t_s)‖/‖W1ᵀW1(t_s)‖ (task B)",
            T_LABEL_P2,
            "ρ(t)",
            second,
            false,
            false,
        )),
    }
    panels.extend(error_panel(
        "max |Δ QQᵀ|",
        p.check_id(),
        T_LABEL_P2,
        "max-entry error in QQᵀ",
        qqt_err,
        &bounds,
    ));
    let what = match p {
        Protocol::Reversal => "reversal: task T, then −T",
        Protocol::Transfer => "transfer: task U S Vᵀ, then U′ S Vᵀ (shared input features)",
        Protocol::Finetune => "fine-tuning: task U S Vᵀ, then (UG) S (VG)ᵀ (modes 1–2 rotated, cos θ = 4/5)",
    };
    Figure {
        title: format!("λ-balanced 3-3-3, {what}"),
        panels,
        columns: 2,
        panel_width: 620,
        panel_height: 420,
    }
}

/// Vertical bars mean ± MC_Z standard errors (the rows' bound), one dotted segment per λ.
fn error_bars(pts: &[&NoisePoint], f: impl Fn(&NoisePoint) -> (f64, f64)) -> Series {
    let mut points = Vec::new();
    for p in pts {
        let (m, se) = f(p);
        points.extend([
            (p.lambda, m - MC_Z * se),
            (p.lambda, m + MC_Z * se),
            (p.lambda, f64::NAN),
        ]);
    }
    Series {
        label: format!("Monte Carlo ± {MC_Z} s.e."),
        points,
        style: SeriesStyle::DottedLine,
        color_index: 2,
    }
}

/// Noise sensitivity against λ: the exact expected loss increases on the ball closed form (lines)
/// and Monte Carlo (markers), input noise and parameter noise, with the converged formula for
/// parameter noise dashed.
pub fn noise_figure(data: &[Result<NoisePoint, (f64, String)>]) -> Figure {
    let pts: Vec<&NoisePoint> = data.iter().flatten().collect();
    let mk = |f: &dyn Fn(&NoisePoint) -> f64| -> Vec<(f64, f64)> { pts.iter().map(|p| (p.lambda, f(p))).collect() };
    let input = vec![
        Series {
            label: "exact, t = 20".into(),
            points: mk(&|p| p.input_exact.mid().to_f64()),
            style: SeriesStyle::Line,
            color_index: 0,
        },
        Series {
            label: "converged".into(),
            points: mk(&|p| p.input_limit.mid().to_f64()),
            style: SeriesStyle::DashedLine,
            color_index: 1,
        },
        Series {
            label: "Monte Carlo".into(),
            points: mk(&|p| p.input_mc.0),
            style: SeriesStyle::Markers,
            color_index: 2,
        },
        error_bars(&pts, |p| p.input_mc),
    ];
    let param = vec![
        Series {
            label: "exact, t = 20".into(),
            points: mk(&|p| p.param_exact.mid().to_f64()),
            style: SeriesStyle::Line,
            color_index: 0,
        },
        Series {
            label: "converged".into(),
            points: mk(&|p| p.param_limit),
            style: SeriesStyle::DashedLine,
            color_index: 1,
        },
        Series {
            label: "Monte Carlo".into(),
            points: mk(&|p| p.param_mc.0),
            style: SeriesStyle::Markers,
            color_index: 2,
        },
        error_bars(&pts, |p| p.param_mc),
    ];
    Figure {
        title: "Noise sensitivity after task A (3-3-3, t = 20)".into(),
        panels: vec![
            panel(
                "input noise σ = 0.1: E loss increase",
                "λ",
                "E Δloss",
                input,
                false,
                false,
            ),
            panel(
                "parameter noise σ = 0.01: E loss increase",
                "λ",
                "E Δloss",
                param,
                false,
                false,
            ),
        ],
        columns: 1,
        panel_width: 760,
        panel_height: 380,
    }
}

/// LeCun → λ-balance: √E\[D²\] against width n on log–log axes, Monte Carlo markers and the exact
/// formula as a line, with n^{−1/2} through the last point dashed.
pub fn lecun_figure(data: &LecunData) -> Figure {
    let exact: Vec<(f64, f64)> = data.rows.iter().map(|r| (r.0 as f64, r.3.sqrt())).collect();
    let mc: Vec<(f64, f64)> = data.rows.iter().map(|r| (r.0 as f64, r.1.sqrt())).collect();
    let (n_last, v_last) = exact.last().copied().unwrap_or((1.0, 1.0));
    let rate: Vec<(f64, f64)> = exact
        .iter()
        .map(|(n, _)| (*n, v_last * (n / n_last).powf(-0.5)))
        .collect();
    Figure {
        title: "LeCun init, d_i = h = n, d_o = 2n: balance defect against width".into(),
        panels: vec![panel(
            &format!("D = ‖W2ᵀW2 − W1W1ᵀ − λ̄I‖_F/h, λ̄ = 1; {} seeds per width", data.seeds),
            "width n",
            "√E[D²]",
            vec![
                Series {
                    label: "exact formula".into(),
                    points: exact,
                    style: SeriesStyle::Line,
                    color_index: 0,
                },
                Series {
                    label: "rate n^(−1/2)".into(),
                    points: rate,
                    style: SeriesStyle::DashedLine,
                    color_index: 1,
                },
                Series {
                    label: "Monte Carlo".into(),
                    points: mc,
                    style: SeriesStyle::Markers,
                    color_index: 2,
                },
            ],
            true,
            true,
        )],
        columns: 1,
        panel_width: 760,
        panel_height: 480,
    }
}
