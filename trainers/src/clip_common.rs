//! What the CLIP trainers share: loading CLIP as CoOp's `load_clip_to_cpu` does, and
//! choosing the precision for the device.

use std::path::{Path, PathBuf};

use dassl_rs::clip::model::{Clip, Precision};
use dassl_rs::config::Config;
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::features::EncoderIdentity;
use dassl_rs::log_println;
use tch::{nn::VarStore, Device};

/// MODEL.INIT_WEIGHTS initialises a learned prompt or adapter (Dassl's
/// `load_pretrained_weights`); CoOp's code ignores it for trainers that load nothing, we refuse.
pub fn refuse_init_weights(cfg: &Config, trainer: &'static str) -> Result<(), ConfigError> {
    let value = cfg.str("MODEL.INIT_WEIGHTS")?;
    if value.is_empty() {
        return Ok(());
    }
    Err(ConfigError::NotUsed {
        key: "MODEL.INIT_WEIGHTS".into(),
        value: value.into(),
        trainer,
        why: "it loads no learned weights from a file",
    })
}

/// CoOp's `PREC`, the same on every device: fp16 runs in fp16 on a CPU too, as
/// `load_clip_to_cpu` leaves it; amp is fp32 parameters (autocast is the learner's).
pub fn precision_for(prec: &str) -> Result<Precision, EngineError> {
    Ok(match prec {
        "fp16" => Precision::Fp16,
        "fp32" => Precision::Fp32,
        "amp" => Precision::Amp,
        other => {
            return Err(EngineError::Config(ConfigError::InvalidChoice {
                key: "PREC".into(),
                value: other.to_string(),
                expected: "one of fp16, fp32, amp".into(),
            }))
        }
    })
}

/// Loads `MODEL.BACKBONE.NAME` (an OpenAI name from the CLIP cache, or a weights file) and
/// checks that its input resolution is the configured INPUT.SIZE; also returns the file.
pub fn load_clip(
    cfg: &Config,
    device: Device,
    precision: Precision,
) -> Result<(VarStore, Clip, PathBuf), EngineError> {
    let name = cfg.str("MODEL.BACKBONE.NAME")?;
    log_println!("Loading CLIP (backbone: {name})");
    let path = dassl_rs::clip::resolve_weights(name)?;
    let (vs, clip) = Clip::load(&path, device, precision)?;
    let size = cfg.floats("INPUT.SIZE")?;
    let res = clip.input_resolution() as f64;
    if size.iter().any(|s| *s != res) {
        return Err(EngineError::InputSize {
            size,
            backbone: name.to_string(),
            res,
        });
    }
    Ok((vs, clip, path))
}

/// L2-normalises rows as `x / x.norm(dim=-1, keepdim=True)`.
pub fn normalize_rows(x: &tch::Tensor) -> tch::Tensor {
    x / x.linalg_norm(2.0, [-1i64].as_slice(), true, None::<tch::Kind>)
}

/// What a frozen CLIP's image features depend on besides the images: the weights file
/// it was loaded from, its precision and the device (the feature cache's key).
pub fn encoder_identity(clip: &Clip, weights: &Path, device: Device) -> EncoderIdentity {
    EncoderIdentity {
        weights: weights.to_path_buf(),
        precision: format!("{:?}", clip.precision()),
        device,
    }
}
