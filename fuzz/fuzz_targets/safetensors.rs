//! `.safetensors` files: any bytes given to `safetensors::read`, every tensor then used as the
//! CLI uses it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = nclab_fuzz::scratch("x.safetensors", data);
    if let Ok(f) = nclab_core::io::safetensors::read(&p) {
        f.tensors.values().for_each(nclab_fuzz::use_tensor);
    }
});
