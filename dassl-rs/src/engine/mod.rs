//! The trainer interface that `dassl train` drives (Dassl's `TrainerBase` surface) and the
//! TRAINER registry its plugins join.

pub mod checkpoint;
pub mod meters;
pub mod registered;
pub mod result;
pub mod tensorboard;
pub mod trainer_x;

#[cfg(test)]
mod stand_ins;

use std::path::Path;

use crate::config::{Config, ExtendCfg};
use crate::errors::{ConfigError, EngineError};

/// What `train.py`'s `main` calls on a built trainer.
pub trait Trainer {
    /// `trainer.train()`: the whole loop from the (possibly resumed) start epoch.
    fn train(&mut self) -> Result<(), EngineError>;
    /// `trainer.test(split)`: evaluates and returns the accuracy.
    fn test(&mut self, split: Option<&str>) -> Result<f64, EngineError>;
    /// `trainer.load_model(directory, epoch)` for `--eval-only`.
    fn load_model(&mut self, directory: &Path, epoch: Option<usize>) -> Result<(), EngineError>;
}

/// A trainer plugin (`@TRAINER_REGISTRY.register()`).
#[derive(Debug)]
pub struct TrainerEntry {
    pub name: &'static str,
    /// Its config keys (CoOp's `extend_cfg`).
    pub extend_cfg: ExtendCfg,
    /// Its full config validation, loading nothing heavy (no data, no weights), so a sweep
    /// can check every run before it launches any; `build` runs it too.
    pub check_cfg: fn(&Config) -> Result<(), ConfigError>,
    pub build: fn(&Config) -> Result<Box<dyn Trainer>, EngineError>,
    /// How sweeps expand and name its runs.
    pub sweep: SweepTraits,
}

crate::registry::registry_entry!(TrainerEntry, "TRAINER");

/// What a sweep needs to know about a trainer; a sweep file can override the three flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepTraits {
    /// One run per dataset instead of one per shot count (no DATASET.NUM_SHOTS).
    pub ignores_shots: bool,
    /// One run instead of one per seed.
    pub ignores_seeds: bool,
    /// Runs evaluate only (`--eval-only`): nothing is trained.
    pub eval_only: bool,
    /// Keys its scripts always pass, with their defaults, in folder-tag order (CoOp's
    /// main.sh: `nctx16_cscFalse_ctpend`); the sweep adds them to every variant.
    pub variant_defaults: &'static [(&'static str, &'static str)],
    /// Its report label after the trainer name, from those keys; other variant keys follow
    /// as tags. Empty: the label is the trainer name plus the whole variant tag.
    pub label: &'static [LabelPart],
    /// Trainer config folder and file stem when the sweep file names none.
    pub config_dir: Option<&'static str>,
    pub config: Option<&'static str>,
}

impl SweepTraits {
    /// A trainer that trains on every shot count and seed, named by its variant tag.
    pub const TRAINED: SweepTraits = SweepTraits {
        ignores_shots: false,
        ignores_seeds: false,
        eval_only: false,
        variant_defaults: &[],
        label: &[],
        config_dir: None,
        config: None,
    };

    /// Zero-shot evaluation: one eval-only run per dataset (`scripts/coop/zeroshot.sh`).
    pub const ZERO_SHOT: SweepTraits = SweepTraits {
        ignores_shots: true,
        ignores_seeds: true,
        eval_only: true,
        ..SweepTraits::TRAINED
    };
}

/// One piece of a report label, from a variant key's value (CoOp's method names in
/// `results/paper/coop_fewshot.csv`: `CoOp_end_csc_M8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelPart {
    /// The value itself (`end`).
    Value(&'static str),
    /// The text when the value is `True` (`csc`).
    IfTrue(&'static str, &'static str),
    /// The prefix and the value, unless the value is the key's default (`M8`).
    UnlessDefault(&'static str, &'static str),
}
