//! Collapse through the network's depth, from `metrics_layers.csv`: for each condition whose
//! runs have one, a small panel of a layer metric (NC1) against the layer's depth, one line per
//! chosen analysis epoch (the mean over the condition's runs), coloured from dark (early) to
//! light (late) along a sequential map.

use std::collections::BTreeMap;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::conditions::Condition;
use super::curves::{log_tick, min_max, padded};
use super::geometry_plots::colour_map;
use super::plot::{self, draw_legend_strip, legend_strip_height, Figure, LegendEntry, SeriesStyle};
use super::runs::Run;
use super::svg::Marks;

/// At most this many epochs are drawn per panel.
pub const MAX_EPOCHS: usize = 5;

/// One condition's panel.
pub struct LayerPanel {
    pub label: String,
    pub id: String,
    /// `(epoch, [(depth, mean over runs)])`, epochs in [`LayersFigure::epochs`] order.
    pub lines: Vec<(f64, Vec<(f64, f64)>)>,
}

/// The figure: one panel per condition with layer data.
pub struct LayersFigure {
    pub metric: String,
    /// The epochs drawn: the first, the last and evenly chosen ones between (by position in
    /// the list of analysis epochs, so log-spaced epochs stay log-spaced).
    pub epochs: Vec<f64>,
    /// Layer names by depth (from the first run that has them).
    pub names: BTreeMap<i64, String>,
    pub panels: Vec<LayerPanel>,
    pub log_y: bool,
}

/// Up to `k` of `epochs` (sorted, distinct): the first, the last and evenly spaced positions
/// between.
pub fn choose_epochs(epochs: &[f64], k: usize) -> Vec<f64> {
    if epochs.len() <= k {
        return epochs.to_vec();
    }
    let n = epochs.len() - 1;
    let mut out: Vec<f64> = (0..k)
        .map(|j| epochs[(j * n + (k - 1) / 2) / (k - 1)])
        .collect();
    out.dedup();
    out
}

impl LayersFigure {
    /// `None` when no run of any condition has `metric` in a `metrics_layers.csv`.
    pub fn new(runs: &[Run], conditions: &[Condition], metric: &str) -> Option<LayersFigure> {
        let mut all_epochs: Vec<f64> = Vec::new();
        let mut names = BTreeMap::new();
        for c in conditions {
            for &i in &c.runs {
                if let Some(t) = &runs[i].layers {
                    for (e, _, _) in t.series(metric) {
                        all_epochs.push(e);
                    }
                    for r in &t.rows {
                        names
                            .entry(r.depth as i64)
                            .or_insert_with(|| r.layer.clone());
                    }
                }
            }
        }
        all_epochs.sort_by(f64::total_cmp);
        all_epochs.dedup();
        if all_epochs.is_empty() {
            return None;
        }
        let epochs = choose_epochs(&all_epochs, MAX_EPOCHS);
        let mut panels = Vec::new();
        for c in conditions {
            // (epoch, depth) -> values over runs
            let mut acc: BTreeMap<(u64, i64), Vec<f64>> = BTreeMap::new();
            for &i in &c.runs {
                if let Some(t) = &runs[i].layers {
                    for (e, d, v) in t.series(metric) {
                        acc.entry((e.to_bits(), d as i64)).or_default().push(v);
                    }
                }
            }
            if acc.is_empty() {
                continue;
            }
            let lines = epochs
                .iter()
                .map(|&e| {
                    let pts: Vec<(f64, f64)> = acc
                        .iter()
                        .filter(|((eb, _), _)| *eb == e.to_bits())
                        .map(|((_, d), v)| (*d as f64, nclab_core::stats::mean(v)))
                        .collect();
                    (e, pts)
                })
                .filter(|(_, p)| !p.is_empty())
                .collect();
            panels.push(LayerPanel {
                label: c.name.clone(),
                id: c.id.clone(),
                lines,
            });
        }
        let log_y = panels
            .iter()
            .flat_map(|p| p.lines.iter().flat_map(|(_, l)| l.iter().map(|q| q.1)))
            .all(|v| v > 0.0);
        Some(LayersFigure {
            metric: metric.to_string(),
            epochs,
            names,
            panels,
            log_y,
        })
    }

    fn colour(&self, epoch: f64) -> RGBColor {
        let k = self.epochs.len().max(2) - 1;
        let j = self.epochs.iter().position(|&e| e == epoch).unwrap_or(0);
        // Stop short of viridis' light yellow end, which is hard to see on white.
        colour_map(0.85 * j as f64 / k as f64)
    }

    fn legend(&self) -> Vec<LegendEntry> {
        self.epochs
            .iter()
            .map(|&e| LegendEntry {
                label: format!("epoch {e}"),
                style: SeriesStyle {
                    colour: self.colour(e),
                    marker: plot::Marker::Circle,
                    dash: None,
                },
                line: true,
            })
            .collect()
    }

    fn grid(&self) -> (usize, usize) {
        let cols = self.panels.len().clamp(1, 3);
        (self.panels.len().div_ceil(cols), cols)
    }

    fn draw_panel<DB: DrawingBackend, Y>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &LayerPanel,
        y: Y,
        marks: &Marks,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
    where
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let (d0, d1) = min_max(self.names.keys().map(|&d| d as f64));
        let log_fmt = |v: &f64| log_tick(*v);
        let lin_fmt = |v: &f64| plot::tick_label(*v, 1.0);
        let names = &self.names;
        let x_fmt = |v: &f64| {
            if (v - v.round()).abs() < 1e-9 {
                names.get(&(v.round() as i64)).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.label, plot::text(17.0))
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(62)
            .build_cartesian_2d((d0 - 0.3)..(d1 + 0.3), y)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_desc("layer (input → output)")
            .x_labels(self.names.len().max(2))
            .x_label_formatter(&x_fmt)
            .label_style(plot::text(12.0))
            .axis_desc_style(plot::text(12.0))
            .max_light_lines(1)
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215));
        if self.log_y {
            mesh.y_label_formatter(&log_fmt);
        } else {
            mesh.y_label_formatter(&lin_fmt);
        }
        mesh.draw()?;
        let base = area.get_base_pixel();
        marks.group(&format!("cond cond-{}", panel.id));
        for (e, pts) in &panel.lines {
            let colour = self.colour(*e);
            let abs: Vec<(i32, i32)> = pts.iter().map(|p| chart.backend_coord(p)).collect();
            let rel: Vec<(i32, i32)> = abs.iter().map(|q| (q.0 - base.0, q.1 - base.1)).collect();
            if rel.len() >= 2 {
                area.draw(&PathElement::new(rel.clone(), colour.stroke_width(2)))?;
            }
            for (q, (p, a)) in rel.iter().zip(pts.iter().zip(&abs)) {
                area.draw(&Circle::new(*q, 3, colour.filled()))?;
                let layer = self.names.get(&(p.0 as i64)).cloned().unwrap_or_default();
                marks.hover(
                    *a,
                    5,
                    &format!(
                        "{}: epoch {e}, {layer}: {} = {}",
                        panel.label,
                        self.metric,
                        crate::numbers::significant(Some(p.1), 4)
                    ),
                );
            }
        }
        marks.end_group();
        Ok(())
    }
}

const PANEL_W: u32 = 420;
const PANEL_H: u32 = 300;

impl Figure for LayersFigure {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = self.grid();
        let w = PANEL_W * cols.max(2) as u32;
        (
            w,
            PANEL_H * rows as u32 + legend_strip_height(self.epochs.len(), 1, w, 150),
        )
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        marks: &Marks,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (rows, cols) = self.grid();
        let (grid, legend) = root.split_vertically(PANEL_H * rows as u32);
        let cells = grid.split_evenly((rows, cols));
        let (lo, hi) = min_max(
            self.panels
                .iter()
                .flat_map(|p| p.lines.iter().flat_map(|(_, l)| l.iter().map(|q| q.1))),
        );
        for (panel, cell) in self.panels.iter().zip(&cells) {
            if self.log_y {
                let (y0, y1) = plot::log_bounds(lo, hi, 1.5);
                self.draw_panel(cell, panel, plot::log_axis(y0, y1), marks)?;
            } else {
                self.draw_panel(cell, panel, padded(lo, hi), marks)?;
            }
        }
        draw_legend_strip(
            &legend,
            &self.legend(),
            &[format!(
                "{} of each layer's features on the training set (metrics_layers.csv), mean over \
                 the runs of the condition{}.",
                self.metric,
                if self.log_y { ", log scale" } else { "" }
            )],
            150,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_epochs_keep_the_ends() {
        let e: Vec<f64> = (1..=22).map(f64::from).collect();
        assert_eq!(choose_epochs(&e, 5), vec![1.0, 6.0, 12.0, 17.0, 22.0]);
        assert_eq!(choose_epochs(&e[..3], 5), vec![1.0, 2.0, 3.0]);
        assert_eq!(choose_epochs(&e[..6], 5), vec![1.0, 2.0, 4.0, 5.0, 6.0]);
    }
}
