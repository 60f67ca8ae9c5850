//! A typed n-dimensional array as read from `.npy` or `.safetensors` files: element type,
//! shape (C order) and the raw little-endian bytes, owned or memory-mapped.
//!
//! Readers ([`crate::io`]) produce [`Tensor`]s without converting their element type, so a
//! 2 GB f32 features file is mapped, not copied into f64; the metrics read the rows as they are.

use crate::{Error, Result};

/// `prod(shape)`, or `None` when the shape cannot be addressed: when the product of its
/// non-zero dimensions exceeds `isize::MAX` (NumPy's and ndarray's limit, which holds for
/// empty arrays too, whatever the order of the dimensions). Every size computed from a file
/// header goes through this (or [`DType::byte_len`]), never through a plain product.
pub fn checked_numel(shape: &[usize]) -> Option<usize> {
    sized_product(shape, 1)
}

/// `size x prod(shape)`, or `None` when `size` times the product of the non-zero dimensions
/// exceeds `isize::MAX` (an empty shape is judged by the dimensions it would have to address).
fn sized_product(shape: &[usize], size: usize) -> Option<usize> {
    let extent = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(size, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize)?;
    Some(if shape.contains(&0) { 0 } else { extent })
}

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

    /// Bytes of an array of this type and shape: `prod(shape) * size`, or `None` when the shape
    /// cannot be addressed ([`checked_numel`]'s rule with the element size; a corrupt or hostile
    /// header, checked before anything is allocated).
    pub fn byte_len(self, shape: &[usize]) -> Option<usize> {
        sized_product(shape, self.size())
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

    /// The bytes (always inside the owned buffer or the map: checked when built).
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

/// A named-type n-dimensional array in C order, little-endian. Its fields are private: every
/// constructor checks that the storage holds exactly `prod(shape) * size(dtype)` bytes, so a
/// tensor's shape always describes its bytes.
#[derive(Debug)]
pub struct Tensor {
    dtype: DType,
    shape: Vec<usize>,
    storage: Storage,
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

/// A borrowed row-major `n x d` matrix of f32 or f64. Outside nclab-core a view is made only
/// by a constructor that checks `n * d` against the number of values (`#[non_exhaustive]`
/// forbids a struct literal); its fields are public to be read, and a caller that changes
/// `n` or `d` afterwards breaks that check.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct MatrixView<'a> {
    pub rows: Rows<'a>,
    pub n: usize,
    pub d: usize,
}

impl<'a> MatrixView<'a> {
    /// A view of `rows` as an `n x d` matrix, checking `n * d` (for overflow too) against the
    /// number of values. Use this wherever `n` and `d` come from input (a file, a header, a
    /// command line).
    pub fn try_new(rows: Rows<'a>, n: usize, d: usize) -> Result<Self> {
        match n.checked_mul(d) {
            Some(nd) if nd == rows.len() => Ok(MatrixView { rows, n, d }),
            Some(nd) => Err(Error::invalid(format!(
                "a {n} x {d} matrix needs {nd} values, found {}",
                rows.len()
            ))),
            None => Err(Error::invalid(format!(
                "a {n} x {d} matrix has more values than memory can address (found {})",
                rows.len()
            ))),
        }
    }

    /// An `n x d` view of f32 values. Panics when `data.len() != n * d`: for internal use and
    /// tests, where the sizes are the program's own; sizes read from input go through
    /// [`MatrixView::try_new`].
    pub fn f32(data: &'a [f32], n: usize, d: usize) -> Self {
        assert!(
            n.checked_mul(d) == Some(data.len()),
            "MatrixView::f32: {} elements for {n} x {d}",
            data.len()
        );
        MatrixView {
            rows: Rows::F32(data),
            n,
            d,
        }
    }

    /// An `n x d` view of f64 values. Panics when `data.len() != n * d`: for internal use and
    /// tests, where the sizes are the program's own; sizes read from input go through
    /// [`MatrixView::try_new`].
    pub fn f64(data: &'a [f64], n: usize, d: usize) -> Self {
        assert!(
            n.checked_mul(d) == Some(data.len()),
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
    /// A tensor of `dtype` and `shape` over `storage`; an error (naming the shape, the type
    /// and both sizes) unless the storage holds exactly `prod(shape) * size(dtype)` bytes.
    pub fn new(dtype: DType, shape: Vec<usize>, storage: Storage) -> Result<Self> {
        let got = storage.bytes().len();
        let Some(want) = dtype.byte_len(&shape) else {
            return Err(Error::invalid(format!(
                "tensor of shape {shape:?} and type {}: the size overflows (got {got} bytes)",
                dtype.name()
            )));
        };
        if got != want {
            return Err(Error::invalid(format!(
                "tensor of shape {shape:?} and type {} needs {want} bytes, got {got}",
                dtype.name()
            )));
        }
        Ok(Tensor {
            dtype,
            shape,
            storage,
        })
    }

    /// An owned tensor from raw little-endian bytes; checks that the sizes agree.
    pub fn from_bytes(dtype: DType, shape: Vec<usize>, bytes: Vec<u8>) -> Result<Self> {
        Tensor::new(dtype, shape, Storage::owned(&bytes))
    }

    /// An f32 tensor of `shape` holding `data`; an error unless `data` has `prod(shape)`
    /// values.
    pub fn from_f32(shape: Vec<usize>, data: &[f32]) -> Result<Self> {
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        Tensor::new(DType::F32, shape, Storage::owned(&bytes))
    }

    /// An f64 tensor of `shape` holding `data`; an error unless `data` has `prod(shape)`
    /// values.
    pub fn from_f64(shape: Vec<usize>, data: &[f64]) -> Result<Self> {
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        Tensor::new(DType::F64, shape, Storage::owned(&bytes))
    }

    /// An i64 tensor of `shape` holding `data`; an error unless `data` has `prod(shape)`
    /// values.
    pub fn from_i64(shape: Vec<usize>, data: &[i64]) -> Result<Self> {
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        Tensor::new(DType::I64, shape, Storage::owned(&bytes))
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The dimensions, outermost first (C order).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The bytes behind the tensor (owned or memory-mapped).
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The elements' bytes, little-endian, C order.
    pub fn bytes(&self) -> &[u8] {
        self.storage.bytes()
    }

    /// The number of elements, `prod(shape)` (checked to fit when the tensor was built).
    pub fn numel(&self) -> usize {
        self.bytes().len() / self.dtype.size()
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

    /// [`Tensor::float_rows`], or an error naming `what` and the dtype found.
    fn checked_float_rows(&self, what: &str) -> Result<Rows<'_>> {
        self.float_rows().ok_or_else(|| {
            Error::invalid(format!(
                "{what}: expected float values (float16, bfloat16, float32 or float64), got {}",
                self.dtype.name()
            ))
        })
    }

    /// A 2-D float tensor as a matrix view; `what` names the tensor in error messages.
    pub fn matrix(&self, what: &str) -> Result<MatrixView<'_>> {
        if self.shape.len() != 2 {
            return Err(Error::invalid(format!(
                "{what}: expected a 2-D array (n x d), got shape {:?}",
                self.shape
            )));
        }
        let rows = self.checked_float_rows(what)?;
        let (n, d) = (self.shape[0], self.shape[1]);
        MatrixView::try_new(rows, n, d).map_err(|e| Error::invalid(format!("{what}: {e}")))
    }

    /// A 1-D float tensor widened to f64; `what` names the tensor in error messages.
    pub fn vector_f64(&self, what: &str) -> Result<Vec<f64>> {
        if self.shape.len() != 1 {
            return Err(Error::invalid(format!(
                "{what}: expected a 1-D array, got shape {:?}",
                self.shape
            )));
        }
        let rows = self.checked_float_rows(what)?;
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
                    "{what}: expected integer values (class indices), got {}; save the labels \
                     as integers (numpy: labels.astype(numpy.int64))",
                    other.name()
                )))
            }
        };
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_new_checks_the_size_and_overflow() {
        let v = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let m = MatrixView::try_new(Rows::F32(&v), 2, 3).unwrap();
        assert_eq!((m.n, m.d), (2, 3));
        assert_eq!(m.to_f64_vec(), vec![1., 2., 3., 4., 5., 6.]);
        let e = MatrixView::try_new(Rows::F32(&v), 4, 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a 4 x 2 matrix needs 8 values, found 6"), "{e}");
        // n * d wraps around: 2^33 * (2^31 + 3) = 6 * 2^32 + ... mod 2^64 is not 6, but a
        // product like 2^32 * 2^32 is 0 mod 2^64 and would match an empty slice.
        let e = MatrixView::try_new(Rows::F64(&[]), 1 << 32, 1 << 32)
            .unwrap_err()
            .to_string();
        assert!(e.contains("more values than memory can address"), "{e}");
        // The panicking constructors refuse the wrapped product too.
        let r = std::panic::catch_unwind(|| MatrixView::f64(&[], 1 << 32, 1 << 32));
        assert!(r.is_err());
    }

    #[test]
    fn sizes_from_shapes_are_checked() {
        assert_eq!(checked_numel(&[2, 3, 4]), Some(24));
        assert_eq!(checked_numel(&[]), Some(1));
        assert_eq!(checked_numel(&[1 << 32, (1 << 32) + 1]), None);
        assert_eq!(DType::F32.byte_len(&[1 << 31, 1 << 31]), None);
        assert_eq!(DType::F32.byte_len(&[5, 0]), Some(0));
        // An empty shape is judged by its non-zero dimensions, in any order: NumPy could not
        // address [0, 2^62] float32 values (its strides overflow) any more than [2^62, 0].
        assert_eq!(DType::F32.byte_len(&[0, 1 << 62]), None);
        assert_eq!(DType::F32.byte_len(&[1 << 62, 0]), None);
        assert_eq!(checked_numel(&[0, 1 << 63]), None);
        assert_eq!(DType::U8.byte_len(&[0, 1 << 62]), Some(0));
        assert_eq!(DType::F64.byte_len(&[3, 1 << 59]), None);
        assert_eq!(DType::F64.byte_len(&[1, 1 << 59]), Some(1 << 62));
        // A shape whose product wraps to a small number is refused, not taken at face value.
        let e = Tensor::from_bytes(DType::U8, vec![1 << 32, 1 << 32], vec![])
            .unwrap_err()
            .to_string();
        assert!(e.contains("overflows"), "{e}");
        let e = Tensor::from_bytes(DType::F32, vec![2], vec![0; 4])
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs 8 bytes, got 4"), "{e}");
    }

    /// Every constructor checks the storage against the shape: a tensor can no longer claim
    /// more elements than it holds (before, `Tensor { shape, .. }` was public and the
    /// typed constructors did not look at the length).
    #[test]
    fn constructors_refuse_a_shape_that_does_not_match_the_bytes() {
        let e = Tensor::from_f64(vec![5, 5], &[1.0])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("shape [5, 5] and type F64 needs 200 bytes, got 8"),
            "{e}"
        );
        let e = Tensor::from_f32(vec![3], &[1.0; 4])
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs 12 bytes, got 16"), "{e}");
        let e = Tensor::from_i64(vec![1 << 62, 4], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("the size overflows"), "{e}");
        let e = Tensor::new(DType::U16, vec![2], Storage::owned(&[1, 2, 3]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs 4 bytes, got 3"), "{e}");
        let t = Tensor::new(DType::U16, vec![2], Storage::owned(&[1, 0, 2, 0])).unwrap();
        assert_eq!((t.dtype(), t.shape(), t.numel()), (DType::U16, &[2][..], 2));
        assert_eq!(t.integers("x").unwrap(), vec![1, 2]);
        let t = Tensor::from_f64(vec![2, 0], &[]).unwrap();
        assert_eq!((t.numel(), t.bytes().len()), (0, 0));
    }

    /// A mapped window must lie inside the map, so `bytes` never reads past it.
    #[test]
    fn mapped_storage_stays_inside_the_map() {
        let dir = nclab_testkit::scratch("tensor-mapped");
        let p = dir.join("eight.bin");
        std::fs::write(&p, [7u8; 8]).unwrap();
        let map = crate::io::map_file(&p).unwrap();
        let ok = Storage::mapped(map.clone(), 2, 6).unwrap();
        assert_eq!((ok.bytes(), ok.map_offset()), (&[7u8; 6][..], Some(2)));
        for (offset, len) in [(2, 7), (9, 0), (usize::MAX, 2)] {
            let e = Storage::mapped(map.clone(), offset, len)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("do not lie inside the 8 bytes of the file"),
                "{e}"
            );
        }
    }
}
