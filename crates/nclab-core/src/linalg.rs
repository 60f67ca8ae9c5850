//! Thin wrappers over faer for the few dense kernels the metrics need, on row-major f64
//! buffers: `C = A B^T` products, symmetric Gram updates, the eigendecomposition of small
//! symmetric matrices, and a Cholesky solve.

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{matmul as triangular_matmul, BlockStructure};
use faer::{Accum, MatMut, MatRef, Par, Side};

/// `out (m x n) (+)= alpha * A (m x k) * B^T` where `B` is `n x k`; all row-major.
///
/// `accumulate` adds to `out` instead of overwriting it. `parallel` uses the global rayon pool.
#[allow(clippy::too_many_arguments)]
pub fn gemm_nt(
    out: &mut [f64],
    a: &[f64],
    b: &[f64],
    m: usize,
    n: usize,
    k: usize,
    alpha: f64,
    accumulate: bool,
    parallel: bool,
) {
    assert_eq!(out.len(), m * n);
    assert_eq!(a.len(), m * k);
    assert_eq!(b.len(), n * k);
    let a = MatRef::from_row_major_slice(a, m, k);
    let bt = MatRef::from_row_major_slice(b, n, k).transpose();
    let out = MatMut::from_row_major_slice_mut(out, m, n);
    let accum = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    let par = if parallel { Par::rayon(0) } else { Par::Seq };
    matmul(out, accum, a, bt, alpha, par);
}

/// `out (m x n) = A (m x k) * B^T` in f32, where `B` is `n x k`; all row-major; one thread
/// (callers run many of these side by side).
pub fn gemm_nt_f32(out: &mut [f32], a: &[f32], b: &[f32], m: usize, n: usize, k: usize) {
    assert_eq!(out.len(), m * n);
    assert_eq!(a.len(), m * k);
    assert_eq!(b.len(), n * k);
    let a = MatRef::from_row_major_slice(a, m, k);
    let bt = MatRef::from_row_major_slice(b, n, k).transpose();
    let out = MatMut::from_row_major_slice_mut(out, m, n);
    matmul(out, Accum::Replace, a, bt, 1.0f32, Par::Seq);
}

/// `out (m x n) (+)= alpha * A^T B` where `A` is `k x m` and `B` is `k x n`; all row-major.
///
/// `accumulate` adds to `out` instead of overwriting it. `parallel` uses the global rayon pool.
#[allow(clippy::too_many_arguments)]
pub fn gemm_tn(
    out: &mut [f64],
    a: &[f64],
    b: &[f64],
    m: usize,
    n: usize,
    k: usize,
    alpha: f64,
    accumulate: bool,
    parallel: bool,
) {
    assert_eq!(out.len(), m * n);
    assert_eq!(a.len(), k * m);
    assert_eq!(b.len(), k * n);
    let at = MatRef::from_row_major_slice(a, k, m).transpose();
    let b = MatRef::from_row_major_slice(b, k, n);
    let out = MatMut::from_row_major_slice_mut(out, m, n);
    let accum = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    let par = if parallel { Par::rayon(0) } else { Par::Seq };
    matmul(out, accum, at, b, alpha, par);
}

/// The lower triangle (diagonal included) of `out (m x m) += A^T A`, where `A` is `k x m`
/// row-major: BLAS's symmetric rank-k update (`syrk`), one thread. The strict upper triangle
/// is left as it is; [`mirror_lower`] fills it once every update is in.
///
/// Half the multiply-adds of `gemm_tn(out, a, a, ..)`; each entry of the triangle is the
/// same sum of the same products, so the bits are those of the general product (tested).
pub fn syrk_lower_tn(out: &mut [f64], a: &[f64], m: usize, k: usize) {
    assert_eq!(a.len(), k * m);
    syrk_lower(out, MatRef::from_row_major_slice(a, k, m).transpose(), m);
}

/// The lower triangle of `out (m x m) += A A^T`, where `A` is `m x k` row-major; as
/// [`syrk_lower_tn`].
pub fn syrk_lower_nt(out: &mut [f64], a: &[f64], m: usize, k: usize) {
    assert_eq!(a.len(), m * k);
    syrk_lower(out, MatRef::from_row_major_slice(a, m, k), m);
}

/// `lower(out) += lhs lhs^T` for `lhs` of `m` rows.
fn syrk_lower(out: &mut [f64], lhs: MatRef<'_, f64>, m: usize) {
    assert_eq!(out.len(), m * m);
    triangular_matmul(
        MatMut::from_row_major_slice_mut(out, m, m),
        BlockStructure::TriangularLower,
        Accum::Add,
        lhs,
        BlockStructure::Rectangular,
        lhs.transpose(),
        BlockStructure::Rectangular,
        1.0,
        Par::Seq,
    );
}

/// Copies the strict lower triangle of the `m x m` row-major `a` onto its upper triangle,
/// making `a` the symmetric matrix whose lower triangle [`syrk_lower_tn`] accumulated.
pub fn mirror_lower(a: &mut [f64], m: usize) {
    assert_eq!(a.len(), m * m);
    for i in 0..m {
        for j in 0..i {
            a[j * m + i] = a[i * m + j];
        }
    }
}

/// Eigendecomposition of a symmetric `k x k` row-major matrix.
///
/// Returns the eigenvalues in *decreasing* order and the matching unit eigenvectors as the
/// rows of a `k x k` row-major matrix (row j is the eigenvector of eigenvalue j).
///
/// The matrix is scaled by the power of two nearest its largest magnitude first (exactly, so
/// the eigenpairs are those of `a` to the last bit) and the eigenvalues scaled back: the
/// iteration never meets subnormal numbers (a matrix of entries near 1e-320, from features
/// near 1e-160, did not converge unscaled).
pub fn symmetric_eigen(a: &[f64], k: usize) -> (Vec<f64>, Vec<f64>) {
    let (scaled, scale) = scaled_by_power_of_two(a, k);
    let m = MatRef::from_row_major_slice(&scaled, k, k);
    let evd = m
        .self_adjoint_eigen(Side::Lower)
        .expect("symmetric eigendecomposition did not converge");
    let (u, s) = (evd.U(), evd.S());
    let mut values = Vec::with_capacity(k);
    let mut vectors = Vec::with_capacity(k * k);
    for j in (0..k).rev() {
        values.push(s[j] * scale);
        for i in 0..k {
            vectors.push(u[(i, j)]);
        }
    }
    (values, vectors)
}

/// The eigenvalues alone of a symmetric `k x k` row-major matrix, in decreasing order, scaled
/// as [`symmetric_eigen`] scales; without the eigenvectors, so faster (the PSD tests of
/// `nc2_tree`'s target need only the values).
pub fn symmetric_eigenvalues(a: &[f64], k: usize) -> Vec<f64> {
    let (scaled, scale) = scaled_by_power_of_two(a, k);
    let m = MatRef::from_row_major_slice(&scaled, k, k);
    let mut values = m
        .self_adjoint_eigenvalues(Side::Lower)
        .expect("symmetric eigendecomposition did not converge");
    values.reverse();
    values.iter_mut().for_each(|v| *v *= scale);
    values
}

/// `1^T A^{-1} 1`, the sum of the entries of `A^{-1}`, for an exactly symmetric `k x k`
/// matrix, from its Cholesky factor `A = L L^T`; `None` when `A` is not (numerically) positive
/// definite.
///
/// The factor is made in place, one `k x k` buffer rather than two (512 MB less at
/// `k = 8000`): afterwards `a` holds `L` column-major, that is `L^T` read row-major (zeros
/// below the diagonal), or whatever the factorisation left when it failed.
pub fn inverse_entry_sum_in_place(a: &mut [f64], k: usize) -> Option<f64> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::cholesky::llt::{factor, solve};
    let par = faer::get_global_parallelism();
    // `A` is symmetric, so its row-major buffer read column-major is `A` again.
    let mut l = MatMut::from_column_major_slice_mut(a, k, k);
    let mut scratch = MemBuffer::new(factor::cholesky_in_place_scratch::<f64>(
        k,
        par,
        Default::default(),
    ));
    factor::cholesky_in_place(
        l.as_mut(),
        Default::default(),
        par,
        MemStack::new(&mut scratch),
        Default::default(),
    )
    .ok()?;
    // The factorisation leaves scratch values above the diagonal.
    for j in 1..k {
        (0..j).for_each(|i| l[(i, j)] = 0.0);
    }
    let mut x = faer::Mat::<f64>::from_fn(k, 1, |_, _| 1.0);
    let mut scratch = MemBuffer::new(solve::solve_in_place_scratch::<f64>(k, 1, par));
    solve::solve_in_place(l.as_ref(), x.as_mut(), par, MemStack::new(&mut scratch));
    Some((0..k).map(|i| x[(i, 0)]).sum())
}

/// `a / 2^e` and `2^e`, with `2^e` the power of two nearest the largest magnitude of `a`
/// (within the normal exponents; 1 for a zero or non-finite matrix).
fn scaled_by_power_of_two(a: &[f64], k: usize) -> (Vec<f64>, f64) {
    assert_eq!(a.len(), k * k);
    let largest = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let scale = if largest > 0.0 && largest.is_finite() {
        // 2^e built from its bits (powi underflows to 0 for e near -1063).
        let e = (largest.log2().round() as i64).clamp(-1022, 1023);
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        1.0
    };
    (a.iter().map(|x| x / scale).collect(), scale)
}

/// Frobenius norm of a buffer.
pub fn frobenius(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// `|| A/||A||_F - B/||B||_F ||_F` for two buffers of equal size.
pub fn normalized_distance(a: &[f64], b: &[f64]) -> f64 {
    let (na, nb) = (frobenius(a), frobenius(b));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x / na - y / nb).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[[2, 1], [1, 2]]` has eigenvalues 3 and 1 with eigenvectors `(1, 1)/sqrt 2` and
    /// `(1, -1)/sqrt 2`; scaled by `s`, its eigenvalues scale by `s`, for `s` from 1e-320
    /// (subnormal entries, which did not converge unscaled) to 1e300, the vectors to the bit.
    #[test]
    fn symmetric_eigen_at_every_scale() {
        let (v0, u0) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!(
            (v0[0] - 3.0).abs() < 1e-15 && (v0[1] - 1.0).abs() < 1e-15,
            "{v0:?}"
        );
        let r = std::f64::consts::FRAC_1_SQRT_2;
        assert!((u0[0].abs() - r).abs() < 1e-15 && (u0[0] - u0[1]).abs() < 1e-15);
        for s in [1e-320, 1e-300, 2f64.powi(-600), 1e-5, 3.0, 1e300] {
            let a: Vec<f64> = [2.0, 1.0, 1.0, 2.0].iter().map(|x| x * s).collect();
            let (v, u) = symmetric_eigen(&a, 2);
            // Subnormal entries carry few bits: 1e-320 is 1e-320 to about 1e-3.
            let tol = if s < 1e-300 { 1e-2 } else { 1e-15 };
            assert!((v[0] / s - 3.0).abs() < 3.0 * tol, "{s}: {v:?}");
            assert!((v[1] / s - 1.0).abs() < tol, "{s}: {v:?}");
            if s > 1e-300 {
                assert_eq!(u, u0, "{s}");
            }
            let w = symmetric_eigenvalues(&a, 2);
            assert!((w[0] - v[0]).abs() <= 1e-15 * v[0] && (w[1] - v[1]).abs() <= 1e-14 * v[0]);
        }
    }

    #[test]
    fn gemm_nt_matches_hand_product() {
        // A = [[1,2],[3,4]], B = [[5,6],[7,8],[9,10]] -> A B^T = [[17,23,29],[39,53,67]]
        let mut out = vec![0.0; 6];
        gemm_nt(
            &mut out,
            &[1., 2., 3., 4.],
            &[5., 6., 7., 8., 9., 10.],
            2,
            3,
            2,
            1.0,
            false,
            false,
        );
        assert_eq!(out, vec![17., 23., 29., 39., 53., 67.]);
        gemm_nt(
            &mut out,
            &[1., 2., 3., 4.],
            &[5., 6., 7., 8., 9., 10.],
            2,
            3,
            2,
            0.5,
            true,
            true,
        );
        assert_eq!(out, vec![25.5, 34.5, 43.5, 58.5, 79.5, 100.5]);
    }

    /// `A = [[1, 2], [3, 4]]`: `A^T A = [[10, 14], [14, 20]]` and `A A^T = [[5, 11], [11, 25]]`.
    /// The update writes the lower triangle only (the upper keeps its -1) and adds to it;
    /// `mirror_lower` then completes the matrix.
    #[test]
    fn syrk_lower_matches_hand_products() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let mut tn = vec![1.0, -1.0, 1.0, 1.0];
        syrk_lower_tn(&mut tn, &a, 2, 2);
        assert_eq!(tn, vec![11.0, -1.0, 15.0, 21.0]);
        mirror_lower(&mut tn, 2);
        assert_eq!(tn, vec![11.0, 15.0, 15.0, 21.0]);
        let mut nt = vec![0.0, -1.0, 0.0, 0.0];
        syrk_lower_nt(&mut nt, &a, 2, 2);
        assert_eq!(nt, vec![5.0, -1.0, 11.0, 25.0]);
    }

    /// On blocks past faer's small-matrix kernels (300 x 700, 700 x 300), the triangle holds the
    /// bits of the general product `gemm_tn` / `gemm_nt`, accumulated twice.
    #[test]
    fn syrk_lower_has_the_bits_of_the_general_product() {
        let mut rng = crate::rng::Rng::new(7);
        for (rows, m) in [(300, 700), (700, 300)] {
            let a: Vec<f64> = (0..rows * m).map(|_| rng.normal()).collect();
            let (mut general, mut lower) = (vec![0.0; m * m], vec![0.0; m * m]);
            for _ in 0..2 {
                gemm_tn(&mut general, &a, &a, m, m, rows, 1.0, true, false);
                syrk_lower_tn(&mut lower, &a, m, rows);
            }
            mirror_lower(&mut lower, m);
            assert!(general == lower, "A^T A, A {rows} x {m}");
            let (mut general, mut lower) = (vec![0.0; rows * rows], vec![0.0; rows * rows]);
            gemm_nt(&mut general, &a, &a, rows, rows, m, 1.0, false, false);
            syrk_lower_nt(&mut lower, &a, rows, m);
            mirror_lower(&mut lower, rows);
            assert!(general == lower, "A A^T, A {rows} x {m}");
        }
    }

    #[test]
    fn gemm_tn_matches_hand_product() {
        // A = [[1,2],[3,4]] (k=2 x m=2), B = [[1,0,1],[0,1,1]] -> A^T B = [[1,3,4],[2,4,6]]
        let mut out = vec![0.0; 6];
        gemm_tn(
            &mut out,
            &[1., 2., 3., 4.],
            &[1., 0., 1., 0., 1., 1.],
            2,
            3,
            2,
            1.0,
            false,
            false,
        );
        assert_eq!(out, vec![1., 3., 4., 2., 4., 6.]);
    }

    #[test]
    fn eigen_of_2x2() {
        // [[2,1],[1,2]] has eigenvalues 3 (vector (1,1)/sqrt2) and 1 (vector (1,-1)/sqrt2).
        let (vals, vecs) = symmetric_eigen(&[2., 1., 1., 2.], 2);
        assert!((vals[0] - 3.0).abs() < 1e-14 && (vals[1] - 1.0).abs() < 1e-14);
        let s = std::f64::consts::FRAC_1_SQRT_2;
        assert!((vecs[0].abs() - s).abs() < 1e-14 && (vecs[0] - vecs[1]).abs() < 1e-14);
        assert!((vecs[2] + vecs[3]).abs() < 1e-14);
    }
}
