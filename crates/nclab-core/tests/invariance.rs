//! Property tests of the metrics' invariances (proptest): rotating the feature space (and the
//! classifier with it) by an orthogonal Q, scaling every feature by one positive factor,
//! renaming the classes, giving the features as f32 instead of the same values in f64, and
//! streaming the data in batches through `Accumulator` instead of one call. Small data and a
//! few dozen cases each, so that the file runs in seconds.

use nclab_core::hierarchy::parse_edges;
use nclab_core::metrics::{
    neural_collapse, Accumulator, CollapseInput, NamedMetrics, TreeMatrices,
};
use nclab_core::tensor::MatrixView;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A small labelled data set with a classifier: `k` classes of `per_class` samples each in
/// `d` dimensions, the class means well apart (so that the metrics are well conditioned), and
/// weights `W` (`k x d`) and a bias near the means.
#[derive(Clone, Debug)]
struct Data {
    k: usize,
    d: usize,
    features: Vec<f64>,
    labels: Vec<u32>,
    weights: Vec<f64>,
    bias: Vec<f64>,
}

impl Data {
    fn n(&self) -> usize {
        self.labels.len()
    }

    fn input(&self) -> CollapseInput<'_> {
        CollapseInput {
            features: MatrixView::f64(&self.features, self.n(), self.d),
            labels: &self.labels,
            num_classes: self.k,
            weights: Some(MatrixView::f64(&self.weights, self.k, self.d)),
            bias: Some(&self.bias),
            predictions: None,
        }
    }

    fn metrics(&self, tree: Option<&TreeMatrices>) -> NamedMetrics {
        neural_collapse(&self.input(), tree).unwrap()
    }
}

/// Values in `[-1, 1)` from a seed (xorshift64*), so that one `u64` drawn by proptest
/// describes a whole data set.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

fn data() -> impl Strategy<Value = Data> {
    (3usize..=5, 0usize..=3, 3usize..=6, any::<u64>()).prop_map(|(k, extra_d, per_class, seed)| {
        let d = k + extra_d;
        let mut r = Noise(seed | 1);
        let means: Vec<f64> = (0..k * d).map(|_| 4.0 * r.next()).collect();
        let mut features = Vec::new();
        let mut labels = Vec::new();
        // Classes interleaved, so that any split into batches mixes them.
        for i in 0..per_class * k {
            let c = i % k;
            labels.push(c as u32);
            features.extend((0..d).map(|j| means[c * d + j] + 0.5 * r.next()));
        }
        let weights = means.iter().map(|m| m + 0.3 * r.next()).collect();
        let bias = (0..k).map(|_| 0.2 * r.next()).collect();
        Data {
            k,
            d,
            features,
            labels,
            weights,
            bias,
        }
    })
}

/// A `d x d` orthogonal matrix: a product of Givens rotations by the given angles, over the
/// coordinate pairs in turn.
fn orthogonal(d: usize, angles: &[f64]) -> Vec<f64> {
    let mut q = vec![0.0; d * d];
    (0..d).for_each(|i| q[i * d + i] = 1.0);
    for (t, &a) in angles.iter().enumerate() {
        let (i, j) = (t % d, (t + 1 + t / d) % d);
        if i == j {
            continue;
        }
        let (c, s) = (a.cos(), a.sin());
        for row in 0..d {
            let (x, y) = (q[row * d + i], q[row * d + j]);
            q[row * d + i] = c * x - s * y;
            q[row * d + j] = s * x + c * y;
        }
    }
    q
}

/// `a` (`rows x d`) times `q` (`d x d`).
fn times(a: &[f64], d: usize, q: &[f64]) -> Vec<f64> {
    a.chunks_exact(d)
        .flat_map(|row| (0..d).map(move |j| (0..d).map(|l| row[l] * q[l * d + j]).sum::<f64>()))
        .collect()
}

/// A two-level tree over the `k` classes: `c0..` under two groups, so that the tree metrics
/// (with a coarse level) are defined.
fn two_level_tree(k: usize) -> TreeMatrices {
    let mut text = String::from("root g0\nroot g1\n");
    for c in 0..k {
        text.push_str(&format!("g{} c{c}\n", usize::from(c * 2 >= k)));
    }
    let h = parse_edges(&text, "two-level").unwrap();
    TreeMatrices::for_data(&h, k, 1).unwrap()
}

/// Whether two metric tables have the same names, the same defined metrics, and values equal
/// to `rel` relative tolerance (absolute below 1); the message names the first difference.
fn close(a: &NamedMetrics, b: &NamedMetrics, rel: f64) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} metrics against {}", a.len(), b.len()));
    }
    for ((na, va), (nb, vb)) in a.iter().zip(b) {
        if na != nb {
            return Err(format!("metric {na} against {nb}"));
        }
        match (va, vb) {
            (None, None) => {}
            (Some(x), Some(y)) if x.is_nan() && y.is_nan() => {}
            (Some(x), Some(y)) => {
                let tol = rel * x.abs().max(y.abs()).max(1.0);
                if (x - y).abs() > tol || !(x - y).abs().is_finite() && x != y {
                    return Err(format!("{na}: {x} against {y}"));
                }
            }
            _ => return Err(format!("{na}: {va:?} against {vb:?}")),
        }
    }
    Ok(())
}

fn value(m: &NamedMetrics, name: &str) -> f64 {
    m.iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| *v)
        .unwrap_or_else(|| panic!("{name} undefined"))
}

/// A case proptest found (k = 3, d = 3, features scaled by 1e-3): the coarse between-class
/// matrix (2 coarse classes, rank 1) had a rounding-noise eigenvalue above the pseudo-inverse
/// cut-off, and `nc1_coarse` came out near 1e16 for one scale and 1e16 x 1.8 for the other.
/// Inverting at most `K_c - 1` eigenvalues gives the same, finite value at both scales, equal
/// to NC1 of the samples relabelled by their coarse class (2 classes, computed from scratch).
#[test]
fn nc1_coarse_inverts_no_rounding_noise() {
    let data = Data {
        k: 3,
        d: 3,
        features: vec![
            2.7893237807225986,
            0.38101193639944597,
            -0.7536523501949358,
            -3.9029879102485467,
            0.17452111925682479,
            -3.495671832667981,
            -1.2336172680254633,
            0.20566246038282854,
            -2.9799837672177363,
            2.872045983368498,
            0.37991250291656364,
            -0.9114205611416921,
            -3.9110161134680346,
            0.33185696803972176,
            -3.457666676569972,
            -1.07796199785465,
            -0.6344188070681706,
            -3.4045244805072206,
            2.8225111181299964,
            0.8854604754484077,
            -0.6473655808866476,
            -3.828626880148514,
            0.4110971209701133,
            -3.426799452537325,
            -0.5947954320336903,
            -0.3093743870456358,
            -2.8729534829177847,
        ],
        labels: vec![0, 1, 2, 0, 1, 2, 0, 1, 2],
        weights: vec![
            2.7824144829097937,
            0.38658167628551054,
            -1.0496449507137766,
            -3.593729327485824,
            -0.06641152125382344,
            -3.4403503147694354,
            -1.0936204062214816,
            -0.35291277490689404,
            -3.3502436842627357,
        ],
        bias: vec![0.0; 3],
    };
    let tree = two_level_tree(3);
    let scaled = Data {
        features: data.features.iter().map(|x| 1e-3 * x).collect(),
        ..data.clone()
    };
    let (a, b) = (
        value(&data.metrics(Some(&tree)), "nc1_coarse"),
        value(&scaled.metrics(Some(&tree)), "nc1_coarse"),
    );
    // Classes 0 and 1 form coarse class 0, class 2 coarse class 1 (two_level_tree).
    let coarse = Data {
        k: 2,
        labels: data.labels.iter().map(|&y| u32::from(y == 2)).collect(),
        weights: data.weights[..6].to_vec(),
        bias: vec![0.0; 2],
        ..data.clone()
    };
    let direct = value(&coarse.metrics(None), "nc1");
    assert!((a - direct).abs() <= 1e-9 * direct, "{a} against {direct}");
    assert!((b - direct).abs() <= 1e-9 * direct, "{b} against {direct}");
}

proptest! {
    #![proptest_config(config())]

    /// `H -> H Q`, `W -> W Q` for an orthogonal `Q`: every metric, tree metrics included, is
    /// unchanged (they depend on inner products and distances only).
    #[test]
    fn rotating_the_feature_space_changes_no_metric(
        data in data(),
        angles in proptest::collection::vec(-3.2f64..3.2, 1..12),
    ) {
        let tree = two_level_tree(data.k);
        let before = data.metrics(Some(&tree));
        let q = orthogonal(data.d, &angles);
        let rotated = Data {
            features: times(&data.features, data.d, &q),
            weights: times(&data.weights, data.d, &q),
            ..data.clone()
        };
        // Not the identity: the features did move.
        let moved = data.features.iter().zip(&rotated.features).any(|(a, b)| (a - b).abs() > 1e-6);
        prop_assume!(moved);
        close(&before, &rotated.metrics(Some(&tree)), 1e-7).map_err(TestCaseError::fail)?;
    }

    /// `H -> c H` with the weights kept and no bias: every metric is scale-free (NC4's
    /// decisions `argmax W h` included) except the bias collapse `||W mu_G||`, which is
    /// multiplied by `c`.
    #[test]
    fn scaling_the_features_changes_only_the_bias_terms(
        data in data(),
        c in prop_oneof![1e-3f64..0.5, 2.0f64..1e3],
    ) {
        let tree = two_level_tree(data.k);
        let unbiased = Data { bias: vec![0.0; data.k], ..data.clone() };
        let scaled = Data {
            features: unbiased.features.iter().map(|x| c * x).collect(),
            ..unbiased.clone()
        };
        let (a, b) = (unbiased.metrics(Some(&tree)), scaled.metrics(Some(&tree)));
        let without = |m: &NamedMetrics| -> NamedMetrics {
            m.iter().filter(|(n, _)| *n != "bias_collapse").cloned().collect()
        };
        close(&without(&a), &without(&b), 1e-7).map_err(TestCaseError::fail)?;
        let (ba, bb) = (value(&a, "bias_collapse"), value(&b, "bias_collapse"));
        prop_assert!((bb - c * ba).abs() <= 1e-7 * (c * ba).max(1.0), "{bb} against {c} * {ba}");
    }

    /// Renaming class `j` to `perm[j]` (labels, rows of `W`, entries of `b`) changes no
    /// metric.
    #[test]
    fn renaming_the_classes_changes_no_metric(data in data(), key in any::<u64>()) {
        let k = data.k;
        let mut perm: Vec<usize> = (0..k).collect();
        let mut r = Noise(key | 1);
        for i in (1..k).rev() {
            let j = ((r.next() + 1.0) * 0.5 * (i + 1) as f64) as usize;
            perm.swap(i, j.min(i));
        }
        let mut weights = vec![0.0; k * data.d];
        let mut bias = vec![0.0; k];
        for (j, &p) in perm.iter().enumerate() {
            weights[p * data.d..(p + 1) * data.d]
                .copy_from_slice(&data.weights[j * data.d..(j + 1) * data.d]);
            bias[p] = data.bias[j];
        }
        let renamed = Data {
            labels: data.labels.iter().map(|&y| perm[y as usize] as u32).collect(),
            weights,
            bias,
            ..data.clone()
        };
        close(&data.metrics(None), &renamed.metrics(None), 1e-9).map_err(TestCaseError::fail)?;
    }

    /// Features stored as f32 give the metrics of the same values widened to f64.
    #[test]
    fn f32_features_match_their_f64_values(data in data()) {
        let tree = two_level_tree(data.k);
        let single: Vec<f32> = data.features.iter().map(|&x| x as f32).collect();
        let widened: Vec<f64> = single.iter().map(|&x| x as f64).collect();
        let as_f64 = Data { features: widened, ..data.clone() };
        let a = as_f64.metrics(Some(&tree));
        let b = neural_collapse(
            &CollapseInput {
                features: MatrixView::f32(&single, data.n(), data.d),
                ..as_f64.input()
            },
            Some(&tree),
        )
        .unwrap();
        close(&a, &b, 1e-12).map_err(TestCaseError::fail)?;
    }

    /// The two passes of `Accumulator`, fed in batches split at arbitrary rows, give the
    /// metrics of one call on all the data.
    #[test]
    fn streaming_in_batches_matches_one_call(
        data in data(),
        cuts in proptest::collection::vec(0usize..1000, 0..5),
    ) {
        let tree = two_level_tree(data.k);
        let one_shot = data.metrics(Some(&tree));
        let n = data.n();
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (n + 1)).collect();
        bounds.extend([0, n]);
        bounds.sort_unstable();
        let input = data.input();
        let mut acc = Accumulator::new(data.k, data.d).unwrap();
        let feed = |acc: &mut Accumulator| {
            for w in bounds.windows(2) {
                let (s, e) = (w[0], w[1]);
                let rows = MatrixView::f64(&data.features[s * data.d..e * data.d], e - s, data.d);
                acc.add(rows, &data.labels[s..e], None).unwrap();
            }
        };
        feed(&mut acc);
        let classifier = nclab_core::metrics::scatter::Classifier::new(
            input.weights.unwrap(),
            input.bias,
            data.k,
            data.d,
        )
        .unwrap();
        acc.second_pass(Some(classifier)).unwrap();
        feed(&mut acc);
        let streamed = acc.finish().unwrap().metrics(Some(&tree)).unwrap();
        close(&one_shot, &streamed, 1e-9).map_err(TestCaseError::fail)?;
    }
}

/// The helpers above do what the properties rely on: `orthogonal` is orthogonal and not the
/// identity, and `close` tells different tables apart.
#[test]
fn the_helpers_are_sound() {
    let d = 4;
    let q = orthogonal(d, &[0.3, -1.2, 2.0, 0.7, 0.1]);
    for i in 0..d {
        for j in 0..d {
            let dot: f64 = (0..d).map(|l| q[l * d + i] * q[l * d + j]).sum();
            assert!(
                (dot - f64::from(u8::from(i == j))).abs() < 1e-12,
                "{i} {j}: {dot}"
            );
        }
    }
    assert!((q[0] - 1.0).abs() > 1e-3);
    let a: NamedMetrics = vec![("x", Some(1.0)), ("y", None)];
    assert!(close(&a, &a, 0.0).is_ok());
    let b: NamedMetrics = vec![("x", Some(1.001)), ("y", None)];
    assert_eq!(close(&a, &b, 1e-6).unwrap_err(), "x: 1 against 1.001");
    let c: NamedMetrics = vec![("x", Some(1.0)), ("y", Some(0.0))];
    assert!(close(&a, &c, 1.0).is_err());
}
