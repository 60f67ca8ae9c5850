//! What each condition trades against its CE baseline, as a forest plot: one row per
//! condition, one panel per metric (top-1 error, hdist@5, mistake severity), each marker the
//! paired difference condition − CE at the final epoch with its 95% interval as a bar, filled
//! where the difference survives Benjamini–Hochberg. Left of the dashed 0 is better in every
//! panel: a loss that buys better mistakes with accuracy sits right of 0 in the first panel and
//! left of it in the others. (Drawn as rows rather than as a scatter of one difference against
//! another: conditions with the same top-1 difference would hide each other's bars.)

use plotters::coord::Shift;
use plotters::prelude::*;

use super::conditions::Condition;
use super::curves::{padded, plottable};
use super::plot::{self, draw_legend, draw_line, draw_marker_styled, Figure};
use super::plot::{LegendEntry, SeriesStyle};
use super::summary::{signed, Comparison};
use super::svg::Marks;

/// The panels: metric, title and unit.
pub const METRICS: [(&str, &str, &str); 3] = [
    ("top1_error", "Δ top-1 error", "fraction of test samples"),
    ("hdist@5", "Δ hdist@5", "tree levels"),
    ("mistake_severity", "Δ mistake severity", "tree levels"),
];

/// A paired difference and its 95% interval: `(mean, low, high)`.
pub type Effect = (f64, f64, f64);

/// One condition's row: its difference on each of [`METRICS`] (`None` where the comparison is
/// missing or not paired) and whether it survives the correction (BH p < 0.05).
pub struct EffectRow {
    pub label: String,
    pub id: String,
    pub style: SeriesStyle,
    pub pairs: usize,
    pub effects: [Option<Effect>; 3],
    pub significant: [bool; 3],
}

/// The figure: one row per condition that has a baseline and paired runs.
pub struct EffectsFigure {
    pub rows: Vec<EffectRow>,
}

/// A comparison's paired effect, when it is paired (at least 2 pairs) and drawable.
fn paired_effect(c: &Comparison) -> Option<Effect> {
    let (d, lo, hi, paired) = c.effect();
    (paired && [d, lo, hi].iter().all(|v| v.is_finite() && plottable(*v))).then_some((d, lo, hi))
}

impl EffectsFigure {
    /// `None` when no condition has a paired top-1 comparison and one of the others.
    pub fn new(conditions: &[Condition], comps: &[Comparison]) -> Option<EffectsFigure> {
        let comparison = |ci: usize, metric: &str| {
            comps
                .iter()
                .find(|c| c.condition == ci && !c.contrast && c.metric == metric)
        };
        let rows: Vec<EffectRow> = conditions
            .iter()
            .enumerate()
            .filter(|(_, c)| c.baseline.is_some())
            .filter_map(|(ci, c)| {
                let top1 = comparison(ci, "top1_error")?;
                let effects = METRICS.map(|(m, _, _)| comparison(ci, m).and_then(paired_effect));
                let significant =
                    METRICS.map(|(m, _, _)| comparison(ci, m).is_some_and(|c| c.p_bh < 0.05));
                (effects[0].is_some() && effects[1..].iter().any(Option::is_some)).then(|| {
                    EffectRow {
                        label: c.name.clone(),
                        id: c.id.clone(),
                        style: c.style,
                        pairs: top1.n_pairs,
                        effects,
                        significant,
                    }
                })
            })
            .collect();
        (!rows.is_empty()).then_some(EffectsFigure { rows })
    }
}

/// The range of the effects' intervals, 0 included, padded.
fn range(effects: impl Iterator<Item = Effect>) -> std::ops::Range<f64> {
    let (lo, hi) = effects.fold((0.0f64, 0.0f64), |(lo, hi), (_, l, h)| {
        (lo.min(l), hi.max(h))
    });
    padded(lo, hi)
}

/// Pixels per row, and the left panel's extra width for the conditions' names.
const ROW_H: u32 = 34;
const NAMES_W: u32 = 120;

impl Figure for EffectsFigure {
    fn size(&self) -> (u32, u32) {
        // Tall enough for the legend's note beside few rows.
        (1300, (170 + ROW_H * self.rows.len() as u32).max(470))
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        marks: &Marks,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (plots, legend) = root.split_horizontally(self.size().0 - 260);
        let width = plots.dim_in_pixel().0 - NAMES_W;
        let (first, rest) = plots.split_horizontally(NAMES_W + width / 3);
        let (second, third) = rest.split_horizontally(width / 3);
        let n = self.rows.len();
        // Row k (the first condition on top) at y = n - k.
        let names: Vec<String> = self.rows.iter().map(|r| r.label.clone()).collect();
        for (k, (area, (metric, title, unit))) in
            [first, second, third].iter().zip(METRICS).enumerate()
        {
            let shown: Vec<(usize, &EffectRow, Effect)> = self
                .rows
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.effects[k].map(|e| (i, r, e)))
                .collect();
            let xr = range(shown.iter().map(|(_, _, e)| *e));
            let xs = xr.end - xr.start;
            let mut chart = ChartBuilder::on(area)
                .caption(title, plot::text(19.0))
                .margin(10)
                .x_label_area_size(50)
                .y_label_area_size(if k == 0 { NAMES_W } else { 10 })
                .build_cartesian_2d(xr.clone(), 0.5..n as f64 + 0.5)?;
            let label_of = |y: &f64| {
                let i = n as i64 - y.round() as i64;
                if k == 0 && (0..n as i64).contains(&i) && (y - y.round()).abs() < 1e-9 {
                    names[i as usize].clone()
                } else {
                    String::new()
                }
            };
            chart
                .configure_mesh()
                .x_label_formatter(&|v| plot::tick_label(*v, xs))
                .y_label_formatter(&label_of)
                .y_labels(n)
                .x_labels(5)
                .max_light_lines(1)
                .disable_y_mesh()
                .x_desc(format!("{title} ({unit})"))
                .label_style(plot::text(14.0))
                .axis_desc_style(plot::text(15.0))
                .light_line_style(RGBColor(240, 240, 240))
                .bold_line_style(RGBColor(215, 215, 215))
                .draw()?;
            // Pixels of the whole figure: the marks are drawn on `root` (the panels are offset).
            let px = |x: f64, y: f64| chart.backend_coord(&(x, y));
            let zero = plot::grey(5, 4);
            draw_line(
                root,
                &[px(0.0, 0.5), px(0.0, n as f64 + 0.5)],
                &zero,
                1,
                marks,
            )?;
            for (i, r, (d, lo, hi)) in shown {
                let y = (n - i) as f64;
                let st = r.style;
                let bar = SeriesStyle { dash: None, ..st };
                marks.group(&format!("cond cond-{}", r.id));
                draw_line(root, &[px(lo, y), px(hi, y)], &bar, 2, marks)?;
                let centre = px(d, y);
                draw_marker_styled(root, centre, st.marker, st.colour, 6, r.significant[k])?;
                marks.hover(
                    centre,
                    8,
                    &format!(
                        "{} − CE over {} seed pairs: {metric} {} [{}, {}]{}",
                        r.label,
                        r.pairs,
                        signed(d),
                        signed(lo),
                        signed(hi),
                        if r.significant[k] {
                            " (BH p < 0.05)"
                        } else {
                            ""
                        }
                    ),
                );
                marks.end_group();
            }
        }
        let entries: Vec<LegendEntry> = self
            .rows
            .iter()
            .map(|r| LegendEntry {
                label: format!("{} ({} pairs)", r.label, r.pairs),
                style: r.style,
                line: false,
            })
            .collect();
        draw_legend(
            &legend,
            "Condition − CE",
            &entries,
            &[
                "Marker: the mean paired difference (runs paired by seed), filled where it \
                 survives Benjamini–Hochberg; bar: its 95% interval, not adjusted. Left of 0 is \
                 better in every panel."
                    .to_string(),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::compared;

    /// A condition of three runs; its look is the style of its position (1 for a compared one).
    fn condition(name: &str, baseline: Option<usize>) -> Condition {
        Condition {
            baseline,
            style: plot::series_style(baseline.map_or(0, |_| 1)),
            ..crate::report::conditions::test_condition(name, vec![0, 1, 2])
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
        assert_eq!(fig.rows.len(), 1);
        let r = &fig.rows[0];
        // The row takes its condition's look.
        assert_eq!((r.label.as_str(), r.pairs), ("hxe", 3));
        assert_eq!(r.style, conds[1].style);
        assert_ne!(r.style, conds[0].style);
        // top-1 and hdist@5 found, mistake severity not compared; hdist@5 survives BH.
        assert_eq!(
            r.effects,
            [
                Some((0.0037, 0.0016, 0.0058)),
                Some((-0.22, -0.23, -0.21)),
                None
            ]
        );
        assert_eq!(r.significant, [false, true, false]);
        // The SVG's hover texts give each difference with its interval.
        let dir = std::env::temp_dir().join(format!("nclab-effects-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let svg = plot::save(&fig, &dir, "effects").unwrap();
        assert!(
            svg.contains(
                "hxe − CE over 3 seed pairs: top1_error +0.003700 [+0.001600, +0.005800]<"
            ) && svg.contains(
                "hxe − CE over 3 seed pairs: hdist@5 −0.2200 [−0.2300, −0.2100] (BH p &lt; 0.05)"
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
