//! Helpers shared by the integration tests; each test file declares `mod common;`.
// Every test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// Runs the `nclab` binary under test: (exit status success, stdout, stderr).
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

/// A fresh, empty directory `<temp>/nclab-<suite>-<name>-<pid>` (removed first if it exists).
pub fn fresh_dir(suite: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nclab-{suite}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
