//! Held-out collapse: how the collapse of the training features carries over to samples the
//! network did not train on (Hui, Belkin and Nakkiran 2022; Wu and Papyan 2024).
//!
//! - `heldout_nc1`: NC1 of the held-out features, with their own class means (the training
//!   metric applied to the held-out set);
//! - `heldout_nc4`: the fraction of held-out samples whose network decision differs from the
//!   nearest *training* class mean;
//! - `heldout_ncc_accuracy`: the fraction of held-out samples whose nearest training class mean
//!   is their label (the accuracy of the nearest-class-mean classifier built on the training
//!   set).

use super::collapse::{measure, ClassStatistics, CollapseInput};
use super::decisions;
use super::scatter::Classifier;
use super::statistics::check_batch;
use crate::{Error, Result};

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
/// against the training set's class statistics `train`. The feature dimension and classes
/// must be the training set's. `heldout_nc1` takes the held-out set's own class means, so it
/// is undefined (NaN) when a class has no held-out sample; the other two need only the
/// training means.
pub fn heldout(train: &ClassStatistics, heldout: &CollapseInput<'_>) -> Result<HeldoutMetrics> {
    let (k, d) = (train.k, train.d);
    if heldout.num_classes != k || heldout.features.d != d {
        return Err(Error::invalid(format!(
            "held-out data: {} classes of dimension {}, the training data {k} of dimension {d}",
            heldout.num_classes, heldout.features.d
        )));
    }
    let named = |e: Error| Error::invalid(format!("held-out data: {e}"));
    let nc1 = if every_class_present(heldout, d).map_err(named)? {
        measure(&CollapseInput {
            weights: None,
            bias: None,
            predictions: None,
            ..*heldout
        })
        .map_err(named)?
        .nc1
    } else {
        // Not measured, so checked here as measure checks them.
        super::statistics::check_values(heldout.features, 0).map_err(named)?;
        f64::NAN
    };
    let ncm = decisions::nearest_means(heldout.features, &train.means, k);
    let correct = ncm
        .iter()
        .zip(heldout.labels)
        .filter(|(a, b)| a == b)
        .count();
    let network: Option<Vec<u32>> = match (heldout.predictions, heldout.weights) {
        (Some(p), _) => Some(p.to_vec()),
        (None, Some(w)) => {
            let c = Classifier::new(w, heldout.bias, k, d)?;
            Some(decisions::linear_decisions(
                heldout.features,
                &c.weights,
                &c.bias,
            ))
        }
        (None, None) => None,
    };
    let n = heldout.features.n as f64;
    Ok(HeldoutMetrics {
        nc1,
        nc4: network.map(|p| p.iter().zip(&ncm).filter(|(a, b)| a != b).count() as f64 / n),
        ncc_accuracy: correct as f64 / n,
    })
}

/// Whether every class of `input` has a sample, after the checks of a batch
/// ([`check_batch`]: a label per row, each in `0..num_classes`, the training dimension `d`).
fn every_class_present(input: &CollapseInput<'_>, d: usize) -> Result<bool> {
    let k = input.num_classes;
    check_batch(input.features, input.labels, k, d, 0)?;
    let mut present = vec![false; k];
    for &y in input.labels {
        present[y as usize] = true;
    }
    Ok(present.iter().all(|&p| p))
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
    fn a_class_without_held_out_samples_leaves_only_heldout_nc1_undefined() {
        // Held-out samples of class 0 only: (1, 0) and (3.5, 0); nearest training means 0
        // and 1, so the NCM accuracy is 1/2; the classifier of the test above decides 0, 1:
        // NC4 = 0.
        let h = [1.0, 0.0, 3.5, 0.0];
        let w = [-1.0, 0.0, 1.0, 0.0];
        let input = CollapseInput {
            features: MatrixView::f64(&h, 2, 2),
            labels: &[0, 0],
            num_classes: 2,
            weights: Some(MatrixView::f64(&w, 2, 2)),
            bias: Some(&[2.0, -2.0]),
            predictions: None,
        };
        let m = heldout(&train(), &input).unwrap();
        assert!(m.nc1.is_nan());
        assert_eq!((m.nc4, m.ncc_accuracy), (Some(0.0), 0.5));
        // Its features and labels are still checked.
        let nan = [1.0, f64::NAN, 3.5, 0.0];
        let e = heldout(
            &train(),
            &CollapseInput {
                features: MatrixView::f64(&nan, 2, 2),
                ..input
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "held-out data: features: non-finite value NaN at row 0, column 1"
        );
        let e = heldout(
            &train(),
            &CollapseInput {
                labels: &[0, 2],
                ..input
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "held-out data: label 2 at row 1 is out of range for 2 classes (0..1)"
        );
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
