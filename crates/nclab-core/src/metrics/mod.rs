//! Metrics, each computed in one place:
//! - [`collapse`]: NC1-NC4 and their companions (`spec/metrics.md`);
//! - [`tree_geometry`]: hierarchy-aware geometry of the class means;
//! - [`mistakes`]: top-k error, mistake severity, hdist/hprecision/hmap@k, with and without CRM;
//!
//! [`neural_collapse`] gathers all of them for one set of features, in the order of the spec;
//! the CLI (`nclab measure`) and the trainer both call it.

pub mod collapse;
pub mod heldout;
pub mod mistakes;
pub mod mse_decomposition;
pub mod tree_geometry;

pub use collapse::{measure, ClassStatistics, CollapseInput, CollapseMetrics};

use crate::Result;

/// A class hierarchy seen as matrices in class order, for the hierarchy-aware metrics.
#[derive(Clone, Debug)]
pub struct TreeMatrices {
    /// Number of classes `K`.
    pub k: usize,
    /// LCA heights `d(i, j)`, `K x K` row-major.
    pub lca_height: Vec<f64>,
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
            lca_height: hierarchy.distance_matrix(),
            normalized: hierarchy.normalized_distance_matrix(),
            coarse: (num_coarse >= 2 && num_coarse < hierarchy.num_classes())
                .then_some((map, num_coarse)),
        }
    }
}

/// Metric values by name, in a fixed order; `None` where a metric is not defined.
pub type NamedMetrics = Vec<(&'static str, Option<f64>)>;

/// Names of the hierarchy-aware metrics, in the spec's order.
pub const TREE_METRIC_NAMES: [&str; 3] = ["mean_tree_correlation", "nc2_tree", "nc1_coarse"];

/// Every neural-collapse metric of the spec for one set of features: the collapse metrics,
/// then (with a tree) `mean_tree_correlation`, `nc2_tree`, `nc1_coarse` (`None` without a
/// coarse level). Returns `(name, value)` pairs in a fixed order.
pub fn neural_collapse(
    input: &CollapseInput<'_>,
    tree: Option<&TreeMatrices>,
) -> Result<NamedMetrics> {
    Ok(neural_collapse_with_statistics(input, tree)?.0)
}

/// [`neural_collapse`], also handing back the class statistics (means, counts, within-class
/// scatter) it computed, for metrics that need them too (the MSE decomposition) without a
/// second pass over the features.
pub fn neural_collapse_with_statistics(
    input: &CollapseInput<'_>,
    tree: Option<&TreeMatrices>,
) -> Result<(NamedMetrics, collapse::ClassStatistics)> {
    let stats = collapse::class_statistics(input.features, input.labels, input.num_classes)?;
    let metrics = collapse::measure_with_statistics(input, &stats)?;
    let mut out = metrics.entries();
    if let Some(tree) = tree {
        if tree.k != stats.k {
            return Err(crate::Error::invalid(format!(
                "the hierarchy has {} classes but the data has K = {}",
                tree.k, stats.k
            )));
        }
        let gram = stats.centred_gram();
        out.push((
            "mean_tree_correlation",
            Some(tree_geometry::mean_tree_correlation(
                &gram,
                &tree.lca_height,
                stats.k,
            )),
        ));
        out.push((
            "nc2_tree",
            Some(tree_geometry::nc2_tree(&gram, &tree.normalized, stats.k)),
        ));
        let coarse = match &tree.coarse {
            Some((map, n)) => Some(tree_geometry::nc1_coarse(
                input.features,
                input.labels,
                map,
                *n,
            )?),
            None => None,
        };
        out.push(("nc1_coarse", coarse));
    }
    Ok((out, stats))
}
