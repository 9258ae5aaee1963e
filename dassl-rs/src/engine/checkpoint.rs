//! Dassl's checkpoint files (`dassl/utils/torchtools.py`) for one registered model name.
//!
//! Layout of `OUTPUT_DIR/<name>/`, with Dassl's file names so scripts that look for them
//! keep working; the content differs because PyTorch pickles cannot be written from Rust:
//!
//! | file | content |
//! |---|---|
//! | `model.pth.tar-<epoch>` | **safetensors** of the model's `state_dict` tensors |
//! | `model.pth.tar-<epoch>.json` | epoch, val_result, optimizer / scheduler / scaler state |
//! | `model.pth.tar-<epoch>.optim` | safetensors of the optimizer buffers (when it has any) |
//! | `checkpoint` | the basename of the last saved file and a newline |
//! | `model-best.pth.tar` (+ `.json`, `.optim`) | a copy of the above when `is_best` |
//!
//! Every file is written to a temporary name and renamed, and `checkpoint` is written
//! last, so it never names a half-written set. [`load`] also reads CoOp's released
//! PyTorch checkpoints (torch.save zip pickles) natively, with a small zip + pickle
//! reader below: `clip::weights::read_archive_tensors` only walks TorchScript module
//! objects, not the nested dict `{"state_dict": {...}, "epoch": ..., ...}` Dassl saves.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::errors::CheckpointError;
use crate::fsutil::write_atomic;
use crate::optim::{
    DynamicLossScaler, LrScheduler, Optimizer, OptimizerState, ScalerState, SchedulerState,
};
use crate::torchzip::{le16, le32, le64, storage_kind, zip_entries};

/// Dassl's name of the best-validation checkpoint.
pub const BEST_NAME: &str = "model-best.pth.tar";
/// The text file naming the last checkpoint.
pub const POINTER_NAME: &str = "checkpoint";
const FORMAT: &str = "dassl-rs checkpoint 1";

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
}

/// The JSON sidecar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    pub format: String,
    pub epoch: usize,
    pub val_result: Option<f64>,
    pub optimizer: Option<OptimizerState>,
    /// Basename of the optimizer-buffer safetensors file, if written.
    pub optimizer_tensors: Option<String>,
    pub scheduler: Option<SchedulerState>,
    pub scaler: Option<ScalerState>,
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

fn torch_err(path: &Path) -> impl FnOnce(tch::TchError) -> CheckpointError + '_ {
    move |source| CheckpointError::Torch {
        path: path.to_path_buf(),
        source: Box::new(source),
    }
}

/// Writes a safetensors file through a temporary name, so readers never see half of it.
fn write_safetensors_atomic(
    path: &Path,
    tensors: &[(String, Tensor)],
) -> Result<(), CheckpointError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let cpu: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(k, t)| {
            Ok((
                k.clone(),
                t.f_detach()?.f_to_device(Device::Cpu)?.f_contiguous()?,
            ))
        })
        .collect::<Result<_, tch::TchError>>()
        .map_err(torch_err(path))?;
    let result = Tensor::write_safetensors(&cpu, &tmp)
        .map_err(torch_err(path))
        .and_then(|()| {
            File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(write_err(path))
        })
        .and_then(|()| std::fs::rename(&tmp, path).map_err(write_err(path)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn copy_atomic(from: &Path, to: &Path) -> Result<(), CheckpointError> {
    let bytes = std::fs::read(from).map_err(read_err(from))?;
    write_atomic(to, &bytes).map_err(write_err(to))
}

/// Dassl's `save_checkpoint`: writes `dir/model.pth.tar-<epoch>` (+ sidecars), points
/// `dir/checkpoint` at it, and copies it to `model-best.pth.tar` when `is_best`.
/// Returns the path of the model file.
pub fn save(dir: &Path, ckpt: &Checkpoint<'_>, is_best: bool) -> Result<PathBuf, CheckpointError> {
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let name = model_file_name(ckpt.epoch);
    let path = dir.join(&name);
    let optim_tensors = ckpt
        .optimizer
        .map(Optimizer::state_tensors)
        .unwrap_or_default();
    let optim_name = format!("{name}.optim");
    if !optim_tensors.is_empty() {
        write_safetensors_atomic(&dir.join(&optim_name), &optim_tensors)?;
    }
    let tensors: Vec<(String, Tensor)> = ckpt
        .tensors
        .iter()
        .map(|(k, t)| {
            (
                k.strip_prefix("module.").unwrap_or(k).to_string(),
                t.shallow_clone(),
            )
        })
        .collect();
    write_safetensors_atomic(&path, &tensors)?;
    let sidecar = Sidecar {
        format: FORMAT.into(),
        epoch: ckpt.epoch,
        val_result: ckpt.val_result,
        optimizer: ckpt.optimizer.map(Optimizer::state),
        optimizer_tensors: (!optim_tensors.is_empty()).then(|| optim_name.clone()),
        scheduler: ckpt.scheduler.map(LrScheduler::state),
        scaler: ckpt.scaler.map(DynamicLossScaler::state),
    };
    let json_path = dir.join(format!("{name}.json"));
    write_sidecar(&json_path, &sidecar)?;
    let pointer = dir.join(POINTER_NAME);
    write_atomic(&pointer, format!("{name}\n").as_bytes()).map_err(write_err(&pointer))?;
    if is_best {
        let best = dir.join(BEST_NAME);
        let mut best_sidecar = sidecar;
        if best_sidecar.optimizer_tensors.is_some() {
            let best_optim = format!("{BEST_NAME}.optim");
            copy_atomic(&dir.join(&optim_name), &dir.join(&best_optim))?;
            best_sidecar.optimizer_tensors = Some(best_optim);
        }
        copy_atomic(&path, &best)?;
        write_sidecar(&dir.join(format!("{BEST_NAME}.json")), &best_sidecar)?;
    }
    Ok(path)
}

fn write_sidecar(path: &Path, sidecar: &Sidecar) -> Result<(), CheckpointError> {
    let text = serde_json::to_string_pretty(sidecar).map_err(|e| CheckpointError::Format {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    write_atomic(path, text.as_bytes()).map_err(write_err(path))
}

fn read_sidecar(path: &Path) -> Result<Option<Sidecar>, CheckpointError> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(read_err(path))?;
    let sidecar: Sidecar = serde_json::from_str(&text).map_err(|e| CheckpointError::Format {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if sidecar.format != FORMAT {
        return Err(CheckpointError::Format {
            path: path.to_path_buf(),
            reason: format!("unknown format {:?} (expected {FORMAT:?})", sidecar.format),
        });
    }
    Ok(Some(sidecar))
}

fn sidecar_path(model_file: &Path) -> PathBuf {
    let mut s = model_file.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

fn is_zip(path: &Path) -> Result<bool, CheckpointError> {
    let mut head = [0u8; 4];
    let mut f = File::open(path).map_err(read_err(path))?;
    let n = f.read(&mut head).map_err(read_err(path))?;
    Ok(n == 4 && head == *b"PK\x03\x04")
}

/// Reads one model file: dassl-rs safetensors (with its sidecar) or a PyTorch checkpoint.
pub fn read_model_file(path: &Path) -> Result<Loaded, CheckpointError> {
    if !path.is_file() {
        return Err(CheckpointError::NotFound {
            path: path.to_path_buf(),
        });
    }
    if is_zip(path)? {
        let t = read_torch_checkpoint(path)?;
        return Ok(Loaded {
            path: path.to_path_buf(),
            tensors: t.state_dict,
            epoch: t.epoch,
            val_result: t.val_result,
        });
    }
    let mut tensors = Tensor::read_safetensors(path).map_err(torch_err(path))?;
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let sidecar = read_sidecar(&sidecar_path(path))?;
    Ok(Loaded {
        path: path.to_path_buf(),
        tensors,
        epoch: sidecar.as_ref().map(|s| s.epoch),
        val_result: sidecar.and_then(|s| s.val_result),
    })
}

/// Dassl's `load_model` file choice: `model-best.pth.tar` when `epoch` is None, else
/// `model.pth.tar-<epoch>`; a missing file is an error naming it.
pub fn load(dir: &Path, epoch: Option<usize>) -> Result<Loaded, CheckpointError> {
    let name = epoch
        .map(model_file_name)
        .unwrap_or_else(|| BEST_NAME.to_string());
    read_model_file(&dir.join(name))
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

/// Dassl's `resume_from_checkpoint`: reads `dir/checkpoint`, restores the optimizer,
/// scheduler and scaler given (when the checkpoint holds their state) and returns the
/// model tensors and start epoch. `Ok(None)` when there is no `checkpoint` file (Dassl's
/// "No checkpoint found, train from scratch").
pub fn resume(
    dir: &Path,
    optimizer: Option<&mut Optimizer>,
    scheduler: Option<&mut LrScheduler>,
    scaler: Option<&mut DynamicLossScaler>,
) -> Result<Option<Resumed>, CheckpointError> {
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
    let path = dir.join(&name);
    if !path.is_file() {
        return Err(CheckpointError::NotFound { path });
    }
    if is_zip(&path)? {
        return Err(CheckpointError::Format {
            path,
            reason:
                "a PyTorch checkpoint cannot be resumed (its optimizer and scheduler state are \
                     Python pickles); load its weights with --model-dir/--load-epoch instead"
                    .into(),
        });
    }
    let json = sidecar_path(&path);
    let sidecar =
        read_sidecar(&json)?.ok_or_else(|| CheckpointError::NotFound { path: json.clone() })?;
    let mut tensors = Tensor::read_safetensors(&path).map_err(torch_err(&path))?;
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    if let (Some(opt), Some(state)) = (optimizer, &sidecar.optimizer) {
        let buffers = match &sidecar.optimizer_tensors {
            Some(f) => {
                let p = dir.join(f);
                if !p.is_file() {
                    return Err(CheckpointError::NotFound { path: p });
                }
                Tensor::read_safetensors(&p).map_err(torch_err(&p))?
            }
            None => Vec::new(),
        };
        opt.load_state(state, &buffers)?;
    }
    if let (Some(s), Some(state)) = (scheduler, &sidecar.scheduler) {
        s.load_state(state.clone());
    }
    if let (Some(s), Some(state)) = (scaler, &sidecar.scaler) {
        s.load_state(state.clone());
    }
    Ok(Some(Resumed {
        path,
        start_epoch: sidecar.epoch,
        tensors,
        val_result: sidecar.val_result,
    }))
}

// ---------------------------------------------------------------------------------------
// PyTorch checkpoints: torch.save's zip format (`<root>/data.pkl` + `<root>/data/<key>`).

/// The parts of a Dassl checkpoint dict that matter for loading weights.
#[derive(Debug)]
pub struct TorchCheckpoint {
    /// `checkpoint["state_dict"]`, sorted by name, `module.` prefixes stripped.
    pub state_dict: Vec<(String, Tensor)>,
    pub epoch: Option<usize>,
    pub val_result: Option<f64>,
}

/// Reads a Dassl/CoOp checkpoint written by `torch.save` (PyTorch >= 1.6 zip format).
pub fn read_torch_checkpoint(path: &Path) -> Result<TorchCheckpoint, CheckpointError> {
    let bad = |reason: String| CheckpointError::Format {
        path: path.to_path_buf(),
        reason,
    };
    let mut file = File::open(path).map_err(read_err(path))?;
    let entries = zip_entries(&mut file).map_err(|e| bad(e.to_string()))?;
    let pkl = entries
        .keys()
        .filter(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
        .min()
        .cloned()
        .ok_or_else(|| bad("no <root>/data.pkl entry (not a torch.save file)".into()))?;
    let root = pkl.trim_end_matches("data.pkl").to_string();
    if let Some(order) = entries.get(&format!("{root}byteorder")) {
        if order.read(&mut file).map_err(read_err(path))? != b"little" {
            return Err(bad("big-endian checkpoints are not supported".into()));
        }
    }
    let pickle = entries[&pkl].read(&mut file).map_err(read_err(path))?;
    let top = Unpickler::new(&pickle)
        .run()
        .map_err(|e| bad(format!("data.pkl: {e}")))?;
    let Py::Dict(items) = top else {
        return Err(bad("the pickled object is not a dict".into()));
    };
    let get = |key: &str| {
        items
            .iter()
            .find(|(k, _)| matches!(k, Py::Str(s) if s == key))
            .map(|(_, v)| v)
    };
    let Some(Py::Dict(sd)) = get("state_dict") else {
        return Err(bad("no state_dict entry".into()));
    };
    let mut state_dict = Vec::new();
    for (k, v) in sd {
        let (Py::Str(name), Py::Tensor(t)) = (k, v) else {
            continue;
        };
        let key = format!("{root}data/{}", t.storage_key);
        let entry = entries
            .get(&key)
            .ok_or_else(|| bad(format!("no entry {key} for {name}")))?;
        let bytes = entry.read(&mut file).map_err(read_err(path))?;
        let numel = (bytes.len() / t.kind.elt_size_in_bytes()) as i64;
        let tensor = Tensor::f_from_data_size(&bytes, &[numel], t.kind)
            .and_then(|s| s.f_as_strided(t.size.as_slice(), t.stride.as_slice(), t.offset))
            .and_then(|v| v.f_contiguous())
            .map_err(|e| bad(format!("tensor {name}: {e}")))?;
        state_dict.push((
            name.strip_prefix("module.").unwrap_or(name).to_string(),
            tensor,
        ));
    }
    state_dict.sort_by(|a, b| a.0.cmp(&b.0));
    let epoch = match get("epoch") {
        Some(Py::Int(e)) => usize::try_from(*e).ok(),
        _ => None,
    };
    let val_result = match get("val_result") {
        Some(Py::Float(f)) => Some(*f),
        Some(Py::Int(i)) => Some(*i as f64),
        _ => None,
    };
    Ok(TorchCheckpoint {
        state_dict,
        epoch,
        val_result,
    })
}

/// A tensor rebuilt by `torch._utils._rebuild_tensor_v2`, data not read yet.
#[derive(Debug, Clone)]
struct TensorRef {
    storage_key: String,
    kind: Kind,
    offset: i64,
    size: Vec<i64>,
    stride: Vec<i64>,
}

/// Pickle values, as far as a Dassl checkpoint dict needs them. Memoized values are copied,
/// not shared: fine here, since the entries read (state_dict tensors, epoch, val_result)
/// are complete before any later reference to them.
#[derive(Debug, Clone)]
enum Py {
    None,
    Int(i64),
    Float(f64),
    Str(String),
    Tuple(Vec<Py>),
    List(Vec<Py>),
    Dict(Vec<(Py, Py)>),
    Global(String),
    Storage(String, Kind),
    Tensor(TensorRef),
    /// An instance made by NEWOBJ or an unknown REDUCE (schedulers, optimizers, ...).
    Other,
}

impl Py {
    fn int(&self) -> Result<i64, String> {
        match self {
            Py::Int(i) => Ok(*i),
            v => Err(format!("expected an int, found {v:?}")),
        }
    }

    fn ints(&self) -> Result<Vec<i64>, String> {
        match self {
            Py::Tuple(v) | Py::List(v) => v.iter().map(Py::int).collect(),
            v => Err(format!("expected a tuple of ints, found {v:?}")),
        }
    }
}

/// A pickle machine for the opcodes torch.save emits (protocol 2, plus the protocol-4
/// framing ones in case a file was saved with a higher `pickle_protocol`).
struct Unpickler<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Py>,
    marks: Vec<usize>,
    memo: HashMap<u32, Py>,
}

impl<'a> Unpickler<'a> {
    fn new(data: &'a [u8]) -> Self {
        Unpickler {
            data,
            pos: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or("truncated pickle")?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32_arg(&mut self) -> Result<u32, String> {
        Ok(le32(self.take(4)?, 0))
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("unterminated pickle line")?;
        self.pos += n + 1;
        Ok(String::from_utf8_lossy(&rest[..n]).into_owned())
    }

    fn pop(&mut self) -> Result<Py, String> {
        self.stack
            .pop()
            .ok_or_else(|| "pickle stack underflow".to_string())
    }

    fn pop_mark(&mut self) -> Result<Vec<Py>, String> {
        let m = self.marks.pop().ok_or("pickle mark missing")?;
        if m > self.stack.len() {
            return Err("pickle mark beyond stack".into());
        }
        Ok(self.stack.split_off(m))
    }

    fn push_str(&mut self, n: usize) -> Result<(), String> {
        let s = String::from_utf8_lossy(self.take(n)?).into_owned();
        self.stack.push(Py::Str(s));
        Ok(())
    }

    fn memoize(&mut self, i: u32) -> Result<(), String> {
        let v = self.stack.last().cloned().ok_or("PUT on an empty stack")?;
        self.memo.insert(i, v);
        Ok(())
    }

    fn recall(&mut self, i: u32) -> Result<(), String> {
        let v = self.memo.get(&i).cloned().ok_or("pickle memo miss")?;
        self.stack.push(v);
        Ok(())
    }

    fn run(mut self) -> Result<Py, String> {
        loop {
            let op = self.byte()?;
            match op {
                0x80 => {
                    self.byte()?;
                }
                0x95 => {
                    self.take(8)?;
                }
                b'.' => return self.pop(),
                b'(' => self.marks.push(self.stack.len()),
                b'N' => self.stack.push(Py::None),
                0x88 => self.stack.push(Py::Int(1)),
                0x89 => self.stack.push(Py::Int(0)),
                b'K' => {
                    let v = self.byte()?;
                    self.stack.push(Py::Int(i64::from(v)));
                }
                b'M' => {
                    let v = le16(self.take(2)?, 0);
                    self.stack.push(Py::Int(i64::from(v)));
                }
                b'J' => {
                    let v = self.u32_arg()? as i32;
                    self.stack.push(Py::Int(i64::from(v)));
                }
                0x8a => {
                    let n = usize::from(self.byte()?);
                    let b = self.take(n)?;
                    if n > 8 {
                        self.stack.push(Py::Other);
                        continue;
                    }
                    let mut buf = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                        [0xff; 8]
                    } else {
                        [0; 8]
                    };
                    buf[..n].copy_from_slice(b);
                    self.stack.push(Py::Int(i64::from_le_bytes(buf)));
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.stack.push(Py::Float(f64::from_be_bytes(a)));
                }
                0x8c | b'U' => {
                    let n = usize::from(self.byte()?);
                    self.push_str(n)?;
                }
                b'X' | b'T' => {
                    let n = self.u32_arg()? as usize;
                    self.push_str(n)?;
                }
                0x8d => {
                    let n =
                        usize::try_from(le64(self.take(8)?, 0)).map_err(|_| "string too long")?;
                    self.push_str(n)?;
                }
                b'C' | b'B' | 0x8e => {
                    let n = match op {
                        b'C' => usize::from(self.byte()?),
                        b'B' => self.u32_arg()? as usize,
                        _ => {
                            usize::try_from(le64(self.take(8)?, 0)).map_err(|_| "bytes too long")?
                        }
                    };
                    self.take(n)?;
                    self.stack.push(Py::Other);
                }
                b')' => self.stack.push(Py::Tuple(vec![])),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Py::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n {
                        return Err("pickle stack underflow".into());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Py::Tuple(items));
                }
                b']' => self.stack.push(Py::List(vec![])),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Py::List(items));
                }
                b'a' => {
                    let v = self.pop()?;
                    if let Some(Py::List(l)) = self.stack.last_mut() {
                        l.push(v);
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    if let Some(Py::List(l)) = self.stack.last_mut() {
                        l.extend(items);
                    }
                }
                b'}' => self.stack.push(Py::Dict(vec![])),
                b'd' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Py::Dict(pairs(items)));
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    if let Some(Py::Dict(d)) = self.stack.last_mut() {
                        d.push((k, v));
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if let Some(Py::Dict(d)) = self.stack.last_mut() {
                        d.extend(pairs(items));
                    }
                }
                0x8f => self.stack.push(Py::Other), // EMPTY_SET
                0x90 => {
                    self.pop_mark()?; // ADDITEMS
                }
                0x91 => {
                    self.pop_mark()?; // FROZENSET
                    self.stack.push(Py::Other);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Py::Global(format!("{module}.{name}")));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let g = match (module, name) {
                        (Py::Str(m), Py::Str(n)) => format!("{m}.{n}"),
                        _ => String::new(),
                    };
                    self.stack.push(Py::Global(g));
                }
                b'q' => {
                    let i = u32::from(self.byte()?);
                    self.memoize(i)?;
                }
                b'r' => {
                    let i = self.u32_arg()?;
                    self.memoize(i)?;
                }
                0x94 => {
                    let i = self.memo.len() as u32;
                    self.memoize(i)?;
                }
                b'h' => {
                    let i = u32::from(self.byte()?);
                    self.recall(i)?;
                }
                b'j' => {
                    let i = self.u32_arg()?;
                    self.recall(i)?;
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.stack.push(persistent(pid)?);
                }
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    self.stack.push(reduce(f, args)?);
                }
                0x81 => {
                    self.pop()?;
                    self.pop()?;
                    self.stack.push(Py::Other);
                }
                0x92 => {
                    self.pop()?;
                    self.pop()?;
                    self.pop()?;
                    self.stack.push(Py::Other);
                }
                b'b' => {
                    self.pop()?; // BUILD: object state is never needed here
                }
                op => {
                    return Err(format!(
                        "unsupported pickle opcode 0x{op:02x} at byte {}",
                        self.pos - 1
                    ))
                }
            }
        }
    }
}

fn pairs(items: Vec<Py>) -> Vec<(Py, Py)> {
    let mut it = items.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// `('storage', <storage class>, key, location, numel)`.
fn persistent(pid: Py) -> Result<Py, String> {
    match pid {
        Py::Tuple(items) => match items.as_slice() {
            [Py::Str(tag), Py::Global(class), Py::Str(key), ..] if tag == "storage" => {
                let kind =
                    storage_kind(class).ok_or_else(|| format!("unsupported storage {class}"))?;
                Ok(Py::Storage(key.clone(), kind))
            }
            _ => Err(format!("unsupported persistent id {items:?}")),
        },
        other => Err(format!("unsupported persistent id {other:?}")),
    }
}

/// The calls that matter: tensor rebuilding and dict-like constructors.
fn reduce(f: Py, args: Py) -> Result<Py, String> {
    let Py::Global(name) = &f else {
        return Ok(Py::Other);
    };
    let Py::Tuple(args) = args else {
        return Ok(Py::Other);
    };
    match name.as_str() {
        "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
            let Some(Py::Storage(key, kind)) = args.first() else {
                return Err(format!("{name} without a storage"));
            };
            let get = |i: usize| {
                args.get(i)
                    .ok_or_else(|| format!("{name}: too few arguments"))
            };
            Ok(Py::Tensor(TensorRef {
                storage_key: key.clone(),
                kind: *kind,
                offset: get(1)?.int()?,
                size: get(2)?.ints()?,
                stride: get(3)?.ints()?,
            }))
        }
        "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
            Ok(args.into_iter().next().unwrap_or(Py::None))
        }
        "collections.OrderedDict" | "collections.defaultdict" => Ok(Py::Dict(vec![])),
        _ => Ok(Py::Other),
    }
}

#[cfg(test)]
mod tests;
