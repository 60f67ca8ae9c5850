//! Hierarchy-aware geometry of the class means (docs/metrics.md, "Hierarchy-aware geometry").
//!
//! The functions take the tree as plain `K x K` matrices in class order (the LCA heights `d`
//! and their normalised form `dn`), so that they need nothing but the class means' Gram matrix.

use crate::linalg::{self, symmetric_eigenvalues};
use crate::metrics::collapse::{centred_means_vanish, ClassStatistics, Spectrum};
use crate::metrics::scatter::{Route, Scatter};
use crate::stats::{spearman, spearman_grouped};
use crate::{Error, Result};

/// `gamma` of the hierarchy target Gram matrix.
pub const TARGET_GAMMA: f64 = 2.0;

/// Number of candidate values of `s_min` (HAFrame's `linspace(-1/(K-1), -1, 100)`).
const S_MIN_CANDIDATES: usize = 100;

/// `mean_tree_correlation`: Spearman rank correlation, over class pairs `i < j`, between
/// `cos(mu_i - mu_G, mu_j - mu_G)` and the tree similarity `1 - d(i, j)`, computed as
/// `1 - dn(i, j)`: `dn = d / max d` orders the pairs as `d` does, so the ranks are the same.
///
/// `centred_gram` is `M M^T` and `normalized_distance` the matrix `dn`, both `K x K`
/// row-major. `NaN` when a cosine is NaN (a centred mean is zero). A tree's similarity takes
/// at most `K - 1` distinct values, since `d(i, j)` is the height of the pairs' lowest common
/// ancestor, a branching node; so the cosines are gathered by tree distance and ranked by
/// [`spearman_grouped`], which holds no list beyond the `K (K - 1) / 2` cosines. A matrix with
/// more distinct values is no tree's; its pairs are ranked as two lists by [`spearman`].
pub fn mean_tree_correlation(centred_gram: &[f64], normalized_distance: &[f64], k: usize) -> f64 {
    let pairs = || (0..k).flat_map(|i| (i + 1..k).map(move |j| (i, j)));
    let g = centred_gram;
    let cosine = |(i, j): (usize, usize)| g[i * k + j] / (g[i * k + i] * g[j * k + j]).sqrt();
    let similarity = |(i, j): (usize, usize)| 1.0 - normalized_distance[i * k + j];
    match group_by_value(pairs, similarity, cosine, k.saturating_sub(1)) {
        Some(groups) => spearman_grouped(groups),
        None => spearman(
            pairs().map(cosine).collect(),
            pairs().map(similarity).collect(),
        ),
    }
}

/// The items of `items()` gathered by `key`: one `(key value, values of the items with that
/// key)` per distinct key, each group allocated once at its final size (two passes over the
/// items). `None` when `key` takes more than `most` distinct values or a NaN.
fn group_by_value<I: Iterator<Item = (usize, usize)>>(
    items: impl Fn() -> I,
    key: impl Fn((usize, usize)) -> f64,
    value: impl Fn((usize, usize)) -> f64,
    most: usize,
) -> Option<Vec<(f64, Vec<f64>)>> {
    let keys = distinct_values(items().map(&key), most)?;
    let index = |item| {
        let v = key(item);
        keys.partition_point(|l| l.total_cmp(&v).is_lt())
    };
    let mut sizes = vec![0usize; keys.len()];
    items().for_each(|item| sizes[index(item)] += 1);
    let mut values: Vec<Vec<f64>> = sizes.iter().map(|&n| Vec::with_capacity(n)).collect();
    items().for_each(|item| values[index(item)].push(value(item)));
    Some(keys.into_iter().zip(values).collect())
}

/// The distinct values of `values` in increasing total order (`f64::total_cmp`), or `None`
/// when there are more than `most` of them or one is NaN.
fn distinct_values(values: impl Iterator<Item = f64>, most: usize) -> Option<Vec<f64>> {
    let mut distinct: Vec<f64> = Vec::new();
    for v in values {
        if v.is_nan() {
            return None;
        }
        if let Err(at) = distinct.binary_search_by(|l| l.total_cmp(&v)) {
            if distinct.len() == most {
                return None;
            }
            distinct.insert(at, v);
        }
    }
    Some(distinct)
}

/// The hierarchy target Gram matrix `T_ij = (1 - s_min) exp(-gamma dn(i,j)) + s_min`
/// (`T_ii = 1`), with `gamma = 2` and `s_min` the most negative value of
/// `linspace(-1/(K-1), -1, 100)` that keeps `T` positive semi-definite (HAFrame).
///
/// With `A = exp(-gamma dn)` and `J` the all-ones matrix, `T(s) = (1 - s) A + s J`. For
/// `s < 0`, `1 - s > 0`, so `T(s)` is PSD iff `A - c J` is, with `c = -s / (1 - s)`. The tree
/// distance is an ultrametric, whose kernel `A` is positive definite, and then
/// `A - c 1 1^T` is PSD iff `c q <= 1` with `q = 1^T A^{-1} 1` ([`psd_by_downdate`]): one
/// Cholesky factorisation decides every candidate. Should the factorisation fail through
/// rounding, each test falls back to the smallest eigenvalue of `T(s)` (`>= -1e-10 |largest|`).
///
/// The admissible values of `s` form an interval (the PSD cone is convex and `T` affine in
/// `s`), so a binary search over the candidates finds the last one. Were even `-1/(K-1)`
/// inadmissible, that first candidate would be used.
pub fn hierarchy_target(normalized_distance: &[f64], k: usize) -> Vec<f64> {
    let kernel = |x: f64| (-TARGET_GAMMA * x).exp();
    // One K x K buffer, to hold one: the kernel, overwritten by its Cholesky factor, then
    // T(s) made from `dn` again (the kernel made again first if the eigenvalues must decide).
    let mut buffer: Vec<f64> = normalized_distance.iter().map(|&x| kernel(x)).collect();
    let s = match linalg::inverse_entry_sum_in_place(&mut buffer, k) {
        Some(q) => most_negative_admissible(k, |s| psd_by_downdate(q, s)),
        None => {
            buffer
                .iter_mut()
                .zip(normalized_distance)
                .for_each(|(a, &x)| *a = kernel(x));
            most_negative_admissible(k, |s| has_no_negative_eigenvalue(&buffer, s, k))
        }
    };
    // T(s) (the same arithmetic as `target_at`).
    buffer
        .iter_mut()
        .zip(normalized_distance)
        .for_each(|(a, &x)| *a = (1.0 - s) * kernel(x) + s);
    buffer
}

/// `T(s) = (1 - s) A + s J`, entry by entry from the kernel `A`.
fn target_at(kernel: &[f64], s: f64) -> Vec<f64> {
    kernel.iter().map(|&a| (1.0 - s) * a + s).collect()
}

/// Whether `T(s)` is PSD, from `q = 1^T A^{-1} 1` of a positive definite kernel `A`:
/// `c q <= 1` with `c = -s / (1 - s)`, written `-s q <= 1 - s` (no division).
fn psd_by_downdate(q: f64, s: f64) -> bool {
    -s * q <= 1.0 - s
}

/// The eigenvalue test of `T(s)`: smallest eigenvalue `>= -1e-10 |largest|`.
fn has_no_negative_eigenvalue(kernel: &[f64], s: f64, k: usize) -> bool {
    let values = symmetric_eigenvalues(&target_at(kernel, s), k);
    values[k - 1] >= -1e-10 * values[0].abs().max(1.0)
}

/// The most negative candidate `s` (of `linspace(-1/(K-1), -1, 100)`) that passes
/// `admissible`, by binary search (the admissible candidates form a prefix); the first
/// candidate when none does.
fn most_negative_admissible(k: usize, admissible: impl Fn(f64) -> bool) -> f64 {
    let candidate = |i: usize| {
        let start = -1.0 / (k - 1) as f64;
        start + (-1.0 - start) * i as f64 / (S_MIN_CANDIDATES - 1) as f64
    };
    let (mut lo, mut hi) = (0usize, S_MIN_CANDIDATES - 1);
    if !admissible(candidate(lo)) {
        return candidate(lo);
    }
    if admissible(candidate(hi)) {
        return candidate(hi);
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if admissible(candidate(mid)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    candidate(lo)
}

/// `nc2_tree = || M M^T/||M M^T||_F - T/||T||_F ||_F` with `T` from [`hierarchy_target`].
pub fn nc2_tree(centred_gram: &[f64], normalized_distance: &[f64], k: usize) -> f64 {
    linalg::normalized_distance(centred_gram, &hierarchy_target(normalized_distance, k))
}

/// `nc1_coarse`: NC1 with every label replaced by its coarse class (`class_to_coarse[k]`, in
/// `0..num_coarse`), i.e. variability collapse at the coarse level, from the fine classes'
/// two passes alone (no pass over the features). The coarse means weighted by their classes'
/// sizes sum to zero, so `S_B^c` has rank at most `K_c - 1` and only its top `K_c - 1`
/// eigenvalues (above the cut-off) are inverted:
///
/// with `A` the `K_c x K` matrix of the fine classes' shares of their coarse class
/// (`A[C][k] = n_k / n_C` for `k` in `C`), the coarse centred means are `M_c = A M`, the
/// coarse between-class covariance `M_c^T M_c / K_c`, and the coarse within-class scatter
/// `S_W + (1/N) sum_k n_k delta_k delta_k^T` with `delta_k = mu_k - mu_{C(k)} = M_k - M_{C(k)}`.
/// In the Span route both are carried in the fine span: the scatter becomes
/// `A (C + D) A^T` with `D = (1/N) sum_k n_k (M delta_k)(M delta_k)^T` and
/// `M delta_k = G (e_k - a_{C(k)})`, `G = M M^T`, `a_C` row `C` of `A`.
pub fn nc1_coarse(
    stats: &ClassStatistics,
    scatter: &Scatter,
    class_to_coarse: &[usize],
    num_coarse: usize,
) -> Result<f64> {
    let a = coarse_shares(stats, class_to_coarse, num_coarse)?;
    let mc = coarse_means(&a, &stats.centred_means, num_coarse, stats.k, stats.d);
    if centred_means_vanish(&mc, stats) {
        // The coarse means coincide: nothing separates the coarse classes, and the
        // pseudo-inverse of `S_B^c = 0` would make NC1 0, "perfect collapse".
        return Ok(f64::NAN);
    }
    Ok(match scatter.route {
        Route::Full => nc1_coarse_full(stats, scatter, class_to_coarse, num_coarse, &mc),
        Route::Span => nc1_coarse_span(stats, scatter, class_to_coarse, num_coarse, &a),
    })
}

/// `A` (`K_c x K`, row-major): `A[C][k] = n_k / n_C` for each fine class `k` of coarse class
/// `C`, else 0. Errors when the map does not fit (`K` entries, each below `K_c >= 2`) or a
/// coarse class has no sample.
fn coarse_shares(
    stats: &ClassStatistics,
    class_to_coarse: &[usize],
    num_coarse: usize,
) -> Result<Vec<f64>> {
    let (k, kc) = (stats.k, num_coarse);
    if class_to_coarse.len() != k || class_to_coarse.iter().any(|&c| c >= kc) || kc < 2 {
        return Err(Error::invalid(format!(
            "nc1_coarse: a map of {} classes into {kc} coarse classes does not fit K = {k}",
            class_to_coarse.len()
        )));
    }
    let mut coarse_count = vec![0usize; kc];
    for (c, &cc) in class_to_coarse.iter().enumerate() {
        coarse_count[cc] += stats.counts[c];
    }
    if let Some(empty) = coarse_count.iter().position(|&n| n == 0) {
        return Err(Error::invalid(format!(
            "nc1_coarse: coarse class {empty} has no sample"
        )));
    }
    let mut a = vec![0.0; kc * k];
    for (c, &cc) in class_to_coarse.iter().enumerate() {
        a[cc * k + c] = stats.counts[c] as f64 / coarse_count[cc] as f64;
    }
    Ok(a)
}

/// The coarse centred means `M_c = A M` (`K_c x d`) from `A` (`K_c x K`) and the fine centred
/// means `M` (`K x d`).
fn coarse_means(a: &[f64], m: &[f64], kc: usize, k: usize, d: usize) -> Vec<f64> {
    let mut mc = vec![0.0; kc * d];
    crate::linalg::gemm_nt(&mut mc, a, &transpose(m, k, d), kc, d, k, 1.0, false, false);
    mc
}

/// `nc1_coarse` in the Full route (`d x d` scatter): `S_W^c = S_W + (1/N) sum_k n_k delta_k
/// delta_k^T` with `delta_k = M_k - M_{C(k)}`, and `S_B^c = M_c^T M_c / K_c`.
fn nc1_coarse_full(
    stats: &ClassStatistics,
    scatter: &Scatter,
    class_to_coarse: &[usize],
    kc: usize,
    mc: &[f64],
) -> f64 {
    let (k, d) = (stats.k, stats.d);
    let m = &stats.centred_means;
    let n = stats.n as f64;
    let mut delta = vec![0.0; k * d];
    for (c, &cc) in class_to_coarse.iter().enumerate() {
        let w = (stats.counts[c] as f64 / n).sqrt();
        for j in 0..d {
            delta[c * d + j] = w * (m[c * d + j] - mc[cc * d + j]);
        }
    }
    let mut within = scatter.within.clone();
    crate::linalg::gemm_tn(&mut within, &delta, &delta, d, d, k, 1.0, true, true);
    let mut between = vec![0.0; d * d];
    crate::linalg::gemm_tn(&mut between, mc, mc, d, d, kc, 1.0 / kc as f64, false, true);
    Spectrum::new(&between, d, Route::Full).nc1_of_rank_at_most(&within, kc, d, kc - 1)
}

/// `nc1_coarse` in the Span route (`K x K`, in the span of the fine means): within-class
/// scatter `A (C + D) A^T` with `D = sum_k P_k P_k^T`, `P_k = sqrt(n_k / N) G (e_k -
/// a_{C(k)})`, `G = M M^T`; between-class `A G A^T / K_c`.
fn nc1_coarse_span(
    stats: &ClassStatistics,
    scatter: &Scatter,
    class_to_coarse: &[usize],
    kc: usize,
    a: &[f64],
) -> f64 {
    let (k, d) = (stats.k, stats.d);
    let n = stats.n as f64;
    let g = stats.centred_gram(); // K x K
    let mut p = vec![0.0; k * k];
    for (c, &cc) in class_to_coarse.iter().enumerate() {
        let w = (stats.counts[c] as f64 / n).sqrt();
        for r in 0..k {
            let ag: f64 = (0..k).map(|j| g[r * k + j] * a[cc * k + j]).sum();
            p[c * k + r] = w * (g[r * k + c] - ag);
        }
    }
    let mut inner = scatter.within.clone(); // C + D
    crate::linalg::gemm_tn(&mut inner, &p, &p, k, k, k, 1.0, true, false);
    let within = sandwich(a, &inner, kc, k); // A (C + D) A^T
    let between: Vec<f64> = sandwich(a, &g, kc, k)
        .iter()
        .map(|x| x / kc as f64)
        .collect();
    Spectrum::new(&between, kc, Route::Span).nc1_of_rank_at_most(&within, kc, d, kc - 1)
}

/// `A X A^T` for `A` (`r x k`) and `X` (`k x k`).
fn sandwich(a: &[f64], x: &[f64], r: usize, k: usize) -> Vec<f64> {
    let mut ax = vec![0.0; r * k];
    crate::linalg::gemm_nt(&mut ax, a, &transpose(x, k, k), r, k, k, 1.0, false, false);
    let mut out = vec![0.0; r * r];
    crate::linalg::gemm_nt(&mut out, &ax, a, r, r, k, 1.0, false, false);
    out
}

/// The transpose of a row-major `rows x cols` matrix.
fn transpose(x: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut t = vec![0.0; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = x[i * cols + j];
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// For a flat tree (dn = 1 off the diagonal) T has equal off-diagonal entries
    /// c(s) = e^-2 + s (1 - e^-2), PSD iff c >= -1/(K-1). The first candidate s = -1/(K-1)
    /// gives c > -1/(K-1); the most negative admissible s is (-1/(K-1) - e^-2)/(1 - e^-2),
    /// and the chosen candidate is the last grid point at or above it.
    #[test]
    fn flat_tree_target_is_near_the_etf() {
        let k = 4;
        let dn: Vec<f64> = (0..k * k)
            .map(|i| if i / k == i % k { 0.0 } else { 1.0 })
            .collect();
        let t = hierarchy_target(&dn, k);
        let e2 = (-2.0f64).exp();
        let bound = (-1.0 / 3.0 - e2) / (1.0 - e2);
        let grid: Vec<f64> = (0..100)
            .map(|i| -1.0 / 3.0 + (-1.0 + 1.0 / 3.0) * i as f64 / 99.0)
            .collect();
        let s = *grid.iter().rfind(|&&s| s >= bound - 1e-12).unwrap();
        let c = e2 + s * (1.0 - e2);
        for i in 0..k {
            for j in 0..k {
                let want = if i == j { 1.0 } else { c };
                assert!(
                    (t[i * k + j] - want).abs() < 1e-12,
                    "T[{i},{j}] = {} vs {want}",
                    t[i * k + j]
                );
            }
        }
        // Off-diagonal within one grid step of -1/(K-1): nc2_tree of an exact ETF is small.
        let etf_gram: Vec<f64> = (0..k * k)
            .map(|i| if i / k == i % k { 1.0 } else { -1.0 / 3.0 })
            .collect();
        assert!(nc2_tree(&etf_gram, &dn, k) < 0.03);
    }

    /// The Cholesky criterion `-s q <= 1 - s` picks the same candidate as the eigenvalue test
    /// of every `T(s)`, on the built-in trees and on random trees of uneven depth (node `i`
    /// hangs under a random earlier node, so leaves sit at many depths).
    #[test]
    fn cholesky_criterion_matches_the_eigenvalue_test() {
        use crate::hierarchy::{self as builtins, parse_edges};
        let mut trees = vec![
            builtins::cifar10(),
            builtins::cifar100(),
            builtins::fashion_mnist(),
            builtins::flat(7).unwrap(),
        ];
        let mut rng = crate::rng::Rng::new(16);
        for n in [12u64, 40, 90] {
            let text: String = (1..n)
                .map(|i| format!("n{} n{i}\n", rng.below(i)))
                .collect();
            trees.push(parse_edges(&text, "random").unwrap());
        }
        for h in trees {
            let (k, dn) = (h.num_classes(), h.normalized_distance_matrix());
            let kernel: Vec<f64> = dn.iter().map(|&x| (-TARGET_GAMMA * x).exp()).collect();
            let q = linalg::inverse_entry_sum_in_place(&mut kernel.clone(), k)
                .expect("A is positive definite");
            // q = 1^T A^-1 1 = sum_i (u_i . 1)^2 / lambda_i from the eigendecomposition (its
            // vectors one after another).
            let (values, vectors) = linalg::symmetric_eigen(&kernel, k);
            let by_eigen: f64 = (0..k)
                .map(|i| vectors[i * k..(i + 1) * k].iter().sum::<f64>().powi(2) / values[i])
                .sum();
            assert!((q - by_eigen).abs() < 1e-9 * by_eigen, "{q} vs {by_eigen}");
            let by_cholesky = most_negative_admissible(k, |s| psd_by_downdate(q, s));
            let by_eigenvalues =
                most_negative_admissible(k, |s| has_no_negative_eigenvalue(&kernel, s, k));
            assert_eq!(by_cholesky, by_eigenvalues, "{} (K = {k})", h.source());
        }
    }

    /// Pairs (0,1) and (2,3) are siblings (d = 1), the rest meet at the root (d = 2).
    /// Means whose cosines are high for siblings and low otherwise correlate perfectly.
    #[test]
    fn tree_correlation_of_hierarchical_means_is_one() {
        let k = 4;
        let d = [
            0., 1., 2., 2., 1., 0., 2., 2., 2., 2., 0., 1., 2., 2., 1., 0.,
        ];
        // Gram of unit vectors with cos 0.5 for siblings and -0.5 / -0.6 across.
        let g = [
            1., 0.5, -0.5, -0.6, 0.5, 1., -0.6, -0.5, -0.5, -0.6, 1., 0.5, -0.6, -0.5, 0.5, 1.,
        ];
        // cos = (0.5, -0.5, -0.6, -0.6, -0.5, 0.5) vs sim = (0, -1, -1, -1, -1, 0): ranks
        // (5.5, 3.5, 1.5, 1.5, 3.5, 5.5) vs (5.5, 2.5, 2.5, 2.5, 2.5, 5.5); Pearson of the ranks:
        // centred x = (2,0,-2,-2,0,2), y = (2,-1,-1,-1,-1,2): sum xy = 4+0+2+2+0+4 = 12,
        // sum x^2 = 16, sum y^2 = 12 -> 12 / sqrt(192) = 0.8660254037844386.
        let dn: Vec<f64> = d.iter().map(|x| x / 2.0).collect();
        let rho = mean_tree_correlation(&g, &dn, k);
        assert!((rho - 0.8660254037844386).abs() < 1e-12, "{rho}");
    }

    /// `1^T A^-1 1` by hand: `[[2, 1], [1, 2]]^-1 = [[2, -1], [-1, 2]] / 3` sums to 2/3, and
    /// the factor `L = [[sqrt 2, 0], [1/sqrt 2, sqrt(3/2)]]` is left in the buffer. A matrix
    /// that is not positive definite has none.
    #[test]
    fn inverse_entry_sum_in_place_by_hand() {
        let mut a = [2.0, 1.0, 1.0, 2.0];
        let q = linalg::inverse_entry_sum_in_place(&mut a, 2).unwrap();
        assert!((q - 2.0 / 3.0).abs() < 1e-15, "{q}");
        let l = [2f64.sqrt(), 0.0, 0.5f64.sqrt(), 1.5f64.sqrt()];
        // Column-major L: (0,0), (1,0), (0,1), (1,1).
        let got = [a[0], a[2], a[1], a[3]];
        assert!(
            got.iter().zip(l).all(|(x, y)| (x - y).abs() < 1e-15),
            "{a:?}"
        );
        assert!(linalg::inverse_entry_sum_in_place(&mut [1.0, 2.0, 2.0, 1.0], 2).is_none());
    }

    /// A random tree of uneven depth with `k` leaves under `k / 10` internal nodes, its `dn`.
    fn random_tree_distances(k: usize, rng: &mut crate::rng::Rng) -> Vec<f64> {
        let internal = k / 10;
        let mut text: String = (1..internal)
            .map(|i| format!("n{} n{i}\n", rng.below(i as u64)))
            .collect();
        for leaf in 0..k {
            // The first `internal` leaves give every internal node a leaf.
            let parent = if leaf < internal {
                leaf as u64
            } else {
                rng.below(internal as u64)
            };
            text.push_str(&format!("n{parent} leaf{leaf}\n"));
        }
        crate::hierarchy::parse_edges(&text, "random")
            .unwrap()
            .normalized_distance_matrix()
    }

    /// The Gram matrix `M M^T` of `k` random means in `d` dimensions, centred; every fifth
    /// mean repeats the one before it, so that some cosines tie.
    fn random_centred_gram(k: usize, d: usize, rng: &mut crate::rng::Rng) -> Vec<f64> {
        let mut m: Vec<f64> = (0..k * d).map(|_| rng.normal()).collect();
        for c in (5..k).step_by(5) {
            let (before, from) = m.split_at_mut(c * d);
            from[..d].copy_from_slice(&before[(c - 1) * d..]);
        }
        for j in 0..d {
            let mean = (0..k).map(|c| m[c * d + j]).sum::<f64>() / k as f64;
            (0..k).for_each(|c| m[c * d + j] -= mean);
        }
        let mut g = vec![0.0; k * k];
        for a in 0..k {
            for b in 0..k {
                g[a * k + b] = (0..d).map(|j| m[a * d + j] * m[b * d + j]).sum();
            }
        }
        g
    }

    /// On random trees, ranking the cosines gathered by tree level gives the Spearman
    /// correlation of the two pair lists (the route every distance matrix took before); a
    /// distance matrix with more distinct values than a tree can have takes that route.
    #[test]
    fn tree_correlation_by_level_equals_the_correlation_of_the_lists() {
        let mut rng = crate::rng::Rng::new(3);
        let lists = |g: &[f64], dn: &[f64], k: usize| {
            let pairs = || (0..k).flat_map(|i| (i + 1..k).map(move |j| (i, j)));
            spearman(
                pairs()
                    .map(|(i, j)| g[i * k + j] / (g[i * k + i] * g[j * k + j]).sqrt())
                    .collect(),
                pairs().map(|(i, j)| 1.0 - dn[i * k + j]).collect(),
            )
        };
        for (k, d) in [(20, 3), (120, 4), (300, 8)] {
            let (dn, g) = (
                random_tree_distances(k, &mut rng),
                random_centred_gram(k, d, &mut rng),
            );
            let (by_level, by_lists) = (mean_tree_correlation(&g, &dn, k), lists(&g, &dn, k));
            assert!(
                by_level.is_finite() && (by_level - by_lists).abs() < 1e-14,
                "K = {k}: {by_level} vs {by_lists}"
            );
        }
        // Not a tree: every pair at its own distance.
        let k = 30;
        let g = random_centred_gram(k, 3, &mut rng);
        let mut dn = vec![0.0; k * k];
        for i in 0..k {
            for j in i + 1..k {
                let x = rng.uniform();
                (dn[i * k + j], dn[j * k + i]) = (x, x);
            }
        }
        let rho = mean_tree_correlation(&g, &dn, k);
        assert!(rho.is_finite() && rho == lists(&g, &dn, k), "{rho}");
    }

    /// A centred mean at zero has no cosine with the others: the correlation is undefined.
    #[test]
    fn tree_correlation_with_a_zero_centred_mean_is_nan() {
        let k = 4;
        let dn = [
            0., 0.5, 1., 1., 0.5, 0., 1., 1., 1., 1., 0., 0.5, 1., 1., 0.5, 0.,
        ];
        // Means (1, 0), (0, 1), (-1, -1), (0, 0): centred already (they sum to zero).
        let m = [1.0, 0.0, 0.0, 1.0, -1.0, -1.0, 0.0, 0.0];
        let g: Vec<f64> = (0..k * k)
            .map(|e| (0..2).map(|j| m[e / k * 2 + j] * m[e % k * 2 + j]).sum())
            .collect();
        assert!(mean_tree_correlation(&g, &dn, k).is_nan());
    }
}
