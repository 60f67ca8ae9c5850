//! NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
//!
//! Layout: the magic `\x93NUMPY`, two version bytes, the header length (u16 LE for 1.0, u32 LE
//! for 2.0/3.0), then a Python dict literal such as
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`, padded with spaces and a
//! final `\n`, then the raw elements.
//!
//! [`read`] memory-maps little-endian C-order files (no copy). Big-endian files are byte-swapped
//! and Fortran-order files transposed into an owned C-order tensor, so every [`Tensor`] is
//! little-endian C order. Supported element types: `f2`, `f4`, `f8`, `i1`..`i8`, `u1`..`u8`, `b1`.

use super::{map_file, write_atomic};
use crate::tensor::{checked_numel, DType, Storage, Tensor};
use crate::{Error, Result};
use std::path::Path;

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Reads a `.npy` file; see the module documentation for what is accepted.
pub fn read(path: &Path) -> Result<Tensor> {
    let map = map_file(path)?;
    decode(&map, Some((&map, 0)), &|m| Error::format(path, m))
}

/// Decodes the `.npy` file held in `b`. With `mapped = Some((map, offset))`, where `b` is
/// `map[offset..]`, a little-endian C-order payload is left in the map (when aligned to its
/// element size); otherwise, and always for big-endian or Fortran-order data, it is copied
/// into an owned tensor. `err` turns a message into an error naming the source.
pub(crate) fn decode(
    b: &[u8],
    mapped: Option<(&std::sync::Arc<memmap2::Mmap>, usize)>,
    err: &dyn Fn(String) -> Error,
) -> Result<Tensor> {
    let header = parse_header(b, err)?;
    // Checked: a shape such as (2^32, 2^32 + 1) must not wrap around to a small size that a
    // short payload would then match.
    let need = header.dtype.byte_len(&header.shape).ok_or_else(|| {
        err(format!(
            "shape {:?} of {} is too large: its size in bytes overflows a 64-bit integer \
             (a corrupt header; the file holds {} bytes)",
            header.shape,
            header.descr,
            b.len()
        ))
    })?;
    let found = b.len() - header.data_offset;
    if found != need {
        let what = if found < need { "short" } else { "long" };
        return Err(err(format!(
            "payload too {what}: shape {:?} of {} needs {need} bytes after the {}-byte \
             header, found {found}",
            header.shape, header.descr, header.data_offset
        )));
    }
    let payload = &b[header.data_offset..];
    if header.big_endian || header.fortran_order {
        let mut bytes = payload.to_vec();
        if header.big_endian {
            swap_bytes(&mut bytes, header.dtype.size());
        }
        if header.fortran_order {
            bytes = fortran_to_c(&bytes, &header.shape, header.dtype.size());
        }
        return Tensor::from_bytes(header.dtype, header.shape, bytes);
    }
    let storage = match mapped {
        Some((map, base)) if (base + header.data_offset).is_multiple_of(header.dtype.size()) => {
            Storage::mapped(map.clone(), base + header.data_offset, need)
                .map_err(|e| err(e.to_string()))?
        }
        _ => Storage::owned(payload),
    };
    Tensor::new(header.dtype, header.shape, storage).map_err(|e| err(e.to_string()))
}

/// Writes `tensor` as a `.npy` file (version 1.0, or 2.0 when the header needs more than
/// 65,535 bytes), little-endian, C order, data aligned to 64 bytes as NumPy does. Atomic.
pub fn write(path: &Path, tensor: &Tensor) -> Result<()> {
    let bytes = encode(tensor).map_err(|m| Error::format(path, m))?;
    write_atomic(path, |w| {
        w.write_all(&bytes)?;
        w.write_all(tensor.bytes())
    })
}

/// The header bytes (magic to final newline) for `tensor`, and nothing else.
pub(crate) fn encode(tensor: &Tensor) -> std::result::Result<Vec<u8>, String> {
    let descr = descr_of(tensor.dtype())?;
    let shape = match tensor.shape().len() {
        0 => "()".to_string(),
        1 => format!("({},)", tensor.shape()[0]),
        _ => format!(
            "({})",
            tensor
                .shape()
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // total = magic(6) + version(2) + length field (2 or 4) + dict + padding + '\n', a multiple
    // of 64.
    let (version, len_field) = if dict.len() + 1 + 10 <= 65_535 {
        (1u8, 2usize)
    } else {
        (2u8, 4usize)
    };
    let unpadded = 6 + 2 + len_field + dict.len() + 1;
    let total = unpadded.div_ceil(64) * 64;
    let header_len = total - 6 - 2 - len_field;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    Ok(out)
}

fn descr_of(dtype: DType) -> std::result::Result<&'static str, String> {
    Ok(match dtype {
        DType::Bool => "|b1",
        DType::U8 => "|u1",
        DType::I8 => "|i1",
        DType::U16 => "<u2",
        DType::I16 => "<i2",
        DType::U32 => "<u4",
        DType::I32 => "<i4",
        DType::U64 => "<u8",
        DType::I64 => "<i8",
        DType::F16 => "<f2",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::BF16 => return Err("bfloat16 has no .npy type; convert to float32 first".into()),
    })
}

/// What a `.npy` header says.
#[derive(Debug)]
struct Header {
    descr: String,
    dtype: DType,
    big_endian: bool,
    fortran_order: bool,
    shape: Vec<usize>,
    /// Offset of the first element from the start of the file.
    data_offset: usize,
}

/// What a file that is not a .npy file looks like, from its first bytes, and what to do.
fn not_npy(b: &[u8]) -> &'static str {
    if b.starts_with(b"PK\x03\x04") {
        return "not a .npy file but a zip archive (numpy.savez's .npz, or a torch.save file); \
                save each array with numpy.save(path, array)";
    }
    let head = &b[..b.len().min(64)];
    if !head.is_empty()
        && head
            .iter()
            .all(|c| c.is_ascii_graphic() || c.is_ascii_whitespace())
    {
        return "not a .npy file but text (a CSV or text table?); load it and save each array \
                with numpy.save(path, array)";
    }
    "not a .npy file; save each array with numpy.save(path, array)"
}

fn parse_header(b: &[u8], err: &dyn Fn(String) -> Error) -> Result<Header> {
    if b.is_empty() {
        return Err(err("the file is empty (0 bytes), not a .npy file".into()));
    }
    if b.len() >= 6 && &b[..6] != MAGIC || b.len() < 6 && !MAGIC.starts_with(b) {
        return Err(err(format!(
            "bad magic: expected \\x93NUMPY, found {:?}: {}",
            String::from_utf8_lossy(&b[..b.len().min(6)]),
            not_npy(b)
        )));
    }
    if b.len() < 10 {
        return Err(err(format!(
            "truncated header: a .npy file starts with at least 10 bytes, found {}",
            b.len()
        )));
    }
    let (major, minor) = (b[6], b[7]);
    let (len, start) = match major {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
        2 | 3 => {
            if b.len() < 12 {
                return Err(err(format!(
                    "truncated header: version {major}.{minor} needs 12 bytes before the \
                     dict, found {}",
                    b.len()
                )));
            }
            (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12)
        }
        _ => {
            return Err(err(format!(
                "unsupported format version {major}.{minor} (expected 1.0, 2.0 or 3.0)"
            )))
        }
    };
    if b.len() < start + len {
        return Err(err(format!(
            "truncated header: it declares {len} bytes of dict, the file has only {} after \
             the first {start}",
            b.len() - start
        )));
    }
    let text = std::str::from_utf8(&b[start..start + len])
        .map_err(|_| err("header dict is not valid UTF-8".into()))?;
    let dict = parse_dict(text).map_err(|m| err(format!("header dict {text:?}: {m}")))?;
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in dict {
        if seen.contains(&k) {
            // Python's dict literal keeps the last; which one was meant is not clear.
            return Err(err(format!("header gives {k:?} twice")));
        }
        seen.push(k.clone());
        match (k.as_str(), v) {
            ("descr", Value::Str(s)) => descr = Some(s),
            ("descr", _) => {
                return Err(err(
                    "structured (record) dtypes are not supported: 'descr' must be a string \
                     such as '<f4'"
                        .into(),
                ))
            }
            ("fortran_order", Value::Bool(f)) => fortran = Some(f),
            ("shape", Value::Tuple(s)) => shape = Some(s),
            (other, _) => {
                return Err(err(format!(
                    "unexpected key or value type for {other:?} in header (expected 'descr' \
                     string, 'fortran_order' bool, 'shape' tuple)"
                )))
            }
        }
    }
    let descr = descr.ok_or_else(|| err("header has no 'descr' key".into()))?;
    let fortran_order = fortran.ok_or_else(|| err("header has no 'fortran_order' key".into()))?;
    let shape = shape.ok_or_else(|| err("header has no 'shape' key".into()))?;
    let (dtype, big_endian) = parse_descr(&descr).map_err(err)?;
    Ok(Header {
        descr,
        dtype,
        big_endian,
        fortran_order,
        shape,
        data_offset: start + len,
    })
}

/// `'<f4'` -> (F32, little-endian). Byte order `<`, `|` or `=` (native, little on every
/// supported target) is little-endian; `>` is big-endian.
fn parse_descr(d: &str) -> std::result::Result<(DType, bool), String> {
    let unknown = || {
        format!(
            "unknown dtype {d:?} (expected one of f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1 with \
             byte order <, >, | or =)"
        )
    };
    let mut chars = d.chars();
    let order = chars.next().ok_or_else(unknown)?;
    let big = match order {
        '<' | '|' | '=' => false,
        '>' => true,
        _ => return Err(unknown()),
    };
    let dtype = match chars.as_str() {
        "f2" => DType::F16,
        "f4" => DType::F32,
        "f8" => DType::F64,
        "i1" => DType::I8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "u1" => DType::U8,
        "u2" => DType::U16,
        "u4" => DType::U32,
        "u8" => DType::U64,
        "b1" => DType::Bool,
        _ => return Err(unknown()),
    };
    Ok((dtype, big && dtype.size() > 1))
}

/// Reverses the bytes of each `size`-byte element.
fn swap_bytes(bytes: &mut [u8], size: usize) {
    if size > 1 {
        bytes.chunks_exact_mut(size).for_each(|c| c.reverse());
    }
}

/// Reorders elements stored in Fortran order (first index fastest) into C order (last index
/// fastest): element `(i_0, ..., i_{k-1})` sits at Fortran position
/// `sum_j i_j * prod_{l<j} shape_l` and goes to C position `sum_j i_j * prod_{l>j} shape_l`.
fn fortran_to_c(src: &[u8], shape: &[usize], size: usize) -> Vec<u8> {
    // The caller checked that `src` holds exactly `prod(shape) * size` bytes.
    let n = checked_numel(shape).expect("checked by decode");
    let mut out = vec![0u8; src.len()];
    if n == 0 || shape.len() < 2 {
        out.copy_from_slice(src);
        return out;
    }
    let k = shape.len();
    let mut fstride = vec![1usize; k];
    for j in 1..k {
        fstride[j] = fstride[j - 1] * shape[j - 1];
    }
    // Walk C positions in order with an odometer over the index, tracking the Fortran offset.
    let mut idx = vec![0usize; k];
    let mut f = 0usize;
    for c in 0..n {
        out[c * size..(c + 1) * size].copy_from_slice(&src[f * size..(f + 1) * size]);
        let mut j = k - 1;
        loop {
            idx[j] += 1;
            f += fstride[j];
            if idx[j] < shape[j] {
                break;
            }
            f -= fstride[j] * shape[j];
            idx[j] = 0;
            if j == 0 {
                break;
            }
            j -= 1;
        }
    }
    out
}

/// A value in a `.npy` header dict.
#[derive(Debug)]
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
    /// Anything else (such as the list of a structured dtype), kept only to report it.
    Other,
}

/// Parses the Python dict literal of a header: string keys; string, bool, tuple-of-int or
/// list values.
fn parse_dict(text: &str) -> std::result::Result<Vec<(String, Value)>, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    p.expect(b'{')?;
    let mut out = Vec::new();
    loop {
        p.ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.ws();
        p.expect(b':')?;
        p.ws();
        let value = p.value()?;
        out.push((key, value));
        p.ws();
        if p.eat(b',') {
            continue;
        }
        p.expect(b'}')?;
        break;
    }
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text after the dict at byte {}", p.i));
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!(
                "expected '{}' at byte {}, found {}",
                c as char,
                self.i,
                self.s
                    .get(self.i)
                    .map(|&b| format!("'{}'", b as char))
                    .unwrap_or_else(|| "the end".into())
            ))
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        let q = match self.s.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string at byte {}", self.i)),
        };
        self.i += 1;
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i] != q {
            self.i += 1;
        }
        if self.i == self.s.len() {
            return Err(format!("unterminated string starting at byte {start}"));
        }
        let v = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        self.i += 1;
        Ok(v)
    }

    fn value(&mut self) -> std::result::Result<Value, String> {
        match self.s.get(self.i) {
            Some(b'\'' | b'"') => Ok(Value::Str(self.string()?)),
            Some(b'(') => {
                self.i += 1;
                let mut dims = Vec::new();
                loop {
                    self.ws();
                    if self.eat(b')') {
                        break;
                    }
                    dims.push(self.int()?);
                    self.ws();
                    if self.eat(b',') {
                        continue;
                    }
                    self.expect(b')')?;
                    break;
                }
                Ok(Value::Tuple(dims))
            }
            Some(b'[') => {
                // Skip a (possibly nested) list; only structured dtypes use one.
                let mut depth = 0usize;
                while self.i < self.s.len() {
                    match self.s[self.i] {
                        b'[' | b'(' => depth += 1,
                        b']' | b')' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Ok(Value::Other);
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
                Err("unterminated list".into())
            }
            _ if self.s[self.i..].starts_with(b"True") => {
                self.i += 4;
                Ok(Value::Bool(true))
            }
            _ if self.s[self.i..].starts_with(b"False") => {
                self.i += 5;
                Ok(Value::Bool(false))
            }
            _ => Err(format!("unexpected value at byte {}", self.i)),
        }
    }

    fn int(&mut self) -> std::result::Result<usize, String> {
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if start == self.i {
            return Err(format!(
                "expected a non-negative integer dimension at byte {start}"
            ));
        }
        let v = std::str::from_utf8(&self.s[start..self.i])
            .unwrap()
            .parse::<usize>()
            .map_err(|e| format!("dimension at byte {start}: {e}"))?;
        // Python 2 long suffix.
        self.eat(b'L');
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nclab_testkit::scratch;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/npy")
            .join(name)
    }

    fn write_raw(path: &Path, version: (u8, u8), dict: &str, payload: &[u8]) {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[version.0, version.1]);
        if version.0 == 1 {
            b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        } else {
            b.extend_from_slice(&(dict.len() as u32).to_le_bytes());
        }
        b.extend_from_slice(dict.as_bytes());
        b.extend_from_slice(payload);
        std::fs::write(path, b).unwrap();
    }

    fn err_of(path: &Path) -> String {
        read(path).unwrap_err().to_string()
    }

    #[test]
    fn round_trip_every_dtype() {
        let dir = scratch("npy-rt");
        let cases: Vec<(Tensor, &str)> = vec![
            (
                Tensor::from_f32(vec![2, 3], &[1., 2., 3., 4., 5., -6.5]).unwrap(),
                "f32",
            ),
            (
                Tensor::from_f64(vec![3], &[0.25, -1e300, 7.0]).unwrap(),
                "f64",
            ),
            (
                Tensor::from_i64(vec![2, 2], &[-1, i64::MAX, 0, 5]).unwrap(),
                "i64",
            ),
            (
                Tensor::from_bytes(DType::U8, vec![4], vec![0, 1, 254, 255]).unwrap(),
                "u8",
            ),
            (
                Tensor::from_bytes(DType::I16, vec![2], vec![0xff, 0xff, 2, 1]).unwrap(),
                "i16",
            ),
            (
                Tensor::from_bytes(DType::Bool, vec![3], vec![1, 0, 1]).unwrap(),
                "bool",
            ),
            (Tensor::from_f32(vec![], &[42.0]).unwrap(), "scalar"),
            (Tensor::from_f32(vec![0, 5], &[]).unwrap(), "empty"),
        ];
        for (t, name) in cases {
            let p = dir.join(format!("{name}.npy"));
            write(&p, &t).unwrap();
            let r = read(&p).unwrap();
            assert_eq!(r.dtype(), t.dtype(), "{name}");
            assert_eq!(r.shape(), t.shape(), "{name}");
            assert_eq!(r.bytes(), t.bytes(), "{name}");
            // Header padded so that the data starts at a multiple of 64, as NumPy does.
            let len = std::fs::metadata(&p).unwrap().len() as usize;
            assert_eq!((len - t.bytes().len()) % 64, 0, "{name}");
        }
        // The reader maps rather than copies a C-order little-endian file.
        let p = dir.join("f32.npy");
        assert!(read(&p).unwrap().storage().is_mapped());
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn writes_the_bytes_numpy_writes() {
        // np.save of np.arange(6, dtype='<f4').reshape(2, 3) (fixture f4_c.npy): a 128-byte
        // header "\x93NUMPY\x01\x00" + length 118 + the dict padded with spaces and '\n',
        // then the 24 data bytes. nclab's writer produces the same file byte for byte.
        let dir = scratch("npy-numpy-bytes");
        let p = dir.join("x.npy");
        write(
            &p,
            &Tensor::from_f32(vec![2, 3], &[0., 1., 2., 3., 4., 5.]).unwrap(),
        )
        .unwrap();
        let ours = std::fs::read(&p).unwrap();
        let numpy = std::fs::read(fixture("f4_c.npy")).unwrap();
        assert_eq!(&ours[..10], b"\x93NUMPY\x01\x00\x76\x00");
        assert_eq!(ours, numpy);
        // And for a 1-D bool array (shape "(3,)"): fixture bool.npy.
        let t = Tensor::from_bytes(DType::Bool, vec![3], vec![1, 0, 1]).unwrap();
        write(&p, &t).unwrap();
        assert_eq!(
            std::fs::read(&p).unwrap(),
            std::fs::read(fixture("bool.npy")).unwrap()
        );
    }

    /// Files written by NumPy itself (tests/fixtures/npy/make_fixtures.py), an independent
    /// check of the reader.
    #[test]
    fn reads_files_written_by_numpy() {
        // np.arange(6, dtype='<f4').reshape(2, 3)
        let t = read(&fixture("f4_c.npy")).unwrap();
        assert_eq!(t.shape(), [2, 3]);
        assert_eq!(
            t.matrix("x").unwrap().to_f64_vec(),
            vec![0., 1., 2., 3., 4., 5.]
        );
        // np.asfortranarray(np.arange(6, dtype='<f8').reshape(2, 3)): same values, C order out.
        let t = read(&fixture("f8_fortran.npy")).unwrap();
        assert_eq!(t.shape(), [2, 3]);
        assert_eq!(
            t.matrix("x").unwrap().to_f64_vec(),
            vec![0., 1., 2., 3., 4., 5.]
        );
        // np.arange(24, dtype='<i2').reshape(2, 3, 4, order='F'): element (i, j, k) = i + 2j + 6k
        let t = read(&fixture("i2_fortran_3d.npy")).unwrap();
        assert_eq!(t.shape(), [2, 3, 4]);
        let v = t.integers("x").unwrap();
        for i in 0..2 {
            for j in 0..3 {
                for k in 0..4 {
                    assert_eq!(v[i * 12 + j * 4 + k], (i + 2 * j + 6 * k) as i64);
                }
            }
        }
        // np.array([1, -2, 300000], dtype='>i4')
        let t = read(&fixture("i4_big.npy")).unwrap();
        assert_eq!(t.dtype(), DType::I32);
        assert_eq!(t.integers("x").unwrap(), vec![1, -2, 300000]);
        // np.array([3, 65535, 0], dtype='<u2')
        let t = read(&fixture("u2.npy")).unwrap();
        assert_eq!(t.integers("x").unwrap(), vec![3, 65535, 0]);
        // np.array([2**63 - 1, 7], dtype='<u8')
        let t = read(&fixture("u8.npy")).unwrap();
        assert_eq!(t.integers("x").unwrap(), vec![i64::MAX, 7]);
        // np.array([True, False, True])
        let t = read(&fixture("bool.npy")).unwrap();
        assert_eq!((t.dtype(), t.bytes()), (DType::Bool, &[1u8, 0, 1][..]));
        // np.lib.format.write_array(f, np.array([1.5, -2.5], '<f8'), version=(2, 0))
        let t = read(&fixture("f8_v2.npy")).unwrap();
        assert_eq!(t.vector_f64("x").unwrap(), vec![1.5, -2.5]);
        // version (3, 0) of np.array([[9]], dtype='|i1')
        let t = read(&fixture("i1_v3.npy")).unwrap();
        assert_eq!(
            (t.shape().to_vec(), t.integers("x").unwrap()),
            (vec![1, 1], vec![9])
        );
    }

    /// Shapes whose size wraps around 64 bits are refused before anything is read or
    /// allocated, whatever the payload: (2^32, 2^32 + 1) f4 and (2^62, 4) f4 (whose byte
    /// count, 2^66, wraps to 0 and would match an empty payload).
    #[test]
    fn shapes_that_overflow_are_refused() {
        let dir = scratch("npy-overflow");
        for (i, shape) in ["(4294967296, 4294967297)", "(4611686018427387904, 4)"]
            .iter()
            .enumerate()
        {
            let p = dir.join(format!("wrap{i}.npy"));
            let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
            write_raw(&p, (1, 0), &dict, &[0; 16]);
            let e = err_of(&p);
            assert!(e.contains(&format!("wrap{i}.npy")), "{e}");
            assert!(e.contains("too large") && e.contains("overflows"), "{e}");
            // The same with an empty payload, and in Fortran order (the copying path).
            let dict = format!("{{'descr': '>f4', 'fortran_order': True, 'shape': {shape}, }}");
            write_raw(&p, (1, 0), &dict, &[]);
            assert!(err_of(&p).contains("overflows"), "{}", err_of(&p));
        }
        // A dimension that does not fit in 64 bits at all.
        let p = dir.join("huge.npy");
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }";
        write_raw(&p, (1, 0), dict, &[]);
        let e = err_of(&p);
        assert!(
            e.contains("huge.npy") && e.contains("dimension at byte"),
            "{e}"
        );
    }

    #[test]
    fn fortran_to_c_2d_by_hand() {
        // Fortran storage of [[1, 2, 3], [4, 5, 6]] is columns first: 1 4 2 5 3 6.
        let src = [1u8, 4, 2, 5, 3, 6];
        assert_eq!(fortran_to_c(&src, &[2, 3], 1), vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn bad_inputs_name_the_file_and_the_fault() {
        let dir = scratch("npy-bad");
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";

        let p = dir.join("missing.npy");
        let e = err_of(&p);
        assert!(
            e.contains("missing.npy") && e.contains("No such file"),
            "{e}"
        );

        let p = dir.join("short.npy");
        std::fs::write(&p, b"\x93NUM").unwrap();
        let e = err_of(&p);
        assert!(
            e.contains("short.npy") && e.contains("truncated header"),
            "{e}"
        );
        assert!(e.contains("at least 10 bytes, found 4"), "{e}");

        let p = dir.join("magic.npy");
        std::fs::write(&p, b"PK\x03\x04 this is a zip file").unwrap();
        let e = err_of(&p);
        assert!(e.contains("magic.npy") && e.contains("bad magic"), "{e}");
        assert!(e.contains("not a .npy file but a zip archive"), "{e}");
        // A CSV, and an empty file, are said to be what they are.
        let p = dir.join("table.npy");
        std::fs::write(&p, b"0.1,0.2\n0.3,0.4\n").unwrap();
        let e = err_of(&p);
        assert!(e.contains("not a .npy file but text (a CSV"), "{e}");
        let p = dir.join("empty.npy");
        std::fs::write(&p, b"").unwrap();
        let e = err_of(&p);
        assert!(
            e.contains("empty.npy") && e.contains("the file is empty (0 bytes)"),
            "{e}"
        );

        let p = dir.join("version.npy");
        write_raw(&p, (4, 0), dict, &[0; 24]);
        assert!(err_of(&p).contains("unsupported format version 4.0"));

        let p = dir.join("cut.npy");
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[1, 0, 200, 0]);
        b.extend_from_slice(b"{'descr': '<f4'");
        std::fs::write(&p, b).unwrap();
        let e = err_of(&p);
        assert!(
            e.contains("cut.npy") && e.contains("declares 200 bytes"),
            "{e}"
        );
        assert!(e.contains("only 15"), "{e}");

        let p = dir.join("payload.npy");
        write_raw(&p, (1, 0), dict, &[0; 20]);
        let e = err_of(&p);
        assert!(
            e.contains("payload.npy") && e.contains("payload too short"),
            "{e}"
        );
        assert!(
            e.contains("needs 24 bytes") && e.contains("found 20"),
            "{e}"
        );

        let p = dir.join("long.npy");
        write_raw(&p, (1, 0), dict, &[0; 28]);
        assert!(err_of(&p).contains("payload too long"));

        let p = dir.join("dtype.npy");
        write_raw(
            &p,
            (1, 0),
            "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }",
            &[0; 16],
        );
        let e = err_of(&p);
        assert!(
            e.contains("dtype.npy") && e.contains("unknown dtype \"<c16\""),
            "{e}"
        );

        let p = dir.join("record.npy");
        write_raw(
            &p,
            (1, 0),
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
            &[0; 4],
        );
        assert!(err_of(&p).contains("structured (record) dtypes are not supported"));

        let p = dir.join("noshape.npy");
        write_raw(&p, (1, 0), "{'descr': '<f4', 'fortran_order': False}", &[]);
        assert!(err_of(&p).contains("no 'shape' key"));

        let p = dir.join("twice.npy");
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'descr': '<f8', }";
        write_raw(&p, (1, 0), dict, &[0; 8]);
        let e = err_of(&p);
        assert!(
            e.contains("twice.npy") && e.contains("header gives \"descr\" twice"),
            "{e}"
        );

        let p = dir.join("garbage.npy");
        write_raw(&p, (1, 0), "{'descr': '<f4', 'shape': (2, x), }", &[]);
        let e = err_of(&p);
        assert!(
            e.contains("expected a non-negative integer dimension"),
            "{e}"
        );

        // bfloat16 cannot be written, and nothing is left behind.
        let p = dir.join("bf16.npy");
        let t = Tensor::from_bytes(DType::BF16, vec![1], vec![0, 0]).unwrap();
        let e = write(&p, &t).unwrap_err().to_string();
        assert!(e.contains("bf16.npy") && e.contains("bfloat16"), "{e}");
        assert!(!p.exists());
    }
}
