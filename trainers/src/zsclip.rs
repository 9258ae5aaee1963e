//! Zero-shot CLIP: a hand-written prompt per class (ZeroshotCLIP) or the average of an
//! ensemble of templates (ZeroshotCLIP2); nothing is trained.

use std::path::{Path, PathBuf};

use dassl_rs::clip::model::Clip;
use dassl_rs::clip::tokenizer::ClipTokenizer;
use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::loader::Batch;
use dassl_rs::data::manager::DataManager;
use dassl_rs::engine::trainer_x::{select_device, Engine, Learner, Step};
use dassl_rs::engine::Trainer;
use dassl_rs::engine::{SweepTraits, TrainerEntry};
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::features::{EncoderIdentity, FrozenEncoder};
use dassl_rs::log_println;
use tch::{nn::VarStore, Device, Tensor};

use crate::clip_common::{
    encoder_identity, load_clip, normalize_rows, precision_for, refuse_init_weights,
};

inventory::submit! {
    TrainerEntry { name: "ZeroshotCLIP", extend_cfg: no_keys, check_cfg: check_single, build: build_single, sweep: SWEEP }
}

inventory::submit! {
    TrainerEntry { name: "ZeroshotCLIP2", extend_cfg: no_keys, check_cfg: check_ensemble, build: build_ensemble, sweep: SWEEP }
}

/// scripts/coop/zeroshot.sh: one evaluation per dataset with CoOp's configs.
const SWEEP: SweepTraits = SweepTraits {
    config_dir: Some("CoOp"),
    ..SweepTraits::ZERO_SHOT
};

/// CoOp's `CUSTOM_TEMPLATES` (trainers/zsclip.py), keyed by DATASET.NAME.
pub const CUSTOM_TEMPLATES: &[(&str, &str)] = &[
    ("OxfordPets", "a photo of a {}, a type of pet."),
    ("OxfordFlowers", "a photo of a {}, a type of flower."),
    ("FGVCAircraft", "a photo of a {}, a type of aircraft."),
    ("DescribableTextures", "{} texture."),
    ("EuroSAT", "a centered satellite photo of {}."),
    ("StanfordCars", "a photo of a {}."),
    ("Food101", "a photo of {}, a type of food."),
    ("SUN397", "a photo of a {}."),
    ("Caltech101", "a photo of a {}."),
    ("UCF101", "a photo of a person doing {}."),
    ("ImageNet", "a photo of a {}."),
    ("ImageNetSketch", "a photo of a {}."),
    ("ImageNetV2", "a photo of a {}."),
    ("ImageNetA", "a photo of a {}."),
    ("ImageNetR", "a photo of a {}."),
];

/// CoOp's `IMAGENET_TEMPLATES_SELECT`, in order.
pub const IMAGENET_TEMPLATES_SELECT: &[&str] = &[
    "itap of a {}.",
    "a bad photo of the {}.",
    "a origami {}.",
    "a photo of the large {}.",
    "a {} in a video game.",
    "art of the {}.",
    "a photo of the small {}.",
];

/// The dataset's template; datasets CoOp does not know (toy and custom ones) get CLIP's
/// generic "a photo of a {}." where CoOp would fail with a KeyError.
pub fn custom_template(dataset: &str) -> &'static str {
    CUSTOM_TEMPLATES
        .iter()
        .find(|(d, _)| *d == dataset)
        .map(|(_, t)| *t)
        .unwrap_or_else(|| {
            log_println!("No CoOp template for dataset {dataset}: using \"a photo of a {{}}.\"");
            "a photo of a {}."
        })
}

fn no_keys(_: &mut ConfigBuilder) -> Result<(), ConfigError> {
    Ok(())
}

/// Zero-shot CLIP reads no keys of its own and learns nothing.
fn check_single(cfg: &Config) -> Result<(), ConfigError> {
    refuse_init_weights(cfg, "ZeroshotCLIP")
}

fn check_ensemble(cfg: &Config) -> Result<(), ConfigError> {
    refuse_init_weights(cfg, "ZeroshotCLIP2")
}

fn build_single(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    let template = custom_template(cfg.str("DATASET.NAME")?);
    build(cfg, vec![template])
}

fn build_ensemble(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    let mut templates = IMAGENET_TEMPLATES_SELECT.to_vec();
    let dataset = cfg.str("DATASET.NAME")?;
    if dataset != "ImageNet" {
        templates.push(custom_template(dataset));
    }
    log_println!("Prompt ensembling (n={})", templates.len());
    build(cfg, templates)
}

fn build(cfg: &Config, templates: Vec<&str>) -> Result<Box<dyn Trainer>, EngineError> {
    let device = select_device(cfg)?;
    let dm = DataManager::new(cfg)?;
    // load_clip_to_cpu builds CLIP in fp16 whatever TRAINER.COOP.PREC says.
    let precision = precision_for("fp16")?;
    let (vs, clip, weights) = load_clip(cfg, device, precision)?;
    let text_features = class_text_features(&clip, dm.classnames(), &templates, device)?;
    let learner = ZeroshotLearner {
        clip,
        _vs: vs,
        weights,
        device,
        text_features,
    };
    Ok(Box::new(ZeroshotTrainer(Engine::new(
        cfg, dm, learner, device,
    )?)))
}

/// Normalised text features per class, averaged over templates and normalised again
/// (with one template this is just the normalised features, as ZeroshotCLIP computes).
pub fn class_text_features(
    clip: &Clip,
    classnames: &[String],
    templates: &[&str],
    device: Device,
) -> Result<Tensor, EngineError> {
    let tokenizer = ClipTokenizer::new();
    tch::no_grad(|| {
        let mut sum: Option<Tensor> = None;
        for template in templates {
            let prompts: Vec<String> = classnames
                .iter()
                .map(|c| template.replace("{}", &c.replace('_', " ")))
                .collect();
            if templates.len() == 1 {
                log_println!("Prompts: {prompts:?}");
            }
            let rows = tokenizer.tokenize(&prompts, 77, false)?;
            let flat: Vec<i64> = rows.concat();
            let tokens = Tensor::from_slice(&flat)
                .view([rows.len() as i64, -1])
                .to_device(device);
            let features = normalize_rows(&clip.encode_tokens(&tokens));
            sum = Some(match sum {
                None => features,
                Some(s) => s + features,
            });
        }
        let mean = sum.expect("at least one template") / templates.len() as f64;
        Ok(if templates.len() == 1 {
            mean
        } else {
            normalize_rows(&mean)
        })
    })
}

/// ZeroshotCLIP's `model_inference`: `logit_scale * image_features @ text_features.t()`,
/// left to right (the fp32 0-dim scale keeps the features' dtype, fp16 under PREC fp16).
pub fn zeroshot_logits(clip: &Clip, text_features: &Tensor, images: &Tensor) -> Tensor {
    logits_from_image_features(clip, text_features, &clip.encode_image(images))
}

/// [`zeroshot_logits`] from the image encoder's output (not normalised), as the feature
/// cache stores it.
fn logits_from_image_features(clip: &Clip, text_features: &Tensor, features: &Tensor) -> Tensor {
    let image_features = normalize_rows(features);
    let text = text_features.to_kind(image_features.kind());
    (clip.logit_scale().exp() * image_features).matmul(&text.tr())
}

struct ZeroshotLearner {
    clip: Clip,
    _vs: VarStore,
    /// The weights file (it keys the feature cache).
    weights: PathBuf,
    device: Device,
    text_features: Tensor,
}

impl FrozenEncoder for ZeroshotLearner {
    fn identity(&self) -> EncoderIdentity {
        encoder_identity(&self.clip, &self.weights, self.device)
    }

    fn encode_images(&self, images: &Tensor) -> Tensor {
        self.clip.encode_image(images)
    }

    fn logits_from_features(&mut self, features: &Tensor) -> Result<Tensor, EngineError> {
        Ok(logits_from_image_features(
            &self.clip,
            &self.text_features,
            features,
        ))
    }
}

impl Learner for ZeroshotLearner {
    fn forward_backward(
        &mut self,
        _: &Batch,
        _: Step,
    ) -> Result<Vec<(&'static str, f64)>, EngineError> {
        Err(EngineError::Invalid(
            "zero-shot CLIP has nothing to train".into(),
        ))
    }

    fn inference(&mut self, images: &Tensor) -> Result<Tensor, EngineError> {
        Ok(zeroshot_logits(&self.clip, &self.text_features, images))
    }

    fn frozen_encoder(&mut self) -> Option<&mut dyn FrozenEncoder> {
        Some(self)
    }

    fn current_lr(&self) -> f64 {
        0.0
    }
}

/// Training a zero-shot model means evaluating it: CoOp's scripts run it with
/// `--eval-only`, and a plain `dassl train` (as a sweep launches it) does the same.
struct ZeroshotTrainer(Engine<ZeroshotLearner>);

impl Trainer for ZeroshotTrainer {
    fn train(&mut self) -> Result<(), EngineError> {
        log_println!("Zero-shot CLIP has no parameters to train: evaluating");
        self.0.test(None).map(|_| ())
    }

    fn test(&mut self, split: Option<&str>) -> Result<f64, EngineError> {
        self.0.test(split)
    }

    fn load_model(&mut self, directory: &Path, epoch: Option<usize>) -> Result<(), EngineError> {
        self.0.load_model(directory, epoch)
    }
}
