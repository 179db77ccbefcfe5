//! SVG heatmaps: a grid of panels, each a matrix of values over two categorical axes (e.g. τ
//! rows × δ columns), coloured with the viridis map, with its own colour bar.
//!
//! Like [`super::plot`], the output is a pure function of the input (byte-identical on
//! re-rendering) and all text is SVG `<text>`. Missing entries (`None`) and non-finite values are
//! drawn grey; on a logarithmic colour scale, values ≤ 0 are also drawn grey. A panel without a
//! single drawable value is an error.

use super::plot::PlotError;
use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One heatmap panel.
#[derive(Debug, Clone)]
pub struct HeatmapPanel {
    /// Caption.
    pub title: String,
    /// Horizontal axis description.
    pub x_label: String,
    /// Vertical axis description.
    pub y_label: String,
    /// Column labels (left to right).
    pub x_ticks: Vec<String>,
    /// Row labels (bottom to top).
    pub y_ticks: Vec<String>,
    /// values[row][column].
    pub values: Vec<Vec<Option<f64>>>,
    /// Colour by log10 of the value.
    pub log_scale: bool,
    /// What the colour measures and its unit, written above the colour bar (e.g. "flips per input").
    pub unit: String,
}

/// A figure of heatmap panels in a grid.
#[derive(Debug, Clone)]
pub struct HeatmapFigure {
    /// Overall title.
    pub title: String,
    /// Panels in reading order.
    pub panels: Vec<HeatmapPanel>,
    /// Grid columns.
    pub columns: usize,
    /// Panel width (px).
    pub panel_width: u32,
    /// Panel height (px).
    pub panel_height: u32,
}

const GREY: RGBColor = RGBColor(200, 200, 200);
const FONT: &str = "sans-serif";

fn draw_err(e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// The colour coordinate of a value, or `None` when it cannot be drawn.
fn coord(v: Option<f64>, log: bool) -> Option<f64> {
    let v = v.filter(|v| v.is_finite())?;
    if log { (v > 0.0).then(|| v.log10()) } else { Some(v) }
}

/// Text of a value (≤ 3 significant digits; scientific outside 1e-2..1e4).
fn value_text(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() < 1e-2 || v.abs() >= 1e4 {
        let s = format!("{v:.2e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = if m.contains('.') {
            m.trim_end_matches('0').trim_end_matches('.')
        } else {
            m
        };
        format!("{m}e{e}")
    } else {
        let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 4) as usize;
        let s = format!("{v:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// Tick positions (colour coordinates) inside `lo..hi` for the colour bar: on a log scale the
/// whole decades (every k-th when there are many), else round linear steps; the ends are
/// labelled separately.
fn bar_ticks(lo: f64, hi: f64, log: bool) -> Vec<f64> {
    let span = hi - lo;
    if log {
        let (a, b) = (lo.ceil() as i64, hi.floor() as i64);
        let n = (b - a + 1).max(0);
        let stride = ((n + 3) / 4).max(1);
        return (a..=b)
            .filter(|k| k.rem_euclid(stride) == 0)
            .map(|k| k as f64)
            .collect();
    }
    let raw = span / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Render to an SVG document.
///
/// # Errors
/// [`PlotError`] if there are no panels, a panel has no drawable value or its rows do not match
/// its tick labels, or drawing fails.
pub fn render_heatmaps(fig: &HeatmapFigure) -> Result<String, PlotError> {
    if fig.panels.is_empty() {
        return Err(PlotError::Empty {
            figure: fig.title.clone(),
        });
    }
    let mut ranges = Vec::new();
    for p in &fig.panels {
        let shape_ok = p.values.len() == p.y_ticks.len() && p.values.iter().all(|r| r.len() == p.x_ticks.len());
        let cs: Vec<f64> = p
            .values
            .iter()
            .flatten()
            .filter_map(|v| coord(*v, p.log_scale))
            .collect();
        if !shape_ok || cs.is_empty() {
            return Err(PlotError::NoFinitePoints { panel: p.title.clone() });
        }
        let lo = cs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = cs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        ranges.push(if hi > lo { (lo, hi) } else { (lo - 0.5, lo + 0.5) });
    }
    let n = fig.panels.len();
    let cols = fig.columns.clamp(1, n);
    let rows = n.div_ceil(cols);
    let (pw, ph) = (fig.panel_width.max(260), fig.panel_height.max(200));
    let to_u32 = |k: usize| u32::try_from(k).unwrap_or(u32::MAX);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(
            &mut svg,
            (
                pw.saturating_mul(to_u32(cols)),
                ph.saturating_mul(to_u32(rows)).saturating_add(36),
            ),
        )
        .into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let body = root.titled(&fig.title, (FONT, 20.0 * 1.24)).map_err(draw_err)?;
        for ((area, p), range) in body.split_evenly((rows, cols)).iter().zip(&fig.panels).zip(&ranges) {
            draw_panel(area, p, *range)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    p: &HeatmapPanel,
    (lo, hi): (f64, f64),
) -> Result<(), PlotError> {
    let (w, _) = area.dim_in_pixel();
    let (main, bar) = area.split_horizontally(w.saturating_sub(120));
    let (nx, ny) = (p.x_ticks.len(), p.y_ticks.len());
    let xt = p.x_ticks.clone();
    let yt = p.y_ticks.clone();
    let label = |ticks: &[String], v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => usize::try_from(*i)
            .ok()
            .and_then(|i| ticks.get(i).cloned())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let x_fmt = move |v: &SegmentValue<i32>| label(&xt, v);
    let y_fmt = move |v: &SegmentValue<i32>| label(&yt, v);
    let to_i32 = |k: usize| i32::try_from(k).unwrap_or(i32::MAX);
    let mut chart = ChartBuilder::on(&main)
        .caption(&p.title, (FONT, 15.0 * 1.24))
        .margin(6)
        .x_label_area_size(42)
        .y_label_area_size(56)
        .build_cartesian_2d(
            (0..to_i32(nx) - 1).into_segmented(),
            (0..to_i32(ny) - 1).into_segmented(),
        )
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(&p.x_label)
        .y_desc(&p.y_label)
        .x_labels(nx)
        .y_labels(ny)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style((FONT, 10.0 * 1.24))
        .axis_desc_style((FONT, 13.0 * 1.24))
        .draw()
        .map_err(draw_err)?;
    let colour = |c: f64| ViridisRGB::get_color_normalized(c, lo, hi);
    let mut cells = Vec::with_capacity(nx * ny);
    for (r, row) in p.values.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let fill = coord(*v, p.log_scale).map_or(GREY, colour);
            cells.push(Rectangle::new(
                [
                    (SegmentValue::Exact(to_i32(c)), SegmentValue::Exact(to_i32(r))),
                    (SegmentValue::Exact(to_i32(c + 1)), SegmentValue::Exact(to_i32(r + 1))),
                ],
                fill.filled(),
            ));
        }
    }
    chart.draw_series(cells).map_err(draw_err)?;
    // Colour bar: ticks at whole decades (log) or round values, both ends labelled with their
    // values, the unit (the quantity and its scale) written above.
    let steps = 64;
    let mut cb = ChartBuilder::on(&bar)
        .margin_top(36)
        .margin_bottom(48)
        .margin_left(8)
        .margin_right(62)
        .y_label_area_size(0)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(draw_err)?;
    let dy = (hi - lo) / steps as f64;
    cb.draw_series((0..steps).map(|k| {
        let y0 = lo + k as f64 * dy;
        Rectangle::new([(0.0, y0), (1.0, y0 + dy)], colour(y0 + 0.5 * dy).filled())
    }))
    .map_err(draw_err)?;
    let value = |c: f64| if p.log_scale { 10f64.powf(c) } else { c };
    let font = (FONT, 10.0 * 1.24)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let end_font = (FONT, 10.0 * 1.24)
        .into_font()
        .style(FontStyle::Bold)
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let (bx, _) = cb.backend_coord(&(1.0, lo));
    let min_gap = 14;
    let (_, y_lo) = cb.backend_coord(&(1.0, lo));
    let (_, y_hi) = cb.backend_coord(&(1.0, hi));
    let root_bar = cb.plotting_area().strip_coord_spec();
    let (ox, oy) = root_bar.get_base_pixel();
    let put = |y: i32, text: String, f: &TextStyle| -> Result<(), PlotError> {
        root_bar
            .draw(&PathElement::new(
                vec![(bx - ox - 3, y - oy), (bx - ox + 3, y - oy)],
                BLACK,
            ))
            .map_err(draw_err)?;
        root_bar
            .draw(&Text::new(text, (bx - ox + 6, y - oy), f.clone()))
            .map_err(draw_err)
    };
    put(y_lo, value_text(value(lo)), &end_font)?;
    put(y_hi, value_text(value(hi)), &end_font)?;
    for c in bar_ticks(lo, hi, p.log_scale) {
        let (_, y) = cb.backend_coord(&(1.0, c));
        if (y - y_lo).abs() >= min_gap && (y - y_hi).abs() >= min_gap {
            put(y, value_text(value(c)), &font)?;
        }
    }
    let unit = if p.unit.is_empty() {
        if p.log_scale {
            "log scale".to_string()
        } else {
            String::new()
        }
    } else if p.log_scale {
        format!("{} (log)", p.unit)
    } else {
        p.unit.clone()
    };
    if !unit.is_empty() {
        let (bw, _) = bar.dim_in_pixel();
        bar.draw(&Text::new(
            unit,
            (bw as i32 - 4, 22),
            (FONT, 9.0 * 1.24)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(values: Vec<Vec<Option<f64>>>, log: bool) -> HeatmapFigure {
        HeatmapFigure {
            title: "t".into(),
            panels: vec![HeatmapPanel {
                title: "p".into(),
                x_label: "δ".into(),
                y_label: "τ".into(),
                x_ticks: vec!["a".into(), "b".into()],
                y_ticks: vec!["1".into(), "2".into()],
                values,
                log_scale: log,
                unit: "u".into(),
            }],
            columns: 1,
            panel_width: 400,
            panel_height: 300,
        }
    }

    #[test]
    fn renders_deterministically_and_rejects_empty_or_ragged_panels() {
        let f = panel(vec![vec![Some(1.0), Some(10.0)], vec![None, Some(f64::NAN)]], true);
        let a = render_heatmaps(&f).unwrap();
        assert_eq!(a, render_heatmaps(&f).unwrap());
        assert!(a.starts_with("<svg") && a.contains("<rect"));
        assert!(render_heatmaps(&panel(vec![vec![Some(0.0), None], vec![None, None]], true)).is_err());
        // Decade ticks and labelled ends, never "1e-1.5".
        let b = render_heatmaps(&panel(vec![vec![Some(0.02), Some(30.0)], vec![None, Some(1.0)]], true)).unwrap();
        for label in ["0.02", "30", "0.1", "1", "10", "u (log)"] {
            assert!(b.contains(&format!(">\n{label}\n<")), "no colour-bar label {label}");
        }
        assert!(!b.contains(">\n1e-"), "fractional-decade label");
        assert_eq!(bar_ticks(-1.7, 1.5, true), vec![-1.0, 0.0, 1.0]);
        assert_eq!(value_text(2.5e-5), "2.5e-5");
        assert_eq!(value_text(0.1234), "0.123");
        assert!(render_heatmaps(&panel(vec![vec![Some(1.0)], vec![Some(1.0), Some(2.0)]], false)).is_err());
    }
}
