//! Dassl's registries (TRAINER, DATASET, BACKBONE, EVALUATOR) on `inventory`.
//!
//! A plugin registers a const entry from its own file with `inventory::submit!`; nothing
//! else changes when one is added. Names are the keys Dassl and CoOp use. Iteration order
//! of `inventory` is unspecified, so every listing is sorted by name, which also fixes
//! the candidate order of Dassl's did-you-mean tie rule.

use std::collections::BTreeMap;

use crate::config::{Config, ConfigBuilder};
use crate::data::DatasetBase;
use crate::difflib;
use crate::engine::Trainer;
use crate::errors::{ConfigError, DataError, EngineError, RegistryError};
use crate::evaluation::Evaluator;

/// Adds a plugin's config keys (CoOp's `extend_cfg`).
pub type ExtendCfg = fn(&mut ConfigBuilder) -> Result<(), ConfigError>;

/// A trainer plugin (`@TRAINER_REGISTRY.register()`).
#[derive(Debug)]
pub struct TrainerEntry {
    pub name: &'static str,
    pub extend_cfg: ExtendCfg,
    pub build: fn(&Config) -> Result<Box<dyn Trainer>, EngineError>,
}

/// A dataset plugin (`@DATASET_REGISTRY.register()`).
#[derive(Debug)]
pub struct DatasetEntry {
    pub name: &'static str,
    pub extend_cfg: ExtendCfg,
    pub build: fn(&Config) -> Result<DatasetBase, DataError>,
}

/// A CLIP backbone released by OpenAI (`MODEL.BACKBONE.NAME`).
#[derive(Debug)]
pub struct BackboneEntry {
    pub name: &'static str,
    /// OpenAI's download address; its second-to-last segment is the file's SHA-256.
    pub url: &'static str,
}

impl BackboneEntry {
    /// The SHA-256 that OpenAI's address carries.
    pub fn sha256(&self) -> &'static str {
        self.url.rsplit('/').nth(1).unwrap_or("")
    }

    /// File name in the cache folder (`~/.cache/clip/RN50.pt`), as Python's clip names it.
    pub fn file_name(&self) -> &'static str {
        self.url.rsplit('/').next().unwrap_or(self.name)
    }
}

/// Builds an evaluator from the config and the label names.
pub type BuildEvaluator =
    fn(&Config, &BTreeMap<usize, String>) -> Result<Box<dyn Evaluator>, ConfigError>;

/// An evaluator (`@EVALUATOR_REGISTRY.register()`), built with the label names.
#[derive(Debug)]
pub struct EvaluatorEntry {
    pub name: &'static str,
    pub build: BuildEvaluator,
}

inventory::collect!(TrainerEntry);
inventory::collect!(DatasetEntry);
inventory::collect!(BackboneEntry);
inventory::collect!(EvaluatorEntry);

/// Common access to the four registries.
pub trait RegistryEntry: inventory::Collect + Sized {
    /// Registry name as Dassl prints it (`TRAINER`, `DATASET`, ...).
    const REGISTRY: &'static str;
    fn name(&self) -> &'static str;

    /// All entries, sorted by name.
    fn all() -> Vec<&'static Self> {
        let mut v: Vec<&'static Self> = inventory::iter::<Self>.into_iter().collect();
        v.sort_by_key(|e| e.name());
        v
    }

    fn names() -> Vec<&'static str> {
        Self::all().into_iter().map(Self::name).collect()
    }

    /// Looks a name up; an unknown name fails with Dassl's did-you-mean message.
    fn get(requested: &str) -> Result<&'static Self, RegistryError> {
        let all = Self::all();
        if let Some(e) = all.iter().find(|e| e.name() == requested) {
            return Ok(e);
        }
        let names: Vec<&str> = all.iter().map(|e| e.name()).collect();
        if names.is_empty() {
            return Err(RegistryError::Empty {
                registry: Self::REGISTRY,
            });
        }
        let suggestion = difflib::most_similar(requested, &names).unwrap_or_default();
        Err(RegistryError::Unknown {
            registry: Self::REGISTRY,
            requested: requested.to_string(),
            available: python_list(&names),
            suggestion: suggestion.to_string(),
        })
    }

    /// Two plugins with one name is a packaging bug; report it as Dassl does.
    fn check_unique() -> Result<(), RegistryError> {
        let names = Self::names();
        for w in names.windows(2) {
            if w[0] == w[1] {
                return Err(RegistryError::Duplicate {
                    registry: Self::REGISTRY,
                    name: w[0],
                });
            }
        }
        Ok(())
    }
}

impl RegistryEntry for TrainerEntry {
    const REGISTRY: &'static str = "TRAINER";
    fn name(&self) -> &'static str {
        self.name
    }
}

impl RegistryEntry for DatasetEntry {
    const REGISTRY: &'static str = "DATASET";
    fn name(&self) -> &'static str {
        self.name
    }
}

impl RegistryEntry for BackboneEntry {
    const REGISTRY: &'static str = "BACKBONE";
    fn name(&self) -> &'static str {
        self.name
    }
}

impl RegistryEntry for EvaluatorEntry {
    const REGISTRY: &'static str = "EVALUATOR";
    fn name(&self) -> &'static str {
        self.name
    }
}

/// Checks every registry for duplicate names.
pub fn check_all_unique() -> Result<(), RegistryError> {
    TrainerEntry::check_unique()?;
    DatasetEntry::check_unique()?;
    BackboneEntry::check_unique()?;
    EvaluatorEntry::check_unique()
}

/// Python's list repr of names, as Dassl's error shows `available`.
fn python_list(names: &[&str]) -> String {
    let items: Vec<String> = names
        .iter()
        .map(|n| crate::config::value::str_repr(n))
        .collect();
    format!("[{}]", items.join(", "))
}
