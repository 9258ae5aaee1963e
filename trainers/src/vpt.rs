//! VPT, deep vision prompting (muzairkhattak/multimodal-prompt-learning, after Jia et al.,
//! ECCV 2022): learned tokens at the input and layers 1..PROMPT_DEPTH_VISION - 1 of CLIP's
//! vision transformer, classified against CLIP's fixed "a photo of a {name}." features.
//!
//! Faithful to trainers/vpt.py and its `clip/model.py` (commit 69bce21): the prompts are
//! IVLP's vision prompts, drawn while CLIP is built ([`IndependentPrompts::drawn_with_clip`]);
//! `load_clip_to_cpu` returns `model.float()`, so CLIP runs in fp32 whatever PREC says; the
//! text prompts are hard-coded (line 75), so CTX_INIT other than "a photo of a" is refused
//! rather than ignored. Refused too: PREC amp (its amp branch calls the model without
//! `training=True`, gets logits, and fails to backpropagate them), PROMPT_DEPTH_VISION
//! below 1 (asserted there) and a ResNet backbone. One change: its forward moves the text
//! features to CUDA (`.cuda()`); here they stay on the run's device, so VPT runs on a CPU.
//! It registers its whole `CustomCLIP` as `prompt_learner`; checkpoints hold the prompts
//! under their names there.

use std::path::Path;

use dassl_rs::clip::model::{Clip, DeepPromptError, Precision, VisionConfig};
use dassl_rs::clip::tokenizer::ClipTokenizer;
use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::engine::registered::NamedState;
use dassl_rs::engine::{SweepTraits, Trainer, TrainerEntry};
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::log_println;
use tch::{Device, Tensor};

use crate::deep_prompt::{
    check_vit, cosine_logits, declare_section, int_in, load_named, not_vit, prefixed_state, Depth,
    IndependentPrompts, BACKBONE, TOKEN_BUFFERS,
};
use crate::prompt::{build_engine, CustomClip, PromptModel, CONTEXT_LENGTH};

inventory::submit! {
    TrainerEntry { name: "VPT", extend_cfg, check_cfg, build, sweep: SWEEP }
}

/// scripts/vpt/base2new_train_vpt.sh: its config, run folders
/// `<dataset>/shots_16/VPT/<config>/seed<n>`.
const SWEEP: SweepTraits = SweepTraits {
    config_dir: Some("VPT"),
    config: Some("vit_b16_c2_ep5_batch4_4"),
    ..SweepTraits::TRAINED
};

const SECTION: &str = "TRAINER.VPT";

/// The text prompts' words (vpt.py line 75).
const PROMPT_PREFIX: &str = "a photo of a";

/// train.py's `extend_cfg`, VPT part (lines 124-129).
fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    declare_section(
        b,
        SECTION,
        "VPT",
        &[
            ("N_CTX_VISION", "2"),
            ("CTX_INIT", "'a photo of a'"),
            ("PREC", "'fp16'"),
            ("PROMPT_DEPTH_VISION", "1"),
        ],
    )
}

/// `check_cfg` (PREC) and `load_clip_to_cpu`'s assert, and what cannot run (module doc).
fn check_cfg(cfg: &Config) -> Result<(), ConfigError> {
    crate::check_choice_as(
        cfg,
        "TRAINER.VPT.PREC",
        &["fp16", "fp32"],
        "fp16 or fp32 (VPT's amp branch backpropagates logits and fails)",
    )?;
    let init = cfg.str("TRAINER.VPT.CTX_INIT")?;
    if init != PROMPT_PREFIX {
        return Err(ConfigError::InvalidChoice {
            key: "TRAINER.VPT.CTX_INIT".into(),
            value: init.to_string(),
            expected: format!("'{PROMPT_PREFIX}' (VPT's text prompts are fixed to it)"),
        });
    }
    int_in(
        cfg,
        "TRAINER.VPT.PROMPT_DEPTH_VISION",
        1,
        i64::MAX,
        "at least 1 (VPT asserts it)",
    )?;
    int_in(
        cfg,
        "TRAINER.VPT.N_CTX_VISION",
        0,
        i64::MAX,
        "0 or more prompt tokens",
    )?;
    check_vit(cfg, "VPT")
}

fn build(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    build_engine(cfg, check_cfg, new_learner)
}

/// VPT's `build_model`, given the class names: CLIP in fp32.
fn new_learner(
    cfg: &Config,
    classnames: &[String],
    device: Device,
) -> Result<CustomClip<VisionPrompts>, EngineError> {
    let nan_hint = String::new();
    CustomClip::build_in(cfg, Precision::Fp32, nan_hint, device, |clip| {
        VisionPrompts::new(cfg, classnames, clip, device)
    })
}

/// VPT's prompts (in its CLIP) and `FixedEmbeddings`.
pub struct VisionPrompts {
    pub prompts: IndependentPrompts,
    /// CLIP's text features of "a photo of a {name}." `[n_cls, embed_dim]`, not normalised.
    pub text_features: Tensor,
}

impl std::fmt::Debug for VisionPrompts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VPT (depth {})", self.prompts.vision_deep.len() + 1)
    }
}

impl VisionPrompts {
    /// `load_clip_to_cpu`'s prompts (drawn as CLIP is built) and `FixedEmbeddings.__init__`.
    pub fn new(
        cfg: &Config,
        classnames: &[String],
        clip: &Clip,
        device: Device,
    ) -> Result<Self, EngineError> {
        if !matches!(clip.config().vision, VisionConfig::Vit { .. }) {
            return Err(EngineError::Config(not_vit(cfg.str(BACKBONE)?, "VPT")));
        }
        let vision = Depth {
            n_ctx: cfg.int("TRAINER.VPT.N_CTX_VISION")?,
            depth: cfg.int("TRAINER.VPT.PROMPT_DEPTH_VISION")?,
        };
        let prompts = IndependentPrompts::drawn_with_clip(clip.config(), vision, Depth::default())
            .into_trainable(device);
        log_println!("Vision Prompting Design");
        log_println!("Initial context: \"{PROMPT_PREFIX}\"");
        log_println!(
            "Number of context words (tokens) for Vision prompting: {}",
            vision.n_ctx
        );
        log_println!("Using fixed hand crated prompts");
        let texts: Vec<String> = classnames
            .iter()
            .map(|n| format!("{PROMPT_PREFIX} {}.", n.replace('_', " ")))
            .collect();
        let rows = ClipTokenizer::new().tokenize(&texts, CONTEXT_LENGTH as usize, false)?;
        let tokens = Tensor::from_slice(&rows.concat())
            .view([rows.len() as i64, -1])
            .to_device(device);
        let text_features = tch::no_grad(|| clip.encode_tokens(&tokens));
        Ok(VisionPrompts {
            prompts,
            text_features,
        })
    }

    /// `CustomCLIP.forward`'s logits (vpt.py lines 101-111).
    pub fn forward(&self, clip: &Clip, images: &Tensor) -> Result<Tensor, DeepPromptError> {
        let image_features = clip.encode_image_prompted(images, &self.prompts.vision_prompts())?;
        Ok(cosine_logits(clip, &image_features, &self.text_features))
    }
}

impl NamedState for VisionPrompts {
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        prefixed_state(self.named_parameters(), vec![], "")
    }

    fn load_state_dict(
        &mut self,
        tensors: &[(String, Tensor)],
        from: &Path,
    ) -> Result<(), EngineError> {
        let hint = "check TRAINER.VPT.N_CTX_VISION, PROMPT_DEPTH_VISION and the backbone";
        load_named(self.named_parameters(), tensors, from, "", hint)
    }
}

impl PromptModel for VisionPrompts {
    const REPORTS_ACC: bool = false;
    const DROPPED_ON_LOAD: &'static [&'static str] = TOKEN_BUFFERS;
    const DRAWS_IN_CONSTRUCTION: bool = true;

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        self.prompts.named()
    }

    const LOGGED_PREFIX: Option<&'static str> = Some("");

    fn logits(&self, clip: &Clip, images: &Tensor) -> Tensor {
        self.forward(clip, images)
            .expect("the prompts are built for this CLIP's vision transformer")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deep_prompt::testing::{assert_refused, assert_round_trip, authors_configs_pass};
    use crate::family_parity::{assert_close, fixture, toy_accuracies_with, within_seed_spread};
    use crate::fp16_parity::assert_same;
    use crate::ivlp::tests::{classnames, deep_opts};
    use crate::maple::tests::maple_clip;
    use crate::test_support::cfg_from;
    use std::collections::HashMap;

    /// make_vpt.py's cases.
    fn case(tag: &str) -> Vec<&'static str> {
        let (n, depth) = if tag == "a." { ("4", "3") } else { ("2", "1") };
        vec![
            "TRAINER.VPT.N_CTX_VISION",
            n,
            "TRAINER.VPT.PROMPT_DEPTH_VISION",
            depth,
        ]
    }

    /// Seeded, then CLIP's construction draws with the prompts among them.
    fn learner(tag: &str, path: &Path, dir: &Path, seed: i64) -> (Clip, VisionPrompts) {
        let cfg = cfg_from(&deep_opts("VPT", SECTION, path, dir, &case(tag)));
        let (mut vs, clip) = Clip::load(path, Device::Cpu, Precision::Fp32).unwrap();
        vs.freeze();
        tch::manual_seed(seed);
        let pl = VisionPrompts::new(&cfg, &classnames(), &clip, Device::Cpu).unwrap();
        (clip, pl)
    }

    /// The drawn prompts equal vpt.py's bit for bit; logits, loss (case a: 4 tokens, depth
    /// 3; s: shallow) within 1e-5 of the largest magnitude (fp32, where the fixed text
    /// features stop at the last EOT), the prompts' gradients within 1e-4 (they are rounded
    /// to fp16 where the prompts are cast, so a one-ulp fp32 difference can become an fp16 one).
    #[test]
    fn drawn_prompts_forward_loss_and_gradients_match_vpt_py() {
        let _rng = dassl_rs::testing::torch_rng();
        let fx: HashMap<String, Tensor> = fixture("vpt/vpt.pt");
        let dir = tempfile::tempdir().unwrap();
        let path = maple_clip(dir.path());
        for tag in ["a.", "s."] {
            let (clip, pl) = learner(tag, &path, dir.path(), 1);
            let names = pl.named_parameters();
            let n_fx = fx
                .keys()
                .filter(|k| k.starts_with(&format!("{tag}init.")))
                .count();
            assert_eq!(names.len(), n_fx, "{tag}: the prompts");
            for (name, t) in &names {
                let key = format!("{tag}init.{name}");
                assert_same(&key, &t.detach(), &fx[&key]);
            }
            let logits = tch::no_grad(|| pl.forward(&clip, &fx["images"]).unwrap());
            assert_close(
                &format!("{tag}logits"),
                &logits,
                &fx[&format!("{tag}logits")],
                1e-5,
            );
            if tag == "s." {
                continue;
            }
            let (_, loss) = pl.logits_and_loss(&clip, &fx["images"], &fx["labels"]);
            assert_close("a.loss", &loss.detach(), &fx["a.loss"], 1e-5);
            loss.backward();
            for (name, t) in &names {
                let key = format!("a.grad.{name}");
                assert_close(&key, &t.grad(), &fx[&key], 1e-4);
            }
        }
    }

    #[test]
    fn state_dict_round_trips_under_the_authors_names() {
        let _rng = dassl_rs::testing::torch_rng();
        let dir = tempfile::tempdir().unwrap();
        let path = maple_clip(dir.path());
        let (_, a) = learner("a.", &path, dir.path(), 1);
        let (_, mut b) = learner("a.", &path, dir.path(), 2);
        let keys = [
            "image_encoder.transformer.resblocks.2.VPT_shallow",
            "image_encoder.VPT",
        ];
        assert_round_trip(&a, &mut b, VisionPrompts::named_parameters, &keys);
    }

    #[test]
    fn the_authors_config_loads_and_what_cannot_run_is_refused() {
        authors_configs_pass("VPT", &["vit_b16_c2_ep5_batch4_4.yaml"], check_cfg);
        let refused = |opts: &[&str], key: &str| assert_refused(check_cfg, "VPT", opts, key);
        refused(&["MODEL.BACKBONE.NAME", "RN50"], BACKBONE);
        refused(&["TRAINER.VPT.PREC", "amp"], "TRAINER.VPT.PREC");
        refused(
            &["TRAINER.VPT.CTX_INIT", "a picture of a"],
            "TRAINER.VPT.CTX_INIT",
        );
        refused(
            &["TRAINER.VPT.PROMPT_DEPTH_VISION", "0"],
            "TRAINER.VPT.PROMPT_DEPTH_VISION",
        );
    }

    /// A short VPT run through `dassl train`'s path on the toy split (case a, SGD): the
    /// seeds' test accuracy lies within the spread of vpt.py's (vpt/expected.json).
    #[test]
    fn toy_training_accuracy_is_within_the_python_seed_spread() {
        let _rng = dassl_rs::testing::torch_rng();
        let dir = tempfile::tempdir().unwrap();
        let clip = maple_clip(dir.path());
        let base = deep_opts("VPT", SECTION, &clip, dir.path(), &[]);
        let mut extra = case("a.");
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
        within_seed_spread("vpt/expected.json", &accs);
    }
}
