//! The commands behind the arguments.

use std::path::{Path, PathBuf};

use super::args::{CfgArgs, Command, ConfigCommand, ListWhat, ShowFormat, TrainArgs};
use super::{Cli, CliError};
use crate::config::{setup_cfg, CfgSources, Config, Value};
use crate::log_println;
use crate::registry::{BackboneEntry, DatasetEntry, EvaluatorEntry, RegistryEntry, TrainerEntry};

pub(super) fn dispatch(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Train(args) => train(&args),
        Command::Config(ConfigCommand::Show { cfg, format }) => {
            let config = setup_cfg(&sources(&cfg))?;
            match format {
                ShowFormat::Yaml => print!("{}", config.to_yaml()),
                ShowFormat::Yacs => println!("{}", config.to_yacs_string()),
            }
            Ok(())
        }
        Command::List { what } => {
            let names = match what {
                ListWhat::Trainers => TrainerEntry::names(),
                ListWhat::Datasets => DatasetEntry::names(),
                ListWhat::Backbones => BackboneEntry::names(),
                ListWhat::Evaluators => EvaluatorEntry::names(),
            };
            for n in names {
                println!("{n}");
            }
            Ok(())
        }
        Command::Doctor => {
            print!("{}", crate::doctor::report());
            Ok(())
        }
    }
}

/// CoOp's `reset_cfg`: flags that were given become config values.
pub(super) fn sources(a: &CfgArgs) -> CfgSources {
    let mut flags: Vec<(String, Value, String)> = Vec::new();
    let mut flag = |key: &str, value: Value, name: &str| flags.push((key.into(), value, name.into()));
    let strs = |v: &[String]| Value::List(v.iter().cloned().map(Value::Str).collect());
    if let Some(v) = &a.root {
        flag("DATASET.ROOT", Value::Str(v.clone()), "--root");
    }
    if let Some(v) = &a.output_dir {
        flag("OUTPUT_DIR", Value::Str(v.clone()), "--output-dir");
    }
    if let Some(v) = &a.resume {
        flag("RESUME", Value::Str(v.clone()), "--resume");
    }
    if let Some(v) = a.seed {
        flag("SEED", Value::Int(v), "--seed");
    }
    if let Some(v) = &a.source_domains {
        flag("DATASET.SOURCE_DOMAINS", strs(v), "--source-domains");
    }
    if let Some(v) = &a.target_domains {
        flag("DATASET.TARGET_DOMAINS", strs(v), "--target-domains");
    }
    if let Some(v) = &a.transforms {
        flag("INPUT.TRANSFORMS", strs(v), "--transforms");
    }
    if let Some(v) = &a.trainer {
        flag("TRAINER.NAME", Value::Str(v.clone()), "--trainer");
    }
    if let Some(v) = &a.backbone {
        flag("MODEL.BACKBONE.NAME", Value::Str(v.clone()), "--backbone");
    }
    if let Some(v) = &a.head {
        flag("MODEL.HEAD.NAME", Value::Str(v.clone()), "--head");
    }
    CfgSources {
        dataset_config_file: a.dataset_config_file.clone(),
        config_file: a.config_file.clone(),
        flags,
        opts: a.opts.clone(),
    }
}

/// CoOp's train.py `main`.
fn train(args: &TrainArgs) -> Result<(), CliError> {
    let cfg = setup_cfg(&sources(&args.cfg))?;
    // Resolve the trainer before creating any output, so a typo leaves nothing behind.
    let entry = TrainerEntry::get(cfg.str("TRAINER.NAME")?)?;
    let seed = cfg.int("SEED")?;
    let output_dir = PathBuf::from(cfg.str("OUTPUT_DIR")?);
    if seed >= 0 {
        println!("Setting fixed seed: {seed}");
        tch::manual_seed(seed);
    }
    crate::logging::setup_logger(&output_dir).map_err(|source| CliError::Io { path: output_dir.clone(), source })?;
    if seed < 0 {
        log_println!("SEED is {seed}: nothing is seeded, so this run is not reproducible");
    }
    print_args(args);
    log_println!("************\n** Config **\n************\n{}", cfg.to_yacs_string());
    write_config(&cfg, &output_dir)?;
    log_println!("Collecting env info ...\n** System info **\n{}", crate::doctor::report());
    if cfg.bool("VERBOSE")? {
        log_println!("Loading trainer: {}", entry.name);
    }
    let mut trainer = (entry.build)(&cfg)?;
    if args.eval_only {
        let dir = args.model_dir.clone().unwrap_or_default();
        trainer.load_model(&dir, args.load_epoch)?;
        trainer.test(None)?;
    } else if !args.no_train {
        trainer.train()?;
    }
    crate::logging::close_logger();
    Ok(())
}

/// Every run records its resolved config beside its log.
fn write_config(cfg: &Config, output_dir: &Path) -> Result<(), CliError> {
    let path = output_dir.join("config.yaml");
    crate::fsutil::write_atomic(&path, cfg.to_yaml().as_bytes()).map_err(|source| CliError::Io { path, source })
}

/// train.py's `print_args`: the parsed arguments, sorted, in Python's `str` spelling.
fn print_args(a: &TrainArgs) {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let p = |v: &Option<PathBuf>| v.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    let list = |v: &Option<Vec<String>>| match v {
        None => "None".to_string(),
        Some(v) => Value::List(v.iter().cloned().map(Value::Str).collect()).repr(),
    };
    let py_bool = |b: bool| if b { "True" } else { "False" };
    let c = &a.cfg;
    let rows = [
        ("backbone", s(&c.backbone)),
        ("config_file", p(&c.config_file)),
        ("dataset_config_file", p(&c.dataset_config_file)),
        ("eval_only", py_bool(a.eval_only).to_string()),
        ("head", s(&c.head)),
        ("load_epoch", a.load_epoch.map(|e| e.to_string()).unwrap_or_else(|| "None".into())),
        ("model_dir", p(&a.model_dir)),
        ("no_train", py_bool(a.no_train).to_string()),
        ("opts", Value::List(c.opts.iter().cloned().map(Value::Str).collect()).repr()),
        ("output_dir", s(&c.output_dir)),
        ("resume", s(&c.resume)),
        ("root", s(&c.root)),
        ("seed", c.seed.unwrap_or(-1).to_string()),
        ("source_domains", list(&c.source_domains)),
        ("target_domains", list(&c.target_domains)),
        ("trainer", s(&c.trainer)),
        ("transforms", list(&c.transforms)),
    ];
    let mut text = String::from("***************\n** Arguments **\n***************");
    for (k, v) in rows {
        text.push_str(&format!("\n{k}: {v}"));
    }
    log_println!("{text}");
}
