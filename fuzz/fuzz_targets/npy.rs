//! `.npy` files: any bytes given to `npy::read`, the tensor then used as the CLI uses it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = nclab_fuzz::scratch("x.npy", data);
    if let Ok(t) = nclab_core::io::npy::read(&p) {
        nclab_fuzz::use_tensor(&t);
    }
});
