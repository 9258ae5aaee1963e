//! For scripts/bench only: a prompt learner (CoOp or CoCoOp, by TRAINER.NAME) built from a
//! config and class names without a dataset, so that one training step can be timed on
//! random images against Python CoOp's `CustomCLIP`.

use dassl_rs::config::Config;
use dassl_rs::engine::trainer_x::{select_device, Learner};
use dassl_rs::errors::{ConfigError, EngineError};

/// The learner `build_model` makes for TRAINER.NAME, on the device the config selects.
pub fn prompt_learner(
    cfg: &Config,
    classnames: &[String],
) -> Result<Box<dyn Learner>, EngineError> {
    let device = select_device(cfg)?;
    Ok(match cfg.str("TRAINER.NAME")? {
        "CoOp" => Box::new(crate::coop::new_learner(cfg, classnames, device)?),
        "CoCoOp" => Box::new(crate::cocoop::new_learner(cfg, classnames, device)?),
        other => {
            return Err(ConfigError::InvalidChoice {
                key: "TRAINER.NAME".into(),
                value: other.into(),
                expected: "CoOp or CoCoOp (the benchmarked prompt learners)".into(),
            }
            .into())
        }
    })
}
