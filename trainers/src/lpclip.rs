//! Linear-probe CLIP (CoOp's lpclip): logistic regression on frozen image features.

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::engine::Trainer;
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::registry::TrainerEntry;

inventory::submit! {
    TrainerEntry { name: "LinearProbeCLIP", extend_cfg, build }
}

/// The search over the inverse regularisation strength C, as lpclip/linear_probe.py does.
fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", "LinearProbeCLIP")
}

fn build(_: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    Err(EngineError::TrainerUnavailable { trainer: "LinearProbeCLIP", reason: "the linear probe lands with the trainers issue" })
}
