//! CoCoOp: CoOp's context conditioned on each image through a small meta-net.
//!
//! For image `j`, prompt `i` is `[SOS] (ctx + meta_net(f_j))_1..M [CLASS_i] . [EOS]`, with
//! `f_j` the image's normalised CLIP feature. The text encoder therefore runs once per
//! image over all classes (cost grows with batch x n_cls). Only `ctx` and the meta-net train.

use std::ops::Deref;
use std::path::Path;

use dassl_rs::clip::model::{Clip, TextEncodeError};
use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::engine::registered::NamedState;
use dassl_rs::engine::{SweepTraits, Trainer, TrainerEntry};
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::log_println;
use tch::{Device, Kind, Tensor};

use crate::clip_common::normalize_rows;
use crate::prompt::{
    build_engine, check_prompt_cfg, copy_checked, ClassTokenPosition, CustomClip, PromptModel,
    PromptTokens,
};

inventory::submit! {
    TrainerEntry { name: "CoCoOp", extend_cfg, check_cfg, build, sweep: SweepTraits::TRAINED }
}

const SECTION: &str = "TRAINER.COCOOP";

/// CoOp's `extend_cfg` (train.py), CoCoOp part.
fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    b.declare("TRAINER.COCOOP.N_CTX", "16", "CoCoOp")?;
    b.declare("TRAINER.COCOOP.CTX_INIT", "''", "CoCoOp")?;
    b.declare("TRAINER.COCOOP.PREC", "'fp16'", "CoCoOp")?;
    b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", "CoCoOp")
}

/// CoCoOp's `check_cfg`, plus the positive context length its code assumes.
fn check_cfg(cfg: &Config) -> Result<(), ConfigError> {
    check_prompt_cfg(cfg, SECTION)
}

fn build(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    build_engine(cfg, check_cfg, new_learner)
}

type CocoopLearner = CustomClip<PromptLearner>;

/// The model part of `build_model`, given the class names (tests need no dataset).
pub(crate) fn new_learner(
    cfg: &Config,
    classnames: &[String],
    device: Device,
) -> Result<CocoopLearner, EngineError> {
    check_cfg(cfg)?;
    CustomClip::build(cfg, SECTION, device, |clip| {
        PromptLearner::new(cfg, classnames, clip, device)
    })
}

/// `nn.Linear(fan_in, fan_out)` as PyTorch initialises it: kaiming-uniform with a = sqrt(5)
/// for the weight, which reduces to U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same
/// bound for the bias. Drawn in fp32 on the CPU (PyTorch's generator and order: weight,
/// then bias), then cast and moved.
fn torch_linear(fan_in: i64, fan_out: i64, kind: Kind, device: Device) -> (Tensor, Tensor) {
    let bound = 1.0 / (fan_in as f64).sqrt();
    let w = Tensor::empty([fan_out, fan_in], (Kind::Float, Device::Cpu)).uniform_(-bound, bound);
    let b = Tensor::empty([fan_out], (Kind::Float, Device::Cpu)).uniform_(-bound, bound);
    let finish = |t: Tensor| {
        t.to_kind(kind)
            .to_device(device)
            .detach()
            .set_requires_grad(true)
    };
    (finish(w), finish(b))
}

/// CoCoOp's `meta_net`: `linear1` (vis_dim -> vis_dim/16), ReLU, `linear2` (-> ctx_dim).
pub struct MetaNet {
    pub linear1_weight: Tensor,
    pub linear1_bias: Tensor,
    pub linear2_weight: Tensor,
    pub linear2_bias: Tensor,
}

impl MetaNet {
    /// Halved when PREC is fp16 (`meta_net.half()`), so it matches CLIP's image features.
    pub fn new(vis_dim: i64, ctx_dim: i64, kind: Kind, device: Device) -> Self {
        let hidden = vis_dim / 16;
        let (linear1_weight, linear1_bias) = torch_linear(vis_dim, hidden, kind, device);
        let (linear2_weight, linear2_bias) = torch_linear(hidden, ctx_dim, kind, device);
        MetaNet {
            linear1_weight,
            linear1_bias,
            linear2_weight,
            linear2_bias,
        }
    }

    /// `[B, vis_dim]` image features to `[B, ctx_dim]` context biases.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.linear1_weight, Some(&self.linear1_bias))
            .relu()
            .linear(&self.linear2_weight, Some(&self.linear2_bias))
    }
}

/// CoCoOp's `PromptLearner`.
pub struct PromptLearner {
    /// Generic context `[n_ctx, D]`.
    pub ctx: Tensor,
    pub meta_net: MetaNet,
    pub tokens: PromptTokens,
}

impl std::fmt::Debug for PromptLearner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptLearner")
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

/// The buffers read as CoCoOp's own fields (`pl.token_prefix`, `pl.n_ctx`).
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
        let dtype = clip.dtype();
        let ctx_dim = clip.config().transformer_width;
        let vis_dim = clip.config().embed_dim;
        // `torch.empty(n_ctx, ctx_dim, dtype=dtype)` + normal_ on the CPU generator.
        let random = |n_ctx: i64| {
            Tensor::empty([n_ctx, ctx_dim], (dtype, Device::Cpu))
                .normal_(0.0, 0.02)
                .to_device(device)
        };
        let (ctx, tokens) =
            PromptTokens::with_context(cfg, SECTION, classnames, clip, device, random)?;
        let meta_net = MetaNet::new(vis_dim, ctx_dim, dtype, device);
        Ok(PromptLearner {
            ctx,
            meta_net,
            tokens,
        })
    }

    /// The context shifted by each image's meta-net bias, `[B, n_ctx, D]`, from normalised
    /// image features `[B, vis_dim]`.
    pub fn ctx_shifted(&self, im_features: &Tensor) -> Tensor {
        let bias = self.meta_net.forward(im_features).unsqueeze(1); // [B, 1, D]
        self.ctx.unsqueeze(0) + bias
    }

    /// Instance-conditioned prompts `[B, n_cls, 77, D]` from normalised image features
    /// `[B, vis_dim]` (CoCoOp's `forward`; the logits use [`PromptLearner::text_features`]).
    pub fn forward(&self, im_features: &Tensor) -> Tensor {
        let ctx_shifted = self.ctx_shifted(im_features);
        let prompts: Vec<Tensor> = (0..ctx_shifted.size()[0])
            .map(|i| {
                self.tokens
                    .assemble(&ctx_shifted.get(i), ClassTokenPosition::End)
            })
            .collect();
        Tensor::stack(&prompts, 0)
    }

    /// Text features `[B, n_cls, embed_dim]` of every image's class prompts. In fp32 each
    /// image's SOS and shifted context are encoded once and shared by its classes'
    /// prompts, which stop at the last EOT; else ([`Clip::text_fast_paths`]) each image's
    /// prompts are encoded whole, as CoCoOp's loop does.
    pub fn text_features(
        &self,
        clip: &Clip,
        im_features: &Tensor,
    ) -> Result<Tensor, TextEncodeError> {
        if !clip.text_fast_paths() {
            let prompts = self.forward(im_features);
            let rows: Vec<Tensor> = (0..prompts.size()[0])
                .map(|i| clip.encode_prompts(&prompts.get(i), &self.eot))
                .collect();
            return Ok(Tensor::stack(&rows, 0));
        }
        let ctx_shifted = self.ctx_shifted(im_features);
        let b = ctx_shifted.size()[0];
        let sos = self.token_prefix.narrow(0, 0, 1);
        let sos = sos.expand([b, 1, sos.size()[2]], false);
        let prefix = Tensor::cat(&[sos, ctx_shifted], 1);
        let text = clip.encode_text_shared_prefix(&prefix, &self.token_suffix, &self.eot)?;
        Ok(text.view([b, self.n_cls, -1]))
    }
}

impl NamedState for PromptLearner {
    /// The `state_dict` CoCoOp saves: the parameters plus the two token buffers.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut sd: Vec<(String, Tensor)> = self
            .named_parameters()
            .into_iter()
            .map(|(n, t)| (n, t.detach()))
            .collect();
        sd.extend(self.tokens.buffers());
        sd
    }

    /// `load_state_dict(strict=False)` over the parameters: present keys are copied (a
    /// shape mismatch is an error, as in PyTorch), missing and unknown keys are skipped.
    fn load_state_dict(
        &mut self,
        tensors: &[(String, Tensor)],
        from: &Path,
    ) -> Result<(), EngineError> {
        let mut missing = Vec::new();
        for (name, param) in self.named_parameters() {
            let Some((_, src)) = tensors.iter().find(|(n, _)| *n == name) else {
                missing.push(name);
                continue;
            };
            copy_checked(
                &param,
                src,
                &name,
                from,
                "check TRAINER.COCOOP.N_CTX and the backbone",
            )?;
        }
        if !missing.is_empty() {
            log_println!(
                "Keys not found in {} (left as initialised): {}",
                from.display(),
                missing.join(", ")
            );
        }
        Ok(())
    }
}

impl PromptModel for PromptLearner {
    /// CoCoOp's loss_summary holds the loss only.
    const REPORTS_ACC: bool = false;

    /// The trainable tensors with their `state_dict` names, in `parameters()` order.
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let m = &self.meta_net;
        vec![
            ("ctx".into(), self.ctx.shallow_clone()),
            (
                "meta_net.linear1.weight".into(),
                m.linear1_weight.shallow_clone(),
            ),
            (
                "meta_net.linear1.bias".into(),
                m.linear1_bias.shallow_clone(),
            ),
            (
                "meta_net.linear2.weight".into(),
                m.linear2_weight.shallow_clone(),
            ),
            (
                "meta_net.linear2.bias".into(),
                m.linear2_bias.shallow_clone(),
            ),
        ]
    }

    const LOGGED_PREFIX: Option<&'static str> = Some("prompt_learner.");

    /// `CustomCLIP.forward`: the image encoder, then [`PromptModel::logits_from_features`].
    fn logits(&self, clip: &Clip, images: &Tensor) -> Tensor {
        self.logits_from_features(clip, &clip.encode_image(images), None)
            .expect("CoCoOp's prompts are built to fit the text encoder")
    }

    /// CoCoOp's text features depend on the image: nothing to compute once.
    fn image_free_text_features(&self, _: &Clip) -> Result<Option<Tensor>, EngineError> {
        Ok(None)
    }

    /// CoCoOp's `CustomCLIP.forward`: logits `[B, n_cls]`, image `i` against the class
    /// prompts conditioned on it (one row at a time, as CoCoOp's loop computes them).
    fn logits_from_features(
        &self,
        clip: &Clip,
        image_features: &Tensor,
        _: Option<&Tensor>,
    ) -> Result<Tensor, EngineError> {
        let image_features = normalize_rows(image_features);
        let text = self.text_features(clip, &image_features)?;
        let scale = clip.logit_scale().exp();
        let rows: Vec<Tensor> = (0..text.size()[0])
            .map(|i| {
                let text_features = normalize_rows(&text.get(i));
                let imf_i = image_features.get(i);
                (&scale * &imf_i).matmul(&text_features.to_kind(imf_i.kind()).tr())
            })
            .collect();
        Ok(Tensor::stack(&rows, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{cfg_from, prompt_opts, tiny_clip};
    use dassl_rs::data::loader::Batch;
    use dassl_rs::engine::trainer_x::{Learner, Step};

    struct Setup {
        _dir: tempfile::TempDir,
        cfg: Config,
    }

    /// A random tiny CLIP (embed_dim 32, so the meta-net's hidden width is 2). Data are
    /// synthetic batches, so the tests need no registered dataset.
    fn setup(opts: &[&str]) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let clip = tiny_clip(dir.path(), 32);
        let mut all = prompt_opts("CoCoOp", SECTION, &clip, dir.path(), "2");
        all.extend(opts.iter().map(|s| s.to_string()));
        let cfg = cfg_from(&all);
        Setup { _dir: dir, cfg }
    }

    const CLASSES: [&str; 3] = ["circle", "red_square", "star"];

    fn make_learner(cfg: &Config) -> Result<CocoopLearner, EngineError> {
        let names: Vec<String> = CLASSES.iter().map(|s| s.to_string()).collect();
        new_learner(cfg, &names, Device::Cpu)
    }

    /// Three batches of two random 32x32 images with fixed labels.
    fn batches() -> Vec<Batch> {
        tch::manual_seed(7);
        (0..3)
            .map(|k| Batch {
                images: Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu)),
                labels: Tensor::from_slice(&[k % 3, (k + 1) % 3i64]),
                indices: vec![2 * k as usize, 2 * k as usize + 1],
            })
            .collect()
    }

    fn train_epoch(learner: &mut CocoopLearner) -> Vec<f64> {
        let batches = batches();
        batches
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let out = learner
                    .forward_backward(
                        b,
                        Step {
                            epoch: 0,
                            batch_idx: i,
                            num_batches: batches.len(),
                        },
                    )
                    .unwrap();
                assert_eq!(out[0].0, "loss");
                out[0].1
            })
            .collect()
    }

    #[test]
    fn only_the_prompt_learner_trains_and_clip_stays_bit_identical() {
        let _rng = dassl_rs::testing::torch_rng();
        let s = setup(&[]);
        let mut learner = make_learner(&s.cfg).unwrap();
        let before: Vec<(String, Tensor)> = learner
            .vs
            .variables()
            .into_iter()
            .map(|(n, t)| (n, t.copy()))
            .collect();
        let pl_before: Vec<(String, Tensor)> = learner
            .pl
            .named_parameters()
            .into_iter()
            .map(|(n, t)| (n, t.copy()))
            .collect();
        let losses = train_epoch(&mut learner);
        assert!(losses.iter().all(|l| l.is_finite()), "losses {losses:?}");
        for (name, t) in learner.vs.variables() {
            let old = &before.iter().find(|(n, _)| *n == name).unwrap().1;
            assert!(t.equal(old), "CLIP variable {name} changed");
            assert!(!t.grad().defined(), "CLIP variable {name} got a gradient");
            assert!(!t.requires_grad(), "CLIP variable {name} is trainable");
        }
        for ((name, t), (_, old)) in learner.pl.named_parameters().iter().zip(&pl_before) {
            assert!(t.grad().defined(), "{name} got no gradient");
            assert!(!t.equal(old), "{name} must train");
            assert!(
                t.isfinite().all().int64_value(&[]) == 1,
                "{name} holds NaN/inf"
            );
        }
        assert_eq!(
            learner.optim.params().len(),
            5,
            "optimizer holds ctx + meta-net only"
        );
        assert!(
            !learner.pl.token_prefix.requires_grad() && !learner.pl.token_suffix.requires_grad()
        );
    }

    #[test]
    fn meta_net_shapes_and_default_init_bounds() {
        let _rng = dassl_rs::testing::torch_rng();
        let s = setup(&[]);
        let learner = make_learner(&s.cfg).unwrap();
        let m = &learner.pl.meta_net;
        assert_eq!(m.linear1_weight.size(), [2, 32]);
        assert_eq!(m.linear1_bias.size(), [2]);
        assert_eq!(m.linear2_weight.size(), [64, 2]);
        assert_eq!(m.linear2_bias.size(), [64]);
        assert_eq!(learner.pl.ctx.size(), [4, 64]);
        let within =
            |t: &Tensor, fan_in: f64| t.abs().max().double_value(&[]) <= 1.0 / fan_in.sqrt();
        assert!(within(&m.linear1_weight, 32.0) && within(&m.linear1_bias, 32.0));
        assert!(within(&m.linear2_weight, 2.0) && within(&m.linear2_bias, 2.0));
        // A bias per image shifts every context vector by the same amount.
        let f = Tensor::randn([3, 32], (Kind::Float, Device::Cpu));
        let prompts = learner.pl.forward(&f);
        assert_eq!(prompts.size(), [3, 3, 77, 64]);
        let bias = m.forward(&f);
        for j in 0..3 {
            let want = &learner.pl.ctx + bias.get(j).unsqueeze(0);
            for i in 0..3 {
                assert!(prompts
                    .get(j)
                    .get(i)
                    .narrow(0, 1, 4)
                    .allclose(&want, 1e-6, 1e-6, false));
                assert!(prompts
                    .get(j)
                    .get(i)
                    .narrow(0, 0, 1)
                    .equal(&learner.pl.token_prefix.get(i)));
                assert!(prompts
                    .get(j)
                    .get(i)
                    .narrow(0, 5, 72)
                    .equal(&learner.pl.token_suffix.get(i)));
            }
        }
    }

    #[test]
    fn logits_are_batch_by_classes_and_match_a_per_image_reference() {
        let _rng = dassl_rs::testing::torch_rng();
        let s = setup(&[]);
        let mut learner = make_learner(&s.cfg).unwrap();
        let batch = batches().remove(0);
        let logits = tch::no_grad(|| learner.inference(&batch.images).unwrap());
        let b = batch.images.size()[0];
        assert_eq!(logits.size(), [b, 3]);
        // Image 0 alone gives the same row: the per-image loop does not mix images.
        let one = tch::no_grad(|| learner.inference(&batch.images.narrow(0, 0, 1)).unwrap());
        assert!(one.get(0).allclose(&logits.get(0), 1e-4, 1e-5, false));
    }

    /// The shared-prefix path (each image's SOS and shifted context encoded once for all
    /// its classes, prompts stopping at the last EOT) against CoCoOp's per-image prompts
    /// through OpenAI's full-length computation: logits within 1e-4 at logit scale 100,
    /// gradients to ctx within 1e-5 relative.
    #[test]
    fn shared_prefix_text_features_match_the_per_image_prompts() {
        let _rng = dassl_rs::testing::torch_rng();
        let s = setup(&[]);
        let learner = make_learner(&s.cfg).unwrap();
        let (pl, clip) = (&learner.pl, &learner.clip);
        tch::manual_seed(5);
        let imf = normalize_rows(&Tensor::randn([3, 32], (Kind::Float, Device::Cpu)));
        let run = |fast: bool| {
            let mut grad = pl.ctx.grad();
            if grad.defined() {
                let _ = grad.zero_();
            }
            let text = if fast {
                pl.text_features(clip, &imf).unwrap()
            } else {
                let prompts = pl.forward(&imf);
                let rows: Vec<Tensor> = (0..3)
                    .map(|i| {
                        clip.encode_prompts_over(
                            &prompts.get(i),
                            &pl.eot,
                            dassl_rs::clip::model::TextSpan::Full,
                        )
                    })
                    .collect();
                Tensor::stack(&rows, 0)
            };
            let text = normalize_rows(&text);
            let logits = imf
                .unsqueeze(1)
                .matmul(&text.transpose(1, 2))
                .squeeze_dim(1)
                * 100.0;
            logits
                .cross_entropy_for_logits(&Tensor::from_slice(&[0i64, 2, 1]))
                .backward();
            (logits.detach(), pl.ctx.grad().copy())
        };
        let (fast, full) = (run(true), run(false));
        let dl = (&fast.0 - &full.0).abs().max().double_value(&[]);
        let dg = (&fast.1 - &full.1).abs().max().double_value(&[])
            / full.1.abs().max().double_value(&[]);
        assert!(dl < 1e-4 && dg < 1e-5, "logits {dl:.2e}, ctx grad {dg:.2e}");
    }

    #[test]
    fn save_load_round_trip_drops_token_buffers() {
        let _rng = dassl_rs::testing::torch_rng();
        let s = setup(&[]);
        let mut learner = make_learner(&s.cfg).unwrap();
        train_epoch(&mut learner);
        let out = s.cfg.str("OUTPUT_DIR").unwrap().to_string();
        learner
            .save(Path::new(&out), 0, None, false, Default::default())
            .unwrap();
        let saved = learner.pl.state_dict();
        let mut fresh = make_learner(&s.cfg).unwrap();
        fresh.load(Path::new(&out), Some(1)).unwrap();
        for ((name, a), (_, b)) in fresh.pl.state_dict().iter().zip(&saved) {
            assert!(a.equal(b), "{name} differs after load");
        }
        let s2 = setup(&["TRAINER.COCOOP.PREC", "fp8"]);
        assert!(make_learner(&s2.cfg).is_err());
    }

    #[test]
    fn ctx_init_sets_the_context_from_words() {
        let _rng = dassl_rs::testing::torch_rng();
        let s = setup(&["TRAINER.COCOOP.CTX_INIT", "a_photo_of_a"]);
        let learner = make_learner(&s.cfg).unwrap();
        assert_eq!(learner.pl.n_ctx, 4);
        let words = learner
            .clip
            .token_embedding(&Tensor::from_slice(&[320i64, 1125, 539, 320]));
        assert!(learner.pl.ctx.equal(&words));
    }
}
