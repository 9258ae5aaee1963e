//! Error types of the core library, one enum per concern (as nextest-runner does).

use std::path::PathBuf;

use thiserror::Error;

use crate::config::Origin;

/// Config loading, merging and access.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid YAML: {source}")]
    Yaml { path: PathBuf, source: serde_yaml::Error },
    #[error("config file {path} must hold a mapping of config keys, found {found}")]
    YamlNotMapping { path: PathBuf, found: &'static str },
    #[error("config file {path}, key {key}: {what}")]
    YamlValue { path: PathBuf, key: String, line: Option<usize>, what: String },
    #[error("non-existent config key: {key} (from {origin}){}", suggestion.as_ref().map(|s| format!("; did you mean {s}?")).unwrap_or_default())]
    UnknownKey { key: String, origin: Origin, suggestion: Option<String> },
    #[error("type mismatch for config key {key} (from {origin}): expected {expected} like the default {default}, got {got} {value}{}", hint(expected, got))]
    TypeMismatch {
        key: String,
        expected: &'static str,
        default: String,
        got: &'static str,
        value: String,
        origin: Origin,
    },
    #[error("override list has odd length {count}: trailing options must be KEY VALUE pairs (the last item {last:?} has no value)")]
    OddOpts { count: usize, last: String },
    #[error("config key {key} is a value, not a node, so {full_key} cannot exist")]
    NotANode { key: String, full_key: String },
    #[error("{plugin} declares {key} with default {literal:?}, which is not a Python literal")]
    BadDefault { key: String, literal: String, plugin: String },
    #[error("{plugin} declares {key} = {value}, but {by} already set it to {existing}")]
    ConflictingDefault { key: String, plugin: String, value: String, existing: String, by: String },
    #[error("config key {key} is missing")]
    MissingKey { key: String },
    #[error("config key {key} must be {expected}, got {value}")]
    WrongType { key: String, expected: &'static str, value: String },
    #[error("invalid value for {key}: {value}; expected {expected}")]
    InvalidChoice { key: String, value: String, expected: String },
}

fn hint(expected: &str, got: &str) -> &'static str {
    match (expected, got) {
        ("float", "int") => " (write a float such as 1.0: yacs does not widen int to float)",
        ("bool", "str") => " (booleans are spelled True or False)",
        ("str", _) => " (quote the value to keep it a string, e.g. \"'16'\")",
        _ => "",
    }
}

/// Registry lookups.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// Dassl's `check_availability` text, prefixed with the registry.
    #[error("{registry} registry: The requested one is expected to belong to {available}, but got [{requested}] (do you mean [{suggestion}]?)")]
    Unknown { registry: &'static str, requested: String, available: String, suggestion: String },
    #[error("An object named \"{name}\" was already registered in \"{registry}\" registry")]
    Duplicate { registry: &'static str, name: &'static str },
    #[error("{registry} registry is empty: no {registry} plugin was linked into this binary")]
    Empty { registry: &'static str },
}

/// Dataset construction and loading.
#[derive(Debug, Error)]
pub enum DataError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("dataset folder {path} not found; {name} expects this layout:\n{layout}\nSee docs/DATASETS.md for where to get the data and how to prepare it")]
    MissingDataset { name: &'static str, path: PathBuf, layout: &'static str },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid split file: {reason}")]
    BadSplit { path: PathBuf, reason: String },
    #[error("image {path} listed in {listed_in} does not exist")]
    MissingImage { path: PathBuf, listed_in: PathBuf },
    #[error("cannot decode image {path}: {reason}")]
    BadImage { path: PathBuf, reason: String },
}

/// Building and running trainers.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
}
