//! The local executor: a pool of device slots, one process per run, dependencies between
//! runs (evaluations wait for the model they load), skip, retry, Ctrl-C.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::exec::{self, ExecCtx, Outcome, EXIT_BUSY, EXIT_INTERRUPTED, EXIT_TERMINATED};
use super::manifest::{is_complete, read_state, Manifest, RunLock};
use super::progress::{current_epoch, Progress};
use crate::errors::SweepError;

/// The devices runs are spread over: the GPUs of CUDA_VISIBLE_DEVICES, else the
/// `visible` count, else the CPU; each device takes `jobs_per_device` runs at a time.
pub fn device_slots(
    cuda_visible_devices: Option<&str>,
    visible: usize,
    jobs_per_device: usize,
) -> Vec<String> {
    let gpus: Vec<String> = match cuda_visible_devices {
        Some(v) => v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "-1")
            .map(str::to_string)
            .collect(),
        None => (0..visible).map(|i| i.to_string()).collect(),
    };
    let devices = if gpus.is_empty() {
        vec!["cpu".to_string()]
    } else {
        gpus
    };
    let per = jobs_per_device.max(1);
    // Round-robin over devices, so the first runs land on different GPUs.
    (0..per).flat_map(|_| devices.iter().cloned()).collect()
}

/// How a run is started.
#[derive(Debug, Clone)]
pub enum Launch {
    /// A thread of this process runs [`exec::execute`] (tests; the run's lock then lives
    /// in this process).
    InProcess(ExecCtx),
    /// A wrapper process `EXE run --manifest M --index I ...` holds the lock and starts the
    /// run, so a sweep killed with kill -9 leaves its runs finishing and locked: a new
    /// sweep waits for them instead of starting them twice.
    Wrapper {
        exe: PathBuf,
        retries: u32,
        run_program: Option<PathBuf>,
    },
}

#[derive(Debug, Clone)]
pub struct LocalOptions {
    pub slots: Vec<String>,
    pub launch: Launch,
    pub stop: Arc<AtomicBool>,
    /// Draw indicatif bars when stderr is a terminal.
    pub interactive: bool,
}

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepSummary {
    pub total: usize,
    pub already_done: usize,
    pub ran: usize,
    pub failed: Vec<(String, String)>,
    pub interrupted: bool,
}

enum State {
    Pending,
    Running,
    Done,
    Failed,
}

/// Runs every incomplete run of `m`.
pub fn run_local(m: &Manifest, opts: &LocalOptions) -> Result<SweepSummary, SweepError> {
    let n = m.runs.len();
    let mut state: Vec<State> = (0..n)
        .map(|i| {
            if is_complete(&m.output, &m.runs[i]) {
                State::Done
            } else {
                State::Pending
            }
        })
        .collect();
    let already_done = state.iter().filter(|s| matches!(s, State::Done)).count();
    let mut summary = SweepSummary {
        total: n,
        already_done,
        ..Default::default()
    };
    let mut queue: VecDeque<usize> = (0..n)
        .filter(|i| matches!(state[*i], State::Pending))
        .collect();
    let mut free: Vec<usize> = (0..opts.slots.len()).rev().collect();
    let mut progress = Progress::new(n, already_done, opts.slots.len(), opts.interactive);
    let (tx, rx) = mpsc::channel::<(usize, usize, Result<Outcome, SweepError>)>();
    let mut running: HashSet<usize> = HashSet::new();
    let mut busy_since: Option<Instant> = None;
    let mut stop_noted = false;
    loop {
        let stopping = opts.stop.load(Ordering::SeqCst);
        if stopping && !stop_noted {
            stop_noted = true;
            summary.interrupted = true;
            progress.note(&format!(
                "stopping: no new runs; waiting for {} running run(s)",
                running.len()
            ));
        }
        // Start what can start.
        let mut deferred = Vec::new();
        while !stopping && !free.is_empty() {
            let Some(i) = queue.pop_front() else { break };
            if let Some(a) = m.runs[i].after {
                match state[a] {
                    State::Done => {}
                    State::Failed => {
                        state[i] = State::Failed;
                        let cause =
                            format!("not run: the model it evaluates ({}) failed", m.runs[a].dir);
                        progress.finished(i, false, false, 0.0, &cause);
                        summary.failed.push((m.runs[i].dir.clone(), cause));
                        continue;
                    }
                    _ => {
                        deferred.push(i);
                        continue;
                    }
                }
            }
            // Another sweep runs it: come back later.
            if RunLock::is_held(&m.output, &m.runs[i].key) {
                deferred.push(i);
                busy_since.get_or_insert_with(Instant::now);
                continue;
            }
            let slot = free.pop().expect("checked non-empty");
            state[i] = State::Running;
            running.insert(i);
            progress.started(i, &m.runs[i].dir, &opts.slots[slot]);
            spawn_worker(m, i, slot, &opts.slots[slot], opts, tx.clone());
        }
        for i in deferred.into_iter().rev() {
            queue.push_front(i);
        }
        if running.is_empty() && (queue.is_empty() || stopping) {
            break;
        }
        match rx.recv_timeout(Duration::from_millis(250)) {
            Ok((i, slot, result)) => {
                free.push(slot);
                running.remove(&i);
                match result {
                    Ok(Outcome::Done { skipped, seconds }) => {
                        state[i] = State::Done;
                        summary.ran += usize::from(!skipped);
                        progress.finished(i, true, skipped, seconds, "");
                    }
                    Ok(Outcome::Busy) => {
                        state[i] = State::Pending;
                        queue.push_back(i);
                        progress.requeued(i);
                    }
                    Ok(Outcome::Interrupted) => {
                        state[i] = State::Pending;
                        summary.interrupted = true;
                        progress.requeued(i);
                    }
                    Ok(Outcome::Failed { cause, .. }) => {
                        state[i] = State::Failed;
                        progress.finished(i, false, false, 0.0, &cause);
                        summary.failed.push((m.runs[i].dir.clone(), cause));
                    }
                    Err(e) => {
                        state[i] = State::Failed;
                        let cause = e.to_string();
                        progress.finished(i, false, false, 0.0, &cause);
                        summary.failed.push((m.runs[i].dir.clone(), cause));
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                for &i in &running {
                    progress.epoch(i, current_epoch(&m.run_dir(i)));
                }
                if running.is_empty()
                    && busy_since.is_some_and(|t| t.elapsed() > Duration::from_secs(1))
                {
                    // Only runs held by another process are left: wait for them.
                    std::thread::sleep(Duration::from_millis(500));
                }
                progress.tick();
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                unreachable!("the sender lives in this function")
            }
        }
    }
    progress.finish();
    Ok(summary)
}

fn spawn_worker(
    m: &Manifest,
    i: usize,
    slot: usize,
    device: &str,
    opts: &LocalOptions,
    tx: mpsc::Sender<(usize, usize, Result<Outcome, SweepError>)>,
) {
    let m = m.clone();
    let device = device.to_string();
    let launch = opts.launch.clone();
    let stop = opts.stop.clone();
    std::thread::spawn(move || {
        let result = match launch {
            Launch::InProcess(ctx) => exec::execute(&ctx, &m, i, Some(&device), false),
            Launch::Wrapper {
                exe,
                retries,
                run_program,
            } => wrapper(&m, i, &device, &exe, retries, run_program.as_deref(), &stop),
        };
        let _ = tx.send((i, slot, result));
    });
}

/// Starts `exe run --manifest M --index I` and maps its exit status back to an outcome.
fn wrapper(
    m: &Manifest,
    i: usize,
    device: &str,
    exe: &std::path::Path,
    retries: u32,
    run_program: Option<&std::path::Path>,
    stop: &AtomicBool,
) -> Result<Outcome, SweepError> {
    let mut cmd = Command::new(exe);
    cmd.arg("run")
        .arg("--manifest")
        .arg(m.path())
        .args([
            "--index",
            &i.to_string(),
            "--device",
            device,
            "--retries",
            &retries.to_string(),
        ])
        .current_dir(&m.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Some(p) = run_program {
        cmd.arg("--run-program").arg(p);
    }
    // Its own process group: a terminal's Ctrl-C reaches the sweep alone, which forwards
    // exactly one SIGINT (see sweep::signals).
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    let child = cmd.spawn().map_err(|source| SweepError::Io {
        path: exe.into(),
        source,
    })?;
    let pid = child.id();
    super::signals::register_group(pid);
    let status = exec::wait_interruptible(child, stop);
    super::signals::unregister_group(pid);
    let status = status.map_err(|source| SweepError::Io {
        path: exe.into(),
        source,
    })?;
    let run = &m.runs[i];
    if status.code().is_none() {
        // The wrapper was killed: its run dies with it (PR_SET_PDEATHSIG) and holds the
        // run's lock until it has; the device slot is free only then.
        wait_for_unlock(m, i);
    }
    Ok(match status.code() {
        Some(0) if is_complete(&m.output, run) => {
            // The wrapper records its own pid when it ran the run; otherwise the run was
            // completed elsewhere and only found complete.
            let st = read_state(&m.output, &run.key).filter(|s| s.pid == pid);
            Outcome::Done {
                skipped: st.is_none(),
                seconds: st.and_then(|s| s.seconds).unwrap_or(0.0),
            }
        }
        Some(EXIT_BUSY) => Outcome::Busy,
        Some(EXIT_INTERRUPTED | EXIT_TERMINATED) => Outcome::Interrupted,
        _ if stop.load(Ordering::SeqCst) => Outcome::Interrupted,
        code => {
            let st = read_state(&m.output, &run.key);
            let cause = st
                .as_ref()
                .and_then(|s| s.cause.clone())
                .unwrap_or_else(|| format!("the run wrapper ended with {code:?}"));
            Outcome::Failed {
                cause,
                retryable: st.is_none_or(|s| s.retryable),
            }
        }
    })
}

/// Waits (at most a minute) until no process holds run `i`'s lock.
fn wait_for_unlock(m: &Manifest, i: usize) {
    let t0 = Instant::now();
    while RunLock::is_held(&m.output, &m.runs[i].key) && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_cuda_visible_devices() {
        assert_eq!(device_slots(Some("2,3"), 8, 1), ["2", "3"]);
        assert_eq!(device_slots(Some("0,1"), 0, 2), ["0", "1", "0", "1"]);
        assert_eq!(device_slots(None, 2, 1), ["0", "1"]);
        assert_eq!(device_slots(None, 0, 3), ["cpu", "cpu", "cpu"]);
        assert_eq!(device_slots(Some(""), 4, 1), ["cpu"]);
    }
}
