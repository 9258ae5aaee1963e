//! Executing one run: lock, skip when complete, start the run process, retry, record.
//!
//! The same code serves the local executor, its per-run wrapper processes and Slurm array
//! tasks, so every executor follows the same skip and resume rules.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::manifest::{is_complete, log_path, write_state, Manifest, RunLock, RunState, RunStatus};
use crate::errors::SweepError;

/// The program a run is: by default this executable with `train ...`; tests launch
/// stand-in scripts.
#[derive(Debug, Clone)]
pub struct ExecCtx {
    pub program: std::path::PathBuf,
    pub retries: u32,
    /// Set by Ctrl-C: no new attempt starts, the running one is asked to stop.
    pub stop: Arc<AtomicBool>,
    /// In a process that runs one run (a wrapper or Slurm task): this dassl executable,
    /// through which the run is started (`dassl guard`), so the run holds the run's lock
    /// too and dies with this process. `None` when runs share the process (tests).
    pub guard: Option<std::path::PathBuf>,
}

/// Exit status of a wrapper whose run is locked by another process.
pub const EXIT_BUSY: i32 = 75;
/// Exit status after an interrupt (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;
/// Exit status of a wrapper stopped by SIGTERM (128 + SIGTERM): its run resumes later.
pub const EXIT_TERMINATED: i32 = 143;

/// How one run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done {
        skipped: bool,
        seconds: f64,
    },
    Failed {
        cause: String,
        retryable: bool,
    },
    Interrupted,
    /// Another process holds the run's lock.
    Busy,
}

impl Outcome {
    /// Exit status of a wrapper or Slurm task.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Done { .. } => 0,
            Outcome::Failed {
                retryable: false, ..
            } => 2,
            Outcome::Failed { .. } => 1,
            Outcome::Interrupted => EXIT_INTERRUPTED,
            Outcome::Busy => EXIT_BUSY,
        }
    }
}

/// Runs manifest run `index`, retrying failed attempts. With `wait_for_lock` it waits
/// for another holder (Slurm tasks), otherwise it returns [`Outcome::Busy`].
pub fn execute(
    ctx: &ExecCtx,
    m: &Manifest,
    index: usize,
    device: Option<&str>,
    wait_for_lock: bool,
) -> Result<Outcome, SweepError> {
    let run = &m.runs[index];
    let out = &m.output;
    let lock = if wait_for_lock {
        RunLock::acquire(out, &run.key)?
    } else {
        match RunLock::try_acquire(out, &run.key)? {
            Some(l) => l,
            None => return Ok(Outcome::Busy),
        }
    };
    if ctx.guard.is_some() {
        // The run inherits the lock: it stays held until the run itself has ended.
        lock.share_with_children()?;
    }
    if is_complete(out, run) {
        return Ok(Outcome::Done {
            skipped: true,
            seconds: 0.0,
        });
    }
    if let Some(a) = run.after {
        if !is_complete(out, &m.runs[a]) {
            let cause = format!("the model it evaluates ({}) is not complete", m.runs[a].dir);
            record(
                out,
                &run.key,
                RunStatus::Failed,
                0,
                Some(cause.clone()),
                None,
                false,
                device,
                None,
            )?;
            return Ok(Outcome::Failed {
                cause,
                retryable: true,
            });
        }
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        if ctx.stop.load(Ordering::SeqCst) {
            return Ok(Outcome::Interrupted);
        }
        let started = chrono::Local::now().to_rfc3339();
        record(
            out,
            &run.key,
            RunStatus::Running,
            attempt,
            None,
            None,
            true,
            device,
            Some(&started),
        )?;
        let t0 = Instant::now();
        let (status, tail) = run_once(ctx, m, index, device, attempt)?;
        let secs = t0.elapsed().as_secs_f64();
        let code = status.code();
        if ctx.stop.load(Ordering::SeqCst) && !status.success() {
            let why = if super::signals::terminated() {
                "stopped by SIGTERM (preempted or out of time): resumes when started again"
            } else {
                "interrupted"
            };
            record(
                out,
                &run.key,
                RunStatus::Interrupted,
                attempt,
                Some(why.into()),
                code,
                true,
                device,
                Some(&started),
            )?;
            return Ok(Outcome::Interrupted);
        }
        // A train killed after writing its result.json (atomically, its last act) has
        // completed: retrying it would run it twice.
        let (cause, retryable) = if status.success() || is_complete(out, run) {
            if is_complete(out, run) {
                let mut s = new_state(RunStatus::Done, attempt, None, code, true, device, &started);
                s.finished = Some(chrono::Local::now().to_rfc3339());
                s.seconds = Some(secs);
                write_state(out, &run.key, &s)?;
                return Ok(Outcome::Done {
                    skipped: false,
                    seconds: secs,
                });
            }
            (
                format!(
                    "exited 0 without a result.json carrying config hash {}",
                    &run.config_hash[..12.min(run.config_hash.len())]
                ),
                true,
            )
        } else {
            classify(status, &tail)
        };
        let last = !retryable || attempt > ctx.retries;
        let status_now = if last {
            RunStatus::Failed
        } else {
            RunStatus::Running
        };
        let mut s = new_state(
            status_now,
            attempt,
            Some(cause.clone()),
            code,
            retryable,
            device,
            &started,
        );
        s.finished = Some(chrono::Local::now().to_rfc3339());
        s.seconds = Some(secs);
        write_state(out, &run.key, &s)?;
        if last {
            return Ok(Outcome::Failed { cause, retryable });
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn new_state(
    status: RunStatus,
    attempts: u32,
    cause: Option<String>,
    exit_code: Option<i32>,
    retryable: bool,
    device: Option<&str>,
    started: &str,
) -> RunState {
    RunState {
        status,
        attempts,
        cause,
        exit_code,
        retryable,
        device: device.map(str::to_string),
        pid: std::process::id(),
        host: super::manifest::host(),
        started: started.to_string(),
        finished: None,
        seconds: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    out: &Path,
    key: &str,
    status: RunStatus,
    attempts: u32,
    cause: Option<String>,
    code: Option<i32>,
    retryable: bool,
    device: Option<&str>,
    started: Option<&str>,
) -> Result<(), SweepError> {
    let now = chrono::Local::now().to_rfc3339();
    write_state(
        out,
        key,
        &new_state(
            status,
            attempts,
            cause,
            code,
            retryable,
            device,
            started.unwrap_or(&now),
        ),
    )
}

/// One attempt: the run's output goes to `.dassl/logs/<key>.log`; returns its exit
/// status and the tail of what it printed in this attempt.
fn run_once(
    ctx: &ExecCtx,
    m: &Manifest,
    index: usize,
    device: Option<&str>,
    attempt: u32,
) -> Result<(ExitStatus, String), SweepError> {
    let run = &m.runs[index];
    let log = log_path(&m.output, &run.key);
    let io = |source| SweepError::Io {
        path: log.clone(),
        source,
    };
    std::fs::create_dir_all(log.parent().expect("log files live in a folder")).map_err(io)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(io)?;
    let start = f.seek(SeekFrom::End(0)).map_err(io)?;
    writeln!(
        f,
        "=== attempt {attempt} at {} on {}: {}",
        chrono::Local::now().to_rfc3339(),
        device.unwrap_or("default device"),
        replay_command(&m.cwd, &ctx.program, &run.args, &run_env(run, device))
    )
    .map_err(io)?;
    let mut cmd = match &ctx.guard {
        Some(exe) => {
            let mut c = Command::new(exe);
            c.args(["guard", "--parent", &std::process::id().to_string(), "--"])
                .arg(&ctx.program);
            c
        }
        None => Command::new(&ctx.program),
    };
    cmd.args(&run.args)
        .current_dir(&m.cwd)
        .envs(run_env(run, device))
        .stdin(Stdio::null())
        .stdout(Stdio::from(f.try_clone().map_err(io)?))
        .stderr(Stdio::from(f.try_clone().map_err(io)?));
    let status = match cmd.spawn() {
        Ok(child) => {
            let pid = child.id();
            super::signals::register_group(pid);
            let status = wait_interruptible(child, &ctx.stop);
            super::signals::unregister_group(pid);
            status.map_err(io)?
        }
        Err(e) => {
            writeln!(f, "cannot start {}: {e}", ctx.program.display()).map_err(io)?;
            return Err(SweepError::Io {
                path: ctx.program.clone(),
                source: e,
            });
        }
    };
    let mut tail = String::new();
    let mut r = std::fs::File::open(&log).map_err(io)?;
    let len = r.seek(SeekFrom::End(0)).map_err(io)?;
    r.seek(SeekFrom::Start(start.max(len.saturating_sub(16 * 1024))))
        .map_err(io)?;
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes).map_err(io)?;
    tail.push_str(&String::from_utf8_lossy(&bytes));
    Ok((status, tail))
}

/// The variables a run gets on top of the sweep's environment: its identity, and its GPU.
fn run_env(run: &super::RunPlan, device: Option<&str>) -> Vec<(String, String)> {
    let mut env = vec![
        ("DASSL_RUN_CONFIG_HASH".to_string(), run.config_hash.clone()),
        ("DASSL_RUN_KEY".to_string(), run.key.clone()),
    ];
    if let Some(d) = device {
        let v = if d == "cpu" { "" } else { d };
        env.push(("CUDA_VISIBLE_DEVICES".into(), v.into()));
    }
    env
}

/// A shell command that repeats the attempt: the folder, every variable dassl reads
/// (`DASSL_*`, `CUDA_VISIBLE_DEVICES`) as the run sees it, and the quoted arguments.
pub fn replay_command(
    cwd: &std::path::Path,
    program: &std::path::Path,
    args: &[String],
    run_env: &[(String, String)],
) -> String {
    use super::slurm::sh_quote;
    let mut env: std::collections::BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("DASSL_") || k == "CUDA_VISIBLE_DEVICES")
        .collect();
    env.extend(run_env.iter().cloned());
    let mut s = format!("cd {} && env", sh_quote(&cwd.display().to_string()));
    for (k, v) in &env {
        s.push_str(&format!(" {k}={}", sh_quote(v)));
    }
    s.push_str(&format!(" {}", sh_quote(&program.display().to_string())));
    for a in args {
        s.push(' ');
        s.push_str(&sh_quote(a));
    }
    s
}

/// Waits for `child`; after `stop` is set it forwards the stop signal once (SIGINT, or
/// SIGTERM after a SIGTERM) and waits for the child to stop on its own: a second Ctrl-C is
/// what stops everything at once (see [`super::signals`]).
pub fn wait_interruptible(mut child: Child, stop: &AtomicBool) -> std::io::Result<ExitStatus> {
    let mut forwarded = false;
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(s);
        }
        if stop.load(Ordering::SeqCst) && !forwarded {
            forwarded = true;
            super::signals::signal_child(child.id(), super::signals::forward_signal());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `dassl guard --parent P -- PROGRAM ARGS`: becomes the run (exec) after asking the
/// kernel to kill it when its wrapper dies (PR_SET_PDEATHSIG), so no run outlives the
/// wrapper that holds its lock. Returns only on failure.
pub fn guard_exec(parent: u32, command: &[std::ffi::OsString]) -> SweepError {
    use std::os::unix::process::CommandExt;
    let Some((program, args)) = command.split_first() else {
        return SweepError::Usage("guard: no program given".into());
    };
    if let Err(e) = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL) {
        return SweepError::Io {
            path: "prctl(PR_SET_PDEATHSIG)".into(),
            source: std::io::Error::from(e),
        };
    }
    // The wrapper may have died before the request took effect.
    if nix::unistd::getppid().as_raw() as u32 != parent {
        return SweepError::Exit {
            code: 137,
            message: "guard: the run's wrapper is gone; not starting the run".into(),
        };
    }
    // Its own process group, as a terminal gives a job: a forwarded signal reaches the
    // run and whatever it started.
    let _ = nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0));
    super::signals::unblock_for_child();
    let e = Command::new(program).args(args).exec();
    SweepError::Io {
        path: program.into(),
        source: e,
    }
}

/// The cause of a failed attempt, and whether trying again can help.
pub fn classify(status: ExitStatus, tail: &str) -> (String, bool) {
    use std::os::unix::process::ExitStatusExt;
    let lower = tail.to_lowercase();
    let last = tail
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("=== attempt"))
        .unwrap_or("")
        .chars()
        .take(300)
        .collect::<String>();
    let what = if lower.contains("out of memory") || lower.contains("outofmemory") {
        "out of memory"
    } else if lower.contains("nan")
        && (lower.contains("loss") || lower.contains("not finite") || lower.contains("non-finite"))
    {
        "NaN or infinite loss"
    } else {
        ""
    };
    let base = match (status.code(), status.signal()) {
        (Some(2), _) => {
            return (
                format!("config or usage error (exit 2, not retried): {last}"),
                false,
            )
        }
        (Some(c), _) => format!("exit {c}"),
        (None, Some(9)) => {
            "killed by signal 9 (SIGKILL: out of host memory, or killed by hand)".into()
        }
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "ended without status".into(),
    };
    let mut cause = base;
    if !what.is_empty() {
        cause.push_str(": ");
        cause.push_str(what);
    }
    if !last.is_empty() {
        cause.push_str(": ");
        cause.push_str(&last);
    }
    (cause, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn replay_commands_are_shell_quoted_and_carry_the_environment() {
        let c = replay_command(
            std::path::Path::new("/w d"),
            std::path::Path::new("/bin/dassl"),
            &[
                "train".into(),
                "INPUT.SIZE".into(),
                "(32, 32)".into(),
                "it's".into(),
            ],
            &[("DASSL_RUN_KEY".into(), "k1".into())],
        );
        assert!(c.starts_with("cd '/w d' && env "), "{c}");
        assert!(c.contains(" DASSL_RUN_KEY='k1' "), "{c}");
        assert!(
            c.ends_with(" '/bin/dassl' 'train' 'INPUT.SIZE' '(32, 32)' 'it'\\''s'"),
            "{c}"
        );
    }

    #[test]
    fn causes_name_the_failure() {
        let (c, r) = classify(
            ExitStatus::from_raw(1 << 8),
            "step 3\nRuntimeError: CUDA out of memory. Tried to allocate\n",
        );
        assert!(
            r && c.starts_with("exit 1: out of memory: RuntimeError: CUDA out of memory"),
            "{c}"
        );
        let (c, r) = classify(
            ExitStatus::from_raw(2 << 8),
            "error: non-existent config key: X\n",
        );
        assert!(
            !r && c.contains("not retried") && c.contains("non-existent config key"),
            "{c}"
        );
        let (c, _) = classify(ExitStatus::from_raw(1 << 8), "loss is NaN at epoch 2\n");
        assert!(c.contains("NaN"), "{c}");
        let (c, r) = classify(ExitStatus::from_raw(9), "");
        assert!(r && c.contains("signal 9"), "{c}");
    }
}
