//! Zero-shot CLIP: a hand-written prompt per class (ZeroshotCLIP) or an ensemble of
//! templates (ZeroshotCLIP2); no training.

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::engine::Trainer;
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::registry::TrainerEntry;

inventory::submit! {
    TrainerEntry { name: "ZeroshotCLIP", extend_cfg: no_keys, build: build_single }
}

inventory::submit! {
    TrainerEntry { name: "ZeroshotCLIP2", extend_cfg: no_keys, build: build_ensemble }
}

/// Zero-shot CLIP adds no config keys (it reads CoOp's and the dataset's).
fn no_keys(_: &mut ConfigBuilder) -> Result<(), ConfigError> {
    Ok(())
}

fn build_single(_: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    Err(EngineError::TrainerUnavailable { trainer: "ZeroshotCLIP", reason: "CLIP inference lands with the CLIP and trainers issues" })
}

fn build_ensemble(_: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    Err(EngineError::TrainerUnavailable { trainer: "ZeroshotCLIP2", reason: "CLIP inference lands with the CLIP and trainers issues" })
}
