//! Contrastive pretraining of a tiny CLIP on freshly drawn, captioned toy images.
//!
//! The model is our own [`Clip`] (OpenAI's architecture and key names), so the saved
//! file is read by `Clip::load` like any released checkpoint. Images are drawn by the
//! toy datasets' own code in a random [`Look`] (domain, lighting, blur), JPEG round-tripped
//! as the datasets store them, then augmented as CoOp trains (random resized crop and
//! flip), so the demo runs CoOp's own configs on images the toy CLIP has seen the like of.

use std::path::Path;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use super::captions::Combo;
use super::style::{Domain, Look};
use super::ToyWorldError;
use crate::clip::model::{Clip, ClipConfig, Precision, VisionConfig};
use crate::clip::tokenizer::ClipTokenizer;
use crate::data::decode::decode;
use crate::data::pyrandom::PyRandom;
use crate::data::toy::{draw_combination, encode_jpeg};
use crate::data::transforms::{sample_rng, to_tensor_into, Normalize, Transform, TransformConfig};

/// CLIP's pixel statistics (what CoOp's configs normalise with).
pub const CLIP_PIXEL_MEAN: [f64; 3] = [0.48145466, 0.4578275, 0.40821073];
/// CLIP's pixel standard deviations.
pub const CLIP_PIXEL_STD: [f64; 3] = [0.26862954, 0.26130258, 0.27577711];
/// OpenAI clamps the learned temperature so logits never exceed 100.
const MAX_LOG_SCALE: f64 = 4.605_170_185_988_092;
/// Captions are at most 16 tokens; the causal mask makes the end-of-text feature exactly
/// the same whether the row is cut here or padded to 77, so pretraining cuts here.
const TRAIN_TOKENS: i64 = 24;
/// Domains of pretraining images: half photos, a quarter each infrared and ultraviolet.
const DOMAIN_MIX: [Domain; 4] = [
    Domain::Photo,
    Domain::Photo,
    Domain::Infrared,
    Domain::Ultraviolet,
];

/// Everything that decides the pretrained weights except the seed and step budget.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Recipe {
    /// Image side in pixels (also the toy datasets' image size).
    pub image_size: i64,
    /// "vit" or "resnet".
    pub vision: String,
    /// ViT blocks, or bottlenecks in each of the four ResNet stages.
    pub vision_layers: i64,
    /// ViT token width, or ResNet stem width.
    pub vision_width: i64,
    /// ViT patch side (unused by the ResNet).
    pub patch_size: i64,
    /// Text transformer width (one head per 64, as OpenAI's rule).
    pub text_width: i64,
    /// Text transformer blocks.
    pub text_layers: i64,
    /// Joint embedding width.
    pub embed_dim: i64,
    /// Captioned images per step, all of different combinations (no false negatives).
    pub batch_size: usize,
    /// Peak Adam learning rate (linear warm-up, then cosine to zero).
    pub lr: f64,
    /// Warm-up steps.
    pub warmup_steps: usize,
    /// Learn the 49408-row token embedding (else it keeps its random initialisation,
    /// which makes a step cheaper but leaves the text encoder reading colour words well
    /// and texture words barely: `tune_recipe` in the tests prints both).
    pub train_token_embedding: bool,
    /// Share of pretraining images augmented as CoOp's configs do (random resized crop,
    /// scale 0.08-1, and flip); the others are seen whole, so the model also learns from
    /// clean views.
    pub augment_share: f64,
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe {
            image_size: 32,
            vision: "vit".into(),
            vision_layers: 3,
            vision_width: 64,
            patch_size: 8,
            text_width: 64,
            text_layers: 3,
            embed_dim: 64,
            batch_size: 64,
            lr: 2e-3,
            warmup_steps: 50,
            train_token_embedding: true,
            augment_share: 0.25,
        }
    }
}

impl Recipe {
    /// The CLIP architecture of this recipe.
    pub fn clip_config(&self) -> Result<ClipConfig, ToyWorldError> {
        let vision = match self.vision.as_str() {
            "vit" => VisionConfig::Vit {
                layers: self.vision_layers,
                width: self.vision_width,
                patch_size: self.patch_size,
            },
            "resnet" => VisionConfig::ResNet {
                layers: [self.vision_layers; 4],
                width: self.vision_width,
            },
            other => {
                return Err(ToyWorldError::Recipe(format!(
                    "vision must be \"vit\" or \"resnet\", got {other:?}"
                )))
            }
        };
        let ok = match vision {
            VisionConfig::Vit {
                width, patch_size, ..
            } => width % 64 == 0 && patch_size > 0 && self.image_size % patch_size == 0,
            VisionConfig::ResNet { width, .. } => width % 2 == 0 && self.image_size % 32 == 0,
        };
        if !ok || self.text_width % 64 != 0 || self.batch_size < 2 {
            return Err(ToyWorldError::Recipe(format!(
                "widths must be multiples of 64 (one head per 64), the image side a multiple of the \
                 patch (32 for a ResNet) and the batch at least 2: {self:?}"
            )));
        }
        Ok(ClipConfig {
            embed_dim: self.embed_dim,
            image_resolution: self.image_size,
            vision,
            context_length: 77,
            vocab_size: 49408,
            transformer_width: self.text_width,
            transformer_heads: self.text_width / 64,
            transformer_layers: self.text_layers,
        })
    }
}

/// How long to pretrain: a step count (part of the cache key) and an optional wall-clock
/// cap for slow machines (a capped run stops early and says so in its JSON).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Budget {
    pub steps: usize,
    pub max_seconds: Option<f64>,
}

impl Budget {
    /// The demo's budget with `steps` instead of its own, when given.
    pub fn with_steps(steps: Option<usize>) -> Budget {
        let mut budget = Budget::default();
        if let Some(steps) = steps {
            budget.steps = steps;
        }
        budget
    }
}

impl Default for Budget {
    /// The README demo's budget: 2000 steps. No time cap: a cap would make the cached
    /// model depend on how busy the machine was.
    fn default() -> Self {
        Budget {
            steps: 2000,
            max_seconds: None,
        }
    }
}

/// What a pretraining run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PretrainReport {
    pub steps_done: usize,
    /// Mean contrastive loss of the first and last 20 steps (ln(batch) is chance).
    pub first_loss: f64,
    pub final_loss: f64,
    /// `exp(logit_scale)` at the end.
    pub final_logit_scale: f64,
    pub seconds: f64,
    /// Stopped by `max_seconds` before `steps`.
    pub stopped_early: bool,
    /// (step, mean loss over the preceding steps) every 100 steps.
    pub loss_curve: Vec<(usize, f64)>,
}

/// OpenAI's `initialize_parameters` on zero-filled variables, by key name; the vision
/// tower (PyTorch defaults upstream) gets the same scheme so it trains from scratch.
///
/// The normals come from our own generator keyed by `seed`, not libtorch's global one,
/// so concurrent runs in one process (tests) cannot disturb each other.
pub fn init_parameters(vs: &nn::VarStore, config: &ClipConfig, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut std_normal = |t: &mut Tensor, std: f64| {
        let n = t.numel();
        let mut v = Vec::with_capacity(n);
        while v.len() < n {
            // Box-Muller: two normals from two uniforms in (0, 1].
            let (u1, u2) = (1.0 - rng.gen::<f64>(), rng.gen::<f64>());
            let r = (-2.0 * u1.ln()).sqrt() * std;
            let a = std::f64::consts::TAU * u2;
            v.push((r * a.cos()) as f32);
            v.push((r * a.sin()) as f32);
        }
        v.truncate(n);
        t.copy_(&Tensor::from_slice(&v).view(t.size().as_slice()));
    };
    let w = config.transformer_width as f64;
    let text_layers = config.transformer_layers as f64;
    let (vit_width, vit_layers) = match config.vision {
        VisionConfig::Vit { width, layers, .. } => (width as f64, layers as f64),
        VisionConfig::ResNet { width, .. } => ((width * 32) as f64, 1.0),
    };
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| {
        for (key, mut t) in vars {
            let leaf = key.rsplit('.').next().unwrap_or("");
            let (width, layers) = if key.starts_with("visual.") {
                (vit_width, vit_layers)
            } else {
                (w, text_layers)
            };
            let proj_std = width.powf(-0.5) * (2.0 * layers).powf(-0.5);
            if key == "logit_scale" {
                let _ = t.fill_((1.0f64 / 0.07).ln());
            } else if key == "token_embedding.weight" {
                std_normal(&mut t, 0.02);
            } else if key == "positional_embedding" {
                std_normal(&mut t, 0.01);
            } else if key == "text_projection" {
                std_normal(&mut t, w.powf(-0.5));
            } else if matches!(
                key.as_str(),
                "visual.class_embedding"
                    | "visual.positional_embedding"
                    | "visual.proj"
                    | "visual.attnpool.positional_embedding"
            ) {
                std_normal(&mut t, width.powf(-0.5));
            } else if leaf == "running_var" {
                let _ = t.fill_(1.0);
            } else if leaf == "running_mean" || leaf == "bias" || leaf == "in_proj_bias" {
                let _ = t.zero_();
            } else if leaf == "in_proj_weight" {
                std_normal(&mut t, width.powf(-0.5));
            } else if key.ends_with("attn.out_proj.weight") || key.ends_with("mlp.c_proj.weight") {
                std_normal(&mut t, proj_std);
            } else if key.ends_with("mlp.c_fc.weight") {
                std_normal(&mut t, (2.0 * width).powf(-0.5));
            } else if key.starts_with("visual.attnpool.") && leaf == "weight" {
                std_normal(&mut t, width.powf(-0.5));
            } else if t.dim() == 4 {
                // Convolutions: He initialisation (BatchNorm is an affine map here).
                let fan_in = (t.size()[1] * t.size()[2] * t.size()[3]) as f64;
                std_normal(&mut t, (2.0 / fan_in).sqrt());
            } else if key.ends_with(".bn3.weight") {
                // Zero-init the last BatchNorm of each bottleneck, as OpenAI does.
                let _ = t.zero_();
            } else if leaf == "weight" && t.dim() == 1 {
                let _ = t.fill_(1.0); // LayerNorm and BatchNorm scales
            } else {
                std_normal(&mut t, 0.02);
            }
        }
    });
}

/// Draws one combination in `look` as the toy datasets store it: rendered, JPEG-encoded,
/// decoded.
pub fn render(
    combo: Combo,
    look: &Look,
    size: u32,
    rng: &mut PyRandom,
) -> Result<image::RgbImage, ToyWorldError> {
    let colour = look.domain.seen_colour(combo.colour);
    let mut img = draw_combination(colour, combo.texture, combo.shape, size, rng);
    look.apply(&mut img);
    let jpeg = encode_jpeg(&img)?;
    decode(&jpeg).map_err(|e| ToyWorldError::Image(e.to_string()))
}

/// CoOp's train transform (random resized crop, flip, CLIP normalisation) at `size`.
pub fn train_transform(size: u32) -> Result<Transform, ToyWorldError> {
    let mut cfg = TransformConfig::coop_clip();
    cfg.size = (size as usize, size as usize);
    Transform::train(&cfg).map_err(|e| ToyWorldError::Recipe(e.to_string()))
}

/// One image to render: class, look and the key words of its random streams.
pub type RenderItem = (Combo, Look, Vec<u32>);

/// Renders `items` into a normalised `[N, 3, size, size]` batch, in parallel, through
/// `augment` when given (its random draws keyed by the item's key words).
pub fn render_batch(
    items: &[RenderItem],
    size: u32,
    augment: Option<&Transform>,
) -> Result<Tensor, ToyWorldError> {
    let norm = Normalize::new(CLIP_PIXEL_MEAN, CLIP_PIXEL_STD)
        .map_err(|e| ToyWorldError::Recipe(e.to_string()))?;
    let plane = 3 * (size * size) as usize;
    let chunks: Vec<Vec<f32>> = items
        .par_iter()
        .map(|(combo, look, key)| {
            let mut rng = PyRandom::from_key_words(key);
            let img = render(*combo, look, size, &mut rng)?;
            let mut out = vec![0f32; plane];
            let done = match augment {
                Some(t) => {
                    let mut arng = sample_rng(rng.getrandbits(64), 0, 0);
                    t.apply_into(&img, &mut arng, &mut out)
                }
                None => to_tensor_into(&img, Some(&norm), &mut out),
            };
            done.map_err(|e| ToyWorldError::Image(e.to_string()))?;
            Ok(out)
        })
        .collect::<Result<_, ToyWorldError>>()?;
    let flat: Vec<f32> = chunks.concat();
    Ok(Tensor::from_slice(&flat).view([items.len() as i64, 3, size as i64, size as i64]))
}

/// Token rows of `texts`, padded to 77 (`clip.tokenize`).
pub fn tokenize(tokenizer: &ClipTokenizer, texts: &[String]) -> Result<Tensor, ToyWorldError> {
    let rows = tokenizer
        .tokenize(texts, 77, false)
        .map_err(|e| ToyWorldError::Recipe(e.to_string()))?;
    Ok(Tensor::from_slice(&rows.concat()).view([texts.len() as i64, 77]))
}

/// Symmetric InfoNCE over a batch whose i-th image and i-th caption match.
pub fn contrastive_loss(clip: &Clip, images: &Tensor, tokens: &Tensor) -> Tensor {
    let logits = clip.forward(images, tokens);
    let labels = Tensor::arange(logits.size()[0], (Kind::Int64, logits.device()));
    (logits.cross_entropy_for_logits(&labels) + logits.tr().cross_entropy_for_logits(&labels)) / 2.0
}

/// Learning rate at `step` (0-based): linear warm-up, then cosine decay to zero.
fn lr_at(recipe: &Recipe, steps: usize, step: usize) -> f64 {
    if step < recipe.warmup_steps {
        return recipe.lr * (step + 1) as f64 / recipe.warmup_steps as f64;
    }
    let span = steps.saturating_sub(recipe.warmup_steps).max(1) as f64;
    let t = (step - recipe.warmup_steps) as f64 / span;
    recipe.lr * 0.5 * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos())
}

/// Key words of the random stream that draws image `j` of pretraining step `step`.
fn image_key(seed: u64, step: usize, j: usize) -> Vec<u32> {
    vec![
        seed as u32,
        (seed >> 32) as u32,
        0x5052_4554,
        step as u32,
        j as u32,
    ]
}

/// Pretrains a fresh tiny CLIP on `combos` (each image in a random look, captioned to
/// match) and returns it; deterministic for a seed (up to BLAS rounding across thread counts). `progress` gets one line per 100 steps.
pub fn pretrain(
    recipe: &Recipe,
    combos: &[Combo],
    seed: u64,
    budget: &Budget,
    progress: &mut dyn FnMut(&str),
) -> Result<(nn::VarStore, Clip, PretrainReport), ToyWorldError> {
    let config = recipe.clip_config()?;
    if combos.len() < 2 {
        return Err(ToyWorldError::Recipe(
            "pretraining needs at least two combinations".into(),
        ));
    }
    if budget.steps == 0 {
        // Zero steps would save an untrained CLIP as if it were the toy world's.
        return Err(ToyWorldError::Recipe(
            "pretraining needs at least one step (toy_world steps / --steps 0)".into(),
        ));
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let clip = Clip::new(&vs.root(), &config, Precision::Fp32)?;
    init_parameters(&vs, &config, seed);
    if !recipe.train_token_embedding {
        // No gradient, so libtorch's Adam skips it.
        if let Some(mut t) = vs.variables().remove("token_embedding.weight") {
            let _ = t.requires_grad_(false);
        }
    }
    let mut opt = nn::Adam {
        beta1: 0.9,
        beta2: 0.98,
        wd: 0.0,
        eps: 1e-6,
        amsgrad: false,
    }
    .build(&vs, recipe.lr)?;
    let tokenizer = ClipTokenizer::new();
    let augment = train_transform(recipe.image_size as u32)?;
    let batch = recipe.batch_size.min(combos.len());
    let size = recipe.image_size as u32;
    let mut rng = PyRandom::from_key_words(&[seed as u32, (seed >> 32) as u32, 0x4241_5443]);
    let start = Instant::now();
    let mut losses = Vec::with_capacity(budget.steps);
    let mut curve = Vec::new();
    let mut stopped_early = false;
    let mut order: Vec<usize> = (0..combos.len()).collect();
    for step in 0..budget.steps {
        if let Some(cap) = budget.max_seconds {
            if start.elapsed().as_secs_f64() > cap {
                stopped_early = true;
                progress(&format!(
                    "toy CLIP: time cap of {cap:.0}s reached after {step} of {} steps",
                    budget.steps
                ));
                break;
            }
        }
        rng.shuffle(&mut order);
        let picked = &order[..batch];
        let mut captions = Vec::with_capacity(batch);
        let mut items: Vec<RenderItem> = Vec::with_capacity(batch);
        for (j, &c) in picked.iter().enumerate() {
            let domain = DOMAIN_MIX[rng.randbelow(DOMAIN_MIX.len() as u64) as usize];
            let look = Look::random(domain, &mut rng);
            captions.push(look.caption(&combos[c].phrase(), &mut rng));
            items.push((combos[c], look, image_key(seed, step, j)));
        }
        // The first `augment_share` of the (shuffled) batch is augmented.
        let n_aug = ((batch as f64) * recipe.augment_share.clamp(0.0, 1.0)).round() as usize;
        let images = Tensor::cat(
            &[
                render_batch(&items[..n_aug], size, Some(&augment))?,
                render_batch(&items[n_aug..], size, None)?,
            ],
            0,
        );
        let tokens = tokenize(&tokenizer, &captions)?.narrow(1, 0, TRAIN_TOKENS);
        opt.set_lr(lr_at(recipe, budget.steps, step));
        let loss = contrastive_loss(&clip, &images, &tokens);
        opt.backward_step(&loss);
        tch::no_grad(|| {
            let mut s = clip.logit_scale();
            let _ = s.clamp_(0.0, MAX_LOG_SCALE);
        });
        losses.push(loss.double_value(&[]));
        if (step + 1) % 100 == 0 || step + 1 == budget.steps {
            let from = losses.len().saturating_sub(100);
            let mean = losses[from..].iter().sum::<f64>() / (losses.len() - from) as f64;
            curve.push((step + 1, mean));
            progress(&format!(
                "toy CLIP: step {}/{} loss {mean:.4} (chance {:.2}) scale {:.1} [{:.0}s]",
                step + 1,
                budget.steps,
                (batch as f64).ln(),
                clip.logit_scale().exp().double_value(&[]),
                start.elapsed().as_secs_f64()
            ));
        }
    }
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    let n = losses.len();
    let report = PretrainReport {
        steps_done: n,
        first_loss: mean(&losses[..n.min(20)]),
        final_loss: mean(&losses[n.saturating_sub(20)..]),
        final_logit_scale: clip.logit_scale().exp().double_value(&[]),
        seconds: start.elapsed().as_secs_f64(),
        stopped_early,
        loss_curve: curve,
    };
    Ok((vs, clip, report))
}

/// Writes every variable (parameters and BatchNorm buffers) under its OpenAI key as
/// safetensors, atomically: a temporary file beside `path`, then a rename.
pub fn save_weights(vs: &nn::VarStore, path: &Path) -> Result<(), ToyWorldError> {
    let io = |source| ToyWorldError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let vars: Vec<(String, Tensor)> = vars
        .into_iter()
        .map(|(k, t)| (k, t.detach().contiguous()))
        .collect();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = Tensor::write_safetensors(&vars, &tmp)
        .map_err(ToyWorldError::from)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
