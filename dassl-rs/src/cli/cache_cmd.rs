//! `dassl cache ls|rm`: the frozen-feature cache (see [`crate::features::cache`]).

use std::path::PathBuf;

use clap::Subcommand;

use super::CliError;
use crate::features::cache::{CacheSetting, FeatureCache, ENV};

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// List the cached image features: id, what they are, shape, size, when written.
    Ls {
        /// The cache folder (default: DASSL_FEATURE_CACHE, else ~/.cache/dassl-rs/features).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Remove cached features: the entries named by id, or every entry with --all.
    Rm {
        /// Entry ids, as `dassl cache ls` prints them.
        ids: Vec<String>,
        /// Remove every entry (and leftover temporary files).
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// The cache folder (default: DASSL_FEATURE_CACHE, else ~/.cache/dassl-rs/features).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// The folder a command acts on, or `None` when the environment turns the cache off.
fn cache(dir: Option<PathBuf>) -> Option<FeatureCache> {
    match dir {
        Some(d) => Some(FeatureCache::at(d)),
        None => CacheSetting::from_config_value("").cache(),
    }
}

pub(super) fn run(cmd: CacheCommand) -> Result<(), CliError> {
    let dir = match &cmd {
        CacheCommand::Ls { dir } | CacheCommand::Rm { dir, .. } => dir.clone(),
    };
    let Some(cache) = cache(dir) else {
        println!("The feature cache is off ({ENV} says so); pass --dir to name a folder");
        return Ok(());
    };
    match cmd {
        CacheCommand::Ls { .. } => {
            print!("{}", listing(&cache)?);
            Ok(())
        }
        CacheCommand::Rm { ids, all, .. } => {
            if ids.is_empty() && !all {
                return Err(CliError::Usage(
                    "dassl cache rm needs entry ids (see `dassl cache ls`) or --all".into(),
                ));
            }
            let n = cache.remove(&ids)?;
            println!("Removed {n} entries from {}", cache.dir().display());
            Ok(())
        }
    }
}

/// `dassl cache ls`'s text: the folder, then one line per entry.
fn listing(cache: &FeatureCache) -> Result<String, CliError> {
    use std::fmt::Write as _;
    let entries = cache.list()?;
    let mut s = format!("Feature cache: {}\n", cache.dir().display());
    if entries.is_empty() {
        s.push_str("(empty)\n");
        return Ok(s);
    }
    let mut total = 0u64;
    for e in &entries {
        match &e.meta {
            Ok(m) => {
                total += m.bytes;
                let _ = writeln!(
                    s,
                    "{}  {}  {:?} {}  {:.1} MB  {}",
                    e.id,
                    m.label,
                    m.shape,
                    m.kind,
                    m.bytes as f64 / 1e6,
                    m.created
                );
            }
            Err(why) => {
                let _ = writeln!(s, "{}  (unreadable, rebuilt on next use: {why})", e.id);
            }
        }
    }
    let _ = writeln!(s, "{} entries, {:.1} MB", entries.len(), total as f64 / 1e6);
    Ok(s)
}
