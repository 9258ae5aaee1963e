//! What the deep-prompt trainers of muzairkhattak's repositories share (MaPLe, IVLP, VPT,
//! and PromptSRC, which builds on IVLP): the text context rule, their config checks, the
//! per-layer prompts IVLP's and VPT's CLIP draws while it is built, the cosine logits, and
//! checkpoints under the authors' parameter names. CLIP's encoders take the prompts through
//! the deep-prompt hooks (`dassl_rs::clip::model::deep`).

use std::path::Path;

use dassl_rs::clip::init_replay::{construction_draws, replay};
use dassl_rs::clip::model::{Clip, ClipConfig, VisionConfig, VisionPrompts};
use dassl_rs::clip::tokenizer::ClipTokenizer;
use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::errors::{ConfigError, EngineError};
use tch::{Device, Kind, Tensor};

use crate::clip_common::normalize_rows;
use crate::prompt::{copy_checked, embed_rows, CONTEXT_LENGTH};

pub const BACKBONE: &str = "MODEL.BACKBONE.NAME";

/// The token buffers the authors' `load_model` deletes from a `CustomCLIP` checkpoint.
pub const TOKEN_BUFFERS: &[&str] = &["prompt_learner.token_prefix", "prompt_learner.token_suffix"];

/// A train.py `extend_cfg` section of muzairkhattak's repositories: `keys` (name, default)
/// under `section`, and DATASET.SUBSAMPLE_CLASSES, declared for `trainer`.
pub fn declare_section(
    b: &mut ConfigBuilder,
    section: &str,
    trainer: &str,
    keys: &[(&str, &str)],
) -> Result<(), ConfigError> {
    for (key, default) in keys {
        b.declare(&format!("{section}.{key}"), default, trainer)?;
    }
    b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", trainer)
}

/// The configured backbone is refused when it is a released ResNet (`method` prompts the
/// vision transformer); unknown names are left to the CLIP loader.
pub fn check_vit(cfg: &Config, method: &str) -> Result<(), ConfigError> {
    let name = cfg.str(BACKBONE)?;
    match ClipConfig::released(name) {
        Some(c) if !c.is_vit() => Err(not_vit(name, method)),
        _ => Ok(()),
    }
}

/// The error for a ResNet CLIP under a method with vision prompts.
pub fn not_vit(name: &str, method: &str) -> ConfigError {
    ConfigError::InvalidChoice {
        key: BACKBONE.into(),
        value: name.to_string(),
        expected: format!("a ViT backbone ({method} prompts the vision transformer)"),
    }
}

/// The integer under `key`, refused outside `min..=max` with `expected` as the reason.
pub fn int_in(
    cfg: &Config,
    key: &str,
    min: i64,
    max: i64,
    expected: &str,
) -> Result<i64, ConfigError> {
    let v = cfg.int(key)?;
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(ConfigError::InvalidChoice {
            key: key.into(),
            value: v.to_string(),
            expected: expected.into(),
        })
    }
}

/// The text context's keys (`n_ctx_key` vectors, `init_key` words) fit CLIP's 77 tokens
/// with SOS, a class name, "." and EOS: the prompts always hold all of CTX_INIT's words.
pub fn check_text_context(
    cfg: &Config,
    n_ctx_key: &str,
    init_key: &str,
) -> Result<(), ConfigError> {
    let room = CONTEXT_LENGTH - 4;
    int_in(
        cfg,
        n_ctx_key,
        1,
        room,
        &format!("a number of context vectors from 1 to {room}"),
    )?;
    let init = cfg.str(init_key)?.replace('_', " ");
    if ClipTokenizer::new().encode(&init).len() as i64 > room {
        return Err(ConfigError::InvalidChoice {
            key: init_key.into(),
            value: init,
            expected: format!("at most {room} tokens (CLIP's context is {CONTEXT_LENGTH} tokens)"),
        });
    }
    Ok(())
}

/// The first layer's text context as MaPLe and IVLP draw it (`if ctx_init and n_ctx <= 4`):
/// the first `n_ctx` token embeddings of CTX_INIT, with prompts that keep all its words;
/// else `n_ctx` vectors N(0, 0.02²) in CLIP's dtype and prompts "X X ...". Returns the
/// context (trainable) and the prompts' prefix.
pub fn text_context(
    clip: &Clip,
    n_ctx: i64,
    ctx_init: &str,
    device: Device,
) -> Result<(Tensor, String), EngineError> {
    let (ctx, prefix) = if !ctx_init.is_empty() && n_ctx <= 4 {
        let init = ctx_init.replace('_', " ");
        let rows =
            ClipTokenizer::new().tokenize(&[init.as_str()], CONTEXT_LENGTH as usize, false)?;
        let emb = embed_rows(clip, rows, device);
        (emb.get(0).narrow(0, 1, n_ctx).copy(), init)
    } else {
        let width = clip.config().transformer_width;
        let ctx = Tensor::empty([n_ctx, width], (clip.dtype(), Device::Cpu))
            .normal_(0.0, 0.02)
            .to_device(device);
        (ctx, vec!["X"; n_ctx as usize].join(" "))
    };
    Ok((ctx.detach().set_requires_grad(true), prefix))
}

/// `logit_scale.exp() * image @ text.t()` of the normalised features (`CustomCLIP.forward`).
pub fn cosine_logits(clip: &Clip, image_features: &Tensor, text_features: &Tensor) -> Tensor {
    let image = normalize_rows(image_features);
    let text = normalize_rows(text_features);
    (clip.logit_scale().exp() * image).matmul(&text.tr())
}

/// How many prompt tokens a tower takes (`*_ctx`) and at how many layers (`*_depth`: the
/// input, then layers 1..depth - 1), as `design_details` gives them to the authors' CLIP.
#[derive(Debug, Clone, Copy, Default)]
pub struct Depth {
    pub n_ctx: i64,
    pub depth: i64,
}

/// The prompts of IVLP's and VPT's CLIP (`VisionTransformer.VPT` and each prompted
/// `ResidualAttentionBlock_IVLP.VPT_shallow`), fp32 parameters whatever CLIP's dtype.
pub struct IndependentPrompts {
    /// `[n_ctx, width]` appended to the image tokens (vision depth >= 1).
    pub vision: Option<Tensor>,
    /// Layers 1.. of the vision transformer.
    pub vision_deep: Vec<Tensor>,
    /// Layers 1.. of the text transformer (the first layer's context is the learner's).
    pub text_deep: Vec<Tensor>,
}

/// Where one parameter is drawn among CLIP's construction draws.
struct Insert {
    after: usize,
    rows: i64,
    width: i64,
    slot: Slot,
}

enum Slot {
    Vision,
    VisionDeep,
    TextDeep,
}

impl IndependentPrompts {
    /// Builds CLIP's construction draws as `clip.build_model` takes them from torch's CPU
    /// generator (see `dassl_rs::clip::init_replay`), with the prompts drawn where the
    /// authors' modules draw them: `VPT` right after `conv1`, each block's `VPT_shallow` at
    /// the end of its `__init__` (blocks 1..depth - 1, both towers). Call it where the
    /// authors' `load_clip_to_cpu` runs, in place of `replay_construction`.
    pub fn drawn_with_clip(config: &ClipConfig, vision: Depth, text: Depth) -> Self {
        let draws = construction_draws(config);
        // In draw order: the vision prompts' places come before the text tower's.
        let mut inserts = Vec::new();
        // Per block: out_proj (2), in_proj_weight, c_fc (2), c_proj (2).
        const BLOCK: usize = 7;
        // The text transformer's blocks come before the token embedding (1), then
        // `initialize_parameters` (2, a ResNet's attention pool 4, 4 per block, 1).
        let t_layers = config.transformer_layers as usize;
        let resnet = if config.is_vit() { 0 } else { 4 };
        let text_start = draws.len() - BLOCK * t_layers - 4 - resnet - 4 * t_layers;
        if let VisionConfig::Vit { layers, width, .. } = config.vision {
            if vision.depth != 0 {
                inserts.push(Insert {
                    after: 0,
                    rows: vision.n_ctx,
                    width,
                    slot: Slot::Vision,
                });
            }
            for i in 1..vision.depth.clamp(0, layers) as usize {
                let after = 3 + BLOCK * (i + 1) - 1;
                inserts.push(Insert {
                    after,
                    rows: vision.n_ctx,
                    width,
                    slot: Slot::VisionDeep,
                });
            }
            debug_assert_eq!(text_start, 4 + BLOCK * layers as usize);
        }
        let tw = config.transformer_width;
        for j in 1..text.depth.clamp(0, config.transformer_layers) as usize {
            let after = text_start + BLOCK * (j + 1) - 1;
            inserts.push(Insert {
                after,
                rows: text.n_ctx,
                width: tw,
                slot: Slot::TextDeep,
            });
        }
        let mut out = IndependentPrompts {
            vision: None,
            vision_deep: vec![],
            text_deep: vec![],
        };
        // CLIP's draws up to each prompt's place (`replay`), then the prompt:
        // `torch.empty(n_ctx, width)` + `nn.init.normal_(std=0.02)`.
        let _guard = tch::no_grad_guard();
        let mut start = 0;
        for ins in &inserts {
            replay(&draws[start..=ins.after]);
            start = ins.after + 1;
            let t =
                Tensor::empty([ins.rows, ins.width], (Kind::Float, Device::Cpu)).normal_(0.0, 0.02);
            match ins.slot {
                Slot::Vision => out.vision = Some(t),
                Slot::VisionDeep => out.vision_deep.push(t),
                Slot::TextDeep => out.text_deep.push(t),
            }
        }
        replay(&draws[start..]);
        out
    }

    /// On `device`, trainable.
    pub fn into_trainable(self, device: Device) -> Self {
        let train = |t: Tensor| t.to_device(device).set_requires_grad(true);
        IndependentPrompts {
            vision: self.vision.map(train),
            vision_deep: self.vision_deep.into_iter().map(train).collect(),
            text_deep: self.text_deep.into_iter().map(train).collect(),
        }
    }

    /// What the vision transformer takes.
    pub fn vision_prompts(&self) -> VisionPrompts {
        VisionPrompts {
            shallow: self.vision.as_ref().map(Tensor::shallow_clone),
            deep: deeper(&self.vision_deep),
        }
    }

    /// What the text transformer takes after the first layer's context.
    pub fn text_prompts(&self) -> Vec<Option<Tensor>> {
        deeper(&self.text_deep)
    }

    /// Their `named_parameters()` names in a `CustomCLIP`, in its order.
    pub fn named(&self) -> Vec<(String, Tensor)> {
        let mut out: Vec<(String, Tensor)> = self
            .vision
            .iter()
            .map(|t| ("image_encoder.VPT".to_string(), t.shallow_clone()))
            .collect();
        for (tower, list) in [
            ("image_encoder", &self.vision_deep),
            ("text_encoder", &self.text_deep),
        ] {
            for (i, t) in list.iter().enumerate() {
                let name = format!("{tower}.transformer.resblocks.{}.VPT_shallow", i + 1);
                out.push((name, t.shallow_clone()));
            }
        }
        out
    }
}

/// `[None, Some(layer 1), ...]`: the hooks' per-layer list (layer 0's tokens are the input's).
pub fn deeper(layers: &[Tensor]) -> Vec<Option<Tensor>> {
    std::iter::once(None)
        .chain(layers.iter().map(|t| Some(t.shallow_clone())))
        .collect()
}

/// A `state_dict` of `named` parameters (detached) and `buffers`, each name after `prefix`.
pub fn prefixed_state(
    named: Vec<(String, Tensor)>,
    buffers: Vec<(String, Tensor)>,
    prefix: &str,
) -> Vec<(String, Tensor)> {
    named
        .into_iter()
        .map(|(k, t)| (k, t.detach()))
        .chain(buffers)
        .map(|(k, t)| (format!("{prefix}{k}"), t))
        .collect()
}

/// The authors' `load_state_dict(strict=False)` into `named` (each name after `prefix`):
/// every parameter must be there; other keys (the frozen CLIP of their checkpoints) are
/// ignored. `hint` names the settings that shape the parameters.
pub fn load_named(
    named: Vec<(String, Tensor)>,
    tensors: &[(String, Tensor)],
    from: &Path,
    prefix: &str,
    hint: &str,
) -> Result<(), EngineError> {
    for (name, dst) in named {
        let key = format!("{prefix}{name}");
        let (_, src) =
            tensors
                .iter()
                .find(|(n, _)| *n == key)
                .ok_or_else(|| EngineError::MissingTensor {
                    path: from.to_path_buf(),
                    key: key.clone(),
                })?;
        copy_checked(&dst, src, &key, from, hint)?;
    }
    Ok(())
}

/// What the deep-prompt trainers' tests check alike.
#[cfg(test)]
pub mod testing {
    use std::path::Path;

    use dassl_rs::config::{CfgSources, Config};
    use dassl_rs::engine::registered::NamedState;
    use dassl_rs::errors::{ConfigError, EngineError};
    use tch::Tensor;

    type Check = fn(&Config) -> Result<(), ConfigError>;

    /// The authors' config files, shipped under configs/trainers/`dir`, pass `check`.
    pub fn authors_configs_pass(dir: &str, files: &[&str], check: Check) -> Vec<Config> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../configs/trainers")
            .join(dir);
        files
            .iter()
            .map(|file| {
                let sources = CfgSources {
                    config_file: Some(dir.join(file)),
                    ..Default::default()
                };
                let cfg = dassl_rs::config::setup_cfg(&sources).unwrap();
                check(&cfg).unwrap_or_else(|e| panic!("{file}: {e}"));
                cfg
            })
            .collect()
    }

    /// `check` refuses `trainer` with `opts`, naming `key`.
    pub fn assert_refused(check: Check, trainer: &str, opts: &[&str], key: &str) {
        let mut all = vec!["TRAINER.NAME", trainer];
        all.extend(opts);
        let cfg = crate::test_support::cfg_from(&all);
        assert!(
            matches!(check(&cfg), Err(ConfigError::InvalidChoice { key: k, .. }) if k == key),
            "{opts:?}"
        );
    }

    /// `b` loads `a`'s state dict (which holds `keys`) to `a`'s parameters (`named`), and a
    /// state dict without `keys[0]` is an error naming it.
    pub fn assert_round_trip<M: NamedState>(
        a: &M,
        b: &mut M,
        named: fn(&M) -> Vec<(String, Tensor)>,
        keys: &[&str],
    ) {
        let sd = a.state_dict();
        for key in keys {
            assert!(sd.iter().any(|(k, _)| k == key), "{key}");
        }
        b.load_state_dict(&sd, Path::new("x")).unwrap();
        for ((k, x), (_, y)) in named(a).iter().zip(named(b)) {
            crate::fp16_parity::assert_same(k, &x.detach(), &y.detach());
        }
        let missing: Vec<_> = sd.into_iter().filter(|(k, _)| k != keys[0]).collect();
        assert!(matches!(
            b.load_state_dict(&missing, Path::new("x")),
            Err(EngineError::MissingTensor { key, .. }) if key == keys[0]
        ));
    }
}
