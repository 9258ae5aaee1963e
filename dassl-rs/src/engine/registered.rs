//! Dassl's `register_model` and what `TrainerBase` does with the registered models:
//! `save_model`, `resume_model_if_exist`, `load_model`, and the training step
//! (`model_backward_and_update` with `update_lr` on the epoch's last batch). A learner lends
//! its models as [`Registered`] views; nothing here knows what a model computes.

use std::path::Path;

use tch::{Kind, Tensor};

use super::checkpoint::{self, Checkpoint};
use super::trainer_x::Step;
use crate::errors::EngineError;
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

/// `save_model`: every registered model; `epoch` is 0-based (files carry `epoch + 1`).
pub fn save_model(
    models: Vec<Registered<'_>>,
    dir: &Path,
    epoch: usize,
    val_result: Option<f64>,
    is_best: bool,
) -> Result<(), EngineError> {
    for m in models {
        let tensors = m.model.state_dict();
        let ckpt = Checkpoint {
            epoch: epoch + 1,
            tensors: &tensors,
            optimizer: Some(m.optim),
            scheduler: Some(m.sched),
            scaler: m.scaler.is_enabled().then_some(&*m.scaler),
            val_result,
        };
        checkpoint::save(&dir.join(m.name), &ckpt, is_best)?;
    }
    Ok(())
}

/// `resume_model_if_exist`: restores every registered model with its optimizer, scheduler
/// and scaler; returns the epoch to start from (0 when there is no checkpoint).
pub fn resume_model_if_exist(
    models: Vec<Registered<'_>>,
    dir: &Path,
) -> Result<usize, EngineError> {
    let mut start_epoch = 0;
    for (i, m) in models.into_iter().enumerate() {
        let scaler = if m.scaler.is_enabled() {
            Some(&mut *m.scaler)
        } else {
            None
        };
        let resumed = checkpoint::resume(&dir.join(m.name), Some(m.optim), Some(m.sched), scaler)?;
        let Some(mut r) = resumed else {
            log_println!("No checkpoint found, train from scratch");
            return Ok(0);
        };
        if i == 0 {
            log_println!(
                "Found checkpoint at {} (will resume training)",
                dir.display()
            );
        }
        checkpoint::drop_keys(&mut r.tensors, m.dropped_on_load);
        m.model.load_state_dict(&r.tensors, &r.path)?;
        log_println!("Loaded checkpoint from \"{}\"", r.path.display());
        start_epoch = r.start_epoch;
    }
    Ok(start_epoch)
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
