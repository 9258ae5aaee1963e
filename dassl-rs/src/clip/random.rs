//! Randomly initialised CLIP weights: for benchmarks of a released model's shape without
//! its weights, and for tests that need a runnable model without a download.

use std::path::Path;

use tch::{nn::VarStore, Device, Kind, Tensor};

use super::model::{Clip, ClipConfig, Precision};
use super::weights::ClipError;

/// Tiny models for tests and smoke runs: `tiny-vit` (32 px, patch 16) and `tiny-rn`
/// (64 px), both with the full 49,408-token vocabulary so real prompts tokenize.
pub fn tiny_config(name: &str) -> Option<ClipConfig> {
    use super::model::VisionConfig;
    let (vision, image_resolution) = match name {
        "tiny-vit" => (
            VisionConfig::Vit {
                layers: 1,
                width: 64,
                patch_size: 16,
            },
            32,
        ),
        "tiny-rn" => (
            VisionConfig::ResNet {
                layers: [1, 1, 1, 1],
                width: 8,
            },
            64,
        ),
        _ => return None,
    };
    Some(ClipConfig {
        embed_dim: 32,
        image_resolution,
        vision,
        context_length: 77,
        vocab_size: 49408,
        transformer_width: 64,
        transformer_heads: 1,
        transformer_layers: 1,
    })
}

/// Fills every variable of a CLIP VarStore as OpenAI's `initialize_parameters` would in
/// spirit: norms at identity (weight 1, bias 0, running var 1), `logit_scale` ln(1/0.07),
/// everything else N(0, 0.02²). Deterministic for `seed`.
pub fn randomize(vs: &VarStore, seed: i64) {
    tch::manual_seed(seed);
    let _guard = tch::no_grad_guard();
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, mut t) in vars {
        let is_norm = name.contains(".ln_")
            || name.starts_with("ln_")
            || name.contains(".bn")
            || name.contains("downsample.1.");
        let value = if name == "logit_scale" {
            Tensor::from((1.0f64 / 0.07).ln()).to_kind(t.kind())
        } else if name.ends_with("running_var") || (is_norm && name.ends_with(".weight")) {
            t.ones_like()
        } else if name.ends_with("running_mean")
            || (is_norm && name.ends_with(".bias"))
            || name.ends_with("_bias")
            || name.ends_with(".bias")
        {
            t.zeros_like()
        } else {
            (t.randn_like() * 0.02).to_kind(t.kind())
        };
        t.copy_(&value.to_device(t.device()));
    }
}

/// Writes a randomly initialised fp32 CLIP of `config` as `.safetensors` with OpenAI key
/// names, atomically.
pub fn write_random_clip(path: &Path, config: &ClipConfig, seed: i64) -> Result<(), ClipError> {
    let vs = VarStore::new(Device::Cpu);
    let _clip = Clip::new(&vs.root(), config, Precision::Fp32)?;
    randomize(&vs, seed);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |source| ClipError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}.safetensors",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let named: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(n, t)| (n, t.to_kind(Kind::Float)))
        .collect();
    let refs: Vec<(&str, &Tensor)> = named.iter().map(|(n, t)| (n.as_str(), t)).collect();
    Tensor::write_safetensors(&refs, &tmp).map_err(|source| ClipError::Torch {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clip::weights::WeightMap;

    fn tiny() -> ClipConfig {
        ClipConfig {
            embed_dim: 32,
            image_resolution: 32,
            vision: crate::clip::model::VisionConfig::Vit {
                layers: 1,
                width: 64,
                patch_size: 16,
            },
            context_length: 77,
            vocab_size: 49408,
            transformer_width: 64,
            transformer_heads: 1,
            transformer_layers: 1,
        }
    }

    #[test]
    fn a_random_model_round_trips_and_computes() {
        let _rng = crate::testing::torch_rng();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        write_random_clip(&path, &tiny(), 7).unwrap();
        let w = WeightMap::load(&path, Device::Cpu).unwrap();
        assert_eq!(ClipConfig::from_weights(&w).unwrap(), tiny());
        let (_vs, clip) = Clip::load(&path, Device::Cpu, Precision::Fp32).unwrap();
        let img = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
        let f = clip.encode_image(&img);
        assert_eq!(f.size(), [2, 32]);
        assert!(
            f.abs().sum(Kind::Float).double_value(&[]) > 0.0,
            "features are not all zero"
        );
        // Same seed, same bytes.
        let again = dir.path().join("n.safetensors");
        write_random_clip(&again, &tiny(), 7).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&again).unwrap()
        );
    }
}
