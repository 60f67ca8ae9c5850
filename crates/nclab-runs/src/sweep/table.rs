//! The plain-text tables `nclab sweep` prints: the plan (`--dry-run`) and the summary at the
//! end. Columns are left-aligned and padded to their widest cell.

use super::exec::CellReport;
use super::plan::{CellState, PlannedCell};
use crate::numbers;

/// Lays out rows (the first is the header) as padded columns separated by two spaces.
pub fn layout(rows: &[Vec<String>]) -> String {
    let ncol = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..ncol)
        .map(|j| {
            rows.iter()
                .map(|r| r.get(j).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (j, c) in r.iter().enumerate() {
            if j + 1 < r.len() {
                line.push_str(&format!("{c:<w$}  ", w = widths[j]));
            } else {
                line.push_str(c);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Counts of the states, as `2 new, 1 resume, 3 done` (states with no cell left out).
pub fn state_counts(cells: &[PlannedCell]) -> String {
    let order = ["new", "resume", "done", "diverged", "blocked"];
    order
        .iter()
        .filter_map(|w| {
            let n = cells.iter().filter(|c| c.state.to_string() == *w).count();
            (n > 0).then(|| format!("{n} {w}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `--dry-run` listing: one line per cell with its state and overrides, then the reasons
/// of blocked cells.
pub fn plan_table(cells: &[PlannedCell]) -> String {
    let mut rows = vec![vec![
        "cell".to_string(),
        "state".to_string(),
        "overrides".to_string(),
    ]];
    for c in cells {
        rows.push(vec![
            c.cell.name.clone(),
            c.state.to_string(),
            c.cell.overrides.join(" "),
        ]);
    }
    let mut out = layout(&rows);
    for c in cells {
        if let CellState::Blocked(why) = &c.state {
            out.push_str(&format!("blocked {}: {why}\n", c.cell.name));
        }
    }
    out
}

/// The summary at the end: per cell its result, epochs, TPT epoch, final test accuracy and
/// NC1, and wall time, read from its `summary.json` (`-` where there is none).
pub fn summary_table(reports: &[CellReport]) -> String {
    let mut rows = vec![[
        "cell", "result", "epochs", "tpt", "test_acc", "nc1", "wall_s",
    ]
    .map(String::from)
    .to_vec()];
    for r in reports {
        let s = r.summary.as_ref();
        let field = |k: &str| s.and_then(|s| s.get(k)).filter(|v| !v.is_null());
        let fin = |k: &str| {
            s.and_then(|s| s.get("final"))
                .and_then(|f| f.get(k))
                .and_then(|v| v.as_f64())
        };
        rows.push(vec![
            r.name.clone(),
            r.outcome.word(),
            field("epochs").map_or("-".into(), |v| v.to_string()),
            field("tpt_epoch").map_or("-".into(), |v| v.to_string()),
            fin("test_acc").map_or("-".into(), |v| format!("{v:.4}")),
            fin("nc1").map_or("-".into(), |v| numbers::scientific(Some(v), 3)),
            field("wall_time_s")
                .and_then(|v| v.as_f64())
                .map_or("-".into(), |v| format!("{v:.1}")),
        ]);
    }
    layout(&rows)
}

/// The sweep's total training throughput: the training images of the cells trained in this
/// sweep (`train_images_per_s * train_steps_s` of each `summary.json`; the caller leaves out
/// resumed cells, whose summaries also count their earlier part) over the sweep's wall time
/// `wall_s`, the number to compare when several runs share one GPU (`--jobs N`). `None` when
/// no cell trained.
pub fn throughput_line(reports: &[CellReport], jobs: usize, wall_s: f64) -> Option<String> {
    let trained: Vec<f64> = reports
        .iter()
        .filter(|r| r.seconds > 0.0)
        .filter_map(|r| {
            let s = r.summary.as_ref()?;
            let rate = s.get("train_images_per_s")?.as_f64()?;
            let secs = s.get("train_steps_s")?.as_f64()?;
            Some(rate * secs)
        })
        .collect();
    if trained.is_empty() || wall_s <= 0.0 {
        return None;
    }
    let images: f64 = trained.iter().sum();
    Some(format!(
        "throughput: {:.0} training images/s over the sweep ({} run{} trained, {jobs} at a time, \
         {images:.0} images in {wall_s:.1} s)",
        images / wall_s,
        trained.len(),
        if trained.len() == 1 { "" } else { "s" },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::exec::Outcome;

    fn report(seconds: f64, rate: f64, steps_s: f64) -> CellReport {
        CellReport {
            name: "c".into(),
            outcome: Outcome::Finished,
            summary: Some(serde_json::json!({
                "train_images_per_s": rate,
                "train_steps_s": steps_s,
            })),
            seconds,
        }
    }

    #[test]
    fn throughput_counts_the_images_trained_in_this_sweep() {
        // 100 img/s for 2 s + 50 img/s for 4 s = 400 images; the skipped cell (0 s) is not
        // counted; over 4 s of wall time: 100 images/s.
        let reports = [
            report(3.0, 100.0, 2.0),
            report(4.0, 50.0, 4.0),
            report(0.0, 1e6, 1.0),
        ];
        let line = throughput_line(&reports, 2, 4.0).unwrap();
        assert!(
            line.starts_with("throughput: 100 training images/s"),
            "{line}"
        );
        assert!(
            line.contains("(2 runs trained, 2 at a time, 400 images in 4.0 s)"),
            "{line}"
        );
        assert_eq!(throughput_line(&reports[2..], 1, 4.0), None);
    }
}
