//! The plain-text tables `nclab sweep` prints: the plan (`--dry-run`) and the summary at the
//! end. Columns are left-aligned and padded to their widest cell.

use super::exec::CellReport;
use super::plan::{CellState, PlannedCell};

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
            fin("nc1").map_or("-".into(), |v| format!("{v:.3e}")),
            field("wall_time_s")
                .and_then(|v| v.as_f64())
                .map_or("-".into(), |v| format!("{v:.1}")),
        ]);
    }
    layout(&rows)
}
