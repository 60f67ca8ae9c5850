//! When the terminal phase starts, and what a run costs, per condition: the first epoch with
//! zero training error (`tpt_epoch`) and the stable TPT epoch (from which it stays zero), each
//! as the mean over the runs that reach it with its range; how many runs reach TPT before the
//! first learning-rate decay; the mean wall time per run and the share of it outside the
//! training steps (analysis, data, checkpoints, start-up: `overhead_share` of summary.json).

use nclab_core::stats;

use super::conditions::Condition;
use super::runs::Run;

/// An epoch or a mean of epochs: whole numbers as such (`43`), others to one decimal (`42.3`).
pub fn epoch_text(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Mean, smallest and largest of some runs' values, and how many runs have one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub n: usize,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Spread {
        Spread {
            n: values.len(),
            mean: stats::mean(values),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    /// `mean (min–max)`, `never` without values, `k of n: ...` when only some runs have one.
    pub fn text(&self, runs: usize) -> String {
        if self.n == 0 {
            return "never".into();
        }
        let range = if self.min == self.max {
            epoch_text(self.mean)
        } else {
            format!(
                "{} ({}–{})",
                epoch_text(self.mean),
                epoch_text(self.min),
                epoch_text(self.max)
            )
        };
        if self.n < runs {
            format!("{} of {runs}: {range}", self.n)
        } else {
            range
        }
    }
}

/// One condition's row.
#[derive(Debug, Clone, PartialEq)]
pub struct TptRow {
    pub condition: usize,
    pub tpt: Spread,
    pub stable_tpt: Spread,
    /// How many of the stable TPT epochs are dated from the analysis epochs
    /// ([`Run::stable_tpt_from_analyses`]).
    pub stable_tpt_from_analyses: usize,
    /// Runs whose `tpt_epoch` comes before the first decay, and runs for which that is known.
    pub before_decay: (usize, usize),
    pub wall_s: Spread,
    pub overhead_share: Spread,
}

/// Whether a run reached TPT before its first decay: `tpt_epoch < D_1` when both are known,
/// else summary.json's `reached_tpt_before_first_decay`; `None` when neither says.
fn before_first_decay(run: &Run) -> Option<bool> {
    let tpt = run.final_value("tpt_epoch");
    match (tpt, run.decay_epochs().first()) {
        (Some(t), Some(&d)) => Some(t < d as f64),
        (None, Some(_)) if run.summary.is_some() => Some(false),
        _ => run
            .summary
            .as_ref()?
            .get("reached_tpt_before_first_decay")?
            .as_bool(),
    }
}

/// The rows of every condition, in condition order (diverged runs are not counted).
pub fn rows(runs: &[Run], conditions: &[Condition]) -> Vec<TptRow> {
    conditions
        .iter()
        .enumerate()
        .map(|(ci, c)| {
            let values = |name: &str| -> Vec<f64> {
                c.runs
                    .iter()
                    .filter_map(|&i| runs[i].final_value(name))
                    .filter(|v| v.is_finite())
                    .collect()
            };
            let known: Vec<bool> = c
                .runs
                .iter()
                .filter_map(|&i| before_first_decay(&runs[i]))
                .collect();
            TptRow {
                condition: ci,
                tpt: Spread::of(&values("tpt_epoch")),
                stable_tpt: Spread::of(&values("stable_tpt_epoch")),
                stable_tpt_from_analyses: c
                    .runs
                    .iter()
                    .filter(|&&i| runs[i].stable_tpt_from_analyses())
                    .count(),
                before_decay: (known.iter().filter(|&&b| b).count(), known.len()),
                wall_s: Spread::of(&values("wall_time_s")),
                overhead_share: Spread::of(&values("overhead_share")),
            }
        })
        .collect()
}

/// The note under the table when some stable TPT epoch is dated from the analysis epochs.
pub fn analyses_note(rows: &[TptRow]) -> Option<&'static str> {
    rows.iter()
        .any(|r| r.stable_tpt_from_analyses > 0)
        .then_some(
            "* Runs of an older nclab, whose summary.json has no stable_tpt_epoch: dated from the \
         analysis epochs (the first of the final streak of analyses with zero training error), \
         which can be later than the trainer's own check by up to the spacing of the analyses, \
         and misses a return of training errors between two analyses.",
        )
}

/// The table as text cells (header first) for Markdown and HTML.
pub fn text_rows(conditions: &[Condition], rows: &[TptRow]) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "condition",
        "runs",
        "TPT epoch (first zero training error)",
        "stable TPT epoch",
        "TPT before the 1st decay",
        "wall s per run",
        "outside training steps",
    ]
    .map(str::to_string)
    .to_vec();
    let body = rows
        .iter()
        .map(|r| {
            let c = &conditions[r.condition];
            let n = c.runs.len();
            vec![
                c.name.clone(),
                n.to_string(),
                r.tpt.text(n),
                match r.stable_tpt_from_analyses {
                    0 => r.stable_tpt.text(n),
                    k => format!("{}, {k} dated from analyses*", r.stable_tpt.text(n)),
                },
                match r.before_decay {
                    (_, 0) => "–".to_string(),
                    (k, m) => format!("{k} of {m}"),
                },
                match r.wall_s.mean {
                    _ if r.wall_s.n == 0 => "–".into(),
                    // Whole seconds, but for runs of seconds (a toy run is not "0 s").
                    s if s < 10.0 => crate::numbers::significant(Some(s), 2),
                    s => format!("{s:.0}"),
                },
                if r.overhead_share.n == 0 {
                    "–".into()
                } else {
                    format!("{:.1}%", 100.0 * r.overhead_share.mean)
                },
            ]
        })
        .collect();
    (header, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(summary: serde_json::Value) -> Run {
        Run {
            dir: "r".into(),
            config: Default::default(),
            // Training accuracy 1 from the analysis at epoch 4 on.
            metrics: crate::report::runs::parse_metrics_csv(
                "epoch,train_acc\n1,0.9\n2,1\n3,0.99\n4,1\n8,1\n",
            )
            .unwrap(),
            summary: Some(summary),
            layers: None,
            predictions: None,
        }
    }

    #[test]
    fn stable_tpt_epochs_dated_from_the_analyses_are_counted_and_noted() {
        let runs = vec![
            run(serde_json::json!({"status": "finished", "stable_tpt_epoch": 3})),
            run(serde_json::json!({"status": "finished"})),
        ];
        assert!(!runs[0].stable_tpt_from_analyses());
        assert!(runs[1].stable_tpt_from_analyses());
        assert_eq!(runs[1].stable_tpt_epoch(), Some(4.0));
        let c = crate::report::conditions::test_condition("x", vec![0, 1]);
        let rows = rows(&runs, std::slice::from_ref(&c));
        assert_eq!(rows[0].stable_tpt_from_analyses, 1);
        let (_, text) = text_rows(&[c], &rows);
        assert_eq!(text[0][3], "3.5 (3–4), 1 dated from analyses*");
        assert!(analyses_note(&rows).is_some());
        // A recorded null (never stable) is not dated from the analyses.
        assert!(!run(serde_json::json!({"stable_tpt_epoch": null})).stable_tpt_from_analyses());
    }

    #[test]
    fn spreads_say_how_many_runs_have_a_value() {
        // TPT epochs 37, 51, 41 -> mean 43, range 37-51; 37, 51, 39 -> mean 42.33.
        let s = Spread::of(&[37.0, 51.0, 41.0]);
        assert_eq!(s.text(3), "43 (37–51)");
        assert_eq!(s.text(4), "3 of 4: 43 (37–51)");
        assert_eq!(Spread::of(&[37.0, 51.0, 39.0]).text(3), "42.3 (37–51)");
        assert_eq!(Spread::of(&[12.0]).text(1), "12");
        assert_eq!(Spread::of(&[]).text(2), "never");
    }
}
