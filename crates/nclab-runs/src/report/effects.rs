//! What each condition trades against its CE baseline: the paired difference in top-1 error
//! (x) against the paired difference in hdist@5 and in mistake severity (y, one panel each) at
//! the final epoch, each with its 95% interval drawn as a cross. Left of 0 costs no accuracy,
//! below 0 makes better mistakes: a hierarchical loss that trades nothing sits in the lower
//! left, one that buys better mistakes with accuracy in the lower right.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::conditions::Condition;
use super::curves::{padded, plottable};
use super::plot::{self, draw_legend, draw_line, draw_marker_styled, series_style, Figure};
use super::plot::{LegendEntry, SeriesStyle};
use super::summary::Comparison;
use super::svg::Marks;

/// The metrics on the y axes, with their axis labels.
pub const TRADED: [(&str, &str); 2] = [
    ("hdist@5", "Δ hdist@5 (tree levels)"),
    ("mistake_severity", "Δ mistake severity (tree levels)"),
];

/// A paired difference and its 95% interval: `(mean, low, high)`.
pub type Effect = (f64, f64, f64);

/// One condition's point: its Δ top-1 error and its Δ of each [`TRADED`] metric (`None` where
/// the comparison is missing).
pub struct EffectPoint {
    pub label: String,
    pub id: String,
    pub style: usize,
    pub pairs: usize,
    pub top1: Effect,
    pub traded: [Option<Effect>; 2],
    /// Whether each traded difference survives the correction (BH p < 0.05): drawn filled.
    pub significant: [bool; 2],
}

/// The figure: one point per condition that has a baseline and paired runs.
pub struct EffectsFigure {
    pub points: Vec<EffectPoint>,
}

/// A comparison's paired effect, when it is paired (at least 2 pairs) and drawable.
fn paired_effect(c: &Comparison) -> Option<Effect> {
    let (d, lo, hi, paired) = c.effect();
    (paired && [d, lo, hi].iter().all(|v| v.is_finite() && plottable(*v))).then_some((d, lo, hi))
}

impl EffectsFigure {
    /// `None` when no condition has a paired top-1 comparison and one of the [`TRADED`] ones.
    pub fn new(conditions: &[Condition], comps: &[Comparison]) -> Option<EffectsFigure> {
        let comparison = |ci: usize, metric: &str| {
            comps
                .iter()
                .find(|c| c.condition == ci && c.metric == metric)
        };
        let find = |ci: usize, metric: &str| comparison(ci, metric).and_then(paired_effect);
        let points: Vec<EffectPoint> = conditions
            .iter()
            .enumerate()
            .filter(|(_, c)| c.baseline.is_some())
            .filter_map(|(ci, c)| {
                let top1 = find(ci, "top1_error")?;
                let traded = TRADED.map(|(m, _)| find(ci, m));
                let significant =
                    TRADED.map(|(m, _)| comparison(ci, m).is_some_and(|c| c.p_bh < 0.05));
                let pairs = comps
                    .iter()
                    .find(|k| k.condition == ci && k.metric == "top1_error")?
                    .n_pairs;
                traded.iter().any(Option::is_some).then(|| EffectPoint {
                    label: c.name.clone(),
                    id: c.id.clone(),
                    style: ci,
                    pairs,
                    top1,
                    traded,
                    significant,
                })
            })
            .collect();
        (!points.is_empty()).then_some(EffectsFigure { points })
    }
}

/// The range of the effects' intervals, 0 included, padded.
fn range(effects: impl Iterator<Item = Effect>) -> std::ops::Range<f64> {
    let (lo, hi) = effects.fold((0.0f64, 0.0f64), |(lo, hi), (_, l, h)| {
        (lo.min(l), hi.max(h))
    });
    padded(lo, hi)
}

impl Figure for EffectsFigure {
    fn size(&self) -> (u32, u32) {
        (1300, 620)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        marks: &Marks,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (plots, legend) = root.split_horizontally(self.size().0 - 280);
        let panels = plots.split_evenly((1, TRADED.len()));
        let xr = range(self.points.iter().map(|p| p.top1));
        let xs = xr.end - xr.start;
        for (k, ((metric, y_desc), area)) in TRADED.iter().zip(&panels).enumerate() {
            let shown: Vec<(&EffectPoint, Effect)> = self
                .points
                .iter()
                .filter_map(|p| p.traded[k].map(|e| (p, e)))
                .collect();
            let yr = range(shown.iter().map(|(_, e)| *e));
            let ys = yr.end - yr.start;
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!("Δ top-1 error vs Δ {}", metric.replace('_', " ")),
                    plot::text(20.0),
                )
                .margin(12)
                .x_label_area_size(55)
                .y_label_area_size(80)
                .build_cartesian_2d(xr.clone(), yr.clone())?;
            chart
                .configure_mesh()
                .x_label_formatter(&|v| plot::tick_label(*v, xs))
                .y_label_formatter(&|v| plot::tick_label(*v, ys))
                .max_light_lines(1)
                .x_desc("Δ top-1 test error (condition − CE)")
                .y_desc(*y_desc)
                .label_style(plot::text(14.0))
                .axis_desc_style(plot::text(15.0))
                .light_line_style(RGBColor(240, 240, 240))
                .bold_line_style(RGBColor(215, 215, 215))
                .draw()?;
            // Pixels of the whole figure: the marks are drawn on `root` (the panels are offset).
            let px = |x: f64, y: f64| chart.backend_coord(&(x, y));
            let grey = SeriesStyle {
                colour: RGBColor(120, 120, 120),
                marker: plot::Marker::Circle,
                dash: Some((5, 4)),
            };
            draw_line(root, &[px(0.0, yr.start), px(0.0, yr.end)], &grey, 1, marks)?;
            draw_line(root, &[px(xr.start, 0.0), px(xr.end, 0.0)], &grey, 1, marks)?;
            for (p, (dy, ylo, yhi)) in shown.iter().rev() {
                let filled = p.significant[k];
                let st = series_style(p.style);
                let solid = SeriesStyle { dash: None, ..st };
                let (dx, xlo, xhi) = p.top1;
                marks.group(&format!("cond cond-{}", p.id));
                draw_line(root, &[px(xlo, *dy), px(xhi, *dy)], &solid, 2, marks)?;
                draw_line(root, &[px(dx, *ylo), px(dx, *yhi)], &solid, 2, marks)?;
                let centre = px(dx, *dy);
                draw_marker_styled(root, centre, st.marker, st.colour, 6, filled)?;
                marks.hover(
                    centre,
                    8,
                    &format!(
                        "{} − CE over {} seed pairs: top-1 error {} [{}, {}], {metric} {} [{}, {}]{}",
                        p.label,
                        p.pairs,
                        signed(dx),
                        signed(xlo),
                        signed(xhi),
                        signed(*dy),
                        signed(*ylo),
                        signed(*yhi),
                        if filled { " (BH p < 0.05)" } else { "" }
                    ),
                );
                marks.end_group();
            }
        }
        let entries: Vec<LegendEntry> = self
            .points
            .iter()
            .map(|p| LegendEntry {
                label: format!("{} ({} pairs)", p.label, p.pairs),
                style: series_style(p.style),
                line: false,
            })
            .collect();
        draw_legend(
            &legend,
            "Condition − CE",
            &entries,
            &[
                "Marker: the mean paired difference (runs paired by seed), filled where the \
                 difference on the y axis survives Benjamini–Hochberg; bars: the 95% intervals, \
                 not adjusted. Lower left: better mistakes at no cost in accuracy."
                    .to_string(),
            ],
        )
    }
}

fn signed(v: f64) -> String {
    super::summary::signed(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::compared;

    fn condition(name: &str, baseline: Option<usize>) -> Condition {
        Condition {
            label: name.into(),
            name: name.into(),
            id: name.into(),
            key: Default::default(),
            runs: vec![0, 1, 2],
            diverged: Vec::new(),
            common: Default::default(),
            dataset: None,
            model: None,
            loss: None,
            baseline,
        }
    }

    #[test]
    fn one_point_per_compared_condition_with_its_intervals() {
        let conds = [condition("ce", None), condition("hxe", Some(0))];
        let mut hdist = compared("hdist@5", -0.22, -0.23, -0.21);
        hdist.p_bh = 0.0007;
        let comps = [
            compared("top1_error", 0.0037, 0.0016, 0.0058),
            hdist,
            compared("nc1", -0.01, -0.02, 0.0),
        ];
        let fig = EffectsFigure::new(&conds, &comps).unwrap();
        assert_eq!(fig.points.len(), 1);
        let p = &fig.points[0];
        assert_eq!((p.label.as_str(), p.style, p.pairs), ("hxe", 1, 3));
        assert_eq!(p.top1, (0.0037, 0.0016, 0.0058));
        // hdist@5 found, mistake severity not compared.
        assert_eq!(p.traded, [Some((-0.22, -0.23, -0.21)), None]);
        assert_eq!(p.significant, [true, false]);
        // The SVG's hover text gives both differences with their intervals.
        let dir = std::env::temp_dir().join(format!("nclab-effects-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let svg = plot::save(&fig, &dir, "effects").unwrap();
        assert!(
            svg.contains(
                "hxe − CE over 3 seed pairs: top-1 error +0.003700 [+0.001600, +0.005800], \
                 hdist@5 −0.2200 [−0.2300, −0.2100] (BH p &lt; 0.05)"
            ),
            "{svg}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        // Without a top-1 comparison, or without a traded metric, no figure.
        assert!(EffectsFigure::new(&conds, &comps[1..]).is_none());
        assert!(EffectsFigure::new(&conds, &[comps[0].clone(), comps[2].clone()]).is_none());
    }

    #[test]
    fn ranges_hold_zero_and_every_interval() {
        let r = range([(0.2, 0.1, 0.3), (-0.05, -0.1, 0.0)].into_iter());
        assert!(r.start < -0.1 && r.end > 0.3, "{r:?}");
        // All effects on one side: the axis still reaches 0, where the dashed line is drawn.
        let r = range([(0.2, 0.1, 0.3)].into_iter());
        assert!(r.start <= 0.0 && r.end > 0.3, "{r:?}");
    }
}
