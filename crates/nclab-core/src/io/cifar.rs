//! CIFAR-10 and CIFAR-100 batch files, binary and "python version".
//!
//! Binary: a sequence of records, CIFAR-10 `[label, 3072 pixels]` (3073 bytes), CIFAR-100
//! `[coarse label, fine label, 3072 pixels]` (3074 bytes); the pixels are the R, G and B
//! planes of a 32 x 32 image, each row-major (so CHW order).
//! Python version: a pickled dict with `data` (a u8 NumPy array N x 3072, same pixel order)
//! and `labels` (CIFAR-10) or `fine_labels` + `coarse_labels` (CIFAR-100).
//! Images stay u8.

use super::{pickle, write_atomic};
use crate::{Error, Result};
use std::path::Path;

/// Bytes of one 3 x 32 x 32 image.
pub const IMAGE_BYTES: usize = 3 * 32 * 32;

/// Which CIFAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Cifar10,
    Cifar100,
}

impl Variant {
    /// Bytes of one binary record: 3073 (CIFAR-10) or 3074 (CIFAR-100).
    pub fn record_size(self) -> usize {
        match self {
            Variant::Cifar10 => 1 + IMAGE_BYTES,
            Variant::Cifar100 => 2 + IMAGE_BYTES,
        }
    }

    /// Number of (fine) classes: 10 or 100.
    pub fn num_classes(self) -> usize {
        match self {
            Variant::Cifar10 => 10,
            Variant::Cifar100 => 100,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Variant::Cifar10 => "CIFAR-10",
            Variant::Cifar100 => "CIFAR-100",
        }
    }
}

/// Most records accepted in one binary batch file: 60,000. The real files hold 10,000
/// (CIFAR-10 batches, both test files) or 50,000 (the CIFAR-100 train file); a file that
/// would hold more is refused from its length, before anything is read or reserved.
pub const MAX_RECORDS: usize = 60_000;

/// Number of CIFAR-100 coarse classes (superclasses).
pub const CIFAR100_COARSE: usize = 20;

/// The class names of CIFAR-10, in label order (the leaves of the `cifar10` hierarchy).
pub const CIFAR10_NAMES: [&str; 10] = crate::hierarchy::CIFAR10_CLASSES;

/// Images and labels of one batch file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CifarBatch {
    /// `len() * 3072` bytes, image after image, each CHW.
    pub images: Vec<u8>,
    /// Labels (CIFAR-100: the fine ones).
    pub labels: Vec<u8>,
    /// CIFAR-100 coarse labels (superclasses), `None` for CIFAR-10.
    pub coarse_labels: Option<Vec<u8>>,
}

impl CifarBatch {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

fn check_label(path: &Path, what: &str, i: usize, v: i64, k: usize) -> Result<u8> {
    if v < 0 || v >= k as i64 {
        return Err(Error::format(
            path,
            format!("image {i}: {what} {v} out of range (expected 0..{k})"),
        ));
    }
    Ok(v as u8)
}

/// Reads a binary batch; the file size must be a whole number of records, every label in
/// range.
pub fn read_bin(path: &Path, variant: Variant) -> Result<CifarBatch> {
    let mut out = CifarBatch {
        coarse_labels: (variant == Variant::Cifar100).then(Vec::new),
        ..Default::default()
    };
    read_bin_into(path, variant, &mut out)?;
    Ok(out)
}

/// The number of records of a binary batch file of `len` bytes: an error naming `path` when
/// the length is not a positive whole number of records, or is more than [`MAX_RECORDS`]
/// records (a sparse or corrupt file). Nothing is read: callers check every file of a split
/// with this before reserving memory for it.
pub fn bin_records(path: &Path, variant: Variant, len: u64) -> Result<usize> {
    let r = variant.record_size() as u64;
    if len == 0 || !len.is_multiple_of(r) {
        let other = match variant {
            Variant::Cifar10 => Variant::Cifar100,
            Variant::Cifar100 => Variant::Cifar10,
        };
        let hint = if len != 0 && len.is_multiple_of(other.record_size() as u64) {
            format!(
                " (it is a whole number of {}-byte {} records: wrong dataset?)",
                other.record_size(),
                other.name()
            )
        } else {
            String::new()
        };
        return Err(Error::format(
            path,
            format!(
                "size {len} bytes is not a positive multiple of the {r}-byte {} record \
                 ({} label byte(s) + 3072 pixels){hint}",
                variant.name(),
                r as usize - IMAGE_BYTES
            ),
        ));
    }
    let n = len / r;
    if n > MAX_RECORDS as u64 {
        return Err(Error::format(
            path,
            format!(
                "size {len} bytes is {n} {} records, more than the {MAX_RECORDS} a batch file \
                 may hold (CIFAR-10 batches hold 10000, the CIFAR-100 train file 50000): a \
                 corrupt or sparse file?",
                variant.name()
            ),
        ));
    }
    Ok(n as usize)
}

/// Like [`read_bin`], appending to `out` (whose `coarse_labels` must be `Some` exactly for
/// CIFAR-100), so that several batches load into one buffer without further copies.
pub fn read_bin_into(path: &Path, variant: Variant, out: &mut CifarBatch) -> Result<()> {
    if out.coarse_labels.is_some() != (variant == Variant::Cifar100) {
        return Err(Error::invalid(format!(
            "read_bin_into({}): coarse_labels must be Some exactly for CIFAR-100",
            path.display()
        )));
    }
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    let n = bin_records(path, variant, len)?;
    let b = super::map_file(path)?;
    let r = variant.record_size();
    if b.len() != n * r {
        return Err(Error::format(
            path,
            format!(
                "size changed while it was read ({len} bytes, then {})",
                b.len()
            ),
        ));
    }
    out.images.reserve(n * IMAGE_BYTES);
    out.labels.reserve(n);
    if let Some(c) = &mut out.coarse_labels {
        c.reserve(n);
    }
    for (i, rec) in b.chunks_exact(r).enumerate() {
        match &mut out.coarse_labels {
            None => {
                out.labels
                    .push(check_label(path, "label", i, rec[0] as i64, 10)?);
            }
            Some(coarse) => {
                coarse.push(check_label(
                    path,
                    "coarse label",
                    i,
                    rec[0] as i64,
                    CIFAR100_COARSE,
                )?);
                out.labels
                    .push(check_label(path, "fine label", i, rec[1] as i64, 100)?);
            }
        }
        out.images.extend_from_slice(&rec[r - IMAGE_BYTES..]);
    }
    Ok(())
}

/// Writes a binary batch (the inverse of [`read_bin`]). Atomic.
pub fn write_bin(path: &Path, variant: Variant, batch: &CifarBatch) -> Result<()> {
    check_shapes(path, variant, batch)?;
    write_atomic(path, |w| {
        for i in 0..batch.len() {
            if let Some(c) = &batch.coarse_labels {
                w.write_all(&[c[i]])?;
            }
            w.write_all(&[batch.labels[i]])?;
            w.write_all(&batch.images[i * IMAGE_BYTES..(i + 1) * IMAGE_BYTES])?;
        }
        Ok(())
    })
}

fn check_shapes(path: &Path, variant: Variant, batch: &CifarBatch) -> Result<()> {
    let n = batch.len();
    let coarse_ok = match (&batch.coarse_labels, variant) {
        (None, Variant::Cifar10) => true,
        (Some(c), Variant::Cifar100) => c.len() == n,
        _ => false,
    };
    if batch.images.len() != n * IMAGE_BYTES || !coarse_ok {
        return Err(Error::format(
            path,
            format!(
                "{} batch of {n} labels needs {} image bytes and {} coarse labels, given {} \
                 and {:?}",
                variant.name(),
                n * IMAGE_BYTES,
                if variant == Variant::Cifar100 { n } else { 0 },
                batch.images.len(),
                batch.coarse_labels.as_ref().map(|c| c.len())
            ),
        ));
    }
    Ok(())
}

/// Reads a "python version" batch (`data_batch_1`, `test_batch`, CIFAR-100 `train`/`test`).
pub fn read_pickle(path: &Path, variant: Variant) -> Result<CifarBatch> {
    let v = pickle::read(path)?;
    let err = |m: String| Error::format(path, m);
    let keys = || format!("found keys {:?}", v.keys());
    if !matches!(v, pickle::Value::Dict(_)) {
        return Err(err(format!(
            "expected a pickled dict with 'data' and labels, found {}",
            match v {
                pickle::Value::List(_) => "a list",
                pickle::Value::Tuple(_) => "a tuple",
                _ => "another value",
            }
        )));
    }
    let data = v
        .get("data")
        .ok_or_else(|| err(format!("expected key 'data', {}", keys())))?;
    let arr = data
        .ndarray()
        .ok_or_else(|| err("'data' is not a C-ordered NumPy array as CIFAR pickles hold".into()))?;
    if !matches!(arr.dtype.as_str(), "u1" | "|u1" | "uint8")
        || arr.shape.len() != 2
        || arr.shape[1] != IMAGE_BYTES
    {
        return Err(err(format!(
            "'data' must be uint8 of shape (N, 3072), found {} of shape {:?}",
            arr.dtype, arr.shape
        )));
    }
    let n = arr.shape[0];
    if n == 0 {
        return Err(err(format!(
            "'data' holds no images (shape {:?})",
            arr.shape
        )));
    }
    if n.checked_mul(IMAGE_BYTES) != Some(arr.data.len()) {
        return Err(err(format!(
            "'data' of shape {:?} needs {} bytes, holds {}",
            arr.shape,
            n.checked_mul(IMAGE_BYTES)
                .map_or_else(|| "more than 2^64".to_string(), |b| b.to_string()),
            arr.data.len()
        )));
    }
    let labels = |key: &str, k: usize| -> Result<Vec<u8>> {
        let ints = v
            .get(key)
            .ok_or_else(|| {
                err(format!(
                    "expected key '{key}' ({}), {}",
                    variant.name(),
                    keys()
                ))
            })?
            .as_ints()
            .ok_or_else(|| err(format!("'{key}' is not a list of integers")))?;
        if ints.len() != n {
            return Err(err(format!(
                "'{key}' has {} labels but 'data' has {n} images",
                ints.len()
            )));
        }
        ints.iter()
            .enumerate()
            .map(|(i, &x)| check_label(path, key, i, x, k))
            .collect()
    };
    let (labels, coarse_labels) = match variant {
        Variant::Cifar10 => (labels("labels", 10)?, None),
        Variant::Cifar100 => (
            labels("fine_labels", 100)?,
            Some(labels("coarse_labels", CIFAR100_COARSE)?),
        ),
    };
    Ok(CifarBatch {
        images: arr.data,
        labels,
        coarse_labels,
    })
}

/// Class names from a "python version" meta pickle: `label_names` (CIFAR-10 `batches.meta`)
/// or `fine_label_names` and `coarse_label_names` (CIFAR-100 `meta`).
pub fn read_meta_pickle(path: &Path, key: &str) -> Result<Vec<String>> {
    let v = pickle::read(path)?;
    match v.get(key) {
        Some(pickle::Value::List(xs)) => xs
            .iter()
            .map(|x| {
                x.as_text().ok_or_else(|| {
                    Error::format(path, format!("'{key}' holds a value that is not text"))
                })
            })
            .collect(),
        _ => Err(Error::format(
            path,
            format!(
                "expected key '{key}' (a list of names), found keys {:?}",
                v.keys()
            ),
        )),
    }
}

/// Class names from a text file, one per non-empty line (`batches.meta.txt`,
/// `fine_label_names.txt`, `coarse_label_names.txt`).
pub fn read_names_txt(path: &Path) -> Result<Vec<String>> {
    let s = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use nclab_testkit::scratch;

    /// A small batch: image `i` has every pixel of channel `c` equal to `10 i + c`.
    pub(crate) fn batch(variant: Variant, labels: &[u8]) -> CifarBatch {
        let mut images = Vec::new();
        for i in 0..labels.len() {
            for c in 0..3 {
                images.extend(std::iter::repeat_n((10 * i + c) as u8, 1024));
            }
        }
        CifarBatch {
            images,
            labels: labels.to_vec(),
            coarse_labels: (variant == Variant::Cifar100)
                .then(|| labels.iter().map(|&l| l / 5).collect()),
        }
    }

    /// The pickle Python 2's cPickle writes for a CIFAR batch dict (protocol 2, byte strings
    /// as BINSTRING/SHORT_BINSTRING, the array as numpy's `_reconstruct` + BUILD state).
    pub(crate) fn py2_pickle(entries: &[(&str, PyVal)]) -> Vec<u8> {
        let mut p = vec![0x80, 2, b'}', b'('];
        for (k, v) in entries {
            p.push(b'U');
            p.push(k.len() as u8);
            p.extend_from_slice(k.as_bytes());
            match v {
                PyVal::Ints(xs) => {
                    p.extend_from_slice(b"](");
                    for &x in xs {
                        p.push(b'J');
                        p.extend_from_slice(&(x as i32).to_le_bytes());
                    }
                    p.push(b'e');
                }
                PyVal::Names(xs) => {
                    p.extend_from_slice(b"](");
                    for x in xs {
                        p.push(b'U');
                        p.push(x.len() as u8);
                        p.extend_from_slice(x.as_bytes());
                    }
                    p.push(b'e');
                }
                PyVal::Array(rows, cols, data) => {
                    p.extend_from_slice(b"cnumpy.core.multiarray\n_reconstruct\n");
                    p.extend_from_slice(b"cnumpy\nndarray\nK\x00\x85U\x01b\x87R");
                    // state: (1, (rows, cols), dtype('u1', 0, 1) + its state, False, data)
                    p.extend_from_slice(b"(K\x01");
                    p.push(b'J');
                    p.extend_from_slice(&(*rows as i32).to_le_bytes());
                    p.push(b'J');
                    p.extend_from_slice(&(*cols as i32).to_le_bytes());
                    p.push(0x86);
                    p.extend_from_slice(b"cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R");
                    p.extend_from_slice(
                        b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb",
                    );
                    p.push(0x89);
                    p.push(b'T');
                    p.extend_from_slice(&(data.len() as u32).to_le_bytes());
                    p.extend_from_slice(data);
                    p.extend_from_slice(b"tb");
                }
            }
        }
        p.extend_from_slice(b"u.");
        p
    }

    pub(crate) enum PyVal {
        Ints(Vec<i64>),
        Names(Vec<String>),
        Array(usize, usize, Vec<u8>),
    }

    pub(crate) fn batch_pickle(variant: Variant, b: &CifarBatch) -> Vec<u8> {
        let ints = |v: &[u8]| PyVal::Ints(v.iter().map(|&x| x as i64).collect());
        let mut e = vec![("data", PyVal::Array(b.len(), IMAGE_BYTES, b.images.clone()))];
        match variant {
            Variant::Cifar10 => e.push(("labels", ints(&b.labels))),
            Variant::Cifar100 => {
                e.push(("fine_labels", ints(&b.labels)));
                e.push(("coarse_labels", ints(b.coarse_labels.as_ref().unwrap())));
            }
        }
        py2_pickle(&e)
    }

    #[test]
    fn binary_round_trip_both_variants() {
        let dir = scratch("cifar-bin");
        for v in [Variant::Cifar10, Variant::Cifar100] {
            let b = batch(v, &[0, 9, 3, 3, 7]);
            let p = dir.join(format!("{v:?}.bin"));
            write_bin(&p, v, &b).unwrap();
            // 5 records of 3073 or 3074 bytes.
            assert_eq!(
                std::fs::metadata(&p).unwrap().len() as usize,
                5 * v.record_size()
            );
            let raw = std::fs::read(&p).unwrap();
            let r = v.record_size();
            // Record 1: label byte(s) then R plane = 10, G plane = 11.
            match v {
                Variant::Cifar10 => assert_eq!(raw[r], 9),
                Variant::Cifar100 => assert_eq!(&raw[r..r + 2], &[1, 9]),
            }
            assert_eq!(raw[2 * r - 3072], 10);
            assert_eq!(raw[2 * r - 2048], 11);
            assert_eq!(read_bin(&p, v).unwrap(), b);
        }
    }

    #[test]
    fn pickle_round_trip_both_variants() {
        let dir = scratch("cifar-pkl");
        for v in [Variant::Cifar10, Variant::Cifar100] {
            let b = batch(v, &[1, 2, 8]);
            let p = dir.join(format!("{v:?}_batch"));
            std::fs::write(&p, batch_pickle(v, &b)).unwrap();
            assert_eq!(read_pickle(&p, v).unwrap(), b);
        }
        let p = dir.join("batches.meta");
        let names: Vec<String> = CIFAR10_NAMES.iter().map(|s| s.to_string()).collect();
        std::fs::write(
            &p,
            py2_pickle(&[("label_names", PyVal::Names(names.clone()))]),
        )
        .unwrap();
        assert_eq!(read_meta_pickle(&p, "label_names").unwrap(), names);
        let e = read_meta_pickle(&p, "fine_label_names")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("expected key 'fine_label_names'") && e.contains("label_names"),
            "{e}"
        );
    }

    #[test]
    fn bad_binary_inputs() {
        let dir = scratch("cifar-bin-bad");
        let e = read_bin(&dir.join("data_batch_9.bin"), Variant::Cifar10)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("data_batch_9.bin") && e.contains("No such file"),
            "{e}"
        );

        // Records of 3072 bytes (no label): neither 3073 nor 3074.
        let p = dir.join("nolabel.bin");
        std::fs::write(&p, vec![0u8; 3 * 3072]).unwrap();
        let e = read_bin(&p, Variant::Cifar10).unwrap_err().to_string();
        assert!(
            e.contains("nolabel.bin") && e.contains("size 9216 bytes"),
            "{e}"
        );
        assert!(e.contains("3073-byte CIFAR-10 record"), "{e}");

        // A CIFAR-100 file read as CIFAR-10: 3074 * 3073 bytes is a multiple of both, so take
        // 2 records of 3074, which is not a multiple of 3073: the message suggests the variant.
        let p = dir.join("train.bin");
        write_bin(&p, Variant::Cifar100, &batch(Variant::Cifar100, &[1, 2])).unwrap();
        let e = read_bin(&p, Variant::Cifar10).unwrap_err().to_string();
        assert!(
            e.contains("6148 bytes") && e.contains("3074-byte CIFAR-100 records"),
            "{e}"
        );

        // Truncated payload: one record cut short.
        let p = dir.join("cut.bin");
        write_bin(&p, Variant::Cifar10, &batch(Variant::Cifar10, &[1, 2])).unwrap();
        let raw = std::fs::read(&p).unwrap();
        std::fs::write(&p, &raw[..raw.len() - 100]).unwrap();
        let e = read_bin(&p, Variant::Cifar10).unwrap_err().to_string();
        assert!(
            e.contains("cut.bin") && e.contains("size 6046 bytes"),
            "{e}"
        );

        // Label 10 in a CIFAR-10 record; fine label 100, coarse label 20 in CIFAR-100.
        let p = dir.join("label.bin");
        let mut raw = vec![0u8; 2 * 3073];
        raw[3073] = 10;
        std::fs::write(&p, &raw).unwrap();
        let e = read_bin(&p, Variant::Cifar10).unwrap_err().to_string();
        assert!(
            e.contains("image 1: label 10 out of range (expected 0..10)"),
            "{e}"
        );
        let mut raw = vec![0u8; 3074];
        raw[1] = 100;
        std::fs::write(&p, &raw).unwrap();
        let e = read_bin(&p, Variant::Cifar100).unwrap_err().to_string();
        assert!(
            e.contains("image 0: fine label 100 out of range (expected 0..100)"),
            "{e}"
        );
        raw[1] = 0;
        raw[0] = 20;
        std::fs::write(&p, &raw).unwrap();
        let e = read_bin(&p, Variant::Cifar100).unwrap_err().to_string();
        assert!(
            e.contains("coarse label 20 out of range (expected 0..20)"),
            "{e}"
        );
    }

    #[test]
    fn bad_pickle_inputs() {
        let dir = scratch("cifar-pkl-bad");
        let p = dir.join("data_batch_1");
        let b = batch(Variant::Cifar10, &[1, 2]);

        // CIFAR-10 pickle read as CIFAR-100: no 'fine_labels'.
        std::fs::write(&p, batch_pickle(Variant::Cifar10, &b)).unwrap();
        let e = read_pickle(&p, Variant::Cifar100).unwrap_err().to_string();
        assert!(
            e.contains("data_batch_1") && e.contains("expected key 'fine_labels'"),
            "{e}"
        );
        assert!(e.contains("\"data\", \"labels\""), "{e}");

        // No 'data'.
        std::fs::write(&p, py2_pickle(&[("labels", PyVal::Ints(vec![1]))])).unwrap();
        let e = read_pickle(&p, Variant::Cifar10).unwrap_err().to_string();
        assert!(e.contains("expected key 'data'"), "{e}");

        // Three labels for two images.
        std::fs::write(
            &p,
            py2_pickle(&[
                ("data", PyVal::Array(2, IMAGE_BYTES, b.images.clone())),
                ("labels", PyVal::Ints(vec![1, 2, 3])),
            ]),
        )
        .unwrap();
        let e = read_pickle(&p, Variant::Cifar10).unwrap_err().to_string();
        assert!(
            e.contains("'labels' has 3 labels but 'data' has 2 images"),
            "{e}"
        );

        // A negative label.
        std::fs::write(
            &p,
            py2_pickle(&[
                ("data", PyVal::Array(2, IMAGE_BYTES, b.images.clone())),
                ("labels", PyVal::Ints(vec![1, -1])),
            ]),
        )
        .unwrap();
        let e = read_pickle(&p, Variant::Cifar10).unwrap_err().to_string();
        assert!(e.contains("image 1: labels -1 out of range"), "{e}");

        // Wrong image size: shape (2, 3000).
        std::fs::write(
            &p,
            py2_pickle(&[
                ("data", PyVal::Array(2, 3000, vec![0; 6000])),
                ("labels", PyVal::Ints(vec![1, 1])),
            ]),
        )
        .unwrap();
        let e = read_pickle(&p, Variant::Cifar10).unwrap_err().to_string();
        assert!(
            e.contains("must be uint8 of shape (N, 3072), found u1 of shape [2, 3000]"),
            "{e}"
        );

        // No images: 'data' of shape (0, 3072) and no labels.
        std::fs::write(
            &p,
            py2_pickle(&[
                ("data", PyVal::Array(0, IMAGE_BYTES, vec![])),
                ("labels", PyVal::Ints(vec![])),
            ]),
        )
        .unwrap();
        let e = read_pickle(&p, Variant::Cifar10).unwrap_err().to_string();
        assert!(
            e.contains("data_batch_1: 'data' holds no images (shape [0, 3072])"),
            "{e}"
        );

        // Not a pickle at all, and a truncated one.
        std::fs::write(&p, b"hello").unwrap();
        let e = read_pickle(&p, Variant::Cifar10).unwrap_err().to_string();
        assert!(e.contains("not a readable pickle"), "{e}");
        let full = batch_pickle(Variant::Cifar10, &b);
        std::fs::write(&p, &full[..full.len() / 2]).unwrap();
        let e = read_pickle(&p, Variant::Cifar10).unwrap_err().to_string();
        assert!(e.contains("not a readable pickle: truncated"), "{e}");
    }

    /// Enormous (sparse) files are refused from their length alone, naming the file: 49 GB
    /// that is not a whole number of records, and 49 GB that is (16,000,000 records, more than
    /// MAX_RECORDS).
    #[test]
    fn enormous_binary_files_are_refused_from_their_length() {
        let dir = scratch("cifar-bin-sparse");
        let p = dir.join("data_batch_1.bin");
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(49_000_000_000).unwrap();
        let e = read_bin(&p, Variant::Cifar10).unwrap_err().to_string();
        assert!(
            e.contains("data_batch_1.bin: size 49000000000 bytes is not a positive multiple"),
            "{e}"
        );
        f.set_len(3074 * 16_000_000).unwrap();
        let e = read_bin(&p, Variant::Cifar100).unwrap_err().to_string();
        assert!(e.contains("data_batch_1.bin"), "{e}");
        assert!(
            e.contains("is 16000000 CIFAR-100 records, more than the 60000 a batch file may hold"),
            "{e}"
        );
        drop(f);
        std::fs::remove_file(&p).unwrap();
        // The bound itself: MAX_RECORDS records are accepted, one more is not.
        assert_eq!(
            bin_records(&p, Variant::Cifar10, 3073 * MAX_RECORDS as u64).unwrap(),
            MAX_RECORDS
        );
        assert!(bin_records(&p, Variant::Cifar10, 3073 * (MAX_RECORDS as u64 + 1)).is_err());
    }

    /// Labels of 2^62 (LONG1) and 1e8 (BININT) in a python batch name the file and the image.
    #[test]
    fn huge_pickle_labels_name_the_file_and_row() {
        let dir = scratch("cifar-pkl-huge");
        let p = dir.join("data_batch_1");
        let b = batch(Variant::Cifar10, &[1, 2, 3]);
        for (big, shown) in [
            (1i64 << 62, "4611686018427387904"),
            (100_000_000, "100000000"),
        ] {
            let mut bytes = py2_pickle(&[
                ("data", PyVal::Array(3, IMAGE_BYTES, b.images.clone())),
                ("labels", PyVal::Ints(vec![1, 7, 2])),
            ]);
            // Replace the label 7 (BININT `J` 07 00 00 00) by LONG1 8 bytes of `big`.
            let at = bytes
                .windows(5)
                .position(|w| w == [b'J', 7, 0, 0, 0])
                .unwrap();
            let mut long = vec![0x8a, 8];
            long.extend_from_slice(&big.to_le_bytes());
            bytes.splice(at..at + 5, long);
            std::fs::write(&p, &bytes).unwrap();
            let e = read_pickle(&p, Variant::Cifar10).unwrap_err().to_string();
            assert!(
                e.contains("data_batch_1")
                    && e.contains(&format!(
                        "image 1: labels {shown} out of range (expected 0..10)"
                    )),
                "{e}"
            );
        }
    }
}
