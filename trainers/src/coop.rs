//! CoOp: learnable context vectors around the class token, trained with CLIP frozen.
//!
//! Prompt `i` is `[SOS] ctx_1..ctx_M [CLASS_i] . [EOS]` (class token at the end), or the
//! class token in the middle of the context or in front of it; the context is shared by
//! all classes (generic) or one per class (CSC). Only the context is optimised.

use std::ops::Deref;
use std::path::Path;

use dassl_rs::clip::model::{Clip, TextEncodeError};
use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::engine::registered::NamedState;
use dassl_rs::engine::{LabelPart, SweepTraits, Trainer, TrainerEntry};
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::log_println;
use tch::{Device, Tensor};

use crate::clip_common::normalize_rows;
use crate::prompt::{
    build_engine, check_prompt_cfg, copy_checked, ClassTokenPosition, CustomClip, PromptModel,
    PromptTokens,
};

inventory::submit! {
    TrainerEntry { name: "CoOp", extend_cfg, check_cfg, build, sweep: SWEEP }
}

/// CoOp's main.sh always passes N_CTX, CSC and CLASS_TOKEN_POSITION, so its folders carry
/// them (`nctx16_cscFalse_ctpend`); its method names are `CoOp_<ctp>[_csc][_M<n_ctx>]`.
const SWEEP: SweepTraits = SweepTraits {
    variant_defaults: &[
        ("TRAINER.COOP.N_CTX", "16"),
        ("TRAINER.COOP.CSC", "False"),
        ("TRAINER.COOP.CLASS_TOKEN_POSITION", "end"),
    ],
    label: &[
        LabelPart::Value("TRAINER.COOP.CLASS_TOKEN_POSITION"),
        LabelPart::IfTrue("TRAINER.COOP.CSC", "csc"),
        LabelPart::UnlessDefault("TRAINER.COOP.N_CTX", "M"),
    ],
    ..SweepTraits::TRAINED
};

const SECTION: &str = "TRAINER.COOP";

/// CoOp's `extend_cfg` (train.py), CoOp part.
fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    b.declare("TRAINER.COOP.N_CTX", "16", "CoOp")?;
    b.declare("TRAINER.COOP.CSC", "False", "CoOp")?;
    b.declare("TRAINER.COOP.CTX_INIT", "''", "CoOp")?;
    b.declare("TRAINER.COOP.PREC", "'fp16'", "CoOp")?;
    b.declare("TRAINER.COOP.CLASS_TOKEN_POSITION", "'end'", "CoOp")?;
    b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", "CoOp")
}

/// CoOp's `check_cfg`, plus the checks its code makes later with asserts.
fn check_cfg(cfg: &Config) -> Result<(), ConfigError> {
    check_prompt_cfg(cfg, SECTION)?;
    crate::check_choice(
        cfg,
        "TRAINER.COOP.CLASS_TOKEN_POSITION",
        &["end", "middle", "front"],
    )
}

fn build(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    build_engine(cfg, check_cfg, new_learner)
}

type CoopLearner = CustomClip<PromptLearner>;

/// CoOp's `build_model` and the data it needs for the class names (the tests' engine parts).
#[cfg(test)]
fn build_learner(
    cfg: &Config,
) -> Result<(dassl_rs::data::manager::DataManager, CoopLearner, Device), EngineError> {
    check_cfg(cfg)?;
    crate::prompt::learner_with_data(cfg, new_learner)
}

/// The model part of `build_model`, given the class names (benchmarks need no dataset).
pub(crate) fn new_learner(
    cfg: &Config,
    classnames: &[String],
    device: Device,
) -> Result<CoopLearner, EngineError> {
    check_cfg(cfg)?;
    CustomClip::build(cfg, SECTION, device, |clip| {
        PromptLearner::new(cfg, classnames, clip, device)
    })
}

/// CoOp's `PromptLearner`.
pub struct PromptLearner {
    /// `[n_ctx, D]` (generic) or `[n_cls, n_ctx, D]` (CSC); the only trained tensor.
    pub ctx: Tensor,
    pub tokens: PromptTokens,
    pub position: ClassTokenPosition,
}

impl std::fmt::Debug for PromptLearner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptLearner")
            .field("tokens", &self.tokens)
            .field("position", &self.position)
            .finish()
    }
}

/// The buffers read as CoOp's own fields (`pl.token_prefix`, `pl.n_cls`).
impl Deref for PromptLearner {
    type Target = PromptTokens;
    fn deref(&self) -> &PromptTokens {
        &self.tokens
    }
}

impl PromptLearner {
    pub fn new(
        cfg: &Config,
        classnames: &[String],
        clip: &Clip,
        device: Device,
    ) -> Result<Self, EngineError> {
        let csc = cfg.bool("TRAINER.COOP.CSC")?;
        let n_cls = classnames.len() as i64;
        let width = clip.config().transformer_width;
        let random = |n_ctx: i64| {
            let shape: Vec<i64> = if csc {
                log_println!("Initializing class-specific contexts");
                vec![n_cls, n_ctx, width]
            } else {
                log_println!("Initializing a generic context");
                vec![n_ctx, width]
            };
            // `torch.empty(..., dtype=dtype).normal_(std=0.02)` on the CPU generator, as
            // CoOp builds it before moving to the device (half samples differ from cast floats).
            Tensor::empty(&shape, (clip.dtype(), Device::Cpu))
                .normal_(0.0, 0.02)
                .to_device(device)
        };
        let (ctx, tokens) =
            PromptTokens::with_context(cfg, SECTION, classnames, clip, device, random)?;
        let position = match cfg.str("TRAINER.COOP.CLASS_TOKEN_POSITION")? {
            "end" => ClassTokenPosition::End,
            "middle" => ClassTokenPosition::Middle,
            _ => ClassTokenPosition::Front,
        };
        Ok(PromptLearner {
            ctx,
            tokens,
            position,
        })
    }

    /// The prompt embeddings `[n_cls, 77, D]` (CoOp's `forward`; the logits use
    /// [`PromptLearner::text_features`]).
    #[cfg(test)]
    pub fn forward(&self) -> Tensor {
        self.tokens.assemble(&self.ctx, self.position)
    }

    /// `TextEncoder(prompts)`: the class text features `[n_cls, embed_dim]`.
    pub fn text_features(&self, clip: &Clip) -> Result<Tensor, TextEncodeError> {
        self.tokens.text_features(clip, &self.ctx, self.position)
    }
}

impl NamedState for PromptLearner {
    /// The `state_dict` CoOp saves: `ctx`, `token_prefix`, `token_suffix`.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut sd = vec![("ctx".to_string(), self.ctx.detach())];
        sd.extend(self.tokens.buffers());
        sd
    }

    /// Only `ctx` is loaded; a checkpoint without it is an error.
    fn load_state_dict(
        &mut self,
        tensors: &[(String, Tensor)],
        from: &Path,
    ) -> Result<(), EngineError> {
        let (_, ctx) =
            tensors
                .iter()
                .find(|(n, _)| n == "ctx")
                .ok_or_else(|| EngineError::MissingTensor {
                    path: from.to_path_buf(),
                    key: "ctx".into(),
                })?;
        copy_checked(
            &self.ctx,
            ctx,
            "ctx",
            from,
            "check TRAINER.COOP.N_CTX, CSC and the class count",
        )
    }
}

impl PromptModel for PromptLearner {
    const SPLITS_AT_IMAGE_FEATURES: bool = true;
    const REPORTS_ACC: bool = true;

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![("ctx".into(), self.ctx.shallow_clone())]
    }

    /// `CustomCLIP.forward`: the image encoder, then [`PromptModel::logits_from_features`].
    fn logits(&self, clip: &Clip, images: &Tensor) -> Tensor {
        self.logits_from_features(clip, &clip.encode_image(images), None)
            .expect("CoOp's prompts are built to fit the text encoder")
    }

    /// CoOp's text features depend on the context only: computed once per evaluation.
    fn image_free_text_features(&self, clip: &Clip) -> Result<Option<Tensor>, EngineError> {
        Ok(Some(self.text_features(clip)?))
    }

    /// CoOp's `CustomCLIP.forward` from the image encoder's output.
    fn logits_from_features(
        &self,
        clip: &Clip,
        image_features: &Tensor,
        text: Option<&Tensor>,
    ) -> Result<Tensor, EngineError> {
        let image_features = normalize_rows(image_features);
        let text_features = match text {
            Some(t) => t.shallow_clone(),
            None => self.text_features(clip)?,
        };
        let text_features = normalize_rows(&text_features);
        // `logit_scale * image_features @ text_features.t()`, evaluated left to right; the
        // fp32 0-dim scale keeps the features' dtype.
        let text_features = text_features.to_kind(image_features.kind());
        Ok((clip.logit_scale().exp() * image_features).matmul(&text_features.tr()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{cfg_from, prompt_opts, tiny_clip, toy_data};
    use dassl_rs::data::loader::Batch;
    use dassl_rs::engine::trainer_x::{Learner, Step};
    use tch::Kind;

    struct Setup {
        _dir: tempfile::TempDir,
        cfg: Config,
        /// The opts `cfg` was made from.
        opts: Vec<String>,
    }

    fn setup(opts: &[&str]) -> Setup {
        // Links the dataset plugins into this test binary (the registry is filled at load).
        dassl_datasets::link();
        let dir = tempfile::tempdir().unwrap();
        let clip = tiny_clip(dir.path(), 16);
        toy_data(dir.path());
        let mut all: Vec<String> = [
            "DATASET.ROOT",
            dir.path().join("data").to_str().unwrap(),
            "DATASET.NAME",
            "ToyShapes",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        all.extend(prompt_opts("CoOp", SECTION, &clip, dir.path(), "4"));
        all.extend(opts.iter().map(|s| s.to_string()));
        let cfg = cfg_from(&all);
        Setup {
            _dir: dir,
            cfg,
            opts: all,
        }
    }

    #[test]
    fn only_the_context_trains_and_clip_stays_bit_identical() {
        let _rng = dassl_rs::testing::torch_rng();
        let s = setup(&[]);
        let (dm, mut learner, _) = build_learner(&s.cfg).unwrap();
        let before: Vec<(String, Tensor)> = learner
            .vs
            .variables()
            .into_iter()
            .map(|(n, t)| (n, t.copy()))
            .collect();
        let ctx_before = learner.pl.ctx.copy();
        let batches: Vec<Batch> = dm.train_loader_x().epoch(0).map(|b| b.unwrap()).collect();
        for (i, b) in batches.iter().enumerate() {
            learner
                .forward_backward(
                    b,
                    Step {
                        epoch: 0,
                        batch_idx: i,
                        num_batches: batches.len(),
                    },
                )
                .unwrap();
        }
        for (name, t) in learner.vs.variables() {
            let old = &before.iter().find(|(n, _)| *n == name).unwrap().1;
            assert!(t.equal(old), "CLIP variable {name} changed");
            assert!(!t.grad().defined(), "CLIP variable {name} got a gradient");
            assert!(!t.requires_grad(), "CLIP variable {name} is trainable");
        }
        assert!(!learner.pl.ctx.equal(&ctx_before), "the context must train");
        assert!(learner.pl.ctx.grad().defined());
    }

    #[test]
    fn class_token_positions_place_the_name_tokens() {
        let _rng = dassl_rs::testing::torch_rng();
        for pos in ["end", "middle", "front"] {
            let s = setup(&["TRAINER.COOP.CLASS_TOKEN_POSITION", pos]);
            let (_, learner, _) = build_learner(&s.cfg).unwrap();
            let pl = &learner.pl;
            let prompts = pl.forward();
            assert_eq!(prompts.size(), [3, 77, 64]);
            for i in 0..pl.n_cls {
                let len = pl.name_lens[i as usize];
                let class = pl.token_suffix.get(i).narrow(0, 0, len);
                let ctx = &pl.ctx;
                let at = |start: i64, n: i64| prompts.get(i).narrow(0, start, n);
                assert!(at(0, 1).equal(&pl.token_prefix.get(i)), "{pos}: SOS first");
                match pos {
                    "end" => {
                        assert!(at(1, 4).equal(ctx));
                        assert!(at(5, len).equal(&class));
                    }
                    "middle" => {
                        assert!(at(1, 2).equal(&ctx.narrow(0, 0, 2)));
                        assert!(at(3, len).equal(&class));
                        assert!(at(3 + len, 2).equal(&ctx.narrow(0, 2, 2)));
                    }
                    _ => {
                        assert!(at(1, len).equal(&class));
                        assert!(at(1 + len, 4).equal(ctx));
                    }
                }
                // What follows the name is the same in every position: ".", EOS, padding.
                let rest = pl.token_suffix.get(i).narrow(0, len, 72 - len);
                assert!(
                    at(5 + len, 72 - len).equal(&rest),
                    "{pos}: suffix after the context and name"
                );
            }
        }
    }

    /// Logits `100 * normalise(img) @ normalise(txt).T` and the gradient of a cross-entropy
    /// loss to a copy of `ctx`, for text features computed by `encode`.
    fn logits_and_ctx_grad(
        ctx: &Tensor,
        img: &Tensor,
        encode: impl Fn(&Tensor) -> Tensor,
    ) -> (Tensor, Tensor) {
        let ctx = ctx.detach().copy().set_requires_grad(true);
        let txt = normalize_rows(&encode(&ctx));
        let logits = normalize_rows(img).matmul(&txt.tr()) * 100.0;
        let labels = Tensor::from_slice(&[0i64, 1, 2, 0, 1]);
        logits.cross_entropy_for_logits(&labels).backward();
        (logits.detach(), ctx.grad().copy())
    }

    /// With the text encoder's fast paths on and off (shared prefix, stopping at the last
    /// EOT, against OpenAI's full-length computation), through the trainer's own prompt
    /// assembly for every position, CSC and CTX_INIT: logits within 1e-4 at logit scale
    /// 100, context gradients within 5e-5 relative. The 1e-5 holds at CLIP's
    /// shapes (dassl-rs's clip::model::text tests, about 3e-6); on this 1-layer, 1-head,
    /// 16-dim model with 3 classes fp32's own noise in the gradient is about 1.5e-5, even
    /// where only the EOT cut applies (CSC in the middle).
    #[test]
    fn fast_text_paths_match_the_full_computation() {
        let _rng = dassl_rs::testing::torch_rng();
        let cases: [&[&str]; 7] = [
            &["TRAINER.COOP.CLASS_TOKEN_POSITION", "end"],
            &["TRAINER.COOP.CLASS_TOKEN_POSITION", "middle"],
            &["TRAINER.COOP.CLASS_TOKEN_POSITION", "front"],
            &["TRAINER.COOP.CSC", "True"],
            &[
                "TRAINER.COOP.CSC",
                "True",
                "TRAINER.COOP.CLASS_TOKEN_POSITION",
                "middle",
            ],
            &["TRAINER.COOP.CTX_INIT", "a photo of a"],
            &[
                "TRAINER.COOP.CTX_INIT",
                "a photo of a",
                "TRAINER.COOP.CLASS_TOKEN_POSITION",
                "middle",
            ],
        ];
        // Fixed values, not the global generator's (other tests draw from it concurrently).
        let fixed = |shape: &[i64], scale: f64| {
            let n: i64 = shape.iter().product();
            ((Tensor::arange(n, (Kind::Float, Device::Cpu)) * 0.37).sin() * scale).view(shape)
        };
        let img = fixed(&[5, 16], 1.0);
        let rel = |a: &Tensor, b: &Tensor| {
            (a - b).abs().max().double_value(&[]) / b.abs().max().double_value(&[])
        };
        for opts in cases {
            let s = setup(opts);
            let (_, learner, _) = build_learner(&s.cfg).unwrap();
            let (pl, clip) = (&learner.pl, &learner.clip);
            // CTX_INIT's context is the words' embeddings; a random one is replaced.
            let ctx = if opts.contains(&"TRAINER.COOP.CTX_INIT") {
                pl.ctx.detach()
            } else {
                fixed(&pl.ctx.size(), 0.02)
            };
            let fast = logits_and_ctx_grad(&ctx, &img, |c| {
                pl.tokens.text_features(clip, c, pl.position).unwrap()
            });
            let full = logits_and_ctx_grad(&ctx, &img, |c| {
                pl.tokens.reference_text_features(clip, c, pl.position)
            });
            let dl = (&fast.0 - &full.0).abs().max().double_value(&[]);
            let dg = rel(&fast.1, &full.1);
            eprintln!("{opts:?}: logits {dl:.2e}, ctx gradient {dg:.2e} relative");
            assert!(
                dl < 1e-4 && dg < 5e-5,
                "{opts:?}: logits {dl:.2e}, ctx gradient {dg:.2e} relative"
            );
        }
    }

    /// Issue 13: the frozen-feature cache changes no result. A short CoOp run scores the
    /// same with the cache off, with an empty cache (built) and with a filled one (read).
    #[test]
    fn a_toy_run_scores_the_same_with_and_without_the_feature_cache() {
        let _rng = dassl_rs::testing::torch_rng();
        let s = setup(&["OPTIM.MAX_EPOCH", "2"]);
        let cache = s._dir.path().join("features");
        let run = |setting: &str| -> (f64, f64) {
            let mut opts = s.opts.clone();
            opts.extend(["TEST.FEATURE_CACHE".to_string(), setting.to_string()]);
            let mut trainer = build(&cfg_from(&opts)).unwrap();
            trainer.train().unwrap();
            let final_test = read_accuracy(&s.cfg);
            (final_test, trainer.test(None).unwrap())
        };
        let off = run("off");
        let on = run(cache.to_str().unwrap());
        let listed = dassl_rs::features::FeatureCache::at(&cache).list().unwrap();
        assert_eq!(listed.len(), 1, "one entry: the test split");
        assert_eq!(on, off, "final test and a repeated test, cache on and off");
        assert_eq!(
            run(cache.to_str().unwrap()),
            off,
            "a second run reads the entry"
        );
    }

    /// The accuracy result.json of the run's OUTPUT_DIR holds.
    fn read_accuracy(cfg: &Config) -> f64 {
        let dir = Path::new(cfg.str("OUTPUT_DIR").unwrap());
        dassl_rs::engine::result::RunResult::read(dir)
            .expect("the run wrote result.json")
            .accuracy
    }

    #[test]
    fn ctx_init_and_csc_shape_the_context() {
        let _rng = dassl_rs::testing::torch_rng();
        let s = setup(&["TRAINER.COOP.CTX_INIT", "a photo of a"]);
        let (_, learner, _) = build_learner(&s.cfg).unwrap();
        assert_eq!(learner.pl.n_ctx, 4);
        let tokens = Tensor::from_slice(&[320i64, 1125, 539, 320]);
        let words = learner.clip.token_embedding(&tokens);
        assert!(
            learner.pl.ctx.equal(&words),
            "CTX_INIT copies the words' embeddings"
        );
        let s = setup(&["TRAINER.COOP.CSC", "True"]);
        let (_, learner, _) = build_learner(&s.cfg).unwrap();
        assert_eq!(learner.pl.ctx.size(), [3, 4, 64]);
        let s = setup(&["TRAINER.COOP.PREC", "fp8"]);
        assert!(build_learner(&s.cfg).is_err());
    }
}
