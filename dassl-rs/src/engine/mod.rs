//! The trainer interface that `dassl train` drives (Dassl's `TrainerBase` surface).

pub mod checkpoint;
pub mod meters;
pub mod result;
pub mod tensorboard;
pub mod trainer_x;

use std::path::Path;

use crate::errors::EngineError;

/// What `train.py`'s `main` calls on a built trainer.
pub trait Trainer {
    /// `trainer.train()`: the whole loop from the (possibly resumed) start epoch.
    fn train(&mut self) -> Result<(), EngineError>;
    /// `trainer.test(split)`: evaluates and returns the accuracy.
    fn test(&mut self, split: Option<&str>) -> Result<f64, EngineError>;
    /// `trainer.load_model(directory, epoch)` for `--eval-only`.
    fn load_model(&mut self, directory: &Path, epoch: Option<usize>) -> Result<(), EngineError>;
}
