//! Metrics, each computed in one place:
//! - [`collapse`]: NC1-NC4 and their companions (docs/metrics.md);
//! - [`tree_geometry`]: hierarchy-aware geometry of the class means;
//! - [`mistakes`]: top-k error, mistake severity, hdist/hprecision/hmap@k, with and without CRM;
//!
//! [`neural_collapse`] gathers all of them for one set of features, in the order of the docs;
//! the trainer calls it, and [`measurement::Measurement`] adds the held-out, out-of-distribution
//! and MSE metrics for `nclab measure` and the Python package.

pub mod collapse;
pub mod decisions;
pub mod embedding;
pub mod geometry;
pub mod heldout;
pub mod measurement;
pub mod mistakes;
pub mod mse_decomposition;
pub mod ood;
pub mod pairs;
pub mod scatter;
pub mod statistics;
pub mod tree_geometry;

pub use collapse::{measure, ClassStatistics, CollapseInput, CollapseMetrics};

use crate::Result;

/// A class hierarchy seen as matrices in class order, for the hierarchy-aware metrics.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TreeMatrices {
    /// Number of classes `K`.
    pub k: usize,
    /// `dn(i, j) = d(i, j) / max d`, `K x K` row-major.
    pub normalized: Vec<f64>,
    /// For `nc1_coarse`: each class's coarse class and the number of coarse classes.
    pub coarse: Option<(Vec<usize>, usize)>,
}

impl TreeMatrices {
    /// The matrices of `hierarchy`, with the coarse level at `coarse_depth` (none when that
    /// level has fewer than 2 nodes, e.g. a flat tree).
    pub fn from_hierarchy(hierarchy: &crate::hierarchy::Hierarchy, coarse_depth: usize) -> Self {
        let (map, num_coarse) = hierarchy.coarse_labels(coarse_depth);
        TreeMatrices {
            k: hierarchy.num_classes(),
            normalized: hierarchy.normalized_distance_matrix(),
            coarse: (num_coarse >= 2 && num_coarse < hierarchy.num_classes())
                .then_some((map, num_coarse)),
        }
    }

    /// [`TreeMatrices::from_hierarchy`] for data with `k` classes: an error names both counts
    /// when the hierarchy has another number of classes, and a hierarchy whose K x K matrices
    /// would exceed [`crate::hierarchy::MAX_MATRIX_ENTRIES`] is refused before allocating.
    pub fn for_data(
        hierarchy: &crate::hierarchy::Hierarchy,
        k: usize,
        coarse_depth: usize,
    ) -> Result<Self> {
        check_coarse_depth(coarse_depth)?;
        hierarchy.check_num_classes(k)?;
        hierarchy.check_matrix_size()?;
        Ok(TreeMatrices::from_hierarchy(hierarchy, coarse_depth))
    }
}

/// The depth of `nc1_coarse`'s coarse level must be at least 1: depth 0 is the root, which puts
/// every class in one group, so the metric could never be defined.
pub fn check_coarse_depth(depth: usize) -> Result<()> {
    if depth == 0 {
        return Err(crate::Error::invalid(
            "coarse depth 0 is the root, one group holding every class, so nc1_coarse is never \
             defined; use 1 (the root's children) or deeper",
        ));
    }
    Ok(())
}

/// Metric values by name, in a fixed order; `None` where a metric is not defined.
pub type NamedMetrics = Vec<(&'static str, Option<f64>)>;

/// Names of the hierarchy-aware metrics, in the docs' order.
pub const TREE_METRIC_NAMES: [&str; 3] = ["mean_tree_correlation", "nc2_tree", "nc1_coarse"];

/// Every neural-collapse metric for one set of features: the collapse metrics, then (with a
/// tree) `mean_tree_correlation`, `nc2_tree`, `nc1_coarse` (`None` without a coarse level).
/// Returns `(name, value)` pairs in a fixed order.
pub fn neural_collapse(
    input: &CollapseInput<'_>,
    tree: Option<&TreeMatrices>,
) -> Result<NamedMetrics> {
    Ok(neural_collapse_with_statistics(input, tree)?.0)
}

/// [`neural_collapse`], also handing back the class statistics (means, counts) it computed,
/// for metrics that need them too (the MSE decomposition, held-out collapse) without another
/// first pass.
pub fn neural_collapse_with_statistics(
    input: &CollapseInput<'_>,
    tree: Option<&TreeMatrices>,
) -> Result<(NamedMetrics, ClassStatistics)> {
    let mut acc = Accumulator::new(input.num_classes, input.features.d)?;
    acc.add(input.features, input.labels, None)?;
    let classifier = input
        .weights
        .map(|w| scatter::Classifier::new(w, input.bias, input.num_classes, input.features.d))
        .transpose()?;
    if input.bias.is_some() && classifier.is_none() {
        return Err(crate::Error::invalid("bias given without weights"));
    }
    acc.second_pass(classifier)?;
    acc.add(input.features, input.labels, input.predictions)?;
    let measured = acc.finish()?;
    let metrics = measured.metrics(tree)?;
    Ok((metrics, measured.stats))
}

/// The metrics measured in two streamed passes over the data, batch by batch, with memory
/// that does not depend on the number of samples: `add` every batch (pass 1: class means),
/// `second_pass`, `add` every batch again (pass 2: the scatter and the decisions), `finish`.
/// Gives the numbers of [`neural_collapse`] on the concatenated batches (up to rounding).
pub struct Accumulator {
    k: usize,
    d: usize,
    state: State,
}

enum State {
    Means(statistics::MeanAccumulator),
    Scatter {
        scatter: Box<scatter::ScatterAccumulator<'static>>,
        pass1_rows: usize,
        /// Pass 2's class sums, to check that it saw pass 1's features.
        pass2_means: statistics::MeanAccumulator,
    },
}

/// The largest distance between a class mean of pass 2 and of pass 1, relative to the root
/// mean square norm of pass 1's class means, that [`Accumulator::check_passes`] takes for
/// the same data summed in another order (rounding gives about `1e-15`; features augmented
/// anew in pass 2 move the means by about their spread over the square root of a class's
/// size, `1e-3` to `1e-2` for thousands of samples a class).
pub const PASS_MEANS_TOLERANCE: f64 = 1e-6;

/// The result of the two passes.
#[non_exhaustive]
pub struct Measured {
    pub stats: ClassStatistics,
    pub scatter: scatter::Scatter,
    pub classifier: Option<scatter::Classifier>,
}

impl Accumulator {
    /// An accumulator for `k` classes of `d`-dimensional features, in pass 1.
    pub fn new(k: usize, d: usize) -> Result<Self> {
        Ok(Accumulator {
            k,
            d,
            state: State::Means(statistics::MeanAccumulator::new(k, d)?),
        })
    }

    /// Number of classes and feature dimension.
    pub fn shape(&self) -> (usize, usize) {
        (self.k, self.d)
    }

    /// Whether pass 2 has begun.
    pub fn in_second_pass(&self) -> bool {
        matches!(self.state, State::Scatter { .. })
    }

    /// Adds a batch to the current pass. `predictions` (the network's decisions) count in
    /// pass 2 only, where they must be given for every batch or for none.
    pub fn add(
        &mut self,
        features: crate::tensor::MatrixView<'_>,
        labels: &[u32],
        predictions: Option<&[u32]>,
    ) -> Result<()> {
        match &mut self.state {
            State::Means(acc) => acc.add(features, labels),
            State::Scatter {
                scatter,
                pass2_means,
                ..
            } => {
                // Pass 1's data were checked as they were summed; these may be others.
                statistics::check_values(features, scatter.rows())?;
                scatter.add(features, labels, predictions)?;
                // The batch passed the scatter's checks, which are the sums' own.
                pass2_means.add(features, labels)
            }
        }
    }

    /// Ends pass 1 (every class must have had a sample) and begins pass 2, with the network's
    /// last layer when there is one (for NC4 and the classifier's metrics). An error leaves
    /// pass 1 as it was (a missing class can still be added).
    pub fn second_pass(&mut self, classifier: Option<scatter::Classifier>) -> Result<()> {
        let State::Means(acc) = &mut self.state else {
            return Err(crate::Error::invalid(
                "second_pass: pass 2 has already begun",
            ));
        };
        acc.check_every_class()?;
        let means = std::mem::replace(acc, statistics::MeanAccumulator::new(self.k, self.d)?);
        let pass1_rows = means.len();
        let stats = means.finish()?;
        self.state = State::Scatter {
            scatter: Box::new(scatter::ScatterAccumulator::owned(stats, classifier, None)),
            pass1_rows,
            pass2_means: statistics::MeanAccumulator::new(self.k, self.d)?,
        };
        Ok(())
    }

    /// Fails unless pass 2 has begun and seen as many samples as pass 1, in total and of
    /// each class (a loader that shuffles and drops its last batch drops other samples in
    /// each pass), with the same class means, to [`PASS_MEANS_TOLERANCE`] (a loader that
    /// augments its samples at random gives other features in each pass).
    /// [`Accumulator::finish`] checks this first; on its own it leaves the accumulator usable
    /// (pass 2 can go on).
    pub fn check_passes(&self) -> Result<()> {
        let State::Scatter {
            scatter,
            pass1_rows,
            pass2_means,
        } = &self.state
        else {
            return Err(crate::Error::invalid(
                "the second pass has not begun: call second_pass() and add the data again",
            ));
        };
        let pass2_rows = scatter.rows();
        if pass2_rows != *pass1_rows {
            return Err(crate::Error::invalid(format!(
                "pass 2 saw {pass2_rows} samples but pass 1 saw {pass1_rows}: both passes must \
                 see the same data"
            )));
        }
        let (pass1, pass2) = (&scatter.statistics().counts, scatter.class_counts());
        let differ: Vec<usize> = (0..self.k).filter(|&c| pass2[c] != pass1[c]).collect();
        if let Some(&c) = differ.first() {
            let samples = |n: usize| format!("{n} sample{}", if n == 1 { "" } else { "s" });
            return Err(crate::Error::invalid(format!(
                "class {c} has {} in pass 2 but {} in pass 1 ({} differ): both passes must \
                 see the same data (a loader that shuffles and drops its last batch drops \
                 other samples in each pass)",
                samples(pass2[c]),
                samples(pass1[c]),
                crate::labels::name_classes(&differ)
            )));
        }
        // The same samples in each class: the same means, up to the order of the sums.
        let (d, stats) = (self.d, scatter.statistics());
        let scale = (stats.means.iter().map(|m| m * m).sum::<f64>() / self.k as f64).sqrt();
        let moved = |c: usize| {
            let inv = 1.0 / pass1[c] as f64;
            let sums = &pass2_means.sums()[c * d..(c + 1) * d];
            let mean = &stats.means[c * d..(c + 1) * d];
            sums.iter()
                .zip(mean)
                .map(|(s, m)| (s * inv - m).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let (c, far) =
            (0..self.k)
                .map(|c| (c, moved(c)))
                .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
        if far > PASS_MEANS_TOLERANCE * scale {
            return Err(crate::Error::invalid(format!(
                "class {c}'s mean in pass 2 is {far:.3e} from its mean in pass 1 ({:.1e} of the \
                 means' size): both passes must see the same features (a loader that augments \
                 its samples at random gives other features in each pass; measure with the \
                 transforms of evaluation)",
                far / scale
            )));
        }
        Ok(())
    }

    /// The two passes' results. Errors: those of [`Accumulator::check_passes`].
    pub fn finish(self) -> Result<Measured> {
        self.check_passes()?;
        let State::Scatter { scatter, .. } = self.state else {
            unreachable!("check_passes: pass 2 has begun");
        };
        let (stats, classifier, scatter) = scatter.finish_owned();
        Ok(Measured {
            stats,
            scatter,
            classifier,
        })
    }
}

impl Measured {
    /// Gives the last layer after the passes, when pass 2 ran without it: the classifier's
    /// geometry (NC3, the weights' equinorm and equiangularity, self-duality, bias collapse,
    /// UNC3) is computed now. NC4 counts decisions made during pass 2, so it stays undefined
    /// unless pass 2 had the network's predictions. Errors: a classifier was already given.
    pub fn set_classifier(&mut self, classifier: scatter::Classifier) -> Result<()> {
        if self.classifier.is_some() {
            return Err(crate::Error::invalid(
                "the classifier was already given for pass 2",
            ));
        }
        self.scatter.geometry.weights = Some(geometry::weight_geometry(&self.stats, &classifier));
        self.classifier = Some(classifier);
        Ok(())
    }

    /// The collapse metrics, then the tree's when given.
    pub fn metrics(&self, tree: Option<&TreeMatrices>) -> Result<NamedMetrics> {
        let mut out =
            collapse::collapse_metrics(&self.stats, &self.scatter, self.classifier.as_ref())
                .entries();
        if let Some(tree) = tree {
            out.extend(tree_metrics(&self.stats, &self.scatter, tree)?);
        }
        Ok(out)
    }
}

/// `mean_tree_correlation`, `nc2_tree` and `nc1_coarse` (`None` without a coarse level).
fn tree_metrics(
    stats: &ClassStatistics,
    scatter: &scatter::Scatter,
    tree: &TreeMatrices,
) -> Result<NamedMetrics> {
    if tree.k != stats.k {
        return Err(crate::Error::invalid(format!(
            "the hierarchy has {} classes but the data has K = {}",
            tree.k, stats.k
        )));
    }
    let coarse = match &tree.coarse {
        Some((map, n)) => Some(tree_geometry::nc1_coarse(stats, scatter, map, *n)?),
        None => None,
    };
    if collapse::means_coincide(stats) {
        // No geometry of the means to compare with the tree (docs/metrics.md, undefined
        // values); `coarse` is NaN already, the coarse means being averages of the means.
        return Ok(vec![
            (TREE_METRIC_NAMES[0], Some(f64::NAN)),
            (TREE_METRIC_NAMES[1], Some(f64::NAN)),
            (TREE_METRIC_NAMES[2], coarse),
        ]);
    }
    let gram = stats.centred_gram();
    Ok(vec![
        (
            TREE_METRIC_NAMES[0],
            Some(tree_geometry::mean_tree_correlation(
                &gram,
                &tree.normalized,
                stats.k,
            )),
        ),
        (
            TREE_METRIC_NAMES[1],
            Some(tree_geometry::nc2_tree(&gram, &tree.normalized, stats.k)),
        ),
        (TREE_METRIC_NAMES[2], coarse),
    ])
}
