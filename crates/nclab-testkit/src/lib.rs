//! Fixtures shared by the test suites of the nclab crates (a dev-dependency only): scratch
//! folders and the tiny training config the trainer, sweep and report tests run.

use std::collections::BTreeMap;
use std::path::Path;

/// A training config that runs in well under a second on one CPU thread: a tiny MLP
/// (widths 16, 12) on a synthetic Gaussian mixture of 4 classes in 8 dimensions, 16 training
/// samples per class (batch 16: 4 steps an epoch) and 8 test samples per class, 3 epochs, every
/// epoch analysed.
pub const TINY_CONFIG: &str = r#"
name = "tiny"
seed = 3
device = "cpu"
threads = 1
hierarchy = "flat"
[data]
name = "synthetic"
classes = 4
dim = 8
per_class = 16
test_per_class = 8
[model]
kind = "mlp"
widths = [16, 12]
[optim]
lr = 0.05
batch_size = 16
epochs = 3
[analysis]
epochs = "all"
"#;

/// A scratch folder for one test, `<temp>/nclab-<name>-<random>`: created empty, and removed
/// with everything in it when the value is dropped (also when the test fails). It reads as a
/// [`Path`] (`dir.join(..)`, `&dir`).
pub struct Scratch(tempfile::TempDir);

/// A fresh [`Scratch`] folder; `name` says which test it belongs to.
pub fn scratch(name: &str) -> Scratch {
    let dir = tempfile::Builder::new()
        .prefix(&format!("nclab-{name}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a scratch folder for {name}: {e}"));
    Scratch(dir)
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

/// The rows of a CSV file as column -> cell maps, read without nclab's own CSV code (so that a
/// test of what nclab writes does not lean on nclab's reader): each line split at the commas
/// outside double quotes, the quotes dropped. Panics, naming the line, when a row's cells
/// are not as many as the header's.
pub fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header = split_csv_line(lines.next().unwrap_or(""));
    lines
        .map(|l| {
            let cells = split_csv_line(l);
            assert_eq!(cells.len(), header.len(), "{l}");
            header.iter().cloned().zip(cells).collect()
        })
        .collect()
}

/// The fields of one CSV line: split at commas outside double quotes, the quotes dropped.
fn split_csv_line(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let (mut cur, mut quoted) = (String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    cells.push(cur);
    cells
}

/// The cell `key` of a [`read_csv`] row as a number; panics, naming the key and the cell,
/// when it is not one.
pub fn number_at(row: &BTreeMap<String, String>, key: &str) -> f64 {
    row[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} = {:?}", row[key]))
}

/// Makes a named pipe at `path` (with `mkfifo`), for the tests that check that nclab refuses
/// one instead of blocking on it.
pub fn fifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap_or_else(|e| panic!("cannot run mkfifo: {e}"));
    assert!(made.success(), "mkfifo {} failed", path.display());
}
