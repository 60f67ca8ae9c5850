//! A typed n-dimensional array as read from `.npy` or `.safetensors` files: element type,
//! shape (C order) and the raw little-endian bytes, owned or memory-mapped.
//!
//! Readers ([`crate::io`]) produce [`Tensor`]s without converting their element type, so a
//! 2 GB f32 features file is mapped, not copied into f64; the metrics read the rows as they are.

use crate::{Error, Result};

/// Element types found in `.npy` and `.safetensors` files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    Bool,
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F16,
    BF16,
    F32,
    F64,
}

impl DType {
    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::U8 | DType::I8 => 1,
            DType::U16 | DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::U32 | DType::I32 | DType::F32 => 4,
            DType::U64 | DType::I64 | DType::F64 => 8,
        }
    }

    /// Whether the type holds integers (bool excluded).
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            DType::U8
                | DType::I8
                | DType::U16
                | DType::I16
                | DType::U32
                | DType::I32
                | DType::U64
                | DType::I64
        )
    }

    /// The name used by safetensors (`F32`, `I64`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "BOOL",
            DType::U8 => "U8",
            DType::I8 => "I8",
            DType::U16 => "U16",
            DType::I16 => "I16",
            DType::U32 => "U32",
            DType::I32 => "I32",
            DType::U64 => "U64",
            DType::I64 => "I64",
            DType::F16 => "F16",
            DType::BF16 => "BF16",
            DType::F32 => "F32",
            DType::F64 => "F64",
        }
    }
}

/// The bytes behind a tensor: owned, or a window into a memory-mapped file. Opaque: its
/// constructors check that the window lies inside the map, so `bytes` is always sound.
pub struct Storage(Bytes);

enum Bytes {
    /// Owned bytes, kept in a `u64` buffer so that any element type is aligned; `len` of them
    /// are the tensor's.
    Owned { words: Vec<u64>, len: usize },
    Mapped {
        map: std::sync::Arc<memmap2::Mmap>,
        offset: usize,
        len: usize,
    },
}

impl Storage {
    /// Copies `bytes` into an aligned owned buffer.
    pub fn owned(bytes: &[u8]) -> Self {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        Storage(Bytes::Owned {
            words,
            len: bytes.len(),
        })
    }

    /// `len` bytes of `map` from `offset`; an error when they do not lie inside the map.
    pub fn mapped(map: std::sync::Arc<memmap2::Mmap>, offset: usize, len: usize) -> Result<Self> {
        if offset.checked_add(len).is_none_or(|end| end > map.len()) {
            return Err(Error::invalid(format!(
                "{len} bytes from offset {offset} do not lie inside the {} bytes of the file",
                map.len()
            )));
        }
        Ok(Storage(Bytes::Mapped { map, offset, len }))
    }

    pub fn bytes(&self) -> &[u8] {
        match &self.0 {
            Bytes::Owned { words, len } => &bytemuck::cast_slice::<u64, u8>(words)[..*len],
            Bytes::Mapped { map, offset, len } => &map[*offset..*offset + *len],
        }
    }

    /// Whether the bytes are read from a memory-mapped file (not copied).
    pub fn is_mapped(&self) -> bool {
        matches!(self.0, Bytes::Mapped { .. })
    }

    /// For a mapped window, its offset in the file.
    pub fn map_offset(&self) -> Option<usize> {
        match &self.0 {
            Bytes::Mapped { offset, .. } => Some(*offset),
            Bytes::Owned { .. } => None,
        }
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Storage({} bytes)", self.bytes().len())
    }
}

/// A named-type n-dimensional array in C order, little-endian.
#[derive(Debug)]
pub struct Tensor {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub storage: Storage,
}

/// Rows of a 2-D floating-point matrix, borrowed in the precision they were stored in.
#[derive(Clone, Copy, Debug)]
pub enum Rows<'a> {
    F16(&'a [half::f16]),
    BF16(&'a [half::bf16]),
    F32(&'a [f32]),
    F64(&'a [f64]),
}

impl<'a> Rows<'a> {
    /// Number of stored elements.
    pub fn len(&self) -> usize {
        match self {
            Rows::F16(x) => x.len(),
            Rows::BF16(x) => x.len(),
            Rows::F32(x) => x.len(),
            Rows::F64(x) => x.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` widened to f64.
    #[inline]
    pub fn get(&self, i: usize) -> f64 {
        match self {
            Rows::F16(x) => x[i].to_f64(),
            Rows::BF16(x) => x[i].to_f64(),
            Rows::F32(x) => x[i] as f64,
            Rows::F64(x) => x[i],
        }
    }

    /// Elements `start..end` widened into `out` (which must have length `end - start`).
    #[inline]
    pub fn copy_to_f64(&self, start: usize, end: usize, out: &mut [f64]) {
        match self {
            Rows::F16(x) => out
                .iter_mut()
                .zip(&x[start..end])
                .for_each(|(o, &v)| *o = v.to_f64()),
            Rows::BF16(x) => out
                .iter_mut()
                .zip(&x[start..end])
                .for_each(|(o, &v)| *o = v.to_f64()),
            Rows::F32(x) => out
                .iter_mut()
                .zip(&x[start..end])
                .for_each(|(o, &v)| *o = v as f64),
            Rows::F64(x) => out.copy_from_slice(&x[start..end]),
        }
    }
}

/// A borrowed row-major `n x d` matrix of f32 or f64.
#[derive(Clone, Copy, Debug)]
pub struct MatrixView<'a> {
    pub rows: Rows<'a>,
    pub n: usize,
    pub d: usize,
}

impl<'a> MatrixView<'a> {
    pub fn f32(data: &'a [f32], n: usize, d: usize) -> Self {
        assert_eq!(
            data.len(),
            n * d,
            "MatrixView::f32: {} elements for {n} x {d}",
            data.len()
        );
        MatrixView {
            rows: Rows::F32(data),
            n,
            d,
        }
    }

    pub fn f64(data: &'a [f64], n: usize, d: usize) -> Self {
        assert_eq!(
            data.len(),
            n * d,
            "MatrixView::f64: {} elements for {n} x {d}",
            data.len()
        );
        MatrixView {
            rows: Rows::F64(data),
            n,
            d,
        }
    }

    /// Row `i` widened to f64 into `out`.
    pub fn row_into(&self, i: usize, out: &mut [f64]) {
        self.rows.copy_to_f64(i * self.d, (i + 1) * self.d, out)
    }

    /// The whole matrix widened to f64 (row-major).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.n * self.d];
        self.rows.copy_to_f64(0, self.n * self.d, &mut out);
        out
    }
}

impl Tensor {
    /// An owned tensor from raw little-endian bytes; checks that the sizes agree.
    pub fn from_bytes(dtype: DType, shape: Vec<usize>, bytes: Vec<u8>) -> Result<Self> {
        let want = shape.iter().product::<usize>() * dtype.size();
        if bytes.len() != want {
            return Err(Error::invalid(format!(
                "tensor of shape {shape:?} and type {} needs {want} bytes, got {}",
                dtype.name(),
                bytes.len()
            )));
        }
        Ok(Tensor {
            dtype,
            shape,
            storage: Storage::owned(&bytes),
        })
    }

    pub fn from_f32(shape: Vec<usize>, data: &[f32]) -> Self {
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        Tensor {
            dtype: DType::F32,
            shape,
            storage: Storage::owned(&bytes),
        }
    }

    pub fn from_f64(shape: Vec<usize>, data: &[f64]) -> Self {
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        Tensor {
            dtype: DType::F64,
            shape,
            storage: Storage::owned(&bytes),
        }
    }

    pub fn from_i64(shape: Vec<usize>, data: &[i64]) -> Self {
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        Tensor {
            dtype: DType::I64,
            shape,
            storage: Storage::owned(&bytes),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        self.storage.bytes()
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The elements as a float slice without copying, when the type is a float (f16, bf16,
    /// f32, f64: the half types are widened as they are read) and the bytes are suitably
    /// aligned (always the case for files written by numpy and safetensors that are
    /// memory-mapped or read into a fresh buffer). Little-endian machines only.
    pub fn float_rows(&self) -> Option<Rows<'_>> {
        let b = self.bytes();
        if cfg!(target_endian = "big") {
            return None;
        }
        match self.dtype {
            DType::F16 => bytemuck::try_cast_slice(b).ok().map(Rows::F16),
            DType::BF16 => bytemuck::try_cast_slice(b).ok().map(Rows::BF16),
            DType::F32 => bytemuck::try_cast_slice(b).ok().map(Rows::F32),
            DType::F64 => bytemuck::try_cast_slice(b).ok().map(Rows::F64),
            _ => None,
        }
    }

    /// A 2-D float tensor as a matrix view; `what` names the tensor in error messages.
    pub fn matrix(&self, what: &str) -> Result<MatrixView<'_>> {
        if self.shape.len() != 2 {
            return Err(Error::invalid(format!(
                "{what}: expected a 2-D array (n x d), got shape {:?}",
                self.shape
            )));
        }
        let rows = self.float_rows().ok_or_else(|| {
            Error::invalid(format!(
                "{what}: expected float values (float16, bfloat16, float32 or float64), got {}",
                self.dtype.name()
            ))
        })?;
        let (n, d) = (self.shape[0], self.shape[1]);
        if n.checked_mul(d) != Some(rows.len()) {
            return Err(Error::invalid(format!(
                "{what}: shape {n} x {d} does not match its {} values",
                rows.len()
            )));
        }
        Ok(MatrixView { rows, n, d })
    }

    /// A 1-D float tensor widened to f64; `what` names the tensor in error messages.
    pub fn vector_f64(&self, what: &str) -> Result<Vec<f64>> {
        if self.shape.len() != 1 {
            return Err(Error::invalid(format!(
                "{what}: expected a 1-D array, got shape {:?}",
                self.shape
            )));
        }
        let rows = self.float_rows().ok_or_else(|| {
            Error::invalid(format!(
                "{what}: expected float values (float16, bfloat16, float32 or float64), got {}",
                self.dtype.name()
            ))
        })?;
        let mut out = vec![0.0; rows.len()];
        rows.copy_to_f64(0, rows.len(), &mut out);
        Ok(out)
    }

    /// Integer values (any width, signed or not) as i64; `what` names the tensor in errors.
    pub fn integers(&self, what: &str) -> Result<Vec<i64>> {
        let b = self.bytes();
        let v: Vec<i64> = match self.dtype {
            DType::U8 => b.iter().map(|&x| x as i64).collect(),
            DType::I8 => b.iter().map(|&x| x as i8 as i64).collect(),
            DType::U16 => b
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]) as i64)
                .collect(),
            DType::I16 => b
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as i64)
                .collect(),
            DType::U32 => b
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()) as i64)
                .collect(),
            DType::I32 => b
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i64)
                .collect(),
            DType::I64 => b
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            DType::U64 => b
                .chunks_exact(8)
                .map(|c| {
                    let x = u64::from_le_bytes(c.try_into().unwrap());
                    i64::try_from(x).map_err(|_| {
                        Error::invalid(format!("{what}: value {x} does not fit in a label"))
                    })
                })
                .collect::<Result<_>>()?,
            other => {
                return Err(Error::invalid(format!(
                    "{what}: expected integer values, got {}",
                    other.name()
                )))
            }
        };
        Ok(v)
    }
}
