//! Printing named metric values as a table, one JSON object, or CSV (header + one row); the
//! numbers are written by `nclab_runs::numbers`, the same everywhere.

use nclab_runs::numbers;

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

pub fn print_metrics(rows: &[(String, Option<f64>)], format: Format) {
    match format {
        Format::Table => {
            let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
            for (name, v) in rows {
                let shown = human(*v);
                println!("{name:<width$}  {shown}");
            }
        }
        Format::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&json_object(rows)).expect("serialisable")
            );
        }
        Format::Csv => {
            let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
            let values: Vec<String> = rows.iter().map(|(_, v)| numbers::exact(*v)).collect();
            println!("{}", names.join(","));
            println!("{}", values.join(","));
        }
    }
}
