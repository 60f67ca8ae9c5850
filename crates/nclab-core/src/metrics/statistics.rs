//! Pass 1 over the features: how many samples each class has, and its mean.
//!
//! [`MeanAccumulator`] takes the features batch by batch (in any number of batches: a dataset
//! that does not fit in memory streams through it) and keeps only `K x d` sums, so its memory
//! does not depend on `N`. The sums are made by blocks of a fixed size (rows when `K x d` is
//! small, columns otherwise) merged in a fixed order, so the result does not depend on the
//! number of threads.

use rayon::prelude::*;

use crate::labels::name_classes;
use crate::tensor::MatrixView;
use crate::{Error, Result};

/// Columns per task of the column-parallel sums.
const COLUMN_BLOCK: usize = 64;
/// Rows per task of the row-parallel sums.
const ROW_BLOCK: usize = 4096;
/// Up to this many `K x d` sums (64 MB), each row block keeps partial sums of its own.
const ROW_BLOCK_SUMS_LIMIT: usize = 8 << 20;

/// The largest feature magnitude accepted. The metrics take up to fourth powers of the
/// features (`S_B = M^T M / K`, then norms of `M M^T`), which stay inside f64's range
/// (1.8e308) below it.
pub const MAX_FEATURE: f64 = 1e60;

/// The smallest spread of the class means accepted (the largest entry of the centred means
/// `M`): a margin above about 1e-77, where the fourth powers that the metrics take underflow
/// to 0 or to subnormal numbers that have lost their digits (undefined metrics, or noise).
pub const MIN_SPREAD: f64 = 1e-60;

/// Whether a feature value is usable: finite and at most [`MAX_FEATURE`] in magnitude (one
/// comparison, false for NaN).
fn usable(v: f64) -> bool {
    v.abs() <= MAX_FEATURE
}

/// A feature that is not [`usable`]: its row, column and value.
type BadValue = (usize, usize, f64);

fn non_finite((i, j, v): BadValue) -> Error {
    if v.is_finite() {
        Error::invalid(format!(
            "features: value {v:e} at row {i}, column {j} is beyond +-{MAX_FEATURE:e}, where \
             the scatter matrices' sums of squares overflow; rescale the features (the \
             collapse metrics do not depend on their scale)"
        ))
    } else {
        Error::invalid(format!(
            "features: non-finite value {v} at row {i}, column {j}"
        ))
    }
}

/// Fails, naming the first row and column, unless every value of `features` is [`usable`]
/// (`first` is the row number of the batch's first row, for the message). Pass 1 checks as
/// it sums; a streamed pass 2, whose data may differ from pass 1's, checks with this first.
pub(crate) fn check_values(features: MatrixView<'_>, first: usize) -> Result<()> {
    let bad = (0..features.n)
        .into_par_iter()
        .step_by(ROW_BLOCK)
        .find_map_first(|start| {
            let mut row = vec![0.0; features.d];
            (start..(start + ROW_BLOCK).min(features.n)).find_map(|i| {
                features.row_into(i, &mut row);
                let j = row.iter().position(|&v| !usable(v))?;
                Some((first + i, j, row[j]))
            })
        });
    bad.map_or(Ok(()), |b| Err(non_finite(b)))
}

/// The class statistics of pass 1 (`docs/metrics.md`, "Means and covariances").
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ClassStatistics {
    /// Number of samples `N`.
    pub n: usize,
    /// Feature dimension `d`.
    pub d: usize,
    /// Number of classes `K`.
    pub k: usize,
    /// Samples per class `n_k`.
    pub counts: Vec<usize>,
    /// Class means `mu_k = (1/n_k) sum_{y_i = k} h_i`, `K x d` row-major.
    pub means: Vec<f64>,
    /// Global (sample) mean `mu_G = (1/N) sum_i h_i`, `d`.
    pub global_mean: Vec<f64>,
    /// Centred class means `M`, row k = `mu_k - mu_G`, `K x d` row-major.
    pub centred_means: Vec<f64>,
}

impl ClassStatistics {
    /// Gram matrix of the centred means, `M M^T` (`K x K`; O(K^2 d) time, O(K^2) memory).
    pub fn centred_gram(&self) -> Vec<f64> {
        let mut g = vec![0.0; self.k * self.k];
        crate::linalg::gemm_nt(
            &mut g,
            &self.centred_means,
            &self.centred_means,
            self.k,
            self.k,
            self.d,
            1.0,
            false,
            true,
        );
        g
    }

    /// Row `c` of the class means.
    pub fn mean(&self, c: usize) -> &[f64] {
        &self.means[c * self.d..(c + 1) * self.d]
    }
}

/// Sums features by class, batch by batch: pass 1 of the metrics.
#[derive(Clone, Debug)]
pub struct MeanAccumulator {
    k: usize,
    d: usize,
    n: usize,
    counts: Vec<usize>,
    /// `K x d` per-class sums, row-major.
    sums: Vec<f64>,
}

impl MeanAccumulator {
    /// An empty accumulator for `k` classes of `d`-dimensional features. Errors: `K < 2`,
    /// `d = 0`, or `K x d` sums that would not fit in memory's address space.
    pub fn new(k: usize, d: usize) -> Result<Self> {
        if k < 2 {
            return Err(Error::invalid(format!(
                "neural-collapse metrics need at least 2 classes, got K = {k}"
            )));
        }
        if d == 0 {
            return Err(Error::invalid("features have 0 columns"));
        }
        let too_big = || {
            Error::invalid(format!(
                "K = {k} classes of dimension d = {d} need {k} x {d} sums ({:.1} GB), more \
                 than can be allocated",
                k as f64 * d as f64 * 8e-9
            ))
        };
        let len = k.checked_mul(d).ok_or_else(too_big)?;
        let mut sums = Vec::new();
        sums.try_reserve_exact(len).map_err(|_| too_big())?;
        sums.resize(len, 0.0);
        let mut counts = Vec::new();
        counts.try_reserve_exact(k).map_err(|_| too_big())?;
        counts.resize(k, 0);
        Ok(MeanAccumulator {
            k,
            d,
            n: 0,
            counts,
            sums,
        })
    }

    /// Samples seen so far.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The per-class sums so far, `K x d` row-major.
    pub fn sums(&self) -> &[f64] {
        &self.sums
    }

    /// Adds a batch: `features` (`rows x d`) with their `labels` (in `0..K`). Errors, which
    /// leave the accumulator unchanged, name the row (counted over every batch so far):
    /// lengths that differ, a label out of range, a NaN or infinite feature.
    pub fn add(&mut self, features: MatrixView<'_>, labels: &[u32]) -> Result<()> {
        let (rows, d, k, first) = (features.n, self.d, self.k, self.n);
        check_batch(features, labels, k, d, first)?;
        let sums = if k * d <= ROW_BLOCK_SUMS_LIMIT {
            self.sums_by_row_blocks(features, labels)?
        } else {
            self.sums_by_column_blocks(features, labels)?
        };
        self.sums = sums;
        for &y in labels {
            self.counts[y as usize] += 1;
        }
        self.n += rows;
        Ok(())
    }

    /// The new sums with the batch added, by fixed blocks of rows summed side by side into
    /// partial `K x d` sums (a few blocks at a time), added to the total in block order: one
    /// sequential read of the features.
    fn sums_by_row_blocks(&self, features: MatrixView<'_>, labels: &[u32]) -> Result<Vec<f64>> {
        let (d, k, first) = (self.d, self.k, self.n);
        let starts: Vec<usize> = (0..features.n).step_by(ROW_BLOCK).collect();
        let group = (2 * rayon::current_num_threads()).max(1);
        let mut sums = self.sums.clone();
        for group_starts in starts.chunks(group) {
            let parts: Vec<std::result::Result<Vec<f64>, BadValue>> = group_starts
                .par_iter()
                .map(|&start| {
                    let end = (start + ROW_BLOCK).min(features.n);
                    let mut part = vec![0.0; k * d];
                    let mut row = vec![0.0; d];
                    for (i, &y) in labels.iter().enumerate().take(end).skip(start) {
                        features.row_into(i, &mut row);
                        if let Some(j) = row.iter().position(|&v| !usable(v)) {
                            return Err((first + i, j, row[j]));
                        }
                        let y = y as usize;
                        part[y * d..(y + 1) * d]
                            .iter_mut()
                            .zip(&row)
                            .for_each(|(s, v)| *s += v);
                    }
                    Ok(part)
                })
                .collect();
            for part in parts {
                let part = part.map_err(non_finite)?;
                sums.iter_mut().zip(&part).for_each(|(s, p)| *s += p);
            }
        }
        Ok(sums)
    }

    /// The new sums with the batch added, by blocks of columns of every class's sum (disjoint
    /// memory, no partial copies: for large `K x d`), each running over the rows in order.
    fn sums_by_column_blocks(&self, features: MatrixView<'_>, labels: &[u32]) -> Result<Vec<f64>> {
        let (d, k, first) = (self.d, self.k, self.n);
        let blocks: Vec<(usize, usize)> = (0..d)
            .step_by(COLUMN_BLOCK)
            .map(|j| (j, (j + COLUMN_BLOCK).min(d)))
            .collect();
        let parts: Vec<std::result::Result<Vec<f64>, BadValue>> = blocks
            .par_iter()
            .map(|&(j0, j1)| {
                let width = j1 - j0;
                let mut part = vec![0.0; k * width];
                for (c, dst) in part.chunks_exact_mut(width).enumerate() {
                    dst.copy_from_slice(&self.sums[c * d + j0..c * d + j1]);
                }
                let mut row = vec![0.0; width];
                for (i, &y) in labels.iter().enumerate() {
                    features.rows.copy_to_f64(i * d + j0, i * d + j1, &mut row);
                    if let Some(j) = row.iter().position(|&v| !usable(v)) {
                        return Err((first + i, j0 + j, row[j]));
                    }
                    let dst = &mut part[y as usize * width..(y as usize + 1) * width];
                    dst.iter_mut().zip(&row).for_each(|(s, v)| *s += v);
                }
                Ok(part)
            })
            .collect();
        let bad = parts
            .iter()
            .filter_map(|p| p.as_ref().err())
            .min_by_key(|b| (b.0, b.1));
        if let Some(&b) = bad {
            return Err(non_finite(b));
        }
        let mut sums = vec![0.0; k * d];
        for (&(j0, j1), part) in blocks.iter().zip(parts) {
            let width = j1 - j0;
            for (c, src) in part.expect("checked above").chunks_exact(width).enumerate() {
                sums[c * d + j0..c * d + j1].copy_from_slice(src);
            }
        }
        Ok(sums)
    }

    /// Fails, naming them, when some classes have no sample yet.
    pub fn check_every_class(&self) -> Result<()> {
        let k = self.k;
        let empty: Vec<usize> = (0..k).filter(|&c| self.counts[c] == 0).collect();
        if empty.is_empty() {
            return Ok(());
        }
        let verb = if empty.len() == 1 { "has" } else { "have" };
        Err(Error::invalid(format!(
            "{} {verb} no sample (K = {k}); every class needs at least one",
            name_classes(&empty)
        )))
    }

    /// The class statistics. Error: a class with no sample (named).
    pub fn finish(self) -> Result<ClassStatistics> {
        self.check_every_class()?;
        let (n, d, k) = (self.n, self.d, self.k);
        let mut global_mean = vec![0.0; d];
        for c in 0..k {
            for (g, s) in global_mean.iter_mut().zip(&self.sums[c * d..(c + 1) * d]) {
                *g += s;
            }
        }
        global_mean.iter_mut().for_each(|g| *g /= n as f64);
        let mut means = self.sums;
        for (c, row) in means.chunks_exact_mut(d).enumerate() {
            let inv = 1.0 / self.counts[c] as f64;
            row.iter_mut().for_each(|m| *m *= inv);
        }
        let mut centred_means = means.clone();
        for row in centred_means.chunks_exact_mut(d) {
            row.iter_mut().zip(&global_mean).for_each(|(m, g)| *m -= g);
        }
        let spread = centred_means.iter().fold(0.0f64, |a, m| a.max(m.abs()));
        if spread > 0.0 && spread < MIN_SPREAD {
            return Err(Error::invalid(format!(
                "features: the class means differ by at most {spread:e}, below {MIN_SPREAD:e}, \
                 where the metrics' sums of squares underflow; rescale the features (the \
                 collapse metrics do not depend on their scale)"
            )));
        }
        Ok(ClassStatistics {
            n,
            d,
            k,
            counts: self.counts,
            means,
            global_mean,
            centred_means,
        })
    }
}

/// The checks of a batch: `labels` one per row, every label in `0..k`, the dimension `d`.
/// `first` is the number of rows seen before, so that errors count rows over all batches.
pub(crate) fn check_batch(
    features: MatrixView<'_>,
    labels: &[u32],
    k: usize,
    d: usize,
    first: usize,
) -> Result<()> {
    if features.d != d {
        return Err(Error::invalid(format!(
            "features have {} columns, expected d = {d}",
            features.d
        )));
    }
    if labels.len() != features.n {
        return Err(Error::invalid(format!(
            "features have {} rows but labels have {} entries",
            features.n,
            labels.len()
        )));
    }
    if let Some((i, &y)) = labels.iter().enumerate().find(|(_, &y)| y as usize >= k) {
        return Err(Error::invalid(format!(
            "label {y} at row {} is out of range for {k} classes (0..{})",
            first + i,
            k - 1
        )));
    }
    Ok(())
}

/// Pass 1 in one call: the class statistics of `features` with `labels` for `k` classes.
///
/// Errors: `K < 2`; features and labels of different lengths; a label out of range; a class
/// with no sample (named); a NaN or infinite feature (its row is named).
pub fn class_statistics(
    features: MatrixView<'_>,
    labels: &[u32],
    k: usize,
) -> Result<ClassStatistics> {
    let mut acc = MeanAccumulator::new(k, features.d)?;
    acc.add(features, labels)?;
    acc.finish()
}
