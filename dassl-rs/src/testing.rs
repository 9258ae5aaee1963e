//! For tests only: torch's default CPU generator is one per process, and `cargo test` runs
//! tests on parallel threads. A test that seeds it and expects a sequence (a bit-exact
//! comparison with Python, a tolerance checked on fixed draws), or that draws from it at
//! all, holds [`torch_rng`] for its duration, so that no other test's draws interleave.
//! Library code never takes it (a test holding it calls library code that draws).

use std::sync::{Mutex, MutexGuard};

static TORCH_RNG: Mutex<()> = Mutex::new(());

/// The lock on torch's global generator; a test that panicked while holding it does not
/// poison it for the others.
pub fn torch_rng() -> MutexGuard<'static, ()> {
    TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner())
}
