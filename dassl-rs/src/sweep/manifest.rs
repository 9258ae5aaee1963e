//! The run manifest and the per-run files under `OUTPUT/.dassl/`: state, lock, log.
//!
//! The manifest is what a Slurm array task indexes and what `dassl status` and
//! `dassl report` read; state files record attempts and failure causes; a run counts as
//! complete only through its `result.json` (see [`is_complete`]).

use std::fs::File;
use std::path::{Path, PathBuf};

use fs2::FileExt;
use serde::{Deserialize, Serialize};

use super::plan::RunPlan;
use super::spec::Protocol;
use crate::engine::result::RunResult;
use crate::errors::SweepError;

/// Folder of the sweep's own files inside the output folder (hidden, so CoOp's
/// parse_test_res.py, which walks non-hidden folders, never sees it).
pub const SWEEP_DIR: &str = ".dassl";
pub const MANIFEST_VERSION: u32 = 1;

/// One `dassl run --sweep` invocation's runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// `<sweep name>-<trainers>`: the same command rewrites the same manifest.
    pub id: String,
    pub name: String,
    pub spec_file: String,
    pub protocol: Protocol,
    pub trainers: Vec<String>,
    /// Folder the runs start in (relative config paths are read from there).
    pub cwd: PathBuf,
    /// Absolute output folder.
    pub output: PathBuf,
    pub created: String,
    pub runs: Vec<RunPlan>,
}

impl Manifest {
    pub fn path(&self) -> PathBuf {
        manifest_path(&self.output, &self.id)
    }

    /// Written atomically, so a killed sweep never leaves half a manifest.
    pub fn write(&self) -> Result<PathBuf, SweepError> {
        let path = self.path();
        let json = serde_json::to_string_pretty(self).expect("a manifest always serialises");
        crate::fsutil::write_atomic(&path, json.as_bytes()).map_err(|source| SweepError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    pub fn read(path: &Path) -> Result<Manifest, SweepError> {
        let text = std::fs::read_to_string(path).map_err(|source| SweepError::Io {
            path: path.into(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| SweepError::BadFile {
            path: path.into(),
            what: "run manifest",
            reason: e.to_string(),
        })
    }

    /// All manifests of an output folder, by id.
    pub fn read_all(output: &Path) -> Result<Vec<Manifest>, SweepError> {
        let dir = output.join(SWEEP_DIR).join("manifests");
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(SweepError::Io { path: dir, source }),
        };
        paths.sort();
        paths.iter().map(|p| Manifest::read(p)).collect()
    }

    pub fn run_dir(&self, i: usize) -> PathBuf {
        self.output.join(&self.runs[i].dir)
    }
}

pub fn manifest_path(output: &Path, id: &str) -> PathBuf {
    output
        .join(SWEEP_DIR)
        .join("manifests")
        .join(format!("{id}.json"))
}

/// Complete means: `result.json` exists and carries this run's config hash.
pub fn is_complete(output: &Path, run: &RunPlan) -> bool {
    RunResult::read(&output.join(&run.dir)).is_some_and(|r| r.config_hash == run.config_hash)
}

/// What happened to a run the last time it was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Done,
    Failed,
    /// Stopped by Ctrl-C or a signal to the sweep; starts again from its checkpoint.
    Interrupted,
}

/// `.dassl/state/<key>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub status: RunStatus,
    pub attempts: u32,
    #[serde(default)]
    pub cause: Option<String>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// False for config errors (exit 2): the same command would fail the same way.
    #[serde(default)]
    pub retryable: bool,
    #[serde(default)]
    pub device: Option<String>,
    pub pid: u32,
    pub host: String,
    pub started: String,
    #[serde(default)]
    pub finished: Option<String>,
    #[serde(default)]
    pub seconds: Option<f64>,
}

pub fn state_path(output: &Path, key: &str) -> PathBuf {
    output
        .join(SWEEP_DIR)
        .join("state")
        .join(format!("{key}.json"))
}

pub fn log_path(output: &Path, key: &str) -> PathBuf {
    output
        .join(SWEEP_DIR)
        .join("logs")
        .join(format!("{key}.log"))
}

pub fn read_state(output: &Path, key: &str) -> Option<RunState> {
    serde_json::from_str(&std::fs::read_to_string(state_path(output, key)).ok()?).ok()
}

pub fn write_state(output: &Path, key: &str, s: &RunState) -> Result<(), SweepError> {
    let path = state_path(output, key);
    let json = serde_json::to_string_pretty(s).expect("a state always serialises");
    crate::fsutil::write_atomic(&path, json.as_bytes())
        .map_err(|source| SweepError::Io { path, source })
}

/// The host name, for state files (which machine ran it).
pub fn host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// An exclusive lock on one run: two sweeps (or Slurm tasks) on one output folder never
/// run the same run. `flock` is released by the kernel when its holder dies, so a
/// killed process never leaves a stale lock.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

fn lock_file(output: &Path, key: &str) -> Result<File, SweepError> {
    let dir = output.join(SWEEP_DIR).join("locks");
    std::fs::create_dir_all(&dir).map_err(|source| SweepError::Io {
        path: dir.clone(),
        source,
    })?;
    let path = dir.join(format!("{key}.lock"));
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| SweepError::Io { path, source })
}

impl RunLock {
    /// `None` when another process holds it.
    pub fn try_acquire(output: &Path, key: &str) -> Result<Option<RunLock>, SweepError> {
        let file = lock_file(output, key)?;
        match file.try_lock_exclusive() {
            Ok(()) => Ok(Some(RunLock { _file: file })),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.raw_os_error() == fs2::lock_contended_error().raw_os_error() =>
            {
                Ok(None)
            }
            Err(source) => Err(SweepError::Io {
                path: output.join(SWEEP_DIR).join("locks").join(key),
                source,
            }),
        }
    }

    /// Waits until the holder is done.
    pub fn acquire(output: &Path, key: &str) -> Result<RunLock, SweepError> {
        let file = lock_file(output, key)?;
        file.lock_exclusive().map_err(|source| SweepError::Io {
            path: output.join(SWEEP_DIR).join("locks").join(key),
            source,
        })?;
        Ok(RunLock { _file: file })
    }

    /// Lets the next child process inherit the lock (its descriptor survives exec), so
    /// the lock is released only when this process and that child have both ended.
    pub fn share_with_children(&self) -> Result<(), SweepError> {
        use nix::fcntl::{fcntl, FcntlArg, FdFlag};
        fcntl(&self._file, FcntlArg::F_SETFD(FdFlag::empty())).map_err(|e| SweepError::Io {
            path: "run lock".into(),
            source: std::io::Error::from(e),
        })?;
        Ok(())
    }

    /// Whether some process holds the lock now (for `dassl status`).
    /// Never creates anything, so a dry run writes nothing.
    pub fn is_held(output: &Path, key: &str) -> bool {
        let path = output
            .join(SWEEP_DIR)
            .join("locks")
            .join(format!("{key}.lock"));
        match File::options().write(true).open(&path) {
            Ok(f) => f.try_lock_exclusive().is_err(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let a = RunLock::try_acquire(dir.path(), "k").unwrap();
        assert!(a.is_some());
        assert!(RunLock::try_acquire(dir.path(), "k").unwrap().is_none());
        assert!(RunLock::is_held(dir.path(), "k"));
        drop(a);
        assert!(!RunLock::is_held(dir.path(), "k"));
        assert!(RunLock::try_acquire(dir.path(), "k").unwrap().is_some());
    }
}
