//! Figure 4: top-1 error against mistake severity at the final epoch, one point per run (the
//! trade-off plot of the hierarchical-loss literature: down and left is better).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::conditions::Condition;
use super::curves::{min_max, padded, plottable};
use super::plot::{self, draw_legend, draw_marker_styled, Figure, LegendEntry, SeriesStyle};
use super::runs::{unquote, Run};
use super::svg::Marks;

/// One condition's runs as points `(top1_error, mistake_severity)`.
pub struct TradeoffGroup {
    /// The condition's short name, id and look.
    pub label: String,
    pub id: String,
    pub style: SeriesStyle,
    /// `(error, severity, seed)` per run.
    pub points: Vec<(f64, f64, String)>,
}

/// Figure 4: the runs of each condition as points.
pub struct TradeoffFigure {
    pub groups: Vec<TradeoffGroup>,
    /// Conditions left out because they were measured against a flat tree while others have a
    /// real one (their severity is 1 by definition and would only stretch the axis).
    pub left_out: Vec<String>,
}

/// Whether a condition's runs were measured against a flat hierarchy (`flat`, `flat:K`).
fn flat_hierarchy(c: &Condition) -> bool {
    c.common
        .get("hierarchy")
        .map(|v| unquote(v))
        .is_some_and(|h| h == "flat" || h.starts_with("flat:"))
}

impl TradeoffFigure {
    /// `None` when no run has both `top1_error` and `mistake_severity` at its last epoch.
    pub fn new(runs: &[Run], conditions: &[Condition]) -> Option<TradeoffFigure> {
        let any_tree = conditions.iter().any(|c| !flat_hierarchy(c));
        let (shown, left_out): (Vec<&Condition>, Vec<&Condition>) = conditions
            .iter()
            .partition(|c| !(any_tree && flat_hierarchy(c)));
        let groups: Vec<TradeoffGroup> = shown
            .into_iter()
            .map(|c| {
                let points = c
                    .runs
                    .iter()
                    .filter_map(|&i| {
                        let m = &runs[i].metrics;
                        let e = m.final_value("top1_error")?;
                        let s = m.final_value("mistake_severity")?;
                        let seed = runs[i].seed().map_or("?".to_string(), |s| s.to_string());
                        (plottable(e) && plottable(s)).then_some((e, s, seed))
                    })
                    .collect();
                TradeoffGroup {
                    label: c.name.clone(),
                    id: c.id.clone(),
                    style: c.style,
                    points,
                }
            })
            .collect();
        groups
            .iter()
            .any(|g| !g.points.is_empty())
            .then(|| TradeoffFigure {
                groups,
                left_out: left_out.iter().map(|c| c.name.clone()).collect(),
            })
    }
}

impl Figure for TradeoffFigure {
    fn size(&self) -> (u32, u32) {
        (1000, 640)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        marks: &Marks,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (left, right) = root.split_horizontally(self.size().0 - 280);
        let all = || self.groups.iter().flat_map(|g| g.points.iter());
        let (x0, x1) = min_max(all().map(|p| p.0));
        let (y0, y1) = min_max(all().map(|p| p.1));
        let mut chart = ChartBuilder::on(&left)
            .caption(
                "Top-1 error vs mistake severity (final epoch)",
                plot::text(22.0),
            )
            .margin(12)
            .x_label_area_size(55)
            .y_label_area_size(85)
            .build_cartesian_2d(padded(x0, x1), padded(y0, y1))?;
        let (xr, yr) = (padded(x0, x1), padded(y0, y1));
        let (xs, ys) = (xr.end - xr.start, yr.end - yr.start);
        chart
            .configure_mesh()
            .x_label_formatter(&|v| plot::tick_label(*v, xs))
            .y_label_formatter(&|v| plot::tick_label(*v, ys))
            .max_light_lines(1)
            .x_desc("top-1 test error (fraction of test samples)")
            .y_desc("mistake severity (LCA height, tree levels)")
            .label_style(plot::text(15.0))
            .axis_desc_style(plot::text(16.0))
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()?;
        // The first condition (the baseline) drawn last, on top.
        for g in self.groups.iter().rev() {
            let st = g.style;
            marks.group(&format!("cond cond-{}", g.id));
            for (e, s, seed) in &g.points {
                let q = chart.backend_coord(&(*e, *s));
                draw_marker_styled(&left, q, st.marker, st.colour, 7, false)?;
                marks.hover(
                    q,
                    8,
                    &format!(
                        "{} seed {seed}: top-1 error {}, severity {}",
                        g.label,
                        crate::numbers::significant(Some(*e), 4),
                        crate::numbers::significant(Some(*s), 4)
                    ),
                );
            }
            marks.end_group();
        }
        let entries: Vec<LegendEntry> = self
            .groups
            .iter()
            .map(|g| LegendEntry {
                label: format!("{} (n={})", g.label, g.points.len()),
                style: g.style,
                line: false,
            })
            .collect();
        draw_legend(
            &right,
            "Condition",
            &entries,
            &[
                "One hollow marker per run (coincident runs stay visible). Lower left is better."
                    .to_string(),
            ],
        )
    }
}
