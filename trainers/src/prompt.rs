//! What every prompt learner on a frozen CLIP shares (CoOp's and CoCoOp's `PromptLearner`
//! and `CustomCLIP` scaffolding): the config checks, the context from N_CTX or CTX_INIT, the
//! class prompts' token buffers and class-token placement, building the model, the
//! training step and the registered model for checkpoints. A method supplies only its
//! [`PromptModel`]: its trainable tensors, their state and its logits.

use std::path::{Path, PathBuf};

use dassl_rs::clip::init_replay::replay_construction;
use dassl_rs::clip::model::{Clip, EotPositions, Precision, TextEncodeError};
use dassl_rs::clip::tokenizer::ClipTokenizer;
use dassl_rs::config::Config;
use dassl_rs::data::loader::Batch;
use dassl_rs::data::manager::DataManager;
use dassl_rs::engine::registered::{
    accuracy, backward_and_update, load_pretrained_weights, NamedState, Registered,
};
use dassl_rs::engine::trainer_x::{select_device, Engine, Learner, Step};
use dassl_rs::engine::Trainer;
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::features::{EncoderIdentity, FrozenEncoder};
use dassl_rs::log_println;
use dassl_rs::optim::optimizer::Optimizer;
use dassl_rs::optim::scaler::DynamicLossScaler;
use dassl_rs::optim::scheduler::LrScheduler;
use tch::{nn::VarStore, Device, Tensor};

use crate::clip_common::{encoder_identity, load_clip, precision_for};

/// CLIP's text context length (every OpenAI model, and `clip.tokenize`'s default).
pub const CONTEXT_LENGTH: i64 = 77;

/// The registered name of a prompt learner's checkpoints (`OUTPUT_DIR/prompt_learner`).
pub const MODEL_NAME: &str = "prompt_learner";

/// Buffers a checkpoint stores but `load_model` ignores: they come from the class names.
pub const TOKEN_BUFFERS: &[&str] = &["token_prefix", "token_suffix"];

/// What torch 2.11 warns when CoOp builds `torch.cuda.amp.GradScaler()` without CUDA.
pub const GRAD_SCALER_WARNING: &str =
    "UserWarning: torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.";

/// What torch 2.11 warns when CoOp enters `torch.cuda.amp.autocast()` without CUDA.
pub const AUTOCAST_WARNING: &str =
    "UserWarning: CUDA is not available or torch_xla is imported. Disabling autocast.";

/// The checks a prompt trainer's `check_cfg` shares, for keys under `section`
/// (`TRAINER.COOP`): PREC is a known precision, and the context (N_CTX vectors, or the
/// words of CTX_INIT) is non-empty and leaves room in CLIP's 77 tokens for SOS, at least
/// one class-name token, "." and EOS.
pub fn check_prompt_cfg(cfg: &Config, section: &str) -> Result<(), ConfigError> {
    crate::check_choice(cfg, &format!("{section}.PREC"), &["fp16", "fp32", "amp"])?;
    let init_key = format!("{section}.CTX_INIT");
    let ctx_init = cfg.str(&init_key)?;
    let room = CONTEXT_LENGTH - 4;
    if ctx_init.is_empty() {
        let key = format!("{section}.N_CTX");
        let n_ctx = cfg.int(&key)?;
        if !(1..=room).contains(&n_ctx) {
            return Err(ConfigError::InvalidChoice {
                key,
                value: n_ctx.to_string(),
                expected: format!(
                    "a number of context vectors from 1 to {room} (CLIP's context is {CONTEXT_LENGTH} tokens)"
                ),
            });
        }
    } else {
        let init = ctx_init.replace('_', " ");
        let words = init.split(' ').count() as i64;
        let tokens = ClipTokenizer::new().encode(&init).len() as i64;
        if words.max(tokens) > room {
            return Err(ConfigError::InvalidChoice {
                key: init_key,
                value: ctx_init.to_string(),
                expected: format!(
                    "at most {room} context words and tokens (CLIP's context is {CONTEXT_LENGTH} tokens)"
                ),
            });
        }
    }
    Ok(())
}

/// What every CLIP learner's build starts from, as Dassl's `TrainerX.__init__` orders it:
/// the device, the data (whose class names the model needs), then `new_learner`'s model.
pub fn learner_with_data<L>(
    cfg: &Config,
    new_learner: impl FnOnce(&Config, &[String], Device) -> Result<L, EngineError>,
) -> Result<(DataManager, L, Device), EngineError> {
    let device = select_device(cfg)?;
    let dm = DataManager::new(cfg)?;
    let learner = new_learner(cfg, dm.classnames(), device)?;
    Ok((dm, learner, device))
}

/// A CLIP learner's `build` (its registry entry's): `check` its config, then Dassl's
/// engine over the data and `new_learner`'s model ([`learner_with_data`]).
pub fn build_engine<L: Learner + 'static>(
    cfg: &Config,
    check: fn(&Config) -> Result<(), ConfigError>,
    new_learner: impl FnOnce(&Config, &[String], Device) -> Result<L, EngineError>,
) -> Result<Box<dyn Trainer>, EngineError> {
    check(cfg)?;
    let (dm, learner, device) = learner_with_data(cfg, new_learner)?;
    Ok(Box::new(Engine::new(cfg, dm, learner, device)?))
}

/// What the authors' `build_model` prints once CLIP is frozen: the set of trainable
/// parameter names (`prefix` + each name), as Python prints a set of strings.
pub fn log_parameters_to_update(named: &[(String, Tensor)], prefix: &str) {
    let names: Vec<String> = named
        .iter()
        .map(|(k, _)| format!("'{prefix}{k}'"))
        .collect();
    log_println!("Parameters to be updated: {{{}}}", names.join(", "));
}

/// Token embeddings of tokenized rows in CLIP's dtype, `[rows, 77, D]`, as
/// `clip_model.token_embedding(prompt).type(dtype)` under `no_grad`.
pub fn embed_rows(clip: &Clip, rows: Vec<Vec<i64>>, device: Device) -> Tensor {
    let n = rows.len() as i64;
    let tokens = Tensor::from_slice(&rows.concat())
        .view([n, -1])
        .to_device(device);
    tch::no_grad(|| clip.token_embedding(&tokens).to_kind(clip.dtype()))
}

/// Where the class token goes (CoOp's CLASS_TOKEN_POSITION).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassTokenPosition {
    End,
    Middle,
    Front,
}

/// The class prompts `"<context> <name>."` as token buffers around the learnable context.
pub struct PromptTokens {
    /// SOS embedding per class, `[n_cls, 1, D]`.
    pub token_prefix: Tensor,
    /// Class name, ".", EOS and padding embeddings, `[n_cls, 77 - 1 - n_ctx, D]`.
    pub token_suffix: Tensor,
    /// Where each class prompt's EOT is (CoOp's `tokenized_prompts.argmax(-1)`), read once.
    pub eot: EotPositions,
    pub n_cls: i64,
    pub n_ctx: i64,
    /// Token count of each class name (for middle/front placement).
    pub name_lens: Vec<i64>,
}

impl std::fmt::Debug for PromptTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptTokens")
            .field("n_cls", &self.n_cls)
            .field("n_ctx", &self.n_ctx)
            .finish_non_exhaustive()
    }
}

impl PromptTokens {
    /// The context under `section` and the class prompts' buffers, as CoOp's
    /// `PromptLearner.__init__`: CTX_INIT's word embeddings (one token per word, counted by
    /// spaces as CoOp does), else `random(n_ctx)` for N_CTX vectors. Returns the context,
    /// trainable, in CLIP's dtype.
    pub fn with_context(
        cfg: &Config,
        section: &str,
        classnames: &[String],
        clip: &Clip,
        device: Device,
        random: impl FnOnce(i64) -> Tensor,
    ) -> Result<(Tensor, Self), EngineError> {
        let tok = ClipTokenizer::new();
        let embed = |rows: Vec<Vec<i64>>| embed_rows(clip, rows, device);
        let ctx_init = cfg.str(&format!("{section}.CTX_INIT"))?;
        let (ctx_vectors, prompt_prefix, n_ctx) = if !ctx_init.is_empty() {
            let init = ctx_init.replace('_', " ");
            let n_ctx = init.split(' ').count() as i64;
            let emb = embed(tok.tokenize(&[init.as_str()], CONTEXT_LENGTH as usize, false)?);
            (emb.get(0).narrow(0, 1, n_ctx).copy(), init, n_ctx)
        } else {
            let n_ctx = cfg.int(&format!("{section}.N_CTX"))?;
            (random(n_ctx), vec!["X"; n_ctx as usize].join(" "), n_ctx)
        };
        log_println!("Initial context: \"{prompt_prefix}\"");
        log_println!("Number of context words (tokens): {n_ctx}");
        let tokens = Self::around(&prompt_prefix, n_ctx, classnames, clip, device)?;
        Ok((ctx_vectors.detach().set_requires_grad(true), tokens))
    }

    /// The buffers of the prompts `"<prompt_prefix> <name>."` whose positions `1..1 + n_ctx`
    /// the learned context replaces (MaPLe keeps CTX_INIT's words after the first n_ctx).
    pub fn around(
        prompt_prefix: &str,
        n_ctx: i64,
        classnames: &[String],
        clip: &Clip,
        device: Device,
    ) -> Result<Self, EngineError> {
        let tok = ClipTokenizer::new();
        let n_cls = classnames.len() as i64;
        let names: Vec<String> = classnames.iter().map(|n| n.replace('_', " ")).collect();
        let name_lens: Vec<i64> = names.iter().map(|n| tok.encode(n).len() as i64).collect();
        let prompts: Vec<String> = names
            .iter()
            .map(|n| format!("{prompt_prefix} {n}."))
            .collect();
        let rows = tok.tokenize(&prompts, CONTEXT_LENGTH as usize, false)?;
        let tokenized_prompts = Tensor::from_slice(&rows.concat())
            .view([n_cls, -1])
            .to_device(device);
        let eot = EotPositions::of(&tokenized_prompts);
        let embedding = embed_rows(clip, rows, device);
        Ok(PromptTokens {
            token_prefix: embedding.narrow(1, 0, 1).copy(),
            token_suffix: embedding
                .narrow(1, 1 + n_ctx, CONTEXT_LENGTH - 1 - n_ctx)
                .copy(),
            eot,
            n_cls,
            n_ctx,
            name_lens,
        })
    }

    /// The prompt embeddings `[n_cls, 77, D]` around `ctx` (`[n_ctx, D]`, shared by all
    /// classes, or `[n_cls, n_ctx, D]`), the class token placed as CoOp places it.
    pub fn assemble(&self, ctx: &Tensor, position: ClassTokenPosition) -> Tensor {
        let ctx = if ctx.dim() == 2 {
            ctx.unsqueeze(0).expand([self.n_cls, -1, -1], false)
        } else {
            ctx.shallow_clone()
        };
        if position == ClassTokenPosition::End {
            return Tensor::cat(&[&self.token_prefix, &ctx, &self.token_suffix], 1);
        }
        let half = self.n_ctx / 2;
        let rows: Vec<Tensor> = (0..self.n_cls)
            .map(|i| {
                let len = self.name_lens[i as usize];
                let prefix = self.token_prefix.narrow(0, i, 1);
                let suffix = self.token_suffix.narrow(0, i, 1);
                let class = suffix.narrow(1, 0, len);
                let rest = suffix.narrow(1, len, self.token_suffix.size()[1] - len);
                let ctx_i = ctx.narrow(0, i, 1);
                if position == ClassTokenPosition::Middle {
                    let a = ctx_i.narrow(1, 0, half);
                    let b = ctx_i.narrow(1, half, self.n_ctx - half);
                    Tensor::cat(&[&prefix, &a, &class, &b, &rest], 1)
                } else {
                    Tensor::cat(&[&prefix, &class, &ctx_i, &rest], 1)
                }
            })
            .collect();
        Tensor::cat(&rows, 0)
    }

    /// Class text features `[n_cls, embed_dim]` (not normalised) of the prompts around
    /// `ctx`, as CoOp's `TextEncoder` computes them, through the text encoder's fast paths:
    /// with a generic context the positions before the class name (SOS and the context, or
    /// its first half in the middle position) are the same for every class and encoded
    /// once; every prompt stops at the last EOT. Both only in fp32 ([`Clip::text_fast_paths`]).
    pub fn text_features(
        &self,
        clip: &Clip,
        ctx: &Tensor,
        position: ClassTokenPosition,
    ) -> Result<Tensor, TextEncodeError> {
        let shared = match position {
            _ if ctx.dim() != 2 || !clip.text_fast_paths() => 0,
            ClassTokenPosition::End => 1 + self.n_ctx,
            ClassTokenPosition::Middle => 1 + self.n_ctx / 2,
            ClassTokenPosition::Front => 0,
        };
        if shared < 2 {
            return Ok(clip.encode_prompts(&self.assemble(ctx, position), &self.eot));
        }
        let sos = self.token_prefix.narrow(0, 0, 1);
        if position == ClassTokenPosition::End {
            let prefix = Tensor::cat(&[&sos, &ctx.unsqueeze(0)], 1);
            return clip.encode_text_shared_prefix(&prefix, &self.token_suffix, &self.eot);
        }
        let prompts = self.assemble(ctx, position);
        let prefix = prompts.narrow(0, 0, 1).narrow(1, 0, shared);
        let suffixes = prompts.narrow(1, shared, CONTEXT_LENGTH - shared);
        clip.encode_text_shared_prefix(&prefix, &suffixes, &self.eot)
    }

    /// The same features by OpenAI's full-length computation: the reference the fast
    /// paths are tested against.
    #[cfg(test)]
    pub fn reference_text_features(
        &self,
        clip: &Clip,
        ctx: &Tensor,
        position: ClassTokenPosition,
    ) -> Tensor {
        let prompts = self.assemble(ctx, position);
        clip.encode_prompts_over(&prompts, &self.eot, dassl_rs::clip::model::TextSpan::Full)
    }

    /// The two buffers as `state_dict` entries.
    pub fn buffers(&self) -> Vec<(String, Tensor)> {
        vec![
            (TOKEN_BUFFERS[0].into(), self.token_prefix.shallow_clone()),
            (TOKEN_BUFFERS[1].into(), self.token_suffix.shallow_clone()),
        ]
    }
}

/// Copies a checkpoint tensor into a parameter, as `load_state_dict` does: the shapes
/// must match (`hint` says which settings shape it).
pub fn copy_checked(
    dst: &Tensor,
    src: &Tensor,
    key: &str,
    from: &Path,
    hint: &str,
) -> Result<(), EngineError> {
    if src.size() != dst.size() {
        return Err(EngineError::StateShape {
            path: from.to_path_buf(),
            key: key.to_string(),
            got: src.size(),
            want: dst.size(),
            hint: hint.to_string(),
        });
    }
    let mut dst = dst.shallow_clone();
    tch::no_grad(|| dst.copy_(&src.to_device(dst.device()).to_kind(dst.kind())));
    Ok(())
}

/// `F.cross_entropy(output, label)`: ATen's own, so fp16 logits give an fp16 loss as in
/// PyTorch (tch's `cross_entropy_for_logits` takes the log-softmax in fp32).
pub fn cross_entropy(logits: &Tensor, labels: &Tensor) -> Tensor {
    logits.cross_entropy_loss::<Tensor>(labels, None, tch::Reduction::Mean, -100, 0.0)
}

/// A prompt learner: the part of a method that is its own idea.
pub trait PromptModel: NamedState {
    /// Whether the training summary has `acc` besides `loss` (CoOp yes, CoCoOp no).
    const REPORTS_ACC: bool;
    /// The name it is registered and checkpointed under (`OUTPUT_DIR/<NAME>`).
    const NAME: &'static str = MODEL_NAME;
    /// The checkpoint keys its `load_model` ignores (they come from the class names).
    const DROPPED_ON_LOAD: &'static [&'static str] = TOKEN_BUFFERS;
    /// Whether its parameters are drawn while CLIP is built (IVLP's and VPT's CLIP holds
    /// its prompts): `make` then replays CLIP's construction draws itself, with its own.
    const DRAWS_IN_CONSTRUCTION: bool = false;
    /// The tensors the optimizer updates with their names, in PyTorch's
    /// `named_parameters()` order.
    fn named_parameters(&self) -> Vec<(String, Tensor)>;
    /// The tensors the optimizer updates, in PyTorch's `parameters()` order.
    fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters()
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }
    /// Where the authors' `build_model` prints the trainable names ("Parameters to be
    /// updated"), the prefix their model gives them; `None` (CoOp) prints nothing.
    const LOGGED_PREFIX: Option<&'static str> = None;
    /// `CustomCLIP.forward`: logits `[B, n_cls]` for images on the device.
    fn logits(&self, clip: &Clip, images: &Tensor) -> Tensor;
    /// The logits and the training loss: `F.cross_entropy` on the logits (CoOp); a method
    /// with its own terms (KgCoOp's knowledge-guided loss) overrides it.
    fn logits_and_loss(&self, clip: &Clip, images: &Tensor, labels: &Tensor) -> (Tensor, Tensor) {
        let output = self.logits(clip, images);
        let loss = cross_entropy(&output, labels);
        (output, loss)
    }
    /// Whether [`PromptModel::logits`] sees the images only through CLIP's frozen image
    /// encoder, as [`PromptModel::logits_from_features`] of its output: evaluations then
    /// take the image features from the feature cache (docs/SPEED.md). Default: no.
    const SPLITS_AT_IMAGE_FEATURES: bool = false;
    /// Class text features `[n_cls, embed_dim]` when they do not depend on the image
    /// (CoOp's), computed once per evaluation; `None` (the default) when they do.
    fn image_free_text_features(&self, _clip: &Clip) -> Result<Option<Tensor>, EngineError> {
        Ok(None)
    }
    /// `logits` from the image encoder's output `[B, embed_dim]` (not normalised); `text`
    /// holds the image-free text features when an evaluation computed them already. Only
    /// called when [`PromptModel::SPLITS_AT_IMAGE_FEATURES`].
    fn logits_from_features(
        &self,
        _clip: &Clip,
        _image_features: &Tensor,
        _text: Option<&Tensor>,
    ) -> Result<Tensor, EngineError> {
        unreachable!("called only when SPLITS_AT_IMAGE_FEATURES")
    }
    /// After each training step's update (Dassl's `forward_backward` ends there): a method
    /// that changes its model between epochs (PromptSRC's prompt aggregation) does it here,
    /// with CLIP's frozen variables at hand as its `state_dict` holds them.
    fn after_update(&mut self, _clip_vars: &VarStore, _step: Step) {}
    /// Logged once CLIP is frozen: the names under [`PromptModel::LOGGED_PREFIX`].
    fn after_freeze(&self) {
        if let Some(prefix) = Self::LOGGED_PREFIX {
            log_parameters_to_update(&self.named_parameters(), prefix);
        }
    }
}

/// CoOp's `CustomCLIP` with its trainer state: a frozen CLIP, the prompt learner, and the
/// optimizer, scheduler and loss scaler registered with it.
pub struct CustomClip<M> {
    pub clip: Clip,
    /// The weights file CLIP was loaded from (it keys the feature cache).
    pub weights: PathBuf,
    /// The text features of the evaluation under way ([`Learner::begin_eval`]).
    eval_text: Option<Tensor>,
    /// CLIP's variables, frozen (the model holds its own handles to the same tensors).
    pub vs: VarStore,
    pub pl: M,
    pub optim: Optimizer,
    pub sched: LrScheduler,
    /// Enabled for PREC amp on a GPU (`torch.cuda.amp.GradScaler`'s defaults).
    pub scaler: DynamicLossScaler,
    pub device: Device,
    /// PREC amp on a CPU: `autocast()` still to warn that it is disabled (once, as
    /// Python's warning filter prints a warning once per place).
    autocast_warning: bool,
    nan_hint: String,
}

impl<M> std::fmt::Debug for CustomClip<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomClip")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl<M: PromptModel> CustomClip<M> {
    /// `build_model`: CLIP in `<section>.PREC`, the prompt learner `make` builds on it
    /// (with MODEL.INIT_WEIGHTS loaded into it, as `load_pretrained_weights`), CLIP frozen, and the optimizer and scheduler over the prompt learner only.
    pub fn build(
        cfg: &Config,
        section: &str,
        device: Device,
        make: impl FnOnce(&Clip) -> Result<M, EngineError>,
    ) -> Result<Self, EngineError> {
        let precision = precision_for(cfg.str(&format!("{section}.PREC"))?)?;
        let nan_hint = format!("; fp16 training is prone to this: try {section}.PREC fp32 or amp");
        Self::build_in(cfg, precision, nan_hint, device, make)
    }

    /// [`CustomClip::build`] for a method with no PREC key of its own (CLIP-Adapter builds
    /// CLIP in fp32): CLIP in `precision`, `nan_hint` added to the NaN error.
    pub fn build_in(
        cfg: &Config,
        precision: Precision,
        nan_hint: String,
        device: Device,
        make: impl FnOnce(&Clip) -> Result<M, EngineError>,
    ) -> Result<Self, EngineError> {
        let (mut vs, clip, weights) = load_clip(cfg, device, precision)?;
        // `clip.build_model` constructs every module before loading the weights; what is
        // drawn next (a random context, CoCoOp's meta-net, CLIP-Adapter's adapter) comes
        // after those draws in Python.
        if !M::DRAWS_IN_CONSTRUCTION {
            replay_construction(clip.config());
        }
        log_println!("Building custom CLIP");
        let mut pl = make(&clip)?;
        let init_weights = cfg.str("MODEL.INIT_WEIGHTS")?;
        if !init_weights.is_empty() {
            load_pretrained_weights(&mut pl, M::DROPPED_ON_LOAD, Path::new(init_weights))?;
        }
        log_println!("Turning off gradients in both the image and the text encoder");
        vs.freeze();
        pl.after_freeze();
        let mut optim = Optimizer::build(cfg, pl.parameters())?;
        let sched = LrScheduler::build(cfg, &mut optim)?;
        let amp = precision == Precision::Amp;
        let scaler = if amp && device != Device::Cpu {
            DynamicLossScaler::default()
        } else {
            if amp {
                eprintln!("{GRAD_SCALER_WARNING}");
            }
            DynamicLossScaler::disabled()
        };
        Ok(CustomClip {
            clip,
            weights,
            eval_text: None,
            vs,
            pl,
            optim,
            sched,
            scaler,
            device,
            autocast_warning: amp && device == Device::Cpu,
            nan_hint,
        })
    }

    fn logits(&self, images: &Tensor) -> Tensor {
        self.pl.logits(&self.clip, images)
    }
}

impl<M: PromptModel> FrozenEncoder for CustomClip<M> {
    fn identity(&self) -> EncoderIdentity {
        encoder_identity(&self.clip, &self.weights, self.device)
    }

    fn encode_images(&self, images: &Tensor) -> Tensor {
        self.clip.encode_image(images)
    }

    fn logits_from_features(&mut self, features: &Tensor) -> Result<Tensor, EngineError> {
        self.pl
            .logits_from_features(&self.clip, features, self.eval_text.as_ref())
    }
}

impl<M: PromptModel> Learner for CustomClip<M> {
    /// Cross-entropy on the logits (under autocast for AMP), then the shared step.
    fn forward_backward(
        &mut self,
        batch: &Batch,
        step: Step,
    ) -> Result<Vec<(&'static str, f64)>, EngineError> {
        if std::mem::take(&mut self.autocast_warning) {
            eprintln!("{AUTOCAST_WARNING}");
        }
        let images = batch.images.to_device(self.device);
        let labels = batch.labels.to_device(self.device);
        let forward = || self.pl.logits_and_loss(&self.clip, &images, &labels);
        let (output, loss) = if self.scaler.is_enabled() {
            tch::autocast(true, forward)
        } else {
            forward()
        };
        let loss_value = backward_and_update(
            &loss,
            step,
            &mut self.optim,
            &mut self.sched,
            &mut self.scaler,
            &self.nan_hint,
        )?;
        self.pl.after_update(&self.vs, step);
        let mut summary = vec![("loss", loss_value)];
        if M::REPORTS_ACC {
            summary.push(("acc", accuracy(&output, &labels)));
        }
        Ok(summary)
    }

    fn inference(&mut self, images: &Tensor) -> Result<Tensor, EngineError> {
        if !M::SPLITS_AT_IMAGE_FEATURES {
            return Ok(self.logits(images));
        }
        let features = self.clip.encode_image(images);
        self.pl
            .logits_from_features(&self.clip, &features, self.eval_text.as_ref())
    }

    fn begin_eval(&mut self) -> Result<(), EngineError> {
        self.eval_text = tch::no_grad(|| self.pl.image_free_text_features(&self.clip))?;
        Ok(())
    }

    fn end_eval(&mut self) {
        self.eval_text = None;
    }

    fn frozen_encoder(&mut self) -> Option<&mut dyn FrozenEncoder> {
        if M::SPLITS_AT_IMAGE_FEATURES {
            Some(self)
        } else {
            None
        }
    }

    fn current_lr(&self) -> f64 {
        self.optim.lr()
    }

    fn registered(&mut self) -> Vec<Registered<'_>> {
        vec![Registered {
            name: M::NAME,
            model: &mut self.pl,
            optim: &mut self.optim,
            sched: &mut self.sched,
            scaler: &mut self.scaler,
            dropped_on_load: M::DROPPED_ON_LOAD,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{cfg_from, prompt_opts};

    /// CoOp's random context (generic and CSC), CoCoOp's context and meta-net and KgCoOp's
    /// context for a seed, bit for bit in fp32 and fp16, on a ResNet and a ViT: seeded, CLIP
    /// built (its construction's draws replayed), then drawn, as CoOp's own build_model does
    /// (fixtures/rng/make_rng.py runs it); and after each build, torch's generator where
    /// Python's stands, so the data order drawn next is the same.
    #[test]
    fn random_contexts_are_coops_seed_for_seed() {
        let _rng = dassl_rs::testing::torch_rng();
        use dassl_rs::clip::random::{tiny_config, write_random_clip};
        let expected = crate::family_parity::fixture("rng/rng.pt");
        let dir = tempfile::tempdir().unwrap();
        let classnames: Vec<String> = ["circle", "red square", "triangle"]
            .map(String::from)
            .to_vec();
        let mut compared = 0;
        for backbone in ["rn", "vit"] {
            let config = tiny_config(&format!("tiny-{backbone}")).unwrap();
            let clip = dir.path().join(format!("{backbone}.safetensors"));
            write_random_clip(&clip, &config, 0).unwrap();
            let size = format!("({0}, {0})", config.image_resolution);
            for prec in ["fp32", "fp16"] {
                for seed in 1..=3 {
                    for kind in ["coop", "coop_csc", "cocoop", "kgcoop"] {
                        let (trainer, section) = match kind {
                            "cocoop" => ("CoCoOp", "TRAINER.COCOOP"),
                            "kgcoop" => ("KgCoOp", "TRAINER.COOP"),
                            _ => ("CoOp", "TRAINER.COOP"),
                        };
                        let mut opts = prompt_opts(trainer, section, &clip, dir.path(), "4");
                        let csc = if kind == "coop_csc" { "True" } else { "False" };
                        let prec_key = format!("{section}.PREC");
                        opts.extend(
                            [
                                "INPUT.SIZE",
                                &size,
                                &prec_key,
                                prec,
                                "TRAINER.COOP.CSC",
                                csc,
                            ]
                            .map(String::from),
                        );
                        let cfg = cfg_from(&opts);
                        let draw = || {
                            tch::manual_seed(seed);
                            let state = match kind {
                                "cocoop" => {
                                    crate::cocoop::new_learner(&cfg, &classnames, Device::Cpu)
                                        .unwrap()
                                        .pl
                                        .state_dict()
                                }
                                "kgcoop" => {
                                    crate::kgcoop::new_learner(&cfg, &classnames, Device::Cpu)
                                        .unwrap()
                                        .pl
                                        .coop
                                        .state_dict()
                                }
                                _ => crate::coop::new_learner(&cfg, &classnames, Device::Cpu)
                                    .unwrap()
                                    .pl
                                    .state_dict(),
                            };
                            // Where the generator stands for the data order (make_rng.py).
                            let next = dassl_rs::data::torch_order::draw_global_seed();
                            state
                                .into_iter()
                                .filter(|(k, _)| k == "ctx" || k.starts_with("meta_net."))
                                .chain([("next_draw".to_string(), Tensor::from(next))])
                                .map(|(k, t)| {
                                    let name = format!("{kind}.{backbone}.{prec}.seed{seed}.{k}");
                                    (name, t)
                                })
                                .collect::<Vec<_>>()
                        };
                        let got = draw();
                        for (name, t) in &got {
                            let want = &expected[name];
                            assert_eq!(t.kind(), want.kind(), "{name}");
                            assert!(t.equal(want), "{name}: not CoOp's draw");
                        }
                        compared += got.len();
                    }
                }
            }
        }
        assert_eq!(compared, expected.len(), "every fixture tensor compared");
    }

    #[test]
    fn check_prompt_cfg_bounds_the_context_by_clips_77_tokens() {
        let check = |opts: &[&str]| check_prompt_cfg(&cfg_from(opts), "TRAINER.COOP");
        assert!(check(&["TRAINER.COOP.N_CTX", "73"]).is_ok());
        assert!(check(&["TRAINER.COOP.CTX_INIT", "a_photo_of_a"]).is_ok());
        // CTX_INIT replaces N_CTX, as in CoOp.
        assert!(check(&[
            "TRAINER.COOP.N_CTX",
            "0",
            "TRAINER.COOP.CTX_INIT",
            "a photo"
        ])
        .is_ok());
        let long = vec!["a"; 74].join(" ");
        for (key, value) in [
            ("TRAINER.COOP.N_CTX", "0"),
            ("TRAINER.COOP.N_CTX", "74"),
            ("TRAINER.COOP.PREC", "fp8"),
            ("TRAINER.COOP.CTX_INIT", long.as_str()),
        ] {
            let e = check(&[key, value]).unwrap_err();
            assert!(
                matches!(&e, ConfigError::InvalidChoice { key: k, .. } if k == key),
                "{key} {value}: {e}"
            );
        }
    }
}
