//! What the trainers' tests share: a random tiny CLIP, toy data and a config from opts.

use std::path::{Path, PathBuf};

use dassl_rs::clip::model::{ClipConfig, VisionConfig};
use dassl_rs::config::{setup_cfg, CfgSources, Config};

/// Writes a random ViT CLIP for 32x32 images (width 64, one layer) to `dir/clip.safetensors`.
pub fn tiny_clip(dir: &Path, embed_dim: i64) -> PathBuf {
    let clip = dir.join("clip.safetensors");
    let config = ClipConfig {
        embed_dim,
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
    clip
}

/// Makes a 3-class toy dataset with 8 images of 32x32 per class under `dir/data`.
pub fn toy_data(dir: &Path) -> PathBuf {
    let spec = dassl_rs::data::toy::ToySpec {
        datasets: vec![dassl_rs::data::toy::ToyDatasetSpec {
            num_classes: 3,
            images_per_class: 8,
            image_size: 32,
            ..Default::default()
        }],
    };
    let data = dir.join("data");
    dassl_rs::data::toy::make_toy(&data, 1, &spec).unwrap();
    data
}

/// `setup_cfg` over `KEY VALUE` opts, with the feature cache off unless the opts turn it
/// on (tests must not fill the user's cache folder).
pub fn cfg_from<S: AsRef<str>>(opts: &[S]) -> Config {
    let mut all = vec!["TEST.FEATURE_CACHE".to_string(), "off".to_string()];
    all.extend(opts.iter().map(|s| s.as_ref().to_string()));
    setup_cfg(&CfgSources {
        opts: all,
        ..Default::default()
    })
    .unwrap()
}

/// The opts of a small prompt-learner run under `section` (`TRAINER.COOP`): the tiny CLIP,
/// 4 context vectors in fp32, SGD at lr 0.5, seed 1, output in `dir/out`.
pub fn prompt_opts(
    trainer: &str,
    section: &str,
    clip: &Path,
    dir: &Path,
    batch: &str,
) -> Vec<String> {
    let out = dir.join("out");
    [
        "MODEL.BACKBONE.NAME",
        clip.to_str().unwrap(),
        "INPUT.SIZE",
        "(32, 32)",
        "TRAINER.NAME",
        trainer,
        &format!("{section}.N_CTX"),
        "4",
        &format!("{section}.PREC"),
        "fp32",
        "OPTIM.NAME",
        "sgd",
        "OPTIM.LR",
        "0.5",
        "DATALOADER.TRAIN_X.BATCH_SIZE",
        batch,
        "SEED",
        "1",
        "OUTPUT_DIR",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
