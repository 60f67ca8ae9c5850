//! Collapse during the terminal phase: by how many times NC1, NC2 and NC3 fall over spans of
//! training, per run, and their mean over the runs (seeds) of a condition.
//!
//! A fold over a span is `value at its start / value at its end` (10 = a tenfold fall, 1 = no
//! change, below 1 = a rise), both read at analysis epochs of `metrics.csv`. The spans:
//! * `total`: the first analysis epoch (epoch 1 in the study's schedules) to the last;
//! * `after_tpt`: the first analysis epoch at or after the run's TPT epoch ([`Run::tpt_epoch`]:
//!   the first epoch with zero training error, where Papyan, Han and Donoho 2020 start the
//!   terminal phase) to the last; undefined without one;
//! * `after_stable_tpt`: the first analysis epoch at or after the run's stable TPT epoch
//!   ([`Run::stable_tpt_epoch`]) to the last; undefined without a stable TPT;
//! * `decay<k>`: across the k-th learning-rate decay at epoch `D_k` (counted from 1,
//!   [`Run::decay_epochs`]): the last analysis epoch before `D_k` to the last analysis epoch of
//!   the phase that `D_k` starts (epochs `D_k` to `D_{k+1} - 1`, or to the run's last epoch).
//!
//! A fold is undefined (an empty cell) when either value is missing or not finite, the end
//! value is not positive, or the span starts at its end (a TPT at the last analysis).

use super::conditions::Condition;
use super::runs::Run;
use super::summary::sig;
use crate::{csv_text, numbers};

/// The metrics whose folds are reported.
pub const FOLD_METRICS: &[&str] = &["nc1", "nc2", "nc3"];

/// One span of one run: its name and the analysis epochs it compares.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub name: String,
    pub from: Option<f64>,
    pub to: Option<f64>,
}

/// What each span compares, for the page and summary.md.
pub fn describe_span(name: &str) -> String {
    match name {
        "total" => "first analysis epoch (epoch 1) → last epoch".to_string(),
        "after_tpt" => "first analysis epoch at or after the TPT epoch (the first with zero \
                        training error) → last epoch"
            .to_string(),
        "after_stable_tpt" => {
            "first analysis epoch at or after the stable TPT epoch → last epoch".to_string()
        }
        d => match d.strip_prefix("decay") {
            Some(k) => format!(
                "learning-rate decay {k}: last analysis epoch before it → last analysis epoch \
                 of the phase it starts"
            ),
            None => d.to_string(),
        },
    }
}

/// The spans of a run, in the order `total`, `after_tpt`, `after_stable_tpt`, `decay1`,
/// `decay2`, ...
pub fn spans(run: &Run) -> Vec<Span> {
    let epochs = &run.metrics.epochs;
    let last = epochs.last().copied();
    let analysed_from =
        |start: Option<f64>| start.and_then(|s| epochs.iter().copied().find(|&e| e >= s));
    let mut out = vec![
        Span {
            name: "total".into(),
            from: epochs.first().copied(),
            to: last,
        },
        Span {
            name: "after_tpt".into(),
            from: analysed_from(run.tpt_epoch()),
            to: last,
        },
        Span {
            name: "after_stable_tpt".into(),
            from: analysed_from(run.stable_tpt_epoch()),
            to: last,
        },
    ];
    let decays = run.decay_epochs();
    let planned = run
        .config_str("optim.epochs")
        .and_then(|e| e.parse::<f64>().ok())
        .or(last)
        .unwrap_or(f64::INFINITY);
    for (k, &d) in decays.iter().enumerate() {
        let d = d as f64;
        let phase_end = decays.get(k + 1).map_or(planned, |&n| n as f64 - 1.0);
        out.push(Span {
            name: format!("decay{}", k + 1),
            from: epochs.iter().copied().rev().find(|&e| e < d),
            to: epochs
                .iter()
                .copied()
                .rev()
                .find(|&e| e >= d && e <= phase_end),
        });
    }
    out
}

/// `value(from) / value(to)` of `metric` over a span; see the module documentation.
pub fn fold(run: &Run, metric: &str, span: &Span) -> Option<f64> {
    let series = run.metrics.series(metric);
    let at = |e: Option<f64>| -> Option<f64> {
        let e = e?;
        series
            .iter()
            .find(|(x, _)| *x == e)
            .map(|&(_, v)| v)
            .filter(|v| v.is_finite())
    };
    // A span of no epochs (it starts at the last analysis) shows no change, not a fold of 1.
    if span.from == span.to {
        return None;
    }
    let (a, b) = (at(span.from)?, at(span.to)?);
    (b > 0.0).then_some(a / b)
}

/// The column name of a fold: `nc1_fold_total`, `nc1_fold_decay1`, ...
pub fn column(metric: &str, span: &str) -> String {
    format!("{metric}_fold_{span}")
}

/// One condition's row: the mean fold over its runs for each metric and span.
#[derive(Debug, Clone)]
pub struct FoldRow {
    pub condition: usize,
    /// Mean stable TPT epoch over the runs that have one, and how many have one.
    pub stable_tpt: (f64, usize),
    /// Per span (in [`FoldTable::spans`] order): the epochs it compares when every run of the
    /// condition compares the same ones.
    pub epochs: Vec<(Option<f64>, Option<f64>)>,
    /// `values[m][s]`: mean over runs of the fold of `FOLD_METRICS[m]` over span `s`, and the
    /// number of runs with that fold defined.
    pub values: Vec<Vec<(f64, usize)>>,
}

/// The fold table of a report.
#[derive(Debug, Clone)]
pub struct FoldTable {
    /// Span names: `total`, `after_tpt`, `after_stable_tpt`, then `decay1`... up to the most
    /// decays of any run.
    pub spans: Vec<String>,
    pub rows: Vec<FoldRow>,
}

impl FoldTable {
    pub fn new(runs: &[Run], conditions: &[Condition]) -> FoldTable {
        let per_run: Vec<Vec<Span>> = runs.iter().map(spans).collect();
        let mut names: Vec<String> = ["total", "after_tpt", "after_stable_tpt"]
            .map(String::from)
            .to_vec();
        for s in per_run.iter().flatten() {
            if !names.contains(&s.name) {
                names.push(s.name.clone());
            }
        }
        let rows = conditions
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                let tpts: Vec<f64> = c
                    .runs
                    .iter()
                    .filter_map(|&i| runs[i].stable_tpt_epoch())
                    .collect();
                let span_of = |i: usize, name: &str| per_run[i].iter().find(|s| s.name == name);
                let epochs = names
                    .iter()
                    .map(|n| {
                        let mut it = c
                            .runs
                            .iter()
                            .map(|&i| span_of(i, n).map_or((None, None), |s| (s.from, s.to)));
                        let first = it.next().unwrap_or((None, None));
                        if it.all(|e| e == first) {
                            first
                        } else {
                            (None, None)
                        }
                    })
                    .collect();
                let values = FOLD_METRICS
                    .iter()
                    .map(|m| {
                        names
                            .iter()
                            .map(|n| {
                                let v: Vec<f64> = c
                                    .runs
                                    .iter()
                                    .filter_map(|&i| fold(&runs[i], m, span_of(i, n)?))
                                    .collect();
                                (nclab_core::stats::mean(&v), v.len())
                            })
                            .collect()
                    })
                    .collect();
                FoldRow {
                    condition: ci,
                    stable_tpt: (nclab_core::stats::mean(&tpts), tpts.len()),
                    epochs,
                    values,
                }
            })
            .collect();
        FoldTable { spans: names, rows }
    }

    /// `folds.csv`: one row per condition (`condition,name,id,runs,stable_tpt_epoch_mean,
    /// stable_tpt_epoch_n`), then for each span `<span>_from_epoch,<span>_to_epoch` (empty
    /// when the runs compare different epochs), then for each metric and span
    /// `<metric>_fold_<span>` (mean over runs) and `<metric>_fold_<span>_n`.
    pub fn csv(&self, conditions: &[Condition]) -> String {
        let mut header: Vec<String> = [
            "condition",
            "name",
            "id",
            "runs",
            "stable_tpt_epoch_mean",
            "stable_tpt_epoch_n",
        ]
        .map(String::from)
        .to_vec();
        for n in &self.spans {
            header.extend([format!("{n}_from_epoch"), format!("{n}_to_epoch")]);
        }
        for m in FOLD_METRICS {
            for n in &self.spans {
                let col = column(m, n);
                let count = format!("{col}_n");
                header.extend([col, count]);
            }
        }
        let rows = self.rows.iter().map(|r| {
            let c = &conditions[r.condition];
            let mut f = vec![
                c.label.clone(),
                c.name.clone(),
                c.id.clone(),
                c.runs.len().to_string(),
                numbers::exact(Some(r.stable_tpt.0)),
                r.stable_tpt.1.to_string(),
            ];
            for (a, b) in &r.epochs {
                f.push(numbers::exact(*a));
                f.push(numbers::exact(*b));
            }
            for per_metric in &r.values {
                for (v, n) in per_metric {
                    f.push(numbers::exact(Some(*v)));
                    f.push(n.to_string());
                }
            }
            f
        });
        csv_text::write(std::iter::once(header).chain(rows))
    }

    /// The table as rows of text cells (header first) for Markdown and HTML: condition, runs,
    /// stable TPT, then a fold column per metric and span (`12.3×`, `–` when undefined).
    pub fn text_rows(&self, conditions: &[Condition]) -> (Vec<String>, Vec<Vec<String>>) {
        let mut header = vec![
            "condition".to_string(),
            "runs".to_string(),
            "stable TPT epoch".to_string(),
        ];
        for m in FOLD_METRICS {
            for n in &self.spans {
                header.push(column(m, n));
            }
        }
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let c = &conditions[r.condition];
                let mut row = vec![
                    c.name.clone(),
                    c.runs.len().to_string(),
                    if r.stable_tpt.1 == 0 {
                        "never".to_string()
                    } else if r.stable_tpt.1 < c.runs.len() {
                        format!(
                            "{} ({} of {})",
                            sig(r.stable_tpt.0),
                            r.stable_tpt.1,
                            c.runs.len()
                        )
                    } else {
                        sig(r.stable_tpt.0)
                    },
                ];
                for per_metric in &r.values {
                    for (v, n) in per_metric {
                        row.push(if *n == 0 {
                            "–".to_string()
                        } else {
                            format!("{}×", fold_text(*v))
                        });
                    }
                }
                row
            })
            .collect();
        (header, rows)
    }

    /// The epochs each span compares, when every run of the report agrees (`106 → 220`), for
    /// the legend under the table.
    pub fn span_epochs(&self, span: usize) -> Option<(f64, f64)> {
        let mut it = self.rows.iter().map(|r| r.epochs[span]);
        let first = it.next()?;
        match first {
            (Some(a), Some(b)) if it.all(|e| e == first) => Some((a, b)),
            _ => None,
        }
    }
}

/// A fold in 3 significant digits (`12.3`, `1.05`, `250`).
pub fn fold_text(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        numbers::significant(Some(v), 3)
    }
}
