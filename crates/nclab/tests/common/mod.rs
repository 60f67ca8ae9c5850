//! Helpers shared by the integration tests; each test file declares `mod common;`.
// Every test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// Runs the `nclab` binary under test: (exit status success, stdout, stderr).
///
/// `nclab train` (and so `nclab sweep`) runs the `nclab-train` binary of the `nclab-train`
/// package beside it; `cargo test --workspace` (what `make test` runs) builds it, a test of
/// this package alone does not: tests that train call [`require_trainer`] first.
pub fn nclab(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nclab"))
        .args(args)
        .output()
        .expect("run nclab");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Fails, saying how to build it, when the `nclab-train` binary is not beside `nclab`.
pub fn require_trainer() {
    let nclab = PathBuf::from(env!("CARGO_BIN_EXE_nclab"));
    let trainer = nclab.with_file_name(format!("nclab-train{}", std::env::consts::EXE_SUFFIX));
    assert!(
        trainer.is_file(),
        "{} is missing: this test trains through `nclab train`; build the trainer first \
         (`cargo build -p nclab-train`, or run `cargo test --workspace`)",
        trainer.display()
    );
}
