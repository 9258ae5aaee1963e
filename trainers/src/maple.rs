//! MaPLe (Khattak et al., CVPR 2023; muzairkhattak/multimodal-prompt-learning): a learned
//! text context whose projection is the vision prompt of the first layer, and, up to layer
//! J - 1 (PROMPT_DEPTH = J), per-layer text prompts whose projections are that layer's
//! vision prompts; both encoders take them through CLIP's deep-prompt hooks
//! (`dassl_rs::clip::model::deep`).
//!
//! Faithful to trainers/maple.py (commit 69bce21), including what differs from CoOp: with
//! CTX_INIT and N_CTX <= 4 the context is the first N_CTX token embeddings of CTX_INIT and
//! the prompts keep all its words ("a photo of a {name}." with "a photo" learned, "of a"
//! fixed); `proj` is fp16 whatever PREC (line 112: `self.proj.half()`), the per-layer text
//! prompts and their projections fp32 (lines 117-124; all projections start equal,
//! `_get_clones`). Dims: the reference's 512 and 768 are ViT-B's text and vision widths;
//! here they come from the CLIP config. ViT only. PREC fp32 is refused, as is amp on a CPU:
//! there the fp16 `proj` meets an fp32 context without autocast, which fails in PyTorch
//! ("mat1 and mat2 must have the same dtype"). Checkpoints hold the prompt learner only,
//! under the reference's names (`prompt_learner.ctx`, ...) in `MultiModalPromptLearner/`.

use std::path::Path;

use dassl_rs::clip::model::{Clip, DeepPromptError, VisionConfig, VisionPrompts};
use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::engine::registered::NamedState;
use dassl_rs::engine::{SweepTraits, Trainer, TrainerEntry};
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::log_println;
use tch::{Device, Kind, Tensor};

use crate::deep_prompt::{
    check_text_context, check_vit, cosine_logits, declare_section, deeper, int_in, load_named,
    not_vit, prefixed_state, text_context, BACKBONE, TOKEN_BUFFERS,
};
use crate::prompt::{build_engine, ClassTokenPosition, CustomClip, PromptModel, PromptTokens};

inventory::submit! {
    TrainerEntry { name: "MaPLe", extend_cfg, check_cfg, build, sweep: SWEEP }
}

const SECTION: &str = "TRAINER.MAPLE";

/// scripts/maple/base2new_train_maple.sh: the config vit_b16_c2_ep5_batch4_2ctx, and run
/// folders `<dataset>/shots_16/MaPLe/<config>/seed<n>` with no variant tags.
const SWEEP: SweepTraits = SweepTraits {
    config_dir: Some("MaPLe"),
    config: Some("vit_b16_c2_ep5_batch4_2ctx"),
    ..SweepTraits::TRAINED
};

/// Prefix of the prompt learner's keys in the reference's checkpoints (it registers the
/// whole `CustomCLIP`).
const PREFIX: &str = "prompt_learner.";

/// MaPLe's `extend_cfg` (train.py lines 105-110).
fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    declare_section(
        b,
        SECTION,
        "MaPLe",
        &[
            ("N_CTX", "2"),
            ("CTX_INIT", "'a photo of a'"),
            ("PREC", "'fp16'"),
            ("PROMPT_DEPTH", "9"),
        ],
    )
}

/// `check_cfg` (PREC) and the asserts of `MultiModalPromptLearner.__init__`, plus what
/// cannot run: PREC fp32 (see the module doc) and a released ResNet backbone.
fn check_cfg(cfg: &Config) -> Result<(), ConfigError> {
    crate::check_choice_as(
        cfg,
        "TRAINER.MAPLE.PREC",
        &["fp16", "amp"],
        "fp16 or amp (MaPLe's fp16 proj fails on an fp32 context)",
    )?;
    // With CTX_INIT the context is still N_CTX vectors (unlike CoOp's word count).
    check_text_context(cfg, "TRAINER.MAPLE.N_CTX", "TRAINER.MAPLE.CTX_INIT")?;
    int_in(
        cfg,
        "TRAINER.MAPLE.PROMPT_DEPTH",
        1,
        i64::MAX,
        "at least 1 (1 is shallow MaPLe)",
    )?;
    check_vit(cfg, "MaPLe")
}

fn build(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    build_engine(cfg, check_cfg, new_learner)
}

/// MaPLe's `build_model`, given the class names.
fn new_learner(
    cfg: &Config,
    classnames: &[String],
    device: Device,
) -> Result<CustomClip<PromptLearner>, EngineError> {
    if cfg.str("TRAINER.MAPLE.PREC")? == "amp" && device == Device::Cpu {
        return Err(EngineError::Config(ConfigError::InvalidChoice {
            key: "TRAINER.MAPLE.PREC".into(),
            value: "amp".into(),
            expected:
                "fp16 on a CPU (without CUDA autocast MaPLe's fp16 proj fails on an fp32 context)"
                    .into(),
        }));
    }
    CustomClip::build(cfg, SECTION, device, |clip| {
        PromptLearner::new(cfg, classnames, clip, device)
    })
}

/// `nn.Linear` weight and bias.
struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    /// `nn.Linear(input, output)`'s init on the CPU generator: weight and bias uniform in
    /// `±1/sqrt(input)` (kaiming_uniform with a = sqrt(5)), in `kind`.
    fn new(input: i64, output: i64, kind: Kind, device: Device) -> Linear {
        let bound = 1.0 / (input as f64).sqrt();
        let draw = |shape: &[i64]| {
            Tensor::empty(shape, (Kind::Float, Device::Cpu))
                .uniform_(-bound, bound)
                .to_kind(kind)
                .to_device(device)
                .set_requires_grad(true)
        };
        let weight = draw(&[output, input]);
        Linear {
            weight,
            bias: draw(&[output]),
        }
    }

    fn copy(&self) -> Linear {
        let fresh = |t: &Tensor| t.detach().copy().set_requires_grad(true);
        Linear {
            weight: fresh(&self.weight),
            bias: fresh(&self.bias),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, Some(&self.bias))
    }
}

/// MaPLe's `MultiModalPromptLearner`.
pub struct PromptLearner {
    /// `[n_ctx, D_text]` in CLIP's dtype: the first layer's text context.
    pub ctx: Tensor,
    /// `ctx` to the first layer's vision prompt (`[D_vision, D_text]`, fp16).
    proj: Linear,
    /// Per-layer text prompts `[n_ctx, D_text]` (fp32) for layers 1..J-1.
    pub compound_prompts_text: Vec<Tensor>,
    /// Each to that layer's vision prompt (fp32).
    compound_prompt_projections: Vec<Linear>,
    pub tokens: PromptTokens,
}

impl std::fmt::Debug for PromptLearner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MaPLe {:?} (depth {})",
            self.tokens,
            self.compound_prompts_text.len() + 1
        )
    }
}

impl PromptLearner {
    /// `MultiModalPromptLearner.__init__` (maple.py lines 67-138), drawing in its order.
    pub fn new(
        cfg: &Config,
        classnames: &[String],
        clip: &Clip,
        device: Device,
    ) -> Result<Self, EngineError> {
        let config = clip.config();
        let VisionConfig::Vit {
            layers: v_layers,
            width: d_vision,
            ..
        } = config.vision
        else {
            return Err(EngineError::Config(not_vit(cfg.str(BACKBONE)?, "MaPLe")));
        };
        let d_text = config.transformer_width;
        let depth = cfg.int("TRAINER.MAPLE.PROMPT_DEPTH")?;
        let layers = config.transformer_layers.min(v_layers);
        if depth > layers {
            return Err(EngineError::Config(ConfigError::InvalidChoice {
                key: "TRAINER.MAPLE.PROMPT_DEPTH".into(),
                value: depth.to_string(),
                expected: format!("at most the {layers} layers of this CLIP's transformers"),
            }));
        }
        let n_ctx = cfg.int("TRAINER.MAPLE.N_CTX")?;
        let ctx_init = cfg.str("TRAINER.MAPLE.CTX_INIT")?;
        let (ctx, prompt_prefix) = text_context(clip, n_ctx, ctx_init, device)?;
        log_println!("MaPLe design: Multi-modal Prompt Learning");
        log_println!("Initial context: \"{prompt_prefix}\"");
        log_println!("Number of MaPLe context words (tokens): {n_ctx}");
        let proj = Linear::new(d_text, d_vision, Kind::Half, device);
        let compound_prompts_text: Vec<Tensor> = (1..depth)
            .map(|_| {
                Tensor::empty([n_ctx, d_text], (Kind::Float, Device::Cpu))
                    .normal_(0.0, 0.02)
                    .to_device(device)
                    .set_requires_grad(true)
            })
            .collect();
        let single_layer = Linear::new(d_text, d_vision, Kind::Float, device);
        let compound_prompt_projections = (1..depth).map(|_| single_layer.copy()).collect();
        let tokens = PromptTokens::around(&prompt_prefix, n_ctx, classnames, clip, device)?;
        Ok(PromptLearner {
            ctx,
            proj,
            compound_prompts_text,
            compound_prompt_projections,
            tokens,
        })
    }

    /// `CustomCLIP.forward`'s logits (maple.py lines 180-196).
    pub fn forward(&self, clip: &Clip, images: &Tensor) -> Result<Tensor, DeepPromptError> {
        let prompts = self.tokens.assemble(&self.ctx, ClassTokenPosition::End);
        let vision_deep: Vec<Tensor> = self
            .compound_prompt_projections
            .iter()
            .zip(&self.compound_prompts_text)
            .map(|(layer, t)| layer.forward(t))
            .collect();
        let text_deep = deeper(&self.compound_prompts_text);
        let text_features = clip.encode_prompts_deep(&prompts, &self.tokens.eot, &text_deep)?;
        let vision = VisionPrompts {
            shallow: Some(self.proj.forward(&self.ctx)),
            deep: deeper(&vision_deep),
        };
        let image_features = clip.encode_image_prompted(images, &vision)?;
        Ok(cosine_logits(clip, &image_features, &text_features))
    }
}

impl NamedState for PromptLearner {
    /// The prompt learner's part of the reference's `state_dict`.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        prefixed_state(self.named_parameters(), self.tokens.buffers(), PREFIX)
    }

    /// Every parameter must be there; other keys (the reference's frozen CLIP) are ignored,
    /// as its `load_state_dict(strict=False)` does.
    fn load_state_dict(
        &mut self,
        tensors: &[(String, Tensor)],
        from: &Path,
    ) -> Result<(), EngineError> {
        let hint = "check TRAINER.MAPLE.N_CTX, PROMPT_DEPTH and the backbone";
        load_named(self.named_parameters(), tensors, from, PREFIX, hint)
    }
}

impl PromptModel for PromptLearner {
    /// `forward_backward` reports the loss only.
    const REPORTS_ACC: bool = false;
    const NAME: &'static str = "MultiModalPromptLearner";
    const DROPPED_ON_LOAD: &'static [&'static str] = TOKEN_BUFFERS;

    /// `(name, tensor)` of every parameter, in `named_parameters()` order, unprefixed.
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![
            ("proj.weight".to_string(), self.proj.weight.shallow_clone()),
            ("proj.bias".to_string(), self.proj.bias.shallow_clone()),
            ("ctx".to_string(), self.ctx.shallow_clone()),
        ];
        for (i, t) in self.compound_prompts_text.iter().enumerate() {
            out.push((format!("compound_prompts_text.{i}"), t.shallow_clone()));
        }
        for (i, l) in self.compound_prompt_projections.iter().enumerate() {
            let name = format!("compound_prompt_projections.{i}");
            out.push((format!("{name}.weight"), l.weight.shallow_clone()));
            out.push((format!("{name}.bias"), l.bias.shallow_clone()));
        }
        out
    }

    const LOGGED_PREFIX: Option<&'static str> = Some(PREFIX);

    fn logits(&self, clip: &Clip, images: &Tensor) -> Tensor {
        self.forward(clip, images)
            .expect("the prompts are built for this CLIP's transformers")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::deep_prompt::testing::{assert_refused, assert_round_trip, authors_configs_pass};
    use crate::family_parity::{
        family_cfg, fixture, toy_accuracies_with, within_seed_spread, CLASSNAMES,
    };
    use crate::fp16_parity::assert_same;
    use dassl_rs::clip::model::Precision;
    use std::collections::HashMap;
    use std::path::PathBuf;

    /// fewshot_toy's CLIP with three layers per transformer, as make_maple.py's
    /// `three_layers` builds it: layers 1 and 2 are layer 0 flipped along dim 0, and
    /// (layer 2) then along the last dim.
    pub fn maple_clip(dir: &Path) -> PathBuf {
        let mut fx = fixture("fewshot_toy/clip.pt");
        for tower in [
            "clip.transformer.resblocks.",
            "clip.visual.transformer.resblocks.",
        ] {
            let zero: Vec<(String, Tensor)> = fx
                .iter()
                .filter_map(|(k, v)| {
                    let name = k.strip_prefix(&format!("{tower}0."))?;
                    Some((name.to_string(), v.shallow_clone()))
                })
                .collect();
            for (name, v) in zero {
                let one = v.flip([0]);
                let two = one.flip([-1]);
                fx.insert(format!("{tower}1.{name}"), one);
                fx.insert(format!("{tower}2.{name}"), two);
            }
        }
        crate::fp16_parity::clip_in(dir, &fx)
    }

    fn cfg(clip: &Path, dir: &Path, depth: &str) -> Config {
        family_cfg(
            "MaPLe",
            SECTION,
            clip,
            dir,
            &[
                "TRAINER.MAPLE.PREC",
                "fp16",
                "TRAINER.MAPLE.N_CTX",
                "2",
                "TRAINER.MAPLE.PROMPT_DEPTH",
                depth,
            ],
        )
    }

    fn classnames() -> Vec<String> {
        CLASSNAMES.iter().map(|s| s.to_string()).collect()
    }

    /// The learner after `torch.manual_seed(1)`, as make_maple.py builds it.
    fn learner(cfg: &Config, clip: &Clip) -> PromptLearner {
        tch::manual_seed(1);
        PromptLearner::new(cfg, &classnames(), clip, Device::Cpu).unwrap()
    }

    fn fp16_clip(path: &Path) -> Clip {
        let (mut vs, clip) = Clip::load(path, Device::Cpu, Precision::Fp16).unwrap();
        vs.freeze();
        clip
    }

    /// Loads make_maple.py's seed-1 parameters (`<tag><name>`) into `pl`.
    fn fixture_parameters(pl: &mut PromptLearner, fx: &HashMap<String, Tensor>, tag: &str) {
        let init: Vec<(String, Tensor)> = pl
            .named_parameters()
            .iter()
            .map(|(name, _)| {
                (
                    format!("{PREFIX}{name}"),
                    fx[&format!("{tag}{name}")].copy(),
                )
            })
            .collect();
        pl.load_state_dict(&init, Path::new("maple.pt")).unwrap();
    }

    /// Initial parameters, logits, loss and every gradient equal maple.py's (fp16, the
    /// authors' PREC) on the three-layer tiny CLIP, PROMPT_DEPTH 3 and 2.
    #[test]
    fn fp16_init_forward_loss_and_gradients_match_maple_py() {
        let _rng = dassl_rs::testing::torch_rng();
        let fx: HashMap<String, Tensor> = fixture("maple/maple.pt");
        let dir = tempfile::tempdir().unwrap();
        let path = maple_clip(dir.path());
        let clip = fp16_clip(&path);
        let mut pl = learner(&cfg(&path, dir.path(), "3"), &clip);
        let names = pl.named_parameters();
        assert_eq!(
            names.len(),
            9,
            "proj (2), ctx, 2 text prompts, 2 projections (2 each)"
        );
        // The context is CTX_INIT's first two token embeddings ("a photo"); the rest are
        // torch's draws after manual_seed(1), in maple.py's order.
        for (name, t) in &names {
            assert_same(
                &format!("init.{name}"),
                &t.detach(),
                &fx[&format!("init.{name}")],
            );
        }
        fixture_parameters(&mut pl, &fx, "init.");
        let logits = tch::no_grad(|| pl.forward(&clip, &fx["images"]).unwrap());
        assert_same("logits", &logits, &fx["logits"]);
        let (_, loss) = pl.logits_and_loss(&clip, &fx["images"], &fx["labels"]);
        assert_same("loss", &loss.detach(), &fx["loss"]);
        loss.backward();
        for (name, t) in &names {
            assert_same(
                &format!("grad.{name}"),
                &t.grad(),
                &fx[&format!("grad.{name}")],
            );
        }

        let mut pl = learner(&cfg(&path, dir.path(), "2"), &clip);
        fixture_parameters(&mut pl, &fx, "depth2.init.");
        let logits = tch::no_grad(|| pl.forward(&clip, &fx["images"]).unwrap());
        assert_same("depth2.logits", &logits, &fx["depth2.logits"]);
    }

    /// A checkpoint's tensors (with the reference's `prompt_learner.` names) load back,
    /// and one without a parameter is an error naming it.
    #[test]
    fn state_dict_round_trips_under_the_reference_names() {
        let _rng = dassl_rs::testing::torch_rng();
        let dir = tempfile::tempdir().unwrap();
        let path = maple_clip(dir.path());
        let clip = fp16_clip(&path);
        let c = cfg(&path, dir.path(), "3");
        let a = learner(&c, &clip);
        tch::manual_seed(2);
        let mut b = PromptLearner::new(&c, &classnames(), &clip, Device::Cpu).unwrap();
        let keys = [
            "prompt_learner.ctx",
            "prompt_learner.compound_prompts_text.1",
            "prompt_learner.token_suffix",
        ];
        assert_round_trip(&a, &mut b, PromptLearner::named_parameters, &keys);
    }

    #[test]
    fn the_authors_configs_load_and_what_cannot_run_is_refused() {
        let files = [
            "vit_b16_c2_ep5_batch4_2ctx.yaml",
            "vit_b16_c2_ep5_batch4_2ctx_cross_datasets.yaml",
        ];
        for cfg in authors_configs_pass("MaPLe", &files, check_cfg) {
            assert_eq!(cfg.str("TRAINER.MAPLE.CTX_INIT").unwrap(), "a photo of a");
        }
        let refused = |opts: &[&str], key: &str| assert_refused(check_cfg, "MaPLe", opts, key);
        refused(&["TRAINER.MAPLE.PREC", "fp32"], "TRAINER.MAPLE.PREC");
        refused(&["MODEL.BACKBONE.NAME", "RN50"], BACKBONE);
        refused(
            &["TRAINER.MAPLE.PROMPT_DEPTH", "0"],
            "TRAINER.MAPLE.PROMPT_DEPTH",
        );
        refused(&["TRAINER.MAPLE.N_CTX", "0"], "TRAINER.MAPLE.N_CTX");
    }

    /// A short MaPLe run through `dassl train`'s path on the toy split (fp16, SGD): the
    /// seeds' test accuracy lies within the spread of maple.py's (fixtures/maple/expected.json).
    #[test]
    fn toy_training_accuracy_is_within_the_python_seed_spread() {
        let _rng = dassl_rs::testing::torch_rng();
        let dir = tempfile::tempdir().unwrap();
        let clip = maple_clip(dir.path());
        let base = crate::test_support::prompt_opts("MaPLe", SECTION, &clip, dir.path(), "4");
        let accs = toy_accuracies_with(
            base,
            &[
                "TRAINER.MAPLE.PREC",
                "fp16",
                "TRAINER.MAPLE.N_CTX",
                "2",
                "TRAINER.MAPLE.PROMPT_DEPTH",
                "3",
                "OPTIM.NAME",
                "sgd",
                "OPTIM.LR",
                "0.05",
                "OPTIM.MAX_EPOCH",
                "10",
                "OPTIM.LR_SCHEDULER",
                "cosine",
            ],
            dir.path(),
        );
        within_seed_spread("maple/expected.json", &accs);
    }
}
