//! CIFAR batches: the binary format (CIFAR-10 and CIFAR-100 records) and the pickled batches
//! and meta files, all from the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nclab_core::io::cifar::{self, Variant};

fuzz_target!(|data: &[u8]| {
    let p = nclab_fuzz::scratch("data_batch_1.bin", data);
    for v in [Variant::Cifar10, Variant::Cifar100] {
        if let Ok(b) = cifar::read_bin(&p, v) {
            assert_eq!(b.images.len(), b.labels.len() * cifar::IMAGE_BYTES);
        }
        if let Ok(b) = cifar::read_pickle(&p, v) {
            assert_eq!(b.images.len(), b.labels.len() * cifar::IMAGE_BYTES);
        }
    }
    let _ = cifar::read_meta_pickle(&p, "label_names");
    let _ = cifar::read_names_txt(&p);
});
