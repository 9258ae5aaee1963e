//! CoOp: learnable context vectors around the class token, trained with CLIP frozen.
//!
//! Prompt `i` is `[SOS] ctx_1..ctx_M [CLASS_i] . [EOS]` (class token at the end), or the
//! class token in the middle of the context or in front of it; the context is shared by
//! all classes (generic) or one per class (CSC). Only the context is optimised.

use std::path::Path;

use dassl_rs::clip::model::{Clip, Precision};
use dassl_rs::clip::tokenizer::ClipTokenizer;
use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::loader::Batch;
use dassl_rs::data::manager::DataManager;
use dassl_rs::engine::checkpoint::{self, Checkpoint};
use dassl_rs::engine::trainer_x::{select_device, Engine, Learner, Step};
use dassl_rs::engine::Trainer;
use dassl_rs::engine::{LabelPart, SweepTraits, TrainerEntry};
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::log_println;
use dassl_rs::optim::optimizer::Optimizer;
use dassl_rs::optim::scaler::DynamicLossScaler;
use dassl_rs::optim::scheduler::LrScheduler;
use tch::{nn::VarStore, Device, Kind, Tensor};

use crate::clip_common::{load_clip, normalize_rows, precision_for};

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

/// The registered name of the prompt learner's checkpoints (`OUTPUT_DIR/prompt_learner`).
pub const MODEL_NAME: &str = "prompt_learner";

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
    crate::check_choice(cfg, "TRAINER.COOP.PREC", &["fp16", "fp32", "amp"])?;
    crate::check_choice(
        cfg,
        "TRAINER.COOP.CLASS_TOKEN_POSITION",
        &["end", "middle", "front"],
    )?;
    if cfg.str("TRAINER.COOP.CTX_INIT")?.is_empty() && cfg.int("TRAINER.COOP.N_CTX")? < 1 {
        return Err(ConfigError::InvalidChoice {
            key: "TRAINER.COOP.N_CTX".into(),
            value: cfg.int("TRAINER.COOP.N_CTX")?.to_string(),
            expected: "a positive number of context vectors".into(),
        });
    }
    Ok(())
}

fn build(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    let (dm, learner, device) = build_learner(cfg)?;
    Ok(Box::new(Engine::new(cfg, dm, learner, device)?))
}

/// CoOp's `build_model` (and the data it needs for the class names).
fn build_learner(cfg: &Config) -> Result<(DataManager, CoopLearner, Device), EngineError> {
    check_cfg(cfg)?;
    let device = select_device(cfg)?;
    let dm = DataManager::new(cfg)?;
    let prec = cfg.str("TRAINER.COOP.PREC")?;
    let precision = precision_for(prec, device)?;
    let (mut vs, clip) = load_clip(cfg, device, precision)?;
    log_println!("Building custom CLIP");
    let pl = PromptLearner::new(cfg, dm.classnames(), &clip, device)?;
    log_println!("Turning off gradients in both the image and the text encoder");
    vs.freeze();
    let mut optim = Optimizer::build(cfg, vec![pl.ctx.shallow_clone()])
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
    let sched =
        LrScheduler::build(cfg, &mut optim).map_err(|e| EngineError::Invalid(e.to_string()))?;
    let scaler = if precision == Precision::Amp && device != Device::Cpu {
        // torch.cuda.amp.GradScaler's defaults.
        DynamicLossScaler::default()
    } else {
        DynamicLossScaler::disabled()
    };
    let learner = CoopLearner {
        clip,
        vs,
        pl,
        optim,
        sched,
        scaler,
        precision,
        device,
    };
    Ok((dm, learner, device))
}

/// Where the class token goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassTokenPosition {
    End,
    Middle,
    Front,
}

/// CoOp's `PromptLearner`.
pub struct PromptLearner {
    /// `[n_ctx, D]` (generic) or `[n_cls, n_ctx, D]` (CSC); the only trained tensor.
    pub ctx: Tensor,
    /// SOS embedding per class, `[n_cls, 1, D]`.
    pub token_prefix: Tensor,
    /// Class name, ".", EOS and padding embeddings, `[n_cls, 77 - 1 - n_ctx, D]`.
    pub token_suffix: Tensor,
    pub tokenized_prompts: Tensor,
    pub n_cls: i64,
    pub n_ctx: i64,
    /// Token count of each class name (for middle/front).
    pub name_lens: Vec<i64>,
    pub position: ClassTokenPosition,
}

impl std::fmt::Debug for PromptLearner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptLearner")
            .field("n_cls", &self.n_cls)
            .field("n_ctx", &self.n_ctx)
            .field("position", &self.position)
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
        let ctx_init = cfg.str("TRAINER.COOP.CTX_INIT")?;
        let csc = cfg.bool("TRAINER.COOP.CSC")?;
        let embed = |rows: Vec<Vec<i64>>| -> Tensor {
            let n = rows.len() as i64;
            let tokens = Tensor::from_slice(&rows.concat())
                .view([n, -1])
                .to_device(device);
            tch::no_grad(|| clip.token_embedding(&tokens).to_kind(dtype))
        };
        let (ctx_vectors, prompt_prefix, n_ctx) = if !ctx_init.is_empty() {
            // CoOp counts context words by spaces (one token per word assumed).
            let init = ctx_init.replace('_', " ");
            let n_ctx = init.split(' ').count() as i64;
            let emb = embed(tok.tokenize(&[init.as_str()], 77, false).map_err(tok_err)?);
            (emb.get(0).narrow(0, 1, n_ctx).copy(), init, n_ctx)
        } else {
            let n_ctx = cfg.int("TRAINER.COOP.N_CTX")?;
            let width = clip.config().transformer_width;
            let shape: Vec<i64> = if csc {
                log_println!("Initializing class-specific contexts");
                vec![n_cls, n_ctx, width]
            } else {
                log_println!("Initializing a generic context");
                vec![n_ctx, width]
            };
            let ctx = Tensor::empty(&shape, (Kind::Float, device))
                .normal_(0.0, 0.02)
                .to_kind(dtype);
            (ctx, vec!["X"; n_ctx as usize].join(" "), n_ctx)
        };
        log_println!("Initial context: \"{prompt_prefix}\"");
        log_println!("Number of context words (tokens): {n_ctx}");
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
        let position = match cfg.str("TRAINER.COOP.CLASS_TOKEN_POSITION")? {
            "end" => ClassTokenPosition::End,
            "middle" => ClassTokenPosition::Middle,
            _ => ClassTokenPosition::Front,
        };
        Ok(PromptLearner {
            ctx: ctx_vectors.detach().set_requires_grad(true),
            token_prefix: embedding.narrow(1, 0, 1).copy(),
            token_suffix: embedding.narrow(1, 1 + n_ctx, 77 - 1 - n_ctx).copy(),
            tokenized_prompts,
            n_cls,
            n_ctx,
            name_lens,
            position,
        })
    }

    /// The prompt embeddings `[n_cls, 77, D]`.
    pub fn forward(&self) -> Tensor {
        let ctx = if self.ctx.dim() == 2 {
            self.ctx.unsqueeze(0).expand([self.n_cls, -1, -1], false)
        } else {
            self.ctx.shallow_clone()
        };
        match self.position {
            ClassTokenPosition::End => {
                Tensor::cat(&[&self.token_prefix, &ctx, &self.token_suffix], 1)
            }
            ClassTokenPosition::Middle | ClassTokenPosition::Front => {
                let half = self.n_ctx / 2;
                let rows: Vec<Tensor> = (0..self.n_cls)
                    .map(|i| {
                        let len = self.name_lens[i as usize];
                        let prefix = self.token_prefix.narrow(0, i, 1);
                        let class = self.token_suffix.narrow(0, i, 1).narrow(1, 0, len);
                        let rest = self.token_suffix.narrow(0, i, 1).narrow(
                            1,
                            len,
                            self.token_suffix.size()[1] - len,
                        );
                        let ctx_i = ctx.narrow(0, i, 1);
                        if self.position == ClassTokenPosition::Middle {
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
        }
    }

    /// The `state_dict` CoOp saves: `ctx`, `token_prefix`, `token_suffix`.
    pub fn state_dict(&self) -> Vec<(String, Tensor)> {
        vec![
            ("ctx".into(), self.ctx.detach()),
            ("token_prefix".into(), self.token_prefix.shallow_clone()),
            ("token_suffix".into(), self.token_suffix.shallow_clone()),
        ]
    }

    /// Loads a context vector into `ctx`, checking its shape.
    pub fn load_ctx(&mut self, ctx: &Tensor, from: &Path) -> Result<(), EngineError> {
        if ctx.size() != self.ctx.size() {
            return Err(EngineError::Invalid(format!(
                "{}: ctx has shape {:?} but this prompt learner needs {:?} (check TRAINER.COOP.N_CTX, CSC and the class count)",
                from.display(),
                ctx.size(),
                self.ctx.size()
            )));
        }
        tch::no_grad(|| {
            self.ctx
                .copy_(&ctx.to_device(self.ctx.device()).to_kind(self.ctx.kind()))
        });
        Ok(())
    }
}

struct CoopLearner {
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

impl CoopLearner {
    /// CoOp's `CustomCLIP.forward`.
    fn logits(&self, images: &Tensor) -> Tensor {
        let image_features = normalize_rows(&self.clip.encode_image(images));
        let prompts = self.pl.forward();
        let text_features = normalize_rows(
            &self
                .clip
                .encode_text_from_embeddings(&prompts, &self.pl.tokenized_prompts),
        );
        let scale = self.clip.logit_scale().exp().to_kind(image_features.kind());
        scale * image_features.matmul(&text_features.to_kind(image_features.kind()).tr())
    }

    fn err(e: impl std::fmt::Display) -> EngineError {
        EngineError::Invalid(e.to_string())
    }
}

impl Learner for CoopLearner {
    fn forward_backward(
        &mut self,
        batch: &Batch,
        step: Step,
    ) -> Result<Vec<(&'static str, f64)>, EngineError> {
        let images = batch.images.to_device(self.device);
        let labels = batch.labels.to_device(self.device);
        let amp = self.precision == Precision::Amp && self.device != Device::Cpu;
        let (output, loss) = if amp {
            tch::autocast(true, || {
                let output = self.logits(&images);
                let loss = output.cross_entropy_for_logits(&labels);
                (output, loss)
            })
        } else {
            let output = self.logits(&images);
            let loss = output.cross_entropy_for_logits(&labels);
            (output, loss)
        };
        // Dassl's detect_anomaly: a NaN or infinite loss stops the run.
        let loss_value = loss.to_kind(Kind::Double).double_value(&[]);
        if !loss_value.is_finite() {
            return Err(EngineError::Invalid(format!(
                "Loss is infinite or NaN! (epoch {}, batch {}); fp16 training is prone to this: try TRAINER.COOP.PREC fp32 or amp",
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
        let acc = output
            .argmax(1, false)
            .eq_tensor(&labels)
            .to_kind(Kind::Double)
            .mean(Kind::Double)
            .double_value(&[])
            * 100.0;
        if step.is_last_batch() {
            self.sched.step(&mut self.optim);
        }
        Ok(vec![("loss", loss_value), ("acc", acc)])
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
                let ctx = r
                    .tensors
                    .iter()
                    .find(|(n, _)| n == "ctx")
                    .map(|(_, t)| t.shallow_clone());
                let ctx = ctx.ok_or_else(|| {
                    EngineError::Invalid(format!("{} holds no ctx tensor", r.path.display()))
                })?;
                self.pl.load_ctx(&ctx, &r.path)?;
                log_println!("Loaded checkpoint from \"{}\"", r.path.display());
                Ok(r.start_epoch)
            }
        }
    }

    fn load(&mut self, dir: &Path, epoch: Option<usize>) -> Result<(), EngineError> {
        let model_dir = dir.join(MODEL_NAME);
        let loaded = checkpoint::load(&model_dir, epoch).map_err(Self::err)?;
        let mut tensors = loaded.tensors;
        // Ignore fixed token vectors: they come from the current class names.
        checkpoint::drop_keys(&mut tensors, &["token_prefix", "token_suffix"]);
        let ctx = tensors
            .iter()
            .find(|(n, _)| n == "ctx")
            .map(|(_, t)| t.shallow_clone());
        let ctx = ctx.ok_or_else(|| {
            EngineError::Invalid(format!("{} holds no ctx tensor", loaded.path.display()))
        })?;
        log_println!(
            "Loading weights to {MODEL_NAME} from \"{}\" (epoch = {})",
            loaded.path.display(),
            loaded
                .epoch
                .map(|e| e.to_string())
                .unwrap_or_else(|| "None".into())
        );
        self.pl.load_ctx(&ctx, &loaded.path)
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

    fn setup(opts: &[&str]) -> Setup {
        // Links the dataset plugins into this test binary (the registry is filled at load).
        dassl_datasets::link();
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("clip.safetensors");
        let config = ClipConfig {
            embed_dim: 16,
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
        let spec = dassl_rs::data::toy::ToySpec {
            datasets: vec![dassl_rs::data::toy::ToyDatasetSpec {
                num_classes: 3,
                images_per_class: 8,
                image_size: 32,
                ..Default::default()
            }],
        };
        dassl_rs::data::toy::make_toy(&dir.path().join("data"), 1, &spec).unwrap();
        let mut all: Vec<String> = [
            "DATASET.ROOT",
            dir.path().join("data").to_str().unwrap(),
            "DATASET.NAME",
            "ToyShapes",
            "MODEL.BACKBONE.NAME",
            clip.to_str().unwrap(),
            "INPUT.SIZE",
            "(32, 32)",
            "TRAINER.NAME",
            "CoOp",
            "TRAINER.COOP.N_CTX",
            "4",
            "TRAINER.COOP.PREC",
            "fp32",
            "OPTIM.NAME",
            "sgd",
            "OPTIM.LR",
            "0.5",
            "DATALOADER.TRAIN_X.BATCH_SIZE",
            "4",
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

    #[test]
    fn only_the_context_trains_and_clip_stays_bit_identical() {
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

    #[test]
    fn ctx_init_and_csc_shape_the_context() {
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
