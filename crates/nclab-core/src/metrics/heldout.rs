//! Held-out collapse: how the collapse of the training features carries over to samples the
//! network did not train on (Hui, Belkin and Wright 2022; Wu and Papyan 2024).
//!
//! - `heldout_nc1`: NC1 of the held-out features, with their own class means (the training
//!   metric applied to the held-out set);
//! - `heldout_nc4`: the fraction of held-out samples whose network decision differs from the
//!   nearest *training* class mean;
//! - `heldout_ncc_accuracy`: the fraction of held-out samples whose nearest training class mean
//!   is their label (the accuracy of the nearest-class-mean classifier built on the training
//!   set).

use rayon::prelude::*;

use super::collapse::{measure, ClassStatistics, CollapseInput};
use crate::linalg::gemm_nt;
use crate::{Error, Result};

/// Rows per block of the held-out pass.
const BLOCK_ROWS: usize = 1024;

/// The held-out metrics, named as in the docs.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct HeldoutMetrics {
    pub nc1: f64,
    /// `None` without the classifier or the network's predictions.
    pub nc4: Option<f64>,
    pub ncc_accuracy: f64,
}

impl HeldoutMetrics {
    /// The metric names, in the order of [`HeldoutMetrics::entries`].
    pub const NAMES: [&'static str; 3] = ["heldout_nc1", "heldout_nc4", "heldout_ncc_accuracy"];

    /// `(name, value)` pairs for tables, CSV columns and JSON keys.
    pub fn entries(&self) -> Vec<(&'static str, Option<f64>)> {
        vec![
            (Self::NAMES[0], Some(self.nc1)),
            (Self::NAMES[1], self.nc4),
            (Self::NAMES[2], Some(self.ncc_accuracy)),
        ]
    }
}

/// The held-out metrics of `heldout` (features, labels, and the classifier or predictions)
/// against the training set's class statistics `train`. Every class must have a held-out
/// sample (for `heldout_nc1`); the feature dimension and classes must be the training set's.
pub fn heldout(train: &ClassStatistics, heldout: &CollapseInput<'_>) -> Result<HeldoutMetrics> {
    let (k, d) = (train.k, train.d);
    if heldout.num_classes != k || heldout.features.d != d {
        return Err(Error::invalid(format!(
            "held-out data: {} classes of dimension {}, the training data {k} of dimension {d}",
            heldout.num_classes, heldout.features.d
        )));
    }
    let nc1 = measure(&CollapseInput {
        weights: None,
        bias: None,
        predictions: None,
        ..*heldout
    })
    .map_err(|e| Error::invalid(format!("held-out data: {e}")))?;
    let weights = heldout.weights.map(|w| w.to_f64_vec());
    let bias = heldout.bias.map_or_else(|| vec![0.0; k], <[f64]>::to_vec);
    let n = heldout.features.n;
    let blocks: Vec<(usize, usize)> = (0..n)
        .step_by(BLOCK_ROWS)
        .map(|s| (s, (s + BLOCK_ROWS).min(n)))
        .collect();
    let counts: Vec<(usize, usize)> = blocks
        .par_iter()
        .map(|&(start, end)| {
            let ncm = nearest_means(heldout, train, start, end);
            let correct = ncm
                .iter()
                .zip(&heldout.labels[start..end])
                .filter(|(a, &y)| **a == y as usize)
                .count();
            let decisions: Option<Vec<usize>> = match (heldout.predictions, &weights) {
                (Some(p), _) => Some(p[start..end].iter().map(|&v| v as usize).collect()),
                (None, Some(w)) => Some(linear_decisions(heldout, w, &bias, start, end)),
                (None, None) => None,
            };
            let differ = decisions.map_or(0, |dec| {
                dec.iter().zip(&ncm).filter(|(a, b)| a != b).count()
            });
            (correct, differ)
        })
        .collect();
    let correct: usize = counts.iter().map(|c| c.0).sum();
    let differ: usize = counts.iter().map(|c| c.1).sum();
    let has_decisions = heldout.predictions.is_some() || weights.is_some();
    Ok(HeldoutMetrics {
        nc1: nc1.nc1,
        nc4: has_decisions.then(|| differ as f64 / n as f64),
        ncc_accuracy: correct as f64 / n as f64,
    })
}

/// For rows `start..end`, the nearest training class mean (lowest index on a tie), from the
/// deviation `c = h - mu_y` from the sample's own class mean, without cancellation:
/// `||h - mu_k||^2 = ||c||^2 + 2 (c . mu_y - c . mu_k) + ||mu_y - mu_k||^2`.
fn nearest_means(
    input: &CollapseInput<'_>,
    train: &ClassStatistics,
    start: usize,
    end: usize,
) -> Vec<usize> {
    let (k, d, rows) = (train.k, train.d, end - start);
    let mu = &train.means;
    let mut dev = vec![0.0; rows * d];
    input
        .features
        .rows
        .copy_to_f64(start * d, end * d, &mut dev);
    let labels = &input.labels[start..end];
    let mut sq = vec![0.0; rows];
    for (r, &y) in labels.iter().enumerate() {
        let row = &mut dev[r * d..(r + 1) * d];
        row.iter_mut()
            .zip(&mu[y as usize * d..(y as usize + 1) * d])
            .for_each(|(x, m)| *x -= m);
        sq[r] = row.iter().map(|x| x * x).sum();
    }
    // proj[r * k + c] = c_r . mu_c
    let mut proj = vec![0.0; rows * k];
    gemm_nt(&mut proj, &dev, mu, rows, k, d, 1.0, false, false);
    let mut gram = vec![0.0; k * k];
    gemm_nt(&mut gram, mu, mu, k, k, d, 1.0, false, false);
    labels
        .iter()
        .enumerate()
        .map(|(r, &y)| {
            let y = y as usize;
            let p = &proj[r * k..(r + 1) * k];
            let mut best = (f64::INFINITY, 0);
            for c in 0..k {
                let between = gram[y * k + y] + gram[c * k + c] - 2.0 * gram[y * k + c];
                let dist = sq[r] + 2.0 * (p[y] - p[c]) + between.max(0.0);
                if dist < best.0 {
                    best = (dist, c);
                }
            }
            best.1
        })
        .collect()
}

/// For rows `start..end`, `argmax_c (w_c . h + b_c)` (lowest index on a tie).
fn linear_decisions(
    input: &CollapseInput<'_>,
    w: &[f64],
    bias: &[f64],
    start: usize,
    end: usize,
) -> Vec<usize> {
    let (k, d, rows) = (bias.len(), input.features.d, end - start);
    let mut h = vec![0.0; rows * d];
    input.features.rows.copy_to_f64(start * d, end * d, &mut h);
    let mut z = vec![0.0; rows * k];
    gemm_nt(&mut z, &h, w, rows, k, d, 1.0, false, false);
    (0..rows)
        .map(|r| {
            let mut best = (f64::NEG_INFINITY, 0);
            for (c, b) in bias.iter().enumerate() {
                let v = z[r * k + c] + b;
                if v > best.0 {
                    best = (v, c);
                }
            }
            best.1
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::collapse::class_statistics;
    use crate::tensor::MatrixView;

    /// 2 classes in 2-d: training means (0, 0) and (4, 0).
    fn train() -> ClassStatistics {
        let h = [-1.0, 0.0, 1.0, 0.0, 3.0, 0.0, 5.0, 0.0];
        class_statistics(MatrixView::f64(&h, 4, 2), &[0, 0, 1, 1], 2).unwrap()
    }

    #[test]
    fn nearest_training_means_and_decisions_by_hand() {
        // Held-out samples (label): (1, 0) [0], (3.5, 0) [0], (1.5, 1) [1], (4, 2) [1].
        // Nearest training mean: 0, 1, 0, 1 -> correct for samples 0 and 3: 2 of 4.
        // Classifier w_0 = (-1, 0), w_1 = (1, 0), b = (2, -2): z_1 - z_0 = 2x - 4, so the
        // decision is 1 when x > 2: 0, 1, 0, 1, equal to the NCM everywhere: NC4 = 0.
        let h = [1.0, 0.0, 3.5, 0.0, 1.5, 1.0, 4.0, 2.0];
        let w = [-1.0, 0.0, 1.0, 0.0];
        let input = CollapseInput {
            features: MatrixView::f64(&h, 4, 2),
            labels: &[0, 0, 1, 1],
            num_classes: 2,
            weights: Some(MatrixView::f64(&w, 2, 2)),
            bias: Some(&[2.0, -2.0]),
            predictions: None,
        };
        let m = heldout(&train(), &input).unwrap();
        assert_eq!(m.ncc_accuracy, 0.5);
        assert_eq!(m.nc4, Some(0.0));
        // With b = (0, 0) the boundary moves to x = 0: decisions 1, 1, 1, 1; they differ
        // from the NCM (0, 1, 0, 1) for samples 0 and 2: NC4 = 1/2.
        let m = heldout(
            &train(),
            &CollapseInput {
                bias: Some(&[0.0, 0.0]),
                ..input
            },
        )
        .unwrap();
        assert_eq!(m.nc4, Some(0.5));
        // Given predictions win over the classifier; none of either: no NC4.
        let p = [1, 1, 1, 0];
        let m = heldout(
            &train(),
            &CollapseInput {
                predictions: Some(&p),
                ..input
            },
        )
        .unwrap();
        assert_eq!(m.nc4, Some(0.75));
        let bare = CollapseInput {
            weights: None,
            bias: None,
            ..input
        };
        assert_eq!(heldout(&train(), &bare).unwrap().nc4, None);
        // heldout_nc1 is the NC1 of the held-out set itself.
        let own = measure(&bare).unwrap().nc1;
        assert_eq!(heldout(&train(), &bare).unwrap().nc1, own);
    }

    #[test]
    fn a_tie_goes_to_the_lowest_class() {
        // (2, 0) is exactly between the means (0, 0) and (4, 0); label 1 -> NCM says 0.
        let h = [2.0, 0.0, 0.0, 1.0];
        let input = CollapseInput {
            features: MatrixView::f64(&h, 2, 2),
            labels: &[1, 0],
            num_classes: 2,
            weights: None,
            bias: None,
            predictions: None,
        };
        assert_eq!(heldout(&train(), &input).unwrap().ncc_accuracy, 0.5);
    }

    #[test]
    fn mismatched_shapes_are_errors() {
        let h = [0.0; 6];
        let input = CollapseInput {
            features: MatrixView::f64(&h, 2, 3),
            labels: &[0, 1],
            num_classes: 2,
            weights: None,
            bias: None,
            predictions: None,
        };
        let e = heldout(&train(), &input).unwrap_err().to_string();
        assert!(
            e.contains("dimension 3") && e.contains("dimension 2"),
            "{e}"
        );
    }
}
