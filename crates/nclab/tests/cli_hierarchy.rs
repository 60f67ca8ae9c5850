//! End-to-end tests of `nclab hierarchy` and `nclab evaluate` through the built binary.

mod common;
use common::nclab;

use std::path::{Path, PathBuf};

use nclab_core::io::npy;
use nclab_core::tensor::Tensor;

use nclab_testkit::scratch as temp_dir;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// root -> { x -> {a, b}, c }: d(a,b) = 1, d(a,c) = d(b,c) = 2.
const TREE3: &str = "root x\nx a\nx b\nroot c\n";

#[test]
fn show_draws_the_tree_with_depths_and_classes() {
    let (ok, out, err) = nclab(&["hierarchy", "show", "cifar10"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("10 classes, 14 nodes (4 internal)") || out.contains("10 classes"),
        "{out}"
    );
    // By hand: at height 1 the 6 pairs of mammals and the 2 land vehicles' 1; at height 2
    // animal's (6^2 - 4^2 - 1 - 1) / 2 = 9 and vehicle's (4^2 - 2^2 - 1 - 1) / 2 = 5; at the
    // root 6 x 4 = 24. Ceiling sqrt(1 - (336 + 2730 + 13800) / 91080) = 0.90267...
    assert!(
        out.contains(
            "\npairs of classes by LCA height: 1: 7, 2: 14, 3: 24; mean_tree_correlation at \
             most 0.9027\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("entity (depth 0, height 3, 10 classes)"),
        "{out}"
    );
    assert!(
        out.contains("│   ├── mammal (depth 2, height 1, 4 classes)"),
        "{out}"
    );
    assert!(out.contains("│   │   ├── cat [class 3] (depth 3)"), "{out}");
    assert!(
        out.contains("    └── airplane [class 0] (depth 2)"),
        "{out}"
    );
}

#[test]
fn distances_csv_and_json() {
    let (ok, out, err) = nclab(&["hierarchy", "distances", "cifar10", "--format", "csv"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "airplane,automobile,bird,cat,deer,dog,frog,horse,ship,truck"
    );
    assert_eq!(lines.len(), 11);
    // cat row: 3 to vehicles, 2 to bird and frog, 1 to the other mammals, 0 to itself.
    assert_eq!(lines[4], "3,3,2,0,1,1,2,1,3,3");
    let (ok, out, err) = nclab(&[
        "hierarchy",
        "distances",
        "cifar10",
        "--normalized",
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["classes"][9], "truck");
    assert_eq!(v["matrix"][1][9].as_f64().unwrap(), 1.0 / 3.0);
    assert_eq!(v["matrix"][0][3].as_f64().unwrap(), 1.0);
    assert_eq!(v["normalized"], true);
}

#[test]
fn soft_labels_columns_are_the_targets() {
    let dir = temp_dir("soft");
    let f = dir.join("tree3.txt");
    std::fs::write(&f, TREE3).unwrap();
    let beta = format!("{}", 2.0 * 2f64.ln());
    let (ok, out, err) = nclab(&["hierarchy", "soft-labels", s(&f), "--beta", &beta]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "a,b,c");
    let m: Vec<Vec<f64>> = lines[1..]
        .iter()
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    // Column 0 (true class a): exp(-beta dn) = 1, 1/2, 1/4 normalised: 4/7, 2/7, 1/7.
    for (row, want) in m.iter().zip([4.0 / 7.0, 2.0 / 7.0, 1.0 / 7.0]) {
        assert!((row[0] - want).abs() < 1e-15, "{out}");
    }
    // Column 2 (true class c): weights 1/4, 1/4, 1 -> 1/6, 1/6, 2/3.
    for (row, want) in m.iter().zip([1.0 / 6.0, 1.0 / 6.0, 2.0 / 3.0]) {
        assert!((row[2] - want).abs() < 1e-15, "{out}");
    }
    // A negative beta meets the range check; neither option is named as a choice of two.
    let (ok, _, err) = nclab(&["hierarchy", "soft-labels", s(&f), "--beta", "-1"]);
    assert!(
        !ok && err.contains("--beta must be finite and >= 0, got -1"),
        "{err}"
    );
    let (ok, _, err) = nclab(&["hierarchy", "soft-labels", s(&f)]);
    assert!(!ok && err.contains("--beta <BETA>|--mass <MASS>"), "{err}");
}

#[test]
fn convert_round_trips_and_refuses_bad_files() {
    let dir = temp_dir("convert");
    let f = dir.join("tree3.txt");
    std::fs::write(&f, TREE3).unwrap();
    let j = dir.join("tree3.json");
    let (ok, _, err) = nclab(&["hierarchy", "convert", s(&f), "--to", "json", "-o", s(&j)]);
    assert!(ok, "{err}");
    let (ok, out, err) = nclab(&["hierarchy", "convert", s(&j), "--to", "edges"]);
    assert!(ok, "{err}");
    assert_eq!(out, TREE3);
    // --classes puts the classes in the data's label order (c, a, b): JSON records it, and
    // the edge list writes its leaf edges in it; a name not in the tree is refused.
    let order = dir.join("order.txt");
    let ordered = |to: &str| {
        let args = [
            "hierarchy",
            "convert",
            s(&f),
            "--classes",
            s(&order),
            "--to",
            to,
        ];
        nclab(&args)
    };
    std::fs::write(&order, "c\n a \n\nb\n").unwrap();
    let (ok, out, err) = ordered("json");
    assert!(
        ok && out.contains(r#""classes": ["c", "a", "b"]"#),
        "{err}{out}"
    );
    let (ok, out, _) = ordered("edges");
    assert!(ok && out.ends_with("c\nx a\nx b\n"), "{out}");
    std::fs::write(&order, "c\na\nz\n").unwrap();
    let (ok, _, err) = ordered("json");
    assert!(
        !ok && err.contains("order.txt: ") && err.contains("not in the hierarchy: 'z'"),
        "{err}"
    );
    let (ok, out, _) = nclab(&["hierarchy", "convert", s(&f), "--to", "dot"]);
    assert!(
        ok && out.starts_with("digraph") && out.contains("\"x\" -> \"a\";"),
        "{out}"
    );

    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "root a\nroot b\nb a\n").unwrap();
    let target = dir.join("out.json");
    let (ok, _, err) = nclab(&[
        "hierarchy",
        "convert",
        s(&bad),
        "--to",
        "json",
        "-o",
        s(&target),
    ]);
    assert!(!ok);
    assert!(
        err.contains("bad.txt: line 3: node 'a' has two parents"),
        "{err}"
    );
    assert!(!target.exists(), "nothing written on error");
    let (ok, _, err) = nclab(&["hierarchy", "show", "nonexistent.txt"]);
    assert!(!ok && err.contains("neither a built-in"), "{err}");
}

fn write_npy(dir: &Path, name: &str, t: &Tensor) -> PathBuf {
    let p = dir.join(name);
    npy::write(&p, t).unwrap();
    p
}

/// `nclab evaluate --logits L --labels Y --hierarchy H` and `extra` arguments.
fn evaluate(
    logits: &Path,
    labels: &Path,
    hierarchy: &str,
    extra: &[&str],
) -> (bool, String, String) {
    let mut args = vec![
        "evaluate",
        "--logits",
        s(logits),
        "--labels",
        s(labels),
        "--hierarchy",
        hierarchy,
    ];
    args.extend_from_slice(extra);
    nclab(&args)
}

#[test]
fn evaluate_json_on_a_hand_made_example() {
    let dir = temp_dir("evaluate");
    let f = dir.join("tree3.txt");
    std::fs::write(&f, TREE3).unwrap();
    // Rankings: s1 t=a: a,b,c; s2 t=a: b,c,a; s3 t=c: c,a,b; s4 t=c: a,c,b.
    let z = [3.0, 2.0, 1.0, 1.0, 3.0, 2.0, 2.0, 1.0, 3.0, 3.0, 1.0, 2.0];
    let logits = write_npy(
        &dir,
        "logits.npy",
        &Tensor::from_f64(vec![4, 3], &z).unwrap(),
    );
    let labels = write_npy(
        &dir,
        "labels.npy",
        &Tensor::from_i64(vec![4], &[0, 0, 2, 2]).unwrap(),
    );
    let (ok, out, err) = evaluate(
        &logits,
        &labels,
        s(&f),
        &[
            "--k", "1,2", "--crm", "--loss", "ce", "--loss", "hxe:0", "--format", "json",
        ],
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Values worked out in nclab-core's mistakes tests.
    assert_eq!(v["top1_error"], 0.5);
    assert_eq!(v["top2_error"], 0.25);
    assert_eq!(v["mistake_severity"], 1.5);
    assert_eq!(v["hdist@2"], 1.0);
    assert_eq!(v["hprecision@1"], 0.625);
    assert!((v["hmap@2"].as_f64().unwrap() - 0.7291666666666666).abs() < 1e-12);
    // The floor of hdist@2: t = a lists a, b (0 + 1) / 2; t = c lists c, a (0 + 2) / 2.
    assert_eq!(
        v["floor"],
        serde_json::json!({"hdist@1": 0, "hdist@2": 0.75})
    );
    // Every logit row is a permutation of (1, 2, 3): CE = lse(1,2,3) - z_t with z_t = 3, 1, 3, 2.
    let lse = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
    let ce = lse - (3.0 + 1.0 + 3.0 + 2.0) / 4.0;
    assert!((v["loss"]["ce"].as_f64().unwrap() - ce).abs() < 1e-12);
    // HXE with alpha 0 equals CE.
    assert!((v["loss"]["hxe:0"].as_f64().unwrap() - ce).abs() < 1e-12);
    let crm = &v["crm"];
    assert!(
        crm["top1_error"].is_number() && crm["hmap@2"].is_number(),
        "{out}"
    );

    // --predictions: each sample's label, its 3 classes (K = 3) and their distances on tree3
    // (d(a, b) = 1, c 2 from both): a,b,c for a: 0 and (0+1+2)/3; b,c,a for a: 1 and 1; c,a,b
    // for c: 0 and 4/3; a,c,b for c: 2 and 4/3.
    let preds = dir.join("test_predictions.csv");
    let (ok, _, err) = evaluate(&logits, &labels, s(&f), &["--predictions", s(&preds)]);
    assert!(ok, "{err}");
    // A folder that does not exist: the error names the option and the path.
    let nowhere = dir.join("no-such-folder/p.csv");
    let (ok, _, err) = evaluate(&logits, &labels, s(&f), &["--predictions", s(&nowhere)]);
    assert!(
        !ok && err.contains("--predictions") && err.contains("no-such-folder"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&preds).unwrap(),
        "label,rank1,rank2,rank3,hdist@1,hdist@5\n0,0,1,2,0,1\n0,1,2,0,1,1\n\
         2,2,0,1,0,1.3333333333333333\n2,0,2,1,2,1.3333333333333333\n"
    );

    // Table output runs too.
    let (ok, out, err) = evaluate(&logits, &labels, s(&f), &["--crm", "--k", "2"]);
    assert!(ok, "{err}");
    assert!(out.contains("top2_error") && out.contains("crm"), "{out}");
    let floor = out
        .lines()
        .find(|l| l.starts_with("hdist@2 floor"))
        .unwrap();
    let value: f64 = floor.split_whitespace().last().unwrap().parse().unwrap();
    assert_eq!(value, 0.75, "{out}");

    // Without --k, with 3 classes: cut-offs 1 and 3 (not 5, which 3 classes cannot have).
    let (ok, out, err) = evaluate(&logits, &labels, s(&f), &["--format", "json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["top1_error"], 0.5);
    assert_eq!(v["top3_error"], 0.0);
    assert!(v.get("top5_error").is_none(), "{out}");

    // Without --hierarchy: the flat tree, the same top-k errors, every mistake of severity 1.
    let (ok, out, err) = nclab(&[
        "evaluate",
        "--logits",
        s(&logits),
        "--labels",
        s(&labels),
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let flat: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (flat["top1_error"].clone(), flat["mistake_severity"].clone()),
        (0.5.into(), 1.into())
    );
}

#[test]
fn evaluate_refuses_a_hierarchy_that_does_not_match_k() {
    let dir = temp_dir("mismatch");
    let logits = write_npy(
        &dir,
        "l.npy",
        &Tensor::from_f64(vec![2, 4], &[0.0; 8]).unwrap(),
    );
    let labels = write_npy(&dir, "y.npy", &Tensor::from_i64(vec![2], &[0, 3]).unwrap());
    let (ok, _, err) = evaluate(&logits, &labels, "cifar10", &[]);
    assert!(!ok);
    assert!(
        err.contains("'cifar10' has 10 classes but the data has 4"),
        "{err}"
    );
    let bad_labels = write_npy(&dir, "y2.npy", &Tensor::from_i64(vec![2], &[0, 4]).unwrap());
    let (ok, _, err) = evaluate(&logits, &bad_labels, "flat", &[]);
    assert!(!ok && err.contains("label 4 at row 1"), "{err}");
    // Labels of the tree's 10 classes against logits of 4 columns: the logits' width is the
    // fault, named before the labels (it blamed label 4 before).
    let (ok, _, err) = evaluate(&logits, &bad_labels, "cifar10", &[]);
    assert!(
        !ok && err.contains("against the 4 columns of") && !err.contains("label 4"),
        "{err}"
    );
    // A non-finite score names the logits file.
    let nan = write_npy(
        &dir,
        "nan.npy",
        &Tensor::from_f64(vec![2, 4], &[0.0, 0.0, f64::NAN, 0.0, 0.0, 0.0, 0.0, 0.0]).unwrap(),
    );
    let (ok, _, err) = evaluate(&nan, &labels, "flat", &[]);
    assert!(
        !ok && err
            .contains("nan.npy: row 0 of the scores has a non-finite value (NaN) in column 2"),
        "{err}"
    );
    let (ok, _, err) = evaluate(&logits, &labels, "flat", &["--loss", "hxe"]);
    assert!(
        !ok && err.contains("loss 'hxe': expected hxe:ALPHA"),
        "{err}"
    );
}

/// `n0 n1\nn1 n2\n...`: a chain `depth` edges deep.
fn chain(depth: usize) -> String {
    (0..depth).map(|i| format!("n{i} n{}\n", i + 1)).collect()
}

/// A 100,000-deep chain is drawn without recursion, and its drawing is linear in size:
/// nodes deeper than the drawn levels sit at a fixed indentation after a `…` mark.
#[test]
fn show_draws_a_100000_deep_chain() {
    let dir = temp_dir("show-deep");
    let f = dir.join("chain.txt");
    std::fs::write(&f, chain(100_000)).unwrap();
    let (ok, out, err) = nclab(&["hierarchy", "show", s(&f)]);
    assert!(ok, "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("overflow"),
        "{err}"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 100_003);
    assert!(lines[0].contains("1 classes, 100001 nodes (100000 internal), max depth 100000"));
    assert_eq!(lines[1], "no pairs of classes");
    assert_eq!(lines[2], "n0 (depth 0, height 100000, 1 classes)");
    assert_eq!(lines[3], "└── n1 (depth 1, height 99999, 1 classes)");
    assert!(
        lines[100_002].ends_with("… └── n100000 [class 0] (depth 100000)"),
        "{}",
        lines[100_002]
    );
    assert!(out.len() < 300 * 100_003, "{} bytes", out.len());
}

/// Deep trees written by `convert --to json` (20,000 and 100,000 levels; 64 levels was
/// already beyond what serde_json read) are read back by nclab, in linear space.
#[test]
fn convert_writes_deep_json_that_reads_back() {
    let dir = temp_dir("convert-deep");
    for depth in [64, 20_000, 100_000] {
        let f = dir.join(format!("chain{depth}.txt"));
        std::fs::write(&f, chain(depth)).unwrap();
        let j = dir.join(format!("chain{depth}.json"));
        let (ok, _, err) = nclab(&["hierarchy", "convert", s(&f), "--to", "json", "-o", s(&j)]);
        assert!(ok, "{depth}: {err}");
        let size = std::fs::metadata(&j).unwrap().len() as usize;
        assert!(size < 400 * (depth + 1), "{depth}: {size} bytes");
        let (ok, out, err) = nclab(&["hierarchy", "convert", s(&j), "--to", "edges"]);
        assert!(ok, "{depth}: {err}");
        assert_eq!(out, chain(depth), "{depth}");
    }
}

#[test]
fn distances_refuse_a_matrix_too_large_to_build() {
    let (ok, out, err) = nclab(&["hierarchy", "distances", "flat:1000000"]);
    assert!(!ok);
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("flat:1000000: 1000000 classes: a 1000000 x 1000000 matrix has 1000000000000 entries, more than the 67108864"),
        "{err}"
    );
    assert!(err.contains("use a hierarchy with fewer classes"), "{err}");
    let (ok, _, err) = nclab(&["hierarchy", "soft-labels", "flat:100000", "--beta", "1"]);
    assert!(!ok && err.contains("more than the 67108864"), "{err}");
}

/// `nclab hierarchy distances flat:3000 | head -1`: the reader goes away after one line of an
/// 18 MB matrix; nclab stops quietly with status 141 instead of panicking.
#[test]
fn a_closed_pipe_ends_printing_quietly() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_nclab"))
        .args(["hierarchy", "distances", "flat:3000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("0,1,2,"), "{line}");
    drop(reader);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "{err}");
    assert_eq!(out.status.code(), Some(141));
    // `show` streams: the same when the pipe is closed before anything is written.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nclab"))
        .args(["hierarchy", "show", "cifar100"])
        .stdout(writer)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.is_empty(), "{err}");
    assert_eq!(out.status.code(), Some(141));
}

/// A class count from a typo (10^9) is refused before a node is made, as `flat:K` and as
/// `flat --num-classes K`, with a message naming the spec; no panic, no allocation failure.
#[test]
fn a_billion_flat_classes_are_refused() {
    for args in [
        &["hierarchy", "show", "flat:1000000000"][..],
        &["hierarchy", "show", "flat", "--num-classes", "1000000000"][..],
        &["hierarchy", "distances", "flat:1000000000"][..],
    ] {
        let (ok, out, err) = nclab(args);
        assert!(!ok, "{args:?}: {out}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            err.contains(
                "flat:1000000000: more than the 1000000 classes a flat hierarchy may have"
            ),
            "{args:?}: {err}"
        );
    }
}
