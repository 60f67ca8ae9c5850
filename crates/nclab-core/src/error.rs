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
