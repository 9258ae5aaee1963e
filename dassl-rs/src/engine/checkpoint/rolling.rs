//! The rolling last-epoch checkpoint: every run saves its state after every epoch,
//! whatever `TRAIN.CHECKPOINT_FREQ` says (every shipped config has 0), so a kill loses at
//! most the epoch in progress.
//!
//! Layout, in the run's folder:
//!
//! | path | content |
//! |---|---|
//! | `.last-epoch/epoch-<N>/<model name>/model.pth.tar-<N>` | each registered model's checkpoint after epoch N (1-based), identity-stamped, with the loop state |
//! | `.last-epoch/latest` | `epoch-<N>` and a newline: the committed epoch |
//!
//! An epoch's files are written into `epoch-<N>.tmp/`, which is renamed to `epoch-<N>`
//! once every model is on disk; then `latest` is replaced (atomically) and older epochs are
//! removed. Whatever a kill leaves that `latest` does not name is removed on the next
//! start ([`clean`]), so the several models of a trainer are always resumed from one epoch.
//! The folder is removed when the run completes ([`remove`]).

use std::path::{Path, PathBuf};

use crate::errors::CheckpointError;
use crate::fsutil::write_atomic;

/// The folder, inside the run's output folder.
pub const DIR_NAME: &str = ".last-epoch";
/// The file naming the committed epoch.
pub const LATEST: &str = "latest";

fn epoch_dir_name(epoch: usize) -> String {
    format!("epoch-{epoch}")
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// An epoch being written: [`Pending::dir`] takes the models' files, [`Pending::commit`]
/// makes them the run's last epoch.
#[derive(Debug)]
pub struct Pending {
    root: PathBuf,
    tmp: PathBuf,
    epoch: usize,
}

/// Starts writing epoch `epoch` (1-based) of the run in `run_dir`.
pub fn begin(run_dir: &Path, epoch: usize) -> Result<Pending, CheckpointError> {
    let root = run_dir.join(DIR_NAME);
    let tmp = root.join(format!("{}.tmp", epoch_dir_name(epoch)));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(write_err(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(write_err(&tmp))?;
    Ok(Pending { root, tmp, epoch })
}

impl Pending {
    /// Where the models' files go (`<model name>/model.pth.tar-<N>` inside it).
    pub fn dir(&self) -> &Path {
        &self.tmp
    }

    /// Renames the epoch into place, points `latest` at it and removes older epochs.
    pub fn commit(self) -> Result<PathBuf, CheckpointError> {
        let name = epoch_dir_name(self.epoch);
        let done = self.root.join(&name);
        if done.exists() {
            std::fs::remove_dir_all(&done).map_err(write_err(&done))?;
        }
        std::fs::rename(&self.tmp, &done).map_err(write_err(&done))?;
        let latest = self.root.join(LATEST);
        write_atomic(&latest, format!("{name}\n").as_bytes()).map_err(write_err(&latest))?;
        clean(self.root.parent().unwrap_or(Path::new(".")))?;
        Ok(done)
    }
}

/// The committed epoch's folder and its (1-based) epoch; `None` when the run has none.
pub fn latest(run_dir: &Path) -> Result<Option<(PathBuf, usize)>, CheckpointError> {
    let root = run_dir.join(DIR_NAME);
    let pointer = root.join(LATEST);
    let text = match std::fs::read_to_string(&pointer) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CheckpointError::Read {
                path: pointer,
                source,
            })
        }
    };
    let name = text.trim_end();
    let epoch = name
        .strip_prefix("epoch-")
        .and_then(|n| n.parse::<usize>().ok())
        .ok_or_else(|| CheckpointError::Format {
            path: pointer.clone(),
            reason: format!("names {name:?}, not epoch-<N>"),
        })?;
    let dir = root.join(name);
    if !dir.is_dir() {
        return Err(CheckpointError::NotFound { path: dir });
    }
    Ok(Some((dir, epoch)))
}

/// Removes what a kill left in `.last-epoch/` besides the committed epoch (a half-written
/// `epoch-<N>.tmp/`, an epoch not yet committed, temporary files of `latest`).
pub fn clean(run_dir: &Path) -> Result<(), CheckpointError> {
    let root = run_dir.join(DIR_NAME);
    let keep = match latest(run_dir) {
        Ok(Some((dir, _))) => dir.file_name().map(|n| n.to_os_string()),
        _ => None,
    };
    let entries = match std::fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(CheckpointError::Read { path: root, source }),
    };
    for e in entries {
        let e = e.map_err(|source| CheckpointError::Read {
            path: root.clone(),
            source,
        })?;
        let name = e.file_name();
        if name == LATEST || Some(&name) == keep.as_ref() {
            continue;
        }
        let p = e.path();
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        r.map_err(write_err(&p))?;
    }
    Ok(())
}

/// Removes the rolling checkpoint of a completed run.
pub fn remove(run_dir: &Path) -> Result<(), CheckpointError> {
    let root = run_dir.join(DIR_NAME);
    match std::fs::remove_dir_all(&root) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CheckpointError::Write {
            path: root,
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn an_epoch_counts_only_once_committed_and_replaces_the_last() {
        let run = tempfile::tempdir().unwrap();
        assert!(latest(run.path()).unwrap().is_none());
        let p = begin(run.path(), 1).unwrap();
        std::fs::write(p.dir().join("a"), "1").unwrap();
        assert!(latest(run.path()).unwrap().is_none(), "not committed yet");
        let d1 = p.commit().unwrap();
        assert_eq!(latest(run.path()).unwrap(), Some((d1, 1)));
        // A kill while epoch 2 is written leaves a .tmp folder: the next start removes it.
        let p = begin(run.path(), 2).unwrap();
        std::fs::write(p.dir().join("a"), "2").unwrap();
        drop(p);
        clean(run.path()).unwrap();
        assert_eq!(names(&run.path().join(DIR_NAME)), ["epoch-1", "latest"]);
        let p = begin(run.path(), 2).unwrap();
        std::fs::write(p.dir().join("a"), "2").unwrap();
        let d2 = p.commit().unwrap();
        assert_eq!(latest(run.path()).unwrap(), Some((d2.clone(), 2)));
        assert_eq!(names(&run.path().join(DIR_NAME)), ["epoch-2", "latest"]);
        assert_eq!(std::fs::read_to_string(d2.join("a")).unwrap(), "2");
        remove(run.path()).unwrap();
        assert!(!run.path().join(DIR_NAME).exists());
        remove(run.path()).unwrap();
    }
}
