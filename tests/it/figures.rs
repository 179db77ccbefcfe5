//! Report figures (issue 18): every theory-vs-simulation figure has an error panel with the bound
//! its table rows promise, labelled proven or estimated as the rows say; time axes carry their
//! convention; a legend that finds no empty spot widens the figure instead of squeezing the plot.

use lazyrich::report::lambda_balanced as lb;
use lazyrich::report::plot::{Figure, Panel, Series, SeriesStyle, render_svg};
use lazyrich::report::{T_LABEL_P2, theory_vs_simulation};
use lazyrich::verify::Row;
use lazyrich::verify::lambda_balanced::experiments as ex;

/// A passing table row with only the fields the figures read set meaningfully.
fn row(check: &str, case: &str, bound: f64, rigorous: bool) -> Row {
    Row {
        check: check.into(),
        family: "lambda_balanced".into(),
        case: case.into(),
        regime: String::new(),
        method: "tsit45".into(),
        tolerance: Some(1e-12),
        quantity: String::new(),
        abs_err: bound / 2.0,
        rel_err: bound / 2.0,
        ref_bound: 0.0,
        ref_method: String::new(),
        ref_rigorous: rigorous,
        bound_rigorous: rigorous,
        drift: None,
        bound,
        bound_why: String::new(),
        margin: 0.5,
        pass: true,
        note: String::new(),
    }
}

/// The error panels of a figure: log vertical axis, title starting with `|` or `max |`.
fn error_panels(fig: &Figure) -> Vec<&Panel> {
    fig.panels
        .iter()
        .filter(|p| p.log_y && (p.title.contains('|')))
        .collect()
}

/// The dashed bound lines of a panel, as their y values.
fn dashed_levels(p: &Panel) -> Vec<f64> {
    p.series
        .iter()
        .filter(|s| s.style == SeriesStyle::DashedLine)
        .flat_map(|s| s.points.iter().map(|q| q.1))
        .collect()
}

#[test]
fn lambda_balanced_figures_draw_the_rows_bounds_in_error_panels() {
    let rows = vec![
        row("LB-KDIST", "kdist_3_3_3_lambda+0", 3e-10, true),
        row("LB-KDIST", "kdist_6_3_3_lambda+4", 2e-10, true),
        row("LB-CONT", "continual_5_5_5_lambda+1", 4e-9, true),
        row("LB-CONT", "continual_5_5_5_lambda+5", 5e-9, false),
    ];

    let fig5 = lb::fig5_figure(&ex::fig5_data().expect("Fig. 5 data"), &rows);
    let errs = error_panels(&fig5);
    assert_eq!(errs.len(), 1, "one error panel under Fig. 5");
    let levels = dashed_levels(errs[0]);
    assert!(levels.contains(&3e-10) && levels.contains(&2e-10), "{levels:?}");
    assert!(errs[0].title.contains("proven bound"), "{}", errs[0].title);
    assert!(
        errs[0]
            .series
            .iter()
            .any(|s| s.style == SeriesStyle::Line && !s.points.is_empty())
    );
    render_svg(&fig5).expect("Fig. 5 renders");

    let cont = lb::continual_figure(&ex::continual_data(1e-12).expect("continual data"), &rows);
    let errs = error_panels(&cont);
    assert_eq!(errs.len(), 2, "loss and QQᵀ error panels");
    let qqt = errs.iter().find(|p| p.title.contains("QQᵀ")).expect("QQᵀ panel");
    let levels = dashed_levels(qqt);
    assert!(levels.contains(&4e-9) && levels.contains(&5e-9), "{levels:?}");
    // One proven and one estimated row: the title must not call both proven.
    assert!(qqt.title.contains("proven or estimated"), "{}", qqt.title);
    for p in &cont.panels {
        assert_eq!(p.x_label, T_LABEL_P2);
    }
    render_svg(&cont).expect("continual renders");

    // Fig. 3: the LB-MODES promise 1e-9·s₁, estimated (the rows prove it on other cases).
    let fig3 = lb::fig3_figure(&ex::fig3_data().expect("Fig. 3 data"));
    let errs = error_panels(&fig3);
    assert_eq!(errs.len(), 3, "one error panel per λ");
    for p in &errs {
        assert!(p.title.contains("estimated bound"), "{}", p.title);
        assert_eq!(dashed_levels(p), vec![ex::SIM_REL_TOL * ex::FIG3_S[0]; 2]);
    }
    for p in &fig3.panels {
        assert_eq!(p.x_label, T_LABEL_P2);
    }
}

#[test]
fn semantic_rsm_figure_has_an_error_panel_with_the_lb_rsm_bound() {
    let data = ex::fig4_data().expect("Fig. 4 data");
    let rows = vec![row("LB-RSM", "semantic_8_8_8_lambda+0", 7e-9, true)];
    let svg = lb::fig4_svg(&data, &rows).expect("Fig. 4 renders");
    assert!(svg.contains("|closed form − sim.| per entry"), "no error panel");
    assert!(svg.contains("dashed: proven bound 7.0e-9, LB-RSM"), "no bound label");
    assert!(svg.contains("entry index"));
    let without = lb::fig4_svg(&data, &[]).expect("renders without rows");
    assert!(!without.contains("dashed:"), "a bound drawn without a row");
}

#[test]
fn time_axes_state_their_convention_and_error_panels_break_at_rounding() {
    let th: Vec<[f64; 4]> = (0..=20)
        .map(|k| f64::from(k) * 0.5)
        .map(|t| [t, t.exp(), t, 1.0])
        .collect();
    // Simulation: the first quantity off by 1e-8 relative, the second exact, the third off at t > 0.
    let sim: Vec<[f64; 4]> = th
        .iter()
        .map(|r| {
            [
                r[0],
                r[1] * (1.0 + 1e-8),
                r[2],
                if r[0] > 0.0 { 1.0 + 1e-6 } else { 1.0 },
            ]
        })
        .collect();
    let fig = theory_vs_simulation(
        "test".into(),
        [("a", "a"), ("b", "b"), ("c", "c")],
        &[("curve".into(), &th, &sim)],
        SeriesStyle::Line,
        (&[[Some((1e-7, true)), None, Some((2e-6, false))]], "row X"),
        "t (unit)",
    );
    // The exact quantity has nothing to draw, so no error panels at all rather than an empty one.
    assert_eq!(
        fig.panels.len(),
        3,
        "{:?}",
        fig.panels.iter().map(|p| &p.title).collect::<Vec<_>>()
    );
    let sim_b: Vec<[f64; 4]> = sim.iter().map(|r| [r[0], r[1], r[2] + 1e-9, r[3]]).collect();
    let fig = theory_vs_simulation(
        "test".into(),
        [("a", "a"), ("b", "b"), ("c", "c")],
        &[("curve".into(), &th, &sim_b)],
        SeriesStyle::Line,
        (&[[Some((1e-7, true)), None, Some((2e-6, false))]], "row X"),
        "t (unit)",
    );
    assert_eq!(fig.panels.len(), 6);
    assert!(fig.panels.iter().all(|p| p.x_label == "t (unit)"));
    assert!(
        fig.panels[3].title.ends_with("dashed: proven bound 1.0e-7, row X"),
        "{}",
        fig.panels[3].title
    );
    assert!(
        fig.panels[5].title.ends_with("dashed: estimated bound 2.0e-6, row X"),
        "{}",
        fig.panels[5].title
    );
    assert!(fig.panels[4].title.contains("no row bounds it") && !fig.panels[4].title.contains("dashed"));
    // At t = 0 the third quantity agrees exactly: a gap (NaN), not a zero on the log axis.
    let c = &fig.panels[5].series[0].points;
    assert!(c[0].1.is_nan() && c[1].1 > 0.0, "{:?}", &c[..2]);
    render_svg(&fig).expect("renders");
}

#[test]
fn a_legend_without_room_widens_the_figure_and_leaves_the_plot_its_size() {
    // Lines through every corner and edge: no empty spot for the legend inside.
    let mut series: Vec<Series> = (0..12)
        .map(|k| Series {
            label: format!("horizontal line number {k}"),
            points: vec![(0.0, f64::from(k) / 11.0), (1.0, f64::from(k) / 11.0)],
            style: SeriesStyle::Line,
            color_index: k as usize,
        })
        .collect();
    series.extend((0..12).map(|k| Series {
        label: String::new(),
        points: vec![(f64::from(k) / 11.0, 0.0), (f64::from(k) / 11.0, 1.0)],
        style: SeriesStyle::Line,
        color_index: 0,
    }));
    let panel = |series: Vec<Series>| Panel {
        title: "p".into(),
        x_label: "x (unit)".into(),
        y_label: "y (unit)".into(),
        series,
        log_x: false,
        log_y: false,
        equal_aspect: false,
    };
    let quiet = panel(vec![Series {
        label: "low".into(),
        points: vec![(0.0, 0.0), (1.0, 0.1), (2.0, 0.0)],
        style: SeriesStyle::Line,
        color_index: 0,
    }]);
    let fig = Figure {
        title: String::new(),
        panels: vec![quiet.clone(), panel(series)],
        columns: 2,
        panel_width: 500,
        panel_height: 400,
    };
    let svg = render_svg(&fig).expect("renders");
    let width: u32 = svg
        .split("width=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .expect("width");
    assert!(
        width > 1000,
        "the crowded panel's legend column widens the figure: {width}"
    );
    // A figure whose legends fit inside keeps its size.
    let fig = Figure {
        panels: vec![quiet.clone(), quiet],
        ..fig
    };
    let svg = render_svg(&fig).expect("renders");
    assert!(svg.starts_with("<svg width=\"1000\""), "{}", &svg[..40]);
}
