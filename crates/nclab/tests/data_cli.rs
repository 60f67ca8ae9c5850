//! `nclab data check` end to end on small files written here.

mod common;
use common::nclab;

use nclab_core::io::idx::{write, IdxArray};
use nclab_core::tensor::DType;
use std::path::Path;

use nclab_testkit::scratch as dir;

/// MNIST-like split: `per_class` 2 x 2 images of each of 10 classes; image i is all `i`.
fn split(dir: &Path, prefix: &str, per_class: usize) {
    split_of(dir, prefix, per_class, |i| i as u8);
}

/// [`split`] with image i all `value(i)`.
fn split_of(dir: &Path, prefix: &str, per_class: usize, value: fn(usize) -> u8) {
    let n = 10 * per_class;
    let imgs = IdxArray {
        dtype: DType::U8,
        dims: vec![n, 2, 2],
        data: (0..n).flat_map(|i| [value(i); 4]).collect(),
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

/// A channel with zero spread is reported with std 0 (training divides it by 1, not 0).
#[test]
fn check_reports_a_constant_channel() {
    let d = dir("constant");
    // Pixel value 7: the moments' sums leave a variance of rounding there (std 1.5e-8).
    split_of(&d, "train", 3, |_| 7);
    split(&d, "t10k", 1);
    let (ok, out, err) = nclab(&["data", "check", "mnist", "--dir", d.to_str().unwrap()]);
    assert!(ok, "{err}");
    // 7 / 255 = 0.0275 everywhere.
    assert!(
        out.contains("0: mean 0.0275  std 0.0000  (constant: training centres it, divides by 1)"),
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

/// `nclab data check mnist | head -1` with the reader gone before anything is written: no
/// panic ("failed printing to stdout"), a quiet exit with status 141.
#[test]
fn check_into_a_closed_pipe_exits_quietly() {
    let d = dir("pipe");
    split(&d, "train", 3);
    split(&d, "t10k", 1);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nclab"))
        .args(["data", "check", "mnist", "--dir", d.to_str().unwrap()])
        .stdout(writer)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "{err}");
    assert_eq!(out.status.code(), Some(141));
}

/// A huge label (1e8) in an i32 IDX label file: an error naming the file and the row.
#[test]
fn check_names_the_file_and_row_of_a_huge_label() {
    let d = dir("huge-label");
    split(&d, "train", 3);
    split(&d, "t10k", 1);
    let mut labels: Vec<i32> = (0..10).collect();
    labels[6] = 100_000_000;
    std::fs::remove_file(d.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    write(
        &d.join("t10k-labels-idx1-ubyte"),
        &IdxArray {
            dtype: DType::I32,
            dims: vec![10],
            data: labels.iter().flat_map(|v| v.to_le_bytes()).collect(),
        },
        false,
    )
    .unwrap();
    let (ok, out, err) = nclab(&["data", "check", "mnist", "--dir", d.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(!out.contains("ok"), "{out}");
    assert!(
        err.contains(
            "t10k-labels-idx1-ubyte: row 6: label 100000000 out of range (expected 0..10)"
        ),
        "{err}"
    );
}

/// Image dimensions whose size wraps around 64 bits (2^31 x 2^31 x 4 = 2^64 bytes, 0 mod
/// 2^64, matching an empty payload): an error naming the file, not a panic nor "ok".
#[test]
fn check_refuses_dimensions_that_overflow() {
    let d = dir("overflow");
    split(&d, "train", 3);
    split(&d, "t10k", 1);
    let mut b = vec![0, 0, 8, 3];
    for dim in [1u32 << 31, 1 << 31, 4] {
        b.extend_from_slice(&dim.to_be_bytes());
    }
    std::fs::write(d.join("train-images-idx3-ubyte"), b).unwrap();
    let (ok, out, err) = nclab(&["data", "check", "mnist", "--dir", d.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(
            "train-images-idx3-ubyte: dimensions [2147483648, 2147483648, 4] of U8 are too large"
        ),
        "{err}"
    );
}
