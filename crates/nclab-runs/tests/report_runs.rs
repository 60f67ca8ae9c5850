//! `nclab report` over awkward sets of runs: NC folds over the spans of training (hand-computed),
//! diverged runs (listed, never rejected), runs that must not be pooled, duplicate seeds, and a
//! run-relative hierarchy file.

use std::collections::BTreeMap;
use std::path::Path;

use nclab_core::tensor::Tensor;
use nclab_runs::report::{generate, Options};
use nclab_testkit::{number_at as num, read_csv};

use nclab_testkit::scratch;

/// A 9-epoch run with the step schedule (decays at epochs 4 and 7) and analyses at epochs
/// 1, 2, 3, 5, 6, 8, 9; `nc1` one value per analysis epoch.
fn write_run(dir: &Path, data: &str, seed: u64, nc1: [f64; 7], stable_tpt: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let config = format!(
        "seed = {seed}\n[data]\nname = \"{data}\"\n[model]\nkind = \"mlp\"\n[loss]\n\
         kind = \"ce\"\n[optim]\nepochs = 9\nschedule = \"step\"\n"
    );
    std::fs::write(dir.join("config.toml"), config).unwrap();
    let mut csv = String::from("epoch,train_acc,nc1\n");
    for (e, v) in [1, 2, 3, 5, 6, 8, 9].iter().zip(nc1) {
        csv.push_str(&format!("{e},{},{v}\n", if *e >= 5 { 1.0 } else { 0.9 }));
    }
    std::fs::write(dir.join("metrics.csv"), csv).unwrap();
    // Wall time 10 + 2 seed seconds, 10 (seed + 1) % of it outside the training steps.
    let summary = format!(
        "{{\"status\": \"finished\", \"seed\": {seed}, \"tpt_epoch\": 2, \
         \"stable_tpt_epoch\": {stable_tpt}, \"wall_time_s\": {}, \"overhead_share\": {}}}",
        10 + 2 * seed,
        0.1 * (seed + 1) as f64
    );
    std::fs::write(dir.join("summary.json"), summary).unwrap();
}

const NC1_S0: [f64; 7] = [100.0, 50.0, 20.0, 10.0, 8.0, 2.0, 1.6];
const NC1_S1: [f64; 7] = [200.0, 90.0, 40.0, 25.0, 10.0, 4.0, 2.0];

/// A run that diverged in epoch 1: `metrics.csv` has its header only.
fn write_diverged(dir: &Path, seed: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let config = format!(
        "seed = {seed}\n[data]\nname = \"syn\"\n[model]\nkind = \"mlp\"\n[loss]\n\
         kind = \"ce\"\n[optim]\nepochs = 9\nschedule = \"step\"\n"
    );
    std::fs::write(dir.join("config.toml"), config).unwrap();
    std::fs::write(dir.join("metrics.csv"), "epoch,train_acc,nc1\n").unwrap();
    let summary = format!(
        "{{\"status\": \"diverged\", \"seed\": {seed}, \"diverged_at_epoch\": 1, \
         \"tpt_epoch\": null}}"
    );
    std::fs::write(dir.join("summary.json"), summary).unwrap();
}

/// Folds per run, then the mean over the two runs:
/// * total (epoch 1 -> 9): 100 / 1.6 = 62.5 and 200 / 2 = 100, mean 81.25;
/// * after the TPT (epoch 2 in both: 2 -> 9): 50 / 1.6 = 31.25 and 90 / 2 = 45, mean 38.125;
/// * after the stable TPT (epochs 5 and 4, both first analysed at 5; 5 -> 9): 10 / 1.6 = 6.25
///   and 25 / 2 = 12.5, mean 9.375;
/// * across decay 1 (at epoch 4: last analysis before it 3 -> last of its phase, epochs 4-6,
///   6): 20 / 8 = 2.5 and 40 / 10 = 4, mean 3.25;
/// * across decay 2 (at 7: 6 -> 9): 8 / 1.6 = 5 and 10 / 2 = 5, mean 5.
///
/// The runs of seeds 2 and 3 diverged in epoch 1: listed, not averaged, not an error.
#[test]
fn folds_over_each_span_and_a_run_diverged_in_epoch_1() {
    let root = scratch("folds");
    let runs = root.join("runs");
    write_run(&runs.join("s0"), "syn", 0, NC1_S0, 5);
    write_run(&runs.join("s1"), "syn", 1, NC1_S1, 4);
    write_diverged(&runs.join("s2"), 2);
    // Seed 3 diverged before writing metrics.csv at all.
    write_diverged(&runs.join("s3"), 3);
    std::fs::remove_file(runs.join("s3/metrics.csv")).unwrap();
    let out = root.join("out");
    let outcome = generate(&Options::new(vec![runs.clone()], out.clone())).unwrap();
    assert_eq!(outcome.runs, 4);
    let rows = read_csv(&out.join("folds.csv"));
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["runs"], "2");
    assert_eq!(num(r, "stable_tpt_epoch_mean"), 4.5);
    for (span, from, to, fold) in [
        ("total", 1.0, 9.0, 81.25),
        ("after_tpt", 2.0, 9.0, 38.125),
        ("after_stable_tpt", 5.0, 9.0, 9.375),
        ("decay1", 3.0, 6.0, 3.25),
        ("decay2", 6.0, 9.0, 5.0),
    ] {
        assert_eq!(num(r, &format!("{span}_from_epoch")), from, "{span}");
        assert_eq!(num(r, &format!("{span}_to_epoch")), to, "{span}");
        let got = num(r, &format!("nc1_fold_{span}"));
        assert!((got - fold).abs() < 1e-12, "{span}: {got}");
        assert_eq!(r[&format!("nc1_fold_{span}_n")], "2");
    }
    // The diverged run: a warning, a line in summary.md and the page, counted apart.
    let s2 = runs.join("s2").display().to_string();
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.contains(&s2) && w.contains(": diverged at epoch 1; listed")),
        "{:?}",
        outcome.warnings
    );
    let summary = read_csv(&out.join("summary.csv"));
    assert_eq!(
        (summary[0]["runs"].as_str(), summary[0]["diverged"].as_str()),
        ("2", "2")
    );
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("## Diverged runs"), "{md}");
    assert!(md.contains(&format!("`{s2}`, diverged at epoch 1")), "{md}");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<b>diverged</b> at epoch 1"));
    // Start of the terminal phase: TPT at epoch 2 in both runs, stable at 5 and 4 (mean 4.5),
    // both before the first decay (epoch 4); wall 10 and 12 s (mean 11), outside the steps
    // 10% and 20% (mean 15%).
    let row = "| loss.kind=ce | 2 | 2 | 4.5 (4–5) | 2 of 2 | 11 | 15.0% |";
    assert!(md.contains(row), "{md}");
    assert!(html.contains("<td>4.5 (4–5)</td><td>2 of 2</td><td>11</td><td>15.0%</td>"));

    // Seed 1's TPT (and stable TPT) at its last epoch: a span from epoch 9 to epoch 9 has no
    // fold (not 1x), so after_tpt is seed 0's alone, 31.25.
    let path = runs.join("s1/summary.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let late = text.replace(
        "\"tpt_epoch\": 2, \"stable_tpt_epoch\": 4",
        "\"tpt_epoch\": 9, \"stable_tpt_epoch\": 9",
    );
    assert_ne!(late, text);
    std::fs::write(&path, late).unwrap();
    generate(&Options::new(vec![runs.clone()], out.clone())).unwrap();
    let r = &read_csv(&out.join("folds.csv"))[0];
    assert_eq!(r["nc1_fold_after_tpt_n"], "1");
    assert!((num(r, "nc1_fold_after_tpt") - 31.25).abs() < 1e-12);

    // Without `tpt_epoch` in summary.json (an older run), the first analysis epoch with zero
    // training error, 5: seed 1 folds 25 / 2 = 12.5, the mean (31.25 + 12.5) / 2 = 21.875.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"tpt_epoch\": 9,", "")).unwrap();
    generate(&Options::new(vec![runs.clone()], out.clone())).unwrap();
    let r = &read_csv(&out.join("folds.csv"))[0];
    assert_eq!(r["nc1_fold_after_tpt_n"], "2");
    assert!((num(r, "nc1_fold_after_tpt") - 21.875).abs() < 1e-12);
}

/// Runs of two datasets grouped by the loss alone: refused, naming the key and the runs;
/// pooled with a warning under --allow-mixed. A run copied twice: a warning naming both.
#[test]
fn mixed_configs_are_refused_and_duplicate_seeds_warned() {
    let root = scratch("mixed");
    let runs = root.join("runs");
    write_run(&runs.join("a0"), "syn-a", 0, NC1_S0, 5);
    write_run(&runs.join("b0"), "syn-b", 0, NC1_S1, 4);
    let out = root.join("out");
    let mut o = Options::new(vec![runs.clone()], out.clone());
    o.group_by = Some("loss.kind".into());
    let err = format!("{:#}", generate(&o).unwrap_err());
    let (a0, b0) = (runs.join("a0"), runs.join("b0"));
    let expect = format!(
        "data.name (syn-a: {}; syn-b: {})",
        a0.display(),
        b0.display()
    );
    assert!(err.contains(&expect), "{err}");
    assert!(err.contains("--allow-mixed"), "{err}");
    assert!(!out.join("index.html").exists());

    o.allow_mixed = true;
    let outcome = generate(&o).unwrap();
    assert!(outcome
        .warnings
        .iter()
        .any(|w| w.contains(&expect) && w.contains("pooled as asked by --allow-mixed")));
    // Both runs have seed 0: a duplicate within the pooled condition.
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.contains("has seed 0 in 2 runs")),
        "{:?}",
        outcome.warnings
    );

    // Default grouping: a run copied under another name is one condition with seed 0 twice.
    let root = scratch("duplicate");
    let runs = root.join("runs");
    write_run(&runs.join("a0"), "syn", 0, NC1_S0, 5);
    write_run(&runs.join("copy-of-a0"), "syn", 0, NC1_S0, 5);
    let outcome = generate(&Options::new(vec![runs.clone()], root.join("out"))).unwrap();
    let w = outcome.warnings.join("\n");
    assert!(w.contains("has seed 0 in 2 runs"), "{w}");
    assert!(
        w.contains(&runs.join("copy-of-a0").display().to_string()),
        "{w}"
    );
}

/// `hierarchy = "hierarchy.json"` in config.toml names the file beside it, whatever the
/// working directory: the final-geometry figure then draws the hierarchy target.
#[test]
fn a_relative_hierarchy_is_read_from_the_run_directory() {
    let root = scratch("hierarchy");
    let dir = root.join("runs/r0");
    write_run(&dir, "syn", 0, NC1_S0, 5);
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let config = format!("hierarchy = \"hierarchy.json\"\n{config}");
    std::fs::write(dir.join("config.toml"), config).unwrap();
    std::fs::write(
        dir.join("hierarchy.json"),
        r#"{"name": "root", "children": [{"name": "x", "children": [{"name": "a"}, {"name": "b"}]}, {"name": "c"}]}"#,
    )
    .unwrap();
    let f = Tensor::from_f32(
        vec![6, 2],
        &[
            1.0, 0.1, 1.0, -0.1, -0.5, 0.9, -0.5, 0.8, -0.5, -0.9, -0.4, -0.9,
        ],
    )
    .unwrap();
    let y = Tensor::from_i64(vec![6], &[0, 0, 1, 1, 2, 2]).unwrap();
    nclab_core::io::safetensors::write(
        &dir.join("final.safetensors"),
        &[("train.features", &f), ("train.labels", &y)],
        &BTreeMap::new(),
    )
    .unwrap();
    assert!(
        !Path::new("hierarchy.json").exists(),
        "the test needs another cwd"
    );
    let out = root.join("out");
    let outcome = generate(&Options::new(vec![root.join("runs")], out.clone())).unwrap();
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("and the hierarchy target T_ij"), "{html}");
    // Without the file the spec is unusable, and said so.
    std::fs::remove_file(dir.join("hierarchy.json")).unwrap();
    let outcome = generate(&Options::new(vec![root.join("runs")], out)).unwrap();
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.contains("hierarchy 'hierarchy.json' not usable")),
        "{:?}",
        outcome.warnings
    );
}

/// GNC2 and UNC3 columns: a Riesz energy of 1e201 (its square overflows f64) and empty cells
/// (undefined values) in the tables and on log axes; the negative log-energy mean on a linear
/// axis.
#[test]
fn gnc2_and_unc3_with_huge_and_missing_values() {
    let root = scratch("gnc2");
    let runs = root.join("runs");
    // Final rows: Riesz 1e201, 3e201 and empty (seed 2); unc3 0.01, 0.03, 0.05.
    for (seed, riesz, unc3) in [(0, "1e201", 0.01), (1, "3e201", 0.03), (2, "", 0.05)] {
        let dir = runs.join(format!("s{seed}"));
        write_run(&dir, "syn", seed, NC1_S0, 5);
        let csv = format!(
            "epoch,nc1,gnc2_log_mean,gnc2_riesz_var,unc3\n1,5,-0.28,,0.2\n\
             2,4,-0.30,5e250,0.1\n3,2,-0.33,{riesz},{unc3}\n"
        );
        std::fs::write(dir.join("metrics.csv"), csv).unwrap();
    }
    let out = root.join("out");
    generate(&Options::new(vec![runs], out.clone())).unwrap();
    let rows = read_csv(&out.join("summary.csv"));
    let r = &rows[0];
    // mean(1e201, 3e201) = 2e201; sd = sqrt(2) 1e201 (n = 2: the empty cell is left out).
    assert_eq!(r["gnc2_riesz_var_n"], "2");
    assert!((num(r, "gnc2_riesz_var_mean") / 2e201 - 1.0).abs() < 1e-15);
    let sd = num(r, "gnc2_riesz_var_sd");
    assert!(
        (sd / (std::f64::consts::SQRT_2 * 1e201) - 1.0).abs() < 1e-15,
        "{sd}"
    );
    // unc3: mean 0.03, sd sqrt((0.02^2 + 0 + 0.02^2) / 2) = 0.02.
    assert!((num(r, "unc3_mean") - 0.03).abs() < 1e-15);
    assert!((num(r, "unc3_sd") - 0.02).abs() < 1e-15);
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    // The tables show GNC2 by its log kernel; the Riesz variance is in summary.csv only.
    assert!(
        md.contains(" unc3 |") && !md.contains("gnc2_riesz_var"),
        "{md}"
    );
    assert!(md.contains(" 0.03000 ± 0.02000 |"), "{md}");
    let svg = |m: &str| std::fs::read_to_string(out.join(format!("curve-{m}.svg"))).unwrap();
    assert!(svg("gnc2_riesz_var").contains("log scale"));
    assert!(svg("unc3").contains("log scale"));
    assert!(!svg("gnc2_log_mean").contains("log scale"));
    let panels = std::fs::read_to_string(out.join("panels.svg")).unwrap();
    assert!(panels.contains("UNC3: uniform duality"));
}

/// metrics_layers.csv: NC1 against depth (one figure) and each layer's NC1 against the epoch
/// (one figure per condition), the mean over the runs.
#[test]
fn layerwise_nc1_against_depth_and_against_epoch() {
    let root = scratch("layers");
    let runs = root.join("runs");
    // Seed 0 and 1: NC1 of block1 at epoch 3 is 0.4 and 0.6 (mean 0.5), of block2 0.1 and 0.3
    // (mean 0.2).
    for (seed, b1, b2) in [(0, 0.4, 0.1), (1, 0.6, 0.3)] {
        let dir = runs.join(format!("s{seed}"));
        write_run(&dir, "syn", seed, NC1_S0, 5);
        let csv = format!(
            "epoch,layer,depth,nc1,cdnv\n1,block1,1,4,1\n1,block2,2,3,1\n\
             3,block1,1,{b1},1\n3,block2,2,{b2},\n"
        );
        std::fs::write(dir.join("metrics_layers.csv"), csv).unwrap();
    }
    let out = root.join("out");
    let outcome = generate(&Options::new(vec![runs], out.clone())).unwrap();
    for f in [
        "layers-nc1.svg",
        "layers-nc1-epochs-c1.svg",
        "layers-nc1-epochs-c1.png",
    ] {
        assert!(
            outcome.files.iter().any(|g| g == f),
            "{f}: {:?}",
            outcome.files
        );
    }
    let svg = std::fs::read_to_string(out.join("layers-nc1-epochs-c1.svg")).unwrap();
    assert!(svg.contains("block1 (depth 1)") && svg.contains("block2 (depth 2)"));
    assert!(svg.contains("log scale"));
    // The hover value of each mean point.
    for t in [
        "block1 (depth 1): epoch 3, nc1 = 0.5000 (mean of 2 runs; 0.4000 to 0.6000)",
        "block2 (depth 2): epoch 3, nc1 = 0.2000 (mean of 2 runs; 0.1000 to 0.3000)",
    ] {
        assert!(svg.contains(t), "{t} not in {svg}");
    }
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("one line per layer (block1, block2)"));
}

/// A report that fails while writing (here: a run's `final.safetensors` is not one) leaves
/// no trace: no staging folder, and no `--out` folder (nor parents of it) when the report
/// created it; one that existed stays, as it was. The error says how to go on without the run.
#[test]
fn a_failed_report_leaves_nothing_behind() {
    let root = scratch("report-failed");
    let runs = root.join("runs");
    write_run(&runs.join("s0"), "syn", 0, NC1_S0, 5);
    std::fs::write(runs.join("s0").join("final.safetensors"), [0xff; 100]).unwrap();
    let out = root.join("out");
    let e = format!(
        "{:#}",
        generate(&Options::new(vec![runs.clone()], out.clone())).unwrap_err()
    );
    assert!(
        e.contains("use --skip-bad to skip it") && e.contains("final.safetensors"),
        "{e}"
    );
    assert!(!out.exists(), "{e}");
    // Parents that the report had to create go too.
    let nested = root.join("new").join("deeper").join("out");
    assert!(generate(&Options::new(vec![runs.clone()], nested)).is_err());
    assert!(!root.join("new").exists());
    let kept = root.join("kept");
    std::fs::create_dir(&kept).unwrap();
    std::fs::write(kept.join("notes.txt"), "mine").unwrap();
    assert!(generate(&Options::new(vec![runs], kept.clone())).is_err());
    let left: Vec<_> = std::fs::read_dir(&kept)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["notes.txt"]);
}

/// `--out` whose last name the system refuses (too long): the parents made before the
/// refusal are removed again.
#[test]
fn an_out_folder_that_cannot_be_made_leaves_no_parents() {
    let root = scratch("report-long-out");
    let runs = root.join("runs");
    write_run(&runs.join("s0"), "syn", 0, NC1_S0, 5);
    let out = root.join("new").join("deeper").join("x".repeat(300));
    let e = format!(
        "{:#}",
        generate(&Options::new(vec![runs], out)).unwrap_err()
    );
    assert!(e.contains("cannot create directory"), "{e}");
    assert!(!root.join("new").exists(), "{e}");
}

/// `--out` must be a folder of its own: not a run directory, not a folder of other files.
/// A report into an earlier report's folder replaces it whole: files of the earlier report
/// that the new one does not write (a metric no longer there) go (found by a hostile trial:
/// `--out /` filled the root folder, `--out RUN` a run directory, and stale figures stayed).
#[test]
fn the_out_folder_is_a_report_of_its_own() {
    let root = scratch("report-out-folder");
    let runs = root.join("runs");
    write_run(&runs.join("s0"), "syn", 0, NC1_S0, 5);
    write_run(&runs.join("s1"), "syn", 1, NC1_S1, 5);
    let e = format!(
        "{:#}",
        generate(&Options::new(vec![runs.clone()], runs.join("s0"))).unwrap_err()
    );
    assert!(
        e.contains("is a run directory (it holds config.toml)"),
        "{e}"
    );
    let home = root.join("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::write(home.join("notes.txt"), "mine").unwrap();
    let e = format!(
        "{:#}",
        generate(&Options::new(vec![runs.clone()], home.clone())).unwrap_err()
    );
    assert!(e.contains("holds files that no report wrote"), "{e}");
    assert_eq!(std::fs::read_dir(&home).unwrap().count(), 1);
    // A folder holding only the staging folder of a killed report is taken as empty (no
    // process has the largest id)...
    let killed = root.join("killed");
    std::fs::create_dir_all(killed.join(".nclab-report-staging-4294967295")).unwrap();
    generate(&Options::new(vec![runs.clone()], killed.clone())).unwrap();
    assert!(killed.join("index.html").is_file());
    // ...but one of a running report (this process stands in for it) is not.
    if cfg!(target_os = "linux") {
        let busy = root.join("busy");
        let pid = std::process::id();
        std::fs::create_dir_all(busy.join(format!(".nclab-report-staging-{pid}"))).unwrap();
        let e = format!(
            "{:#}",
            generate(&Options::new(vec![runs.clone()], busy.clone())).unwrap_err()
        );
        assert!(
            e.contains(&format!(
                "another report (process {pid}) is being written into it"
            )),
            "{e}"
        );
    }

    let out = root.join("out");
    let first = generate(&Options::new(vec![runs.clone()], out.clone())).unwrap();
    assert!(first.files.iter().any(|f| f.contains("nc1")));
    // The same runs without their nc1 column: the nc1 figures of the first report go.
    for s in ["s0", "s1"] {
        let p = runs.join(s).join("metrics.csv");
        let text: String = std::fs::read_to_string(&p)
            .unwrap()
            .lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
            .collect();
        std::fs::write(p, text).unwrap();
    }
    let second = generate(&Options::new(vec![runs], out.clone())).unwrap();
    let mut left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f != ".nclab-report")
        .collect();
    left.sort();
    let mut wanted = second.files.clone();
    wanted.sort();
    assert_eq!(left, wanted);
    assert!(!left.iter().any(|f| f.contains("nc1")), "{left:?}");
}

/// Values near `f64::MAX` are left out of the figures (their padded axis overflowed and
/// plotters looped for ever); the report finishes and the tables keep the value.
#[test]
fn a_value_near_the_largest_float_does_not_hang_the_figures() {
    let root = scratch("report-huge-value");
    let runs = root.join("runs");
    let mut nc1 = NC1_S1;
    nc1[6] = f64::MAX;
    write_run(&runs.join("s0"), "syn", 0, NC1_S0, 5);
    write_run(&runs.join("s1"), "syn", 1, nc1, 5);
    let mut big = NC1_S0;
    big[5] = -1e308;
    write_run(&runs.join("s2"), "syn", 2, big, 5);
    let out = root.join("out");
    let outcome = generate(&Options::new(vec![runs], out.clone())).unwrap();
    assert!(outcome.files.iter().any(|f| f == "index.html"));
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(summary.contains("5.992310449541053e307"), "{summary}");
}

/// A run written before `analysis.layers` existed (no key) is in one condition with a run
/// that gives it its default `[]`, not in a condition of its own; a run with layers tapped is
/// a condition apart.
#[test]
fn a_key_added_later_means_its_default_when_absent() {
    use nclab_runs::report::{conditions, runs::load_run};
    let root = scratch("report-added-keys");
    write_run(&root.join("old"), "syn", 0, NC1_S0, 5);
    write_run(&root.join("new"), "syn", 1, NC1_S1, 5);
    write_run(&root.join("tapped"), "syn", 2, NC1_S1, 5);
    let append = |dir: &str, text: &str| {
        let p = root.join(dir).join("config.toml");
        let config = std::fs::read_to_string(&p).unwrap() + text;
        std::fs::write(p, config).unwrap();
    };
    append("new", "[analysis]\nlayers = []\n");
    append("tapped", "[analysis]\nlayers = [\"hidden.0\"]\n");
    let runs: Vec<_> = ["old", "new", "tapped"]
        .iter()
        .map(|d| load_run(&root.join(d)).unwrap())
        .collect();
    let groups = conditions::group(&runs, None).unwrap();
    let mut members: Vec<Vec<usize>> = groups.iter().map(|c| c.runs.clone()).collect();
    members.sort();
    assert_eq!(members, [vec![0, 1], vec![2]]);
}

/// Writes runs `name` (seed 0 and 1) whose `[loss]` table is `loss`, reports them (grouped by
/// `group_by`), and returns the conditions' labels and, per condition with a baseline, the
/// baseline's label.
fn report_of(
    root: &Path,
    runs: &[(&str, &str)],
    group_by: Option<&str>,
) -> (Vec<String>, BTreeMap<String, String>) {
    let dir = root.join("runs");
    let _ = std::fs::remove_dir_all(&dir);
    for (name, loss) in runs {
        for seed in [0, 1] {
            let run = dir.join(format!("{name}-{seed}"));
            write_run(&run, "syn", seed, NC1_S0, 5);
            let path = run.join("config.toml");
            let text = std::fs::read_to_string(&path)
                .unwrap()
                .replace("kind = \"ce\"\n", loss);
            std::fs::write(path, text).unwrap();
        }
    }
    let out = root.join("out");
    let _ = std::fs::remove_dir_all(&out);
    let mut o = Options::new(vec![dir], out.clone());
    o.group_by = group_by.map(str::to_string);
    generate(&o).unwrap();
    let mut labels: Vec<String> = read_csv(&out.join("summary.csv"))
        .iter()
        .map(|r| r["condition"].clone())
        .collect();
    labels.dedup();
    let baselines = read_csv(&out.join("comparisons.csv"))
        .iter()
        .filter(|r| r["metric"] == "nc1")
        .map(|r| (r["condition"].clone(), r["baseline"].clone()))
        .collect();
    (labels, baselines)
}

fn conditions_of(root: &Path, runs: &[(&str, &str)], group_by: Option<&str>) -> usize {
    report_of(root, runs, group_by).0.len()
}

/// `nclab train` writes every loss's parameters (an HXE run's `loss.kappa`, `loss.weight`,
/// `loss.beta` at their defaults), a Python Tracker only its own loss's: a loss parameter
/// that a run's config lacks counts as the default, so the two pool. Parameters given, read
/// or not, still tell conditions apart.
#[test]
fn unread_loss_parameters_a_run_lacks_count_as_the_defaults() {
    let root = scratch("unread-loss-keys");
    let hxe = "kind = \"hxe\"\nalpha = 0.5\nnormalize = \"none\"\n";
    let train_hxe = format!("{hxe}kappa = 1.0\nweight = 1.0\nbeta = 10.0\n");
    let tracker_hxe = hxe.to_string();
    let by_loss = Some("loss");
    assert_eq!(
        conditions_of(
            &root,
            &[("train", &train_hxe), ("tracker", &tracker_hxe)],
            by_loss
        ),
        1
    );
    // Another alpha, or an unread parameter away from its default: apart.
    let other_alpha = tracker_hxe.replace("0.5", "0.1");
    assert_eq!(
        conditions_of(
            &root,
            &[("train", &train_hxe), ("tracker", &other_alpha)],
            by_loss
        ),
        2
    );
    let other_beta = train_hxe.replace("beta = 10.0", "beta = 4.0");
    assert_eq!(
        conditions_of(
            &root,
            &[("train", &other_beta), ("tracker", &tracker_hxe)],
            by_loss
        ),
        2
    );

    // A grid with loss.alpha as an axis: the CE cells stay two conditions, labelled by the
    // alpha that tells them apart, each the baseline of the HXE cell with its alpha.
    let cell = |kind: &str, alpha: &str| format!("kind = \"{kind}\"\nalpha = {alpha}\n");
    let (labels, baselines) = report_of(
        &root,
        &[
            ("ce1", &cell("ce", "0.1")),
            ("ce5", &cell("ce", "0.5")),
            ("hxe1", &cell("hxe", "0.1")),
            ("hxe5", &cell("hxe", "0.5")),
        ],
        None,
    );
    assert_eq!(
        labels,
        [
            "loss.alpha=0.1, loss.kind=ce",
            "loss.alpha=0.5, loss.kind=ce",
            "loss.alpha=0.1, loss.kind=hxe",
            "loss.alpha=0.5, loss.kind=hxe"
        ]
    );
    assert_eq!(
        baselines["loss.alpha=0.1, loss.kind=hxe"],
        "loss.alpha=0.1, loss.kind=ce"
    );
    assert_eq!(
        baselines["loss.alpha=0.5, loss.kind=hxe"],
        "loss.alpha=0.5, loss.kind=ce"
    );

    // A key nclab train never writes (a Tracker's label_smoothing) defines a condition and is
    // shown; plain CE stays the baseline. A loss nclab does not know gets no defaults.
    let (labels, baselines) = report_of(
        &root,
        &[
            ("ce", "kind = \"ce\"\n"),
            ("smooth", "kind = \"ce\"\nlabel_smoothing = 0.3\n"),
            ("hxe", &tracker_hxe),
            ("focal", "kind = \"FocalLoss\"\n"),
        ],
        by_loss,
    );
    assert_eq!(
        labels,
        [
            "loss.kind=ce, loss.label_smoothing=-",
            "loss.kind=FocalLoss, loss.label_smoothing=-",
            "loss.kind=ce, loss.label_smoothing=0.3",
            "loss.alpha=0.5, loss.kind=hxe, loss.label_smoothing=-"
        ]
    );
    let plain = "loss.kind=ce, loss.label_smoothing=-";
    assert_eq!(
        baselines["loss.alpha=0.5, loss.kind=hxe, loss.label_smoothing=-"],
        plain
    );
    // The plainest CE is the baseline by its entries, not by how its label sorts: a variant
    // whose value sorts before `-` (here `+x`) is still passed over.
    let (_, baselines) = report_of(
        &root,
        &[
            ("ce", "kind = \"ce\"\n"),
            ("noted", "kind = \"ce\"\nnote = \"+x\"\n"),
            ("hxe", &tracker_hxe),
        ],
        by_loss,
    );
    assert_eq!(
        baselines["loss.alpha=0.5, loss.kind=hxe, loss.note=-"],
        "loss.kind=ce, loss.note=-"
    );
    // Two conditions of an unknown loss, one recording an alpha of its own and one not, are
    // told apart in their labels (a missing parameter is no difference only across kinds).
    let (labels, _) = report_of(
        &root,
        &[
            ("f1", "kind = \"focal\"\nalpha = 0.1\n"),
            ("f2", "kind = \"focal\"\n"),
            ("ce", "kind = \"ce\"\nalpha = 0.1\n"),
        ],
        by_loss,
    );
    let mut sorted = labels.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "loss.alpha=-, loss.kind=focal",
            "loss.alpha=0.1, loss.kind=focal",
            "loss.kind=ce"
        ],
        "{labels:?}"
    );
    std::fs::remove_dir_all(root).unwrap();
}

/// One condition is labelled by what its runs share: their `name`, else their loss, never the
/// first run's name (a Tracker names each run after its folder: `hxe-s0` labelled three seeds).
#[test]
fn a_single_condition_is_labelled_by_what_its_runs_share() {
    use nclab_runs::report::{conditions, runs::load_run};
    let root = scratch("single-label");
    let label = |names: [&str; 2]| {
        let runs: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(seed, name)| {
                let dir = root.join(format!("{name}-{seed}"));
                write_run(&dir, "syn", seed as u64, NC1_S0, 5);
                let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
                std::fs::write(
                    dir.join("config.toml"),
                    format!("name = \"{name}\"\n{config}"),
                )
                .unwrap();
                load_run(&dir).unwrap()
            })
            .collect();
        let groups = conditions::group(&runs, None).unwrap();
        assert_eq!(groups.len(), 1);
        groups[0].label.clone()
    };
    assert_eq!(label(["mnist-ce", "mnist-ce"]), "mnist-ce");
    assert_eq!(label(["hxe-s0", "hxe-s1"]), "loss.kind=ce");
}
