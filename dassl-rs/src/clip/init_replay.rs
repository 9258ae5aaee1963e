//! The draws OpenAI's `clip.build_model` takes from torch's default CPU generator while it
//! constructs `CLIP` (every module's `reset_parameters`, the ViT's `randn` parameters, then
//! `CLIP.initialize_parameters`), all overwritten by `load_state_dict` a moment later.
//!
//! They matter because CoOp seeds, builds CLIP, and only then draws its random context
//! (and CoCoOp its meta-net, CLIP-Adapter its adapter): the context of a seed is the one
//! drawn after these. [`replay_construction`] makes the same draws — same kernels, same
//! element counts, same order, fp32 on the CPU as `nn.Module` builds them — so the
//! generator then stands where Python's does. What a CPU kernel consumes depends only on
//! the kernel, the dtype, the element count and contiguity (`uniform_` draws once per
//! element; `normal_` takes another path below 16 elements and refills the last 16 when
//! the count is no multiple of 16), never on the bounds or the std, so the replay draws
//! into one scratch buffer (`trainers/tests/fixtures/rng` checks the result bit for bit).

use tch::{Device, Kind, Tensor};

use super::model::{ClipConfig, VisionConfig};

/// One call that draws from the generator, with its element count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draw {
    /// `uniform_`: `kaiming_uniform_` and the bias of `nn.Linear`/`nn.Conv2d`,
    /// `xavier_uniform_` of `nn.MultiheadAttention`'s `in_proj_weight`.
    Uniform(i64),
    /// `normal_`: `torch.randn`, `nn.Embedding`'s init, `initialize_parameters`.
    Normal(i64),
}

impl Draw {
    /// Elements drawn.
    pub fn numel(self) -> i64 {
        match self {
            Draw::Uniform(n) | Draw::Normal(n) => n,
        }
    }
}

/// `nn.Linear(fan_in, fan_out)`: the weight, then the bias.
fn linear(out: &mut Vec<Draw>, fan_in: i64, fan_out: i64) {
    out.push(Draw::Uniform(fan_out * fan_in));
    out.push(Draw::Uniform(fan_out));
}

/// `Transformer(width, layers)`: per `ResidualAttentionBlock`, `nn.MultiheadAttention`
/// (its `out_proj` Linear is built, then `_reset_parameters` draws `in_proj_weight`;
/// the biases are set to 0), then the MLP's `c_fc` and `c_proj`.
fn transformer(out: &mut Vec<Draw>, width: i64, layers: i64) {
    for _ in 0..layers {
        linear(out, width, width);
        out.push(Draw::Uniform(3 * width * width));
        linear(out, width, 4 * width);
        linear(out, 4 * width, width);
    }
}

/// `ModifiedResNet`: the three-convolution stem, the four stages of `Bottleneck`s (bias-free
/// convolutions; a downsampling one where the stride or the width changes), and
/// `AttentionPool2d` (its positional embedding by `randn`, then q, k, v and c_proj).
fn modified_resnet(out: &mut Vec<Draw>, layers: [i64; 4], width: i64, config: &ClipConfig) {
    let conv = |out: &mut Vec<Draw>, c_out: i64, c_in: i64, k: i64| {
        out.push(Draw::Uniform(c_out * c_in * k * k));
    };
    conv(out, width / 2, 3, 3);
    conv(out, width / 2, width / 2, 3);
    conv(out, width, width / 2, 3);
    let mut inplanes = width;
    for (stage, blocks) in layers.into_iter().enumerate() {
        let planes = width << stage;
        let stride = if stage == 0 { 1 } else { 2 };
        for block in 0..blocks {
            let stride = if block == 0 { stride } else { 1 };
            conv(out, planes, inplanes, 1);
            conv(out, planes, planes, 3);
            conv(out, 4 * planes, planes, 1);
            if stride > 1 || inplanes != 4 * planes {
                conv(out, 4 * planes, inplanes, 1);
            }
            inplanes = 4 * planes;
        }
    }
    let embed = width * 32;
    let spacial = config.image_resolution / 32;
    out.push(Draw::Normal((spacial * spacial + 1) * embed));
    for _ in 0..3 {
        linear(out, embed, embed);
    }
    linear(out, embed, config.embed_dim);
}

/// The draws of `CLIP(config)`'s construction, in order.
pub fn construction_draws(config: &ClipConfig) -> Vec<Draw> {
    let mut out = Vec::new();
    let tw = config.transformer_width;
    match config.vision {
        VisionConfig::ResNet { layers, width } => modified_resnet(&mut out, layers, width, config),
        VisionConfig::Vit {
            layers,
            width,
            patch_size,
        } => {
            out.push(Draw::Uniform(width * 3 * patch_size * patch_size));
            let grid = config.image_resolution / patch_size;
            out.push(Draw::Normal(width));
            out.push(Draw::Normal((grid * grid + 1) * width));
            transformer(&mut out, width, layers);
            out.push(Draw::Normal(width * config.embed_dim));
        }
    }
    transformer(&mut out, tw, config.transformer_layers);
    out.push(Draw::Normal(config.vocab_size * tw));
    // initialize_parameters
    out.push(Draw::Normal(config.vocab_size * tw));
    out.push(Draw::Normal(config.context_length * tw));
    if let VisionConfig::ResNet { width, .. } = config.vision {
        let embed = width * 32;
        out.extend([Draw::Normal(embed * embed); 3]);
        out.push(Draw::Normal(config.embed_dim * embed));
    }
    for _ in 0..config.transformer_layers {
        out.extend([
            Draw::Normal(3 * tw * tw),
            Draw::Normal(tw * tw),
            Draw::Normal(4 * tw * tw),
            Draw::Normal(tw * 4 * tw),
        ]);
    }
    out.push(Draw::Normal(tw * config.embed_dim));
    out
}

/// Advances torch's default CPU generator as `clip.build_model` does for `config`: call it
/// where CoOp's `load_clip_to_cpu` runs, after the seed and before anything drawn after
/// CLIP is built. Takes about as long as Python's construction (one draw per parameter).
pub fn replay_construction(config: &ClipConfig) {
    replay(&construction_draws(config));
}

/// Makes `draws` on torch's default CPU generator, fp32 as `nn.Module`s build their
/// parameters: for modules a method constructs and never uses (KgCoOp's meta-net), whose
/// draws still move the generator before the data order is drawn.
pub fn replay(draws: &[Draw]) {
    let largest = draws.iter().map(|d| d.numel()).max().unwrap_or(0);
    let _guard = tch::no_grad_guard();
    // One contiguous fp32 buffer; a prefix view of it is what a fresh parameter would be.
    let scratch = Tensor::empty([largest], (Kind::Float, Device::Cpu));
    for &draw in draws {
        let mut view = scratch.narrow(0, 0, draw.numel());
        let _ = match draw {
            Draw::Uniform(_) => view.uniform_(-1.0, 1.0),
            Draw::Normal(_) => view.normal_(0.0, 1.0),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clip::random::tiny_config;

    /// Every parameter OpenAI's CLIP initialises randomly is drawn once at construction;
    /// the token embedding, the text transformer's four matrices per block and (ResNet)
    /// the attention pool's four weights twice (module init, then initialize_parameters).
    #[test]
    fn the_draws_cover_every_randomly_initialised_parameter() {
        let _rng = crate::testing::torch_rng();
        for name in ["tiny-rn", "tiny-vit"] {
            let config = tiny_config(name).unwrap();
            let vs = tch::nn::VarStore::new(Device::Cpu);
            let _clip = crate::clip::model::Clip::new(
                &vs.root(),
                &config,
                crate::clip::model::Precision::Fp32,
            )
            .unwrap();
            let drawn: i64 = construction_draws(&config).iter().map(|d| d.numel()).sum();
            // Never drawn: norms, BatchNorm statistics, logit_scale, the attention's
            // in_proj_bias (set to 0).
            let vars = vs.variables();
            let numel = |pred: &dyn Fn(&str) -> bool| -> i64 {
                vars.iter()
                    .filter(|(n, _)| pred(n))
                    .map(|(_, t)| t.numel() as i64)
                    .sum()
            };
            let never = |n: &str| {
                n.contains("ln_")
                    || n.contains(".bn")
                    || n.contains("downsample.1.")
                    || n == "logit_scale"
                    || n.ends_with("in_proj_bias")
                    || n.contains("running_")
                    || n.contains("num_batches")
            };
            let twice = |n: &str| {
                n == "token_embedding.weight"
                    || (n.starts_with("transformer.")
                        && n.ends_with("weight")
                        && !n.contains("ln_"))
                    || (n.starts_with("visual.attnpool.") && n.ends_with("_proj.weight"))
            };
            let expected = numel(&|n| !never(n)) + numel(&twice);
            assert_eq!(drawn, expected, "{name}");
        }
    }
}
