//! Metrics over pairs of classes, from the Gram matrix `A B^T` of two sets of K class vectors
//! (`M M^T` of the centred means, `W M^T`, `W W^T`): O(K^2 d) time whatever is done, and,
//! through [`Gram`], bounded memory: the K x K matrix is formed whole only when it is small,
//! and otherwise visited in blocks of rows, each made and dropped in turn.

use crate::linalg::{frobenius, gemm_nt, gemm_tn};

/// Gram matrices up to this many entries (128 MB) are formed whole.
const WHOLE_LIMIT: usize = 16 << 20;
/// Entries per block of a Gram matrix visited in blocks.
const BLOCK_ENTRIES: usize = 8 << 20;

/// The Gram matrix `A B^T` (`ka x kb`) of the rows of `A` (`ka x d`) and `B` (`kb x d`).
pub struct Gram<'a> {
    a: &'a [f64],
    b: &'a [f64],
    ka: usize,
    kb: usize,
    d: usize,
    whole: Option<Vec<f64>>,
    /// Rows per block when not whole.
    block_rows: usize,
}

impl<'a> Gram<'a> {
    /// `A B^T`, formed whole when it has at most [`WHOLE_LIMIT`] entries.
    pub fn new(a: &'a [f64], ka: usize, b: &'a [f64], kb: usize, d: usize) -> Self {
        let whole = (ka * kb <= WHOLE_LIMIT).then(|| {
            let mut g = vec![0.0; ka * kb];
            gemm_nt(&mut g, a, b, ka, kb, d, 1.0, false, true);
            g
        });
        Gram {
            a,
            b,
            ka,
            kb,
            d,
            whole,
            block_rows: (BLOCK_ENTRIES / kb.max(1)).max(1),
        }
    }

    /// `||A B^T||_F`: from the matrix itself when it is whole, else as
    /// `sqrt(<A^T A, B^T B>_F)` through two `d x d` matrices (the same number in exact
    /// arithmetic; O(K d^2) instead of O(K^2 d)).
    pub fn frobenius(&self) -> f64 {
        if let Some(g) = &self.whole {
            return frobenius(g);
        }
        let d = self.d;
        let (mut ata, mut btb) = (vec![0.0; d * d], vec![0.0; d * d]);
        gemm_tn(&mut ata, self.a, self.a, d, d, self.ka, 1.0, false, true);
        gemm_tn(&mut btb, self.b, self.b, d, d, self.kb, 1.0, false, true);
        ata.iter()
            .zip(&btb)
            .map(|(x, y)| x * y)
            .sum::<f64>()
            .max(0.0)
            .sqrt()
    }

    /// Calls `visit(first_row, block)` for consecutive blocks of whole rows of `A B^T`, each
    /// `rows x kb` row-major, in order.
    pub fn for_each_block(&self, mut visit: impl FnMut(usize, &[f64])) {
        if let Some(g) = &self.whole {
            visit(0, g);
            return;
        }
        let rows = self.block_rows;
        let mut block = vec![0.0; rows * self.kb];
        let mut start = 0;
        while start < self.ka {
            let m = rows.min(self.ka - start);
            let out = &mut block[..m * self.kb];
            let a = &self.a[start * self.d..(start + m) * self.d];
            gemm_nt(out, a, self.b, m, self.kb, self.d, 1.0, false, true);
            visit(start, out);
            start += m;
        }
    }

    /// `||A B^T / ||A B^T||_F - E||_F` with `E` the unit-norm simplex-ETF Gram matrix
    /// (`(I - 1 1^T / K) / sqrt(K-1)`): how far the pairs' geometry is from a simplex ETF.
    /// Summed entry by entry, so that small distances keep their digits. Square only.
    pub fn etf_distance(&self) -> f64 {
        let k = self.ka;
        let norm = self.frobenius();
        let scale = 1.0 / ((k - 1) as f64).sqrt();
        let (diag, off) = (scale * (1.0 - 1.0 / k as f64), -scale / k as f64);
        let mut total = 0.0;
        self.for_each_block(|first, block| {
            for (r, row) in block.chunks_exact(self.kb).enumerate() {
                for (j, g) in row.iter().enumerate() {
                    let e = if first + r == j { diag } else { off };
                    total += (g / norm - e).powi(2);
                }
            }
        });
        total.sqrt()
    }

    /// Calls `visit(i, j, g_ij)` for every pair `i < j` of a square Gram matrix, in order.
    pub fn for_each_pair(&self, mut visit: impl FnMut(usize, usize, f64)) {
        self.for_each_block(|first, block| {
            for (r, row) in block.chunks_exact(self.kb).enumerate() {
                let i = first + r;
                for (j, &g) in row.iter().enumerate().skip(i + 1) {
                    visit(i, j, g);
                }
            }
        });
    }
}

/// `||a_k||^2` for each row of `a` (`k x d`): the diagonal of `A A^T`.
pub fn squared_norms(a: &[f64], d: usize) -> Vec<f64> {
    a.chunks_exact(d)
        .map(|r| r.iter().map(|x| x * x).sum())
        .collect()
}

/// Mean and variance (mean squared deviation) of a stream of values, by Welford's update
/// (no cancellation for small variances).
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanVariance {
    n: u64,
    mean: f64,
    m2: f64,
}

impl MeanVariance {
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The population variance (divisor n).
    pub fn variance(&self) -> f64 {
        self.m2 / self.n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn blocked_and_whole_gram_agree() {
        let (k, d) = (7, 3);
        let mut rng = Rng::new(2);
        let a: Vec<f64> = (0..k * d).map(|_| rng.normal()).collect();
        let g = Gram::new(&a, k, &a, k, d);
        let mut whole = vec![0.0; k * k];
        gemm_nt(&mut whole, &a, &a, k, k, d, 1.0, false, false);
        // The same Gram visited in blocks of 2 rows, and its norm through d x d matrices.
        let blocked = Gram {
            whole: None,
            block_rows: 2,
            ..Gram::new(&a, k, &a, k, d)
        };
        let mut seen = vec![0.0; k * k];
        let mut visit = |first: usize, block: &[f64]| {
            seen[first * k..first * k + block.len()].copy_from_slice(block)
        };
        blocked.for_each_block(&mut visit);
        for (x, y) in seen.iter().zip(&whole) {
            assert!((x - y).abs() < 1e-12);
        }
        assert!((g.frobenius() - blocked.frobenius()).abs() < 1e-12 * g.frobenius());
        assert!((g.etf_distance() - blocked.etf_distance()).abs() < 1e-12);
    }

    #[test]
    fn welford_by_hand() {
        let mut mv = MeanVariance::default();
        for x in [1.0, 2.0, 4.0, 5.0] {
            mv.push(x);
        }
        assert_eq!(mv.mean(), 3.0);
        assert_eq!(mv.variance(), 2.5);
    }
}
