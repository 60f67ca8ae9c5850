//! One error type for the whole core crate. Every message names the file, field, line, node or
//! class at fault, so that a user knows what to fix.

use std::path::{Path, PathBuf};

/// Errors raised by nclab-core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused to read or write a file. The message includes the
    /// system's reason, so it is not also given as the error's `source()` (a printer of
    /// the whole chain, such as the CLI's `{:#}`, would say it twice).
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// A file exists but its content is not what its format requires.
    #[error("{}: {msg}", path.display())]
    Format { path: PathBuf, msg: String },
    /// Inputs that are well-formed files but cannot be used together, or invalid arguments.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            cause: source,
        }
    }

    pub fn format(path: impl AsRef<Path>, msg: impl Into<String>) -> Self {
        Error::Format {
            path: path.as_ref().to_path_buf(),
            msg: msg.into(),
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
}

/// `Result` with nclab-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A message that names an input by its role (`held-out data: 5 classes of dimension 4, ...`,
/// `out-of-distribution features have 31 columns`), with the input also named as the front end
/// knows it, a file or an argument: `held-out data (h2.npy, y2.npy): 5 classes ...`. `roles`
/// pairs each role with that name and goes from the most specific role (`held-out data:
/// features`) to the least (`held-out data`); `None` when no role begins the message.
pub fn with_input_names(message: &str, roles: &[(&str, &str)]) -> Option<String> {
    roles.iter().find_map(|(role, name)| {
        // The role, then `:` or a space.
        message
            .strip_prefix(role)
            .filter(|rest| rest.starts_with([':', ' ']))
            .map(|rest| format!("{role} ({name}){rest}"))
    })
}

/// How many items an error message lists before it counts the rest (classes, nodes).
pub const LISTED: usize = 10;

/// A list for an error message: the first `shown` items joined by ", ", then "and N more"
/// for the rest, so that a message stays short however long the list (a file with 100,000
/// roots, labels that leave 199,998 classes empty).
pub fn short_list(items: impl ExactSizeIterator<Item = String>, shown: usize) -> String {
    let n = items.len();
    let mut parts: Vec<String> = items.take(shown).collect();
    if n > shown {
        parts.push(format!("and {} more", n - shown));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most specific role that begins the message is named; a role must be followed by
    /// `:` or a space (`features` does not name `featuresX`); no role, no new message.
    #[test]
    fn inputs_are_named_beside_their_roles() {
        let roles = [
            ("held-out data: features", "h2.npy"),
            ("held-out data", "h2.npy, y2.npy"),
            ("features", "h.npy"),
        ];
        let named = |m: &str| with_input_names(m, &roles);
        assert_eq!(
            named("held-out data: features: non-finite value NaN at row 2, column 0").unwrap(),
            "held-out data: features (h2.npy): non-finite value NaN at row 2, column 0"
        );
        assert_eq!(
            named("held-out data: 5 classes of dimension 4").unwrap(),
            "held-out data (h2.npy, y2.npy): 5 classes of dimension 4"
        );
        assert_eq!(
            named("features have 3 rows").unwrap(),
            "features (h.npy) have 3 rows"
        );
        assert_eq!(named("featuresX: odd"), None);
        assert_eq!(named("labels: no labels"), None);
    }
}
