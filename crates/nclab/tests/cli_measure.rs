//! `nclab measure` end to end: output formats, inputs from .npy and .safetensors, and bad input
//! (each with its own message and a non-zero exit).

mod common;
use common::nclab;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nclab_core::io::{npy, safetensors};
use nclab_core::tensor::{DType, Tensor};

use nclab_testkit::scratch as tempdir;

/// The K = 3 example of the core tests, whose metrics are worked out by hand there:
/// NC1 = 916/5445, nc1_quotient = 30/229, NC4 = 0.2 with b = (0, 0.5, 0).
fn write_example(dir: &Path) -> [String; 4] {
    let h = [0.0f32, 0.0, 2.0, 0.0, 0.0, 2.0, 0.0, 4.0, -2.0, -2.0];
    let paths = ["h.npy", "y.npy", "w.npy", "b.npy"].map(|f| dir.join(f).display().to_string());
    npy::write(
        Path::new(&paths[0]),
        &Tensor::from_f32(vec![5, 2], &h).unwrap(),
    )
    .unwrap();
    npy::write(
        Path::new(&paths[1]),
        &Tensor::from_bytes(DType::U8, vec![5], vec![0, 0, 1, 1, 2]).unwrap(),
    )
    .unwrap();
    npy::write(
        Path::new(&paths[2]),
        &Tensor::from_f64(vec![3, 2], &[1.0, 0.0, 0.0, 1.0, -1.0, -1.0]).unwrap(),
    )
    .unwrap();
    npy::write(
        Path::new(&paths[3]),
        &Tensor::from_f32(vec![3], &[0.0, 0.5, 0.0]).unwrap(),
    )
    .unwrap();
    paths
}

#[test]
fn json_output_has_the_spec_names_and_hand_computed_values() {
    let dir = tempdir("json");
    let [h, y, w, b] = write_example(&dir);
    let (ok, stdout, stderr) = nclab(&[
        "measure",
        "--features",
        &h,
        "--labels",
        &y,
        "--weights",
        &w,
        "--bias",
        &b,
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (v["n"].as_i64(), v["d"].as_i64(), v["k"].as_i64()),
        (Some(5), Some(2), Some(3))
    );
    assert!((v["nc1"].as_f64().unwrap() - 916.0 / 5445.0).abs() < 1e-12);
    assert!((v["nc1_quotient"].as_f64().unwrap() - 30.0 / 229.0).abs() < 1e-12);
    assert!((v["nc4"].as_f64().unwrap() - 0.2).abs() < 1e-15);
    for name in nclab_core::metrics::CollapseMetrics::NAMES {
        assert!(v[name].is_number(), "{name} missing in {stdout}");
    }

    // Without the classifier, the metrics that need it are null.
    let (ok, stdout, _) = nclab(&[
        "measure",
        "--features",
        &h,
        "--labels",
        &y,
        "--format",
        "json",
    ]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for name in [
        "nc3",
        "nc4",
        "equinorm_weights",
        "nc2_weights",
        "self_duality",
        "bias_collapse",
    ] {
        assert!(v[name].is_null(), "{name} should be null: {stdout}");
    }
    assert!((v["nc1"].as_f64().unwrap() - 916.0 / 5445.0).abs() < 1e-12);

    // CSV: a header and one row, in the same order.
    let (ok, stdout, _) = nclab(&[
        "measure",
        "--features",
        &h,
        "--labels",
        &y,
        "--format",
        "csv",
    ]);
    assert!(ok);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("n,d,k,nc1,nc2,nc3,nc4,"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("5,2,3,"), "{}", lines[1]);
}

#[test]
fn safetensors_input_with_default_and_custom_names() {
    let dir = tempdir("st");
    let h = Tensor::from_f32(
        vec![5, 2],
        &[0.0, 0.0, 2.0, 0.0, 0.0, 2.0, 0.0, 4.0, -2.0, -2.0],
    )
    .unwrap();
    let y = Tensor::from_i64(vec![5], &[0, 0, 1, 1, 2]).unwrap();
    let w = Tensor::from_f32(vec![3, 2], &[1.0, 0.0, 0.0, 1.0, -1.0, -1.0]).unwrap();
    let b = Tensor::from_f32(vec![3], &[0.0, 0.5, 0.0]).unwrap();
    let file = dir.join("run.safetensors");
    safetensors::write(
        &file,
        &[
            ("features", &h),
            ("labels", &y),
            ("weights", &w),
            ("bias", &b),
        ],
        &BTreeMap::new(),
    )
    .unwrap();
    let (ok, stdout, stderr) = nclab(&["measure", file.to_str().unwrap(), "--format", "json"]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!((v["nc4"].as_f64().unwrap() - 0.2).abs() < 1e-15);

    let other = dir.join("other.safetensors");
    safetensors::write(
        &other,
        &[("train.features", &h), ("train.labels", &y)],
        &BTreeMap::new(),
    )
    .unwrap();
    let (ok, stdout, stderr) = nclab(&[
        "measure",
        other.to_str().unwrap(),
        "--features-key",
        "train.features",
        "--labels-key",
        "train.labels",
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["nc3"].is_null());
    let (ok, _, stderr) = nclab(&["measure", other.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("no tensor named \"features\"") && stderr.contains("train.features"),
        "{stderr}"
    );

    // A key given on the command line must be there (a misspelt one was passed over, and the
    // metrics it feeds came out null); one tensor cannot be two inputs (the second lookup said
    // it was missing); a default bias without weights is passed over.
    let run = file.to_str().unwrap();
    let (ok, _, stderr) = nclab(&["measure", run, "--weights-key", "W"]);
    assert!(!ok && stderr.contains("no tensor named \"W\""), "{stderr}");
    let (ok, _, stderr) = nclab(&["measure", run, "--eval-labels-key", "test.y"]);
    assert!(
        !ok && stderr.contains("no tensor named \"test.y\""),
        "{stderr}"
    );
    let (ok, _, stderr) = nclab(&["measure", run, "--labels-key", "features"]);
    assert!(
        !ok && stderr.contains("the tensor \"features\" is named for two inputs"),
        "{stderr}"
    );
    let bias_only = dir.join("bias-only.safetensors");
    safetensors::write(
        &bias_only,
        &[("features", &h), ("labels", &y), ("bias", &b)],
        &BTreeMap::new(),
    )
    .unwrap();
    let (ok, stdout, stderr) = nclab(&["measure", bias_only.to_str().unwrap(), "--format", "json"]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["nc3"].is_null() && v["nc1"].is_number(), "{stdout}");
}

#[test]
fn hierarchy_metrics_need_a_matching_tree() {
    let dir = tempdir("tree");
    let [h, y, ..] = write_example(&dir);
    let (ok, stdout, stderr) = nclab(&[
        "measure",
        "--features",
        &h,
        "--labels",
        &y,
        "--hierarchy",
        "flat:3",
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // All pairs are at the same tree distance: the rank correlation is undefined (NaN -> null),
    // and a flat tree has no coarse level.
    assert!(
        v["nc2_tree"].is_number() && v["nc1_coarse"].is_null(),
        "{stdout}"
    );
    let (ok, _, stderr) = nclab(&[
        "measure",
        "--features",
        &h,
        "--labels",
        &y,
        "--hierarchy",
        "cifar10",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("10 classes") && stderr.contains("3"),
        "{stderr}"
    );
}

/// Runs `nclab measure` on files written by `setup` and returns stderr, checking the exit.
fn failure(name: &str, setup: impl FnOnce(&Path) -> Vec<String>) -> String {
    let dir = tempdir(name);
    let mut args = vec!["measure".to_string()];
    args.extend(setup(&dir));
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let (ok, stdout, stderr) = nclab(&refs);
    assert!(!ok, "{name}: expected failure, got {stdout}");
    assert!(
        stdout.is_empty(),
        "{name}: printed results before failing: {stdout}"
    );
    stderr
}

fn save(dir: &Path, file: &str, t: Tensor) -> String {
    let p = dir.join(file);
    npy::write(&p, &t).unwrap();
    p.display().to_string()
}

/// Writes a case's files into the given folder and returns the `nclab measure` arguments.
type Setup<'a> = Box<dyn FnOnce(&Path) -> Vec<String> + 'a>;

#[test]
fn bad_input_gets_a_clear_error() {
    let feats = |dir: &Path, n: usize| {
        save(
            dir,
            "h.npy",
            Tensor::from_f32(
                vec![n, 2],
                &(0..2 * n).map(|i| i as f32).collect::<Vec<_>>(),
            )
            .unwrap(),
        )
    };
    let labels =
        |dir: &Path, y: &[i64]| save(dir, "y.npy", Tensor::from_i64(vec![y.len()], y).unwrap());
    let cases: Vec<(&str, Setup<'_>, &str)> = vec![
        (
            "lengths",
            Box::new(|d: &Path| {
                vec![
                    "--features".into(),
                    feats(d, 4),
                    "--labels".into(),
                    labels(d, &[0, 1, 1]),
                ]
            }),
            "h.npy has 4 rows but",
        ),
        (
            "range",
            Box::new(|d: &Path| {
                vec![
                    "--features".into(),
                    feats(d, 3),
                    "--labels".into(),
                    labels(d, &[0, 1, 5]),
                    "--num-classes".into(),
                    "2".into(),
                ]
            }),
            "label 5 at row 2 is out of range",
        ),
        (
            "negative",
            Box::new(|d: &Path| {
                vec![
                    "--features".into(),
                    feats(d, 3),
                    "--labels".into(),
                    labels(d, &[0, -1, 1]),
                ]
            }),
            "label -1 at row 1 is negative",
        ),
        (
            "empty class",
            Box::new(|d: &Path| {
                vec![
                    "--features".into(),
                    feats(d, 3),
                    "--labels".into(),
                    labels(d, &[0, 2, 2]),
                ]
            }),
            "no sample of class 1 (K = 3, the largest label + 1)",
        ),
        (
            "held-out features of another width",
            Box::new(|d: &Path| {
                let narrow = Tensor::from_f32(vec![3, 1], &[0.0, 1.0, 2.0]).unwrap();
                vec![
                    "--features".into(),
                    feats(d, 4),
                    "--labels".into(),
                    labels(d, &[0, 1, 1, 0]),
                    "--eval-features".into(),
                    save(d, "eval_h.npy", narrow),
                    "--eval-labels".into(),
                    save(d, "eval_y.npy", Tensor::from_i64(vec![3], &[0, 1, 1]).unwrap()),
                ]
            }),
            // Both held-out files named beside the role.
            "eval_y.npy): 2 classes of dimension 1, the training data 2 of dimension 2",
        ),
        (
            "labels from 1",
            Box::new(|d: &Path| {
                vec![
                    "--features".into(),
                    feats(d, 3),
                    "--labels".into(),
                    labels(d, &[1, 2, 2]),
                ]
            }),
            "has no label 0 (the labels run from 1 to 2): nclab counts classes from 0; \
             subtract 1 from the labels",
        ),
        (
            "one class",
            Box::new(|d: &Path| {
                vec![
                    "--features".into(),
                    feats(d, 3),
                    "--labels".into(),
                    labels(d, &[0, 0, 0]),
                ]
            }),
            "at least 2 classes",
        ),
        (
            "nan",
            Box::new(|d: &Path| {
                vec![
                    "--features".into(),
                    save(
                        d,
                        "h.npy",
                        Tensor::from_f32(vec![3, 1], &[0.0, 1.0, f32::NAN]).unwrap(),
                    ),
                    "--labels".into(),
                    labels(d, &[0, 1, 1]),
                ]
            }),
            "non-finite value NaN at row 2",
        ),
        (
            "dtype",
            Box::new(|d: &Path| {
                vec![
                    "--features".into(),
                    save(d, "h.npy", Tensor::from_i64(vec![2, 1], &[0, 1]).unwrap()),
                    "--labels".into(),
                    labels(d, &[0, 1]),
                ]
            }),
            "expected float values (float16, bfloat16, float32 or float64), got I64",
        ),
        (
            "weights shape",
            Box::new(|d: &Path| {
                vec![
                    "--features".into(),
                    feats(d, 3),
                    "--labels".into(),
                    labels(d, &[0, 1, 1]),
                    "--weights".into(),
                    save(d, "w.npy", Tensor::from_f32(vec![2, 3], &[0.0; 6]).unwrap()),
                ]
            }),
            "weights: expected K x 2 (classes x the features' 2 columns), got 2 x 3 (it looks transposed",
        ),
        (
            // K comes from the weights' 5 rows: the error says so, not only the labels'.
            "weights taller than the classes",
            Box::new(|d: &Path| {
                vec![
                    "--features".into(),
                    feats(d, 6),
                    "--labels".into(),
                    labels(d, &[0, 1, 1, 0, 1, 0]),
                    "--weights".into(),
                    save(d, "w.npy", Tensor::from_f32(vec![5, 2], &[0.0; 10]).unwrap()),
                ]
            }),
            "y.npy has no sample of classes 2, 3, 4; give the weights of this network",
        ),
        (
            // Squares of 1e160 overflow: refused by name (the eigensolver panicked).
            "features too large",
            Box::new(|d: &Path| {
                let h: Vec<f64> = (0..6).map(|i| (i as f64 + 1.0) * 1e160).collect();
                vec![
                    "--features".into(),
                    save(d, "h.npy", Tensor::from_f64(vec![3, 2], &h).unwrap()),
                    "--labels".into(),
                    labels(d, &[0, 1, 1]),
                ]
            }),
            "h.npy): value 1e160 at row 0, column 0 is beyond +-1e60",
        ),
        (
            "truncated npy",
            Box::new(|d: &Path| {
                let p = d.join("h.npy");
                std::fs::write(&p, b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_").unwrap();
                vec![
                    "--features".into(),
                    p.display().to_string(),
                    "--labels".into(),
                    labels(d, &[0, 1]),
                ]
            }),
            "h.npy",
        ),
        (
            "corrupt safetensors",
            Box::new(|d: &Path| {
                let p = d.join("run.safetensors");
                let mut bytes = 40u64.to_le_bytes().to_vec();
                bytes.extend_from_slice(b"{\"features\": {\"dtype\": \"F32\", \"sha");
                std::fs::write(&p, bytes).unwrap();
                vec![p.display().to_string()]
            }),
            "run.safetensors",
        ),
        (
            "missing file",
            Box::new(|d: &Path| {
                vec![
                    "--features".into(),
                    d.join("nope.npy").display().to_string(),
                    "--labels".into(),
                    labels(d, &[0]),
                ]
            }),
            "nope.npy",
        ),
        (
            "non-finite features",
            Box::new(|d: &Path| {
                let h = save(
                    d,
                    "nan.npy",
                    Tensor::from_f32(vec![4, 2], &[0.0, 1.0, 2.0, 3.0, f32::NAN, 5.0, 6.0, 7.0])
                        .unwrap(),
                );
                vec![
                    "--features".into(),
                    h,
                    "--labels".into(),
                    labels(d, &[0, 0, 1, 1]),
                ]
            }),
            "nan.npy): non-finite value NaN at row 2, column 0",
        ),
        (
            "coarse depth 0",
            Box::new(|d: &Path| {
                vec![
                    "--features".into(),
                    feats(d, 4),
                    "--labels".into(),
                    labels(d, &[0, 0, 1, 1]),
                    "--hierarchy".into(),
                    "flat:2".into(),
                    "--coarse-depth".into(),
                    "0".into(),
                ]
            }),
            "coarse depth 0 is the root",
        ),
    ];
    for (name, setup, expected) in cases {
        let stderr = failure(name, setup);
        assert!(
            stderr.contains(expected),
            "{name}: expected {expected:?} in {stderr:?}"
        );
    }
}

/// Balanced K = 2, d = 1: h = (-3, -1 | 1, 3), W = (-1, 1)^T, b = (0.5, 0), WD = 0.2 (lam = 0.1).
/// The three terms must add up to L = (1/2N) sum_i ||W h_i + b - e_{y_i}||^2 + lam/2 (||W||^2 + ||b||^2):
/// outputs (3.5,-3) (1.5,-1) (-0.5,1) (-2.5,3) against targets (1,0) (1,0) (0,1) (0,1):
/// squared errors 6.25+9, 0.25+1, 0.25+0, 6.25+4 = 27 -> 27/8 = 3.375; decay 0.05 (2 + 0.25) = 0.1125.
#[test]
fn mse_decomposition_terms_add_up_to_the_loss() {
    let dir = tempdir("mse");
    let h = save(
        &dir,
        "h.npy",
        Tensor::from_f64(vec![4, 1], &[-3.0, -1.0, 1.0, 3.0]).unwrap(),
    );
    let y = save(
        &dir,
        "y.npy",
        Tensor::from_i64(vec![4], &[0, 0, 1, 1]).unwrap(),
    );
    let w = save(
        &dir,
        "w.npy",
        Tensor::from_f64(vec![2, 1], &[-1.0, 1.0]).unwrap(),
    );
    let b = save(
        &dir,
        "b.npy",
        Tensor::from_f64(vec![2], &[0.5, 0.0]).unwrap(),
    );
    let (ok, stdout, stderr) = nclab(&[
        "measure",
        "--features",
        &h,
        "--labels",
        &y,
        "--weights",
        &w,
        "--bias",
        &b,
        "--mse-decomposition",
        "--weight-decay",
        "0.2",
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let sum: f64 = ["lnc1", "lnc23", "lperp"]
        .iter()
        .map(|k| v[k].as_f64().unwrap())
        .sum();
    assert!((sum - (3.375 + 0.1125)).abs() < 1e-12, "{sum}");
    let (ok, _, stderr) = nclab(&[
        "measure",
        "--features",
        &h,
        "--labels",
        &y,
        "--weights",
        &w,
        "--mse-decomposition",
    ]);
    assert!(!ok && stderr.contains("--weight-decay"), "{stderr}");
}

/// Held-out (--eval-features), out-of-distribution (--ood-features), float16 features and
/// column-vector labels, against the core functions on the same values.
#[test]
fn held_out_ood_half_precision_and_column_labels() {
    use nclab_core::metrics::collapse::class_statistics;
    use nclab_core::metrics::heldout::heldout;
    use nclab_core::metrics::CollapseInput;
    use nclab_core::tensor::MatrixView;
    let dir = tempdir("heldout");
    let [h, y, w, b] = write_example(&dir);
    // Held-out samples near the three class means, one per class, and a column of labels.
    let eh: Vec<f32> = vec![0.5, 0.1, 0.2, 2.5, -1.0, -1.5];
    let ey_path = dir.join("ey.npy");
    npy::write(&ey_path, &Tensor::from_i64(vec![3, 1], &[0, 1, 2]).unwrap()).unwrap();
    let eh_path = dir.join("eh.npy");
    npy::write(&eh_path, &Tensor::from_f32(vec![3, 2], &eh).unwrap()).unwrap();
    let ood_path = dir.join("ood.npy");
    npy::write(
        &ood_path,
        &Tensor::from_f32(vec![2, 2], &[3.0, 1.0, 1.0, 3.0]).unwrap(),
    )
    .unwrap();
    let s = |p: &PathBuf| p.display().to_string();
    let (ok, stdout, stderr) = nclab(&[
        "measure",
        "--train-features",
        &h,
        "--train-labels",
        &y,
        "--weights",
        &w,
        "--bias",
        &b,
        "--eval-features",
        &s(&eh_path),
        "--eval-labels",
        &s(&ey_path),
        "--ood-features",
        &s(&ood_path),
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // The same computation through the library.
    let train_h = [0.0f32, 0.0, 2.0, 0.0, 0.0, 2.0, 0.0, 4.0, -2.0, -2.0];
    let stats = class_statistics(MatrixView::f32(&train_h, 5, 2), &[0, 0, 1, 1, 2], 3).unwrap();
    let wv = [1.0, 0.0, 0.0, 1.0, -1.0, -1.0];
    let want = heldout(
        &stats,
        &CollapseInput {
            features: MatrixView::f32(&eh, 3, 2),
            labels: &[0, 1, 2],
            num_classes: 3,
            weights: Some(MatrixView::f64(&wv, 3, 2)),
            bias: Some(&[0.0, 0.5, 0.0]),
            predictions: None,
        },
    )
    .unwrap();
    for (name, value) in want.entries() {
        assert_eq!(v[name].as_f64(), value, "{name}");
    }
    // NC5 by hand: class means (1, 0), (0, 3), (-2, -2); OOD mean (2, 2):
    // |cos| = 1/sqrt(2), 1/sqrt(2), 1 -> (2/sqrt(2) + 1) / 3.
    let nc5 = (2.0 / 2f64.sqrt() + 1.0) / 3.0;
    assert!((v["nc5"].as_f64().unwrap() - nc5).abs() < 1e-12, "{stdout}");

    // float16 features give the metrics of their values (all exact in f16 here).
    let half: Vec<u8> = train_h
        .iter()
        .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
        .collect();
    let h16 = dir.join("h16.npy");
    npy::write(
        &h16,
        &Tensor::from_bytes(DType::F16, vec![5, 2], half).unwrap(),
    )
    .unwrap();
    let (ok, out16, stderr) = nclab(&[
        "measure",
        "--features",
        &s(&h16),
        "--labels",
        &y,
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let v16: serde_json::Value = serde_json::from_str(&out16).unwrap();
    assert!((v16["nc1"].as_f64().unwrap() - 916.0 / 5445.0).abs() < 1e-12);

    // A label far above N is refused before anything of size K is made.
    let big = dir.join("big.npy");
    npy::write(
        &big,
        &Tensor::from_i64(vec![5], &[0, 1, 2, 0, 1 << 62]).unwrap(),
    )
    .unwrap();
    let (ok, _, stderr) = nclab(&["measure", "--features", &h, "--labels", &s(&big)]);
    assert!(!ok);
    assert!(
        stderr.contains("would make K = 4611686018427387905 classes for 5 samples"),
        "{stderr}"
    );
}

/// Every key `nclab measure --format json` can print is defined in docs/metrics.md (written
/// there in backticks), so that the reference never falls behind the tool.
#[test]
fn docs_define_every_metric_measure_prints() {
    let dir = tempdir("docs");
    let [h, y, w, b] = write_example(&dir);
    let tree = dir.join("tree.txt");
    std::fs::write(&tree, "root a\nroot x\nx b\nx c\n").unwrap();
    let (ok, stdout, stderr) = nclab(&[
        "measure",
        "--features",
        &h,
        "--labels",
        &y,
        "--weights",
        &w,
        "--bias",
        &b,
        "--eval-features",
        &h,
        "--eval-labels",
        &y,
        "--ood-features",
        &h,
        "--hierarchy",
        tree.to_str().unwrap(),
        "--mse-decomposition",
        "--weight-decay",
        "0.001",
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let docs = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/metrics.md"),
    )
    .unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert!(keys.len() > 30, "{keys:?}");
    for key in keys {
        assert!(
            docs.contains(&format!("`{key}`")),
            "docs/metrics.md does not define `{key}`"
        );
    }
}

/// K never comes from a number nobody checked: `--num-classes 1000000000` for 5 samples, a
/// label of 1e8, and one of 2^62 with `--num-classes 3` are each refused with a message naming
/// the labels file (and the row), before anything of size K is allocated.
#[test]
fn huge_class_counts_are_refused_before_allocating() {
    let dir = tempdir("huge-k");
    let [h, y, _, _] = write_example(&dir);
    let (ok, out, err) = nclab(&[
        "measure",
        "--features",
        &h,
        "--labels",
        &y,
        "--num-classes",
        "1000000000",
    ]);
    assert!(!ok, "{out}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(
            "y.npy: 1000000000 classes for 5 samples; every class needs at least one sample"
        ),
        "{err}"
    );
    let big = dir.join("y1e8.npy");
    npy::write(
        &big,
        &Tensor::from_i64(vec![5], &[0, 1, 2, 0, 100_000_000]).unwrap(),
    )
    .unwrap();
    let (ok, _, err) = nclab(&[
        "measure",
        "--features",
        &h,
        "--labels",
        big.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains(
            "y1e8.npy: label 100000000 at row 4 would make K = 100000001 classes for 5 samples"
        ),
        "{err}"
    );
    let huge = dir.join("y2e62.npy");
    npy::write(
        &huge,
        &Tensor::from_i64(vec![5], &[0, 1, 2, 0, 1 << 62]).unwrap(),
    )
    .unwrap();
    let (ok, _, err) = nclab(&[
        "measure",
        "--features",
        &h,
        "--labels",
        huge.to_str().unwrap(),
        "--num-classes",
        "3",
    ]);
    assert!(!ok);
    assert!(
        err.contains(
            "y2e62.npy: label 4611686018427387904 at row 4 is out of range for 3 classes (0..2)"
        ),
        "{err}"
    );
}
