//! Readers and writers of the file formats nclab meets.
//!
//! * [`npy`]: NumPy `.npy` arrays (memory-mapped), and [`npz`] archives of them.
//! * [`safetensors`]: `.safetensors` files (memory-mapped), tensors by name plus metadata.
//! * [`idx`]: the IDX files of MNIST and Fashion-MNIST, raw or gzip-compressed.
//! * [`cifar`]: CIFAR-10/100 binary batches and the CIFAR "python version" pickles.
//! * [`pickle`]: the small subset of Python's pickle format that the CIFAR pickles use.
//!
//! Every error names the file at fault and says what was expected and what was found.
//! Every writer is atomic: it writes a temporary file beside the target and renames it, so a
//! failed write leaves nothing half-written.

pub mod cifar;
pub mod idx;
pub mod npy;
pub mod npz;
pub mod pickle;

pub mod safetensors;

use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Memory-maps the whole of `path` read-only (an empty file gives an empty map).
pub fn map_file(path: &Path) -> Result<Arc<memmap2::Mmap>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // SAFETY: the map is read-only; nclab does not modify its input files while reading them,
    // and a file truncated by another process underneath is outside the supported use.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
    Ok(Arc::new(map))
}

/// Writes `path` atomically: `fill` writes the content into a temporary file in the same
/// folder, which is flushed and renamed over `path` only if `fill` succeeded; on any error the
/// temporary file is removed and `path` is left as it was.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// `dir/.name.tmp-PID-N` beside `path`.
fn temp_path(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = format!(".{name}.tmp-{}-{n}", std::process::id());
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join(tmp),
        _ => PathBuf::from(tmp),
    }
}

/// A fresh empty folder under the system temp dir for one test.
#[cfg(test)]
pub(crate) fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nclab-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
