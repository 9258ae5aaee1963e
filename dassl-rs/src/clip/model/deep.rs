//! Hooks for deep prompting: learnable tokens that replace the prompt tokens entering
//! chosen layers of CLIP's text and vision transformers.
//!
//! As the modified `clip/model.py` of muzairkhattak/multimodal-prompt-learning does for
//! MaPLe, IVLP and VPT (`ResidualAttentionBlock_MaPLe`, `ResidualAttentionBlock_IVLP`,
//! `VisionTransformer_MaPLe`): the first layer's prompt tokens are part of the input (the
//! text context spliced in after SOS; the vision tokens appended after the class token and
//! patches), and before layer `i` the given tokens replace that layer's input at the same
//! places: text positions `1..1 + n`, the vision sequence's last `n`. The tokens are cast
//! with `.half()` there whatever CLIP's dtype (so in fp32 they are rounded to fp16 values),
//! and `torch.cat` promotes them back to the sequence's dtype: done so here.
//! With no tokens given, the encoders run exactly as without the hooks.

use tch::{Kind, Tensor};

use super::{Clip, EotPositions, Transformer, Visual};

/// Deep prompts a CLIP cannot take.
#[derive(Debug, thiserror::Error)]
pub enum DeepPromptError {
    /// Vision prompts need a ViT image encoder.
    #[error("vision prompts need a ViT image encoder; this CLIP's is a ResNet")]
    NotVit,
    /// More per-layer tokens than the transformer has layers.
    #[error("{given} per-layer {tower} prompts for a transformer of {layers} layers")]
    TooDeep {
        /// "text" or "vision".
        tower: &'static str,
        /// The length of the per-layer list.
        given: usize,
        /// The transformer's layers.
        layers: usize,
    },
    /// A prompt's shape does not fit the transformer.
    #[error("{tower} prompt for layer {layer} must be [n, {width}], got shape {got:?}")]
    Shape {
        /// "text" or "vision".
        tower: &'static str,
        /// The layer (0: the input).
        layer: usize,
        /// The transformer's width.
        width: i64,
        /// The given shape.
        got: Vec<i64>,
    },
}

/// Where a layer's prompt tokens sit in its sequence-first input `[L, N, D]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Replace {
    /// Right after SOS: positions `1..1 + n` (text).
    Text,
    /// The last `n` positions (vision, after the class token and the patches).
    Vision,
}

/// The vision tower's prompts: `shallow` `[n, width]` appended to every image's tokens
/// before `ln_pre`, and `deep[i]` `[n, width]` replacing the last `n` tokens entering
/// layer `i` (`deep[0]`, if given, replaces `shallow`'s output of `ln_pre`).
#[derive(Debug, Default)]
pub struct VisionPrompts {
    pub shallow: Option<Tensor>,
    pub deep: Vec<Option<Tensor>>,
}

/// The reference's `.half()`, then `torch.cat`'s promotion to `like`'s dtype.
fn as_in_reference(tokens: &Tensor, like: &Tensor) -> Tensor {
    tokens.to_kind(Kind::Half).to_kind(like.kind())
}

impl Replace {
    /// `x` `[L, N, D]` with its prompt tokens replaced by `tokens` `[n, D]` (every item).
    fn apply(self, x: &Tensor, tokens: &Tensor) -> Tensor {
        let (l, n_items, d) = x.size3().expect("transformer input is [L, N, D]");
        let n = tokens.size()[0];
        // `tokens.expand(N, -1, -1).permute(1, 0, 2).half()`: cast after the expand, so the
        // backward sums the items' gradients in fp32 as PyTorch's does.
        let ctx = as_in_reference(&tokens.expand([n_items, n, d], false).permute([1, 0, 2]), x);
        match self {
            Replace::Text => Tensor::cat(
                &[&x.narrow(0, 0, 1), &ctx, &x.narrow(0, 1 + n, l - 1 - n)],
                0,
            ),
            Replace::Vision => Tensor::cat(&[&x.narrow(0, 0, l - n), &ctx], 0),
        }
    }
}

impl Transformer {
    /// The blocks over `x` `[L, N, D]`, with `deep[i]` (when given) replacing the prompt
    /// tokens that enter block `i`.
    pub(super) fn forward_replacing(
        &self,
        x: &Tensor,
        mask: Option<&Tensor>,
        deep: &[Option<Tensor>],
        at: Replace,
    ) -> Tensor {
        let mut x = x.shallow_clone();
        for (i, block) in self.resblocks.iter().enumerate() {
            if let Some(Some(tokens)) = deep.get(i) {
                x = at.apply(&x, tokens);
            }
            x = block.forward(&x, mask);
        }
        x
    }

    /// Checks `deep` against the depth and width.
    fn check(&self, tower: &'static str, deep: &[Option<Tensor>]) -> Result<(), DeepPromptError> {
        let layers = self.resblocks.len();
        if deep.len() > layers {
            return Err(DeepPromptError::TooDeep {
                tower,
                given: deep.len(),
                layers,
            });
        }
        let width = self.width();
        for (layer, t) in deep.iter().enumerate() {
            if let Some(t) = t {
                check_tokens(tower, layer, t, width)?;
            }
        }
        Ok(())
    }

    fn width(&self) -> i64 {
        self.resblocks[0].ln_1.weight.size()[0]
    }
}

fn check_tokens(
    tower: &'static str,
    layer: usize,
    t: &Tensor,
    width: i64,
) -> Result<(), DeepPromptError> {
    let size = t.size();
    if size.len() != 2 || size[1] != width {
        return Err(DeepPromptError::Shape {
            tower,
            layer,
            width,
            got: size,
        });
    }
    Ok(())
}

impl Clip {
    /// Text features `[N, embed_dim]` of prompt embeddings `[N, L, width]` (the first
    /// layer's context already spliced in after SOS), with `deep[i]` `[n_ctx, width]`
    /// replacing positions `1..1 + n_ctx` before layer `i` (MaPLe's and IVLP's text
    /// side). Over the positions up to the last EOT in fp32, as [`Clip::encode_prompts`].
    pub fn encode_prompts_deep(
        &self,
        prompts: &Tensor,
        eot: &EotPositions,
        deep: &[Option<Tensor>],
    ) -> Result<Tensor, DeepPromptError> {
        self.transformer.check("text", deep)?;
        Ok(self.encode_prompts_replacing(prompts, eot, self.text_span(), deep))
    }

    /// Image features `[N, embed_dim]` (not normalised) of preprocessed images with
    /// `prompts` in the vision transformer (MaPLe's `VisionTransformer_MaPLe.forward`,
    /// VPT's and IVLP's `VisionTransformer.forward`). ViT only.
    pub fn encode_image_prompted(
        &self,
        image: &Tensor,
        prompts: &VisionPrompts,
    ) -> Result<Tensor, DeepPromptError> {
        let Visual::Vit(v) = &self.visual else {
            return Err(DeepPromptError::NotVit);
        };
        v.transformer.check("vision", &prompts.deep)?;
        let mut x = v.embed(&image.to_kind(self.dtype()));
        if let Some(shallow) = &prompts.shallow {
            check_tokens("vision", 0, shallow, v.transformer.width())?;
            let (n, w) = (x.size()[0], shallow.size()[0]);
            let ctx = as_in_reference(&shallow.expand([n, w, -1], false), &x);
            x = Tensor::cat(&[&x, &ctx], 1);
        }
        let x = v.ln_pre.forward(&x).permute([1, 0, 2]);
        let x = v
            .transformer
            .forward_replacing(&x, None, &prompts.deep, Replace::Vision);
        Ok(v.head(&x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clip::model::{ClipConfig, Precision, VisionConfig};
    use tch::Device;

    fn clip(vision: VisionConfig) -> Clip {
        let config = ClipConfig {
            embed_dim: 32,
            image_resolution: 32,
            vision,
            context_length: 77,
            vocab_size: 49408,
            transformer_width: 64,
            transformer_heads: 1,
            transformer_layers: 2,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.safetensors");
        crate::clip::random::write_random_clip(&path, &config, 5).unwrap();
        Clip::load(&path, Device::Cpu, Precision::Fp32).unwrap().1
    }

    fn vit() -> Clip {
        clip(VisionConfig::Vit {
            layers: 2,
            width: 128,
            patch_size: 16,
        })
    }

    /// No prompts: the hooks give the encoders' own results, bit for bit.
    #[test]
    fn without_prompts_the_encoders_are_unchanged() {
        let c = vit();
        let img = Tensor::ones([2, 3, 32, 32], (Kind::Float, Device::Cpu)) * 0.3;
        let plain = c.encode_image(&img);
        let hooked = c
            .encode_image_prompted(&img, &VisionPrompts::default())
            .unwrap();
        assert!(plain.equal(&hooked));
        let tokens = Tensor::from_slice(&[49406i64, 320, 1125, 49407])
            .view([1, 4])
            .pad([0, 73], "constant", Some(0.0));
        let eot = EotPositions::of(&tokens);
        let prompts = c.token_embedding(&tokens);
        let plain = c.encode_prompts(&prompts, &eot);
        assert!(plain.equal(&c.encode_prompts_deep(&prompts, &eot, &[]).unwrap()));
        assert!(plain.equal(
            &c.encode_prompts_deep(&prompts, &eot, &[None, None])
                .unwrap()
        ));
    }

    #[test]
    fn prompts_that_do_not_fit_are_errors() {
        let c = vit();
        let img = Tensor::zeros([1, 3, 32, 32], (Kind::Float, Device::Cpu));
        let t = |w: i64| Some(Tensor::zeros([2, w], (Kind::Float, Device::Cpu)));
        let deep = |v: Vec<Option<Tensor>>| VisionPrompts {
            shallow: None,
            deep: v,
        };
        assert!(matches!(
            c.encode_image_prompted(&img, &deep(vec![None, t(128), t(128)])),
            Err(DeepPromptError::TooDeep {
                given: 3,
                layers: 2,
                ..
            })
        ));
        assert!(matches!(
            c.encode_image_prompted(&img, &deep(vec![None, t(64)])),
            Err(DeepPromptError::Shape {
                layer: 1,
                width: 128,
                ..
            })
        ));
        let rn = clip(VisionConfig::ResNet {
            layers: [1, 1, 1, 1],
            width: 8,
        });
        assert!(matches!(
            rn.encode_image_prompted(&img, &VisionPrompts::default()),
            Err(DeepPromptError::NotVit)
        ));
    }
}
