//! IVLP, independent vision-language prompting (muzairkhattak/multimodal-prompt-learning,
//! the MaPLe paper's baseline): a learned text context as MaPLe's, plus prompts of their
//! own, not coupled, at layers 1..PROMPT_DEPTH_TEXT - 1 of the text transformer and at the
//! input and layers 1..PROMPT_DEPTH_VISION - 1 of the vision transformer.
//!
//! Faithful to trainers/independentVL.py and its `clip/model.py` (commit 69bce21): the
//! per-layer prompts are parameters of the authors' CLIP, drawn (fp32, N(0, 0.02²)) while
//! it is built, after the seed, so a seed's prompts are theirs
//! ([`IndependentPrompts::drawn_with_clip`]); depths beyond the transformers' layers mean
//! every layer, as there. All of PREC fp16, fp32 and amp run. Refused: PROMPT_DEPTH_TEXT
//! below 1 (asserted there), a negative vision depth, and a ResNet backbone with vision
//! prompts (its `ModifiedResNet` takes none). Checkpoints hold the trainable tensors under
//! the names of the authors' `CustomCLIP` in `VLPromptLearner/`.

use std::path::Path;

use dassl_rs::clip::model::{Clip, DeepPromptError, VisionConfig};
use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::engine::registered::NamedState;
use dassl_rs::engine::{SweepTraits, Trainer, TrainerEntry};
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::log_println;
use tch::{Device, Tensor};

use crate::deep_prompt::{
    check_text_context, check_vit, cosine_logits, declare_section, int_in, load_named, not_vit,
    prefixed_state, text_context, Depth, IndependentPrompts, BACKBONE, TOKEN_BUFFERS,
};
use crate::prompt::{build_engine, ClassTokenPosition, CustomClip, PromptModel, PromptTokens};

inventory::submit! {
    TrainerEntry { name: "IVLP", extend_cfg, check_cfg, build, sweep: SWEEP }
}

const SECTION: &str = "TRAINER.IVLP";

/// scripts/independent-vlp/base2new_train_ivlp.sh: its config, run folders
/// `<dataset>/shots_16/IVLP/<config>/seed<n>`.
const SWEEP: SweepTraits = SweepTraits {
    config_dir: Some("IVLP"),
    config: Some("vit_b16_c2_ep5_batch4_2+2ctx"),
    ..SweepTraits::TRAINED
};

/// train.py's `extend_cfg`, IVLP part (lines 113-121).
fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    declare_section(
        b,
        SECTION,
        "IVLP",
        &[
            ("N_CTX_VISION", "2"),
            ("N_CTX_TEXT", "2"),
            ("CTX_INIT", "'a photo of a'"),
            ("PREC", "'fp16'"),
            ("PROMPT_DEPTH_VISION", "9"),
            ("PROMPT_DEPTH_TEXT", "9"),
        ],
    )
}

/// `check_cfg` (PREC), the asserts of `VLPromptLearner` and what cannot run (module doc).
fn check_cfg(cfg: &Config) -> Result<(), ConfigError> {
    crate::check_choice(cfg, "TRAINER.IVLP.PREC", &["fp16", "fp32", "amp"])?;
    check_ivlp_keys(cfg, SECTION)
}

/// The checks of IVLP's keys under `section` (PromptSRC's learner is IVLP's): the text
/// context fits, PROMPT_DEPTH_TEXT >= 1 as `VLPromptLearner` asserts, non-negative vision
/// depth and tokens, and a ViT when the vision tower is prompted.
pub fn check_ivlp_keys(cfg: &Config, section: &str) -> Result<(), ConfigError> {
    let key = |k: &str| format!("{section}.{k}");
    check_text_context(cfg, &key("N_CTX_TEXT"), &key("CTX_INIT"))?;
    let at_least = |k: &str, min: i64, why: &str| int_in(cfg, &key(k), min, i64::MAX, why);
    at_least(
        "PROMPT_DEPTH_TEXT",
        1,
        "at least 1 (VLPromptLearner asserts it; use VPT to prompt the vision branch only)",
    )?;
    let vision = at_least("PROMPT_DEPTH_VISION", 0, "0 (no vision prompts) or more")?;
    at_least("N_CTX_VISION", 0, "0 or more vision prompt tokens")?;
    if vision > 0 {
        check_vit(cfg, &prompted_vision(section))?;
    }
    Ok(())
}

fn build(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    build_engine(cfg, check_cfg, new_learner)
}

/// IVLP's `build_model`, given the class names: CLIP in PREC (fp16, or fp32 for fp32 and amp).
fn new_learner(
    cfg: &Config,
    classnames: &[String],
    device: Device,
) -> Result<CustomClip<PromptLearner>, EngineError> {
    CustomClip::build(cfg, SECTION, device, |clip| {
        PromptLearner::new(cfg, SECTION, classnames, clip, device)
    })
}

/// Who prompts the vision transformer, for the error on a ResNet: "IVLP with ...".
fn prompted_vision(section: &str) -> String {
    let method = section.trim_start_matches("TRAINER.");
    format!("{method} with PROMPT_DEPTH_VISION > 0")
}

/// The tower depths of `design_details`.
pub fn depths(cfg: &Config, section: &str) -> Result<(Depth, Depth), ConfigError> {
    let key = |k: &str| cfg.int(&format!("{section}.{k}"));
    let vision = Depth {
        n_ctx: key("N_CTX_VISION")?,
        depth: key("PROMPT_DEPTH_VISION")?,
    };
    let text = Depth {
        n_ctx: key("N_CTX_TEXT")?,
        depth: key("PROMPT_DEPTH_TEXT")?,
    };
    Ok((vision, text))
}

/// IVLP's `VLPromptLearner` with the prompts of the authors' CLIP.
pub struct PromptLearner {
    /// `[n_ctx, D_text]` in CLIP's dtype: the first text layer's context.
    pub ctx: Tensor,
    pub prompts: IndependentPrompts,
    pub tokens: PromptTokens,
}

impl std::fmt::Debug for PromptLearner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IVLP {:?}", self.tokens)
    }
}

impl PromptLearner {
    /// `load_clip_to_cpu`'s prompts (drawn as CLIP is built) and `VLPromptLearner.__init__`.
    pub fn new(
        cfg: &Config,
        section: &str,
        classnames: &[String],
        clip: &Clip,
        device: Device,
    ) -> Result<Self, EngineError> {
        let (vision, text) = depths(cfg, section)?;
        if vision.depth > 0 && !matches!(clip.config().vision, VisionConfig::Vit { .. }) {
            let name = cfg.str(BACKBONE)?;
            return Err(EngineError::Config(not_vit(
                name,
                &prompted_vision(section),
            )));
        }
        let prompts =
            IndependentPrompts::drawn_with_clip(clip.config(), vision, text).into_trainable(device);
        let (ctx, prompt_prefix) = text_context(
            clip,
            text.n_ctx,
            cfg.str(&format!("{section}.CTX_INIT"))?,
            device,
        )?;
        log_println!("Independent V-L design");
        log_println!("Initial text context: \"{prompt_prefix}\"");
        log_println!(
            "Number of context words (tokens) for Language prompting: {}",
            text.n_ctx
        );
        log_println!(
            "Number of context words (tokens) for Vision prompting: {}",
            vision.n_ctx
        );
        let tokens = PromptTokens::around(&prompt_prefix, text.n_ctx, classnames, clip, device)?;
        Ok(PromptLearner {
            ctx,
            prompts,
            tokens,
        })
    }

    /// The text features `[n_cls, embed_dim]` of the class prompts (not normalised).
    pub fn text_features(&self, clip: &Clip) -> Result<Tensor, DeepPromptError> {
        let prompts = self.tokens.assemble(&self.ctx, ClassTokenPosition::End);
        clip.encode_prompts_deep(&prompts, &self.tokens.eot, &self.prompts.text_prompts())
    }

    /// `CustomCLIP.forward`'s logits (independentVL.py lines 165-176).
    pub fn forward(&self, clip: &Clip, images: &Tensor) -> Result<Tensor, DeepPromptError> {
        let text_features = self.text_features(clip)?;
        let image_features = clip.encode_image_prompted(images, &self.prompts.vision_prompts())?;
        Ok(cosine_logits(clip, &image_features, &text_features))
    }
}

impl NamedState for PromptLearner {
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let buffers = self
            .tokens
            .buffers()
            .into_iter()
            .map(|(k, t)| (format!("prompt_learner.{k}"), t));
        prefixed_state(self.named_parameters(), buffers.collect(), "")
    }

    fn load_state_dict(
        &mut self,
        tensors: &[(String, Tensor)],
        from: &Path,
    ) -> Result<(), EngineError> {
        let hint = "check N_CTX_* and PROMPT_DEPTH_* and the backbone";
        load_named(self.named_parameters(), tensors, from, "", hint)
    }
}

impl PromptModel for PromptLearner {
    const REPORTS_ACC: bool = false;
    const NAME: &'static str = "VLPromptLearner";
    const DROPPED_ON_LOAD: &'static [&'static str] = TOKEN_BUFFERS;
    const DRAWS_IN_CONSTRUCTION: bool = true;

    /// Every trainable tensor under its `CustomCLIP.named_parameters()` name, in that order.
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("prompt_learner.ctx".to_string(), self.ctx.shallow_clone())];
        out.extend(self.prompts.named());
        out
    }

    const LOGGED_PREFIX: Option<&'static str> = Some("");

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
        assert_close, fixture, toy_accuracies_with, within_seed_spread, CLASSNAMES,
    };
    use crate::fp16_parity::assert_same;
    use crate::maple::tests::maple_clip;
    use crate::test_support::cfg_from;
    use dassl_rs::clip::model::Precision;
    use std::collections::HashMap;

    pub fn classnames() -> Vec<String> {
        CLASSNAMES.iter().map(|s| s.to_string()).collect()
    }

    /// `prompt_opts` for a trainer without `<section>.N_CTX` (MaPLe's repository's IVLP
    /// and VPT name it per tower), plus `extra`.
    pub fn deep_opts(
        trainer: &str,
        section: &str,
        clip: &Path,
        dir: &Path,
        extra: &[&str],
    ) -> Vec<String> {
        let mut opts = crate::test_support::prompt_opts(trainer, section, clip, dir, "4");
        let at = opts
            .iter()
            .position(|o| *o == format!("{section}.N_CTX"))
            .unwrap();
        opts.drain(at..at + 2);
        opts.extend(extra.iter().map(|s| s.to_string()));
        opts
    }

    /// make_ivlp.py's cases.
    fn case(tag: &str) -> (Precision, Vec<&'static str>) {
        let keys = |prec, n_text, n_vision, dv, dt| {
            vec![
                "TRAINER.IVLP.PREC",
                prec,
                "TRAINER.IVLP.N_CTX_TEXT",
                n_text,
                "TRAINER.IVLP.N_CTX_VISION",
                n_vision,
                "TRAINER.IVLP.PROMPT_DEPTH_VISION",
                dv,
                "TRAINER.IVLP.PROMPT_DEPTH_TEXT",
                dt,
            ]
        };
        match tag {
            "a." => (Precision::Fp16, keys("fp16", "2", "2", "3", "3")),
            "b." => (Precision::Fp16, keys("fp16", "5", "3", "2", "12")),
            _ => (Precision::Fp32, keys("fp32", "2", "2", "3", "3")),
        }
    }

    /// The learner of a case as make_ivlp.py builds it: seeded, then the CLIP's
    /// construction draws with the prompts among them, then the prompt learner.
    fn learner(tag: &str, path: &Path, dir: &Path) -> (Clip, PromptLearner) {
        let (precision, keys) = case(tag);
        let cfg = cfg_from(&deep_opts("IVLP", SECTION, path, dir, &keys));
        let (mut vs, clip) = Clip::load(path, Device::Cpu, precision).unwrap();
        vs.freeze();
        tch::manual_seed(1);
        let pl = PromptLearner::new(&cfg, SECTION, &classnames(), &clip, Device::Cpu).unwrap();
        (clip, pl)
    }

    /// Drawn parameters, logits and (cases a, f) the loss and every gradient equal
    /// independentVL.py's: bit for bit in fp16 (a: CTX_INIT context, depths 3; b: random
    /// context of 5, vision depth 2, text depth 12 on 3 layers); in fp32 (f) the parameters
    /// bit for bit, logits and loss within 1e-5 of the largest magnitude (the text encoder
    /// stops at the last EOT there, `family_parity::assert_close`) and the gradients within
    /// 1e-4 (they are rounded to fp16 where the prompts are cast, so an fp32 difference of
    /// one ulp can become one fp16 ulp).
    #[test]
    fn drawn_prompts_forward_loss_and_gradients_match_independent_vl_py() {
        let _rng = dassl_rs::testing::torch_rng();
        let fx: HashMap<String, Tensor> = fixture("ivlp/ivlp.pt");
        let dir = tempfile::tempdir().unwrap();
        let path = maple_clip(dir.path());
        for tag in ["a.", "b.", "f."] {
            let (clip, pl) = learner(tag, &path, dir.path());
            let names = pl.named_parameters();
            let n_fx = fx
                .keys()
                .filter(|k| k.starts_with(&format!("{tag}init.")))
                .count();
            assert_eq!(names.len(), n_fx, "{tag}: the trainable parameters");
            for (name, t) in &names {
                assert_same(
                    &format!("{tag}init.{name}"),
                    &t.detach(),
                    &fx[&format!("{tag}init.{name}")],
                );
            }
            let same = |name: &str, got: &Tensor| {
                let want = &fx[&format!("{tag}{name}")];
                if tag == "f." {
                    // The prompts' gradients pass the hooks' fp16 cast: one fp16 rounding
                    // there moves an element by its fp16 ulp.
                    let rtol = if name.starts_with("grad.") {
                        1e-4
                    } else {
                        1e-5
                    };
                    assert_close(&format!("{tag}{name}"), got, want, rtol);
                } else {
                    assert_same(&format!("{tag}{name}"), got, want);
                }
            };
            let logits = tch::no_grad(|| pl.forward(&clip, &fx["images"]).unwrap());
            same("logits", &logits);
            if tag == "b." {
                continue;
            }
            let (_, loss) = pl.logits_and_loss(&clip, &fx["images"], &fx["labels"]);
            same("loss", &loss.detach());
            loss.backward();
            for (name, t) in &names {
                same(&format!("grad.{name}"), &t.grad());
            }
        }
    }

    /// A checkpoint's tensors load back under the authors' names; one without a parameter
    /// is an error naming it.
    #[test]
    fn state_dict_round_trips_under_the_authors_names() {
        let _rng = dassl_rs::testing::torch_rng();
        let dir = tempfile::tempdir().unwrap();
        let path = maple_clip(dir.path());
        let (_, a) = learner("a.", &path, dir.path());
        let (clip, _) = learner("a.", &path, dir.path());
        tch::manual_seed(2);
        let (_, keys) = case("a.");
        let cfg = cfg_from(&deep_opts("IVLP", SECTION, &path, dir.path(), &keys));
        let mut b = PromptLearner::new(&cfg, SECTION, &classnames(), &clip, Device::Cpu).unwrap();
        let keys = [
            "image_encoder.VPT",
            "text_encoder.transformer.resblocks.2.VPT_shallow",
            TOKEN_BUFFERS[1],
        ];
        assert_round_trip(&a, &mut b, PromptLearner::named_parameters, &keys);
    }

    #[test]
    fn the_authors_configs_load_and_what_cannot_run_is_refused() {
        let files = [
            "vit_b16_c2_ep5_batch4_2+2ctx.yaml",
            "vit_b16_c2_ep5_batch4_4ctx_language_only.yaml",
        ];
        authors_configs_pass("IVLP", &files, check_cfg);
        let refused = |opts: &[&str], key: &str| assert_refused(check_cfg, "IVLP", opts, key);
        refused(&["MODEL.BACKBONE.NAME", "RN50"], BACKBONE);
        refused(
            &["TRAINER.IVLP.PROMPT_DEPTH_TEXT", "0"],
            "TRAINER.IVLP.PROMPT_DEPTH_TEXT",
        );
        refused(
            &["TRAINER.IVLP.PROMPT_DEPTH_VISION", "-1"],
            "TRAINER.IVLP.PROMPT_DEPTH_VISION",
        );
        refused(&["TRAINER.IVLP.N_CTX_TEXT", "0"], "TRAINER.IVLP.N_CTX_TEXT");
        refused(&["TRAINER.IVLP.PREC", "bf16"], "TRAINER.IVLP.PREC");
        // Language prompts only run on a ResNet, as there.
        let cfg = cfg_from(&[
            "TRAINER.NAME",
            "IVLP",
            "MODEL.BACKBONE.NAME",
            "RN50",
            "TRAINER.IVLP.PROMPT_DEPTH_VISION",
            "0",
        ]);
        check_cfg(&cfg).unwrap();
    }

    /// A short IVLP run through `dassl train`'s path on the toy split (case a, SGD): the
    /// seeds' test accuracy lies within the spread of independentVL.py's (ivlp/expected.json).
    #[test]
    fn toy_training_accuracy_is_within_the_python_seed_spread() {
        let _rng = dassl_rs::testing::torch_rng();
        let dir = tempfile::tempdir().unwrap();
        let clip = maple_clip(dir.path());
        let base = deep_opts("IVLP", SECTION, &clip, dir.path(), &[]);
        let (_, mut extra) = case("a.");
        extra.extend([
            "OPTIM.NAME",
            "sgd",
            "OPTIM.LR",
            "0.05",
            "OPTIM.MAX_EPOCH",
            "10",
            "OPTIM.LR_SCHEDULER",
            "cosine",
        ]);
        let accs = toy_accuracies_with(base, &extra, dir.path());
        within_seed_spread("ivlp/expected.json", &accs);
    }
}
