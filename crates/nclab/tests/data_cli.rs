//! `nclab data check` end to end on small files written here.

mod common;
use common::nclab;

use nclab_core::io::idx::{write, IdxArray};
use nclab_core::tensor::DType;
use std::path::{Path, PathBuf};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nclab-cli-data-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// MNIST-like split: `per_class` 2 x 2 images of each of 10 classes; image i is all `i`.
fn split(dir: &Path, prefix: &str, per_class: usize) {
    let n = 10 * per_class;
    let imgs = IdxArray {
        dtype: DType::U8,
        dims: vec![n, 2, 2],
        data: (0..n).flat_map(|i| [i as u8; 4]).collect(),
    };
    let labels = IdxArray {
        dtype: DType::U8,
        dims: vec![n],
        data: (0..n).map(|i| (i % 10) as u8).collect(),
    };
    write(
        &dir.join(format!("{prefix}-images-idx3-ubyte")),
        &imgs,
        false,
    )
    .unwrap();
    write(
        &dir.join(format!("{prefix}-labels-idx1-ubyte.gz")),
        &labels,
        true,
    )
    .unwrap();
}

#[test]
fn check_prints_counts_and_statistics() {
    let d = dir("ok");
    split(&d, "train", 3);
    split(&d, "t10k", 1);
    let (ok, out, err) = nclab(&["data", "check", "mnist", "--dir", d.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("image size: 1 x 2 x 2"), "{out}");
    assert!(
        out.contains("samples: train 30, test 10; classes: 10"),
        "{out}"
    );
    // Pixel values 0..29 (each image constant): mean = 14.5 / 255 = 0.0569,
    // std = sqrt((30^2 - 1) / 12) / 255 = 8.6554 / 255 = 0.0339.
    assert!(out.contains("0: mean 0.0569  std 0.0339"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["7", "7", "3", "1"]),
        "{out}"
    );
}

#[test]
fn check_fails_with_the_reason() {
    let d = dir("bad");
    split(&d, "train", 3);
    // No test split.
    let (ok, _, err) = nclab(&["data", "check", "mnist", "--dir", d.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("t10k-images-idx3-ubyte") && err.contains("missing file"),
        "{err}"
    );
    // A truncated image file.
    split(&d, "t10k", 1);
    let p = d.join("t10k-images-idx3-ubyte");
    let b = std::fs::read(&p).unwrap();
    std::fs::write(&p, &b[..b.len() - 3]).unwrap();
    let (ok, _, err) = nclab(&["data", "check", "mnist", "--dir", d.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("payload too short") && err.contains("need 40 bytes, found 37"),
        "{err}"
    );
}
