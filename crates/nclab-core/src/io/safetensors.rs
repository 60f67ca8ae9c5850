//! `.safetensors` files, read and written here rather than by the `safetensors` crate.
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
//!
//! Why not the `safetensors` crate (0.8, tried for issue 14 on the inputs of this module's
//! tests): its reader and writer cannot give nclab's behaviour.
//! * Its errors do not say what is wrong where: `[0, 8]` past a 4-byte buffer is
//!   "incomplete metadata, file not fully covered", a shape that does not match its offsets is
//!   "invalid shape, data type, or offset for tensor" without the tensor's name, and every
//!   fault of a field (a missing `dtype`, a negative dimension, a metadata value that is not a
//!   string) is a serde message about the JSON (its "missing field" at a line and column).
//!   The messages here name the file, the tensor and the field, with the numbers at fault.
//! * It refuses files that [`read`] reads: a gap between two tensors' data, or bytes after
//!   the last one (it wants the data buffer tiled exactly).
//! * It reads a header that names a tensor twice, keeping one of the two entries (so which
//!   tensor a name means depends on the JSON parser); [`read`] refuses it.
//! * Its writer sorts the tensors by dtype and then by name (here: by element size, ties in
//!   the given order), writes the header's keys in another order, takes the metadata as a
//!   `HashMap` (so its order, and the file's bytes, change from one process to the next), and
//!   makes its own temporary file without the flushes of [`write_atomic`].
//!
//! The crate is a dev-dependency instead: the tests check that it reads what [`write`]
//! writes, that [`read`] reads what it writes, and that [`read`] reads, with the same tensors
//! and metadata, every file of random tensors, offsets and data lengths that it reads.

use super::{map_file, write_atomic};
use crate::tensor::{DType, Storage, Tensor};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
                    listing(self.tensors.keys())
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

/// The first [`LISTED`] names, quoted, and how many more there are.
fn listing<'a>(names: impl ExactSizeIterator<Item = &'a String>) -> String {
    crate::error::short_list(names.map(|k| format!("{k:?}")), LISTED)
}

/// How many tensor names an error lists.
const LISTED: usize = 20;

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
    let n = header_len(path, &map)?;
    let data_start = 8 + n;
    let header = Header::parse(path, &map[8..data_start], map.len() - data_start)?;
    check_disjoint(
        path,
        header
            .tensors
            .iter()
            .map(|(name, info)| (info.begin, info.end, name.as_str()))
            .collect(),
    )?;
    let mut tensors = BTreeMap::new();
    for (name, info) in header.tensors {
        let tensor = info
            .tensor(&map, data_start)
            .map_err(|e| Error::format(path, format!("tensor {name:?}: {e}")))?;
        tensors.insert(name, tensor);
    }
    Ok(SafeTensorsFile {
        path: path.to_path_buf(),
        tensors,
        metadata: header.metadata,
    })
}

/// The header length `N` of the first 8 bytes (u64 little-endian); an error unless the file
/// has those 8 bytes and at least `N` after them, and `N` is at most [`MAX_HEADER`].
fn header_len(path: &Path, map: &[u8]) -> Result<usize> {
    if map.len() < 8 {
        return Err(Error::format(
            path,
            format!(
                "truncated header: a .safetensors file starts with an 8-byte header length, \
                 found only {} bytes",
                map.len()
            ),
        ));
    }
    let n = u64::from_le_bytes(map[..8].try_into().unwrap());
    if n > MAX_HEADER {
        return Err(Error::format(
            path,
            format!(
                "header length field says {n} bytes, more than the {MAX_HEADER} bytes a \
                 .safetensors header may have (corrupt, or not a .safetensors file)"
            ),
        ));
    }
    if n > (map.len() - 8) as u64 {
        return Err(Error::format(
            path,
            format!(
                "truncated or corrupt header: header length field says {n} bytes, the file \
                 has {} bytes after it",
                map.len() - 8
            ),
        ));
    }
    Ok(n as usize)
}

/// A header, read member by member (each member's JSON is dropped once it is checked, so a
/// header of a million small entries does not stand as a JSON tree in memory): the tensors'
/// entries checked against a data buffer of `data_len` bytes, and the metadata.
struct Header {
    tensors: BTreeMap<String, TensorInfo>,
    metadata: BTreeMap<String, String>,
    data_len: usize,
}

impl Header {
    /// Reads the header's JSON, which must be an object whose names are all different (a
    /// name twice is refused, naming it and where it repeats; a JSON parser would quietly
    /// keep one of the two). The first faulty member is the error, with its line and column.
    fn parse(path: &Path, json: &[u8], data_len: usize) -> Result<Header> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let header = Header {
            tensors: BTreeMap::new(),
            metadata: BTreeMap::new(),
            data_len,
        };
        serde::Deserializer::deserialize_map(&mut de, header)
            .and_then(|h| de.end().map(|()| h))
            .map_err(|e| {
                if e.is_data() {
                    Error::format(path, format!("header: {e}"))
                } else {
                    Error::format(path, format!("header is not valid JSON ({e})"))
                }
            })
    }
}

impl<'de> serde::de::Visitor<'de> for Header {
    type Value = Header;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object of tensors")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        mut self,
        mut members: A,
    ) -> std::result::Result<Header, A::Error> {
        use serde::de::Error as _;
        let mut has_metadata = false;
        while let Some(name) = members.next_key::<String>()? {
            let twice = if name == "__metadata__" {
                std::mem::replace(&mut has_metadata, true)
            } else {
                self.tensors.contains_key(&name)
            };
            if twice {
                return Err(A::Error::custom(format!("the name {name:?} appears twice")));
            }
            let entry: serde_json::Value = members.next_value()?;
            if name == "__metadata__" {
                self.metadata = metadata_map(&entry).map_err(A::Error::custom)?;
            } else {
                let info = TensorInfo::parse(&entry, self.data_len)
                    .map_err(|m| A::Error::custom(format!("tensor {name:?}: {m}")))?;
                self.tensors.insert(name, info);
            }
        }
        Ok(self)
    }
}

/// The `__metadata__` entry: an object whose values are all strings.
fn metadata_map(
    entry: &serde_json::Value,
) -> std::result::Result<BTreeMap<String, String>, String> {
    let m = entry
        .as_object()
        .ok_or_else(|| "__metadata__ is not an object".to_string())?;
    let mut metadata = BTreeMap::new();
    for (k, v) in m {
        let v = v
            .as_str()
            .ok_or_else(|| format!("__metadata__ value of {k:?} is not a string: {v}"))?;
        metadata.insert(k.clone(), v.to_string());
    }
    Ok(metadata)
}

/// One tensor's header entry, checked against a data buffer of `data_len` bytes: its data
/// is `begin..end` of the buffer, `need = end - begin = prod(shape) * size(dtype)` bytes.
struct TensorInfo {
    dtype: DType,
    shape: Vec<usize>,
    begin: usize,
    end: usize,
    need: usize,
}

impl TensorInfo {
    /// Reads `{"dtype": ..., "shape": [...], "data_offsets": [begin, end]}` and checks that the
    /// dtype is known, the size `prod(shape) * size(dtype)` does not overflow, the range lies
    /// inside the buffer and has that size. The error is the fault, without the tensor's
    /// name.
    fn parse(entry: &serde_json::Value, data_len: usize) -> std::result::Result<Self, String> {
        let dtype_name = entry
            .get("dtype")
            .and_then(|d| d.as_str())
            .ok_or_else(|| "missing string field \"dtype\"".to_string())?;
        let dtype = parse_dtype(dtype_name).ok_or_else(|| {
            format!(
                "unknown dtype {dtype_name:?} (expected BOOL, U8, I8, U16, I16, U32, I32, U64, \
                 I64, F16, BF16, F32 or F64)"
            )
        })?;
        let shape = entry
            .get("shape")
            .and_then(|s| s.as_array())
            .ok_or_else(|| "missing array field \"shape\"".to_string())?
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| "\"shape\" must hold non-negative integers".to_string())?;
        let (begin, end) = entry
            .get("data_offsets")
            .and_then(|s| s.as_array())
            .filter(|a| a.len() == 2)
            .and_then(|a| Some((a[0].as_u64()? as usize, a[1].as_u64()? as usize)))
            .ok_or_else(|| "\"data_offsets\" must be [begin, end]".to_string())?;
        let need = shape
            .iter()
            .try_fold(dtype.size(), |a, &d| a.checked_mul(d))
            .ok_or_else(|| format!("shape {shape:?} overflows"))?;
        if begin > end || end > data_len {
            return Err(format!(
                "data_offsets [{begin}, {end}] out of range: the data buffer has {data_len} \
                 bytes"
            ));
        }
        if end - begin != need {
            return Err(format!(
                "shape {shape:?} of {dtype_name} needs {need} bytes, data_offsets \
                 [{begin}, {end}] give {}",
                end - begin
            ));
        }
        Ok(TensorInfo {
            dtype,
            shape,
            begin,
            end,
            need,
        })
    }

    /// The tensor, its data at `data_start + begin` of the file: a window into `map` when that
    /// offset is a multiple of the element size, else an owned, aligned copy.
    fn tensor(self, map: &Arc<memmap2::Mmap>, data_start: usize) -> Result<Tensor> {
        let at = data_start + self.begin;
        let storage = if at.is_multiple_of(self.dtype.size()) {
            Storage::mapped(map.clone(), at, self.need)?
        } else {
            Storage::owned(&map[at..at + self.need])
        };
        Tensor::new(self.dtype, self.shape, storage)
    }
}

/// No two tensors' data ranges `(begin, end, name)` overlap (an error naming the first two
/// that do, in order of `begin`).
fn check_disjoint(path: &Path, mut ranges: Vec<(usize, usize, &str)>) -> Result<()> {
    ranges.sort();
    for w in ranges.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(Error::format(
                path,
                format!(
                    "tensors {:?} [{}, {}] and {:?} [{}, {}] overlap",
                    w[0].2, w[0].0, w[0].1, w[1].2, w[1].0, w[1].1
                ),
            ));
        }
    }
    Ok(())
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
    use nclab_testkit::scratch;

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
        let dir = scratch("st-rt");
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
        // A file of many tensors: the first 20 names, and how many more.
        let many = dir.join("many.safetensors");
        let one = Tensor::from_f32(vec![1], &[0.0]).unwrap();
        let names: Vec<String> = (0..25).map(|i| format!("t{i:02}")).collect();
        let list: Vec<(&str, &Tensor)> = names.iter().map(|n| (n.as_str(), &one)).collect();
        write(&many, &list, &BTreeMap::new()).unwrap();
        let e = read(&many).unwrap().get("x").unwrap_err().to_string();
        assert!(e.ends_with("\"t18\", \"t19\", and 5 more)"), "{e}");
    }

    #[test]
    fn reads_a_hand_written_file_and_copies_misaligned_data() {
        // Header of 61 bytes: the data buffer starts at 8 + 61 = 69, so the f32 tensor at
        // offset 0 is misaligned in the map and must be copied (values 1.0 and -2.0).
        let dir = scratch("st-hand");
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
        let dir = scratch("st-bad");
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
        // Header length above the limit (checked before the file's size).
        let mut b = (MAX_HEADER + 1).to_le_bytes().to_vec();
        b.extend_from_slice(b"{}");
        std::fs::write(&p, b).unwrap();
        let e = err_of(&p);
        assert!(
            e.contains("says 100000001 bytes, more than the 100000000"),
            "{e}"
        );

        // Faulty headers: (header, data buffer, what the message must say).
        let x_twice = r#"{"x":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},
                "x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#;
        let cases: [(&str, &[u8], &[&str]); 11] = [
            (
                r#"{"x": {"dtype": "F32""#,
                &[],
                &["header is not valid JSON"],
            ),
            (
                "[1, 2]",
                &[],
                &[
                    "header: invalid type: sequence",
                    "expected a JSON object of tensors",
                ],
            ),
            // A name twice (JSON parsers keep one of the two without a word).
            (
                x_twice,
                &[7],
                &["header: the name \"x\" appears twice at line 2 column 19"],
            ),
            (
                r#"{"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#,
                &[0],
                &["tensor \"x\": unknown dtype \"F8_E4M3\""],
            ),
            (
                r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                &[0; 4],
                &["data_offsets [0, 8] out of range", "buffer has 4 bytes"],
            ),
            (
                r#"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
                &[0; 8],
                &["shape [3] of F32 needs 12 bytes", "give 8"],
            ),
            (
                r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                "y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                &[0; 8],
                &["tensors \"x\" [0, 8] and \"y\" [4, 8] overlap"],
            ),
            (
                r#"{"x":{"shape":[2],"data_offsets":[0,8]}}"#,
                &[0; 8],
                &["tensor \"x\": missing string field \"dtype\""],
            ),
            (
                r#"{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#,
                &[0; 8],
                &["\"shape\" must hold non-negative integers"],
            ),
            (
                r#"{"__metadata__":{"a":3}}"#,
                &[],
                &["__metadata__ value of \"a\" is not a string: 3"],
            ),
            (
                r#"{"__metadata__":{},"__metadata__":{}}"#,
                &[],
                &["the name \"__metadata__\" appears twice"],
            ),
        ];
        for (header, data, expected) in cases {
            raw(&p, header, data);
            let e = err_of(&p);
            assert!(e.contains("bad.safetensors"), "{e}");
            for x in expected {
                assert!(e.contains(x), "{header}: {e}");
            }
        }
        // The reference crate reads the file with "x" twice, keeping one tensor "x".
        raw(&p, x_twice, &[7]);
        let reference = std::fs::read(&p).unwrap();
        let reference = ::safetensors::SafeTensors::deserialize(&reference).unwrap();
        assert_eq!(reference.names(), vec!["x"]);

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

    /// `len` bytes that differ from their neighbours: `(31 i + seed) mod 256`.
    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// `ours` holds the tensors of `reference`, and only those, with the same dtype, shape and
    /// bytes.
    fn assert_same(ours: &SafeTensorsFile, reference: &::safetensors::SafeTensors<'_>) {
        assert_eq!(ours.tensors.len(), reference.len());
        for (name, view) in reference.iter() {
            let t = ours.get(name).unwrap();
            assert_eq!(t.dtype().name(), view.dtype().to_string(), "{name}");
            assert_eq!(t.shape(), view.shape(), "{name}");
            assert_eq!(t.bytes(), view.data(), "{name}");
        }
    }

    /// The `__metadata__` of a file as the reference crate reads it (empty when absent).
    fn reference_metadata(bytes: &[u8]) -> BTreeMap<String, String> {
        let (_, header) = ::safetensors::SafeTensors::read_metadata(bytes).unwrap();
        header
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect()
    }

    #[test]
    fn the_reference_crate_reads_what_write_writes() {
        let dir = scratch("st-ref-reads");
        let p = dir.join("w.safetensors");
        let t = |dtype: DType, shape: Vec<usize>, seed: u8| {
            let len = dtype.byte_len(&shape).unwrap();
            Tensor::from_bytes(dtype, shape, pattern(len, seed)).unwrap()
        };
        let tensors = [
            ("u8", t(DType::U8, vec![3], 1)),
            ("f32", t(DType::F32, vec![2, 3], 2)),
            (
                "bool",
                Tensor::from_bytes(DType::Bool, vec![2], vec![0, 1]).unwrap(),
            ),
            ("i64", t(DType::I64, vec![2], 4)),
            ("bf16", t(DType::BF16, vec![2, 2], 5)),
            ("empty", t(DType::F64, vec![0, 4], 6)),
            ("i16", t(DType::I16, vec![3], 7)),
        ];
        let meta = BTreeMap::from([
            ("epoch".to_string(), "350".to_string()),
            ("a".to_string(), "b".to_string()),
        ]);
        let entries: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
        write(&p, &entries, &meta).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let reference = ::safetensors::SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(reference.len(), tensors.len());
        for (name, t) in &tensors {
            let view = reference.tensor(name).unwrap();
            assert_eq!(view.dtype().to_string(), t.dtype().name(), "{name}");
            assert_eq!(view.shape(), t.shape(), "{name}");
            assert_eq!(view.data(), t.bytes(), "{name}");
        }
        assert_eq!(reference_metadata(&bytes), meta);
    }

    #[test]
    fn read_reads_what_the_reference_crate_writes() {
        use ::safetensors::{tensor::TensorView, Dtype};
        let dir = scratch("st-ref-writes");
        let specs = [
            ("a", Dtype::F32, vec![2, 2]),
            ("b", Dtype::U8, vec![5]),
            ("c", Dtype::I64, vec![1, 3]),
            ("d", Dtype::F16, vec![3]),
            ("e", Dtype::U16, vec![0]),
        ];
        let data: Vec<Vec<u8>> = specs
            .iter()
            .enumerate()
            .map(|(i, (_, d, s))| pattern(s.iter().product::<usize>() * d.bitsize() / 8, i as u8))
            .collect();
        let views: Vec<(&str, TensorView<'_>)> = specs
            .iter()
            .zip(&data)
            .map(|((n, d, s), b)| (*n, TensorView::new(*d, s.clone(), b).unwrap()))
            .collect();
        let meta = std::collections::HashMap::from([("k".to_string(), "v".to_string())]);
        let bytes = ::safetensors::serialize(views, Some(meta)).unwrap();
        let p = dir.join("r.safetensors");
        std::fs::write(&p, &bytes).unwrap();
        let ours = read(&p).unwrap();
        assert_same(
            &ours,
            &::safetensors::SafeTensors::deserialize(&bytes).unwrap(),
        );
        assert_eq!(ours.metadata, reference_metadata(&bytes));
        // The reference pads its header to 8 bytes and orders by alignment: all in place.
        assert!(ours.tensors.values().all(|t| t.storage().is_mapped()));
    }

    /// One tensor of a random header: a name (repeats possible), a dtype name (two that nclab
    /// does not read among them), a shape, and how far its begin and end are moved off the
    /// exact tiling (mostly not at all).
    fn entry() -> impl Strategy<Value = (String, &'static str, Vec<usize>, usize, usize)> {
        let moved = || prop_oneof![6 => Just(0usize), 1 => 1usize..4];
        (
            "[a-c]{1,2}",
            prop::sample::select(vec![
                "F32", "I64", "U8", "F16", "BF16", "BOOL", "F64", "I32", "U16", "F8_E4M3", "C64",
            ]),
            proptest::collection::vec(0usize..4, 0..3),
            moved(),
            moved(),
        )
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Every file that the reference crate reads, `read` reads with the same tensors and
        /// metadata, or refuses for a dtype that nclab does not know; a file with a tensor
        /// name twice `read` refuses.
        #[test]
        fn read_reads_every_file_the_reference_crate_reads(
            entries in proptest::collection::vec(entry(), 0..5),
            metadata in proptest::option::of(
                proptest::collection::btree_map("[a-c]{1,2}", "[a-z ]{0,4}", 0..3)
            ),
            pad in 0usize..8,
            slack in prop_oneof![6 => Just(0i64), 1 => -3i64..4],
        ) {
            let mut members = Vec::new();
            if let Some(m) = &metadata {
                members.push(format!("\"__metadata__\":{}", serde_json::to_string(m).unwrap()));
            }
            let mut offset = 0;
            for (name, dtype, shape, shift, extra) in &entries {
                let size = parse_dtype(dtype).map_or(if *dtype == "C64" { 8 } else { 1 }, |d| d.size());
                let begin = offset + shift;
                let end = begin + size * shape.iter().product::<usize>() + extra;
                members.push(format!(
                    "{name:?}:{{\"dtype\":{dtype:?},\"shape\":{shape:?},\"data_offsets\":[{begin},{end}]}}"
                ));
                offset = end;
            }
            let json = format!("{{{}}}{}", members.join(","), " ".repeat(pad));
            let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
            bytes.extend_from_slice(json.as_bytes());
            bytes.extend(pattern((offset as i64 + slack).max(0) as usize, 7));
            let dir = scratch("st-prop-ref");
            let p = dir.join("p.safetensors");
            std::fs::write(&p, &bytes).unwrap();
            let names: std::collections::BTreeSet<_> = entries.iter().map(|e| &e.0).collect();
            if names.len() < entries.len() {
                // A name twice: refused here whatever the reference makes of it (for the
                // repeat, or for a faulty entry before it).
                let e = read(&p).unwrap_err().to_string();
                prop_assert!(e.contains("appears twice") || e.contains("header: tensor"), "{}", e);
                return Ok(());
            }
            let Ok(reference) = ::safetensors::SafeTensors::deserialize(&bytes) else {
                return Ok(());
            };
            let unknown = reference
                .iter()
                .find(|(_, v)| parse_dtype(&v.dtype().to_string()).is_none())
                .map(|(name, _)| name.to_string());
            match (read(&p), unknown) {
                (Ok(ours), None) => {
                    assert_same(&ours, &reference);
                    prop_assert_eq!(&ours.metadata, &reference_metadata(&bytes));
                }
                (Err(e), Some(_)) => prop_assert!(e.to_string().contains("unknown dtype"), "{}", e),
                (ours, unknown) => prop_assert!(
                    false,
                    "nclab: {:?}; a dtype nclab does not know: {:?}",
                    ours.map(|f| f.tensors.len()),
                    unknown
                ),
            }
        }
    }
}
