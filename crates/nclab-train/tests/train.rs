//! End-to-end tests of `nclab train` on the CPU: a tiny MLP on a small synthetic Gaussian
//! mixture (4 classes in 8 dimensions), a few epochs each, so every test takes seconds.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use nclab_core::metrics::{neural_collapse, CollapseInput};
use nclab_core::tensor::MatrixView;
use nclab_runs::config::Config;
use nclab_train::trainer::{self, Outcome, TrainOptions};

use nclab_testkit::TINY_CONFIG as TINY;

/// libtorch's random generator and thread settings are process-wide, and the test harness
/// runs tests in parallel threads: two runs that overlapped would draw from one generator and
/// the same seed would not give the same run. Runs in this process therefore take turns.
fn train(config: &Config, opts: &TrainOptions) -> anyhow::Result<Outcome> {
    static TORCH: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = TORCH
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    trainer::train(config, opts)
}

fn tiny(overrides: &[&str]) -> Config {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    Config::from_toml_str(TINY, &o).unwrap()
}

use nclab_testkit::scratch;

fn opts(out: &Path) -> TrainOptions {
    TrainOptions {
        out: out.to_path_buf(),
        quiet: true,
        ..Default::default()
    }
}

/// The CSV as a header and rows of cells.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

/// The CSV without its `elapsed_s` column (the only one that depends on the clock).
fn csv_without_time(path: &Path) -> Vec<Vec<String>> {
    let (header, rows) = read_csv(path);
    let t = header.iter().position(|h| h == "elapsed_s").unwrap();
    std::iter::once(header)
        .chain(rows)
        .map(|mut r| {
            r.remove(t);
            r
        })
        .collect()
}

fn read_tensors(path: &Path) -> HashMap<String, tch::Tensor> {
    tch::Tensor::read_safetensors(path)
        .unwrap()
        .into_iter()
        .collect()
}

const COLUMNS: [&str; 38] = [
    "epoch",
    "lr",
    "elapsed_s",
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "nc1",
    "nc2",
    "nc3",
    "nc4",
    "nc1_rank",
    "nc1_quotient",
    "cdnv",
    "equinorm_means",
    "equinorm_weights",
    "equiangularity_means",
    "equiangularity_weights",
    "nc2_weights",
    "self_duality",
    "ncc_accuracy",
    "bias_collapse",
    "gnc2_log_mean",
    "gnc2_log_var",
    "gnc2_riesz_mean",
    "gnc2_riesz_var",
    "unc3",
    "mean_tree_correlation",
    "nc2_tree",
    "nc1_coarse",
    "heldout_nc1",
    "heldout_nc4",
    "heldout_ncc_accuracy",
    "top1_error",
    "top5_error",
    "mistake_severity",
    "hdist@1",
    "hdist@5",
];

#[test]
fn three_epoch_run_writes_every_output_with_the_documented_columns() {
    let out = scratch("outputs");
    let outcome = train(&tiny(&[]), &opts(&out)).unwrap();
    assert_eq!(outcome.summary.status.as_str(), "finished");

    // config.toml is the resolved config: it parses back to the same Config.
    let saved = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert_eq!(Config::from_toml_str(&saved, &[]).unwrap(), tiny(&[]));
    assert!(
        saved.contains("momentum = 0.9"),
        "defaults are written: {saved}"
    );

    let (header, rows) = read_csv(&out.join("metrics.csv"));
    assert_eq!(header, COLUMNS);
    let epochs: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(epochs, ["1", "2", "3"]);
    let col = |r: &Vec<String>, name: &str| -> String {
        r[header.iter().position(|h| h == name).unwrap()].clone()
    };
    let num = |r: &Vec<String>, name: &str| -> f64 { col(r, name).parse().unwrap() };
    for r in &rows {
        // step schedule, E = 3: milestones at floor(3/3) = 1 and floor(6/3) = 2 (0-based), so
        // epochs 1, 2, 3 train at 0.05, 0.005, 0.0005.
        let e = num(r, "epoch") as i32;
        let want = 0.05 * 0.1f64.powi(e - 1);
        assert!((num(r, "lr") - want).abs() < 1e-15, "epoch {e}");
        // Two metrics of the same test logits, computed in different places: the top-1 error
        // of the mistake metrics is 1 - test accuracy.
        assert!((num(r, "top1_error") - (1.0 - num(r, "test_acc"))).abs() < 1e-12);
        // 4 classes: the top-5 set holds every class, so its error is 0, and its mean distance
        // is (0 + 1 + 1 + 1) / 4 = 0.75 for every sample (flat tree: d = 1 off the diagonal).
        assert_eq!(num(r, "top5_error"), 0.0);
        assert!((num(r, "hdist@5") - 0.75).abs() < 1e-12);
        // flat:4 has no level between the root and the classes: nc1_coarse is not computed.
        assert_eq!(col(r, "nc1_coarse"), "");
        // ... and the rank correlation with its constant distances is undefined: empty too.
        assert_eq!(col(r, "mean_tree_correlation"), "");
        // flat tree: every wrong class is at distance 1, so severity is 1 when defined.
        if num(r, "top1_error") > 0.0 {
            assert_eq!(num(r, "mistake_severity"), 1.0);
        }
    }
    let jsonl = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let keys: Vec<&String> = lines[2].as_object().unwrap().keys().collect();
    assert_eq!(keys, COLUMNS);
    assert_eq!(lines[2]["nc1_coarse"], serde_json::Value::Null);

    // summary.json: final metrics are the last row.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "finished");
    assert_eq!(summary["epochs"], 3);
    assert_eq!(summary["device"], "cpu");
    assert_eq!(summary["final"]["epoch"], 3);
    let last = &rows[2];
    assert_eq!(
        summary["final"]["nc1"].as_f64().unwrap(),
        num(last, "nc1"),
        "summary and CSV disagree"
    );
    assert!(summary["train_images_per_s"].as_f64().unwrap() > 0.0);
    // tpt_epoch is the first row with train_acc exactly 1, or null.
    let tpt = rows
        .iter()
        .find(|r| num(r, "train_acc") == 1.0)
        .map(|r| num(r, "epoch") as u64);
    assert_eq!(summary["tpt_epoch"].as_u64(), tpt);

    // final.safetensors: the documented tensors, and the metrics recomputed from them agree
    // with the last CSV row.
    let t = read_tensors(&out.join("final.safetensors"));
    let shape = |n: &str| t[n].size();
    assert_eq!(shape("train.features"), [64, 12]);
    assert_eq!(shape("train.labels"), [64]);
    assert_eq!(shape("train.logits"), [64, 4]);
    assert_eq!(shape("test.features"), [32, 12]);
    assert_eq!(shape("test.labels"), [32]);
    assert_eq!(shape("test.logits"), [32, 4]);
    assert_eq!(shape("weights"), [4, 12]);
    assert_eq!(shape("bias"), [4]);
    let f32s = |n: &str| Vec::<f32>::try_from(t[n].view(-1)).unwrap();
    let feats = f32s("train.features");
    let labels: Vec<u32> = Vec::<i64>::try_from(&t["train.labels"])
        .unwrap()
        .into_iter()
        .map(|v| v as u32)
        .collect();
    let w = f32s("weights");
    let b: Vec<f64> = f32s("bias").into_iter().map(f64::from).collect();
    let m = neural_collapse(
        &CollapseInput {
            features: MatrixView::f32(&feats, 64, 12),
            labels: &labels,
            num_classes: 4,
            weights: Some(MatrixView::f32(&w, 4, 12)),
            bias: Some(&b),
            predictions: None,
        },
        None,
    )
    .unwrap();
    for (name, v) in m {
        let v = v.unwrap();
        let csv = num(last, name);
        assert!(
            (v - csv).abs() <= 1e-12 * v.abs().max(1.0),
            "{name}: {v} from final.safetensors, {csv} in metrics.csv"
        );
    }
    // The train logits are W h + b of the saved features (eval mode).
    let logits = f32s("train.logits");
    for i in [0usize, 17, 63] {
        for k in 0..4 {
            let z: f64 = (0..12)
                .map(|j| feats[i * 12 + j] as f64 * w[k * 12 + j] as f64)
                .sum::<f64>()
                + b[k];
            assert!(
                (z - logits[i * 4 + k] as f64).abs() < 1e-4,
                "{z} {}",
                logits[i * 4 + k]
            );
        }
    }
    let train_acc = labels
        .iter()
        .enumerate()
        .filter(|(i, &y)| {
            let z = &logits[i * 4..i * 4 + 4];
            let best = (0..4).fold(0, |a, k| if z[k] > z[a] { k } else { a });
            best == y as usize
        })
        .count() as f64
        / 64.0;
    assert_eq!(train_acc, num(last, "train_acc"));

    // test_predictions.csv: a row per test image, its label and the classes by logit (all 4
    // of flat:4), with the distances whose means are the last row's mistake metrics.
    let (header, preds) = read_csv(&out.join("test_predictions.csv"));
    assert_eq!(
        header,
        ["label", "rank1", "rank2", "rank3", "rank4", "hdist@1", "hdist@5"]
    );
    assert_eq!(preds.len(), 32);
    let test_labels = Vec::<i64>::try_from(&t["test.labels"]).unwrap();
    let test_logits = f32s("test.logits");
    let mut wrong = 0.0;
    for (i, p) in preds.iter().enumerate() {
        assert_eq!(p[0], test_labels[i].to_string());
        let z = &test_logits[i * 4..i * 4 + 4];
        let best = (0..4).fold(0, |a, k| if z[k] > z[a] { k } else { a });
        assert_eq!(p[1], best.to_string(), "image {i}");
        let right = p[1] == p[0];
        assert_eq!(p[5], if right { "0" } else { "1" }, "flat tree: d = 1");
        assert_eq!(p[6], "0.75");
        wrong += if right { 0.0 } else { 1.0 };
    }
    assert_eq!(wrong / 32.0, num(last, "top1_error"));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn the_same_seed_twice_gives_identical_metrics_and_another_seed_does_not() {
    let (a, b, c) = (scratch("seed-a"), scratch("seed-b"), scratch("seed-c"));
    train(&tiny(&[]), &opts(&a)).unwrap();
    train(&tiny(&[]), &opts(&b)).unwrap();
    train(&tiny(&["seed=4"]), &opts(&c)).unwrap();
    let (ma, mb, mc) = (
        csv_without_time(&a.join("metrics.csv")),
        csv_without_time(&b.join("metrics.csv")),
        csv_without_time(&c.join("metrics.csv")),
    );
    assert_eq!(ma, mb);
    assert_ne!(ma[1..], mc[1..]);
    for d in [a, b, c] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

/// `tpt_epoch` dated between analysis epochs: with `analysis.tpt_check = 0` a run measured
/// only at its first and last epochs finds the same TPT epoch as the same run analysed at
/// every epoch (the first row with train_acc 1), and the check changes no metric.
#[test]
fn the_tpt_epoch_is_found_between_analysis_epochs() {
    let (every, sparse, unchecked) = (
        scratch("tpt-all"),
        scratch("tpt-sparse"),
        scratch("tpt-off"),
    );
    let base = ["optim.epochs=12", "data.per_class=32"];
    let with = |extra: &[&'static str]| tiny(&[&base[..], extra].concat());
    train(&with(&["analysis.tpt_check=2"]), &opts(&every)).unwrap();
    let (header, rows) = read_csv(&every.join("metrics.csv"));
    let acc = header.iter().position(|h| h == "train_acc").unwrap();
    let expected = rows
        .iter()
        .find(|r| r[acc].parse::<f64>().unwrap() == 1.0)
        .map(|r| r[0].parse::<u64>().unwrap());
    // The fixture must reach TPT strictly between the first and the last epoch.
    let expected = expected.expect("the fixture reaches zero training error");
    assert!(1 < expected && expected < 12, "TPT at {expected}");

    let summary_of = |dir: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
    };
    let sparse_cfg = ["analysis.epochs=[1, 12]", "analysis.tpt_check=0"];
    train(&with(&sparse_cfg), &opts(&sparse)).unwrap();
    assert_eq!(summary_of(&sparse)["tpt_epoch"].as_u64(), Some(expected));
    // The last row (epoch 12) is the same whichever epochs were analysed or checked.
    let last_every = csv_without_time(&every.join("metrics.csv")).pop().unwrap();
    let last_sparse = csv_without_time(&sparse.join("metrics.csv")).pop().unwrap();
    assert_eq!(last_every, last_sparse);

    // Checking only at analysis epochs dates TPT at the last one instead.
    train(
        &with(&["analysis.epochs=[1, 12]", "analysis.tpt_check=2"]),
        &opts(&unchecked),
    )
    .unwrap();
    assert_eq!(summary_of(&unchecked)["tpt_epoch"].as_u64(), Some(12));
    for d in [every, sparse, unchecked] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn resuming_a_finished_run_leaves_its_files_byte_for_byte() {
    // serde_json with float_roundtrip: a summary read back and written again is the same text
    // (it used to move some numbers by one unit in the last place).
    let cfg = tiny(&["optim.epochs=3", "analysis.epochs=[2]"]);
    let dir = scratch("resume-finished");
    train(&cfg, &opts(&dir)).unwrap();
    let files = [
        "summary.json",
        "metrics.csv",
        "metrics.jsonl",
        "config.toml",
    ];
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect();
    let again = train(
        &cfg,
        &TrainOptions {
            resume: true,
            ..opts(&dir)
        },
    )
    .unwrap();
    assert_eq!(again.summary.status.as_str(), "finished");
    for (f, b) in files.iter().zip(&before) {
        let now = std::fs::read_to_string(dir.join(f)).unwrap();
        assert_eq!(now, String::from_utf8_lossy(b), "{f} changed on resume");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_resumed_run_ends_exactly_like_an_uninterrupted_one() {
    let cfg = tiny(&["optim.epochs=5", "analysis.epochs=[2, 4]"]);
    let (full, cut) = (scratch("resume-full"), scratch("resume-cut"));
    train(&cfg, &opts(&full)).unwrap();
    let stopped = train(
        &cfg,
        &TrainOptions {
            stop_after_epoch: Some(3),
            ..opts(&cut)
        },
    )
    .unwrap();
    assert_eq!(stopped.summary.status.as_str(), "running");
    assert!(!cut.join("final.safetensors").exists());
    let resumed = train(
        &cfg,
        &TrainOptions {
            resume: true,
            ..opts(&cut)
        },
    )
    .unwrap();
    assert_eq!(resumed.summary.status.as_str(), "finished");
    assert_eq!(
        csv_without_time(&full.join("metrics.csv")),
        csv_without_time(&cut.join("metrics.csv"))
    );
    let (tf, tc) = (
        read_tensors(&full.join("final.safetensors")),
        read_tensors(&cut.join("final.safetensors")),
    );
    for (name, t) in &tf {
        assert!(t.equal(&tc[name]), "{name} differs after resuming");
    }
    // The checkpoints hold the same model, optimiser state and generator.
    let (cf, cc) = (
        read_tensors(&full.join("checkpoint.safetensors")),
        read_tensors(&cut.join("checkpoint.safetensors")),
    );
    assert!(cf.keys().any(|k| k.starts_with("optim.buf.")));
    assert!(
        cf.keys().any(|k| k.contains("running_mean")),
        "{:?}",
        cf.keys()
    );
    for (name, t) in &cf {
        if !name.ends_with("_s") {
            assert!(t.equal(&cc[name]), "{name} differs");
        }
    }
    // A resumed run with another config is refused, naming the key.
    let err = train(
        &tiny(&["optim.epochs=5", "analysis.epochs=[2, 4]", "optim.lr=0.1"]),
        &TrainOptions {
            resume: true,
            ..opts(&cut)
        },
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("optim.lr"), "{err:#}");
    // A run whose config.toml was emptied is refused, not resumed with the defaults.
    std::fs::write(cut.join("config.toml"), "# nothing\n").unwrap();
    let err = train(
        &tiny(&["optim.epochs=5", "analysis.epochs=[2, 4]"]),
        &TrainOptions {
            resume: true,
            ..opts(&cut)
        },
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("config.toml: sets nothing"),
        "{err:#}"
    );
    for d in [full, cut] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn an_existing_non_empty_directory_is_refused_and_left_alone() {
    let out = scratch("refused");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "keep me").unwrap();
    let err = train(&tiny(&[]), &opts(&out)).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("not empty") && msg.contains("--resume"),
        "{msg}"
    );
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["notes.txt"]);
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "keep me"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_huge_learning_rate_diverges_and_is_marked_in_the_summary() {
    let out = scratch("diverge");
    let outcome = train(&tiny(&["optim.lr=1e30", "loss.kind=\"mse\""]), &opts(&out)).unwrap();
    assert_eq!(outcome.summary.status.as_str(), "diverged");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "diverged");
    assert_eq!(summary["diverged_at_epoch"], 1);
    assert_eq!(summary["tpt_epoch"], serde_json::Value::Null);
    // Nothing from the diverged epoch: no checkpoint, no metrics row, no final tensors.
    assert!(!out.join("checkpoint.safetensors").exists());
    assert!(!out.join("metrics.csv").exists());
    assert!(!out.join("final.safetensors").exists());
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn the_cli_reports_divergence_with_a_non_zero_exit() {
    let out = scratch("diverge-cli");
    let cfg_dir = scratch("diverge-cli-config");
    let cfg = cfg_dir.join("config.toml");
    std::fs::write(&cfg, TINY).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_nclab-train"))
        .args([cfg.to_str().unwrap(), "--quiet", "--set", "optim.lr=1e30"])
        .args(["--set", "loss.kind=mse", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(stderr.contains("diverged at epoch 1"), "{stderr}");
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_file(&cfg).unwrap();
}

/// A standard error that nobody reads any more (`nclab-train ... 2>&1 | head -1`) does not
/// stop the run: it finishes, exit status 0, with its summary (a panic on the first line
/// written used to end it with status 101 and no summary).
#[test]
fn a_closed_standard_error_does_not_stop_the_run() {
    let out = scratch("closed-stderr");
    let cfg_dir = scratch("closed-stderr-config");
    let cfg = cfg_dir.join("config.toml");
    std::fs::write(&cfg, TINY).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nclab-train"))
        .args([
            cfg.to_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"status\": \"finished\""), "{summary}");
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_dir_all(&cfg_dir).unwrap();
}

fn config_error(text: &str, overrides: &[&str]) -> String {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    format!("{:#}", Config::from_toml_str(text, &o).unwrap_err())
}

#[test]
fn config_errors_name_the_key() {
    let e = config_error("[optim]\nlrr = 0.1\n", &[]);
    assert!(e.contains("optim") && e.contains("lrr"), "{e}");
    let e = config_error("colour = \"red\"\n", &[]);
    assert!(e.contains("colour"), "{e}");
    let e = config_error("", &["optim.lrr=0.1"]);
    assert!(e.contains("optim") && e.contains("lrr"), "{e}");

    let e = config_error("[optim]\nlr = \"fast\"\n", &[]);
    assert!(e.contains("optim.lr"), "{e}");
    let e = config_error("", &["optim.epochs=abc"]);
    assert!(e.contains("optim.epochs"), "{e}");
    let e = config_error("[model]\nwidths = 512\n", &[]);
    assert!(e.contains("model.widths"), "{e}");

    let e = config_error("[loss]\nkind = \"focal\"\n", &[]);
    assert!(e.contains("loss.kind") && e.contains("focal"), "{e}");

    let e = config_error("", &["optim.lr=-1"]);
    assert!(e.contains("optim.lr"), "{e}");
    let e = config_error("[analysis]\nepochs = \"sometimes\"\n", &[]);
    assert!(e.contains("analysis.epochs"), "{e}");
    let e = config_error("", &["analysis.coarse_depth=0"]);
    assert!(
        e.contains("key `analysis.coarse_depth`: coarse depth 0 is the root"),
        "{e}"
    );
    let e = config_error("", &["analysis.tpt_check=-0.5"]);
    assert!(
        e.contains("analysis.tpt_check") && e.contains("-0.5"),
        "{e}"
    );
    // Numbers that would reach an allocation are refused, naming the key.
    for (set, key) in [
        (
            "analysis.epochs=\"log:1000000000000\"",
            "key `analysis.epochs`",
        ),
        ("data.per_class=100000000000", "key `data.per_class`"),
        ("model.widths=[1000000000000]", "key `model.widths`"),
        ("model.widths=[100000, 100000]", "key `model.widths`"),
        ("optim.epochs=10000000000", "key `optim.epochs`"),
        ("name=\"../../x\"", "key `name`"),
        ("name=\"/etc/x\"", "key `name`"),
    ] {
        let e = config_error("", &[set]);
        assert!(e.contains(key), "{set}: {e}");
    }
    let e = config_error(
        "[model]\nkind = \"resnet18\"\n[data]\nname = \"synthetic\"\n",
        &[],
    );
    assert!(e.contains("key `model.kind`: resnet18 needs images"), "{e}");
    let e = config_error("[model]\nkind = \"resnet18\"\nwidth = 100000\n", &[]);
    assert!(e.contains("key `model.width`: must lie in 1..=1024"), "{e}");
    let e = config_error(
        "[data]\nname = \"synthetic\"\nclasses = 100000\ndim = 100000\nper_class = 100\n",
        &[],
    );
    assert!(
        e.contains("key `data.per_class`") && e.contains("values"),
        "{e}"
    );
}

#[test]
fn a_hierarchy_that_does_not_fit_the_dataset_is_refused_before_anything_is_written() {
    let root = scratch("hier");
    let out = root.join("run");
    // cifar100 has 100 classes; the synthetic data has 4.
    let err = train(&tiny(&["hierarchy=cifar100"]), &opts(&out)).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("`hierarchy`") && msg.contains("100"), "{msg}");
    assert!(!out.exists());
    // flat:5 neither.
    let err = train(&tiny(&["hierarchy=\"flat:5\""]), &opts(&out)).unwrap_err();
    assert!(format!("{err:#}").contains("`hierarchy`"));
    // A hierarchy that is neither built in nor a file.
    let err = train(&tiny(&["hierarchy=no-such-tree"]), &opts(&out)).unwrap_err();
    assert!(format!("{err:#}").contains("`hierarchy`"));
    assert!(!out.exists());
}

#[test]
fn every_shipped_config_parses_and_is_named_after_its_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let c = Config::load(&path, &[]).unwrap();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        assert_eq!(c.name, stem);
        // Published learning rates: 0.0184 for MSE, 0.0679 for the CE-like losses.
        let want_lr = if c.loss.kind == nclab_runs::config::LossKind::Mse {
            0.0184
        } else {
            0.0679
        };
        assert_eq!(c.optim.lr, want_lr, "{stem}");
        if stem.ends_with("-cpu") {
            // A subset, one thread (see the configs' comments).
            assert!(c.data.per_class > 0 && c.threads == 1, "{stem}");
        } else {
            assert_eq!((c.optim.epochs, c.data.per_class), (350, 0), "{stem}");
            assert_eq!(
                c.analysis_epochs().unwrap().len(),
                40,
                "{stem}: log:50 over 350"
            );
        }
        seen.push(stem);
    }
    // 3 settings x 4 losses x (full, cpu).
    assert_eq!(seen.len(), 24, "{seen:?}");
}

/// A CIFAR-10 folder (binary layout) under `root`: every one of the five training batches
/// holds `per_class` images of each class, the test batch the same; pixels from a fixed
/// pattern with a class-dependent brightness, so a network can learn something.
fn tiny_cifar10(root: &Path, per_class: usize) {
    let dir = root.join("cifar10");
    std::fs::create_dir_all(&dir).unwrap();
    let batch = |salt: usize| -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..10 * per_class {
            let class = i % 10;
            out.push(class as u8);
            out.extend((0..3072).map(|p| ((p * 7 + i * 13 + salt * 31) % 97 + 15 * class) as u8));
        }
        out
    };
    for j in 1..=5 {
        std::fs::write(dir.join(format!("data_batch_{j}.bin")), batch(j)).unwrap();
    }
    std::fs::write(dir.join("test_batch.bin"), batch(9)).unwrap();
}

/// The speed switches of the config keep the results: channels-last equals the default
/// layout to float rounding on the CPU, and a bf16 run trains and analyses in f32.
#[test]
fn channels_last_and_bf16_runs_agree_with_the_default() {
    let root = scratch("switch-data");
    tiny_cifar10(&root, 2);
    let root_set = format!("data.root={:?}", root.to_str().unwrap());
    let cfg = |extra: &[&str]| {
        let mut o: Vec<&str> = vec![
            "data.name=cifar10",
            "hierarchy=cifar10",
            "data.augment=true",
            "model.kind=resnet18",
            "model.width=4",
            "optim.batch_size=20",
            "optim.epochs=1",
            "optim.schedule=constant",
            "optim.lr=0.0001",
            "data.per_class=0",
            "data.test_per_class=0",
            &root_set,
        ];
        o.extend_from_slice(extra);
        tiny(&o)
    };
    let (plain, nhwc, bf16) = (scratch("sw-plain"), scratch("sw-nhwc"), scratch("sw-bf16"));
    train(&cfg(&[]), &opts(&plain)).unwrap();
    train(&cfg(&["channels_last=true"]), &opts(&nhwc)).unwrap();
    train(&cfg(&["precision=\"bf16\""]), &opts(&bf16)).unwrap();
    let (header, a) = read_csv(&plain.join("metrics.csv"));
    let (_, b) = read_csv(&nhwc.join("metrics.csv"));
    let (_, c) = read_csv(&bf16.join("metrics.csv"));
    assert_eq!(a.len(), 1);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let close = |x: f64, y: f64, tol: f64| (x - y).abs() <= tol * x.abs().max(1e-6);
    for name in ["train_loss", "test_loss", "train_acc", "test_acc"] {
        for (ra, rb) in a.iter().zip(&b) {
            let (x, y): (f64, f64) = (
                ra[col(name)].parse().unwrap(),
                rb[col(name)].parse().unwrap(),
            );
            assert!(close(x, y, 1e-4), "{name}: {x} vs {y}");
        }
    }
    // The features and logits agree to float rounding after one epoch of 5 small steps.
    // A net this small (width 4, batch 20) is chaotic: a 1e-7 change of its first layer grows
    // to 3e-3 in its features within 6 steps at lr 0.01, whatever the layout, so the steps
    // are kept small. Not compared either: the collapse metrics of a network this young, which
    // are ill-conditioned (its class means nearly coincide: NC1 turns 1e-6 into 1e-3).
    let (fa, fb) = (
        read_tensors(&plain.join("final.safetensors")),
        read_tensors(&nhwc.join("final.safetensors")),
    );
    for key in ["train.features", "test.logits", "weights"] {
        let (x, y) = (&fa[key], &fb[key]);
        let d = (x - y).abs().max().double_value(&[]) / x.abs().max().double_value(&[]);
        assert!(d < 1e-4, "{key}: relative difference {d}");
    }
    // bf16: a finished run, its training loss near the f32 one, its features stored as f32.
    let (x, y): (f64, f64) = (
        a[0][col("train_loss")].parse().unwrap(),
        c[0][col("train_loss")].parse().unwrap(),
    );
    assert!((x - y).abs() < 0.05 * x, "train_loss f32 {x}, bf16 {y}");
    let fin = read_tensors(&bf16.join("final.safetensors"));
    assert_eq!(fin["train.features"].kind(), tch::Kind::Float);
    for d in [root, plain, nhwc, bf16] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

/// `analysis.layers = ["all"]` records every hidden layer's collapse at every analysis epoch;
/// the last hidden layer is the penultimate one, so its NC1 is the run's own NC1.
#[test]
fn layerwise_collapse_is_recorded_and_the_last_layer_is_the_penultimate() {
    let out = scratch("layers");
    train(&tiny(&["analysis.layers=[\"all\"]"]), &opts(&out)).unwrap();
    let (header, rows) = read_csv(&out.join("metrics_layers.csv"));
    assert_eq!(
        header,
        ["epoch", "layer", "depth", "nc1", "cdnv", "ncc_accuracy"]
    );
    // 3 analysis epochs x 2 hidden layers (widths 16, 12).
    let layers: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str(), r[2].as_str()))
        .collect();
    assert_eq!(
        layers,
        [
            ("1", "hidden.0", "0"),
            ("1", "hidden.1", "1"),
            ("2", "hidden.0", "0"),
            ("2", "hidden.1", "1"),
            ("3", "hidden.0", "0"),
            ("3", "hidden.1", "1"),
        ]
    );
    let (mh, mrows) = read_csv(&out.join("metrics.csv"));
    let nc1_col = mh.iter().position(|h| h == "nc1").unwrap();
    for (e, row) in mrows.iter().enumerate() {
        let layer_nc1: f64 = rows[2 * e + 1][3].parse().unwrap();
        let run_nc1: f64 = row[nc1_col].parse().unwrap();
        assert!(
            (layer_nc1 - run_nc1).abs() <= 1e-12 * run_nc1,
            "epoch {}: {layer_nc1} vs {run_nc1}",
            e + 1
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
    // An unknown layer is refused before anything is written, naming the model's layers.
    let bad_root = scratch("layers-bad");
    let bad = bad_root.join("run");
    let err = train(&tiny(&["analysis.layers=[\"layer4\"]"]), &opts(&bad)).unwrap_err();
    assert!(
        format!("{err:#}").contains(
            "this model has no layer \"layer4\" (its layers: hidden.0, hidden.1, or \"all\")"
        ),
        "{err:#}"
    );
    assert!(!bad.exists(), "a failed start leaves no directory");
}

/// One writer per run directory: a second start on a locked directory fails at once, naming
/// the holder; a start that fails before training (no data) leaves no directory behind; a
/// torn last line (a crash mid-write) is cut on resume and never read as a row.
#[test]
fn one_writer_no_trace_of_failed_starts_and_torn_lines_cut() {
    use nclab_runs::run_dir::{RunDir, NCLAB_TRAIN};
    let out = scratch("lock");
    let (_dir, lock) = RunDir::lock(&out, false, NCLAB_TRAIN).unwrap();
    let err = train(&tiny(&[]), &opts(&out)).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("is in use by nclab train, pid"), "{msg}");
    assert!(msg.contains(&std::process::id().to_string()), "{msg}");
    drop(lock);
    std::fs::remove_dir_all(&out).unwrap();

    let missing_root = scratch("no-data");
    let missing = missing_root.join("run");
    let cfg = tiny(&["data.name=mnist", "data.root=\"/nonexistent-nclab-data\""]);
    assert!(train(&cfg, &opts(&missing)).is_err());
    assert!(
        !missing.exists(),
        "the failed start left {}",
        missing.display()
    );

    let cut = scratch("torn");
    let cfg = tiny(&["optim.epochs=3"]);
    train(
        &cfg,
        &TrainOptions {
            stop_after_epoch: Some(2),
            ..opts(&cut)
        },
    )
    .unwrap();
    // A crash in the middle of the next row: half a line at the end of both files.
    for f in ["metrics.csv", "metrics.jsonl"] {
        let mut text = std::fs::read_to_string(cut.join(f)).unwrap();
        text.push_str("3,0.05,1.2");
        std::fs::write(cut.join(f), text).unwrap();
    }
    train(
        &cfg,
        &TrainOptions {
            resume: true,
            ..opts(&cut)
        },
    )
    .unwrap();
    let (_, rows) = read_csv(&cut.join("metrics.csv"));
    let epochs: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(epochs, ["1", "2", "3"]);
    assert!(rows.iter().all(|r| r.len() == COLUMNS.len()));
    let jsonl = std::fs::read_to_string(cut.join("metrics.jsonl")).unwrap();
    assert!(jsonl
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
    std::fs::remove_dir_all(&cut).unwrap();
}

/// `loss.hierarchy` gives the loss a tree of its own. Soft labels on `flat` (label smoothing)
/// in a run whose `hierarchy` is a two-level tree train exactly like the same loss in a run on
/// the flat tree (the loss alone trains the network), while the tree and mistake metrics are
/// measured on the run's tree: with the top-5 set holding all 4 classes, hdist@5 is the mean
/// LCA height over the classes, (0 + 1 + 2 + 2) / 4 = 1.25 on the tree, (0 + 1 + 1 + 1) / 4 =
/// 0.75 on the flat one.
#[test]
fn a_loss_tree_of_its_own_trains_the_network_and_the_run_tree_measures_it() {
    let root = scratch("loss-tree");
    let tree = root.join("tree.txt");
    std::fs::write(&tree, "root a\nroot b\na c0\na c1\nb c2\nb c3\n").unwrap();
    let on_tree = format!("hierarchy=\"{}\"", tree.display());
    let soft = ["loss.kind=soft", "loss.beta=2"];
    let (smooth, flat, hier) = (root.join("smooth"), root.join("flat"), root.join("hier"));
    let smooth_config = tiny(&[soft[0], soft[1], &on_tree, "loss.hierarchy=flat"]);
    let outcome = train(&smooth_config, &opts(&smooth)).unwrap();
    assert_eq!(outcome.summary.loss_hierarchy.as_deref(), Some("flat"));
    let saved = std::fs::read_to_string(smooth.join("config.toml")).unwrap();
    assert_eq!(Config::from_toml_str(&saved, &[]).unwrap(), smooth_config);
    let outcome = train(&tiny(&soft), &opts(&flat)).unwrap();
    assert_eq!(outcome.summary.loss_hierarchy, None);
    train(&tiny(&[soft[0], soft[1], &on_tree]), &opts(&hier)).unwrap();

    let tree_columns = [
        "mean_tree_correlation",
        "nc2_tree",
        "nc1_coarse",
        "mistake_severity",
        "hdist@1",
        "hdist@5",
    ];
    let (header, a) = read_csv(&smooth.join("metrics.csv"));
    let (_, b) = read_csv(&flat.join("metrics.csv"));
    let (_, c) = read_csv(&hier.join("metrics.csv"));
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (ra, rb) in a.iter().zip(&b) {
        for (i, name) in header.iter().enumerate() {
            if name != "elapsed_s" && !tree_columns.contains(&name.as_str()) {
                assert_eq!(ra[i], rb[i], "{name}, epoch {}", ra[0]);
            }
        }
        let hdist5 = |r: &Vec<String>| r[at("hdist@5")].parse::<f64>().unwrap();
        assert!((hdist5(ra) - 1.25).abs() < 1e-12, "{ra:?}");
        assert!((hdist5(rb) - 0.75).abs() < 1e-12, "{rb:?}");
        // The tree has a level between the root and the classes, the flat one none.
        assert!(!ra[at("nc1_coarse")].is_empty() && rb[at("nc1_coarse")].is_empty());
    }
    // The tree's own soft labels are another loss: the training loss differs.
    let loss = at("train_loss");
    assert_ne!(a[0][loss], c[0][loss]);
    std::fs::remove_dir_all(root).unwrap();
}
