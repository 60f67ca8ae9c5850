//! Printing named metric values as a table, one JSON object, or CSV (header + one row); the
//! numbers are written by `nclab_runs::numbers`, the same everywhere.
//!
//! Everything the commands print goes through [`print_out`] (or [`outln!`], or
//! [`stream_out`]): a standard output closed early (`nclab ... | head`) ends the process
//! quietly with status 141, what a shell reports for a program stopped by SIGPIPE, instead of
//! panicking as `println!` does.

use std::io::Write;

use nclab_runs::{csv_text, numbers};

/// Exit status after a closed standard output: 128 + SIGPIPE (13), as for `yes | head`.
pub const EXIT_BROKEN_PIPE: i32 = 141;

/// `Ok` for success; a closed pipe ends the process quietly ([`EXIT_BROKEN_PIPE`]); any other
/// error is returned.
pub fn quiet_on_broken_pipe(r: std::io::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            std::process::exit(EXIT_BROKEN_PIPE)
        }
        r => Ok(r?),
    }
}

/// Writes `text` to standard output (see the module documentation for a closed pipe).
pub fn print_out(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    quiet_on_broken_pipe(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

/// Streams to standard output through a buffer: `write` gets the writer (see the module
/// documentation for a closed pipe).
pub fn stream_out(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    quiet_on_broken_pipe(write(&mut out).and_then(|()| out.flush()))
}

/// `println!` through [`print_out`]: evaluates to `anyhow::Result<()>`.
macro_rules! outln {
    () => {
        $crate::cli::output::print_out("\n")
    };
    ($($arg:tt)*) => {
        $crate::cli::output::print_out(&format!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// How a command prints its results.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned, human-readable.
    Table,
    /// One JSON object; a metric that could not be computed is `null`.
    Json,
    /// A header of names and one row of values; empty cell = not computed.
    Csv,
}

/// Formats a value for humans: 6 significant digits (`nclab_runs::numbers::significant`),
/// `null` when undefined.
pub fn human(v: Option<f64>) -> String {
    numbers::significant(v, 6)
}

/// The JSON object of `rows` (keys in order): numbers, or null where undefined.
pub fn json_object(rows: &[(String, Option<f64>)]) -> serde_json::Value {
    serde_json::Value::Object(
        rows.iter()
            .map(|(name, v)| (name.clone(), numbers::json(*v)))
            .collect(),
    )
}

pub fn print_metrics(rows: &[(String, Option<f64>)], format: Format) -> anyhow::Result<()> {
    let mut text = String::new();
    match format {
        Format::Table => {
            let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
            for (name, v) in rows {
                let shown = human(*v);
                text.push_str(&format!("{name:<width$}  {shown}\n"));
            }
        }
        Format::Json => {
            text = serde_json::to_string_pretty(&json_object(rows)).expect("serialisable");
            text.push('\n');
        }
        Format::Csv => {
            let names: Vec<String> = rows.iter().map(|(n, _)| n.clone()).collect();
            let values: Vec<String> = rows.iter().map(|(_, v)| numbers::exact(*v)).collect();
            text = csv_text::write([names, values]);
        }
    }
    print_out(&text)
}
