//! What a training run prints: an indicatif bar per epoch (running loss, accuracy and images/s)
//! on a terminal, and a one-line table row at each analysis epoch. With `quiet` there are no
//! bars, only the plain table rows, which suits log files.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use nclab_runs::run_dir::Row;

/// The columns of the one-line table, as `(metric, header, width)`.
const TABLE: [(&str, &str, usize); 10] = [
    ("epoch", "epoch", 6),
    ("lr", "lr", 9),
    ("train_loss", "loss", 9),
    ("train_acc", "train_acc", 9),
    ("test_acc", "test_acc", 9),
    ("nc1", "NC1", 10),
    ("nc2", "NC2", 9),
    ("nc3", "NC3", 9),
    ("nc4", "NC4", 9),
    ("elapsed_s", "time_s", 8),
];

/// Prints a run's progress.
pub struct Reporter {
    quiet: bool,
    bar: Option<ProgressBar>,
    started: Instant,
    header_done: bool,
}

impl Reporter {
    pub fn new(quiet: bool) -> Self {
        Reporter {
            quiet,
            bar: None,
            started: Instant::now(),
            header_done: false,
        }
    }

    /// A line of text (above the bar, if one is shown).
    /// Whether progress bars and rows are off.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// Starts the bar of `epoch` (of `epochs`), `steps` steps long.
    pub fn start_epoch(&mut self, epoch: usize, epochs: usize, steps: u64) {
        self.started = Instant::now();
        if self.quiet {
            return;
        }
        let bar = ProgressBar::new(steps);
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("epoch {epoch}/{epochs}"));
        self.bar = Some(bar);
    }

    /// Updates the bar after `step` steps with the running loss and accuracy.
    pub fn step(&self, step: u64, images: u64, loss: f64, accuracy: f64) {
        if let Some(bar) = &self.bar {
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            bar.set_position(step);
            bar.set_message(format!(
                "loss {loss:.4} acc {:.2}% {:.0} img/s",
                100.0 * accuracy,
                images as f64 / secs
            ));
        }
    }

    /// Clears the epoch's bar.
    pub fn finish_epoch(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    /// Prints the table row of an analysis epoch (and the header before the first one).
    pub fn analysis_row(&mut self, row: &Row) {
        if !self.header_done {
            let header: Vec<String> = TABLE
                .iter()
                .map(|(_, h, w)| format!("{h:>w$}", w = *w))
                .collect();
            self.line(&header.join(" "));
            self.header_done = true;
        }
        let cells: Vec<String> = TABLE
            .iter()
            .map(|(key, _, w)| {
                let v = row.iter().find(|(k, _)| k == key).and_then(|(_, v)| *v);
                let text = match (*key, v) {
                    (_, None) => "-".to_string(),
                    ("epoch", Some(v)) => format!("{}", v as i64),
                    ("elapsed_s", Some(v)) => format!("{v:.1}"),
                    ("train_acc" | "test_acc", Some(v)) => format!("{:.2}%", 100.0 * v),
                    (_, v) => nclab_runs::numbers::scientific(v, 3),
                };
                format!("{text:>w$}", w = *w)
            })
            .collect();
        self.line(&cells.join(" "));
    }
}
