//! OpenAI CLIP (`clip/model.py`) on tch, with OpenAI's state-dict key names.
//!
//! Every variable lives in the caller's `VarStore` under the key OpenAI uses, so a weight
//! map (see [`super::weights`]) or `VarStore::load` of a converted `.safetensors` file fills
//! the model directly. Nothing is derived from the variables at construction time (tch
//! issue #838: such tensors go stale after a load); packed biases, masks and dtypes are
//! computed inside the forward passes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path as FsPath;

use tch::{nn, Device, Kind, Tensor};

use super::weights::{ClipError, WeightMap};

mod deep;
mod text;
pub use deep::{DeepPromptError, VisionPrompts};
pub use text::{EotPositions, TextEncodeError, TextSpan};

/// Numeric precision of the model, mirroring CoOp's `TRAINER.*.PREC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// OpenAI's `convert_weights`: conv/linear/attention weights and the projections in fp16,
    /// norms, embeddings and `logit_scale` in fp32, on any device (as CoOp runs it).
    Fp16,
    /// Every parameter in fp32 (what `clip.load` gives on CPU).
    Fp32,
    /// fp32 parameters; autocast is left to the caller (`tch::autocast`), as in CoOp.
    Amp,
}

/// The image tower, as OpenAI's `build_model` tells the two families apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisionConfig {
    /// `ModifiedResNet`; heads = `width * 32 / 64`.
    ResNet {
        /// Bottleneck counts of layer1..layer4.
        layers: [i64; 4],
        /// Stem width (64 for RN50).
        width: i64,
    },
    /// `VisionTransformer`; heads = `width / 64`.
    Vit {
        /// Residual attention blocks.
        layers: i64,
        /// Token width.
        width: i64,
        /// Patch size (kernel and stride of `conv1`).
        patch_size: i64,
    },
}

/// Hyper-parameters of a CLIP model, exactly those `build_model` infers from a state dict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipConfig {
    /// Joint embedding width (`text_projection.shape[1]`).
    pub embed_dim: i64,
    /// Input image side in pixels.
    pub image_resolution: i64,
    /// Image tower.
    pub vision: VisionConfig,
    /// Text length (77 for every released model).
    pub context_length: i64,
    /// Token vocabulary size (49408 for every released model).
    pub vocab_size: i64,
    /// Text transformer width.
    pub transformer_width: i64,
    /// Text transformer heads (`width / 64`).
    pub transformer_heads: i64,
    /// Text transformer blocks.
    pub transformer_layers: i64,
}

/// Names of OpenAI's released models, in `clip.available_models()` order.
pub const RELEASED_MODELS: [&str; 9] = [
    "RN50",
    "RN101",
    "RN50x4",
    "RN50x16",
    "RN50x64",
    "ViT-B/32",
    "ViT-B/16",
    "ViT-L/14",
    "ViT-L/14@336px",
];

impl ClipConfig {
    /// The configuration of one of OpenAI's released models, by its `clip.load` name.
    pub fn released(name: &str) -> Option<ClipConfig> {
        let rn = |embed: i64, res: i64, layers: [i64; 4], width: i64, text: i64| ClipConfig {
            embed_dim: embed,
            image_resolution: res,
            vision: VisionConfig::ResNet { layers, width },
            context_length: 77,
            vocab_size: 49408,
            transformer_width: text,
            transformer_heads: text / 64,
            transformer_layers: 12,
        };
        let vit =
            |embed: i64, res: i64, layers: i64, width: i64, patch: i64, text: i64| ClipConfig {
                embed_dim: embed,
                image_resolution: res,
                vision: VisionConfig::Vit {
                    layers,
                    width,
                    patch_size: patch,
                },
                context_length: 77,
                vocab_size: 49408,
                transformer_width: text,
                transformer_heads: text / 64,
                transformer_layers: 12,
            };
        Some(match name {
            "RN50" => rn(1024, 224, [3, 4, 6, 3], 64, 512),
            "RN101" => rn(512, 224, [3, 4, 23, 3], 64, 512),
            "RN50x4" => rn(640, 288, [4, 6, 10, 6], 80, 640),
            "RN50x16" => rn(768, 384, [6, 8, 18, 8], 96, 768),
            "RN50x64" => rn(1024, 448, [3, 15, 36, 10], 128, 1024),
            "ViT-B/32" => vit(512, 224, 12, 768, 32, 512),
            "ViT-B/16" => vit(512, 224, 12, 768, 16, 512),
            "ViT-L/14" => vit(768, 224, 24, 1024, 14, 768),
            "ViT-L/14@336px" => vit(768, 336, 24, 1024, 14, 768),
            _ => return None,
        })
    }

    /// Infers the configuration from a weight map, following `build_model` rule by rule.
    pub fn from_weights(weights: &WeightMap) -> Result<ClipConfig, ClipError> {
        let shapes: BTreeMap<String, Vec<i64>> = weights
            .tensors
            .iter()
            .map(|(k, t)| (k.clone(), t.size()))
            .collect();
        Self::from_shapes(&shapes).map_err(|reason| ClipError::Config {
            path: weights.source.clone(),
            reason,
        })
    }

    /// `build_model`'s inference on key names and shapes alone (no tensor data needed).
    pub fn from_shapes(shapes: &BTreeMap<String, Vec<i64>>) -> Result<ClipConfig, String> {
        let dim = |key: &str, axis: isize| -> Result<i64, String> {
            let shape = shapes
                .get(key)
                .ok_or_else(|| format!("key `{key}` is missing"))?;
            let idx = if axis < 0 {
                shape.len() as isize + axis
            } else {
                axis
            };
            usize::try_from(idx)
                .ok()
                .and_then(|i| shape.get(i).copied())
                .ok_or_else(|| format!("key `{key}` has shape {shape:?}, no axis {axis}"))
        };
        // Distinct third dot-separated components among keys with a prefix (block counts).
        let distinct_third = |prefix: &str| -> i64 {
            shapes
                .keys()
                .filter(|k| k.starts_with(prefix))
                .filter_map(|k| k.split('.').nth(2))
                .collect::<BTreeSet<_>>()
                .len() as i64
        };
        let vision = if shapes.contains_key("visual.proj") {
            let width = dim("visual.conv1.weight", 0)?;
            let layers = shapes
                .keys()
                .filter(|k| k.starts_with("visual.") && k.ends_with(".attn.in_proj_weight"))
                .count() as i64;
            let patch_size = dim("visual.conv1.weight", -1)?;
            let tokens = dim("visual.positional_embedding", 0)?;
            let grid = ((tokens - 1) as f64).sqrt().round() as i64;
            (
                VisionConfig::Vit {
                    layers,
                    width,
                    patch_size,
                },
                patch_size * grid,
            )
        } else {
            let mut layers = [0i64; 4];
            for (b, count) in layers.iter_mut().enumerate() {
                *count = distinct_third(&format!("visual.layer{}", b + 1));
            }
            let width = dim("visual.layer1.0.conv1.weight", 0)?;
            let tokens = dim("visual.attnpool.positional_embedding", 0)?;
            let out = ((tokens - 1) as f64).sqrt().round() as i64;
            if out * out + 1 != tokens {
                return Err(format!(
                    "visual.attnpool.positional_embedding has {tokens} rows, not a square plus one"
                ));
            }
            (VisionConfig::ResNet { layers, width }, out * 32)
        };
        let transformer_width = dim("ln_final.weight", 0)?;
        Ok(ClipConfig {
            embed_dim: dim("text_projection", 1)?,
            image_resolution: vision.1,
            vision: vision.0,
            context_length: dim("positional_embedding", 0)?,
            vocab_size: dim("token_embedding.weight", 0)?,
            transformer_width,
            transformer_heads: transformer_width / 64,
            transformer_layers: distinct_third("transformer.resblocks"),
        })
    }

    /// Heads of the image tower, by OpenAI's rule for each family.
    pub fn vision_heads(&self) -> i64 {
        match self.vision {
            VisionConfig::ResNet { width, .. } => width * 32 / 64,
            VisionConfig::Vit { width, .. } => width / 64,
        }
    }

    /// True for the ViT family.
    pub fn is_vit(&self) -> bool {
        matches!(self.vision, VisionConfig::Vit { .. })
    }

    /// Every key the model needs, with its shape (parameters and BatchNorm running stats).
    ///
    /// Computed from the config rather than by building a model, so checking a file costs
    /// no allocation; a unit test keeps it equal to the names [`Clip::new`] registers.
    pub fn expected_shapes(&self) -> BTreeMap<String, Vec<i64>> {
        let mut m = BTreeMap::new();
        let mut put = |k: String, s: &[i64]| {
            m.insert(k, s.to_vec());
        };
        let block = |put: &mut dyn FnMut(String, &[i64]), p: &str, d: i64| {
            put(format!("{p}.attn.in_proj_weight"), &[3 * d, d]);
            put(format!("{p}.attn.in_proj_bias"), &[3 * d]);
            put(format!("{p}.attn.out_proj.weight"), &[d, d]);
            put(format!("{p}.attn.out_proj.bias"), &[d]);
            for ln in ["ln_1", "ln_2"] {
                put(format!("{p}.{ln}.weight"), &[d]);
                put(format!("{p}.{ln}.bias"), &[d]);
            }
            put(format!("{p}.mlp.c_fc.weight"), &[4 * d, d]);
            put(format!("{p}.mlp.c_fc.bias"), &[4 * d]);
            put(format!("{p}.mlp.c_proj.weight"), &[d, 4 * d]);
            put(format!("{p}.mlp.c_proj.bias"), &[d]);
        };
        let bn = |put: &mut dyn FnMut(String, &[i64]), p: &str, c: i64| {
            for s in ["weight", "bias", "running_mean", "running_var"] {
                put(format!("{p}.{s}"), &[c]);
            }
        };
        let w = self.transformer_width;
        put("positional_embedding".into(), &[self.context_length, w]);
        put("text_projection".into(), &[w, self.embed_dim]);
        put("logit_scale".into(), &[]);
        put("token_embedding.weight".into(), &[self.vocab_size, w]);
        put("ln_final.weight".into(), &[w]);
        put("ln_final.bias".into(), &[w]);
        for i in 0..self.transformer_layers {
            block(&mut put, &format!("transformer.resblocks.{i}"), w);
        }
        match self.vision {
            VisionConfig::Vit {
                layers,
                width,
                patch_size,
            } => {
                let grid = self.image_resolution / patch_size;
                put("visual.class_embedding".into(), &[width]);
                put(
                    "visual.positional_embedding".into(),
                    &[grid * grid + 1, width],
                );
                put("visual.proj".into(), &[width, self.embed_dim]);
                put(
                    "visual.conv1.weight".into(),
                    &[width, 3, patch_size, patch_size],
                );
                for ln in ["ln_pre", "ln_post"] {
                    put(format!("visual.{ln}.weight"), &[width]);
                    put(format!("visual.{ln}.bias"), &[width]);
                }
                for i in 0..layers {
                    block(
                        &mut put,
                        &format!("visual.transformer.resblocks.{i}"),
                        width,
                    );
                }
            }
            VisionConfig::ResNet { layers, width } => {
                let h = width / 2;
                put("visual.conv1.weight".into(), &[h, 3, 3, 3]);
                put("visual.conv2.weight".into(), &[h, h, 3, 3]);
                put("visual.conv3.weight".into(), &[width, h, 3, 3]);
                for (i, c) in [(1, h), (2, h), (3, width)] {
                    bn(&mut put, &format!("visual.bn{i}"), c);
                }
                let mut inplanes = width;
                for (l, &blocks) in layers.iter().enumerate() {
                    let planes = width << l;
                    let stride = if l == 0 { 1 } else { 2 };
                    for j in 0..blocks {
                        let p = format!("visual.layer{}.{j}", l + 1);
                        put(format!("{p}.conv1.weight"), &[planes, inplanes, 1, 1]);
                        put(format!("{p}.conv2.weight"), &[planes, planes, 3, 3]);
                        put(format!("{p}.conv3.weight"), &[4 * planes, planes, 1, 1]);
                        bn(&mut put, &format!("{p}.bn1"), planes);
                        bn(&mut put, &format!("{p}.bn2"), planes);
                        bn(&mut put, &format!("{p}.bn3"), 4 * planes);
                        if j == 0 && (stride > 1 || inplanes != 4 * planes) {
                            put(
                                format!("{p}.downsample.0.weight"),
                                &[4 * planes, inplanes, 1, 1],
                            );
                            bn(&mut put, &format!("{p}.downsample.1"), 4 * planes);
                        }
                        inplanes = 4 * planes;
                    }
                }
                let embed = width * 32;
                let spatial = self.image_resolution / 32;
                put(
                    "visual.attnpool.positional_embedding".into(),
                    &[spatial * spatial + 1, embed],
                );
                for q in ["q_proj", "k_proj", "v_proj"] {
                    put(format!("visual.attnpool.{q}.weight"), &[embed, embed]);
                    put(format!("visual.attnpool.{q}.bias"), &[embed]);
                }
                put(
                    "visual.attnpool.c_proj.weight".into(),
                    &[self.embed_dim, embed],
                );
                put("visual.attnpool.c_proj.bias".into(), &[self.embed_dim]);
            }
        }
        m
    }

    /// Keys a file may hold beyond [`Self::expected_shapes`]: the released archives'
    /// scalars (deleted by `build_model`) and BatchNorm's unused `num_batches_tracked`.
    pub fn optional_keys(&self) -> BTreeSet<String> {
        let mut keys: BTreeSet<String> = ["input_resolution", "context_length", "vocab_size"]
            .into_iter()
            .map(String::from)
            .collect();
        for k in self.expected_shapes().keys() {
            if let Some(p) = k.strip_suffix(".running_mean") {
                keys.insert(format!("{p}.num_batches_tracked"));
            }
        }
        keys
    }
}

/// True for the parameters OpenAI's `convert_weights` turns into fp16.
///
/// Conv/Linear weights and biases, MultiheadAttention `in_proj_*`, `text_projection` and
/// `visual.proj`; everything else (LayerNorm, BatchNorm, embeddings, `logit_scale`) stays fp32.
pub fn converted_to_fp16(key: &str) -> bool {
    if key == "text_projection" || key == "visual.proj" {
        return true;
    }
    let leaf = key.rsplit('.').next().unwrap_or(key);
    if leaf == "in_proj_weight" || leaf == "in_proj_bias" {
        return true;
    }
    let module = key.rsplit_once('.').map_or("", |(m, _)| m);
    let last = module.rsplit('.').next().unwrap_or("");
    let linear_or_conv = last.starts_with("conv")
        || last.ends_with("_proj")
        || last == "c_fc"
        || module.ends_with("downsample.0");
    linear_or_conv && (leaf == "weight" || leaf == "bias")
}

/// Creates one variable with OpenAI's key and the dtype its precision calls for.
fn var(p: &nn::Path, name: &str, dims: &[i64], precision: Precision) -> Tensor {
    let key = p.path(name);
    let kind = if precision == Precision::Fp16 && converted_to_fp16(&key) {
        Kind::Half
    } else {
        Kind::Float
    };
    p.add(name, Tensor::zeros(dims, (kind, p.device())), true)
}

/// A non-trainable variable (BatchNorm running statistics are buffers in PyTorch).
fn buffer(p: &nn::Path, name: &str, dims: &[i64]) -> Tensor {
    p.add(name, Tensor::zeros(dims, (Kind::Float, p.device())), false)
}

/// PyTorch `LayerNorm` run in fp32 and cast back, as OpenAI's fp16-safe subclass does.
#[derive(Debug)]
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
}

impl LayerNorm {
    fn new(p: &nn::Path, d: i64, precision: Precision) -> Self {
        LayerNorm {
            weight: var(p, "weight", &[d], precision),
            bias: var(p, "bias", &[d], precision),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let d = *self.weight.size().last().unwrap_or(&0);
        x.to_kind(Kind::Float)
            .layer_norm([d], Some(&self.weight), Some(&self.bias), 1e-5, true)
            .to_kind(x.kind())
    }
}

/// Eval-mode `BatchNorm2d`: always the running statistics, never batch statistics.
#[derive(Debug)]
struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
}

impl BatchNorm {
    fn new(p: &nn::Path, c: i64, precision: Precision) -> Self {
        BatchNorm {
            weight: var(p, "weight", &[c], precision),
            bias: var(p, "bias", &[c], precision),
            running_mean: buffer(p, "running_mean", &[c]),
            running_var: buffer(p, "running_var", &[c]),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        x.batch_norm(
            Some(&self.weight),
            Some(&self.bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            false,
            0.1,
            1e-5,
            true,
        )
    }
}

/// `nn.Linear` (weight `[out, in]`, bias `[out]`).
#[derive(Debug)]
struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    fn new(p: &nn::Path, input: i64, output: i64, precision: Precision) -> Self {
        Linear {
            weight: var(p, "weight", &[output, input], precision),
            bias: var(p, "bias", &[output], precision),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, Some(&self.bias))
    }
}

/// Scaled dot-product attention over `[L, N, E]` (sequence-first) projections, as
/// `F.multi_head_attention_forward` does with `need_weights=False`; returns `[L, N, E]`.
fn attend(q: &Tensor, k: &Tensor, v: &Tensor, heads: i64, mask: Option<&Tensor>) -> Tensor {
    let (lq, n, e) = q.size3().expect("attention query must be [L, N, E]");
    let hd = e / heads;
    let split = |t: &Tensor| {
        let l = t.size()[0];
        t.contiguous()
            .view([l, n * heads, hd])
            .transpose(0, 1)
            .view([n, heads, l, hd])
    };
    let out = Tensor::scaled_dot_product_attention(
        &split(q),
        &split(k),
        &split(v),
        mask,
        0.0,
        false,
        None,
        false,
    );
    out.permute([2, 0, 1, 3]).contiguous().view([lq, n, e])
}

/// `nn.MultiheadAttention` with packed `in_proj_weight`/`in_proj_bias` (self-attention only).
#[derive(Debug)]
struct MultiheadAttention {
    in_proj_weight: Tensor,
    in_proj_bias: Tensor,
    out_proj: Linear,
    heads: i64,
}

impl MultiheadAttention {
    fn new(p: &nn::Path, d: i64, heads: i64, precision: Precision) -> Self {
        MultiheadAttention {
            in_proj_weight: var(p, "in_proj_weight", &[3 * d, d], precision),
            in_proj_bias: var(p, "in_proj_bias", &[3 * d], precision),
            out_proj: Linear::new(&(p / "out_proj"), d, d, precision),
            heads,
        }
    }

    /// Query, key and value projections of `x` (one packed matmul).
    fn project(&self, x: &Tensor) -> [Tensor; 3] {
        let mut qkv = x
            .linear(&self.in_proj_weight, Some(&self.in_proj_bias))
            .chunk(3, -1)
            .into_iter();
        let mut next = || qkv.next().expect("chunk(3) gives three tensors");
        [next(), next(), next()]
    }

    fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Tensor {
        let [q, k, v] = self.project(x);
        let out = attend(&q, &k, &v, self.heads, mask);
        self.out_proj.forward(&out)
    }
}

/// Pre-norm transformer block: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))` with QuickGELU.
#[derive(Debug)]
struct ResidualAttentionBlock {
    attn: MultiheadAttention,
    ln_1: LayerNorm,
    c_fc: Linear,
    c_proj: Linear,
    ln_2: LayerNorm,
}

impl ResidualAttentionBlock {
    fn new(p: &nn::Path, d: i64, heads: i64, precision: Precision) -> Self {
        let mlp = p / "mlp";
        ResidualAttentionBlock {
            attn: MultiheadAttention::new(&(p / "attn"), d, heads, precision),
            ln_1: LayerNorm::new(&(p / "ln_1"), d, precision),
            c_fc: Linear::new(&(&mlp / "c_fc"), d, 4 * d, precision),
            c_proj: Linear::new(&(&mlp / "c_proj"), 4 * d, d, precision),
            ln_2: LayerNorm::new(&(p / "ln_2"), d, precision),
        }
    }

    fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Tensor {
        let x = x + self.attn.forward(&self.ln_1.forward(x), mask);
        self.mlp_residual(&x)
    }

    /// The block's second half: `x + mlp(ln_2(x))`.
    fn mlp_residual(&self, x: &Tensor) -> Tensor {
        let h = self.c_fc.forward(&self.ln_2.forward(x));
        // QuickGELU: x * sigmoid(1.702 x).
        let h = &h * (&h * 1.702).sigmoid();
        x + self.c_proj.forward(&h)
    }
}

/// A stack of blocks over sequence-first `[L, N, D]` input.
#[derive(Debug)]
struct Transformer {
    resblocks: Vec<ResidualAttentionBlock>,
}

impl Transformer {
    fn new(p: &nn::Path, width: i64, layers: i64, heads: i64, precision: Precision) -> Self {
        let r = p / "resblocks";
        Transformer {
            resblocks: (0..layers)
                .map(|i| ResidualAttentionBlock::new(&(&r / i), width, heads, precision))
                .collect(),
        }
    }

    fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Tensor {
        self.forward_replacing(x, mask, &[], deep::Replace::Text)
    }
}

/// Bias-free `nn.Conv2d` weight with its stride and padding.
#[derive(Debug)]
struct Conv {
    weight: Tensor,
    stride: i64,
    padding: i64,
}

impl Conv {
    #[allow(clippy::too_many_arguments)]
    fn new(
        p: &nn::Path,
        name: &str,
        cin: i64,
        cout: i64,
        k: i64,
        stride: i64,
        padding: i64,
        precision: Precision,
    ) -> Self {
        let q = p / name;
        Conv {
            weight: var(&q, "weight", &[cout, cin, k, k], precision),
            stride,
            padding,
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        x.conv2d::<Tensor>(&self.weight, None, [self.stride], [self.padding], [1], 1)
    }
}

/// `nn.AvgPool2d(k)`: kernel = stride = k, no padding, PyTorch defaults otherwise.
fn avg_pool(x: &Tensor, k: i64) -> Tensor {
    x.avg_pool2d([k], [k], [0], false, true, None)
}

/// ResNet bottleneck with anti-aliased (avg-pool) striding; expansion 4.
#[derive(Debug)]
struct Bottleneck {
    conv1: Conv,
    bn1: BatchNorm,
    conv2: Conv,
    bn2: BatchNorm,
    conv3: Conv,
    bn3: BatchNorm,
    stride: i64,
    downsample: Option<(Conv, BatchNorm)>,
}

impl Bottleneck {
    fn new(p: &nn::Path, inplanes: i64, planes: i64, stride: i64, precision: Precision) -> Self {
        let downsample = (stride > 1 || inplanes != 4 * planes).then(|| {
            let d = p / "downsample";
            (
                Conv::new(&d, "0", inplanes, 4 * planes, 1, 1, 0, precision),
                BatchNorm::new(&(&d / "1"), 4 * planes, precision),
            )
        });
        Bottleneck {
            conv1: Conv::new(p, "conv1", inplanes, planes, 1, 1, 0, precision),
            bn1: BatchNorm::new(&(p / "bn1"), planes, precision),
            conv2: Conv::new(p, "conv2", planes, planes, 3, 1, 1, precision),
            bn2: BatchNorm::new(&(p / "bn2"), planes, precision),
            conv3: Conv::new(p, "conv3", planes, 4 * planes, 1, 1, 0, precision),
            bn3: BatchNorm::new(&(p / "bn3"), 4 * planes, precision),
            stride,
            downsample,
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let out = self.bn1.forward(&self.conv1.forward(x)).relu();
        let mut out = self.bn2.forward(&self.conv2.forward(&out)).relu();
        if self.stride > 1 {
            out = avg_pool(&out, self.stride);
        }
        let out = self.bn3.forward(&self.conv3.forward(&out));
        let identity = match &self.downsample {
            Some((conv, bn)) => {
                let pooled = if self.stride > 1 {
                    avg_pool(x, self.stride)
                } else {
                    x.shallow_clone()
                };
                bn.forward(&conv.forward(&pooled))
            }
            None => x.shallow_clone(),
        };
        (out + identity).relu()
    }
}

/// QKV attention pooling: the mean token attends over all spatial tokens.
#[derive(Debug)]
struct AttentionPool2d {
    positional_embedding: Tensor,
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    c_proj: Linear,
    heads: i64,
}

impl AttentionPool2d {
    fn new(p: &nn::Path, spatial: i64, embed: i64, heads: i64, out: i64, prec: Precision) -> Self {
        AttentionPool2d {
            positional_embedding: var(
                p,
                "positional_embedding",
                &[spatial * spatial + 1, embed],
                prec,
            ),
            q_proj: Linear::new(&(p / "q_proj"), embed, embed, prec),
            k_proj: Linear::new(&(p / "k_proj"), embed, embed, prec),
            v_proj: Linear::new(&(p / "v_proj"), embed, embed, prec),
            c_proj: Linear::new(&(p / "c_proj"), embed, out, prec),
            heads,
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let x = x.flatten(2, -1).permute([2, 0, 1]); // NCHW -> (HW)NC
        let x = Tensor::cat(&[x.mean_dim(0, true, None), x], 0);
        let x = &x + self.positional_embedding.unsqueeze(1).to_kind(x.kind());
        let q = self.q_proj.forward(&x.narrow(0, 0, 1));
        let k = self.k_proj.forward(&x);
        let v = self.v_proj.forward(&x);
        let out = attend(&q, &k, &v, self.heads, None);
        self.c_proj.forward(&out).squeeze_dim(0)
    }
}

/// OpenAI's `ModifiedResNet`: 3-conv stem, avg-pool, four bottleneck stages, attention pool.
#[derive(Debug)]
struct ModifiedResNet {
    stem: Vec<(Conv, BatchNorm)>,
    layers: Vec<Vec<Bottleneck>>,
    attnpool: AttentionPool2d,
}

impl ModifiedResNet {
    fn new(p: &nn::Path, cfg: &ClipConfig, layers: [i64; 4], width: i64, prec: Precision) -> Self {
        let h = width / 2;
        let stem = [(1, 3, h, 2), (2, h, h, 1), (3, h, width, 1)]
            .into_iter()
            .map(|(i, cin, cout, s)| {
                (
                    Conv::new(p, &format!("conv{i}"), cin, cout, 3, s, 1, prec),
                    BatchNorm::new(&(p / format!("bn{i}")), cout, prec),
                )
            })
            .collect();
        let mut inplanes = width;
        let mut stages = Vec::new();
        for (l, &blocks) in layers.iter().enumerate() {
            let planes = width << l;
            let lp = p / format!("layer{}", l + 1);
            let mut stage = Vec::new();
            for j in 0..blocks {
                let stride = if j == 0 && l > 0 { 2 } else { 1 };
                stage.push(Bottleneck::new(&(&lp / j), inplanes, planes, stride, prec));
                inplanes = 4 * planes;
            }
            stages.push(stage);
        }
        let attnpool = AttentionPool2d::new(
            &(p / "attnpool"),
            cfg.image_resolution / 32,
            width * 32,
            cfg.vision_heads(),
            cfg.embed_dim,
            prec,
        );
        ModifiedResNet {
            stem,
            layers: stages,
            attnpool,
        }
    }

    fn dtype(&self) -> Kind {
        self.stem[0].0.weight.kind()
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let mut x = x.to_kind(self.dtype());
        for (conv, bn) in &self.stem {
            x = bn.forward(&conv.forward(&x)).relu();
        }
        x = avg_pool(&x, 2);
        for stage in &self.layers {
            for block in stage {
                x = block.forward(&x);
            }
        }
        self.attnpool.forward(&x)
    }
}

/// OpenAI's `VisionTransformer`: patch conv, class token, pre/post LayerNorm, projection.
#[derive(Debug)]
struct VisionTransformer {
    conv1: Conv,
    class_embedding: Tensor,
    positional_embedding: Tensor,
    ln_pre: LayerNorm,
    transformer: Transformer,
    ln_post: LayerNorm,
    proj: Tensor,
}

impl VisionTransformer {
    #[allow(clippy::too_many_arguments)]
    fn new(
        p: &nn::Path,
        cfg: &ClipConfig,
        layers: i64,
        width: i64,
        patch: i64,
        prec: Precision,
    ) -> Self {
        let grid = cfg.image_resolution / patch;
        VisionTransformer {
            conv1: Conv::new(p, "conv1", 3, width, patch, patch, 0, prec),
            class_embedding: var(p, "class_embedding", &[width], prec),
            positional_embedding: var(p, "positional_embedding", &[grid * grid + 1, width], prec),
            ln_pre: LayerNorm::new(&(p / "ln_pre"), width, prec),
            transformer: Transformer::new(
                &(p / "transformer"),
                width,
                layers,
                cfg.vision_heads(),
                prec,
            ),
            ln_post: LayerNorm::new(&(p / "ln_post"), width, prec),
            proj: var(p, "proj", &[width, cfg.embed_dim], prec),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let x = self.ln_pre.forward(&self.embed(x)).permute([1, 0, 2]);
        self.head(&self.transformer.forward(&x, None))
    }

    /// Patch embeddings with the class token and positions, `[N, grid^2 + 1, width]`.
    fn embed(&self, x: &Tensor) -> Tensor {
        let x = self.conv1.forward(x); // [N, width, grid, grid]
        let (n, w) = (x.size()[0], x.size()[1]);
        let x = x.reshape([n, w, -1]).permute([0, 2, 1]);
        let cls = self.class_embedding.to_kind(x.kind())
            + Tensor::zeros([n, 1, w], (x.kind(), x.device()));
        let x = Tensor::cat(&[cls, x], 1);
        &x + self.positional_embedding.to_kind(x.kind())
    }

    /// The transformer's sequence-first output `[L, N, width]` to features: `ln_post` of
    /// the class token, projected.
    fn head(&self, x: &Tensor) -> Tensor {
        let x = x.permute([1, 0, 2]);
        let x = self.ln_post.forward(&x.select(1, 0));
        x.matmul(&self.proj)
    }
}

/// The image tower of either family.
#[derive(Debug)]
enum Visual {
    ResNet(ModifiedResNet),
    Vit(VisionTransformer),
}

/// OpenAI's CLIP on tch, loaded with OpenAI's key names.
#[derive(Debug)]
pub struct Clip {
    config: ClipConfig,
    precision: Precision,
    visual: Visual,
    transformer: Transformer,
    token_embedding: Tensor,
    positional_embedding: Tensor,
    ln_final: LayerNorm,
    text_projection: Tensor,
    logit_scale: Tensor,
}

impl Clip {
    /// Registers every variable (zero-filled) under `p` with OpenAI's keys.
    ///
    /// fp16 is built on every device, the CPU included: CoOp's `load_clip_to_cpu` builds
    /// with `build_model` (fp16) and runs it so on a CPU; only `clip.load` casts to fp32 there.
    pub fn new(p: &nn::Path, config: &ClipConfig, precision: Precision) -> Result<Clip, ClipError> {
        let w = config.transformer_width;
        let visual_path = p / "visual";
        let visual = match config.vision {
            VisionConfig::ResNet { layers, width } => Visual::ResNet(ModifiedResNet::new(
                &visual_path,
                config,
                layers,
                width,
                precision,
            )),
            VisionConfig::Vit {
                layers,
                width,
                patch_size,
            } => Visual::Vit(VisionTransformer::new(
                &visual_path,
                config,
                layers,
                width,
                patch_size,
                precision,
            )),
        };
        Ok(Clip {
            config: config.clone(),
            precision,
            visual,
            transformer: Transformer::new(
                &(p / "transformer"),
                w,
                config.transformer_layers,
                config.transformer_heads,
                precision,
            ),
            token_embedding: var(
                &(p / "token_embedding"),
                "weight",
                &[config.vocab_size, w],
                precision,
            ),
            positional_embedding: var(
                p,
                "positional_embedding",
                &[config.context_length, w],
                precision,
            ),
            ln_final: LayerNorm::new(&(p / "ln_final"), w, precision),
            text_projection: var(p, "text_projection", &[w, config.embed_dim], precision),
            logit_scale: var(p, "logit_scale", &[], precision),
        })
    }

    /// Builds the model at the root of `vs` from a weight map, as `build_model` does: infer
    /// the config, check the key set and shapes, then copy every value (casting dtypes).
    pub fn from_weights(
        vs: &nn::VarStore,
        weights: &WeightMap,
        precision: Precision,
    ) -> Result<Clip, ClipError> {
        let config = ClipConfig::from_weights(weights)?;
        weights.check_keys(&config)?;
        let clip = Clip::new(&vs.root(), &config, precision)?;
        weights.copy_into(vs)?;
        Ok(clip)
    }

    /// Loads a `.safetensors` file or an OpenAI TorchScript archive into a fresh `VarStore`.
    pub fn load(
        path: impl AsRef<FsPath>,
        device: Device,
        precision: Precision,
    ) -> Result<(nn::VarStore, Clip), ClipError> {
        let weights = WeightMap::load(path.as_ref(), Device::Cpu)?;
        let vs = nn::VarStore::new(device);
        let clip = Clip::from_weights(&vs, &weights, precision)?;
        Ok((vs, clip))
    }

    /// The configuration the model was built with.
    pub fn config(&self) -> &ClipConfig {
        &self.config
    }

    /// The precision the model was built with.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// OpenAI's `CLIP.dtype`: the dtype of `visual.conv1.weight`, read at call time.
    pub fn dtype(&self) -> Kind {
        match &self.visual {
            Visual::ResNet(r) => r.dtype(),
            Visual::Vit(v) => v.conv1.weight.kind(),
        }
    }

    /// Image side the model expects (`visual.input_resolution`).
    pub fn input_resolution(&self) -> i64 {
        self.config.image_resolution
    }

    /// Image features `[N, embed_dim]` (not normalised) of preprocessed images `[N, 3, H, W]`.
    pub fn encode_image(&self, image: &Tensor) -> Tensor {
        let x = image.to_kind(self.dtype());
        match &self.visual {
            Visual::ResNet(r) => r.forward(&x),
            Visual::Vit(v) => v.forward(&x),
        }
    }

    /// Token embeddings `[N, L, width]` in the embedding's own dtype (fp32), as
    /// `clip_model.token_embedding(tokens)` returns them; CoOp casts them afterwards.
    pub fn token_embedding(&self, tokens: &Tensor) -> Tensor {
        Tensor::embedding(&self.token_embedding, tokens, -1, false, false)
    }

    /// The learned temperature, stored as a log (callers use `logit_scale().exp()`).
    pub fn logit_scale(&self) -> Tensor {
        self.logit_scale.shallow_clone()
    }

    /// Text features `[N, embed_dim]` of token ids `[N, L]` (`L <= context_length`), over
    /// every position: OpenAI's computation, the reference of the parity tests. Trainers
    /// use [`Clip::encode_tokens`], which stops at the last EOT.
    pub fn encode_text(&self, tokens: &Tensor) -> Tensor {
        let embedded = self.token_embedding(tokens);
        self.encode_prompts_over(&embedded, &EotPositions::of(tokens), TextSpan::Full)
    }

    /// CoOp's `TextEncoder`: prompt embeddings `[N, L, width]` (learned context already
    /// spliced in) plus the tokenized prompts `[N, L]` that locate each EOT, over every
    /// position (the reference; trainers use [`Clip::encode_prompts`]).
    pub fn encode_text_from_embeddings(&self, prompts: &Tensor, tokenized: &Tensor) -> Tensor {
        self.encode_prompts_over(prompts, &EotPositions::of(tokenized), TextSpan::Full)
    }

    /// `logit_scale.exp() * normalise(image) @ normalise(text).T`: logits per image `[N, M]`
    /// (OpenAI's second output is its transpose).
    pub fn forward(&self, image: &Tensor, tokens: &Tensor) -> Tensor {
        let img = self.encode_image(image);
        let txt = self.encode_text(tokens);
        let img = &img / img.linalg_norm(2, [-1i64].as_slice(), true, None);
        let txt = &txt / txt.linalg_norm(2, [-1i64].as_slice(), true, None);
        // Python's `logit_scale * img @ txt.t()` scales before the matmul (left to right).
        (self.logit_scale.exp() * img).matmul(&txt.tr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture(name: &str) -> PathBuf {
        FsPath::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/clip")
            .join(name)
    }

    fn reference(family: &str) -> BTreeMap<String, Tensor> {
        let path = fixture(&format!("tiny_{family}_ref.safetensors"));
        Tensor::read_safetensors(&path)
            .expect("reference outputs")
            .into_iter()
            .collect()
    }

    /// Max |a - b| / max(max |b|, tiny): one relative error per tensor.
    fn rel_err(a: &Tensor, b: &Tensor) -> f64 {
        assert_eq!(a.size(), b.size());
        let a = a.to_kind(Kind::Double).to_device(Device::Cpu);
        let b = b.to_kind(Kind::Double).to_device(Device::Cpu);
        let diff = (&a - &b).abs().max().double_value(&[]);
        diff / b.abs().max().double_value(&[]).max(1e-30)
    }

    /// fp32 parity bound against OpenAI's Python outputs on the same CPU (the same ATen
    /// kernels run in the same order, so the reached error is 0 for features).
    const FP32_TOL: f64 = 1e-6;

    fn check_parity(family: &str, file: &str) {
        let _guard = tch::no_grad_guard();
        let (_vs, clip) = Clip::load(fixture(file), Device::Cpu, Precision::Fp32).unwrap();
        let r = reference(family);
        let checks = [
            ("image_features", clip.encode_image(&r["images"])),
            ("text_features", clip.encode_text(&r["tokens"])),
            (
                "from_embeddings",
                clip.encode_text_from_embeddings(&r["prompts"], &r["prompt_tokens"]),
            ),
            ("logits_per_image", clip.forward(&r["images"], &r["tokens"])),
        ];
        for (name, got) in checks {
            let e = rel_err(&got, &r[name]);
            eprintln!("{family} {file} {name}: relative error {e:.3e}");
            assert!(
                e < FP32_TOL,
                "{family} {file} {name}: relative error {e:.3e}"
            );
        }
    }

    #[test]
    fn resnet_fp32_matches_openai_from_safetensors() {
        check_parity("rn", "tiny_rn.safetensors");
    }

    #[test]
    fn vit_fp32_matches_openai_from_safetensors() {
        check_parity("vit", "tiny_vit.safetensors");
    }

    #[test]
    fn resnet_fp32_matches_openai_from_torchscript() {
        check_parity("rn", "tiny_rn.pt");
    }

    #[test]
    fn vit_fp32_matches_openai_from_torchscript() {
        check_parity("vit", "tiny_vit.pt");
    }

    #[test]
    fn inferred_configs_match_the_fixtures() {
        let rn = WeightMap::load(&fixture("tiny_rn.safetensors"), Device::Cpu).unwrap();
        let cfg = ClipConfig::from_weights(&rn).unwrap();
        assert_eq!(
            cfg,
            ClipConfig {
                embed_dim: 32,
                image_resolution: 64,
                vision: VisionConfig::ResNet {
                    layers: [1, 2, 1, 1],
                    width: 8
                },
                context_length: 77,
                vocab_size: 1000,
                transformer_width: 64,
                transformer_heads: 1,
                transformer_layers: 2,
            }
        );
        assert_eq!(cfg.vision_heads(), 4);
        let vit = WeightMap::load(&fixture("tiny_vit.pt"), Device::Cpu).unwrap();
        let cfg = ClipConfig::from_weights(&vit).unwrap();
        assert_eq!(
            cfg.vision,
            VisionConfig::Vit {
                layers: 2,
                width: 128,
                patch_size: 16
            }
        );
        assert_eq!(
            (cfg.image_resolution, cfg.embed_dim, cfg.vision_heads()),
            (64, 32, 2)
        );
    }

    #[test]
    fn released_configs_round_trip_through_inference() {
        for name in RELEASED_MODELS {
            let cfg = ClipConfig::released(name).unwrap();
            let inferred = ClipConfig::from_shapes(&cfg.expected_shapes()).unwrap();
            assert_eq!(inferred, cfg, "{name}");
        }
        let rn50 = ClipConfig::released("RN50").unwrap();
        assert_eq!((rn50.vision_heads(), rn50.transformer_heads), (32, 8));
        let l336 = ClipConfig::released("ViT-L/14@336px").unwrap();
        assert_eq!((l336.image_resolution, l336.vision_heads()), (336, 16));
        assert!(ClipConfig::released("ViT-H/14").is_none());
    }

    fn arb_config() -> impl proptest::strategy::Strategy<Value = ClipConfig> {
        use proptest::prelude::*;
        let resnet =
            (prop::array::uniform4(1i64..5), 1i64..5, 1i64..8).prop_map(|(layers, w, s)| {
                (
                    VisionConfig::ResNet {
                        layers,
                        width: 8 * w,
                    },
                    32 * s,
                )
            });
        let vit = (1i64..25, 1i64..5, 1i64..33, 1i64..17).prop_map(|(layers, w, patch, grid)| {
            (
                VisionConfig::Vit {
                    layers,
                    width: 64 * w,
                    patch_size: patch,
                },
                patch * grid,
            )
        });
        (
            prop_oneof![resnet, vit],
            1i64..1025,
            1i64..78,
            1i64..50000,
            1i64..9,
            1i64..25,
        )
            .prop_map(
                |((vision, res), embed, ctx, vocab, heads, layers)| ClipConfig {
                    embed_dim: embed,
                    image_resolution: res,
                    vision,
                    context_length: ctx,
                    vocab_size: vocab,
                    transformer_width: 64 * heads,
                    transformer_heads: heads,
                    transformer_layers: layers,
                },
            )
    }

    proptest::proptest! {
        /// `build_model`'s inference recovers any configuration from its own key set.
        #[test]
        fn inference_inverts_expected_shapes(cfg in arb_config()) {
            proptest::prop_assert_eq!(ClipConfig::from_shapes(&cfg.expected_shapes()), Ok(cfg));
        }
    }

    #[test]
    fn registered_variables_match_expected_shapes() {
        for family in ["rn", "vit"] {
            let w = WeightMap::load(&fixture(&format!("tiny_{family}.safetensors")), Device::Cpu)
                .unwrap();
            let cfg = ClipConfig::from_weights(&w).unwrap();
            let vs = nn::VarStore::new(Device::Cpu);
            let _clip = Clip::new(&vs.root(), &cfg, Precision::Fp32).unwrap();
            let registered: BTreeMap<String, Vec<i64>> = vs
                .variables()
                .into_iter()
                .map(|(k, t)| (k, t.size()))
                .collect();
            assert_eq!(registered, cfg.expected_shapes(), "{family}");
            // BatchNorm statistics are buffers: present but not trainable.
            let trainable = vs.trainable_variables().len();
            let buffers = registered.keys().filter(|k| k.contains("running_")).count();
            assert_eq!(trainable + buffers, registered.len());
        }
    }

    #[test]
    fn from_embeddings_equals_encode_text_on_token_embeddings() {
        let _guard = tch::no_grad_guard();
        for family in ["rn", "vit"] {
            let path = fixture(&format!("tiny_{family}.safetensors"));
            let (_vs, clip) = Clip::load(path, Device::Cpu, Precision::Fp32).unwrap();
            let tokens = &reference(family)["tokens"];
            let a = clip.encode_text(tokens);
            let b = clip.encode_text_from_embeddings(&clip.token_embedding(tokens), tokens);
            assert!(rel_err(&b, &a) < 1e-6, "{family}: {}", rel_err(&b, &a));
        }
    }

    #[test]
    fn fp16_converts_exactly_openais_parameters() {
        let stored: BTreeMap<String, Tensor> = ["rn", "vit"]
            .iter()
            .flat_map(|f| {
                Tensor::read_safetensors(fixture(&format!("tiny_{f}.safetensors"))).unwrap()
            })
            .collect();
        // The fixtures were converted by OpenAI's convert_weights: their dtypes are the oracle.
        for (key, t) in &stored {
            if t.kind() == Kind::Int64 {
                continue;
            }
            assert_eq!(converted_to_fp16(key), t.kind() == Kind::Half, "{key}");
        }
    }

    #[test]
    fn amp_keeps_fp32_parameters() {
        let (vs, clip) =
            Clip::load(fixture("tiny_rn.safetensors"), Device::Cpu, Precision::Amp).unwrap();
        assert_eq!(clip.dtype(), Kind::Float);
        assert!(vs.variables().values().all(|t| t.kind() == Kind::Float));
        assert_eq!(clip.input_resolution(), 64);
    }

    /// fp16 on the CPU against OpenAI's fp16 outputs, also computed on the CPU: the same
    /// libtorch half kernels in the same order, so the features are bit-identical.
    #[test]
    fn fp16_on_cpu_matches_openai_exactly() {
        let _guard = tch::no_grad_guard();
        for family in ["rn", "vit"] {
            let path = fixture(&format!("tiny_{family}.pt"));
            let (vs, clip) = Clip::load(path, Device::Cpu, Precision::Fp16).unwrap();
            assert_eq!(clip.dtype(), Kind::Half);
            assert_eq!(vs.root().get("logit_scale").unwrap().kind(), Kind::Float);
            let r = reference(family);
            let img = clip.encode_image(&r["images"]);
            let txt = clip.encode_text(&r["tokens"]);
            assert_eq!(img.kind(), Kind::Half);
            let (ei, et) = (
                rel_err(&img, &r["image_features_fp16"]),
                rel_err(&txt, &r["text_features_fp16"]),
            );
            assert!(
                ei == 0.0 && et == 0.0,
                "{family}: image {ei:.3e} text {et:.3e}"
            );
        }
    }

    /// On a CUDA machine: fp16 features against OpenAI's fp16 outputs (computed on the CPU,
    /// so only a loose bound is meaningful across devices).
    #[test]
    fn fp16_on_cuda_matches_openai() {
        if !tch::Cuda::is_available() {
            eprintln!("skipped: no CUDA device");
            return;
        }
        let _guard = tch::no_grad_guard();
        for family in ["rn", "vit"] {
            let path = fixture(&format!("tiny_{family}.pt"));
            let (vs, clip) = Clip::load(path, Device::Cuda(0), Precision::Fp16).unwrap();
            assert_eq!(clip.dtype(), Kind::Half);
            assert_eq!(vs.root().get("logit_scale").unwrap().kind(), Kind::Float);
            let r = reference(family);
            let img = clip.encode_image(&r["images"].to_device(Device::Cuda(0)));
            let txt = clip.encode_text(&r["tokens"].to_device(Device::Cuda(0)));
            assert_eq!(img.kind(), Kind::Half);
            let (ei, et) = (
                rel_err(&img, &r["image_features_fp16"]),
                rel_err(&txt, &r["text_features_fp16"]),
            );
            eprintln!("{family} fp16 cuda: image {ei:.3e} text {et:.3e}");
            assert!(
                ei < 2e-2 && et < 2e-2,
                "{family}: image {ei:.3e} text {et:.3e}"
            );
        }
    }
}
