//! Metrics against the epoch, one line per condition (the mean over its runs) with a shaded
//! min-max band across seeds, shaped for collapse:
//! * a logarithmic y axis for NC metrics, losses and errors ([`log_by_default`]), where a value
//!   of exactly 0 is drawn on a dashed floor line at half the smallest positive value, labelled
//!   `0`; values that all lie within one decade (and none 0) get a linear axis instead, where
//!   a log axis would carry a single labelled tick;
//! * a logarithmic x axis when the analysis epochs are log-spaced ([`log_spaced`]);
//! * dashed grey verticals at the learning-rate decays, dotted verticals in each condition's
//!   colour at its stable TPT epoch (mean over seeds);
//! * optionally one thin line per run (`--per-seed`);
//! * in the SVG, each condition's elements in a `<g class="cond cond-<id>">` (the page's
//!   toggles) and a `<title>` on each point (hover values).
//!
//! [`Panel`] draws one such plot into any area: [`CurvesFigure`] is a panel with a legend
//! beside it, [`super::panels::PanelsFigure`] a grid of small panels with a legend strip.

use std::collections::BTreeMap;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::conditions::Condition;
use super::plot::{
    self, draw_legend, draw_line, draw_marker, grey, Figure, LegendEntry, SeriesStyle, GREY,
};
use super::runs::Run;
use super::svg::Marks;

/// The mean and range over runs of a metric at one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    pub epoch: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// Runs with a finite value at this epoch.
    pub n: usize,
}

/// One condition's line.
#[derive(Debug, Clone)]
pub struct Curve {
    /// The condition's short name.
    pub label: String,
    /// The condition's id (`c3`): the class of its SVG group.
    pub id: String,
    /// The condition's look ([`Condition::style`]), the same in every figure.
    pub style: SeriesStyle,
    pub runs: usize,
    pub points: Vec<CurvePoint>,
    /// Each run's own series: `(seed, points)`.
    pub seeds: Vec<(String, Vec<(f64, f64)>)>,
    /// Mean stable TPT epoch over the runs that have one.
    pub tpt: Option<f64>,
}

/// [`aggregate_by`] of a `metrics.csv` column.
pub fn aggregate(runs: &[Run], conditions: &[Condition], index: usize, metric: &str) -> Curve {
    aggregate_by(runs, conditions, index, |r| r.metrics.series(metric))
}

/// Mean, min and max over the runs of condition `index` of the series `series` gives for each
/// run, at each epoch where at least one run has a finite value.
pub fn aggregate_by(
    runs: &[Run],
    conditions: &[Condition],
    index: usize,
    series: impl Fn(&Run) -> Vec<(f64, f64)>,
) -> Curve {
    let condition = &conditions[index];
    let mut by_epoch: BTreeMap<u64, (f64, Vec<f64>)> = BTreeMap::new();
    let mut seeds = Vec::new();
    for &i in &condition.runs {
        let s: Vec<(f64, f64)> = series(&runs[i])
            .into_iter()
            .filter(|&(_, v)| plottable(v))
            .collect();
        for &(e, v) in &s {
            // Epochs are non-negative and ordered: their bit patterns sort like the values.
            by_epoch
                .entry(e.to_bits())
                .or_insert((e, Vec::new()))
                .1
                .push(v);
        }
        let seed = runs[i].seed().map_or("?".to_string(), |s| s.to_string());
        seeds.push((seed, s));
    }
    let points = by_epoch
        .into_values()
        .map(|(epoch, vals)| CurvePoint {
            epoch,
            mean: nclab_core::stats::mean(&vals),
            min: vals.iter().copied().fold(f64::INFINITY, f64::min),
            max: vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            n: vals.len(),
        })
        .collect();
    let tpts: Vec<f64> = condition
        .runs
        .iter()
        .filter_map(|&i| runs[i].stable_tpt_epoch())
        .collect();
    Curve {
        label: condition.name.clone(),
        id: condition.id.clone(),
        style: condition.style,
        runs: condition.runs.len(),
        points,
        seeds,
        tpt: (!tpts.is_empty()).then(|| nclab_core::stats::mean(&tpts)),
    }
}

/// Whether a y axis over these values should be logarithmic: all positive and
/// `max / min >= 30` (about a decade and a half). Used for columns that
/// [`log_by_default`] does not know.
pub fn wants_log(values: impl IntoIterator<Item = f64>) -> bool {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        if v <= 0.0 {
            return false;
        }
        lo = lo.min(v);
        hi = hi.max(v);
    }
    lo.is_finite() && hi / lo >= 30.0
}

/// Whether `metric` is drawn on a logarithmic y axis by default: `Some(true)` for the NC
/// metrics, losses, errors and the learning rate (quantities that fall by decades towards 0),
/// `Some(false)` for accuracies, correlations and tree distances, `None` for columns this
/// report does not know (then [`wants_log`] decides).
pub fn log_by_default(metric: &str) -> Option<bool> {
    match metric {
        "nc1"
        | "nc2"
        | "nc3"
        | "nc4"
        | "nc1_rank"
        | "nc1_quotient"
        | "cdnv"
        | "equinorm_means"
        | "equinorm_weights"
        | "equiangularity_means"
        | "equiangularity_weights"
        | "nc2_weights"
        | "self_duality"
        | "bias_collapse"
        | "nc2_tree"
        | "nc1_coarse"
        | "lnc1"
        | "lnc23"
        | "lperp"
        | "train_loss"
        | "test_loss"
        | "top1_error"
        | "top5_error"
        | "train_error"
        | "lr"
        | "gnc2_log_var"
        | "gnc2_riesz_mean"
        | "gnc2_riesz_var"
        | "unc3"
        | "heldout_nc1"
        | "heldout_nc4" => Some(true),
        "train_acc"
        | "test_acc"
        | "ncc_accuracy"
        | "heldout_ncc_accuracy"
        | "gnc2_log_mean"
        | "mean_tree_correlation"
        | "mistake_severity"
        | "hdist@1"
        | "hdist@5"
        | "elapsed_s" => Some(false),
        _ => None,
    }
}

/// Whether analysis epochs are log-spaced (`log:N` schedules: 1, 2, 3, 4, 6, 7, 9, 12, ...):
/// at least 6 distinct epochs, all positive, and the median gap of the last third at least 4
/// times that of the first third (evenly spaced epochs give about 1).
pub fn log_spaced(epochs: &[f64]) -> bool {
    let mut e: Vec<f64> = epochs.iter().copied().filter(|v| v.is_finite()).collect();
    e.sort_by(f64::total_cmp);
    e.dedup();
    if e.len() < 6 || e[0] <= 0.0 {
        return false;
    }
    let gaps: Vec<f64> = e.windows(2).map(|w| w[1] - w[0]).collect();
    let third = gaps.len() / 3;
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let first = median(&gaps[..third.max(1)]);
    let last = median(&gaps[gaps.len() - third.max(1)..]);
    last >= 4.0 * first
}

/// How curves are drawn: options of `nclab report`.
#[derive(Debug, Clone, Copy)]
pub struct CurveOptions {
    /// Logarithmic y axes where [`log_by_default`] says so (`--linear-y` turns it off).
    pub log_y: bool,
    /// A logarithmic epoch axis when the analyses are log-spaced (`--linear-x` turns it off:
    /// the late epochs, where the terminal phase lies, then get their share of the width).
    pub log_x: bool,
    /// One thin line per run under the mean (`--per-seed`).
    pub per_seed: bool,
}

impl Default for CurveOptions {
    fn default() -> Self {
        CurveOptions {
            log_y: true,
            log_x: true,
            per_seed: false,
        }
    }
}

/// A grey dashed horizontal across the plotting area at `value` (`dash`: on, off pixels); its
/// pixel row.
fn draw_level<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    marks: &Marks,
    frame: &Frame,
    value: f64,
    (on, off): (u32, u32),
) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
    let y = (frame.pixel)((1.0, value)).1;
    draw_line(
        area,
        &[(frame.left, y), (frame.right, y)],
        &grey(on, off),
        1,
        marks,
    )?;
    Ok(y)
}

/// Text sizes of a panel: title, tick labels, axis descriptions (smaller when compact).
#[derive(Debug, Clone, Copy)]
struct TextSizes {
    title: f64,
    label: f64,
    desc: f64,
}

impl TextSizes {
    /// The sizes of a full panel, or of a compact one in a grid.
    fn new(compact: bool) -> TextSizes {
        let (title, label, desc) = if compact {
            (17.0, 12.0, 12.0)
        } else {
            (22.0, 15.0, 16.0)
        };
        TextSizes { title, label, desc }
    }
}

/// Where a panel's plotting area lies in the drawing area it is drawn into, in pixels relative
/// to that area, and how a data point maps to such a pixel.
struct Frame<'a> {
    /// `(epoch, value)` -> pixel, the value as drawn ([`Panel::shown`]).
    pixel: &'a dyn Fn((f64, f64)) -> (i32, i32),
    /// The drawing area's top-left pixel in the whole figure: added for the SVG marks.
    base: (i32, i32),
    left: i32,
    right: i32,
    top: i32,
    bottom: i32,
}

impl Frame<'_> {
    /// The pixel column of `epoch`, when it lies within the plotting area.
    fn column(&self, epoch: f64) -> Option<i32> {
        let x = (self.pixel)((epoch, 1.0)).0;
        (self.left..=self.right).contains(&x).then_some(x)
    }

    /// A vertical from the top to the bottom of the plotting area at pixel column `x`.
    fn vertical(&self, x: i32) -> [(i32, i32); 2] {
        [(x, self.top), (x, self.bottom)]
    }

    /// A pixel of the drawing area in the coordinates of the whole figure.
    fn absolute(&self, p: (i32, i32)) -> (i32, i32) {
        (p.0 + self.base.0, p.1 + self.base.1)
    }
}

/// One plot of a metric against the epoch; see the module documentation.
#[derive(Debug, Clone)]
pub struct Panel {
    pub metric: String,
    pub title: String,
    pub y_label: String,
    pub curves: Vec<Curve>,
    pub log_x: bool,
    pub log_y: bool,
    /// With `log_y`: where a value of 0 is drawn (half the smallest positive value), when some
    /// value is 0.
    pub floor: Option<f64>,
    /// Epochs at which the learning rate decays.
    pub decays: Vec<f64>,
    pub per_seed: bool,
    /// A level no curve can pass, drawn as a dashed horizontal with its label: the floor of
    /// hdist@k on the runs' tree ([`super::floors`]).
    pub reference: Option<(f64, String)>,
}

impl Panel {
    /// A panel of `metric` (its title and unit from [`describe`]).
    pub fn new(metric: &str, curves: Vec<Curve>, decays: &[f64], options: CurveOptions) -> Panel {
        let (title, unit, _) = describe(metric);
        let values = || {
            curves.iter().flat_map(|c| {
                c.points
                    .iter()
                    .flat_map(|p| [p.min, p.max, p.mean])
                    .chain(c.seeds.iter().flat_map(|(_, s)| s.iter().map(|p| p.1)))
            })
        };
        let any_negative = values().any(|v| v < 0.0);
        let smallest_positive = values().filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min);
        let largest = values().fold(0.0, f64::max);
        let has_zero = values().any(|v| v == 0.0);
        // Within one decade a log axis would carry a single labelled tick: drawn linear.
        let spans_a_decade = has_zero || largest >= 10.0 * smallest_positive;
        let log_y = options.log_y
            && !any_negative
            && smallest_positive.is_finite()
            && spans_a_decade
            && log_by_default(metric).unwrap_or_else(|| wants_log(values()));
        let floor = (log_y && has_zero).then_some(smallest_positive / 2.0);
        let epochs: Vec<f64> = curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.epoch))
            .collect();
        let y_label = if log_y {
            format!("{unit}, log scale")
        } else {
            unit
        };
        Panel {
            metric: metric.to_string(),
            title,
            y_label,
            log_x: options.log_x && log_spaced(&epochs),
            log_y,
            floor,
            decays: decays.to_vec(),
            per_seed: options.per_seed,
            reference: None,
            curves,
        }
    }

    /// A value as drawn: 0 (or below) at the floor on a log axis.
    fn shown(&self, v: f64) -> f64 {
        match self.floor {
            Some(f) if v <= 0.0 => f,
            _ => v,
        }
    }

    /// The reference level as drawn: none on a log axis when it is not positive.
    fn drawn_reference(&self) -> Option<&(f64, String)> {
        self.reference
            .as_ref()
            .filter(|(v, _)| !self.log_y || *v > 0.0)
    }

    fn x_bounds(&self) -> (f64, f64) {
        let (lo, hi) = min_max(
            self.curves
                .iter()
                .flat_map(|c| c.points.iter().map(|p| p.epoch)),
        );
        if self.log_x {
            (lo / 1.15, hi * 1.08) // epochs: small positive numbers
        } else if hi > lo {
            (lo - 0.01 * (hi - lo), hi + 0.02 * (hi - lo))
        } else {
            (lo - 1.0, hi + 1.0)
        }
    }

    fn y_bounds(&self) -> (f64, f64) {
        let reference = self.drawn_reference().map(|r| r.0).into_iter();
        let (lo, hi) = min_max(reference.chain(self.curves.iter().flat_map(|c| {
            c.points
                .iter()
                .flat_map(|p| [p.min, p.max])
                .chain(
                    c.seeds
                        .iter()
                        .filter(|_| self.per_seed)
                        .flat_map(|(_, s)| s.iter().map(|p| p.1)),
                )
                .map(|v| self.shown(v))
        })));
        if self.log_y {
            plot::log_bounds(self.floor.unwrap_or(lo), hi, 1.6)
        } else {
            let r = padded(lo, hi);
            (r.start, r.end)
        }
    }

    /// Draws the panel into `area`. `compact`: smaller text and markers, for a grid of panels.
    pub fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        marks: &Marks,
        compact: bool,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (x0, x1) = self.x_bounds();
        let (y0, y1) = self.y_bounds();
        let yspan = y1 - y0;
        let lin_fmt = move |v: &f64| plot::tick_label(*v, yspan);
        let log_fmt = |v: &f64| log_tick(*v);
        let y_fmt: &dyn Fn(&f64) -> String = if self.log_y { &log_fmt } else { &lin_fmt };
        match (self.log_x, self.log_y) {
            (false, false) => self.draw_in(area, marks, compact, x0..x1, y0..y1, y_fmt),
            (true, false) => {
                self.draw_in(area, marks, compact, (x0..x1).log_scale(), y0..y1, y_fmt)
            }
            (false, true) => {
                self.draw_in(area, marks, compact, x0..x1, plot::log_axis(y0, y1), y_fmt)
            }
            (true, true) => self.draw_in(
                area,
                marks,
                compact,
                (x0..x1).log_scale(),
                plot::log_axis(y0, y1),
                y_fmt,
            ),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn draw_in<DB: DrawingBackend, X, Y>(
        &self,
        area: &DrawingArea<DB, Shift>,
        marks: &Marks,
        compact: bool,
        x: X,
        y: Y,
        y_format: &dyn Fn(&f64) -> String,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
    where
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let sizes = TextSizes::new(compact);
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, plot::text(sizes.title))
            .margin(if compact { 6 } else { 12 })
            .x_label_area_size(if compact { 36 } else { 55 })
            .y_label_area_size(if compact { 62 } else { 85 })
            .build_cartesian_2d(x, y)?;
        self.draw_mesh(&mut chart, compact, sizes, y_format)?;
        let base = area.get_base_pixel();
        let pixel = |p: (f64, f64)| {
            let q = chart.backend_coord(&(p.0, self.shown(p.1)));
            (q.0 - base.0, q.1 - base.1)
        };
        let (px, py) = chart.plotting_area().get_pixel_range();
        let frame = Frame {
            pixel: &pixel,
            base,
            left: px.start - base.0,
            right: px.end - base.0,
            top: py.start - base.1,
            bottom: py.end - base.1,
        };
        self.draw_floor(area, marks, &frame, sizes.label)?;
        self.draw_reference(area, marks, &frame, sizes.label)?;
        self.draw_decays(area, marks, &frame, sizes.label)?;
        // Bands, then per-seed lines, then the means: each layer in reverse condition order,
        // so that the first condition (the baseline) lies on top.
        self.draw_bands(area, marks, &frame)?;
        if self.per_seed {
            self.draw_seed_lines(area, marks, &frame)?;
        }
        for c in self.curves.iter().rev() {
            marks.group(&format!("cond cond-{}", c.id));
            self.draw_tpt(area, marks, &frame, c)?;
            self.draw_mean(area, marks, &frame, c, compact)?;
            marks.end_group();
        }
        Ok(())
    }

    /// The grid, the tick labels and the axis descriptions (the y description only outside a
    /// compact panel).
    fn draw_mesh<DB: DrawingBackend, XC, YC>(
        &self,
        chart: &mut ChartContext<DB, Cartesian2d<XC, YC>>,
        compact: bool,
        sizes: TextSizes,
        y_format: &dyn Fn(&f64) -> String,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
    where
        XC: Ranged<ValueType = f64> + ValueFormatter<f64>,
        YC: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let x_desc = if self.log_x {
            "epoch (log scale)"
        } else {
            "epoch"
        };
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(x_desc)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(y_format)
            .label_style(plot::text(sizes.label))
            .axis_desc_style(plot::text(sizes.desc))
            .max_light_lines(1)
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215));
        if !compact {
            mesh.y_desc(&self.y_label);
        }
        mesh.draw()
    }

    /// Exact zeros: the dashed floor line, labelled 0 beside the axis (with a floor only).
    fn draw_floor<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        marks: &Marks,
        frame: &Frame,
        label_size: f64,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let Some(f) = self.floor else {
            return Ok(());
        };
        let y = draw_level(area, marks, frame, f, (6, 4))?;
        area.draw_text(
            "0",
            &plot::text(label_size).pos(Pos::new(HPos::Right, VPos::Center)),
            (frame.left - 6, y),
        )
    }

    /// The reference level, when there is one: a dashed grey horizontal across the plot with
    /// its label under the line at the right (curves may lie on the line, never below it).
    fn draw_reference<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        marks: &Marks,
        frame: &Frame,
        label_size: f64,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let Some((value, label)) = self.drawn_reference() else {
            return Ok(());
        };
        let y = draw_level(area, marks, frame, *value, (3, 3))?;
        area.draw_text(
            label,
            &plot::text(label_size - 2.0)
                .color(&GREY)
                .pos(Pos::new(HPos::Right, VPos::Top)),
            (frame.right - 4, y + 3),
        )
    }

    /// The learning-rate decays inside the x range: dashed grey verticals labelled `lr ÷10`.
    fn draw_decays<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        marks: &Marks,
        frame: &Frame,
        label_size: f64,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        for &d in &self.decays {
            let Some(xpix) = frame.column(d) else {
                continue;
            };
            draw_line(area, &frame.vertical(xpix), &grey(7, 5), 1, marks)?;
            area.draw_text(
                "lr ÷10",
                &plot::text(label_size - 2.0)
                    .color(&GREY)
                    .pos(Pos::new(HPos::Left, VPos::Top)),
                (xpix + 3, frame.top + 2),
            )?;
        }
        Ok(())
    }

    /// Each condition's min-max band over its runs, where at least two epochs have two runs.
    fn draw_bands<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        marks: &Marks,
        frame: &Frame,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        for c in self.curves.iter().rev() {
            let st = c.style;
            let banded: Vec<&CurvePoint> = c.points.iter().filter(|p| p.n >= 2).collect();
            if banded.len() >= 2 {
                marks.group(&format!("cond cond-{}", c.id));
                let mut poly: Vec<(i32, i32)> = banded
                    .iter()
                    .map(|p| (frame.pixel)((p.epoch, p.max)))
                    .collect();
                poly.extend(banded.iter().rev().map(|p| (frame.pixel)((p.epoch, p.min))));
                area.draw(&Polygon::new(poly, st.colour.mix(0.14).filled()))?;
                marks.end_group();
            }
        }
        Ok(())
    }

    /// One thin line per run (`--per-seed`), in its condition's colour.
    fn draw_seed_lines<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        marks: &Marks,
        frame: &Frame,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        for c in self.curves.iter().rev() {
            let st = c.style;
            marks.group(&format!("cond cond-{} seed", c.id));
            for (_, s) in &c.seeds {
                let pix: Vec<(i32, i32)> = s.iter().map(|&p| (frame.pixel)(p)).collect();
                if pix.len() >= 2 {
                    area.draw(&PathElement::new(pix, st.colour.mix(0.45).stroke_width(1)))?;
                }
            }
            marks.end_group();
        }
        Ok(())
    }

    /// A condition's mean stable TPT epoch, when inside the x range: a dotted vertical in its
    /// colour, with a hover title.
    fn draw_tpt<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        marks: &Marks,
        frame: &Frame,
        c: &Curve,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let Some(t) = c.tpt else {
            return Ok(());
        };
        let Some(xpix) = frame.column(t) else {
            return Ok(());
        };
        let st = c.style;
        let tst = SeriesStyle {
            colour: st.colour,
            marker: st.marker,
            dash: Some((2, 4)),
        };
        // From under the decays' labels down, so that a TPT at a decay leaves `lr ÷10` legible.
        let [(x, top), bottom] = frame.vertical(xpix);
        draw_line(area, &[(x, top + 16), bottom], &tst, 1, marks)?;
        marks.hover(
            frame.absolute((xpix, frame.top + 6)),
            5,
            &format!(
                "{}: stable TPT at epoch {} (mean over seeds)",
                c.label,
                sig_text(t)
            ),
        );
        Ok(())
    }

    /// A condition's mean line with its markers, and a hover title on each point.
    fn draw_mean<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        marks: &Marks,
        frame: &Frame,
        c: &Curve,
        compact: bool,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (width, msize) = if compact { (2, 2) } else { (2, 3) };
        let st = c.style;
        let pix: Vec<(i32, i32)> = c
            .points
            .iter()
            .map(|p| (frame.pixel)((p.epoch, p.mean)))
            .collect();
        if pix.len() >= 2 {
            draw_line(area, &pix, &st, width, marks)?;
        }
        for &p in &pix {
            draw_marker(area, p, st.marker, st.colour, msize)?;
        }
        for (p, &q) in c.points.iter().zip(&pix) {
            marks.hover(frame.absolute(q), 5, &self.point_title(c, p));
        }
        Ok(())
    }

    /// The hover title of a mean point: condition, epoch, metric, value, and with several runs
    /// their number and range.
    fn point_title(&self, c: &Curve, p: &CurvePoint) -> String {
        let range = if p.n >= 2 {
            format!(
                " (mean of {} runs; {} to {})",
                p.n,
                sig_text(p.min),
                sig_text(p.max)
            )
        } else {
            String::new()
        };
        format!(
            "{}: epoch {}, {} = {}{range}",
            c.label,
            p.epoch,
            self.metric,
            sig_text(p.mean)
        )
    }

    /// Notes for the legend: what the lines, bands and verticals are.
    pub fn notes(&self) -> Vec<String> {
        let mut note = vec!["Line: mean over runs (seeds).".to_string()];
        if self
            .curves
            .iter()
            .any(|c| c.points.iter().any(|p| p.n >= 2))
        {
            note.push("Band: min–max over runs.".to_string());
        }
        if self.per_seed {
            note.push("Thin lines: single runs.".to_string());
        }
        if !self.decays.is_empty() {
            note.push("Grey dashed verticals: learning-rate decays (÷10).".to_string());
        }
        if self.curves.iter().any(|c| c.tpt.is_some()) {
            note.push("Dotted verticals: stable TPT (mean over seeds).".to_string());
        }
        if self.floor.is_some() {
            note.push("Dashed '0' line: values of exactly 0 on the log axis.".to_string());
        }
        if let Some((_, label)) = self.drawn_reference() {
            note.push(format!(
                "Dotted horizontal: {label}, the least value any ranking reaches on the tree."
            ));
        }
        note
    }
}

fn sig_text(v: f64) -> String {
    crate::numbers::significant(Some(v), 4)
}

/// Tick label of a log axis: plain decimals from 0.001 to 10^4 (`0.01`, `250`), else `1e-5`.
pub fn log_tick(v: f64) -> String {
    if v.is_nan() || v <= 0.0 || v.is_infinite() {
        return String::new();
    }
    if (1e-3..1e4).contains(&v) {
        let decimals = (-(v.log10().floor()) as i32).max(0) as usize + 1;
        let mut s = format!("{v:.decimals$}");
        if s.contains('.') {
            s = s.trim_end_matches('0').trim_end_matches('.').to_string();
        }
        s
    } else {
        let e = v.log10().floor() as i32;
        let m = v / 10f64.powi(e);
        if (m - 1.0).abs() < 1e-9 {
            format!("1e{e}")
        } else {
            format!("{m:.1}e{e}")
        }
    }
}

/// Title, y-axis label (with units) and a one-sentence description of a metric column.
pub fn describe(metric: &str) -> (String, String, String) {
    let (title, unit, text) = match metric {
        "nc1" => ("NC1: within-class variability", "tr(S_W S_B⁺)/K (dimensionless)", "Within-class variability relative to the between-class spread; collapse drives it to 0."),
        "nc2" => ("NC2: distance of the class means to a simplex ETF", "Frobenius distance (dimensionless)", "How far the normalised Gram matrix of the centred class means is from the simplex equiangular tight frame."),
        "nc3" => ("NC3: classifier times means (W Mᵀ) vs simplex ETF", "Frobenius distance (dimensionless)", "How far W Mᵀ (normalised) is from the simplex ETF: 0 when the classifier rows align with class means that form one; it also grows when the means are no ETF (Papyan et al.'s self-duality is the self_duality figure)."),
        "nc4" => ("NC4: disagreement with the nearest-class-mean rule", "fraction of training samples", "Fraction of training samples where the network and the nearest-class-mean classifier disagree."),
        "nc1_rank" => ("NC1 (Papyan et al., top K−1 eigenpairs)", "dimensionless", "NC1 with the pseudo-inverse over the top K−1 eigenpairs of S_B."),
        "nc1_quotient" => ("tr(S_W) / tr(S_B)", "dimensionless", "Ratio of within-class to between-class total variance."),
        "cdnv" => ("Class-distance normalised variance (CDNV)", "dimensionless", "Mean over class pairs of the within-class variances over the squared distance of the means."),
        "equinorm_means" => ("Equinorm of the class means", "coefficient of variation of ‖μ_k − μ_G‖", "Spread of the norms of the centred class means: 0 when all are equal."),
        "equinorm_weights" => ("Equinorm of the classifier rows", "coefficient of variation of ‖w_k‖", "Spread of the norms of the classifier rows: 0 when all are equal."),
        "equiangularity_means" => ("Equiangularity of the class means", "mean |cos + 1/(K−1)|", "Mean deviation of the pairwise cosines of the centred means from −1/(K−1)."),
        "equiangularity_weights" => ("Equiangularity of the classifier rows", "mean |cos + 1/(K−1)|", "Mean deviation of the pairwise cosines of the classifier rows from −1/(K−1)."),
        "nc2_weights" => ("NC2 of the classifier rows", "Frobenius distance (dimensionless)", "NC2 computed on the classifier rows instead of the class means."),
        "self_duality" => ("Self-duality ‖W/‖W‖ − M/‖M‖‖²", "squared Frobenius distance", "Papyan et al.'s NC3: distance between the normalised classifier and the normalised centred means."),
        "ncc_accuracy" => ("Nearest-class-mean accuracy", "fraction of training samples", "Accuracy of classifying each training sample by its nearest class mean."),
        "bias_collapse" => ("Bias collapse ‖W μ_G + b‖", "Euclidean norm (logit units)", "Size of the logits of the global mean: 0 when the bias cancels the global mean."),
        "mean_tree_correlation" => ("Class-mean geometry vs the class tree", "Spearman ρ", "Rank correlation over class pairs between the cosine of the centred means and the tree similarity 1 − d(i,j)."),
        "nc2_tree" => ("NC2 against the hierarchy target T", "Frobenius distance (dimensionless)", "Distance of the normalised class-mean Gram matrix to the hierarchy target T (HAFrame's construction)."),
        "nc1_coarse" => ("NC1 at the coarse level", "tr(S_W S_B⁺)/K (dimensionless)", "NC1 with every label replaced by its ancestor at the configured depth."),
        "lnc1" => ("MSE decomposition: L_NC1", "loss units", "Han et al.'s within-class term of the MSE loss."),
        "lnc23" => ("MSE decomposition: L_NC2/3", "loss units", "Han et al.'s term of the best classifier's mean fit."),
        "lperp" => ("MSE decomposition: L_⊥", "loss units", "Excess loss of the actual classifier over the least-squares one."),
        "train_loss" => ("Training loss", "loss per sample (nats for CE)", "Mean training loss of the configured loss function."),
        "test_loss" => ("Test loss", "loss per sample (nats for CE)", "Mean loss on the test set."),
        "train_error" => ("Training error", "fraction of training samples (1 − train_acc)", "Top-1 error on the training set: 0 from the terminal phase of training (TPT) on."),
        "train_acc" => ("Training accuracy", "fraction correct", "Top-1 accuracy on the training set."),
        "test_acc" => ("Test accuracy", "fraction correct", "Top-1 accuracy on the test set."),
        "top1_error" => ("Top-1 test error", "fraction of test samples", "Fraction of test samples whose top prediction is wrong."),
        "top5_error" => ("Top-5 test error", "fraction of test samples", "Fraction of test samples whose label is not among the top 5 predictions."),
        "mistake_severity" => ("Mistake severity", "LCA height (tree levels)", "Mean tree distance between the label and the top prediction, over the mistakes."),
        "hdist@1" => ("Hierarchical distance @1", "LCA height (tree levels)", "Mean tree distance between the label and the top prediction, over all test samples."),
        "hdist@5" => ("Hierarchical distance @5", "LCA height (tree levels)", "Mean tree distance between the label and the top 5 predictions."),
        "gnc2_log_mean" => ("GNC2: mean log energy of the normalised class means", "mean of log(1/‖u_i − u_j‖) over class pairs", "Hyperspherical energy of the normalised centred means with the log kernel (Liu et al. 2023): lowest when the means spread uniformly over the sphere."),
        "gnc2_log_var" => ("GNC2: variance of the log energy", "variance over class pairs", "Variance over class pairs of log(1/‖u_i − u_j‖) (Liu et al. 2023): 0 when every pair of normalised means is equally far apart."),
        "gnc2_riesz_mean" => ("GNC2: mean Riesz energy", "mean of ‖u_i − u_j‖^−(d−2) over class pairs", "Hyperspherical energy with the Riesz kernel (Liu et al. 2023); it spans hundreds of decades at large d (log axis), and undefined values (overflow) are skipped."),
        "gnc2_riesz_var" => ("GNC2: variance of the Riesz energy", "variance over class pairs", "Variance over class pairs of the Riesz kernel (Liu et al. 2023); undefined values (overflow) are skipped."),
        "unc3" => ("UNC3: uniform duality", "variance over classes of cos(w_k, μ_k − μ_G)", "Wu and Papyan (2024): 0 when every classifier row makes the same angle with its own centred class mean."),
        "heldout_nc1" => ("NC1 of the held-out set", "tr(S_W S_B⁺)/K (dimensionless)", "NC1 of the test features with their own class means: whether collapse carries over to unseen data."),
        "heldout_nc4" => ("NC4 of the held-out set", "fraction of held-out samples", "Held-out samples whose decision is not the nearest training class mean."),
        "heldout_ncc_accuracy" => ("Held-out nearest-class-mean accuracy", "fraction correct", "Accuracy on the test set of the nearest training class mean."),
        "lr" => ("Learning rate", "learning rate", "The learning rate of the schedule at the analysis epoch."),
        "elapsed_s" => ("Elapsed time", "seconds", "Wall-clock time since the start of the run."),
        _ => ("", "value", "A column of metrics.csv."),
    };
    let title = if title.is_empty() {
        metric.to_string()
    } else {
        title.to_string()
    };
    (title, unit.to_string(), text.to_string())
}

/// A metric against the epoch: one [`Panel`] with the legend beside it.
pub struct CurvesFigure {
    pub panel: Panel,
}

impl CurvesFigure {
    pub fn new(metric: &str, curves: Vec<Curve>, decays: &[f64], options: CurveOptions) -> Self {
        CurvesFigure {
            panel: Panel::new(metric, curves, decays, options),
        }
    }
}

/// Legend entries of a set of curves, in their order.
pub fn legend_entries(curves: &[Curve]) -> Vec<LegendEntry> {
    curves
        .iter()
        .map(|c| LegendEntry {
            label: format!("{} (n={})", c.label, c.runs),
            style: c.style,
            line: true,
        })
        .collect()
}

/// Largest magnitude the figures draw. Beyond it a padded axis range overflows to infinity
/// (plotters then loops for ever placing the ticks of a value near `f64::MAX`), so such
/// values are left out of the figures as non-finite ones are; the tables still show them.
pub const PLOT_LIMIT: f64 = 1e300;

/// Whether a figure draws `v`: finite and at most [`PLOT_LIMIT`] in magnitude.
pub fn plottable(v: f64) -> bool {
    v.abs() <= PLOT_LIMIT
}

/// Smallest and largest [`plottable`] value (`(0, 1)` when there is none).
pub fn min_max(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|&v| plottable(v)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        (0.0, 1.0)
    } else {
        (lo, hi)
    }
}

/// A linear range around `[lo, hi]` with 5% padding (a unit-wide one around a constant).
pub fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    if hi > lo {
        let pad = 0.05 * (hi - lo);
        (lo - pad)..(hi + pad)
    } else {
        let pad = if lo == 0.0 { 0.5 } else { 0.1 * lo.abs() };
        (lo - pad)..(hi + pad)
    }
}

impl Figure for CurvesFigure {
    fn size(&self) -> (u32, u32) {
        (1100, 620)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        marks: &Marks,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (left, right) = root.split_horizontally(self.size().0 - 280);
        self.panel.draw(&left, marks, false)?;
        draw_legend(
            &right,
            "Condition",
            &legend_entries(&self.panel.curves),
            &self.panel.notes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_only_for_positive_values_spanning_decades() {
        assert!(wants_log([1.0, 0.01]));
        assert!(!wants_log([1.0, 0.1]));
        assert!(!wants_log([1.0, 0.0, 0.001]));
        assert!(!wants_log(std::iter::empty()));
    }

    #[test]
    fn padded_ranges() {
        assert_eq!(padded(0.0, 10.0), -0.5..10.5);
        assert_eq!(padded(0.0, 0.0), -0.5..0.5);
        assert_eq!(padded(2.0, 2.0), 1.8..2.2);
    }

    #[test]
    fn log_spacing_is_told_from_even_spacing() {
        // The study's `log:25` epochs of a 360-epoch run.
        let log = [
            1.0, 2.0, 3.0, 4.0, 6.0, 7.0, 9.0, 12.0, 15.0, 19.0, 24.0, 31.0, 40.0, 51.0, 65.0,
            83.0, 106.0, 135.0, 172.0, 220.0, 282.0, 360.0,
        ];
        assert!(log_spaced(&log));
        let even: Vec<f64> = (1..=30).map(|e| (e * 5) as f64).collect();
        assert!(!log_spaced(&even));
        // Every epoch, then the last: still even.
        let mut every: Vec<f64> = (1..=20).map(f64::from).collect();
        every.push(25.0);
        assert!(!log_spaced(&every));
        assert!(!log_spaced(&[1.0, 2.0, 4.0]));
    }

    #[test]
    fn zeros_go_to_a_floor_at_half_the_smallest_positive_value() {
        let curve = Curve {
            label: "a".into(),
            id: "c1".into(),
            style: plot::series_style(0),
            runs: 1,
            points: [(1.0, 0.5), (2.0, 0.02), (3.0, 0.0)]
                .iter()
                .map(|&(epoch, v)| CurvePoint {
                    epoch,
                    mean: v,
                    min: v,
                    max: v,
                    n: 1,
                })
                .collect(),
            seeds: vec![],
            tpt: None,
        };
        let p = Panel::new("nc4", vec![curve.clone()], &[], CurveOptions::default());
        assert!(p.log_y && !p.log_x);
        assert_eq!(p.floor, Some(0.01));
        assert_eq!(p.shown(0.0), 0.01);
        assert_eq!(p.shown(0.5), 0.5);
        // Accuracies stay linear; --linear-y turns log off.
        assert!(
            !Panel::new(
                "test_acc",
                vec![curve.clone()],
                &[],
                CurveOptions::default()
            )
            .log_y
        );
        let linear = CurveOptions {
            log_y: false,
            ..CurveOptions::default()
        };
        let p = Panel::new("nc4", vec![curve.clone()], &[], linear);
        assert!(!p.log_y && p.floor.is_none());
        // Log-spaced analyses get a log epoch axis unless --linear-x.
        let spaced = Curve {
            points: [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
                .iter()
                .map(|&epoch| CurvePoint {
                    epoch,
                    ..curve.points[0]
                })
                .collect(),
            ..curve.clone()
        };
        assert!(Panel::new("nc1", vec![spaced.clone()], &[], CurveOptions::default()).log_x);
        let linear_x = CurveOptions {
            log_x: false,
            ..CurveOptions::default()
        };
        assert!(!Panel::new("nc1", vec![spaced], &[], linear_x).log_x);
        // NC2 between 0.5 and 0.02 spans 25x: log. Between 0.5 and 0.06 (8.3x, no zero): a
        // log axis would label one tick at most, so linear.
        let narrow = |lo: f64| {
            let mut c = curve.clone();
            c.points.truncate(2);
            c.points[1] = CurvePoint {
                mean: lo,
                min: lo,
                max: lo,
                ..c.points[1]
            };
            Panel::new("nc2", vec![c], &[], CurveOptions::default()).log_y
        };
        assert!(narrow(0.02));
        assert!(!narrow(0.06));
    }

    #[test]
    fn log_ticks() {
        assert_eq!(log_tick(0.01), "0.01");
        assert_eq!(log_tick(100.0), "100");
        assert_eq!(log_tick(1.0), "1");
        assert_eq!(log_tick(1e-5), "1e-5");
        assert_eq!(log_tick(2e-6), "2.0e-6");
        assert_eq!(log_tick(0.0), "");
    }
}
