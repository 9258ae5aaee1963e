//! The commands behind the arguments.

use std::path::{Path, PathBuf};

use super::args::{
    CfgArgs, ClipCommand, Command, ConfigCommand, DataCommand, ListWhat, ShowFormat, TrainArgs,
};
use super::{Cli, CliError};
use crate::clip::BackboneEntry;
use crate::config::{setup_cfg, CfgSources, Config, Value};
use crate::data::DatasetEntry;
use crate::engine::TrainerEntry;
use crate::evaluation::EvaluatorEntry;
use crate::log_println;
use crate::registry::RegistryEntry;
use crate::validate::RunFlags;

pub(super) fn dispatch(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Train(args) => train(&args),
        Command::Config(ConfigCommand::Identity { cfg, keys }) => {
            let config = setup_cfg(&sources(&cfg))?;
            let parts = crate::config::identity::parts(&config)
                .map_err(|e| CliError::Invalid(crate::validate::Problems(vec![e.to_string()])))?;
            println!("identity: {}", parts.hash());
            println!("weights sha256: {}", parts.weights_sha256);
            println!("split fingerprint: {}", parts.split);
            println!("keys: {}", parts.keys.len());
            if keys {
                for k in &parts.keys {
                    println!("  {k}");
                }
            }
            Ok(())
        }
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
        Command::Clip(cmd) => clip(cmd),
        Command::Data(cmd) => data(cmd),
        Command::Interpret {
            checkpoint,
            backbone,
            topk,
        } => {
            print!(
                "{}",
                crate::clip::interpret::run(&checkpoint, &backbone, topk)?
            );
            Ok(())
        }
        Command::Run(args) => super::sweep_cmds::run(args),
        Command::Cache(cmd) => super::cache_cmd::run(cmd),
        Command::Report(args) => super::sweep_cmds::report(args),
        Command::Status(args) => super::sweep_cmds::status(args),
        Command::Guard { parent, command } => {
            Err(crate::sweep::exec::guard_exec(parent, &command).into())
        }
    }
}

fn data(cmd: DataCommand) -> Result<(), CliError> {
    use crate::data::{check, toy};
    match cmd {
        DataCommand::Check {
            root,
            dataset,
            dataset_config_file,
            shots,
            seed,
            subsample,
            custom_spec,
            no_decode,
            opts,
        } => {
            let subsample = subsample
                .map(|s| s.parse::<crate::data::fewshot::SubsampleMode>())
                .transpose()
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let args = check::CheckArgs {
                root,
                dataset,
                shots,
                seed,
                subsample,
                dataset_config_file,
                custom_spec,
                opts,
            };
            let cfg = check::check_config(&args)?;
            let report = check::check(&cfg, !no_decode)?;
            println!("{}", report.text().trim_end());
        }
        DataCommand::ToyWorld { seed, steps } => {
            let cache = crate::toyworld::default_cache_dir();
            let budget = crate::toyworld::Budget::with_steps(steps);
            let world = crate::toyworld::ensure_toy_world(&cache, seed, &budget)
                .map_err(|e| CliError::Usage(format!("toy world: {e}")))?;
            println!("toy CLIP weights: {}", world.weights.display());
            println!("toy datasets root: {}", world.data_root.display());
            for d in &world.datasets {
                println!(
                    "  {} ({} classes) in {}",
                    d.dataset_name,
                    d.num_classes,
                    world.data_root.join(d.dataset_dir).display()
                );
            }
            let reports = world
                .zero_shot("val")
                .map_err(|e| CliError::Usage(format!("toy world: {e}")))?;
            println!("zero-shot accuracy of the toy CLIP (val split):");
            for r in reports {
                let mut line = format!(
                    "  {}: {:.1}% of {} images ({} classes; chance {:.1}%)",
                    r.dataset, r.accuracy, r.images, r.num_classes, r.chance
                );
                if let Some(seen) = r.seen_accuracy {
                    line.push_str(&format!("; seen in pretraining {seen:.1}%"));
                }
                if let Some(held) = r.held_out_accuracy {
                    line.push_str(&format!(
                        "; {} held-out classes {held:.1}%",
                        r.held_out_classes
                    ));
                }
                println!("{line}");
            }
        }
        DataCommand::MakeToy {
            root,
            seed,
            classes,
            images_per_class,
            image_size,
        } => {
            if !(2..=toy::MAX_TOY_CLASSES).contains(&classes) {
                return Err(CliError::Usage(format!(
                    "--classes must be between 2 and {}, got {classes}",
                    toy::MAX_TOY_CLASSES
                )));
            }
            let spec = toy::ToySpec {
                datasets: vec![toy::ToyDatasetSpec {
                    num_classes: classes,
                    images_per_class,
                    image_size,
                    ..Default::default()
                }],
            };
            let report = toy::make_toy(&root, seed, &spec)?;
            for d in &report.datasets {
                println!(
                    "{}: {} classes, {} images (train {}, val {}, test {}); split file {}",
                    d.dataset_dir.display(),
                    d.classnames.len(),
                    d.num_images,
                    d.train,
                    d.val,
                    d.test,
                    d.split_path.display()
                );
            }
        }
    }
    Ok(())
}

fn clip(cmd: ClipCommand) -> Result<(), CliError> {
    use std::io::IsTerminal;
    match cmd {
        ClipCommand::Fetch { name, url } => {
            let cache = crate::clip::cache_dir();
            let progress = std::io::stderr().is_terminal();
            match crate::clip::fetch::fetch(&name, &cache, url.as_deref(), progress)? {
                crate::clip::fetch::Fetched::AlreadyPresent(p) => {
                    println!("{name}: already in {} (checksum verified)", p.display())
                }
                crate::clip::fetch::Fetched::Downloaded(p) => {
                    println!("{name}: downloaded to {} (checksum verified)", p.display())
                }
            }
        }
        ClipCommand::Info { model } => {
            let path = crate::clip::resolve_weights(&model)?;
            let weights = crate::clip::weights::WeightMap::load(&path, tch::Device::Cpu)?;
            print!("{}", crate::clip::describe(&weights)?);
        }
        ClipCommand::Random { name, out, seed } => {
            let config = crate::clip::model::ClipConfig::released(&name)
                .or_else(|| crate::clip::random::tiny_config(&name))
                .ok_or_else(|| {
                    CliError::Usage(format!(
                        "unknown model {name:?}; expected one of {}, tiny-vit, tiny-rn",
                        crate::clip::model::RELEASED_MODELS.join(", ")
                    ))
                })?;
            crate::clip::random::write_random_clip(&out, &config, seed)?;
            println!("{name}: random weights written to {}", out.display());
        }
        ClipCommand::Tokenize {
            texts,
            context_length,
            truncate,
        } => {
            let tok = crate::clip::tokenizer::ClipTokenizer::new();
            for row in tok.tokenize(&texts, context_length, truncate)? {
                let ids: Vec<String> = row.iter().map(i64::to_string).collect();
                println!("[{}]", ids.join(", "));
            }
        }
    }
    Ok(())
}

/// CoOp's `reset_cfg`: flags that were given become config values.
pub(super) fn sources(a: &CfgArgs) -> CfgSources {
    let mut flags: Vec<(String, Value, String)> = Vec::new();
    let mut flag =
        |key: &str, value: Value, name: &str| flags.push((key.into(), value, name.into()));
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

/// The environment variable through which a sweep tells a run the identity it planned.
pub const PLANNED_IDENTITY_ENV: &str = "DASSL_RUN_CONFIG_HASH";

/// What `dassl train`'s flags add to the config, for validation.
pub(super) fn run_flags(args: &TrainArgs, model_from_sweep: bool) -> RunFlags {
    RunFlags {
        eval_only: args.eval_only,
        model_dir: args.model_dir.clone(),
        load_epoch: args.load_epoch,
        no_train: args.no_train,
        model_from_sweep,
    }
}

/// CoOp's train.py `main`, after validating the run in-process (nothing is written when
/// a check fails) and attaching its identity to the config.
fn train(args: &TrainArgs) -> Result<(), CliError> {
    // First, before any thread starts: Ctrl-C and SIGTERM stop the loop between batches.
    crate::sweep::signals::install(crate::sweep::signals::Role::Run);
    let cfg = setup_cfg(&sources(&args.cfg))?;
    let checked = crate::validate::check_run(&cfg, &run_flags(args, false))?;
    if let Ok(planned) = std::env::var(PLANNED_IDENTITY_ENV) {
        if planned != checked.identity {
            return Err(CliError::IdentityChanged {
                planned,
                actual: checked.identity,
            });
        }
    }
    let entry = TrainerEntry::get(cfg.str("TRAINER.NAME")?)?;
    let seed = cfg.int("SEED")?;
    let output_dir = PathBuf::from(cfg.str("OUTPUT_DIR")?);
    // No state crosses run identities; nothing a killed writer left is reused. (An
    // evaluation's folder may be the folder of the model it loads: it moves nothing.)
    let engine_err = |e: crate::errors::CheckpointError| CliError::Engine(e.into());
    let trains = !args.eval_only && !args.no_train;
    let set_aside = if trains {
        crate::engine::checkpoint::stale::set_aside(&output_dir, &checked.identity)
            .map_err(engine_err)?
    } else {
        None
    };
    let orphans =
        crate::engine::checkpoint::stale::clean_orphans(&output_dir).map_err(engine_err)?;
    let cfg = cfg.with_identity(checked.identity);
    if seed >= 0 {
        println!("Setting fixed seed: {seed}");
        tch::manual_seed(seed);
    }
    crate::logging::setup_logger(&output_dir).map_err(|source| CliError::Io {
        path: output_dir.clone(),
        source,
    })?;
    if seed < 0 {
        log_println!("SEED is {seed}: nothing is seeded, so this run is not reproducible");
    }
    if let Some(a) = set_aside {
        log_println!(
            "Moved the files of another run identity aside to {} (never resumed or reported): {}",
            a.to.display(),
            a.reasons.join("; ")
        );
    }
    for p in orphans {
        log_println!("Removed {}, left by a writer that was killed", p.display());
    }
    print_args(args);
    log_println!(
        "************\n** Config **\n************\n{}",
        cfg.to_yacs_string()
    );
    write_config(&cfg, &output_dir)?;
    log_println!(
        "Collecting env info ...\n** System info **\n{}",
        crate::doctor::report()
    );
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
    crate::fsutil::write_atomic(&path, cfg.to_yaml().as_bytes())
        .map_err(|source| CliError::Io { path, source })
}

/// train.py's `print_args`: the parsed arguments, sorted, in Python's `str` spelling.
fn print_args(a: &TrainArgs) {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let p = |v: &Option<PathBuf>| {
        v.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
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
        (
            "load_epoch",
            a.load_epoch
                .map(|e| e.to_string())
                .unwrap_or_else(|| "None".into()),
        ),
        ("model_dir", p(&a.model_dir)),
        ("no_train", py_bool(a.no_train).to_string()),
        (
            "opts",
            Value::List(c.opts.iter().cloned().map(Value::Str).collect()).repr(),
        ),
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
