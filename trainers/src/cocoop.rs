//! CoCoOp: CoOp's context conditioned on each image through a small meta-net.

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::engine::Trainer;
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::registry::TrainerEntry;

inventory::submit! {
    TrainerEntry { name: "CoCoOp", extend_cfg, build }
}

/// CoOp's `extend_cfg` (train.py), CoCoOp part.
fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    b.declare("TRAINER.COCOOP.N_CTX", "16", "CoCoOp")?;
    b.declare("TRAINER.COCOOP.CTX_INIT", "''", "CoCoOp")?;
    b.declare("TRAINER.COCOOP.PREC", "'fp16'", "CoCoOp")?;
    b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", "CoCoOp")
}

fn build(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    crate::check_choice(cfg, "TRAINER.COCOOP.PREC", &["fp16", "fp32", "amp"])?;
    Err(EngineError::TrainerUnavailable { trainer: "CoCoOp", reason: "the prompt-learning engine lands with the trainers issue" })
}
