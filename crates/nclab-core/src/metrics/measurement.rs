//! One measurement of `nclab measure` (and of `nclab.measure` in Python): every metric of
//! one set of features, composed in one place so that every front end gives the same names,
//! in the same order, with the same values.
//!
//! The rows are `n`, `d`, `k`, the collapse metrics ([`super::neural_collapse`]), the tree
//! metrics with a hierarchy, the held-out metrics with held-out data ([`super::heldout`]),
//! `nc5` with out-of-distribution features ([`super::ood`]), and the MSE decomposition
//! when asked ([`super::mse_decomposition`]).

use super::heldout::heldout;
use super::mse_decomposition::mse_decomposition;
use super::ood::nc5;
use super::{neural_collapse_with_statistics, CollapseInput, TreeMatrices};
use crate::tensor::MatrixView;
use crate::{Error, Result};

/// Metric values by name, in order; `None` where a metric is not defined.
pub type Rows = Vec<(String, Option<f64>)>;

/// The inputs of one measurement beyond the training features.
#[derive(Clone, Copy, Debug)]
pub struct Measurement<'a> {
    /// The training features, labels and (optionally) the last layer and predictions.
    pub input: CollapseInput<'a>,
    /// A hierarchy's matrices, for the tree metrics.
    pub tree: Option<&'a TreeMatrices>,
    /// Held-out features and their class indices (already checked to lie in `0..K`).
    pub heldout: Option<(MatrixView<'a>, &'a [u32])>,
    /// Out-of-distribution features, for `nc5`.
    pub ood: Option<MatrixView<'a>>,
    /// The weight decay `WD` of the MSE decomposition (`lam = WD / 2`); needs the weights.
    pub mse_weight_decay: Option<f64>,
}

impl<'a> Measurement<'a> {
    /// A measurement of the training input alone.
    pub fn new(input: CollapseInput<'a>) -> Self {
        Measurement {
            input,
            tree: None,
            heldout: None,
            ood: None,
            mse_weight_decay: None,
        }
    }

    /// Every metric, named as in docs/metrics.md.
    pub fn run(&self) -> Result<Rows> {
        let input = &self.input;
        let (metrics, stats) = neural_collapse_with_statistics(input, self.tree)?;
        let mut rows: Rows = vec![
            ("n".into(), Some(input.features.n as f64)),
            ("d".into(), Some(input.features.d as f64)),
            ("k".into(), Some(input.num_classes as f64)),
        ];
        let mut push = |entries: Vec<(&'static str, Option<f64>)>| {
            rows.extend(entries.into_iter().map(|(name, v)| (name.to_string(), v)))
        };
        push(metrics);
        if let Some((features, labels)) = self.heldout {
            if labels.len() != features.n {
                return Err(Error::invalid(format!(
                    "held-out data: {} rows of features but {} labels",
                    features.n,
                    labels.len()
                )));
            }
            let held = heldout(
                &stats,
                &CollapseInput {
                    features,
                    labels,
                    predictions: None,
                    ..*input
                },
            )?;
            push(held.entries());
        }
        if let Some(ood) = self.ood {
            push(vec![("nc5", Some(nc5(&stats, ood)?))]);
        }
        if let Some(wd) = self.mse_weight_decay {
            let Some(w) = input.weights else {
                return Err(Error::invalid(
                    "the MSE decomposition needs the classifier's weights",
                ));
            };
            let k = input.num_classes;
            let b = input.bias.map_or_else(|| vec![0.0; k], <[f64]>::to_vec);
            let dec = mse_decomposition(
                input.features,
                input.labels,
                &stats,
                &w.to_f64_vec(),
                &b,
                wd,
            )?;
            push(dec.entries());
        }
        Ok(rows)
    }
}
