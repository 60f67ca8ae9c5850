//! NumPy `.npz` archives: a zip file of `.npy` entries (`np.savez`, stored, and
//! `np.savez_compressed`, deflated). Stored entries are memory-mapped like plain `.npy`
//! files; deflated ones are decompressed into owned tensors.

use super::{map_file, npy, write_atomic};
use crate::tensor::Tensor;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

/// Reads every array of an `.npz` archive, keyed by entry name without the `.npy` suffix
/// (the keyword names given to `np.savez`).
pub fn read(path: &Path) -> Result<BTreeMap<String, Tensor>> {
    let map = map_file(path)?;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&map[..]))
        .map_err(|e| Error::format(path, format!("not a readable .npz (zip) archive: {e}")))?;
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| Error::format(path, format!("zip entry {i}: {e}")))?;
        let name = entry.name().to_string();
        let Some(key) = name.strip_suffix(".npy") else {
            return Err(Error::format(
                path,
                format!("entry {name:?} is not a .npy array"),
            ));
        };
        let err = |m: String| Error::format(path, format!("entry {name:?}: {m}"));
        let tensor = match entry.compression() {
            zip::CompressionMethod::Stored => {
                let start = entry.data_start() as usize;
                let len = entry.size() as usize;
                if start.checked_add(len).is_none_or(|end| end > map.len()) {
                    return Err(err(format!(
                        "data [{start}, +{len}) runs past the end of the file ({} bytes)",
                        map.len()
                    )));
                }
                npy::decode(&map[start..start + len], Some((&map, start)), &err)?
            }
            zip::CompressionMethod::Deflated => {
                // The declared size is checked against what deflate can expand the compressed
                // bytes to (1032 times) before it sizes anything, and the entry is read only up
                // to it: a stream that yields more is an error at the first extra byte.
                let size = entry.size();
                let packed = entry.compressed_size();
                if size > packed.saturating_mul(1032) {
                    return Err(err(format!(
                        "declares {size} bytes once decompressed, more than its {packed} \
                         compressed bytes can expand to (a corrupt archive)"
                    )));
                }
                let mut bytes = Vec::with_capacity((size as usize).min(1 << 24));
                (&mut entry)
                    .take(size)
                    .read_to_end(&mut bytes)
                    .map_err(|e| err(format!("corrupt compressed data: {e}")))?;
                let mut extra = [0u8; 1];
                match entry.read(&mut extra) {
                    Ok(0) => {}
                    Ok(_) => {
                        return Err(err(format!(
                            "decompresses to more than the {size} bytes its header declares"
                        )))
                    }
                    Err(e) => return Err(err(format!("corrupt compressed data: {e}"))),
                }
                if (bytes.len() as u64) < size {
                    return Err(err(format!(
                        "decompresses to {} bytes, its header declares {size}",
                        bytes.len()
                    )));
                }
                npy::decode(&bytes, None, &err)?
            }
            other => {
                return Err(err(format!(
                    "compression {other:?} is not supported (expected stored or deflated)"
                )))
            }
        };
        out.insert(key.to_string(), tensor);
    }
    Ok(out)
}

/// Writes `arrays` as an `.npz` archive, entries `name.npy`, deflated when `compress`
/// (like `np.savez_compressed`) and stored otherwise (like `np.savez`, but with each entry's
/// data aligned to 64 bytes in the file, so that [`read`] maps it without a copy). Atomic.
pub fn write(path: &Path, arrays: &[(&str, &Tensor)], compress: bool) -> Result<()> {
    let method = if compress {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let zerr = |e: zip::result::ZipError| Error::format(path, format!("zip: {e}"));
    for (name, t) in arrays {
        let header = npy::encode(t).map_err(|m| Error::format(path, format!("{name}: {m}")))?;
        // Stored entries start at a multiple of 64 bytes so that readers can map them in place.
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .large_file(header.len() + t.bytes().len() >= u32::MAX as usize)
            .with_alignment(if compress { 1 } else { 64 });
        zw.start_file(format!("{name}.npy"), opts).map_err(zerr)?;
        zw.write_all(&header)
            .and_then(|_| zw.write_all(t.bytes()))
            .map_err(|e| Error::io(path, e))?;
    }
    let bytes = zw.finish().map_err(zerr)?.into_inner();
    write_atomic(path, |w| w.write_all(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::DType;
    use nclab_testkit::scratch;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/npz")
            .join(name)
    }

    /// Archives written by NumPy (tests/fixtures/npz/make_fixtures.py): features =
    /// arange(6, f4).reshape(3, 2), labels = [0, 1, 1] (i8).
    #[test]
    fn reads_archives_written_by_numpy() {
        for name in ["stored.npz", "deflated.npz"] {
            let a = read(&fixture(name)).unwrap();
            assert_eq!(a.keys().collect::<Vec<_>>(), vec!["features", "labels"]);
            let f = &a["features"];
            assert_eq!(f.shape(), vec![3, 2]);
            assert_eq!(
                f.matrix("f").unwrap().to_f64_vec(),
                vec![0., 1., 2., 3., 4., 5.]
            );
            assert_eq!(a["labels"].integers("y").unwrap(), vec![0, 1, 1]);
        }
    }

    #[test]
    fn round_trip_stored_and_deflated() {
        let dir = scratch("npz-rt");
        let f = Tensor::from_f64(vec![2, 2], &[1.5, -2.0, 0.0, 7.25]).unwrap();
        let y = Tensor::from_bytes(DType::U16, vec![2], vec![1, 0, 255, 255]).unwrap();
        for compress in [false, true] {
            let p = dir.join(format!("a{compress}.npz"));
            write(&p, &[("features", &f), ("labels", &y)], compress).unwrap();
            let a = read(&p).unwrap();
            assert_eq!(a["features"].bytes(), f.bytes());
            assert_eq!(a["labels"].integers("y").unwrap(), vec![1, 65535]);
            assert_eq!(a["features"].storage().is_mapped(), !compress);
        }
    }

    #[test]
    fn bad_archives() {
        let dir = scratch("npz-bad");
        let p = dir.join("x.npz");
        std::fs::write(&p, b"\x93NUMPY not a zip").unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains("x.npz") && e.contains("not a readable .npz"),
            "{e}"
        );

        // A valid zip whose entry is a corrupt .npy: the message names the entry.
        let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zw.start_file("labels.npy", zip::write::SimpleFileOptions::default())
            .unwrap();
        zw.write_all(b"\x93NUMPY\x01\x00").unwrap();
        std::fs::write(&p, zw.finish().unwrap().into_inner()).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("entry \"labels.npy\": truncated header"), "{e}");

        // Truncated archive.
        let full = std::fs::read(fixture("stored.npz")).unwrap();
        std::fs::write(&p, &full[..200]).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("not a readable .npz"), "{e}");
    }

    /// Sets the uncompressed size of every entry, in the local headers and the central
    /// directory, to `size` (a lying archive).
    fn patch_sizes(zip: &mut [u8], size: u32) {
        let mut i = 0;
        while i + 28 <= zip.len() {
            match &zip[i..i + 4] {
                b"PK\x03\x04" => zip[i + 22..i + 26].copy_from_slice(&size.to_le_bytes()),
                b"PK\x01\x02" => zip[i + 24..i + 28].copy_from_slice(&size.to_le_bytes()),
                _ => {}
            }
            i += 1;
        }
    }

    /// A deflated entry is decompressed only up to its declared size, and a declared size
    /// beyond what its compressed bytes can expand to is refused before anything is sized
    /// from it.
    #[test]
    fn deflated_entries_are_bounded_by_their_declared_size() {
        let dir = scratch("npz-bomb");
        let p = dir.join("a.npz");
        let t = Tensor::from_f64(vec![64], &[0.0; 64]).unwrap();
        write(&p, &[("x", &t)], true).unwrap();
        let good = std::fs::read(&p).unwrap();
        // Declares 4 GB from about a hundred compressed bytes.
        let mut bytes = good.clone();
        patch_sizes(&mut bytes, 0xFFFF_FFF0);
        std::fs::write(&p, &bytes).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("a.npz") && e.contains("entry \"x.npy\""), "{e}");
        assert!(
            e.contains("declares 4294967280 bytes once decompressed"),
            "{e}"
        );
        // Declares 10 bytes, holds 640.
        let mut bytes = good;
        patch_sizes(&mut bytes, 10);
        std::fs::write(&p, &bytes).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains("decompresses to more than the 10 bytes its header declares"),
            "{e}"
        );
    }
}
