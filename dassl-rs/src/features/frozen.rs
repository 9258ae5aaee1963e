//! Learners whose logits see the images only through a frozen image encoder, and the
//! features of a loader's images through such an encoder, read from the feature cache
//! when it holds them.

use std::path::{Path, PathBuf};

use tch::{Device, Tensor};

use super::cache::{images_sha256, FeatureCache, FeatureKey, Outcome, FORMAT};
use crate::data::loader::DataLoader;
use crate::errors::EngineError;
use crate::log_println;

/// What a frozen encoder's features depend on besides the images and the transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncoderIdentity {
    /// The weights file.
    pub weights: PathBuf,
    /// The precision's name (`Fp16`, `Fp32`, `Amp`).
    pub precision: String,
    /// The device the features are computed on.
    pub device: Device,
}

impl EncoderIdentity {
    /// `cpu` or `cuda`: the kind of device (kernels, hence rounding, differ between kinds,
    /// not between two GPUs' indices).
    pub fn device_kind(&self) -> String {
        match self.device {
            Device::Cpu => "cpu".into(),
            Device::Cuda(_) => "cuda".into(),
            other => format!("{other:?}").to_lowercase(),
        }
    }
}

/// A learner split at its frozen image encoder: `logits(images)` is
/// `logits_from_features(encode_images(images))`, so an evaluation may take the features
/// from the cache instead of decoding and encoding every image.
pub trait FrozenEncoder {
    /// The encoder's weights, precision and device.
    fn identity(&self) -> EncoderIdentity;
    /// Features `[B, D]` of preprocessed images on the device (no gradient is needed).
    fn encode_images(&self, images: &Tensor) -> Tensor;
    /// Logits `[B, num_classes]` from features that `encode_images` produced (on the device).
    fn logits_from_features(&mut self, features: &Tensor) -> Result<Tensor, EngineError>;
}

/// Features `[N, D]` on the CPU, in the loader's dataset order (row i is image i), of every
/// image of `loader` through `encode`; from `cache` when it holds them, else computed (and
/// stored when there is a cache). `what` names the split in the log and in `dassl cache ls`.
pub fn loader_features(
    cache: Option<&FeatureCache>,
    encoder: &EncoderIdentity,
    loader: &DataLoader,
    what: &str,
    encode: &dyn Fn(&Tensor) -> Tensor,
) -> Result<Tensor, EngineError> {
    let compute = || -> Result<Tensor, EngineError> {
        let n = loader.num_samples();
        let mut parts = Vec::with_capacity(loader.len());
        let mut order = Vec::with_capacity(n);
        // Not one of Dassl's passes: a cache hit skips it, so it must not draw (file order).
        for batch in loader.batches(loader.file_order(), 0) {
            let batch = batch?;
            let f = tch::no_grad(|| encode(&batch.images.to_device(encoder.device)));
            parts.push(f.to_device(Device::Cpu));
            order.extend(batch.indices.iter().map(|&i| i as i64));
        }
        let all = Tensor::cat(&parts, 0);
        let rows = Tensor::from_slice(&order);
        Ok(all.zeros_like().index_copy(0, &rows, &all))
    };
    let Some(cache) = cache else {
        return compute();
    };
    let data = loader.data();
    let key = FeatureKey {
        weights_sha256: cache.weights_sha256(&encoder.weights)?,
        precision: encoder.precision.clone(),
        device: encoder.device_kind(),
        transform: format!("{:?}", loader.transform()),
        images_sha256: images_sha256(data.iter().map(|d| d.impath.as_path()))?,
        images: data.len(),
        batch_size: loader.batch_size(),
        format: FORMAT,
    };
    let label = format!(
        "{what}, {}, {}, {}",
        file_name(&encoder.weights),
        encoder.precision,
        key.device
    );
    let (features, outcome) = cache.get_or_build(&key, &label, compute)?;
    let at = cache.dir().join(key.id());
    match outcome {
        Outcome::Hit => log_println!(
            "Image features of {what}: read from the feature cache ({})",
            at.display()
        ),
        Outcome::Built => log_println!(
            "Image features of {what}: computed and stored in the feature cache ({})",
            at.display()
        ),
        Outcome::Rebuilt(why) => log_println!(
            "Image features of {what}: computed again and stored in the feature cache ({}); the entry there was unusable: {why}",
            at.display()
        ),
    }
    Ok(features)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
