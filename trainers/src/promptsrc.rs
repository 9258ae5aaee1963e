//! PromptSRC (Khattak et al., ICCV 2023; muzairkhattak/PromptSRC): IVLP's independent deep
//! prompts, regulated by the frozen CLIP: L1 from the prompted text features to CLIP's
//! template-averaged ones (TEXT_LOSS_WEIGHT), L1 from the prompted image features to CLIP's
//! own (IMAGE_LOSS_WEIGHT), and KL from the prompted logits to CLIP's zero-shot logits; and
//! the model at the end is a Gaussian-weighted aggregate of the models at each epoch's end
//! (GPA_MEAN, GPA_STD over epochs 1..MAX_EPOCH).
//!
//! Faithful to trainers/promptsrc.py (commit bb95c77), including: the frozen text features
//! are the fp32 mean over its 60 `IMAGENET_TEMPLATES` of unnormalised features; the
//! zero-shot image features come from a second, fp16 CLIP's image encoder (here the frozen
//! fp16 encoder itself, the same weights); `load_clip_to_cpu` builds two plain CLIPs after
//! the context, whose construction draws are replayed; the aggregate is of the whole model
//! `state_dict` in each tensor's dtype, so CLIP's frozen weights (not the token
//! embedding, which the model does not hold) and the token buffers come out as its
//! fp16/fp32 weighted sums, as there; the aggregation state is not checkpointed, so a
//! resumed run restarts it as the original does. PREC fp16 only: in fp32 its zero-shot
//! encoder stays fp16 and fails on fp32 images, and its amp branch hands the forward's tuple
//! to the loss scaler. The `.cuda()` calls are dropped (it runs on the run's device). Our
//! checkpoints hold the trainable tensors and token buffers, not CLIP: an evaluation from a
//! checkpoint uses CLIP's released weights where the original's holds the aggregated ones.

use std::path::Path;

use dassl_rs::clip::init_replay::replay_construction;
use dassl_rs::clip::model::{Clip, Precision};
use dassl_rs::clip::tokenizer::ClipTokenizer;
use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::engine::registered::NamedState;
use dassl_rs::engine::trainer_x::Step;
use dassl_rs::engine::{SweepTraits, Trainer, TrainerEntry};
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::log_println;
use tch::{nn::VarStore, Device, Kind, Tensor};

use crate::clip_common::{load_clip, normalize_rows};
use crate::deep_prompt::{declare_section, int_in, TOKEN_BUFFERS};
use crate::ivlp::{check_ivlp_keys, PromptLearner as Ivlp};
use crate::prompt::{build_engine, cross_entropy, CustomClip, PromptModel, CONTEXT_LENGTH};

inventory::submit! {
    TrainerEntry { name: "PromptSRC", extend_cfg, check_cfg, build, sweep: SWEEP }
}

const SECTION: &str = "TRAINER.PROMPTSRC";

/// scripts/promptsrc/base2new_train.sh's config and run folders.
const SWEEP: SweepTraits = SweepTraits {
    config_dir: Some("PromptSRC"),
    config: Some("vit_b16_c2_ep20_batch4_4+4ctx"),
    ..SweepTraits::TRAINED
};

/// train.py's `extend_cfg`, PromptSRC part (lines 114-124).
fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    declare_section(
        b,
        SECTION,
        "PromptSRC",
        &[
            ("N_CTX_VISION", "4"),
            ("N_CTX_TEXT", "4"),
            ("CTX_INIT", "'a photo of a'"),
            ("PREC", "'fp16'"),
            ("PROMPT_DEPTH_VISION", "9"),
            ("PROMPT_DEPTH_TEXT", "9"),
            ("TEXT_LOSS_WEIGHT", "25"),
            ("IMAGE_LOSS_WEIGHT", "10"),
            ("GPA_MEAN", "15"),
            ("GPA_STD", "1"),
        ],
    )
}

/// `check_cfg` (PREC), IVLP's asserts, and what cannot run (module doc).
fn check_cfg(cfg: &Config) -> Result<(), ConfigError> {
    let why = "fp16 (in fp32 PromptSRC's fp16 zero-shot image encoder fails on fp32 images; \
               its amp branch hands a tuple to the loss scaler)";
    crate::check_choice_as(cfg, "TRAINER.PROMPTSRC.PREC", &["fp16"], why)?;
    check_ivlp_keys(cfg, SECTION)?;
    for key in ["TEXT_LOSS_WEIGHT", "IMAGE_LOSS_WEIGHT", "GPA_MEAN"] {
        cfg.float(&format!("{SECTION}.{key}"))?;
    }
    let std = cfg.float("TRAINER.PROMPTSRC.GPA_STD")?;
    if std.is_nan() || std <= 0.0 {
        return Err(ConfigError::InvalidChoice {
            key: "TRAINER.PROMPTSRC.GPA_STD".into(),
            value: std.to_string(),
            expected: "a positive standard deviation (the epoch weights divide by it)".into(),
        });
    }
    int_in(cfg, "OPTIM.MAX_EPOCH", 1, i64::MAX, "at least 1 epoch")?;
    Ok(())
}

fn build(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    build_engine(cfg, check_cfg, new_learner)
}

fn new_learner(
    cfg: &Config,
    classnames: &[String],
    device: Device,
) -> Result<CustomClip<PromptLearner>, EngineError> {
    CustomClip::build(cfg, SECTION, device, |clip| {
        PromptLearner::new(cfg, classnames, clip, device)
    })
}

/// PromptSRC's 60 `IMAGENET_TEMPLATES` (trainers/imagenet_templates.py), in order.
pub const TEMPLATES: [&str; 60] = [
    "a photo of a {}.",
    "a bad photo of a {}.",
    "a photo of many {}.",
    "a sculpture of a {}.",
    "a photo of the hard to see {}.",
    "a low resolution photo of the {}.",
    "a rendering of a {}.",
    "graffiti of a {}.",
    "a bad photo of the {}.",
    "a cropped photo of the {}.",
    "a tattoo of a {}.",
    "the embroidered {}.",
    "a photo of a hard to see {}.",
    "a bright photo of a {}.",
    "a photo of a clean {}.",
    "a photo of a dirty {}.",
    "a dark photo of the {}.",
    "a drawing of a {}.",
    "a photo of my {}.",
    "the plastic {}.",
    "a photo of the cool {}.",
    "a close-up photo of a {}.",
    "a black and white photo of the {}.",
    "a painting of the {}.",
    "a painting of a {}.",
    "a pixelated photo of the {}.",
    "a sculpture of the {}.",
    "a bright photo of the {}.",
    "a cropped photo of a {}.",
    "a plastic {}.",
    "a photo of the dirty {}.",
    "a jpeg corrupted photo of a {}.",
    "a blurry photo of the {}.",
    "a photo of the {}.",
    "a good photo of the {}.",
    "a rendering of the {}.",
    "a {} in a video game.",
    "a photo of one {}.",
    "a doodle of a {}.",
    "a close-up photo of the {}.",
    "the origami {}.",
    "the {} in a video game.",
    "a sketch of a {}.",
    "a doodle of the {}.",
    "a origami {}.",
    "a low resolution photo of a {}.",
    "the toy {}.",
    "a rendition of the {}.",
    "a photo of the clean {}.",
    "a photo of a large {}.",
    "a rendition of a {}.",
    "a photo of a nice {}.",
    "a photo of a weird {}.",
    "a blurry photo of a {}.",
    "a cartoon {}.",
    "art of a {}.",
    "a sketch of the {}.",
    "a embroidered {}.",
    "a pixelated photo of a {}.",
    "itap of the {}.",
];

/// The Gaussian epoch weights of `build_model` (`get_gauss`, then divided by their sum):
/// epoch `a` in 1..=epochs weighs N(a; mean, std²).
pub fn gpa_weights(mean: f64, std: f64, epochs: usize) -> Vec<f64> {
    let gauss = |x: f64| {
        (1.0 / (std * (2.0 * std::f64::consts::PI).sqrt()))
            * (-0.5 * ((x - mean) / std).powi(2)).exp()
    };
    let raw: Vec<f64> = (1..=epochs).map(|a| gauss(a as f64)).collect();
    let total: f64 = raw.iter().sum();
    raw.into_iter().map(|g| g / total).collect()
}

/// Gaussian-weighted prompt aggregation: the running sum of each epoch-end model weighted
/// by its epoch's weight, loaded into the model after the last epoch.
struct Gpa {
    weights: Vec<f64>,
    /// `step_counter`: 1 + the epochs ended since the learner was built.
    step_counter: usize,
    sum: Option<Vec<Tensor>>,
}

/// PromptSRC's `VLPromptLearner` (IVLP's, with the frozen CLIP's text features) and its
/// trainer's loss weights and aggregation.
pub struct PromptLearner {
    pub ivlp: Ivlp,
    /// fp32 `[n_cls, embed_dim]`: the mean over [`TEMPLATES`] of CLIP's text features.
    pub fixed_embeddings: Tensor,
    text_weight: f64,
    image_weight: f64,
    gpa: Gpa,
}

impl std::fmt::Debug for PromptLearner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PromptSRC on {:?}", self.ivlp)
    }
}

impl PromptLearner {
    /// `VLPromptLearner.__init__` and the rest of `build_model` (the GPA weights).
    pub fn new(
        cfg: &Config,
        classnames: &[String],
        clip: &Clip,
        device: Device,
    ) -> Result<Self, EngineError> {
        let ivlp = Ivlp::new(cfg, SECTION, classnames, clip, device)?;
        // `load_clip_to_cpu(cfg, True)` twice: the text teacher and the image teacher.
        replay_construction(clip.config());
        replay_construction(clip.config());
        log_println!("Loading an fp32 CLIP for the frozen text features");
        let (_, teacher, _) = load_clip(cfg, device, Precision::Fp32)?;
        let fixed_embeddings = tch::no_grad(|| frozen_text_features(&teacher, classnames, device))?;
        let key = |k: &str| cfg.float(&format!("{SECTION}.{k}"));
        let epochs = cfg.int("OPTIM.MAX_EPOCH")? as usize;
        Ok(PromptLearner {
            ivlp,
            fixed_embeddings,
            text_weight: key("TEXT_LOSS_WEIGHT")?,
            image_weight: key("IMAGE_LOSS_WEIGHT")?,
            gpa: Gpa {
                weights: gpa_weights(key("GPA_MEAN")?, key("GPA_STD")?, epochs),
                step_counter: 1,
                sum: None,
            },
        })
    }

    /// The training loss of `forward_backward`'s fp16 branch: cross-entropy plus the
    /// self-regulating terms, and the prompted logits.
    pub fn loss(&self, clip: &Clip, images: &Tensor, labels: &Tensor) -> (Tensor, Tensor) {
        let text = self.ivlp.text_features(clip).expect("prompts fit CLIP");
        let vision = self.ivlp.prompts.vision_prompts();
        let image = clip
            .encode_image_prompted(images, &vision)
            .expect("prompts fit CLIP");
        let (image, text) = (normalize_rows(&image), normalize_rows(&text));
        let scale = clip.logit_scale().exp();
        let logits = (&scale * &image).matmul(&text.tr());
        let fixed = normalize_rows(&self.fixed_embeddings);
        let (zs_image, zs_logits) = tch::no_grad(|| {
            let zs = normalize_rows(&clip.encode_image(images));
            let zs_logits = (&scale * &zs).matmul(&fixed.to_kind(Kind::Half).tr());
            (zs, zs_logits)
        });
        let ce = cross_entropy(&logits, labels);
        let l1 = |a: &Tensor, b: &Tensor| a.l1_loss(b, tch::Reduction::Mean);
        let text_term = l1(&text, &fixed) * self.text_weight;
        let image_term = l1(&image, &zs_image) * self.image_weight;
        let kl = logits.log_softmax(1, None::<Kind>).kl_div(
            &zs_logits.log_softmax(1, None::<Kind>),
            tch::Reduction::Sum,
            true,
        ) * 1.0
            / logits.numel() as f64;
        let loss = ce + (kl + text_term + image_term);
        (logits, loss)
    }

    /// What the aggregation weighs: the tensors of the authors' `CustomCLIP.state_dict()`
    /// (the prompt learner's and CLIP's, but the token embedding the model does not hold).
    fn aggregated(&self, clip_vars: &VarStore) -> Vec<Tensor> {
        let mut out: Vec<Tensor> = self
            .ivlp
            .named_parameters()
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        out.extend(self.ivlp.tokens.buffers().into_iter().map(|(_, t)| t));
        let mut vars: Vec<(String, Tensor)> = clip_vars.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        out.extend(
            vars.into_iter()
                .filter(|(k, _)| k != "token_embedding.weight")
                .map(|(_, t)| t),
        );
        out
    }

    /// The end of `forward_backward` (promptsrc.py lines 330-342): at an epoch's end the
    /// model weighted by the epoch's weight joins the sum; after the last, the sum is loaded.
    pub fn aggregate(&mut self, clip_vars: &VarStore, step: Step) {
        let _guard = tch::no_grad_guard();
        if step.is_last_batch() {
            self.gpa.step_counter += 1;
            let w = self.gpa.weights[self.gpa.step_counter - 2];
            let weighted: Vec<Tensor> = self
                .aggregated(clip_vars)
                .iter()
                .map(|t| t.detach() * w)
                .collect();
            self.gpa.sum = Some(match self.gpa.sum.take() {
                None => weighted,
                Some(sum) => sum.iter().zip(&weighted).map(|(s, x)| s + x).collect(),
            });
        }
        if self.gpa.step_counter == self.gpa.weights.len() + 1 {
            log_println!("Using GPA model for final inference...");
            let sum = self.gpa.sum.as_ref().expect("summed at each epoch's end");
            for (dst, src) in self.aggregated(clip_vars).iter_mut().zip(sum) {
                dst.copy_(src);
            }
        }
    }
}

/// `fixed_embeddings`: CLIP's text features of every template filled with each class name,
/// averaged over the templates (not normalised), `[n_cls, embed_dim]`.
fn frozen_text_features(
    clip: &Clip,
    classnames: &[String],
    device: Device,
) -> Result<Tensor, EngineError> {
    let tok = ClipTokenizer::new();
    let names: Vec<String> = classnames.iter().map(|n| n.replace('_', " ")).collect();
    let mut per_template = Vec::with_capacity(TEMPLATES.len());
    for template in TEMPLATES {
        let texts: Vec<String> = names.iter().map(|n| template.replace("{}", n)).collect();
        let rows = tok.tokenize(&texts, CONTEXT_LENGTH as usize, false)?;
        let tokens = Tensor::from_slice(&rows.concat())
            .view([rows.len() as i64, -1])
            .to_device(device);
        per_template.push(clip.encode_tokens(&tokens));
    }
    Ok(Tensor::stack(&per_template, 1).mean_dim(1, false, None::<Kind>))
}

impl NamedState for PromptLearner {
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        self.ivlp.state_dict()
    }

    fn load_state_dict(
        &mut self,
        tensors: &[(String, Tensor)],
        from: &Path,
    ) -> Result<(), EngineError> {
        self.ivlp.load_state_dict(tensors, from)
    }
}

impl PromptModel for PromptLearner {
    const REPORTS_ACC: bool = false;
    const NAME: &'static str = "VLPromptLearner";
    const DROPPED_ON_LOAD: &'static [&'static str] = TOKEN_BUFFERS;
    const DRAWS_IN_CONSTRUCTION: bool = true;
    const LOGGED_PREFIX: Option<&'static str> = Some("");

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        self.ivlp.named_parameters()
    }

    fn logits(&self, clip: &Clip, images: &Tensor) -> Tensor {
        self.ivlp.logits(clip, images)
    }

    fn logits_and_loss(&self, clip: &Clip, images: &Tensor, labels: &Tensor) -> (Tensor, Tensor) {
        self.loss(clip, images, labels)
    }

    fn after_update(&mut self, clip_vars: &VarStore, step: Step) {
        self.aggregate(clip_vars, step);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deep_prompt::testing::{assert_refused, authors_configs_pass};
    use crate::family_parity::{assert_close, fixture};
    use crate::fp16_parity::assert_same;
    use crate::ivlp::tests::{classnames, deep_opts};
    use crate::maple::tests::maple_clip;
    use crate::test_support::cfg_from;
    use dassl_rs::data::loader::Batch;
    use dassl_rs::engine::trainer_x::Learner;
    use std::collections::HashMap;

    /// make_promptsrc.py's keys, plus the GPA run's optimizer and epochs.
    fn cfg(path: &Path, dir: &Path) -> Config {
        let extra = [
            "TRAINER.PROMPTSRC.PREC",
            "fp16",
            "TRAINER.PROMPTSRC.N_CTX_TEXT",
            "2",
            "TRAINER.PROMPTSRC.N_CTX_VISION",
            "2",
            "TRAINER.PROMPTSRC.PROMPT_DEPTH_VISION",
            "3",
            "TRAINER.PROMPTSRC.PROMPT_DEPTH_TEXT",
            "3",
            "TRAINER.PROMPTSRC.GPA_MEAN",
            "2",
            "OPTIM.MAX_EPOCH",
            "3",
            "OPTIM.LR",
            "0.05",
            "OPTIM.LR_SCHEDULER",
            "single_step",
        ];
        cfg_from(&deep_opts("PromptSRC", SECTION, path, dir, &extra))
    }

    /// The learner as make_promptsrc.py builds it: seeded, then built.
    fn learner(path: &Path, dir: &Path) -> CustomClip<PromptLearner> {
        tch::manual_seed(1);
        new_learner(&cfg(path, dir), &classnames(), Device::Cpu).unwrap()
    }

    /// In fp16, the drawn prompts, the logits and every gradient of the training loss equal
    /// promptsrc.py's bit for bit; the frozen text features (fp32, where the text encoder
    /// stops at the last EOT) and the loss that includes them within 1e-5 of the largest
    /// magnitude.
    #[test]
    fn drawn_prompts_frozen_features_loss_and_gradients_match_promptsrc_py() {
        let _rng = dassl_rs::testing::torch_rng();
        let fx: HashMap<String, Tensor> = fixture("promptsrc/promptsrc.pt");
        let dir = tempfile::tempdir().unwrap();
        let path = maple_clip(dir.path());
        let l = learner(&path, dir.path());
        let names = l.pl.named_parameters();
        assert_eq!(
            names.len(),
            6,
            "ctx, the vision prompt, two deep prompts per tower"
        );
        for (name, t) in &names {
            let key = format!("init.{name}");
            assert_same(&key, &t.detach(), &fx[&key]);
        }
        assert_close(
            "fixed_embeddings",
            &l.pl.fixed_embeddings,
            &fx["fixed_embeddings"],
            1e-5,
        );
        let logits = tch::no_grad(|| l.pl.logits(&l.clip, &fx["images"]));
        assert_same("logits", &logits, &fx["logits"]);
        let (_, loss) = l.pl.loss(&l.clip, &fx["images"], &fx["labels"]);
        assert_close("loss", &loss.detach(), &fx["loss"], 1e-5);
        loss.backward();
        for (name, t) in &names {
            let key = format!("grad.{name}");
            assert_same(&key, &t.grad(), &fx[&key]);
        }
    }

    /// Three epochs of one batch through the learner's training step (SGD 0.05): the GPA
    /// weights equal the authors' float64 ones; after the last epoch the aggregate loaded
    /// into the token buffers and CLIP's own tensors (their fp16/fp32 weighted sums) equals
    /// theirs bit for bit, and into the prompts within 1e-3 of the largest magnitude (their
    /// three SGD steps drift apart by fp16 ulps where the prompts pass the fp16 casts; the
    /// first step's gradients are exact, see above).
    #[test]
    fn gaussian_prompt_aggregation_matches_promptsrc_py() {
        let _rng = dassl_rs::testing::torch_rng();
        let fx: HashMap<String, Tensor> = fixture("promptsrc/promptsrc.pt");
        let dir = tempfile::tempdir().unwrap();
        let path = maple_clip(dir.path());
        let mut l = learner(&path, dir.path());
        let want = Vec::<f64>::try_from(&fx["gpa.weights"]).unwrap();
        let got = &l.pl.gpa.weights;
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-15 * w.abs(),
                "GPA weights {got:?} vs {want:?}"
            );
        }
        let batch = Batch {
            images: fx["images"].shallow_clone(),
            labels: fx["labels"].shallow_clone(),
            indices: vec![0, 1, 2, 3],
        };
        for epoch in 0..3 {
            let step = Step {
                epoch,
                batch_idx: 0,
                num_batches: 1,
            };
            l.forward_backward(&batch, step).unwrap();
        }
        let mut got: Vec<(String, Tensor)> = l.pl.named_parameters();
        got.extend(
            l.pl.state_dict()
                .into_iter()
                .filter(|(k, _)| TOKEN_BUFFERS.contains(&k.as_str())),
        );
        let vars = l.vs.variables();
        for (ours, theirs) in [
            ("visual.conv1.weight", "image_encoder.conv1.weight"),
            (
                "visual.transformer.resblocks.0.attn.in_proj_weight",
                "image_encoder.transformer.resblocks.0.attn.in_proj_weight",
            ),
            ("positional_embedding", "text_encoder.positional_embedding"),
            ("logit_scale", "logit_scale"),
        ] {
            got.push((theirs.to_string(), vars[ours].shallow_clone()));
        }
        let trained = l.pl.named_parameters().len();
        for (i, (name, t)) in got.iter().enumerate() {
            let key = format!("gpa.{name}");
            if i < trained {
                assert_close(&key, &t.detach(), &fx[&key], 1e-3);
            } else {
                assert_same(&key, &t.detach(), &fx[&key]);
            }
        }
    }

    /// A short PromptSRC run through `dassl train`'s path on the toy split (fp16, SGD 0.05,
    /// 10 epochs, GPA_MEAN 8, GPA_STD 2): the seeds' test accuracy lies within the spread
    /// of the authors' trainer's (promptsrc/expected.json).
    #[test]
    fn toy_training_accuracy_is_within_the_python_seed_spread() {
        let _rng = dassl_rs::testing::torch_rng();
        let dir = tempfile::tempdir().unwrap();
        let clip = maple_clip(dir.path());
        let base = deep_opts("PromptSRC", SECTION, &clip, dir.path(), &[]);
        let extra = [
            "TRAINER.PROMPTSRC.PREC",
            "fp16",
            "TRAINER.PROMPTSRC.N_CTX_TEXT",
            "2",
            "TRAINER.PROMPTSRC.N_CTX_VISION",
            "2",
            "TRAINER.PROMPTSRC.PROMPT_DEPTH_VISION",
            "3",
            "TRAINER.PROMPTSRC.PROMPT_DEPTH_TEXT",
            "3",
            "TRAINER.PROMPTSRC.GPA_MEAN",
            "8",
            "TRAINER.PROMPTSRC.GPA_STD",
            "2",
            "OPTIM.NAME",
            "sgd",
            "OPTIM.LR",
            "0.05",
            "OPTIM.MAX_EPOCH",
            "10",
            "OPTIM.LR_SCHEDULER",
            "cosine",
        ];
        let accs = crate::family_parity::toy_accuracies_with(base, &extra, dir.path());
        crate::family_parity::within_seed_spread("promptsrc/expected.json", &accs);
    }

    #[test]
    fn the_authors_configs_load_and_what_cannot_run_is_refused() {
        let files = [
            "vit_b16_c2_ep20_batch4_4+4ctx.yaml",
            "vit_b16_c2_ep20_batch4_4+4ctx_cross_datasets.yaml",
            "vit_b16_c2_ep50_batch4_4+4ctx_few_shot.yaml",
        ];
        authors_configs_pass("PromptSRC", &files, check_cfg);
        let refused = |opts: &[&str], key: &str| assert_refused(check_cfg, "PromptSRC", opts, key);
        refused(
            &["TRAINER.PROMPTSRC.PREC", "fp32"],
            "TRAINER.PROMPTSRC.PREC",
        );
        refused(&["TRAINER.PROMPTSRC.PREC", "amp"], "TRAINER.PROMPTSRC.PREC");
        refused(
            &["TRAINER.PROMPTSRC.GPA_STD", "0"],
            "TRAINER.PROMPTSRC.GPA_STD",
        );
        refused(
            &["MODEL.BACKBONE.NAME", "RN50"],
            crate::deep_prompt::BACKBONE,
        );
        refused(
            &["TRAINER.PROMPTSRC.PROMPT_DEPTH_TEXT", "0"],
            "TRAINER.PROMPTSRC.PROMPT_DEPTH_TEXT",
        );
    }
}
