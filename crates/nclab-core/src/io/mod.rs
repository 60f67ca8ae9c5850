//! Readers and writers of the file formats nclab meets.
//!
//! * [`npy`]: NumPy `.npy` arrays (memory-mapped), and [`npz`] archives of them.
//! * [`safetensors`]: `.safetensors` files (memory-mapped), tensors by name plus metadata.
//! * [`idx`]: the IDX files of MNIST and Fashion-MNIST, raw or gzip-compressed.
//! * [`cifar`]: CIFAR-10/100 binary batches and the CIFAR "python version" pickles.
//! * [`pickle`]: the small subset of Python's pickle format that the CIFAR pickles use.
//!
//! Every error names the file at fault and says what was expected and what was found.
//! Every writer is atomic ([`write_atomic`]): it writes a temporary file beside the target and
//! renames it, so a failed write leaves nothing half-written.

pub mod cifar;
pub mod idx;
pub mod npy;
pub mod npz;
pub mod pickle;

pub mod safetensors;

#[cfg(test)]
mod fuzz;

use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Opens an input file for reading, refusing anything but a regular file (a directory, a
/// named pipe, a device) up front: opening a pipe would wait for a writer for ever.
pub fn open_file(path: &Path) -> Result<std::fs::File> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a pipe, socket or device)"
        };
        return Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{what}: nclab reads its inputs from regular files"),
            ),
        ));
    }
    std::fs::File::open(path).map_err(|e| Error::io(path, e))
}

/// Memory-maps the whole of `path` read-only (an empty file gives an empty map).
pub fn map_file(path: &Path) -> Result<Arc<memmap2::Mmap>> {
    let file = open_file(path)?;
    // SAFETY: the map is read-only; nclab does not modify its input files while reading them,
    // and a file truncated by another process underneath is outside the supported use.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
    Ok(Arc::new(map))
}

/// Writes `path` atomically: `fill` writes the content into a temporary file in the same
/// folder (a name of its own, so that concurrent writers never share one), which is flushed
/// to disk and renamed over `path` only if `fill` succeeded, after which the folder itself is
/// flushed, so that the new name survives a crash. On any error the temporary file is removed
/// and `path` is left as it was: a reader sees the old file or the whole new one, never a
/// part. The one atomic writer of nclab; [`write_atomic_bytes`] and [`write_atomic_with`]
/// are its other two entrances.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    write_atomic_with(path, |tmp| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        fill(&mut w)?;
        w.flush()
    })
}

/// [`write_atomic`] of a byte string.
pub fn write_atomic_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

/// [`write_atomic`] for writers that want the temporary file (or its path, for a library
/// that opens the file itself) rather than a stream.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut tempfile::NamedTempFile) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let result = (|| -> std::io::Result<()> {
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)?;
        write(&mut tmp)?;
        tmp.as_file().sync_all()?;
        // Dropping a temporary file that was not persisted removes it.
        tmp.persist(path).map_err(|e| e.error)?;
        sync_dir(&dir)
    })();
    result.map_err(|e| Error::io(path, e))
}

/// Flushes a folder's entries (a rename into it) to disk; nothing to do off Unix.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory and a named pipe are refused by name at once (opening a pipe would wait
    /// for a writer for ever); a regular file, even an empty one, is read.
    #[test]
    fn only_regular_files_are_opened() {
        let dir = nclab_testkit::scratch("open-file");
        let e = map_file(&dir).unwrap_err().to_string();
        assert!(
            e.contains(&dir.display().to_string()) && e.contains("a directory"),
            "{e}"
        );
        let fifo = dir.join("pipe.npy");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let e = map_file(&fifo).unwrap_err().to_string();
        assert!(
            e.contains("pipe.npy") && e.contains("not a regular file"),
            "{e}"
        );
        let empty = dir.join("empty.bin");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(map_file(&empty).unwrap().len(), 0);
    }
}
