//! Test stand-ins for the trainer plugins (which live in a crate that depends on this one),
//! registered with the sweep traits the real ones declare, so sweep expansion can be tested
//! here. `tests/cli/sweep.rs` checks the same naming against the real registrations.

use super::{LabelPart, SweepTraits, Trainer, TrainerEntry};
use crate::config::{Config, ConfigBuilder};
use crate::errors::{ConfigError, EngineError};

fn no_keys(_: &mut ConfigBuilder) -> Result<(), ConfigError> {
    Ok(())
}

fn no_check(_: &Config) -> Result<(), ConfigError> {
    Ok(())
}

fn stand_in(_: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    Err(EngineError::TrainerUnavailable {
        trainer: "stand-in",
        reason: "test stand-ins do not train",
    })
}

macro_rules! stand_in {
    ($name:literal, $sweep:expr) => {
        inventory::submit! {
            TrainerEntry { name: $name, extend_cfg: no_keys, check_cfg: no_check, build: stand_in, sweep: $sweep }
        }
    };
}

stand_in!(
    "CoOp",
    SweepTraits {
        variant_defaults: &[
            ("TRAINER.COOP.N_CTX", "16"),
            ("TRAINER.COOP.CSC", "False"),
            ("TRAINER.COOP.CLASS_TOKEN_POSITION", "end"),
        ],
        label: &[
            LabelPart::Value("TRAINER.COOP.CLASS_TOKEN_POSITION"),
            LabelPart::IfTrue("TRAINER.COOP.CSC", "csc"),
            LabelPart::UnlessDefault("TRAINER.COOP.N_CTX", "M"),
        ],
        ..SweepTraits::TRAINED
    }
);
stand_in!("CoCoOp", SweepTraits::TRAINED);
stand_in!("LinearProbeCLIP", SweepTraits::TRAINED);
stand_in!("ZeroshotCLIP", SweepTraits::ZERO_SHOT);
stand_in!("ZeroshotCLIP2", SweepTraits::ZERO_SHOT);
