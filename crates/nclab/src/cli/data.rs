//! `nclab data`: set up and check datasets.

use super::output::outln;
use anyhow::{bail, Context};
use nclab_core::data::{self, Dataset, Split};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Validate every file of a dataset; print counts per class and split, image size and the
    /// training split's per-channel mean/std.
    Check {
        /// mnist, fashion-mnist, cifar10, cifar100 or synthetic[:k=..,d=..,n=..,sep=..,seed=..]
        name: String,
        /// Folder holding the dataset's files (default: <data root>/<name>; the data root is
        /// $NCLAB_DATA, default ./data). For CIFAR, the folder with the batch files.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Set up datasets under the data root (runs scripts/fetch-data.sh).
    Fetch {
        /// mnist, fashion-mnist, cifar10, cifar100
        #[arg(required = true)]
        names: Vec<String>,
        /// A local copy of CIFAR (the folder holding the batch files, or its parent).
        #[arg(long)]
        from: Option<PathBuf>,
    },
}

pub fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Check { name, dir } => check(&name, dir),
        Command::Fetch { names, from } => fetch(&names, from),
    }
}

fn check(name: &str, dir: Option<PathBuf>) -> anyhow::Result<()> {
    let dir = dir.unwrap_or_else(|| data::dataset_dir(&data::data_root(), name));
    let load = |split| {
        data::load_from(name, &dir, split)
            .with_context(|| format!("{name} {split} split in {}", dir.display()))
    };
    let train = load(Split::Train)?;
    let test = load(Split::Test)?;
    if train.sample_shape() != test.sample_shape() || train.class_names != test.class_names {
        bail!(
            "{name}: train and test disagree: shapes {:?} vs {:?}, {} vs {} classes",
            train.sample_shape(),
            test.sample_shape(),
            train.num_classes(),
            test.num_classes()
        );
    }
    if !name.starts_with("synthetic") {
        outln!("dataset {name} in {}", dir.display())?;
    } else {
        outln!("dataset {name} (generated)")?;
    }
    let shape = train.sample_shape();
    match shape.as_slice() {
        [c, h, w] => outln!("image size: {c} x {h} x {w} (channels x height x width), u8")?,
        [d] => outln!("vector size: {d}, f32")?,
        _ => {}
    }
    outln!(
        "samples: train {}, test {}; classes: {}",
        train.len(),
        test.len(),
        train.num_classes()
    )?;
    print_counts(&train, &test, &train.class_names, |d| d.class_counts())?;
    if let (Some(names), Some(_), Some(_)) = (
        &train.coarse_names,
        &train.coarse_labels,
        &test.coarse_labels,
    ) {
        outln!("coarse classes (superclasses): {}", names.len())?;
        print_counts(&train, &test, names, |d| {
            let mut c = vec![0usize; names.len()];
            for &y in d.coarse_labels.as_ref().expect("checked") {
                c[y as usize] += 1;
            }
            c
        })?;
    }
    for (split, d) in [("train", &train), ("test", &test)] {
        if let Some(k) = d.class_counts().iter().position(|&c| c == 0) {
            bail!(
                "{name}: class {k} ({}) has no {split} sample",
                d.class_names[k]
            );
        }
    }
    let (mean, std) = data::channel_moments(&train);
    let what = if shape.len() == 3 {
        "per-channel (pixels / 255)"
    } else {
        "per-coordinate, first 8"
    };
    outln!("train {what} mean and std:")?;
    for (c, (m, s)) in mean.iter().zip(&std).enumerate().take(8) {
        let constant = if *s == 0.0 {
            "  (constant: training centres it, divides by 1)"
        } else {
            ""
        };
        outln!("  {c}: mean {m:.4}  std {s:.4}{constant}")?;
    }
    outln!("ok")?;
    Ok(())
}

fn print_counts(
    train: &Dataset,
    test: &Dataset,
    names: &[String],
    counts: impl Fn(&Dataset) -> Vec<usize>,
) -> anyhow::Result<()> {
    let (a, b) = (counts(train), counts(test));
    // Capped: a longer name overflows its column (and `{:<width$}` takes at most u16::MAX).
    let width = names
        .iter()
        .map(|n| n.len())
        .max()
        .unwrap_or(5)
        .clamp(5, 40);
    outln!(
        "  {:>3}  {:<width$}  {:>7}  {:>7}",
        "k",
        "class",
        "train",
        "test"
    )?;
    for (k, name) in names.iter().enumerate() {
        outln!("  {k:>3}  {name:<width$}  {:>7}  {:>7}", a[k], b[k])?;
    }
    Ok(())
}

fn fetch(names: &[String], from: Option<PathBuf>) -> anyhow::Result<()> {
    let script = find_script().context(
        "scripts/fetch-data.sh not found (run `nclab data fetch` from the repository root)",
    )?;
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(&script);
    if let Some(f) = from {
        cmd.arg("--from").arg(f);
    }
    cmd.args(names);
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !status.success() {
        bail!("{} failed ({status})", script.display());
    }
    Ok(())
}

/// `./scripts/fetch-data.sh`, else the one of the source tree this binary was built from.
fn find_script() -> Option<PathBuf> {
    let here = Path::new("scripts/fetch-data.sh");
    if here.is_file() {
        return Some(here.to_path_buf());
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fetch-data.sh");
    built.is_file().then_some(built)
}
