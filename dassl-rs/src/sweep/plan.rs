//! Expanding a sweep file into runs: the cartesian product, CoOp's epoch rule, output
//! folders named as CoOp's scripts name them, and each run's key and config hash.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::spec::{
    opts_list, variant_lists, DatasetRef, EpochRule, Protocol, SweepSpec, TrainerSpec,
};
use crate::engine::{LabelPart, SweepTraits, TrainerEntry};
use crate::errors::SweepError;
use crate::registry::RegistryEntry;

/// What a run's resolved config says, as `dassl train` would resolve it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The run identity (config/identity.rs): `result.json` must carry the same one.
    pub config_hash: String,
    /// DATASET.NAME (report rows use it, as the published tables do).
    pub dataset: String,
    /// MODEL.BACKBONE.NAME.
    pub backbone: String,
    /// OPTIM.MAX_EPOCH: the checkpoint an evaluation run loads.
    pub max_epoch: i64,
    /// DATALOADER.NUM_WORKERS (a Slurm task's CPUs default to this + 1).
    pub num_workers: i64,
}

/// Resolves and validates a run's `train ...` arguments without starting it. The CLI's
/// resolver calls `setup_cfg` and the validation exactly as the run will; tests use
/// stand-ins.
pub trait Resolver {
    /// `model_from_sweep`: the run evaluates a model an earlier run of the sweep makes, so
    /// its `--model-dir` need not exist yet. `Err` lists every problem the run would stop
    /// on (each exits 2 in `dassl train`).
    fn resolve(&self, args: &[String], model_from_sweep: bool) -> Result<Resolved, Vec<String>>;
}

/// The runs of a sweep that cannot start, and why (every problem of every run).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanProblems {
    /// (run folder, problems), in plan order.
    pub runs: Vec<(String, Vec<String>)>,
    /// Runs planned in all (including those with problems).
    pub planned: usize,
    /// Evaluation runs not checked because the run whose model they evaluate has problems.
    pub unchecked: usize,
}

impl std::fmt::Display for PlanProblems {
    /// Each distinct problem once, with the runs it affects (a missing dataset is one
    /// line, not one per seed).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut order: Vec<&str> = Vec::new();
        let mut by: std::collections::HashMap<&str, Vec<&str>> = Default::default();
        for (dir, ps) in &self.runs {
            for p in ps {
                let e = by.entry(p.as_str()).or_default();
                if e.is_empty() {
                    order.push(p);
                }
                e.push(dir);
            }
        }
        write!(
            f,
            "{} of {} runs cannot start ({} distinct problem{}); nothing was started or written:",
            self.runs.len(),
            self.planned,
            order.len(),
            if order.len() == 1 { "" } else { "s" }
        )?;
        for p in order {
            let dirs = &by[p];
            let shown: Vec<&str> = dirs.iter().take(3).copied().collect();
            let more = if dirs.len() > 3 {
                format!(" and {} more", dirs.len() - 3)
            } else {
                String::new()
            };
            write!(
                f,
                "\n  - {}\n    (run{} {}{more})",
                p.replace('\n', "\n    "),
                if dirs.len() == 1 { "" } else { "s" },
                shown.join(", ")
            )?;
        }
        if self.unchecked > 0 {
            write!(
                f,
                "\n  ({} evaluation runs of those models were not checked)",
                self.unchecked
            )?;
        }
        Ok(())
    }
}

/// Which part of a protocol a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Fewshot,
    /// Base2new: trained (and tested) on the base classes.
    Base,
    /// Base2new: the base model tested on the new classes.
    New,
    /// Dg: trained and tested on the source dataset.
    Source,
    /// Dg: the source model tested on a target dataset.
    Target,
}

/// What reports need to know about a run besides its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    pub trainer: String,
    /// Row label in reports ("trainer variant"), e.g. `CoOp_end`.
    pub label: String,
    /// Trainer config stem after the epoch rule, e.g. `rn50_ep50`.
    pub cfg: String,
    pub backbone: String,
    /// DATASET.NAME.
    pub dataset: String,
    /// Dataset config stem (folder names).
    pub dataset_key: String,
    /// 0 for runs that ignore shots (zero-shot CLIP).
    pub shots: i64,
    pub seed: Option<i64>,
    pub role: Role,
    /// DATASET.NAME of the dataset the evaluated model was trained on (dg, base2new).
    pub source: Option<String>,
    pub variant: Vec<(String, String)>,
    pub max_epoch: i64,
    /// DATALOADER.NUM_WORKERS of the run (0 in manifests written before it was recorded).
    #[serde(default)]
    pub num_workers: i64,
}

/// One run of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPlan {
    /// Hash of the config hash and the evaluation flags: the run's identity (locks, state).
    pub key: String,
    pub config_hash: String,
    /// Output folder relative to the sweep's output folder.
    pub dir: String,
    /// The run's arguments after the program (`train --root ...`).
    pub args: Vec<String>,
    /// Index of the run whose model this run evaluates; it must be complete first.
    pub after: Option<usize>,
    pub meta: RunMeta,
}

/// Everything expansion needs besides the spec.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    pub spec: &'a SweepSpec,
    pub spec_path: &'a Path,
    /// Trainers to run (from `--trainer`, else all the spec lists).
    pub trainers: Vec<String>,
    pub root: String,
    /// Absolute output folder (run folders are passed to runs as absolute paths).
    pub output: PathBuf,
    /// Extra KEY VALUE opts from the command line, after the spec's.
    pub extra_opts: Vec<String>,
}

/// What a trainer does with the sweep axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traits {
    pub ignores_shots: bool,
    pub ignores_seeds: bool,
    pub eval_only: bool,
}

/// The registered trainer's sweep traits (an unknown name fails with Dassl's did-you-mean).
pub fn sweep_traits(trainer: &str, path: &Path) -> Result<&'static SweepTraits, SweepError> {
    let entry = TrainerEntry::get(trainer).map_err(|e| SweepError::Spec {
        path: path.into(),
        what: e.to_string(),
    })?;
    Ok(&entry.sweep)
}

/// The trainer's registered behaviour; a sweep file can override each field.
pub fn traits(registered: &SweepTraits, t: &TrainerSpec) -> Traits {
    Traits {
        ignores_shots: t.ignores_shots.unwrap_or(registered.ignores_shots),
        ignores_seeds: t.ignores_seeds.unwrap_or(registered.ignores_seeds),
        eval_only: t.eval_only.unwrap_or(registered.eval_only),
    }
}

/// COOP.md's rule: the config stem a shot count trains with.
pub fn epoch_config(base: &str, shots: i64, dataset_key: &str, rule: EpochRule) -> String {
    if rule == EpochRule::None {
        return base.to_string();
    }
    let epochs = if dataset_key == "imagenet" || shots <= 1 {
        Some(50)
    } else if shots <= 4 {
        Some(100)
    } else {
        None
    };
    match epochs {
        None => base.to_string(),
        Some(e) => match base.strip_suffix("_ctxv1") {
            Some(stem) => format!("{stem}_ep{e}_ctxv1"),
            None => format!("{base}_ep{e}"),
        },
    }
}

/// Short names in folder tags, as CoOp's `nctx16_cscFalse_ctpend`.
pub fn short_name(key: &str) -> String {
    let last = key.rsplit('.').next().unwrap_or(key);
    match last {
        "N_CTX" => "nctx".into(),
        "CSC" => "csc".into(),
        "CLASS_TOKEN_POSITION" => "ctp".into(),
        other => other.to_lowercase().replace('_', ""),
    }
}

/// A backbone's short, stable label for reports: its registered name (`RN50`,
/// `ViT-B/16`), else, for a weights file, the file's stem (`toy_clip` for
/// `~/.cache/.../toy_clip.safetensors`).
pub fn backbone_label(name: &str) -> String {
    use crate::clip::BackboneEntry;
    if BackboneEntry::get(name).is_ok() {
        return name.to_string();
    }
    let p = Path::new(name);
    let weights_ext = p.extension().is_some_and(|e| {
        ["pt", "pth", "safetensors", "bin", "tar"].contains(&&*e.to_string_lossy())
    });
    if weights_ext || p.is_absolute() || p.is_file() {
        if let Some(stem) = p.file_stem() {
            return stem.to_string_lossy().into_owned();
        }
    }
    name.to_string()
}

/// Keeps folder names portable: path separators and spaces become `-`.
fn path_safe(v: &str) -> String {
    v.chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_whitespace() {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// Every combination of the variant lists, in file order (the last key varies fastest).
pub fn cartesian(lists: &[(String, Vec<String>)]) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (key, values) in lists {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push((key.clone(), v.clone()));
                    p
                })
            })
            .collect();
    }
    out
}

/// The sweep file's label template, else the trainer's registered label parts followed by
/// the tags of the keys they do not cover (`CoOp_end_csc_lr0.002`).
pub(crate) fn label_for(
    trainer: &str,
    t: &TrainerSpec,
    registered: &SweepTraits,
    variant: &[(String, String)],
) -> String {
    if let Some(tpl) = &t.label {
        let mut s = tpl.replace("{trainer}", trainer);
        for (k, v) in variant {
            s = s.replace(&format!("{{{}}}", short_name(k)), v);
        }
        return s;
    }
    let get = |k: &str| {
        variant
            .iter()
            .find(|(kk, _)| kk == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let default = |k: &str| {
        registered
            .variant_defaults
            .iter()
            .find(|(d, _)| *d == k)
            .map(|(_, v)| *v)
    };
    let mut parts: Vec<String> = Vec::new();
    for part in registered.label {
        match *part {
            LabelPart::Value(k) => parts.push(get(k).to_string()),
            LabelPart::IfTrue(k, text) => {
                if get(k) == "True" {
                    parts.push(text.to_string());
                }
            }
            LabelPart::UnlessDefault(k, prefix) => {
                if default(k) != Some(get(k)) {
                    parts.push(format!("{prefix}{}", get(k)));
                }
            }
        }
    }
    let rest: Vec<(String, String)> = variant
        .iter()
        .filter(|(k, _)| default(k).is_none())
        .cloned()
        .collect();
    if !rest.is_empty() {
        parts.push(tag(&rest));
    }
    if parts.is_empty() {
        trainer.to_string()
    } else {
        format!("{trainer}_{}", parts.join("_"))
    }
}

fn tag(variant: &[(String, String)]) -> String {
    variant
        .iter()
        .map(|(k, v)| format!("{}{}", short_name(k), path_safe(v)))
        .collect::<Vec<_>>()
        .join("_")
}

/// `Draft::eval` of an evaluation whose model's run has problems (it cannot be planned).
const UNPLANNED_MODEL: usize = usize::MAX - 1;

/// A run before it is resolved.
struct Draft {
    dir: String,
    dataset: DatasetRef,
    cfg: String,
    config_file: String,
    seed: Option<i64>,
    shots: i64,
    opts: Vec<(String, String)>,
    eval: Option<usize>,
    role: Role,
    trainer: String,
    label: String,
    variant: Vec<(String, String)>,
}

/// Expands a sweep into its runs (deduplicated by key, evaluation runs after the runs
/// they evaluate) and resolves each one's config.
pub fn expand(input: &PlanInput<'_>, resolver: &dyn Resolver) -> Result<Vec<RunPlan>, SweepError> {
    let spec = input.spec;
    let path = input.spec_path;
    let mut runs: Vec<RunPlan> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut problems = PlanProblems::default();
    let mut push = |runs: &mut Vec<RunPlan>, d: Draft| -> Result<Option<usize>, SweepError> {
        if d.eval == Some(UNPLANNED_MODEL) {
            // Evaluates a model whose run has problems: cannot be planned.
            problems.unchecked += 1;
            return Ok(None);
        }
        problems.planned += 1;
        let dir = d.dir.clone();
        let plan = match resolve_draft(input, resolver, d, runs) {
            Ok(p) => p,
            Err(ps) => {
                problems.runs.push((dir, ps));
                return Ok(None);
            }
        };
        if let Some(i) = runs.iter().position(|r| r.key == plan.key) {
            return Ok(Some(i));
        }
        if !seen.insert(plan.dir.clone()) {
            return Err(SweepError::Spec {
                path: path.into(),
                what: format!("two different runs would share the folder {}: add the varied key to `variants`", plan.dir),
            });
        }
        runs.push(plan);
        Ok(Some(runs.len() - 1))
    };
    let mut global_opts = opts_list(&spec.opts, path, "opts")?;
    let mut extra = input.extra_opts.chunks(2);
    for pair in extra.by_ref() {
        if pair.len() != 2 {
            return Err(SweepError::Usage(format!(
                "extra opts must be KEY VALUE pairs; {:?} has no value",
                pair[0]
            )));
        }
        global_opts.push((pair[0].clone(), pair[1].clone()));
    }
    for trainer in &input.trainers {
        let t = spec.trainer(trainer, path)?;
        let registered = sweep_traits(trainer, path)?;
        let tr = traits(registered, &t);
        let base_cfg = t.config.clone().or_else(|| spec.config.clone()).or_else(|| registered.config.map(String::from)).ok_or_else(|| SweepError::Spec {
            path: path.into(),
            what: format!("no trainer config for {trainer}: set `config:` at the top or under trainers.{trainer}"),
        })?;
        let cfg_dir = t
            .config_dir
            .clone()
            .or_else(|| spec.config_dir.clone())
            .or_else(|| registered.config_dir.map(String::from))
            .unwrap_or_else(|| trainer.clone());
        let rule = t.epoch_rule.or(spec.epoch_rule).unwrap_or_default();
        let mut lists = variant_lists(&t.variants, path, trainer)?;
        let defaults = registered.variant_defaults;
        if !defaults.is_empty() {
            for (k, d) in defaults {
                if !lists.iter().any(|(kk, _)| kk == k) {
                    lists.push((k.to_string(), vec![d.to_string()]));
                }
            }
            // Folder tag order is the trainer's (CoOp: nctx, csc, ctp), then the others.
            lists.sort_by_key(|(k, _)| {
                defaults
                    .iter()
                    .position(|(d, _)| d == k)
                    .unwrap_or(usize::MAX)
            });
        }
        let mut trainer_opts = global_opts.clone();
        trainer_opts.extend(opts_list(
            &t.opts,
            path,
            &format!("trainers.{trainer}.opts"),
        )?);
        let shots: Vec<i64> = if tr.ignores_shots {
            vec![0]
        } else if spec.shots.is_empty() {
            return Err(SweepError::Spec {
                path: path.into(),
                what: format!("`shots` is empty but {trainer} needs shots"),
            });
        } else {
            spec.shots.clone()
        };
        let seeds: Vec<Option<i64>> = if tr.ignores_seeds {
            vec![None]
        } else if spec.seeds.is_empty() {
            return Err(SweepError::Spec {
                path: path.into(),
                what: format!("`seeds` is empty but {trainer} needs seeds"),
            });
        } else {
            spec.seeds.iter().map(|s| Some(*s)).collect()
        };
        for variant in cartesian(&lists) {
            let label = label_for(trainer, &t, registered, &variant);
            let vtag = tag(&variant);
            let cfg_file = |cfg: &str| format!("{}/{cfg_dir}/{cfg}.yaml", spec.trainer_dir());
            let mk = |dataset: &DatasetRef,
                      shots: i64,
                      seed: Option<i64>,
                      role: Role,
                      dir: String,
                      cfg: &str,
                      extra: &[(&str, &str)]| {
                let mut opts: Vec<(String, String)> = trainer_opts.clone();
                opts.extend(variant.iter().cloned());
                if shots > 0 {
                    opts.push(("DATASET.NUM_SHOTS".into(), shots.to_string()));
                }
                opts.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                Draft {
                    dir,
                    dataset: dataset.clone(),
                    cfg: cfg.to_string(),
                    config_file: cfg_file(cfg),
                    seed,
                    shots,
                    opts,
                    eval: None,
                    role,
                    trainer: trainer.clone(),
                    label: label.clone(),
                    variant: variant.clone(),
                }
            };
            let seed_dir = |s: Option<i64>| s.map(|s| format!("/seed{s}")).unwrap_or_default();
            let vdir = |shots: i64, cfg: &str| {
                let mut d = if shots > 0 {
                    format!("{cfg}_{shots}shots")
                } else {
                    cfg.to_string()
                };
                if !vtag.is_empty() {
                    d.push('/');
                    d.push_str(&vtag);
                }
                d
            };
            match spec.protocol {
                Protocol::Fewshot => {
                    for ds in &spec.datasets {
                        for &k in &shots {
                            for &seed in &seeds {
                                let cfg = epoch_config(
                                    &base_cfg,
                                    k,
                                    ds.key(),
                                    if tr.ignores_shots {
                                        EpochRule::None
                                    } else {
                                        rule
                                    },
                                );
                                let dir =
                                    if tr.ignores_shots && tr.ignores_seeds && variant.is_empty() {
                                        // scripts/coop/zeroshot.sh
                                        format!("{trainer}/{cfg}/{}", ds.key())
                                    } else {
                                        format!(
                                            "{}/{trainer}/{}{}",
                                            ds.key(),
                                            vdir(k, &cfg),
                                            seed_dir(seed)
                                        )
                                    };
                                let mut d = mk(ds, k, seed, Role::Fewshot, dir, &cfg, &[]);
                                d.eval = tr.eval_only.then_some(usize::MAX);
                                push(&mut runs, d)?;
                            }
                        }
                    }
                }
                Protocol::Base2new => {
                    for ds in &spec.datasets {
                        for &k in &shots {
                            for &seed in &seeds {
                                let cfg = epoch_config(
                                    &base_cfg,
                                    k,
                                    ds.key(),
                                    if tr.ignores_shots {
                                        EpochRule::None
                                    } else {
                                        rule
                                    },
                                );
                                let sub = |phase: &str| {
                                    let shots_dir = if k > 0 {
                                        format!("shots_{k}/")
                                    } else {
                                        String::new()
                                    };
                                    let v = if vtag.is_empty() {
                                        String::new()
                                    } else {
                                        format!("/{vtag}")
                                    };
                                    format!(
                                        "base2new/{phase}/{}/{shots_dir}{trainer}/{cfg}{v}{}",
                                        ds.key(),
                                        seed_dir(seed)
                                    )
                                };
                                let base_phase = if tr.eval_only {
                                    "test_base"
                                } else {
                                    "train_base"
                                };
                                let mut b = mk(
                                    ds,
                                    k,
                                    seed,
                                    Role::Base,
                                    sub(base_phase),
                                    &cfg,
                                    &[("DATASET.SUBSAMPLE_CLASSES", "base")],
                                );
                                b.eval = tr.eval_only.then_some(usize::MAX);
                                let bi = push(&mut runs, b)?;
                                let mut n = mk(
                                    ds,
                                    k,
                                    seed,
                                    Role::New,
                                    sub("test_new"),
                                    &cfg,
                                    &[("DATASET.SUBSAMPLE_CLASSES", "new")],
                                );
                                n.eval = Some(if tr.eval_only {
                                    usize::MAX
                                } else {
                                    bi.unwrap_or(UNPLANNED_MODEL)
                                });
                                push(&mut runs, n)?;
                            }
                        }
                    }
                }
                Protocol::Dg => {
                    let src = spec.source.as_ref().expect("validated");
                    for &k in &shots {
                        for &seed in &seeds {
                            let cfg = epoch_config(
                                &base_cfg,
                                k,
                                src.key(),
                                if tr.ignores_shots {
                                    EpochRule::None
                                } else {
                                    rule
                                },
                            );
                            let zs = tr.ignores_shots && tr.ignores_seeds && variant.is_empty();
                            let dir = |ds: &DatasetRef, eval: bool| {
                                if zs {
                                    format!("{trainer}/{cfg}/{}", ds.key())
                                } else if eval {
                                    format!(
                                        "evaluation/{trainer}/{}/{}{}",
                                        vdir(k, &cfg),
                                        ds.key(),
                                        seed_dir(seed)
                                    )
                                } else {
                                    format!(
                                        "{}/{trainer}/{}{}",
                                        ds.key(),
                                        vdir(k, &cfg),
                                        seed_dir(seed)
                                    )
                                }
                            };
                            let mut s = mk(src, k, seed, Role::Source, dir(src, false), &cfg, &[]);
                            s.eval = tr.eval_only.then_some(usize::MAX);
                            let si = push(&mut runs, s)?;
                            for tg in &spec.targets {
                                let mut d = mk(tg, k, seed, Role::Target, dir(tg, true), &cfg, &[]);
                                d.eval = Some(if tr.eval_only {
                                    usize::MAX
                                } else {
                                    si.unwrap_or(UNPLANNED_MODEL)
                                });
                                push(&mut runs, d)?;
                            }
                        }
                    }
                }
            }
        }
    }
    if !problems.runs.is_empty() {
        return Err(SweepError::Invalid(problems));
    }
    // Fill in the evaluated model's dataset.
    for i in 0..runs.len() {
        if let Some(a) = runs[i].after {
            runs[i].meta.source = Some(runs[a].meta.dataset.clone());
        }
    }
    Ok(runs)
}

/// Builds the argument list, resolves it, and names the run.
fn resolve_draft(
    input: &PlanInput<'_>,
    resolver: &dyn Resolver,
    d: Draft,
    runs: &[RunPlan],
) -> Result<RunPlan, Vec<String>> {
    let spec = input.spec;
    let out_dir = input.output.join(&d.dir);
    let mut args: Vec<String> = vec!["train".into(), "--root".into(), input.root.clone()];
    if let Some(s) = d.seed {
        args.extend(["--seed".into(), s.to_string()]);
    }
    args.extend(["--trainer".into(), d.trainer.clone()]);
    let mut opts = d.opts.clone();
    match &d.dataset {
        DatasetRef::Stem(stem) => args.extend([
            "--dataset-config-file".into(),
            format!("{}/{stem}.yaml", spec.dataset_dir()),
        ]),
        DatasetRef::Named { key, name, config } => {
            if let Some(c) = config {
                args.extend(["--dataset-config-file".into(), c.clone()]);
            } else if name.is_none() {
                args.extend([
                    "--dataset-config-file".into(),
                    format!("{}/{key}.yaml", spec.dataset_dir()),
                ]);
            }
            if let Some(n) = name {
                opts.insert(0, ("DATASET.NAME".into(), n.clone()));
            }
        }
    }
    args.extend(["--config-file".into(), d.config_file.clone()]);
    args.extend(["--output-dir".into(), out_dir.display().to_string()]);
    let mut after = None;
    let mut eval_sig = String::new();
    if let Some(e) = d.eval {
        args.push("--eval-only".into());
        if e != usize::MAX {
            let model = &runs[e];
            args.extend([
                "--model-dir".into(),
                input.output.join(&model.dir).display().to_string(),
            ]);
            args.extend(["--load-epoch".into(), model.meta.max_epoch.to_string()]);
            eval_sig = format!("eval {} {}", model.key, model.meta.max_epoch);
            after = Some(e);
        } else {
            eval_sig = "eval".into();
        }
    }
    for (k, v) in opts {
        args.push(k);
        args.push(v);
    }
    let r = resolver.resolve(&args, after.is_some())?;
    let key: String = Sha256::digest(format!("{}\n{eval_sig}", r.config_hash).as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(RunPlan {
        key,
        config_hash: r.config_hash,
        dir: d.dir,
        args,
        after,
        meta: RunMeta {
            trainer: d.trainer,
            label: d.label,
            cfg: d.cfg,
            backbone: r.backbone,
            dataset: r.dataset,
            dataset_key: d.dataset.key().to_string(),
            shots: d.shots,
            seed: d.seed,
            role: d.role,
            source: None,
            variant: d.variant,
            max_epoch: r.max_epoch,
            num_workers: r.num_workers,
        },
    })
}
