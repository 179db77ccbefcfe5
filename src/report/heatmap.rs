//! SVG heatmaps: a grid of panels, each a matrix of values over two categorical axes (e.g. τ
//! rows × δ columns), coloured with the viridis map, with its own colour bar.
//!
//! Each cell is a filled square outlined in white (the grid reads cell by cell); the colour bar
//! labels both ends with their values (bold), carries ticks at whole decades written as powers
//! of ten (minor ticks at 2…9 × 10ᵏ when the bar spans few decades) on a logarithmic scale or at
//! round values on a linear one, and names its quantity and unit along its side.
//!
//! Like [`super::plot`], the output is a pure function of the input (byte-identical on
//! re-rendering), all text is SVG `<text>`, and the drawing is laid out at
//! [`super::plot::SCALE`]× in the `viewBox` so that no coordinate is rounded to a display pixel.
//! Missing entries (`None`) and non-finite values are drawn grey; on a logarithmic colour scale,
//! values ≤ 0 are also drawn grey. A panel without a single drawable value is an error.

use super::plot::{PlotError, SCALE, display_size, px, px_u};
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
    /// Horizontal axis description (quantity and unit).
    pub x_label: String,
    /// Vertical axis description (quantity and unit).
    pub y_label: String,
    /// Column labels (left to right).
    pub x_ticks: Vec<String>,
    /// Row labels (bottom to top).
    pub y_ticks: Vec<String>,
    /// values[row][column].
    pub values: Vec<Vec<Option<f64>>>,
    /// Colour by log10 of the value.
    pub log_scale: bool,
    /// What the colour measures and its unit, written along the colour bar (e.g. "Hamming
    /// distance (neurons flipped per input)"); "(log scale)" is appended on a log scale.
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
    /// Panel width (display px).
    pub panel_width: u32,
    /// Panel height (display px).
    pub panel_height: u32,
}

const GREY: RGBColor = RGBColor(200, 200, 200);
const FONT: &str = "sans-serif";
/// Display-pixel sizes of the text.
const TITLE_PX: f64 = 20.0;
const PANEL_TITLE_PX: f64 = 15.0;
const AXIS_DESC_PX: f64 = 14.0;
const TICK_PX: f64 = 12.0;
const BAR_LABEL_PX: f64 = 12.0;
/// Width (display px) of the colour-bar column: bar, tick labels and the rotated unit.
const BAR_COLUMN: u32 = 150;

/// A font size in display pixels as the SVG backend's size (it writes size / 1.24) at [`SCALE`].
fn font_size(size: f64) -> f64 {
    size * 1.24 * f64::from(SCALE)
}

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

/// A whole decade 10ᵏ as text: plain for 0.01 … 1000, else "10" with a superscript exponent.
fn decade_text(k: i64) -> String {
    if (-2..=3).contains(&k) {
        return value_text(10f64.powi(k as i32));
    }
    const SUP: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut s = String::from("10");
    if k < 0 {
        s.push('⁻');
    }
    for d in k.unsigned_abs().to_string().bytes() {
        s.push(SUP[usize::from(d - b'0')]);
    }
    s
}

/// Labelled tick positions (colour coordinates) inside `lo..hi` for the colour bar, with their
/// text: on a log scale the whole decades (every k-th when there are many), else round linear
/// steps. The ends are labelled separately.
fn bar_ticks(lo: f64, hi: f64, log: bool) -> Vec<(f64, String)> {
    let span = hi - lo;
    if log {
        let (a, b) = (lo.ceil() as i64, hi.floor() as i64);
        let n = (b - a + 1).max(0);
        if n > 0 {
            let stride = ((n + 3) / 4).max(1);
            return (a..=b)
                .filter(|k| k.rem_euclid(stride) == 0)
                .map(|k| (k as f64, decade_text(k)))
                .collect();
        }
        // Less than a decade and none inside: label 1-2-5 values, else every m·10ᵏ.
        let pick = |ms: &[f64]| -> Vec<(f64, String)> {
            (lo.floor() as i64..=hi.floor() as i64)
                .flat_map(|k| ms.iter().map(move |m| k as f64 + m.log10()))
                .filter(|c| *c > lo && *c < hi)
                .map(|c| (c, value_text(10f64.powf(c))))
                .collect()
        };
        let coarse = pick(&[2.0, 5.0]);
        return if coarse.is_empty() {
            pick(&[2.0, 3.0, 4.0, 6.0, 7.0, 8.0, 9.0])
        } else {
            coarse
        };
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
    (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            (v, value_text(v))
        })
        .collect()
}

/// Unlabelled minor ticks of a log colour bar: m·10ᵏ for m = 2…9 inside `lo..hi` (colour
/// coordinates), when the bar spans at most four decades.
fn bar_minor_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if hi - lo > 4.0 {
        return Vec::new();
    }
    let (a, b) = (lo.floor() as i64, hi.ceil() as i64);
    (a..=b)
        .flat_map(|k| (2..=9).map(move |m| k as f64 + f64::from(m).log10()))
        .filter(|c| *c > lo && *c < hi)
        .collect()
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
    let (pw, ph) = (fig.panel_width.max(320), fig.panel_height.max(240));
    let to_u32 = |k: usize| u32::try_from(k).unwrap_or(u32::MAX);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(
            &mut svg,
            (
                px_u(pw.saturating_mul(to_u32(cols))),
                px_u(ph.saturating_mul(to_u32(rows)).saturating_add(40)),
            ),
        )
        .into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let body = root.titled(&fig.title, (FONT, font_size(TITLE_PX))).map_err(draw_err)?;
        for ((area, p), range) in body.split_evenly((rows, cols)).iter().zip(&fig.panels).zip(&ranges) {
            draw_panel(area, p, *range)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(display_size(svg))
}

/// Every k-th of `n` category labels so that labels about `chars` characters wide do not
/// collide along `len` backend pixels (k = 1 when they fit).
fn label_stride(n: usize, chars: usize, len: u32) -> usize {
    let need = (n * (chars + 2)) as f64 * f64::from(px(7));
    ((need / f64::from(len.max(1))).ceil() as usize).max(1)
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    p: &HeatmapPanel,
    (lo, hi): (f64, f64),
) -> Result<(), PlotError> {
    let (w, _) = area.dim_in_pixel();
    let (main, _) = area.split_horizontally(w.saturating_sub(px_u(BAR_COLUMN)));
    let (nx, ny) = (p.x_ticks.len(), p.y_ticks.len());
    let (mw, mh) = main.dim_in_pixel();
    let widest = |t: &[String]| t.iter().map(|s| s.chars().count()).max().unwrap_or(1);
    let x_stride = label_stride(nx, widest(&p.x_ticks), mw.saturating_sub(px_u(90)));
    // Row labels stack vertically: one needs about 18 display px of height.
    let y_stride =
        ((ny as f64 * f64::from(px(18)) / f64::from(mh.saturating_sub(px_u(100)).max(1))).ceil() as usize).max(1);
    let label = |ticks: &[String], stride: usize, v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => usize::try_from(*i)
            .ok()
            .filter(|i| i % stride == 0)
            .and_then(|i| ticks.get(i).cloned())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let (xt, yt) = (p.x_ticks.clone(), p.y_ticks.clone());
    let x_fmt = move |v: &SegmentValue<i32>| label(&xt, x_stride, v);
    let y_fmt = move |v: &SegmentValue<i32>| label(&yt, y_stride, v);
    let to_i32 = |k: usize| i32::try_from(k).unwrap_or(i32::MAX);
    let mut chart = ChartBuilder::on(&main)
        .caption(&p.title, (FONT, font_size(PANEL_TITLE_PX)))
        .margin(px(6))
        .margin_top(px(10))
        .x_label_area_size(px(52))
        .y_label_area_size(px(78))
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
        .set_all_tick_mark_size(px(4))
        .label_style((FONT, font_size(TICK_PX)))
        .axis_desc_style((FONT, font_size(AXIS_DESC_PX)))
        .axis_style(BLACK.mix(0.8).stroke_width(px_u(1)))
        .draw()
        .map_err(draw_err)?;
    let colour = |c: f64| ViridisRGB::get_color_normalized(c, lo, hi);
    let cell = |c: usize, r: usize| {
        [
            (SegmentValue::Exact(to_i32(c)), SegmentValue::Exact(to_i32(r))),
            (SegmentValue::Exact(to_i32(c + 1)), SegmentValue::Exact(to_i32(r + 1))),
        ]
    };
    let mut fills = Vec::with_capacity(nx * ny);
    let mut outlines = Vec::with_capacity(nx * ny);
    for (r, row) in p.values.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let fill = coord(*v, p.log_scale).map_or(GREY, colour);
            fills.push(Rectangle::new(cell(c, r), fill.filled()));
            outlines.push(Rectangle::new(cell(c, r), WHITE.stroke_width(px_u(1))));
        }
    }
    chart.draw_series(fills).map_err(draw_err)?;
    chart.draw_series(outlines).map_err(draw_err)?;

    // Colour bar beside the plot, as tall as the plotting area (panel-relative backend pixels).
    let (ox, oy) = area.get_base_pixel();
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let (y_top, y_bot) = (yr.start - oy, yr.end - oy);
    let bx0 = xr.end - ox + px(26);
    let bx1 = bx0 + px(18);
    let y_of = |c: f64| f64::from(y_bot) - (c - lo) / (hi - lo) * f64::from(y_bot - y_top);
    let steps = 128;
    for k in 0..steps {
        let c0 = lo + (hi - lo) * k as f64 / steps as f64;
        let c1 = lo + (hi - lo) * (k + 1) as f64 / steps as f64;
        // One backend pixel of overlap so no seam shows between the slices.
        let (ya, yb) = (y_of(c1).floor() as i32, y_of(c0).ceil() as i32 + 1);
        area.draw(&Rectangle::new(
            [(bx0, ya), (bx1, yb.min(y_bot))],
            colour(0.5 * (c0 + c1)).filled(),
        ))
        .map_err(draw_err)?;
    }
    area.draw(&Rectangle::new(
        [(bx0, y_top), (bx1, y_bot)],
        BLACK.mix(0.6).stroke_width(px_u(1)),
    ))
    .map_err(draw_err)?;
    let text = |bold: bool| {
        let f = (FONT, font_size(BAR_LABEL_PX)).into_font();
        let f = if bold { f.style(FontStyle::Bold) } else { f };
        f.color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center))
    };
    let tick = |y: i32, len: i32| {
        area.draw(&PathElement::new(
            vec![(bx1, y), (bx1 + px(len), y)],
            BLACK.stroke_width(px_u(1)),
        ))
        .map_err(draw_err)
    };
    let value = |c: f64| if p.log_scale { 10f64.powf(c) } else { c };
    for (y, c) in [(y_bot, lo), (y_top, hi)] {
        tick(y, 5)?;
        area.draw(&Text::new(value_text(value(c)), (bx1 + px(8), y), text(true)))
            .map_err(draw_err)?;
    }
    let min_gap = px(15);
    for (c, label) in bar_ticks(lo, hi, p.log_scale) {
        let y = y_of(c).round() as i32;
        tick(y, 5)?;
        if (y - y_bot).abs() >= min_gap && (y - y_top).abs() >= min_gap {
            area.draw(&Text::new(label, (bx1 + px(8), y), text(false)))
                .map_err(draw_err)?;
        }
    }
    if p.log_scale {
        for c in bar_minor_ticks(lo, hi) {
            tick(y_of(c).round() as i32, 3)?;
        }
    }
    let unit = match (p.unit.is_empty(), p.log_scale) {
        (true, true) => "log scale".to_string(),
        (true, false) => String::new(),
        (false, true) => format!("{} (log scale)", p.unit),
        (false, false) => p.unit.clone(),
    };
    if !unit.is_empty() {
        // Beside the tick labels (≤ 7 characters), clear of the next panel's axis label.
        let x = bx1 + px(80);
        area.draw(&Text::new(
            unit,
            (x, (y_top + y_bot) / 2),
            (FONT, font_size(BAR_LABEL_PX))
                .into_font()
                .transform(FontTransform::Rotate270)
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Center)),
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
        // Shown at display size, drawn at SCALE× in the viewBox.
        assert!(a.contains("width=\"400\"") && a.contains(&format!("viewBox=\"0 0 {} ", 400 * SCALE)));
        assert!(render_heatmaps(&panel(vec![vec![Some(0.0), None], vec![None, None]], true)).is_err());
        // Decade ticks and labelled ends, never "1e-1.5"; the unit along the bar.
        let b = render_heatmaps(&panel(vec![vec![Some(0.02), Some(30.0)], vec![None, Some(1.0)]], true)).unwrap();
        for label in ["0.02", "30", "0.1", "1", "10", "u (log scale)"] {
            assert!(b.contains(&format!(">\n{label}\n<")), "no colour-bar label {label}");
        }
        assert!(!b.contains(">\n1e-"), "fractional-decade label");
        assert!(
            b.contains("rotate(270") || b.contains("rotate(-90"),
            "unit not along the bar"
        );
        let ticks = bar_ticks(-1.7, 1.5, true);
        assert_eq!(ticks.iter().map(|t| t.0).collect::<Vec<_>>(), vec![-1.0, 0.0, 1.0]);
        assert_eq!(bar_ticks(-7.2, -3.9, true)[0].1, "10⁻⁷");
        assert_eq!(decade_text(-12), "10⁻¹²");
        assert_eq!(decade_text(5), "10⁵");
        assert_eq!(decade_text(-2), "0.01");
        assert_eq!(bar_minor_ticks(-0.5, 0.5).len(), 8);
        // No decade inside 0.0278 … 0.0342: the 1-2-5 or m·10ᵏ values in between are labelled.
        let inside: Vec<String> = bar_ticks(0.0278f64.log10(), 0.0342f64.log10(), true)
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert_eq!(inside, vec!["0.03"]);
        let inside: Vec<String> = bar_ticks(0.15f64.log10(), 0.6f64.log10(), true)
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert_eq!(inside, vec!["0.2", "0.5"]);
        assert_eq!(value_text(2.5e-5), "2.5e-5");
        assert_eq!(value_text(0.1234), "0.123");
        assert_eq!(label_stride(9, 5, px_u(500)), 1);
        assert!(label_stride(17, 6, px_u(300)) >= 2);
        assert!(render_heatmaps(&panel(vec![vec![Some(1.0)], vec![Some(1.0), Some(2.0)]], false)).is_err());
    }
}
