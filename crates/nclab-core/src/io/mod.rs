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
        return Err(not_a_regular_file(
            path,
            &meta,
            "nclab reads its inputs from regular files",
        ));
    }
    std::fs::File::open(path).map_err(|e| Error::io(path, e))
}

/// The error for `path`, which is a directory or a device, pipe or socket (`meta`) where a
/// regular file is needed; `why` says why.
fn not_a_regular_file(path: &Path, meta: &std::fs::Metadata, why: &str) -> Error {
    let what = if meta.is_dir() {
        "a directory"
    } else {
        "not a regular file (a device, pipe or socket)"
    };
    Error::io(
        path,
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}: {why}")),
    )
}

/// Reads a whole text input file (UTF-8), refusing anything but a regular file as
/// [`open_file`] does (a named pipe would block the read for ever).
pub fn read_text(path: &Path) -> Result<String> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut open_file(path)?, &mut text)
        .map_err(|e| Error::io(path, e))?;
    Ok(text)
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
    let (target, existing) = output_target(path)?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let result = (|| -> std::io::Result<()> {
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // A new file: 0o666 less the umask, as any program's (tempfile's own is 0o600).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        // tempfile's errors name its own temporary file; the user needs the folder.
        if !dir.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "the folder {} does not exist; create it first",
                    dir.display()
                ),
            ));
        }
        let mut tmp = builder.tempfile_in(&dir).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot create a file in the folder {}: {}",
                    dir.display(),
                    e.kind()
                ),
            )
        })?;
        // Replacing a file: its permissions, whole (the umask applies only at creation).
        if let Some(permissions) = existing {
            tmp.as_file().set_permissions(permissions)?;
        }
        write(&mut tmp)?;
        tmp.as_file().sync_all()?;
        // Dropping a temporary file that was not persisted removes it.
        tmp.persist(&target).map_err(|e| e.error)?;
        sync_dir(&dir)
    })();
    result.map_err(|e| Error::io(path, e))
}

/// Where a write of `path` goes, and the permissions of the file it replaces (`None`: a new
/// file): `path` itself, or the file a symbolic link points to (so the link stays a link). A
/// path that exists but is not a regular file (a directory, device, pipe or socket) is
/// refused, since renaming a new file over it would replace it.
fn output_target(path: &Path) -> Result<(PathBuf, Option<std::fs::Permissions>)> {
    const WHY: &str = "nclab writes its outputs to regular files, which it replaces whole; give \
                       a file's path (or leave the output path out to write to standard output)";
    // What the kernel reaches through every link first: `/dev/stdout` is a link to
    // `/proc/self/fd/1`, whose target (`pipe:[...]`) is no path that the loop below could
    // follow, and would be taken for a new file in /proc/self/fd.
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return Err(not_a_regular_file(path, &meta, WHY));
        }
    }
    let mut target = path.to_path_buf();
    // As many links as Linux follows (MAXSYMLINKS) before it reports a loop.
    for _ in 0..=40 {
        let meta = match std::fs::symlink_metadata(&target) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((target, None)),
            Err(e) => return Err(Error::io(path, e)),
        };
        if meta.file_type().is_symlink() {
            let link = std::fs::read_link(&target).map_err(|e| Error::io(path, e))?;
            target = match target.parent() {
                Some(dir) => dir.join(link),
                None => link,
            };
        } else if meta.is_file() {
            return Ok((target, Some(meta.permissions())));
        } else {
            return Err(not_a_regular_file(path, &meta, WHY));
        }
    }
    Err(Error::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "too many levels of symbolic links",
        ),
    ))
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
        nclab_testkit::fifo(&fifo);
        let e = map_file(&fifo).unwrap_err().to_string();
        assert!(
            e.contains("pipe.npy") && e.contains("not a regular file"),
            "{e}"
        );
        let empty = dir.join("empty.bin");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(map_file(&empty).unwrap().len(), 0);
    }

    /// A write into a folder that does not exist names the folder (tempfile's error named its
    /// own temporary file, `.x.json.agiNRg.tmp`).
    #[test]
    fn a_missing_folder_is_named() {
        let dir = nclab_testkit::scratch("write-missing-folder");
        let e = write_atomic_bytes(&dir.join("no/such/x.json"), b"{}")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no/such/x.json: the folder") && e.contains("no/such does not exist"),
            "{e}"
        );
        assert!(!e.contains(".tmp"), "{e}");
    }

    /// An atomic write replaces a regular file whole, keeping its permissions; gives a new
    /// file the permissions any program's new file gets (`0o666` less the umask, like
    /// `std::fs::write`); writes through a symbolic link to its file, leaving the link; and
    /// refuses a directory, a named pipe or a device, leaving them as they were.
    #[cfg(unix)]
    #[test]
    fn atomic_writes_keep_links_permissions_and_special_files() {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let dir = nclab_testkit::scratch("write-atomic");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // A new file: as std::fs::write makes one (not tempfile's 0600).
        let reference = dir.join("reference.txt");
        std::fs::write(&reference, b"x").unwrap();
        let new = dir.join("new.txt");
        write_atomic_bytes(&new, b"new").unwrap();
        assert_eq!(mode(&new), mode(&reference));
        // An existing file keeps its permissions.
        // (0o666: bits that the usual umask 022 would take from a new file.)
        std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o666)).unwrap();
        write_atomic_bytes(&new, b"again").unwrap();
        assert_eq!(
            (mode(&new), std::fs::read(&new).unwrap()),
            (0o666, b"again".to_vec())
        );
        // Through a relative symbolic link: the link stays, its file changes.
        let link = dir.join("link.txt");
        std::os::unix::fs::symlink("new.txt", &link).unwrap();
        write_atomic_bytes(&link, b"linked").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&new).unwrap(), b"linked");
        // A dangling link: its file is created.
        let dangling = dir.join("dangling.txt");
        std::os::unix::fs::symlink("made.txt", &dangling).unwrap();
        write_atomic_bytes(&dangling, b"made").unwrap();
        assert_eq!(std::fs::read(dir.join("made.txt")).unwrap(), b"made");
        // A loop of links is refused.
        std::os::unix::fs::symlink("loop-b", dir.join("loop-a")).unwrap();
        std::os::unix::fs::symlink("loop-a", dir.join("loop-b")).unwrap();
        let e = write_atomic_bytes(&dir.join("loop-a"), b"x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("too many levels of symbolic links"), "{e}");
        // A named pipe and a directory are refused and left as they were.
        let fifo = dir.join("pipe");
        nclab_testkit::fifo(&fifo);
        let e = write_atomic_bytes(&fifo, b"x").unwrap_err().to_string();
        assert!(e.contains("pipe: not a regular file"), "{e}");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
        let e = write_atomic_bytes(&dir, b"x").unwrap_err().to_string();
        assert!(e.contains("a directory"), "{e}");
        // Standard output into a pipe (`-o /dev/stdout | ...`): /proc/self/fd/N links to
        // `pipe:[...]`, no path; it was taken for a new file in /proc/self/fd.
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let (_reader, writer) = std::io::pipe().unwrap();
            let fd = PathBuf::from(format!("/proc/self/fd/{}", writer.as_raw_fd()));
            let e = write_atomic_bytes(&fd, b"x").unwrap_err().to_string();
            assert!(
                e.contains("not a regular file") && e.contains("to write to standard output"),
                "{e}"
            );
        }
        // Nothing else was left in the folder (no temporary files).
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "dangling.txt",
                "link.txt",
                "loop-a",
                "loop-b",
                "made.txt",
                "new.txt",
                "pipe",
                "reference.txt"
            ]
        );
    }
}
