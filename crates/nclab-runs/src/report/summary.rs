//! The summary tables: each condition's metrics at the final epoch (mean and sd over seeds), and
//! each condition against its CE baseline (difference, 95% CI, Welch's t-test, Mann-Whitney U).

use nclab_core::stats::{self, MannWhitney, WelchTest};

use crate::numbers;

use super::conditions::Condition;
use super::runs::{Run, SUMMARY_VALUES};

/// Metrics shown in the Markdown and HTML tables, in this order (all metrics go to the CSV
/// files); their curves also come first in index.html.
pub const KEY_METRICS: &[&str] = &[
    "nc1",
    "nc2",
    "nc3",
    "nc4",
    "tpt_epoch",
    "nc2_tree",
    "mean_tree_correlation",
    "nc1_coarse",
    "train_loss",
    "train_acc",
    "test_acc",
    "top1_error",
    "mistake_severity",
    "hdist@1",
    "hdist@5",
];

/// Confidence level of the intervals.
pub const CI_LEVEL: f64 = 0.95;

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
    /// Mean of the paired differences (`NaN` without pairs): defined even where the test is not
    /// (differences all equal).
    pub paired_diff: f64,
    pub paired: Option<WelchTest>,
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

/// Every condition with a baseline against it, for every metric both have.
pub fn comparisons(runs: &[Run], conditions: &[Condition], metrics: &[String]) -> Vec<Comparison> {
    let mut out = Vec::new();
    for (ci, c) in conditions.iter().enumerate() {
        let Some(bi) = c.baseline else { continue };
        for m in metrics {
            let a = final_values(runs, c, m);
            let b = final_values(runs, &conditions[bi], m);
            if a.is_empty() || b.is_empty() {
                continue;
            }
            let mann_whitney = if a.len() >= 3 && b.len() >= 3 {
                stats::mann_whitney_u(&a, &b)
            } else {
                None
            };
            let (pa, pb) = paired_by_seed(runs, c, &conditions[bi], m);
            out.push(Comparison {
                n_pairs: pa.len(),
                paired_diff: stats::mean(&pa) - stats::mean(&pb),
                paired: stats::paired_t_test(&pa, &pb, CI_LEVEL),
                condition: ci,
                baseline: bi,
                metric: m.clone(),
                n: a.len(),
                n_baseline: b.len(),
                diff: stats::mean(&a) - stats::mean(&b),
                welch: stats::welch_t_test(&a, &b, CI_LEVEL),
                mann_whitney,
            });
        }
    }
    out
}

/// A number for CSV: shortest round-trip text, empty when not finite.
fn csv_num(v: f64) -> String {
    numbers::exact(Some(v))
}

/// Quotes a CSV field when it holds a comma, quote or newline.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `summary.csv`: one row per condition (`condition,id,runs,seeds`), then `<metric>_mean`,
/// `<metric>_sd` and `<metric>_n` for every metric; empty cells where a value is undefined.
pub fn summary_csv(runs: &[Run], conditions: &[Condition], metrics: &[String]) -> String {
    let mut s = String::from("condition,id,runs,seeds");
    for m in metrics {
        s.push_str(&format!(",{m}_mean,{m}_sd,{m}_n"));
    }
    s.push('\n');
    for c in conditions {
        s.push_str(&format!(
            "{},{},{},{}",
            csv_field(&c.label),
            c.id,
            c.runs.len(),
            csv_field(&seeds_text(runs, c))
        ));
        for m in metrics {
            let cell = cell(runs, c, m);
            s.push_str(&format!(
                ",{},{},{}",
                csv_num(cell.mean),
                csv_num(cell.sd),
                cell.n
            ));
        }
        s.push('\n');
    }
    s
}

/// `comparisons.csv`: one row per (condition, metric) against the baseline.
pub fn comparisons_csv(conditions: &[Condition], comps: &[Comparison]) -> String {
    let mut s = String::from(
        "condition,baseline,metric,n,n_baseline,diff,ci95_low,ci95_high,welch_t,welch_df,welch_p,mann_whitney_u,mann_whitney_p,mann_whitney_exact,n_pairs,paired_diff,paired_ci95_low,paired_ci95_high,paired_t,paired_df,paired_p\n",
    );
    for c in comps {
        let mw = c.mann_whitney;
        let mut fields = vec![
            csv_field(&conditions[c.condition].label),
            csv_field(&conditions[c.baseline].label),
            c.metric.clone(),
            c.n.to_string(),
            c.n_baseline.to_string(),
            csv_num(c.diff),
        ];
        fields.extend(t_test_fields(c.welch));
        fields.extend([
            mw.map(|m| csv_num(m.u)).unwrap_or_default(),
            mw.map(|m| csv_num(m.p)).unwrap_or_default(),
            mw.map(|m| m.exact.to_string()).unwrap_or_default(),
            c.n_pairs.to_string(),
            csv_num(c.paired_diff),
        ]);
        fields.extend(t_test_fields(c.paired));
        s.push_str(&fields.join(","));
        s.push('\n');
    }
    s
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

/// `summary.md`: the condition table (key metrics as `mean ± sd`), then the comparisons
/// against the CE baselines with the tests named.
pub fn summary_markdown(
    runs: &[Run],
    conditions: &[Condition],
    metrics: &[String],
    comps: &[Comparison],
) -> String {
    let shown: Vec<&String> = metrics
        .iter()
        .filter(|m| KEY_METRICS.contains(&m.as_str()))
        .collect();
    let mut s = String::from("# nclab report: summary\n\n");
    s.push_str(
        "Values at each run's final analysis epoch; mean ± sd over the runs (seeds) of a \
         condition, sd with the n-1 divisor (n/a with one run). Every metric is in \
         `summary.csv`.\n\n",
    );
    s.push_str("| id | condition | runs (seeds) |");
    for m in &shown {
        s.push_str(&format!(" {m} |"));
    }
    s.push_str("\n|---|---|---|");
    for _ in &shown {
        s.push_str("---|");
    }
    s.push('\n');
    for c in conditions {
        s.push_str(&format!(
            "| {} | {} | {} ({}) |",
            c.id,
            md_escape(&c.label),
            c.runs.len(),
            seeds_text(runs, c)
        ));
        for m in &shown {
            let cell = cell(runs, c, m);
            if cell.n == 0 {
                s.push_str(" – |");
            } else if cell.n == 1 {
                s.push_str(&format!(" {} |", sig(cell.mean)));
            } else {
                s.push_str(&format!(" {} ± {} |", sig(cell.mean), sig(cell.sd)));
            }
        }
        s.push('\n');
    }
    s.push_str("\n## Against the cross-entropy baseline\n\n");
    let with_baseline = conditions.iter().filter(|c| c.baseline.is_some()).count();
    if with_baseline == 0 {
        s.push_str(
            "No comparison: no non-CE condition has a CE condition of the same dataset and \
             model (`data.name`, `model.kind`).\n",
        );
        return s;
    }
    s.push_str(&format!(
        "diff = mean(condition) − mean(CE baseline). CI: {:.0}% confidence interval of the \
         difference with Welch–Satterthwaite degrees of freedom. p (Welch): two-sided Welch's \
         t-test, n/a with fewer than 2 runs a side or no spread. p (MW): two-sided \
         Mann–Whitney U (exact without ties, else normal with tie correction), n/a with fewer \
         than 3 runs a side, where it cannot reach significance. Paired: the runs of the two \
         conditions with the same seed (same data subset and initialisation) as pairs, a \
         paired t-test of their differences (df = pairs − 1), n/a with fewer than 2 pairs. \
         With few seeds read p-values as indications, not as findings.\n\n",
        CI_LEVEL * 100.0
    ));
    s.push_str(
        "| condition | baseline | metric | n vs n | diff | 95% CI | p (Welch) | p (MW) | pairs | 95% CI (paired) | p (paired) |\n",
    );
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for c in comps
        .iter()
        .filter(|c| KEY_METRICS.contains(&c.metric.as_str()))
    {
        let (ci, p) = match c.welch {
            Some(w) => (format!("[{}, {}]", sig(w.ci_low), sig(w.ci_high)), sig(w.p)),
            None => ("n/a".into(), "n/a".into()),
        };
        let mw = c.mann_whitney.map_or("n/a".into(), |m| sig(m.p));
        let (pci, pp) = match c.paired {
            Some(w) => (format!("[{}, {}]", sig(w.ci_low), sig(w.ci_high)), sig(w.p)),
            None => ("n/a".into(), "n/a".into()),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} vs {} | {} | {} | {} | {} | {} | {} | {} |\n",
            md_escape(&conditions[c.condition].label),
            md_escape(&conditions[c.baseline].label),
            c.metric,
            c.n,
            c.n_baseline,
            sig(c.diff),
            ci,
            p,
            mw,
            c.n_pairs,
            pci,
            pp
        ));
    }
    s
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
        let c = Condition {
            label: "x".into(),
            id: "c1".into(),
            key: Default::default(),
            runs: vec![0, 1, 2, 3],
            common: Default::default(),
            dataset: None,
            model: None,
            loss: None,
            baseline: None,
        };
        let cell = cell(&runs, &c, "nc1");
        assert_eq!(cell.n, 2);
        assert!((cell.mean - 0.3).abs() < 1e-15);
        assert!((cell.sd - 0.02f64.sqrt()).abs() < 1e-15);
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
        assert_eq!(csv_field("a=1, b=2"), "\"a=1, b=2\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
