//! The overview figure in the manner of Papyan, Han and Donoho (2020): one small panel per
//! quantity of collapse against the epoch, every condition in each, one legend strip under the
//! grid: training error, NC1, the equinorm of the class means and of the classifier rows, their
//! equiangularity, NC2, NC3 (W Mᵀ against the simplex ETF) and NC4; then, where the runs record
//! them, the generalised and uniform forms of the wider literature: GNC2 (the variance of the
//! log energy of the normalised means, Liu et al. 2023) and UNC3 (uniform duality, Wu and
//! Papyan 2024).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::conditions::Condition;
use super::curves::{aggregate, aggregate_by, legend_entries, CurveOptions, Panel};
use super::plot::{draw_legend_strip, legend_strip_height, wrap, Figure};
use super::runs::Run;
use super::svg::Marks;

/// The panels: metric column (or `train_error`, derived as `1 - train_acc`) and short title.
pub const PANELS: &[(&str, &str)] = &[
    ("train_error", "Training error"),
    ("nc1", "NC1: within-class variability"),
    ("equinorm_means", "Equinorm: class means"),
    ("equinorm_weights", "Equinorm: classifier rows"),
    ("equiangularity_means", "Equiangularity: class means"),
    ("equiangularity_weights", "Equiangularity: classifier"),
    ("nc2", "NC2: means vs simplex ETF"),
    ("nc3", "NC3: W Mᵀ vs simplex ETF"),
    ("nc4", "NC4: vs nearest class mean"),
    ("gnc2_log_var", "GNC2: log-energy variance"),
    ("unc3", "UNC3: uniform duality"),
];

const COLUMNS: usize = 3;
const PANEL_W: u32 = 440;
const PANEL_H: u32 = 320;
const LEGEND_COLUMN: i32 = 215;

/// The grid of panels and its legend.
pub struct PanelsFigure {
    pub panels: Vec<Panel>,
    /// The legend's notes, wrapped into lines.
    notes: Vec<String>,
}

impl PanelsFigure {
    /// The panels of [`PANELS`] that some run has (`None` when there is none).
    pub fn new(
        runs: &[Run],
        conditions: &[Condition],
        decays: &[f64],
        options: CurveOptions,
    ) -> Option<PanelsFigure> {
        let mut panels = Vec::new();
        for &(metric, title) in PANELS {
            let curves: Vec<_> = (0..conditions.len())
                .map(|i| {
                    if metric == "train_error" {
                        aggregate_by(runs, conditions, i, |r| {
                            r.metrics
                                .series("train_acc")
                                .into_iter()
                                .map(|(e, a)| (e, 1.0 - a))
                                .collect()
                        })
                    } else {
                        aggregate(runs, conditions, i, metric)
                    }
                })
                .filter(|c| !c.points.is_empty())
                .collect();
            if curves.is_empty() {
                continue;
            }
            let mut panel = Panel::new(metric, curves, decays, options);
            panel.title = title.to_string();
            panels.push(panel);
        }
        let mut notes: Vec<String> = Vec::new();
        for p in &panels {
            for n in p.notes() {
                if !notes.contains(&n) {
                    notes.push(n);
                }
            }
        }
        notes.push("Axes as in the full figures.".to_string());
        // About 7.5 pixels a character at 13 pixels.
        let notes = wrap(&notes.join(" "), (PANEL_W as usize * COLUMNS - 20) * 2 / 15);
        (!panels.is_empty()).then_some(PanelsFigure { panels, notes })
    }

    fn legend_height(&self) -> u32 {
        let entries = self
            .panels
            .iter()
            .map(|p| p.curves.len())
            .max()
            .unwrap_or(0);
        legend_strip_height(entries, self.notes.len(), self.size_grid().0, LEGEND_COLUMN)
    }

    fn size_grid(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(COLUMNS) as u32;
        (PANEL_W * COLUMNS as u32, PANEL_H * rows)
    }
}

impl Figure for PanelsFigure {
    fn size(&self) -> (u32, u32) {
        let (w, h) = self.size_grid();
        (w, h + self.legend_height())
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        marks: &Marks,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (_, grid_h) = self.size_grid();
        let (grid, legend) = root.split_vertically(grid_h);
        let rows = self.panels.len().div_ceil(COLUMNS);
        let cells = grid.split_evenly((rows, COLUMNS));
        for (panel, cell) in self.panels.iter().zip(&cells) {
            panel.draw(cell, marks, true)?;
        }
        // The legend of the panel with the most conditions (all of them, as a rule).
        let widest = self
            .panels
            .iter()
            .max_by_key(|p| p.curves.len())
            .expect("a panel");
        draw_legend_strip(
            &legend,
            &legend_entries(&widest.curves),
            &self.notes,
            LEGEND_COLUMN,
        )
    }
}
