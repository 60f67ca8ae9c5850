//! `nclab report` over tiny synthetic run directories that the tests write themselves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nclab_core::tensor::Tensor;
use nclab_runs::report::{generate, html::referenced_files, Options};
use nclab_testkit::{number_at as num, read_csv};

/// A fresh empty directory under the target's temp area.
use nclab_testkit::scratch;

const HEADER: &str =
    "epoch,lr,elapsed_s,train_loss,train_acc,test_acc,nc1,nc2,top1_error,mistake_severity,hdist@1";

/// Writes one run: config.toml, metrics.csv (3 analysis epochs, final row given), summary.json.
fn write_run(dir: &Path, loss: &str, seed: u64, last: [f64; 10]) {
    std::fs::create_dir_all(dir).unwrap();
    let config = format!(
        "name = \"syn-mlp-{loss}\"\nseed = {seed}\ndevice = \"cpu\"\nhierarchy = \"flat:3\"\n\n\
         [data]\nname = \"synthetic\"\nroot = \"/data/{seed}\"\n\n[model]\nkind = \"mlp\"\n\
         widths = [8, 8]\n\n[loss]\nkind = \"{loss}\"\nkappa = 1.0\n\n[optim]\nlr = 0.1\nepochs = 4\n"
    );
    std::fs::write(dir.join("config.toml"), config).unwrap();
    let fmt = |row: &[f64]| {
        row.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    // Epoch 1 and 2 rows are decoys (the summary must use the last row); the middle row leaves
    // hdist@1 empty (not computed).
    let first = [0.1, 1.0, 2.0, 0.5, 0.5, 10.0, 1.0, 0.5, 2.0, 1.0];
    let csv = format!(
        "{HEADER}\n1,{}\n2,0.1,2.0,1.5,0.7,0.6,3.0,0.8,0.4,1.5,\n4,{}\n",
        fmt(&first),
        fmt(&last)
    );
    std::fs::write(dir.join("metrics.csv"), csv).unwrap();
    // TPT at epoch 2 + seed (4, the last, at most), except the MSE run of seed 1, which never
    // reached it (null);
    // wall time 10 + seed seconds.
    let tpt = if loss == "mse" && seed == 1 {
        "null".to_string()
    } else {
        (2 + seed).min(4).to_string()
    };
    let wall = 10 + seed;
    let summary = format!(
        "{{\"name\": \"syn-mlp-{loss}\", \"seed\": {seed}, \"dataset\": \"synthetic\", \
         \"model\": \"mlp\", \"loss\": \"{loss}\", \"hierarchy\": \"flat:3\", \
         \"status\": \"finished\", \"epochs\": 4, \"tpt_epoch\": {tpt}, \"wall_time_s\": {wall}}}"
    );
    std::fs::write(dir.join("summary.json"), summary).unwrap();
}

/// final.safetensors with 3 well-separated classes in 4-D (2 samples each) and a classifier.
fn write_final(dir: &Path) {
    let feats: Vec<f32> = vec![
        1.0, 0.0, 0.0, 0.1, 1.0, 0.0, 0.0, -0.1, // class 0
        -0.5, 0.9, 0.0, 0.1, -0.5, 0.9, 0.0, -0.1, // class 1
        -0.5, -0.9, 0.0, 0.1, -0.5, -0.9, 0.0, -0.1, // class 2
    ];
    let f = Tensor::from_f32(vec![6, 4], &feats).unwrap();
    let y = Tensor::from_i64(vec![6], &[0, 0, 1, 1, 2, 2]).unwrap();
    let w = Tensor::from_f32(
        vec![3, 4],
        &[
            2.0, 0.0, 0.0, 0.0, -1.0, 1.8, 0.0, 0.0, -1.0, -1.8, 0.0, 0.0,
        ],
    )
    .unwrap();
    nclab_core::io::safetensors::write(
        &dir.join("final.safetensors"),
        &[
            ("train.features", &f),
            ("train.labels", &y),
            ("weights", &w),
        ],
        &BTreeMap::new(),
    )
    .unwrap();
}

// Final rows:        lr   el   trl  tra  tea  nc1  nc2  top1  sev  hd1
const CE0: [f64; 10] = [0.01, 9.0, 0.1, 1.0, 0.9, 0.5, 0.2, 0.10, 1.0, 0.1];
const CE1: [f64; 10] = [0.01, 8.0, 0.2, 1.0, 0.8, 0.3, 0.4, 0.20, 1.0, 0.2];
const MSE0: [f64; 10] = [0.01, 7.0, 0.3, 1.0, 0.7, 0.05, 0.1, 0.30, 1.0, 0.3];
const MSE1: [f64; 10] = [0.01, 6.0, 0.4, 0.9, 0.6, 0.01, 0.3, 0.40, 1.0, 0.4];

fn four_runs(root: &Path) -> PathBuf {
    let runs = root.join("runs");
    write_run(&runs.join("ce-s0"), "ce", 0, CE0);
    write_run(&runs.join("ce-s1"), "ce", 1, CE1);
    write_run(&runs.join("sweep/mse-s0"), "mse", 0, MSE0);
    write_run(&runs.join("sweep/mse-s1"), "mse", 1, MSE1);
    write_final(&runs.join("ce-s0"));
    runs
}

/// The CE and the MSE run directories of [`four_runs`].
fn by_loss(runs: &Path) -> ([PathBuf; 2], [PathBuf; 2]) {
    (
        [runs.join("ce-s0"), runs.join("ce-s1")],
        [runs.join("sweep/mse-s0"), runs.join("sweep/mse-s1")],
    )
}

fn options(inputs: Vec<PathBuf>, out: PathBuf) -> Options {
    Options::new(inputs, out)
}

#[test]
fn report_writes_every_file_and_references_only_existing_ones() {
    let root = scratch("all");
    let runs = four_runs(&root);
    let out = root.join("out");
    let outcome = generate(&options(vec![runs], out.clone())).unwrap();
    assert_eq!(outcome.runs, 4);
    assert_eq!(outcome.conditions, 2);
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);

    let mut expected: Vec<String> = Vec::new();
    for m in [
        "lr",
        "train_loss",
        "train_acc",
        "test_acc",
        "nc1",
        "nc2",
        "top1_error",
        "mistake_severity",
        "hdist-at-1",
    ] {
        expected.push(format!("curve-{m}.svg"));
        expected.push(format!("curve-{m}.png"));
    }
    // Only the CE condition (c1) has a final.safetensors; the MSE runs pair with the CE ones
    // by seed, so the paired effects figure is drawn.
    for f in ["gram-c1", "pca-c1", "tradeoff", "effects", "panels"] {
        expected.push(format!("{f}.svg"));
        expected.push(format!("{f}.png"));
    }
    for f in [
        "summary.csv",
        "comparisons.csv",
        "folds.csv",
        "summary.md",
        "index.html",
    ] {
        expected.push(f.to_string());
    }
    let mut written = outcome.files.clone();
    written.sort();
    expected.sort();
    assert_eq!(written, expected);
    for f in &expected {
        let bytes = std::fs::read(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        if f.ends_with(".png") {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{f}");
        } else if f.ends_with(".svg") {
            assert!(String::from_utf8_lossy(&bytes).contains("<svg"), "{f}");
        }
    }
    // No curve for elapsed_s (bookkeeping), no geometry for the MSE condition (no tensors).
    assert!(!out.join("curve-elapsed_s.png").exists());
    assert!(!out.join("gram-c2.png").exists());
    // Nothing left of the staging area; the list of the report's files beside them.
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|name| name.starts_with('.') && name != ".nclab-report")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let listed = std::fs::read_to_string(out.join(".nclab-report")).unwrap();
    assert_eq!(listed.lines().count(), outcome.files.len());

    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let refs = referenced_files(&html);
    assert!(refs.len() >= expected.len() - 1, "{refs:?}");
    for r in &refs {
        assert!(!r.contains("://"), "network reference {r}");
        assert!(out.join(r).is_file(), "index.html references missing {r}");
    }
    // Every figure is referenced, with a description under it.
    for f in expected.iter().filter(|f| f.ends_with(".png")) {
        assert!(refs.contains(f), "{f} not in index.html");
    }
    assert!(html.contains("<figcaption>nc1: Within-class variability"));
    // The page's script is inline: no src= of any kind (it must work offline).
    assert!(html.contains("<script>"));
    assert!(!html.contains("<script src"));
}

#[test]
fn summary_csv_holds_final_values_and_hand_computed_statistics() {
    let root = scratch("summary");
    let runs = four_runs(&root);
    let out = root.join("out");
    generate(&options(vec![runs], out.clone())).unwrap();
    let rows = read_csv(&out.join("summary.csv"));
    assert_eq!(rows.len(), 2);
    let (ce, mse) = (&rows[0], &rows[1]);
    assert_eq!(ce["condition"], "loss.kind=ce");
    assert_eq!(mse["condition"], "loss.kind=mse");
    assert_eq!(ce["runs"], "2");
    assert_eq!(ce["seeds"], "0 1");
    // nc1 at the last epoch: CE 0.5 and 0.3 -> mean 0.4, sd = sqrt(2 * 0.1^2 / 1) = 0.1414...
    assert!((num(ce, "nc1_mean") - 0.4).abs() < 1e-15);
    assert!((num(ce, "nc1_sd") - 0.02f64.sqrt()).abs() < 1e-15);
    assert_eq!(ce["nc1_n"], "2");
    // MSE 0.05 and 0.01 -> mean 0.03, sd = sqrt(2 * 0.02^2) = 0.0282842712474619.
    assert!((num(mse, "nc1_mean") - 0.03).abs() < 1e-15);
    assert!((num(mse, "nc1_sd") - 0.0008f64.sqrt()).abs() < 1e-15);
    // A metric equal in both runs: sd exactly 0.
    assert_eq!(num(ce, "mistake_severity_mean"), 1.0);
    assert_eq!(num(ce, "mistake_severity_sd"), 0.0);
    // Every (condition, metric) mean equals the mean of the runs' final values.
    let names = HEADER.split(',').skip(1).collect::<Vec<_>>();
    for (row, (a, b)) in [(ce, (CE0, CE1)), (mse, (MSE0, MSE1))] {
        for (j, m) in names.iter().enumerate() {
            let expect = (a[j] + b[j]) / 2.0;
            assert!(
                (num(row, &format!("{m}_mean")) - expect).abs() < 1e-12,
                "{m}"
            );
        }
    }

    // summary.json values: CE TPT at 2 and 3 (mean 2.5, sd sqrt(0.5)); MSE only 2 (n = 1,
    // the run without TPT left out); wall times 10 and 11 on both sides.
    assert_eq!(num(ce, "tpt_epoch_mean"), 2.5);
    assert!((num(ce, "tpt_epoch_sd") - 0.5f64.sqrt()).abs() < 1e-15);
    assert_eq!(
        (num(mse, "tpt_epoch_mean"), mse["tpt_epoch_n"].as_str()),
        (2.0, "1")
    );
    assert_eq!(mse["tpt_epoch_sd"], "");
    assert_eq!(num(mse, "wall_time_s_mean"), 10.5);

    // Comparisons: MSE against CE. nc1: diff = 0.03 - 0.4 = -0.37;
    // se = sqrt(0.02/2 + 0.0008/2) = sqrt(0.0104); t = -0.37/sqrt(0.0104) = -3.628148...;
    // df = 0.0104^2 / (0.01^2 + 0.0004^2) = 1.079872...; p and CI from mpmath (below).
    let comps = read_csv(&out.join("comparisons.csv"));
    // Not compared: the learning rate (a setting) and the training loss (MSE's and CE's are
    // values of different functions); every other metric of the runs is.
    let compared: Vec<&str> = comps.iter().map(|r| r["metric"].as_str()).collect();
    assert_eq!(
        compared,
        [
            "elapsed_s",
            "train_acc",
            "test_acc",
            "nc1",
            "nc2",
            "top1_error",
            "mistake_severity",
            "hdist@1",
            "tpt_epoch",
            "stable_tpt_epoch",
            "wall_time_s"
        ]
    );
    let nc1 = comps.iter().find(|r| r["metric"] == "nc1").unwrap();
    assert_eq!(nc1["condition"], "loss.kind=mse");
    assert_eq!(nc1["baseline"], "loss.kind=ce");
    assert!((num(nc1, "diff") + 0.37).abs() < 1e-12);
    assert!((num(nc1, "welch_t") + 0.37 / 0.0104f64.sqrt()).abs() < 1e-12);
    let df = 0.0104f64.powi(2) / (0.01f64.powi(2) + 0.0004f64.powi(2));
    assert!((num(nc1, "welch_df") - df).abs() < 1e-12);
    assert!((num(nc1, "welch_p") - WELCH_NC1_P).abs() < 1e-9);
    assert!((num(nc1, "ci95_low") - WELCH_NC1_CI.0).abs() < 1e-7);
    assert!((num(nc1, "ci95_high") - WELCH_NC1_CI.1).abs() < 1e-7);
    // Paired by seed: d = (0.05 - 0.5, 0.01 - 0.3) = (-0.45, -0.29), mean -0.37, sd 0.08*sqrt(2),
    // se = 0.08, t = -4.625, df = 1, two-sided p = 1 - 2 atan(|t|)/pi (Cauchy).
    assert_eq!(nc1["n_pairs"], "2");
    assert!((num(nc1, "paired_diff") + 0.37).abs() < 1e-12);
    assert!((num(nc1, "paired_t") + 4.625).abs() < 1e-9);
    assert_eq!(num(nc1, "paired_df"), 1.0);
    let p_cauchy = 1.0 - 2.0 * 4.625f64.atan() / std::f64::consts::PI;
    assert!((num(nc1, "paired_p") - p_cauchy).abs() < 1e-9);
    // Two runs a side: Mann-Whitney is n/a (empty cells).
    assert_eq!(nc1["mann_whitney_p"], "");
    // mistake_severity has no spread at all: Welch n/a.
    let sev = comps
        .iter()
        .find(|r| r["metric"] == "mistake_severity")
        .unwrap();
    assert_eq!(sev["welch_p"], "");
    // ... nor in the paired differences (0 and 0): the mean difference is still given.
    assert_eq!(
        (num(sev, "paired_diff"), sev["paired_p"].as_str()),
        (0.0, "")
    );
    assert_eq!(num(sev, "diff"), 0.0);

    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("| c1 | ce | 2 (0 1) |"), "{md}");
    assert!(md.contains("0.4000 ± 0.1414"), "{md}");
    // The decision table opens with the baseline's own means (CE's NC1: (0.5 + 0.3) / 2).
    assert!(md.contains("| ce (baseline): mean | – | 0.4000 |"), "{md}");
    assert!(md.contains("Welch"));
}

/// A condition's label leaves out the loss parameters its loss does not use (`loss.alpha` of a
/// CE run holds only its default), and keeps those it does.
#[test]
fn labels_show_only_the_parameters_of_each_loss() {
    let root = scratch("labels");
    let runs = root.join("runs");
    for (name, loss, alpha, seed) in [
        ("ce-0", "ce", 0.1, 0),
        ("ce-1", "ce", 0.1, 1),
        ("hxe1-0", "hxe", 0.1, 0),
        ("hxe3-0", "hxe", 0.3, 0),
        ("hxe3-1", "hxe", 0.3, 1),
    ] {
        let dir = runs.join(name);
        write_run(&dir, loss, seed, CE0);
        edit_configs(
            &[dir],
            "kappa = 1.0\n",
            &format!("kappa = 1.0\nalpha = {alpha}\n"),
        );
    }
    let out = root.join("out");
    generate(&options(vec![runs], out.clone())).unwrap();
    let rows = read_csv(&out.join("summary.csv"));
    let labels: Vec<&str> = rows.iter().map(|r| r["condition"].as_str()).collect();
    assert_eq!(
        labels,
        // The baseline first, then by name.
        [
            "loss.kind=ce",
            "loss.alpha=0.1, loss.kind=hxe",
            "loss.alpha=0.3, loss.kind=hxe",
        ]
    );
    let comps = read_csv(&out.join("comparisons.csv"));
    assert!(comps.iter().all(|r| r["baseline"] == "loss.kind=ce"));
    assert_eq!(
        comps.iter().filter(|r| r["metric"] == "nc1").count(),
        2,
        "both HXE conditions against CE"
    );
}

/// The trade-off figure leaves out conditions measured against a flat tree when others have a
/// real one, and its caption names them.
#[test]
fn the_tradeoff_figure_leaves_out_flat_tree_conditions_beside_real_trees() {
    let root = scratch("tradeoff-flat");
    let runs = four_runs(&root);
    let (ce, _) = by_loss(&runs);
    edit_configs(&ce, "\"flat:3\"", "\"cifar10\"");
    let out = root.join("out");
    generate(&options(vec![runs], out.clone())).unwrap();
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        html.contains(
            "Left out, measured against a flat tree (severity 1 by definition): \
             mse hierarchy=flat:3."
        ),
        "{html}"
    );
    // All runs flat: nothing is left out.
    let root = scratch("tradeoff-all-flat");
    let out = root.join("out");
    generate(&options(vec![four_runs(&root)], out.clone())).unwrap();
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(!html.contains("Left out"));
}

/// Sets the runs' hierarchy to `spec` (writing `tree` beside config.toml when given) and adds
/// an `hdist@5` column (0.9 in every row) to their metrics.csv.
fn set_tree_and_hdist5(runs: &[PathBuf], spec: &str, tree: Option<&str>) {
    replace_tree(runs, "flat:3", spec);
    for run in runs {
        if let Some(tree) = tree {
            std::fs::write(run.join("tree.txt"), tree).unwrap();
        }
        let path = run.join("metrics.csv");
        let csv = std::fs::read_to_string(&path).unwrap();
        let csv: String = csv
            .lines()
            .enumerate()
            .map(|(i, l)| format!("{l},{}\n", if i == 0 { "hdist@5" } else { "0.9" }))
            .collect();
        std::fs::write(&path, csv).unwrap();
    }
}

/// Replaces `from`, which must be there, by `to` in the runs' config.toml.
fn edit_configs(runs: &[PathBuf], from: &str, to: &str) {
    for run in runs {
        let path = run.join("config.toml");
        let config = std::fs::read_to_string(&path).unwrap();
        assert!(
            config.contains(from),
            "{}: no {from:?} in\n{config}",
            path.display()
        );
        std::fs::write(&path, config.replace(from, to)).unwrap();
    }
}

/// Replaces the runs' `hierarchy = "FROM"` by `"TO"`.
fn replace_tree(runs: &[PathBuf], from: &str, to: &str) {
    edit_configs(
        runs,
        &format!("hierarchy = \"{from}\""),
        &format!("hierarchy = \"{to}\""),
    );
}

#[test]
fn the_ceiling_of_the_tree_correlation_is_given_per_tree() {
    let root = scratch("ceiling");
    let runs = four_runs(&root);
    let (ce, mse) = by_loss(&runs);
    // root -> { x -> {a, b}, c }: the pairs' distances 1, 2, 2 tie in groups of 1 and 2, so
    // no untied cosines reach 1: sqrt(1 - (2^3 - 2) / (3^3 - 3)) = sqrt(3) / 2. On flat:3
    // every pair ties: no ceiling (the correlation is undefined).
    set_tree_and_hdist5(&ce, "tree.txt", Some("root x\nx a\nx b\nroot c\n"));
    set_tree_and_hdist5(&mse, "flat:3", None);
    for run in ce.iter().chain(&mse) {
        let path = run.join("metrics.csv");
        let csv: String = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .enumerate()
            .map(|(i, l)| {
                format!(
                    "{l},{}\n",
                    if i == 0 {
                        "mean_tree_correlation"
                    } else {
                        "0.5"
                    }
                )
            })
            .collect();
        std::fs::write(&path, csv).unwrap();
    }
    let out = root.join("out");
    generate(&options(vec![runs.clone()], out.clone())).unwrap();
    let rows = read_csv(&out.join("summary.csv"));
    let ceiling = num(&rows[0], "mean_tree_correlation_ceiling");
    assert!((ceiling - 3f64.sqrt() / 2.0).abs() < 1e-15, "{ceiling}");
    assert_eq!(rows[1]["mean_tree_correlation_ceiling"], "");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains("on `tree.txt` (c1), hdist@1 0 and hdist@5 1.111, with mean_tree_correlation at most 0.8660;"),
        "{md}"
    );

    // Every condition on a flat tree: floors, but no ceiling and no sentence about one.
    replace_tree(&ce, "tree.txt", "flat:3");
    generate(&options(vec![runs], out.clone())).unwrap();
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains("equally frequent (summary.csv, columns *_floor): on `flat:3`, hdist@1 0 and hdist@5 0.6667."),
        "{md}"
    );
    assert!(!md.contains("cannot exceed its ceiling"), "{md}");
}

#[test]
fn the_floor_of_hdist_is_given_per_tree() {
    let root = scratch("floors");
    let runs = four_runs(&root);
    let (ce, mse) = by_loss(&runs);
    // root -> { x -> {a, b}, c }: d(a, b) = 1, d(a, c) = d(b, c) = 2. With 3 classes hdist@5
    // is hdist@3: a and b (0 + 1 + 2) / 3 = 1, c (0 + 2 + 2) / 3 = 4/3; equal class counts:
    // (1 + 1 + 4/3) / 3 = 10/9. On flat:3 every class (0 + 1 + 1) / 3 = 2/3.
    set_tree_and_hdist5(&ce, "tree.txt", Some("root x\nx a\nx b\nroot c\n"));
    set_tree_and_hdist5(&mse, "flat:3", None);
    let out = root.join("out");
    generate(&options(vec![runs.clone()], out.clone())).unwrap();
    let rows = read_csv(&out.join("summary.csv"));
    assert_eq!(rows[0]["condition"], "hierarchy=tree.txt, loss.kind=ce");
    assert!((num(&rows[0], "hdist@5_floor") - 10.0 / 9.0).abs() < 1e-15);
    assert!((num(&rows[1], "hdist@5_floor") - 2.0 / 3.0).abs() < 1e-15);
    assert_eq!(num(&rows[0], "hdist@1_floor"), 0.0);
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains(
            "(summary.csv, columns *_floor): on `tree.txt` (c1), hdist@1 0 and hdist@5 1.111; \
             on `flat:3` (c2), hdist@1 0 and hdist@5 0.6667."
        ),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        html.contains("on <code>tree.txt</code> (c1), hdist@1 0"),
        "{html}"
    );

    // `flat` without its number of classes has no floor: the MSE cells are empty, the
    // sentence names the condition that has one.
    replace_tree(&mse, "flat:3", "flat");
    generate(&options(vec![runs.clone()], out.clone())).unwrap();
    let rows = read_csv(&out.join("summary.csv"));
    assert_eq!(rows[1]["hdist@5_floor"], "");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains("on `tree.txt` (c1), hdist@1 0 and hdist@5 1.111."),
        "{md}"
    );

    // A tree too large for its K x K distance matrix has no floor (and is not built).
    replace_tree(&mse, "flat", "flat:100000");
    generate(&options(vec![runs.clone()], out.clone())).unwrap();
    let rows = read_csv(&out.join("summary.csv"));
    assert_eq!(rows[1]["hdist@5_floor"], "");
    replace_tree(&mse, "flat:100000", "flat");

    // Two files of one name, different trees: two entries, each with its own floor.
    replace_tree(&mse, "flat", "tree.txt");
    for run in &mse {
        std::fs::write(run.join("tree.txt"), "root a\nroot b\nroot c\n").unwrap();
    }
    generate(&options(vec![runs], out.clone())).unwrap();
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains(
            "on `tree.txt` (c1), hdist@1 0 and hdist@5 1.111; on `tree.txt` (c2), hdist@1 0 \
             and hdist@5 0.6667."
        ),
        "{md}"
    );

    // Without hdist@k columns there is no floor and no sentence.
    let root = scratch("floors-none");
    let out = root.join("out");
    generate(&options(vec![four_runs(&root)], out.clone())).unwrap();
    let rows = read_csv(&out.join("summary.csv"));
    assert_eq!(num(&rows[0], "hdist@1_floor"), 0.0);
    assert!(!rows[0].contains_key("hdist@5_floor"));
}

#[test]
fn the_floor_is_on_the_tree_resolved_for_the_runs_data() {
    let root = scratch("floors-data");
    let runs = four_runs(&root);
    let (ce, mse) = by_loss(&runs);
    set_tree_and_hdist5(&ce, "tree.txt", Some("root x\nx a\nx b\nroot c\n"));
    set_tree_and_hdist5(&mse, "flat", None);
    // The data says its number of classes (synthetic: data.classes = 3).
    for group in [&ce, &mse] {
        edit_configs(
            group,
            "name = \"synthetic\"",
            "name = \"synthetic\"\nclasses = 3",
        );
    }
    // `flat` alone now resolves as the trainer resolved it, flat:3: (0 + 1 + 1) / 3 = 2/3.
    let out = root.join("out");
    let outcome = generate(&options(vec![runs.clone()], out.clone())).unwrap();
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    let rows = read_csv(&out.join("summary.csv"));
    assert!((num(&rows[1], "hdist@5_floor") - 2.0 / 3.0).abs() < 1e-15);
    assert!((num(&rows[0], "hdist@5_floor") - 10.0 / 9.0).abs() < 1e-15);

    // The summary names the flat tree by the classes it was resolved for.
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains("on `flat:3` (c2), hdist@1 0 and hdist@5 0.6667"),
        "{md}"
    );

    // One CE run's tree file now has 4 classes, its data 3: the file is not the tree it was
    // measured on, so no floor for the condition, and a warning naming it, the file and the run
    // (whichever run it is: here the second).
    std::fs::write(ce[1].join("tree.txt"), "root x\nx a\nx b\nroot c\nroot d\n").unwrap();
    let outcome = generate(&options(vec![runs.clone()], out.clone())).unwrap();
    let rows = read_csv(&out.join("summary.csv"));
    assert_eq!(rows[0]["hdist@5_floor"], "");
    assert!((num(&rows[1], "hdist@5_floor") - 2.0 / 3.0).abs() < 1e-15);
    // (The geometry figure, which sizes the tree by the saved features, warns of it too.)
    let c1: Vec<&String> = outcome
        .warnings
        .iter()
        .filter(|w| w.starts_with("condition c1"))
        .collect();
    assert_eq!(c1.len(), 1, "{:?}", outcome.warnings);
    let w = c1[0];
    assert!(
        w.starts_with("condition c1: no floor or ceiling on its tree: the file `hierarchy` = ")
            && w.contains("ce-s1/tree.txt\" has 4 classes, the run's data 3 (data.classes = 3)")
            && w.ends_with(&format!("(run {})", ce[1].display())),
        "{w}"
    );
    // The summary says which condition has no floor.
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("No floor for c1"), "{md}");

    // A built-in tree of the wrong size is named as such.
    replace_tree(&mse, "flat", "flat:4");
    let outcome = generate(&options(vec![runs.clone()], out.clone())).unwrap();
    assert!(
        outcome.warnings.iter().any(|w| w.starts_with(
            "condition c2: no floor or ceiling on its tree: the built-in tree `hierarchy` = \
             \"flat:4\" has 4 classes, the run's data 3"
        )),
        "{:?}",
        outcome.warnings
    );

    // Runs pooled into one condition (--group-by loss.kind --allow-mixed: data.classes is
    // never pooled otherwise) on different data (3 and 4 classes, each on its own flat tree):
    // not one tree, so no floor, and a warning naming the two runs.
    replace_tree(&mse, "flat:4", "flat");
    edit_configs(&mse[1..], "classes = 3", "classes = 4");
    let mut pooled = options(vec![runs.clone()], out.clone());
    pooled.group_by = Some("loss.kind".into());
    let refused = format!("{:#}", generate(&pooled).unwrap_err());
    assert!(refused.contains("data.classes (3: "), "{refused}");
    pooled.allow_mixed = true;
    let outcome = generate(&pooled).unwrap();
    let rows = read_csv(&out.join("summary.csv"));
    assert_eq!(rows[1]["hdist@5_floor"], "");
    assert!(
        outcome.warnings.iter().any(|w| w
            .starts_with("condition c2: its runs are not on one tree")
            && w.contains("mse-s0")
            && w.contains("mse-s1")),
        "{:?}",
        outcome.warnings
    );

    // A tree that cannot be read: a warning, no floor. Without hdist@k (the last two columns)
    // or the tree correlation in the runs, nothing to give a floor to: no warning.
    std::fs::write(ce[1].join("tree.txt"), "root a\na root\n").unwrap();
    let outcome = generate(&options(vec![runs.clone()], out.clone())).unwrap();
    assert!(
        outcome.warnings.iter().any(|w| w.starts_with(
            "condition c1: no floor or ceiling on its \
             tree: `hierarchy` = "
        ) && w.contains("cannot be read")),
        "{:?}",
        outcome.warnings
    );
    for run in ce.iter().chain(&mse) {
        let path = run.join("metrics.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: String = text
            .lines()
            .map(|l| l.rsplitn(3, ',').last().unwrap().to_string() + "\n")
            .collect();
        std::fs::write(&path, kept).unwrap();
    }
    let outcome = generate(&options(vec![runs], out.clone())).unwrap();
    assert!(
        !outcome.warnings.iter().any(|w| w.contains("no floor")),
        "{:?}",
        outcome.warnings
    );
}

#[test]
fn a_wrong_sized_tree_is_warned_about_with_each_condition_s_own_data() {
    // Two conditions on the same built-in tree of the wrong size, with data of one size (10
    // classes) but two names: each warning names its own dataset (the trees are built once
    // per spec, size and dataset).
    let root = scratch("floors-two-data");
    let runs = four_runs(&root);
    let (ce, mse) = by_loss(&runs);
    set_tree_and_hdist5(&ce, "flat:4", None);
    set_tree_and_hdist5(&mse, "flat:4", None);
    for (group, data) in [(&ce, "mnist"), (&mse, "fashion-mnist")] {
        edit_configs(group, "name = \"synthetic\"", &format!("name = \"{data}\""));
    }
    let outcome = generate(&options(vec![runs], root.join("out"))).unwrap();
    for (id, data) in [("c1", "mnist"), ("c2", "fashion-mnist")] {
        let says = format!(
            "condition {id}: no floor or ceiling on its tree: the built-in tree `hierarchy` = \
             \"flat:4\" has 4 classes, the run's data 10 (data.name = {data})"
        );
        assert!(
            outcome.warnings.iter().any(|w| w.starts_with(&says)),
            "{says}\n{:?}",
            outcome.warnings
        );
    }
}

/// Welch's test of nc1, MSE [0.05, 0.01] against CE [0.5, 0.3], computed independently with
/// mpmath (betainc for the p-value, findroot on the t CDF for the 0.975 quantile).
const WELCH_NC1_P: f64 = 0.156_515_497_748_020_6;
const WELCH_NC1_CI: (f64, f64) = (-1.459_864_294_813_43, 0.719_864_294_813_43);

#[test]
fn group_by_a_key_and_flat_directory_arguments() {
    let root = scratch("groupby");
    let runs = four_runs(&root);
    let out = root.join("out");
    let mut o = options(
        vec![runs.join("ce-s0"), runs.join("ce-s1"), runs.join("sweep")],
        out.clone(),
    );
    o.group_by = Some("name".into());
    let outcome = generate(&o).unwrap();
    assert_eq!(outcome.runs, 4);
    assert_eq!(outcome.conditions, 2);
    let rows = read_csv(&out.join("summary.csv"));
    assert_eq!(rows[0]["condition"], "name=syn-mlp-ce");
    o.group_by = Some("seed".into());
    let rows_outcome = generate(&o).unwrap();
    assert_eq!(rows_outcome.conditions, 2);
    o.group_by = Some("no.such.key".into());
    let err = format!("{:#}", generate(&o).unwrap_err());
    assert!(err.contains("--group-by no.such.key"), "{err}");
}

#[test]
fn a_missing_or_malformed_metrics_csv_is_named_or_skipped() {
    let root = scratch("bad");
    let runs = four_runs(&root);
    // A run directory without metrics.csv (config and summary present).
    let missing = runs.join("broken-missing");
    write_run(&missing, "ce", 2, CE0);
    std::fs::remove_file(missing.join("metrics.csv")).unwrap();
    let out = root.join("out");
    let err = format!(
        "{:#}",
        generate(&options(vec![runs.clone()], out.clone())).unwrap_err()
    );
    assert!(
        err.contains("broken-missing: run directory has no metrics.csv"),
        "{err}"
    );
    assert!(err.contains("--skip-bad"), "{err}");
    // Nothing half-written.
    assert_eq!(std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0), 0);
    std::fs::remove_dir_all(&missing).unwrap();

    // A malformed one: a non-numeric cell on line 3.
    let bad = runs.join("broken-malformed");
    write_run(&bad, "ce", 3, CE0);
    let text = std::fs::read_to_string(bad.join("metrics.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[2] = lines[2].replacen("0.7", "oops", 1);
    std::fs::write(bad.join("metrics.csv"), lines.join("\n")).unwrap();
    let err = format!(
        "{:#}",
        generate(&options(vec![runs.clone()], out.clone())).unwrap_err()
    );
    let path = bad.join("metrics.csv");
    assert!(
        err.contains(&format!(
            "{}: line 3, column 'train_acc': 'oops' is not a number",
            path.display()
        )),
        "{err}"
    );

    // --skip-bad: the report goes on without it and says so.
    let mut o = options(vec![runs], out.clone());
    o.skip_bad = true;
    let outcome = generate(&o).unwrap();
    assert_eq!(outcome.runs, 4);
    assert_eq!(outcome.warnings.len(), 1);
    assert!(
        outcome.warnings[0].contains("broken-malformed"),
        "{:?}",
        outcome.warnings
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Warning: skipped"));
}

#[test]
fn an_empty_directory_is_an_error() {
    let root = scratch("empty");
    let err = format!(
        "{:#}",
        generate(&options(vec![root.to_path_buf()], root.join("out"))).unwrap_err()
    );
    assert!(err.contains("no run directory found"), "{err}");
}

#[test]
fn unfinished_runs_are_left_out_unless_asked_for() {
    let root = scratch("unfinished");
    let runs = four_runs(&root);
    // A third MSE seed stopped after its epoch-2 analysis (a Tracker closed early); its last
    // row, nc1 = 9, would otherwise be pooled with the finished runs' final rows.
    let stopped = runs.join("sweep/mse-s2");
    write_run(&stopped, "mse", 2, MSE0);
    std::fs::write(
        stopped.join("metrics.csv"),
        format!(
            "{HEADER}\n1,0.1,1,2,0.5,0.5,10,1,0.5,2,1\n2,0.1,2,1.5,0.7,0.6,9,0.8,0.4,1.5,0.1\n"
        ),
    )
    .unwrap();
    std::fs::write(
        stopped.join("summary.json"),
        r#"{"status": "interrupted", "seed": 2}"#,
    )
    .unwrap();
    // A fourth one never wrote its summary.json.
    let fresh = runs.join("sweep/mse-s3");
    write_run(&fresh, "mse", 3, MSE1);
    std::fs::remove_file(fresh.join("summary.json")).unwrap();
    // A fifth is in its first epoch: config.toml alone (it made the report fail before); a
    // sixth has a summary.json without a status.
    let starting = runs.join("sweep/mse-s4");
    write_run(&starting, "mse", 4, MSE1);
    for f in ["summary.json", "metrics.csv"] {
        std::fs::remove_file(starting.join(f)).unwrap();
    }
    let no_status = runs.join("sweep/mse-s5");
    write_run(&no_status, "mse", 5, MSE1);
    std::fs::write(
        no_status.join("summary.json"),
        r#"{"seed": 5, "status": null}"#,
    )
    .unwrap();

    let out = root.join("out");
    let outcome = generate(&options(vec![runs.clone()], out.clone())).unwrap();
    assert_eq!((outcome.runs, outcome.conditions), (4, 2));
    let warned = outcome.warnings.join("\n");
    for want in [
        "mse-s2: unfinished (status interrupted, last analysis at epoch 2 of 4); left out of the \
         report (--include-unfinished reports it as it stands)",
        "mse-s3: unfinished (no summary.json, last analysis at epoch 4 of 4); left out",
        "mse-s4: unfinished (no summary.json, no analysis yet); left out of the report \
         (nothing to report yet)",
        "mse-s5: unfinished (no status in summary.json, last analysis at epoch 4 of 4); left out",
    ] {
        assert!(warned.contains(want), "{warned}");
    }
    let mse = |out: &Path| {
        read_csv(&out.join("summary.csv"))
            .into_iter()
            .find(|r| r["condition"] == "loss.kind=mse")
            .unwrap()
    };
    // nc1 over the finished seeds 0 and 1: (0.05 + 0.01) / 2.
    let finished = mse(&out);
    assert_eq!(finished["runs"], "2");
    assert!((num(&finished, "nc1_mean") - 0.03).abs() < 1e-15);
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("## Unfinished runs"), "{md}");
    assert!(
        md.contains(&format!(
            "- `{}` (status interrupted, last analysis at epoch 2 of 4)",
            stopped.display()
        )),
        "{md}"
    );
    assert!(std::fs::read_to_string(out.join("index.html"))
        .unwrap()
        .contains("unfinished (status interrupted"));

    // Asked for: pooled as they stand, with a warning, but for the one with no analysis.
    // nc1 = (0.05 + 0.01 + 9 + 0.01 + 0.01) / 5.
    let mut asked = options(vec![runs.clone()], root.join("asked"));
    asked.include_unfinished = true;
    let outcome = generate(&asked).unwrap();
    assert_eq!(outcome.runs, 7);
    assert!(outcome.warnings.join("\n").contains(
        "mse-s2: unfinished (status interrupted, last analysis at epoch 2 of 4); reported as it \
         stands, its last analysis counted as its final values"
    ));
    let pooled = mse(&root.join("asked"));
    assert_eq!(pooled["runs"], "5");
    assert!((num(&pooled, "nc1_mean") - 9.08 / 5.0).abs() < 1e-12);

    // Nothing finished: refused, saying what to do.
    let e = generate(&options(vec![stopped.clone()], root.join("none"))).unwrap_err();
    assert_eq!(
        format!("{e:#}"),
        format!(
            "every run found is unfinished (1, first {} (status interrupted, last analysis at \
             epoch 2 of 4)): wait for them to finish, or report them as they stand with \
             --include-unfinished",
            stopped.display()
        )
    );
    assert!(!root.join("none").exists());
}

/// Writes the run's `test_predictions.csv` on flat:3 over ten test images (labels 0, 1, 2, 0,
/// ...), with the images of `wrong` misclassified (ranked next class first).
fn write_predictions(dir: &Path, wrong: &[usize]) {
    let mut text = String::from("label,rank1,rank2,rank3,hdist@1,hdist@5\n");
    for i in 0..10 {
        let t = i % 3;
        let first = if wrong.contains(&i) { (t + 1) % 3 } else { t };
        let rest: Vec<usize> = (0..3).filter(|&c| c != first).collect();
        let d1 = if first == t { 0 } else { 1 };
        text.push_str(&format!(
            "{t},{first},{},{},{d1},0.6666666666666666\n",
            rest[0], rest[1]
        ));
    }
    std::fs::write(dir.join("test_predictions.csv"), text).unwrap();
}

/// The four runs with predictions whose top-1 errors are their final ones (0.1, 0.2, 0.3, 0.4):
/// CE seed 0 wrong on image 0, seed 1 on 0 and 1; MSE seed 0 on 0, 2, 3, seed 1 on 0 to 3.
fn four_runs_with_predictions(root: &Path) -> PathBuf {
    let runs = four_runs(root);
    write_predictions(&runs.join("ce-s0"), &[0]);
    write_predictions(&runs.join("ce-s1"), &[0, 1]);
    write_predictions(&runs.join("sweep/mse-s0"), &[0, 2, 3]);
    write_predictions(&runs.join("sweep/mse-s1"), &[0, 1, 2, 3]);
    runs
}

#[test]
fn the_test_images_term_by_hand() {
    let root = scratch("test-images");
    let runs = four_runs_with_predictions(&root);
    let out = root.join("out");
    let outcome = generate(&options(vec![runs.clone()], out.clone())).unwrap();
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    let row = |out: &Path, metric: &str| {
        read_csv(&out.join("comparisons.csv"))
            .into_iter()
            .find(|r| r["metric"] == metric)
            .unwrap()
    };
    // Both seeds differ (MSE - CE) on images 2 and 3 only: d = (0, 0, 1, 1, 0, ...), the seeds
    // agree everywhere (no seeds' share), var(d) = (2 x 0.8^2 + 8 x 0.2^2) / 9 = 1.6 / 9, so the
    // half-width is z sqrt(1.6 / 90) = z 2/15. The paired difference is 0.2 on both seeds, a
    // zero-width interval: widened, 0.2 -+ z 2/15.
    let z = 1.959963984540054;
    let r = row(&out, "top1_error");
    assert!((num(&r, "test_images_half_width") - z * 2.0 / 15.0).abs() < 1e-15);
    assert_eq!(
        (
            r["test_images_estimated"].as_str(),
            r["test_images_seeds"].as_str()
        ),
        ("true", "2")
    );
    assert!((num(&r, "widened_ci95_low") - (0.2 - z * 2.0 / 15.0)).abs() < 1e-15);
    assert!((num(&r, "widened_ci95_high") - (0.2 + z * 2.0 / 15.0)).abs() < 1e-15);
    // On flat:3 hdist@1 is the top-1 error image by image.
    assert_eq!(
        row(&out, "hdist@1")["test_images_half_width"],
        r["test_images_half_width"]
    );
    // test_acc is 1 - top1_error image by image: the same term, around its own difference
    // (the runs' test_acc, MSE - CE: 0.7 - 0.9 and 0.6 - 0.8, so -0.2).
    let acc = row(&out, "test_acc");
    assert_eq!(acc["test_images_half_width"], r["test_images_half_width"]);
    assert!((num(&acc, "widened_ci95_low") - (-0.2 - z * 2.0 / 15.0)).abs() < 1e-15);
    // Not a mean over the images: no term.
    assert_eq!(row(&out, "nc1")["test_images_half_width"], "");
    // Mistake severity, by its linearisation: every mistake is at distance 1 on flat:3, the
    // severity 1 whatever the images, so the term is 0.
    assert_eq!(row(&out, "mistake_severity")["test_images_half_width"], "0");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains(
        "| mse | top1_error | +0.2000 [+0.2000, +0.2000] | 0.2613 | [−0.06133, +0.4613] | \
         includes 0 |"
    ));
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("What another test set would add"));

    // CE seed 1 without predictions: one shared seed, so the bound from all runs that have
    // them: d = mean(MSE) - CE seed 0 = (0, .5, 1, 1, 0, ...), mean .25, var 1.625 / 9.
    std::fs::remove_file(runs.join("ce-s1/test_predictions.csv")).unwrap();
    let out2 = root.join("out2");
    generate(&options(vec![runs.clone()], out2.clone())).unwrap();
    let r = row(&out2, "top1_error");
    assert!((num(&r, "test_images_half_width") - z * (1.625f64 / 90.0).sqrt()).abs() < 1e-15);
    assert_eq!(
        (
            r["test_images_estimated"].as_str(),
            r["test_images_seeds"].as_str()
        ),
        ("false", "0")
    );

    // Predictions over other test images (a label changed): no term, and a warning naming them.
    let text = std::fs::read_to_string(runs.join("ce-s0/test_predictions.csv")).unwrap();
    let other = text.replacen(
        "\n1,1,0,2,0,0.6666666666666666\n",
        "\n2,2,0,1,0,0.6666666666666666\n",
        1,
    );
    assert_ne!(other, text);
    std::fs::write(runs.join("ce-s0/test_predictions.csv"), &other).unwrap();
    let out3 = root.join("out3");
    let outcome = generate(&options(vec![runs], out3.clone())).unwrap();
    assert_eq!(row(&out3, "top1_error")["test_images_half_width"], "");
    let warned = outcome.warnings.join("\n");
    assert!(
        warned.contains("list different test images") && warned.contains("ce-s0"),
        "{warned}"
    );
}

#[test]
fn predictions_that_are_not_the_run_s_are_refused_with_the_file_named() {
    let root = scratch("test-images-bad");
    let runs = four_runs_with_predictions(&root);
    // Another network's predictions: 3 wrong of 10 where the run's final top-1 error is 0.1.
    write_predictions(&runs.join("ce-s0"), &[0, 1, 2]);
    let err = generate(&options(vec![runs.clone()], root.join("out"))).unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.contains("ce-s0/test_predictions.csv")
            && err.contains("top1_error is 0.3")
            && err.contains("final top1_error is 0.1"),
        "{err}"
    );
    // A malformed row: the file and the line.
    std::fs::write(
        runs.join("ce-s0/test_predictions.csv"),
        "label,rank1,rank2,rank3,hdist@1,hdist@5\n0,0,1,2,0,0.5\n1,one,0,2,0,0.5\n",
    )
    .unwrap();
    let err = generate(&options(vec![runs.clone()], root.join("out"))).unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.contains("ce-s0/test_predictions.csv: line 3: `rank1` is `one`")
            && err.contains("use --skip-bad to report the run without them"),
        "{err}"
    );
    assert!(!root.join("out").exists(), "nothing written");
    // --skip-bad keeps the run and leaves the file out, with a warning: CE seed 1 alone has
    // predictions beside MSE's two seeds, so the term is the bound.
    let mut skip = options(vec![runs.clone()], root.join("out-skip"));
    skip.skip_bad = true;
    let outcome = generate(&skip).unwrap();
    assert_eq!(outcome.runs, 4);
    let warned = outcome.warnings.join("\n");
    assert!(
        warned.contains("ce-s0/test_predictions.csv: line 3")
            && warned.contains("reported without its test predictions"),
        "{warned}"
    );
    let top1 = read_csv(&root.join("out-skip/comparisons.csv"))
        .into_iter()
        .find(|r| r["metric"] == "top1_error")
        .unwrap();
    assert_eq!(top1["test_images_estimated"], "false");

    // Final values the file contradicts, each refused naming both: a blank top-1 error
    // (nothing to check the file against), and a test_acc that is not 1 - the file's top-1
    // error (0.9 here), since the file would give test_acc a test-image term.
    write_predictions(&runs.join("ce-s0"), &[0]);
    let metrics = runs.join("ce-s0/metrics.csv");
    let text = std::fs::read_to_string(&metrics).unwrap();
    for (from, to, says) in [
        (
            ",0.1,1,0.1\n",
            ",,1,0.1\n",
            "its top1_error is 0.1, but the run's final top1_error is none",
        ),
        (
            "\n4,0.01,9,0.1,1,0.9,",
            "\n4,0.01,9,0.1,1,0.5,",
            "its test_acc is 0.9, but the run's final test_acc is 0.5",
        ),
    ] {
        let edited = text.replacen(from, to, 1);
        assert_ne!(edited, text);
        std::fs::write(&metrics, edited).unwrap();
        let err = format!(
            "{:#}",
            generate(&options(vec![runs.clone()], root.join("out"))).unwrap_err()
        );
        assert!(err.contains(says), "{err}");
    }
    std::fs::write(&metrics, text).unwrap();

    // A folder in the file's place is not taken for "no predictions".
    std::fs::remove_file(runs.join("ce-s0/test_predictions.csv")).unwrap();
    std::fs::create_dir(runs.join("ce-s0/test_predictions.csv")).unwrap();
    let err = format!(
        "{:#}",
        generate(&options(vec![runs], root.join("out"))).unwrap_err()
    );
    assert!(
        err.contains("test_predictions.csv: not a readable file"),
        "{err}"
    );
}
