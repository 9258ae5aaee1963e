//! Command-line arguments. `train`'s flags are those of CoOp's train.py.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "dassl",
    version,
    about = "Dassl/CoOp prompt learning for CLIP: train, evaluate and sweep",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the largest variant (`run`'s flags) does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train and/or evaluate one run, as CoOp's train.py does.
    Train(TrainArgs),
    /// Inspect configs.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// List the registered trainers, datasets, backbones or evaluators.
    List {
        #[arg(value_enum)]
        what: ListWhat,
    },
    /// Print versions, CUDA devices, cuDNN, threads and the CLIP weights cache folder.
    Doctor,
    /// CLIP weights and tokenizer.
    #[command(subcommand)]
    Clip(ClipCommand),
    /// Datasets: check a dataset on disk, make toy data.
    #[command(subcommand)]
    Data(DataCommand),
    /// Nearest vocabulary words to each learned context vector (CoOp's interpret_prompt.py).
    Interpret {
        /// A prompt-learner checkpoint: dassl-rs `model.pth.tar-N` / `model-best.pth.tar`, or
        /// CoOp's released torch.save file.
        checkpoint: PathBuf,
        /// CLIP whose token embedding is searched: an OpenAI name (cache folder) or a file.
        #[arg(long, default_value = "RN50")]
        backbone: String,
        /// Nearest words printed per context vector.
        #[arg(long)]
        topk: usize,
    },
    /// Run a sweep file's runs locally or on Slurm (docs/SWEEPS.md).
    Run(super::sweep_cmds::RunArgs),
    /// Tables over a sweep's output folder: mean and std over seeds, averages, base-to-new, DG.
    Report(super::sweep_cmds::ReportArgs),
    /// Where each run of a sweep's output folder stands (local or Slurm).
    Status(super::sweep_cmds::StatusArgs),
    /// Internal: become PROGRAM (exec) after asking the kernel to kill it when process
    /// PARENT dies (how a sweep's wrapper starts its run).
    #[command(hide = true)]
    Guard {
        #[arg(long)]
        parent: u32,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// The frozen-feature cache: list or remove cached image features.
    #[command(subcommand)]
    Cache(super::cache_cmd::CacheCommand),
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Print a dataset's class count and split sizes (Dassl's summary) and decode every image.
    Check {
        /// Datasets root (DATASET.ROOT).
        #[arg(long)]
        root: PathBuf,
        /// Registered dataset name (DATASET.NAME), e.g. EuroSAT.
        #[arg(long)]
        dataset: Option<String>,
        /// Dataset config file, merged before the flags as in a run.
        #[arg(long)]
        dataset_config_file: Option<PathBuf>,
        /// Few-shot sampling: shots per class (DATASET.NUM_SHOTS).
        #[arg(long, allow_hyphen_values = true)]
        shots: Option<i64>,
        /// Seed of the few-shot sampling (SEED).
        #[arg(long, allow_hyphen_values = true)]
        seed: Option<i64>,
        /// base or new classes (DATASET.SUBSAMPLE_CLASSES).
        #[arg(long)]
        subsample: Option<String>,
        /// YAML spec of a `Custom` dataset (DATASET.CUSTOM_SPEC).
        #[arg(long)]
        custom_spec: Option<PathBuf>,
        /// Only build the splits; skip decoding the images.
        #[arg(long)]
        no_decode: bool,
        /// Config overrides as KEY VALUE pairs.
        #[arg(value_name = "KEY VALUE", trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        opts: Vec<String>,
    },
    /// Make (or reuse from the cache) the toy world of the demo: toy datasets and a tiny
    /// CLIP pretrained on captioned toy images; prints its paths and zero-shot accuracy.
    ToyWorld {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Pretraining steps (default: the demo's budget).
        #[arg(long)]
        steps: Option<usize>,
    },
    /// Write procedurally generated toy datasets (real JPEGs, CoOp layout, split file).
    MakeToy {
        /// Where to write them (a `toy_shapes` folder is created inside).
        #[arg(long)]
        root: PathBuf,
        /// Generator seed: the same seed writes the same bytes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of classes (at most 60).
        #[arg(long, default_value_t = 10)]
        classes: usize,
        /// Images per class.
        #[arg(long, default_value_t = 30)]
        images_per_class: usize,
        /// Square image side in pixels.
        #[arg(long, default_value_t = 64)]
        image_size: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClipCommand {
    /// Download OpenAI's weights into the CLIP cache folder, checking their SHA-256.
    Fetch {
        /// An OpenAI model name (see `dassl list backbones`).
        name: String,
        /// Download from this address (a mirror) instead of OpenAI's; the SHA-256 expected
        /// is still the one of OpenAI's address.
        #[arg(long)]
        url: Option<String>,
    },
    /// Print the architecture, resolution and parameter count inferred from the weights.
    Info {
        /// An OpenAI model name (looked up in the cache folder) or a weights file
        /// (OpenAI TorchScript .pt or .safetensors with OpenAI key names).
        model: String,
    },
    /// Write randomly initialised weights with the shape of a released model (for
    /// benchmarks and tests without a download), or of a tiny model (`tiny-vit`, `tiny-rn`).
    Random {
        /// A released model name, `tiny-vit` or `tiny-rn`.
        name: String,
        /// The .safetensors file to write.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: i64,
    },
    /// Print the token ids of each text as a JSON array (as clip.tokenize).
    Tokenize {
        #[arg(required = true)]
        texts: Vec<String>,
        #[arg(long, default_value_t = 77)]
        context_length: usize,
        /// Cut texts that are too long instead of failing.
        #[arg(long)]
        truncate: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListWhat {
    Trainers,
    Datasets,
    Backbones,
    Evaluators,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the resolved config (defaults, extensions, YAML files, flags, KEY VALUE opts).
    Show {
        #[command(flatten)]
        cfg: CfgArgs,
        /// yaml: loadable YAML; yacs: the text Dassl prints into log.txt.
        #[arg(long, value_enum, default_value_t = ShowFormat::Yaml)]
        format: ShowFormat,
    },
    /// Print the run identity (what `result.json` must carry for the run to count as
    /// done) and its parts: the keys that count, the weights' SHA-256, the split fingerprint.
    Identity {
        #[command(flatten)]
        cfg: CfgArgs,
        /// Also list the `KEY=value` lines that count.
        #[arg(long)]
        keys: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    Yaml,
    Yacs,
}

/// The config-shaping flags of CoOp's train.py (`reset_cfg`) and the trailing opts.
#[derive(Debug, Clone, Default, Args)]
pub struct CfgArgs {
    /// Path to the datasets root (DATASET.ROOT).
    #[arg(long)]
    pub root: Option<String>,
    /// Output directory (OUTPUT_DIR).
    #[arg(long)]
    pub output_dir: Option<String>,
    /// Checkpoint directory to resume from (RESUME).
    #[arg(long)]
    pub resume: Option<String>,
    /// Seed (SEED); unlike CoOp, `--seed 0` sets seed 0.
    #[arg(long, allow_hyphen_values = true)]
    pub seed: Option<i64>,
    /// Source domains for DA/DG (DATASET.SOURCE_DOMAINS).
    #[arg(long, num_args = 1..)]
    pub source_domains: Option<Vec<String>>,
    /// Target domains for DA/DG (DATASET.TARGET_DOMAINS).
    #[arg(long, num_args = 1..)]
    pub target_domains: Option<Vec<String>>,
    /// Data augmentation methods (INPUT.TRANSFORMS).
    #[arg(long, num_args = 1..)]
    pub transforms: Option<Vec<String>>,
    /// Trainer/method config file, merged after the dataset config file.
    #[arg(long)]
    pub config_file: Option<PathBuf>,
    /// Dataset config file, merged first.
    #[arg(long)]
    pub dataset_config_file: Option<PathBuf>,
    /// Trainer name (TRAINER.NAME).
    #[arg(long)]
    pub trainer: Option<String>,
    /// CLIP backbone name (MODEL.BACKBONE.NAME).
    #[arg(long)]
    pub backbone: Option<String>,
    /// Head name (MODEL.HEAD.NAME).
    #[arg(long)]
    pub head: Option<String>,
    /// Config overrides as KEY VALUE pairs, e.g. `OPTIM.MAX_EPOCH 10`.
    #[arg(value_name = "KEY VALUE", trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub opts: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub cfg: CfgArgs,
    /// Evaluation only: load --model-dir and test.
    #[arg(long)]
    pub eval_only: bool,
    /// Load the model from this directory for --eval-only.
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// Load the weights of this epoch for evaluation.
    #[arg(long)]
    pub load_epoch: Option<usize>,
    /// Do not call trainer.train().
    #[arg(long)]
    pub no_train: bool,
}
