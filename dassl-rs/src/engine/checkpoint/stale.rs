//! No state crosses run identities: before a run starts in its folder, whatever another
//! identity left there (a result, a checkpoint, a rolling checkpoint) is moved aside to
//! `<folder>.stale-<time>/`, never resumed and never reported; and temporary files of
//! writers that were killed are removed.

use std::path::{Path, PathBuf};

use super::rolling;
use crate::errors::CheckpointError;

/// What one start found and moved.
#[derive(Debug, Clone, PartialEq)]
pub struct SetAside {
    pub to: PathBuf,
    /// One line per foreign item (`result.json of run identity 1a2b3c4d5e6f`).
    pub reasons: Vec<String>,
}

/// Files a run writes in its folder; a set-aside moves these and nothing else (a folder
/// given by hand may hold the user's own files).
const RUN_FILES: &[&str] = &[
    "result.json",
    "config.yaml",
    "cmat.csv",
    "tensorboard",
    rolling::DIR_NAME,
];

fn short(id: &str) -> &str {
    &id[..12.min(id.len())]
}

fn is_model_file(name: &str) -> bool {
    name.starts_with("model.pth.tar-") || name == super::BEST_NAME
}

/// Sub-folders holding Dassl checkpoints (one per registered model name).
fn model_dirs(run_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(run_dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != rolling::DIR_NAME))
        .filter(|p| {
            std::fs::read_dir(p).is_ok_and(|mut es| {
                es.any(|e| {
                    e.is_ok_and(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        is_model_file(&n) || n == super::POINTER_NAME
                    })
                })
            })
        })
        .collect();
    dirs.sort();
    dirs
}

/// Model files in `dir` and its model sub-folders.
fn model_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for d in model_dirs(dir) {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if is_model_file(&e.file_name().to_string_lossy()) {
                files.push(e.path());
            }
        }
    }
    files.sort();
    files
}

/// What in `run_dir` belongs to a run identity other than `identity`.
pub fn foreign(run_dir: &Path, identity: &str) -> Vec<String> {
    let mut out = Vec::new();
    let result = run_dir.join(crate::engine::result::RESULT_FILE);
    if result.is_file() {
        match crate::engine::result::RunResult::read(run_dir) {
            Some(r) if r.config_hash == identity => {}
            Some(r) => out.push(format!(
                "result.json of run identity {}",
                short(&r.config_hash)
            )),
            None => out.push("an unreadable result.json".into()),
        }
    }
    let mut files = model_files(run_dir);
    if let Ok(Some((dir, _))) = rolling::latest(run_dir) {
        files.extend(model_files(&dir));
    }
    for f in files {
        let rel = f.strip_prefix(run_dir).unwrap_or(&f).display().to_string();
        match super::identity_of(&f) {
            Ok(Some(id)) if id == identity => {}
            Ok(Some(id)) => out.push(format!("{rel} of run identity {}", short(&id))),
            Ok(None) => out.push(format!("{rel} (no run identity recorded)")),
            Err(e) => out.push(format!("{rel} (unreadable: {e})")),
        }
    }
    out
}

/// Moves the run files of `run_dir` to a new `<run_dir>.stale-<time>/` when any of them
/// belongs to another identity; `None` when everything there is the run's own.
pub fn set_aside(run_dir: &Path, identity: &str) -> Result<Option<SetAside>, CheckpointError> {
    let reasons = foreign(run_dir, identity);
    if reasons.is_empty() {
        return Ok(None);
    }
    let name = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let parent = run_dir.parent().unwrap_or(Path::new("."));
    let stamp = chrono::Local::now().format("%Y-%m-%d-%H-%M-%S");
    let mut to = parent.join(format!("{name}.stale-{stamp}"));
    let mut n = 2;
    while to.exists() {
        to = parent.join(format!("{name}.stale-{stamp}-{n}"));
        n += 1;
    }
    let moved = |from: &Path, to: &Path| {
        std::fs::rename(from, to).map_err(|source| CheckpointError::Write {
            path: to.to_path_buf(),
            source,
        })
    };
    std::fs::create_dir_all(&to).map_err(|source| CheckpointError::Write {
        path: to.clone(),
        source,
    })?;
    let mut items: Vec<PathBuf> = RUN_FILES.iter().map(|f| run_dir.join(f)).collect();
    items.extend(model_dirs(run_dir));
    for e in std::fs::read_dir(run_dir).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with("log.txt") {
            items.push(e.path());
        }
    }
    for item in items {
        if item.symlink_metadata().is_ok() {
            let dest = to.join(item.file_name().expect("entries have names"));
            moved(&item, &dest)?;
        }
    }
    Ok(Some(SetAside { to, reasons }))
}

/// Removes temporary files that killed writers left in `run_dir`, its model folders and
/// its rolling checkpoint (see [`crate::fsutil::remove_orphaned_temps`]); returns them.
pub fn clean_orphans(run_dir: &Path) -> Result<Vec<PathBuf>, CheckpointError> {
    rolling::clean(run_dir)?;
    let mut dirs = vec![run_dir.to_path_buf()];
    dirs.extend(model_dirs(run_dir));
    if let Ok(Some((dir, _))) = rolling::latest(run_dir) {
        dirs.extend(model_dirs(&dir));
    }
    let mut removed = Vec::new();
    for d in dirs {
        removed.extend(crate::fsutil::remove_orphaned_temps(&d).map_err(|source| {
            CheckpointError::Write {
                path: d.clone(),
                source,
            }
        })?);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::checkpoint::{self, Checkpoint};
    use tch::{Device, Kind, Tensor};

    fn save(dir: &Path, identity: Option<&str>, epoch: usize) {
        let tensors = [(
            "ctx".to_string(),
            Tensor::ones([2], (Kind::Float, Device::Cpu)),
        )];
        let ckpt = Checkpoint {
            epoch,
            tensors: &tensors,
            optimizer: None,
            scheduler: None,
            scaler: None,
            val_result: None,
            identity,
            progress: None,
        };
        checkpoint::save(&dir.join("prompt_learner"), &ckpt, false).unwrap();
    }

    #[test]
    fn another_identitys_files_are_moved_aside_and_the_runs_own_stay() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("seed1");
        save(&run, Some("aaaa"), 2);
        std::fs::write(run.join("log.txt"), "old\n").unwrap();
        std::fs::write(run.join("notes.md"), "the user's\n").unwrap();
        assert!(foreign(&run, "aaaa").is_empty());
        assert_eq!(set_aside(&run, "aaaa").unwrap(), None);
        // The same folder under another identity (a new OPTIM.LR).
        let moved = set_aside(&run, "bbbb").unwrap().expect("foreign state");
        assert_eq!(
            moved.reasons,
            ["prompt_learner/model.pth.tar-2 of run identity aaaa"]
        );
        assert!(moved
            .to
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("seed1.stale-"));
        assert!(moved.to.join("prompt_learner/model.pth.tar-2").is_file());
        assert!(moved.to.join("log.txt").is_file());
        assert!(!run.join("prompt_learner").exists() && !run.join("log.txt").exists());
        assert!(run.join("notes.md").is_file(), "only run files move");
        // Checkpoints without an identity (Python's, 0.1's) are never resumed either.
        save(&run, None, 1);
        let moved = set_aside(&run, "bbbb").unwrap().unwrap();
        assert!(
            moved.reasons[0].contains("no run identity recorded"),
            "{moved:?}"
        );
        // A result of another identity.
        std::fs::write(run.join("result.json"), "{}").unwrap();
        let moved = set_aside(&run, "bbbb").unwrap().unwrap();
        assert_eq!(moved.reasons, ["an unreadable result.json"]);
    }

    #[test]
    fn resuming_a_checkpoint_of_another_identity_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        save(tmp.path(), Some("aaaa"), 3);
        let dir = tmp.path().join("prompt_learner");
        let r = checkpoint::resume(&dir, Some("aaaa"), None, None, None).unwrap();
        assert_eq!(r.unwrap().start_epoch, 3);
        let e = checkpoint::resume(&dir, Some("bbbb"), None, None, None).unwrap_err();
        assert!(
            matches!(&e, CheckpointError::OtherRun { found: Some(f), .. } if f == "aaaa"),
            "{e}"
        );
        assert!(e.to_string().contains("never resumed"), "{e}");
    }
}
