//! CoCoOp: CoOp's context conditioned on each image through a small meta-net.
//!
//! For image `j`, prompt `i` is `[SOS] (ctx + meta_net(f_j))_1..M [CLASS_i] . [EOS]`, with
//! `f_j` the image's normalised CLIP feature. The text encoder therefore runs once per
//! image over all classes (cost grows with batch x n_cls). Only `ctx` and the meta-net train.

use std::path::Path;

use dassl_rs::clip::model::{Clip, Precision};
use dassl_rs::clip::tokenizer::ClipTokenizer;
use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::loader::Batch;
use dassl_rs::data::manager::DataManager;
use dassl_rs::engine::checkpoint::{self, Checkpoint};
use dassl_rs::engine::trainer_x::{select_device, Engine, Learner, Step};
use dassl_rs::engine::Trainer;
use dassl_rs::engine::{SweepTraits, TrainerEntry};
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::log_println;
use dassl_rs::optim::optimizer::Optimizer;
use dassl_rs::optim::scaler::DynamicLossScaler;
use dassl_rs::optim::scheduler::LrScheduler;
use tch::{nn::VarStore, Device, Kind, Tensor};

use crate::clip_common::{load_clip, normalize_rows, precision_for};

inventory::submit! {
    TrainerEntry { name: "CoCoOp", extend_cfg, check_cfg, build, sweep: SweepTraits::TRAINED }
}

/// The registered name of the prompt learner's checkpoints (`OUTPUT_DIR/prompt_learner`).
pub const MODEL_NAME: &str = "prompt_learner";

/// CoOp's `extend_cfg` (train.py), CoCoOp part.
fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    b.declare("TRAINER.COCOOP.N_CTX", "16", "CoCoOp")?;
    b.declare("TRAINER.COCOOP.CTX_INIT", "''", "CoCoOp")?;
    b.declare("TRAINER.COCOOP.PREC", "'fp16'", "CoCoOp")?;
    b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", "CoCoOp")
}

/// CoCoOp's `check_cfg`, plus the positive context length its code assumes.
fn check_cfg(cfg: &Config) -> Result<(), ConfigError> {
    crate::check_choice(cfg, "TRAINER.COCOOP.PREC", &["fp16", "fp32", "amp"])?;
    if cfg.str("TRAINER.COCOOP.CTX_INIT")?.is_empty() && cfg.int("TRAINER.COCOOP.N_CTX")? < 1 {
        return Err(ConfigError::InvalidChoice {
            key: "TRAINER.COCOOP.N_CTX".into(),
            value: cfg.int("TRAINER.COCOOP.N_CTX")?.to_string(),
            expected: "a positive number of context vectors".into(),
        });
    }
    Ok(())
}

fn build(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    let (dm, learner, device) = build_learner(cfg)?;
    Ok(Box::new(Engine::new(cfg, dm, learner, device)?))
}

/// CoCoOp's `build_model` (and the data it needs for the class names).
fn build_learner(cfg: &Config) -> Result<(DataManager, CocoopLearner, Device), EngineError> {
    check_cfg(cfg)?;
    let device = select_device(cfg)?;
    let dm = DataManager::new(cfg)?;
    let learner = new_learner(cfg, dm.classnames(), device)?;
    Ok((dm, learner, device))
}

/// The model part of `build_model`, given the class names (tests need no dataset).
fn new_learner(
    cfg: &Config,
    classnames: &[String],
    device: Device,
) -> Result<CocoopLearner, EngineError> {
    check_cfg(cfg)?;
    let prec = cfg.str("TRAINER.COCOOP.PREC")?;
    let precision = precision_for(prec, device)?;
    let (mut vs, clip) = load_clip(cfg, device, precision)?;
    log_println!("Building custom CLIP");
    let pl = PromptLearner::new(cfg, classnames, &clip, device)?;
    log_println!("Turning off gradients in both the image and the text encoder");
    vs.freeze();
    let names: Vec<String> = pl
        .named_parameters()
        .into_iter()
        .map(|(n, _)| format!("prompt_learner.{n}"))
        .collect();
    log_println!("Parameters to be updated: {{{}}}", names.join(", "));
    // Only the prompt learner goes to the optimizer, in PyTorch's parameters() order.
    let params = pl.named_parameters().into_iter().map(|(_, t)| t).collect();
    let mut optim = Optimizer::build(cfg, params).map_err(CocoopLearner::err)?;
    let sched = LrScheduler::build(cfg, &mut optim).map_err(CocoopLearner::err)?;
    let scaler = if precision == Precision::Amp && device != Device::Cpu {
        // torch.cuda.amp.GradScaler's defaults.
        DynamicLossScaler::default()
    } else {
        DynamicLossScaler::disabled()
    };
    Ok(CocoopLearner {
        clip,
        vs,
        pl,
        optim,
        sched,
        scaler,
        precision,
        device,
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
    /// SOS embedding per class, `[n_cls, 1, D]`.
    pub token_prefix: Tensor,
    /// Class name, ".", EOS and padding embeddings, `[n_cls, 77 - 1 - n_ctx, D]`.
    pub token_suffix: Tensor,
    pub tokenized_prompts: Tensor,
    pub n_cls: i64,
    pub n_ctx: i64,
    /// Token count of each class name (kept as CoCoOp does; unused by its forward).
    #[allow(dead_code)]
    pub name_lens: Vec<i64>,
}

impl std::fmt::Debug for PromptLearner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptLearner")
            .field("n_cls", &self.n_cls)
            .field("n_ctx", &self.n_ctx)
            .finish()
    }
}

impl PromptLearner {
    pub fn new(
        cfg: &Config,
        classnames: &[String],
        clip: &Clip,
        device: Device,
    ) -> Result<Self, EngineError> {
        let tok = ClipTokenizer::new();
        let tok_err =
            |e: dassl_rs::clip::tokenizer::TokenizeError| EngineError::Invalid(e.to_string());
        let dtype = clip.dtype();
        let n_cls = classnames.len() as i64;
        let ctx_dim = clip.config().transformer_width;
        let vis_dim = clip.config().embed_dim;
        let ctx_init = cfg.str("TRAINER.COCOOP.CTX_INIT")?;
        let embed = |rows: Vec<Vec<i64>>| -> Tensor {
            let n = rows.len() as i64;
            let tokens = Tensor::from_slice(&rows.concat())
                .view([n, -1])
                .to_device(device);
            tch::no_grad(|| clip.token_embedding(&tokens).to_kind(dtype))
        };
        let (ctx_vectors, prompt_prefix, n_ctx) = if !ctx_init.is_empty() {
            // CoCoOp counts context words by spaces (one token per word assumed).
            let init = ctx_init.replace('_', " ");
            let n_ctx = init.split(' ').count() as i64;
            let emb = embed(tok.tokenize(&[init.as_str()], 77, false).map_err(tok_err)?);
            (emb.get(0).narrow(0, 1, n_ctx).copy(), init, n_ctx)
        } else {
            let n_ctx = cfg.int("TRAINER.COCOOP.N_CTX")?;
            // `torch.empty(n_ctx, ctx_dim, dtype=dtype)` + normal_ on the CPU generator.
            let ctx = Tensor::empty([n_ctx, ctx_dim], (dtype, Device::Cpu))
                .normal_(0.0, 0.02)
                .to_device(device);
            (ctx, vec!["X"; n_ctx as usize].join(" "), n_ctx)
        };
        log_println!("Initial context: \"{prompt_prefix}\"");
        log_println!("Number of context words (tokens): {n_ctx}");
        let meta_net = MetaNet::new(vis_dim, ctx_dim, dtype, device);
        let names: Vec<String> = classnames.iter().map(|n| n.replace('_', " ")).collect();
        let name_lens: Vec<i64> = names.iter().map(|n| tok.encode(n).len() as i64).collect();
        let prompts: Vec<String> = names
            .iter()
            .map(|n| format!("{prompt_prefix} {n}."))
            .collect();
        let rows = tok.tokenize(&prompts, 77, false).map_err(tok_err)?;
        let tokenized_prompts = Tensor::from_slice(&rows.concat())
            .view([n_cls, -1])
            .to_device(device);
        let embedding = embed(rows);
        Ok(PromptLearner {
            ctx: ctx_vectors.detach().set_requires_grad(true),
            meta_net,
            token_prefix: embedding.narrow(1, 0, 1).copy(),
            token_suffix: embedding.narrow(1, 1 + n_ctx, 77 - 1 - n_ctx).copy(),
            tokenized_prompts,
            n_cls,
            n_ctx,
            name_lens,
        })
    }

    /// The trainable tensors with their `state_dict` names, in `parameters()` order.
    pub fn named_parameters(&self) -> Vec<(String, Tensor)> {
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

    /// Instance-conditioned prompts `[B, n_cls, 77, D]` from normalised image features `[B, vis_dim]`.
    pub fn forward(&self, im_features: &Tensor) -> Tensor {
        let bias = self.meta_net.forward(im_features).unsqueeze(1); // [B, 1, D]
        let ctx_shifted = self.ctx.unsqueeze(0) + bias; // [B, n_ctx, D]
        let prompts: Vec<Tensor> = (0..ctx_shifted.size()[0])
            .map(|i| {
                let ctx_i = ctx_shifted
                    .get(i)
                    .unsqueeze(0)
                    .expand([self.n_cls, -1, -1], false);
                Tensor::cat(&[&self.token_prefix, &ctx_i, &self.token_suffix], 1)
            })
            .collect();
        Tensor::stack(&prompts, 0)
    }

    /// The `state_dict` CoCoOp saves: the parameters plus the two token buffers.
    pub fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut sd: Vec<(String, Tensor)> = self
            .named_parameters()
            .into_iter()
            .map(|(n, t)| (n, t.detach()))
            .collect();
        sd.push(("token_prefix".into(), self.token_prefix.shallow_clone()));
        sd.push(("token_suffix".into(), self.token_suffix.shallow_clone()));
        sd
    }

    /// `load_state_dict(strict=False)` over the parameters: present keys are copied (a
    /// shape mismatch is an error, as in PyTorch), missing and unknown keys are skipped.
    pub fn load_state_dict(
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
            if src.size() != param.size() {
                return Err(EngineError::Invalid(format!(
                    "{}: {name} has shape {:?} but this prompt learner needs {:?} (check TRAINER.COCOOP.N_CTX and the backbone)",
                    from.display(),
                    src.size(),
                    param.size()
                )));
            }
            let mut dst = param;
            tch::no_grad(|| dst.copy_(&src.to_device(dst.device()).to_kind(dst.kind())));
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

struct CocoopLearner {
    clip: Clip,
    /// CLIP's variables, frozen (kept for inspection; the model holds its own handles).
    #[cfg_attr(not(test), allow(dead_code))]
    vs: VarStore,
    pl: PromptLearner,
    optim: Optimizer,
    sched: LrScheduler,
    scaler: DynamicLossScaler,
    precision: Precision,
    device: Device,
}

impl CocoopLearner {
    /// CoCoOp's `CustomCLIP.forward` in eval mode: logits `[B, n_cls]`, one text-encoder
    /// pass per image.
    fn logits(&self, images: &Tensor) -> Tensor {
        let image_features =
            normalize_rows(&self.clip.encode_image(&images.to_kind(self.clip.dtype())));
        let prompts = self.pl.forward(&image_features);
        let scale = self.clip.logit_scale().exp();
        let rows: Vec<Tensor> = (0..prompts.size()[0])
            .map(|i| {
                let text_features = normalize_rows(
                    &self
                        .clip
                        .encode_text_from_embeddings(&prompts.get(i), &self.pl.tokenized_prompts),
                );
                let imf_i = image_features.get(i);
                scale.to_kind(imf_i.kind())
                    * imf_i.matmul(&text_features.to_kind(imf_i.kind()).tr())
            })
            .collect();
        Tensor::stack(&rows, 0)
    }

    /// CoCoOp's training-mode forward: `F.cross_entropy(logits, label)`.
    fn loss(&self, images: &Tensor, labels: &Tensor) -> Tensor {
        self.logits(images).cross_entropy_for_logits(labels)
    }

    fn err(e: impl std::fmt::Display) -> EngineError {
        EngineError::Invalid(e.to_string())
    }

    /// Loads the prompt learner from a checkpoint's tensors, ignoring the token buffers
    /// (they depend on the current class names).
    fn load_tensors(
        &mut self,
        mut tensors: Vec<(String, Tensor)>,
        from: &Path,
    ) -> Result<(), EngineError> {
        checkpoint::drop_keys(&mut tensors, &["token_prefix", "token_suffix"]);
        self.pl.load_state_dict(&tensors, from)
    }
}

impl Learner for CocoopLearner {
    fn forward_backward(
        &mut self,
        batch: &Batch,
        step: Step,
    ) -> Result<Vec<(&'static str, f64)>, EngineError> {
        let images = batch.images.to_device(self.device);
        let labels = batch.labels.to_device(self.device);
        let amp = self.precision == Precision::Amp && self.device != Device::Cpu;
        let loss = if amp {
            tch::autocast(true, || self.loss(&images, &labels))
        } else {
            self.loss(&images, &labels)
        };
        // Dassl's detect_anomaly: a NaN or infinite loss stops the run.
        let loss_value = loss.to_kind(Kind::Double).double_value(&[]);
        if !loss_value.is_finite() {
            return Err(EngineError::Invalid(format!(
                "Loss is infinite or NaN! (epoch {}, batch {}); fp16 training is prone to this: try TRAINER.COCOOP.PREC fp32 or amp",
                step.epoch + 1,
                step.batch_idx + 1
            )));
        }
        self.optim.zero_grad();
        if amp {
            self.scaler.scale(&loss).map_err(Self::err)?.backward();
            self.scaler.step(&mut self.optim).map_err(Self::err)?;
            self.scaler.update().map_err(Self::err)?;
        } else {
            loss.backward();
            self.optim.step().map_err(Self::err)?;
        }
        if step.is_last_batch() {
            self.sched.step(&mut self.optim);
        }
        // CoCoOp's loss_summary holds the loss only (its forward returns no logits).
        Ok(vec![("loss", loss_value)])
    }

    fn inference(&mut self, images: &Tensor) -> Result<Tensor, EngineError> {
        Ok(self.logits(images))
    }

    fn current_lr(&self) -> f64 {
        self.optim.lr()
    }

    fn save(
        &mut self,
        dir: &Path,
        epoch: usize,
        val_result: Option<f64>,
        is_best: bool,
    ) -> Result<(), EngineError> {
        let tensors = self.pl.state_dict();
        let ckpt = Checkpoint {
            epoch: epoch + 1,
            tensors: &tensors,
            optimizer: Some(&self.optim),
            scheduler: Some(&self.sched),
            scaler: self.scaler.is_enabled().then_some(&self.scaler),
            val_result,
        };
        checkpoint::save(&dir.join(MODEL_NAME), &ckpt, is_best).map_err(Self::err)?;
        Ok(())
    }

    fn resume(&mut self, dir: &Path) -> Result<usize, EngineError> {
        let scaler = if self.scaler.is_enabled() {
            Some(&mut self.scaler)
        } else {
            None
        };
        match checkpoint::resume(
            &dir.join(MODEL_NAME),
            Some(&mut self.optim),
            Some(&mut self.sched),
            scaler,
        )
        .map_err(Self::err)?
        {
            None => {
                log_println!("No checkpoint found, train from scratch");
                Ok(0)
            }
            Some(r) => {
                log_println!(
                    "Found checkpoint at {} (will resume training)",
                    dir.display()
                );
                self.load_tensors(r.tensors, &r.path)?;
                log_println!("Loaded checkpoint from \"{}\"", r.path.display());
                Ok(r.start_epoch)
            }
        }
    }

    fn load(&mut self, dir: &Path, epoch: Option<usize>) -> Result<(), EngineError> {
        let loaded = checkpoint::load(&dir.join(MODEL_NAME), epoch).map_err(Self::err)?;
        log_println!(
            "Loading weights to {MODEL_NAME} from \"{}\" (epoch = {})",
            loaded.path.display(),
            loaded
                .epoch
                .map(|e| e.to_string())
                .unwrap_or_else(|| "None".into())
        );
        self.load_tensors(loaded.tensors, &loaded.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dassl_rs::clip::model::{ClipConfig, VisionConfig};
    use dassl_rs::config::{setup_cfg, CfgSources};

    struct Setup {
        _dir: tempfile::TempDir,
        cfg: Config,
    }

    /// A random tiny CLIP (embed_dim 32, so the meta-net's hidden width is 2). Data are
    /// synthetic batches, so the tests need no registered dataset.
    fn setup(opts: &[&str]) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("clip.safetensors");
        let config = ClipConfig {
            embed_dim: 32,
            image_resolution: 32,
            vision: VisionConfig::Vit {
                layers: 1,
                width: 64,
                patch_size: 16,
            },
            context_length: 77,
            vocab_size: 49408,
            transformer_width: 64,
            transformer_heads: 1,
            transformer_layers: 1,
        };
        dassl_rs::clip::random::write_random_clip(&clip, &config, 1).unwrap();
        let mut all: Vec<String> = [
            "MODEL.BACKBONE.NAME",
            clip.to_str().unwrap(),
            "INPUT.SIZE",
            "(32, 32)",
            "TRAINER.NAME",
            "CoCoOp",
            "TRAINER.COCOOP.N_CTX",
            "4",
            "TRAINER.COCOOP.PREC",
            "fp32",
            "OPTIM.NAME",
            "sgd",
            "OPTIM.LR",
            "0.5",
            "DATALOADER.TRAIN_X.BATCH_SIZE",
            "2",
            "SEED",
            "1",
            "OUTPUT_DIR",
            dir.path().join("out").to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        all.extend(opts.iter().map(|s| s.to_string()));
        let cfg = setup_cfg(&CfgSources {
            opts: all,
            ..Default::default()
        })
        .unwrap();
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

    #[test]
    fn save_load_round_trip_drops_token_buffers() {
        let s = setup(&[]);
        let mut learner = make_learner(&s.cfg).unwrap();
        train_epoch(&mut learner);
        let out = s.cfg.str("OUTPUT_DIR").unwrap().to_string();
        learner.save(Path::new(&out), 0, None, false).unwrap();
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
        let s = setup(&["TRAINER.COCOOP.CTX_INIT", "a_photo_of_a"]);
        let learner = make_learner(&s.cfg).unwrap();
        assert_eq!(learner.pl.n_ctx, 4);
        let words = learner
            .clip
            .token_embedding(&Tensor::from_slice(&[320i64, 1125, 539, 320]));
        assert!(learner.pl.ctx.equal(&words));
    }
}
