//! Han, Papyan & Donoho (2022)'s decomposition of the last-layer MSE loss
//! (docs/metrics.md, "MSE decomposition"). The one group of metrics that needs `d x d`
//! matrices: `O(N d^2 + d^3)` time, computed only when asked.
//!
//! With `lam = WD / 2`, `U` the `K x d` class means, `S_T = S_W + S_B`:
//! - `Q = (S_T + lam/(1+lam) mu_G mu_G^T + lam I_d)^-1`
//! - `W_LS = (1/K) (U - 1/(1+lam) 1 mu_G^T) Q`, `b_LS = ((1/K) 1 - W_LS mu_G) / (1 + lam)`
//! - `lnc1 = 1/2 (tr(W_LS (S_W + lam I) W_LS^T) + lam ||b_LS||^2)`
//! - `lnc23 = 1/(2K) || W_LS U^T + b_LS 1^T - I_K ||_F^2`
//! - `lperp = 1/2 tr((V - V_LS) A (V - V_LS)^T)`, `V = [W | b]`,
//!   `A = [[S_T + mu_G mu_G^T + lam I, mu_G], [mu_G^T, 1 + lam]]`.
//!
//! **Normalisation** (established numerically by the tests): for balanced classes,
//! `lnc1 + lnc23 + lperp` equals exactly
//! `L(W, b) = (1/(2N)) sum_i ||W h_i + b - e_{y_i}||^2 + (lam/2) (||W||_F^2 + ||b||^2)`,
//! the per-sample squared error (summed over the K outputs, not averaged) halved, plus half of
//! `lam` times the squared norms. `A` is the Hessian of `L`, `V_LS` its minimiser, `lnc1 + lnc23`
//! its minimum. With imbalanced classes `S_B` (uniform over classes) no longer matches the
//! sample second moment, and the sum is only approximate.

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};

use crate::metrics::collapse::ClassStatistics;
use crate::tensor::MatrixView;
use crate::{Error, Result};

/// The three terms of the decomposition.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct MseDecomposition {
    pub lnc1: f64,
    pub lnc23: f64,
    pub lperp: f64,
}

/// The least-squares classifier `(W_LS, b_LS)` that the decomposition measures against.
#[derive(Clone, Debug)]
pub struct LeastSquaresClassifier {
    /// `K x d` row-major.
    pub weights: Vec<f64>,
    /// `K`.
    pub bias: Vec<f64>,
}

impl MseDecomposition {
    pub fn entries(&self) -> Vec<(&'static str, Option<f64>)> {
        vec![
            ("lnc1", Some(self.lnc1)),
            ("lnc23", Some(self.lnc23)),
            ("lperp", Some(self.lperp)),
        ]
    }
}

/// Within-class covariance `S_W` (`d x d`), from `metrics::scatter`.
fn within_class_covariance(
    features: MatrixView<'_>,
    labels: &[u32],
    stats: &ClassStatistics,
) -> Result<Mat<f64>> {
    let d = stats.d;
    let sw = crate::metrics::scatter::within_class_scatter(features, labels, stats)?;
    Ok(Mat::from_fn(d, d, |i, j| sw[i * d + j]))
}

/// The decomposition for features with class statistics `stats`, classifier `W` (`K x d`),
/// bias `b` (`K`) and weight decay `WD` (`lam = WD / 2`).
pub fn mse_decomposition(
    features: MatrixView<'_>,
    labels: &[u32],
    stats: &ClassStatistics,
    weights: &[f64],
    bias: &[f64],
    weight_decay: f64,
) -> Result<MseDecomposition> {
    Ok(decompose(features, labels, stats, weights, bias, weight_decay)?.0)
}

/// The decomposition and the least-squares classifier it compares `W, b` with.
pub fn decompose(
    features: MatrixView<'_>,
    labels: &[u32],
    stats: &ClassStatistics,
    weights: &[f64],
    bias: &[f64],
    weight_decay: f64,
) -> Result<(MseDecomposition, LeastSquaresClassifier)> {
    let (d, k) = (stats.d, stats.k);
    if weights.len() != k * d || bias.len() != k {
        return Err(Error::invalid(format!(
            "MSE decomposition: weights must be {k} x {d} and bias {k}"
        )));
    }
    if weight_decay.is_nan() || weight_decay < 0.0 {
        return Err(Error::invalid(format!(
            "MSE decomposition: weight decay must be >= 0, got {weight_decay}"
        )));
    }
    let lam = weight_decay / 2.0;
    let kf = k as f64;
    let mu = Mat::from_fn(d, 1, |i, _| stats.global_mean[i]);
    let u = Mat::from_fn(k, d, |c, j| stats.means[c * d + j]);
    let m = Mat::from_fn(k, d, |c, j| stats.centred_means[c * d + j]);
    let sw = within_class_covariance(features, labels, stats)?;
    let sb = m.transpose() * &m * (1.0 / kf);
    let st = &sw + &sb;
    let eye_d = Mat::<f64>::identity(d, d);
    let ones = Mat::from_fn(k, 1, |_, _| 1.0);

    // W_LS^T = Q R^T with R = (U - 1/(1+lam) 1 mu_G^T) / K, solved by Cholesky.
    let system = &st + &mu * mu.transpose() * (lam / (1.0 + lam)) + &eye_d * lam;
    let llt = system
        .llt(Side::Lower)
        .map_err(|_| Error::invalid("MSE decomposition: S_T + lam I is not positive definite (give a weight decay > 0 or more samples than dimensions)"))?;
    let r = (&u - &ones * mu.transpose() * (1.0 / (1.0 + lam))) * (1.0 / kf);
    let w_ls = llt.solve(r.transpose()).transpose().to_owned();
    if w_ls.col_iter().any(|c| c.iter().any(|x| !x.is_finite())) {
        return Err(Error::invalid(
            "MSE decomposition: the least-squares classifier is not finite",
        ));
    }
    let b_ls = (&ones * (1.0 / kf) - &w_ls * &mu) * (1.0 / (1.0 + lam));

    let within = &sw + &eye_d * lam;
    let lnc1 = 0.5
        * ((&w_ls * &within * w_ls.transpose())
            .diagonal()
            .column_vector()
            .sum()
            + lam * b_ls.squared_norm_l2());
    let fit = &w_ls * u.transpose() + &b_ls * ones.transpose() - Mat::<f64>::identity(k, k);
    let lnc23 = fit.squared_norm_l2() / (2.0 * kf);

    // lperp = 1/2 tr(D A D^T), D = V - V_LS = [W - W_LS | b - b_LS].
    let w = Mat::from_fn(k, d, |c, j| weights[c * d + j]);
    let b = Mat::from_fn(k, 1, |c, _| bias[c]);
    let dw = &w - &w_ls;
    let db = &b - &b_ls;
    let second = &st + &mu * mu.transpose() + &eye_d * lam;
    let quad_w = (&dw * &second * dw.transpose())
        .diagonal()
        .column_vector()
        .sum();
    let cross = 2.0 * (db.transpose() * (&dw * &mu))[(0, 0)];
    let quad_b = (1.0 + lam) * db.squared_norm_l2();
    let lperp = 0.5 * (quad_w + cross + quad_b);
    let classifier = LeastSquaresClassifier {
        weights: (0..k * d).map(|i| w_ls[(i / d, i % d)]).collect(),
        bias: (0..k).map(|c| b_ls[(c, 0)]).collect(),
    };
    Ok((MseDecomposition { lnc1, lnc23, lperp }, classifier))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::collapse::class_statistics;
    use crate::rng::Rng;

    /// `L(W, b)` evaluated directly from its definition (see the module docs).
    fn direct_loss(
        h: &[f64],
        y: &[u32],
        d: usize,
        k: usize,
        w: &[f64],
        b: &[f64],
        lam: f64,
    ) -> f64 {
        let n = y.len();
        let mut total = 0.0;
        for i in 0..n {
            for c in 0..k {
                let z: f64 = (0..d).map(|j| w[c * d + j] * h[i * d + j]).sum::<f64>() + b[c];
                let t = if y[i] as usize == c { 1.0 } else { 0.0 };
                total += (z - t).powi(2);
            }
        }
        total / (2.0 * n as f64)
            + lam / 2.0
                * (w.iter().map(|x| x * x).sum::<f64>() + b.iter().map(|x| x * x).sum::<f64>())
    }

    fn problem(
        k: usize,
        d: usize,
        per: usize,
        seed: u64,
    ) -> (Vec<f64>, Vec<u32>, Vec<f64>, Vec<f64>) {
        let mut rng = Rng::new(seed);
        let centres: Vec<f64> = (0..k * d).map(|_| rng.normal()).collect();
        let mut h = Vec::new();
        let mut y = Vec::new();
        for c in 0..k {
            for _ in 0..per {
                h.extend((0..d).map(|j| centres[c * d + j] + 0.7 * rng.normal()));
                y.push(c as u32);
            }
        }
        let w = (0..k * d).map(|_| 0.5 * rng.normal()).collect();
        let b = (0..k).map(|_| 0.2 * rng.normal()).collect();
        (h, y, w, b)
    }

    #[test]
    fn terms_sum_to_the_loss_for_balanced_classes() {
        for (k, d, per, wd) in [(3, 4, 20, 5e-4), (5, 8, 12, 0.1), (4, 3, 30, 0.0)] {
            let (h, y, w, b) = problem(k, d, per, 17 + k as u64);
            let view = MatrixView::f64(&h, y.len(), d);
            let stats = class_statistics(view, &y, k).unwrap();
            let dec = mse_decomposition(view, &y, &stats, &w, &b, wd).unwrap();
            let direct = direct_loss(&h, &y, d, k, &w, &b, wd / 2.0);
            let sum = dec.lnc1 + dec.lnc23 + dec.lperp;
            assert!(
                (sum - direct).abs() < 1e-10 * direct,
                "K={k}: {sum} vs {direct}"
            );
            assert!(dec.lnc1 >= 0.0 && dec.lnc23 >= 0.0 && dec.lperp >= 0.0);
        }
    }

    #[test]
    fn the_least_squares_classifier_minimises_the_loss() {
        // At V = V_LS the excess lperp vanishes, the loss equals lnc1 + lnc23, and the loss's
        // gradient is zero: every central difference of the direct loss is ~0.
        let (k, d, per, wd) = (3, 5, 15, 0.02);
        let (h, y, w, b) = problem(k, d, per, 3);
        let view = MatrixView::f64(&h, y.len(), d);
        let stats = class_statistics(view, &y, k).unwrap();
        let (dec, ls) = decompose(view, &y, &stats, &w, &b, wd).unwrap();
        let (at_ls, _) = decompose(view, &y, &stats, &ls.weights, &ls.bias, wd).unwrap();
        assert!(
            at_ls.lperp.abs() < 1e-12,
            "lperp at the optimum = {}",
            at_ls.lperp
        );
        assert!((at_ls.lnc1 - dec.lnc1).abs() < 1e-15 && (at_ls.lnc23 - dec.lnc23).abs() < 1e-15);
        let lam = wd / 2.0;
        let floor = direct_loss(&h, &y, d, k, &ls.weights, &ls.bias, lam);
        assert!((floor - (dec.lnc1 + dec.lnc23)).abs() < 1e-12);
        let eps = 1e-5;
        for i in 0..k * d {
            let (mut plus, mut minus) = (ls.weights.clone(), ls.weights.clone());
            plus[i] += eps;
            minus[i] -= eps;
            let g = (direct_loss(&h, &y, d, k, &plus, &ls.bias, lam)
                - direct_loss(&h, &y, d, k, &minus, &ls.bias, lam))
                / (2.0 * eps);
            assert!(g.abs() < 1e-8, "dL/dW[{i}] = {g}");
        }
    }
}
