//! What a training run prints: a banner at the start (run directory, device, data sizes, model
//! size, schedule, analysis epochs), an indicatif bar per epoch (running loss, accuracy and
//! images/s) on a terminal, and a one-line table row at each analysis epoch with an estimate
//! of the time left. With `quiet` there are no bars, only the banner and the plain table rows,
//! which suits log files.

use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use nclab_runs::config::{Config, ModelKind, Schedule};
use nclab_runs::run_dir::Row;

/// One column of the analysis table: the metric, its header and its width.
type Column = (&'static str, &'static str, usize);

/// The default columns, 78 characters wide with the ETA, so that a row fits an 80-column
/// terminal; numbers with 3 significant digits, accuracies in percent.
const NARROW: [Column; 9] = [
    ("epoch", "epoch", 5),
    ("lr", "lr", 7),
    ("train_loss", "loss", 7),
    ("train_acc", "train%", 6),
    ("test_acc", "test%", 6),
    ("nc1", "NC1", 7),
    ("nc2", "NC2", 7),
    ("nc3", "NC3", 7),
    ("nc4", "NC4", 7),
];

/// The columns of `--wide`: every column of the table, numbers in scientific notation with
/// 4 significant digits.
const WIDE: [Column; 12] = [
    ("epoch", "epoch", 6),
    ("lr", "lr", 9),
    ("train_loss", "loss", 9),
    ("train_acc", "train_acc", 9),
    ("test_loss", "test_loss", 9),
    ("test_acc", "test_acc", 9),
    ("nc1", "NC1", 10),
    ("nc2", "NC2", 9),
    ("nc3", "NC3", 9),
    ("nc4", "NC4", 9),
    ("elapsed_s", "time_s", 8),
    ("eta", "ETA", 8),
];

/// Width of the ETA column of the default table.
const ETA_WIDTH: usize = 8;

/// The table's header line and the text of one row's cells (`wide`: [`WIDE`], else
/// [`NARROW`] then the ETA). A value that is not defined is `null`, as in every output.
pub fn table_lines(row: &Row, eta: &str, wide: bool) -> (String, String) {
    let value = |key: &str| row.iter().find(|(k, _)| k == key).and_then(|(_, v)| *v);
    let cell = |key: &str| -> String {
        let v = value(key);
        match (key, v) {
            ("eta", _) => eta.to_string(),
            (_, None) => "null".to_string(),
            ("epoch", Some(v)) => format!("{}", v as i64),
            ("elapsed_s", Some(v)) => format!("{v:.1}"),
            ("train_acc" | "test_acc", Some(v)) => format!("{:.2}", 100.0 * v),
            (_, v) if wide => nclab_runs::numbers::scientific(v, 3),
            (_, v) => nclab_runs::numbers::significant(v, 3),
        }
    };
    let mut columns: Vec<Column> = if wide { WIDE.to_vec() } else { NARROW.to_vec() };
    if !wide {
        columns.push(("eta", "ETA", ETA_WIDTH));
    }
    let header: Vec<String> = columns
        .iter()
        .map(|(_, h, w)| format!("{h:>w$}", w = *w))
        .collect();
    let cells: Vec<String> = columns
        .iter()
        .map(|(key, _, w)| format!("{:>w$}", cell(key), w = *w))
        .collect();
    (header.join(" "), cells.join(" "))
}

/// What a run states before its first epoch: where it writes, where it trains, on what data
/// and network, when it measures and at which learning rates.
pub struct Banner<'a> {
    /// The run directory.
    pub dir: &'a Path,
    /// The epoch a resumed run continues after (0 for a new run).
    pub resumed_after: usize,
    /// `cpu` or `cuda:0`.
    pub device: String,
    /// libtorch's intra-op threads.
    pub threads: i64,
    /// Samples of the training and the test set.
    pub n_train: usize,
    pub n_test: usize,
    /// Feature dimension (the classifier's input) and number of classes.
    pub d: usize,
    pub k: usize,
    /// Trainable parameters of the network.
    pub parameters: i64,
    pub config: &'a Config,
    pub analysis_epochs: &'a [usize],
}

impl Banner<'_> {
    /// The banner's lines (short ones, but a long path or hierarchy name makes its line long).
    pub fn lines(&self) -> Vec<String> {
        let c = self.config;
        let state = match self.resumed_after {
            0 => "new run".to_string(),
            e => format!("resumed after epoch {e}"),
        };
        let model = match c.model.kind {
            ModelKind::Mlp => format!("mlp {:?}", c.model.widths),
            ModelKind::Resnet18 => format!("resnet18 width {}", c.model.width),
        };
        vec![
            format!("nclab train: {} ({state})", self.dir.display()),
            format!(
                "  device {}, {} thread{}",
                self.device,
                self.threads,
                plural(self.threads as usize)
            ),
            format!(
                "  data {}: N = {} train, {} test; K = {} classes; d = {} features",
                c.data.name.as_str(),
                self.n_train,
                self.n_test,
                self.k,
                self.d
            ),
            format!(
                "  model {model}: {} parameters; loss {}{}, hierarchy {}",
                thousands(self.parameters),
                c.loss.kind.as_str(),
                c.loss
                    .hierarchy
                    .as_ref()
                    .map_or(String::new(), |t| format!(" on its own tree {t}")),
                c.hierarchy
            ),
            format!(
                "  SGD: {} epoch{}, batch {}, momentum {}, weight decay {}",
                c.optim.epochs,
                plural(c.optim.epochs),
                c.optim.batch_size,
                c.optim.momentum,
                c.optim.weight_decay
            ),
            format!("  {}", schedule_text(c)),
            format!(
                "  analysis at {} epoch{}: {}",
                self.analysis_epochs.len(),
                plural(self.analysis_epochs.len()),
                epoch_list(self.analysis_epochs)
            ),
            "  ETA below: an estimate, the epochs left x the mean epoch time so far".into(),
        ]
    }
}

/// `s` unless there is exactly one.
fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// An integer with thousands separators: `1,234,567`.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// The learning rates over the run, `lr step: 0.0679 (epochs 1-116), 0.00679 (117-233), ...`:
/// each stretch of epochs at one rate for `step` and `constant`, the end points for `cosine`.
pub fn schedule_text(config: &Config) -> String {
    let (o, e) = (&config.optim, config.optim.epochs);
    let lr = |i: usize| o.schedule.learning_rate(o.lr, i, e);
    let num = |v: f64| nclab_runs::numbers::significant(Some(v), 3);
    if o.schedule == Schedule::Cosine {
        return format!(
            "lr cosine: {} (epoch 1) to {} (epoch {e})",
            num(lr(0)),
            num(lr(e - 1))
        );
    }
    let mut stretches: Vec<(usize, usize, f64)> = Vec::new();
    for i in 0..e {
        match stretches.last_mut() {
            Some((_, last, rate)) if *rate == lr(i) => *last = i + 1,
            _ => stretches.push((i + 1, i + 1, lr(i))),
        }
    }
    let parts: Vec<String> = stretches
        .iter()
        .enumerate()
        .map(|(i, &(a, b, rate))| {
            let word = match (i, a == b) {
                (0, true) => "epoch ",
                (0, false) => "epochs ",
                _ => "",
            };
            if a == b {
                format!("{} ({word}{a})", num(rate))
            } else {
                format!("{} ({word}{a}-{b})", num(rate))
            }
        })
        .collect();
    format!("lr {}: {}", o.schedule.as_str(), parts.join(", "))
}

/// The analysis epochs, shortened to the first ten and the last three when there are more
/// than 16.
fn epoch_list(epochs: &[usize]) -> String {
    let join = |e: &[usize]| {
        e.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if epochs.len() <= 16 {
        join(epochs)
    } else {
        format!(
            "{}, ..., {}",
            join(&epochs[..10]),
            join(&epochs[epochs.len() - 3..])
        )
    }
}

/// Prints a run's progress.
pub struct Reporter {
    quiet: bool,
    /// Every column in the table (`--wide`), not only those that fit 80 columns.
    wide: bool,
    bar: Option<ProgressBar>,
    started: Instant,
    header_done: bool,
    /// When this process trained its first epoch, and which epoch that was: the ETA is the
    /// epochs left times the mean time of the epochs trained since.
    first: Option<(Instant, usize)>,
    /// The run's number of epochs.
    epochs: usize,
}

impl Reporter {
    /// A reporter with progress bars unless `quiet`, and every table column when `wide`.
    pub fn new(quiet: bool, wide: bool) -> Self {
        Reporter {
            quiet,
            wide,
            bar: None,
            started: Instant::now(),
            header_done: false,
            first: None,
            epochs: 0,
        }
    }

    /// Whether progress bars are off.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// A line of text (above the bar, if one is shown).
    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => nclab_runs::errln!("{text}"),
        }
    }

    /// Starts the bar of `epoch` (of `epochs`), `steps` steps long.
    pub fn start_epoch(&mut self, epoch: usize, epochs: usize, steps: u64) {
        self.started = Instant::now();
        self.epochs = epochs;
        self.first.get_or_insert((self.started, epoch));
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

    /// The estimated time left after `epoch`: the epochs left times the mean time of the
    /// epochs this process trained so far (analyses and checkpoints included).
    pub fn eta_seconds(&self, epoch: usize) -> f64 {
        let Some((t0, first)) = self.first else {
            return f64::NAN;
        };
        let done = epoch.saturating_sub(first) + 1;
        let left = self.epochs.saturating_sub(epoch);
        left as f64 * t0.elapsed().as_secs_f64() / done as f64
    }

    /// Prints the table row of an analysis epoch (and the header before the first one).
    pub fn analysis_row(&mut self, row: &Row) {
        let epoch = row
            .iter()
            .find(|(k, _)| k == "epoch")
            .and_then(|(_, v)| *v)
            .map_or(0, |e| e as usize);
        let eta = nclab_runs::numbers::eta_text(self.eta_seconds(epoch));
        let (header, cells) = table_lines(row, &eta, self.wide);
        if !self.header_done {
            self.line(&header);
            self.header_done = true;
        }
        self.line(&cells);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        [
            ("epoch", 120.0),
            ("lr", 0.000679),
            ("train_loss", 0.0123456),
            ("train_acc", 1.0),
            ("test_loss", 0.31),
            ("test_acc", 0.9573),
            ("nc1", 0.0148912),
            ("nc2", 0.150912),
            ("nc3", 0.121),
            ("elapsed_s", 46.44),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Some(v)))
        .chain([("nc4".to_string(), None)])
        .collect()
    }

    #[test]
    fn the_default_table_fits_80_columns_and_wide_has_every_column() {
        let (header, cells) = table_lines(&row(), "~1m05s", false);
        assert_eq!(
            header,
            "epoch      lr    loss train%  test%     NC1     NC2     NC3     NC4      ETA"
        );
        assert_eq!(
            cells,
            "  120 6.79e-4  0.0123 100.00  95.73  0.0149   0.151   0.121    null   ~1m05s"
        );
        assert!(header.len() <= 80 && cells.len() <= 80);
        let (header, cells) = table_lines(&row(), "~1m05s", true);
        for h in ["test_loss", "time_s", "train_acc", "ETA"] {
            assert!(header.contains(h), "{header}");
        }
        assert!(
            cells.contains("3.100e-1") && cells.contains("46.4"),
            "{cells}"
        );
        assert!(cells.ends_with("   ~1m05s"), "{cells}");
    }

    #[test]
    fn the_banner_states_the_run() {
        let config = Config::from_toml_str(
            "[data]\nper_class = 500\n[model]\nwidths = [256, 256]\n[optim]\nepochs = 30\n",
            &[],
        )
        .unwrap();
        let epochs = config.analysis_epochs().unwrap();
        let banner = Banner {
            dir: Path::new("runs/try"),
            resumed_after: 0,
            device: "cpu".into(),
            threads: 1,
            n_train: 5000,
            n_test: 10000,
            d: 256,
            k: 10,
            parameters: 269_322,
            config: &config,
            analysis_epochs: &epochs,
        };
        let lines = banner.lines();
        assert_eq!(
            lines[..6],
            [
                "nclab train: runs/try (new run)",
                "  device cpu, 1 thread",
                "  data mnist: N = 5000 train, 10000 test; K = 10 classes; d = 256 features",
                "  model mlp [256, 256]: 269,322 parameters; loss ce, hierarchy flat",
                "  SGD: 30 epochs, batch 128, momentum 0.9, weight decay 0.0005",
                "  lr step: 0.0679 (epochs 1-10), 0.00679 (11-20), 6.79e-4 (21-30)",
            ]
        );
        // log:50 over 30 epochs: 25 distinct epochs, shortened.
        assert_eq!(
            lines[6],
            "  analysis at 25 epochs: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ..., 26, 28, 30"
        );
        assert!(lines[7].contains("an estimate"), "{}", lines[7]);
        assert!(lines.iter().all(|l| l.len() <= 80), "{lines:#?}");
        let resumed = Banner {
            resumed_after: 12,
            device: banner.device.clone(),
            ..banner
        };
        assert_eq!(
            resumed.lines()[0],
            "nclab train: runs/try (resumed after epoch 12)"
        );
        // A loss with a tree of its own says so.
        let mut smoothing = config.clone();
        smoothing.loss.kind = nclab_runs::config::LossKind::Soft;
        smoothing.loss.hierarchy = Some("flat".into());
        smoothing.hierarchy = "fashion-mnist".into();
        let with_tree = Banner {
            config: &smoothing,
            ..banner
        };
        assert_eq!(
            with_tree.lines()[3],
            "  model mlp [256, 256]: 269,322 parameters; loss soft on its own tree flat, \
             hierarchy fashion-mnist"
        );
    }

    #[test]
    fn schedules_read_as_their_learning_rates() {
        let c = |set: &str| Config::from_toml_str("", &[set.to_string()]).unwrap();
        let mut cosine = c("optim.schedule=cosine");
        cosine.optim.epochs = 10;
        assert_eq!(
            schedule_text(&cosine),
            "lr cosine: 0.0679 (epoch 1) to 0.00166 (epoch 10)"
        );
        assert_eq!(
            schedule_text(&c("optim.schedule=constant")),
            "lr constant: 0.0679 (epochs 1-350)"
        );
        let mut one = c("optim.epochs=1");
        one.optim.lr = 1.0;
        assert_eq!(schedule_text(&one), "lr step: 0.0100 (epoch 1)");
        let mut two = c("optim.epochs=2");
        two.optim.lr = 1.0;
        assert_eq!(schedule_text(&two), "lr step: 0.100 (epoch 1), 0.0100 (2)");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
