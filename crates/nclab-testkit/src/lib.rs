//! Fixtures shared by the test suites of the nclab crates (a dev-dependency only): scratch
//! folders and the tiny training config the trainer, sweep and report tests run.

use std::path::PathBuf;

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

/// A fresh, empty directory `<temp>/nclab-<suite>-<name>-<pid>` (removed first if it exists).
pub fn fresh_dir(suite: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nclab-{suite}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
