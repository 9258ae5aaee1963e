//! Optimizers, learning-rate schedulers and dynamic loss scaling for the training engine.
//!
//! The optimizers are written on plain tch tensors rather than `tch::nn::Optimizer`
//! because tch hides the momentum / moment buffers, and Dassl's checkpoints (and so
//! `resume`) need them. Everything here follows PyTorch's own update rules, so a run
//! matches `torch.optim` to float rounding (see the parity fixtures in
//! `tests/fixtures/optim`).

pub mod optimizer;
pub mod scaler;
pub mod scheduler;

#[cfg(test)]
mod tests;

pub use optimizer::{OptimName, OptimSettings, Optimizer, OptimizerState, AVAI_OPTIMS};
pub use scaler::{DynamicLossScaler, ScalerState};
pub use scheduler::{LrScheduler, SchedSettings, SchedulerState, WarmupType, AVAI_SCHEDS};
