//! Decisions among K classes for many samples at once: the nearest class mean
//! (`argmin_k ||h - mu_k||^2`) and the linear classifier's (`argmax_k w_k . h + b_k`), both
//! with the lowest index winning a tie, both exactly the decisions of an f64 evaluation.
//!
//! The scores of every sample against every class are one matrix product, `N x d` by
//! `d x K`: the cost of these decisions is `O(N K d)`, the largest of all metrics when K is
//! large. It runs in f32 (twice the speed of f64), in blocks of rows in parallel, and is only
//! a screen: with `u = 2^-24`, an f32 product of `h` and `a` is within
//! `(d + 3) u ||h|| ||a||` of the exact one (rounding of the inputs, then of a sum of `d`
//! products in any order), so every class whose screened score is within twice that bound of
//! the best one is re-scored in f64, and the best of those (lowest index on a tie) is the
//! decision. Usually one class passes the screen; exact ties always pass it together.

use rayon::prelude::*;

use crate::tensor::{MatrixView, Rows};

/// f32 unit roundoff.
const U32: f64 = 1.0 / (1u64 << 24) as f64;
/// Above this magnitude f32 products could overflow; such inputs are scored in f64 throughout.
const F32_SAFE: f64 = 1e15;

/// Rows per block: small enough that a block's `rows x K` f32 scores stay near 16 MB.
fn block_rows(k: usize) -> usize {
    (4 << 20) / k.max(1)
}

/// `argmin_k ||h_i - mu_k||^2` for every row `h_i` of `features`, against `means` (`K x d`,
/// row-major); the lowest index wins a tie.
pub fn nearest_means(features: MatrixView<'_>, means: &[f64], k: usize) -> Vec<u32> {
    let d = features.d;
    // argmin ||h - mu||^2 = argmax (h . 2 mu - ||mu||^2).
    let scaled: Vec<f64> = means.iter().map(|m| 2.0 * m).collect();
    let offset: Vec<f64> = means
        .chunks_exact(d)
        .map(|m| -m.iter().map(|x| x * x).sum::<f64>())
        .collect();
    decide(features, &scaled, &offset, k, |h, c| {
        -h.iter()
            .zip(&means[c * d..(c + 1) * d])
            .map(|(x, m)| (x - m) * (x - m))
            .sum::<f64>()
    })
}

/// `argmax_k (w_k . h_i + b_k)` for every row `h_i` of `features`, with `weights` `K x d`
/// (row-major) and `bias` `K`; the lowest index wins a tie.
pub fn linear_decisions(features: MatrixView<'_>, weights: &[f64], bias: &[f64]) -> Vec<u32> {
    let (d, k) = (features.d, bias.len());
    decide(features, weights, bias, k, |h, c| {
        h.iter()
            .zip(&weights[c * d..(c + 1) * d])
            .map(|(x, w)| x * w)
            .sum::<f64>()
            + bias[c]
    })
}

/// `argmax_c (a_c . h + offset_c)` by an f32 screen and an exact re-scoring with `exact(h, c)`
/// (the f64 score that decides, equal to `a_c . h + offset_c` in exact arithmetic).
fn decide(
    features: MatrixView<'_>,
    a: &[f64],
    offset: &[f64],
    k: usize,
    exact: impl Fn(&[f64], usize) -> f64 + Sync,
) -> Vec<u32> {
    let (n, d) = (features.n, features.d);
    let a_norms: Vec<f64> = a
        .chunks_exact(d)
        .map(|r| r.iter().map(|x| x * x).sum::<f64>().sqrt())
        .collect();
    let max_norm = a_norms.iter().cloned().fold(0.0, f64::max);
    let a_max = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
    let rows = block_rows(k).clamp(16, 1024);
    let starts: Vec<usize> = (0..n).step_by(rows).collect();
    let parts: Vec<Vec<u32>> = starts
        .par_iter()
        .map(|&start| {
            let end = (start + rows).min(n);
            let m = end - start;
            let mut h = vec![0.0f64; m * d];
            features.rows.copy_to_f64(start * d, end * d, &mut h);
            let h_max = h.iter().fold(0.0f64, |acc, x| acc.max(x.abs()));
            if h_max > F32_SAFE || a_max > F32_SAFE {
                return (0..m)
                    .map(|r| best_of(0..k, |c| exact(&h[r * d..(r + 1) * d], c)))
                    .collect();
            }
            let h32: Vec<f32> = match features.rows {
                Rows::F32(x) => x[start * d..end * d].to_vec(),
                _ => h.iter().map(|&x| x as f32).collect(),
            };
            let mut s = vec![0.0f32; m * k];
            crate::linalg::gemm_nt_f32(&mut s, &h32, &a32, m, k, d);
            (0..m)
                .map(|r| {
                    let row = &h[r * d..(r + 1) * d];
                    let h_norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
                    let slack = 2.0 * (d as f64 + 3.0) * U32 * 1.01 * h_norm * max_norm
                        + 1e-12 * offset.iter().fold(0.0f64, |m, o| m.max(o.abs()));
                    let score = |c: usize| s[r * k + c] as f64 + offset[c];
                    let top = (0..k).map(score).fold(f64::NEG_INFINITY, f64::max);
                    let candidates = (0..k).filter(|&c| score(c) >= top - slack);
                    best_of(candidates, |c| exact(row, c))
                })
                .collect()
        })
        .collect();
    parts.concat()
}

/// The class with the largest `score` among `classes`, the first (lowest index) on a tie.
fn best_of(classes: impl Iterator<Item = usize>, score: impl Fn(usize) -> f64) -> u32 {
    let mut best = (f64::NEG_INFINITY, 0usize);
    for c in classes {
        let v = score(c);
        if v > best.0 {
            best = (v, c);
        }
    }
    best.1 as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The decisions of a plain f64 loop over every class.
    fn reference_ncm(h: &[f64], means: &[f64], n: usize, d: usize, k: usize) -> Vec<u32> {
        (0..n)
            .map(|i| {
                best_of(0..k, |c| {
                    -(0..d)
                        .map(|j| (h[i * d + j] - means[c * d + j]).powi(2))
                        .sum::<f64>()
                })
            })
            .collect()
    }

    #[test]
    fn screened_decisions_equal_the_f64_ones() {
        // Many classes with close means and samples near them: the screen must keep the
        // runner-up whenever it matters.
        let (n, d, k) = (3000, 20, 300);
        let mut rng = Rng::new(4);
        let means: Vec<f64> = (0..k * d).map(|_| rng.normal()).collect();
        let h: Vec<f64> = (0..n * d)
            .map(|i| means[(i / d % k) * d + i % d] + 0.9 * rng.normal())
            .collect();
        let view = MatrixView::f64(&h, n, d);
        assert_eq!(
            nearest_means(view, &means, k),
            reference_ncm(&h, &means, n, d, k)
        );
        let h32: Vec<f32> = h.iter().map(|&x| x as f32).collect();
        let h32w: Vec<f64> = h32.iter().map(|&x| x as f64).collect();
        assert_eq!(
            nearest_means(MatrixView::f32(&h32, n, d), &means, k),
            reference_ncm(&h32w, &means, n, d, k)
        );
        let bias: Vec<f64> = (0..k).map(|_| rng.normal()).collect();
        let want: Vec<u32> = (0..n)
            .map(|i| {
                best_of(0..k, |c| {
                    (0..d).map(|j| h[i * d + j] * means[c * d + j]).sum::<f64>() + bias[c]
                })
            })
            .collect();
        assert_eq!(linear_decisions(view, &means, &bias), want);
    }

    #[test]
    fn exact_ties_go_to_the_lowest_index() {
        // Means at 0, 2 and 4 on a line; samples at 1 and 3 are exactly halfway.
        let means = [0.0, 0.0, 2.0, 0.0, 4.0, 0.0];
        let h = [1.0, 0.0, 3.0, 0.0, 2.0, 5.0, -7.0, 0.0];
        assert_eq!(
            nearest_means(MatrixView::f64(&h, 4, 2), &means, 3),
            vec![0, 1, 1, 0]
        );
        // Identical classifier rows: the first one wins.
        let w = [1.0, 1.0, 1.0, 1.0];
        assert_eq!(
            linear_decisions(MatrixView::f64(&h, 4, 2), &w, &[0.5, 0.5]),
            vec![0, 0, 0, 0]
        );
    }

    #[test]
    fn huge_values_are_scored_in_f64() {
        let means = [0.0, 1e20, 3e20, 0.0];
        let h = [1e20, 1e20, 2.9e20, 0.0];
        assert_eq!(
            nearest_means(MatrixView::f64(&h, 2, 2), &means, 2),
            vec![0, 1]
        );
    }
}
