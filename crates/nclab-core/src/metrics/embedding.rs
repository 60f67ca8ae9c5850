//! The class means and the classifier drawn in a plane: the cosines of the centred means and
//! their projection, with the classifier's rows, on the two leading principal axes of the means
//! (the pictures of Papyan et al. 2020, figure 2 and 3).
//!
//! PCA without a `d x d` matrix: with `M M^T = sum_j l_j u_j u_j^T` (eigenvalues decreasing),
//! the principal axes are `v_j = M^T u_j / sqrt(l_j)`, so centred mean `i` sits at
//! `sqrt(l_j) u_j[i]` and classifier row `r` at `(W M^T u_j)[r] / sqrt(l_j)`.

use super::statistics::ClassStatistics;
use crate::linalg::{gemm_nt, symmetric_eigen};

/// The centred class means and the classifier rows on the two leading principal axes of the
/// means.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PrincipalPlane {
    /// Centred class means on the two axes, divided by `||M||_F`.
    pub means: Vec<(f64, f64)>,
    /// Classifier rows on the same axes, divided by `||W||_F` (when a classifier was given).
    pub weights: Option<Vec<(f64, f64)>>,
    /// Share `l_j / sum_i l_i` of `tr(M M^T)` on each of the two axes.
    pub explained: (f64, f64),
}

/// The two leading principal axes of the centred class means, with the means and (optionally)
/// the classifier rows `W` (`K x d`, row-major) on them.
pub fn principal_plane(stats: &ClassStatistics, weights: Option<&[f64]>) -> PrincipalPlane {
    let k = stats.k;
    let classifier = weights.map(|w| {
        let mut wm = vec![0.0; k * k];
        gemm_nt(
            &mut wm,
            w,
            &stats.centred_means,
            k,
            k,
            stats.d,
            1.0,
            false,
            false,
        );
        (wm, w.iter().map(|x| x * x).sum::<f64>())
    });
    let classifier = classifier.as_ref().map(|(wm, w2)| (wm.as_slice(), *w2));
    principal_plane_of_grams(&stats.centred_gram(), k, classifier)
}

/// [`principal_plane`] from `K x K` matrices alone: the Gram matrix `M M^T` of the centred
/// means and, for the classifier, `W M^T` (row `r`, column `i`: `w_r . (mu_i - mu_G)`) with
/// `||W||_F^2`. They are all the plane needs, so that a run can keep its geometry without its
/// features. Needs `k >= 1`, `K x K` row-major matrices, a symmetric `gram` with a positive
/// trace and `||W||_F^2 > 0` (the callers check the files they read; a wrong size panics).
pub fn principal_plane_of_grams(
    gram: &[f64],
    k: usize,
    classifier: Option<(&[f64], f64)>,
) -> PrincipalPlane {
    assert!(
        k >= 1 && gram.len() == k * k,
        "the Gram matrix must be K x K with K >= 1"
    );
    if let Some((wm, _)) = classifier {
        assert_eq!(wm.len(), k * k, "W M^T must be K x K");
    }
    let mut eigen = symmetric_eigen(gram, k);
    let total: f64 = eigen.0.iter().map(|v| v.max(0.0)).sum();
    // An axis whose eigenvalue is rounding noise (at most 1e-12 of the trace: two classes have
    // one axis, K classes at most K - 1) is no axis: its coordinates are 0, not noise divided
    // by noise.
    eigen.0.iter_mut().for_each(|l| {
        if *l <= 1e-12 * total {
            *l = 0.0;
        }
    });
    let explained = (
        eigen.0[0] / total,
        eigen.0.get(1).map_or(0.0, |v| v / total),
    );
    PrincipalPlane {
        means: means_on_axes(&eigen, k, total.sqrt()),
        weights: classifier.map(|(wm, w2)| weights_on_axes(wm, w2.sqrt(), &eigen, k)),
        explained,
    }
}

/// The cosines `G_ij / sqrt(G_ii G_jj)` of a `K x K` Gram matrix (NaN where a norm is 0).
pub fn cosine_matrix(gram: &[f64], k: usize) -> Vec<f64> {
    let norms: Vec<f64> = (0..k).map(|i| gram[i * k + i].sqrt()).collect();
    let mut cosines = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            let den = norms[i] * norms[j];
            cosines[i * k + j] = if den > 0.0 {
                gram[i * k + j] / den
            } else {
                f64::NAN
            };
        }
    }
    cosines
}

/// The cosines of the `K`-class simplex ETF: 1 on the diagonal, `-1/(K-1)` off it.
pub fn simplex_etf_cosines(k: usize) -> Vec<f64> {
    let mut etf = vec![-1.0 / (k as f64 - 1.0); k * k];
    for i in 0..k {
        etf[i * k + i] = 1.0;
    }
    etf
}

/// Sets coordinate `axis` (0: x, 1: y) of a point in the plane.
fn set_axis(p: &mut (f64, f64), axis: usize, c: f64) {
    if axis == 0 {
        p.0 = c;
    } else {
        p.1 = c;
    }
}

/// The centred class means on the two leading principal axes, divided by `||M||_F`:
/// `sqrt(l_j) u_j[i] / frob_m` from the eigenpairs `(values, vectors)` of `M M^T`.
fn means_on_axes(
    (values, vectors): &(Vec<f64>, Vec<f64>),
    k: usize,
    frob_m: f64,
) -> Vec<(f64, f64)> {
    let mut means_2d = vec![(0.0, 0.0); k];
    for j in 0..2.min(k) {
        let s = values[j].max(0.0).sqrt();
        for (i, p) in means_2d.iter_mut().enumerate() {
            set_axis(p, j, s * vectors[j * k + i] / frob_m);
        }
    }
    means_2d
}

/// The classifier rows `W` (K x d) on the same axes, divided by `||W||_F`:
/// `(W M^T u_j)[r] / sqrt(l_j) / ||W||_F` (0 on an axis whose eigenvalue is 0), from `W M^T`
/// (`wm`, K x K) and `||W||_F` (`frob_w`).
fn weights_on_axes(
    wm: &[f64],
    frob_w: f64,
    (values, vectors): &(Vec<f64>, Vec<f64>),
    k: usize,
) -> Vec<(f64, f64)> {
    let mut pts = vec![(0.0, 0.0); k];
    for j in 0..2.min(k) {
        let s = values[j].max(0.0).sqrt();
        if s == 0.0 {
            continue;
        }
        for (r, p) in pts.iter_mut().enumerate() {
            let c: f64 = (0..k)
                .map(|i| wm[r * k + i] * vectors[j * k + i])
                .sum::<f64>()
                / s
                / frob_w;
            set_axis(p, j, c);
        }
    }
    pts
}
