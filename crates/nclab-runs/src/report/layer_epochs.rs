//! Each layer's collapse against the epoch, from `metrics_layers.csv`: for each condition whose
//! runs have one, a curve figure with one line per tapped layer, the mean over the condition's
//! runs at each analysis epoch (min-max band over runs), drawn like the other curves (log axes,
//! learning-rate decays and the stable TPT epoch marked). [`super::layers`] shows the same data
//! the other way round (against depth, one line per epoch).

use std::collections::BTreeMap;

use super::conditions::Condition;
use super::curves::{aggregate_by, CurveOptions, CurvesFigure};
use super::plot;
use super::runs::Run;

/// One condition's figure.
pub struct LayerEpochFigure {
    /// Index of the condition in the report.
    pub condition: usize,
    /// Layer names in depth order.
    pub layers: Vec<String>,
    pub figure: CurvesFigure,
}

/// The layers (depth -> name) that the runs of a condition have `metric` for.
fn layers_of(runs: &[Run], condition: &Condition, metric: &str) -> BTreeMap<i64, String> {
    let mut out = BTreeMap::new();
    for &i in &condition.runs {
        let Some(t) = &runs[i].layers else { continue };
        let Some(c) = t.columns.iter().position(|n| n == metric) else {
            continue;
        };
        for r in t.rows.iter().filter(|r| r.values[c].is_some()) {
            out.entry(r.depth as i64).or_insert_with(|| r.layer.clone());
        }
    }
    out
}

/// A figure per condition with `metric` in some run's `metrics_layers.csv`, in condition order.
/// Line `j` (the `j`-th layer by depth) takes style `j`, so a layer has the same colour in
/// every condition's figure; the condition's stable TPT is drawn once.
pub fn figures(
    runs: &[Run],
    conditions: &[Condition],
    metric: &str,
    decays: &[f64],
    options: CurveOptions,
) -> Vec<LayerEpochFigure> {
    let mut out = Vec::new();
    for (ci, c) in conditions.iter().enumerate() {
        let layers = layers_of(runs, c, metric);
        let mut curves = Vec::new();
        for (j, (&depth, name)) in layers.iter().enumerate() {
            let mut curve = aggregate_by(runs, conditions, ci, |r| {
                r.layers.as_ref().map_or(Vec::new(), |t| {
                    t.series(metric)
                        .into_iter()
                        .filter(|&(_, d, _)| d as i64 == depth)
                        .map(|(e, _, v)| (e, v))
                        .collect()
                })
            });
            curve.label = format!("{name} (depth {depth})");
            curve.style = plot::series_style(j);
            if j > 0 {
                curve.tpt = None;
            }
            if !curve.points.is_empty() {
                curves.push(curve);
            }
        }
        if curves.is_empty() {
            continue;
        }
        let mut figure = CurvesFigure::new(metric, curves, decays, options);
        figure.panel.title = format!("{} by layer: {}", metric.to_uppercase(), c.name);
        out.push(LayerEpochFigure {
            condition: ci,
            layers: layers.into_values().collect(),
            figure,
        });
    }
    out
}
