//! The neural-collapse metrics (docs/metrics.md): NC1-NC4, their companions, and the
//! wider literature's GNC2 and UNC3, one small function each, named as the docs name them.
//!
//! Every metric is computed in f64 from two passes over the features:
//! - pass 1 ([`super::statistics`]): class counts and means, the centred means `M`;
//! - pass 2 ([`super::scatter`]): the within-class scatter and the per-sample decisions,
//!   by the cheaper of two exact routes (the span of the K centred means when K <= d, the
//!   `d x d` feature space when K > d);
//!
//! then from `M`, `W` and the scatter alone: NC1 through the pseudo-inverse of
//! `S_B = M^T M / K`, and the metrics over pairs of classes through the Gram matrices of
//! [`super::pairs`] (O(K^2 d) time, bounded memory).

use super::pairs::squared_norms;
use super::scatter::{Classifier, Route, Scatter, ScatterAccumulator};
use super::statistics::MeanAccumulator;
use crate::linalg::{frobenius, gemm_nt, symmetric_eigen};
use crate::tensor::MatrixView;
use crate::{Error, Result};

pub use super::statistics::{class_statistics, ClassStatistics};

/// The inputs of the metrics: penultimate features and labels, and optionally the last layer
/// (`W`, `b`) and the network's predictions.
#[derive(Clone, Copy, Debug)]
pub struct CollapseInput<'a> {
    /// Features `H`, `N x d`, f32 or f64.
    pub features: MatrixView<'a>,
    /// Labels `y`, `N` values in `0..K`.
    pub labels: &'a [u32],
    /// Number of classes `K` (every class must have at least one sample).
    pub num_classes: usize,
    /// Classifier weights `W`, `K x d`.
    pub weights: Option<MatrixView<'a>>,
    /// Classifier bias `b` (`K`); zero when absent.
    pub bias: Option<&'a [f64]>,
    /// The network's predictions; when absent and `W` is given, `argmax_k (w_k . h_i + b_k)`.
    pub predictions: Option<&'a [u32]>,
}

/// A value of a metric table: a metric that is always defined (`f64`) or one that needs an
/// input that may be missing (`Option<f64>`).
pub trait MetricValue {
    fn value(&self) -> Option<f64>;
}

impl MetricValue for f64 {
    fn value(&self) -> Option<f64> {
        Some(*self)
    }
}

impl MetricValue for Option<f64> {
    fn value(&self) -> Option<f64> {
        *self
    }
}

/// Defines a struct of metric values, and from its one list of fields the metric names
/// (`NAMES`, the field names, in order) and `entries()` (`(name, value)` pairs, `None` where
/// not defined): the names exist in this one place.
#[macro_export]
macro_rules! metric_table {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$fmeta:meta])* $field:ident: $ty:ty),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty),+
        }

        impl $name {
            /// The metric names, in order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),+];

            /// `(name, value)` pairs in the order of `NAMES`; `None` where not defined.
            pub fn entries(&self) -> Vec<(&'static str, Option<f64>)> {
                use $crate::metrics::collapse::MetricValue;
                vec![$((stringify!($field), self.$field.value())),+]
            }
        }
    };
}

metric_table! {
    /// NC1-NC4, their companions, GNC2 and UNC3 (docs/metrics.md). A metric that needs an
    /// input that was not given (the classifier for NC3, say) is `None`.
    pub struct CollapseMetrics {
        /// `(1/K) tr(S_W S_B^+)`, the pseudo-inverse cutting eigenvalues at or below
        /// `lambda_max max(d, K) eps` (the Array API standard's and `torch.linalg.pinv`'s default).
        nc1: f64,
        /// `|| M M^T / ||M M^T||_F - E ||_F`.
        nc2: f64,
        /// `|| W M^T / ||W M^T||_F - E ||_F`.
        nc3: Option<f64>,
        /// Fraction of samples whose network decision differs from the nearest class mean.
        nc4: Option<f64>,
        /// `tr(S_W S_B^+) / K` with `S_B^+` over the top `K-1` eigenpairs (Papyan et al.).
        nc1_rank: f64,
        /// `tr(S_W) / tr(S_B)`.
        nc1_quotient: f64,
        /// Mean over class pairs `i<j` of `(s_i + s_j) / (2 ||mu_i - mu_j||^2)`.
        cdnv: f64,
        /// std/mean (K-1 divisor) of `||mu_k - mu_G||`.
        equinorm_means: f64,
        /// std/mean (K-1 divisor) of `||w_k||`.
        equinorm_weights: Option<f64>,
        /// Mean over pairs `i != j` of `|cos(M_i, M_j) + 1/(K-1)|`.
        equiangularity_means: f64,
        /// Mean over pairs `i != j` of `|cos(w_i, w_j) + 1/(K-1)|`.
        equiangularity_weights: Option<f64>,
        /// `|| W W^T / ||W W^T||_F - E ||_F`.
        nc2_weights: Option<f64>,
        /// `|| W/||W||_F - M/||M||_F ||_F^2`.
        self_duality: Option<f64>,
        /// Fraction of samples whose nearest class mean is their label.
        ncc_accuracy: f64,
        /// `|| W mu_G + b ||_2`.
        bias_collapse: Option<f64>,
        /// GNC2: mean over class pairs of `log(1 / ||u_i - u_j||)`, `u_k = M_k / ||M_k||`.
        gnc2_log_mean: f64,
        /// GNC2: variance over class pairs of the log kernel.
        gnc2_log_var: f64,
        /// GNC2: mean over class pairs of `sign(d-2) ||u_i - u_j||^-(d-2)`.
        gnc2_riesz_mean: f64,
        /// GNC2: variance over class pairs of the Riesz kernel.
        gnc2_riesz_var: f64,
        /// UNC3: variance over classes (K-1 divisor) of `cos(w_k, M_k)`.
        unc3: Option<f64>,
    }
}

/// Every metric of [`CollapseMetrics`] in two passes over `input`, by the cheaper route.
pub fn measure(input: &CollapseInput<'_>) -> Result<CollapseMetrics> {
    measure_by(input, None)
}

/// [`measure`] by a given route (`None`: the cheaper one); both give the same numbers up to
/// rounding.
pub fn measure_by(input: &CollapseInput<'_>, route: Option<Route>) -> Result<CollapseMetrics> {
    let mut pass1 = MeanAccumulator::new(input.num_classes, input.features.d)?;
    pass1.add(input.features, input.labels)?;
    let stats = pass1.finish()?;
    measure_with_statistics_by(input, &stats, route)
}

/// [`measure`] when pass 1 has already been made (e.g. shared with other metrics).
pub fn measure_with_statistics(
    input: &CollapseInput<'_>,
    stats: &ClassStatistics,
) -> Result<CollapseMetrics> {
    measure_with_statistics_by(input, stats, None)
}

fn measure_with_statistics_by(
    input: &CollapseInput<'_>,
    stats: &ClassStatistics,
    route: Option<Route>,
) -> Result<CollapseMetrics> {
    let classifier = input
        .weights
        .map(|w| Classifier::new(w, input.bias, stats.k, stats.d))
        .transpose()?;
    if input.bias.is_some() && classifier.is_none() {
        return Err(Error::invalid("bias given without weights"));
    }
    let mut pass2 = ScatterAccumulator::new(stats, classifier.as_ref(), route);
    pass2.add(input.features, input.labels, input.predictions)?;
    Ok(collapse_metrics(
        stats,
        &pass2.finish(),
        classifier.as_ref(),
    ))
}

/// The metrics from the two passes' results and the classifier.
pub fn collapse_metrics(
    stats: &ClassStatistics,
    scatter: &Scatter,
    classifier: Option<&Classifier>,
) -> CollapseMetrics {
    let (k, d) = (stats.k, stats.d);
    let m = &stats.centred_means;
    let spectrum = between_class_spectrum(stats, scatter.route);
    let means = &scatter.geometry.means;
    let weights = scatter.geometry.weights.as_ref();
    let w = classifier.map(|c| c.weights.as_slice());
    // Variability against separation, and the means' geometry, have no meaning where nothing
    // separates the classes.
    let coincide = means_coincide(stats);
    let separated = |v: f64| if coincide { f64::NAN } else { v };
    CollapseMetrics {
        nc1: separated(nc1(&spectrum, scatter, k, d)),
        nc2: separated(means.nc2),
        nc3: weights.map(|g| separated(g.nc3)),
        nc4: nc4(scatter),
        nc1_rank: separated(nc1_rank(&spectrum, scatter, k, d)),
        nc1_quotient: separated(nc1_quotient(stats, scatter)),
        cdnv: separated(cdnv(stats, scatter)),
        equinorm_means: separated(equinorm(m, d)),
        equinorm_weights: w.map(|w| equinorm(w, d)),
        equiangularity_means: separated(means.equiangularity),
        equiangularity_weights: weights.map(|g| g.equiangularity),
        nc2_weights: weights.map(|g| g.nc2_weights),
        self_duality: w.map(|w| separated(self_duality(w, m))),
        ncc_accuracy: scatter.ncc_correct as f64 / scatter.n as f64,
        bias_collapse: classifier.map(|c| bias_collapse(c, &stats.global_mean)),
        gnc2_log_mean: separated(means.log_kernel.mean()),
        gnc2_log_var: separated(means.log_kernel.variance()),
        gnc2_riesz_mean: separated(means.riesz_kernel.mean()),
        gnc2_riesz_var: separated(means.riesz_kernel.variance()),
        unc3: w.map(|w| separated(uniform_duality(w, m, d))),
    }
}

/// The eigenpairs of a between-class covariance, largest first, in a route's space:
/// `Span`: of `G = M M^T / K` (`K x K`; its eigenvectors `u_j` map to those of `S_B` as
/// `v_j = M^T u_j / sqrt(K lambda_j)`); `Full`: of `S_B = M^T M / K` itself (`d x d`). Both
/// have the same non-zero eigenvalues.
pub(crate) struct Spectrum {
    route: Route,
    values: Vec<f64>,
    /// Row-major, one eigenvector per row.
    vectors: Vec<f64>,
    /// The size of the matrix (K or d).
    size: usize,
}

impl Spectrum {
    /// The eigenpairs of `between` (`size x size`, symmetric) in `route`'s space.
    pub(crate) fn new(between: &[f64], size: usize, route: Route) -> Spectrum {
        let (values, vectors) = symmetric_eigen(between, size);
        Spectrum {
            route,
            values,
            vectors,
            size,
        }
    }

    /// `tr(S_W S_B^+)` over the eigenpairs `j` that `keep` selects, with `within` the
    /// within-class scatter in the same space (`Span`: `C = M S_W M^T`, then the sum is
    /// `sum_j u_j^T C u_j / (K lambda_j^2)`; `Full`: `S_W`, `sum_j v_j^T S_W v_j / lambda_j`),
    /// for `k` classes. `C` and `S_W` are positive semi-definite, so a quadratic form below 0
    /// is rounding (along a noise eigenvector of a rank-deficient `S_B`) and counts as 0.
    pub(crate) fn within_over_between(
        &self,
        within: &[f64],
        k: usize,
        keep: impl Fn(usize) -> bool,
    ) -> f64 {
        let n = self.size;
        (0..n)
            .filter(|&j| keep(j))
            .map(|j| {
                let v = &self.vectors[j * n..(j + 1) * n];
                let quad: f64 = (0..n)
                    .map(|a| {
                        let row = &within[a * n..(a + 1) * n];
                        v[a] * row.iter().zip(v).map(|(x, y)| x * y).sum::<f64>()
                    })
                    .sum::<f64>()
                    .max(0.0);
                match self.route {
                    Route::Span => quad / (k as f64 * self.values[j] * self.values[j]),
                    Route::Full => quad / self.values[j],
                }
            })
            .sum()
    }

    /// NC1 for `k` classes of dimension `d`: `(1/k) tr(S_W S_B^+)`, the pseudo-inverse cutting
    /// eigenvalues at or below `lambda_max max(d, k) eps` (the default of `torch.linalg.pinv` and
    /// of the Array API standard; NumPy's own default is a fixed 1e-15).
    pub(crate) fn nc1(&self, within: &[f64], k: usize, d: usize) -> f64 {
        self.nc1_of_rank_at_most(within, k, d, usize::MAX)
    }

    /// [`Self::nc1`] inverting at most the top `rank` eigenvalues: for a between-class matrix
    /// whose rank is known to be at most `rank`, a further eigenvalue is rounding noise, which
    /// the cut-off alone can let through when `d` and `k` are small.
    pub(crate) fn nc1_of_rank_at_most(
        &self,
        within: &[f64],
        k: usize,
        d: usize,
        rank: usize,
    ) -> f64 {
        let lambda_max = self.values.first().copied().unwrap_or(0.0).max(0.0);
        let cutoff = lambda_max * (d.max(k) as f64) * f64::EPSILON;
        self.within_over_between(within, k, |j| j < rank && self.values[j] > cutoff) / k as f64
    }
}

/// Largest spread of the class means, relative to their size, taken for rounding: the means of
/// f32 features that truly differ do so far above it.
const COINCIDENT_MEANS: f64 = 1e-12;

/// Whether the class means coincide (to rounding): every coordinate of every centred mean is
/// at most [`COINCIDENT_MEANS`] times the largest coordinate of a mean (0 for identical
/// means). NC1, its variants, the CDNV and the metrics of the means' geometry (NC2, NC3,
/// equinorm, equiangularity, self-duality, GNC2, UNC3) are then undefined (NaN, shown as
/// null), and so are the tree metrics: with
/// `S_B = 0` the pseudo-inverse made NC1 = 0, "perfect collapse", for features that do not
/// separate the classes at all, and means equal but for rounding made it about 1e30.
pub(crate) fn means_coincide(stats: &ClassStatistics) -> bool {
    centred_means_vanish(&stats.centred_means, stats)
}

/// Whether `centred` (the centred class means, or the coarse classes' `M_c`) is zero to
/// rounding: no coordinate above [`COINCIDENT_MEANS`] times the largest coordinate of a class
/// mean of `stats`.
pub(crate) fn centred_means_vanish(centred: &[f64], stats: &ClassStatistics) -> bool {
    let largest = |x: &[f64]| x.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    largest(centred) <= COINCIDENT_MEANS * largest(&stats.means)
}

/// The between-class spectrum of the class statistics in `route`'s space.
fn between_class_spectrum(stats: &ClassStatistics, route: Route) -> Spectrum {
    let (k, d, m) = (stats.k, stats.d, &stats.centred_means);
    let size = route.side(k, d);
    let mut b = vec![0.0; size * size];
    match route {
        Route::Span => gemm_nt(&mut b, m, m, k, k, d, 1.0 / k as f64, false, true),
        Route::Full => crate::linalg::gemm_tn(&mut b, m, m, d, d, k, 1.0 / k as f64, false, true),
    }
    Spectrum::new(&b, size, route)
}

/// NC1 = `(1/K) tr(S_W S_B^+)`, the pseudo-inverse cutting eigenvalues at or below
/// `lambda_max max(d, K) eps` (the default of `torch.linalg.pinv` and of the Array API standard).
fn nc1(s: &Spectrum, scatter: &Scatter, k: usize, d: usize) -> f64 {
    s.nc1(&scatter.within, k, d)
}

/// Papyan et al.'s NC1: `S_B^+` over the top `min(K-1, d)` eigenpairs whatever their size
/// (an eigenvalue that is not positive cannot be inverted and is skipped).
fn nc1_rank(s: &Spectrum, scatter: &Scatter, k: usize, d: usize) -> f64 {
    let top = (k - 1).min(d);
    s.within_over_between(&scatter.within, k, |j| j < top && s.values[j] > 0.0) / k as f64
}

/// `tr(S_W) / tr(S_B)`, with `tr(S_B) = ||M||_F^2 / K`.
fn nc1_quotient(stats: &ClassStatistics, scatter: &Scatter) -> f64 {
    let trace_sb = frobenius(&stats.centred_means).powi(2) / stats.k as f64;
    scatter.trace_within / trace_sb
}

/// CDNV: the mean over class pairs `i < j` of `(s_i + s_j) / (2 ||mu_i - mu_j||^2)`, with
/// `s_k` the mean of `||h - mu_k||^2` over class k. As a sum over pairs of a symmetric term,
/// it is `sum_i s_i q_i / (K (K-1) / 2)` with `q_i = sum_{j != i} 1 / (2 ||mu_i - mu_j||^2)`
/// from the class means' geometry.
fn cdnv(stats: &ClassStatistics, scatter: &Scatter) -> f64 {
    let q = &scatter.geometry.means.cdnv_weights;
    let k = stats.k;
    let total: f64 = (0..k)
        .map(|c| scatter.class_sum_sq_dev[c] / stats.counts[c] as f64 * q[c])
        .sum();
    total / (k * (k - 1) / 2) as f64
}

/// NC4: the fraction of samples whose network decision differs from the nearest class mean.
fn nc4(scatter: &Scatter) -> Option<f64> {
    scatter.nc4_mismatches.map(|c| c as f64 / scatter.n as f64)
}

/// Equinorm: std/mean (the std with the `K-1` divisor) of the norms of the rows of `a`.
fn equinorm(a: &[f64], d: usize) -> f64 {
    let norms: Vec<f64> = squared_norms(a, d).iter().map(|x| x.sqrt()).collect();
    let n = norms.len() as f64;
    let mean = norms.iter().sum::<f64>() / n;
    let var = norms.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    var.sqrt() / mean
}

/// Papyan et al.'s self-duality: `|| W/||W||_F - M/||M||_F ||_F^2`.
fn self_duality(w: &[f64], m: &[f64]) -> f64 {
    let (nw, nm) = (frobenius(w), frobenius(m));
    w.iter()
        .zip(m)
        .map(|(a, b)| (a / nw - b / nm).powi(2))
        .sum()
}

/// `|| W mu_G + b ||_2`.
fn bias_collapse(c: &Classifier, global_mean: &[f64]) -> f64 {
    let k = c.bias.len();
    let mut wmu = vec![0.0; k];
    gemm_nt(
        &mut wmu,
        &c.weights,
        global_mean,
        k,
        1,
        global_mean.len(),
        1.0,
        false,
        false,
    );
    wmu.iter()
        .zip(&c.bias)
        .map(|(a, b)| (a + b).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Uniform duality (UNC3, Wu and Papyan 2024): the variance over classes, with the `K-1`
/// divisor, of `cos(w_k, mu_k - mu_G)`.
fn uniform_duality(w: &[f64], m: &[f64], d: usize) -> f64 {
    let cos: Vec<f64> = w
        .chunks_exact(d)
        .zip(m.chunks_exact(d))
        .map(|(wc, mc)| {
            let dot: f64 = wc.iter().zip(mc).map(|(a, b)| a * b).sum();
            dot / (frobenius(wc) * frobenius(mc))
        })
        .collect();
    let k = cos.len() as f64;
    let mean = cos.iter().sum::<f64>() / k;
    cos.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (k - 1.0)
}

/// `E = (I_K - 1 1^T / K) / sqrt(K-1)`, the simplex-ETF Gram matrix with Frobenius norm 1.
pub fn simplex_etf(k: usize) -> Vec<f64> {
    let scale = 1.0 / ((k - 1) as f64).sqrt();
    let mut e = vec![-scale / k as f64; k * k];
    for i in 0..k {
        e[i * k + i] += scale;
    }
    e
}
