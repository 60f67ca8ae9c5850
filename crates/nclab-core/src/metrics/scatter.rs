//! Pass 2 over the features: the within-class scatter and the per-sample decisions.
//!
//! For each sample the deviation `c_i = h_i - mu_{y_i}` from its class mean is formed in f64.
//! What is accumulated from it depends on the [`Route`], the cheaper of two exact ways to the
//! same metrics:
//!
//! - [`Route::Span`] (K <= d): everything lives in the span of the K centred means `M`. One
//!   product per block of rows gives `P_i = M c_i` (and the logits, from `W c_i`), from which
//!   `C = (1/N) sum_i P_i P_i^T` (`K x K`) is accumulated and the nearest class mean follows
//!   without cancellation, as
//!   `||h_i - mu_k||^2 = ||c_i||^2 + 2 (c_i . M_{y_i} - c_i . M_k) + ||mu_{y_i} - mu_k||^2`.
//!   Cost `O(N K (d + K))`, memory `O(K d + K^2)`.
//! - [`Route::Full`] (K > d): the within-class scatter `S_W = (1/N) sum_i c_i c_i^T`
//!   (`d x d`) itself, and the decisions by `metrics::decisions` (an f32 screen of all K
//!   scores, exact in f64). Cost `O(N d (d + K))`, memory `O(K d + d^2)`.
//!
//! Both also sum `||c_i||^2` overall (`tr S_W`) and per class (for CDNV), and count the
//! samples whose nearest class mean is their label (NCC accuracy) and those whose network
//! decision differs from it (NC4). Blocks of rows are summed in parallel and merged in order,
//! so a result depends on the batches given, not on the number of threads.

use std::borrow::Cow;

use rayon::prelude::*;

use super::decisions;
use super::geometry::{mean_geometry, weight_geometry, MeanGeometry, WeightGeometry};
use super::statistics::{check_batch, ClassStatistics};
use crate::linalg::{gemm_nt, mirror_lower, syrk_lower_nt, syrk_lower_tn};
use crate::tensor::MatrixView;
use crate::{Error, Result};

/// Rows per block of the second pass.
const CHUNK_ROWS: usize = 1024;

/// Which exact formulation the second pass and NC1 use (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// In the span of the K centred class means: `K x K` matrices.
    Span,
    /// In feature space: `d x d` matrices.
    Full,
}

impl Route {
    /// The cheaper route for K classes of dimension d, by the flop and memory count of the
    /// module doc: `Span` when `K <= d`, else `Full`.
    pub fn cheaper(k: usize, d: usize) -> Route {
        if k <= d {
            Route::Span
        } else {
            Route::Full
        }
    }

    /// The side of the route's square matrices (scatter, spectrum): K for `Span`, d for
    /// `Full`.
    pub fn side(self, k: usize, d: usize) -> usize {
        match self {
            Route::Span => k,
            Route::Full => d,
        }
    }
}

/// The last layer: weights `W` (`K x d`, row-major) and bias `b` (`K`; zeros when absent).
#[derive(Clone, Debug, PartialEq)]
pub struct Classifier {
    pub weights: Vec<f64>,
    pub bias: Vec<f64>,
}

impl Classifier {
    /// Checks that the weights have the features' `d` columns, before their rows are taken as
    /// the number of classes; a transposed `W` (`d x K`) is named as such.
    pub fn check_columns(weights: MatrixView<'_>, d: usize) -> Result<()> {
        if weights.d == d {
            return Ok(());
        }
        let hint = if weights.n == d {
            " (it looks transposed: the rows of W are the classes)"
        } else {
            ""
        };
        Err(Error::invalid(format!(
            "weights: expected K x {d} (classes x the features' {d} columns), got {} x {}{hint}",
            weights.n, weights.d
        )))
    }

    /// Checks the shapes against K and d and that every value is finite; errors name the
    /// tensor (`weights`, `bias`) and the offending entry.
    pub fn new(weights: MatrixView<'_>, bias: Option<&[f64]>, k: usize, d: usize) -> Result<Self> {
        if weights.n != k || weights.d != d {
            let hint = if weights.n == d && weights.d == k {
                " (it looks transposed: the rows of W are the classes)"
            } else {
                ""
            };
            return Err(Error::invalid(format!(
                "weights: expected shape {k} x {d} (classes x feature dimension), got {} x {}{hint}",
                weights.n, weights.d
            )));
        }
        let w = weights.to_f64_vec();
        if let Some(i) = w.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "weights: non-finite value {} at row {}, column {}",
                w[i],
                i / d,
                i % d
            )));
        }
        let b = match bias {
            Some(b) if b.len() != k => {
                return Err(Error::invalid(format!(
                    "bias: expected {k} values (one per class), got {}",
                    b.len()
                )))
            }
            Some(b) => {
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
        Ok(Classifier {
            weights: w,
            bias: b,
        })
    }
}

/// What pass 2 accumulates, divided by N at the end.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Scatter {
    pub route: Route,
    /// Number of samples `N`.
    pub n: usize,
    /// `Span`: `C = (1/N) sum_i (M c_i)(M c_i)^T` (`K x K`); `Full`: `S_W` (`d x d`).
    pub within: Vec<f64>,
    /// `tr S_W = (1/N) sum_i ||c_i||^2`.
    pub trace_within: f64,
    /// Per class, `sum_{y_i = k} ||c_i||^2`.
    pub class_sum_sq_dev: Vec<f64>,
    /// Samples whose nearest class mean is their label.
    pub ncc_correct: usize,
    /// Samples whose network decision differs from their nearest class mean (`None` without
    /// a classifier or predictions).
    pub nc4_mismatches: Option<usize>,
    /// The geometry of the class means and of the classifier (`metrics::geometry`).
    pub geometry: ClassGeometry,
}

/// The class means' and the classifier's geometry.
#[derive(Clone, Debug)]
pub struct ClassGeometry {
    pub means: MeanGeometry,
    pub weights: Option<WeightGeometry>,
}

/// Partial sums of a block of rows.
struct Partial {
    within: Vec<f64>,
    sum_sq_dev: f64,
    class_sum_sq_dev: Vec<f64>,
    ncc_correct: usize,
    nc4_mismatches: usize,
}

/// Pass 2, batch by batch, against the class statistics of pass 1.
pub struct ScatterAccumulator<'a> {
    stats: Cow<'a, ClassStatistics>,
    classifier: Option<Cow<'a, Classifier>>,
    route: Route,
    /// `Span`: `[M; W]` (W when the logits are needed), `w_c . mu_y + b_c` (`K x K`),
    /// `||mu_a - mu_b||^2` (`K x K`).
    span: Option<SpanTables>,
    total: Partial,
    n: usize,
    /// Samples of each class so far (pass 1's counts, when both passes saw the same data).
    counts: Vec<usize>,
    /// Whether the batches come with predictions (fixed by the first batch).
    with_predictions: Option<bool>,
    /// Whether to decide (nearest class mean, network) at all.
    decide: bool,
    geometry: ClassGeometry,
}

struct SpanTables {
    b_mat: Vec<f64>,
    offset: Vec<f64>,
    mean_dist2: Vec<f64>,
}

impl<'a> ScatterAccumulator<'a> {
    /// An empty pass 2 by `route` (`None`: [`Route::cheaper`]).
    pub fn new(
        stats: &'a ClassStatistics,
        classifier: Option<&'a Classifier>,
        route: Option<Route>,
    ) -> Self {
        Self::with(Cow::Borrowed(stats), classifier.map(Cow::Borrowed), route)
    }

    fn with(
        stats: Cow<'a, ClassStatistics>,
        classifier: Option<Cow<'a, Classifier>>,
        route: Option<Route>,
    ) -> Self {
        let (d, k) = (stats.d, stats.k);
        let route = route.unwrap_or_else(|| Route::cheaper(k, d));
        let span = (route == Route::Span).then(|| span_tables(&stats, classifier.as_deref()));
        let geometry = ClassGeometry {
            means: mean_geometry(&stats),
            weights: classifier.as_deref().map(|c| weight_geometry(&stats, c)),
        };
        let size = route.side(k, d).pow(2);
        ScatterAccumulator {
            stats,
            classifier,
            route,
            span,
            total: Partial {
                within: vec![0.0; size],
                sum_sq_dev: 0.0,
                class_sum_sq_dev: vec![0.0; k],
                ncc_correct: 0,
                nc4_mismatches: 0,
            },
            n: 0,
            counts: vec![0; k],
            with_predictions: None,
            decide: true,
            geometry,
        }
    }

    /// Adds a batch: `features` (`rows x d`), `labels`, and optionally the network's
    /// `predictions` (given for every batch or for none; they take the place of the
    /// classifier's decisions). Errors leave the accumulator unchanged.
    pub fn add(
        &mut self,
        features: MatrixView<'_>,
        labels: &[u32],
        predictions: Option<&[u32]>,
    ) -> Result<()> {
        let (d, k) = (self.stats.d, self.stats.k);
        check_batch(features, labels, k, d, self.n)?;
        if let Some(p) = predictions {
            if p.len() != features.n {
                return Err(Error::invalid(format!(
                    "features have {} rows but predictions have {} entries",
                    features.n,
                    p.len()
                )));
            }
            if let Some((i, &v)) = p.iter().enumerate().find(|(_, &v)| v as usize >= k) {
                return Err(Error::invalid(format!(
                    "prediction {v} at row {} is out of range for {k} classes (0..{})",
                    self.n + i,
                    k - 1
                )));
            }
        }
        if features.n == 0 {
            // Nothing to add, and no say in whether the batches come with predictions.
            return Ok(());
        }
        match self.with_predictions {
            Some(w) if w != predictions.is_some() => {
                return Err(Error::invalid(
                    "predictions were given for some batches but not for others",
                ))
            }
            _ => self.with_predictions = Some(predictions.is_some()),
        }
        // The Full route decides every sample of the batch at once (its own blocks).
        let full = self.route == Route::Full && self.decide;
        let decided: Option<(Vec<u32>, Option<Vec<u32>>)> =
            full.then(|| self.decide_batch(features, labels, predictions));
        let starts: Vec<usize> = (0..features.n).step_by(CHUNK_ROWS).collect();
        // Blocks summed side by side: a few per thread, at most ~256 MB of partial sums.
        let size = self.total.within.len().max(1) * 8;
        let group = (2 * rayon::current_num_threads().max(1))
            .min((256 << 20) / size)
            .max(1);
        for chunk_starts in starts.chunks(group) {
            let parts: Vec<Partial> = chunk_starts
                .par_iter()
                .map(|&start| {
                    let end = (start + CHUNK_ROWS).min(features.n);
                    let dec = decided.as_ref().map(|(ncm, net)| {
                        (&ncm[start..end], net.as_deref().map(|p| &p[start..end]))
                    });
                    self.chunk(features, labels, predictions, start, end, dec)
                })
                .collect();
            for part in parts {
                merge(&mut self.total, &part);
            }
        }
        self.n += features.n;
        labels.iter().for_each(|&y| self.counts[y as usize] += 1);
        Ok(())
    }

    /// Samples added so far (the sum of [`Self::class_counts`]).
    pub fn rows(&self) -> usize {
        self.n
    }

    /// Samples of each class added so far.
    pub fn class_counts(&self) -> &[usize] {
        &self.counts
    }

    /// The class statistics of pass 1 that this pass measures against.
    pub fn statistics(&self) -> &ClassStatistics {
        &self.stats
    }

    /// The Full route's decisions for a whole batch: the nearest class means and the network's
    /// (its predictions, else the classifier's). A sample that its class's certificates
    /// (`metrics::geometry`) settle is decided from its own distance to its class mean; only
    /// the others are scored against every class.
    fn decide_batch(
        &self,
        features: MatrixView<'_>,
        labels: &[u32],
        predictions: Option<&[u32]>,
    ) -> (Vec<u32>, Option<Vec<u32>>) {
        let (d, k) = (self.stats.d, self.stats.k);
        let dist: Vec<f64> = (0..features.n)
            .into_par_iter()
            .map(|i| {
                let mut row = vec![0.0; d];
                features.row_into(i, &mut row);
                let mu = self.stats.mean(labels[i] as usize);
                row.iter()
                    .zip(mu)
                    .map(|(x, m)| (x - m) * (x - m))
                    .sum::<f64>()
                    .sqrt()
            })
            .collect();
        // A relative safety margin over the rounding of the certificates' own arithmetic.
        const SAFE: f64 = 1.0 - 1e-9;
        let radius = &self.geometry.means.ncm_radius;
        let ncm = decide_uncertain(
            features,
            labels,
            |i| dist[i] < SAFE * radius[labels[i] as usize],
            |view| decisions::nearest_means(view, &self.stats.means, k),
        );
        let net = match (
            predictions,
            self.classifier.as_deref(),
            &self.geometry.weights,
        ) {
            (Some(p), _, _) => Some(p.to_vec()),
            (None, Some(c), Some(g)) => Some(decide_uncertain(
                features,
                labels,
                |i| {
                    let y = labels[i] as usize;
                    g.spread[y] * dist[i] < SAFE * g.margin[y]
                },
                |view| decisions::linear_decisions(view, &c.weights, &c.bias),
            )),
            _ => None,
        };
        (ncm, net)
    }

    /// The sums of rows `start..end`; `decided`: the Full route's decisions for them.
    fn chunk(
        &self,
        features: MatrixView<'_>,
        labels: &[u32],
        predictions: Option<&[u32]>,
        start: usize,
        end: usize,
        decided: Option<(&[u32], Option<&[u32]>)>,
    ) -> Partial {
        let (d, k, rows) = (self.stats.d, self.stats.k, end - start);
        let labels = &labels[start..end];
        let mut part = Partial {
            within: vec![0.0; self.total.within.len()],
            sum_sq_dev: 0.0,
            class_sum_sq_dev: vec![0.0; k],
            ncc_correct: 0,
            nc4_mismatches: 0,
        };
        let mut dev = vec![0.0; rows * d];
        features.rows.copy_to_f64(start * d, end * d, &mut dev);
        let mut sq = vec![0.0; rows];
        for (r, &y) in labels.iter().enumerate() {
            let row = &mut dev[r * d..(r + 1) * d];
            row.iter_mut()
                .zip(self.stats.mean(y as usize))
                .for_each(|(x, m)| *x -= m);
            sq[r] = row.iter().map(|x| x * x).sum();
            part.sum_sq_dev += sq[r];
            part.class_sum_sq_dev[y as usize] += sq[r];
        }
        let (ncm, net): (Vec<u32>, Option<Vec<u32>>) = match (&self.span, decided) {
            (Some(tables), _) => {
                let predictions = predictions.map(|p| &p[start..end]);
                self.span_chunk(tables, &dev, &sq, labels, predictions, &mut part.within)
            }
            (None, decided) => {
                syrk_lower_tn(&mut part.within, &dev, d, rows);
                // Without decisions only the scatter is wanted (`within_class_scatter`).
                let Some((ncm, net)) = decided else {
                    return part;
                };
                (ncm.to_vec(), net.map(<[u32]>::to_vec))
            }
        };
        part.ncc_correct = ncm.iter().zip(labels).filter(|(a, b)| a == b).count();
        if let Some(net) = net {
            part.nc4_mismatches = net.iter().zip(&ncm).filter(|(a, b)| a != b).count();
        }
        part
    }

    /// The Span route on one block of deviations `dev` (`rows x d`) with squared norms `sq`:
    /// adds `P^T P` to `within`, returns the nearest class means and the network decisions.
    fn span_chunk(
        &self,
        tables: &SpanTables,
        dev: &[f64],
        sq: &[f64],
        labels: &[u32],
        predictions: Option<&[u32]>,
        within: &mut [f64],
    ) -> (Vec<u32>, Option<Vec<u32>>) {
        let (d, k, rows) = (self.stats.d, self.stats.k, labels.len());
        let kk = tables.b_mat.len() / d;
        // T = B C^T: row c < K holds c_i . M_c, row K + c holds c_i . w_c.
        let mut t = vec![0.0; kk * rows];
        gemm_nt(&mut t, &tables.b_mat, dev, kk, rows, d, 1.0, false, false);
        let p_t = &t[..k * rows];
        syrk_lower_nt(within, p_t, k, rows);
        let mut best = vec![(f64::INFINITY, 0u32); rows];
        for c in 0..k {
            let row_c = &p_t[c * rows..(c + 1) * rows];
            for (r, &y) in labels.iter().enumerate() {
                let y = y as usize;
                let dist =
                    sq[r] + 2.0 * (p_t[y * rows + r] - row_c[r]) + tables.mean_dist2[y * k + c];
                if dist < best[r].0 {
                    best[r] = (dist, c as u32);
                }
            }
        }
        let ncm: Vec<u32> = best.iter().map(|b| b.1).collect();
        let net = match predictions {
            Some(p) => Some(p.to_vec()),
            None if kk > k => {
                // w_c . h_i + b_c = c_i . w_c + (w_c . mu_{y_i} + b_c); lowest index on a tie.
                let mut top = vec![(f64::NEG_INFINITY, 0u32); rows];
                for c in 0..k {
                    let row_c = &t[(k + c) * rows..(k + c + 1) * rows];
                    for (r, &y) in labels.iter().enumerate() {
                        let z = row_c[r] + tables.offset[y as usize * k + c];
                        if z > top[r].0 {
                            top[r] = (z, c as u32);
                        }
                    }
                }
                Some(top.iter().map(|b| b.1).collect())
            }
            None => None,
        };
        (ncm, net)
    }

    /// The sums divided by N.
    pub fn finish(self) -> Scatter {
        self.finish_owned().2
    }

    /// The class statistics, the classifier and the sums divided by N.
    pub fn finish_owned(self) -> (ClassStatistics, Option<Classifier>, Scatter) {
        let n = self.n;
        let inv = 1.0 / n as f64;
        let has_decisions = self.with_predictions == Some(true) || self.classifier.is_some();
        // The blocks summed the lower triangle of the symmetric scatter only.
        let mut within = self.total.within;
        mirror_lower(&mut within, self.route.side(self.stats.k, self.stats.d));
        within.iter_mut().for_each(|x| *x *= inv);
        let scatter = Scatter {
            geometry: self.geometry,
            route: self.route,
            n,
            within,
            trace_within: self.total.sum_sq_dev * inv,
            class_sum_sq_dev: self.total.class_sum_sq_dev,
            ncc_correct: self.total.ncc_correct,
            nc4_mismatches: has_decisions.then_some(self.total.nc4_mismatches),
        };
        (
            self.stats.into_owned(),
            self.classifier.map(Cow::into_owned),
            scatter,
        )
    }
}

impl ScatterAccumulator<'static> {
    /// Pass 2 owning its class statistics and classifier (for a streaming accumulator that
    /// outlives pass 1's results).
    pub fn owned(
        stats: ClassStatistics,
        classifier: Option<Classifier>,
        route: Option<Route>,
    ) -> Self {
        Self::with(Cow::Owned(stats), classifier.map(Cow::Owned), route)
    }
}

/// Each row's own label where `certain(row)`, else the decision `score` makes for it (on the
/// uncertain rows gathered into one matrix).
fn decide_uncertain(
    features: MatrixView<'_>,
    labels: &[u32],
    certain: impl Fn(usize) -> bool + Sync,
    score: impl Fn(MatrixView<'_>) -> Vec<u32>,
) -> Vec<u32> {
    let d = features.d;
    let open: Vec<usize> = (0..features.n).filter(|&i| !certain(i)).collect();
    let mut out = labels.to_vec();
    if open.is_empty() {
        return out;
    }
    let mut rows = vec![0.0; open.len() * d];
    for (r, &i) in open.iter().enumerate() {
        features.row_into(i, &mut rows[r * d..(r + 1) * d]);
    }
    for (&i, v) in open
        .iter()
        .zip(score(MatrixView::f64(&rows, open.len(), d)))
    {
        out[i] = v;
    }
    out
}

/// `total += part`.
fn merge(total: &mut Partial, part: &Partial) {
    total
        .within
        .iter_mut()
        .zip(&part.within)
        .for_each(|(a, b)| *a += b);
    total.sum_sq_dev += part.sum_sq_dev;
    total
        .class_sum_sq_dev
        .iter_mut()
        .zip(&part.class_sum_sq_dev)
        .for_each(|(a, b)| *a += b);
    total.ncc_correct += part.ncc_correct;
    total.nc4_mismatches += part.nc4_mismatches;
}

/// The Span route's tables: `[M; W]`, the logit offsets `w_c . mu_y + b_c` and the squared
/// distances between class means (from the Gram matrix of `M`: `mu_a - mu_b = M_a - M_b`).
fn span_tables(stats: &ClassStatistics, classifier: Option<&Classifier>) -> SpanTables {
    let (d, k) = (stats.d, stats.k);
    let gram = stats.centred_gram();
    let mut mean_dist2 = vec![0.0; k * k];
    for a in 0..k {
        for b in 0..k {
            mean_dist2[a * k + b] =
                (gram[a * k + a] + gram[b * k + b] - 2.0 * gram[a * k + b]).max(0.0);
        }
    }
    let mut b_mat = stats.centred_means.clone();
    let mut offset = Vec::new();
    if let Some(c) = classifier {
        b_mat.extend_from_slice(&c.weights);
        offset = vec![0.0; k * k];
        gemm_nt(
            &mut offset,
            &stats.means,
            &c.weights,
            k,
            k,
            d,
            1.0,
            false,
            false,
        );
        for row in offset.chunks_exact_mut(k) {
            row.iter_mut().zip(&c.bias).for_each(|(o, b)| *o += b);
        }
    }
    SpanTables {
        b_mat,
        offset,
        mean_dist2,
    }
}

/// The within-class scatter `S_W = (1/N) sum_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T` (`d x d`)
/// on its own (for metrics that need it whatever the route, such as the MSE decomposition).
pub fn within_class_scatter(
    features: MatrixView<'_>,
    labels: &[u32],
    stats: &ClassStatistics,
) -> Result<Vec<f64>> {
    let mut acc = ScatterAccumulator::new(stats, None, Some(Route::Full));
    acc.decide = false;
    acc.add(features, labels, None)?;
    Ok(acc.finish().within)
}
