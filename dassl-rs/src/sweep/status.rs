//! Where every run of an output folder stands, for `--dry-run` and `dassl status`,
//! whichever executor ran them.

use std::fmt::Write as _;
use std::path::Path;

use super::manifest::{is_complete, read_state, Manifest, RunLock, RunStatus};
use super::progress::current_epoch;
use super::slurm;
use crate::errors::SweepError;

/// A run's standing now.
#[derive(Debug, Clone, PartialEq)]
pub enum Standing {
    Done,
    Running {
        epoch: Option<(u64, u64)>,
        device: Option<String>,
    },
    Failed {
        cause: String,
    },
    /// Started once and stopped (Ctrl-C, a killed sweep or node): resumes when re-run.
    Interrupted,
    Todo,
}

impl Standing {
    pub fn word(&self) -> &'static str {
        match self {
            Standing::Done => "done",
            Standing::Running { .. } => "running",
            Standing::Failed { .. } => "failed",
            Standing::Interrupted => "stopped",
            Standing::Todo => "todo",
        }
    }
}

pub fn standing(m: &Manifest, i: usize) -> Standing {
    let run = &m.runs[i];
    if is_complete(&m.output, run) {
        return Standing::Done;
    }
    let held = RunLock::is_held(&m.output, &run.key);
    match read_state(&m.output, &run.key) {
        _ if held => {
            let device = read_state(&m.output, &run.key).and_then(|s| s.device);
            Standing::Running {
                epoch: current_epoch(&m.run_dir(i)),
                device,
            }
        }
        Some(s) => match s.status {
            RunStatus::Failed => Standing::Failed {
                cause: s.cause.unwrap_or_default(),
            },
            RunStatus::Running | RunStatus::Interrupted => Standing::Interrupted,
            RunStatus::Done => Standing::Todo,
        },
        None => Standing::Todo,
    }
}

/// A failed run: its folder, its recorded cause, the first line of its last attempt's
/// output that reads as an error, and the log holding that output.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub dir: String,
    pub cause: String,
    pub first_error: Option<String>,
    pub log: std::path::PathBuf,
}

/// The failed runs of a manifest.
pub fn failures(m: &Manifest) -> Vec<Failure> {
    (0..m.runs.len())
        .filter_map(|i| match standing(m, i) {
            Standing::Failed { cause } => {
                let log = super::manifest::log_path(&m.output, &m.runs[i].key);
                Some(Failure {
                    dir: m.runs[i].dir.clone(),
                    cause,
                    first_error: first_error_line(&log),
                    log,
                })
            }
            _ => None,
        })
        .collect()
}

/// The first line of the last attempt in a run's log that reads as an error.
pub fn first_error_line(log: &Path) -> Option<String> {
    use std::sync::OnceLock;
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(?i)(^error\b|error:|panicked|traceback|exception|out of memory|nan|cannot|not found)")
            .expect("valid regex")
    });
    let text = std::fs::read_to_string(log).ok()?;
    let last = text.rsplit("=== attempt").next().unwrap_or(&text);
    last.lines()
        .skip(1)
        .map(str::trim)
        .find(|l| re.is_match(l))
        .map(|l| l.chars().take(300).collect())
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.dir, self.cause)?;
        if let Some(e) = &self.first_error {
            write!(f, "\n          first error: {e}")?;
        }
        write!(f, "\n          log: {}", self.log.display())
    }
}

/// Counts per standing: (done, running, failed, stopped, todo).
pub fn counts(st: &[Standing]) -> (usize, usize, usize, usize, usize) {
    let c = |w: &str| st.iter().filter(|s| s.word() == w).count();
    (
        c("done"),
        c("running"),
        c("failed"),
        c("stopped"),
        c("todo"),
    )
}

/// The `--dry-run` listing: every run, whether it is done, its key and its folder.
pub fn dry_run_text(m: &Manifest) -> String {
    let st: Vec<Standing> = (0..m.runs.len()).map(|i| standing(m, i)).collect();
    let (done, running, failed, stopped, todo) = counts(&st);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "sweep {} (trainers: {}): {} runs",
        m.name,
        m.trainers.join(", "),
        m.runs.len()
    );
    let _ = writeln!(
        s,
        "done {done}, running {running}, failed {failed}, stopped {stopped}, to run {}",
        failed + stopped + todo
    );
    for (i, (r, st)) in m.runs.iter().zip(&st).enumerate() {
        let after = r
            .after
            .map(|a| format!("  (after #{a})"))
            .unwrap_or_default();
        let _ = writeln!(s, "#{i:<4} {:<8} {}  {}{after}", st.word(), r.key, r.dir);
    }
    s
}

/// `dassl status OUTPUT`.
pub fn status_text(output: &Path) -> Result<String, SweepError> {
    let manifests = Manifest::read_all(output)?;
    if manifests.is_empty() {
        return Err(SweepError::Usage(format!(
            "no sweep in {}: no {}/.dassl/manifests/*.json",
            output.display(),
            output.display()
        )));
    }
    let mut s = String::new();
    for m in &manifests {
        let st: Vec<Standing> = (0..m.runs.len()).map(|i| standing(m, i)).collect();
        let (done, running, failed, stopped, todo) = counts(&st);
        let _ = writeln!(s, "{} ({} runs): done {done}, running {running}, failed {failed}, stopped {stopped}, todo {todo}", m.id, m.runs.len());
        for (r, st) in m.runs.iter().zip(&st) {
            match st {
                Standing::Running { epoch, device } => {
                    let e = epoch
                        .map(|(e, n)| format!(" epoch {e}/{n}"))
                        .unwrap_or_default();
                    let d = device
                        .as_ref()
                        .map(|d| format!(" on {d}"))
                        .unwrap_or_default();
                    let _ = writeln!(s, "  running {}{d}{e}", r.dir);
                }
                Standing::Failed { .. } => {}
                Standing::Interrupted => {
                    let _ = writeln!(
                        s,
                        "  stopped {} (resumes from its checkpoint when the sweep runs again)",
                        r.dir
                    );
                }
                _ => {}
            }
        }
        for f in failures(m) {
            let _ = writeln!(s, "  failed  {f}");
        }
        if let Some(jobs) = slurm::read_jobs(m) {
            let _ = writeln!(s, "  slurm: {}", slurm::queue_summary(&jobs));
        }
    }
    let reports = output.join("reports").join("summary.md");
    if reports.exists() {
        let _ = writeln!(s, "report: {}", reports.display());
    }
    Ok(s)
}
