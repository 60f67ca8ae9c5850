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

    /// Calls `visit(i, j, g_ij)` for every entry, in a fixed order. A symmetric Gram matrix
    /// (`A A^T`) is computed by its upper triangle only, half the work, each off-diagonal
    /// entry visited as `(i, j)` and then `(j, i)`.
    pub fn for_each_entry(&self, mut visit: impl FnMut(usize, usize, f64)) {
        let symmetric = std::ptr::eq(self.a, self.b) && self.ka == self.kb;
        if !symmetric || self.whole.is_some() {
            self.for_each_block(|first, block| {
                for (r, row) in block.chunks_exact(self.kb).enumerate() {
                    for (j, &g) in row.iter().enumerate() {
                        visit(first + r, j, g);
                    }
                }
            });
            return;
        }
        // Blocks of rows i0..i1 against the columns i0..K: the upper triangle and the
        // diagonal blocks.
        let (k, d) = (self.ka, self.d);
        let mut start = 0;
        let mut block = Vec::new();
        while start < k {
            let rows = self.block_rows.min(k - start);
            let cols = k - start;
            block.resize(rows * cols, 0.0);
            gemm_nt(
                &mut block,
                &self.a[start * d..(start + rows) * d],
                &self.a[start * d..],
                rows,
                cols,
                d,
                1.0,
                false,
                true,
            );
            for r in 0..rows {
                let i = start + r;
                for c in r..cols {
                    let (j, g) = (start + c, block[r * cols + c]);
                    visit(i, j, g);
                    if j != i {
                        visit(j, i, g);
                    }
                }
            }
            start += rows;
        }
    }
}

/// The distance `||G / ||G||_F - E||_F` of a square Gram matrix from the unit-norm
/// simplex-ETF Gram matrix `E = (I - 1 1^T / K) / sqrt(K-1)`, summed entry by entry (small
/// distances keep their digits): feed it every entry.
#[non_exhaustive]
pub struct EtfDistance {
    norm: f64,
    diag: f64,
    off: f64,
    total: f64,
}

impl EtfDistance {
    /// For a `k x k` Gram matrix of Frobenius norm `norm`.
    pub fn new(k: usize, norm: f64) -> Self {
        let scale = 1.0 / ((k - 1) as f64).sqrt();
        EtfDistance {
            norm,
            diag: scale * (1.0 - 1.0 / k as f64),
            off: -scale / k as f64,
            total: 0.0,
        }
    }

    pub fn push(&mut self, i: usize, j: usize, g: f64) {
        let e = if i == j { self.diag } else { self.off };
        self.total += (g / self.norm - e).powi(2);
    }

    pub fn value(&self) -> f64 {
        self.total.sqrt()
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
#[non_exhaustive]
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
        // The symmetric visit of the blocked Gram sees every entry once.
        let mut sym = vec![f64::NAN; k * k];
        blocked.for_each_entry(|i, j, v| {
            assert!(sym[i * k + j].is_nan(), "({i}, {j}) twice");
            sym[i * k + j] = v;
        });
        for (x, y) in sym.iter().zip(&whole) {
            assert!((x - y).abs() < 1e-12);
        }
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
