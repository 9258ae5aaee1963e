//! Dassl's `register_model` and what `TrainerBase` does with the registered models:
//! `save_model`, `resume_model_if_exist`, `load_model`, and the training step
//! (`model_backward_and_update` with `update_lr` on the epoch's last batch). A learner lends
//! its models as [`Registered`] views; nothing here knows what a model computes.

use std::path::Path;

use tch::{Kind, Tensor};

use super::checkpoint::{self, rolling, Checkpoint, Progress};
use super::trainer_x::Step;
use crate::errors::{CheckpointError, EngineError};
use crate::log_println;
use crate::optim::optimizer::Optimizer;
use crate::optim::scaler::DynamicLossScaler;
use crate::optim::scheduler::LrScheduler;

/// A model's named tensors, as PyTorch's `state_dict` / `load_state_dict`.
pub trait NamedState {
    /// What a checkpoint stores.
    fn state_dict(&self) -> Vec<(String, Tensor)>;
    /// Copies a checkpoint's tensors in (the registered dropped keys are already removed);
    /// `from` names the file for errors.
    fn load_state_dict(
        &mut self,
        tensors: &[(String, Tensor)],
        from: &Path,
    ) -> Result<(), EngineError>;
}

/// One registered model, borrowed from its learner: checkpoints live in `OUTPUT_DIR/<name>`.
pub struct Registered<'a> {
    pub name: &'static str,
    pub model: &'a mut dyn NamedState,
    pub optim: &'a mut Optimizer,
    pub sched: &'a mut LrScheduler,
    /// Stored only when enabled (AMP on a GPU), as `torch.cuda.amp.GradScaler`.
    pub scaler: &'a mut DynamicLossScaler,
    /// Keys `load_model` ignores (CoOp's `token_prefix` / `token_suffix`: they come from
    /// the current class names).
    pub dropped_on_load: &'static [&'static str],
}

impl std::fmt::Debug for Registered<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What a run stamps on its checkpoints (see [`Checkpoint`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stamp<'a> {
    pub identity: Option<&'a str>,
    pub progress: Option<Progress>,
}

/// Where [`resume_model_if_exist`] leaves the loop.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ResumePoint {
    /// The epoch to start from (0 when there is no checkpoint).
    pub start_epoch: usize,
    /// The loop state, when resumed from the rolling last-epoch checkpoint.
    pub progress: Option<Progress>,
}

fn checkpoint_of<'a>(
    m: &'a Registered<'_>,
    tensors: &'a [(String, Tensor)],
    epoch: usize,
    val_result: Option<f64>,
    stamp: Stamp<'a>,
) -> Checkpoint<'a> {
    Checkpoint {
        epoch: epoch + 1,
        tensors,
        optimizer: Some(&*m.optim),
        scheduler: Some(&*m.sched),
        scaler: m.scaler.is_enabled().then_some(&*m.scaler),
        val_result,
        identity: stamp.identity,
        progress: stamp.progress,
    }
}

/// `save_model`: every registered model; `epoch` is 0-based (files carry `epoch + 1`).
pub fn save_model(
    models: Vec<Registered<'_>>,
    dir: &Path,
    epoch: usize,
    val_result: Option<f64>,
    is_best: bool,
    stamp: Stamp<'_>,
) -> Result<(), EngineError> {
    for m in models {
        let tensors = m.model.state_dict();
        let ckpt = checkpoint_of(&m, &tensors, epoch, val_result, stamp);
        let path = checkpoint::save(&dir.join(m.name), &ckpt, is_best)?;
        // torchtools.save_checkpoint's lines.
        log_println!("Checkpoint saved to {}", path.display());
        if is_best {
            let best = dir.join(m.name).join(checkpoint::BEST_NAME);
            log_println!("Best checkpoint saved to \"{}\"", best.display());
        }
    }
    Ok(())
}

/// Saves every registered model as the run's rolling last-epoch checkpoint
/// (checkpoint/rolling.rs); `epoch` is 0-based. Nothing is logged: Dassl's log has no line
/// for it.
pub fn save_last_epoch(
    models: Vec<Registered<'_>>,
    run_dir: &Path,
    epoch: usize,
    stamp: Stamp<'_>,
) -> Result<(), EngineError> {
    let pending = rolling::begin(run_dir, epoch + 1)?;
    for m in models {
        let tensors = m.model.state_dict();
        let ckpt = checkpoint_of(&m, &tensors, epoch, None, stamp);
        let path = pending
            .dir()
            .join(m.name)
            .join(checkpoint::model_file_name(epoch + 1));
        let bytes = checkpoint::encode(&path, &ckpt)?;
        crate::fsutil::write_atomic(&path, &bytes)
            .map_err(|source| CheckpointError::Write { path, source })?;
    }
    pending.commit()?;
    Ok(())
}

/// Dassl's `load_pretrained_weights` (MODEL.INIT_WEIGHTS): the file's tensors whose name
/// and shape match the model's state are loaded, the rest are listed as discarded, and a
/// file with no match is a warning, not an error. `dropped` keys (CoOp's class-name
/// buffers) are never taken from the file.
pub fn load_pretrained_weights(
    model: &mut dyn NamedState,
    dropped: &[&str],
    path: &Path,
) -> Result<(), EngineError> {
    let mut file = checkpoint::load_file(path)?.tensors;
    checkpoint::drop_keys(&mut file, dropped);
    let mut state = model.state_dict();
    let mut discarded = Vec::new();
    let mut matched = 0;
    for (key, value) in file {
        match state.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) if slot.size() == value.size() => {
                *slot = value;
                matched += 1;
            }
            _ => discarded.push(key),
        }
    }
    model.load_state_dict(&state, path)?;
    if matched == 0 {
        eprintln!(
            "UserWarning: Cannot load {} (check the key names manually)",
            path.display()
        );
    } else {
        log_println!(
            "Successfully loaded pretrained weights from {}",
            path.display()
        );
        if !discarded.is_empty() {
            let quoted: Vec<String> = discarded.iter().map(|k| format!("'{k}'")).collect();
            log_println!(
                "Layers discarded due to unmatched keys or size: [{}]",
                quoted.join(", ")
            );
        }
    }
    Ok(())
}

/// `resume_model_if_exist`: restores every registered model with its optimizer, scheduler
/// and scaler, from the rolling last-epoch checkpoint when there is one (and Dassl's
/// `checkpoint` file names no later epoch), else from Dassl's checkpoint. With an
/// `identity`, only checkpoints stamped with it are resumed.
pub fn resume_model_if_exist(
    models: Vec<Registered<'_>>,
    dir: &Path,
    identity: Option<&str>,
) -> Result<ResumePoint, EngineError> {
    let rolling = rolling::latest(dir)?;
    let mut point = ResumePoint::default();
    for (i, m) in models.into_iter().enumerate() {
        let dassl = checkpoint::pointed(&dir.join(m.name))?;
        let dassl_epoch = dassl.as_ref().and_then(|p| {
            p.file_name()?
                .to_str()?
                .strip_prefix("model.pth.tar-")?
                .parse()
                .ok()
        });
        let file = match &rolling {
            Some((r, e)) if dassl_epoch.is_none_or(|de: usize| de <= *e) => {
                Some(r.join(m.name).join(checkpoint::model_file_name(*e)))
            }
            _ => dassl,
        };
        let Some(file) = file else {
            log_println!("No checkpoint found, train from scratch");
            return Ok(ResumePoint::default());
        };
        let scaler = if m.scaler.is_enabled() {
            Some(&mut *m.scaler)
        } else {
            None
        };
        let mut r = checkpoint::resume_file(&file, identity, Some(m.optim), Some(m.sched), scaler)?;
        if i == 0 {
            log_println!(
                "Found checkpoint at {} (will resume training)",
                dir.display()
            );
        }
        checkpoint::drop_keys(&mut r.tensors, m.dropped_on_load);
        m.model.load_state_dict(&r.tensors, &r.path)?;
        log_println!("Loaded checkpoint from \"{}\"", r.path.display());
        point = ResumePoint {
            start_epoch: r.start_epoch,
            progress: r.progress,
        };
    }
    Ok(point)
}

/// `load_model(directory, epoch)`: the weights of every registered model, for evaluation.
pub fn load_model(
    models: Vec<Registered<'_>>,
    dir: &Path,
    epoch: Option<usize>,
) -> Result<(), EngineError> {
    if models.is_empty() {
        log_println!("Note that load_model() is skipped as no pretrained model is given");
    }
    for m in models {
        let mut loaded = checkpoint::load(&dir.join(m.name), epoch)?;
        checkpoint::drop_keys(&mut loaded.tensors, m.dropped_on_load);
        log_println!(
            "Loading weights to {} from \"{}\" (epoch = {})",
            m.name,
            loaded.path.display(),
            loaded
                .epoch
                .map(|e| e.to_string())
                .unwrap_or_else(|| "None".into())
        );
        m.model.load_state_dict(&loaded.tensors, &loaded.path)?;
    }
    Ok(())
}

/// One optimisation step on `loss`: Dassl's anomaly check, `model_backward_and_update`
/// (through the loss scaler when it is enabled) and, on the epoch's last batch,
/// `update_lr` as CoOp's trainers call it. Returns the loss value; `nan_hint` ends the
/// error a NaN loss raises.
pub fn backward_and_update(
    loss: &Tensor,
    step: Step,
    optim: &mut Optimizer,
    sched: &mut LrScheduler,
    scaler: &mut DynamicLossScaler,
    nan_hint: &str,
) -> Result<f64, EngineError> {
    let loss_value = loss.to_kind(Kind::Double).double_value(&[]);
    if !loss_value.is_finite() {
        return Err(EngineError::NonFiniteLoss {
            epoch: step.epoch + 1,
            batch: step.batch_idx + 1,
            hint: nan_hint.to_string(),
        });
    }
    optim.zero_grad();
    if scaler.is_enabled() {
        scaler.scale(loss)?.backward();
        scaler.step(optim)?;
        scaler.update()?;
    } else {
        loss.backward();
        optim.step()?;
    }
    if step.is_last_batch() {
        sched.step(optim);
    }
    Ok(loss_value)
}

/// Dassl's `compute_accuracy` (top-1, in percent).
pub fn accuracy(output: &Tensor, labels: &Tensor) -> f64 {
    output
        .argmax(1, false)
        .eq_tensor(labels)
        .to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[])
        * 100.0
}
