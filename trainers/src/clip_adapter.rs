//! CLIP-Adapter (Gao et al., IJCV 2023; gaopengcuhk/CLIP-Adapter): a two-layer bottleneck
//! MLP on CLIP's image feature, mixed back residually, `f' = 0.2 * adapter(f) + 0.8 * f`,
//! then CLIP's cosine classifier over the hand-crafted class prompts. Only the adapter trains.
//!
//! Faithful to clip_adapter.py (commit 08d07f8): CLIP in fp32 whatever any PREC says
//! (line 128), the ratio 0.2 and reduction 4 fixed in its code (lines 97, 104), CoOp's
//! dataset templates, the adapter registered as `clip_adapter`, and CoOp's configs and
//! scripts (its README: "follow CoOp's command"). One change: the adapter is as wide as
//! CLIP's embedding, where the file hard-codes 1024 (RN50's, so RN50 runs are the same and
//! other backbones, which fail there, run). The text features are computed once: the
//! authors recompute them each forward through the frozen encoder, to the same values.

use std::path::Path;

use dassl_rs::clip::model::{Clip, Precision};
use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::engine::registered::NamedState;
use dassl_rs::engine::{SweepTraits, Trainer, TrainerEntry};
use dassl_rs::errors::{ConfigError, EngineError};
use tch::{Device, Kind, Tensor};

use crate::clip_common::normalize_rows;
use crate::prompt::{build_engine, copy_checked, CustomClip, PromptModel};

inventory::submit! {
    TrainerEntry { name: "CLIP_Adapter", extend_cfg, check_cfg, build, sweep: SWEEP }
}

/// CoOp's few-shot scripts and configs.
const SWEEP: SweepTraits = SweepTraits {
    config_dir: Some("CoOp"),
    config: Some("rn50"),
    ..SweepTraits::TRAINED
};

/// The residual ratio (clip_adapter.py line 104).
pub const RATIO: f64 = 0.2;
/// The bottleneck's reduction (line 97).
pub const REDUCTION: i64 = 4;

/// CLIP-Adapter adds no config keys.
fn extend_cfg(_: &mut ConfigBuilder) -> Result<(), ConfigError> {
    Ok(())
}

/// Nothing of its own to check (it reads no keys of its own).
fn check_cfg(_: &Config) -> Result<(), ConfigError> {
    Ok(())
}

fn build(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    build_engine(cfg, check_cfg, new_learner)
}

/// `build_model`: CLIP in fp32, the adapter, CLIP frozen, the optimizer over the adapter.
fn new_learner(
    cfg: &Config,
    classnames: &[String],
    device: Device,
) -> Result<CustomClip<Adapter>, EngineError> {
    let template = crate::zsclip::custom_template(cfg.str("DATASET.NAME")?);
    CustomClip::build_in(cfg, Precision::Fp32, String::new(), device, |clip| {
        Adapter::new(clip, classnames, template, device)
    })
}

/// `nn.Linear(fan_in, fan_out, bias=False)` as PyTorch initialises it: U(±1/sqrt(fan_in)),
/// drawn in fp32 on the CPU generator.
fn linear_weight(fan_in: i64, fan_out: i64, device: Device) -> Tensor {
    let bound = 1.0 / (fan_in as f64).sqrt();
    Tensor::empty([fan_out, fan_in], (Kind::Float, Device::Cpu))
        .uniform_(-bound, bound)
        .to_device(device)
        .set_requires_grad(true)
}

/// The adapter `fc = Linear(d, d/4) -> ReLU -> Linear(d/4, d) -> ReLU` (lines 55-67), with
/// the class text features it classifies against.
pub struct Adapter {
    /// `fc.0.weight`, `[d/4, d]`.
    pub down: Tensor,
    /// `fc.2.weight`, `[d, d/4]`.
    pub up: Tensor,
    /// Normalised text features of the template, `[n_cls, d]`.
    pub text_features: Tensor,
}

impl std::fmt::Debug for Adapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapter")
            .field("down", &self.down.size())
            .finish_non_exhaustive()
    }
}

impl Adapter {
    pub fn new(
        clip: &Clip,
        classnames: &[String],
        template: &str,
        device: Device,
    ) -> Result<Self, EngineError> {
        let d = clip.config().embed_dim;
        let text_features =
            crate::zsclip::class_text_features(clip, classnames, &[template], device)?;
        let down = linear_weight(d, d / REDUCTION, device);
        let up = linear_weight(d / REDUCTION, d, device);
        Ok(Adapter {
            down,
            up,
            text_features,
        })
    }

    /// `ratio * adapter(f) + (1 - ratio) * f`.
    pub fn adapt(&self, image_features: &Tensor) -> Tensor {
        let x = image_features.matmul(&self.down.tr()).relu();
        let x = x.matmul(&self.up.tr()).relu();
        x * RATIO + image_features * (1.0 - RATIO)
    }
}

impl NamedState for Adapter {
    /// `Adapter.state_dict()`: the two weights under their `nn.Sequential` names.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        self.named_parameters()
            .into_iter()
            .map(|(k, t)| (k, t.detach()))
            .collect()
    }

    fn load_state_dict(
        &mut self,
        tensors: &[(String, Tensor)],
        from: &Path,
    ) -> Result<(), EngineError> {
        for (key, dst) in [("fc.0.weight", &self.down), ("fc.2.weight", &self.up)] {
            let (_, src) = tensors.iter().find(|(n, _)| n == key).ok_or_else(|| {
                EngineError::MissingTensor {
                    path: from.to_path_buf(),
                    key: key.into(),
                }
            })?;
            copy_checked(
                dst,
                src,
                key,
                from,
                "check the backbone (the adapter is CLIP's embedding width)",
            )?;
        }
        Ok(())
    }
}

impl PromptModel for Adapter {
    const REPORTS_ACC: bool = true;
    const NAME: &'static str = "clip_adapter";

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![
            ("fc.0.weight".into(), self.down.shallow_clone()),
            ("fc.2.weight".into(), self.up.shallow_clone()),
        ]
    }

    /// The adapter acts on the frozen encoder's output: evaluations may use cached features.
    const SPLITS_AT_IMAGE_FEATURES: bool = true;

    /// `CustomCLIP.forward` (lines 100-115).
    fn logits(&self, clip: &Clip, images: &Tensor) -> Tensor {
        self.logits_from_features(clip, &clip.encode_image(images), None)
            .expect("no text encoder runs here")
    }

    fn image_free_text_features(&self, _: &Clip) -> Result<Option<Tensor>, EngineError> {
        Ok(Some(self.text_features.shallow_clone()))
    }

    fn logits_from_features(
        &self,
        clip: &Clip,
        image_features: &Tensor,
        _: Option<&Tensor>,
    ) -> Result<Tensor, EngineError> {
        let image_features = normalize_rows(&self.adapt(image_features));
        let text = self.text_features.to_kind(image_features.kind());
        Ok((clip.logit_scale().exp() * image_features).matmul(&text.tr()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family_parity::{
        assert_close, family_cfg, family_clip, fixture, toy_accuracies, within_seed_spread,
        CLASSNAMES,
    };

    #[test]
    fn forward_loss_and_gradients_match_clip_adapter() {
        let _rng = dassl_rs::testing::torch_rng();
        let fx = fixture("clip_adapter/clip_adapter.pt");
        let dir = tempfile::tempdir().unwrap();
        let path = family_clip(dir.path());
        let cfg = family_cfg("CLIP_Adapter", "TRAINER.COOP", &path, dir.path(), &[]);
        let names: Vec<String> = CLASSNAMES.iter().map(|s| s.to_string()).collect();
        let mut learner = new_learner(&cfg, &names, Device::Cpu).unwrap();
        let state: Vec<(String, Tensor)> = ["fc.0.weight", "fc.2.weight"]
            .iter()
            .map(|k| (k.to_string(), fx[*k].copy()))
            .collect();
        learner
            .pl
            .load_state_dict(&state, Path::new("clip_adapter.pt"))
            .unwrap();
        let logits = learner.pl.logits(&learner.clip, &fx["images"]);
        assert_close("logits", &logits.detach(), &fx["logits"], 1e-5);
        let (_, loss) = learner
            .pl
            .logits_and_loss(&learner.clip, &fx["images"], &fx["labels"]);
        assert_close("loss", &loss.detach(), &fx["loss"], 1e-5);
        loss.backward();
        assert_close(
            "grad.fc.0.weight",
            &learner.pl.down.grad(),
            &fx["grad.fc.0.weight"],
            1e-5,
        );
        assert_close(
            "grad.fc.2.weight",
            &learner.pl.up.grad(),
            &fx["grad.fc.2.weight"],
            1e-5,
        );
        let saved = learner.pl.state_dict();
        assert_eq!(saved[0].0, "fc.0.weight");
        assert_eq!(<Adapter as PromptModel>::NAME, "clip_adapter");
    }

    #[test]
    fn toy_training_accuracy_is_within_the_python_seed_spread() {
        let _rng = dassl_rs::testing::torch_rng();
        let accs = toy_accuracies(
            "CLIP_Adapter",
            "TRAINER.COOP",
            &[
                "OPTIM.LR",
                "0.2",
                "OPTIM.MAX_EPOCH",
                "10",
                "OPTIM.LR_SCHEDULER",
                "cosine",
            ],
        );
        within_seed_spread("clip_adapter/expected.json", &accs);
    }
}
