//! Signals of a sweep and of its per-run wrappers, so that one Ctrl-C is one graceful stop
//! and every run is started exactly once (issue 10, item 4).
//!
//! The local sweep starts each wrapper in its own process group, so a terminal's Ctrl-C
//! (SIGINT to the foreground group) reaches the sweep alone; the sweep forwards one SIGINT
//! to each wrapper, which forwards one to its run. A second Ctrl-C stops everything at once
//! (SIGKILL to each wrapper's group: the wrapper and its run). SIGTERM (Slurm's preemption
//! and time limit, delivered to every process of the job) is forwarded as SIGTERM, which a
//! run may receive twice without harm.
//!
//! Signals are taken by a thread blocked in `sigwait` (safe code: no handler runs in
//! signal context); the mask is set before any other thread starts, and runs get the
//! default mask back in [`super::exec::guard_exec`].

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use nix::sys::signal::{SigSet, Signal};
use nix::unistd::Pid;

/// Which process is handling signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `dassl run --sweep`: forwards to its wrappers; a second signal kills them all.
    Sweep,
    /// A per-run wrapper or Slurm task: forwards to its run; a second SIGINT leaves at once
    /// (its run dies with it).
    Wrapper,
    /// `dassl train`: the training loop stops before its next batch ([`stop_requested`]);
    /// a second SIGINT leaves at once.
    Run,
}

/// The first stop signal received (0 before any).
static FIRST: AtomicI32 = AtomicI32::new(0);
/// Process groups of the wrappers a sweep started.
static GROUPS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn stop_set() -> SigSet {
    let mut s = SigSet::empty();
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        s.add(sig);
    }
    s
}

/// The signal to forward to a child when a stop was requested: SIGTERM after a SIGTERM
/// (preemption: the run checkpoints and leaves), SIGINT otherwise.
pub fn forward_signal() -> Signal {
    match Signal::try_from(FIRST.load(Ordering::SeqCst)) {
        Ok(Signal::SIGTERM) => Signal::SIGTERM,
        _ => Signal::SIGINT,
    }
}

/// The first stop signal this process received, once [`install`]ed.
pub fn stop_requested() -> Option<Signal> {
    match FIRST.load(Ordering::SeqCst) {
        0 => None,
        s => Signal::try_from(s).ok(),
    }
}

/// Whether the stop came from SIGTERM (Slurm preemption or time limit).
pub fn terminated() -> bool {
    FIRST.load(Ordering::SeqCst) == Signal::SIGTERM as i32
}

/// Remembers a child's process group (a sweep's wrapper, a wrapper's run), so a second
/// Ctrl-C can stop it at once.
pub fn register_group(pid: u32) {
    GROUPS.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
}

pub fn unregister_group(pid: u32) {
    GROUPS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|p| *p != pid);
}

fn signal_groups(sig: Signal) {
    for pid in GROUPS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        if let Ok(p) = i32::try_from(*pid) {
            let _ = nix::sys::signal::killpg(Pid::from_raw(p), sig);
        }
    }
}

/// Whether a registered group still has a process.
fn any_group_alive() -> bool {
    GROUPS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(|p| i32::try_from(*p).ok())
        .any(|p| nix::sys::signal::killpg(Pid::from_raw(p), None).is_ok())
}

/// Sends `sig` to `pid`'s process group when it leads one (wrappers and runs do), else
/// to `pid` alone.
pub fn signal_child(pid: u32, sig: Signal) {
    let Ok(p) = i32::try_from(pid) else { return };
    if nix::sys::signal::killpg(Pid::from_raw(p), sig).is_err() {
        let _ = nix::sys::signal::kill(Pid::from_raw(p), sig);
    }
}

/// Installs the process's signal thread once (call it from the main thread before any
/// other thread starts) and returns the stop flag it sets.
pub fn install(role: Role) -> Arc<AtomicBool> {
    static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    STOP.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let set = stop_set();
        if set.thread_block().is_err() {
            return flag;
        }
        let f = flag.clone();
        std::thread::spawn(move || loop {
            let Ok(sig) = set.wait() else { return };
            let first = FIRST
                .compare_exchange(0, sig as i32, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok();
            f.store(true, Ordering::SeqCst);
            if first {
                continue;
            }
            match role {
                Role::Sweep => {
                    // The wrappers' second SIGINT: each kills its run; then whatever is
                    // left of them.
                    eprintln!("interrupted again: stopping every run now");
                    signal_groups(Signal::SIGINT);
                    let t0 = std::time::Instant::now();
                    while any_group_alive() && t0.elapsed() < std::time::Duration::from_secs(2) {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    signal_groups(Signal::SIGKILL);
                    std::process::exit(130);
                }
                // Repeated SIGTERMs are one request (Slurm may send several).
                Role::Wrapper if sig == Signal::SIGTERM => {}
                Role::Wrapper => {
                    eprintln!("interrupted again: stopping the run now");
                    signal_groups(Signal::SIGKILL);
                    std::process::exit(130);
                }
                Role::Run if sig == Signal::SIGTERM => {}
                Role::Run => {
                    eprintln!("interrupted again: stopping now");
                    std::process::exit(130);
                }
            }
        });
        flag
    })
    .clone()
}

/// Gives a process about to become a run the default signal mask back.
pub fn unblock_for_child() {
    let _ = stop_set().thread_unblock();
}
