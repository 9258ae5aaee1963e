//! The `dassl` command line: argument definitions and the commands they run.
//!
//! The binary only links the plugin crates and calls [`run`]; everything else lives here
//! so it is testable as a library.

mod args;
mod cache_cmd;
mod commands;
pub mod sweep_cmds;

use std::ffi::OsString;

use clap::Parser;
use thiserror::Error;

pub use args::{CfgArgs, Cli, Command};

use crate::clip::weights::ClipError;
use crate::errors::{ConfigError, DataError, EngineError, RegistryError, ReportError, SweepError};

/// Everything a command can fail with, and the exit code it maps to.
#[derive(Debug, Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Clip(#[from] crate::clip::weights::ClipError),
    #[error(transparent)]
    Fetch(#[from] crate::errors::FetchError),
    #[error(transparent)]
    Tokenize(#[from] crate::clip::tokenizer::TokenizeError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Sweep(#[from] SweepError),
    #[error(transparent)]
    Report(#[from] ReportError),
    /// Problems found before a run started (`dassl train`'s in-process validation).
    #[error(transparent)]
    Invalid(#[from] crate::validate::Problems),
    /// The run's identity differs from the one its sweep planned (weights, data or config
    /// files changed since): the sweep must plan again.
    #[error("this run's identity is {actual}, but its sweep planned {planned}: a config file, the weights or the dataset split changed since the sweep started; run the sweep command again")]
    IdentityChanged { planned: String, actual: String },
    #[error(transparent)]
    Cache(#[from] crate::features::CacheError),
}

impl CliError {
    /// 2 for usage and config errors (what the user typed or wrote), 1 for failed runs.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Registry(_) | CliError::Usage(_) => 2,
            CliError::Invalid(_) | CliError::IdentityChanged { .. } => 2,
            CliError::Engine(EngineError::Config(_) | EngineError::Registry(_)) => 2,
            // 128 + the signal, as a shell reports a process the signal ended (130, 143).
            CliError::Engine(EngineError::Stopped { signal, .. }) => {
                u8::try_from(128 + signal).unwrap_or(1)
            }
            CliError::Engine(EngineError::Checkpoint(
                crate::errors::CheckpointError::OtherRun { .. },
            )) => 2,
            CliError::Data(DataError::Config(_)) => 2,
            CliError::Sweep(e) => e.exit_code(),
            CliError::Report(ReportError::Usage(_) | ReportError::NoManifest { .. }) => 2,
            CliError::Clip(ClipError::MissingModel { .. } | ClipError::UnknownModel { .. }) => 2,
            CliError::Fetch(crate::errors::FetchError::Registry(_)) | CliError::Tokenize(_) => 2,
            CliError::Cache(crate::features::CacheError::NoSuchEntry { .. }) => 2,
            _ => 1,
        }
    }
}

/// Parses `args` (clap exits with 2 on usage errors) and runs the command.
pub fn run<I, T>(args: I) -> Result<(), CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    // Two plugins with one name is a packaging bug; report it before anything runs.
    {
        use crate::registry::RegistryEntry;
        crate::engine::TrainerEntry::check_unique()?;
        crate::data::DatasetEntry::check_unique()?;
        crate::clip::BackboneEntry::check_unique()?;
        crate::evaluation::EvaluatorEntry::check_unique()?;
    }
    commands::dispatch(cli)
}
