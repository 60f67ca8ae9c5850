//! `.npz` archives: any bytes given to `npz::read`, every array then used as the CLI uses it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = nclab_fuzz::scratch("x.npz", data);
    if let Ok(arrays) = nclab_core::io::npz::read(&p) {
        arrays.values().for_each(nclab_fuzz::use_tensor);
    }
});
