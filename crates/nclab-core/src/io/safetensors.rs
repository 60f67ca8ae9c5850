//! `.safetensors` files, read and written without the `safetensors` crate.
//!
//! Layout: `N` (u64 little-endian), then `N` bytes of JSON
//! `{"__metadata__": {"k": "v", ...}, "name": {"dtype": "F32", "shape": [2, 3],
//! "data_offsets": [begin, end]}, ...}`, then the data buffer; tensor `name` occupies bytes
//! `8 + N + begin .. 8 + N + end` of the file, little-endian, C order, and
//! `end - begin = prod(shape) * size(dtype)`.
//!
//! [`read`] memory-maps the file: each [`Tensor`] is a window into the map when its data is
//! aligned to its element size (writers pad the header to 8 bytes so this is the usual case),
//! and an owned, aligned copy otherwise.

use super::{map_file, write_atomic};
use crate::tensor::{DType, Storage, Tensor};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The tensors and metadata of one `.safetensors` file.
#[derive(Debug)]
pub struct SafeTensorsFile {
    /// The file it was read from (for error messages).
    pub path: PathBuf,
    /// Tensors by name.
    pub tensors: BTreeMap<String, Tensor>,
    /// The free-form string map stored under `__metadata__` (empty when absent).
    pub metadata: BTreeMap<String, String>,
}

impl SafeTensorsFile {
    /// The tensor called `name`, or an error naming the file and the tensors it does hold.
    pub fn get(&self, name: &str) -> Result<&Tensor> {
        self.tensors.get(name).ok_or_else(|| {
            Error::format(
                &self.path,
                format!(
                    "no tensor named {name:?} (the file holds: {})",
                    self.tensors
                        .keys()
                        .map(|k| format!("{k:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }

    /// Takes the tensor called `name` out of the file (same error as [`Self::get`]).
    pub fn take(&mut self, name: &str) -> Result<Tensor> {
        self.get(name)?;
        Ok(self.tensors.remove(name).expect("checked above"))
    }
}

/// Parses a safetensors dtype name (`F32`, `I64`, `BOOL`, ...).
pub fn parse_dtype(name: &str) -> Option<DType> {
    Some(match name {
        "BOOL" => DType::Bool,
        "U8" => DType::U8,
        "I8" => DType::I8,
        "U16" => DType::U16,
        "I16" => DType::I16,
        "U32" => DType::U32,
        "I32" => DType::I32,
        "U64" => DType::U64,
        "I64" => DType::I64,
        "F16" => DType::F16,
        "BF16" => DType::BF16,
        "F32" => DType::F32,
        "F64" => DType::F64,
        _ => return None,
    })
}

/// Largest header accepted (the reference implementation's limit is 100 MB).
const MAX_HEADER: u64 = 100_000_000;

/// Reads a `.safetensors` file; every offset, length and type is checked against the file.
pub fn read(path: &Path) -> Result<SafeTensorsFile> {
    let map = map_file(path)?;
    let err = |m: String| Error::format(path, m);
    if map.len() < 8 {
        return Err(err(format!(
            "truncated header: a .safetensors file starts with an 8-byte header length, \
             found only {} bytes",
            map.len()
        )));
    }
    let n = u64::from_le_bytes(map[..8].try_into().unwrap());
    if n > MAX_HEADER || n > (map.len() - 8) as u64 {
        return Err(err(format!(
            "truncated or corrupt header: header length field says {n} bytes, the file has \
             {} bytes after it",
            map.len() - 8
        )));
    }
    let n = n as usize;
    let json: serde_json::Value = serde_json::from_slice(&map[8..8 + n])
        .map_err(|e| err(format!("header is not valid JSON ({e})")))?;
    let obj = json
        .as_object()
        .ok_or_else(|| err("header JSON is not an object".into()))?;
    let data_start = 8 + n;
    let data_len = map.len() - data_start;
    let mut metadata = BTreeMap::new();
    let mut tensors = BTreeMap::new();
    let mut ranges: Vec<(usize, usize, &str)> = Vec::new();
    for (name, entry) in obj {
        if name == "__metadata__" {
            let m = entry
                .as_object()
                .ok_or_else(|| err("__metadata__ is not an object".into()))?;
            for (k, v) in m {
                let v = v.as_str().ok_or_else(|| {
                    err(format!("__metadata__ value of {k:?} is not a string: {v}"))
                })?;
                metadata.insert(k.clone(), v.to_string());
            }
            continue;
        }
        let terr = |m: String| err(format!("tensor {name:?}: {m}"));
        let dtype_name = entry
            .get("dtype")
            .and_then(|d| d.as_str())
            .ok_or_else(|| terr("missing string field \"dtype\"".into()))?;
        let dtype = parse_dtype(dtype_name).ok_or_else(|| {
            terr(format!(
                "unknown dtype {dtype_name:?} (expected BOOL, U8, I8, U16, I16, U32, I32, U64, \
                 I64, F16, BF16, F32 or F64)"
            ))
        })?;
        let shape = entry
            .get("shape")
            .and_then(|s| s.as_array())
            .ok_or_else(|| terr("missing array field \"shape\"".into()))?
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| terr("\"shape\" must hold non-negative integers".into()))?;
        let offs = entry
            .get("data_offsets")
            .and_then(|s| s.as_array())
            .filter(|a| a.len() == 2)
            .and_then(|a| Some((a[0].as_u64()? as usize, a[1].as_u64()? as usize)))
            .ok_or_else(|| terr("\"data_offsets\" must be [begin, end]".into()))?;
        let (begin, end) = offs;
        let need = shape
            .iter()
            .try_fold(dtype.size(), |a, &d| a.checked_mul(d))
            .ok_or_else(|| terr(format!("shape {shape:?} overflows")))?;
        if begin > end || end > data_len {
            return Err(terr(format!(
                "data_offsets [{begin}, {end}] out of range: the data buffer has {data_len} \
                 bytes"
            )));
        }
        if end - begin != need {
            return Err(terr(format!(
                "shape {shape:?} of {dtype_name} needs {need} bytes, data_offsets \
                 [{begin}, {end}] give {}",
                end - begin
            )));
        }
        ranges.push((begin, end, name));
        let at = data_start + begin;
        let storage = if at.is_multiple_of(dtype.size()) {
            Storage::mapped(map.clone(), at, need).map_err(|e| terr(e.to_string()))?
        } else {
            Storage::owned(&map[at..at + need])
        };
        let tensor = Tensor::new(dtype, shape, storage).map_err(|e| terr(e.to_string()))?;
        tensors.insert(name.clone(), tensor);
    }
    ranges.sort();
    for w in ranges.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(err(format!(
                "tensors {:?} [{}, {}] and {:?} [{}, {}] overlap",
                w[0].2, w[0].0, w[0].1, w[1].2, w[1].0, w[1].1
            )));
        }
    }
    Ok(SafeTensorsFile {
        path: path.to_path_buf(),
        tensors,
        metadata,
    })
}

/// Writes `tensors` (names unique) and `metadata` as a `.safetensors` file that the reference
/// implementation accepts: the data ranges tile the buffer with no gap, the header is padded
/// with spaces to a multiple of 8 bytes, and tensors are laid out by element size, largest
/// first (ties in the given order), so every tensor starts at a multiple of its element size
/// and can be mapped in place. Atomic.
pub fn write(
    path: &Path,
    tensors: &[(&str, &Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert(
            "__metadata__".into(),
            serde_json::to_value(metadata).expect("string map"),
        );
    }
    let mut order: Vec<&(&str, &Tensor)> = tensors.iter().collect();
    order.sort_by_key(|(_, t)| std::cmp::Reverse(t.dtype().size()));
    let mut offset = 0usize;
    for (name, t) in &order {
        if *name == "__metadata__" || header.contains_key(*name) {
            return Err(Error::format(
                path,
                format!("tensor name {name:?} is reserved or used twice"),
            ));
        }
        let len = t.bytes().len();
        header.insert(
            name.to_string(),
            serde_json::json!({
                "dtype": t.dtype().name(),
                "shape": t.shape(),
                "data_offsets": [offset, offset + len],
            }),
        );
        offset += len;
    }
    let mut json = serde_json::to_vec(&serde_json::Value::Object(header)).expect("json");
    json.resize(json.len().div_ceil(8) * 8, b' ');
    write_atomic(path, |w| {
        w.write_all(&(json.len() as u64).to_le_bytes())?;
        w.write_all(&json)?;
        for (_, t) in &order {
            w.write_all(t.bytes())?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::test_dir;

    fn raw(path: &Path, header: &str, data: &[u8]) {
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(data);
        std::fs::write(path, b).unwrap();
    }

    fn err_of(path: &Path) -> String {
        read(path).unwrap_err().to_string()
    }

    #[test]
    fn round_trip_with_metadata() {
        let dir = test_dir("st-rt");
        let p = dir.join("a.safetensors");
        let f = Tensor::from_f32(vec![2, 3], &[1., 2., 3., 4., 5., 6.]).unwrap();
        let y = Tensor::from_i64(vec![2], &[0, 1]).unwrap();
        let b = Tensor::from_bytes(DType::U8, vec![3], vec![7, 8, 9]).unwrap();
        let w = Tensor::from_f64(vec![1, 2], &[0.5, -0.5]).unwrap();
        let meta = BTreeMap::from([("epoch".to_string(), "350".to_string())]);
        write(
            &p,
            &[("features", &f), ("labels", &y), ("b", &b), ("w", &w)],
            &meta,
        )
        .unwrap();
        let r = read(&p).unwrap();
        assert_eq!(r.metadata, meta);
        assert_eq!(r.tensors.len(), 4);
        for (name, t) in [("features", &f), ("labels", &y), ("b", &b), ("w", &w)] {
            let g = r.get(name).unwrap();
            assert_eq!(
                (g.dtype(), g.shape(), g.bytes()),
                (t.dtype(), t.shape(), t.bytes())
            );
            // Written aligned, so read in place.
            assert!(g.storage().is_mapped(), "{name}");
        }
        // Laid out by element size, ties in the given order: i64 labels, f64 w, f32
        // features, u8 b.
        let offs = |n: &str| match r.get(n).unwrap().storage().map_offset() {
            Some(offset) => offset,
            _ => unreachable!(),
        };
        let base = offs("labels");
        assert_eq!(base % 8, 0);
        assert_eq!(offs("w") - base, 16); // labels: 2 x 8 bytes
        assert_eq!(offs("features") - base, 32); // w: 2 x 8 bytes
        assert_eq!(offs("b") - base, 56); // features: 6 x 4 bytes
        assert_eq!(std::fs::metadata(&p).unwrap().len() as usize, base + 59);
        assert_eq!(
            r.get("w").unwrap().matrix("w").unwrap().to_f64_vec(),
            vec![0.5, -0.5]
        );
        let e = r.get("bias").unwrap_err().to_string();
        assert!(
            e.contains("a.safetensors") && e.contains("no tensor named \"bias\""),
            "{e}"
        );
        assert!(e.contains("\"features\""), "{e}");
    }

    #[test]
    fn reads_a_hand_written_file_and_copies_misaligned_data() {
        // Header of 61 bytes: the data buffer starts at 8 + 61 = 69, so the f32 tensor at
        // offset 0 is misaligned in the map and must be copied (values 1.0 and -2.0).
        let dir = test_dir("st-hand");
        let p = dir.join("h.safetensors");
        let h = r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let h = format!("{h:<61}");
        let mut data = 1.0f32.to_le_bytes().to_vec();
        data.extend_from_slice(&(-2.0f32).to_le_bytes());
        raw(&p, &h, &data);
        let r = read(&p).unwrap();
        let x = r.get("x").unwrap();
        assert!(!x.storage().is_mapped());
        assert_eq!(x.vector_f64("x").unwrap(), vec![1.0, -2.0]);
        assert!(r.metadata.is_empty());
    }

    #[test]
    fn bad_inputs_name_the_file_and_the_fault() {
        let dir = test_dir("st-bad");
        let p = dir.join("bad.safetensors");

        let e = err_of(&dir.join("none.safetensors"));
        assert!(
            e.contains("none.safetensors") && e.contains("No such file"),
            "{e}"
        );

        std::fs::write(&p, [1u8, 0, 0]).unwrap();
        let e = err_of(&p);
        assert!(
            e.contains("bad.safetensors") && e.contains("found only 3 bytes"),
            "{e}"
        );

        // Header length larger than the file.
        let mut b = 1000u64.to_le_bytes().to_vec();
        b.extend_from_slice(b"{}");
        std::fs::write(&p, b).unwrap();
        let e = err_of(&p);
        assert!(e.contains("header length field says 1000 bytes"), "{e}");
        assert!(e.contains("has 2 bytes after it"), "{e}");

        raw(&p, r#"{"x": {"dtype": "F32""#, &[]);
        assert!(err_of(&p).contains("header is not valid JSON"));

        raw(&p, "[1, 2]", &[]);
        assert!(err_of(&p).contains("header JSON is not an object"));

        raw(
            &p,
            r#"{"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#,
            &[0],
        );
        let e = err_of(&p);
        assert!(e.contains("tensor \"x\": unknown dtype \"F8_E4M3\""), "{e}");

        raw(
            &p,
            r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            &[0; 4],
        );
        let e = err_of(&p);
        assert!(e.contains("data_offsets [0, 8] out of range"), "{e}");
        assert!(e.contains("buffer has 4 bytes"), "{e}");

        raw(
            &p,
            r#"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
            &[0; 8],
        );
        let e = err_of(&p);
        assert!(e.contains("shape [3] of F32 needs 12 bytes"), "{e}");
        assert!(e.contains("give 8"), "{e}");

        raw(
            &p,
            r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                "y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            &[0; 8],
        );
        assert!(err_of(&p).contains("overlap"));

        raw(&p, r#"{"x":{"shape":[2],"data_offsets":[0,8]}}"#, &[0; 8]);
        assert!(err_of(&p).contains("missing string field \"dtype\""));

        raw(
            &p,
            r#"{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#,
            &[0; 8],
        );
        assert!(err_of(&p).contains("non-negative integers"));

        raw(&p, r#"{"__metadata__":{"a":3}}"#, &[]);
        assert!(err_of(&p).contains("value of \"a\" is not a string"));

        // A duplicate name is refused when writing, and nothing is written.
        let q = dir.join("dup.safetensors");
        let t = Tensor::from_f32(vec![1], &[1.0]).unwrap();
        let e = write(&q, &[("a", &t), ("a", &t)], &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("dup.safetensors") && e.contains("used twice"),
            "{e}"
        );
        assert!(!q.exists());
    }
}
