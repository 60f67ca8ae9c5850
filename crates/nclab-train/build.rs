//! Link-time settings for libtorch.
//!
//! * rustc links with `--as-needed`, which silently drops `libtorch_cuda.so` because no symbol
//!   of it is referenced directly; without it CUDA is never seen at run time. We force it in.
//! * An rpath to libtorch's `lib/` folder, so that the binary and the tests run without
//!   `LD_LIBRARY_PATH`.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    let lib = PathBuf::from(&lib);
    let lib = lib.canonicalize().unwrap_or(lib);
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        // Only the targets that train: `nclab` itself never loads libtorch.
        let keep_cuda = "-Wl,--no-as-needed,-ltorch_cuda,--as-needed";
        println!("cargo:rustc-link-arg-bin=nclab-train={keep_cuda}");
        println!("cargo:rustc-link-arg-examples={keep_cuda}");
    }
}
