//! Figure 1: a metric against the epoch, one line per condition (the mean over its runs) with a
//! shaded min-max band across seeds; logarithmic y axis when the metric spans decades.

use std::collections::BTreeMap;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::conditions::Condition;
use super::plot::{self, draw_legend, draw_line, draw_marker, series_style, Figure, LegendEntry};
use super::runs::Run;

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
    pub label: String,
    pub runs: usize,
    pub points: Vec<CurvePoint>,
}

/// Mean, min and max of `metric` over the runs of `condition` at each epoch where at least one
/// run has a finite value.
pub fn aggregate(runs: &[Run], condition: &Condition, metric: &str) -> Curve {
    let mut by_epoch: BTreeMap<u64, (f64, Vec<f64>)> = BTreeMap::new();
    for &i in &condition.runs {
        for (e, v) in runs[i].metrics.series(metric) {
            if v.is_finite() {
                // Epochs are non-negative and ordered: their bit patterns sort like the values.
                by_epoch
                    .entry(e.to_bits())
                    .or_insert((e, Vec::new()))
                    .1
                    .push(v);
            }
        }
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
    Curve {
        label: condition.label.clone(),
        runs: condition.runs.len(),
        points,
    }
}

/// Whether a y axis over these values should be logarithmic: all positive and
/// `max / min >= 30` (about a decade and a half).
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

/// Title, y-axis label (with units) and a one-sentence description of a metric column.
pub fn describe(metric: &str) -> (String, String, String) {
    let (title, unit, text) = match metric {
        "nc1" => ("NC1: within-class variability", "tr(S_W S_B⁺)/K (dimensionless)", "Within-class variability relative to the between-class spread; collapse drives it to 0."),
        "nc2" => ("NC2: distance of the class means to a simplex ETF", "Frobenius distance (dimensionless)", "How far the normalised Gram matrix of the centred class means is from the simplex equiangular tight frame."),
        "nc3" => ("NC3: self-duality of classifier and means", "Frobenius distance (dimensionless)", "How far W Mᵀ (normalised) is from the simplex ETF: 0 when the classifier rows align with the class means."),
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
        "train_acc" => ("Training accuracy", "fraction correct", "Top-1 accuracy on the training set."),
        "test_acc" => ("Test accuracy", "fraction correct", "Top-1 accuracy on the test set."),
        "top1_error" => ("Top-1 test error", "fraction of test samples", "Fraction of test samples whose top prediction is wrong."),
        "top5_error" => ("Top-5 test error", "fraction of test samples", "Fraction of test samples whose label is not among the top 5 predictions."),
        "mistake_severity" => ("Mistake severity", "LCA height (tree levels)", "Mean tree distance between the label and the top prediction, over the mistakes."),
        "hdist@1" => ("Hierarchical distance @1", "LCA height (tree levels)", "Mean tree distance between the label and the top prediction, over all test samples."),
        "hdist@5" => ("Hierarchical distance @5", "LCA height (tree levels)", "Mean tree distance between the label and the top 5 predictions."),
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

/// Figure 1 for one metric.
pub struct CurvesFigure {
    pub title: String,
    pub y_label: String,
    pub log_y: bool,
    pub curves: Vec<Curve>,
}

impl CurvesFigure {
    pub fn new(metric: &str, curves: Vec<Curve>) -> CurvesFigure {
        let (title, unit, _) = describe(metric);
        let log_y = wants_log(
            curves
                .iter()
                .flat_map(|c| c.points.iter().flat_map(|p| [p.min, p.max])),
        );
        let y_label = if log_y {
            format!("{unit}, log scale")
        } else {
            unit
        };
        CurvesFigure {
            title,
            y_label,
            log_y,
            curves,
        }
    }

    fn x_range(&self) -> std::ops::Range<f64> {
        let xs = self
            .curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.epoch));
        let (lo, hi) = min_max(xs);
        if hi > lo {
            // A little room on the right so that the last marker is not cut by the frame.
            lo..(hi + 0.02 * (hi - lo))
        } else {
            (lo - 1.0)..(hi + 1.0)
        }
    }

    fn values(&self) -> (f64, f64) {
        min_max(
            self.curves
                .iter()
                .flat_map(|c| c.points.iter().flat_map(|p| [p.min, p.max])),
        )
    }

    fn draw_in<DB: DrawingBackend, Y>(
        &self,
        area: &DrawingArea<DB, Shift>,
        y: Y,
        y_format: Option<&dyn Fn(&f64) -> String>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
    where
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, plot::text(22.0))
            .margin(12)
            .x_label_area_size(55)
            .y_label_area_size(85)
            .build_cartesian_2d(self.x_range(), y)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_desc("epoch (analysis epochs marked)")
            .y_desc(&self.y_label)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style(plot::text(15.0))
            .axis_desc_style(plot::text(16.0))
            .max_light_lines(1)
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215));
        if let Some(f) = y_format {
            mesh.y_label_formatter(f);
        }
        mesh.draw()?;
        // Bands first, so that every line stays on top of every band.
        for (i, c) in self.curves.iter().enumerate() {
            let st = series_style(i);
            let banded: Vec<&CurvePoint> = c.points.iter().filter(|p| p.n >= 2).collect();
            if banded.len() >= 2 {
                let mut poly: Vec<(f64, f64)> = banded.iter().map(|p| (p.epoch, p.max)).collect();
                poly.extend(banded.iter().rev().map(|p| (p.epoch, p.min)));
                chart.draw_series(std::iter::once(Polygon::new(
                    poly,
                    st.colour.mix(0.16).filled(),
                )))?;
            }
        }
        for (i, c) in self.curves.iter().enumerate() {
            let st = series_style(i);
            let pix: Vec<(i32, i32)> = c
                .points
                .iter()
                .map(|p| chart.backend_coord(&(p.epoch, p.mean)))
                .collect();
            if pix.len() >= 2 {
                draw_line(area, &pix, &st, 2)?;
            }
            for &p in &pix {
                draw_marker(area, p, st.marker, st.colour, 3)?;
            }
        }
        Ok(())
    }
}

/// Smallest and largest finite value (`(0, 1)` when there is none).
pub fn min_max(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
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
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (left, right) = root.split_horizontally(self.size().0 - 280);
        let (lo, hi) = self.values();
        if self.log_y {
            self.draw_in(&left, ((lo / 1.5)..(hi * 1.5)).log_scale(), None)?;
        } else {
            let range = padded(lo, hi);
            let span = range.end - range.start;
            let fmt = move |v: &f64| plot::tick_label(*v, span);
            self.draw_in(&left, range, Some(&fmt))?;
        }
        let entries: Vec<LegendEntry> = self
            .curves
            .iter()
            .enumerate()
            .map(|(i, c)| LegendEntry {
                label: format!("{} (n={})", c.label, c.runs),
                style: series_style(i),
                line: true,
            })
            .collect();
        let mut note = vec!["Line: mean over runs (seeds).".to_string()];
        if self
            .curves
            .iter()
            .any(|c| c.points.iter().any(|p| p.n >= 2))
        {
            note.push("Shaded band: min–max over runs.".to_string());
        }
        draw_legend(&right, "Condition", &entries, &note)
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
}
