//! Tests of `nclab sweep`: grid expansion and its errors, the states of cells read from run
//! directories, the runner (with a stand-in trainer script that records how it was called),
//! and end to end with the real `nclab train` on a tiny synthetic dataset (a few seconds per
//! cell). The Slurm script's tests are in slurm.rs.

mod common;
use common::nclab;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use nclab_runs::config::Config;
use nclab_runs::sweep::exec::{self, Outcome, RunOptions};
use nclab_runs::sweep::grid::{value_label, Grid};
use nclab_runs::sweep::plan::{self, CellState};
use nclab_runs::sweep::{load_plan, table};

use nclab_testkit::scratch;

fn parse(text: &str, folder: &Path) -> anyhow::Result<Grid> {
    Grid::parse(text, "g", folder, Path::new("g.toml"))
}

fn parse_err(text: &str) -> String {
    let dir = std::env::temp_dir();
    match parse(text, &dir).and_then(|g| g.cells().map(|_| g)) {
        Ok(_) => panic!("grid accepted:\n{text}"),
        Err(e) => format!("{e:#}"),
    }
}

/// A grid whose base lives in another file, with inline keys over it, a variant group and an
/// axis: 3 loss variants x 2 seeds = 6 cells.
const LOSS_GRID: &str = r#"
base = "base/mlp.toml"
[optim]
epochs = 30           # over the base's 350; lr stays the base's 0.0679
[axes]
seed = [0, 1]
[[variants.loss]]
label = "ce"
loss.kind = "ce"
[[variants.loss]]
label = "hxe-0.3"
loss = { kind = "hxe", alpha = 0.3 }
hierarchy = "fashion-mnist"
[[variants.loss]]
label = "mse"
"loss.kind" = "mse"
optim.lr = 0.0184
"#;

const BASE: &str = r#"
name = "fashion-mnist-mlp"
[data]
name = "fashion-mnist"
per_class = 100
[optim]
epochs = 350
batch_size = 64
"#;

#[test]
fn a_grid_expands_to_the_product_of_its_dimensions_in_order() {
    let dir = scratch("expand");
    fs::create_dir_all(dir.join("base")).unwrap();
    fs::write(dir.join("base/mlp.toml"), BASE).unwrap();
    let grid = parse(LOSS_GRID, &dir).unwrap();
    // Dimensions sorted by name: `loss` (3 levels) before `seed` (2), seed turning fastest.
    assert_eq!(grid.len(), 6);
    let cells = grid.cells().unwrap();
    let names: Vec<&str> = cells.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "loss=ce_seed=0",
            "loss=ce_seed=1",
            "loss=hxe-0.3_seed=0",
            "loss=hxe-0.3_seed=1",
            "loss=mse_seed=0",
            "loss=mse_seed=1",
        ]
    );
    // Overrides: the variant's keys in key order, then the axis.
    assert_eq!(
        cells[3].overrides,
        [
            "hierarchy=\"fashion-mnist\"",
            "loss.alpha=0.3",
            "loss.kind=\"hxe\"",
            "seed=1"
        ]
    );
    assert_eq!(
        cells[4].overrides,
        ["loss.kind=\"mse\"", "optim.lr=0.0184", "seed=0"]
    );

    let hxe = &cells[3].config;
    assert_eq!(hxe.name, "g/loss=hxe-0.3_seed=1");
    assert_eq!(hxe.seed, 1);
    assert_eq!(hxe.loss.kind.as_str(), "hxe");
    assert_eq!(hxe.loss.alpha, 0.3);
    assert_eq!(hxe.hierarchy, "fashion-mnist");
    // From the base file, and the grid's inline key over the base's.
    assert_eq!(hxe.data.name.as_str(), "fashion-mnist");
    assert_eq!(hxe.data.per_class, 100);
    assert_eq!(hxe.optim.batch_size, 64);
    assert_eq!(hxe.optim.epochs, 30);
    assert_eq!(hxe.optim.lr, 0.0679);
    // Keys a level does not set keep the base's value.
    let ce = &cells[0].config;
    assert_eq!(
        (ce.loss.kind.as_str(), ce.hierarchy.as_str()),
        ("ce", "flat")
    );
    let mse = &cells[5].config;
    assert_eq!(
        (mse.loss.kind.as_str(), mse.optim.lr, mse.seed),
        ("mse", 0.0184, 1)
    );

    // The same cell's config is what `nclab train --set` would make of the overrides.
    let base = Config::from_toml_str(&format!("{BASE}\n"), &["optim.epochs=30".into()]).unwrap();
    let mut via_set = Config::from_toml_str(&base.to_toml_string(), &cells[3].overrides).unwrap();
    via_set.name = hxe.name.clone();
    assert_eq!(&via_set, hxe);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn axis_values_become_file_safe_labels() {
    let v = |s: &str| -> toml::Value {
        format!("v = {s}").parse::<toml::Table>().unwrap()["v"].clone()
    };
    assert_eq!(value_label(&v("0.1")).unwrap(), "0.1");
    assert_eq!(value_label(&v("1e-4")).unwrap(), "0.0001");
    assert_eq!(value_label(&v("2.0")).unwrap(), "2");
    assert_eq!(value_label(&v("-3")).unwrap(), "-3");
    assert_eq!(value_label(&v("true")).unwrap(), "true");
    assert_eq!(value_label(&v("[512, 256]")).unwrap(), "512-256");
    assert_eq!(
        value_label(&v("\"hier/my tree_v2.txt\"")).unwrap(),
        "hier-my-tree-v2.txt"
    );
    assert!(value_label(&v("{ a = 1 }")).is_err());

    // Nested axis keys and quoted dotted keys are the same key.
    let g = parse(
        "[axes]\n\"data.name\" = [\"mnist\", \"fashion-mnist\"]\nmodel.widths = [[64], [32, 32]]\n",
        &std::env::temp_dir(),
    )
    .unwrap();
    let names: Vec<String> = g.cells().unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "data.name=mnist_model.widths=64",
            "data.name=mnist_model.widths=32-32",
            "data.name=fashion-mnist_model.widths=64",
            "data.name=fashion-mnist_model.widths=32-32",
        ]
    );
    // The sweep name is the file stem; `_` is fine there, a space is not.
    assert!(Grid::parse("", "my_grid", Path::new("."), Path::new("my_grid.toml")).is_ok());
    let err = Grid::parse("", "my grid", Path::new("."), Path::new("my grid.toml")).unwrap_err();
    assert!(err.to_string().contains("\"my grid\""), "{err}");
    // No dimension at all: one cell named `base`.
    let g = parse("seed = 4\n", &std::env::temp_dir()).unwrap();
    let cells = g.cells().unwrap();
    assert_eq!(
        (cells.len(), cells[0].name.as_str(), cells[0].config.seed),
        (1, "base", 4)
    );
}

#[test]
fn bad_grids_are_refused_with_the_key_named() {
    let cases: [(&str, &[&str]); 13] = [
        (
            "[axes]\nloss.alphx = [0.1]\n",
            &["axes.loss.alphx", "not a config key"],
        ),
        ("[axes]\nseed = 3\n", &["axes.seed", "expected a list"]),
        ("[axes]\nseed = []\n", &["axes.seed", "no values"]),
        (
            "[axes]\nname = [\"a\", \"b\"]\n",
            &["axes.name", "cannot vary"],
        ),
        ("[axes]\nseed = [1, 1]\n", &["axes.seed", "\"1\""]),
        ("[axes]\nseed = [\"x\"]\n", &["cell seed=x", "key `seed`"]),
        (
            "[axes]\n\"loss.alpha\" = [0.1]\n[[variants.loss]]\nlabel = \"h\"\nloss.alpha = 0.3\n",
            &["loss.alpha", "axes.loss.alpha", "variants.loss"],
        ),
        (
            "[[variants.loss]]\nloss.kind = \"ce\"\n",
            &["variants.loss[0].label", "missing"],
        ),
        (
            "[[variants.loss]]\nlabel = \"hxe 0.3\"\n",
            &["variants.loss[0].label", "hxe 0.3"],
        ),
        (
            "[[variants.loss]]\nlabel = \"a\"\nloss.kindd = \"ce\"\n",
            &["variants.loss[0].loss.kindd"],
        ),
        (
            "[[variants.loss]]\nlabel = \"a\"\nloss.kind = \"xe\"\n",
            &["cell loss=a", "loss.kind", "xe"],
        ),
        ("base = \"no/such.toml\"\n", &["key `base`", "no/such.toml"]),
        ("[optim]\nlrr = 0.1\n", &["optim.lrr"]),
    ];
    for (text, wanted) in cases {
        let err = parse_err(text);
        for w in wanted {
            assert!(err.contains(w), "grid:\n{text}\nerror {err:?} lacks {w:?}");
        }
    }
    // Too many cells: refused before a cell is expanded, also where the product overflows
    // (7 axes of 1,000 values: 1e21 > usize::MAX).
    let list = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let big = format!(
        "[axes]\nseed = [{}]\n\"optim.epochs\" = [{}]\n",
        list(100),
        list(101).replacen("0, ", "", 1) + ", 101"
    );
    let err = parse_err(&big);
    assert!(
        err.contains("more than 10000 cells (optim.epochs 101 x seed 100: their product)"),
        "{err}"
    );
    let keys = [
        "seed",
        "optim.epochs",
        "optim.batch_size",
        "optim.lr",
        "optim.momentum",
        "optim.weight_decay",
        "loss.alpha",
    ];
    let huge: String = std::iter::once("[axes]\n".to_string())
        .chain(
            keys.iter()
                .map(|k| format!("\"{k}\" = [{}]\n", list(1001).replacen("0, ", "", 1))),
        )
        .collect();
    let err = parse_err(&huge);
    assert!(err.contains("more than 10000 cells"), "{err}");
    // A cell name that no folder can hold is refused in planning (it passed --dry-run and
    // failed at its run, leaving the sweep's lock behind).
    let long = format!("[[variants.loss]]\nlabel = \"{}\"\n", "a".repeat(300));
    let err = parse_err(&long);
    assert!(
        err.contains("its name is 305 bytes, more than the 250 a cell's folder and files may have"),
        "{err}"
    );
}

/// The shared tiny config with a seed axis: 3 cells.
fn tiny_grid() -> String {
    format!("{}[axes]\nseed = [0, 1, 2]\n", nclab_testkit::TINY_CONFIG)
}

fn write_grid(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn cell_states_are_read_from_the_run_directories() {
    let dir = scratch("states");
    let grid_path = write_grid(&dir, "tiny", &tiny_grid());
    let out = dir.join("runs");
    let (_, _, cells) = load_plan(&grid_path, Some(&out)).unwrap();
    let config = &cells[0].cell.config;
    let cell = out.join("seed=0");
    assert_eq!(plan::cell_state(&cell, config), CellState::New);
    fs::create_dir_all(&cell).unwrap();
    assert_eq!(
        plan::cell_state(&cell, config),
        CellState::New,
        "empty directory"
    );
    fs::write(cell.join("notes.txt"), "x").unwrap();
    assert!(
        matches!(plan::cell_state(&cell, config), CellState::Blocked(w) if w.contains("no config.toml"))
    );
    // An emptied config.toml is not read as the defaults.
    fs::write(cell.join("config.toml"), "").unwrap();
    assert!(
        matches!(plan::cell_state(&cell, &Config::default()), CellState::Blocked(w) if w.contains("config.toml: sets nothing"))
    );
    fs::write(cell.join("config.toml"), config.to_toml_string()).unwrap();
    assert_eq!(
        plan::cell_state(&cell, config),
        CellState::Resume,
        "config, no summary"
    );
    fs::write(cell.join("summary.json"), r#"{"status": "running"}"#).unwrap();
    assert_eq!(
        plan::cell_state(&cell, config),
        CellState::Resume,
        "stopped run"
    );
    fs::write(cell.join("summary.json"), r#"{"status": "diverged"}"#).unwrap();
    assert_eq!(plan::cell_state(&cell, config), CellState::Diverged);
    fs::write(cell.join("summary.json"), r#"{"status": "finished"}"#).unwrap();
    assert_eq!(plan::cell_state(&cell, config), CellState::Done);
    // A changed grid (another lr) does not silently reuse the old run.
    let mut changed = config.clone();
    changed.optim.lr = 0.1;
    match plan::cell_state(&cell, &changed) {
        CellState::Blocked(why) => assert!(why.contains("optim.lr (0.05 -> 0.1)"), "{why}"),
        s => panic!("{s:?}"),
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// A stand-in for `nclab`: records `threads=$OMP_NUM_THREADS args...` in `calls`, fails (exit
/// 3, no run directory) for the config of seed 1, else makes a finished run directory.
fn fake_trainer(dir: &Path) -> PathBuf {
    let calls = dir.join("calls");
    let script = format!(
        r#"#!/bin/bash
echo "threads=$OMP_NUM_THREADS $*" >> '{calls}'
cfg="$2"; out="$4"
if grep -q '^seed = 1$' "$cfg"; then echo "boom: seed 1 is cursed" >&2; exit 3; fi
mkdir -p "$out"
cp "$cfg" "$out/config.toml"
echo '{{"status": "finished", "epochs": 3, "tpt_epoch": 2, "wall_time_s": 1.5, "final": {{"test_acc": 0.75, "nc1": 0.125}}}}' > "$out/summary.json"
echo "trained $out"
"#,
        calls = calls.display()
    );
    let path = dir.join("fake-nclab");
    fs::write(&path, script).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

#[test]
fn the_runner_splits_threads_skips_done_cells_and_goes_on_after_a_failure() {
    assert_eq!(exec::threads_per_job(8, 3), 2);
    assert_eq!(exec::threads_per_job(2, 4), 1);
    assert_eq!(exec::threads_per_job(16, 1), 16);

    let dir = scratch("runner");
    let grid_path = write_grid(&dir, "tiny", &tiny_grid());
    let out = dir.join("runs");
    let (_, _, cells) = load_plan(&grid_path, Some(&out)).unwrap();
    // seed=2 was finished by an earlier sweep.
    let done = out.join("seed=2");
    fs::create_dir_all(&done).unwrap();
    fs::write(
        done.join("config.toml"),
        cells[2].cell.config.to_toml_string(),
    )
    .unwrap();
    fs::write(
        done.join("summary.json"),
        r#"{"status": "finished", "epochs": 3}"#,
    )
    .unwrap();
    let (_, _, cells) = load_plan(&grid_path, Some(&out)).unwrap();
    let states: Vec<String> = cells.iter().map(|c| c.state.to_string()).collect();
    assert_eq!(states, ["new", "new", "done"]);

    let opts = RunOptions {
        exe: fake_trainer(&dir),
        jobs: 2,
        threads: 4,
        by: None,
    };
    let reports = exec::run_cells(&cells, &opts).unwrap();
    let outcomes: Vec<String> = reports.iter().map(|r| r.outcome.word()).collect();
    assert_eq!(outcomes, ["finished", "FAILED", "done"]);
    match &reports[1].outcome {
        Outcome::Failed(why) => {
            assert!(why.contains("exit status: 3"), "{why}");
            assert!(why.contains("boom: seed 1 is cursed"), "{why}");
        }
        o => panic!("{o:?}"),
    }
    // Two cells ran, each with 4 / 2 = 2 threads and the documented command.
    let mut calls: Vec<String> = fs::read_to_string(dir.join("calls"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    calls.sort();
    let o = out.display();
    assert_eq!(
        calls,
        [
            format!("threads=2 train {o}/seed=0.toml --out {o}/seed=0 --quiet"),
            format!("threads=2 train {o}/seed=1.toml --out {o}/seed=1 --quiet"),
        ]
    );
    // The resolved configs were written beside the run directories.
    let written = Config::load(&out.join("seed=0.toml"), &[]).unwrap();
    assert_eq!(written, cells[0].cell.config);
    // The finished cell's log moved into its run directory; the failed one, which made no
    // directory, keeps its log beside.
    assert_eq!(
        fs::read_to_string(out.join("seed=0/train.log")).unwrap(),
        format!("trained {o}/seed=0\n")
    );
    assert!(!out.join("seed=0.log").exists());
    assert!(fs::read_to_string(out.join("seed=1.log"))
        .unwrap()
        .contains("boom"));

    let t = table::summary_table(&reports);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(
        lines[0],
        "cell    result    epochs  tpt  test_acc  nc1       wall_s"
    );
    assert_eq!(
        lines[1],
        "seed=0  finished  3       2    0.7500    1.250e-1  1.5"
    );
    assert_eq!(
        lines[2],
        "seed=1  FAILED    -       -    -         -         -"
    );
    assert_eq!(
        lines[3],
        "seed=2  done      3       -    -         -         -"
    );
    assert!(reports[1].outcome.is_failure() && !reports[2].outcome.is_failure());
    fs::remove_dir_all(&dir).unwrap();
}

/// The columns of a metrics.csv that do not depend on timing.
fn csv_without_time(path: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            l.split(',')
                .zip(&header)
                .filter(|(_, h)| **h != "elapsed_s")
                .map(|(c, _)| c.to_string())
                .collect()
        })
        .collect()
}

#[test]
fn a_sweep_skips_finished_cells_resumes_a_partial_one_and_runs_the_rest() {
    common::require_trainer();
    let dir = scratch("e2e");
    let grid_path = write_grid(&dir, "tiny", &tiny_grid());
    let out = dir.join("runs");
    let (g, o) = (grid_path.to_str().unwrap(), out.to_str().unwrap());

    let (ok, stdout, stderr) = nclab(&["sweep", g, "--out", o, "--dry-run"]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("sweep tiny: 3 cells in {o} (3 new)"));
    assert_eq!(lines[1], "cell    state  overrides");
    assert_eq!(lines[2], "seed=0  new    seed=0");
    assert_eq!(lines[4], "seed=2  new    seed=2");
    assert!(!out.exists(), "a dry run writes nothing");

    // seed=0 trained to the end and seed=1 stopped after epoch 1, by `nclab train` itself.
    let (_, _, cells) = load_plan(&grid_path, Some(&out)).unwrap();
    exec::write_cell_configs(&cells).unwrap();
    let train = |cell: usize, extra: &[&str]| {
        let c = &cells[cell];
        let mut args = vec![
            "train",
            c.config_path.to_str().unwrap(),
            "--out",
            c.dir.to_str().unwrap(),
            "--quiet",
        ];
        args.extend_from_slice(extra);
        let (ok, _, stderr) = nclab(&args);
        assert!(ok, "{stderr}");
    };
    train(0, &[]);
    train(1, &["--stop-after-epoch", "1"]);
    let summary0 = fs::read(out.join("seed=0/summary.json")).unwrap();
    assert_eq!(csv_without_time(&out.join("seed=1/metrics.csv")).len(), 1);

    let (ok, stdout, stderr) = nclab(&["sweep", g, "--out", o, "--dry-run"]);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with(&format!(
        "sweep tiny: 3 cells in {o} (1 new, 1 resume, 1 done)\n"
    )));
    let states: Vec<&str> = stdout
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(states, ["done", "resume", "new"]);
    // The time left counts epochs: the resumed cell has 2 of its 3 left, after its checkpoint.
    let (_, _, cells) = load_plan(&grid_path, Some(&out)).unwrap();
    let left: Vec<usize> = cells.iter().map(exec::epochs_left).collect();
    assert_eq!(left, [3, 2, 3]);

    let (ok, stdout, stderr) = nclab(&["sweep", g, "--out", o, "--jobs", "2", "--threads", "2"]);
    assert!(ok, "{stderr}\n{stdout}");
    let results: Vec<(&str, &str)> = stdout
        .lines()
        .skip(1)
        .map(|l| {
            let mut w = l.split_whitespace();
            (w.next().unwrap(), w.next().unwrap())
        })
        .collect();
    assert_eq!(
        results,
        [
            ("seed=0", "done"),
            ("seed=1", "finished"),
            ("seed=2", "finished")
        ]
    );
    // The finished cell was not touched; the others finished with every analysis epoch.
    assert_eq!(fs::read(out.join("seed=0/summary.json")).unwrap(), summary0);
    for cell in ["seed=1", "seed=2"] {
        assert_eq!(
            plan::summary_status(&out.join(cell)),
            Some(nclab_runs::run_dir::Status::Finished)
        );
        let rows = csv_without_time(&out.join(cell).join("metrics.csv"));
        let epochs: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(epochs, ["1", "2", "3"], "{cell}");
        assert!(out.join(cell).join("train.log").is_file());
        assert!(!out.join(format!("{cell}.log")).exists());
    }
    // The resumed cell ends exactly like the same config trained in one go.
    let again = dir.join("uninterrupted");
    let (ok, _, stderr) = nclab(&[
        "train",
        cells[1].config_path.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        csv_without_time(&out.join("seed=1/metrics.csv")),
        csv_without_time(&again.join("metrics.csv"))
    );

    // A second sweep has nothing left to do.
    let (ok, stdout, _) = nclab(&["sweep", g, "--out", o]);
    assert!(ok);
    assert_eq!(
        stdout
            .lines()
            .skip(1)
            .filter(|l| l.contains(" done "))
            .count(),
        3
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failing_cell_is_reported_and_the_sweep_exits_non_zero() {
    common::require_trainer();
    let dir = scratch("fail");
    // mnist under an empty data folder cannot load; the synthetic cell still runs.
    let text = tiny_grid().replace(
        "[axes]\nseed = [0, 1, 2]\n",
        &format!(
            "[axes]\n\"data.name\" = [\"mnist\", \"synthetic\"]\n\"data.root\" = [{:?}]\n",
            dir.join("no-data").display().to_string()
        ),
    );
    let grid_path = write_grid(&dir, "mixed", &text);
    let out = dir.join("runs");
    let (ok, stdout, stderr) = nclab(&[
        "sweep",
        grid_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    let root = value_label(&toml::Value::String(
        dir.join("no-data").display().to_string(),
    ))
    .unwrap();
    let bad = format!("data.name=mnist_data.root={root}");
    let good = format!("data.name=synthetic_data.root={root}");
    assert!(
        stderr.contains(&format!("1 of 2 cells failed or are blocked: {bad}")),
        "{stderr}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&bad) && l.contains("FAILED")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&good) && l.contains("finished")),
        "{stdout}"
    );

    // A bad grid: the error names the key, and nothing is written.
    let bad_grid = write_grid(&dir, "bad", "[axes]\n\"optim.lrr\" = [0.1]\n");
    let (ok, _, stderr) = nclab(&[
        "sweep",
        bad_grid.to_str().unwrap(),
        "--out",
        dir.join("x").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("axes.optim.lrr"),
        "{stderr}"
    );
    assert!(!dir.join("x").exists());
    fs::remove_dir_all(&dir).unwrap();
}

/// The study's grids (configs/study, configs/study/full) expand to the cells docs/study.md
/// describes, every config valid.
#[test]
fn the_study_grids_expand_to_their_documented_cells() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/study");
    let out = std::env::temp_dir().join("nclab-sweep-test-study-never-written");
    let seeds = ["seed=0", "seed=1", "seed=2"];
    let expect = |losses: &[&str]| -> Vec<String> {
        losses
            .iter()
            .flat_map(|l| seeds.iter().map(move |s| format!("loss={l}_{s}")))
            .collect()
    };
    let hier_losses = [
        "ce", "ce-flat", "hxe-0.1", "hxe-0.3", "hxe-0.6", "soft-4", "soft-10", "soft-30",
    ];
    for (full, suffix) in [(false, ""), (true, "-full")] {
        let dir = if full {
            root.join("full")
        } else {
            root.clone()
        };
        for (stem, data, model) in [
            ("replication-mnist-mlp", "mnist", "mlp"),
            ("replication-fashion-mnist-mlp", "fashion-mnist", "mlp"),
            ("replication-cifar10-resnet18", "cifar10", "resnet18"),
            ("hierarchy-fashion-mnist-mlp", "fashion-mnist", "mlp"),
            ("hierarchy-cifar10-resnet18", "cifar10", "resnet18"),
        ] {
            let path = dir.join(format!("{stem}{suffix}.toml"));
            let (grid, _, cells) = load_plan(&path, Some(&out)).unwrap();
            assert_eq!(grid.name, format!("{stem}{suffix}"));
            let names: Vec<String> = cells.iter().map(|c| c.cell.name.clone()).collect();
            let hierarchy = stem.starts_with("hierarchy");
            assert_eq!(
                names,
                if hierarchy {
                    expect(&hier_losses)
                } else {
                    expect(&["ce", "mse"])
                },
                "{stem}"
            );
            for c in &cells {
                let cfg = &c.cell.config;
                assert_eq!(
                    (cfg.data.name.as_str(), cfg.model.kind.as_str()),
                    (data, model)
                );
                // CPU scale: a subset and fewer epochs; full protocol: everything, 350 epochs.
                assert_eq!(cfg.data.per_class == 0, full, "{stem} per_class");
                assert_eq!(cfg.optim.epochs == 350, full, "{stem} epochs");
                let label = c
                    .cell
                    .name
                    .split('_')
                    .next()
                    .unwrap()
                    .trim_start_matches("loss=");
                let lr = if label == "mse" { 0.0184 } else { 0.0679 };
                assert_eq!(cfg.optim.lr, lr, "{}", c.cell.name);
                if hierarchy {
                    let tree = if label == "ce-flat" { "flat" } else { data };
                    assert_eq!(cfg.hierarchy, tree, "{}", c.cell.name);
                    let kind = label.split('-').next().unwrap();
                    assert_eq!(cfg.loss.kind.as_str(), kind, "{}", c.cell.name);
                    match kind {
                        "hxe" => assert_eq!(cfg.loss.alpha.to_string(), &label[4..]),
                        "soft" => assert_eq!(cfg.loss.beta.to_string(), &label[5..]),
                        _ => {}
                    }
                }
            }
        }
    }
    assert!(!out.exists());
}

#[test]
fn by_seed_runs_one_seed_of_every_condition_before_the_next() {
    let dir = scratch("by-seed");
    fs::create_dir_all(dir.join("base")).unwrap();
    fs::write(dir.join("base/mlp.toml"), BASE).unwrap();
    let grid_path = write_grid(&dir, "loss", LOSS_GRID);
    let (_, _, cells) = load_plan(&grid_path, Some(&dir.join("runs"))).unwrap();
    let names = |order: Vec<usize>| -> Vec<String> {
        order
            .into_iter()
            .map(|i| cells[i].cell.name.clone())
            .collect()
    };
    let all: Vec<usize> = (0..cells.len()).collect();
    // The grid's order: the loss varies slowest.
    assert_eq!(
        names(exec::run_order(&cells, all.clone(), None))[..3],
        ["loss=ce_seed=0", "loss=ce_seed=1", "loss=hxe-0.3_seed=0"]
    );
    assert_eq!(
        names(exec::run_order(&cells, all, Some("seed"))),
        [
            "loss=ce_seed=0",
            "loss=hxe-0.3_seed=0",
            "loss=mse_seed=0",
            "loss=ce_seed=1",
            "loss=hxe-0.3_seed=1",
            "loss=mse_seed=1",
        ]
    );
    // An unknown dimension is refused by the CLI, naming the grid's.
    let (ok, _, err) = nclab(&[
        "sweep",
        grid_path.to_str().unwrap(),
        "--by",
        "sed",
        "--out",
        dir.join("runs").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("--by sed: the grid has no such dimension (its dimensions: loss, seed)"),
        "{err}"
    );
}

/// Waits up to 60 s for `path` to exist.
fn wait_for(path: &Path) {
    for _ in 0..600 {
        if path.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{} never appeared", path.display());
}

/// Ctrl-C stops a training run at a whole epoch and says how to resume; a sweep passes the
/// signal on to its runs, waits for them, and refuses a second sweep on its folder while it
/// runs.
#[test]
fn interrupts_keep_runs_resumable_and_one_sweep_per_folder() {
    common::require_trainer();
    let dir = scratch("interrupt");
    // Long enough to be stopped: many fast epochs, analysed only at the first and last.
    let long = tiny_grid()
        .replace("epochs = 3", "epochs = 100000")
        .replace("[analysis]\nepochs = \"all\"", "[analysis]\nepochs = [1]");
    let cfg = dir.join("long.toml");
    fs::write(&cfg, long.replace("[axes]\nseed = [0, 1, 2]\n", "")).unwrap();
    let out = dir.join("run");
    let child = Command::new(env!("CARGO_BIN_EXE_nclab"))
        .args([
            "train",
            cfg.to_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&out.join("checkpoint.safetensors"));
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    let o = out.display();
    assert!(
        stderr.contains("stopped by SIGINT (Ctrl-C) in epoch"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "continue with: nclab train {o}/config.toml --out {o} --resume"
        )),
        "{stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "interrupted");

    // A sweep of the same long cell: a second sweep on the folder is refused while the first
    // runs; SIGINT to the first reaches its run, which stops resumable.
    let grid = write_grid(
        &dir,
        "long",
        &long.replace("seed = [0, 1, 2]", "seed = [0]"),
    );
    let sweep_out = dir.join("sweep");
    let sweep = Command::new(env!("CARGO_BIN_EXE_nclab"))
        .args([
            "sweep",
            grid.to_str().unwrap(),
            "--out",
            sweep_out.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&sweep_out.join("seed=0/checkpoint.safetensors"));
    let (ok, _, err) = nclab(&[
        "sweep",
        grid.to_str().unwrap(),
        "--out",
        sweep_out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("is in use by nclab sweep, pid"), "{err}");
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(sweep.id() as libc::pid_t, libc::SIGINT) };
    let output = sweep.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("the sweep was stopped by SIGINT (Ctrl-C)"),
        "{stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(sweep_out.join("seed=0/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["status"], "interrupted");
    let (_, plan, _) = nclab(&[
        "sweep",
        grid.to_str().unwrap(),
        "--out",
        sweep_out.to_str().unwrap(),
        "--dry-run",
    ]);
    assert!(plan.contains("(1 resume)"), "{plan}");
    fs::remove_dir_all(&dir).unwrap();
}

/// The full-data grids of docs/study.md: MNIST CE and MSE; Fashion-MNIST's ten conditions,
/// each a loss whose defining number is what the config's comments say it is. The soft-label
/// betas are checked by the mass they put on the true class, `q_t(t) = 1 / sum_b exp(-beta
/// dn(b, t))` averaged over the classes, computed here from the tree's distances.
#[test]
fn the_protocol_grids_expand_to_their_documented_conditions() {
    use nclab_core::hierarchy::Hierarchy;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/study/protocol");
    let out = std::env::temp_dir().join("nclab-sweep-test-protocol-never-written");
    let mass = |tree: &str, beta: f64| -> f64 {
        let h = Hierarchy::resolve(tree, Some(10)).unwrap();
        let dn = h.normalized_distance_matrix();
        (0..10)
            .map(|t| 1.0 / (0..10).map(|b| (-beta * dn[t * 10 + b]).exp()).sum::<f64>())
            .sum::<f64>()
            / 10.0
    };
    let (_, _, cells) = load_plan(&root.join("mnist-mlp.toml"), Some(&out)).unwrap();
    assert_eq!(cells.len(), 10);
    let (_, _, cells) = load_plan(&root.join("fashion-mnist-mlp.toml"), Some(&out)).unwrap();
    assert_eq!(cells.len(), 50);
    for c in &cells {
        let (cfg, name) = (&c.cell.config, c.cell.name.as_str());
        let label = name.split('_').next().unwrap().trim_start_matches("loss=");
        assert_eq!(
            (cfg.data.per_class, cfg.optim.epochs, cfg.hierarchy.as_str()),
            (0, 350, "fashion-mnist"),
            "{name}"
        );
        let lr = match label {
            "mse" => 0.0184,
            "hxe-0.6-lr" => 0.17526,
            _ => 0.0679,
        };
        assert_eq!(cfg.optim.lr, lr, "{name}");
        let own_tree = cfg.loss.hierarchy.as_deref();
        assert_eq!(
            own_tree,
            label.starts_with("ls-").then_some("flat"),
            "{name}"
        );
        if let Some(m) = label.strip_prefix("soft-m").or(label.strip_prefix("ls-m")) {
            let want: f64 = m.parse().unwrap();
            let got = mass(own_tree.unwrap_or("fashion-mnist"), cfg.loss.beta);
            assert!((got - want).abs() < 1e-6, "{name}: mass {got}");
        }
    }
    // ls-m0.5 is label smoothing: on the flat tree, mass 1 / (1 + 9 e^-beta), so beta = ln 9.
    assert!((mass("flat", 9f64.ln()) - 0.5).abs() < 1e-15);
    assert!(!out.exists());
}
