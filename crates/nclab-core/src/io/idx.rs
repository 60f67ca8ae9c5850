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
use std::io::{Read, Seek, SeekFrom, Write};
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

/// Largest IDX payload accepted, raw or gzip: 4 GiB. The largest IDX files in use (the
/// EMNIST `byclass` images) hold about 550 MB; a header declaring more is taken as corrupt
/// rather than trusted with that much memory.
pub const MAX_PAYLOAD: u64 = 4 << 30;

/// The most a deflate stream can expand: 1032 output bytes per input byte (a run of one
/// repeated byte, 258 bytes per 2-bit code). A gzip file declaring, through its IDX header,
/// more than this many times its own size cannot hold what it declares.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// The bytes of `path`, gunzipped when they start with the gzip magic `1f 8b`. Memory is
/// bounded: the raw file must be at most [`MAX_PAYLOAD`] bytes, and a gzip stream is cut (an
/// error) as soon as it yields more than that. Prefer [`read`], which bounds a gzip stream by
/// what its IDX header declares.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let mut src = Source::open(path)?;
    let mut out = Vec::new();
    match &mut src {
        Source::Raw { file, len } => {
            if *len > MAX_PAYLOAD {
                return Err(Error::format(
                    path,
                    format!("file of {len} bytes is larger than the {MAX_PAYLOAD} accepted"),
                ));
            }
            file.read_to_end(&mut out).map_err(|e| Error::io(path, e))?;
        }
        Source::Gz { stream, .. } => {
            stream
                .take(MAX_PAYLOAD + 1)
                .read_to_end(&mut out)
                .map_err(|e| gz_error(path, e))?;
            if out.len() as u64 > MAX_PAYLOAD {
                return Err(Error::format(
                    path,
                    format!("gzip stream expands to more than {MAX_PAYLOAD} bytes"),
                ));
            }
        }
    }
    Ok(out)
}

/// An open IDX file: raw, with its length, or a gzip stream, with the compressed length.
enum Source {
    Raw {
        file: std::io::BufReader<std::fs::File>,
        len: u64,
    },
    Gz {
        stream: Box<flate2::read::MultiGzDecoder<std::io::BufReader<std::fs::File>>>,
        compressed_len: u64,
    },
}

impl Source {
    fn open(path: &Path) -> Result<Source> {
        let ioerr = |e| Error::io(path, e);
        let mut file = super::open_file(path)?;
        let len = file.metadata().map_err(ioerr)?.len();
        let mut magic = [0u8; 2];
        let got = read_full(&mut file, &mut magic).map_err(ioerr)?;
        file.seek(SeekFrom::Start(0)).map_err(ioerr)?;
        let file = std::io::BufReader::with_capacity(1 << 16, file);
        Ok(if got == 2 && magic == [0x1f, 0x8b] {
            Source::Gz {
                stream: Box::new(flate2::read::MultiGzDecoder::new(file)),
                compressed_len: len,
            }
        } else {
            Source::Raw { file, len }
        })
    }

    fn reader(&mut self) -> &mut dyn Read {
        match self {
            Source::Raw { file, .. } => file,
            Source::Gz { stream, .. } => stream,
        }
    }
}

/// Reads until `buf` is full or the stream ends; returns the number of bytes read. Unlike
/// `read_exact`, a clean end of the stream is told apart from an error of the stream.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn gz_error(path: &Path, e: std::io::Error) -> Error {
    Error::format(path, format!("corrupt gzip stream: {e}"))
}

/// Reads an IDX file (raw or gzip), checking the magic number and that the payload has
/// exactly `prod(dims) * size(dtype)` bytes.
///
/// Memory is bounded by what the header declares, and the declaration is checked before
/// anything is allocated: its size must not overflow, must be at most [`MAX_PAYLOAD`], must
/// match the length of a raw file, and must be at most [`MAX_DEFLATE_RATIO`] times the length
/// of a gzip file (what deflate can expand to). A gzip stream is then read only up to the
/// declared size; one that yields more is an error as soon as it does.
pub fn read(path: &Path) -> Result<IdxArray> {
    let mut src = Source::open(path)?;
    let header = Header::read(path, &mut src)?;
    let mut data = match &mut src {
        Source::Raw { file, len } => header.raw_payload(path, file, *len)?,
        Source::Gz {
            stream,
            compressed_len,
        } => header.gz_payload(path, stream, *compressed_len)?,
    };
    if header.dtype.size() > 1 {
        // Big-endian elements to little-endian: each element's bytes reversed in place.
        data.chunks_exact_mut(header.dtype.size())
            .for_each(|c| c.reverse());
    }
    Ok(IdxArray {
        dtype: header.dtype,
        dims: header.dims,
        data,
    })
}

/// The header of an IDX file as declared: element type, dimensions, the header's length
/// `start = 4 + 4 k` and the payload's length `need = prod(dims) * size(dtype)` in bytes.
struct Header {
    dtype: DType,
    dims: Vec<usize>,
    start: usize,
    need: usize,
}

impl Header {
    /// Reads and checks the magic number and the dimensions from the start of `src`, and
    /// checks that the declared payload size neither overflows nor exceeds [`MAX_PAYLOAD`].
    fn read(path: &Path, src: &mut Source) -> Result<Header> {
        let gz = matches!(src, Source::Gz { .. });
        let (dtype, k) = read_magic(path, src.reader(), gz)?;
        let dims = read_dims(path, src.reader(), gz, k)?;
        let err = |m: String| Error::format(path, m);
        let need = dtype.byte_len(&dims).ok_or_else(|| {
            err(format!(
                "dimensions {dims:?} of {} are too large: their size in bytes overflows a \
                 64-bit integer (a corrupt header)",
                dtype.name()
            ))
        })?;
        if need as u64 > MAX_PAYLOAD {
            return Err(err(format!(
                "dimensions {dims:?} of {} declare {need} bytes, more than the {MAX_PAYLOAD} \
                 an IDX file may hold here (a corrupt header?)",
                dtype.name()
            )));
        }
        Ok(Header {
            dtype,
            dims,
            start: 4 + 4 * k,
            need,
        })
    }

    /// The payload of a raw file of `len` bytes: exactly `need` bytes must follow the header
    /// (checked against the length before reading, and again after, in case the file shrank).
    fn raw_payload(
        &self,
        path: &Path,
        file: &mut std::io::BufReader<std::fs::File>,
        len: u64,
    ) -> Result<Vec<u8>> {
        let Header {
            dtype,
            dims,
            start,
            need,
        } = self;
        let (start, need) = (*start, *need);
        let err = |m: String| Error::format(path, m);
        let found = len.saturating_sub(start as u64);
        if found != need as u64 {
            return Err(err(format!(
                "payload too {}: dimensions {dims:?} of {} need {need} bytes, found {found}",
                if found < need as u64 { "short" } else { "long" },
                dtype.name()
            )));
        }
        let mut data = Vec::with_capacity(need);
        file.take(need as u64)
            .read_to_end(&mut data)
            .map_err(|e| Error::io(path, e))?;
        if data.len() != need {
            return Err(err(format!(
                "payload too short: dimensions {dims:?} of {} need {need} bytes, found {} \
                 (the file shrank while it was read)",
                dtype.name(),
                data.len()
            )));
        }
        Ok(data)
    }

    /// The payload of a gzip file of `compressed_len` bytes: the declared size must be within
    /// what deflate can expand to ([`MAX_DEFLATE_RATIO`] times the file), and the stream must
    /// then yield exactly `need` bytes (it is read up to one byte more, which ends the read
    /// and, at the end of the stream, checks the CRC).
    fn gz_payload(
        &self,
        path: &Path,
        stream: &mut flate2::read::MultiGzDecoder<std::io::BufReader<std::fs::File>>,
        compressed_len: u64,
    ) -> Result<Vec<u8>> {
        let Header {
            dtype,
            dims,
            start,
            need,
        } = self;
        let (start, need) = (*start, *need);
        let err = |m: String| Error::format(path, m);
        let most = compressed_len.saturating_mul(MAX_DEFLATE_RATIO);
        if (start + need) as u64 > most {
            return Err(err(format!(
                "dimensions {dims:?} of {} declare {need} bytes, more than a gzip file of \
                 {compressed_len} bytes can expand to (at most {MAX_DEFLATE_RATIO} times \
                 its size): a corrupt header",
                dtype.name()
            )));
        }
        // Grown as the data arrives, so a lying header costs no more than the stream
        // really yields; never more than the declared size plus one byte.
        let mut data = Vec::with_capacity(need.min(1 << 24));
        (&mut *stream)
            .take(need as u64)
            .read_to_end(&mut data)
            .map_err(|e| gz_error(path, e))?;
        if data.len() < need {
            return Err(err(format!(
                "payload too short: dimensions {dims:?} of {} need {need} bytes, the gzip \
                 stream holds {}",
                dtype.name(),
                data.len()
            )));
        }
        // One byte more than declared ends the read; reaching the end checks the CRC.
        let mut extra = [0u8; 1];
        if read_full(stream, &mut extra).map_err(|e| gz_error(path, e))? > 0 {
            return Err(err(format!(
                "payload too long: dimensions {dims:?} of {} need {need} bytes, the gzip \
                 stream holds more (reading stopped there)",
                dtype.name()
            )));
        }
        Ok(data)
    }
}

/// An error of the stream being read: a corrupt gzip stream, or an I/O error of a raw file.
fn stream_error(path: &Path, gz: bool, e: std::io::Error) -> Error {
    if gz {
        gz_error(path, e)
    } else {
        Error::io(path, e)
    }
}

/// The magic number `00 00 TT KK`: the element type `TT` and the number of dimensions `KK`.
fn read_magic(path: &Path, r: &mut dyn Read, gz: bool) -> Result<(DType, usize)> {
    let mut b = [0u8; 4];
    let got = read_full(r, &mut b).map_err(|e| stream_error(path, gz, e))?;
    if got < 4 {
        return Err(Error::format(
            path,
            format!(
                "truncated header: an IDX file starts with a 4-byte magic number, found {got} \
                 bytes"
            ),
        ));
    }
    match (b[0], b[1], dtype_of(b[2])) {
        (0, 0, Some(t)) => Ok((t, b[3] as usize)),
        _ => Err(Error::format(
            path,
            format!(
                "bad magic 0x{:02x}{:02x}{:02x}{:02x}: expected 0x0000TTKK with type TT one of \
                 08 09 0b 0c 0d 0e (is this an IDX file?)",
                b[0], b[1], b[2], b[3]
            ),
        )),
    }
}

/// The `k` big-endian u32 dimensions after the magic number.
fn read_dims(path: &Path, r: &mut dyn Read, gz: bool, k: usize) -> Result<Vec<usize>> {
    let mut dim_bytes = vec![0u8; 4 * k];
    let got = read_full(r, &mut dim_bytes).map_err(|e| stream_error(path, gz, e))?;
    if got < 4 * k {
        return Err(Error::format(
            path,
            format!(
                "truncated header: {k} dimensions need {} header bytes, found {}",
                4 + 4 * k,
                4 + got
            ),
        ));
    }
    Ok(dim_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()) as usize)
        .collect())
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
    if a.dims[1] == 0 || a.dims[2] == 0 {
        return Err(Error::format(
            path,
            format!(
                "images of {} x {} pixels: an image needs at least one pixel",
                a.dims[1], a.dims[2]
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

/// Reads a label file of `k` classes: one dimension `N` of integers (u8 as MNIST has it,
/// or i8, i16, i32), every label in `0..k`. A label out of range is an error naming the file
/// and the row.
pub fn read_class_labels(path: &Path, k: usize) -> Result<Vec<u32>> {
    let a = read(path)?;
    let wrong = || {
        Error::format(
            path,
            format!(
                "expected a label file (magic 0x00000801: u8, N; or i8, i16, i32), found {} \
                 with dimensions {:?}",
                a.dtype.name(),
                a.dims
            ),
        )
    };
    if a.dims.len() != 1 {
        return Err(wrong());
    }
    let values: Vec<i64> = match a.dtype {
        DType::U8 => a.data.iter().map(|&x| x as i64).collect(),
        DType::I8 => a.data.iter().map(|&x| x as i8 as i64).collect(),
        DType::I16 => a
            .data
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]) as i64)
            .collect(),
        DType::I32 => a
            .data
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i64)
            .collect(),
        _ => return Err(wrong()),
    };
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            u32::try_from(v)
                .ok()
                .filter(|&y| (y as usize) < k)
                .ok_or_else(|| {
                    Error::format(
                        path,
                        format!("row {i}: label {v} out of range (expected 0..{k})"),
                    )
                })
        })
        .collect()
}

/// Writes an IDX file (gzip-compressed when `gzip`), elements given little-endian. Atomic.
pub fn write(path: &Path, array: &IdxArray, gzip: bool) -> Result<()> {
    let code = code_of(array.dtype).ok_or_else(|| {
        Error::format(path, format!("IDX has no type for {}", array.dtype.name()))
    })?;
    let need = array.dtype.byte_len(&array.dims);
    if need != Some(array.data.len()) {
        return Err(Error::format(
            path,
            format!(
                "dimensions {:?} need {} bytes, given {}",
                array.dims,
                need.map_or("too many".into(), |n| n.to_string()),
                array.data.len()
            ),
        ));
    }
    if array.dims.len() > 255 || array.dims.iter().any(|&d| u32::try_from(d).is_err()) {
        return Err(Error::format(
            path,
            format!(
                "dimensions {:?} cannot be written: IDX holds at most 255 dimensions of at most \
                 {} each",
                array.dims,
                u32::MAX
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
    use nclab_testkit::scratch;

    #[test]
    fn round_trip_raw_and_gzip() {
        let dir = scratch("idx-rt");
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
        let dir = scratch("idx-bad");
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
        // 20 images of 0 x 0 pixels (the normalisation's per-image chunks were 0 long).
        let p = dir.join("empty-images");
        std::fs::write(&p, [0, 0, 8, 3, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        let e = read_images(&p).unwrap_err().to_string();
        assert!(
            e.contains("empty-images: images of 0 x 0 pixels: an image needs at least one pixel"),
            "{e}"
        );

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

    /// A raw IDX header of type `code` with the given dimensions.
    fn header(code: u8, dims: &[u32]) -> Vec<u8> {
        let mut b = vec![0, 0, code, dims.len() as u8];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn dimensions_whose_size_overflows_are_refused() {
        let dir = scratch("idx-overflow");
        // u8, (2^32 - 1)^3 elements: far beyond 64 bits.
        let p = dir.join("wrap-idx3-ubyte");
        std::fs::write(&p, header(0x08, &[u32::MAX; 3])).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("wrap-idx3-ubyte"), "{e}");
        assert!(e.contains("too large") && e.contains("overflows"), "{e}");
        // i32, 2^31 x 2^31 x 4 elements of 4 bytes: 2^66 bytes, which wraps to 0 and would
        // match an empty payload.
        let p = dir.join("zero.gz");
        std::fs::write(&p, gzip(&header(0x0C, &[1 << 31, 1 << 31, 4]))).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("zero.gz") && e.contains("overflows"), "{e}");
        // 5 GiB declared, beyond the documented cap, in a sparse file that really is that
        // long: refused from the header, nothing read.
        let p = dir.join("sparse-idx3-ubyte");
        let f = std::fs::File::create(&p).unwrap();
        let mut w = &f;
        w.write_all(&header(0x08, &[5, 1 << 30])).unwrap();
        f.set_len(12 + (5u64 << 30)).unwrap();
        drop(f);
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("sparse-idx3-ubyte"), "{e}");
        assert!(
            e.contains("declare 5368709120 bytes, more than the 4294967296"),
            "{e}"
        );
        std::fs::remove_file(&p).unwrap();
    }

    /// A gzip file is read only as far as its IDX header declares: a stream that expands to
    /// more stops being read at the first extra byte, and a header that declares more than the
    /// file could expand to is refused before anything is decompressed.
    #[test]
    fn gzip_decompression_is_bounded_by_the_header() {
        let dir = scratch("idx-gz-bomb");
        // Header: 10 labels; then 16 MiB of zeros (a 16 KiB gzip file).
        let mut raw = header(0x08, &[10]);
        raw.resize(raw.len() + (16 << 20), 0);
        let p = dir.join("bomb-idx1-ubyte.gz");
        let gz = gzip(&raw);
        assert!(gz.len() < 1 << 20);
        std::fs::write(&p, &gz).unwrap();
        drop(raw);
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("bomb-idx1-ubyte.gz"), "{e}");
        assert!(
            e.contains("payload too long") && e.contains("reading stopped there"),
            "{e}"
        );
        // A 2 GiB image file declared by a gzip file of a few dozen bytes.
        let p = dir.join("liar-idx3-ubyte.gz");
        let gz = gzip(&header(0x08, &[2048, 1024, 1024]));
        std::fs::write(&p, &gz).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("liar-idx3-ubyte.gz"), "{e}");
        assert!(
            e.contains(&format!(
                "more than a gzip file of {} bytes can expand to",
                gz.len()
            )),
            "{e}"
        );
        // Exactly the declared size still reads, and the whole stream (CRC included) is
        // checked: a corrupted trailer is an error.
        let a = IdxArray {
            dtype: DType::U8,
            dims: vec![3],
            data: vec![1, 2, 3],
        };
        let p = dir.join("ok.gz");
        write(&p, &a, true).unwrap();
        assert_eq!(read(&p).unwrap(), a);
        let mut gz = std::fs::read(&p).unwrap();
        let n = gz.len();
        gz[n - 8] ^= 0xff; // CRC32 of the member
        std::fs::write(&p, &gz).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("corrupt gzip stream"), "{e}");
    }

    /// Labels wider than u8 are read and checked against the class count, naming the row.
    #[test]
    fn class_labels_out_of_range_name_the_file_and_row() {
        let dir = scratch("idx-labels");
        let p = dir.join("labels-idx1-int");
        let a = IdxArray {
            dtype: DType::I32,
            dims: vec![5],
            data: [1i32, 2, 0, 100_000_000, 3]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        };
        write(&p, &a, false).unwrap();
        let e = read_class_labels(&p, 10).unwrap_err().to_string();
        assert!(e.contains("labels-idx1-int"), "{e}");
        assert!(
            e.contains("row 3: label 100000000 out of range (expected 0..10)"),
            "{e}"
        );
        // A negative one, and a u8 label at the class count.
        let a = IdxArray {
            dtype: DType::I16,
            dims: vec![2],
            data: [4i16, -1].iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        write(&p, &a, true).unwrap();
        let e = read_class_labels(&p, 10).unwrap_err().to_string();
        assert!(e.contains("row 1: label -1 out of range"), "{e}");
        std::fs::write(&p, [0, 0, 8, 1, 0, 0, 0, 3, 1, 9, 2]).unwrap();
        assert_eq!(read_class_labels(&p, 10).unwrap(), vec![1, 9, 2]);
        let e = read_class_labels(&p, 9).unwrap_err().to_string();
        assert!(
            e.contains("row 1: label 9 out of range (expected 0..9)"),
            "{e}"
        );
        // Floats are not labels.
        let a = IdxArray {
            dtype: DType::F64,
            dims: vec![1],
            data: (2f64.powi(62)).to_le_bytes().to_vec(),
        };
        write(&p, &a, false).unwrap();
        let e = read_class_labels(&p, 10).unwrap_err().to_string();
        assert!(
            e.contains("expected a label file") && e.contains("F64"),
            "{e}"
        );
    }
}
