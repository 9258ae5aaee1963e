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
