//! What the terminal shows, end to end: `nclab train`'s banner, ETA and table widths, the
//! warnings of valid but doubtful configs, where an error is attributed (a `--set`, the
//! config file, the data), undefined values in every format of `nclab measure`, the listing
//! of a .safetensors file's tensors, a bad hierarchy in a grid under `--dry-run`, and counts
//! that agree with their nouns.

mod common;
use common::nclab;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nclab_core::io::{npy, safetensors};
use nclab_core::tensor::{DType, Tensor};
use nclab_testkit::TINY_CONFIG;

use nclab_testkit::scratch;

/// Writes the tiny config into `dir` and returns its path.
fn tiny_config(dir: &Path) -> String {
    let path = dir.join("tiny.toml");
    std::fs::write(&path, TINY_CONFIG).unwrap();
    path.display().to_string()
}

/// `nclab train` of the tiny config with `extra` arguments, into `dir/run`.
fn train(dir: &Path, extra: &[&str]) -> (bool, String, String, PathBuf) {
    common::require_trainer();
    let config = tiny_config(dir);
    let out = dir.join("run");
    let out_s = out.display().to_string();
    let mut args = vec!["train", &config, "--quiet", "--out", &out_s];
    args.extend_from_slice(extra);
    let (ok, stdout, stderr) = nclab(&args);
    (ok, stdout, stderr, out)
}

#[test]
fn train_prints_a_banner_and_a_table_that_fits_80_columns_with_an_eta() {
    let dir = scratch("banner");
    let (ok, _, stderr, out) = train(&dir, &[]);
    assert!(ok, "{stderr}");
    for line in [
        format!("nclab train: {} (new run)", out.display()),
        "  device cpu, 1 thread".into(),
        "  data synthetic: N = 64 train, 32 test; K = 4 classes; d = 12 features".into(),
        // 8*16+16 + 2*16 (BatchNorm) + 16*12+12 + 2*12 + 12*4+4 = 456.
        "  model mlp [16, 12]: 456 parameters; loss ce, hierarchy flat".into(),
        "  SGD: 3 epochs, batch 16, momentum 0.9, weight decay 0.0005".into(),
        "  lr step: 0.0500 (epoch 1), 0.00500 (2), 5.00e-4 (3)".into(),
        "  analysis at 3 epochs: 1, 2, 3".into(),
        "  ETA below: an estimate, the epochs left x the mean epoch time so far".into(),
        "epoch      lr    loss train%  test%     NC1     NC2     NC3     NC4      ETA".into(),
    ] {
        assert!(
            stderr.lines().any(|l| l == line),
            "no line {line:?} in:\n{stderr}"
        );
    }
    let rows: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("epoch "))
        .skip(1)
        .take(3)
        .collect();
    assert_eq!(rows.len(), 3, "{stderr}");
    for row in &rows {
        assert!(row.len() <= 80, "{row:?} is wider than 80 columns");
    }
    assert!(rows[0].starts_with("    1  0.0500 "), "{}", rows[0]);
    assert!(
        rows[0].trim_end().ends_with('s'),
        "an ETA such as ~1s: {}",
        rows[0]
    );
    assert!(rows[2].ends_with("done"), "{}", rows[2]);
}

#[test]
fn wide_shows_every_column() {
    let dir = scratch("wide");
    let (ok, _, stderr, _) = train(&dir, &["--wide"]);
    assert!(ok, "{stderr}");
    let header = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("epoch "))
        .unwrap_or_else(|| panic!("no header in:\n{stderr}"));
    let names: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        names,
        [
            "epoch",
            "lr",
            "loss",
            "train_acc",
            "test_loss",
            "test_acc",
            "NC1",
            "NC2",
            "NC3",
            "NC4",
            "time_s",
            "ETA"
        ]
    );
}

#[test]
fn doubtful_configs_are_warned_about() {
    let dir = scratch("warn");
    let (ok, _, stderr, _) = train(&dir, &["--set", "loss.kind=hxe", "--set", "optim.epochs=2"]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(
            "warning: loss.kind = \"hxe\" with hierarchy = \"flat\", a tree of depth 1: HXE is \
             then cross-entropy times a constant"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "warning: optim.epochs = 2 with optim.schedule = \"step\": the decays at epochs \
             floor(E/3) and floor(2E/3) (counted from 0) leave no epoch at optim.lr (epoch 1 at \
             lr/10, epoch 2 at lr/100)"
        ),
        "{stderr}"
    );
}

#[test]
fn a_set_typo_is_blamed_on_the_set_and_nothing_is_written() {
    let dir = scratch("set-typo");
    let (ok, _, stderr, out) = train(&dir, &["--set", "optim.lrr=0.1"]);
    assert!(!ok);
    assert!(
        stderr.starts_with("error: --set optim.lrr=0.1: unknown key `optim.lrr` (expected"),
        "{stderr}"
    );
    assert!(!stderr.contains("tiny.toml"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn a_hierarchy_or_model_that_does_not_fit_is_blamed_on_the_config() {
    let dir = scratch("bad-fit");
    let config = tiny_config(&dir);
    let out = dir.join("run");
    for (set, expected) in [
        (
            "hierarchy=\"nope\"",
            "error: --set hierarchy=\"nope\": key `hierarchy` (\"nope\"): hierarchy 'nope' is \
             neither a built-in",
        ),
        (
            "hierarchy=\"cifar10\"",
            "error: --set hierarchy=\"cifar10\": key `hierarchy` (\"cifar10\"): hierarchy \
             'cifar10' has 10 classes but the data has 4",
        ),
        (
            "model.kind=\"resnet18\"",
            "error: --set model.kind=\"resnet18\": key `model.kind`: resnet18 needs images",
        ),
    ] {
        let (ok, _, stderr) = nclab(&[
            "train",
            &config,
            "--quiet",
            "--out",
            &out.display().to_string(),
            "--set",
            set,
        ]);
        assert!(!ok);
        assert!(stderr.starts_with(expected), "{set}: {stderr}");
        assert!(!out.exists(), "{set}");
    }
}

#[test]
fn missing_cifar_data_is_blamed_on_the_data_not_on_per_class() {
    let dir = scratch("no-cifar");
    let empty = dir.join("empty-data-root");
    std::fs::create_dir_all(&empty).unwrap();
    let root = format!("data.root={}", empty.display());
    let (ok, _, stderr, out) = train(
        &dir,
        &[
            "--set",
            "data.name=cifar10",
            "--set",
            &root,
            "--set",
            "data.per_class=10",
        ],
    );
    assert!(!ok);
    assert!(
        stderr.starts_with(&format!(
            "error: data.name = \"cifar10\", data.root = \"{}\"",
            empty.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("per_class"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn a_report_of_one_run_says_1_run_in_1_condition() {
    let dir = scratch("report-one");
    let (ok, _, stderr, out) = train(&dir, &[]);
    assert!(ok, "{stderr}");
    let report = dir.join("report").display().to_string();
    let (ok, stdout, stderr) = nclab(&["report", &out.display().to_string(), "--out", &report]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("1 run in 1 condition: wrote "),
        "{stdout}"
    );
}

#[test]
fn a_contrast_with_an_unknown_condition_is_an_error_naming_the_option() {
    let dir = scratch("report-contrast");
    let (ok, _, stderr, out) = train(&dir, &[]);
    assert!(ok, "{stderr}");
    let report = dir.join("report");
    let args = ["report", &out.display().to_string(), "--out"];
    let (ok, _, stderr) = nclab(
        &[
            &args[..],
            &[&report.display().to_string(), "--contrast", "a:b"],
        ]
        .concat(),
    );
    assert!(!ok);
    assert!(
        stderr.starts_with(
            "error: --contrast \"a:b\": no split at a ':' names two conditions (the conditions: "
        ),
        "{stderr}"
    );
    assert!(!report.exists());
}

/// Three classes in two dimensions, with a classifier.
fn write_features(dir: &Path) -> [String; 3] {
    let h = [0.0f32, 0.0, 2.0, 0.0, 0.0, 2.0, 0.0, 4.0, -2.0, -2.0];
    let paths = ["h.npy", "y.npy", "w.npy"].map(|f| dir.join(f).display().to_string());
    npy::write(
        Path::new(&paths[0]),
        &Tensor::from_f32(vec![5, 2], &h).unwrap(),
    )
    .unwrap();
    let y = Tensor::from_bytes(DType::U8, vec![5], vec![0, 0, 1, 1, 2]).unwrap();
    npy::write(Path::new(&paths[1]), &y).unwrap();
    let w = Tensor::from_f64(vec![3, 2], &[1.0, 0.0, 0.0, 1.0, -1.0, -1.0]).unwrap();
    npy::write(Path::new(&paths[2]), &w).unwrap();
    paths
}

#[test]
fn undefined_metrics_read_the_same_in_table_csv_and_json() {
    let dir = scratch("null");
    let [h, y, w] = write_features(&dir);
    let run = |format: &str| {
        let args = [
            "measure",
            "--features",
            &h,
            "--labels",
            &y,
            "--weights",
            &w,
            "--hierarchy",
            "flat",
            "--format",
            format,
        ];
        let (ok, stdout, stderr) = nclab(&args);
        assert!(ok, "{stderr}");
        assert!(
            !stdout.contains("NaN") && !stdout.contains("inf"),
            "{stdout}"
        );
        stdout
    };
    let json: BTreeMap<String, serde_json::Value> = serde_json::from_str(&run("json")).unwrap();
    let null_in_json: Vec<&String> = json.keys().filter(|k| json[*k].is_null()).collect();
    let table = run("table");
    let null_in_table: Vec<&str> = table
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(k, v)| (k, v.trim())))
        .filter(|(_, v)| *v == "null")
        .map(|(k, _)| k)
        .collect();
    let csv = run("csv");
    let (names, values) = csv.trim_end().split_once('\n').unwrap();
    let mut null_in_csv: Vec<&str> = names
        .split(',')
        .zip(values.split(','))
        .filter(|(_, v)| v.is_empty())
        .map(|(k, _)| k)
        .collect();
    // The flat tree has no coarse level and all its distances are equal: nc1_coarse and the
    // tree correlation are undefined, although a hierarchy was given.
    assert!(null_in_table.contains(&"nc1_coarse"), "{table}");
    let mut sorted_table = null_in_table.clone();
    sorted_table.sort_unstable();
    null_in_csv.sort_unstable();
    let json_names: Vec<&str> = null_in_json.iter().map(|s| s.as_str()).collect();
    assert_eq!(sorted_table, json_names);
    assert_eq!(null_in_csv, json_names);
}

#[test]
fn a_missing_tensor_is_reported_with_every_tensor_of_the_file() {
    let dir = scratch("st-names");
    let file = dir.join("final.safetensors");
    let m = Tensor::from_f32(vec![2, 2], &[1.0, 0.0, 0.0, 1.0]).unwrap();
    let labels = Tensor::from_bytes(DType::U8, vec![2], vec![0, 1]).unwrap();
    let entries = [
        ("train.features", &m),
        ("train.labels", &labels),
        ("test.features", &m),
        ("test.labels", &labels),
        ("weights", &m),
        ("bias", &labels),
    ];
    safetensors::write(&file, &entries, &BTreeMap::new()).unwrap();
    let (ok, _, stderr) = nclab(&["measure", &file.display().to_string()]);
    assert!(!ok);
    assert!(
        stderr.contains(
            "no tensor named \"features\" (the file holds: \"bias\", \"test.features\", \
             \"test.labels\", \"train.features\", \"train.labels\", \"weights\")"
        ),
        "{stderr}"
    );
}

#[test]
fn a_bad_hierarchy_in_a_grid_fails_the_dry_run() {
    let dir = scratch("grid-tree");
    std::fs::write(dir.join("base.toml"), TINY_CONFIG).unwrap();
    let grid = dir.join("g.toml");
    std::fs::write(
        &grid,
        "base = \"base.toml\"\n[axes]\nhierarchy = [\"flat\", \"cifar100\"]\n",
    )
    .unwrap();
    let out = dir.join("out").display().to_string();
    let (ok, stdout, stderr) = nclab(&[
        "sweep",
        &grid.display().to_string(),
        "--dry-run",
        "--out",
        &out,
    ]);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("cell hierarchy=cifar100: key `hierarchy` (\"cifar100\")"),
        "{stderr}"
    );
    assert!(stderr.contains("100 classes"), "{stderr}");
}

#[test]
fn a_dry_run_says_1_cell_and_shows_the_warnings() {
    let dir = scratch("grid-one");
    std::fs::write(dir.join("base.toml"), TINY_CONFIG).unwrap();
    let grid = dir.join("g.toml");
    std::fs::write(
        &grid,
        "base = \"base.toml\"\n[axes]\n\"loss.kind\" = [\"soft\"]\n",
    )
    .unwrap();
    let out = dir.join("out").display().to_string();
    let (ok, stdout, stderr) = nclab(&[
        "sweep",
        &grid.display().to_string(),
        "--dry-run",
        "--out",
        &out,
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with(&format!("sweep g: 1 cell in {out} (1 new)")),
        "{stdout}"
    );
    assert!(
        stderr.contains("warning (loss.kind=soft): loss.kind = \"soft\" with hierarchy = \"flat\""),
        "{stderr}"
    );
}
