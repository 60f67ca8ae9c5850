//! glibc malloc settings for training processes.
//!
//! libtorch's CPU tensors come from `malloc`. glibc serves blocks above `M_MMAP_THRESHOLD`
//! (128 KiB at start, raised dynamically as such blocks are freed) with fresh `mmap`s, and
//! returns heap memory to the system above `M_TRIM_THRESHOLD`. A training step allocates and
//! frees the same activation-sized blocks again and again, so with the defaults many of them
//! come back as new pages and every page is faulted in and zeroed again: measured on resnet18
//! width 16 at batch 128, 1 thread, 349k minor page faults over 6 steps and ~550 ms CPU per step
//! by default against 153k faults and ~440 ms with the settings below (scripts/bench-train.sh).

/// Keeps freed blocks in the heap for reuse: `M_MMAP_THRESHOLD` = 32 MiB (glibc's maximum;
/// only larger blocks are `mmap`ed), `M_TRIM_THRESHOLD` = 2 GiB (the heap is not shrunk after
/// each step), `M_TOP_PAD` = 64 MiB (the heap grows in large steps). The price: the process
/// keeps its peak heap size. Returns whether glibc accepted all three (always false off
/// glibc Linux, where it does nothing). Call it once, before building the model.
pub fn tune_malloc_for_training() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use libc::{mallopt, M_MMAP_THRESHOLD, M_TOP_PAD, M_TRIM_THRESHOLD};
        // SAFETY: mallopt only changes allocator parameters; any value is safe to pass.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1
                && mallopt(M_TRIM_THRESHOLD, i32::MAX) == 1
                && mallopt(M_TOP_PAD, 64 << 20) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
