//! Tip-Adapter and Tip-Adapter-F (Zhang et al., ECCV 2022; gaopengcuhk/Tip-Adapter): a
//! training-free cache model over CLIP. The keys are the few-shot train images' features
//! (the mean over AUGMENT_EPOCH augmented passes, normalised), the values their one-hot
//! labels; an image with feature f scores
//! `100 f W + alpha * exp(-beta (1 - f K)) V`, with W CLIP's classifier. beta and alpha
//! are searched on the val split. Tip-Adapter-F also fine-tunes the keys (AdamW, eps 1e-4,
//! cosine over the iterations), keeps the epoch with the best test accuracy, as the authors'
//! main.py does, then searches beta and alpha again.
//!
//! Faithful to main.py and utils.py (commit d0e2d6f): fp16 CLIP and fp16 one-hot values on
//! every device (its code runs only on CUDA, where `clip.load` gives fp16), a sequential
//! loader with the training transform for the cache, a shuffled one without drop_last for
//! fine-tuning, the search grids and the strict `>` of `search_hp`. The authors' own
//! per-dataset yaml files are shipped unchanged (configs/trainers/Tip-Adapter/authors)
//! and read here, key by key, for the TRAINER.TIP_ADAPTER keys left at None.
//! Different: the data are Dassl's (CoOp's splits and few-shot sampler, the run's SEED,
//! where main.py seeds 1 and samples with its own copy), ImageNet uses the registry's class
//! names; the run's result is the model after the search (the authors print the max of it
//! and the best per-epoch test accuracy; both are logged). Nothing is checkpointed: the
//! run fits and tests in one go, as LinearProbeCLIP.

use std::path::{Path, PathBuf};

use dassl_rs::clip::model::{Clip, Precision};
use dassl_rs::config::literal::decode_or_str;
use dassl_rs::config::{Config, ConfigBuilder, Origin, Value};
use dassl_rs::data::loader::{Batch, DataLoader, LoaderOptions, Sampler};
use dassl_rs::data::manager::DataManager;
use dassl_rs::engine::trainer_x::{select_device, Engine, Learner, Step};
use dassl_rs::engine::{SweepTraits, Trainer, TrainerEntry};
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::log_println;
use dassl_rs::optim::optimizer::{OptimName, OptimSettings, Optimizer};
use dassl_rs::optim::scheduler::{LrScheduler, SchedSettings};
use tch::{nn::VarStore, Device, Kind, Tensor};

use crate::clip_common::{load_clip, normalize_rows};
use crate::prompt::cross_entropy;
use crate::zsclip::{class_text_features, custom_template, IMAGENET_TEMPLATES_SELECT};

inventory::submit! {
    TrainerEntry { name: "Tip-Adapter", extend_cfg, check_cfg, build: build_tip, sweep: SWEEP }
}

inventory::submit! {
    TrainerEntry { name: "Tip-Adapter-F", extend_cfg: extend_cfg_f, check_cfg: check_cfg_f, build: build_tip_f, sweep: SWEEP }
}

const SWEEP: SweepTraits = SweepTraits {
    config_dir: Some("Tip-Adapter"),
    config: Some("rn50"),
    ..SweepTraits::TRAINED
};

const S: &str = "TRAINER.TIP_ADAPTER";

/// The authors' configs/<name>.yaml, unchanged, by the registry's dataset name; `<name>` is
/// also what their `dataset` key holds.
macro_rules! authors {
    ($(($ours:literal, $theirs:literal)),* $(,)?) => {
        &[$(($ours, $theirs, include_str!(concat!(
            "../../configs/trainers/Tip-Adapter/authors/", $theirs, ".yaml"
        )))),*]
    };
}

const AUTHORS: &[(&str, &str, &str)] = authors![
    ("Caltech101", "caltech101"),
    ("DescribableTextures", "dtd"),
    ("EuroSAT", "eurosat"),
    ("FGVCAircraft", "fgvc"),
    ("Food101", "food101"),
    ("ImageNet", "imagenet"),
    ("OxfordFlowers", "oxford_flowers"),
    ("OxfordPets", "oxford_pets"),
    ("StanfordCars", "stanford_cars"),
    ("SUN397", "sun397"),
    ("UCF101", "ucf101"),
];

/// The keys left at None take the authors' value for DATASET.NAME.
fn declare(b: &mut ConfigBuilder, plugin: &str) -> Result<(), ConfigError> {
    for key in [
        "AUGMENT_EPOCH",
        "INIT_BETA",
        "INIT_ALPHA",
        "SEARCH_HP",
        "SEARCH_SCALE",
        "SEARCH_STEP",
    ] {
        b.declare(&format!("{S}.{key}"), "None", plugin)?;
    }
    Ok(())
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    declare(b, "Tip-Adapter")
}

fn extend_cfg_f(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    declare(b, "Tip-Adapter-F")
}

/// One of the authors' yaml files, mapped key by key; an unknown key is an error.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorsConfig {
    /// `dataset`, as the registry names it.
    pub dataset: String,
    pub init_beta: f64,
    pub init_alpha: f64,
    pub search_hp: bool,
    pub search_scale: [f64; 2],
    pub search_step: [i64; 2],
    pub augment_epoch: i64,
    /// `lr`, `train_epoch`, `shots`, `backbone`: what OPTIM.LR, OPTIM.MAX_EPOCH,
    /// DATASET.NUM_SHOTS and MODEL.BACKBONE.NAME hold in the authors' runs.
    pub lr: f64,
    pub train_epoch: i64,
    pub shots: i64,
    pub backbone: String,
}

impl AuthorsConfig {
    /// Parses `key: value` lines (`#` comments) as main.py's `yaml.load` reads these files.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut c = AuthorsConfig {
            dataset: String::new(),
            init_beta: f64::NAN,
            init_alpha: f64::NAN,
            search_hp: false,
            search_scale: [f64::NAN; 2],
            search_step: [0; 2],
            augment_epoch: 0,
            lr: f64::NAN,
            train_epoch: 0,
            shots: 0,
            backbone: String::new(),
        };
        let mut seen = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let origin = Origin::File {
                path: path.to_path_buf(),
                line: Some(n + 1),
            };
            let (key, raw) = line
                .split_once(':')
                .ok_or_else(|| ConfigError::UnknownKey {
                    key: line.to_string(),
                    origin: origin.clone(),
                    suggestion: None,
                })?;
            let (key, v) = (key.trim(), decode_or_str(raw.trim()));
            let wrong = |expected: &'static str| ConfigError::WrongType {
                key: format!("{}: {key}", path.display()),
                expected,
                value: v.repr(),
            };
            match key {
                "root_path" => {
                    // DATASET.ROOT (`--root`) says where the data are.
                    if v != Value::Str(String::new()) {
                        return Err(wrong("'' (dassl-rs takes the data root from --root)"));
                    }
                }
                "load_cache" | "load_pre_feat" => {
                    if v != Value::Bool(false) {
                        return Err(wrong(
                            "False (dassl-rs builds the cache and the features in every run)",
                        ));
                    }
                }
                "search_hp" => c.search_hp = bool_of(&v).ok_or_else(|| wrong("a bool"))?,
                "search_scale" => {
                    c.search_scale = pair(&v, float_of).ok_or_else(|| wrong("two numbers"))?
                }
                "search_step" => {
                    c.search_step = pair(&v, int_of).ok_or_else(|| wrong("two integers"))?
                }
                "init_beta" => c.init_beta = float_of(&v).ok_or_else(|| wrong("a number"))?,
                "init_alpha" => c.init_alpha = float_of(&v).ok_or_else(|| wrong("a number"))?,
                "lr" => c.lr = float_of(&v).ok_or_else(|| wrong("a number"))?,
                "augment_epoch" => {
                    c.augment_epoch = int_of(&v).ok_or_else(|| wrong("an integer"))?
                }
                "train_epoch" => c.train_epoch = int_of(&v).ok_or_else(|| wrong("an integer"))?,
                "shots" => c.shots = int_of(&v).ok_or_else(|| wrong("an integer"))?,
                "backbone" => match &v {
                    Value::Str(s) => c.backbone = s.clone(),
                    _ => return Err(wrong("a string")),
                },
                "dataset" => {
                    let name = match &v {
                        Value::Str(s) => s.as_str(),
                        _ => return Err(wrong("a string")),
                    };
                    c.dataset = AUTHORS
                        .iter()
                        .find(|(_, theirs, _)| *theirs == name)
                        .map(|(ours, _, _)| ours.to_string())
                        .ok_or_else(|| wrong("one of the authors' eleven datasets"))?;
                }
                _ => {
                    return Err(ConfigError::UnknownKey {
                        key: key.to_string(),
                        origin,
                        suggestion: None,
                    })
                }
            }
            seen.push(key.to_string());
        }
        for key in [
            "dataset",
            "shots",
            "backbone",
            "lr",
            "augment_epoch",
            "train_epoch",
            "search_hp",
            "search_scale",
            "search_step",
            "init_beta",
            "init_alpha",
        ] {
            if !seen.iter().any(|s| s == key) {
                return Err(ConfigError::MissingKey {
                    key: format!("{}: {key}", path.display()),
                });
            }
        }
        Ok(c)
    }

    /// The authors' file for a registry dataset name, if they have one.
    pub fn for_dataset(dataset: &str) -> Result<Option<Self>, ConfigError> {
        let Some((_, name, text)) = AUTHORS.iter().find(|(d, _, _)| *d == dataset) else {
            return Ok(None);
        };
        let path = PathBuf::from(format!("configs/trainers/Tip-Adapter/authors/{name}.yaml"));
        Self::parse(text, &path).map(Some)
    }
}

fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

fn float_of(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn pair<T>(v: &Value, f: fn(&Value) -> Option<T>) -> Option<[T; 2]> {
    match v {
        Value::List(items) | Value::Tuple(items) if items.len() == 2 => {
            Some([f(&items[0])?, f(&items[1])?])
        }
        _ => None,
    }
}

/// `TRAINER.TIP_ADAPTER.<key>` converted by `conv`, or the authors' value for the dataset
/// when the key is None.
fn pick<T>(
    cfg: &Config,
    dataset: &str,
    key: &str,
    theirs: Option<T>,
    conv: impl Fn(&Value) -> Option<T>,
    expected: &'static str,
) -> Result<T, ConfigError> {
    let full = format!("{S}.{key}");
    match (cfg.get(&full), theirs) {
        (Some(Value::None) | None, Some(t)) => Ok(t),
        (Some(Value::None) | None, None) => Err(ConfigError::InvalidChoice {
            key: full,
            value: "None".into(),
            expected: format!(
                "a value: the Tip-Adapter authors have no config for dataset {dataset:?}"
            ),
        }),
        (Some(v), _) => conv(v).ok_or_else(|| ConfigError::WrongType {
            key: full,
            expected,
            value: v.repr(),
        }),
    }
}

/// The hyper-parameters a run uses: TRAINER.TIP_ADAPTER's, or the authors' for the dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct TipSettings {
    pub augment_epoch: i64,
    pub init_beta: f64,
    pub init_alpha: f64,
    pub search_scale: [f64; 2],
    pub search_step: [i64; 2],
}

impl TipSettings {
    pub fn from_cfg(cfg: &Config) -> Result<Self, ConfigError> {
        let dataset = cfg.str("DATASET.NAME")?;
        let authors = AuthorsConfig::for_dataset(dataset)?;
        let a = authors.as_ref();
        let search_hp = pick(
            cfg,
            dataset,
            "SEARCH_HP",
            a.map(|t| t.search_hp),
            bool_of,
            "a bool",
        )?;
        if !search_hp {
            // utils.py's search_hp returns best_beta and best_alpha unbound when it is False.
            return Err(ConfigError::InvalidChoice {
                key: format!("{S}.SEARCH_HP"),
                value: "False".into(),
                expected: "True (the authors' search_hp(False) returns undefined values)".into(),
            });
        }
        let pair_f = |v: &Value| pair(v, float_of);
        let pair_i = |v: &Value| pair(v, int_of);
        let s = TipSettings {
            augment_epoch: pick(
                cfg,
                dataset,
                "AUGMENT_EPOCH",
                a.map(|t| t.augment_epoch),
                int_of,
                "an integer",
            )?,
            init_beta: pick(
                cfg,
                dataset,
                "INIT_BETA",
                a.map(|t| t.init_beta),
                float_of,
                "a number",
            )?,
            init_alpha: pick(
                cfg,
                dataset,
                "INIT_ALPHA",
                a.map(|t| t.init_alpha),
                float_of,
                "a number",
            )?,
            search_scale: pick(
                cfg,
                dataset,
                "SEARCH_SCALE",
                a.map(|t| t.search_scale),
                pair_f,
                "two numbers",
            )?,
            search_step: pick(
                cfg,
                dataset,
                "SEARCH_STEP",
                a.map(|t| t.search_step),
                pair_i,
                "two integers",
            )?,
        };
        if s.augment_epoch < 1 || s.search_step.iter().any(|n| *n < 1) {
            return Err(ConfigError::InvalidChoice {
                key: format!("{S}.AUGMENT_EPOCH / SEARCH_STEP"),
                value: format!("{} / {:?}", s.augment_epoch, s.search_step),
                expected: "positive counts".into(),
            });
        }
        Ok(s)
    }

    /// utils.py line 103-104: `i * (scale - 0.1) / step + 0.1` for i in range(step).
    pub fn grid(&self, which: usize) -> Vec<f64> {
        let (scale, step) = (self.search_scale[which], self.search_step[which]);
        (0..step)
            .map(|i| i as f64 * (scale - 0.1) / step as f64 + 0.1)
            .collect()
    }
}

fn check_cfg(cfg: &Config) -> Result<(), ConfigError> {
    check_settings(cfg, "Tip-Adapter")
}

fn check_settings(cfg: &Config, trainer: &'static str) -> Result<(), ConfigError> {
    crate::clip_common::refuse_init_weights(cfg, trainer)?;
    TipSettings::from_cfg(cfg).map(|_| ())
}

/// Tip-Adapter-F's optimiser and schedule are fixed in main.py (lines 72-73): the OPTIM
/// keys must say so.
fn check_cfg_f(cfg: &Config) -> Result<(), ConfigError> {
    check_settings(cfg, "Tip-Adapter-F")?;
    let fixed = |key: &str, ok: bool, want: &str| {
        if ok {
            Ok(())
        } else {
            Err(ConfigError::InvalidChoice {
                key: key.to_string(),
                value: cfg.get(key).map(Value::repr).unwrap_or_default(),
                expected: format!("{want} (Tip-Adapter-F's main.py fixes it)"),
            })
        }
    };
    fixed("OPTIM.NAME", cfg.str("OPTIM.NAME")? == "adamw", "adamw")?;
    fixed(
        "OPTIM.WEIGHT_DECAY",
        cfg.float("OPTIM.WEIGHT_DECAY")? == 0.01,
        "0.01, torch's AdamW default",
    )?;
    fixed(
        "OPTIM.LR_SCHEDULER",
        cfg.str("OPTIM.LR_SCHEDULER")? == "cosine",
        "cosine (stepped per iteration)",
    )?;
    fixed(
        "OPTIM.WARMUP_EPOCH",
        cfg.int("OPTIM.WARMUP_EPOCH")? <= 0,
        "no warmup (<= 0)",
    )?;
    fixed(
        "OPTIM.MAX_EPOCH",
        cfg.int("OPTIM.MAX_EPOCH")? > 0,
        "a positive epoch count",
    )
}

fn build_tip(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    check_cfg(cfg)?;
    Ok(Box::new(TipTrainer::new(cfg, false)?))
}

fn build_tip_f(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    check_cfg_f(cfg)?;
    Ok(Box::new(TipTrainer::new(cfg, true)?))
}

/// utils.py `cls_acc`: top-1 accuracy in percent, `topk`'s choice among ties.
pub fn cls_acc(output: &Tensor, target: &Tensor) -> f64 {
    let (_, pred) = output.topk(1, 1, true, true);
    let correct = pred
        .squeeze_dim(1)
        .eq_tensor(target)
        .sum(Kind::Float)
        .double_value(&[]);
    100.0 * correct / target.size()[0] as f64
}

/// The cache model and CLIP's classifier.
pub struct Cache {
    /// `[D, C]`, normalised columns.
    pub clip_weights: Tensor,
    /// `[D, N]`.
    pub keys: Tensor,
    /// `[N, C]` one-hot, fp16.
    pub values: Tensor,
}

impl Cache {
    /// main.py lines 39-42 / 91-94: `affinity` is `f K` or `adapter(f)`.
    pub fn logits(&self, features: &Tensor, affinity: &Tensor, beta: f64, alpha: f64) -> Tensor {
        let cache_logits = ((affinity * beta).rsub_scalar(beta) * -1)
            .exp()
            .matmul(&self.values);
        let clip_logits = (features * 100.0).matmul(&self.clip_weights);
        clip_logits + cache_logits * alpha
    }

    /// utils.py `search_hp` (lines 99-131): the first (beta, alpha) of the grid with the
    /// best accuracy; (0, 0) when every accuracy is 0, as there.
    pub fn search(
        &self,
        settings: &TipSettings,
        features: &Tensor,
        labels: &Tensor,
        affinity: &Tensor,
    ) -> (f64, f64, f64) {
        let (mut best_acc, mut best_beta, mut best_alpha) = (0.0, 0.0, 0.0);
        for beta in settings.grid(0) {
            for alpha in settings.grid(1) {
                let acc = cls_acc(&self.logits(features, affinity, beta, alpha), labels);
                if acc > best_acc {
                    log_println!(
                        "New best setting, beta: {beta:.2}, alpha: {alpha:.2}; accuracy: {acc:.2}"
                    );
                    (best_acc, best_beta, best_alpha) = (acc, beta, alpha);
                }
            }
        }
        log_println!("\nAfter searching, the best accuarcy: {best_acc:.2}.\n");
        (best_beta, best_alpha, best_acc)
    }
}

/// utils.py `clip_classifier`: per class, the templates' normalised features averaged and
/// normalised again; `[D, C]`. Tip-Adapter's templates are CoOp's, ImageNet's the seven
/// of `IMAGENET_TEMPLATES_SELECT`.
pub fn clip_classifier(
    clip: &Clip,
    classnames: &[String],
    dataset: &str,
    device: Device,
) -> Result<Tensor, EngineError> {
    let templates = if dataset == "ImageNet" {
        IMAGENET_TEMPLATES_SELECT.to_vec()
    } else {
        vec![custom_template(dataset)]
    };
    let features = class_text_features(clip, classnames, &templates, device)?;
    // With one template the mean is the features; clip_classifier still renormalises.
    let features = if templates.len() == 1 {
        tch::no_grad(|| normalize_rows(&features))
    } else {
        features
    };
    Ok(features.tr().contiguous())
}

/// Normalised image features of a loader's images, and its labels (`pre_load_features`).
fn features(
    clip: &Clip,
    loader: &DataLoader,
    device: Device,
) -> Result<(Tensor, Tensor), EngineError> {
    let (mut f, mut y) = (Vec::new(), Vec::new());
    for batch in loader.epoch(0) {
        let batch = batch?;
        f.push(tch::no_grad(|| {
            normalize_rows(&clip.encode_image(&batch.images.to_device(device)))
        }));
        y.push(batch.labels.to_device(device));
    }
    Ok((Tensor::cat(&f, 0), Tensor::cat(&y, 0)))
}

/// utils.py `build_cache_model` (lines 38-66): AUGMENT_EPOCH passes of a sequential loader
/// with the training transform; the keys are the mean of the passes' features, normalised.
pub fn build_cache(
    clip: &Clip,
    loader: &DataLoader,
    augment_epoch: i64,
    num_classes: i64,
    device: Device,
) -> Result<(Tensor, Tensor), EngineError> {
    let mut passes = Vec::new();
    let mut labels = Vec::new();
    for augment_idx in 0..augment_epoch as usize {
        log_println!("Augment Epoch: {augment_idx} / {augment_epoch}");
        let mut train_features = Vec::new();
        for batch in loader.epoch(augment_idx) {
            let batch = batch?;
            train_features.push(tch::no_grad(|| {
                clip.encode_image(&batch.images.to_device(device))
            }));
            if augment_idx == 0 {
                labels.push(batch.labels.to_device(device));
            }
        }
        passes.push(Tensor::cat(&train_features, 0));
    }
    let keys = normalize_rows(&Tensor::stack(&passes, 0).mean_dim(0, false, None::<Kind>));
    let values = Tensor::cat(&labels, 0)
        .one_hot(num_classes)
        .to_kind(Kind::Half);
    Ok((keys.tr().contiguous(), values))
}

/// The engine's learner: inference with the searched beta and alpha.
pub struct TipLearner {
    clip: Clip,
    _vs: VarStore,
    pub cache: Cache,
    /// Tip-Adapter-F's fine-tuned keys, `[N, D]` (`adapter.weight`).
    pub adapter: Option<Tensor>,
    pub beta: f64,
    pub alpha: f64,
}

impl TipLearner {
    fn affinity(&self, features: &Tensor) -> Tensor {
        match &self.adapter {
            Some(w) => features.linear(w, None::<Tensor>),
            None => features.matmul(&self.cache.keys),
        }
    }
}

impl Learner for TipLearner {
    fn forward_backward(
        &mut self,
        _: &Batch,
        _: Step,
    ) -> Result<Vec<(&'static str, f64)>, EngineError> {
        Err(EngineError::TrainerUnavailable {
            trainer: "Tip-Adapter",
            reason: "it fits in train() (cache, search, fine-tuning), not per Dassl batch",
        })
    }

    fn inference(&mut self, images: &Tensor) -> Result<Tensor, EngineError> {
        let f = normalize_rows(&self.clip.encode_image(images));
        let affinity = self.affinity(&f);
        Ok(self.cache.logits(&f, &affinity, self.beta, self.alpha))
    }

    fn current_lr(&self) -> f64 {
        0.0
    }
}

/// Runs main.py's pipeline in `train()`, then the engine's test on the result.
struct TipTrainer {
    engine: Engine<TipLearner>,
    settings: TipSettings,
    fine_tune: bool,
    /// Test accuracy as the authors print it last (Tip-Adapter-F: max(best, final)).
    best_epoch_acc: f64,
    loader: LoaderOptions,
    cfg: Config,
}

impl TipTrainer {
    fn new(cfg: &Config, fine_tune: bool) -> Result<Self, EngineError> {
        let settings = TipSettings::from_cfg(cfg)?;
        let device = select_device(cfg)?;
        let dm = DataManager::new(cfg)?;
        let dataset = cfg.str("DATASET.NAME")?;
        if dm.val_loader().is_none() {
            return Err(ConfigError::InvalidChoice {
                key: "DATASET.NAME".into(),
                value: dataset.into(),
                expected: "a dataset with a val split (Tip-Adapter searches beta and alpha on it)"
                    .into(),
            }
            .into());
        }
        log_println!(
            "Tip-Adapter runs CLIP in fp16 (its code runs on CUDA, where clip.load gives fp16)"
        );
        let (mut vs, clip, _) = load_clip(cfg, device, Precision::Fp16)?;
        vs.freeze();
        log_println!("\nGetting textual features as CLIP's classifier.");
        let clip_weights = clip_classifier(&clip, dm.classnames(), dataset, device)?;
        let mut loader = LoaderOptions::new(
            Sampler::Sequential,
            cfg.int("DATALOADER.TRAIN_X.BATCH_SIZE")?.max(1) as usize,
            false,
        );
        loader.num_workers = cfg.int("DATALOADER.NUM_WORKERS")?.max(0) as usize;
        loader.seed = cfg.int("SEED")?;
        log_println!("\nConstructing cache model by few-shot visual features and labels.");
        let cache_loader = DataLoader::new(
            dm.dataset().train_x.clone(),
            dm.train_loader_x().transform().clone(),
            loader,
        )?;
        let (keys, values) = build_cache(
            &clip,
            &cache_loader,
            settings.augment_epoch,
            dm.num_classes() as i64,
            device,
        )?;
        let (beta, alpha) = (settings.init_beta, settings.init_alpha);
        let learner = TipLearner {
            clip,
            _vs: vs,
            cache: Cache {
                clip_weights,
                keys,
                values,
            },
            adapter: None,
            beta,
            alpha,
        };
        Ok(TipTrainer {
            engine: Engine::new(cfg, dm, learner, device)?,
            settings,
            fine_tune,
            best_epoch_acc: 0.0,
            loader,
            cfg: cfg.clone(),
        })
    }

    /// main.py `run_tip_adapter` on the val split, and `run_tip_adapter_F` when fine-tuning.
    fn fit(&mut self) -> Result<(), EngineError> {
        let device = self.engine.device();
        let dm = &self.engine.dm;
        let l = &self.engine.learner;
        log_println!("\nLoading visual features and labels from val set.");
        let (val_f, val_y) = features(&l.clip, dm.val_loader().expect("checked in new"), device)?;
        let s = &self.settings;
        let (b0, a0) = (s.init_beta, s.init_alpha);
        let (search_beta, search_alpha) = tch::no_grad(|| {
            log_println!("\n-------- Searching hyperparameters on the val set. --------");
            let clip_only = (&val_f * 100.0).matmul(&l.cache.clip_weights);
            log_println!(
                "\n**** Zero-shot CLIP's val accuracy: {:.2}. ****\n",
                cls_acc(&clip_only, &val_y)
            );
            let affinity = val_f.matmul(&l.cache.keys);
            let acc = cls_acc(&l.cache.logits(&val_f, &affinity, b0, a0), &val_y);
            log_println!("**** Tip-Adapter's val accuracy: {acc:.2}. ****\n");
            let (b, a, _) = l.cache.search(s, &val_f, &val_y, &affinity);
            (b, a)
        });
        if !self.fine_tune {
            let l = &mut self.engine.learner;
            (l.beta, l.alpha) = (search_beta, search_alpha);
            return Ok(());
        }
        log_println!("\nLoading visual features and labels from test set.");
        let (test_f, test_y) = features(&l.clip, dm.test_loader(), device)?;
        let mut opts = self.loader;
        opts.sampler = Sampler::Random;
        let train_loader = DataLoader::new(
            dm.dataset().train_x.clone(),
            dm.train_loader_x().transform().clone(),
            opts,
        )?;
        let (adapter, best_acc) =
            fine_tune(l, s, &train_loader, &test_f, &test_y, &self.cfg, device)?;
        self.best_epoch_acc = best_acc;
        let l = &mut self.engine.learner;
        l.adapter = Some(adapter);
        log_println!("\n-------- Searching hyperparameters on the val set. --------");
        let (b, a) = tch::no_grad(|| {
            let affinity = l.affinity(&val_f);
            let (b, a, _) = l.cache.search(s, &val_f, &val_y, &affinity);
            (b, a)
        });
        (l.beta, l.alpha) = (b, a);
        Ok(())
    }
}

/// main.py `run_tip_adapter_F`'s training (lines 69-126): the keys as a trainable
/// `Linear`, AdamW(lr, eps=1e-4), cosine over epochs x batches stepped per batch; after
/// each epoch the test accuracy at the initial beta and alpha, the best epoch's keys kept.
fn fine_tune(
    l: &TipLearner,
    s: &TipSettings,
    loader: &DataLoader,
    test_f: &Tensor,
    test_y: &Tensor,
    cfg: &Config,
    device: Device,
) -> Result<(Tensor, f64), EngineError> {
    let epochs = cfg.int("OPTIM.MAX_EPOCH")?;
    let adapter = l.cache.keys.tr().copy().set_requires_grad(true);
    let settings = OptimSettings {
        weight_decay: 0.01,
        eps: 1e-4,
        ..OptimSettings::new(OptimName::Adamw, cfg.float("OPTIM.LR")?)
    };
    let mut optim = Optimizer::new(settings, vec![adapter.shallow_clone()])?;
    let mut sched = LrScheduler::new(
        &SchedSettings {
            max_epoch: epochs * loader.len() as i64,
            ..SchedSettings::from_config(cfg)?
        },
        &mut optim,
    )?;
    let (beta, alpha) = (s.init_beta, s.init_alpha);
    let (mut best_acc, mut best_epoch) = (0.0, 0);
    let mut best = adapter.detach().copy();
    for epoch in 0..epochs as usize {
        log_println!("Train Epoch: {epoch} / {epochs}");
        let (mut correct, mut all, mut losses) = (0.0, 0usize, Vec::new());
        for batch in loader.epoch(epoch) {
            let batch = batch?;
            let target = batch.labels.to_device(device);
            let f = tch::no_grad(|| {
                normalize_rows(&l.clip.encode_image(&batch.images.to_device(device)))
            });
            let logits = l
                .cache
                .logits(&f, &f.linear(&adapter, None::<Tensor>), beta, alpha);
            let loss = cross_entropy(&logits, &target);
            correct += cls_acc(&logits, &target) / 100.0 * target.size()[0] as f64;
            all += target.size()[0] as usize;
            losses.push(loss.double_value(&[]));
            optim.zero_grad();
            loss.backward();
            optim.step()?;
            sched.step(&mut optim);
        }
        let mean_loss = losses.iter().sum::<f64>() / losses.len() as f64;
        log_println!(
            "LR: {:.6}, Acc: {:.4} ({correct}/{all}), Loss: {mean_loss:.4}",
            sched.last_lr(),
            correct / all as f64
        );
        let acc = tch::no_grad(|| {
            cls_acc(
                &l.cache.logits(
                    test_f,
                    &test_f.linear(&adapter, None::<Tensor>),
                    beta,
                    alpha,
                ),
                test_y,
            )
        });
        log_println!("**** Tip-Adapter-F's test accuracy: {acc:.2}. ****\n");
        if acc > best_acc {
            (best_acc, best_epoch) = (acc, epoch);
            best = adapter.detach().copy();
        }
    }
    log_println!("**** After fine-tuning, Tip-Adapter-F's best test accuracy: {best_acc:.2}, at epoch: {best_epoch}. ****\n");
    Ok((best, best_acc))
}

impl Trainer for TipTrainer {
    fn train(&mut self) -> Result<(), EngineError> {
        self.fit()?;
        log_println!("\n-------- Evaluating on the test set. --------");
        let acc = self.engine.test(None)?;
        if self.fine_tune {
            log_println!(
                "**** Tip-Adapter-F's test accuracy as main.py prints it, max(best epoch, after search): {:.2}. ****",
                self.best_epoch_acc.max(acc)
            );
        }
        Ok(())
    }

    fn test(&mut self, split: Option<&str>) -> Result<f64, EngineError> {
        self.engine.test(split)
    }

    fn load_model(&mut self, directory: &Path, epoch: Option<usize>) -> Result<(), EngineError> {
        self.engine.load_model(directory, epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family_parity::{
        family_clip, fixture, fixtures, toy_accuracies_with, within_seed_spread,
    };
    use crate::fp16_parity::assert_same;
    use crate::test_support::cfg_from;

    /// The fixture's settings (make_tip_adapter.py) on the toy split, fp16 CLIP.
    fn opts(trainer: &str, clip: &Path, dir: &Path) -> Vec<String> {
        let root = fixtures().join("fewshot_toy");
        [
            "MODEL.BACKBONE.NAME",
            clip.to_str().unwrap(),
            "INPUT.SIZE",
            "(32, 32)",
            "TRAINER.NAME",
            trainer,
            "DATASET.ROOT",
            root.to_str().unwrap(),
            "DATASET.NAME",
            "Custom",
            "DATASET.CUSTOM_SPEC",
            "custom.yaml",
            "DATALOADER.TRAIN_X.BATCH_SIZE",
            "4",
            "DATALOADER.NUM_WORKERS",
            "0",
            "TRAINER.TIP_ADAPTER.INIT_BETA",
            "1.0",
            "TRAINER.TIP_ADAPTER.INIT_ALPHA",
            "3.0",
            "TRAINER.TIP_ADAPTER.SEARCH_HP",
            "True",
            "TRAINER.TIP_ADAPTER.SEARCH_SCALE",
            "[20, 20]",
            "TRAINER.TIP_ADAPTER.SEARCH_STEP",
            "[20, 10]",
            "TRAINER.TIP_ADAPTER.AUGMENT_EPOCH",
            "2",
            "OPTIM.NAME",
            "adamw",
            "OPTIM.WEIGHT_DECAY",
            "0.01",
            "OPTIM.LR",
            "0.001",
            "OPTIM.MAX_EPOCH",
            "10",
            "OPTIM.LR_SCHEDULER",
            "cosine",
            "OUTPUT_DIR",
            dir.join("out").to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn expected() -> serde_json::Value {
        let text = std::fs::read_to_string(fixtures().join("tip_adapter/expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn the_authors_configs_map_key_by_key() {
        for (dataset, file, _) in AUTHORS.iter() {
            let c = AuthorsConfig::for_dataset(dataset).unwrap().unwrap();
            assert_eq!(&c.dataset, dataset, "{file}");
            assert!(c.search_hp && c.augment_epoch == 10 && c.lr == 0.001 && c.shots == 16);
            assert_eq!(c.backbone, "RN50");
        }
        let c = AuthorsConfig::for_dataset("Caltech101").unwrap().unwrap();
        assert_eq!((c.init_beta, c.init_alpha), (1.0, 3.0));
        assert_eq!((c.search_scale, c.search_step), ([12.0, 5.0], [200, 20]));
        let e = AuthorsConfig::for_dataset("EuroSAT").unwrap().unwrap();
        assert_eq!(e.train_epoch, 100);
        assert_eq!(AuthorsConfig::for_dataset("Custom").unwrap(), None);
        let text = AUTHORS[0].2.to_string();
        let bad = |t: &str| AuthorsConfig::parse(t, Path::new("x.yaml")).unwrap_err();
        assert!(
            matches!(bad(&format!("{text}\nnew_key: 1\n")), ConfigError::UnknownKey { key, .. } if key == "new_key")
        );
        assert!(matches!(
            bad(&text.replace("load_cache: False", "load_cache: True")),
            ConfigError::WrongType { .. }
        ));
        assert!(matches!(
            bad(&text.replace("shots: 16", "")),
            ConfigError::MissingKey { .. }
        ));
        // The settings of a run: the authors' for their datasets, TRAINER.TIP_ADAPTER over them.
        let cfg = cfg_from(&["DATASET.NAME", "Food101"]);
        let s = TipSettings::from_cfg(&cfg).unwrap();
        assert_eq!((s.init_alpha, s.search_scale), (1.17, [10.0, 10.0]));
        let cfg = cfg_from(&[
            "DATASET.NAME",
            "Food101",
            "TRAINER.TIP_ADAPTER.INIT_ALPHA",
            "2.5",
        ]);
        assert_eq!(TipSettings::from_cfg(&cfg).unwrap().init_alpha, 2.5);
        // A dataset the authors have no file for needs every key.
        let cfg = cfg_from(&["DATASET.NAME", "Custom"]);
        assert!(matches!(
            TipSettings::from_cfg(&cfg),
            Err(ConfigError::InvalidChoice { .. })
        ));
        // Tip-Adapter-F's optimiser is fixed: the shipped config says so, others are refused.
        let cfg = dassl_rs::config::setup_cfg(&dassl_rs::config::CfgSources {
            config_file: Some(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../configs/trainers/Tip-Adapter/rn50.yaml"),
            ),
            opts: vec!["DATASET.NAME".into(), "ImageNet".into()],
            ..Default::default()
        })
        .unwrap();
        check_cfg_f(&cfg).unwrap();
        let cfg = cfg_from(&["DATASET.NAME", "ImageNet", "OPTIM.NAME", "sgd"]);
        assert!(
            matches!(check_cfg_f(&cfg), Err(ConfigError::InvalidChoice { key, .. }) if key == "OPTIM.NAME")
        );
    }

    /// Classifier, cache, val features, logits, the searched beta and alpha and the test
    /// accuracy against main.py/utils.py in fp16; then one Tip-Adapter-F step.
    #[test]
    fn cache_logits_search_and_a_fine_tuning_step_match_tip_adapter() {
        let _rng = dassl_rs::testing::torch_rng();
        dassl_datasets::link();
        let fx = fixture("tip_adapter/tip_adapter.pt");
        let dir = tempfile::tempdir().unwrap();
        let clip = family_clip(dir.path());
        let cfg = cfg_from(&opts("Tip-Adapter", &clip, dir.path()));
        let mut t = TipTrainer::new(&cfg, false).unwrap();
        let l = &t.engine.learner;
        assert_same("clip_weights", &l.cache.clip_weights, &fx["clip_weights"]);
        assert_same("cache_keys", &l.cache.keys, &fx["cache_keys"]);
        assert_same("cache_values", &l.cache.values, &fx["cache_values"]);
        let dm = &t.engine.dm;
        let (val_f, _) = features(&l.clip, dm.val_loader().unwrap(), Device::Cpu).unwrap();
        assert_same("val_features", &val_f, &fx["val_features"]);
        let logits = tch::no_grad(|| {
            l.cache
                .logits(&val_f, &val_f.matmul(&l.cache.keys), 1.0, 3.0)
        });
        assert_same("tip.val_logits", &logits, &fx["tip.val_logits"]);

        // One fine-tuning step on the first four train images (main.py lines 86-102).
        let loader = DataLoader::new(
            dm.dataset().train_x.clone(),
            dm.test_loader().transform().clone(),
            LoaderOptions::new(Sampler::Sequential, 4, false),
        )
        .unwrap();
        let batch = loader.epoch(0).next().unwrap().unwrap();
        let adapter = l.cache.keys.tr().copy().set_requires_grad(true);
        let settings = OptimSettings {
            weight_decay: 0.01,
            eps: 1e-4,
            ..OptimSettings::new(OptimName::Adamw, 0.001)
        };
        let mut optim = Optimizer::new(settings, vec![adapter.shallow_clone()]).unwrap();
        let mut sched = LrScheduler::new(
            &SchedSettings {
                max_epoch: 10 * 3,
                ..SchedSettings::from_config(&cfg).unwrap()
            },
            &mut optim,
        )
        .unwrap();
        let f = tch::no_grad(|| normalize_rows(&l.clip.encode_image(&batch.images)));
        let logits = l
            .cache
            .logits(&f, &f.linear(&adapter, None::<Tensor>), 1.0, 3.0);
        let loss = cross_entropy(&logits, &batch.labels);
        assert_same("tipf.step.loss", &loss.detach(), &fx["tipf.step.loss"]);
        optim.zero_grad();
        loss.backward();
        assert_same("tipf.step.grad", &adapter.grad(), &fx["tipf.step.grad"]);
        optim.step().unwrap();
        sched.step(&mut optim);
        // torch's fp16 AdamW rounds its intermediate steps in fp16 in its own order: a few
        // elements land one fp16 ulp apart.
        let want = fx["tipf.step.weight"].to_kind(Kind::Double);
        let diff = (adapter.detach().to_kind(Kind::Double) - &want).abs();
        let ulp = (want.abs() * 2f64.powi(-10)).clamp_min(2f64.powi(-24));
        let over = diff.gt_tensor(&ulp).sum(Kind::Int64).int64_value(&[]);
        assert_eq!(
            over, 0,
            "tipf.step.weight: elements more than one ulp apart"
        );
        assert_eq!(sched.last_lr(), fx["tipf.step.lr"].double_value(&[]));

        // The search on val, then the engine's test.
        t.fit().unwrap();
        let want: Vec<f64> = Vec::try_from(&fx["tip.beta_alpha"]).unwrap();
        assert_eq!(vec![t.engine.learner.beta, t.engine.learner.alpha], want);
        let test_f = &fx["test_features"];
        let l = &t.engine.learner;
        let logits = tch::no_grad(|| {
            l.cache
                .logits(test_f, &test_f.matmul(&l.cache.keys), want[0], want[1])
        });
        assert_same("tip.test_logits", &logits, &fx["tip.test_logits"]);
        let acc = t.engine.test(None).unwrap();
        assert_eq!(acc, expected()["tip_test_accuracy"].as_f64().unwrap());
    }

    /// Tip-Adapter-F through `dassl train`'s path: each seed's final test accuracy lies in
    /// the spread of main.py's seeds; Tip-Adapter (no training) gets Python's exactly.
    #[test]
    fn toy_runs_match_tip_adapter() {
        let _rng = dassl_rs::testing::torch_rng();
        let dir = tempfile::tempdir().unwrap();
        let clip = family_clip(dir.path());
        let accs = toy_accuracies_with(opts("Tip-Adapter-F", &clip, dir.path()), &[], dir.path());
        within_seed_spread("tip_adapter/expected.json", &accs);
        let accs = toy_accuracies_with(opts("Tip-Adapter", &clip, dir.path()), &[], dir.path());
        let want = expected()["tip_test_accuracy"].as_f64().unwrap();
        assert!(accs.iter().all(|a| *a == want), "{accs:?} vs {want}");
    }
}
