//! Mistake metrics (docs/losses-and-hierarchies.md), on logits or probabilities against labels, with the
//! classes ranked either by score or by CRM.
//!
//! For a sample with true class `t` and classes ranked `r_1, r_2, ...` (best first; equal
//! scores keep the lower class index first), with `d` the LCA-height distance and
//! `s(a, t) = 1 - d(a, t) / max d` the hierarchical similarity:
//! * `top{k}_error`: fraction of samples with `t` not among `r_1..r_k`.
//! * `mistake_severity`: mean of `d(r_1, t)` over the samples whose top-1 is wrong (NaN when
//!   there is no mistake).
//! * `hdist@k`: mean over samples of `(1/k) sum_{j<=k} d(r_j, t)` (Bertinetto et al. 2020's
//!   average hierarchical distance of the top k; the correct class counts 0).
//! * `hprecision@k`: mean over samples of `sum_{j<=k} s(r_j, t) / sum_{j<=k} s*_j(t)`, where
//!   `s*_1(t) >= s*_2(t) >= ...` are the similarities of all classes to `t` sorted
//!   decreasingly (the best any ranking can do; `s*_1 = 1`, `t` itself). This is the
//!   hierarchical precision of Deng et al. / Frome et al. as computed by Bertinetto et al.
//!   2020 and Karthik et al. 2021.
//! * `hmap@k`: mean over samples of `(1/k) sum_{i<=k} hprecision@i` (per sample).
//!
//! **CRM** (Karthik et al. 2021): with `p = softmax(logits)` (or the given probabilities), the
//! classes are ranked by increasing risk `R = p D` (D the K x K matrix of d), i.e. by the
//! score `-(p D)`. The product is a dense matrix product over chunks of rows (faer), so the
//! cost is O(N K^2) flops in a GEMM plus O(N K) for the ranking, and memory O(K^2 + chunk K).
//!
//! Top-k ranking is a partial selection (a bounded insertion buffer), never a full sort.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef};

use crate::hierarchy::Hierarchy;
use crate::tensor::MatrixView;
use crate::{Error, Result};

/// How the classes of a sample are ranked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ranking {
    /// By the scores themselves (logits or probabilities), highest first.
    Scores,
    /// By conditional risk `p D`, lowest first.
    Crm,
}

/// What the score matrix holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScoreKind {
    /// Unnormalised logits (CRM applies a softmax).
    Logits,
    /// Probabilities: non-negative rows summing to 1 (checked to 1e-3).
    Probabilities,
}

/// The mistake metrics of one ranking, for each k of [`MistakeEvaluator::ks`].
#[derive(Clone, Debug, PartialEq)]
pub struct MistakeMetrics {
    pub n: usize,
    pub ks: Vec<usize>,
    pub top_k_error: Vec<f64>,
    pub mistake_severity: f64,
    pub hdist: Vec<f64>,
    pub hprecision: Vec<f64>,
    pub hmap: Vec<f64>,
}

impl MistakeMetrics {
    /// `(name, value)` pairs named as in the spec: `top{k}_error` for each k,
    /// `mistake_severity`, then `hdist@{k}`, `hprecision@{k}`, `hmap@{k}` for each k.
    pub fn entries(&self) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for (i, k) in self.ks.iter().enumerate() {
            out.push((format!("top{k}_error"), self.top_k_error[i]));
        }
        out.push(("mistake_severity".to_string(), self.mistake_severity));
        for (name, v) in [
            ("hdist", &self.hdist),
            ("hprecision", &self.hprecision),
            ("hmap", &self.hmap),
        ] {
            for (i, k) in self.ks.iter().enumerate() {
                out.push((format!("{name}@{k}"), v[i]));
            }
        }
        out
    }
}

impl MistakeMetrics {
    /// The mistake columns of a run directory's `metrics.csv` (docs/run-directory.md), for
    /// the cut-offs of [`MistakeEvaluator::top1_top5`]: `top1_error`, `top5_error`,
    /// `mistake_severity` (`None` without a mistake), `hdist@1`, `hdist@5`.
    pub fn run_columns(&self) -> Vec<(String, Option<f64>)> {
        let last = self.ks.len() - 1;
        let finite = |v: f64| v.is_finite().then_some(v);
        vec![
            ("top1_error".into(), Some(self.top_k_error[0])),
            ("top5_error".into(), Some(self.top_k_error[last])),
            ("mistake_severity".into(), finite(self.mistake_severity)),
            ("hdist@1".into(), Some(self.hdist[0])),
            ("hdist@5".into(), Some(self.hdist[last])),
        ]
    }
}

/// Precomputed distances for the mistake metrics of one hierarchy and set of k.
#[derive(Clone, Debug)]
pub struct MistakeEvaluator {
    k: usize,
    ks: Vec<usize>,
    kmax: usize,
    /// d, K x K row-major (symmetric).
    d: Vec<f64>,
    max_d: f64,
    /// `best_cum[t * kmax + j]` = `sum_{i<=j} s*_i(t)` (j from 0).
    best_cum: Vec<f64>,
    /// `nearest_cum[t * kmax + j]` = `sum_{i<=j} d*_i(t)`, the `j + 1` smallest distances to
    /// `t` (j from 0; `d*_1(t) = 0`, t itself).
    nearest_cum: Vec<f64>,
    chunk_rows: usize,
}

impl MistakeEvaluator {
    /// The cut-offs of a run's columns: top-1 and top-5 (top-K when there are fewer than 5
    /// classes, still reported as `top5_error` and `hdist@5`: every class is then in the top 5).
    pub fn top1_top5(h: &Hierarchy) -> Result<MistakeEvaluator> {
        MistakeEvaluator::new(h, &[1, 5.min(h.num_classes())])
    }

    /// For hierarchy `h` (K >= 2 classes) and the cut-offs `ks` (each in 1..=K; 1 is always
    /// added, duplicates dropped, sorted).
    pub fn new(h: &Hierarchy, ks: &[usize]) -> Result<MistakeEvaluator> {
        let k = h.num_classes();
        if k < 2 {
            return Err(Error::invalid(format!(
                "hierarchy '{}' has {k} class; mistake metrics need at least 2",
                h.source()
            )));
        }
        let mut ks: Vec<usize> = ks.to_vec();
        ks.push(1);
        ks.sort_unstable();
        ks.dedup();
        if let Some(&bad) = ks.iter().find(|&&x| x == 0 || x > k) {
            return Err(Error::invalid(format!(
                "k = {bad} is out of range: top-k needs 1 <= k <= {k} (the number of classes)"
            )));
        }
        let kmax = *ks.last().unwrap();
        let d = h.distance_matrix_of_any_size()?;
        let max_d = h.max_distance() as f64;
        let mut best_cum = vec![0.0; k * kmax];
        let mut nearest_cum = vec![0.0; k * kmax];
        let mut row = vec![0.0; k];
        for t in 0..k {
            row.copy_from_slice(&d[t * k..(t + 1) * k]);
            // The kmax smallest distances, ascending (partial selection, then a small sort).
            if kmax < k {
                row.select_nth_unstable_by(kmax - 1, |a, b| a.total_cmp(b));
            }
            let best = &mut row[..kmax];
            best.sort_unstable_by(|a, b| a.total_cmp(b));
            let (mut acc, mut near) = (0.0, 0.0);
            for (j, &dist) in best.iter().enumerate() {
                acc += 1.0 - dist / max_d;
                near += dist;
                best_cum[t * kmax + j] = acc;
                nearest_cum[t * kmax + j] = near;
            }
        }
        Ok(MistakeEvaluator {
            k,
            ks,
            kmax,
            d,
            max_d,
            best_cum,
            nearest_cum,
            chunk_rows: (1 << 22) / k,
        })
    }

    /// Rows per chunk (at least 1); the default keeps a chunk near 4M values.
    pub fn with_chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = rows.max(1);
        self
    }

    /// The number of classes K of the hierarchy.
    pub fn num_classes(&self) -> usize {
        self.k
    }

    /// The cut-offs, sorted, 1 included.
    pub fn ks(&self) -> &[usize] {
        &self.ks
    }

    /// The distance matrix d (K x K, row-major) used here.
    pub fn distances(&self) -> &[f64] {
        &self.d
    }

    /// The floor of `hdist@k` for each k of [`ks`](Self::ks): the least value any ranking of
    /// the classes reaches on samples with these `labels`,
    /// `(1/N) sum_n (1/k) sum_{j<=k} d*_j(t_n)`, where `d*_1(t) <= d*_2(t) <= ...` are the
    /// distances of all classes to `t` sorted increasingly (`d*_1(t) = 0`, t itself): the
    /// ranking that lists the classes nearest the true one first. Labels `0..K` once each
    /// give the floor of a test set whose classes are equally frequent.
    pub fn hdist_floor(&self, labels: &[usize]) -> Result<Vec<f64>> {
        self.check_inputs(labels.len(), self.k, labels)?;
        // The distance sums first, divided once: with whole-number distances every sum is
        // exact, so the floor is the one rounding of a fraction (flat:10 gives 40/50 = 0.8).
        let sums = labels
            .iter()
            .fold(vec![0.0; self.ks.len()], |mut sums, &t| {
                let nearest = &self.nearest_cum[t * self.kmax..(t + 1) * self.kmax];
                for (sum, &k) in sums.iter_mut().zip(&self.ks) {
                    *sum += nearest[k - 1];
                }
                sums
            });
        let n = labels.len() as f64;
        Ok(sums
            .into_iter()
            .zip(&self.ks)
            .map(|(s, &k)| s / (k as f64 * n))
            .collect())
    }

    /// Scores every sample of `scores` (N x K) against `labels` with the given ranking.
    /// Errors name a size mismatch, a label out of range or a non-finite score (by row).
    pub fn evaluate(
        &self,
        scores: MatrixView<'_>,
        kind: ScoreKind,
        labels: &[usize],
        ranking: Ranking,
    ) -> Result<MistakeMetrics> {
        self.check_inputs(scores.n, scores.d, labels)?;
        let mut acc = Accumulator::new(self.ks.len());
        self.for_each_ranked(scores, kind, ranking, |i, top| {
            self.accumulate(top, labels[i], &mut acc)
        })?;
        Ok(acc.into_metrics(scores.n, &self.ks))
    }

    /// The largest cut-off's classes of every sample, best first, ranked as [`evaluate`]
    /// ranks them: row-major, `N x max(ks)` (the per-image values behind the metrics, for a
    /// run's `test_predictions.csv`). Errors as [`evaluate`]'s.
    ///
    /// [`evaluate`]: MistakeEvaluator::evaluate
    pub fn top_classes(
        &self,
        scores: MatrixView<'_>,
        kind: ScoreKind,
        labels: &[usize],
        ranking: Ranking,
    ) -> Result<Vec<usize>> {
        self.check_inputs(scores.n, scores.d, labels)?;
        let mut out = Vec::with_capacity(scores.n * self.kmax);
        self.for_each_ranked(scores, kind, ranking, |_, top| out.extend_from_slice(top))?;
        Ok(out)
    }

    /// Calls `f(i, top)` for every sample i in order, `top` its `kmax` best classes, best
    /// first, reading the scores in chunks of rows (inputs checked by the caller).
    fn for_each_ranked(
        &self,
        scores: MatrixView<'_>,
        kind: ScoreKind,
        ranking: Ranking,
        mut f: impl FnMut(usize, &[usize]),
    ) -> Result<()> {
        let (n, k) = (scores.n, scores.d);
        let chunk = self.chunk_rows.min(n);
        let mut buf = vec![0.0; chunk * k];
        let mut risk = if ranking == Ranking::Crm {
            vec![0.0; chunk * k]
        } else {
            Vec::new()
        };
        let mut top = TopK::new(self.kmax);
        let mut start = 0;
        while start < n {
            let rows = chunk.min(n - start);
            let block = &mut buf[..rows * k];
            scores
                .rows
                .copy_to_f64(start * k, (start + rows) * k, block);
            for (r, row) in block.chunks_exact_mut(k).enumerate() {
                check_row(row, start + r, kind)?;
            }
            let ranked: &[f64] = match ranking {
                Ranking::Scores => block,
                Ranking::Crm => self.negative_risk(block, kind, &mut risk[..rows * k]),
            };
            for (r, row) in ranked.chunks_exact(k).enumerate() {
                top.select(row);
                f(start + r, top.indices());
            }
            start += rows;
        }
        Ok(())
    }

    /// The sizes agree (`k` score columns for the hierarchy's classes, one label per row),
    /// there is at least one sample, and every label is a class (`< k`).
    fn check_inputs(&self, n: usize, k: usize, labels: &[usize]) -> Result<()> {
        if k != self.k {
            return Err(Error::invalid(format!(
                "scores have {k} columns but the hierarchy has {} classes",
                self.k
            )));
        }
        if labels.len() != n {
            return Err(Error::invalid(format!(
                "{n} rows of scores but {} labels",
                labels.len()
            )));
        }
        if n == 0 {
            return Err(Error::invalid("no samples to evaluate"));
        }
        if let Some((i, &t)) = labels.iter().enumerate().find(|(_, &t)| t >= k) {
            return Err(Error::invalid(format!(
                "label {t} of sample {i} is out of range 0..{k}"
            )));
        }
        Ok(())
    }

    /// The CRM scores of a block of rows, written into `out`: `-(P D)`, with `P` the rows as
    /// probabilities (a softmax of each row first, in place, when they are logits) and `D`
    /// the distance matrix. The highest score is the lowest conditional risk.
    fn negative_risk<'o>(
        &self,
        block: &mut [f64],
        kind: ScoreKind,
        out: &'o mut [f64],
    ) -> &'o [f64] {
        let k = self.k;
        let rows = block.len() / k;
        if kind == ScoreKind::Logits {
            block.chunks_exact_mut(k).for_each(softmax_in_place);
        }
        // risk = -(P D): the score to maximise.
        matmul(
            MatMut::from_row_major_slice_mut(out, rows, k),
            Accum::Replace,
            MatRef::from_row_major_slice(block, rows, k),
            MatRef::from_row_major_slice(&self.d, k, k),
            -1.0,
            faer::get_global_parallelism(),
        );
        out
    }

    /// Adds one sample's contributions, given its top-kmax classes best first.
    fn accumulate(&self, ranked: &[usize], t: usize, acc: &mut Accumulator) {
        let drow = &self.d[t * self.k..(t + 1) * self.k];
        let best = &self.best_cum[t * self.kmax..(t + 1) * self.kmax];
        if ranked[0] != t {
            acc.severity_sum += drow[ranked[0]];
            acc.severity_count += 1;
        }
        let mut found = false;
        let mut dist_sum = 0.0;
        let mut sim_sum = 0.0;
        let mut prec_sum = 0.0;
        let mut next = 0;
        for (j, &a) in ranked.iter().enumerate() {
            found |= a == t;
            dist_sum += drow[a];
            sim_sum += 1.0 - drow[a] / self.max_d;
            let prec = sim_sum / best[j];
            prec_sum += prec;
            let kk = j + 1;
            if self.ks[next] == kk {
                if !found {
                    acc.wrong[next] += 1.0;
                }
                acc.hdist[next] += dist_sum;
                acc.hprec[next] += prec;
                acc.hmap[next] += prec_sum / kk as f64;
                next += 1;
            }
        }
    }
}

/// Sums over the samples, one entry per cut-off k: the samples whose true class is not in the
/// top k (`wrong`), the distances `d(r_j, t)` of the top k (`hdist`: whole numbers, so the
/// sum is exact), and the per-sample `hprecision@k` and `hmap@k`; with the sum and count of
/// `d(r_1, t)` over the top-1 mistakes.
struct Accumulator {
    wrong: Vec<f64>,
    severity_sum: f64,
    severity_count: usize,
    hdist: Vec<f64>,
    hprec: Vec<f64>,
    hmap: Vec<f64>,
}

impl Accumulator {
    /// All sums zero, for `nk` cut-offs.
    fn new(nk: usize) -> Self {
        Accumulator {
            wrong: vec![0.0; nk],
            severity_sum: 0.0,
            severity_count: 0,
            hdist: vec![0.0; nk],
            hprec: vec![0.0; nk],
            hmap: vec![0.0; nk],
        }
    }

    /// The metrics of `n` samples: each sum divided by `n` (`hdist`'s by `k n`), and
    /// `mistake_severity` the mean over the mistakes (NaN without one).
    fn into_metrics(self, n: usize, ks: &[usize]) -> MistakeMetrics {
        let nf = n as f64;
        MistakeMetrics {
            n,
            ks: ks.to_vec(),
            top_k_error: self.wrong.iter().map(|x| x / nf).collect(),
            mistake_severity: if self.severity_count == 0 {
                f64::NAN
            } else {
                self.severity_sum / self.severity_count as f64
            },
            // The distance sums divided once, as the floor's (exact sums of whole numbers).
            hdist: self
                .hdist
                .iter()
                .zip(ks)
                .map(|(x, &k)| x / (k as f64 * nf))
                .collect(),
            hprecision: self.hprec.iter().map(|x| x / nf).collect(),
            hmap: self.hmap.iter().map(|x| x / nf).collect(),
        }
    }
}

fn check_row(row: &[f64], i: usize, kind: ScoreKind) -> Result<()> {
    if let Some(j) = row.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!(
            "row {i} of the scores has a non-finite value ({}) in column {j}",
            row[j]
        )));
    }
    if kind == ScoreKind::Probabilities {
        let s: f64 = row.iter().sum();
        if row.iter().any(|&v| v < 0.0) || (s - 1.0).abs() > 1e-3 {
            return Err(Error::invalid(format!(
                "row {i} is not a probability vector (sum {s}, or a negative entry); \
                 pass logits instead"
            )));
        }
    }
    Ok(())
}

fn softmax_in_place(row: &mut [f64]) {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut s = 0.0;
    for v in row.iter_mut() {
        *v = (*v - m).exp();
        s += *v;
    }
    let inv = 1.0 / s;
    row.iter_mut().for_each(|v| *v *= inv);
}

/// The indices of the `k` largest values of a row, largest first; equal values keep the lower
/// index first. A bounded insertion buffer: O(K) when few values enter it, O(K k) at worst.
pub struct TopK {
    k: usize,
    vals: Vec<f64>,
    idx: Vec<usize>,
}

impl TopK {
    pub fn new(k: usize) -> TopK {
        TopK {
            k,
            vals: Vec::with_capacity(k + 1),
            idx: Vec::with_capacity(k + 1),
        }
    }

    /// Selects the top k of `row` (k <= row length).
    pub fn select(&mut self, row: &[f64]) {
        self.vals.clear();
        self.idx.clear();
        for (a, &v) in row.iter().enumerate() {
            if self.vals.len() == self.k {
                // Strictly greater than the current k-th: an equal value has a higher index.
                if v <= self.vals[self.k - 1] {
                    continue;
                }
                self.vals.pop();
                self.idx.pop();
            }
            // Insert after every value >= v (lower indices first among equals).
            let pos = self.vals.partition_point(|&x| x >= v);
            self.vals.insert(pos, v);
            self.idx.insert(pos, a);
        }
    }

    /// The selected indices, best first.
    pub fn indices(&self) -> &[usize] {
        &self.idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hierarchy::parse_edges;
    use crate::rng::Rng;

    /// root -> { x -> {a, b}, c }: d(a,b) = 1, d(a,c) = d(b,c) = 2, max d = 2.
    fn tree3() -> Hierarchy {
        parse_edges("root x\nx a\nx b\nroot c\n", "tree3").unwrap()
    }

    #[test]
    fn top_k_selection_orders_and_breaks_ties_by_index() {
        let mut t = TopK::new(3);
        t.select(&[1.0, 5.0, 3.0, 5.0, 0.0, 4.0]);
        assert_eq!(t.indices(), &[1, 3, 5]);
        t.select(&[2.0, 2.0, 2.0, 2.0]);
        assert_eq!(t.indices(), &[0, 1, 2]);
    }

    #[test]
    fn hand_made_metrics_on_a_three_class_tree() {
        let h = tree3();
        let ev = MistakeEvaluator::new(&h, &[2]).unwrap();
        // Rankings: s1 t=a: a,b,c; s2 t=a: b,c,a; s3 t=c: c,a,b; s4 t=c: a,c,b.
        let z = [3.0, 2.0, 1.0, 1.0, 3.0, 2.0, 2.0, 1.0, 3.0, 3.0, 1.0, 2.0];
        let m = ev
            .evaluate(
                MatrixView::f64(&z, 4, 3),
                ScoreKind::Logits,
                &[0, 0, 2, 2],
                Ranking::Scores,
            )
            .unwrap();
        assert_eq!(m.ks, vec![1, 2]);
        // top-1 wrong: s2, s4; top-2 wrong: s2 only.
        assert_eq!(m.top_k_error, vec![0.5, 0.25]);
        // severity: s2 d(b,a) = 1, s4 d(a,c) = 2 -> 1.5.
        assert_eq!(m.mistake_severity, 1.5);
        // hdist@1 = (0+1+0+2)/4; hdist@2 = (0.5 + 1.5 + 1 + 1)/4.
        assert_eq!(m.hdist, vec![0.75, 1.0]);
        // similarities 1 - d/2: d 0 -> 1, 1 -> 0.5, 2 -> 0. Best cumulative: t=a (1, 1.5),
        // t=c (1, 1). hprecision@1 = (1 + 0.5 + 1 + 0)/4 = 0.625;
        // hprecision@2 = (1.5/1.5 + 0.5/1.5 + 1/1 + 1/1)/4 = (3 + 1/3)/4.
        assert!((m.hprecision[0] - 0.625).abs() < 1e-15);
        assert!((m.hprecision[1] - (3.0 + 1.0 / 3.0) / 4.0).abs() < 1e-15);
        // hmap@2 per sample: (1+1)/2, (0.5+1/3)/2, (1+1)/2, (0+1)/2 -> mean 0.7291666...
        assert_eq!(m.hmap[0], m.hprecision[0]);
        assert!((m.hmap[1] - (1.0 + (0.5 + 1.0 / 3.0) / 2.0 + 1.0 + 0.5) / 4.0).abs() < 1e-15);
        assert!((m.hmap[1] - 0.729_166_666_666_666_6).abs() < 1e-12);
        let names: Vec<String> = m.entries().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "top1_error",
                "top2_error",
                "mistake_severity",
                "hdist@1",
                "hdist@2",
                "hprecision@1",
                "hprecision@2",
                "hmap@1",
                "hmap@2"
            ]
        );
    }

    #[test]
    fn top_classes_are_the_rankings_behind_the_metrics() {
        let ev = MistakeEvaluator::new(&tree3(), &[2]).unwrap();
        // The samples of the hand-made test: a,b,c; b,c,a; c,a,b; a,c,b (k = 2 kept).
        let z = [3.0, 2.0, 1.0, 1.0, 3.0, 2.0, 2.0, 1.0, 3.0, 3.0, 1.0, 2.0];
        let top = |r| {
            ev.top_classes(
                MatrixView::f64(&z, 4, 3),
                ScoreKind::Logits,
                &[0, 0, 2, 2],
                r,
            )
            .unwrap()
        };
        assert_eq!(top(Ranking::Scores), vec![0, 1, 1, 2, 2, 0, 0, 2]);
        // CRM ranks by p D: the same checks on the inputs, one row of k classes per sample.
        assert_eq!(top(Ranking::Crm).len(), 8);
        let bad = ev.top_classes(
            MatrixView::f64(&z, 4, 3),
            ScoreKind::Logits,
            &[0, 0, 2, 3],
            Ranking::Scores,
        );
        assert!(bad.unwrap_err().to_string().contains("label 3 of sample 3"));
    }

    #[test]
    fn hdist_floor_lists_the_nearest_classes_first() {
        let ev = MistakeEvaluator::new(&tree3(), &[2]).unwrap();
        // t = a: a (0), then b (1) -> floor@2 = 0.5; t = c: c (0), then a or b (2) -> 1.
        assert_eq!(ev.hdist_floor(&[0, 0, 2, 2]).unwrap(), vec![0.0, 0.75]);
        assert_eq!(ev.hdist_floor(&[2]).unwrap(), vec![0.0, 1.0]);
        // Scores that rank every sample nearest-first reach it: a,b,c for t = a; c,a,b for c.
        let z = [3.0, 2.0, 1.0, 3.0, 2.0, 1.0, 2.0, 1.0, 3.0, 2.0, 1.0, 3.0];
        let labels = [0, 0, 2, 2];
        let m = ev
            .evaluate(
                MatrixView::f64(&z, 4, 3),
                ScoreKind::Logits,
                &labels,
                Ranking::Scores,
            )
            .unwrap();
        assert_eq!(m.hdist, ev.hdist_floor(&labels).unwrap());
        let err = ev.hdist_floor(&[0, 3]).unwrap_err().to_string();
        assert!(err.contains("label 3 of sample 1"), "{err}");
        assert!(ev.hdist_floor(&[]).is_err());
    }

    #[test]
    fn hdist_floor_of_the_fashion_mnist_tree_by_hand() {
        let h = crate::hierarchy::fashion_mnist();
        let ev = MistakeEvaluator::top1_top5(&h).unwrap();
        // The 5 nearest classes (itself included) of each class and their distance sum:
        // the four upper-body classes 0+1+1+1+2 = 5; dress and trouser 0+1+2+2+2 = 7; the
        // three footwear classes 0+1+1+3+3 = 8; bag 0+3+3+3+3 = 12. Equal class counts:
        // (4 x 5 + 2 x 7 + 3 x 8 + 12) / (10 x 5) = 70 / 50.
        let all: Vec<usize> = (0..10).collect();
        let floor = ev.hdist_floor(&all).unwrap();
        assert_eq!(floor[0], 0.0);
        assert!((floor[1] - 1.4).abs() < 1e-15, "{floor:?}");
        // Bag alone: every other class is at distance 3.
        assert_eq!(ev.hdist_floor(&[8]).unwrap(), vec![0.0, 12.0 / 5.0]);
        // One rounding: flat:10, 40 / 50, is 0.8 to the bit (summing ten 0.8s is not).
        let flat = MistakeEvaluator::top1_top5(&crate::hierarchy::flat(10).unwrap()).unwrap();
        assert_eq!(flat.hdist_floor(&all).unwrap(), vec![0.0, 0.8]);
    }

    /// hdist@k sums whole distances and divides once, so a ranking on the floor gives the
    /// floor to the bit: flat:10, 1,500 samples each ranked with its class first, hdist@5 =
    /// 6000 / 7500 = 0.8 (averaging the per-sample means gave 0.7999999999999774).
    #[test]
    fn hdist_on_the_floor_is_the_floor_to_the_bit() {
        let ev = MistakeEvaluator::top1_top5(&crate::hierarchy::flat(10).unwrap()).unwrap();
        let labels: Vec<usize> = (0..1500).map(|i| i % 10).collect();
        let z: Vec<f64> = labels
            .iter()
            .flat_map(|&t| (0..10).map(move |c| if c == t { 10.0 } else { 0.0 }))
            .collect();
        let m = ev
            .evaluate(
                MatrixView::f64(&z, 1500, 10),
                ScoreKind::Logits,
                &labels,
                Ranking::Scores,
            )
            .unwrap();
        assert_eq!(m.hdist, vec![0.0, 0.8]);
        assert_eq!(m.hdist, ev.hdist_floor(&labels).unwrap());
    }

    #[test]
    fn crm_changes_the_top1_on_a_hand_made_example() {
        // root -> { x -> {a, b, c}, e }: d = 1 inside x, 2 to e.
        let h = parse_edges("root x\nx a\nx b\nx c\nroot e\n", "t4").unwrap();
        let ev = MistakeEvaluator::new(&h, &[1]).unwrap();
        // p = (0.3, 0.25, 0.05, 0.4): the argmax is e. Risks R = p D:
        // R(a) = 0.25 + 0.05 + 2*0.4 = 1.10, R(b) = 0.3 + 0.05 + 0.8 = 1.15,
        // R(c) = 0.3 + 0.25 + 0.8 = 1.35, R(e) = 2 * (0.3 + 0.25 + 0.05) = 1.20: CRM picks a.
        let p = [0.3, 0.25, 0.05, 0.4];
        let logits: Vec<f64> = p.iter().map(|v: &f64| v.ln() + 7.0).collect();
        for (scores, kind) in [
            (&logits[..], ScoreKind::Logits),
            (&p[..], ScoreKind::Probabilities),
        ] {
            let plain = ev
                .evaluate(MatrixView::f64(scores, 1, 4), kind, &[0], Ranking::Scores)
                .unwrap();
            assert_eq!(plain.top_k_error, vec![1.0]);
            assert_eq!(plain.mistake_severity, 2.0);
            let crm = ev
                .evaluate(MatrixView::f64(scores, 1, 4), kind, &[0], Ranking::Crm)
                .unwrap();
            assert_eq!(crm.top_k_error, vec![0.0]);
            assert!(crm.mistake_severity.is_nan());
        }
        // Same sample labelled b: CRM's top-1 a is a sibling (d = 1), the argmax e is d = 2.
        let crm = ev
            .evaluate(
                MatrixView::f64(&p, 1, 4),
                ScoreKind::Probabilities,
                &[1],
                Ranking::Crm,
            )
            .unwrap();
        assert_eq!(crm.mistake_severity, 1.0);
    }

    /// Brute force: full sort of each row (stable, so ties keep the lower index) and pairwise
    /// loops for the risk.
    fn brute(
        h: &Hierarchy,
        z: &[f64],
        n: usize,
        labels: &[usize],
        ks: &[usize],
        crm: bool,
    ) -> Vec<(String, f64)> {
        let k = h.num_classes();
        let maxd = h.max_distance() as f64;
        let (mut wrong, mut hd, mut hp, mut hm) = (
            vec![0.0; ks.len()],
            vec![0.0; ks.len()],
            vec![0.0; ks.len()],
            vec![0.0; ks.len()],
        );
        let (mut sev, mut nsev) = (0.0, 0.0);
        for i in 0..n {
            let row = &z[i * k..(i + 1) * k];
            let t = labels[i];
            let score: Vec<f64> = if crm {
                let m = row.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = row.iter().map(|v| (v - m).exp()).collect();
                let s: f64 = e.iter().sum();
                (0..k)
                    .map(|a| {
                        -(0..k)
                            .map(|b| e[b] / s * h.distance(b, a) as f64)
                            .sum::<f64>()
                    })
                    .collect()
            } else {
                row.to_vec()
            };
            let mut order: Vec<usize> = (0..k).collect();
            order.sort_by(|&a, &b| score[b].partial_cmp(&score[a]).unwrap());
            let mut best: Vec<f64> = (0..k)
                .map(|a| 1.0 - h.distance(a, t) as f64 / maxd)
                .collect();
            best.sort_by(|a, b| b.partial_cmp(a).unwrap());
            if order[0] != t {
                sev += h.distance(order[0], t) as f64;
                nsev += 1.0;
            }
            let prec = |kk: usize| {
                let s: f64 = order[..kk]
                    .iter()
                    .map(|&a| 1.0 - h.distance(a, t) as f64 / maxd)
                    .sum();
                s / best[..kk].iter().sum::<f64>()
            };
            for (j, &kk) in ks.iter().enumerate() {
                if !order[..kk].contains(&t) {
                    wrong[j] += 1.0;
                }
                hd[j] += order[..kk]
                    .iter()
                    .map(|&a| h.distance(a, t) as f64)
                    .sum::<f64>()
                    / kk as f64;
                hp[j] += prec(kk);
                hm[j] += (1..=kk).map(prec).sum::<f64>() / kk as f64;
            }
        }
        let nf = n as f64;
        let mut out = Vec::new();
        for (j, kk) in ks.iter().enumerate() {
            out.push((format!("top{kk}_error"), wrong[j] / nf));
        }
        out.push(("mistake_severity".into(), sev / nsev));
        for (name, v) in [("hdist", &hd), ("hprecision", &hp), ("hmap", &hm)] {
            for (j, kk) in ks.iter().enumerate() {
                out.push((format!("{name}@{kk}"), v[j] / nf));
            }
        }
        out
    }

    #[test]
    fn chunked_evaluation_matches_brute_force_with_and_without_crm() {
        let h = crate::hierarchy::cifar100();
        let (n, k) = (157, 100);
        let mut rng = Rng::new(7);
        let z: Vec<f64> = (0..n * k).map(|_| 2.0 * rng.normal()).collect();
        let labels: Vec<usize> = (0..n).map(|_| rng.below(k as u64) as usize).collect();
        let ks = [1, 3, 5];
        // chunks of 10 rows: the last one is partial.
        let ev = MistakeEvaluator::new(&h, &[5, 3])
            .unwrap()
            .with_chunk_rows(10);
        for crm in [false, true] {
            let ranking = if crm { Ranking::Crm } else { Ranking::Scores };
            let got = ev
                .evaluate(
                    MatrixView::f64(&z, n, k),
                    ScoreKind::Logits,
                    &labels,
                    ranking,
                )
                .unwrap()
                .entries();
            let want = brute(&h, &z, n, &labels, &ks, crm);
            assert_eq!(got.len(), want.len());
            for ((gn, gv), (wn, wv)) in got.iter().zip(&want) {
                assert_eq!(gn, wn);
                assert!((gv - wv).abs() < 1e-12, "crm {crm} {gn}: {gv} vs {wv}");
            }
        }
        // The floor is what brute force gives for the scores -d(a, t), which rank the classes
        // nearest-first, and no random ranking goes below it.
        let floor = ev.hdist_floor(&labels).unwrap();
        let nearest_first: Vec<f64> = (0..n * k)
            .map(|i| -(h.distance(i % k, labels[i / k]) as f64))
            .collect();
        let want = brute(&h, &nearest_first, n, &labels, &ks, false);
        let random = ev
            .evaluate(
                MatrixView::f64(&z, n, k),
                ScoreKind::Logits,
                &labels,
                Ranking::Scores,
            )
            .unwrap();
        for (j, kk) in ks.iter().enumerate() {
            let name = format!("hdist@{kk}");
            let (_, w) = want.iter().find(|(m, _)| *m == name).unwrap();
            assert!((floor[j] - w).abs() < 1e-12, "{name}: {} vs {w}", floor[j]);
            assert!(random.hdist[j] > floor[j], "{name}");
        }
    }

    #[test]
    fn bad_inputs_are_named() {
        let h = tree3();
        let e = MistakeEvaluator::new(&h, &[4]).unwrap_err().to_string();
        assert!(e.contains("k = 4 is out of range"), "{e}");
        let ev = MistakeEvaluator::new(&h, &[1]).unwrap();
        let z = [0.0, f64::NAN, 0.0, 1.0, 2.0, 3.0];
        let e = ev
            .evaluate(
                MatrixView::f64(&z, 2, 3),
                ScoreKind::Logits,
                &[0, 1],
                Ranking::Scores,
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 0") && e.contains("column 1"), "{e}");
        let z = [0.0; 6];
        let e = ev
            .evaluate(
                MatrixView::f64(&z, 2, 3),
                ScoreKind::Logits,
                &[0, 3],
                Ranking::Scores,
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("label 3 of sample 1"), "{e}");
        let e = ev
            .evaluate(
                MatrixView::f64(&z, 3, 2),
                ScoreKind::Logits,
                &[0, 1, 0],
                Ranking::Scores,
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 columns but the hierarchy has 3"), "{e}");
        let e = ev
            .evaluate(
                MatrixView::f64(&z, 2, 3),
                ScoreKind::Probabilities,
                &[0, 1],
                Ranking::Crm,
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 0 is not a probability vector"), "{e}");
    }
}
