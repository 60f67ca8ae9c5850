//! IDX files, the format of MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! Layout: two zero bytes, a type byte (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32,
//! 0x0E f64), the number of dimensions `k`, then `k` big-endian u32 sizes, then
//! `prod(sizes)` big-endian elements. MNIST images are `0x00000803` (u8, N x 28 x 28) and
//! labels `0x00000801` (u8, N). A file is taken as gzip when it starts with `1f 8b`, whatever
//! its name.

use super::write_atomic;
use crate::tensor::DType;
use crate::{Error, Result};
use std::io::{Read, Write};
use std::path::Path;

/// An IDX array: element type, dimensions, and the elements as little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    pub dtype: DType,
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

fn dtype_of(code: u8) -> Option<DType> {
    Some(match code {
        0x08 => DType::U8,
        0x09 => DType::I8,
        0x0B => DType::I16,
        0x0C => DType::I32,
        0x0D => DType::F32,
        0x0E => DType::F64,
        _ => return None,
    })
}

fn code_of(dtype: DType) -> Option<u8> {
    Some(match dtype {
        DType::U8 => 0x08,
        DType::I8 => 0x09,
        DType::I16 => 0x0B,
        DType::I32 => 0x0C,
        DType::F32 => 0x0D,
        DType::F64 => 0x0E,
        _ => return None,
    })
}

/// The bytes of `path`, gunzipped when they start with the gzip magic `1f 8b`.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::format(path, format!("corrupt gzip stream: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Reads an IDX file (raw or gzip), checking the magic number and that the payload has
/// exactly `prod(dims) * size(dtype)` bytes.
pub fn read(path: &Path) -> Result<IdxArray> {
    let mut b = read_maybe_gz(path)?;
    let err = |m: String| Error::format(path, m);
    if b.len() < 4 {
        return Err(err(format!(
            "truncated header: an IDX file starts with a 4-byte magic number, found {} bytes",
            b.len()
        )));
    }
    let dtype = match (b[0], b[1], dtype_of(b[2])) {
        (0, 0, Some(t)) => t,
        _ => {
            return Err(err(format!(
                "bad magic 0x{:02x}{:02x}{:02x}{:02x}: expected 0x0000TTKK with type TT one of \
                 08 09 0b 0c 0d 0e (is this an IDX file?)",
                b[0], b[1], b[2], b[3]
            )))
        }
    };
    let k = b[3] as usize;
    let start = 4 + 4 * k;
    if b.len() < start {
        return Err(err(format!(
            "truncated header: {k} dimensions need {start} header bytes, found {}",
            b.len()
        )));
    }
    let dims: Vec<usize> = (0..k)
        .map(|i| u32::from_be_bytes(b[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let need = dims.iter().product::<usize>() * dtype.size();
    let found = b.len() - start;
    if found != need {
        return Err(err(format!(
            "payload too {}: dimensions {dims:?} of {} need {need} bytes, found {found}",
            if found < need { "short" } else { "long" },
            dtype.name()
        )));
    }
    b.drain(..start);
    if dtype.size() > 1 {
        b.chunks_exact_mut(dtype.size()).for_each(|c| c.reverse());
    }
    Ok(IdxArray {
        dtype,
        dims,
        data: b,
    })
}

/// Reads an image file: u8, three dimensions `N x H x W` (magic `0x00000803`). Returns
/// `(n, h, w, pixels)` with pixels in row-major order.
pub fn read_images(path: &Path) -> Result<(usize, usize, usize, Vec<u8>)> {
    let a = read(path)?;
    if a.dtype != DType::U8 || a.dims.len() != 3 {
        return Err(Error::format(
            path,
            format!(
                "expected an image file (magic 0x00000803: u8, N x H x W), found {} with \
                 dimensions {:?}",
                a.dtype.name(),
                a.dims
            ),
        ));
    }
    Ok((a.dims[0], a.dims[1], a.dims[2], a.data))
}

/// Reads a label file: u8, one dimension `N` (magic `0x00000801`).
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    let a = read(path)?;
    if a.dtype != DType::U8 || a.dims.len() != 1 {
        return Err(Error::format(
            path,
            format!(
                "expected a label file (magic 0x00000801: u8, N), found {} with dimensions {:?}",
                a.dtype.name(),
                a.dims
            ),
        ));
    }
    Ok(a.data)
}

/// Writes an IDX file (gzip-compressed when `gzip`), elements given little-endian. Atomic.
pub fn write(path: &Path, array: &IdxArray, gzip: bool) -> Result<()> {
    let code = code_of(array.dtype).ok_or_else(|| {
        Error::format(path, format!("IDX has no type for {}", array.dtype.name()))
    })?;
    let need = array.dims.iter().product::<usize>() * array.dtype.size();
    if array.data.len() != need {
        return Err(Error::format(
            path,
            format!(
                "dimensions {:?} need {need} bytes, given {}",
                array.dims,
                array.data.len()
            ),
        ));
    }
    let mut bytes = vec![0, 0, code, array.dims.len() as u8];
    for &d in &array.dims {
        bytes.extend_from_slice(&(d as u32).to_be_bytes());
    }
    let start = bytes.len();
    bytes.extend_from_slice(&array.data);
    if array.dtype.size() > 1 {
        bytes[start..]
            .chunks_exact_mut(array.dtype.size())
            .for_each(|c| c.reverse());
    }
    write_atomic(path, |w| {
        if gzip {
            let mut enc = flate2::write::GzEncoder::new(w, flate2::Compression::fast());
            enc.write_all(&bytes)?;
            enc.finish()?;
            Ok(())
        } else {
            w.write_all(&bytes)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::test_dir;

    #[test]
    fn round_trip_raw_and_gzip() {
        let dir = test_dir("idx-rt");
        let imgs = IdxArray {
            dtype: DType::U8,
            dims: vec![2, 2, 3],
            data: vec![0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255],
        };
        for gz in [false, true] {
            let p = dir.join(if gz { "i.gz" } else { "i" });
            write(&p, &imgs, gz).unwrap();
            assert_eq!(read(&p).unwrap(), imgs);
            let (n, h, w, px) = read_images(&p).unwrap();
            assert_eq!((n, h, w, px), (2, 2, 3, imgs.data.clone()));
        }
        // Bytes on disk by hand: magic 00 00 08 03, then 2, 2, 3 as big-endian u32.
        let raw = std::fs::read(dir.join("i")).unwrap();
        assert_eq!(
            &raw[..16],
            &[0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3]
        );
        // Multi-byte elements are big-endian on disk: i32 258 = 00 00 01 02.
        let p = dir.join("i32");
        let a = IdxArray {
            dtype: DType::I32,
            dims: vec![2],
            data: [258i32, -1].iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        write(&p, &a, false).unwrap();
        assert_eq!(&std::fs::read(&p).unwrap()[8..12], &[0, 0, 1, 2]);
        assert_eq!(read(&p).unwrap(), a);
    }

    #[test]
    fn bad_inputs_name_the_file_and_the_fault() {
        let dir = test_dir("idx-bad");
        let e = read(&dir.join("nope-idx3-ubyte")).unwrap_err().to_string();
        assert!(
            e.contains("nope-idx3-ubyte") && e.contains("No such file"),
            "{e}"
        );

        let p = dir.join("magic");
        std::fs::write(&p, [0x50, 0x4b, 3, 4, 0, 0, 0, 0]).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains("magic") && e.contains("bad magic 0x504b0304"),
            "{e}"
        );

        let p = dir.join("short");
        // u8, 1 dimension of 5 elements, only 3 present.
        std::fs::write(&p, [0, 0, 8, 1, 0, 0, 0, 5, 1, 2, 3]).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("payload too short"), "{e}");
        assert!(e.contains("need 5 bytes, found 3"), "{e}");

        let p = dir.join("hdr");
        std::fs::write(&p, [0, 0, 8, 3, 0, 0, 0]).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains("3 dimensions need 16 header bytes, found 7"),
            "{e}"
        );

        // A label file where images are expected.
        let p = dir.join("labels");
        std::fs::write(&p, [0, 0, 8, 1, 0, 0, 0, 2, 1, 2]).unwrap();
        let e = read_images(&p).unwrap_err().to_string();
        assert!(
            e.contains("expected an image file") && e.contains("[2]"),
            "{e}"
        );
        assert_eq!(read_labels(&p).unwrap(), vec![1, 2]);

        // A gzip stream cut in half, and one with corrupted deflate data.
        let p = dir.join("full.gz");
        let a = IdxArray {
            dtype: DType::U8,
            dims: vec![1000],
            data: (0..1000).map(|i| (i * 7 % 251) as u8).collect(),
        };
        write(&p, &a, true).unwrap();
        let gz = std::fs::read(&p).unwrap();
        let q = dir.join("cut.gz");
        std::fs::write(&q, &gz[..gz.len() / 2]).unwrap();
        let e = read(&q).unwrap_err().to_string();
        assert!(
            e.contains("cut.gz") && e.contains("corrupt gzip stream"),
            "{e}"
        );
        let mut bad = gz.clone();
        for b in &mut bad[12..40] {
            *b ^= 0x5a;
        }
        let q = dir.join("bad.gz");
        std::fs::write(&q, &bad).unwrap();
        let e = read(&q).unwrap_err().to_string();
        assert!(
            e.contains("bad.gz") && e.contains("corrupt gzip stream"),
            "{e}"
        );
    }
}
