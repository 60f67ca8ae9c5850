//! Helpers shared by the fuzz targets: the readers take paths, so each input is written to a
//! scratch file first (in memory, under /dev/shm when it exists), and whatever a reader
//! returns is used the way nclab uses it, so that a panic further on is found too.

use nclab_core::tensor::Tensor;
use std::path::PathBuf;

/// Writes `data` to a scratch file named `name` (one folder per process) and returns its
/// path. Panics only when the scratch folder cannot be written, which is not a finding.
pub fn scratch(name: &str, data: &[u8]) -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("nclab-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let p = dir.join(name);
    std::fs::write(&p, data).expect("scratch file");
    p
}

/// Reads a tensor every way the metrics and the CLI do: as a matrix, a vector and labels.
/// Errors are fine; only a panic is a finding.
pub fn use_tensor(t: &Tensor) {
    if let Ok(m) = t.matrix("x") {
        if m.n.saturating_mul(m.d) <= 1 << 16 {
            let v = m.to_f64_vec();
            assert_eq!(v.len(), m.n * m.d);
        }
    }
    let _ = t.vector_f64("x");
    if let Ok(v) = t.integers("x") {
        let _ = nclab_core::labels::to_classes(&v, 10, "x");
    }
}
