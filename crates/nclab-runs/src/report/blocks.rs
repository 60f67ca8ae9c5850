//! The tables of index.html: the decision table, the folds, the start of the terminal phase,
//! the final values, the comparisons in detail and the runs.

use super::conditions::Condition;
use super::floors::{self, Floors};
use super::html::{self, escape};
use super::runs::Run;
use super::summary::{self, sig, signed, stars, Comparison};
use super::{folds, test_images, tpt};

/// Short column headings of the decision table: (abbreviation, what it is).
fn abbreviation(metric: &str) -> &str {
    match metric {
        "nc1" => "NC1",
        "nc2" => "NC2",
        "nc3" => "NC3",
        "nc4" => "NC4",
        "top1_error" => "top-1 error",
        "top5_error" => "top-5 error",
        "mistake_severity" => "mistake severity",
        "hdist@1" => "hdist @1",
        "hdist@5" => "hdist @5",
        "nc2_tree" => "NC2 tree",
        "mean_tree_correlation" => "tree corr.",
        "nc1_coarse" => "NC1 coarse",
        m => m,
    }
}

/// A value in 3 significant digits with its sign (`+0.0123`, `−0.5`).
fn signed3(v: f64) -> String {
    summary::signed_digits(v, 3)
}

/// The decision table of index.html: each condition against its CE baseline on the headline
/// metrics, with the explanation above it; a one-line note when there is no comparison.
pub fn decision_block(runs: &[Run], conds: &[Condition], comps: &[Comparison]) -> String {
    let (metrics, rows) = summary::decision_table(conds, comps);
    if rows.is_empty() || metrics.is_empty() {
        let none = "<p>No comparison: no non-CE condition has a CE condition of the same \
                    dataset and model.";
        return if comps.iter().any(|c| c.contrast) {
            format!(
                "{none} The contrasts are in the detailed table.</p>\n<p>{}</p>\n",
                escape(&summary::family_note(conds, comps))
            )
        } else {
            format!("{none}</p>")
        };
    }
    // Every row has a baseline: one, or several to name in each row.
    let single = summary::single_baseline(conds, &rows);
    let mut s = decision_intro(conds, comps);
    s.push_str(&decision_head(&metrics));
    if let Some(b) = single {
        s.push_str(&baseline_means_row(runs, &conds[b], &metrics));
    }
    s.push_str("</thead>\n<tbody>\n");
    for (ci, cells) in &rows {
        s.push_str(&decision_row(
            conds,
            &conds[*ci],
            &metrics,
            cells,
            single.is_none(),
        ));
    }
    s.push_str("</tbody>\n</table>\n");
    s
}

/// The paragraphs above the decision table: how to read it, and the family note.
fn decision_intro(conds: &[Condition], comps: &[Comparison]) -> String {
    format!(
        "<p>Each condition against its CE baseline: the difference condition − baseline at the \
         final epoch (mean over seed pairs), its 95% interval under it, then the \
         Benjamini–Hochberg adjusted p-value (BH, which the stars use) and Holm's. Highlighted: \
         BH p < 0.05, <span class=\"key\"><span class=\"better\">better than the baseline</span>\
         <span class=\"worse\">worse than the baseline</span><span class=\"differs\">different \
         from the baseline</span></span> (errors, severities and hdist are better lower, accuracy \
         higher; the collapse and geometry metrics have no better side, the sign says which way).{} \
         Click a heading to sort the rows by it. Hover a cell for the raw p-values.</p>\n\
         <p>{}</p>\n",
        summary::ratio_note(comps),
        escape(&summary::family_note(conds, comps))
    )
}

/// The opening of the decision table and its heading row: `condition`, then each metric's
/// abbreviation (the full name on hover).
fn decision_head(metrics: &[&str]) -> String {
    let mut header = vec!["condition".to_string()];
    header.extend(metrics.iter().map(|m| {
        format!(
            "<span title=\"{}\">{}</span>",
            escape(m),
            escape(abbreviation(m))
        )
    }));
    format!(
        "<table class=\"decision sortable\">\n<thead><tr>{}</tr>\n",
        header
            .iter()
            .map(|h| format!("<th>{h}</th>"))
            .collect::<String>()
    )
}

/// The heading row of the baseline's own means (when all rows share one baseline).
fn baseline_means_row(runs: &[Run], baseline: &Condition, metrics: &[&str]) -> String {
    let mut row = format!(
        "<tr class=\"base\"><td>{} (baseline): mean</td>",
        escape(&baseline.name)
    );
    for m in metrics {
        let cell = summary::cell(runs, baseline, m);
        row.push_str(&format!(
            "<td>{}</td>",
            if cell.n == 0 {
                "–".to_string()
            } else {
                crate::numbers::significant(Some(cell.mean), 3)
            }
        ));
    }
    row.push_str("</tr>\n");
    row
}

/// One condition's row of the decision table; with `several_baselines` its name says which
/// baseline it is compared with.
fn decision_row(
    conds: &[Condition],
    c: &Condition,
    metrics: &[&str],
    cells: &[Option<&Comparison>],
    several_baselines: bool,
) -> String {
    let vs = match c.baseline {
        Some(b) if several_baselines => {
            format!("<br><span class=\"q\">vs {}</span>", escape(&conds[b].name))
        }
        _ => String::new(),
    };
    let mut row = format!("<tr><td>{}{vs}</td>", escape(&c.name));
    for (m, cell) in metrics.iter().zip(cells) {
        match cell {
            None => row.push_str("<td data-v=\"\">–</td>"),
            Some(k) => row.push_str(&decision_cell_html(conds, c, m, k)),
        }
    }
    row.push_str("</tr>\n");
    row
}

/// One cell of the decision table: the difference (highlighted when BH p < 0.05: better or
/// worse for a metric with a better side, [`summary::lower_is_better`], else only different),
/// its interval, the adjusted p-values and the worst case, with every test on hover.
fn decision_cell_html(conds: &[Condition], c: &Condition, m: &str, k: &Comparison) -> String {
    let (d, lo, hi, _) = k.effect();
    let class = highlight(m, d, k.p_bh);
    let ci = if lo.is_finite() && hi.is_finite() {
        format!("[{}, {}]", signed3(lo), signed3(hi))
    } else {
        "no interval".to_string()
    };
    let q = if k.p_bh.is_finite() {
        format!("BH {} · Holm {}", sig(k.p_bh), sig(k.p_holm))
    } else {
        "p n/a".to_string()
    };
    let harm = k.harm_text().map_or(String::new(), |h| {
        format!("<br><span class=\"q\">{}</span>", escape(&h))
    });
    let ratio = k.shown_ratio().map_or(String::new(), |r| {
        format!("<br><span class=\"ci\">{}</span>", summary::ratio_text(&r))
    });
    format!(
        "<td{class} data-v=\"{}\" title=\"{}\"><b>{}</b>{}<br><span class=\"ci\">{ci}</span>\
         {ratio}<br><span class=\"q\">{q}</span>{harm}</td>",
        crate::numbers::exact(Some(d)),
        escape(&decision_cell_title(conds, c, m, k)),
        signed3(d),
        stars(k.p_bh)
    )
}

/// The class attribute of a decision-table cell with difference `d` and BH-adjusted `p_bh`:
/// none unless `p_bh < 0.05`; then `sig better` or `sig worse` for a metric with a better side
/// ([`summary::lower_is_better`]), `sig differs` for the others.
fn highlight(metric: &str, d: f64, p_bh: f64) -> &'static str {
    match (p_bh < 0.05, summary::lower_is_better(metric)) {
        (false, _) => "",
        (true, Some(lower)) if (d < 0.0) == lower => " class=\"sig better\"",
        (true, Some(_)) => " class=\"sig worse\"",
        (true, None) => " class=\"sig differs\"",
    }
}

/// The hover text of a decision-table cell: the difference, the pairing and every p-value.
fn decision_cell_title(conds: &[Condition], c: &Condition, m: &str, k: &Comparison) -> String {
    let (d, _, _, paired) = k.effect();
    let opt = |v: Option<f64>| v.map_or("n/a".to_string(), sig);
    format!(
        "{m}: {} − {} = {} ({}); p ({}) {}; sign-flip p {}; Welch p {}; Holm {}; BH {}{}",
        c.name,
        conds[k.baseline].name,
        signed(d),
        if paired {
            format!("{} seed pairs", k.n_pairs)
        } else {
            format!("{} vs {} runs, unpaired", k.n, k.n_baseline)
        },
        if k.p_test.is_empty() { "–" } else { k.p_test },
        sig(k.p),
        opt(k.sign_flip.map(|f| f.p)),
        opt(k.welch.map(|w| w.p)),
        sig(k.p_holm),
        sig(k.p_bh),
        k.harm_bound()
            .map_or(String::new(), |b| format!("; worst case {}", signed(b)))
    )
}

pub fn folds_block(conds: &[Condition], t: &folds::FoldTable) -> String {
    let short = |span: &str| -> String {
        match span {
            "total" => "1 → last".to_string(),
            "after_tpt" => "TPT → last".to_string(),
            "after_stable_tpt" => "stable TPT → last".to_string(),
            d => d.replace("decay", "decay "),
        }
    };
    let mut header = vec![
        "condition".to_string(),
        "runs".to_string(),
        "stable TPT epoch".to_string(),
    ];
    for m in folds::FOLD_METRICS {
        for n in &t.spans {
            header.push(format!(
                "<span title=\"{}\">{} {}</span>",
                escape(&folds::column(m, n)),
                m.to_uppercase(),
                escape(&short(n))
            ));
        }
    }
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            let c = &conds[r.condition];
            let mut row = vec![
                escape(&c.name),
                format!("<td data-v=\"{}\">{}</td>", c.runs.len(), c.runs.len()),
                format!(
                    "<td data-v=\"{}\">{}</td>",
                    crate::numbers::exact(Some(r.stable_tpt.0)),
                    match r.stable_tpt.1 {
                        0 => "never".to_string(),
                        n if n < c.runs.len() =>
                            format!("{} ({n} of {})", sig(r.stable_tpt.0), c.runs.len()),
                        _ => sig(r.stable_tpt.0),
                    }
                ),
            ];
            for per_metric in &r.values {
                for (v, n) in per_metric {
                    row.push(if *n == 0 {
                        "<td data-v=\"\">–</td>".to_string()
                    } else {
                        format!(
                            "<td data-v=\"{}\">{}×</td>",
                            crate::numbers::exact(Some(*v)),
                            folds::fold_text(*v)
                        )
                    });
                }
            }
            row
        })
        .collect();
    format!(
        "<p>{}</p>\n{}",
        escape(&summary::folds_note(t)),
        html::table_with(&header, &rows, "sortable")
    )
}

pub fn tpt_block(runs: &[Run], conds: &[Condition]) -> String {
    let tpt_rows = tpt::rows(runs, conds);
    let (header, rows) = tpt::text_rows(conds, &tpt_rows);
    let note =
        tpt::analyses_note(&tpt_rows).map_or(String::new(), |n| format!("<p>{}</p>\n", escape(n)));
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.iter().map(|c| escape(c)).collect())
        .collect();
    let header: Vec<String> = header.iter().map(|h| escape(h)).collect();
    format!(
        "<p>The terminal phase of training (TPT) starts at the first epoch with zero training \
         error. TPT epochs: the mean (range) over the runs that reach it; the stable TPT is the \
         first epoch from which training error stays 0. Wall time and the share of it outside \
         the training steps (analysis, data, checkpoints, start-up) from summary.json.</p>\n{}{note}",
        html::table(&header, &rows)
    )
}

pub fn runs_block(runs: &[Run], conds: &[Condition]) -> String {
    let header: Vec<String> = [
        "id",
        "condition",
        "config entries that differ",
        "seed",
        "status",
        "epochs",
        "stable TPT",
        "run directory",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = Vec::new();
    for c in conds {
        for &i in c.runs.iter().chain(&c.diverged) {
            let r = &runs[i];
            let status = if r.diverged() {
                format!(
                    "<td class=\"warn\"><b>diverged</b>{}</td>",
                    escape(&summary::diverged_epoch(r))
                )
            } else {
                r.status().to_string()
            };
            rows.push(vec![
                escape(&c.id),
                escape(&c.name),
                escape(&c.label),
                r.seed().map_or("?".into(), |s| s.to_string()),
                status,
                r.metrics
                    .epochs
                    .last()
                    .map_or(String::new(), |e| e.to_string()),
                r.stable_tpt_epoch()
                    .map_or("–".to_string(), |e| e.to_string()),
                format!("<code>{}</code>", escape(&r.dir.display().to_string())),
            ]);
        }
    }
    let grouping = "Runs are grouped by their config.toml without the seed (and without name, \
                    device, threads and data.root) unless --group-by names a key; runs that \
                    differ in data.name, model.kind, optim.epochs, data.per_class or \
                    data.test_per_class are never pooled without --allow-mixed. A condition's \
                    name is the sweep's variant name when its runs come from a sweep, else the \
                    config entries that differ in short.";
    format!("<p>{grouping}</p>\n{}", html::table(&header, &rows))
}

pub fn summary_block(
    runs: &[Run],
    conds: &[Condition],
    metrics: &[String],
    floors: &[Option<Floors>],
) -> String {
    let shown: Vec<&String> = metrics
        .iter()
        .filter(|m| summary::KEY_METRICS.contains(&m.as_str()))
        .collect();
    let mut header = vec![
        "id".to_string(),
        "condition".to_string(),
        "runs".to_string(),
    ];
    header.extend(shown.iter().map(|m| escape(m)));
    let rows: Vec<Vec<String>> = conds
        .iter()
        .map(|c| {
            let mut row = vec![escape(&c.id), escape(&c.name), c.runs.len().to_string()];
            for m in &shown {
                let cell = summary::cell(runs, c, m);
                let text = match cell.n {
                    0 => "–".into(),
                    1 => sig(cell.mean),
                    _ => format!("{} ± {}", sig(cell.mean), sig(cell.sd)),
                };
                row.push(format!(
                    "<td data-v=\"{}\">{text}</td>",
                    crate::numbers::exact(Some(cell.mean))
                ));
            }
            row
        })
        .collect();
    let note = floors::note(conds, floors, metrics, |t| {
        format!("<code>{}</code>", escape(t))
    })
    .map_or(String::new(), |n| format!("<p>{n}</p>\n"));
    format!(
        "<p>Mean ± sd (n−1 divisor) over the runs of each condition, at each run's last \
         analysis epoch. All metrics are in <a href=\"summary.csv\">summary.csv</a>.</p>\n{}{note}",
        html::table_with(&header, &rows, "sortable")
    )
}

/// What a new sample of test images would add ([`test_images::table`]); `None` without a term.
pub fn test_images_block(conds: &[Condition], comps: &[Comparison]) -> Option<String> {
    let rows = test_images::table(conds, comps)?;
    let header: Vec<String> = test_images::HEADER.iter().map(|h| escape(h)).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| escape(c)).collect())
        .collect();
    Some(format!(
        "<p>{}</p>\n{}",
        escape(test_images::NOTE),
        html::table_with(&header, &rows, "sortable")
    ))
}

pub fn comparison_block(conds: &[Condition], comps: &[Comparison]) -> String {
    if comps.is_empty() {
        return "<p>No comparison: no non-CE condition has a CE condition of the same dataset \
                and model.</p>"
            .into();
    }
    let header: Vec<String> = [
        "condition",
        "baseline",
        "metric",
        "n vs n",
        "pairs",
        "diff",
        "95% CI",
        "worst case",
        "p (paired t)",
        "p (sign-flip)",
        "p (Welch t)",
        "p (Mann–Whitney)",
        "p Holm",
        "p BH",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let num = |v: f64, text: String| {
        format!(
            "<td data-v=\"{}\">{text}</td>",
            crate::numbers::exact(Some(v))
        )
    };
    let opt = |v: Option<f64>| num(v.unwrap_or(f64::NAN), v.map_or("n/a".into(), sig));
    let rows: Vec<Vec<String>> = comps
        .iter()
        .filter(|c| summary::KEY_METRICS.contains(&c.metric.as_str()) || c.in_family)
        .map(|c| {
            let (d, lo, hi, _) = c.effect();
            vec![
                escape(&conds[c.condition].name),
                escape(&summary::against(conds, c)),
                escape(&c.metric),
                format!("{} vs {}", c.n, c.n_baseline),
                c.n_pairs.to_string(),
                num(d, signed(d)),
                escape(&summary::interval(lo, hi)),
                // The worst case is a difference: signed, and "–" (not a test: nothing to be
                // n/a) where the metric has no side of harm, as in summary.md.
                num(
                    c.harm_bound().unwrap_or(f64::NAN),
                    c.harm_bound().map_or("–".into(), signed),
                ),
                opt(c.paired.map(|t| t.p)),
                opt(c.sign_flip.map(|f| f.p)),
                opt(c.welch.map(|w| w.p)),
                opt(c.mann_whitney.map(|m| m.p)),
                num(c.p_holm, sig(c.p_holm)),
                num(c.p_bh, format!("{}{}", sig(c.p_bh), stars(c.p_bh))),
            ]
        })
        .collect();
    format!(
        "<p>diff: the mean paired difference (runs paired by seed: same data subset and \
         initialisation) with its 95% t interval; without pairs the difference of means with \
         Welch's interval. Worst case: for errors and severities, the interval's bound on the \
         side of harm, the largest rise the data still allow at 95% (\"no worse than this\"; \
         \"worse\" or \"better\" when the whole interval lies on one side of 0; the interval is \
         not adjusted for the multiple comparisons, the stars are). \
         p (paired t): the paired t-test (df = pairs − 1), n/a with fewer than 2 pairs or \
         differences without spread; p (sign-flip): the exact sign-flip permutation test of \
         the paired differences (all 2^n sign patterns), defined for a constant difference too. \
         Welch's t-test (Welch–Satterthwaite df) needs at least 2 runs a side; the Mann–Whitney \
         U test (exact without ties) is given from 3 runs a side, since with 2 against 2 its \
         p-value cannot go below 1/3. Holm and BH: adjusted in the row's family (the family \
         note above: a grid's comparisons with CE, or the contrasts, marked \"(contrast)\"). n/a: not computable with these runs. Every metric is in \
         <a href=\"comparisons.csv\">comparisons.csv</a>.</p>\n{}",
        html::table_with(&header, &rows, "sortable")
    )
}

#[cfg(test)]
mod tests {
    use super::highlight;

    #[test]
    fn cells_are_coloured_by_benefit_where_a_metric_has_a_better_side() {
        // Lower error is better, higher accuracy is better.
        assert_eq!(
            highlight("top1_error", -0.01, 0.01),
            " class=\"sig better\""
        );
        assert_eq!(highlight("top1_error", 0.003, 0.03), " class=\"sig worse\"");
        assert_eq!(highlight("test_acc", 0.003, 0.03), " class=\"sig better\"");
        assert_eq!(highlight("test_acc", -0.003, 0.03), " class=\"sig worse\"");
        // NC2 has no better side: a significant difference either way is only "different".
        assert_eq!(highlight("nc2", 0.45, 0.0001), " class=\"sig differs\"");
        assert_eq!(highlight("nc2", -0.18, 0.004), " class=\"sig differs\"");
        // Not significant after the correction (or undefined): no colour.
        assert_eq!(highlight("top1_error", 0.003, 0.07), "");
        assert_eq!(highlight("nc1", -0.02, f64::NAN), "");
    }
}
