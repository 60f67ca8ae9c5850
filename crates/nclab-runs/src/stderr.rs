//! Lines for a person on standard error: progress, warnings, errors. A closed or failing
//! standard error is ignored: a log that nobody reads any more (`nclab-train ... 2>&1 | head`,
//! a `tee` that was killed) must not stop a run that has hours to go, where `eprintln!` would
//! panic and leave the run without its summary.

use std::io::Write;

/// Writes `args` and a newline to standard error; a write that fails is dropped.
pub fn line(args: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr().lock(), "{args}");
}

/// `eprintln!` through [`line`]: a closed standard error is not an error.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::stderr::line(format_args!($($arg)*))
    };
}
