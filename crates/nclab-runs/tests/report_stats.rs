//! The statistics of `nclab report` end to end: per-grid families, Holm and Benjamini-Hochberg
//! adjusted p-values, stars from the adjusted p, the exact sign-flip test and the "no worse
//! than" bound, checked in comparisons.csv, summary.md and index.html against values computed
//! independently of the code under test.
//!
//! Independent values. With 3 seeds the paired t-test has df = 2, where Student's t has the
//! closed-form CDF F(t) = 1/2 + t / (2 sqrt(t^2 + 2)); so the two-sided p is
//! 1 - |t| / sqrt(t^2 + 2) = 1 - sqrt(t^2 / (t^2 + 2)), and the 0.975 quantile solves
//! t / sqrt(t^2 + 2) = 0.95: t = sqrt(2 * 0.95^2 / (1 - 0.95^2)) = 4.302652729749464.
//! The p-values below are these formulas evaluated in Python 3 (math.sqrt only; scipy was not
//! installed), Holm and BH adjusted by hand from their definitions (sorted p, step-down
//! max of (m - j + 1) p_(j); step-up min of m p_(j) / j), each step written out beside the
//! constant.

use std::path::{Path, PathBuf};

use nclab_runs::report::{generate, Options};
use nclab_testkit::{number_at as num, read_csv};

use nclab_testkit::scratch;

/// One finished run with final `nc1` and `top1_error` (an epoch-1 decoy row first).
fn write_run(dir: &Path, data: &str, loss: &str, seed: u64, nc1: f64, top1: f64) {
    std::fs::create_dir_all(dir).unwrap();
    let config = format!(
        "seed = {seed}\n[data]\nname = \"{data}\"\n[model]\nkind = \"mlp\"\n\
         [loss]\nkind = \"{loss}\"\n[optim]\nepochs = 2\n"
    );
    std::fs::write(dir.join("config.toml"), config).unwrap();
    let csv = format!("epoch,nc1,top1_error\n1,50,0.9\n2,{nc1},{top1}\n");
    std::fs::write(dir.join("metrics.csv"), csv).unwrap();
    let summary = format!("{{\"status\": \"finished\", \"seed\": {seed}}}");
    std::fs::write(dir.join("summary.json"), summary).unwrap();
}

/// Per seed 0, 1, 2: (nc1, top1_error) of each condition.
const CE: [(f64, f64); 3] = [(1.0, 0.30), (2.0, 0.32), (3.0, 0.31)];
/// Paired differences from CE: nc1 (-0.9, -1.0, -1.1), top-1 (+0.01, +0.03, +0.02).
const A: [(f64, f64); 3] = [(0.1, 0.31), (1.0, 0.35), (1.9, 0.33)];
/// Paired differences from CE: nc1 (-0.2, -0.4, -0.3), top-1 (+0.5, -0.1, +0.3).
const B: [(f64, f64); 3] = [(0.8, 0.80), (1.6, 0.22), (2.7, 0.61)];

/// A loss and its runs' (nc1, top1_error) by seed.
type Condition = (&'static str, [(f64, f64); 3]);

/// Grid 1 (dataset `syn-a`): CE, MSE (= A), HXE (= B); grid 2 (`syn-b`): CE, MSE (= A again).
fn two_grids(root: &Path) -> PathBuf {
    let runs = root.join("runs");
    let grids: [(&str, &[Condition]); 2] = [
        ("syn-a", &[("ce", CE), ("mse", A), ("hxe", B)]),
        ("syn-b", &[("ce", CE), ("mse", A)]),
    ];
    for (data, conds) in grids {
        for (loss, values) in conds {
            for (seed, (nc1, top1)) in values.iter().enumerate() {
                let dir = runs.join(format!("{data}/loss={loss}_seed={seed}"));
                write_run(&dir, data, loss, seed as u64, *nc1, *top1);
            }
        }
    }
    runs
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() < 1e-9, "{what}: {a} vs {b}");
}

// Raw two-sided paired-t p-values, p = 1 - sqrt(t^2 / (t^2 + 2)):
// A nc1: mean -1, sd 0.1, t^2 = 1 / (0.01 / 3) = 300.
const P_A_NC1: f64 = 0.003_316_758_722_356_927_3;
// A top-1: mean 0.02, sd 0.01, t^2 = 0.0004 / (0.0001 / 3) = 12.
const P_A_TOP1: f64 = 0.074_179_900_227_448_58;
// B nc1: mean -0.3, sd 0.1, t^2 = 0.09 / (0.01 / 3) = 27.
const P_B_NC1: f64 = 0.035_098_718_645_984_68;
// B top-1: mean 7/30, variance 7/75, t^2 = (49/900) / (7/225) = 1.75.
const P_B_TOP1: f64 = 0.316_869_948_936_026_8;

// Grid 1, m = 4, sorted A nc1 < B nc1 < A top-1 < B top-1.
// Holm: 4 * 0.0033168 = 0.013267; 3 * 0.035099 = 0.10530; 2 * 0.074180 = 0.14836;
// 1 * 0.31687 (each at least the one before).
const HOLM_1: [f64; 4] = [
    0.013_267_034_889_427_709,
    0.105_296_155_937_954_05,
    0.148_359_800_454_897_16,
    0.316_869_948_936_026_8,
];
// BH: from the top, 4/4 * 0.31687; 4/3 * 0.074180 = 0.098907; 4/2 * 0.035099 = 0.070197;
// 4/1 * 0.0033168 = 0.013267 (each at most the one after).
const BH_1: [f64; 4] = [
    0.013_267_034_889_427_709,
    0.070_197_437_291_969_37,
    0.098_906_533_636_598_11,
    0.316_869_948_936_026_8,
];
// Grid 2, m = 2 (the same differences as A): Holm 2 * 0.0033168 = 0.0066335, then
// max(1 * 0.074180, 0.0066335); BH 2/1 * 0.0033168, 2/2 * 0.074180. Pooled with grid 1
// (m = 6) Holm would give 0.019901 for nc1, so these values tell per-grid families apart.
const HOLM_2: [f64; 2] = [0.006_633_517_444_713_854_5, P_A_TOP1];
const BH_2: [f64; 2] = [0.006_633_517_444_713_854_5, P_A_TOP1];

#[test]
fn each_grid_is_its_own_family_with_holm_and_bh_from_hand_computed_values() {
    let root = scratch("families");
    let out = root.join("out");
    generate(&Options::new(vec![two_grids(&root)], out.clone())).unwrap();
    let comps = read_csv(&out.join("comparisons.csv"));
    let row = |data: &str, loss: &str, metric: &str| {
        comps
            .iter()
            .find(|r| {
                r["condition"].contains(&format!("data.name={data}"))
                    && r["condition"].contains(&format!("loss.kind={loss}"))
                    && r["metric"] == metric
            })
            .unwrap_or_else(|| panic!("no row {data} {loss} {metric}"))
    };
    let grid1 = [
        (row("syn-a", "mse", "nc1"), P_A_NC1, HOLM_1[0], BH_1[0], "*"),
        (row("syn-a", "hxe", "nc1"), P_B_NC1, HOLM_1[1], BH_1[1], ""),
        (
            row("syn-a", "mse", "top1_error"),
            P_A_TOP1,
            HOLM_1[2],
            BH_1[2],
            "",
        ),
        (
            row("syn-a", "hxe", "top1_error"),
            P_B_TOP1,
            HOLM_1[3],
            BH_1[3],
            "",
        ),
        (
            row("syn-b", "mse", "nc1"),
            P_A_NC1,
            HOLM_2[0],
            BH_2[0],
            "**",
        ),
        (
            row("syn-b", "mse", "top1_error"),
            P_A_TOP1,
            HOLM_2[1],
            BH_2[1],
            "",
        ),
    ];
    for (r, p, holm, bh, stars) in grid1 {
        let what = format!("{} {}", r["condition"], r["metric"]);
        assert_eq!(r["p_test"], "paired t", "{what}");
        assert_eq!(r["family"], "true", "{what}");
        close(num(r, "paired_p"), p, &what);
        close(num(r, "p"), p, &what);
        close(num(r, "p_holm"), holm, &what);
        close(num(r, "p_bh"), bh, &what);
        // Stars from BH, not from the raw p: B nc1 has raw p 0.035 but BH 0.070, no star;
        // A nc1 has raw p 0.0033 (two stars raw) but BH 0.013, one star.
        assert_eq!(r["stars_bh"], stars, "{what}");
    }
    // The baselines are not compared with themselves, nor grid 2 with grid 1's CE.
    assert_eq!(comps.len(), 6);
    assert!(comps.iter().all(|r| r["baseline"].contains("loss.kind=ce")));
}

/// The exact sign-flip p by enumeration, and the interval's bound on the side of harm.
#[test]
fn sign_flip_p_and_the_no_worse_bound_are_reported() {
    let root = scratch("signflip");
    let out = root.join("out");
    generate(&Options::new(vec![two_grids(&root)], out.clone())).unwrap();
    let comps = read_csv(&out.join("comparisons.csv"));
    let find = |loss: &str, metric: &str| {
        comps
            .iter()
            .find(|r| {
                r["condition"].contains("data.name=syn-a")
                    && r["condition"].contains(&format!("loss.kind={loss}"))
                    && r["metric"] == metric
            })
            .unwrap()
    };
    // A nc1, d = (-0.9, -1.0, -1.1): of the 8 sign patterns only all-minus and all-plus reach
    // |sum| = 3.0, p = 2/8.
    let a = find("mse", "nc1");
    assert_eq!(
        (num(a, "sign_flip_p"), a["sign_flip_patterns"].as_str()),
        (0.25, "8")
    );
    // B top-1, d = (0.5, -0.1, 0.3), |sum| = 0.7: |±0.5 ±0.1 ±0.3| is 0.9, 0.7, 0.3 or 0.1,
    // each for a pattern and its negation; 0.9 and 0.7 reach it: p = 4/8.
    let b = find("hxe", "top1_error");
    assert_eq!(num(b, "sign_flip_p"), 0.5);
    // A top-1: mean 0.02, se = 0.01 / sqrt(3), 95% interval 0.02 ± 4.302652729749464 se =
    // [-0.004841377117503, 0.044841377117503]. Lower error is better, so the bound on the
    // side of harm is the upper end: the data allow a rise of up to +0.0448.
    let a = find("mse", "top1_error");
    close(num(a, "paired_ci95_low"), -0.004_841_377_117_503_31, "low");
    close(
        num(a, "paired_ci95_high"),
        0.044_841_377_117_503_314,
        "high",
    );
    close(
        num(a, "harm_bound"),
        0.044_841_377_117_503_314,
        "harm bound",
    );
    // nc1 has no direction of harm: no bound.
    assert_eq!(find("mse", "nc1")["harm_bound"], "");

    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("no worse than +0.04484 (95% bound)"), "{md}");
    // The family sizes, one per grid (4 = 2 conditions x 2 metrics; 2 = 1 x 2).
    assert!(
        md.contains("per family: against ce name=syn-a: 4; against ce name=syn-b: 2"),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("no worse than +0.04484 (95% bound)"));
    // The decision table sorts in the page without any network access.
    assert!(html.contains("class=\"decision sortable\""));
    assert!(html.contains("<script>") && !html.contains("<script src"));
}

/// NC1 compared by factor: B's paired ratios to CE are 0.8 / 1, 1.6 / 2 and 2.7 / 3 = (0.8,
/// 0.8, 0.9), their geometric mean 0.576^(1/3) = 0.8320335292207617; their logs' mean m and sd
/// s (n - 1 divisor) give the interval exp(m -+ 4.302652729749464 s / sqrt 3) =
/// [0.7027113707572312, 0.9851552466008422] (Python 3, math.log / math.exp only).
#[test]
fn nc1_is_also_compared_by_factor() {
    let root = scratch("ratio");
    let out = root.join("out");
    generate(&Options::new(vec![two_grids(&root)], out.clone())).unwrap();
    let comps = read_csv(&out.join("comparisons.csv"));
    let b = comps
        .iter()
        .find(|r| {
            r["condition"].contains("data.name=syn-a")
                && r["condition"].contains("loss.kind=hxe")
                && r["metric"] == "nc1"
        })
        .unwrap();
    close(num(b, "paired_ratio"), 0.832_033_529_220_761_7, "ratio");
    close(
        num(b, "paired_ratio_ci95_low"),
        0.702_711_370_757_231_2,
        "low",
    );
    close(
        num(b, "paired_ratio_ci95_high"),
        0.985_155_246_600_842_2,
        "high",
    );
    // top-1 error is compared by difference only in the tables, but its ratio is in the CSV.
    assert!(comps
        .iter()
        .filter(|r| r["metric"] == "top1_error")
        .all(|r| !r["paired_ratio"].is_empty()));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("(×0.8320 [×0.7027, ×0.9852])"), "{md}");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("×0.8320 [×0.7027, ×0.9852]"));
}

// A contrast, MSE (= A) against HXE (= B) in grid 1, paired by seed:
// nc1 d = (-0.7, -0.6, -0.8): mean -0.7, sd 0.1, t^2 = 0.49 / (0.01 / 3) = 147.
const P_AB_NC1: f64 = 0.006_734_083_335_155_572;
// top-1 d = (-0.49, +0.13, -0.28): mean -0.64/3, variance 0.0994333..., t^2 = 1.37311...
const P_AB_TOP1: f64 = 0.361_974_821_808_448_87;

/// `--contrast A:B`: A against B paired by seed, the contrasts' family (m = 2: Holm 2 p_(1), then
/// max(p_(2), 2 p_(1)); BH min(2 p_(1), p_(2)), p_(2)), marked `contrast` in comparisons.csv,
/// named in summary.md's families; the CE comparisons keep their family and values. A name
/// that is no condition's, a condition against itself and a condition against its own
/// baseline are errors naming the option, with nothing written.
#[test]
fn a_contrast_is_its_own_family_beside_the_ce_comparisons() {
    let root = scratch("contrast");
    let runs = two_grids(&root);
    let first = root.join("first");
    generate(&Options::new(vec![runs.clone()], first.clone())).unwrap();
    let summary = read_csv(&first.join("summary.csv"));
    let name = |loss: &str| {
        summary
            .iter()
            .find(|r| {
                r["condition"].contains("data.name=syn-a")
                    && r["condition"].contains(&format!("loss.kind={loss}"))
            })
            .unwrap()["name"]
            .clone()
    };
    let (mse, hxe, ce) = (name("mse"), name("hxe"), name("ce"));
    let out = root.join("out");
    let mut options = Options::new(vec![runs.clone()], out.clone());
    options.contrasts = vec![format!("{mse}:{hxe}")];
    generate(&options).unwrap();
    let comps = read_csv(&out.join("comparisons.csv"));
    assert_eq!(comps.len(), 6 + 2);
    let contrasts: Vec<_> = comps.iter().filter(|r| r["contrast"] == "true").collect();
    assert_eq!(contrasts.len(), 2);
    for (r, p, holm, bh, diff) in [
        (contrasts[0], P_AB_NC1, 2.0 * P_AB_NC1, 2.0 * P_AB_NC1, -0.7),
        (contrasts[1], P_AB_TOP1, P_AB_TOP1, P_AB_TOP1, -0.64 / 3.0),
    ] {
        assert!(
            r["condition"].contains("loss.kind=mse") && r["baseline"].contains("loss.kind=hxe")
        );
        close(num(r, "paired_diff"), diff, "paired diff");
        close(num(r, "p"), p, "p");
        close(num(r, "p_holm"), holm, "holm");
        close(num(r, "p_bh"), bh, "bh");
    }
    // The CE comparisons are those of a report without the contrast, values and all.
    let without = read_csv(&first.join("comparisons.csv"));
    let kept: Vec<_> = comps.iter().filter(|r| r["contrast"] == "false").collect();
    assert_eq!(kept.len(), without.len());
    for (a, b) in kept.iter().zip(&without) {
        assert_eq!(a["p_bh"], b["p_bh"]);
        assert_eq!(a["paired_diff"], b["paired_diff"]);
    }
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("the contrasts: 2"), "{md}");
    assert!(md.contains(&format!("| {hxe} (contrast) | nc1 |")), "{md}");
    // Written the other way round, the contrast is the same family with the same p-values.
    let back = root.join("back");
    let mut options = Options::new(vec![runs.clone()], back.clone());
    options.contrasts = vec![format!("{hxe}:{mse}")];
    generate(&options).unwrap();
    let reversed = read_csv(&back.join("comparisons.csv"));
    let reversed: Vec<_> = reversed
        .iter()
        .filter(|r| r["contrast"] == "true")
        .collect();
    for (a, b) in contrasts.iter().zip(&reversed) {
        close(
            num(a, "paired_diff"),
            -num(b, "paired_diff"),
            "reversed diff",
        );
        close(num(a, "p_bh"), num(b, "p_bh"), "reversed BH");
    }
    // Bad contrasts.
    for (spec, wanted) in [
        (
            format!("{mse}:nothing"),
            "no split at a ':' names two conditions",
        ),
        (format!("{mse}:{mse}"), "a condition against itself"),
        (format!("{mse}:{ce}"), "one is the other's CE baseline"),
        (format!("{ce}:{mse}"), "one is the other's CE baseline"),
        (mse.clone(), "expected two condition names, A:B"),
    ] {
        let bad = root.join("bad");
        let mut options = Options::new(vec![runs.clone()], bad.clone());
        options.contrasts = vec![spec.clone()];
        let e = format!("{:#}", generate(&options).unwrap_err());
        assert!(
            e.contains(&format!("--contrast {spec:?}")) && e.contains(wanted),
            "{e}"
        );
        assert!(!bad.exists(), "{spec}: {} was written", bad.display());
    }
}
