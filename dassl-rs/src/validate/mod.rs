//! Validation before launch: everything a run would fail on that can be known without
//! training, checked in-process by `dassl train` before it writes anything and by
//! `dassl run` (and `--dry-run`) for every run before the first one starts or any job is
//! submitted. Every problem is collected, not only the first, so one pass fixes a sweep.
//!
//! Checked: the trainer, dataset, evaluator and sampler names; value ranges and choices of
//! the engine's keys (epochs, batch sizes, optimizer, scheduler, transforms); the trainer's
//! own checks (its registry entry); the CLIP weights (present, of the architecture their
//! name says, not truncated) and INPUT.SIZE against their resolution; the dataset on disk
//! (folder, split files, listed images); `--eval-only` without `--model-dir`. Passing all
//! yields the run's identity (config/identity.rs).

pub mod weights;

use std::fmt;
use std::path::PathBuf;

use crate::config::{identity, Config};
use crate::data::loader::Sampler;
use crate::data::manager::transform_config;
use crate::data::transforms::Transform;
use crate::data::DatasetEntry;
use crate::engine::TrainerEntry;
use crate::errors::ConfigError;
use crate::evaluation::EvaluatorEntry;
use crate::optim::optimizer::OptimSettings;
use crate::optim::scheduler::{LrScheduler, SchedSettings};
use crate::registry::RegistryEntry;

/// What `dassl train`'s flags add to a run's config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFlags {
    pub eval_only: bool,
    pub model_dir: Option<PathBuf>,
    pub load_epoch: Option<usize>,
    pub no_train: bool,
    /// The model folder is made by an earlier run of the same sweep (it need not exist yet).
    pub model_from_sweep: bool,
}

/// Every problem found in one run, each a message naming the key, file or value and what
/// was expected.
#[derive(Debug, Clone, Default, PartialEq, thiserror::Error)]
pub struct Problems(pub Vec<String>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "the run cannot start: {n} problem{} found before anything was written:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.0 {
            write!(f, "\n  - {}", p.replace('\n', "\n    "))?;
        }
        Ok(())
    }
}

/// A run that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The run identity (config/identity.rs).
    pub identity: String,
}

/// The trainer's own checks, from its registry entry (they load nothing heavy).
fn trainer_checks(entry: &TrainerEntry, cfg: &Config) -> Result<(), ConfigError> {
    (entry.check_cfg)(cfg)
}

/// Whether a trainer evaluates a trained model with `--eval-only` (zero-shot trainers
/// load nothing).
fn loads_a_model(trainer: &str) -> bool {
    TrainerEntry::get(trainer).map_or(true, |e| !e.sweep.eval_only)
}

/// Records the error of `r`, if any.
fn note<T, E: fmt::Display>(out: &mut Vec<String>, r: Result<T, E>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            out.push(e.to_string());
            None
        }
    }
}

/// "invalid value for KEY: VALUE (from where it was set); expected ...".
fn invalid(cfg: &Config, key: &str, value: String, expected: String) -> String {
    let from = match cfg.origin(key) {
        Some(
            o @ (crate::config::Origin::File { .. }
            | crate::config::Origin::Flag(_)
            | crate::config::Origin::Opt(_)),
        ) => format!(" (from {o})"),
        _ => String::new(),
    };
    format!("invalid value for {key}: {value}{from}; expected {expected}")
}

fn choice(cfg: &Config, key: &str, choices: &[&str]) -> Result<(), String> {
    let v = cfg.str(key).map_err(|e| e.to_string())?;
    if choices.contains(&v) {
        return Ok(());
    }
    Err(invalid(
        cfg,
        key,
        format!("{v:?}"),
        format!("one of {}", choices.join(", ")),
    ))
}

fn at_least(cfg: &Config, key: &str, min: i64) -> Result<(), String> {
    let v = cfg.int(key).map_err(|e| e.to_string())?;
    if v >= min {
        return Ok(());
    }
    Err(invalid(
        cfg,
        key,
        v.to_string(),
        format!("an integer >= {min}"),
    ))
}

/// The engine's keys: ranges and choices; the training keys only when the run trains.
fn engine_checks(cfg: &Config, trains: bool, out: &mut Vec<String>) {
    if let Some(name) = note(out, cfg.str("TEST.EVALUATOR")) {
        note(out, EvaluatorEntry::get(name));
    }
    note(out, at_least(cfg, "DATALOADER.TEST.BATCH_SIZE", 1));
    note(out, at_least(cfg, "DATALOADER.NUM_WORKERS", 0));
    note(
        out,
        choice(cfg, "TEST.FINAL_MODEL", &["last_step", "best_val"]),
    );
    note(out, choice(cfg, "TEST.SPLIT", &["val", "test"]));
    for key in ["DATALOADER.TRAIN_X.SAMPLER", "DATALOADER.TEST.SAMPLER"] {
        if let Some(name) = note(out, cfg.str(key)) {
            note(out, Sampler::parse(name).map_err(|e| format!("{key}: {e}")));
        }
    }
    if let Some(t) = note(out, transform_config(cfg)) {
        note(
            out,
            Transform::train(&t).map_err(|e| format!("INPUT.TRANSFORMS (train): {e}")),
        );
        note(
            out,
            Transform::test(&t).map_err(|e| format!("INPUT.TRANSFORMS (test): {e}")),
        );
    }
    if cfg.get("DATASET.SUBSAMPLE_CLASSES").is_some() {
        note(
            out,
            choice(cfg, "DATASET.SUBSAMPLE_CLASSES", &["all", "base", "new"]),
        );
    }
    if let Some(dir) = note(out, cfg.str("OUTPUT_DIR")) {
        note(out, writable(dir));
    }
    if !trains {
        return;
    }
    note(out, at_least(cfg, "OPTIM.MAX_EPOCH", 1));
    note(out, at_least(cfg, "DATALOADER.TRAIN_X.BATCH_SIZE", 1));
    note(out, at_least(cfg, "TRAIN.PRINT_FREQ", 1));
    note(out, at_least(cfg, "TRAIN.CHECKPOINT_FREQ", 0));
    note(
        out,
        OptimSettings::from_config(cfg).map_err(|e| format!("OPTIM: {e}")),
    );
    if let Some(settings) = note(
        out,
        SchedSettings::from_config(cfg).map_err(|e| format!("OPTIM: {e}")),
    ) {
        if let Some(mut lr) = note(out, cfg.float("OPTIM.LR")) {
            note(
                out,
                LrScheduler::with_lr(&settings, &mut lr)
                    .map_err(|e| format!("OPTIM.LR_SCHEDULER: {e}")),
            );
        }
    }
}

/// The output folder (or, before it exists, the nearest folder above it) can be written:
/// a read-only file system is found before the run starts, not after.
fn writable(dir: &str) -> Result<(), String> {
    let path = crate::data::split::expand_user(dir);
    let path = std::path::absolute(&path).unwrap_or(path);
    let mut p: &std::path::Path = &path;
    while !p.exists() {
        match p.parent() {
            Some(parent) => p = parent,
            None => return Ok(()),
        }
    }
    if !p.is_dir() {
        return Err(format!(
            "OUTPUT_DIR {dir}: {} is a file, expected a folder",
            p.display()
        ));
    }
    nix::unistd::access(p, nix::unistd::AccessFlags::W_OK).map_err(|e| {
        format!(
            "OUTPUT_DIR {dir} cannot be written: {} is not writable ({})",
            p.display(),
            std::io::Error::from(e)
        )
    })
}

/// A registry name key's value; empty is "not set", said with where to set it.
fn named<'a>(cfg: &'a Config, key: &str, how: &str) -> Result<&'a str, String> {
    match cfg.str(key) {
        Err(e) => Err(e.to_string()),
        Ok("") => Err(format!(
            "{key} is not set; set it with {how} (see `dassl list`)"
        )),
        Ok(n) => Ok(n),
    }
}

/// Checks one run. On success, the run's identity; otherwise every problem found.
pub fn check_run(cfg: &Config, flags: &RunFlags) -> Result<Checked, Problems> {
    let mut out: Vec<String> = Vec::new();
    let trainer_name = cfg.str("TRAINER.NAME").unwrap_or("").to_string();
    let trainer = match named(cfg, "TRAINER.NAME", "--trainer") {
        Err(e) => {
            out.push(e);
            None
        }
        Ok(n) => note(&mut out, TrainerEntry::get(n)),
    };
    let dataset_ok = match named(cfg, "DATASET.NAME", "a dataset config file") {
        Err(e) => {
            out.push(e);
            false
        }
        Ok(n) => note(&mut out, DatasetEntry::get(n)).is_some(),
    };
    let trains = !flags.eval_only && !flags.no_train;
    engine_checks(cfg, trains, &mut out);
    if let Some(t) = trainer {
        if let Err(e) = trainer_checks(t, cfg) {
            out.push(e.to_string());
        }
    }
    // Weights, and INPUT.SIZE against their resolution.
    match cfg.str(identity::WEIGHTS_KEY) {
        Err(e) => out.push(e.to_string()),
        Ok(name) => match weights::check(name) {
            Err(p) => out.push(p),
            Ok(w) => {
                let res = w.config.image_resolution as f64;
                if let Ok(size) = cfg.floats("INPUT.SIZE") {
                    if size.iter().any(|s| *s != res) {
                        out.push(format!(
                            "INPUT.SIZE is {} but CLIP {name} takes {res}x{res} images; expected INPUT.SIZE ({res}, {res})",
                            cfg.get("INPUT.SIZE").map(|v| v.repr()).unwrap_or_default()
                        ));
                    }
                }
            }
        },
    }
    if flags.eval_only && loads_a_model(&trainer_name) {
        match &flags.model_dir {
            None => out.push(format!(
                "--eval-only needs --model-dir: the output folder of the trained {trainer_name} run to evaluate"
            )),
            Some(d) if !flags.model_from_sweep && !d.is_dir() => out.push(format!(
                "--model-dir {} does not exist; expected the output folder of a trained {trainer_name} run",
                d.display()
            )),
            _ => {}
        }
    }
    // The data on disk: the probe build behind the split fingerprint.
    let split = if dataset_ok {
        match identity::split_fingerprint(cfg) {
            Ok(s) => Some(s),
            Err(e) => {
                out.push(e.to_string());
                None
            }
        }
    } else {
        None
    };
    if !out.is_empty() {
        return Err(Problems(out));
    }
    let parts = identity::IdentityParts {
        keys: identity::key_lines(cfg),
        weights_sha256: identity::weights_sha256(cfg).map_err(|e| Problems(vec![e.to_string()]))?,
        split: split.unwrap_or_default(),
    };
    Ok(Checked {
        identity: parts.hash(),
    })
}
