//! Error types of the core library, one enum per concern (as nextest-runner does).

use std::path::PathBuf;

use thiserror::Error;

use crate::config::Origin;

/// Config loading, merging and access.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid YAML: {source}")]
    Yaml {
        path: PathBuf,
        source: serde_yaml::Error,
    },
    #[error("config file {path} must hold a mapping of config keys, found {found}")]
    YamlNotMapping { path: PathBuf, found: &'static str },
    #[error("config file {path}, key {key}: {what}")]
    YamlValue {
        path: PathBuf,
        key: String,
        line: Option<usize>,
        what: String,
    },
    #[error("non-existent config key: {key} (from {origin}){}", suggestion.as_ref().map(|s| format!("; did you mean {s}?")).unwrap_or_default())]
    UnknownKey {
        key: String,
        origin: Origin,
        suggestion: Option<String>,
    },
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
    BadDefault {
        key: String,
        literal: String,
        plugin: String,
    },
    #[error("{plugin} declares {key} = {value}, but {by} already set it to {existing}")]
    ConflictingDefault {
        key: String,
        plugin: String,
        value: String,
        existing: String,
        by: String,
    },
    #[error("config key {key} is missing")]
    MissingKey { key: String },
    #[error("config key {key} must be {expected}, got {value}")]
    WrongType {
        key: String,
        expected: &'static str,
        value: String,
    },
    #[error("invalid value for {key}: {value}; expected {expected}")]
    InvalidChoice {
        key: String,
        value: String,
        expected: String,
    },
    /// A key the trainer has no use for was set: the reference ignores it silently, we
    /// refuse rather than let the user believe it was applied.
    #[error("config key {key} is set ({value}), but {trainer} does not use it: {why}; unset it")]
    NotUsed {
        key: String,
        value: String,
        trainer: &'static str,
        why: &'static str,
    },
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
    Unknown {
        registry: &'static str,
        requested: String,
        available: String,
        suggestion: String,
    },
    #[error("An object named \"{name}\" was already registered in \"{registry}\" registry")]
    Duplicate {
        registry: &'static str,
        name: &'static str,
    },
    #[error("{registry} registry is empty: no {registry} plugin was linked into this binary")]
    Empty { registry: &'static str },
}

/// Dataset construction and loading.
#[derive(Debug, Error)]
pub enum DataError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("dataset folder {path} not found; {name} expects this layout:\n{layout}\nSee docs/DATASETS.md for where to get the data and how to prepare it")]
    MissingDataset {
        name: &'static str,
        path: PathBuf,
        layout: &'static str,
    },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid split file: {reason}")]
    BadSplit { path: PathBuf, reason: String },
    #[error("image {path} listed in {listed_in} does not exist")]
    MissingImage { path: PathBuf, listed_in: PathBuf },
    #[error("cannot decode image {path}: {reason}")]
    BadImage { path: PathBuf, reason: String },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// An annotation file (class list, official split list) that does not parse.
    #[error("{path}{}: {reason}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    BadAnnotation {
        path: PathBuf,
        line: Option<usize>,
        reason: String,
    },
    /// CoOp asserts every class gets train, val and test images when it splits a folder.
    #[error("class {class:?} in {dir} has {count} image(s), too few for a {split} split (CoOp needs at least one image in every part)")]
    TooFewImages {
        dir: PathBuf,
        class: String,
        count: usize,
        split: String,
    },
    /// A dataset whose fallback split cannot be made here (it needs MATLAB files).
    #[error(
        "{name} needs the split file {path}: {why}. See docs/DATASETS.md for where to download it"
    )]
    MissingSplit {
        name: &'static str,
        path: PathBuf,
        why: &'static str,
    },
    /// A custom dataset spec (DATASET.CUSTOM_SPEC) that cannot be used.
    #[error("custom dataset spec {path}: {reason}")]
    BadSpec { path: PathBuf, reason: String },
    /// The toy generator refuses to write over a folder it did not create.
    #[error(
        "{path} exists and was not made by the toy generator (no {marker}); choose another root"
    )]
    NotToyData { path: PathBuf, marker: &'static str },
    /// DATALOADER.*.SAMPLER names a sampler the loader does not have.
    #[error("Unknown sampler type: {name} (valid: {valid}){}", if *dassl_only { "; Dassl has it but dassl-rs does not implement it" } else { "" })]
    UnknownSampler {
        name: String,
        valid: String,
        dassl_only: bool,
    },
    /// The INPUT.* transform settings cannot be built.
    #[error("cannot build the {which} transform: {source}")]
    BuildTransform {
        which: &'static str,
        source: crate::data::transforms::TransformError,
    },
    /// A transform failed on one image.
    #[error("cannot transform image {path}: {source}")]
    Transform {
        path: PathBuf,
        source: crate::data::transforms::TransformError,
    },
    /// Loader settings Dassl would reject (batch size 0, an empty loader).
    #[error("{0}")]
    InvalidLoader(String),
    /// The loader's worker threads could not start or died.
    #[error("data loader workers failed: {0}")]
    Workers(String),
    /// Turning a batch buffer into a tensor failed.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
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
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Optim(#[from] OptimError),
    #[error(transparent)]
    FeatureCache(#[from] crate::features::CacheError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Clip(#[from] crate::clip::weights::ClipError),
    #[error(transparent)]
    Tokenize(#[from] crate::clip::tokenizer::TokenizeError),
    #[error(transparent)]
    TextEncode(#[from] crate::clip::model::TextEncodeError),
    /// Dassl's anomaly check: a NaN or infinite loss stops the run.
    #[error("Loss is infinite or NaN! (epoch {epoch}, batch {batch}){hint}")]
    NonFiniteLoss {
        epoch: usize,
        batch: usize,
        hint: String,
    },
    #[error("{path} holds no {key} tensor")]
    MissingTensor { path: PathBuf, key: String },
    /// A stop request (Ctrl-C, Slurm's SIGTERM) ended training before batch `batch + 1` of
    /// `epoch` (1-based); the rolling checkpoint of the epoch before is where it resumes.
    #[error("stopped by {name} in epoch {epoch} (after {batch} of {num_batches} batches): {}", resume_hint(*epoch))]
    Stopped {
        signal: i32,
        name: &'static str,
        epoch: usize,
        batch: usize,
        num_batches: usize,
    },
    #[error("{path}: {key} has shape {got:?} but this model needs {want:?} ({hint})")]
    StateShape {
        path: PathBuf,
        key: String,
        got: Vec<i64>,
        want: Vec<i64>,
        hint: String,
    },
    #[error("INPUT.SIZE is {size:?} but CLIP {backbone} takes {res}x{res} images; set INPUT.SIZE ({res}, {res})")]
    InputSize {
        size: Vec<f64>,
        backbone: String,
        res: f64,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("trainer {trainer} cannot run in this build yet: {reason}")]
    TrainerUnavailable {
        trainer: &'static str,
        reason: &'static str,
    },
}

/// What a run stopped in `epoch` (1-based) does when started again.
fn resume_hint(epoch: usize) -> String {
    match epoch {
        0 | 1 => "no epoch was complete; run the same command again to start it again".into(),
        e => format!(
            "run the same command again to resume from the end of epoch {}",
            e - 1
        ),
    }
}

/// Downloading CLIP weights.
#[derive(Debug, Error)]
pub enum FetchError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("download of {url} failed: {reason}")]
    Http { url: String, reason: String },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("SHA256 checksum of {url} does not match: expected {expected}, got {actual}; the partial file was removed")]
    Checksum {
        url: String,
        expected: String,
        actual: String,
    },
}

/// Optimizers, LR schedulers and loss scaling (Dassl's `build_optimizer` / `build_lr_scheduler`).
#[derive(Debug, Error)]
pub enum OptimError {
    /// Boxed (as is `Torch`) to keep `Result<_, OptimError>` small.
    #[error(transparent)]
    Config(Box<ConfigError>),
    #[error(transparent)]
    Torch(Box<tch::TchError>),
    /// Dassl's `ValueError` text for `OPTIM.NAME`.
    #[error("optim must be one of {}, but got {got}{}", py_list(available), if implemented.is_empty() { String::new() } else { format!(" (dassl-rs implements {})", py_list(implemented)) })]
    UnknownOptimizer {
        got: String,
        available: &'static [&'static str],
        implemented: &'static [&'static str],
    },
    /// Dassl's `ValueError` text for `OPTIM.LR_SCHEDULER`.
    #[error("scheduler must be one of {}, but got {got}", py_list(available))]
    UnknownScheduler {
        got: String,
        available: &'static [&'static str],
    },
    #[error("OPTIM.WARMUP_TYPE must be one of ['constant', 'linear'], but got {got}")]
    UnknownWarmup { got: String },
    #[error("{0} is not supported by dassl-rs")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
    /// Restoring state saved for a different optimizer or parameter list.
    #[error("optimizer state does not fit: {0}")]
    StateMismatch(String),
}

/// Saving, resuming and loading checkpoints (Dassl's `torchtools`).
#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error("File is not found at \"{path}\"")]
    NotFound { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Torch {
        path: PathBuf,
        source: Box<tch::TchError>,
    },
    #[error("{path} is not a valid checkpoint: {reason}")]
    Format { path: PathBuf, reason: String },
    /// The PyTorch file layer failed (the error names the file).
    #[error(transparent)]
    File(#[from] crate::torchfile::TorchFileError),
    /// A key of the checkpoint dict is missing or holds the wrong type.
    #[error("{path}: checkpoint entry `{key}` {problem}")]
    Entry {
        path: PathBuf,
        key: String,
        problem: &'static str,
    },
    /// A PyTorch checkpoint that dassl-rs did not write.
    #[error(
        "{path} was not saved by dassl-rs, so it cannot be resumed (its optimizer and \
         scheduler state come from Python); load its weights with --model-dir/--load-epoch instead"
    )]
    NotResumable { path: PathBuf },
    /// A checkpoint of another run identity (another config, weights or split): resuming
    /// from it would report the old run's numbers under the new config.
    #[error(
        "{path} belongs to run identity {}, not this run's {expected}; it is never resumed (move it aside or choose another output folder)",
        found.as_deref().unwrap_or("(none recorded)")
    )]
    OtherRun {
        path: PathBuf,
        found: Option<String>,
        expected: String,
    },
    #[error(transparent)]
    Optim(#[from] OptimError),
}

/// Sweep files, run planning and the executors.
#[derive(Debug, Error)]
pub enum SweepError {
    #[error("cannot read sweep file {path}: {source}")]
    ReadSpec {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("sweep file {path} is not valid: {source}")]
    SpecYaml {
        path: PathBuf,
        source: serde_yaml::Error,
    },
    #[error("sweep file {path}: {what}")]
    Spec { path: PathBuf, what: String },
    /// Runs that would stop before training (config, data, weights): none is started.
    #[error("{0}")]
    Invalid(crate::sweep::plan::PlanProblems),
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid {what}: {reason}")]
    BadFile {
        path: PathBuf,
        what: &'static str,
        reason: String,
    },
    #[error("{failed} of {total} runs failed; `dassl status {output}` lists their causes")]
    RunsFailed {
        failed: usize,
        total: usize,
        output: PathBuf,
    },
    #[error("interrupted: {running} run(s) stopped; run the same command again to resume")]
    Interrupted { running: usize },
    #[error("slurm: {0}")]
    Slurm(String),
    /// `sbatch --test-only` says a stage's tasks could never start as asked (more CPUs or
    /// GPUs than any node of the partition has, an unknown account...); nothing submitted.
    #[error("slurm: the tasks could never start as asked, so nothing was submitted.\n  sbatch --test-only {request}\n  said: {said}\n  change --cpus-per-task, --gres, --mem, --partition, --time or --sbatch-arg to what the cluster offers")]
    SlurmUnsatisfiable { request: String, said: String },
    #[error("{0}")]
    Usage(String),
    /// A command-line override of the sweep's axes that cannot apply.
    #[error(transparent)]
    Override(#[from] crate::sweep::overrides::OverrideError),
    /// A single run (wrapper or Slurm task) that ended with a status other than success.
    #[error("{message}")]
    Exit { code: u8, message: String },
}

impl SweepError {
    /// 2 for what the user wrote (sweep file, flags, configs), 130 after an interrupt,
    /// the run's own status for single runs, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            SweepError::ReadSpec { .. }
            | SweepError::SpecYaml { .. }
            | SweepError::Spec { .. }
            | SweepError::Invalid(_)
            | SweepError::Override(_)
            | SweepError::SlurmUnsatisfiable { .. }
            | SweepError::Usage(_) => 2,
            SweepError::Interrupted { .. } => 130,
            SweepError::Exit { code, .. } => *code,
            _ => 1,
        }
    }
}

/// Reading results and writing reports.
#[derive(Debug, Error)]
pub enum ReportError {
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    BadFile { path: PathBuf, reason: String },
    #[error(
        "no sweep manifest in {path}/.dassl/manifests: run `dassl run --sweep FILE` into it first"
    )]
    NoManifest { path: PathBuf },
    #[error("no sweep manifest in {path}/.dassl/manifests and no run folder (a log.txt holding a Dassl config) under it{}", if *.missing { ": the folder does not exist" } else { "" })]
    NoRuns { path: PathBuf, missing: bool },
    #[error("cannot draw {path}: {reason}")]
    Plot { path: PathBuf, reason: String },
    #[error("{0}")]
    Usage(String),
}

impl From<ConfigError> for OptimError {
    fn from(e: ConfigError) -> Self {
        OptimError::Config(Box::new(e))
    }
}

impl From<tch::TchError> for OptimError {
    fn from(e: tch::TchError) -> Self {
        OptimError::Torch(Box::new(e))
    }
}

/// A list as Python prints it (`['a', 'b']`), so messages read like Dassl's.
fn py_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}
