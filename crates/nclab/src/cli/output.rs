//! Printing named metric values as a table, one JSON object, or CSV (header + one row).

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

/// Formats a value for humans: integers as integers, others with 6 significant digits.
pub fn human(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e6) {
        format!("{v:.5e}")
    } else {
        format!("{v:.6}")
    }
}

/// The JSON object of `rows` (keys in order), values as numbers or null.
pub fn json_object(rows: &[(String, Option<f64>)]) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (name, v) in rows {
        let value = match v {
            Some(x)
                if x.fract() == 0.0
                    && x.abs() < 9e15
                    && matches!(name.as_str(), "n" | "d" | "k") =>
            {
                serde_json::Value::from(*x as i64)
            }
            Some(x) => serde_json::Number::from_f64(*x)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            None => serde_json::Value::Null,
        };
        map.insert(name.clone(), value);
    }
    serde_json::Value::Object(map)
}

pub fn print_metrics(rows: &[(String, Option<f64>)], format: Format) {
    match format {
        Format::Table => {
            let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
            for (name, v) in rows {
                let shown = v.map_or_else(|| "null (input not given)".to_string(), human);
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
            let values: Vec<String> = rows
                .iter()
                .map(|(_, v)| v.map_or_else(String::new, |x| format!("{x}")))
                .collect();
            println!("{}", names.join(","));
            println!("{}", values.join(","));
        }
    }
}
