//! Dassl's checkpoint files (`dassl/utils/torchtools.py`) for one registered model name,
//! in `torch.save`'s format, so `torch.load`, CoOp's `load_model` and
//! `interpret_prompt.py` read ours and we read theirs.
//!
//! Layout of `OUTPUT_DIR/<name>/`, as Dassl's `save_checkpoint` writes it:
//!
//! | file | content |
//! |---|---|
//! | `model.pth.tar-<epoch>` | a `torch.save` dict (below) |
//! | `checkpoint` | the basename of the last saved file and a newline |
//! | `model-best.pth.tar` | a copy of the above when `is_best` |
//!
//! The dict holds Dassl's keys `state_dict` (an `OrderedDict` of tensors, `module.`
//! stripped), `epoch` (1-based), `optimizer`, `scheduler` (torch's `state_dict()` layouts,
//! see `checkpoint/state.rs`) and `val_result` (float or None), then what a bit-identical
//! resume needs beyond them: `scaler` (`GradScaler.state_dict()`, when the run uses one)
//! and `dassl_rs` (`format`, the optimizer's step count, the run identity, and in the
//! rolling last-epoch checkpoint the loop state). Only types `torch.load`'s default
//! `weights_only` unpickler accepts are written.
//!
//! Every file is written to a temporary name and renamed. [`load`] also reads checkpoints
//! written by Python (CoOp's released ones) and dassl-rs 0.1's safetensors files
//! (`checkpoint/legacy.rs`); [`resume`] continues only runs dassl-rs saved.
//! docs/CHECKPOINTS.md describes the format for users.

mod legacy;
pub mod rolling;
pub mod stale;
mod state;

use std::path::{Path, PathBuf};

use tch::Tensor;

use crate::errors::CheckpointError;
use crate::fsutil::write_atomic;
use crate::optim::{DynamicLossScaler, LrScheduler, Optimizer};
use crate::torchfile::{self, Storages, TorchFile, TorchFileError, Value, WriteError};

/// Dassl's name of the best-validation checkpoint.
pub const BEST_NAME: &str = "model-best.pth.tar";
/// The text file naming the last checkpoint.
pub const POINTER_NAME: &str = "checkpoint";
/// `checkpoint["dassl_rs"]["format"]` of the files [`save`] writes.
pub const FORMAT: &str = "dassl-rs checkpoint 2";

/// Dassl's `model.pth.tar-<epoch>` basename.
pub fn model_file_name(epoch: usize) -> String {
    format!("model.pth.tar-{epoch}")
}

/// What one `save_model` call stores for one model name.
#[derive(Debug)]
pub struct Checkpoint<'a> {
    /// 1-based: Dassl stores `epoch + 1`, so the last of 50 epochs is `model.pth.tar-50`.
    pub epoch: usize,
    /// The model's `state_dict` (a `module.` prefix is stripped, as Dassl does).
    pub tensors: &'a [(String, Tensor)],
    pub optimizer: Option<&'a Optimizer>,
    pub scheduler: Option<&'a LrScheduler>,
    pub scaler: Option<&'a DynamicLossScaler>,
    pub val_result: Option<f64>,
    /// The run identity (config/identity.rs): a run resumes only from its own checkpoints.
    /// `None` outside `dassl train` (library use).
    pub identity: Option<&'a str>,
    /// The training loop's own state, stored in the rolling last-epoch checkpoint.
    pub progress: Option<Progress>,
}

/// What the training loop needs beyond the models to continue bit-identically: the best
/// validation result so far (`TEST.FINAL_MODEL best_val`) and the sampler's seed (the
/// shuffle and augmentation of an epoch follow from it and the epoch, data/loader.rs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub best_result: Option<f64>,
    pub sampler_seed: u64,
}

/// A checkpoint read back by [`load`].
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    /// Sorted by name.
    pub tensors: Vec<(String, Tensor)>,
    /// The stored (1-based) epoch, when the file records one.
    pub epoch: Option<usize>,
    pub val_result: Option<f64>,
}

/// What [`resume`] restored.
#[derive(Debug)]
pub struct Resumed {
    pub path: PathBuf,
    /// The epoch to start from (Dassl's `start_epoch`: the stored `epoch + 1`).
    pub start_epoch: usize,
    pub tensors: Vec<(String, Tensor)>,
    pub val_result: Option<f64>,
    /// The loop state, when the file is a rolling last-epoch checkpoint.
    pub progress: Option<Progress>,
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn entry_err(path: &Path) -> impl FnOnce(state::Bad) -> CheckpointError + '_ {
    move |b| match b {
        state::Bad::Entry { key, problem } => CheckpointError::Entry {
            path: path.to_path_buf(),
            key,
            problem,
        },
        state::Bad::File(e) => CheckpointError::File(e),
    }
}

/// The dict Dassl's `save_model` passes to `torch.save`, plus dassl-rs's resume keys.
fn checkpoint_value(ckpt: &Checkpoint<'_>, storages: &mut Storages) -> Result<Value, WriteError> {
    let mut state_dict = Vec::with_capacity(ckpt.tensors.len());
    for (k, t) in ckpt.tensors {
        let name = k.strip_prefix("module.").unwrap_or(k);
        state_dict.push((Value::Str(name.to_string()), storages.tensor(t)?));
    }
    let sched_state = ckpt.scheduler.map(LrScheduler::state);
    let initial_lr = sched_state.as_ref().map(|s| s.successor.counters.base_lr);
    let optimizer = match ckpt.optimizer {
        Some(o) => state::optimizer_value(o, initial_lr, storages)?,
        None => Value::None,
    };
    let mut items = vec![
        ("state_dict", Value::OrderedDict(state_dict)),
        ("epoch", Value::Int(ckpt.epoch as i64)),
        ("optimizer", optimizer),
        (
            "scheduler",
            sched_state
                .as_ref()
                .map_or(Value::None, state::scheduler_value),
        ),
        (
            "val_result",
            ckpt.val_result.map_or(Value::None, Value::Float),
        ),
    ];
    if let Some(s) = ckpt.scaler {
        items.push(("scaler", state::scaler_value(&s.state())));
    }
    let mut ours = vec![("format", Value::Str(FORMAT.into()))];
    if let Some(o) = ckpt.optimizer {
        ours.push(("optimizer_step_count", Value::Int(o.step_count() as i64)));
    }
    if let Some(id) = ckpt.identity {
        ours.push(("identity", Value::Str(id.into())));
    }
    if let Some(p) = ckpt.progress {
        ours.push((
            "best_result",
            p.best_result.map_or(Value::None, Value::Float),
        ));
        // Stored as the bits of an i64: the pickle's ints are signed.
        ours.push(("sampler_seed", Value::Int(p.sampler_seed as i64)));
    }
    items.push(("dassl_rs", Value::str_dict(ours)));
    Ok(Value::str_dict(items))
}

/// Dassl's `save_checkpoint`: writes `dir/model.pth.tar-<epoch>`, points `dir/checkpoint`
/// at it, and copies it to `model-best.pth.tar` when `is_best`. Returns the model file.
pub fn save(dir: &Path, ckpt: &Checkpoint<'_>, is_best: bool) -> Result<PathBuf, CheckpointError> {
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let name = model_file_name(ckpt.epoch);
    let path = dir.join(&name);
    let bytes = encode(&path, ckpt)?;
    write_atomic(&path, &bytes).map_err(write_err(&path))?;
    remove_stale_sidecars(&path)?;
    let pointer = dir.join(POINTER_NAME);
    write_atomic(&pointer, format!("{name}\n").as_bytes()).map_err(write_err(&pointer))?;
    if is_best {
        let best = dir.join(BEST_NAME);
        write_atomic(&best, &bytes).map_err(write_err(&best))?;
        remove_stale_sidecars(&best)?;
    }
    Ok(path)
}

/// The bytes `torch.save` would write for `ckpt` at `path` (the archive's root folder
/// follows the file name).
pub fn encode(path: &Path, ckpt: &Checkpoint<'_>) -> Result<Vec<u8>, CheckpointError> {
    let mut storages = Storages::new();
    let value = checkpoint_value(ckpt, &mut storages).map_err(|source| {
        CheckpointError::File(TorchFileError::Encode {
            path: path.to_path_buf(),
            source,
        })
    })?;
    // Dassl copies the file, so the best copy keeps the `model.pth` root folder.
    torchfile::to_bytes(&torchfile::archive_name(path), &value, &storages).map_err(|source| {
        CheckpointError::File(TorchFileError::Encode {
            path: path.to_path_buf(),
            source,
        })
    })
}

/// A 0.1 sidecar beside a file just replaced would describe the old file.
fn remove_stale_sidecars(model_file: &Path) -> Result<(), CheckpointError> {
    for p in legacy::sidecars(model_file) {
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(CheckpointError::Write { path: p, source: e })
            }
            _ => {}
        }
    }
    Ok(())
}

/// `checkpoint["state_dict"]`, sorted by name, `module.` prefixes stripped.
fn state_dict(file: &mut TorchFile) -> Result<Vec<(String, Tensor)>, CheckpointError> {
    let path = file.path().to_path_buf();
    let entry = |key: String, problem| CheckpointError::Entry {
        path: path.clone(),
        key,
        problem,
    };
    if !matches!(file.value(), Value::Dict(_)) {
        return Err(entry("checkpoint".into(), "is not a dict"));
    }
    let items = match file.value().get("state_dict") {
        Some(v) => v
            .items()
            .ok_or_else(|| entry("state_dict".into(), "is not a dict"))?
            .to_vec(),
        None => return Err(entry("state_dict".into(), "is missing")),
    };
    let mut out = Vec::with_capacity(items.len());
    for (k, v) in &items {
        let name = k
            .as_str()
            .ok_or_else(|| entry("state_dict".into(), "has a key that is not a str"))?;
        let t = v
            .as_tensor()
            .ok_or_else(|| entry(format!("state_dict.{name}"), "is not a tensor"))?;
        let tensor = file.tensor(t)?;
        out.push((
            name.strip_prefix("module.").unwrap_or(name).to_string(),
            tensor,
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// `checkpoint["epoch"]` and `checkpoint["val_result"]`, when they hold numbers.
fn epoch_and_val(v: &Value) -> (Option<usize>, Option<f64>) {
    let epoch = v
        .get("epoch")
        .and_then(Value::as_int)
        .and_then(|e| usize::try_from(e).ok());
    (epoch, v.get("val_result").and_then(Value::as_float))
}

/// Reads one model file: a `torch.save` checkpoint (ours or Python's) or a dassl-rs 0.1
/// safetensors file.
pub fn load_file(path: &Path) -> Result<Loaded, CheckpointError> {
    if !path.is_file() {
        return Err(CheckpointError::NotFound {
            path: path.to_path_buf(),
        });
    }
    if !torchfile::is_zip(path)? {
        return legacy::load(path);
    }
    let mut file = TorchFile::open(path)?;
    let tensors = state_dict(&mut file)?;
    let (epoch, val_result) = epoch_and_val(file.value());
    Ok(Loaded {
        path: path.to_path_buf(),
        tensors,
        epoch,
        val_result,
    })
}

/// Dassl's `load_model` file choice: `model-best.pth.tar` when `epoch` is None, else
/// `model.pth.tar-<epoch>`; a missing file is an error naming it.
pub fn load(dir: &Path, epoch: Option<usize>) -> Result<Loaded, CheckpointError> {
    let name = epoch
        .map(model_file_name)
        .unwrap_or_else(|| BEST_NAME.to_string());
    load_file(&dir.join(name))
}

/// Removes the named keys (CoOp drops `token_prefix` / `token_suffix` on load, since they
/// depend on the class names); returns the keys that were present.
pub fn drop_keys(tensors: &mut Vec<(String, Tensor)>, keys: &[&str]) -> Vec<String> {
    let mut dropped = Vec::new();
    tensors.retain(|(k, _)| {
        let drop = keys.contains(&k.as_str());
        if drop {
            dropped.push(k.clone());
        }
        !drop
    });
    dropped
}

/// Dassl's `resume_from_checkpoint`: reads `dir/checkpoint` and resumes from the file it
/// names ([`resume_file`]). `Ok(None)` when there is no `checkpoint` file (Dassl's "No
/// checkpoint found, train from scratch").
pub fn resume(
    dir: &Path,
    identity: Option<&str>,
    optimizer: Option<&mut Optimizer>,
    scheduler: Option<&mut LrScheduler>,
    scaler: Option<&mut DynamicLossScaler>,
) -> Result<Option<Resumed>, CheckpointError> {
    let Some(path) = pointed(dir)? else {
        return Ok(None);
    };
    resume_file(&path, identity, optimizer, scheduler, scaler).map(Some)
}

/// The model file `dir/checkpoint` names; `None` without a `checkpoint` file.
pub fn pointed(dir: &Path) -> Result<Option<PathBuf>, CheckpointError> {
    let pointer = dir.join(POINTER_NAME);
    if !pointer.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&pointer).map_err(read_err(&pointer))?;
    let name = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_end_matches('\r')
        .to_string();
    if name.is_empty() {
        return Err(CheckpointError::Format {
            path: pointer,
            reason: "empty checkpoint pointer".into(),
        });
    }
    Ok(Some(dir.join(&name)))
}

/// The run identity a checkpoint file records (`checkpoint["dassl_rs"]["identity"]`);
/// `None` for files without one (Python's, dassl-rs 0.1's, library use).
pub fn identity_of(path: &Path) -> Result<Option<String>, CheckpointError> {
    if !path.is_file() {
        return Err(CheckpointError::NotFound {
            path: path.to_path_buf(),
        });
    }
    if !torchfile::is_zip(path)? {
        return Ok(None);
    }
    let file = TorchFile::open(path)?;
    Ok(file
        .value()
        .get("dassl_rs")
        .and_then(|o| o.get("identity"))
        .and_then(Value::as_str)
        .map(str::to_string))
}

/// Restores the optimizer, scheduler and scaler given (when the checkpoint holds their
/// state) from one model file and returns the model tensors and start epoch. With an
/// `identity`, the file must carry that run identity. Nothing is restored unless all of
/// it reads.
pub fn resume_file(
    path: &Path,
    identity: Option<&str>,
    optimizer: Option<&mut Optimizer>,
    scheduler: Option<&mut LrScheduler>,
    scaler: Option<&mut DynamicLossScaler>,
) -> Result<Resumed, CheckpointError> {
    let path = path.to_path_buf();
    if !path.is_file() {
        return Err(CheckpointError::NotFound { path });
    }
    if !torchfile::is_zip(&path)? {
        if let Some(want) = identity {
            return Err(CheckpointError::OtherRun {
                path,
                found: None,
                expected: want.to_string(),
            });
        }
        return legacy::resume(path, optimizer, scheduler, scaler);
    }
    let mut file = TorchFile::open(&path)?;
    let top = file.value().clone();
    let ours = top.get("dassl_rs");
    if ours.and_then(|o| o.get("format")) != Some(&Value::Str(FORMAT.into())) {
        return Err(CheckpointError::NotResumable { path });
    }
    let ours = ours.expect("checked above");
    if let Some(want) = identity {
        let found = ours.get("identity").and_then(Value::as_str);
        if found != Some(want) {
            return Err(CheckpointError::OtherRun {
                found: found.map(str::to_string),
                expected: want.to_string(),
                path,
            });
        }
    }
    let progress = match (ours.get("sampler_seed"), ours.get("best_result")) {
        (Some(seed), Some(best)) => Some(Progress {
            sampler_seed: seed.as_int().ok_or_else(|| CheckpointError::Entry {
                path: path.clone(),
                key: "dassl_rs.sampler_seed".into(),
                problem: "is not an int",
            })? as u64,
            best_result: best.as_float(),
        }),
        _ => None,
    };
    let tensors = state_dict(&mut file)?;
    let (epoch, val_result) = epoch_and_val(&top);
    let start_epoch = epoch.ok_or_else(|| CheckpointError::Entry {
        path: path.clone(),
        key: "epoch".into(),
        problem: "is not a non-negative int",
    })?;
    let opt_state = match (&optimizer, top.get("optimizer")) {
        (Some(opt), Some(v)) if *v != Value::None => {
            let steps = ours
                .get("optimizer_step_count")
                .and_then(Value::as_int)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| CheckpointError::Entry {
                    path: path.clone(),
                    key: "dassl_rs.optimizer_step_count".into(),
                    problem: "is missing or not a count",
                })?;
            Some(
                state::optimizer_state(v, steps, opt.settings(), &mut file)
                    .map_err(entry_err(&path))?,
            )
        }
        _ => None,
    };
    let sched_state = match (&scheduler, top.get("scheduler")) {
        (Some(_), Some(v)) if *v != Value::None => {
            Some(state::scheduler_state(v).map_err(entry_err(&path))?)
        }
        _ => None,
    };
    let scaler_state = match (&scaler, top.get("scaler")) {
        (Some(_), Some(v)) => state::scaler_state(v).map_err(entry_err(&path))?,
        _ => None,
    };
    if let (Some(opt), Some((state, buffers))) = (optimizer, opt_state) {
        opt.load_state(&state, &buffers)?;
    }
    if let (Some(s), Some(state)) = (scheduler, sched_state) {
        s.load_state(state);
    }
    if let (Some(s), Some(state)) = (scaler, scaler_state) {
        s.load_state(state);
    }
    Ok(Resumed {
        path,
        start_epoch,
        tensors,
        val_result,
        progress,
    })
}

#[cfg(test)]
mod tests;
