//! NC5, orthogonality of out-of-distribution features (Ammar et al. 2024, "NECO: NEural
//! Collapse Based Out-of-distribution detection"): the mean of the out-of-distribution
//! features, `mu_G^ood`, is orthogonal to the in-distribution class means of a collapsed
//! network, `NC5 = (1/K) sum_k |cos(mu_k, mu_G^ood)|` (uncentred class means, as
//! rhubarbwu/neural-collapse computes it); 0 at collapse.

use super::statistics::ClassStatistics;
use crate::tensor::MatrixView;
use crate::{Error, Result};

/// NC5 of the out-of-distribution features `ood` (`M x d`) against the class statistics of
/// the in-distribution (training) features.
pub fn nc5(stats: &ClassStatistics, ood: MatrixView<'_>) -> Result<f64> {
    let d = stats.d;
    if ood.d != d {
        return Err(Error::invalid(format!(
            "out-of-distribution features have {} columns, the training features {d}",
            ood.d
        )));
    }
    if ood.n == 0 {
        return Err(Error::invalid("out-of-distribution features have no rows"));
    }
    let mut mean = vec![0.0; d];
    let mut row = vec![0.0; d];
    for i in 0..ood.n {
        ood.row_into(i, &mut row);
        if let Some(j) = row.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "out-of-distribution features: non-finite value {} at row {i}, column {j}",
                row[j]
            )));
        }
        mean.iter_mut().zip(&row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= ood.n as f64);
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nm = norm(&mean);
    let total: f64 = (0..stats.k)
        .map(|c| {
            let mu = stats.mean(c);
            let dot: f64 = mu.iter().zip(&mean).map(|(a, b)| a * b).sum();
            (dot / (norm(mu) * nm)).abs()
        })
        .sum();
    Ok(total / stats.k as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::statistics::class_statistics;

    #[test]
    fn nc5_by_hand() {
        // Class means (1, 0) and (0, 2); OOD mean (1, 1)/... : cos with (1, 0) = 1/sqrt(2),
        // with (0, 2) = 1/sqrt(2): NC5 = 1/sqrt(2). An OOD mean along (0, 0, ...) orthogonal
        // to both is impossible in 2-d with two independent means, so a third axis: means
        // (1, 0, 0), (0, 2, 0), OOD (0, 0, 5): NC5 = 0.
        let h = [1.0, 0.0, 0.0, 2.0];
        let stats = class_statistics(MatrixView::f64(&h, 2, 2), &[0, 1], 2).unwrap();
        let ood = [2.0, 0.0, 0.0, 2.0];
        let v = nc5(&stats, MatrixView::f64(&ood, 2, 2)).unwrap();
        assert!((v - 0.5f64.sqrt()).abs() < 1e-15, "{v}");
        let h3 = [1.0, 0.0, 0.0, 0.0, 2.0, 0.0];
        let s3 = class_statistics(MatrixView::f64(&h3, 2, 3), &[0, 1], 2).unwrap();
        let o3 = [0.0, 0.0, 5.0];
        assert_eq!(nc5(&s3, MatrixView::f64(&o3, 1, 3)).unwrap(), 0.0);
        let e = nc5(&s3, MatrixView::f64(&ood, 2, 2))
            .unwrap_err()
            .to_string();
        assert!(e.contains("have 2 columns, the training features 3"), "{e}");
    }
}
