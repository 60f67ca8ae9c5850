//! The neural-collapse metrics of `spec/metrics.md`: NC1-NC4 and their companions.
//!
//! # Algorithm (the spec's "Cost" section)
//! Nothing here forms a `d x d` matrix. Two passes over the features, each in chunks of rows
//! processed in parallel, so that memory-mapped f32 features are never copied whole into f64:
//!
//! 1. **Class statistics**: counts `n_k`, class means `mu_k`, global mean `mu_G`, centred means
//!    `M` (row k = `mu_k - mu_G`). Labels, classes and finiteness are validated here.
//! 2. **Projections**: for each sample the within-class deviation `c_i = h_i - mu_{y_i}` is
//!    formed in f64 and multiplied, in one product per chunk, with `M^T` (and `W^T`, for the
//!    network's logits `w_c . h_i + b_c = w_c . c_i + (w_c . mu_{y_i} + b_c)`). This gives
//!    - `P_i = M c_i` (K numbers), accumulated into `C = (1/N) sum_i P_i P_i^T` (K x K);
//!    - `||c_i||^2`, accumulated per class (for `cdnv`) and overall (`tr S_W`);
//!    - the squared distances to every class mean without cancellation, as
//!      `||h_i - mu_k||^2 = ||c_i||^2 + 2 (c_i.M_{y_i} - c_i.M_k) + ||mu_{y_i} - mu_k||^2`
//!      (since `mu_a - mu_b = M_a - M_b`), for NC4 and `ncc_accuracy`;
//!    - the logits, for the network's predictions when they are not given.
//!
//! `S_B = M^T M / K` has the same non-zero eigenvalues `lambda_j` as the `K x K` matrix
//! `G = M M^T / K = sum_j lambda_j u_j u_j^T`; its eigenvectors in `R^d` are
//! `v_j = M^T u_j / sqrt(K lambda_j)`. Hence
//! `tr(S_W S_B^+) = sum_j v_j^T S_W v_j / lambda_j = sum_j u_j^T C u_j / (K lambda_j^2)`.
//!
//! Cost: `O(N d K)` time, `O(d K + K^2)` memory beyond the features.

use rayon::prelude::*;

use crate::linalg::{frobenius, gemm_nt, normalized_distance, symmetric_eigen};
use crate::tensor::MatrixView;
use crate::{Error, Result};

/// Rows per chunk of the second pass: large enough for efficient products, small enough that
/// a chunk's f64 copy (`rows x d`) stays in cache-friendly sizes.
const CHUNK_ROWS: usize = 1024;

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

/// First-pass statistics of features grouped by class.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassStatistics {
    /// Number of samples `N`.
    pub n: usize,
    /// Feature dimension `d`.
    pub d: usize,
    /// Number of classes `K`.
    pub k: usize,
    /// Samples per class `n_k`.
    pub counts: Vec<usize>,
    /// Class means `mu_k`, `K x d` row-major.
    pub means: Vec<f64>,
    /// Global (sample) mean `mu_G`, `d`.
    pub global_mean: Vec<f64>,
    /// Centred class means `M`, row k = `mu_k - mu_G`, `K x d` row-major.
    pub centred_means: Vec<f64>,
}

impl ClassStatistics {
    /// Gram matrix of the centred means, `M M^T` (`K x K`).
    pub fn centred_gram(&self) -> Vec<f64> {
        let mut g = vec![0.0; self.k * self.k];
        gemm_nt(
            &mut g,
            &self.centred_means,
            &self.centred_means,
            self.k,
            self.k,
            self.d,
            1.0,
            false,
            false,
        );
        g
    }
}

/// NC1-NC4 and their companions, named as in `spec/metrics.md`.
///
/// A metric that needs an input that was not given (the classifier for NC3, say) is `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct CollapseMetrics {
    pub n: usize,
    pub d: usize,
    pub k: usize,
    /// `(1/K) tr(S_W S_B^+)`, pseudo-inverse with NumPy's default cut-off.
    pub nc1: f64,
    /// `|| M M^T / ||M M^T||_F - E ||_F`.
    pub nc2: f64,
    /// `|| W M^T / ||W M^T||_F - E ||_F`.
    pub nc3: Option<f64>,
    /// Fraction of samples whose network prediction differs from the nearest class mean.
    pub nc4: Option<f64>,
    /// `tr(S_W S_B^+) / K` with `S_B^+` over the top `K-1` eigenpairs (Papyan et al.).
    pub nc1_rank: f64,
    /// `tr(S_W) / tr(S_B)`.
    pub nc1_quotient: f64,
    /// Mean over class pairs `i<j` of `(s_i + s_j) / (2 ||mu_i - mu_j||^2)`.
    pub cdnv: f64,
    /// std/mean (K-1 divisor) of `||mu_k - mu_G||`.
    pub equinorm_means: f64,
    /// std/mean (K-1 divisor) of `||w_k||`.
    pub equinorm_weights: Option<f64>,
    /// Mean over pairs `i != j` of `|cos(M_i, M_j) + 1/(K-1)|`.
    pub equiangularity_means: f64,
    /// Mean over pairs `i != j` of `|cos(w_i, w_j) + 1/(K-1)|`.
    pub equiangularity_weights: Option<f64>,
    /// `|| W W^T / ||W W^T||_F - E ||_F`.
    pub nc2_weights: Option<f64>,
    /// `|| W/||W||_F - M/||M||_F ||_F^2`.
    pub self_duality: Option<f64>,
    /// Fraction of samples whose nearest class mean is their label.
    pub ncc_accuracy: f64,
    /// `|| W mu_G + b ||_2`.
    pub bias_collapse: Option<f64>,
    /// GNC2 (Liu et al. 2023): mean over class pairs `i<j` of the log kernel
    /// `log(1 / ||u_i - u_j||)` of the normalised centred means `u_k = M_k / ||M_k||`.
    pub gnc2_log_mean: f64,
    /// Variance over class pairs of the same log kernel (mean squared deviation).
    pub gnc2_log_var: f64,
    /// Mean over class pairs of the Riesz kernel `sign(d-2) ||u_i - u_j||^-(d-2)`.
    pub gnc2_riesz_mean: f64,
    /// Variance over class pairs of the Riesz kernel.
    pub gnc2_riesz_var: f64,
    /// UNC3 (Wu and Papyan 2024): variance over classes (K-1 divisor) of `cos(w_k, M_k)`.
    pub unc3: Option<f64>,
}

impl CollapseMetrics {
    /// `(name, value)` pairs in the order of the spec, for tables, CSV columns and JSON keys.
    pub fn entries(&self) -> Vec<(&'static str, Option<f64>)> {
        vec![
            ("nc1", Some(self.nc1)),
            ("nc2", Some(self.nc2)),
            ("nc3", self.nc3),
            ("nc4", self.nc4),
            ("nc1_rank", Some(self.nc1_rank)),
            ("nc1_quotient", Some(self.nc1_quotient)),
            ("cdnv", Some(self.cdnv)),
            ("equinorm_means", Some(self.equinorm_means)),
            ("equinorm_weights", self.equinorm_weights),
            ("equiangularity_means", Some(self.equiangularity_means)),
            ("equiangularity_weights", self.equiangularity_weights),
            ("nc2_weights", self.nc2_weights),
            ("self_duality", self.self_duality),
            ("ncc_accuracy", Some(self.ncc_accuracy)),
            ("bias_collapse", self.bias_collapse),
            ("gnc2_log_mean", Some(self.gnc2_log_mean)),
            ("gnc2_log_var", Some(self.gnc2_log_var)),
            ("gnc2_riesz_mean", Some(self.gnc2_riesz_mean)),
            ("gnc2_riesz_var", Some(self.gnc2_riesz_var)),
            ("unc3", self.unc3),
        ]
    }

    /// The metric names, in the order of [`CollapseMetrics::entries`].
    pub const NAMES: [&'static str; 20] = [
        "nc1",
        "nc2",
        "nc3",
        "nc4",
        "nc1_rank",
        "nc1_quotient",
        "cdnv",
        "equinorm_means",
        "equinorm_weights",
        "equiangularity_means",
        "equiangularity_weights",
        "nc2_weights",
        "self_duality",
        "ncc_accuracy",
        "bias_collapse",
        "gnc2_log_mean",
        "gnc2_log_var",
        "gnc2_riesz_mean",
        "gnc2_riesz_var",
        "unc3",
    ];
}

/// Converts integer labels (any width, signed or not, as read from a file) into class
/// indices, checking that each is in `0..num_classes`; `what` names the source in errors.
pub fn labels_from_integers(values: &[i64], num_classes: usize, what: &str) -> Result<Vec<u32>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v < 0 {
                Err(Error::invalid(format!("{what}: label {v} at row {i} is negative")))
            } else if v as u64 >= num_classes as u64 {
                Err(Error::invalid(format!(
                    "{what}: label {v} at row {i} is out of range for {num_classes} classes (0..{})",
                    num_classes - 1
                )))
            } else {
                Ok(v as u32)
            }
        })
        .collect()
}

/// Pass 1: class counts and means, with every check on features and labels.
///
/// Errors: `K < 2`; features and labels of different lengths; a label out of range; a class
/// with no sample (named); a NaN or infinite feature (its row is named).
pub fn class_statistics(
    features: MatrixView<'_>,
    labels: &[u32],
    k: usize,
) -> Result<ClassStatistics> {
    let (n, d) = (features.n, features.d);
    if k < 2 {
        return Err(Error::invalid(format!(
            "neural-collapse metrics need at least 2 classes, got K = {k}"
        )));
    }
    if labels.len() != n {
        return Err(Error::invalid(format!(
            "features have {n} rows but labels have {} entries",
            labels.len()
        )));
    }
    if d == 0 {
        return Err(Error::invalid("features have 0 columns"));
    }
    if let Some((i, &y)) = labels.iter().enumerate().find(|(_, &y)| y as usize >= k) {
        return Err(Error::invalid(format!(
            "label {y} at row {i} is out of range for {k} classes (0..{})",
            k - 1
        )));
    }

    // Per-thread partial sums over blocks of rows, reduced afterwards.
    let blocks = row_blocks(n);
    let partials: Vec<Result<(Vec<usize>, Vec<f64>)>> = blocks
        .par_iter()
        .map(|&(start, end)| {
            let mut counts = vec![0usize; k];
            let mut sums = vec![0.0f64; k * d];
            let mut row = vec![0.0f64; d];
            for (i, &y) in (start..end).zip(&labels[start..end]) {
                features.row_into(i, &mut row);
                // NaN and infinities propagate into the row sum, so one test per row finds them.
                if !row.iter().sum::<f64>().is_finite() {
                    let j = row.iter().position(|v| !v.is_finite());
                    return Err(Error::invalid(match j {
                        Some(j) => format!(
                            "features: non-finite value {} at row {i}, column {j}",
                            row[j]
                        ),
                        None => format!("features: row {i} overflows when summed"),
                    }));
                }
                let y = y as usize;
                counts[y] += 1;
                for (s, v) in sums[y * d..(y + 1) * d].iter_mut().zip(&row) {
                    *s += v;
                }
            }
            Ok((counts, sums))
        })
        .collect();
    let mut counts = vec![0usize; k];
    let mut sums = vec![0.0f64; k * d];
    for p in partials {
        let (c, s) = p?;
        counts.iter_mut().zip(&c).for_each(|(a, b)| *a += b);
        sums.iter_mut().zip(&s).for_each(|(a, b)| *a += b);
    }
    let empty: Vec<usize> = (0..k).filter(|&c| counts[c] == 0).collect();
    if !empty.is_empty() {
        let list: Vec<String> = empty.iter().map(|c| c.to_string()).collect();
        let what = if empty.len() == 1 {
            "class {} has"
        } else {
            "classes {} have"
        };
        return Err(Error::invalid(format!(
            "{} no sample (K = {k}); every class needs at least one",
            what.replace("{}", &list.join(", "))
        )));
    }

    let mut global_mean = vec![0.0; d];
    for c in 0..k {
        for (g, s) in global_mean.iter_mut().zip(&sums[c * d..(c + 1) * d]) {
            *g += s;
        }
    }
    global_mean.iter_mut().for_each(|g| *g /= n as f64);
    let mut means = sums;
    for c in 0..k {
        let inv = 1.0 / counts[c] as f64;
        means[c * d..(c + 1) * d].iter_mut().for_each(|m| *m *= inv);
    }
    let mut centred_means = means.clone();
    for c in 0..k {
        for (m, g) in centred_means[c * d..(c + 1) * d]
            .iter_mut()
            .zip(&global_mean)
        {
            *m -= g;
        }
    }
    Ok(ClassStatistics {
        n,
        d,
        k,
        counts,
        means,
        global_mean,
        centred_means,
    })
}

/// Every metric of the spec's first three sections, from features, labels and (optionally) the
/// classifier and predictions. Both passes; see the module documentation.
pub fn measure(input: &CollapseInput<'_>) -> Result<CollapseMetrics> {
    let stats = class_statistics(input.features, input.labels, input.num_classes)?;
    measure_with_statistics(input, &stats)
}

/// [`measure`] when the first pass has already been made (e.g. shared with other metrics).
pub fn measure_with_statistics(
    input: &CollapseInput<'_>,
    stats: &ClassStatistics,
) -> Result<CollapseMetrics> {
    let (n, d, k) = (stats.n, stats.d, stats.k);
    let weights = match input.weights {
        Some(w) => {
            if w.n != k || w.d != d {
                return Err(Error::invalid(format!(
                    "weights: expected shape {k} x {d} (classes x feature dimension), got {} x {}",
                    w.n, w.d
                )));
            }
            let w = w.to_f64_vec();
            if let Some(i) = w.iter().position(|v| !v.is_finite()) {
                return Err(Error::invalid(format!(
                    "weights: non-finite value {} at row {}, column {}",
                    w[i],
                    i / d,
                    i % d
                )));
            }
            Some(w)
        }
        None => None,
    };
    let bias = match input.bias {
        Some(b) => {
            if b.len() != k {
                return Err(Error::invalid(format!(
                    "bias: expected {k} values (one per class), got {}",
                    b.len()
                )));
            }
            if let Some(i) = b.iter().position(|v| !v.is_finite()) {
                return Err(Error::invalid(format!(
                    "bias: non-finite value {} at entry {i}",
                    b[i]
                )));
            }
            b.to_vec()
        }
        None => vec![0.0; k],
    };
    if input.bias.is_some() && weights.is_none() {
        return Err(Error::invalid("bias given without weights"));
    }
    if let Some(p) = input.predictions {
        if p.len() != n {
            return Err(Error::invalid(format!(
                "features have {n} rows but predictions have {} entries",
                p.len()
            )));
        }
        if let Some((i, &v)) = p.iter().enumerate().find(|(_, &v)| v as usize >= k) {
            return Err(Error::invalid(format!(
                "prediction {v} at row {i} is out of range for {k} classes (0..{})",
                k - 1
            )));
        }
    }

    let gram = stats.centred_gram(); // M M^T
    let pass = second_pass(input, stats, &gram, weights.as_deref(), &bias);

    // ---- within/between-class variability (NC1 and companions) ----
    let m = &stats.centred_means;
    let trace_sw = pass.sum_sq_dev / n as f64;
    let trace_sb = (0..k).map(|c| gram[c * k + c]).sum::<f64>() / k as f64;
    let g: Vec<f64> = gram.iter().map(|x| x / k as f64).collect();
    let (lambda, u) = symmetric_eigen(&g, k);
    let lambda_max = lambda[0].max(0.0);
    let cutoff = lambda_max * (d.max(k) as f64) * f64::EPSILON;
    // u_j^T C u_j / (K lambda_j^2), the contribution of eigenpair j to tr(S_W S_B^+).
    let contribution = |j: usize| {
        let uj = &u[j * k..(j + 1) * k];
        let mut quad = 0.0;
        for a in 0..k {
            let row = &pass.c[a * k..(a + 1) * k];
            quad += uj[a] * row.iter().zip(uj).map(|(x, y)| x * y).sum::<f64>();
        }
        quad / (k as f64 * lambda[j] * lambda[j])
    };
    let nc1 = (0..k)
        .filter(|&j| lambda[j] > cutoff)
        .map(contribution)
        .sum::<f64>()
        / k as f64;
    // Papyan et al. invert the top K-1 eigenpairs of S_B whatever their size (S_B, d x d, has
    // only d of them); an eigenvalue that is not positive cannot be inverted and is skipped.
    let nc1_rank = (0..(k - 1).min(d))
        .filter(|&j| lambda[j] > 0.0)
        .map(contribution)
        .sum::<f64>()
        / k as f64;
    let nc1_quotient = trace_sw / trace_sb;

    // cdnv: s_k = mean ||h - mu_k||^2 over class k.
    let s: Vec<f64> = (0..k)
        .map(|c| pass.class_sum_sq_dev[c] / stats.counts[c] as f64)
        .collect();
    let mut cdnv_sum = 0.0;
    for i in 0..k {
        for j in i + 1..k {
            cdnv_sum += (s[i] + s[j]) / (2.0 * pass.mean_dist2[i * k + j]);
        }
    }
    let cdnv = cdnv_sum / (k * (k - 1) / 2) as f64;

    // ---- geometry of the means and of the classifier ----
    let etf = simplex_etf(k);
    let nc2 = normalized_distance(&gram, &etf);
    let norms_m: Vec<f64> = (0..k).map(|c| frobenius(&m[c * d..(c + 1) * d])).collect();
    let equinorm_means = coefficient_of_variation(&norms_m);
    let equiangularity_means = equiangularity(&gram, k);

    let (mut nc3, mut nc2_weights, mut equinorm_weights, mut equiangularity_weights) =
        (None, None, None, None);
    let (mut self_duality, mut bias_collapse, mut unc3) = (None, None, None);
    let uniformity = hyperspherical_uniformity(&gram, k, d);
    if let Some(w) = &weights {
        unc3 = Some(uniform_duality(w, m, k, d));
        let mut wm = vec![0.0; k * k];
        gemm_nt(&mut wm, w, m, k, k, d, 1.0, false, false);
        nc3 = Some(normalized_distance(&wm, &etf));
        let mut ww = vec![0.0; k * k];
        gemm_nt(&mut ww, w, w, k, k, d, 1.0, false, false);
        nc2_weights = Some(normalized_distance(&ww, &etf));
        let norms_w: Vec<f64> = (0..k).map(|c| frobenius(&w[c * d..(c + 1) * d])).collect();
        equinorm_weights = Some(coefficient_of_variation(&norms_w));
        equiangularity_weights = Some(equiangularity(&ww, k));
        let (nw, nm) = (frobenius(w), frobenius(m));
        self_duality = Some(
            w.iter()
                .zip(m)
                .map(|(a, b)| (a / nw - b / nm).powi(2))
                .sum(),
        );
        let mut wmu = vec![0.0; k];
        gemm_nt(&mut wmu, w, &stats.global_mean, k, 1, d, 1.0, false, false);
        bias_collapse = Some(
            wmu.iter()
                .zip(&bias)
                .map(|(a, b)| (a + b).powi(2))
                .sum::<f64>()
                .sqrt(),
        );
    }
    let nc4 = pass.nc4_mismatches.map(|c| c as f64 / n as f64);
    let ncc_accuracy = pass.ncc_correct as f64 / n as f64;

    Ok(CollapseMetrics {
        n,
        d,
        k,
        nc1,
        nc2,
        nc3,
        nc4,
        nc1_rank,
        nc1_quotient,
        cdnv,
        equinorm_means,
        equinorm_weights,
        equiangularity_means,
        equiangularity_weights,
        nc2_weights,
        self_duality,
        ncc_accuracy,
        bias_collapse,
        gnc2_log_mean: uniformity.log_mean,
        gnc2_log_var: uniformity.log_var,
        gnc2_riesz_mean: uniformity.riesz_mean,
        gnc2_riesz_var: uniformity.riesz_var,
        unc3,
    })
}

/// GNC2's pair statistics: mean and variance of the log and Riesz kernels.
struct Uniformity {
    log_mean: f64,
    log_var: f64,
    riesz_mean: f64,
    riesz_var: f64,
}

/// Hyperspherical uniformity of the normalised centred means (GNC2, Liu et al. 2023), from
/// the Gram matrix `M M^T`: with `u_k = M_k / ||M_k||`, the distance of a pair is
/// `||u_i - u_j|| = sqrt(2 - 2 cos(M_i, M_j))`; over the pairs `i < j`, the mean and variance
/// (mean squared deviation from the mean) of `log(1 / ||u_i - u_j||)` and of
/// `sign(d-2) ||u_i - u_j||^-(d-2)` (the Riesz s-energy kernel with `s = d - 2`; it underflows
/// to 0 for large `d` whenever the pairs are farther apart than 1). A pair of equal directions
/// gives an infinite kernel value.
fn hyperspherical_uniformity(gram: &[f64], k: usize, d: usize) -> Uniformity {
    let s = d as f64 - 2.0;
    let sign = if s >= 0.0 { 1.0 } else { -1.0 };
    let mut log_k = Vec::with_capacity(k * (k - 1) / 2);
    let mut riesz = Vec::with_capacity(k * (k - 1) / 2);
    for i in 0..k {
        for j in i + 1..k {
            let cos = gram[i * k + j] / (gram[i * k + i] * gram[j * k + j]).sqrt();
            let dist = (2.0 - 2.0 * cos).max(0.0).sqrt();
            log_k.push(-dist.ln());
            riesz.push(sign * dist.powf(-s));
        }
    }
    let (log_mean, log_var) = mean_and_variance(&log_k);
    let (riesz_mean, riesz_var) = mean_and_variance(&riesz);
    Uniformity {
        log_mean,
        log_var,
        riesz_mean,
        riesz_var,
    }
}

/// Mean and population variance (divisor n) of `xs`.
fn mean_and_variance(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

/// Uniform duality (UNC3, Wu and Papyan 2024): the variance over classes, with the `K-1`
/// divisor, of `cos(w_k, mu_k - mu_G)`, for `W` and `M` (`K x d`, row-major).
fn uniform_duality(w: &[f64], m: &[f64], k: usize, d: usize) -> f64 {
    let cos: Vec<f64> = (0..k)
        .map(|c| {
            let (wc, mc) = (&w[c * d..(c + 1) * d], &m[c * d..(c + 1) * d]);
            let dot: f64 = wc.iter().zip(mc).map(|(a, b)| a * b).sum();
            dot / (frobenius(wc) * frobenius(mc))
        })
        .collect();
    let mean = cos.iter().sum::<f64>() / k as f64;
    cos.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (k - 1) as f64
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

/// std/mean of `xs`, std with the `n-1` divisor.
fn coefficient_of_variation(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    var.sqrt() / mean
}

/// Mean over ordered pairs `i != j` of `|cos(a_i, a_j) + 1/(K-1)|`, from the Gram matrix of
/// the vectors `a`.
fn equiangularity(gram: &[f64], k: usize) -> f64 {
    let shift = 1.0 / (k - 1) as f64;
    let mut total = 0.0;
    for i in 0..k {
        for j in 0..k {
            if i != j {
                let cos = gram[i * k + j] / (gram[i * k + i] * gram[j * k + j]).sqrt();
                total += (cos + shift).abs();
            }
        }
    }
    total / (k * (k - 1)) as f64
}

/// Splits `0..n` into contiguous blocks, a few per thread.
fn row_blocks(n: usize) -> Vec<(usize, usize)> {
    let threads = rayon::current_num_threads().max(1);
    let per = n.div_ceil(threads * 4).max(CHUNK_ROWS.min(n.max(1)));
    (0..n)
        .step_by(per.max(1))
        .map(|s| (s, (s + per).min(n)))
        .collect()
}

/// What the second pass accumulates.
struct SecondPass {
    /// `C = (1/N) sum_i (M c_i)(M c_i)^T`, `K x K`.
    c: Vec<f64>,
    /// `sum_i ||c_i||^2`.
    sum_sq_dev: f64,
    /// Per class, `sum_{i in k} ||c_i||^2`.
    class_sum_sq_dev: Vec<f64>,
    /// `||mu_a - mu_b||^2`, `K x K`.
    mean_dist2: Vec<f64>,
    /// Samples whose nearest class mean is their label.
    ncc_correct: usize,
    /// Samples whose prediction differs from the nearest class mean (None: no predictions).
    nc4_mismatches: Option<usize>,
}

/// Partial sums of one block of rows.
struct Partial {
    c: Vec<f64>,
    sum_sq_dev: f64,
    class_sum_sq_dev: Vec<f64>,
    ncc_correct: usize,
    nc4_mismatches: usize,
}

/// `gram` is `M M^T` (`K x K`), computed once by the caller.
fn second_pass(
    input: &CollapseInput<'_>,
    stats: &ClassStatistics,
    gram: &[f64],
    weights: Option<&[f64]>,
    bias: &[f64],
) -> SecondPass {
    let (d, k) = (stats.d, stats.k);
    let m = &stats.centred_means;
    // ||mu_a - mu_b||^2 = ||M_a - M_b||^2 from the Gram matrix of M.
    let mut mean_dist2 = vec![0.0; k * k];
    for a in 0..k {
        for b in 0..k {
            mean_dist2[a * k + b] =
                (gram[a * k + a] + gram[b * k + b] - 2.0 * gram[a * k + b]).max(0.0);
        }
    }
    let has_predictions = input.predictions.is_some() || weights.is_some();

    // One product per chunk: B = [M; W] (or just M when the predictions are given or there is
    // no classifier), T = B C^T with C the chunk's deviations. Row c < K of T holds c_i . M_c;
    // row K + c holds c_i . w_c, from which the logits follow as
    // w_c . h_i + b_c = c_i . w_c + (w_c . mu_{y_i} + b_c).
    let logits_needed = input.predictions.is_none() && weights.is_some();
    let kk = if logits_needed { 2 * k } else { k };
    let mut b_mat = m.clone();
    let mut offset = vec![0.0; k * k]; // offset[y * k + c] = w_c . mu_y + b_c
    if let (true, Some(w)) = (logits_needed, weights) {
        b_mat.extend_from_slice(w);
        gemm_nt(&mut offset, &stats.means, w, k, k, d, 1.0, false, false);
        for y in 0..k {
            offset[y * k..(y + 1) * k]
                .iter_mut()
                .zip(bias)
                .for_each(|(o, b)| *o += b);
        }
    }

    let partials: Vec<Partial> = row_blocks(stats.n)
        .par_iter()
        .map(|&(start, end)| {
            let mut part = Partial {
                c: vec![0.0; k * k],
                sum_sq_dev: 0.0,
                class_sum_sq_dev: vec![0.0; k],
                ncc_correct: 0,
                nc4_mismatches: 0,
            };
            let cap = CHUNK_ROWS.min(end - start);
            let mut dev = vec![0.0; cap * d];
            let mut t = vec![0.0; kk * cap];
            let mut sq = vec![0.0; cap];
            let mut best = vec![(f64::INFINITY, 0usize); cap];
            let mut chunk_start = start;
            while chunk_start < end {
                let rows = CHUNK_ROWS.min(end - chunk_start);
                let labels = &input.labels[chunk_start..chunk_start + rows];
                let dev = &mut dev[..rows * d];
                input
                    .features
                    .rows
                    .copy_to_f64(chunk_start * d, (chunk_start + rows) * d, dev);
                for (r, &y) in labels.iter().enumerate() {
                    let mu = &stats.means[y as usize * d..(y as usize + 1) * d];
                    let row = &mut dev[r * d..(r + 1) * d];
                    row.iter_mut().zip(mu).for_each(|(x, m)| *x -= m);
                    sq[r] = row.iter().map(|x| x * x).sum::<f64>();
                    part.sum_sq_dev += sq[r];
                    part.class_sum_sq_dev[y as usize] += sq[r];
                }
                let t = &mut t[..kk * rows];
                gemm_nt(t, &b_mat, dev, kk, rows, d, 1.0, false, false);
                // Rows 0..K of T are P^T with P_i = M c_i: C += P^T P.
                let p_t = &t[..k * rows];
                gemm_nt(&mut part.c, p_t, p_t, k, k, rows, 1.0, true, false);

                // Nearest class mean: ||h - mu_c||^2 = ||c_i||^2 + 2 (c_i.M_y - c_i.M_c) + ||mu_y - mu_c||^2.
                let best = &mut best[..rows];
                best.iter_mut().for_each(|b| *b = (f64::INFINITY, 0));
                for c in 0..k {
                    let row_c = &p_t[c * rows..(c + 1) * rows];
                    for (r, &y) in labels.iter().enumerate() {
                        let y = y as usize;
                        let dist =
                            sq[r] + 2.0 * (p_t[y * rows + r] - row_c[r]) + mean_dist2[y * k + c];
                        if dist < best[r].0 {
                            best[r] = (dist, c);
                        }
                    }
                }
                for (r, &y) in labels.iter().enumerate() {
                    part.ncc_correct += (best[r].1 == y as usize) as usize;
                }
                if let Some(pred) = input.predictions {
                    let pred = &pred[chunk_start..chunk_start + rows];
                    part.nc4_mismatches += pred
                        .iter()
                        .zip(best.iter())
                        .filter(|(&p, b)| p as usize != b.1)
                        .count();
                } else if logits_needed {
                    // Network prediction: argmax_c (c_i . w_c + offset[y_i, c]), lowest index on a tie.
                    let mut top = vec![(f64::NEG_INFINITY, 0usize); rows];
                    for c in 0..k {
                        let row_c = &t[(k + c) * rows..(k + c + 1) * rows];
                        for (r, &y) in labels.iter().enumerate() {
                            let z = row_c[r] + offset[y as usize * k + c];
                            if z > top[r].0 {
                                top[r] = (z, c);
                            }
                        }
                    }
                    part.nc4_mismatches += top
                        .iter()
                        .zip(best.iter())
                        .filter(|(a, b)| a.1 != b.1)
                        .count();
                }
                chunk_start += rows;
            }
            part
        })
        .collect();

    let mut out = SecondPass {
        c: vec![0.0; k * k],
        sum_sq_dev: 0.0,
        class_sum_sq_dev: vec![0.0; k],
        mean_dist2,
        ncc_correct: 0,
        nc4_mismatches: has_predictions.then_some(0),
    };
    for part in partials {
        out.c.iter_mut().zip(&part.c).for_each(|(a, b)| *a += b);
        out.sum_sq_dev += part.sum_sq_dev;
        out.class_sum_sq_dev
            .iter_mut()
            .zip(&part.class_sum_sq_dev)
            .for_each(|(a, b)| *a += b);
        out.ncc_correct += part.ncc_correct;
        if let Some(mm) = out.nc4_mismatches.as_mut() {
            *mm += part.nc4_mismatches;
        }
    }
    let inv_n = 1.0 / stats.n as f64;
    out.c.iter_mut().for_each(|x| *x *= inv_n);
    out
}
