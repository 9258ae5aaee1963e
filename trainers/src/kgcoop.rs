//! KgCoOp (Yao et al., CVPR 2023; htyao89/KgCoOp): CoOp's learnable context, trained with
//! a knowledge-guided term that keeps the learned class text features near CLIP's
//! hand-crafted ones: loss = CE + W * (1 - mean_i cos(t_i, t_i^clip)).
//!
//! Faithful to KgCoOp/trainers/kgcoop.py (commit c43ccc3), which differs from CoOp in ways
//! kept here: its keys live in CoOp's section (`TRAINER.COOP`, plus `W`); CTX_INIT is a
//! flag, and when set the context always starts from "a photo of a" (line 96); the
//! hand-crafted features come from a second CLIP built by `load_clip_to_cpu`, so they are
//! fp16 whatever PREC is (lines 132-145); its dataset templates are CoOp's but for
//! DescribableTextures. Not built: `bias_vectors`, `meta_net` and the adapter, which its
//! code creates but never uses (their checkpoints load: only `ctx` is read); their draws
//! from torch's generator are made, so the data order is KgCoOp's. PREC amp is
//! refused: KgCoOp's amp branch passes the (logits, score) pair to `cross_entropy`.

use std::path::Path;

use dassl_rs::clip::init_replay::{replay, replay_construction, Draw};
use dassl_rs::clip::model::{Clip, Precision};
use dassl_rs::config::{Config, ConfigBuilder, Origin, Value};
use dassl_rs::engine::registered::NamedState;
use dassl_rs::engine::{SweepTraits, Trainer, TrainerEntry};
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::log_println;
use tch::{Device, Kind, Tensor};

use crate::clip_common::{load_clip, normalize_rows};
use crate::coop::PromptLearner as CoopPromptLearner;
use crate::prompt::{build_engine, check_prompt_cfg, cross_entropy, CustomClip, PromptModel};

inventory::submit! {
    TrainerEntry { name: "KgCoOp", extend_cfg, check_cfg, build, sweep: SWEEP }
}

const SECTION: &str = "TRAINER.COOP";
const CTX_INIT: &str = "TRAINER.COOP.CTX_INIT";
/// What KgCoOp starts the context from whenever CTX_INIT is set (kgcoop.py line 96).
const INIT_WORDS: &str = "a photo of a";

/// scripts/base2new_train.sh always passes N_CTX 4, CSC False, W and end (run.sh: W 8.0),
/// with the config vit_b16_ep100_ctxv1.
const SWEEP: SweepTraits = SweepTraits {
    variant_defaults: &[
        ("TRAINER.COOP.N_CTX", "4"),
        ("TRAINER.COOP.CSC", "False"),
        ("TRAINER.COOP.W", "8.0"),
        ("TRAINER.COOP.CLASS_TOKEN_POSITION", "end"),
    ],
    config_dir: Some("KgCoOp"),
    config: Some("vit_b16_ep100_ctxv1"),
    ..SweepTraits::TRAINED
};

/// KgCoOp's `extend_cfg` (train.py lines 92-99): CoOp's keys with CoOp's defaults, its
/// weight W, and ALPHA (declared there, read nowhere in KgCoOp's trainers). CTX_INIT is
/// `False` there and `""` in CoOp: it takes both (see `ConfigBuilder::accept_bool`).
fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    b.declare("TRAINER.COOP.N_CTX", "16", "KgCoOp")?;
    b.declare("TRAINER.COOP.CSC", "False", "KgCoOp")?;
    b.declare(CTX_INIT, "''", "KgCoOp")?;
    b.accept_bool(CTX_INIT, "KgCoOp")?;
    b.declare("TRAINER.COOP.W", "1.0", "KgCoOp")?;
    b.declare("TRAINER.COOP.ALPHA", "1.0", "KgCoOp")?;
    b.declare("TRAINER.COOP.PREC", "'fp16'", "KgCoOp")?;
    b.declare("TRAINER.COOP.CLASS_TOKEN_POSITION", "'end'", "KgCoOp")?;
    b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", "KgCoOp")
}

/// The config CoOp's prompt learner reads for KgCoOp: CTX_INIT as the words KgCoOp uses
/// (`if ctx_init:` then "a photo of a", else a random context).
fn prompt_cfg(cfg: &Config) -> Result<Config, ConfigError> {
    let set = match cfg.get(CTX_INIT) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Str(s)) => !s.is_empty(),
        Some(Value::None) => false,
        other => {
            return Err(ConfigError::WrongType {
                key: CTX_INIT.into(),
                expected: "a bool or a string",
                value: other.map(Value::repr).unwrap_or_default(),
            })
        }
    };
    let words = if set { INIT_WORDS } else { "" };
    cfg.with_value(
        CTX_INIT,
        Value::Str(words.into()),
        Origin::Extension("KgCoOp".into()),
    )
}

/// KgCoOp's `check_cfg` (PREC), CoOp's context checks, and the PREC amp it cannot run.
fn check_cfg(cfg: &Config) -> Result<(), ConfigError> {
    let pcfg = prompt_cfg(cfg)?;
    check_prompt_cfg(&pcfg, SECTION)?;
    crate::check_choice_as(
        cfg,
        "TRAINER.COOP.PREC",
        &["fp16", "fp32"],
        "fp16 or fp32 (KgCoOp's amp branch passes its (logits, score) pair to cross_entropy and fails)",
    )?;
    crate::check_choice(
        cfg,
        "TRAINER.COOP.CLASS_TOKEN_POSITION",
        &["end", "middle", "front"],
    )
}

fn build(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    build_engine(cfg, check_cfg, new_learner)
}

/// KgCoOp's `build_model`, given the class names.
pub(crate) fn new_learner(
    cfg: &Config,
    classnames: &[String],
    device: Device,
) -> Result<CustomClip<PromptLearner>, EngineError> {
    CustomClip::build(cfg, SECTION, device, |clip| {
        PromptLearner::new(cfg, classnames, clip, device)
    })
}

/// What kgcoop.py draws after the context for parts it never uses (lines 123-151, 221):
/// `bias_vectors` (`normal_` on `[1, 512]` in CLIP's dtype), the second CLIP's
/// construction (`load_clip_to_cpu`), `meta_net`'s `nn.Linear(512, 512)`, then
/// CustomCLIP's `Adapter(512, 4)` (two bias-free Linears). Not built here, but drawn, so
/// the data order that follows is KgCoOp's seed for seed.
fn replay_unused_draws(clip: &Clip) {
    let _guard = tch::no_grad_guard();
    let _ = Tensor::empty([1, 512], (clip.dtype(), Device::Cpu)).normal_(0.0, 0.02);
    replay_construction(clip.config());
    replay(&[
        Draw::Uniform(512 * 512),
        Draw::Uniform(512),
        Draw::Uniform(128 * 512),
        Draw::Uniform(512 * 128),
    ]);
}

/// KgCoOp's `CUSTOM_TEMPLATES` (kgcoop.py lines 38-54): CoOp's, but for textures.
fn template(dataset: &str) -> &'static str {
    if dataset == "DescribableTextures" {
        "a photo of a {}, a type of texture."
    } else {
        crate::zsclip::custom_template(dataset)
    }
}

/// KgCoOp's `PromptLearner`: CoOp's context and buffers, the hand-crafted text features
/// and the loss weight.
pub struct PromptLearner {
    pub coop: CoopPromptLearner,
    /// Normalised fp16 text features of the dataset's template, `[n_cls, embed_dim]`.
    pub text_features_old: Tensor,
    pub w: f64,
}

impl std::fmt::Debug for PromptLearner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KgCoOp {:?} (W {})", self.coop, self.w)
    }
}

impl PromptLearner {
    pub fn new(
        cfg: &Config,
        classnames: &[String],
        clip: &Clip,
        device: Device,
    ) -> Result<Self, EngineError> {
        let coop = CoopPromptLearner::new(&prompt_cfg(cfg)?, classnames, clip, device)?;
        replay_unused_draws(clip);
        let template = template(cfg.str("DATASET.NAME")?);
        // load_clip_to_cpu's CLIP is fp16: reuse the model when it is, else load that copy.
        let text =
            |clip: &Clip| crate::zsclip::class_text_features(clip, classnames, &[template], device);
        let text_features_old = if clip.dtype() == Kind::Half {
            text(clip)?
        } else {
            log_println!("Loading an fp16 CLIP for the hand-crafted text features");
            text(&load_clip(cfg, device, Precision::Fp16)?.1)?
        };
        Ok(PromptLearner {
            coop,
            text_features_old,
            w: cfg.float("TRAINER.COOP.W")?,
        })
    }

    /// `CustomCLIP.forward` (kgcoop.py lines 223-243): the logits and the score
    /// `1 - mean(cos(text_features, text_features_old))`.
    /// The normalised text features serve both terms, as there (one tensor, so the
    /// gradients of both terms meet in the same order).
    pub fn logits_and_score(&self, clip: &Clip, images: &Tensor) -> (Tensor, Tensor) {
        let image_features = normalize_rows(&clip.encode_image(images));
        let text_features = normalize_rows(
            &self
                .coop
                .text_features(clip)
                .expect("CoOp's prompts are built to fit the text encoder"),
        );
        let logits = (clip.logit_scale().exp() * &image_features)
            .matmul(&text_features.to_kind(image_features.kind()).tr());
        let old = normalize_rows(&self.text_features_old);
        let cos = Tensor::cosine_similarity(&text_features, &old, 1, 1e-7);
        let score = cos.mean(None::<Kind>).neg() + 1.0;
        (logits, score)
    }
}

impl NamedState for PromptLearner {
    /// CoOp's: `ctx` and the token buffers.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        self.coop.state_dict()
    }

    fn load_state_dict(
        &mut self,
        tensors: &[(String, Tensor)],
        from: &Path,
    ) -> Result<(), EngineError> {
        self.coop.load_state_dict(tensors, from)
    }
}

/// Inference is CoOp's (`model_inference` drops the score), feature cache included.
impl PromptModel for PromptLearner {
    const REPORTS_ACC: bool = true;
    const SPLITS_AT_IMAGE_FEATURES: bool = true;

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        self.coop.named_parameters()
    }

    fn logits(&self, clip: &Clip, images: &Tensor) -> Tensor {
        self.coop.logits(clip, images)
    }

    fn image_free_text_features(&self, clip: &Clip) -> Result<Option<Tensor>, EngineError> {
        self.coop.image_free_text_features(clip)
    }

    fn logits_from_features(
        &self,
        clip: &Clip,
        image_features: &Tensor,
        text: Option<&Tensor>,
    ) -> Result<Tensor, EngineError> {
        self.coop.logits_from_features(clip, image_features, text)
    }

    /// `forward_backward` (line 310): `F.cross_entropy(output, label) + self.w * score`.
    fn logits_and_loss(&self, clip: &Clip, images: &Tensor, labels: &Tensor) -> (Tensor, Tensor) {
        let (logits, score) = self.logits_and_score(clip, images);
        let loss = cross_entropy(&logits, labels) + score * self.w;
        (logits, loss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family_parity::{
        assert_close, family_cfg, family_clip, fixture, toy_accuracies, within_seed_spread,
        CLASSNAMES,
    };
    use crate::fp16_parity::assert_same;

    fn classnames() -> Vec<String> {
        CLASSNAMES.iter().map(|s| s.to_string()).collect()
    }

    /// Forward, score, loss and context gradient against kgcoop.py for PREC `prec`.
    fn forward_case(prec: &str) {
        // fp16 bit for bit; fp32 up to summation order (the text encoder's fast path).
        let same = |name: &str, got: &Tensor, want: &Tensor| {
            if prec == "fp16" {
                assert_same(name, got, want)
            } else {
                assert_close(name, got, want, 1e-5)
            }
        };
        let fx = fixture("kgcoop/kgcoop.pt");
        let dir = tempfile::tempdir().unwrap();
        let path = family_clip(dir.path());
        let cfg = family_cfg(
            "KgCoOp",
            SECTION,
            &path,
            dir.path(),
            &["TRAINER.COOP.PREC", prec, "TRAINER.COOP.W", "8.0"],
        );
        let precision = crate::clip_common::precision_for(prec).unwrap();
        let (mut vs, clip) = Clip::load(&path, Device::Cpu, precision).unwrap();
        vs.freeze();
        let mut pl = PromptLearner::new(&cfg, &classnames(), &clip, Device::Cpu).unwrap();
        let ctx = fx[&format!("{prec}.ctx")].copy();
        pl.load_state_dict(&[("ctx".into(), ctx)], Path::new("kgcoop.pt"))
            .unwrap();
        same(
            "text_features_old",
            &pl.text_features_old,
            &fx["text_features_old"],
        );
        let (logits, score) = pl.logits_and_score(&clip, &fx["images"]);
        same(
            &format!("{prec}.logits"),
            &logits.detach(),
            &fx[&format!("{prec}.logits")],
        );
        same(
            &format!("{prec}.score"),
            &score.detach(),
            &fx[&format!("{prec}.score")],
        );
        let (_, loss) = pl.logits_and_loss(&clip, &fx["images"], &fx["labels"]);
        same(
            &format!("{prec}.loss"),
            &loss.detach(),
            &fx[&format!("{prec}.loss")],
        );
        loss.backward();
        same(
            &format!("{prec}.grad"),
            &pl.coop.ctx.grad(),
            &fx[&format!("{prec}.grad")],
        );

        // CTX_INIT set (a bool, as KgCoOp's configs set it): "a photo of a", whatever it says.
        let cfg = family_cfg(
            "KgCoOp",
            SECTION,
            &path,
            dir.path(),
            &["TRAINER.COOP.PREC", prec, "TRAINER.COOP.CTX_INIT", "True"],
        );
        let pl = PromptLearner::new(&cfg, &classnames(), &clip, Device::Cpu).unwrap();
        same(
            "init.ctx",
            &pl.coop.ctx.detach(),
            &fx[&format!("{prec}.init.ctx")],
        );
        let logits = tch::no_grad(|| pl.logits(&clip, &fx["images"]));
        same("init.logits", &logits, &fx[&format!("{prec}.init.logits")]);
    }

    #[test]
    fn fp16_forward_score_loss_and_gradient_match_kgcoop() {
        let _rng = dassl_rs::testing::torch_rng();
        forward_case("fp16");
    }

    #[test]
    fn fp32_forward_with_fp16_hand_crafted_features_matches_kgcoop() {
        let _rng = dassl_rs::testing::torch_rng();
        forward_case("fp32");
    }

    #[test]
    fn the_authors_configs_load_and_amp_is_refused() {
        let _rng = dassl_rs::testing::torch_rng();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/trainers/KgCoOp");
        for file in ["vit_b16_ep100_ctxv1.yaml", "rn50_ep100.yaml"] {
            let cfg = dassl_rs::config::setup_cfg(&dassl_rs::config::CfgSources {
                config_file: Some(dir.join(file)),
                ..Default::default()
            })
            .unwrap();
            assert_eq!(cfg.get(CTX_INIT), Some(&Value::Bool(true)), "{file}");
            check_cfg(&cfg).unwrap();
            assert_eq!(prompt_cfg(&cfg).unwrap().str(CTX_INIT).unwrap(), INIT_WORDS);
        }
        let cfg = crate::test_support::cfg_from(&["TRAINER.COOP.PREC", "amp"]);
        assert!(matches!(
            check_cfg(&cfg),
            Err(ConfigError::InvalidChoice { key, .. }) if key == "TRAINER.COOP.PREC"
        ));
        // CoOp itself still reads CTX_INIT as a string.
        let cfg = crate::test_support::cfg_from(&["TRAINER.COOP.CTX_INIT", "True"]);
        let coop = <TrainerEntry as dassl_rs::registry::RegistryEntry>::get("CoOp").unwrap();
        assert!((coop.check_cfg)(&cfg).is_err());
    }

    /// A short KgCoOp run through `dassl train`'s path on the toy split: each seed's test
    /// accuracy lies within the spread of kgcoop.py's seeds (fixtures/kgcoop/expected.json).
    #[test]
    fn toy_training_accuracy_is_within_the_python_seed_spread() {
        let _rng = dassl_rs::testing::torch_rng();
        let accs = toy_accuracies(
            "KgCoOp",
            SECTION,
            &[
                "TRAINER.COOP.W",
                "8.0",
                "OPTIM.NAME",
                "adam",
                "OPTIM.LR",
                "0.01",
                "OPTIM.MAX_EPOCH",
                "20",
                "OPTIM.LR_SCHEDULER",
                "cosine",
            ],
        );
        within_seed_spread("kgcoop/expected.json", &accs);
    }
}
