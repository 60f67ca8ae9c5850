//! The named datasets and where their files live.
//!
//! | name | folder | files |
//! | --- | --- | --- |
//! | `mnist`, `fashion-mnist` | `<root>/<name>/` | `{train,t10k}-{images-idx3,labels-idx1}-ubyte`, raw or `.gz` |
//! | `cifar10` | `<root>/cifar10/` (or its `cifar-10-batches-bin/`, `cifar-10-batches-py/`) | `data_batch_{1..5}.bin`, `test_batch.bin`, `batches.meta.txt`; or the python `data_batch_{1..5}`, `test_batch`, `batches.meta` |
//! | `cifar100` | `<root>/cifar100/` (or its `cifar-100-binary/`, `cifar-100-python/`) | `train.bin`, `test.bin`, `{fine,coarse}_label_names.txt`; or the python `train`, `test`, `meta` |
//! | `synthetic[:k=..,d=..,n=..,sep=..,seed=..]` | none | generated ([`super::synthetic`]) |

use super::{synthetic, Dataset, Inputs, Split, SyntheticSpec};
use crate::io::{cifar, idx};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The dataset names [`load`] knows.
pub const DATASETS: [&str; 5] = ["mnist", "fashion-mnist", "cifar10", "cifar100", "synthetic"];

const FASHION_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The data root: `$NCLAB_DATA` if set and non-empty, else `./data`.
pub fn data_root() -> PathBuf {
    match std::env::var_os("NCLAB_DATA") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from("data"),
    }
}

/// The folder of dataset `name` under `root`: `root/name`.
pub fn dataset_dir(root: &Path, name: &str) -> PathBuf {
    root.join(name)
}

/// Loads one split of dataset `name` from its folder under `root` (see the module table).
pub fn load(name: &str, root: &Path, split: Split) -> Result<Dataset> {
    if name.starts_with("synthetic") {
        return Ok(synthetic(&SyntheticSpec::parse(name)?, split));
    }
    load_from(name, &dataset_dir(root, name), split)
}

/// Loads one split of dataset `name` from the folder `dir` that holds its files.
pub fn load_from(name: &str, dir: &Path, split: Split) -> Result<Dataset> {
    let d = match name {
        "mnist" => load_idx(name, dir, split, (0..10).map(|c| c.to_string()).collect())?,
        "fashion-mnist" => load_idx(
            name,
            dir,
            split,
            FASHION_NAMES.iter().map(|s| s.to_string()).collect(),
        )?,
        "cifar10" => load_cifar(name, dir, split, cifar::Variant::Cifar10)?,
        "cifar100" => load_cifar(name, dir, split, cifar::Variant::Cifar100)?,
        n if n.starts_with("synthetic") => synthetic(&SyntheticSpec::parse(n)?, split),
        _ => {
            return Err(Error::invalid(format!(
                "unknown dataset {name:?} (expected one of {})",
                DATASETS.join(", ")
            )))
        }
    };
    d.validate()?;
    Ok(d)
}

/// A data set's file that is not there: an I/O error ("not found"), with what was looked for
/// and how to set the data set up.
fn missing(path: &Path, msg: String) -> Error {
    Error::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, msg))
}

/// `dir/stem`, or `dir/stem.gz` when only that exists.
fn find_idx(dir: &Path, stem: &str, name: &str) -> Result<PathBuf> {
    let raw = dir.join(stem);
    if raw.is_file() {
        return Ok(raw);
    }
    let gz = dir.join(format!("{stem}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(missing(
        &raw,
        format!(
            "missing file (looked for {stem} and {stem}.gz); set up {name} with \
             `scripts/fetch-data.sh {name}` or `nclab data fetch {name}`"
        ),
    ))
}

fn load_idx(name: &str, dir: &Path, split: Split, class_names: Vec<String>) -> Result<Dataset> {
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let ip = find_idx(dir, &format!("{prefix}-images-idx3-ubyte"), name)?;
    let lp = find_idx(dir, &format!("{prefix}-labels-idx1-ubyte"), name)?;
    let k = class_names.len();
    let (n, h, w, pixels) = idx::read_images(&ip)?;
    // Any integer label type; a label out of 0..k is an error naming the file and row.
    let labels = idx::read_class_labels(&lp, k)?;
    if labels.len() != n {
        return Err(Error::format(
            &lp,
            format!(
                "{} labels, but {} holds {n} images",
                labels.len(),
                ip.display()
            ),
        ));
    }
    Ok(Dataset {
        name: name.into(),
        split,
        inputs: Inputs::Images {
            data: pixels,
            channels: 1,
            height: h,
            width: w,
        },
        labels,
        class_names,
        coarse_labels: None,
        coarse_names: None,
    })
}

/// Where a CIFAR copy keeps its files, and in which version.
struct CifarLayout {
    dir: PathBuf,
    binary: bool,
}

fn cifar_layout(name: &str, dir: &Path, variant: cifar::Variant) -> Result<CifarLayout> {
    let (subs, probe_bin, probe_py): (&[&str], &str, &str) = match variant {
        cifar::Variant::Cifar10 => (
            &["", "cifar-10-batches-bin", "cifar-10-batches-py"],
            "data_batch_1.bin",
            "data_batch_1",
        ),
        cifar::Variant::Cifar100 => (
            &["", "cifar-100-binary", "cifar-100-python"],
            "train.bin",
            "train",
        ),
    };
    for sub in subs {
        let d = if sub.is_empty() {
            dir.to_path_buf()
        } else {
            dir.join(sub)
        };
        if d.join(probe_bin).is_file() {
            return Ok(CifarLayout {
                dir: d,
                binary: true,
            });
        }
        if d.join(probe_py).is_file() {
            return Ok(CifarLayout {
                dir: d,
                binary: false,
            });
        }
    }
    Err(missing(
        dir,
        format!(
            "no {name} batches found (looked for {probe_bin} or the python version's \
             {probe_py} here and in {}); set up {name} with \
             `scripts/fetch-data.sh {name} --from DIR`",
            subs[1..].join(", ")
        ),
    ))
}

fn load_cifar(name: &str, dir: &Path, split: Split, variant: cifar::Variant) -> Result<Dataset> {
    let layout = cifar_layout(name, dir, variant)?;
    let stems: Vec<String> = match (variant, split) {
        (cifar::Variant::Cifar10, Split::Train) => {
            (1..=5).map(|i| format!("data_batch_{i}")).collect()
        }
        (cifar::Variant::Cifar10, Split::Test) => vec!["test_batch".into()],
        (cifar::Variant::Cifar100, Split::Train) => vec!["train".into()],
        (cifar::Variant::Cifar100, Split::Test) => vec!["test".into()],
    };
    let mut all = cifar::CifarBatch {
        coarse_labels: (variant == cifar::Variant::Cifar100).then(Vec::new),
        ..Default::default()
    };
    let paths: Vec<PathBuf> = stems
        .iter()
        .map(|stem| {
            let p = layout.dir.join(if layout.binary {
                format!("{stem}.bin")
            } else {
                stem.clone()
            });
            if p.is_file() {
                Ok(p)
            } else {
                Err(Error::format(
                    &p,
                    format!("missing file: a {name} {split} split needs {stems:?}"),
                ))
            }
        })
        .collect::<Result<_>>()?;
    if layout.binary {
        // Check every file's length first (a whole number of records, at most
        // cifar::MAX_RECORDS of them), then reserve the whole split once, so that appending
        // batches never reallocates and a bad file costs no memory.
        let mut records = 0usize;
        for p in &paths {
            let len = std::fs::metadata(p).map_err(|e| Error::io(p, e))?.len();
            records += cifar::bin_records(p, variant, len)?;
        }
        all.images.reserve(records * cifar::IMAGE_BYTES);
        all.labels.reserve(records);
    }
    for p in &paths {
        let p = p.as_path();
        if layout.binary {
            cifar::read_bin_into(p, variant, &mut all)?;
        } else {
            let b = cifar::read_pickle(p, variant)?;
            all.images.extend_from_slice(&b.images);
            all.labels.extend_from_slice(&b.labels);
            if let (Some(dst), Some(src)) = (&mut all.coarse_labels, b.coarse_labels) {
                dst.extend(src);
            }
        }
    }
    let (class_names, coarse_names) = cifar_names(&layout, variant)?;
    Ok(Dataset {
        name: name.into(),
        split,
        inputs: Inputs::Images {
            data: all.images,
            channels: 3,
            height: 32,
            width: 32,
        },
        labels: all.labels.into_iter().map(u32::from).collect(),
        class_names,
        coarse_labels: all
            .coarse_labels
            .map(|c| c.into_iter().map(u32::from).collect()),
        coarse_names,
    })
}

/// Class names from the copy's meta file when present (checked for the right count), else
/// the CIFAR-10 names or `fine0..fine99` / `coarse0..coarse19`.
fn cifar_names(
    layout: &CifarLayout,
    variant: cifar::Variant,
) -> Result<(Vec<String>, Option<Vec<String>>)> {
    let check = |p: &Path, v: Vec<String>, k: usize| -> Result<Vec<String>> {
        if v.len() != k {
            return Err(Error::format(
                p,
                format!("expected {k} class names, found {}", v.len()),
            ));
        }
        Ok(v)
    };
    let generated = |prefix: &str, k: usize| (0..k).map(|i| format!("{prefix}{i}")).collect();
    match variant {
        cifar::Variant::Cifar10 => {
            let txt = layout.dir.join("batches.meta.txt");
            let pkl = layout.dir.join("batches.meta");
            let names = if layout.binary && txt.is_file() {
                check(&txt, cifar::read_names_txt(&txt)?, 10)?
            } else if !layout.binary && pkl.is_file() {
                check(&pkl, cifar::read_meta_pickle(&pkl, "label_names")?, 10)?
            } else {
                cifar::CIFAR10_NAMES.iter().map(|s| s.to_string()).collect()
            };
            Ok((names, None))
        }
        cifar::Variant::Cifar100 => {
            let fine_txt = layout.dir.join("fine_label_names.txt");
            let coarse_txt = layout.dir.join("coarse_label_names.txt");
            let meta = layout.dir.join("meta");
            let k = cifar::CIFAR100_COARSE;
            if layout.binary && fine_txt.is_file() && coarse_txt.is_file() {
                Ok((
                    check(&fine_txt, cifar::read_names_txt(&fine_txt)?, 100)?,
                    Some(check(&coarse_txt, cifar::read_names_txt(&coarse_txt)?, k)?),
                ))
            } else if !layout.binary && meta.is_file() {
                Ok((
                    check(
                        &meta,
                        cifar::read_meta_pickle(&meta, "fine_label_names")?,
                        100,
                    )?,
                    Some(check(
                        &meta,
                        cifar::read_meta_pickle(&meta, "coarse_label_names")?,
                        k,
                    )?),
                ))
            } else {
                Ok((generated("fine", 100), Some(generated("coarse", k))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::cifar::tests::{batch, batch_pickle, py2_pickle, PyVal};
    use crate::io::cifar::{write_bin, CifarBatch, Variant};
    use crate::io::idx::{write as write_idx, IdxArray};
    use crate::tensor::DType;
    use nclab_testkit::scratch;

    /// MNIST-like files: `n` 2 x 3 images per class (labels 0..k cycling), pixel value
    /// `i % 256` for image `i`.
    fn write_mnist(dir: &Path, prefix: &str, k: usize, n: usize, gz: bool) {
        let total = k * n;
        let suffix = if gz { ".gz" } else { "" };
        let imgs = IdxArray {
            dtype: DType::U8,
            dims: vec![total, 2, 3],
            data: (0..total).flat_map(|i| [(i % 256) as u8; 6]).collect(),
        };
        let labels = IdxArray {
            dtype: DType::U8,
            dims: vec![total],
            data: (0..total).map(|i| (i % k) as u8).collect(),
        };
        write_idx(
            &dir.join(format!("{prefix}-images-idx3-ubyte{suffix}")),
            &imgs,
            gz,
        )
        .unwrap();
        write_idx(
            &dir.join(format!("{prefix}-labels-idx1-ubyte{suffix}")),
            &labels,
            gz,
        )
        .unwrap();
    }

    #[test]
    fn mnist_layout_raw_and_gz() {
        let root = scratch("load-mnist");
        std::fs::create_dir_all(root.join("mnist")).unwrap();
        std::fs::create_dir_all(root.join("fashion-mnist")).unwrap();
        write_mnist(&root.join("mnist"), "train", 10, 3, false);
        write_mnist(&root.join("mnist"), "t10k", 10, 2, false);
        write_mnist(&root.join("fashion-mnist"), "train", 10, 3, true);
        let d = load("mnist", &root, Split::Train).unwrap();
        assert_eq!(
            (d.len(), d.sample_shape(), d.class_counts()),
            (30, vec![1, 2, 3], vec![3; 10])
        );
        assert_eq!(d.class_names[7], "7");
        let Inputs::Images { data, .. } = &d.inputs else {
            unreachable!()
        };
        assert_eq!(&data[6 * 13..6 * 14], &[13; 6]);
        assert_eq!(load("mnist", &root, Split::Test).unwrap().len(), 20);
        let f = load("fashion-mnist", &root, Split::Train).unwrap();
        assert_eq!((f.len(), f.class_names[9].as_str()), (30, "Ankle boot"));

        // Missing split.
        let e = load("fashion-mnist", &root, Split::Test)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t10k-images-idx3-ubyte") && e.contains("missing file"),
            "{e}"
        );
        assert!(e.contains("fetch-data.sh fashion-mnist"), "{e}");

        // Images and labels of different counts.
        let dir = root.join("mnist");
        write_idx(
            &dir.join("t10k-labels-idx1-ubyte"),
            &IdxArray {
                dtype: DType::U8,
                dims: vec![19],
                data: vec![1; 19],
            },
            false,
        )
        .unwrap();
        let e = load("mnist", &root, Split::Test).unwrap_err().to_string();
        assert!(e.contains("t10k-labels-idx1-ubyte: 19 labels, but"), "{e}");
        assert!(e.contains("holds 20 images"), "{e}");

        // A label out of range.
        let mut l: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
        l[4] = 10;
        write_idx(
            &dir.join("t10k-labels-idx1-ubyte"),
            &IdxArray {
                dtype: DType::U8,
                dims: vec![20],
                data: l,
            },
            false,
        )
        .unwrap();
        let e = load("mnist", &root, Split::Test).unwrap_err().to_string();
        assert!(
            e.contains("t10k-labels-idx1-ubyte: row 4: label 10 out of range (expected 0..10)"),
            "{e}"
        );

        let e = load("imagenet", &root, Split::Test)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown dataset \"imagenet\"") && e.contains("cifar100"),
            "{e}"
        );
    }

    #[test]
    fn cifar10_binary_and_python_layouts() {
        let root = scratch("load-c10");
        let bin = root.join("cifar10/cifar-10-batches-bin");
        std::fs::create_dir_all(&bin).unwrap();
        let py = root.join("py");
        std::fs::create_dir_all(&py).unwrap();
        // Batch j holds labels (j, j+1): 5 train batches of 2, a test batch of 3.
        let mut want = CifarBatch::default();
        for j in 1..=5u8 {
            let b = batch(Variant::Cifar10, &[j, (j + 1) % 10]);
            write_bin(
                &bin.join(format!("data_batch_{j}.bin")),
                Variant::Cifar10,
                &b,
            )
            .unwrap();
            std::fs::write(
                py.join(format!("data_batch_{j}")),
                batch_pickle(Variant::Cifar10, &b),
            )
            .unwrap();
            want.images.extend(b.images);
            want.labels.extend(b.labels);
        }
        let t = batch(Variant::Cifar10, &[0, 4, 9]);
        write_bin(&bin.join("test_batch.bin"), Variant::Cifar10, &t).unwrap();
        std::fs::write(py.join("test_batch"), batch_pickle(Variant::Cifar10, &t)).unwrap();
        std::fs::write(
            bin.join("batches.meta.txt"),
            cifar::CIFAR10_NAMES.join("\n") + "\n\n",
        )
        .unwrap();

        for d in [
            load("cifar10", &root, Split::Train).unwrap(),
            load_from("cifar10", &py, Split::Train).unwrap(),
        ] {
            assert_eq!(d.len(), 10);
            assert_eq!(
                d.labels,
                want.labels.iter().map(|&l| l as u32).collect::<Vec<_>>()
            );
            assert_eq!(
                d.inputs,
                Inputs::Images {
                    data: want.images.clone(),
                    channels: 3,
                    height: 32,
                    width: 32
                }
            );
            assert_eq!(d.class_names[1], "automobile");
        }
        assert_eq!(
            load("cifar10", &root, Split::Test).unwrap().labels,
            vec![0, 4, 9]
        );

        // A missing batch is named.
        std::fs::remove_file(py.join("data_batch_3")).unwrap();
        let e = load_from("cifar10", &py, Split::Train)
            .unwrap_err()
            .to_string();
        assert!(e.contains("data_batch_3: missing file"), "{e}");
        // Nothing there at all.
        let e = load_from("cifar10", &root, Split::Train)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no cifar10 batches found"), "{e}");
        // A meta file with the wrong number of names.
        std::fs::write(bin.join("batches.meta.txt"), "cat\ndog\n").unwrap();
        let e = load("cifar10", &root, Split::Test).unwrap_err().to_string();
        assert!(
            e.contains("batches.meta.txt: expected 10 class names, found 2"),
            "{e}"
        );
    }

    #[test]
    fn cifar100_binary_and_python_with_coarse_labels() {
        let root = scratch("load-c100");
        let bin = root.join("cifar100");
        std::fs::create_dir_all(&bin).unwrap();
        let train = batch(Variant::Cifar100, &[99, 0, 57, 12]);
        let test = batch(Variant::Cifar100, &[3]);
        write_bin(&bin.join("train.bin"), Variant::Cifar100, &train).unwrap();
        write_bin(&bin.join("test.bin"), Variant::Cifar100, &test).unwrap();
        let fine: Vec<String> = (0..100).map(|i| format!("f{i}")).collect();
        let coarse: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
        std::fs::write(bin.join("fine_label_names.txt"), fine.join("\n")).unwrap();
        std::fs::write(bin.join("coarse_label_names.txt"), coarse.join("\n")).unwrap();
        let py = root.join("x/cifar-100-python");
        std::fs::create_dir_all(&py).unwrap();
        std::fs::write(py.join("train"), batch_pickle(Variant::Cifar100, &train)).unwrap();
        std::fs::write(
            py.join("meta"),
            py2_pickle(&[
                ("fine_label_names", PyVal::Names(fine.clone())),
                ("coarse_label_names", PyVal::Names(coarse.clone())),
            ]),
        )
        .unwrap();
        for d in [
            load("cifar100", &root, Split::Train).unwrap(),
            load_from("cifar100", &root.join("x"), Split::Train).unwrap(),
        ] {
            assert_eq!(d.labels, vec![99, 0, 57, 12]);
            // The test batches set coarse = fine / 5.
            assert_eq!(d.coarse_labels, Some(vec![19, 0, 11, 2]));
            assert_eq!((d.num_classes(), d.class_names[57].as_str()), (100, "f57"));
            assert_eq!(d.coarse_names.as_ref().unwrap()[11], "c11");
        }
        assert_eq!(
            load("cifar100", &root, Split::Test).unwrap().coarse_labels,
            Some(vec![0])
        );
    }

    #[test]
    fn synthetic_by_name_ignores_the_root() {
        let d = load(
            "synthetic:k=3,d=4,n=2",
            Path::new("/nonexistent"),
            Split::Test,
        )
        .unwrap();
        assert_eq!(
            (d.len(), d.num_classes(), d.sample_shape()),
            (6, 3, vec![4])
        );
    }

    /// A split whose batch file is a sparse 49 GB file is refused from its length before any
    /// memory is reserved for the split, and the message names the file.
    #[test]
    fn enormous_cifar_batches_are_refused_before_reserving() {
        let root = scratch("load-c10-sparse");
        let bin = root.join("cifar10");
        std::fs::create_dir_all(&bin).unwrap();
        for j in 1..=5 {
            write_bin(
                &bin.join(format!("data_batch_{j}.bin")),
                Variant::Cifar10,
                &batch(Variant::Cifar10, &[1, 2]),
            )
            .unwrap();
        }
        // 16,000,000 records of 3073 bytes: 49.2 GB, a whole number of records.
        let big = bin.join("data_batch_3.bin");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(3073 * 16_000_000)
            .unwrap();
        let e = load("cifar10", &root, Split::Train)
            .unwrap_err()
            .to_string();
        assert!(e.contains("data_batch_3.bin"), "{e}");
        assert!(
            e.contains("size 49168000000 bytes is 16000000 CIFAR-10 records, more than the 60000"),
            "{e}"
        );
        // 49 GB that is not a whole number of records.
        std::fs::File::create(&big)
            .unwrap()
            .set_len(49_000_000_000)
            .unwrap();
        let e = load("cifar10", &root, Split::Train)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("data_batch_3.bin: size 49000000000 bytes is not a positive multiple"),
            "{e}"
        );
        std::fs::remove_file(&big).unwrap();
    }

    /// MNIST labels stored as i32 are read; a huge one names the file and the row.
    #[test]
    fn huge_idx_labels_name_the_file_and_row() {
        let root = scratch("load-mnist-huge-label");
        let dir = root.join("mnist");
        std::fs::create_dir_all(&dir).unwrap();
        write_mnist(&dir, "train", 10, 1, false);
        let write_labels = |labels: &[i32]| {
            let data = labels.iter().flat_map(|v| v.to_le_bytes()).collect();
            let array = IdxArray {
                dtype: DType::I32,
                dims: vec![10],
                data,
            };
            write_idx(&dir.join("train-labels-idx1-ubyte"), &array, false).unwrap();
        };
        let mut labels: Vec<i32> = (0..10).collect();
        labels[7] = 100_000_000;
        write_labels(&labels);
        let e = load("mnist", &root, Split::Train).unwrap_err().to_string();
        assert!(
            e.contains(
                "train-labels-idx1-ubyte: row 7: label 100000000 out of range (expected 0..10)"
            ),
            "{e}"
        );
        labels[7] = 7;
        write_labels(&labels);
        assert_eq!(load("mnist", &root, Split::Train).unwrap().labels[7], 7);
    }
}
