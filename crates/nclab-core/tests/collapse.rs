//! Tests of the neural-collapse metrics: hand-computed cases, exact simplex-ETF geometry,
//! invariances, agreement with an independent naive implementation, and bad input.

// The naive reference indexes as the formulas do (h_i, mu_k, S_W[a][b]), on purpose.
#![allow(clippy::needless_range_loop)]

use nclab_core::labels::to_classes as labels_from_integers;
use nclab_core::metrics::collapse::{measure, CollapseInput, CollapseMetrics};
use nclab_core::rng::Rng;
use nclab_core::tensor::MatrixView;

fn run(
    h: &[f64],
    d: usize,
    y: &[u32],
    k: usize,
    w: Option<&[f64]>,
    b: Option<&[f64]>,
) -> CollapseMetrics {
    let n = y.len();
    measure(&CollapseInput {
        features: MatrixView::f64(h, n, d),
        labels: y,
        num_classes: k,
        weights: w.map(|w| MatrixView::f64(w, k, d)),
        bias: b,
        predictions: None,
    })
    .unwrap()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

macro_rules! assert_close {
    ($a:expr, $b:expr, $tol:expr) => {
        assert!(
            close($a, $b, $tol),
            "{} = {} but expected {} (tol {})",
            stringify!($a),
            $a,
            $b,
            $tol
        )
    };
}

/// K = 2, d = 1: class 0 = {-3, -1}, class 1 = {1, 3}.
/// mu_0 = -2, mu_1 = 2, mu_G = 0, M = [-2, 2].
/// S_W = (1/4)(1+1+1+1) = 1, S_B = (4+4)/2 = 4 -> NC1 = (1/2)(1/4) = 0.125, quotient 0.25.
/// M M^T = [[4,-4],[-4,4]] / 8 = [[.5,-.5],[-.5,.5]] = E for K = 2 -> NC2 = 0.
/// cdnv = (1 + 1) / (2 * 16) = 0.0625. W = [[-1],[1]], b = [0.5, 0]:
/// logits of h = -1 are [1.5, -1] -> class 0 (its nearest mean too); h = 1: [-0.5, 1] -> 1.
/// bias_collapse = ||W mu_G + b|| = ||[0.5, 0]|| = 0.5.
#[test]
fn hand_computed_two_classes() {
    let h = [-3.0, -1.0, 1.0, 3.0];
    let y = [0, 0, 1, 1];
    let m = run(&h, 1, &y, 2, Some(&[-1.0, 1.0]), Some(&[0.5, 0.0]));
    assert_close!(m.nc1, 0.125, 1e-14);
    assert_close!(m.nc1_rank, 0.125, 1e-14);
    assert_close!(m.nc1_quotient, 0.25, 1e-14);
    assert!(m.nc2.abs() < 1e-14 && m.nc3.unwrap().abs() < 1e-14);
    assert_close!(m.cdnv, 0.0625, 1e-14);
    assert_eq!(m.nc4, Some(0.0));
    assert_eq!(m.ncc_accuracy, 1.0);
    assert_close!(m.bias_collapse.unwrap(), 0.5, 1e-14);
    assert!(m.equinorm_means.abs() < 1e-14 && m.equiangularity_means.abs() < 1e-14);
    assert!(m.self_duality.unwrap().abs() < 1e-14);
}

/// K = 3, d = 2, imbalanced (2, 2, 1 samples):
/// class 0 = {(0,0), (2,0)}, class 1 = {(0,2), (0,4)}, class 2 = {(-2,-2)}.
/// mu_0 = (1,0), mu_1 = (0,3), mu_2 = (-2,-2), mu_G = (0, 0.8);
/// M = [(1,-0.8), (0,2.2), (-2,-2.8)].
/// S_W = (1/5) diag(2, 2) = 0.4 I. M^T M = [[5, 4.8], [4.8, 13.32]], S_B = M^T M / 3
///   = [[5/3, 1.6], [1.6, 111/25]], tr S_B = 458/75, det S_B = 363/75.
/// NC1 = (1/3) 0.4 tr(S_B^-1) = (1/3) 0.4 (458/75)/(363/75) = 916/5445.
/// nc1_quotient = 0.8 / (458/75) = 30/229.
/// s = (1, 1, 0); ||mu_a - mu_b||^2 = 10 (0,1), 13 (0,2), 29 (1,2)
///   -> cdnv = (2/20 + 1/26 + 1/58) / 3.
/// Gram M M^T = [[1.64,-1.76,0.24],[-1.76,4.84,-6.16],[0.24,-6.16,11.84]],
///   ||.||_F = sqrt(248.5024); NC2 = 0.667079446895725 (worked with a calculator).
/// W = [[1,0],[0,1],[-1,-1]], b = (0, 0.5, 0): the logits of (0,0) are (0, 0.5, 0) -> class 1,
///   whose nearest mean is class 0: one mismatch in five -> NC4 = 0.2. Every other sample is
///   predicted as its nearest mean (= its label): ncc_accuracy = 1.
/// bias_collapse = ||W mu_G + b|| = ||(0, 0.8, -0.8) + (0, 0.5, 0)|| = sqrt(2.33).
/// ||M_k|| = (1.28062485, 2.2, 3.44093011): equinorm_means = sd/mean = 0.4698946294848925.
#[test]
fn hand_computed_three_classes_imbalanced() {
    let h = [0.0, 0.0, 2.0, 0.0, 0.0, 2.0, 0.0, 4.0, -2.0, -2.0];
    let y = [0, 0, 1, 1, 2];
    let w = [1.0, 0.0, 0.0, 1.0, -1.0, -1.0];
    let m = run(&h, 2, &y, 3, Some(&w), Some(&[0.0, 0.5, 0.0]));
    assert_close!(m.nc1, 916.0 / 5445.0, 1e-13);
    assert_close!(m.nc1_rank, 916.0 / 5445.0, 1e-13);
    assert_close!(m.nc1_quotient, 30.0 / 229.0, 1e-14);
    assert_close!(m.cdnv, (0.1 + 1.0 / 26.0 + 1.0 / 58.0) / 3.0, 1e-14);
    assert_close!(m.nc2, 0.667079446895725, 1e-13);
    assert_close!(m.nc4.unwrap(), 0.2, 1e-15);
    assert_eq!(m.ncc_accuracy, 1.0);
    assert_close!(m.bias_collapse.unwrap(), 2.33f64.sqrt(), 1e-14);
    assert_close!(m.equinorm_means, 0.4698946294848925, 1e-13);
    // Without the bias the tie at (0,0) (logits 0,0,0) goes to the lowest index, class 0: NC4 = 0.
    let m0 = run(&h, 2, &y, 3, Some(&w), None);
    assert_eq!(m0.nc4, Some(0.0));
    // Without the classifier, the metrics that need it are absent.
    let bare = run(&h, 2, &y, 3, None, None);
    assert!(bare.nc3.is_none() && bare.nc4.is_none() && bare.bias_collapse.is_none());
    assert_close!(bare.nc1, m.nc1, 1e-15);
}

// ---------------------------------------------------------------------------------------------
// Exact geometry.

/// A random orthogonal d x d matrix (Gram-Schmidt of Gaussian columns), row-major.
fn random_rotation(d: usize, rng: &mut Rng) -> Vec<f64> {
    let mut q: Vec<Vec<f64>> = Vec::new();
    while q.len() < d {
        let mut v: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
        for u in &q {
            let dot: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(u).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        q.push(v);
    }
    q.concat()
}

fn rotate(h: &[f64], d: usize, r: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; h.len()];
    for (row, o) in h.chunks(d).zip(out.chunks_mut(d)) {
        for i in 0..d {
            o[i] = (0..d).map(|j| r[i * d + j] * row[j]).sum();
        }
    }
    out
}

/// Simplex-ETF vertices e_k - 1/K (in R^d, d >= K), `per` samples each with Gaussian noise.
fn etf_features(
    k: usize,
    d: usize,
    per: usize,
    noise: f64,
    rng: &mut Rng,
) -> (Vec<f64>, Vec<u32>, Vec<f64>) {
    let mut vertices = vec![0.0; k * d];
    for c in 0..k {
        for j in 0..k {
            vertices[c * d + j] = if c == j { 1.0 } else { 0.0 } - 1.0 / k as f64;
        }
    }
    let mut h = Vec::new();
    let mut y = Vec::new();
    for c in 0..k {
        for _ in 0..per {
            h.extend((0..d).map(|j| vertices[c * d + j] + noise * rng.normal()));
            y.push(c as u32);
        }
    }
    (h, y, vertices)
}

#[test]
fn simplex_etf_gives_collapse_and_nc1_scales_as_noise_squared() {
    let (k, d, per) = (5, 8, 40);
    let mut rng = Rng::new(11);
    let (h, y, vertices) = etf_features(k, d, per, 1e-4, &mut rng);
    let m = run(&h, d, &y, k, Some(&vertices), None);
    assert!(m.nc2 < 1e-3, "nc2 = {}", m.nc2);
    assert!(m.nc3.unwrap() < 1e-3, "nc3 = {:?}", m.nc3);
    assert!(m.nc2_weights.unwrap() < 1e-12);
    assert_eq!(m.nc4, Some(0.0));
    assert_eq!(m.ncc_accuracy, 1.0);

    // Same noise draws scaled by 1/2: NC1 scales by 1/4 (up to the tiny change of the means).
    let mut rng = Rng::new(11);
    let (h2, _, _) = etf_features(k, d, per, 0.5e-4, &mut rng);
    let m2 = run(&h2, d, &y, k, None, None);
    let ratio = m.nc1 / m2.nc1;
    assert!((ratio - 4.0).abs() < 1e-3, "NC1 ratio {ratio}");
}

#[test]
fn invariant_metrics_under_rotation_and_scale() {
    let (k, d, per) = (4, 6, 25);
    let mut rng = Rng::new(5);
    let (h, y, _) = etf_features(k, d, per, 0.3, &mut rng);
    let w: Vec<f64> = (0..k * d).map(|_| rng.normal()).collect();
    let base = run(&h, d, &y, k, Some(&w), None);

    let r = random_rotation(d, &mut rng);
    let (hr, wr) = (rotate(&h, d, &r), rotate(&w, d, &r));
    let rotated = run(&hr, d, &y, k, Some(&wr), None);
    let scaled_h: Vec<f64> = h.iter().map(|x| 3.7 * x).collect();
    let scaled_w: Vec<f64> = w.iter().map(|x| 0.2 * x).collect();
    let scaled = run(&scaled_h, d, &y, k, Some(&scaled_w), None);
    for other in [&rotated, &scaled] {
        for ((name, a), (_, b)) in base.entries().into_iter().zip(other.entries()) {
            if name == "bias_collapse" {
                continue; // a length: scales with H and W, rotation-invariant only
            }
            let (a, b) = (a.unwrap(), b.unwrap());
            assert!(close(a, b, 1e-9), "{name}: {a} vs {b}");
        }
    }
    assert!(close(
        rotated.bias_collapse.unwrap(),
        base.bias_collapse.unwrap(),
        1e-9
    ));
}

// ---------------------------------------------------------------------------------------------
// An independent naive implementation: S_W and S_B as full d x d matrices, S_B^+ by a full
// Jacobi eigendecomposition, every other metric straight from its definition.

/// Cyclic Jacobi eigendecomposition of a symmetric n x n matrix: (values, vectors as columns).
fn jacobi_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; n * n];
    (0..n).for_each(|i| v[i * n + i] = 1.0);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        let total: f64 = a.iter().map(|x| x * x).sum();
        if off <= 1e-30 * total {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for kk in 0..n {
                    let (akp, akq) = (a[kk * n + p], a[kk * n + q]);
                    a[kk * n + p] = c * akp - s * akq;
                    a[kk * n + q] = s * akp + c * akq;
                }
                for kk in 0..n {
                    let (apk, aqk) = (a[p * n + kk], a[q * n + kk]);
                    a[p * n + kk] = c * apk - s * aqk;
                    a[q * n + kk] = s * apk + c * aqk;
                }
                for kk in 0..n {
                    let (vkp, vkq) = (v[kk * n + p], v[kk * n + q]);
                    v[kk * n + p] = c * vkp - s * vkq;
                    v[kk * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

struct Naive {
    nc1: f64,
    nc1_rank: f64,
    nc1_quotient: f64,
    nc2: f64,
    nc3: f64,
    nc4: f64,
    cdnv: f64,
    equinorm_means: f64,
    equinorm_weights: f64,
    equiangularity_means: f64,
    equiangularity_weights: f64,
    nc2_weights: f64,
    self_duality: f64,
    ncc_accuracy: f64,
    bias_collapse: f64,
}

fn naive(h: &[f64], d: usize, y: &[u32], k: usize, w: &[f64], b: &[f64]) -> Naive {
    let n = y.len();
    let row = |i: usize| &h[i * d..(i + 1) * d];
    let mut mu = vec![vec![0.0; d]; k];
    let mut cnt = vec![0.0; k];
    for i in 0..n {
        let c = y[i] as usize;
        cnt[c] += 1.0;
        for j in 0..d {
            mu[c][j] += row(i)[j];
        }
    }
    for c in 0..k {
        mu[c].iter_mut().for_each(|x| *x /= cnt[c]);
    }
    let mut g = vec![0.0; d];
    for i in 0..n {
        for j in 0..d {
            g[j] += row(i)[j] / n as f64;
        }
    }
    let m: Vec<Vec<f64>> = mu
        .iter()
        .map(|m| m.iter().zip(&g).map(|(a, b)| a - b).collect())
        .collect();
    let mut sw = vec![0.0; d * d];
    for i in 0..n {
        let c = y[i] as usize;
        for a in 0..d {
            for bb in 0..d {
                sw[a * d + bb] += (row(i)[a] - mu[c][a]) * (row(i)[bb] - mu[c][bb]) / n as f64;
            }
        }
    }
    let mut sb = vec![0.0; d * d];
    for mk in &m {
        for a in 0..d {
            for bb in 0..d {
                sb[a * d + bb] += mk[a] * mk[bb] / k as f64;
            }
        }
    }
    let (vals, vecs) = jacobi_eigen(&sb, d);
    let lmax = vals.iter().cloned().fold(f64::MIN, f64::max);
    let cutoff = lmax * d.max(k) as f64 * f64::EPSILON;
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &bb| vals[bb].partial_cmp(&vals[a]).unwrap());
    let pinv_trace = |keep: &dyn Fn(usize, usize) -> bool| {
        // tr(S_W S_B^+) = sum_j v_j^T S_W v_j / lambda_j over kept eigenpairs.
        let mut t = 0.0;
        for (rank, &j) in order.iter().enumerate() {
            if !keep(rank, j) {
                continue;
            }
            let v: Vec<f64> = (0..d).map(|a| vecs[a * d + j]).collect();
            let mut q = 0.0;
            for a in 0..d {
                for bb in 0..d {
                    q += v[a] * sw[a * d + bb] * v[bb];
                }
            }
            t += q / vals[j];
        }
        t
    };
    let nc1 = pinv_trace(&|_, j| vals[j] > cutoff) / k as f64;
    let nc1_rank = pinv_trace(&|rank, j| rank < k - 1 && vals[j] > 0.0) / k as f64;
    let tr = |a: &[f64]| (0..d).map(|i| a[i * d + i]).sum::<f64>();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let gram = |a: &[Vec<f64>], b: &[Vec<f64>]| -> Vec<f64> {
        a.iter()
            .flat_map(|x| b.iter().map(move |y| dot(x, y)))
            .collect()
    };
    let etf: Vec<f64> = (0..k * k)
        .map(|i| {
            (if i / k == i % k { 1.0 } else { 0.0 } - 1.0 / k as f64) / ((k - 1) as f64).sqrt()
        })
        .collect();
    let fro = |a: &[f64]| a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let dist = |a: &[f64]| {
        let na = fro(a);
        a.iter()
            .zip(&etf)
            .map(|(x, e)| (x / na - e).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let wrows: Vec<Vec<f64>> = w.chunks(d).map(|r| r.to_vec()).collect();
    let cv = |xs: Vec<f64>| {
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt() / mean
    };
    let ea = |a: &[Vec<f64>]| {
        let mut s = 0.0;
        for i in 0..k {
            for j in 0..k {
                if i != j {
                    s += (dot(&a[i], &a[j]) / (dot(&a[i], &a[i]) * dot(&a[j], &a[j])).sqrt()
                        + 1.0 / (k - 1) as f64)
                        .abs();
                }
            }
        }
        s / (k * (k - 1)) as f64
    };
    let sq = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>();
    let mut s = vec![0.0; k];
    for i in 0..n {
        s[y[i] as usize] += sq(row(i), &mu[y[i] as usize]) / cnt[y[i] as usize];
    }
    let mut cd = 0.0;
    for i in 0..k {
        for j in i + 1..k {
            cd += (s[i] + s[j]) / (2.0 * sq(&mu[i], &mu[j]));
        }
    }
    let (mut mismatch, mut ncc) = (0, 0);
    for i in 0..n {
        let nearest = (0..k).fold(0, |best, c| {
            if sq(row(i), &mu[c]) < sq(row(i), &mu[best]) {
                c
            } else {
                best
            }
        });
        let logits: Vec<f64> = (0..k).map(|c| dot(&wrows[c], row(i)) + b[c]).collect();
        let pred = (0..k).fold(0, |best, c| if logits[c] > logits[best] { c } else { best });
        mismatch += (pred != nearest) as usize;
        ncc += (nearest == y[i] as usize) as usize;
    }
    let mflat: Vec<f64> = m.concat();
    let (nw, nm) = (fro(w), fro(&mflat));
    Naive {
        nc1,
        nc1_rank,
        nc1_quotient: tr(&sw) / tr(&sb),
        nc2: dist(&gram(&m, &m)),
        nc3: dist(&gram(&wrows, &m)),
        nc4: mismatch as f64 / n as f64,
        cdnv: cd / (k * (k - 1) / 2) as f64,
        equinorm_means: cv(m.iter().map(|x| fro(x)).collect()),
        equinorm_weights: cv(wrows.iter().map(|x| fro(x)).collect()),
        equiangularity_means: ea(&m),
        equiangularity_weights: ea(&wrows),
        nc2_weights: dist(&gram(&wrows, &wrows)),
        self_duality: w
            .iter()
            .zip(&mflat)
            .map(|(a, b)| (a / nw - b / nm).powi(2))
            .sum(),
        ncc_accuracy: ncc as f64 / n as f64,
        bias_collapse: (0..k)
            .map(|c| (dot(&wrows[c], &g) + b[c]).powi(2))
            .sum::<f64>()
            .sqrt(),
    }
}

fn compare_with_naive(h: &[f64], d: usize, y: &[u32], k: usize, w: &[f64], b: &[f64]) {
    let fast = run(h, d, y, k, Some(w), Some(b));
    let slow = naive(h, d, y, k, w, b);
    let pairs = [
        ("nc1", fast.nc1, slow.nc1),
        ("nc1_rank", fast.nc1_rank, slow.nc1_rank),
        ("nc1_quotient", fast.nc1_quotient, slow.nc1_quotient),
        ("nc2", fast.nc2, slow.nc2),
        ("nc3", fast.nc3.unwrap(), slow.nc3),
        ("nc4", fast.nc4.unwrap(), slow.nc4),
        ("cdnv", fast.cdnv, slow.cdnv),
        ("equinorm_means", fast.equinorm_means, slow.equinorm_means),
        (
            "equinorm_weights",
            fast.equinorm_weights.unwrap(),
            slow.equinorm_weights,
        ),
        (
            "equiangularity_means",
            fast.equiangularity_means,
            slow.equiangularity_means,
        ),
        (
            "equiangularity_weights",
            fast.equiangularity_weights.unwrap(),
            slow.equiangularity_weights,
        ),
        ("nc2_weights", fast.nc2_weights.unwrap(), slow.nc2_weights),
        (
            "self_duality",
            fast.self_duality.unwrap(),
            slow.self_duality,
        ),
        ("ncc_accuracy", fast.ncc_accuracy, slow.ncc_accuracy),
        (
            "bias_collapse",
            fast.bias_collapse.unwrap(),
            slow.bias_collapse,
        ),
    ];
    for (name, a, b) in pairs {
        let rel = (a - b).abs() / b.abs().max(1e-300);
        assert!(
            rel <= 1e-9 || (a - b).abs() < 1e-14,
            "{name}: engine {a} vs naive {b} (relative {rel:e})"
        );
    }
}

fn random_problem(
    k: usize,
    d: usize,
    counts: &[usize],
    spread: f64,
    rng: &mut Rng,
) -> (Vec<f64>, Vec<u32>, Vec<f64>, Vec<f64>) {
    let centres: Vec<f64> = (0..k * d).map(|_| rng.normal()).collect();
    let mut h = Vec::new();
    let mut y = Vec::new();
    for (c, &count) in counts.iter().enumerate() {
        for _ in 0..count {
            h.extend((0..d).map(|j| centres[c * d + j] + spread * rng.normal()));
            y.push(c as u32);
        }
    }
    let w: Vec<f64> = (0..k * d)
        .map(|j| centres[j] + 0.3 * rng.normal())
        .collect();
    let b: Vec<f64> = (0..k).map(|_| 0.1 * rng.normal()).collect();
    (h, y, w, b)
}

#[test]
fn agrees_with_naive_implementation_on_random_data() {
    let mut rng = Rng::new(2024);
    let (h, y, w, b) = random_problem(4, 7, &[30, 30, 30, 30], 0.8, &mut rng);
    compare_with_naive(&h, 7, &y, 4, &w, &b);
}

#[test]
fn agrees_with_naive_implementation_on_imbalanced_data() {
    let mut rng = Rng::new(7);
    let (h, y, w, b) = random_problem(5, 9, &[3, 120, 17, 60, 1], 1.1, &mut rng);
    compare_with_naive(&h, 9, &y, 5, &w, &b);
}

#[test]
fn agrees_with_naive_implementation_on_rank_deficient_data() {
    let mut rng = Rng::new(99);
    // Features in a 3-dimensional subspace of R^10 (S_W is rank-deficient; the 4 class means
    // still span 3 dimensions, so S_B has rank K-1 = 3).
    let (k, d, r) = (4, 10, 3);
    let basis: Vec<f64> = (0..r * d).map(|_| rng.normal()).collect();
    let (low, y, wl, b) = random_problem(k, r, &[20, 35, 12, 40], 0.7, &mut rng);
    let lift = |x: &[f64]| -> Vec<f64> {
        x.chunks(r)
            .flat_map(|z| {
                (0..d)
                    .map(|j| (0..r).map(|a| z[a] * basis[a * d + j]).sum::<f64>())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    compare_with_naive(&lift(&low), d, &y, k, &lift(&wl), &b);
    // Fewer dimensions than K-1: S_B has rank d = 2 < K-1 = 5.
    let (h, y, w, b) = random_problem(6, 2, &[10, 11, 12, 13, 14, 15], 0.5, &mut rng);
    compare_with_naive(&h, 2, &y, 6, &w, &b);
}

#[test]
fn f32_features_give_the_metrics_of_their_f64_values() {
    let mut rng = Rng::new(3);
    let (h, y, w, b) = random_problem(3, 5, &[20, 25, 30], 0.5, &mut rng);
    let h32: Vec<f32> = h.iter().map(|&x| x as f32).collect();
    let h64: Vec<f64> = h32.iter().map(|&x| x as f64).collect();
    let a = run(&h64, 5, &y, 3, Some(&w), Some(&b));
    let m = measure(&CollapseInput {
        features: MatrixView::f32(&h32, y.len(), 5),
        labels: &y,
        num_classes: 3,
        weights: Some(MatrixView::f64(&w, 3, 5)),
        bias: Some(&b),
        predictions: None,
    })
    .unwrap();
    assert_eq!(a, m);
}

// ---------------------------------------------------------------------------------------------
// Bad input.

fn error_of(h: &[f64], d: usize, y: &[u32], k: usize, w: Option<(&[f64], usize)>) -> String {
    let n = h.len() / d;
    measure(&CollapseInput {
        features: MatrixView::f64(h, n, d),
        labels: y,
        num_classes: k,
        weights: w.map(|(w, rows)| MatrixView::f64(w, rows, w.len() / rows)),
        bias: None,
        predictions: None,
    })
    .unwrap_err()
    .to_string()
}

/// Coincident class means (constant features; every class the same points in another order)
/// leave NC1 and the means' geometry undefined: the pseudo-inverse of `S_B = 0` gave NC1 = 0,
/// rounding gave about 1e30.
#[test]
fn coincident_means_leave_nc1_undefined() {
    let ones = [1.0; 12];
    // Rows a, b, c in class 0 and c, a, b in class 1.
    let (a, b, c) = ([0.3, -1.2], [2.5, 0.7], [-0.4, 1.9]);
    let shuffled: Vec<f64> = [a, b, c, c, a, b].concat();
    for h in [ones.to_vec(), shuffled] {
        let metrics = measure(&CollapseInput {
            features: MatrixView::f64(&h, 6, 2),
            labels: &[0, 0, 0, 1, 1, 1],
            num_classes: 2,
            weights: None,
            bias: None,
            predictions: None,
        })
        .unwrap()
        .entries();
        let value = |name: &str| metrics.iter().find(|(n, _)| *n == name).unwrap().1;
        for name in [
            "nc1",
            "nc1_rank",
            "nc1_quotient",
            "cdnv",
            "nc2",
            "equinorm_means",
        ] {
            let v = value(name);
            assert!(v.is_none_or(f64::is_nan), "{name} of {h:?}: {v:?}");
        }
        assert!(value("ncc_accuracy").is_some_and(f64::is_finite));
    }
}

/// The tree metrics are undefined too where the means coincide (`nc1_coarse` was 0 and
/// `mean_tree_correlation` a rank correlation of NaN cosines), and `nc1_coarse` alone where
/// only the coarse means coincide: each superclass holds two opposite classes, so every
/// coarse mean is the global mean.
#[test]
fn coincident_means_leave_the_tree_metrics_undefined() {
    use nclab_core::metrics::{neural_collapse, TreeMatrices};
    let tree = TreeMatrices::from_hierarchy(
        &nclab_core::hierarchy::parse_edges("r x\nr z\nx a\nx b\nz c\nz e\n", "t").unwrap(),
        1,
    );
    let labels = [0, 0, 1, 1, 2, 2, 3, 3];
    let tree_metrics = |h: &[f64]| {
        let input = CollapseInput {
            features: MatrixView::f64(h, 8, 2),
            labels: &labels,
            num_classes: 4,
            weights: None,
            bias: None,
            predictions: None,
        };
        let all = neural_collapse(&input, Some(&tree)).unwrap();
        let value = |name: &str| all.iter().find(|(n, _)| *n == name).unwrap().1.unwrap();
        [
            value("nc1"),
            value("mean_tree_correlation"),
            value("nc2_tree"),
            value("nc1_coarse"),
        ]
    };
    let constant = [0.5; 16];
    assert!(tree_metrics(&constant).iter().all(|v| v.is_nan()));
    // Classes a and b (superclass x) at (+-1, 0), c and e (z) at (0, +-1), each with two
    // samples 0.1 either side: the coarse means are both (0, 0).
    #[rustfmt::skip]
    let opposite = [
        1.0, 0.1, 1.0, -0.1, -1.0, 0.1, -1.0, -0.1,
        0.1, 1.0, -0.1, 1.0, 0.1, -1.0, -0.1, -1.0,
    ];
    let [nc1, correlation, nc2_tree, nc1_coarse] = tree_metrics(&opposite);
    // NC1 = (1/K) tr(S_W S_B^+): S_B = (1/4) sum_k mu_k mu_k^T = diag(1/2, 1/2), S_W = (1/8)
    // (four deviations of 0.1 in each coordinate) = diag(0.005, 0.005), so (1/4) 2 (0.01) =
    // 0.005: the fine classes are separated.
    assert!((nc1 - 0.005).abs() < 1e-15, "{nc1}");
    assert!(correlation.is_finite() && nc2_tree.is_finite());
    assert!(nc1_coarse.is_nan(), "{nc1_coarse}");
}

#[test]
fn bad_input_is_named() {
    let h = [0.0, 1.0, 2.0, 3.0];
    assert!(error_of(&h, 1, &[0, 1, 1], 2, None).contains("features have 4 rows but labels have 3"));
    assert!(error_of(&h, 1, &[0, 1, 2, 1], 2, None)
        .contains("label 2 at row 2 is out of range for 2 classes"));
    assert!(error_of(&h, 1, &[0, 1, 1, 0], 3, None).contains("class 2 has no sample"));
    // K = 100000 with two classes present: ten are named, the rest counted (the message
    // listed all 99998 before, 600 KB).
    let e = error_of(&h, 1, &[0, 1, 1, 0], 100_000, None);
    assert_eq!(
        e,
        "classes 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, and 99988 more have no sample (K = 100000); \
         every class needs at least one"
    );
    assert!(error_of(&h, 1, &[0, 0, 0, 0], 1, None).contains("at least 2 classes, got K = 1"));
    let nan = [0.0, 1.0, f64::NAN, 3.0];
    assert!(error_of(&nan, 1, &[0, 1, 0, 1], 2, None)
        .contains("non-finite value NaN at row 2, column 0"));
    let inf = [0.0, 1.0, 2.0, 3.0, f64::INFINITY, 5.0];
    assert!(
        error_of(&inf, 2, &[0, 1, 1], 2, None).contains("non-finite value inf at row 2, column 0")
    );
    let msg = error_of(&h, 2, &[0, 1], 2, Some((&[1.0, 2.0, 3.0], 1)));
    assert!(msg.contains("weights: expected shape 2 x 2"), "{msg}");
    let msg = labels_from_integers(&[0, -1], 2, "labels.npy")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("labels.npy: label -1 at row 1 is negative"),
        "{msg}"
    );
    let msg = labels_from_integers(&[0, 7], 2, "labels.npy")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("label 7 at row 1 is out of range for 2 classes (0..1)"),
        "{msg}"
    );
}

/// GNC2 and UNC3 by hand. K = 4 means at the unit points (1,0), (0,1), (-1,0), (0,-1) of the
/// plane (one sample each: the samples are the means, mu_G = 0). Adjacent pairs (4) have
/// cos 0, distance sqrt(2); opposite pairs (2) cos -1, distance 2.
/// Log kernel -ln(dist): -ln(2)/2 four times, -ln(2) twice: mean -ln(2)/2 * (4 + 4)/6
/// = -2 ln(2)/3, deviations +ln(2)/6 (x4) and -ln(2)/3 (x2): variance
/// (4 ln(2)^2/36 + 2 ln(2)^2/9)/6 = ln(2)^2/18.
/// Riesz with d = 2: s = 0, every value dist^0 = 1: mean 1, variance 0.
/// UNC3 with W = M but its last row flipped: cos (1, 1, 1, -1), mean 1/2, variance with the
/// K-1 divisor (3/4 + 9/4)/3 = 1.
#[test]
fn hyperspherical_uniformity_and_uniform_duality_by_hand() {
    let h = [1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0, -1.0];
    let y = [0, 1, 2, 3];
    let w = [1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0, 1.0];
    let m = run(&h, 2, &y, 4, Some(&w), None);
    let ln2 = 2f64.ln();
    assert_close!(m.gnc2_log_mean, -2.0 * ln2 / 3.0, 1e-14);
    assert_close!(m.gnc2_log_var, ln2 * ln2 / 18.0, 1e-14);
    assert_close!(m.gnc2_riesz_mean, 1.0, 1e-14);
    assert_close!(m.gnc2_riesz_var, 0.0, 1e-14);
    assert_close!(m.unc3.unwrap(), 1.0, 1e-14);
    // In 3-d (a zero third coordinate): s = 1, Riesz = 1/dist: 1/sqrt(2) (x4) and 1/2 (x2),
    // mean (4/sqrt(2) + 1)/6, variance by its definition.
    let h3: Vec<f64> = h.chunks(2).flat_map(|p| [p[0], p[1], 0.0]).collect();
    let m3 = run(&h3, 3, &y, 4, None, None);
    let vals = [
        0.5f64.sqrt(),
        0.5f64.sqrt(),
        0.5f64.sqrt(),
        0.5f64.sqrt(),
        0.5,
        0.5,
    ];
    let mean = vals.iter().sum::<f64>() / 6.0;
    let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 6.0;
    assert_close!(m3.gnc2_riesz_mean, mean, 1e-14);
    assert_close!(m3.gnc2_riesz_var, var, 1e-14);
    assert_eq!(m3.unc3, None, "no classifier, no UNC3");
    // A simplex ETF: every pair equally far, so both variances are 0.
    let etf = [1.0, 0.0, -0.5, 0.75f64.sqrt(), -0.5, -(0.75f64.sqrt())];
    let e = run(&etf, 2, &[0, 1, 2], 3, None, None);
    assert_close!(e.gnc2_log_var, 0.0, 1e-14);
    assert_close!(e.gnc2_log_mean, -(3f64.sqrt()).ln(), 1e-14);
}

// ---------------------------------------------------------------------------------------------
// The two routes (the span of the centred means, and the d x d feature space) are the same
// metrics: to 1e-9 relative on every kind of data, and the decisions exactly.

/// `nc1_rank` inverts the top `K-1` eigenvalues of `S_B` whatever their size: where `S_B`'s
/// rank is below `K-1` some of them are rounding noise, different in each route, and so is
/// `nc1_rank` (`ill_posed_rank` leaves it out; `nc1`'s cut-off drops such eigenvalues).
fn assert_routes_agree(
    h: &[f64],
    d: usize,
    y: &[u32],
    k: usize,
    w: &[f64],
    b: &[f64],
    ill_posed_rank: bool,
) {
    use nclab_core::metrics::collapse::measure_by;
    use nclab_core::metrics::scatter::Route;
    let n = y.len();
    let input = CollapseInput {
        features: MatrixView::f64(h, n, d),
        labels: y,
        num_classes: k,
        weights: Some(MatrixView::f64(w, k, d)),
        bias: Some(b),
        predictions: None,
    };
    let span = measure_by(&input, Some(Route::Span)).unwrap();
    let full = measure_by(&input, Some(Route::Full)).unwrap();
    for ((name, a), (_, b)) in span.entries().into_iter().zip(full.entries()) {
        if ill_posed_rank && name == "nc1_rank" {
            continue;
        }
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(
            (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300),
            "{name}: span {a} vs full {b} (K = {k}, d = {d})"
        );
    }
    assert_eq!(span.nc4, full.nc4, "NC4 counts the same decisions");
    assert_eq!(span.ncc_accuracy, full.ncc_accuracy);
}

#[test]
fn both_routes_give_the_same_numbers() {
    let mut rng = Rng::new(12);
    // K <= d, balanced.
    let (h, y, w, b) = random_problem(5, 12, &[40; 5], 0.9, &mut rng);
    assert_routes_agree(&h, 12, &y, 5, &w, &b, false);
    // K > d, imbalanced: 30 classes in 8 dimensions.
    let counts: Vec<usize> = (0..30).map(|c| 3 + c % 7).collect();
    let (h, y, w, b) = random_problem(30, 8, &counts, 0.6, &mut rng);
    assert_routes_agree(&h, 8, &y, 30, &w, &b, false);
    // Rank-deficient: 12 classes whose features live in a 4-dimensional subspace of R^9
    // (S_B has rank 4 < K - 1 and < d).
    let (k, d, r) = (12, 9, 4);
    let basis: Vec<f64> = (0..r * d).map(|_| rng.normal()).collect();
    let (low, y, wl, b) = random_problem(k, r, &[15; 12], 0.5, &mut rng);
    let lift = |x: &[f64]| -> Vec<f64> {
        x.chunks(r)
            .flat_map(|z| {
                (0..d)
                    .map(|j| (0..r).map(|a| z[a] * basis[a * d + j]).sum::<f64>())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    assert_routes_agree(&lift(&low), d, &y, k, &lift(&wl), &b, true);
}

/// nc1_coarse comes from the fine classes' two passes; it must equal NC1 measured directly on
/// the coarse labels, in either route.
#[test]
fn coarse_nc1_from_the_fine_passes_equals_nc1_of_coarse_labels() {
    use nclab_core::metrics::scatter::{Route, ScatterAccumulator};
    use nclab_core::metrics::statistics::class_statistics;
    use nclab_core::metrics::tree_geometry::nc1_coarse;
    let mut rng = Rng::new(31);
    for (k, d) in [(6, 9), (6, 4), (12, 3)] {
        let counts: Vec<usize> = (0..k).map(|c| 10 + 3 * c).collect();
        let (h, y, _, _) = random_problem(k, d, &counts, 0.7, &mut rng);
        let map: Vec<usize> = (0..k).map(|c| c % 3).collect();
        let coarse_y: Vec<u32> = y.iter().map(|&c| map[c as usize] as u32).collect();
        let n = y.len();
        let view = MatrixView::f64(&h, n, d);
        let want = run(&h, d, &coarse_y, 3, None, None).nc1;
        let stats = class_statistics(view, &y, k).unwrap();
        for route in [Route::Span, Route::Full] {
            let mut acc = ScatterAccumulator::new(&stats, None, Some(route));
            acc.add(view, &y, None).unwrap();
            let got = nc1_coarse(&stats, &acc.finish(), &map, 3).unwrap();
            assert!(
                (got - want).abs() <= 1e-9 * want.abs(),
                "K = {k}, d = {d}, {route:?}: {got} vs {want}"
            );
        }
    }
}

/// Two passes streamed in uneven batches give the one-shot numbers (to 1e-10).
#[test]
fn the_streaming_accumulator_equals_one_shot_measurement() {
    use nclab_core::metrics::scatter::Classifier;
    use nclab_core::metrics::{neural_collapse, Accumulator, TreeMatrices};
    let mut rng = Rng::new(77);
    let (k, d) = (4, 6);
    let (h, y, w, b) = random_problem(k, d, &[25, 40, 9, 31], 0.8, &mut rng);
    let n = y.len();
    let tree = TreeMatrices::from_hierarchy(
        &nclab_core::hierarchy::parse_edges("r x\nr z\nx a\nx b\nz c\nz e\n", "t").unwrap(),
        1,
    );
    let input = CollapseInput {
        features: MatrixView::f64(&h, n, d),
        labels: &y,
        num_classes: k,
        weights: Some(MatrixView::f64(&w, k, d)),
        bias: Some(&b),
        predictions: None,
    };
    let whole = neural_collapse(&input, Some(&tree)).unwrap();
    let mut acc = Accumulator::new(k, d).unwrap();
    let batches = [0, 7, 8, 50, 99, n];
    let feed = |acc: &mut Accumulator| {
        for win in batches.windows(2) {
            let (s, e) = (win[0], win[1]);
            acc.add(MatrixView::f64(&h[s * d..e * d], e - s, d), &y[s..e], None)
                .unwrap();
        }
    };
    feed(&mut acc);
    let classifier = Classifier::new(MatrixView::f64(&w, k, d), Some(&b), k, d).unwrap();
    acc.second_pass(Some(classifier)).unwrap();
    feed(&mut acc);
    let streamed = acc.finish().unwrap().metrics(Some(&tree)).unwrap();
    assert_eq!(whole.len(), streamed.len());
    for ((name, a), (_, b)) in whole.iter().zip(&streamed) {
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(
            (a - b).abs() <= 1e-10 * a.abs().max(1e-12),
            "{name}: {a} vs {b}"
        );
    }
    // Pass 2 must see as many samples as pass 1.
    let mut short = Accumulator::new(k, d).unwrap();
    feed(&mut short);
    short.second_pass(None).unwrap();
    short
        .add(MatrixView::f64(&h[..10 * d], 10, d), &y[..10], None)
        .unwrap();
    let e = short.finish().err().unwrap().to_string();
    assert!(
        e.contains("pass 2 saw 10 samples but pass 1 saw 105"),
        "{e}"
    );
    // As many samples, but one of class 0 comes back as class 1: refused by class.
    let mut moved = Accumulator::new(k, d).unwrap();
    feed(&mut moved);
    moved.second_pass(None).unwrap();
    let mut y2 = y.clone();
    let i = y.iter().position(|&c| c == 0).unwrap();
    y2[i] = 1;
    moved
        .add(MatrixView::f64(&h, y.len(), d), &y2, None)
        .unwrap();
    let n0 = y.iter().filter(|&&c| c == 0).count();
    let e = moved.finish().err().unwrap().to_string();
    assert!(
        e.contains(&format!(
            "class 0 has {} samples in pass 2 but {n0} samples in pass 1 (classes 0, 1 differ)",
            n0 - 1
        )),
        "{e}"
    );
    // The same samples in reverse order: the same means to rounding, accepted, with the
    // metrics of one pass in order.
    let reversed = |v: &[f64]| -> Vec<f64> { v.chunks(d).rev().flatten().copied().collect() };
    let (h_rev, y_rev): (Vec<f64>, Vec<u32>) = (reversed(&h), y.iter().rev().copied().collect());
    let mut shuffled = Accumulator::new(k, d).unwrap();
    feed(&mut shuffled);
    shuffled.second_pass(None).unwrap();
    shuffled
        .add(MatrixView::f64(&h_rev, n, d), &y_rev, None)
        .unwrap();
    assert!(shuffled.check_passes().is_ok());
    // Pass 2 "augmented": every feature of one sample of class 2 moved by 0.01. Class 2's
    // mean moves by 0.01 sqrt(d) / 9 (9 samples), refused naming the class and the distance.
    let mut augmented = Accumulator::new(k, d).unwrap();
    feed(&mut augmented);
    augmented.second_pass(None).unwrap();
    let mut h2 = h.clone();
    let i = y.iter().position(|&c| c == 2).unwrap();
    h2[i * d..(i + 1) * d].iter_mut().for_each(|v| *v += 0.01);
    augmented.add(MatrixView::f64(&h2, n, d), &y, None).unwrap();
    let e = augmented.check_passes().err().unwrap().to_string();
    let far = 0.01 * (d as f64).sqrt() / 9.0;
    assert!(
        e.contains(&format!(
            "class 2's mean in pass 2 is {far:.3e} from its mean in pass 1"
        )) && e.contains("a loader that augments its samples at random"),
        "{e}"
    );
    // Below the tolerance (a millionth of that move, as a nondeterministic kernel might
    // give): accepted.
    let mut noisy = Accumulator::new(k, d).unwrap();
    feed(&mut noisy);
    noisy.second_pass(None).unwrap();
    let mut h3 = h.clone();
    h3[i * d..(i + 1) * d].iter_mut().for_each(|v| *v += 1e-8);
    noisy.add(MatrixView::f64(&h3, n, d), &y, None).unwrap();
    assert!(noisy.check_passes().is_ok());
}

/// Where `S_B`'s rank is below `K-1`, `nc1_rank` divides by eigenvalues that are rounding
/// noise (docs/metrics.md: meaningless), but every term `v^T S_W v / lambda` has a positive
/// semi-definite `S_W` above a positive `lambda`, so it is never negative; rounding in the
/// noise directions made it so (-2e13 for two coincident means before terms below 0 were
/// taken as 0). Class means confined to a 3-dimensional subspace of R^20, K = 10, both
/// routes, 20 random problems.
#[test]
fn nc1_rank_is_never_negative_when_s_b_is_rank_deficient() {
    use nclab_core::metrics::collapse::measure_by;
    use nclab_core::metrics::scatter::Route;
    let (k, d, r, per) = (10, 20, 3, 15);
    let mut negative = 0;
    for seed in 0..20 {
        let mut rng = Rng::new(500 + seed);
        let centres: Vec<f64> = (0..k * r).map(|_| rng.normal()).collect();
        let basis: Vec<f64> = (0..r * d).map(|_| rng.normal()).collect();
        let mut h = Vec::new();
        let mut y = Vec::new();
        for c in 0..k {
            for _ in 0..per {
                h.extend((0..d).map(|j| {
                    let mean: f64 = (0..r).map(|a| centres[c * r + a] * basis[a * d + j]).sum();
                    mean + 0.5 * rng.normal()
                }));
                y.push(c as u32);
            }
        }
        // Centre each class on its exact mean so the means stay in the subspace.
        for c in 0..k {
            for j in 0..d {
                let rows: Vec<usize> = (0..k * per).filter(|&i| y[i] == c as u32).collect();
                let m = rows.iter().map(|&i| h[i * d + j]).sum::<f64>() / per as f64;
                let want: f64 = (0..r).map(|a| centres[c * r + a] * basis[a * d + j]).sum();
                rows.iter().for_each(|&i| h[i * d + j] += want - m);
            }
        }
        let input = CollapseInput {
            features: MatrixView::f64(&h, k * per, d),
            labels: &y,
            num_classes: k,
            weights: None,
            bias: None,
            predictions: None,
        };
        for route in [Route::Span, Route::Full] {
            let m = measure_by(&input, Some(route)).unwrap();
            assert!(m.nc1.is_finite() && m.nc1 >= 0.0, "nc1 {}", m.nc1);
            if m.nc1_rank < 0.0 {
                negative += 1;
            }
        }
    }
    assert_eq!(negative, 0, "nc1_rank < 0 in {negative} of 40 cases");
}

/// The metrics do not depend on the features' scale, from 1e-50 to 1e50 (NC1-NC3 to 1e-12
/// relative; the scatter is computed in f64); beyond the range where their fourth powers fit
/// in f64 the features are refused by name (at 1e90 NC2 came out as 1, at 1e-160 undefined,
/// and at 1e160 the eigensolver panicked).
#[test]
fn scale_invariance_and_the_limits_of_f64() {
    let mut rng = Rng::new(31);
    let (h, y, w, b) = random_problem(4, 8, &[10; 4], 0.7, &mut rng);
    let base = run(&h, 8, &y, 4, Some(&w), Some(&b));
    for s in [1e-50, 1e-20, 1e20, 1e50] {
        let hs: Vec<f64> = h.iter().map(|x| x * s).collect();
        let m = run(&hs, 8, &y, 4, Some(&w), Some(&b));
        for (name, a, b) in [("nc1", base.nc1, m.nc1), ("nc2", base.nc2, m.nc2)] {
            assert!(
                (a - b).abs() <= 1e-12 * a.abs(),
                "{name} at scale {s}: {a} vs {b}"
            );
        }
    }
    let error = |s: f64| {
        let hs: Vec<f64> = h.iter().map(|x| x * s).collect();
        error_of(&hs, 8, &y, 4, None)
    };
    let e = error(1e90);
    assert!(
        e.contains("is beyond +-1e60") && e.contains("rescale"),
        "{e}"
    );
    let e = error(1e-160);
    assert!(
        e.contains("class means differ by at most") && e.contains("below 1e-60"),
        "{e}"
    );
}
