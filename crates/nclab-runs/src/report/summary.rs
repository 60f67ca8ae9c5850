//! The summary tables: each condition's metrics at the final epoch (mean and sd over seeds), and
//! each condition against its CE baseline: the difference with its 95% interval (paired by seed
//! where the runs pair), the paired t-test and the exact sign-flip test of the paired
//! differences, Welch's t-test and the Mann-Whitney U test of the unpaired values, and the
//! p-values adjusted for the family of headline comparisons (Holm, Benjamini-Hochberg).

use nclab_core::stats::{self, MannWhitney, PairedDifference, PairedRatio, SignFlip, WelchTest};

use crate::{csv_text, numbers};

use super::conditions::Condition;
use super::floors::{self, Floors};
use super::folds::FoldTable;
use super::runs::{Run, SUMMARY_VALUES};
use super::test_images::{self, TestImageTerm};

/// Metrics shown in the Markdown and HTML tables, in this order (all metrics go to the CSV
/// files); their curves also come first in index.html. Papyan et al.'s NC3 (`self_duality`)
/// stands beside nclab's `nc3`, and the held-out NC1 beside the training one; neither is in
/// the family of [`HEADLINE_METRICS`], which the study fixed before it saw them. GNC2 is shown by its log kernel: the
/// Riesz kernel's variance spans hundreds of decades at penultimate widths of hundreds
/// (docs/metrics.md), so it stays in the CSV files and its curve.
pub const KEY_METRICS: &[&str] = &[
    "nc1",
    "nc2",
    "nc3",
    "self_duality",
    "nc4",
    "heldout_nc1",
    "tpt_epoch",
    "nc2_tree",
    "mean_tree_correlation",
    "nc1_coarse",
    "gnc2_log_var",
    "unc3",
    "train_loss",
    "train_acc",
    "test_acc",
    "top1_error",
    "top5_error",
    "mistake_severity",
    "hdist@1",
    "hdist@5",
];

/// The headline metrics: every condition's comparison with its baseline on these (the ones its
/// runs have) makes the family whose p-values are adjusted for multiplicity, and the decision
/// table of index.html.
pub const HEADLINE_METRICS: &[&str] = &[
    "nc1",
    "nc2",
    "nc3",
    "nc4",
    "top1_error",
    "top5_error",
    "mistake_severity",
    "hdist@1",
    "hdist@5",
    "nc2_tree",
    "mean_tree_correlation",
    "nc1_coarse",
];

/// Whether a lower value of `metric` is better for the task (`Some(true)`: errors, severities;
/// `Some(false)`: test accuracy), so that a rise (a fall) is harm. `None` for
/// metrics without a direction of harm (the collapse metrics describe geometry).
pub fn lower_is_better(metric: &str) -> Option<bool> {
    match metric {
        "top1_error" | "top5_error" | "mistake_severity" | "hdist@1" | "hdist@5" => Some(true),
        "test_acc" => Some(false),
        _ => None,
    }
}

/// Confidence level of the intervals.
pub const CI_LEVEL: f64 = 0.95;

/// Significance marks of an adjusted p-value: `***` below 0.001, `**` below 0.01, `*` below
/// 0.05, nothing otherwise (or undefined).
pub fn stars(p: f64) -> &'static str {
    if p < 0.001 {
        "***"
    } else if p < 0.01 {
        "**"
    } else if p < 0.05 {
        "*"
    } else {
        ""
    }
}

/// Mean and sample sd (n-1) of one metric over a condition's runs at their final epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// Runs whose last `metrics.csv` row has a value for the metric.
    pub n: usize,
    pub mean: f64,
    /// `NaN` when `n < 2`.
    pub sd: f64,
}

/// One condition against its baseline for one metric.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub condition: usize,
    pub baseline: usize,
    /// A contrast asked for with `--contrast` (two conditions of the user's choosing, e.g. a
    /// loss and its control), not the comparison with the condition's CE baseline; contrasts
    /// against one condition make a family of their own.
    pub contrast: bool,
    pub metric: String,
    pub n: usize,
    pub n_baseline: usize,
    /// `mean(condition) - mean(baseline)`.
    pub diff: f64,
    /// `None` with fewer than 2 runs a side or no spread at all.
    pub welch: Option<WelchTest>,
    /// `None` with fewer than 3 runs a side: with 2 against 2 the smallest attainable two-sided
    /// p-value is 1/3, so the test cannot say anything.
    pub mann_whitney: Option<MannWhitney>,
    /// Runs of the two conditions paired by seed (same seed: same data subset, same
    /// initialisation): how many pairs, and the paired t-test of the differences (`None` with
    /// fewer than 2 pairs or no spread).
    pub n_pairs: usize,
    /// Mean of the paired differences with its 95% t interval (`None` without pairs): defined
    /// even where the test is not (differences all equal give a zero-width interval).
    pub paired_difference: Option<PairedDifference>,
    /// The geometric mean of the paired ratios (condition / baseline) with its 95% interval
    /// (`None` without pairs, or where a value is not positive): the effect as a factor, shown
    /// for the [`RATIO_METRICS`].
    pub paired_ratio: Option<PairedRatio>,
    pub paired: Option<WelchTest>,
    /// The exact sign-flip test of the paired differences (`None` without pairs or beyond
    /// [`stats::SIGN_FLIP_MAX_N`] of them).
    pub sign_flip: Option<SignFlip>,
    /// The p-value adjusted in the family: the paired t-test's when the runs pair by seed
    /// (at least 2 pairs; `NaN` when the differences have no spread), else Welch's.
    pub p: f64,
    /// Which test gave `p`: `paired t`, `Welch t`, or empty when neither is defined.
    pub p_test: &'static str,
    /// Whether the comparison is in the family (a [`HEADLINE_METRICS`] metric with a defined
    /// `p`), and its adjusted p-values there (`NaN` outside it).
    pub in_family: bool,
    pub p_holm: f64,
    pub p_bh: f64,
    /// What a new sample of test images adds to the interval, for the test metrics of
    /// [`predictions::TERM_METRICS`](crate::predictions::TERM_METRICS) when both conditions
    /// have runs with `test_predictions.csv` ([`test_images::term`]).
    pub test_images: Option<TestImageTerm>,
}

impl Comparison {
    /// The effect shown in the decision table: the mean paired difference and its interval
    /// with at least 2 pairs, else the difference of means and Welch's interval. `(diff, low,
    /// high, paired)`; the interval bounds are `NaN` when undefined.
    pub fn effect(&self) -> (f64, f64, f64, bool) {
        match self.paired_difference {
            Some(d) if self.n_pairs >= 2 => (d.mean, d.ci_low, d.ci_high, true),
            _ => {
                let (lo, hi) = self
                    .welch
                    .map_or((f64::NAN, f64::NAN), |w| (w.ci_low, w.ci_high));
                (self.diff, lo, hi, false)
            }
        }
    }

    /// The effect's interval widened by the test images' half-width `h`: `diff -+ sqrt(s^2 +
    /// h^2)`, `s` the half-width of [`effect`](Comparison::effect)'s interval (the two sources,
    /// seeds and test images, independent). `None` without the term or the interval.
    pub fn widened_interval(&self) -> Option<(f64, f64)> {
        let term = self.test_images?;
        let (d, lo, hi, _) = self.effect();
        let half = nclab_core::test_images::widened_half_width((hi - lo) / 2.0, term.half_width);
        half.is_finite().then_some((d - half, d + half))
    }

    /// The paired ratio the decision tables show: for the [`RATIO_METRICS`] only.
    pub fn shown_ratio(&self) -> Option<PairedRatio> {
        self.paired_ratio
            .filter(|_| RATIO_METRICS.contains(&self.metric.as_str()))
    }

    /// For metrics with a direction of harm ([`lower_is_better`]): the interval's bound on the
    /// side of harm, the largest worsening it still allows ("no worse than this", at 95%).
    pub fn harm_bound(&self) -> Option<f64> {
        let lower = lower_is_better(&self.metric)?;
        let (_, lo, hi, _) = self.effect();
        let b = if lower { hi } else { lo };
        b.is_finite().then_some(b)
    }

    /// The "no worse" statement of a metric with a direction of harm, from the unadjusted 95%
    /// interval: `worse (whole 95% interval, up to +b)` when all of it lies on the side of
    /// harm, `no worse than +b (95% bound)` when it reaches that side (the largest worsening
    /// the data still allow, not a proof of none), `better (whole 95% interval)` when all of
    /// it lies on the side of benefit; `b` is [`harm_bound`].
    ///
    /// [`harm_bound`]: Comparison::harm_bound
    pub fn harm_text(&self) -> Option<String> {
        let b = self.harm_bound()?;
        let lower = lower_is_better(&self.metric)?;
        let (_, lo, hi, _) = self.effect();
        // The interval's bound on the side of benefit.
        let other = if lower { lo } else { hi };
        let harmful = |v: f64| if lower { v > 0.0 } else { v < 0.0 };
        Some(if harmful(other) {
            format!("worse (whole 95% interval, up to {})", signed(b))
        } else if harmful(b) {
            format!("no worse than {} (95% bound)", signed(b))
        } else {
            "better (whole 95% interval)".to_string()
        })
    }
}

/// Adjusts the p-values per grid: the comparisons with one baseline (the conditions of one
/// grid against its CE condition) on the [`HEADLINE_METRICS`] whose `p` is defined make one
/// family; Holm's and Benjamini-Hochberg's adjusted p-values are set on its members (see
/// [`stats::holm_adjust`], [`stats::benjamini_hochberg_adjust`]), `NaN` on the others. Grids
/// are separate families: a report over several grids adjusts each as if reported alone.
pub fn adjust_family(comps: &mut [Comparison]) {
    for c in comps.iter_mut() {
        c.in_family = false;
        c.p_holm = f64::NAN;
        c.p_bh = f64::NAN;
    }
    for family in families(comps) {
        let members: Vec<usize> = (0..comps.len())
            .filter(|&i| family_of(&comps[i]) == family && in_family(&comps[i]))
            .collect();
        let p: Vec<f64> = members.iter().map(|&i| comps[i].p).collect();
        let holm = stats::holm_adjust(&p);
        let bh = stats::benjamini_hochberg_adjust(&p);
        for (k, &i) in members.iter().enumerate() {
            comps[i].in_family = true;
            comps[i].p_holm = holm[k];
            comps[i].p_bh = bh[k];
        }
    }
}

/// Whether a comparison belongs to its grid's family: a headline metric with a defined `p`.
fn in_family(c: &Comparison) -> bool {
    HEADLINE_METRICS.contains(&c.metric.as_str()) && c.p.is_finite()
}

/// A comparison's family: `Some(baseline)` for the comparisons with a CE baseline (one family
/// per grid), `None` for the contrasts, which are one family together whichever way each is
/// written.
pub fn family_of(c: &Comparison) -> Option<usize> {
    (!c.contrast).then_some(c.baseline)
}

/// The families of the comparisons ([`family_of`]), in order of first appearance.
pub fn families(comps: &[Comparison]) -> Vec<Option<usize>> {
    let mut out: Vec<Option<usize>> = Vec::new();
    for c in comps {
        if !out.contains(&family_of(c)) {
            out.push(family_of(c));
        }
    }
    out
}

/// The metric columns of all runs, in the order of first appearance, then the
/// [`SUMMARY_VALUES`] that some run's `summary.json` gives as a number.
pub fn metric_names(runs: &[Run]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in runs {
        for c in &r.metrics.columns {
            if !names.contains(c) {
                names.push(c.clone());
            }
        }
    }
    for v in SUMMARY_VALUES {
        if runs.iter().any(|r| r.final_value(v).is_some()) {
            names.push(v.to_string());
        }
    }
    names
}

/// The final-epoch values of `metric` over the runs of a condition. Runs without a finite
/// value (not computed, or NaN/inf after a divergence) are left out, so `n` counts the rest.
pub fn final_values(runs: &[Run], condition: &Condition, metric: &str) -> Vec<f64> {
    condition
        .runs
        .iter()
        .filter_map(|&i| runs[i].final_value(metric))
        .filter(|v| v.is_finite())
        .collect()
}

/// The final values of `metric` in runs of `a` and `b` with the same seed, in seed order (both
/// empty when a condition has a run without a seed or two runs with one seed).
fn paired_by_seed(
    runs: &[Run],
    a: &Condition,
    b: &Condition,
    metric: &str,
) -> (Vec<f64>, Vec<f64>) {
    let by_seed = |c: &Condition| -> Option<std::collections::BTreeMap<i64, f64>> {
        let mut map = std::collections::BTreeMap::new();
        for &i in &c.runs {
            let seed = runs[i].seed()?;
            let v = runs[i].final_value(metric).filter(|v| v.is_finite());
            if map.insert(seed, v).is_some() {
                return None;
            }
        }
        Some(map.into_iter().filter_map(|(s, v)| Some((s, v?))).collect())
    };
    let (Some(ma), Some(mb)) = (by_seed(a), by_seed(b)) else {
        return (Vec::new(), Vec::new());
    };
    ma.iter()
        .filter_map(|(s, &va)| mb.get(s).map(|&vb| (va, vb)))
        .unzip()
}

/// Mean and sd of `metric` at the final epoch over a condition's runs.
pub fn cell(runs: &[Run], condition: &Condition, metric: &str) -> Cell {
    let v = final_values(runs, condition, metric);
    Cell {
        n: v.len(),
        mean: stats::mean(&v),
        sd: stats::sd(&v),
    }
}

/// Columns of the final values that are not compared with the baseline: the learning rate is a
/// setting, not an outcome, and the loss values of a condition and its CE baseline are values
/// of different functions (a baseline is CE, the conditions compared with it are not).
pub const NOT_COMPARED: &[&str] = &["lr", "train_loss", "test_loss"];

/// The headline metrics that the decision table also compares by factor (the paired ratio,
/// [`Comparison::paired_ratio`]): the within-class variability, which falls by orders of
/// magnitude as the features collapse, so that a difference says little next to a factor.
pub const RATIO_METRICS: &[&str] = &["nc1", "nc1_coarse"];

/// A paired ratio as the decision table writes it: `×0.8320 [×0.7027, ×0.9852]` (the
/// interval left out with one pair; an end beyond the floats, from a very wide interval,
/// written `∞` or `0`).
pub fn ratio_text(r: &PairedRatio) -> String {
    if r.ci_low.is_nan() || r.ci_high.is_nan() {
        return format!("×{}", sig(r.ratio));
    }
    let end = |v: f64| {
        if v.is_infinite() {
            "∞".to_string()
        } else {
            sig(v)
        }
    };
    format!(
        "×{} [×{}, ×{}]",
        sig(r.ratio),
        end(r.ci_low),
        end(r.ci_high)
    )
}

/// The decision tables' sentence on the factors, `" For nc1 and nc1_coarse, ..."`, when some
/// comparison shows one ([`Comparison::shown_ratio`]); empty otherwise.
pub fn ratio_note(comps: &[Comparison]) -> String {
    let shown: Vec<&str> = RATIO_METRICS
        .iter()
        .copied()
        .filter(|m| {
            comps
                .iter()
                .any(|c| c.metric == *m && c.shown_ratio().is_some())
        })
        .collect();
    if shown.is_empty() {
        return String::new();
    }
    format!(
        " For {}, also the factor (×): the geometric mean over seed pairs of condition / \
         baseline, with its 95% interval.",
        shown.join(" and ")
    )
}

/// Every condition with a baseline against it, then every contrast `(condition, against)`
/// of `contrasts`, for every metric both have but those of [`NOT_COMPARED`], with the
/// families' adjusted p-values ([`adjust_family`]).
pub fn comparisons(
    runs: &[Run],
    conditions: &[Condition],
    metrics: &[String],
    contrasts: &[(usize, usize)],
) -> Vec<Comparison> {
    let mut out = Vec::new();
    for (ci, bi, contrast) in compared_pairs(conditions, contrasts) {
        for m in metrics
            .iter()
            .filter(|m| !NOT_COMPARED.contains(&m.as_str()))
        {
            let (c, b) = (&conditions[ci], &conditions[bi]);
            let (a, bv) = (final_values(runs, c, m), final_values(runs, b, m));
            if a.is_empty() || bv.is_empty() {
                continue;
            }
            let mut comp = compare(runs, c, b, m, &a, &bv);
            (comp.condition, comp.baseline, comp.contrast) = (ci, bi, contrast);
            out.push(comp);
        }
    }
    adjust_family(&mut out);
    out
}

/// The pairs the report compares, `(condition, against, contrast)`: every condition with a
/// baseline against it, then the contrasts asked for.
pub fn compared_pairs(
    conditions: &[Condition],
    contrasts: &[(usize, usize)],
) -> Vec<(usize, usize, bool)> {
    let defaults = conditions
        .iter()
        .enumerate()
        .filter_map(|(ci, c)| Some((ci, c.baseline?, false)));
    let asked = contrasts.iter().map(|&(ci, bi)| (ci, bi, true));
    defaults.chain(asked).collect()
}

/// The tests of condition `c` against `b` on metric `m` (`a` and `bv` their final values);
/// indices and the family's adjusted p-values are the caller's to set.
fn compare(
    runs: &[Run],
    c: &Condition,
    b: &Condition,
    m: &str,
    a: &[f64],
    bv: &[f64],
) -> Comparison {
    let mann_whitney = if a.len() >= 3 && bv.len() >= 3 {
        stats::mann_whitney_u(a, bv)
    } else {
        None
    };
    let (pa, pb) = paired_by_seed(runs, c, b, m);
    let paired = stats::paired_t_test(&pa, &pb, CI_LEVEL);
    let welch = stats::welch_t_test(a, bv, CI_LEVEL);
    let d: Vec<f64> = pa.iter().zip(&pb).map(|(x, y)| x - y).collect();
    let (p, p_test) = if pa.len() >= 2 {
        (paired.map_or(f64::NAN, |t| t.p), "paired t")
    } else if let Some(w) = welch {
        (w.p, "Welch t")
    } else {
        (f64::NAN, "")
    };
    Comparison {
        n_pairs: pa.len(),
        paired_difference: stats::paired_difference(&pa, &pb, CI_LEVEL),
        paired_ratio: stats::paired_ratio(&pa, &pb, CI_LEVEL),
        paired,
        sign_flip: stats::sign_flip_test(&d),
        p,
        p_test,
        in_family: false,
        p_holm: f64::NAN,
        p_bh: f64::NAN,
        test_images: test_images::term(runs, c, b, m, CI_LEVEL),
        condition: 0,
        baseline: 0,
        contrast: false,
        metric: m.to_string(),
        n: a.len(),
        n_baseline: bv.len(),
        diff: stats::mean(a) - stats::mean(bv),
        welch,
        mann_whitney,
    }
}

/// A number for CSV: shortest round-trip text, empty when not finite.
fn csv_num(v: f64) -> String {
    numbers::exact(Some(v))
}

/// `summary.csv`: one row per condition (`condition,name,id,runs,seeds,diverged`), then
/// `<metric>_mean`, `<metric>_sd` and `<metric>_n` for every metric, then `hdist@1_floor` and
/// `hdist@5_floor` when the runs have those metrics (the floor on the condition's tree,
/// [`floors`](super::floors)) and `mean_tree_correlation_ceiling` when they have that one;
/// empty cells where a value is undefined. `runs` counts the runs
/// that did not diverge, `diverged` the others.
pub fn summary_csv(
    runs: &[Run],
    conditions: &[Condition],
    metrics: &[String],
    floors: &[Option<Floors>],
) -> String {
    let mut header: Vec<String> = ["condition", "name", "id", "runs", "seeds", "diverged"]
        .map(String::from)
        .to_vec();
    for m in metrics {
        header.extend([format!("{m}_mean"), format!("{m}_sd"), format!("{m}_n")]);
    }
    let floored = floors::columns(metrics);
    header.extend(floored.iter().map(|&(_, m)| format!("{m}_floor")));
    let ceiled = metrics.iter().any(|m| m == floors::CEILED);
    if ceiled {
        header.push(format!("{}_ceiling", floors::CEILED));
    }
    let rows = conditions.iter().zip(floors).map(|(c, floor)| {
        let mut row = vec![
            c.label.clone(),
            c.name.clone(),
            c.id.clone(),
            c.runs.len().to_string(),
            seeds_text(runs, c),
            c.diverged.len().to_string(),
        ];
        for m in metrics {
            let cell = cell(runs, c, m);
            row.extend([csv_num(cell.mean), csv_num(cell.sd), cell.n.to_string()]);
        }
        for &(i, _) in &floored {
            row.push(
                floor
                    .as_ref()
                    .map_or(String::new(), |f| csv_num(f.values[i])),
            );
        }
        if ceiled {
            let c = floor.as_ref().and_then(|f| f.tree_correlation_ceiling);
            row.push(c.map_or(String::new(), csv_num));
        }
        row
    });
    csv_text::write(std::iter::once(header).chain(rows))
}

/// `comparisons.csv`: one row per (condition, metric) against the baseline. The paired
/// interval (`paired_ci95_*`) is that of [`stats::paired_difference`] (zero width when the
/// differences have no spread); `p` is the p-value adjusted in the family (`p_test` names the
/// test), `p_holm` and `p_bh` its adjusted values (empty outside the family), `stars_bh` the
/// marks of `p_bh`, `harm_bound` the interval's bound on the side of harm for metrics with one,
/// `paired_ratio*` the geometric mean of the paired ratios with its interval
/// ([`stats::paired_ratio`]; empty where a value is not positive), `test_images_*` what a new
/// sample of test images adds ([`TestImageTerm`]; `test_images_seeds` the seeds an estimate
/// pairs, 0 for a bound) and `widened_ci95_*` the interval with it
/// ([`Comparison::widened_interval`]).
pub fn comparisons_csv(conditions: &[Condition], comps: &[Comparison]) -> String {
    let header = "condition,baseline,metric,n,n_baseline,diff,ci95_low,ci95_high,welch_t,welch_df,welch_p,mann_whitney_u,mann_whitney_p,mann_whitney_exact,n_pairs,paired_diff,paired_ci95_low,paired_ci95_high,paired_t,paired_df,paired_p,sign_flip_p,sign_flip_patterns,p,p_test,family,p_holm,p_bh,stars_bh,harm_bound,paired_ratio,paired_ratio_ci95_low,paired_ratio_ci95_high,test_images_half_width,test_images_estimated,test_images_seeds,widened_ci95_low,widened_ci95_high,contrast";
    let rows = comps.iter().map(|c| {
        let mw = c.mann_whitney;
        let mut fields = vec![
            conditions[c.condition].label.clone(),
            conditions[c.baseline].label.clone(),
            c.metric.clone(),
            c.n.to_string(),
            c.n_baseline.to_string(),
            csv_num(c.diff),
        ];
        fields.extend(t_test_fields(c.welch));
        let pd = c.paired_difference;
        fields.extend([
            mw.map(|m| csv_num(m.u)).unwrap_or_default(),
            mw.map(|m| csv_num(m.p)).unwrap_or_default(),
            mw.map(|m| m.exact.to_string()).unwrap_or_default(),
            c.n_pairs.to_string(),
            pd.map(|d| csv_num(d.mean)).unwrap_or_default(),
            pd.map(|d| csv_num(d.ci_low)).unwrap_or_default(),
            pd.map(|d| csv_num(d.ci_high)).unwrap_or_default(),
        ]);
        let t = c.paired;
        fields.extend([
            t.map(|t| csv_num(t.t)).unwrap_or_default(),
            t.map(|t| csv_num(t.df)).unwrap_or_default(),
            t.map(|t| csv_num(t.p)).unwrap_or_default(),
            c.sign_flip.map(|f| csv_num(f.p)).unwrap_or_default(),
            c.sign_flip
                .map(|f| f.patterns.to_string())
                .unwrap_or_default(),
            csv_num(c.p),
            c.p_test.to_string(),
            c.in_family.to_string(),
            csv_num(c.p_holm),
            csv_num(c.p_bh),
            stars(c.p_bh).to_string(),
            c.harm_bound().map(csv_num).unwrap_or_default(),
        ]);
        let r = c.paired_ratio;
        fields.extend([
            r.map(|r| csv_num(r.ratio)).unwrap_or_default(),
            r.map(|r| csv_num(r.ci_low)).unwrap_or_default(),
            r.map(|r| csv_num(r.ci_high)).unwrap_or_default(),
        ]);
        let t = c.test_images;
        let w = c.widened_interval();
        fields.extend([
            t.map(|t| csv_num(t.half_width)).unwrap_or_default(),
            t.map(|t| t.estimated.to_string()).unwrap_or_default(),
            t.map(|t| t.seeds.to_string()).unwrap_or_default(),
            w.map(|w| csv_num(w.0)).unwrap_or_default(),
            w.map(|w| csv_num(w.1)).unwrap_or_default(),
            c.contrast.to_string(),
        ]);
        fields
    });
    let header: Vec<String> = header.split(',').map(String::from).collect();
    csv_text::write(std::iter::once(header).chain(rows))
}

/// The CSV cells of a t-test in the order of `comparisons.csv`: 95% interval (low, high), t, df,
/// p; all empty when the test is undefined.
fn t_test_fields(test: Option<WelchTest>) -> [String; 5] {
    match test {
        Some(w) => [w.ci_low, w.ci_high, w.t, w.df, w.p].map(csv_num),
        None => Default::default(),
    }
}

/// The seeds of a condition's runs, space-separated (`?` for a run without one).
pub fn seeds_text(runs: &[Run], c: &Condition) -> String {
    c.runs
        .iter()
        .map(|&i| runs[i].seed().map_or("?".to_string(), |s| s.to_string()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A statistic for tables: 4 significant digits (`crate::numbers::significant`), `n/a`
/// when undefined.
pub fn sig(v: f64) -> String {
    if v.is_finite() {
        numbers::significant(Some(v), 4)
    } else {
        "n/a".into()
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The decision table: the headline metrics that some comparison has (columns, in
/// [`HEADLINE_METRICS`] order), and per condition with a baseline its comparison on each (rows,
/// in condition order).
pub type DecisionRows<'a> = Vec<(usize, Vec<Option<&'a Comparison>>)>;

pub fn decision_table<'a>(
    conditions: &[Condition],
    comps: &'a [Comparison],
) -> (Vec<&'static str>, DecisionRows<'a>) {
    let metrics: Vec<&'static str> = HEADLINE_METRICS
        .iter()
        .copied()
        .filter(|m| comps.iter().any(|c| c.metric == *m))
        .collect();
    let rows = (0..conditions.len())
        .filter(|&ci| conditions[ci].baseline.is_some())
        .map(|ci| {
            let cells = metrics
                .iter()
                .map(|m| {
                    comps
                        .iter()
                        .find(|c| c.condition == ci && !c.contrast && c.metric == *m)
                })
                .collect();
            (ci, cells)
        })
        .collect();
    (metrics, rows)
}

/// How the families and the tests are defined, for summary.md and index.html.
pub fn family_note(conditions: &[Condition], comps: &[Comparison]) -> String {
    let sizes: Vec<String> = families(comps)
        .into_iter()
        .map(|family| {
            let m = comps
                .iter()
                .filter(|c| family_of(c) == family && c.in_family)
                .count();
            match family {
                Some(b) => format!("against {}: {m}", conditions[b].name),
                None => format!("the contrasts: {m}"),
            }
        })
        .collect();
    let contrasts = if comps.iter().any(|c| c.contrast) {
        "; the contrasts asked for (--contrast), every one on each headline metric, are one \
         family of their own"
    } else {
        ""
    };
    format!(
        "Families: per grid (the conditions compared with one CE baseline), every condition \
         against the baseline on each headline metric ({}){contrasts}; comparisons with a \
         defined p-value per family: {}. p: the paired t-test of the runs paired by seed (same data subset and \
         initialisation; df = pairs − 1) when there are at least 2 pairs, else Welch's t-test. \
         Adjusted p-values: Holm (family-wise error rate) and Benjamini–Hochberg (false \
         discovery rate), each within its family; the stars use BH: * < 0.05, ** < 0.01, \
         *** < 0.001. An undefined p (e.g. paired differences without spread) is left out of \
         the family and does not count in its size. The sign-flip p is the exact permutation \
         test of the paired differences (all 2^n sign patterns): it is defined where the t-test \
         is not, but with n pairs it cannot go below 2/2^n (0.25 with 3 seeds). Intervals: 95% \
         t intervals of the mean paired difference (of the difference of means, Welch, without \
         pairs). Worst case: for errors and severities, the interval's bound on the side of \
         harm, the largest rise the data still allow at 95%: \"no worse than\" that bound, \
         which is not evidence of no harm; \"worse\" or \"better\" when the whole interval \
         lies on one side of 0. The intervals are not adjusted for the multiple comparisons, \
         the stars are: an interval wholly on one side without a star is a difference only \
         before the correction.",
        HEADLINE_METRICS.join(", "),
        sizes.join("; ")
    )
}

/// A difference with its sign, in 4 significant digits (`+0.0123`, `−0.5`).
pub fn signed(v: f64) -> String {
    signed_digits(v, 4)
}

/// A difference with its sign in `digits` significant digits (a typographic minus), `n/a`
/// when undefined.
pub fn signed_digits(v: f64, digits: usize) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let t = numbers::significant(Some(v), digits);
    if v > 0.0 {
        format!("+{t}")
    } else {
        t.replacen('-', "−", 1)
    }
}

/// `[low, high]` of an interval, `n/a` when undefined.
pub fn interval(lo: f64, hi: f64) -> String {
    if lo.is_finite() && hi.is_finite() {
        format!("[{}, {}]", signed(lo), signed(hi))
    } else {
        "n/a".into()
    }
}

/// `summary.md`: the conditions, their final values (mean ± sd), the decision table, the
/// comparisons in detail, the collapse folds, the diverged runs and the unfinished runs left
/// out (`left_out`: directory, how far it got).
pub fn summary_markdown(
    runs: &[Run],
    conditions: &[Condition],
    metrics: &[String],
    comps: &[Comparison],
    folds: &FoldTable,
    floors: &[Option<Floors>],
    left_out: &[super::LeftOut],
) -> String {
    let shown: Vec<&String> = metrics
        .iter()
        .filter(|m| KEY_METRICS.contains(&m.as_str()))
        .collect();
    let diverged = diverged_runs(conditions);
    let mut s = String::from("# nclab report: summary\n\n");
    s.push_str(&run_count_line(conditions, diverged.len()));
    s.push_str(&setup_markdown(runs, conditions));
    s.push_str(&conditions_markdown(conditions));
    s.push_str(&final_values_markdown(runs, conditions, &shown));
    if let Some(note) = floors::note(conditions, floors, metrics, |t| {
        format!("`{}`", md_escape(t))
    }) {
        s.push_str(&format!("\n{note}\n"));
    }
    s.push_str(&baseline_markdown(runs, conditions, comps));
    s.push_str(&test_images_markdown(conditions, comps));
    s.push_str(&folds_markdown(conditions, folds));
    s.push_str(&tpt_markdown(runs, conditions));
    s.push_str(&diverged_markdown(runs, conditions, &diverged));
    if !left_out.is_empty() {
        s.push_str("\n## Unfinished runs\n\nStopped before their end, left out of the report:\n\n");
        for (dir, progress) in left_out {
            s.push_str(&format!("- `{dir}` ({progress})\n"));
        }
    }
    s
}

/// The diverged runs as `(condition, run)` index pairs, in condition order.
fn diverged_runs(conditions: &[Condition]) -> Vec<(usize, usize)> {
    conditions
        .iter()
        .enumerate()
        .flat_map(|(ci, c)| c.diverged.iter().map(move |&i| (ci, i)))
        .collect()
}

/// The opening line of summary.md: how many runs in how many conditions, and how many
/// diverged.
fn run_count_line(conditions: &[Condition], n_diverged: usize) -> String {
    let used: usize = conditions.iter().map(|c| c.runs.len()).sum();
    format!(
        "{used} runs in {} conditions{}.\n\n",
        conditions.len(),
        if n_diverged == 0 {
            String::new()
        } else {
            format!(", and {n_diverged} diverged runs (listed at the end)")
        }
    )
}

/// `## Setup`: the settings every condition shares ([`super::setup::shared`]); empty when
/// they share none.
fn setup_markdown(runs: &[Run], conditions: &[Condition]) -> String {
    let rows = super::setup::shared(conditions, &super::decay_epochs(runs, conditions));
    if rows.is_empty() {
        return String::new();
    }
    let mut s =
        String::from("## Setup\n\nShared by every condition:\n\n| setting | value |\n|---|---|\n");
    for (label, v) in rows {
        s.push_str(&format!("| {label} | `{}` |\n", md_escape(&v)));
    }
    s.push('\n');
    s
}

/// The Markdown header row and separator of a table: `fixed` columns, then one per `extra`.
fn md_table_head(fixed: &[&str], extra: &[impl std::fmt::Display]) -> String {
    let mut s = format!("| {} |", fixed.join(" | "));
    for m in extra {
        s.push_str(&format!(" {m} |"));
    }
    s.push_str(&format!("\n|{}", "---|".repeat(fixed.len())));
    s.push_str(&"---|".repeat(extra.len()));
    s.push('\n');
    s
}

/// `## Conditions`: each condition's id, name and the config entries that set it apart.
fn conditions_markdown(conditions: &[Condition]) -> String {
    let mut s = String::from(
        "## Conditions\n\n| id | condition | config entries that differ |\n|---|---|---|\n",
    );
    for c in conditions {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            c.id,
            md_escape(&c.name),
            md_escape(&c.label)
        ));
    }
    s
}

/// `## Final values`: per condition the mean ± sd of each shown metric at the final analysis
/// epoch.
fn final_values_markdown(runs: &[Run], conditions: &[Condition], shown: &[&String]) -> String {
    let mut s = String::from("\n## Final values\n\n");
    s.push_str(
        "Values at each run's final analysis epoch; mean ± sd over the runs (seeds) of a \
         condition, sd with the n-1 divisor (n/a with one run). Every metric is in \
         `summary.csv`.\n\n",
    );
    s.push_str(&md_table_head(&["id", "condition", "runs (seeds)"], shown));
    for c in conditions {
        s.push_str(&format!(
            "| {} | {} | {} ({}) |",
            c.id,
            md_escape(&c.name),
            c.runs.len(),
            seeds_text(runs, c)
        ));
        for m in shown {
            s.push_str(&mean_sd_cell(&cell(runs, c, m)));
        }
        s.push('\n');
    }
    s
}

/// One final-values cell: `–` without runs, the value with one, `mean ± sd` with more.
fn mean_sd_cell(cell: &Cell) -> String {
    match cell.n {
        0 => " – |".to_string(),
        1 => format!(" {} |", sig(cell.mean)),
        _ => format!(" {} ± {} |", sig(cell.mean), sig(cell.sd)),
    }
}

/// `## Against the cross-entropy baseline`: the family note, the decision table and the
/// comparisons in detail, or why there is no comparison.
fn baseline_markdown(runs: &[Run], conditions: &[Condition], comps: &[Comparison]) -> String {
    let mut s = String::from("\n## Against the cross-entropy baseline\n\n");
    let with_baseline = conditions.iter().any(|c| c.baseline.is_some());
    let none = "No comparison: no non-CE condition has a CE condition of the same dataset and \
                model (`data.name`, `model.kind`).";
    if !with_baseline && comps.is_empty() {
        s.push_str(none);
        s.push('\n');
        return s;
    }
    s.push_str(&family_note(conditions, comps));
    s.push_str(" With few seeds read p-values as indications, not as findings.\n\n");
    if with_baseline {
        s.push_str(&decision_markdown(runs, conditions, comps));
    } else {
        s.push_str(none);
        s.push_str(" The contrasts are in the table below.\n");
    }
    s.push_str(&comparisons_detail_markdown(conditions, comps));
    s
}

/// `## What another test set would add` ([`test_images::table`]); empty without a term.
fn test_images_markdown(conditions: &[Condition], comps: &[Comparison]) -> String {
    let Some(rows) = test_images::table(conditions, comps) else {
        return String::new();
    };
    let mut s = format!(
        "\n## What another test set would add\n\n{}\n\n",
        test_images::NOTE
    );
    s.push_str(&md_table_head(&test_images::HEADER, &[] as &[&str]));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| md_escape(c)).collect();
        s.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    s
}

/// The baseline of the decision table's rows when they all share one (`None` with several).
pub fn single_baseline(conditions: &[Condition], rows: &DecisionRows) -> Option<usize> {
    let baselines: std::collections::BTreeSet<usize> = rows
        .iter()
        .filter_map(|(ci, _)| conditions[*ci].baseline)
        .collect();
    match baselines.into_iter().collect::<Vec<_>>()[..] {
        [b] => Some(b),
        _ => None,
    }
}

/// `### Decision table`: per condition with a baseline, its comparison on each headline
/// metric; first, when every row has the same baseline, that baseline's own means.
fn decision_markdown(runs: &[Run], conditions: &[Condition], comps: &[Comparison]) -> String {
    let (dm, rows) = decision_table(conditions, comps);
    let mut s = format!(
        "### Decision table\n\nEach cell: the difference to the baseline (condition − \
         baseline, mean over seed pairs), its 95% interval, and `q=`, the BH-adjusted p-value, \
         with its stars (Holm's in the detailed table); for errors, severities and accuracy, \
         what the interval says of harm (\"no worse than\", \"worse\", \"better\").{}\n\n",
        ratio_note(comps)
    );
    s.push_str(&md_table_head(&["condition", "baseline"], &dm));
    if let Some(b) = single_baseline(conditions, &rows) {
        s.push_str(&format!(
            "| {} (baseline): mean | – |",
            md_escape(&conditions[b].name)
        ));
        for m in &dm {
            let c = cell(runs, &conditions[b], m);
            let mean = if c.n == 0 {
                "–".to_string()
            } else {
                sig(c.mean)
            };
            s.push_str(&format!(" {mean} |"));
        }
        s.push('\n');
    }
    for (ci, cells) in &rows {
        let c = &conditions[*ci];
        let b = c
            .baseline
            .map_or("–".to_string(), |b| conditions[b].name.clone());
        s.push_str(&format!("| {} | {} |", md_escape(&c.name), md_escape(&b)));
        for cell in cells {
            s.push_str(&decision_cell(*cell));
        }
        s.push('\n');
    }
    s
}

/// One decision-table cell: the signed difference, its interval, the BH q-value with its
/// stars and the worst case; `–` without a comparison.
fn decision_cell(comp: Option<&Comparison>) -> String {
    let Some(k) = comp else {
        return " – |".to_string();
    };
    let (d, lo, hi, _) = k.effect();
    let q = if k.p_bh.is_finite() {
        format!(" q={}{}", sig(k.p_bh), stars(k.p_bh))
    } else {
        String::new()
    };
    let harm = k.harm_text().map_or(String::new(), |h| format!("; {h}"));
    let ratio = k
        .shown_ratio()
        .map_or(String::new(), |r| format!(" ({})", ratio_text(&r)));
    format!(" {} {}{ratio}{q}{harm} |", signed(d), interval(lo, hi))
}

/// `### Comparisons in detail`: every comparison on a key metric or in the family, with all
/// its tests.
fn comparisons_detail_markdown(conditions: &[Condition], comps: &[Comparison]) -> String {
    let mut s = String::from(
        "\n### Comparisons in detail\n\ndiff: mean paired difference (difference of means \
         without pairs) with its 95% interval; worst case: the interval's bound on the side \
         of harm. p (Welch): two-sided Welch's t-test of the unpaired values, n/a with fewer \
         than 2 runs a side or no spread. p (MW): two-sided Mann–Whitney U (exact without \
         ties, else normal with tie correction), n/a with fewer than 3 runs a side, where it \
         cannot reach significance. Every metric is in `comparisons.csv`.\n\n",
    );
    s.push_str(
        "| condition | baseline | metric | n vs n | pairs | diff | 95% CI | worst case | p (paired t) | p (sign-flip) | p (Welch) | p (MW) | p Holm | p BH |\n",
    );
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for c in comps
        .iter()
        .filter(|c| KEY_METRICS.contains(&c.metric.as_str()) || c.in_family)
    {
        s.push_str(&comparison_detail_row(conditions, c));
    }
    s
}

/// The other side of a comparison as the detailed tables name it: the baseline, or for a
/// contrast `B (contrast)`.
pub fn against(conditions: &[Condition], c: &Comparison) -> String {
    let name = &conditions[c.baseline].name;
    if c.contrast {
        format!("{name} (contrast)")
    } else {
        name.clone()
    }
}

/// One row of the detailed comparisons table.
fn comparison_detail_row(conditions: &[Condition], c: &Comparison) -> String {
    let (d, lo, hi, _) = c.effect();
    let opt = |v: Option<f64>| v.map_or("n/a".to_string(), sig);
    format!(
        "| {} | {} | {} | {} vs {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}{} |\n",
        md_escape(&conditions[c.condition].name),
        md_escape(&against(conditions, c)),
        c.metric,
        c.n,
        c.n_baseline,
        c.n_pairs,
        signed(d),
        interval(lo, hi),
        c.harm_bound().map_or("–".to_string(), signed),
        opt(c.paired.map(|t| t.p)),
        opt(c.sign_flip.map(|f| f.p)),
        opt(c.welch.map(|w| w.p)),
        opt(c.mann_whitney.map(|m| m.p)),
        sig(c.p_holm),
        sig(c.p_bh),
        stars(c.p_bh)
    )
}

/// `## Collapse during the terminal phase`: the folds note and the fold table.
fn folds_markdown(conditions: &[Condition], folds: &FoldTable) -> String {
    let mut s = String::from("\n## Collapse during the terminal phase\n\n");
    s.push_str(&folds_note(folds));
    s.push_str("\n\n");
    let (header, rows) = folds.text_rows(conditions);
    s.push_str(&md_rows(&header, &rows));
    s
}

/// A Markdown table of text cells (escaped), header and separator first.
fn md_rows(header: &[String], rows: &[Vec<String>]) -> String {
    let mut s = format!(
        "| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for r in rows {
        let r: Vec<String> = r.iter().map(|c| md_escape(c)).collect();
        s.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    s
}

/// `## Diverged runs`: each diverged run with its seed, directory and epoch; empty when none
/// diverged.
fn diverged_markdown(
    runs: &[Run],
    conditions: &[Condition],
    diverged: &[(usize, usize)],
) -> String {
    if diverged.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n## Diverged runs\n\nLeft out of every mean, test and figure:\n\n");
    for &(ci, i) in diverged {
        s.push_str(&format!(
            "- {} (seed {}): `{}`{}\n",
            md_escape(&conditions[ci].name),
            runs[i].seed().map_or("?".into(), |s| s.to_string()),
            runs[i].dir.display(),
            diverged_at(&runs[i])
        ));
    }
    s
}

/// The start of the terminal phase and the cost per condition ([`super::tpt`]), in Markdown.
fn tpt_markdown(runs: &[Run], conditions: &[Condition]) -> String {
    let tpt_rows = super::tpt::rows(runs, conditions);
    let (header, rows) = super::tpt::text_rows(conditions, &tpt_rows);
    let mut s = String::from(
        "\n### Start of the terminal phase and cost\n\nThe terminal phase of training (TPT) \
         starts at the first epoch with zero training error; the stable TPT epoch is the first \
         from which every later check finds zero training error. TPT epochs: mean (range) over \
         the runs that reach it. Wall time and the share of it outside the training steps (analysis, \
         data, checkpoints, start-up) from summary.json.\n\n",
    );
    s.push_str(&md_rows(&header, &rows));
    if let Some(note) = super::tpt::analyses_note(&tpt_rows) {
        s.push_str(&format!("\n{note}\n"));
    }
    s
}

/// `, diverged at epoch N` from `summary.json`, when it says.
pub fn diverged_at(run: &Run) -> String {
    let at = diverged_epoch(run);
    if at.is_empty() {
        at
    } else {
        format!(", diverged{at}")
    }
}

/// ` at epoch N` from `summary.json`'s `diverged_at_epoch`, empty when it does not say.
pub fn diverged_epoch(run: &Run) -> String {
    run.summary
        .as_ref()
        .and_then(|s| s.get("diverged_at_epoch")?.as_f64())
        .map_or(String::new(), |e| format!(" at epoch {e}"))
}

/// What the fold columns compare, for summary.md and index.html.
pub fn folds_note(folds: &FoldTable) -> String {
    let mut parts = Vec::new();
    for (k, name) in folds.spans.iter().enumerate() {
        let epochs = folds
            .span_epochs(k)
            .map_or(String::new(), |(a, b)| format!(" (here epochs {a} → {b})"));
        parts.push(format!(
            "`<m>_fold_{name}`: {}{epochs}",
            super::folds::describe_span(name)
        ));
    }
    // The decay spans come from a config's step schedule; runs without one (a Python
    // Tracker's, or another schedule) have none, and the sentence would not hold for them.
    let decays = if folds.spans.iter().any(|s| s.starts_with("decay")) {
        " The learning rate decays at epochs ⌊E/3⌋+1 and ⌊2E/3⌋+1 of the step schedule (E \
         epochs)."
    } else {
        ""
    };
    format!(
        "Fold = the metric at the start of a span divided by its value at the end (10× = a \
         tenfold fall; below 1× = a rise), per run, then the mean over the runs (seeds) of the \
         condition (`folds.csv` has how many runs each mean has). The stable TPT epoch is the \
         first epoch from which every later check found zero training error (summary.json, or \
         for older runs the first analysis epoch of the final streak of rows with train_acc = \
         1). Spans: {}.{decays}",
        parts.join("; ")
    )
}

/// For tests: condition 1's comparison with condition 0 on `metric`, over 3 seed pairs, whose
/// paired interval is `[low, high]` around `mean`.
#[cfg(test)]
pub(crate) fn compared(metric: &str, mean: f64, low: f64, high: f64) -> Comparison {
    // Any three pairs, then the interval set by hand (the struct is built by its function).
    let mut d = stats::paired_difference(&[1.0, 2.0, 4.0], &[0.0; 3], CI_LEVEL).unwrap();
    (d.mean, d.ci_low, d.ci_high) = (mean, low, high);
    Comparison {
        contrast: false,
        condition: 1,
        baseline: 0,
        metric: metric.into(),
        n: 3,
        n_baseline: 3,
        diff: mean,
        welch: None,
        mann_whitney: None,
        n_pairs: 3,
        paired_difference: Some(d),
        paired_ratio: None,
        paired: None,
        sign_flip: None,
        test_images: None,
        p: f64::NAN,
        p_test: "",
        in_family: false,
        p_holm: f64::NAN,
        p_bh: f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::runs::parse_metrics_csv;

    fn run(csv: &str) -> Run {
        Run {
            dir: "r".into(),
            config: Default::default(),
            metrics: parse_metrics_csv(csv).unwrap(),
            summary: None,
            layers: None,
            predictions: None,
        }
    }

    #[test]
    fn cells_skip_missing_and_non_finite_final_values() {
        // Final nc1 values: 0.2, 0.4, NaN (diverged), empty (not computed) -> n = 2,
        // mean 0.3, sd sqrt((0.01 + 0.01) / 1) = sqrt(0.02).
        let runs = vec![
            run("epoch,nc1\n1,9\n2,0.2\n"),
            run("epoch,nc1\n1,9\n2,0.4\n"),
            run("epoch,nc1\n1,9\n2,NaN\n"),
            run("epoch,nc1\n1,9\n2,\n"),
        ];
        let c = crate::report::conditions::test_condition("x", vec![0, 1, 2, 3]);
        let cell = cell(&runs, &c, "nc1");
        assert_eq!(cell.n, 2);
        assert!((cell.mean - 0.3).abs() < 1e-15);
        assert!((cell.sd - 0.02f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn harm_text_says_worse_when_the_whole_interval_is_on_the_side_of_harm() {
        let text = |m: &str, d: f64, lo: f64, hi: f64| super::compared(m, d, lo, hi).harm_text();
        // An error (lower is better): wholly above 0 is worse, straddling 0 gives the bound on
        // the side of harm, wholly below 0 is better.
        assert_eq!(
            text("top1_error", 0.0028, 0.0012, 0.0044).as_deref(),
            Some("worse (whole 95% interval, up to +0.004400)")
        );
        assert_eq!(
            text("top1_error", 0.02, -0.0048, 0.0448).as_deref(),
            Some("no worse than +0.04480 (95% bound)")
        );
        assert_eq!(
            text("hdist@5", -0.27, -0.28, -0.26).as_deref(),
            Some("better (whole 95% interval)")
        );
        // Accuracy (higher is better): the side of harm is below 0.
        assert_eq!(
            text("test_acc", -0.003, -0.005, -0.001).as_deref(),
            Some("worse (whole 95% interval, up to −0.005000)")
        );
        // A metric without a direction of harm has no statement.
        assert_eq!(text("nc1", -0.02, -0.03, -0.01), None);
    }

    #[test]
    fn sig_formats() {
        assert_eq!(sig(0.123456), "0.1235");
        assert_eq!(sig(12.3456), "12.35");
        assert_eq!(sig(1234.4), "1234");
        assert_eq!(sig(1.5e-5), "1.500e-5");
        assert_eq!(sig(f64::NAN), "n/a");
    }

    #[test]
    fn csv_quotes_commas() {
        assert_eq!(
            csv_text::line(["a=1, b=2", "plain"]),
            "\"a=1, b=2\",plain\n"
        );
    }
}
