//! Shared figure machinery: the embedded font, a greyscale-safe style cycle (12 colours, 7
//! markers, 4 dash patterns), the legend drawn beside the plot or in a strip under it, and
//! writing each figure as SVG (through [`super::svg`], with its groups and hover titles) and
//! PNG.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Result};
use plotters::coord::combinators::{BindKeyPoints, LogCoord, WithKeyPoints};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::svg::{Marks, SvgBackend};

/// DejaVu Sans (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`), embedded so that
/// neither building nor running needs fontconfig or a system font.
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The font family name figures use.
pub const FAMILY: &str = "sans-serif";

/// Registers the embedded font with plotters (once per process).
pub fn init_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("embedded DejaVuSans.ttf is not a valid font"));
    });
}

/// The Okabe-Ito colours (distinguishable with colour-vision deficiencies) without yellow (too
/// light on white), with three of Paul Tol's muted scheme and a brown: 12 colours, the first
/// (black: the baseline) drawn on top. Conditions are listed by name, so neighbours are often
/// one loss at two strengths: the order keeps the look-alike pairs (orange and vermillion, blue
/// and sky blue, reddish purple and wine) six places apart. In greyscale several coincide,
/// hence markers and dashes as well.
pub const COLOURS: [RGBColor; 12] = [
    RGBColor(0, 0, 0),
    RGBColor(230, 159, 0),
    RGBColor(0, 114, 178),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(51, 34, 136),
    RGBColor(140, 86, 75),
    RGBColor(213, 94, 0),
    RGBColor(86, 180, 233),
    RGBColor(153, 153, 51),
    RGBColor(136, 34, 85),
    RGBColor(68, 170, 153),
];

/// The grey of the marks that are not data (floors, decays, zero lines) and of their labels.
pub const GREY: RGBColor = RGBColor(120, 120, 120);

/// The style of the marks that are not data: grey, dashed `on` pixels on, `off` off.
pub fn grey(on: u32, off: u32) -> SeriesStyle {
    SeriesStyle {
        colour: GREY,
        marker: Marker::Circle,
        dash: Some((on, off)),
    }
}

/// Marker shapes, cycled with a period coprime to the colours' so that pairs stay distinct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Triangle,
    Square,
    Cross,
    Diamond,
    InvertedTriangle,
    Plus,
}

const MARKERS: [Marker; 7] = [
    Marker::Circle,
    Marker::Triangle,
    Marker::Square,
    Marker::Cross,
    Marker::Diamond,
    Marker::InvertedTriangle,
    Marker::Plus,
];

/// Line dash patterns `(dash, gap)` in pixels; `None` = solid.
const DASHES: [Option<(u32, u32)>; 4] = [None, Some((12, 6)), Some((3, 4)), Some((18, 5))];

/// The visual identity of series `i`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesStyle {
    pub colour: RGBColor,
    pub marker: Marker,
    pub dash: Option<(u32, u32)>,
}

pub fn series_style(i: usize) -> SeriesStyle {
    SeriesStyle {
        colour: COLOURS[i % COLOURS.len()],
        marker: MARKERS[i % MARKERS.len()],
        dash: DASHES[i % DASHES.len()],
    }
}

/// Hue families by loss kind, from the same colour-vision-safe sources (Okabe-Ito, Paul Tol):
/// CE black (a second CE condition, such as `ce-flat`, brown), MSE vermillion and orange, HXE
/// blues, soft labels greens, each listed light to dark where it has several shades.
const FAMILIES: [(&str, &[RGBColor]); 4] = [
    ("ce", &[RGBColor(0, 0, 0), RGBColor(140, 86, 75)]),
    ("mse", &[RGBColor(213, 94, 0), RGBColor(230, 159, 0)]),
    (
        "hxe",
        &[
            RGBColor(86, 180, 233),
            RGBColor(0, 114, 178),
            RGBColor(51, 34, 136),
            RGBColor(0, 68, 136),
        ],
    ),
    (
        "soft",
        &[
            RGBColor(68, 170, 153),
            RGBColor(0, 158, 115),
            RGBColor(17, 119, 51),
            RGBColor(153, 153, 51),
        ],
    ),
];

/// The look of each condition in the figures, given its loss kind (`None` where its runs
/// differ) in the report's order. When the conditions span two kinds or more and each kind has
/// a family in [`FAMILIES`] with a shade for each of its conditions, the colour says the loss
/// (a kind's conditions take its shades in order); otherwise the colours of [`series_style`].
/// Markers and dashes always follow the position, as in [`series_style`], so that any two of
/// the first twelve conditions still differ in grey.
pub fn condition_styles(kinds: &[Option<&str>]) -> Vec<SeriesStyle> {
    let by_position: Vec<SeriesStyle> = (0..kinds.len()).map(series_style).collect();
    let distinct: std::collections::BTreeSet<_> = kinds.iter().collect();
    if distinct.len() < 2 {
        return by_position;
    }
    let mut taken: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut out = Vec::with_capacity(kinds.len());
    for (style, kind) in by_position.iter().zip(kinds) {
        let shades = kind.and_then(|k| FAMILIES.iter().find(|(name, _)| *name == k));
        let Some((name, shades)) = shades else {
            return by_position;
        };
        let next = taken.entry(name).or_insert(0);
        let Some(&colour) = shades.get(*next) else {
            return by_position;
        };
        *next += 1;
        out.push(SeriesStyle { colour, ..*style });
    }
    out
}

/// Text style of the given pixel size in the embedded font.
pub fn text(size: f64) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

/// A log axis's range around positive data `[lo, hi]`: widened by `pad` on each side (a factor),
/// kept inside the positive finite numbers, and at most [`MAX_LOG_SPAN`] wide: plotters' tick
/// search divides the bounds, and a quotient that overflows to infinity (a GNC2 Riesz energy at
/// large `d` spans 1e-227 to 1e269 over a run) makes it loop for ever. Values below the bottom
/// of such an axis are drawn at its edge.
pub fn log_bounds(lo: f64, hi: f64, pad: f64) -> (f64, f64) {
    let hi = (hi * pad).clamp(f64::MIN_POSITIVE * 2.0, f64::MAX);
    let lo = (lo / pad).clamp((hi / MAX_LOG_SPAN).max(f64::MIN_POSITIVE), hi / 2.0);
    (lo, hi)
}

/// The widest log axis drawn: 300 decades (top / bottom).
pub const MAX_LOG_SPAN: f64 = 1e300;

/// A log y axis over `[lo, hi]` with the ticks of [`log_ticks`] (plotters' own put a label on
/// every mantissa 1-9, which overprint near the top of each decade, and none below the first
/// power of ten inside the axis).
pub fn log_axis(lo: f64, hi: f64) -> WithKeyPoints<LogCoord<f64>> {
    let (labelled, grid) = log_ticks(lo, hi);
    (lo..hi)
        .log_scale()
        .with_key_points(labelled)
        .with_light_points(grid)
}

/// The ticks of a log axis over `[lo, hi]`: (labelled, grid lines). Labelled: every power of
/// ten times 1, 2 and 5 when the axis spans 0.7 to 2.5 decades; times 1, 1.5, 2, 3, ..., 9 when
/// it spans less; only the powers of ten beyond 2.5 decades, and beyond 8 decades every k-th of
/// them so that about 8 carry a label. Grid lines: every mantissa 1-9 up to 3 decades, else the
/// labelled ticks.
pub fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    const ALL: [f64; 10] = [1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return (Vec::new(), Vec::new());
    }
    let decades = (hi / lo).log10();
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let step = if decades > 8.0 {
        (decades / 8.0).ceil() as i32
    } else {
        1
    };
    let ticks = |mantissas: &[f64], every: i32| -> Vec<f64> {
        (first..=last)
            .filter(|e| e.rem_euclid(every) == 0)
            .flat_map(|e| mantissas.iter().map(move |&m| power_of_ten_times(m, e)))
            .filter(|v| (lo..=hi).contains(v))
            .collect()
    };
    let labelled = if decades < 0.7 {
        ticks(&ALL, 1)
    } else if decades <= 2.5 {
        ticks(&[1.0, 2.0, 5.0], 1)
    } else {
        ticks(&[1.0], step)
    };
    let grid = if decades <= 3.0 {
        ticks(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], 1)
    } else {
        labelled.clone()
    };
    (labelled, grid)
}

/// `m 10^e`, dividing for negative `e` (`3 / 10` is the double nearest 0.3; `3 * 0.1` is not).
fn power_of_ten_times(m: f64, e: i32) -> f64 {
    if e < 0 {
        m / 10f64.powi(-e)
    } else {
        m * 10f64.powi(e)
    }
}

/// Tick-label text for a linear axis spanning `span`: enough decimals to tell neighbouring ticks
/// apart (`2 - floor(log10 span)`), trailing zeros trimmed, no `-0`.
pub fn tick_label(v: f64, span: f64) -> String {
    let decimals = if span > 0.0 && span.is_finite() {
        (2 - span.log10().floor() as i32).clamp(0, 8) as usize
    } else {
        2
    };
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// Draws a filled marker centred at pixel `(x, y)` on `area`.
pub fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    centre: (i32, i32),
    marker: Marker,
    colour: RGBColor,
    size: i32,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    draw_marker_styled(area, centre, marker, colour, size, true)
}

/// Draws a marker, filled or as an outline (outlines keep coincident points of different
/// series visible in scatter plots).
pub fn draw_marker_styled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    marker: Marker,
    colour: RGBColor,
    size: i32,
    filled: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let fill = colour.filled();
    let line = colour.stroke_width(2);
    let shape = |pts: Vec<(i32, i32)>| -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        if filled {
            area.draw(&Polygon::new(pts, fill))
        } else {
            let mut closed = pts.clone();
            closed.push(pts[0]);
            area.draw(&PathElement::new(closed, line))
        }
    };
    match marker {
        Marker::Circle => area.draw(&Circle::new((x, y), size, if filled { fill } else { line })),
        Marker::Triangle => shape(vec![
            (x, y - size - 1),
            (x - size - 1, y + size),
            (x + size + 1, y + size),
        ]),
        Marker::Square => shape(vec![
            (x - size, y - size),
            (x + size, y - size),
            (x + size, y + size),
            (x - size, y + size),
        ]),
        Marker::Cross => {
            area.draw(&PathElement::new(
                vec![(x - size, y - size), (x + size, y + size)],
                line,
            ))?;
            area.draw(&PathElement::new(
                vec![(x - size, y + size), (x + size, y - size)],
                line,
            ))
        }
        Marker::Diamond => shape(vec![
            (x, y - size - 1),
            (x + size + 1, y),
            (x, y + size + 1),
            (x - size - 1, y),
        ]),
        Marker::InvertedTriangle => shape(vec![
            (x, y + size + 1),
            (x - size - 1, y - size),
            (x + size + 1, y - size),
        ]),
        Marker::Plus => {
            let thick = colour.stroke_width(3);
            area.draw(&PathElement::new(
                vec![(x - size - 1, y), (x + size + 1, y)],
                thick,
            ))?;
            area.draw(&PathElement::new(
                vec![(x, y - size - 1), (x, y + size + 1)],
                thick,
            ))
        }
    }
}

/// Draws a polyline in pixel coordinates, solid or dashed (in the SVG one element with a
/// dash pattern, in the PNG one segment per dash).
pub fn draw_line<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    points: &[(i32, i32)],
    style: &SeriesStyle,
    width: u32,
    marks: &Marks,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let stroke = style.colour.stroke_width(width);
    match style.dash {
        None => area.draw(&PathElement::new(points.to_vec(), stroke)),
        Some(dash) if marks.is_svg() => {
            marks.set_dash(Some(dash));
            let r = area.draw(&PathElement::new(points.to_vec(), stroke));
            marks.set_dash(None);
            r
        }
        Some((dash, gap)) => area.draw(&DashedPathElement::new(
            points.iter().copied(),
            dash as i32,
            gap as i32,
            stroke,
        )),
    }
}

/// One legend entry.
pub struct LegendEntry {
    pub label: String,
    pub style: SeriesStyle,
    /// Draw a line sample (curves) or only the marker (scatter plots).
    pub line: bool,
}

/// Splits `label` into lines of at most `width` characters at ", " or spaces.
pub fn wrap(label: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in label.split(' ') {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Draws a legend in its own area (beside the plot, so it never covers data), with an optional
/// note under the entries.
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    entries: &[LegendEntry],
    note: &[String],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let font = 16.0;
    let line_h = 20;
    let mut y = 60;
    area.draw_text(title, &text(16.0), (10, y - 24))?;
    for e in entries {
        if e.line {
            draw_line(
                area,
                &[(10, y + 8), (48, y + 8)],
                &e.style,
                2,
                &Marks::none(),
            )?;
        }
        draw_marker_styled(area, (29, y + 8), e.style.marker, e.style.colour, 5, e.line)?;
        for (i, l) in wrap(&e.label, 24).iter().enumerate() {
            area.draw_text(l, &text(font), (58, y + i as i32 * line_h))?;
        }
        y += line_h * wrap(&e.label, 24).len().max(1) as i32 + 10;
    }
    y += 10;
    for n in note {
        for l in wrap(n, 30) {
            area.draw_text(&l, &text(14.0).color(&RGBColor(60, 60, 60)), (10, y))?;
            y += 18;
        }
    }
    Ok(())
}

/// Draws a legend in a strip (under a grid of panels): entries in as many columns of
/// `column_width` pixels as fit, then the notes on one line each.
pub fn draw_legend_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    note: &[String],
    column_width: i32,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (w, _) = area.dim_in_pixel();
    let columns = ((w as i32 - 20) / column_width).max(1) as usize;
    let row_h = 24;
    for (k, e) in entries.iter().enumerate() {
        let x = 10 + (k % columns) as i32 * column_width;
        let y = 8 + (k / columns) as i32 * row_h;
        if e.line {
            draw_line(
                area,
                &[(x, y + 8), (x + 36, y + 8)],
                &e.style,
                2,
                &Marks::none(),
            )?;
        }
        draw_marker_styled(
            area,
            (x + 18, y + 8),
            e.style.marker,
            e.style.colour,
            5,
            e.line,
        )?;
        area.draw_text(&e.label, &text(15.0), (x + 46, y))?;
    }
    let mut y = 8 + entries.len().div_ceil(columns) as i32 * row_h + 4;
    for n in note {
        area.draw_text(n, &text(13.0).color(&RGBColor(60, 60, 60)), (10, y))?;
        y += 18;
    }
    Ok(())
}

/// The height of a [`draw_legend_strip`] of `entries` entries and `notes` notes in a strip
/// `width` pixels wide.
pub fn legend_strip_height(entries: usize, notes: usize, width: u32, column_width: i32) -> u32 {
    let columns = ((width as i32 - 20) / column_width).max(1) as usize;
    (8 + entries.div_ceil(columns) * 24 + 4 + notes * 18 + 8) as u32
}

/// A figure that can be drawn on any plotters backend.
pub trait Figure {
    /// Size in pixels (the PNG) and in SVG user units.
    fn size(&self) -> (u32, u32);
    /// Draws the figure; `marks` annotates the SVG ([`Marks::none`] for the PNG).
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        marks: &Marks,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>;
}

/// Writes `dir/<stem>.svg` and `dir/<stem>.png`, and returns the SVG's text.
pub fn save<F: Figure>(figure: &F, dir: &Path, stem: &str) -> Result<String> {
    init_font();
    let size = figure.size();
    let svg = dir.join(format!("{stem}.svg"));
    let text = {
        let (backend, marks) = SvgBackend::new(size);
        let root = backend.into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| anyhow!("{}: {e}", svg.display()))?;
        figure
            .draw(&root, &marks)
            .map_err(|e| anyhow!("{}: {e}", svg.display()))?;
        marks.document().expect("an SVG backend's marks")
    };
    std::fs::write(&svg, &text).map_err(|e| anyhow!("{}: cannot write: {e}", svg.display()))?;
    let png = dir.join(format!("{stem}.png"));
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| anyhow!("{}: {e}", png.display()))?;
        figure
            .draw(&root, &Marks::none())
            .map_err(|e| anyhow!("{}: {e}", png.display()))?;
        root.present()
            .map_err(|e| anyhow!("{}: {e}", png.display()))?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_label_one_two_five_and_reach_below_the_first_power_of_ten() {
        // 0.03 to 1.6 (1.7 decades): 1, 2 and 5 per decade, 0.05 included although the first
        // power of ten inside the axis is 0.1.
        let (labelled, grid) = log_ticks(0.03, 1.6);
        assert_eq!(labelled, vec![0.05, 0.1, 0.2, 0.5, 1.0]);
        assert_eq!(grid.first(), Some(&0.03));
        // Grid lines at 0.03-0.09, 0.1-0.9 and 1.
        assert_eq!(grid.len(), 7 + 9 + 1);
        // Under 0.7 decades every mantissa; over 2.5 only the powers of ten.
        assert_eq!(log_ticks(0.12, 0.5).0, vec![0.15, 0.2, 0.3, 0.4, 0.5]);
        assert_eq!(log_ticks(1e-4, 2.0).0, vec![1e-4, 1e-3, 0.01, 0.1, 1.0]);
        // 20 decades: every third power of ten (about 8 labels), the grid on them alone.
        let (labelled, grid) = log_ticks(1e-10, 1e10);
        assert_eq!(labelled, vec![1e-9, 1e-6, 1e-3, 1.0, 1e3, 1e6, 1e9]);
        assert_eq!(grid, labelled);
        // The widest axis drawn stays a short list; an empty or reversed one has no ticks.
        assert!(log_ticks(1e-150, 1e150).0.len() <= 9);
        assert_eq!(log_ticks(1.0, 1.0), (Vec::new(), Vec::new()));
        assert_eq!(log_ticks(0.0, 1.0), (Vec::new(), Vec::new()));
    }

    #[test]
    fn log_bounds_stay_finite() {
        // Ordinary data: padded by the factor on each side.
        assert_eq!(log_bounds(0.01, 0.5, 2.0), (0.005, 1.0));
        // A GNC2 Riesz energy near f64::MAX: the top stays finite, the span 300 decades.
        let (lo, hi) = log_bounds(1e-3, 1.7e308, 1.6);
        assert_eq!((lo, hi), (f64::MAX / 1e300, f64::MAX));
        // The Fashion-MNIST protocol run's gnc2_riesz_var (1e-227 to 1e269): 300 decades.
        let (lo, hi) = log_bounds(8.2e-227, 1.4e269, 1.6);
        assert_eq!((lo, hi), (1.4e269 * 1.6 / 1e300, 1.4e269 * 1.6));
        // Zero data: a positive range below the top.
        let (lo, hi) = log_bounds(0.0, 0.0, 1.6);
        assert_eq!((lo, hi), (f64::MIN_POSITIVE, 2.0 * f64::MIN_POSITIVE));
    }

    #[test]
    fn tick_labels() {
        assert_eq!(tick_label(0.30000000000000004, 0.6), "0.3");
        assert_eq!(tick_label(-0.0001, 0.6), "0");
        assert_eq!(tick_label(0.448, 0.016), "0.448");
        assert_eq!(tick_label(20.0, 60.0), "20");
        assert_eq!(tick_label(0.25, 1.0), "0.25");
    }

    #[test]
    fn wrap_breaks_at_spaces() {
        assert_eq!(
            wrap("loss.kind=mse, optim.lr=0.0184", 16),
            vec!["loss.kind=mse,", "optim.lr=0.0184"]
        );
        assert_eq!(wrap("short", 16), vec!["short"]);
    }

    /// CE, two HXE, soft labels, MSE and a second CE: black, the first two blues, the first
    /// green, vermillion, brown; markers by position. One kind only, a kind without a family, or
    /// more conditions of a kind than its shades: the colours by position.
    #[test]
    fn conditions_take_the_colours_of_their_loss() {
        let kinds = [
            Some("ce"),
            Some("hxe"),
            Some("hxe"),
            Some("soft"),
            Some("mse"),
            Some("ce"),
        ];
        let styles = condition_styles(&kinds);
        let colours: Vec<RGBColor> = styles.iter().map(|s| s.colour).collect();
        assert_eq!(
            colours,
            vec![
                RGBColor(0, 0, 0),
                RGBColor(86, 180, 233),
                RGBColor(0, 114, 178),
                RGBColor(68, 170, 153),
                RGBColor(213, 94, 0),
                RGBColor(140, 86, 75),
            ]
        );
        for (i, s) in styles.iter().enumerate() {
            assert_eq!(
                (s.marker, s.dash),
                (series_style(i).marker, series_style(i).dash)
            );
        }
        let by_position = |n: usize| (0..n).map(series_style).collect::<Vec<_>>();
        assert_eq!(
            condition_styles(&[Some("hxe"), Some("hxe")]),
            by_position(2)
        );
        assert_eq!(
            condition_styles(&[Some("ce"), Some("focal")]),
            by_position(2)
        );
        assert_eq!(condition_styles(&[Some("ce"), None]), by_position(2));
        let many = [Some("ce"), Some("mse"), Some("mse"), Some("mse")];
        assert_eq!(condition_styles(&many), by_position(4));
    }

    #[test]
    fn styles_differ_between_neighbours() {
        for i in 0..12 {
            let (a, b) = (series_style(i), series_style(i + 1));
            assert!(a.colour != b.colour && a.marker != b.marker);
        }
    }

    #[test]
    fn the_first_twelve_styles_have_distinct_colours_and_distinct_looks_in_grey() {
        for i in 0..12 {
            for j in 0..i {
                let (a, b) = (series_style(i), series_style(j));
                assert!(a.colour != b.colour, "{i} {j}");
                // In greyscale the colour may coincide: the marker and dash together still
                // tell any two of the first 12 apart (7 markers x 4 dashes, coprime cycles).
                assert!(a.marker != b.marker || a.dash != b.dash, "{i} {j}");
            }
        }
    }
}

#[cfg(test)]
mod log_axis {
    use plotters::coord::ranged1d::{BoldPoints, LightPoints, Ranged};
    use plotters::prelude::*;

    /// plotters draws the ticks of an axis from log_bounds over the widest data seen (the
    /// protocol run's gnc2_riesz_var), where the raw bounds made it loop for ever.
    #[test]
    fn ticks_of_the_widest_axis_come_back() {
        let (lo, hi) = super::log_bounds(8.2e-227, 1.4e269, 1.6);
        let axis: LogCoord<f64> = (lo..hi).log_scale().into();
        let bold = axis.key_points(BoldPoints(10));
        assert!(!bold.is_empty() && bold.len() <= 300, "{}", bold.len());
        assert!(!axis.key_points(LightPoints::new(10, 100)).is_empty());
    }
}
