//! README.md's "A tour of the CLI" runs as written: every command of its ```sh blocks, in
//! order, in a scratch folder that sees the repository's `configs/` and `scripts/`, with the
//! `nclab` under test on PATH. As the README says, each `nclab train` of a config under
//! `configs/` gets [`TINY`] appended, so that the tour takes seconds. The commands are read
//! from the README itself, so the two cannot drift apart.
//!
//! It needs MNIST under `$NCLAB_DATA` (default: the repository's `data/`): `make data`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the README says the test adds to each `nclab train configs/...` line.
const TINY: &str = "--set data.per_class=20 --set data.test_per_class=10 --set optim.epochs=3";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// `line` without a trailing shell comment (a `#` at the start or after a blank, outside
/// quotes), trimmed.
fn strip_comment(line: &str) -> &str {
    let (mut quote, mut prev_blank) = (None, true);
    for (i, ch) in line.char_indices() {
        match (quote, ch) {
            (None, '\'' | '"') => quote = Some(ch),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev_blank => return line[..i].trim(),
            _ => {}
        }
        prev_blank = ch.is_whitespace();
    }
    line.trim()
}

/// The commands of the ```sh blocks of the section `heading` of `markdown`, in order.
fn tour_commands(markdown: &str, heading: &str) -> Vec<String> {
    let section = markdown
        .split_once(heading)
        .unwrap_or_else(|| panic!("README.md has no section {heading:?}"))
        .1;
    let section = section.split("\n## ").next().unwrap();
    let (mut commands, mut in_sh) = (Vec::new(), false);
    for line in section.lines() {
        let fence = line.trim_start();
        if fence.starts_with("```") {
            in_sh = !in_sh && fence == "```sh";
            continue;
        }
        let command = strip_comment(line);
        if in_sh && !command.is_empty() {
            assert!(
                !command.ends_with('\\'),
                "README tour: write each command on one line: {command}"
            );
            commands.push(command.to_string());
        }
    }
    commands
}

/// The command as the test runs it: [`TINY`] added to `nclab train configs/...`.
fn as_tested(command: &str) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    if words.len() > 2 && words[..2] == ["nclab", "train"] && words[2].starts_with("configs/") {
        format!("{command} {TINY}")
    } else {
        command.to_string()
    }
}

/// The data root: `$NCLAB_DATA` made absolute, else the repository's `data/`; MNIST must be
/// there.
fn data_root() -> PathBuf {
    let root = std::env::var_os("NCLAB_DATA")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { repo().join(p) })
        .unwrap_or_else(|| repo().join("data"));
    assert!(
        root.join("mnist/train-images-idx3-ubyte").is_file(),
        "the README tour trains on MNIST, which is not under {}: run `make data` (or \
         scripts/fetch-data.sh mnist) first",
        root.display()
    );
    root
}

#[test]
fn the_commands_of_the_tour_are_read_from_the_readme() {
    let md = "intro\n## A tour of the CLI\n\n```sh\n# a comment\nnclab a --x '#1'  # note\n\n\
              nclab b\n```\n\n```text\nnot run\n```\n## Next\n```sh\nnclab c\n```\n";
    assert_eq!(
        tour_commands(md, "## A tour of the CLI"),
        ["nclab a --x '#1'", "nclab b"]
    );
    assert_eq!(
        as_tested("nclab train configs/x.toml --out runs/a"),
        format!("nclab train configs/x.toml --out runs/a {TINY}")
    );
    assert_eq!(
        as_tested("nclab train runs/a/config.toml --resume"),
        "nclab train runs/a/config.toml --resume"
    );
}

#[test]
fn every_command_of_the_readme_tour_runs_as_written() {
    common::require_trainer();
    let data = data_root();
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let commands = tour_commands(&readme, "## A tour of the CLI");
    assert!(commands.len() >= 8, "too few commands found: {commands:?}");
    let dir = nclab_testkit::scratch("readme-tour");
    for link in ["configs", "scripts"] {
        std::os::unix::fs::symlink(repo().join(link), dir.join(link)).unwrap();
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_nclab"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for command in &commands {
        let line = as_tested(command);
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &line])
            .current_dir(&dir)
            .env("PATH", &path)
            .env("NCLAB_DATA", &data)
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.success(),
            "README tour: `{line}` failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status
        );
        if command.starts_with("nclab report") {
            assert!(stdout.contains("2 runs in 1 condition:"), "{stdout}");
        }
    }
    // What the commands wrote is where the later ones read it.
    for file in [
        "runs/try/final.safetensors",
        "runs/try-seed1/summary.json",
        "report/index.html",
    ] {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
