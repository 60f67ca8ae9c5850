//! Pickles: any bytes given to the pickle machine, the value then walked the way the CIFAR
//! reader walks it (dict keys, texts, byte strings, int lists, NumPy arrays).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nclab_core::io::pickle;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = pickle::parse(data) {
        let _ = v.keys();
        let _ = v.kind();
        let _ = v.as_text();
        let _ = v.as_bytes();
        let _ = v.as_ints();
        let _ = v.ndarray();
        for key in [
            "data",
            "labels",
            "fine_labels",
            "coarse_labels",
            "label_names",
        ] {
            if let Some(x) = v.get(key) {
                let _ = x.as_ints();
                let _ = x.ndarray();
                let _ = x.as_text();
            }
        }
    }
});
