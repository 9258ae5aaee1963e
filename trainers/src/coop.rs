//! CoOp: learnable context vectors in front of (or around) the class token.

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::engine::Trainer;
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::registry::TrainerEntry;

inventory::submit! {
    TrainerEntry { name: "CoOp", extend_cfg, build }
}

/// CoOp's `extend_cfg` (train.py), CoOp part.
fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    b.declare("TRAINER.COOP.N_CTX", "16", "CoOp")?;
    b.declare("TRAINER.COOP.CSC", "False", "CoOp")?;
    b.declare("TRAINER.COOP.CTX_INIT", "''", "CoOp")?;
    b.declare("TRAINER.COOP.PREC", "'fp16'", "CoOp")?;
    b.declare("TRAINER.COOP.CLASS_TOKEN_POSITION", "'end'", "CoOp")?;
    b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", "CoOp")
}

/// CoOp's `check_cfg`, plus the checks its code makes later with asserts.
fn check_cfg(cfg: &Config) -> Result<(), ConfigError> {
    crate::check_choice(cfg, "TRAINER.COOP.PREC", &["fp16", "fp32", "amp"])?;
    crate::check_choice(cfg, "TRAINER.COOP.CLASS_TOKEN_POSITION", &["end", "middle", "front"])?;
    if cfg.str("TRAINER.COOP.CTX_INIT")?.is_empty() && cfg.int("TRAINER.COOP.N_CTX")? < 1 {
        return Err(ConfigError::InvalidChoice {
            key: "TRAINER.COOP.N_CTX".into(),
            value: cfg.int("TRAINER.COOP.N_CTX")?.to_string(),
            expected: "a positive number of context vectors".into(),
        });
    }
    Ok(())
}

fn build(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    check_cfg(cfg)?;
    Err(EngineError::TrainerUnavailable { trainer: "CoOp", reason: "the prompt-learning engine lands with the trainers issue" })
}
