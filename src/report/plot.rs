//! SVG figures for reports: line, dashed-line and marker plots laid out as a
//! grid of panels, drawn with `plotters`' SVG backend.
//!
//! A [`Figure`] holds an overall title and a list of [`Panel`]s; each panel
//! has its own title, axis labels, optional logarithmic axes, a legend and
//! any number of [`Series`]. [`render_svg`] turns a figure into a complete
//! SVG document held in a `String`. All text (titles, tick labels, legends)
//! is emitted as SVG `<text>` elements, so no font files are needed, and the
//! output is a pure function of the input: rendering the same figure twice
//! gives byte-identical text (no timestamps, no randomness), which makes the
//! files diff-friendly and safe to regenerate.
//!
//! Data rules: non-finite points (NaN, ±inf) are skipped (lines are broken
//! at them); a panel without a single finite point is an error, and so is a
//! non-positive value on a logarithmic axis.

use plotters::coord::Shift;
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::RGBColor;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesStyle {
    /// A solid polyline through the points, broken at non-finite points.
    Line,
    /// A filled circle at every point, no connecting line.
    Markers,
    /// A dashed polyline through the points, broken at non-finite points.
    DashedLine,
    /// A dotted polyline through the points (short dashes), broken at non-finite points: a
    /// second dashed style that reads differently from [`SeriesStyle::DashedLine`] in one colour.
    DottedLine,
    /// A thin (1 px) solid polyline, for many overlapping paths.
    ThinLine,
    /// A small filled dot at every point (for dense event markers).
    SmallMarkers,
    /// An open circle at every point (a predicted point that a curve should reach).
    OpenMarkers,
}

impl SeriesStyle {
    /// Whether the points are joined by a line.
    pub fn is_line(self) -> bool {
        matches!(self, Self::Line | Self::DashedLine | Self::DottedLine | Self::ThinLine)
    }
}

/// One curve in a panel.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text; an empty label keeps the series out of the legend.
    pub label: String,
    /// The `(x, y)` data; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// How the points are drawn.
    pub style: SeriesStyle,
    /// Index into [`palette`] (taken modulo the palette length).
    pub color_index: usize,
}

/// Theory curves with the matching simulated points: for every column i ≥ 1 of the rows
/// `[t, v₁, v₂, …]`, one series `label(i)` drawn in `theory_style` from `theory` and one
/// unlabelled marker series from `sim`, both in colour i − 1.
pub fn theory_vs_markers(
    theory: &[Vec<f64>],
    sim: &[Vec<f64>],
    theory_style: SeriesStyle,
    label: impl Fn(usize) -> String,
) -> Vec<Series> {
    let k = theory.first().map_or(0, |r| r.len() - 1);
    let mut series = Vec::with_capacity(2 * k);
    for i in 0..k {
        series.push(Series {
            label: label(i + 1),
            points: theory.iter().map(|r| (r[0], r[i + 1])).collect(),
            style: theory_style,
            color_index: i,
        });
        series.push(Series {
            label: String::new(),
            points: sim.iter().map(|r| (r[0], r[i + 1])).collect(),
            style: SeriesStyle::Markers,
            color_index: i,
        });
    }
    series
}

/// One panel (subplot) of a figure.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Caption drawn above the plotting area (also names the panel in errors).
    pub title: String,
    /// Description of the horizontal axis.
    pub x_label: String,
    /// Description of the vertical axis.
    pub y_label: String,
    /// The curves, drawn in order (later series on top).
    pub series: Vec<Series>,
    /// Use a base-10 logarithmic horizontal axis (all x must be positive).
    pub log_x: bool,
    /// Use a base-10 logarithmic vertical axis (all y must be positive).
    pub log_y: bool,
    /// One unit as long on both axes (for geometry; linear axes only).
    pub equal_aspect: bool,
}

/// A figure: panels laid out row by row in a grid with `columns` columns,
/// under an overall title.
///
/// `columns` is clamped to `1..=panels.len()`; panel sizes below
/// [`MIN_PANEL_WIDTH`] × [`MIN_PANEL_HEIGHT`] pixels are raised to that minimum.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Overall title drawn centred at the top (omitted when empty).
    pub title: String,
    /// The panels, in reading order (left to right, then top to bottom).
    pub panels: Vec<Panel>,
    /// Number of grid columns.
    pub columns: usize,
    /// Width of one panel in pixels.
    pub panel_width: u32,
    /// Height of one panel in pixels.
    pub panel_height: u32,
}

/// Why a figure could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The figure has no panels at all.
    #[error("figure '{figure}' has no panels: add at least one panel")]
    Empty {
        /// Title of the figure.
        figure: String,
    },
    /// Every point of every series in the panel is non-finite (or there are none).
    #[error("panel '{panel}' has no finite points to plot")]
    NoFinitePoints {
        /// Title of the panel (or `#n`, its 1-based position, when untitled).
        panel: String,
    },
    /// A zero or negative coordinate on a logarithmic axis (the first one found).
    #[error("log axis in panel '{panel}' needs positive values, found {value}")]
    NonPositiveOnLogAxis {
        /// Title of the panel (or `#n`, its 1-based position, when untitled).
        panel: String,
        /// The offending coordinate.
        value: f64,
    },
    /// The drawing backend reported an error.
    #[error("drawing failed: {0}")]
    Draw(String),
}

/// Smallest panel width, in pixels, that [`render_svg`] will lay out.
pub const MIN_PANEL_WIDTH: u32 = 200;
/// Smallest panel height, in pixels, that [`render_svg`] will lay out.
pub const MIN_PANEL_HEIGHT: u32 = 150;

/// The Okabe–Ito colour-blind-safe palette, reordered so that the most
/// distinct, high-contrast colours come first (yellow, weak on white, last).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 0, 0),       // black
    RGBColor(240, 228, 66),  // yellow
];

/// A fixed, colour-blind-friendly palette (Okabe–Ito), indexed modulo its
/// length, so any `usize` is a valid colour index.
pub fn palette(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

const FONT: &str = "sans-serif";
/// The SVG backend writes `font-size = size / 1.24`; this undoes that so the
/// constants below are the pixel sizes that end up in the document.
const SVG_FONT_SCALE: f64 = 1.24;
/// Drawing scale: figures are laid out in display pixels but drawn in a coordinate space this
/// many times larger, shown at display size through the SVG `viewBox`. plotters' backend
/// rounds every coordinate to a whole backend pixel, so this keeps curves smooth (positions are
/// quantised to 1/`SCALE` of a display pixel).
pub const SCALE: u32 = 4;
/// A length in display pixels as backend pixels.
pub(crate) fn px(v: i32) -> i32 {
    v * SCALE as i32
}
/// [`px`] for unsigned lengths.
pub(crate) fn px_u(v: u32) -> u32 {
    v * SCALE
}
/// Rewrite the `<svg width=… height=…` header of a document drawn at [`SCALE`] so that it shows
/// at display size (the `viewBox` keeps the drawing coordinates).
pub(crate) fn display_size(svg: String) -> String {
    let Some(end) = svg.find('>') else { return svg };
    let head = &svg[..end];
    let num = |key: &str| -> Option<u32> {
        let i = head.find(key)? + key.len();
        head[i..].split('"').next()?.parse().ok()
    };
    let (Some(w), Some(h)) = (num(" width=\""), num(" height=\"")) else {
        return svg;
    };
    let new_head = head
        .replacen(&format!(" width=\"{w}\""), &format!(" width=\"{}\"", w / SCALE), 1)
        .replacen(&format!(" height=\"{h}\""), &format!(" height=\"{}\"", h / SCALE), 1);
    format!("{new_head}{}", &svg[end..])
}

const FIGURE_TITLE_PX: f64 = 20.0;
const PANEL_TITLE_PX: f64 = 16.0;
const AXIS_DESC_PX: f64 = 14.0;
const TICK_PX: f64 = 12.0;
const LEGEND_PX: f64 = 12.0;
/// Extra canvas height reserved for the figure title.
const TITLE_BAND: u32 = 36;
const LINE_WIDTH_PX: u32 = 2;
const MARKER_RADIUS_PX: i32 = 3;
const SMALL_MARKER_PX: i32 = 1;
const OPEN_MARKER_PX: i32 = 5;
const DASH_PX: i32 = 8;
const GAP_PX: i32 = 5;
const DOT_PX: i32 = 2;
const DOT_GAP_PX: i32 = 4;
const LEGEND_MARGIN_PX: i32 = 6;
const LEGEND_SAMPLE_PX: i32 = 24;
const LEGEND_ROW_PX: i32 = 17;

fn font_size(size: f64) -> f64 {
    size * SVG_FONT_SCALE * f64::from(SCALE)
}

fn draw_err(e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// Render to an SVG document held in memory (the caller writes it to disk
/// atomically).
///
/// Every panel is validated before anything is drawn, so an error never
/// leaves a half-drawn document behind.
pub fn render_svg(fig: &Figure) -> Result<String, PlotError> {
    if fig.panels.is_empty() {
        return Err(PlotError::Empty {
            figure: fig.title.clone(),
        });
    }
    let prepared = fig
        .panels
        .iter()
        .enumerate()
        .map(|(i, p)| PreparedPanel::new(i, p))
        .collect::<Result<Vec<_>, _>>()?;

    let n = fig.panels.len();
    let cols = fig.columns.clamp(1, n);
    let rows = n.div_ceil(cols);
    let pw = fig.panel_width.max(MIN_PANEL_WIDTH);
    let ph = fig.panel_height.max(MIN_PANEL_HEIGHT);
    let title_band = if fig.title.is_empty() { 0 } else { TITLE_BAND };
    let to_u32 = |k: usize| u32::try_from(k).unwrap_or(u32::MAX);
    // A panel whose legend finds no empty spot inside its plot gets a legend column right of it;
    // the figure widens that grid column by it, so the plot keeps its full size.
    let legend_cols = prepared
        .iter()
        .map(|p| p.legend_column(px_u(pw), px_u(ph)))
        .collect::<Result<Vec<_>, _>>()?;
    let col_extra: Vec<u32> = (0..cols)
        .map(|c| legend_cols.iter().skip(c).step_by(cols).copied().max().unwrap_or(0))
        .collect();
    let width = pw
        .saturating_mul(to_u32(cols))
        .saturating_mul(SCALE)
        .saturating_add(col_extra.iter().fold(0u32, |a, b| a.saturating_add(*b)));
    let height = ph
        .saturating_mul(to_u32(rows))
        .saturating_add(title_band)
        .saturating_mul(SCALE);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let body = if fig.title.is_empty() {
            root.clone()
        } else {
            root.titled(&fig.title, (FONT, font_size(FIGURE_TITLE_PX)))
                .map_err(draw_err)?
        };
        let mut x_breaks = Vec::with_capacity(cols);
        let mut x = 0i32;
        for extra in &col_extra {
            x = x.saturating_add(i32::try_from(px_u(pw).saturating_add(*extra)).unwrap_or(i32::MAX));
            x_breaks.push(x);
        }
        x_breaks.pop();
        let cell_h = i32::try_from(px_u(ph)).unwrap_or(i32::MAX);
        let y_breaks: Vec<i32> = (1..rows)
            .map(|r| cell_h.saturating_mul(i32::try_from(r).unwrap_or(i32::MAX)))
            .collect();
        let areas = body.split_by_breakpoints(x_breaks, y_breaks);
        for (i, (area, panel)) in areas.iter().zip(&prepared).enumerate() {
            panel.draw(area, legend_cols[i], col_extra[i % cols])?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(display_size(svg))
}

/// Draw one panel, as [`render_svg`] lays it out, into `area` (for figures drawn by hand that
/// include a plot, e.g. the error strip under heat maps); a legend that finds no empty spot goes
/// in a column at the area's right.
///
/// # Errors
/// As [`render_svg`] for the panel.
pub fn draw_panel(area: &DrawingArea<SVGBackend<'_>, Shift>, panel: &Panel) -> Result<(), PlotError> {
    PreparedPanel::new(0, panel)?.draw(area, 0, 0)
}

/// A series with its finite points split into runs (maximal stretches of
/// consecutive finite points), so lines are broken where data is missing.
struct PreparedSeries<'a> {
    series: &'a Series,
    /// The legend text: the series label, plus a note when the curve lies under a later one.
    label: String,
    runs: Vec<Vec<(f64, f64)>>,
}

/// A validated panel with its data extent.
struct PreparedPanel<'a> {
    panel: &'a Panel,
    series: Vec<PreparedSeries<'a>>,
    x_extent: (f64, f64),
    y_extent: (f64, f64),
}

impl<'a> PreparedPanel<'a> {
    fn new(index: usize, panel: &'a Panel) -> Result<Self, PlotError> {
        let name = || {
            if panel.title.is_empty() {
                format!("#{}", index + 1)
            } else {
                panel.title.clone()
            }
        };
        let mut x_extent = (f64::INFINITY, f64::NEG_INFINITY);
        let mut y_extent = (f64::INFINITY, f64::NEG_INFINITY);
        let mut series = Vec::with_capacity(panel.series.len());
        for s in &panel.series {
            let mut runs = Vec::new();
            let mut run = Vec::new();
            for &(x, y) in &s.points {
                if !(x.is_finite() && y.is_finite()) {
                    if !run.is_empty() {
                        runs.push(std::mem::take(&mut run));
                    }
                    continue;
                }
                for (log, value) in [(panel.log_x, x), (panel.log_y, y)] {
                    if log && value <= 0.0 {
                        return Err(PlotError::NonPositiveOnLogAxis { panel: name(), value });
                    }
                }
                x_extent = (x_extent.0.min(x), x_extent.1.max(x));
                y_extent = (y_extent.0.min(y), y_extent.1.max(y));
                run.push((x, y));
            }
            if !run.is_empty() {
                runs.push(run);
            }
            series.push(PreparedSeries {
                series: s,
                label: s.label.clone(),
                runs,
            });
        }
        if x_extent.0 > x_extent.1 {
            return Err(PlotError::NoFinitePoints { panel: name() });
        }
        mark_hidden(&mut series, x_extent, y_extent);
        Ok(Self {
            panel,
            series,
            x_extent,
            y_extent,
        })
    }

    /// The panel's drawing area below its title (the title is centred over the whole panel,
    /// also when the legend takes a column).
    fn titled<'c>(
        &self,
        panel_area: &DrawingArea<SVGBackend<'c>, Shift>,
    ) -> Result<DrawingArea<SVGBackend<'c>, Shift>, PlotError> {
        if self.panel.title.is_empty() {
            Ok(panel_area.clone())
        } else {
            panel_area
                .margin(px(8), 0, 0, 0)
                .titled(&self.panel.title, (FONT, font_size(PANEL_TITLE_PX)))
                .map_err(draw_err)
        }
    }

    /// Width (backend pixels) of the legend column this panel needs right of a `pw × ph` panel:
    /// 0 when it has no legend or the legend fits in empty space inside the plot.
    fn legend_column(&self, pw: u32, ph: u32) -> Result<u32, PlotError> {
        let entries = self.legend_entries();
        if entries.is_empty() {
            return Ok(0);
        }
        let mut scratch = String::new();
        let root = SVGBackend::with_string(&mut scratch, (pw.max(1), ph.max(1))).into_drawing_area();
        let area = self.titled(&root)?;
        let (w, h) = area.dim_in_pixel();
        let rect = self.plot_rect(w, h)?;
        let (x, y) = self.axes(rect);
        let (lw, lh) = legend_size(&area, &entries)?;
        if self.free_spot(rect, &x, &y, (lw, lh)).is_some() {
            return Ok(0);
        }
        // Whole display pixels, so the figure's display size is exact.
        Ok(u32::try_from(lw + 2 * px(4)).unwrap_or(0).next_multiple_of(SCALE))
    }

    /// Lay out the panel (plot rectangle, equal aspect, legend inside in empty space or in a
    /// column on the right, when [`Self::legend_column`] asked for one (`legend_col` > 0)), then
    /// dispatch on the axis kinds: each combination is a different coordinate type in `plotters`.
    /// `extra` is how much the figure widened this grid column for legends: every panel of the
    /// column keeps the plot of the others' width, a panel without a legend column leaving the
    /// extra blank, so the plots of a column align.
    fn draw(
        &self,
        panel_area: &DrawingArea<SVGBackend<'_>, Shift>,
        legend_col: u32,
        extra: u32,
    ) -> Result<(), PlotError> {
        let (full_w, _) = panel_area.dim_in_pixel();
        let panel_area = &if legend_col == 0 && extra > 0 && extra < full_w {
            panel_area.split_horizontally(full_w - extra).0
        } else {
            panel_area.clone()
        };
        let area = &self.titled(panel_area)?;
        let (pw, ph) = area.dim_in_pixel();
        let rect = self.plot_rect(pw, ph)?;
        let (x, y) = self.axes(rect);
        let entries = self.legend_entries();
        if entries.is_empty() {
            return self.draw_on(area, &x, &y, None);
        }
        let (lw, lh) = legend_size(area, &entries)?;
        if legend_col == 0
            && let Some((lx, ly)) = self.free_spot(rect, &x, &y, (lw, lh))
        {
            return self.draw_on(area, &x, &y, Some((lx, ly, &entries)));
        }
        // No empty corner: the legend goes in a column right of the plot (the figure made room).
        let col = if legend_col > 0 {
            extra.max(legend_col).min(pw / 2)
        } else {
            u32::try_from(lw + 2 * px(4)).unwrap_or(0).min(pw / 2)
        };
        let (main, side) = area.split_horizontally(pw - col);
        let rect = self.plot_rect(pw - col, ph)?;
        let (x, y) = self.axes(rect);
        self.draw_on(&main, &x, &y, None)?;
        draw_legend(&side, (px(2), rect.1), &entries)
    }

    /// Labelled series, in drawing order.
    fn legend_entries(&self) -> Vec<LegendEntry> {
        self.series
            .iter()
            .filter(|ps| !ps.label.is_empty())
            .map(|ps| (ps.label.clone(), ps.series.style, palette(ps.series.color_index)))
            .collect()
    }

    /// The axes for a plot rectangle `(x0, y0, w, h)`; with `equal_aspect`, the shorter data
    /// extent is widened (about its centre) so one unit is as long on both axes.
    fn axes(&self, rect: (i32, i32, i32, i32)) -> (Axis, Axis) {
        let (w, h) = (rect.2.max(1) as u32, rect.3.max(1) as u32);
        let mut x = Axis::new(self.x_extent, self.panel.log_x, (w / px_u(80)).clamp(2, 10));
        let mut y = Axis::new(self.y_extent, self.panel.log_y, (h / px_u(35)).clamp(2, 10));
        if self.panel.equal_aspect && !self.panel.log_x && !self.panel.log_y {
            let k = ((x.hi - x.lo) / f64::from(w)).max((y.hi - y.lo) / f64::from(h));
            let grow = |a: &mut Axis, n: u32| {
                let mid = 0.5 * (a.lo + a.hi);
                a.lo = mid - 0.5 * k * f64::from(n);
                a.hi = mid + 0.5 * k * f64::from(n);
                a.format = TickFormat::linear(a.lo, a.hi, a.labels);
            };
            grow(&mut x, w);
            grow(&mut y, h);
        }
        (x, y)
    }

    fn builder<'b, 'c>(&self, area: &'b DrawingArea<SVGBackend<'c>, Shift>) -> ChartBuilder<'b, 'b, SVGBackend<'c>> {
        let panel = self.panel;
        let mut builder = ChartBuilder::on(area);
        builder
            .margin(px(10))
            .margin_right(px(18))
            .x_label_area_size(if panel.x_label.is_empty() { px(28) } else { px(48) })
            .y_label_area_size(if panel.y_label.is_empty() { px(56) } else { px(76) });
        builder.margin_top(px(4));
        builder
    }

    /// The plotting rectangle `(x0, y0, w, h)` (backend pixels, relative to the panel) of a
    /// panel of size `pw × ph`, found by laying the chart out on a scratch canvas.
    fn plot_rect(&self, pw: u32, ph: u32) -> Result<(i32, i32, i32, i32), PlotError> {
        let mut scratch = String::new();
        let root = SVGBackend::with_string(&mut scratch, (pw.max(1), ph.max(1))).into_drawing_area();
        let chart = self
            .builder(&root)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(draw_err)?;
        let area = chart.plotting_area();
        let (x0, y0) = area.get_base_pixel();
        let (w, h) = area.dim_in_pixel();
        Ok((x0, y0, w as i32, h as i32))
    }

    /// Top-left corner (panel pixels) of a spot for a `w × h` legend inside the plot that no
    /// data point or line comes near, trying the corners, then the edge midpoints; `None` if all
    /// are occupied.
    fn free_spot(&self, rect: (i32, i32, i32, i32), x: &Axis, y: &Axis, (w, h): (i32, i32)) -> Option<(i32, i32)> {
        let (x0, y0, aw, ah) = rect;
        let inset = px(5);
        let (l, c, r) = (inset, (aw - w) / 2, aw - w - inset);
        let (t, m, b) = (inset, (ah - h) / 2, ah - h - inset);
        let candidates = [(r, t), (l, t), (r, b), (l, b), (c, t), (c, b), (r, m), (l, m)];
        let to_px = |a: &Axis, v: f64, n: i32, flip: bool| {
            let (lo, hi, v) = if a.log {
                (a.lo.log10(), a.hi.log10(), v.log10())
            } else {
                (a.lo, a.hi, v)
            };
            let f = (v - lo) / (hi - lo);
            let f = if flip { 1.0 - f } else { f };
            f * f64::from(n)
        };
        let pad = f64::from(px(MARKER_RADIUS_PX + 3));
        let mut pts: Vec<(f64, f64)> = Vec::new();
        for ps in &self.series {
            for run in &ps.runs {
                let pix: Vec<(f64, f64)> = run
                    .iter()
                    .map(|&(u, v)| (to_px(x, u, aw, false), to_px(y, v, ah, true)))
                    .collect();
                pts.extend(&pix);
                if ps.series.style.is_line() {
                    for seg in pix.windows(2) {
                        let (a, bb) = (seg[0], seg[1]);
                        let len = (bb.0 - a.0).abs().max((bb.1 - a.1).abs());
                        let steps = (len / pad).ceil().clamp(1.0, 400.0) as usize;
                        for k in 1..steps {
                            let f = k as f64 / steps as f64;
                            pts.push((a.0 + (bb.0 - a.0) * f, a.1 + (bb.1 - a.1) * f));
                        }
                    }
                }
            }
        }
        candidates
            .iter()
            .find(|&&(cx, cy)| {
                cx >= 0
                    && cy >= 0
                    && pts.iter().all(|&(u, v)| {
                        u < f64::from(cx) - pad
                            || u > f64::from(cx + w) + pad
                            || v < f64::from(cy) - pad
                            || v > f64::from(cy + h) + pad
                    })
            })
            .map(|&(cx, cy)| (x0 + cx, y0 + cy))
    }

    fn draw_on(
        &self,
        area: &DrawingArea<SVGBackend<'_>, Shift>,
        x: &Axis,
        y: &Axis,
        legend: Option<(i32, i32, &[LegendEntry])>,
    ) -> Result<(), PlotError> {
        let (xr, yr) = (x.lo..x.hi, y.lo..y.hi);
        match (self.panel.log_x, self.panel.log_y) {
            (false, false) => self.draw_with(area, xr, yr, x, y)?,
            (true, false) => self.draw_with(area, x.log_coord(), yr, x, y)?,
            (false, true) => self.draw_with(area, xr, y.log_coord(), x, y)?,
            (true, true) => self.draw_with(area, x.log_coord(), y.log_coord(), x, y)?,
        }
        if let Some((lx, ly, entries)) = legend {
            draw_legend(area, (lx, ly), entries)?;
        }
        Ok(())
    }

    fn draw_with<X, Y>(
        &self,
        area: &DrawingArea<SVGBackend<'_>, Shift>,
        x_spec: X,
        y_spec: Y,
        x: &Axis,
        y: &Axis,
    ) -> Result<(), PlotError>
    where
        X: AsRangedCoord<Value = f64>,
        Y: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let panel = self.panel;
        let mut chart = self
            .builder(area)
            .build_cartesian_2d(x_spec, y_spec)
            .map_err(draw_err)?;

        let x_fmt = |v: &f64| x.format.label(*v);
        let y_fmt = |v: &f64| y.format.label(*v);
        let mut mesh = chart.configure_mesh();
        mesh.x_labels(x.labels)
            .y_labels(y.labels)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style((FONT, font_size(TICK_PX)))
            .axis_desc_style((FONT, font_size(AXIS_DESC_PX)))
            .set_all_tick_mark_size(px(5))
            .bold_line_style(BLACK.mix(0.12).stroke_width(px_u(1)))
            .light_line_style(BLACK.mix(0.04).stroke_width(px_u(1)))
            .max_light_lines(4)
            .axis_style(BLACK.mix(0.8).stroke_width(px_u(1)));
        if !panel.x_label.is_empty() {
            mesh.x_desc(&panel.x_label);
        }
        if !panel.y_label.is_empty() {
            mesh.y_desc(&panel.y_label);
        }
        mesh.draw().map_err(draw_err)?;

        for ps in &self.series {
            let color = palette(ps.series.color_index);
            let line = color.stroke_width(px_u(LINE_WIDTH_PX));
            let thin = color.stroke_width(px_u(1));
            match ps.series.style {
                SeriesStyle::Line => chart.draw_series(
                    ps.runs
                        .iter()
                        .filter(|run| run.len() > 1)
                        .map(|run| PathElement::new(run.clone(), line)),
                ),
                SeriesStyle::ThinLine => chart.draw_series(
                    ps.runs
                        .iter()
                        .filter(|run| run.len() > 1)
                        .map(|run| PathElement::new(run.clone(), thin)),
                ),
                SeriesStyle::DashedLine => chart.draw_series(
                    ps.runs
                        .iter()
                        .filter(|run| run.len() > 1)
                        .map(|run| DashedPathElement::new(run.iter().copied(), px(DASH_PX), px(GAP_PX), line)),
                ),
                SeriesStyle::DottedLine => chart.draw_series(
                    ps.runs
                        .iter()
                        .filter(|run| run.len() > 1)
                        .map(|run| DashedPathElement::new(run.iter().copied(), px(DOT_PX), px(DOT_GAP_PX), line)),
                ),
                SeriesStyle::Markers => chart.draw_series(
                    ps.runs
                        .iter()
                        .flatten()
                        .map(|&p| Circle::new(p, px(MARKER_RADIUS_PX), color.filled())),
                ),
                SeriesStyle::SmallMarkers => chart.draw_series(
                    ps.runs
                        .iter()
                        .flatten()
                        .map(|&p| Circle::new(p, px(SMALL_MARKER_PX), color.filled())),
                ),
                SeriesStyle::OpenMarkers => chart.draw_series(
                    ps.runs
                        .iter()
                        .flatten()
                        .map(|&p| Circle::new(p, px(OPEN_MARKER_PX), color.stroke_width(px_u(LINE_WIDTH_PX)))),
                ),
            }
            .map_err(draw_err)?;
            // A line broken by missing values can leave a single point between two gaps: draw
            // it as a dot of the line's width, so no value vanishes.
            if ps.series.style.is_line() {
                let width = if ps.series.style == SeriesStyle::ThinLine {
                    1
                } else {
                    LINE_WIDTH_PX as i32
                };
                chart
                    .draw_series(
                        ps.runs
                            .iter()
                            .filter(|run| run.len() == 1)
                            .map(|run| Circle::new(run[0], px(width), color.filled())),
                    )
                    .map_err(draw_err)?;
            }
        }
        Ok(())
    }
}

/// One legend line: text, how the sample is drawn, colour.
type LegendEntry = (String, SeriesStyle, RGBColor);

/// Size (backend pixels) of the legend box for these entries.
fn legend_size(area: &DrawingArea<SVGBackend<'_>, Shift>, entries: &[LegendEntry]) -> Result<(i32, i32), PlotError> {
    let font: TextStyle = (FONT, font_size(LEGEND_PX)).into_font().into();
    let mut tw = 0i32;
    for (label, _, _) in entries {
        let (w, _) = area.estimate_text_size(label, &font).map_err(draw_err)?;
        tw = tw.max(w as i32);
    }
    let n = i32::try_from(entries.len()).unwrap_or(i32::MAX);
    Ok((
        tw + px(LEGEND_SAMPLE_PX + 8) + 2 * px(LEGEND_MARGIN_PX),
        n * px(LEGEND_ROW_PX) + 2 * px(LEGEND_MARGIN_PX) - px(4),
    ))
}

/// Draw a legend box with its top-left corner at `(x, y)` (pixels of `area`).
fn draw_legend(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    (x, y): (i32, i32),
    entries: &[LegendEntry],
) -> Result<(), PlotError> {
    let (w, h) = legend_size(area, entries)?;
    area.draw(&Rectangle::new([(x, y), (x + w, y + h)], WHITE.mix(0.9).filled()))
        .map_err(draw_err)?;
    area.draw(&Rectangle::new(
        [(x, y), (x + w, y + h)],
        BLACK.mix(0.4).stroke_width(px_u(1)),
    ))
    .map_err(draw_err)?;
    let font = (FONT, font_size(LEGEND_PX))
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let m = px(LEGEND_MARGIN_PX);
    for (i, (label, style, color)) in entries.iter().enumerate() {
        let cy = y + m + px(LEGEND_ROW_PX) * i32::try_from(i).unwrap_or(0) + px(LEGEND_ROW_PX) / 2 - px(2);
        let (sx0, sx1) = (x + m, x + m + px(LEGEND_SAMPLE_PX));
        let line = color.stroke_width(px_u(LINE_WIDTH_PX));
        match style {
            SeriesStyle::Line => area.draw(&PathElement::new(vec![(sx0, cy), (sx1, cy)], line)),
            SeriesStyle::ThinLine => area.draw(&PathElement::new(
                vec![(sx0, cy), (sx1, cy)],
                color.stroke_width(px_u(1)),
            )),
            SeriesStyle::DashedLine => area.draw(&DashedPathElement::new([(sx0, cy), (sx1, cy)], px(6), px(3), line)),
            SeriesStyle::DottedLine => area.draw(&DashedPathElement::new(
                [(sx0, cy), (sx1, cy)],
                px(DOT_PX),
                px(DOT_GAP_PX),
                line,
            )),
            SeriesStyle::Markers => area.draw(&Circle::new(
                ((sx0 + sx1) / 2, cy),
                px(MARKER_RADIUS_PX),
                color.filled(),
            )),
            SeriesStyle::SmallMarkers => {
                area.draw(&Circle::new(((sx0 + sx1) / 2, cy), px(SMALL_MARKER_PX), color.filled()))
            }
            SeriesStyle::OpenMarkers => area.draw(&Circle::new(((sx0 + sx1) / 2, cy), px(OPEN_MARKER_PX), line)),
        }
        .map_err(draw_err)?;
        area.draw(&Text::new(label.clone(), (sx1 + px(8), cy), font.clone()))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// Curves that coincide with a curve drawn later (so they are hidden under it) say so in their
/// legend text: "… (under λ = 2: identical)". Two labelled line series coincide when they have
/// the same number of points and every point agrees within 1/2000 of the panel's extent (well
/// under a pixel).
fn mark_hidden(series: &mut [PreparedSeries<'_>], x_extent: (f64, f64), y_extent: (f64, f64)) {
    let tol_x = 5e-4 * (x_extent.1 - x_extent.0).abs().max(f64::MIN_POSITIVE);
    let tol_y = 5e-4 * (y_extent.1 - y_extent.0).abs().max(f64::MIN_POSITIVE);
    let same = |a: &Series, b: &Series| {
        a.points.len() == b.points.len()
            && a.points.iter().zip(&b.points).all(|(p, q)| {
                let finite = |r: &(f64, f64)| r.0.is_finite() && r.1.is_finite();
                let both_missing = !finite(p) && !finite(q);
                both_missing || ((p.0 - q.0).abs() <= tol_x && (p.1 - q.1).abs() <= tol_y)
            })
    };
    for i in 0..series.len() {
        let a = series[i].series;
        if a.label.is_empty() || !a.style.is_line() {
            continue;
        }
        let over = series[i + 1..]
            .iter()
            .rev()
            .map(|b| b.series)
            .find(|b| !b.label.is_empty() && b.style.is_line() && same(a, b));
        if let Some(b) = over {
            let note = format!("{} (under {}: identical)", a.label, b.label);
            series[i].label = note;
        }
    }
}

/// Range, label count and tick-label format of one axis.
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    labels: usize,
    format: TickFormat,
}

impl Axis {
    /// The log-scaled coordinate with our own tick positions (labelled
    /// ticks plus unlabelled minor grid lines).
    fn log_coord(&self) -> WithKeyPoints<LogCoord<f64>> {
        let (bold, light) = log_ticks(self.lo, self.hi, self.labels);
        (self.lo..self.hi)
            .log_scale()
            .with_key_points(bold)
            .with_light_points(light)
    }

    fn new(extent: (f64, f64), log: bool, labels: u32) -> Self {
        let labels = labels as usize;
        let (lo, hi) = if log { log_range(extent) } else { linear_range(extent) };
        let format = if log {
            TickFormat::Log
        } else {
            TickFormat::linear(lo, hi, labels)
        };
        Self {
            lo,
            hi,
            log,
            labels,
            format,
        }
    }
}

/// Data extent plus a 5% margin; a degenerate extent is widened to
/// `±0.5` around zero or `±10%` of the value otherwise.
fn linear_range((lo, hi): (f64, f64)) -> (f64, f64) {
    let span = hi - lo;
    let scale = lo.abs().max(hi.abs());
    let (a, b) = if span <= scale * 1e-9 {
        let mid = 0.5 * lo + 0.5 * hi;
        let pad = if mid == 0.0 { 0.5 } else { mid.abs() * 0.1 };
        (mid - pad, mid + pad)
    } else {
        let pad = 0.05 * span;
        (lo - pad, hi + pad)
    };
    // Only values near ±f64::MAX need this: keep the ends and the width
    // finite (the data may then poke out of the frame).
    let (a, b) = (a.max(f64::MIN), b.min(f64::MAX));
    if (b - a).is_finite() {
        (a, b)
    } else {
        (0.5 * a, 0.5 * b)
    }
}

/// Data extent (positive) plus a 5% margin in decades, and at least a
/// factor of two wide (centred on the data), so that [`log_ticks`] always
/// finds two values to label.
fn log_range((lo, hi): (f64, f64)) -> (f64, f64) {
    const MIN_SPAN: f64 = std::f64::consts::LOG10_2;
    let (a, b) = (lo.log10(), hi.log10());
    let pad = 0.05 * (b - a);
    let (mut a, mut b) = (a - pad, b + pad);
    if b - a < MIN_SPAN {
        let mid = 0.5 * (a + b);
        (a, b) = (mid - 0.5 * MIN_SPAN, mid + 0.5 * MIN_SPAN);
    }
    // Keep clear of subnormals and overflow (the data may then poke out of
    // the frame, which only happens within a factor of ~2 of the limits).
    let a = a.clamp(-307.0, 308.0 - MIN_SPAN);
    let b = b.clamp(a + MIN_SPAN, 308.0);
    (10f64.powf(a), 10f64.powf(b))
}

/// The smallest 1-2-5 number (1, 2, 5, 10, 20, ...) that is at least `x`.
fn nice_at_least(x: usize) -> usize {
    let mut base = 1usize;
    loop {
        for m in [1, 2, 5] {
            let candidate = base.saturating_mul(m);
            if candidate >= x || candidate == usize::MAX {
                return candidate;
            }
        }
        base = base.saturating_mul(10);
    }
}

/// Labelled and minor (unlabelled grid line) tick positions for a log axis
/// over `lo..hi`, with at most about `max_labels` labels.
///
/// With two or more powers of ten in range the labels are decades, every
/// s-th one for a 1-2-5 stride s when there are too many; the minor lines
/// are 2..9 times each decade, or a subdivision of the stride. With fewer
/// decades the labels are 1, 2 and 5 times powers of ten when that gives
/// three or more, else evenly spaced round values (as on a linear axis).
fn log_ticks(lo: f64, hi: f64, max_labels: usize) -> (Vec<f64>, Vec<f64>) {
    let inside = |v: &f64| *v >= lo * (1.0 - 1e-12) && *v <= hi * (1.0 + 1e-12);
    // Bounded even for out-of-range input, so the loops below are short.
    let first = lo.log10().floor().clamp(-330.0, 330.0) as i32;
    let last = hi.log10().ceil().clamp(-330.0, 330.0) as i32;
    let decade = |k: i32| 10f64.powi(k);
    let multiples = |mantissas: &[f64]| -> Vec<f64> {
        (first..=last)
            .flat_map(|k| mantissas.iter().map(move |m| m * decade(k)))
            .filter(inside)
            .collect()
    };

    let decades: Vec<i32> = (first..=last).filter(|&k| inside(&decade(k))).collect();
    if decades.len() >= 2 {
        let stride = nice_at_least(decades.len().div_ceil(max_labels.max(2)));
        let every = |n: usize| -> Vec<f64> {
            let n = i32::try_from(n).unwrap_or(i32::MAX);
            decades
                .iter()
                .filter(|k| k.rem_euclid(n) == 0)
                .map(|&k| decade(k))
                .collect()
        };
        let labelled = every(stride);
        if stride == 1 || labelled.len() < 2 {
            return (
                decades.iter().map(|&k| decade(k)).collect(),
                if decades.len() <= 30 {
                    multiples(&[2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
                } else {
                    Vec::new()
                },
            );
        }
        // 10 -> 2, 20 -> 10, 50 -> 10, 100 -> 20, ...; 2 and 5 -> 1.
        let leading = stride / 10usize.pow(stride.ilog10());
        let sub = if leading == 2 { stride / 2 } else { stride / 5 }.max(1);
        let light = every(sub).into_iter().filter(|v| !labelled.contains(v)).collect();
        return (labelled, light);
    }
    let coarse = multiples(&[1.0, 2.0, 5.0]);
    if coarse.len() >= 3 {
        let light = multiples(&[3.0, 4.0, 6.0, 7.0, 8.0, 9.0]);
        return (coarse, light);
    }
    // Less than about a factor of five: evenly spaced round values read
    // better than sparse 1-2-5 ones.
    let even: Vec<f64> = RangedCoordf64::from(lo..hi)
        .key_points(max_labels.max(2))
        .into_iter()
        .filter(inside)
        .collect();
    if even.len() >= 2 {
        return (even, Vec::new());
    }
    (multiples(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]), Vec::new())
}

/// How tick values are turned into labels.
#[derive(Debug, Clone, Copy)]
enum TickFormat {
    /// Plain decimals with a fixed number of digits after the point.
    Fixed { decimals: usize, zero_tol: f64 },
    /// Scientific notation precise down to `10^step_exp`.
    Sci { step_exp: i32, zero_tol: f64 },
    /// Log axis: plain for 1e-3..1e4, scientific outside.
    Log,
}

impl TickFormat {
    /// Choose the precision from the actual tick spacing `plotters` will use
    /// for this range and label count.
    fn linear(lo: f64, hi: f64, labels: usize) -> Self {
        let ticks = RangedCoordf64::from(lo..hi).key_points(labels);
        let step = match ticks.as_slice() {
            [a, b, ..] => (b - a).abs(),
            _ => (hi - lo).abs(),
        };
        let step = if step.is_finite() && step > 0.0 { step } else { 1.0 };
        let step_exp = (step.log10() + 1e-6).floor() as i32;
        let zero_tol = step * 1e-6;
        let magnitude = lo.abs().max(hi.abs());
        if !(1e-3..1e6).contains(&magnitude) {
            Self::Sci { step_exp, zero_tol }
        } else {
            Self::Fixed {
                decimals: usize::try_from(-step_exp).unwrap_or(0),
                zero_tol,
            }
        }
    }

    fn label(self, v: f64) -> String {
        match self {
            Self::Fixed { decimals, zero_tol } => {
                if v.abs() < zero_tol {
                    format!("{:.*}", decimals, 0.0)
                } else {
                    format!("{v:.decimals$}")
                }
            }
            Self::Sci { step_exp, zero_tol } => {
                if v.abs() < zero_tol {
                    "0".to_string()
                } else {
                    let exp = (v.abs().log10() + 1e-9).floor() as i32;
                    let digits = usize::try_from(exp - step_exp).unwrap_or(0);
                    format!("{v:.digits$e}")
                }
            }
            Self::Log => log_label(v),
        }
    }
}

/// Up to three significant digits; plain for 1e-3..1e4, else like `2.5e-7`.
fn log_label(v: f64) -> String {
    if !(v.is_finite() && v > 0.0) {
        return format!("{v}");
    }
    let sci = format!("{v:.2e}");
    let Some((mant, exp)) = sci.split_once('e') else {
        return sci;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let mant = mant.trim_end_matches('0').trim_end_matches('.');
    if (-3..=4).contains(&exp) {
        let mant_decimals = mant.split_once('.').map_or(0, |(_, f)| f.len());
        let decimals = usize::try_from(mant_decimals as i32 - exp).unwrap_or(0);
        format!("{v:.decimals$}")
    } else {
        format!("{mant}e{exp}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, style: SeriesStyle, color: usize, points: Vec<(f64, f64)>) -> Series {
        Series {
            label: label.to_string(),
            points,
            style,
            color_index: color,
        }
    }

    fn panel(title: &str, series: Vec<Series>) -> Panel {
        Panel {
            title: title.to_string(),
            x_label: "time t".to_string(),
            y_label: "loss".to_string(),
            series,
            log_x: false,
            log_y: false,
            equal_aspect: false,
        }
    }

    fn figure(panels: Vec<Panel>) -> Figure {
        Figure {
            title: "Lazy vs rich dynamics".to_string(),
            panels,
            columns: 2,
            panel_width: 420,
            panel_height: 320,
        }
    }

    fn sample_figure() -> Figure {
        let t: Vec<f64> = (0..60).map(|i| f64::from(i) * 0.1).collect();
        let theory: Vec<(f64, f64)> = t.iter().map(|&x| (x, (-x).exp())).collect();
        let sim: Vec<(f64, f64)> = t
            .iter()
            .step_by(4)
            .map(|&x| (x, (-x).exp() * (1.0 + 0.05 * (7.0 * x).sin())))
            .collect();
        let bound: Vec<(f64, f64)> = t.iter().map(|&x| (x, 0.9 * (-0.8 * x).exp())).collect();
        let mut p1 = panel(
            "Training loss",
            vec![
                series("theory", SeriesStyle::Line, 0, theory.clone()),
                series("simulation", SeriesStyle::Markers, 1, sim),
                series("bound", SeriesStyle::DashedLine, 2, bound),
            ],
        );
        p1.log_y = true;

        let widths: Vec<(f64, f64)> = (1..=8)
            .map(|k| {
                let n = f64::from(1u32 << (k + 3));
                (n, 2.0 / n.sqrt())
            })
            .collect();
        let mut p2 = panel(
            "Finite-width error",
            vec![
                series("|sim - theory|", SeriesStyle::Markers, 3, widths.clone()),
                series(
                    "n^-1/2 fit",
                    SeriesStyle::DashedLine,
                    4,
                    widths.iter().map(|&(n, _)| (n, 2.1 / n.sqrt())).collect(),
                ),
            ],
        );
        p2.log_x = true;
        p2.log_y = true;
        p2.x_label = "width n".to_string();
        p2.y_label = "error".to_string();

        let mut gap = theory.clone();
        gap[30].1 = f64::NAN;
        let p3 = panel(
            "Kernel alignment",
            vec![
                series(
                    "alignment",
                    SeriesStyle::Line,
                    5,
                    gap.iter().map(|&(x, y)| (x, 1.0 - y)).collect(),
                ),
                series("", SeriesStyle::Line, 6, vec![(0.0, 0.5), (6.0, 0.5)]),
            ],
        );
        figure(vec![p1, p2, p3])
    }

    #[test]
    fn three_panel_figure_renders_with_all_text_and_shapes() {
        let fig = sample_figure();
        let svg = render_svg(&fig).expect("render");
        assert!(svg.starts_with("<svg"), "not an SVG document");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("Lazy vs rich dynamics"));
        for p in &fig.panels {
            assert!(svg.contains(&p.title), "missing panel title {}", p.title);
            for s in p.series.iter().filter(|s| !s.label.is_empty()) {
                // The backend escapes XML metacharacters in text.
                let escaped = s.label.replace('&', "&amp;").replace('<', "&lt;");
                assert!(svg.contains(&escaped), "missing legend label {}", s.label);
            }
        }
        assert!(svg.contains("<circle"));
        assert!(svg.contains("<polyline") || svg.contains("<path"));
        assert!(svg.contains("<text"));
        assert!(
            svg.contains(&format!("font-size=\"{}\"", 20 * SCALE)),
            "figure title size"
        );
        // Drawn at SCALE× in the viewBox, shown at display size.
        let (w, h) = (2 * 420, 2 * 320 + TITLE_BAND);
        let head = format!(
            "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {} {}\"",
            w * SCALE,
            h * SCALE
        );
        assert!(svg.starts_with(&head), "{}", &svg[..100]);
        assert!(svg.contains("time t") && svg.contains("loss"));
        // Log-axis decade labels.
        for tick in ["0.01", "0.1", "1", "100", "1000", "0.05", "0.2"] {
            assert!(svg.contains(&format!(">\n{tick}\n<")), "missing tick {tick}");
        }
    }

    #[test]
    fn a_curve_under_an_identical_one_says_so_and_others_do_not() {
        let pts: Vec<(f64, f64)> = (0..50).map(|i| (f64::from(i), f64::from(i).sqrt())).collect();
        let other: Vec<(f64, f64)> = pts.iter().map(|&(x, y)| (x, y + 0.5)).collect();
        let p = panel(
            "coincide",
            vec![
                series("λ = -2", SeriesStyle::DashedLine, 0, pts.clone()),
                series("λ = 0", SeriesStyle::DashedLine, 1, other),
                series("λ = 2", SeriesStyle::DashedLine, 2, pts),
            ],
        );
        let svg = render_svg(&figure(vec![p])).expect("render");
        assert!(svg.contains("λ = -2 (under λ = 2: identical)"), "no note");
        assert!(!svg.contains("λ = 0 (under"));
        assert!(!svg.contains("λ = 2 (under"));
    }

    #[test]
    fn legend_goes_outside_when_the_plot_is_full() {
        // Curves that cover every corner and edge midpoint: no free spot inside.
        let fill: Vec<Series> = (0..12)
            .map(|k| {
                let c = f64::from(k) / 11.0;
                series(
                    if k == 0 { "dense" } else { "" },
                    SeriesStyle::Line,
                    0,
                    vec![(0.0, c), (1.0, c)],
                )
            })
            .chain((0..12).map(|k| {
                let c = f64::from(k) / 11.0;
                series("", SeriesStyle::Line, 1, vec![(c, 0.0), (c, 1.0)])
            }))
            .collect();
        let p = panel("full", fill);
        let prepared = PreparedPanel::new(0, &p).expect("valid");
        let rect = prepared.plot_rect(px_u(420), px_u(320)).expect("layout");
        let (x, y) = prepared.axes(rect);
        assert!(prepared.free_spot(rect, &x, &y, (px(80), px(30))).is_none());
        render_svg(&figure(vec![p])).expect("render with the legend outside");
        // An empty upper-right corner is found.
        let q = panel(
            "corner",
            vec![series(
                "low",
                SeriesStyle::Line,
                0,
                vec![(0.0, 0.0), (1.0, 0.1), (2.0, 0.0)],
            )],
        );
        let prepared = PreparedPanel::new(0, &q).expect("valid");
        let rect = prepared.plot_rect(px_u(420), px_u(320)).expect("layout");
        let (x, y) = prepared.axes(rect);
        let spot = prepared.free_spot(rect, &x, &y, (px(80), px(30))).expect("free corner");
        assert!(
            spot.0 > rect.0 + rect.2 / 2 && spot.1 < rect.1 + rect.3 / 2,
            "{spot:?} in {rect:?}"
        );
    }

    #[test]
    fn equal_aspect_gives_equal_units() {
        let mut p = panel(
            "geometry",
            vec![series("s", SeriesStyle::Line, 0, vec![(0.0, 0.0), (10.0, 1.0)])],
        );
        p.equal_aspect = true;
        let prepared = PreparedPanel::new(0, &p).expect("valid");
        let rect = prepared.plot_rect(px_u(420), px_u(320)).expect("layout");
        let (x, y) = prepared.axes(rect);
        let kx = (x.hi - x.lo) / f64::from(rect.2);
        let ky = (y.hi - y.lo) / f64::from(rect.3);
        assert!((kx / ky - 1.0).abs() < 1e-12, "{kx} vs {ky}");
    }

    #[test]
    fn output_is_deterministic() {
        let fig = sample_figure();
        let a = render_svg(&fig).expect("render");
        let b = render_svg(&fig).expect("render");
        assert_eq!(a, b);
    }

    #[test]
    fn empty_figure_is_an_error() {
        let err = render_svg(&figure(vec![])).expect_err("must fail");
        assert!(matches!(err, PlotError::Empty { ref figure } if figure == "Lazy vs rich dynamics"));
        assert!(err.to_string().contains("has no panels"));
    }

    #[test]
    fn panel_with_only_nan_points_is_an_error() {
        let p = panel(
            "all nan",
            vec![series(
                "nan",
                SeriesStyle::Line,
                0,
                vec![(f64::NAN, 1.0), (1.0, f64::NAN), (f64::INFINITY, 2.0)],
            )],
        );
        let ok = panel("fine", vec![series("a", SeriesStyle::Line, 0, vec![(0.0, 1.0)])]);
        let err = render_svg(&figure(vec![ok, p])).expect_err("must fail");
        assert!(matches!(err, PlotError::NoFinitePoints { ref panel } if panel == "all nan"));
        let no_series = panel("", vec![]);
        let err = render_svg(&figure(vec![no_series])).expect_err("must fail");
        assert!(matches!(err, PlotError::NoFinitePoints { ref panel } if panel == "#1"));
    }

    #[test]
    fn log_axis_with_zero_is_an_error() {
        let mut p = panel(
            "log",
            vec![series(
                "s",
                SeriesStyle::Markers,
                0,
                vec![(1.0, 1.0), (f64::NAN, -1.0), (2.0, 0.0), (3.0, -2.0)],
            )],
        );
        p.log_y = true;
        let err = render_svg(&figure(vec![p.clone()])).expect_err("must fail");
        assert!(matches!(err, PlotError::NonPositiveOnLogAxis { ref panel, value } if panel == "log" && value == 0.0));
        // The same data on linear axes is fine.
        p.log_y = false;
        render_svg(&figure(vec![p])).expect("linear axes accept zero");
    }

    #[test]
    fn degenerate_and_extreme_ranges_render() {
        let cases = [
            vec![(1.0, 3.0)],
            vec![(0.0, 0.0), (0.0, 0.0)],
            vec![(0.0, 1e-9), (1.0, 3e-9)],
            vec![(1e7, 1.0), (2e7, 1.0 + 1e-13)],
            vec![(-f64::MAX, f64::MAX), (f64::MAX, -f64::MAX)],
            vec![(f64::MAX, f64::MAX)],
            vec![(-f64::MAX, 0.0), (-f64::MAX, 1.0)],
            vec![(f64::MIN_POSITIVE, 5e-324), (1.0, 1.0)],
        ];
        for pts in cases {
            let fig = figure(vec![panel(
                "edge",
                vec![series("s", SeriesStyle::Line, 9, pts.clone())],
            )]);
            render_svg(&fig).unwrap_or_else(|e| panic!("{pts:?}: {e}"));
        }
        let mut p = panel(
            "log edge",
            vec![series("s", SeriesStyle::DashedLine, 0, vec![(2.0, 3.0), (3.0, 3.0)])],
        );
        p.log_x = true;
        p.log_y = true;
        render_svg(&figure(vec![p.clone()])).expect("narrow log range");
        for pts in [
            vec![(5e-324, 1e300), (f64::MAX, f64::MIN_POSITIVE)],
            vec![(f64::MAX, f64::MAX)],
            vec![(1e-300, 1e-300)],
        ] {
            p.series[0].points = pts.clone();
            render_svg(&figure(vec![p.clone()])).unwrap_or_else(|e| panic!("{pts:?}: {e}"));
        }
    }

    #[test]
    fn layout_is_clamped_and_text_is_escaped() {
        let p = panel(
            "a < b & c",
            vec![series("x<y", SeriesStyle::Line, 0, vec![(0.0, 1.0), (1.0, 2.0)])],
        );
        let mut fig = figure(vec![p.clone(), p]);
        fig.title = String::new();
        fig.columns = 0;
        fig.panel_width = 0;
        fig.panel_height = 0;
        let size = |svg: &str| -> (u32, u32) {
            let num = |key: &str| -> u32 {
                let i = svg.find(key).expect("size attribute") + key.len();
                svg[i..].split('"').next().and_then(|v| v.parse().ok()).expect("number")
            };
            (num(" width=\""), num(" height=\""))
        };
        let svg = render_svg(&fig).expect("render");
        let (w, h) = size(&svg);
        // So small a plot has no room for the legend: a column adds `extra` to the clamped width.
        let extra = w - MIN_PANEL_WIDTH;
        assert!(extra > 0 && extra < MIN_PANEL_WIDTH, "{}", &svg[..80]);
        assert_eq!(h, 2 * MIN_PANEL_HEIGHT);
        assert!(svg.contains(&format!("viewBox=\"0 0 {} {}\"", w * SCALE, h * SCALE)));
        assert!(svg.contains("a &lt; b &amp; c") && svg.contains("x&lt;y"));
        fig.columns = 5;
        fig.title = "T".to_string();
        let svg = render_svg(&fig).expect("render");
        assert_eq!(
            size(&svg),
            (2 * (MIN_PANEL_WIDTH + extra), MIN_PANEL_HEIGHT + TITLE_BAND),
            "{}",
            &svg[..80]
        );
    }

    #[test]
    fn palette_wraps_and_tick_labels_are_tidy() {
        assert_eq!(palette(0), palette(PALETTE.len()));
        assert_ne!(palette(0), palette(1));
        assert_eq!(log_label(1e-5), "1e-5");
        assert_eq!(log_label(0.001_000_000_000_000_2), "0.001");
        assert_eq!(log_label(2.5e-3), "0.0025");
        assert_eq!(log_label(300.000_000_000_1), "300");
        assert_eq!(log_label(1e5), "1e5");
        assert_eq!(nice_at_least(3), 5);
        assert_eq!(nice_at_least(37), 50);
        let (bold, light) = log_ticks(1e-300, 1e300, 6);
        assert!(bold.len() >= 2 && bold.len() <= 7, "{bold:?}");
        assert!(light.len() < 40, "{} light lines", light.len());
        for (lo, hi) in [(1.0, 2.0), (1.1, 2.2), (1.49, 2.98), (3.0, 6.0), (0.7, 1.4)] {
            let (bold, _) = log_ticks(lo, hi, 5);
            assert!(bold.len() >= 2, "{lo}..{hi}: {bold:?}");
        }
        let f = TickFormat::linear(0.0, 1.0, 10);
        assert_eq!(f.label(0.300_000_000_000_000_04), "0.3");
        assert_eq!(f.label(-1e-17), "0.0");
        let f = TickFormat::linear(0.0, 1e-6, 5);
        assert_eq!(f.label(2e-7), "2e-7");
        assert_eq!(f.label(0.0), "0");
    }
}
