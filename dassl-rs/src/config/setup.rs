//! CoOp's `setup_cfg`: the fixed merge order of a training run's config.

use std::path::PathBuf;

use super::{Config, ConfigBuilder, Value};
use crate::data::DatasetEntry;
use crate::engine::TrainerEntry;
use crate::errors::ConfigError;
use crate::registry::RegistryEntry;

/// Everything that shapes a run's config, in the order it is applied.
#[derive(Debug, Clone, Default)]
pub struct CfgSources {
    pub dataset_config_file: Option<PathBuf>,
    pub config_file: Option<PathBuf>,
    /// `reset_cfg`: (key, value, flag) from `--root`, `--seed`, `--trainer`, ...
    pub flags: Vec<(String, Value, String)>,
    /// Trailing `KEY VALUE` pairs.
    pub opts: Vec<String>,
}

/// Defaults, every registered plugin's extension (sorted by name, so the key set does not
/// depend on which trainer runs, as in CoOp where `extend_cfg` adds all keys), the dataset
/// YAML, the trainer YAML, CLI flags, the opts; then frozen.
pub fn setup_cfg(sources: &CfgSources) -> Result<Config, ConfigError> {
    let mut b = ConfigBuilder::dassl_defaults();
    crate::features::cache::extend_cfg(&mut b)?;
    for t in TrainerEntry::all() {
        (t.extend_cfg)(&mut b)?;
    }
    for d in DatasetEntry::all() {
        (d.extend_cfg)(&mut b)?;
    }
    if let Some(f) = &sources.dataset_config_file {
        b.merge_yaml_file(f)?;
    }
    if let Some(f) = &sources.config_file {
        b.merge_yaml_file(f)?;
    }
    for (key, value, flag) in &sources.flags {
        b.set_from_flag(key, value.clone(), flag)?;
    }
    b.merge_opts(&sources.opts)?;
    Ok(b.freeze())
}
