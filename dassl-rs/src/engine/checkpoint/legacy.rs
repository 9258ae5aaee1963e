//! Reading dassl-rs 0.1 checkpoints, kept so their runs can still be resumed and loaded:
//! `model.pth.tar-<epoch>` was a safetensors file of the `state_dict`, beside a JSON
//! sidecar `<file>.json` (epoch, val_result, optimizer / scheduler / scaler state) and
//! `<file>.optim`, a safetensors file of the optimizer buffers. Nothing writes them now.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tch::Tensor;

use super::{read_err, Loaded, Resumed};
use crate::errors::CheckpointError;
use crate::optim::{
    DynamicLossScaler, LrScheduler, Optimizer, OptimizerState, ScalerState, SchedulerState,
};

const FORMAT: &str = "dassl-rs checkpoint 1";

/// The JSON sidecar.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Sidecar {
    format: String,
    epoch: usize,
    val_result: Option<f64>,
    optimizer: Option<OptimizerState>,
    /// Basename of the optimizer-buffer safetensors file, if written.
    optimizer_tensors: Option<String>,
    scheduler: Option<SchedulerState>,
    scaler: Option<ScalerState>,
}

fn torch_err(path: &Path) -> impl FnOnce(tch::TchError) -> CheckpointError + '_ {
    move |source| CheckpointError::Torch {
        path: path.to_path_buf(),
        source: Box::new(source),
    }
}

fn sidecar_path(model_file: &Path) -> PathBuf {
    let mut s = model_file.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

/// The sidecar files written beside `model_file`, which a new save must not leave behind.
pub(super) fn sidecars(model_file: &Path) -> [PathBuf; 2] {
    let mut optim = model_file.as_os_str().to_owned();
    optim.push(".optim");
    [sidecar_path(model_file), PathBuf::from(optim)]
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

fn read_tensors(path: &Path) -> Result<Vec<(String, Tensor)>, CheckpointError> {
    let mut tensors = Tensor::read_safetensors(path).map_err(torch_err(path))?;
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(tensors)
}

/// A model file that is not a zip: a 0.1 safetensors file or nothing dassl-rs reads.
fn read_model_tensors(path: &Path) -> Result<Vec<(String, Tensor)>, CheckpointError> {
    read_tensors(path).map_err(|e| CheckpointError::Format {
        path: path.to_path_buf(),
        reason: format!(
            "neither a torch.save zip file nor a dassl-rs 0.1 safetensors file \
             (PyTorch's pre-1.6 format is not read): {e}"
        ),
    })
}

/// A 0.1 model file and, when present, its sidecar's epoch and val_result.
pub(super) fn load(path: &Path) -> Result<Loaded, CheckpointError> {
    let tensors = read_model_tensors(path)?;
    let sidecar = read_sidecar(&sidecar_path(path))?;
    Ok(Loaded {
        path: path.to_path_buf(),
        tensors,
        epoch: sidecar.as_ref().map(|s| s.epoch),
        val_result: sidecar.and_then(|s| s.val_result),
    })
}

/// Resumes from a 0.1 model file and its sidecars.
pub(super) fn resume(
    path: PathBuf,
    optimizer: Option<&mut Optimizer>,
    scheduler: Option<&mut LrScheduler>,
    scaler: Option<&mut DynamicLossScaler>,
) -> Result<Resumed, CheckpointError> {
    let json = sidecar_path(&path);
    let sidecar =
        read_sidecar(&json)?.ok_or_else(|| CheckpointError::NotFound { path: json.clone() })?;
    let tensors = read_model_tensors(&path)?;
    if let (Some(opt), Some(state)) = (optimizer, &sidecar.optimizer) {
        let buffers = match &sidecar.optimizer_tensors {
            Some(f) => {
                let p = path.parent().unwrap_or(Path::new(".")).join(f);
                if !p.is_file() {
                    return Err(CheckpointError::NotFound { path: p });
                }
                read_tensors(&p)?
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
    Ok(Resumed {
        path,
        start_epoch: sidecar.epoch,
        tensors,
        val_result: sidecar.val_result,
        progress: None,
    })
}
