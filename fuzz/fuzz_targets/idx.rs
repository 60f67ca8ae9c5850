//! IDX files (MNIST's format), raw or gzip: the generic reader, the image and label readers,
//! and the bounded whole-file reader.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nclab_core::io::idx;

fuzz_target!(|data: &[u8]| {
    let p = nclab_fuzz::scratch("x-idx3-ubyte", data);
    if let Ok(a) = idx::read(&p) {
        assert_eq!(
            Some(a.data.len()),
            nclab_core::tensor::checked_numel(&a.dims).map(|n| n * a.dtype.size())
        );
    }
    if let Ok((n, h, w, pixels)) = idx::read_images(&p) {
        assert_eq!(pixels.len(), n * h * w);
    }
    if let Ok(labels) = idx::read_class_labels(&p, 10) {
        assert!(labels.iter().all(|&y| y < 10));
    }
    let _ = idx::read_labels(&p);
    let _ = idx::read_maybe_gz(&p);
});
