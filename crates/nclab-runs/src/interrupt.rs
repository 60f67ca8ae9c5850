//! Stopping on request: Ctrl-C (SIGINT) or a termination signal (SIGTERM, and Slurm's
//! warning SIGUSR1) set a flag that long work polls, so that it can stop at a point where
//! what it leaves behind is whole (the trainer keeps its last complete epoch and says how to
//! resume; a sweep passes the signal on to its runs and waits for them). A second Ctrl-C
//! ends the process at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

static SIGNAL: OnceLock<Arc<AtomicUsize>> = OnceLock::new();

/// Installs the handlers (once per process; later calls do nothing). Off Unix, only Ctrl-C's
/// default behaviour applies.
pub fn install() {
    SIGNAL.get_or_init(|| {
        let flag = Arc::new(AtomicUsize::new(0));
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
            let set = Arc::new(std::sync::atomic::AtomicBool::new(false));
            for sig in [SIGINT, SIGTERM, SIGUSR1] {
                // A second signal while the first is being handled ends the process.
                let _ =
                    signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, set.clone());
                let _ = signal_hook::flag::register(sig, set.clone());
                let _ = signal_hook::flag::register_usize(sig, flag.clone(), sig as usize);
            }
        }
        flag
    });
}

/// The signal that asked this process to stop, if one did.
pub fn requested() -> Option<i32> {
    let v = SIGNAL.get()?.load(Ordering::Relaxed);
    (v != 0).then_some(v as i32)
}

/// The name of a signal number, for messages.
pub fn name(signal: i32) -> &'static str {
    match signal {
        2 => "SIGINT (Ctrl-C)",
        15 => "SIGTERM",
        10 => "SIGUSR1",
        _ => "a signal",
    }
}
