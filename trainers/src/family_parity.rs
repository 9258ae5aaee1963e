//! What the parity tests of the newer baselines (KgCoOp, CLIP-Adapter, Tip-Adapter) share:
//! their fixtures, the tiny CLIP of tests/fixtures/fewshot_toy (clip.pt), a config on it,
//! and short training runs on the toy split compared with the Python runs' seed spread.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dassl_rs::config::Config;
use dassl_rs::engine::checkpoint::load_file;
use dassl_rs::engine::TrainerEntry;
use dassl_rs::registry::RegistryEntry;
use tch::Tensor;

use crate::test_support::cfg_from;

/// The class names of the fp16 and toy fixtures.
pub const CLASSNAMES: [&str; 3] = ["cat", "sea turtle", "airplane"];

/// Equal within `rtol` of the largest expected magnitude (at least 1): for fp32, where
/// dassl-rs's text encoder stops at the last EOT (docs/SPEED.md) and so sums in another order
/// than OpenAI's full-length pass; half precision runs the full pass and is compared exactly.
pub fn assert_close(name: &str, got: &Tensor, want: &Tensor, rtol: f64) {
    assert_eq!(got.kind(), want.kind(), "{name}: dtype");
    assert_eq!(got.size(), want.size(), "{name}: shape");
    let want = want.to_kind(tch::Kind::Double);
    let scale = want.abs().max().double_value(&[]).max(1.0);
    let diff = (got.to_kind(tch::Kind::Double) - &want)
        .abs()
        .max()
        .double_value(&[]);
    assert!(
        diff <= rtol * scale,
        "{name}: max abs difference {diff:e} (scale {scale:e})"
    );
}

/// The seeds of the Rust toy runs.
pub const SEEDS: [i64; 3] = [1, 2, 3];

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The tensors of a fixture file (a torch.save of {"state_dict": ...}) by name.
pub fn fixture(rel: &str) -> HashMap<String, Tensor> {
    load_file(&fixtures().join(rel))
        .unwrap()
        .tensors
        .into_iter()
        .collect()
}

/// Writes fewshot_toy/clip.pt's CLIP to `dir/clip.safetensors`.
pub fn family_clip(dir: &Path) -> PathBuf {
    crate::fp16_parity::clip_in(dir, &fixture("fewshot_toy/clip.pt"))
}

/// A run on that CLIP: fp32 under `section` (when the trainer has a PREC), batch 4,
/// seed 1, output in `dir/out`, plus `extra`.
pub fn family_cfg(trainer: &str, section: &str, clip: &Path, dir: &Path, extra: &[&str]) -> Config {
    let mut opts = crate::test_support::prompt_opts(trainer, section, clip, dir, "4");
    opts.extend(extra.iter().map(|s| s.to_string()));
    cfg_from(&opts)
}

/// Trains `trainer` on the toy split (fewshot_toy/data) for each of [`SEEDS`] as `dassl
/// train` does (seeded, built from the registry, trained, tested) and returns the test
/// accuracies. `base` are the opts before `extra` (the CLIP, INPUT.SIZE, the trainer...).
pub fn toy_accuracies_with(base: Vec<String>, extra: &[&str], dir: &Path) -> Vec<f64> {
    dassl_datasets::link();
    let root = fixtures().join("fewshot_toy");
    SEEDS
        .iter()
        .map(|seed| {
            let out = dir.join(format!("seed{seed}"));
            let mut opts = base.clone();
            opts.extend(
                [
                    "DATASET.ROOT",
                    root.to_str().unwrap(),
                    "DATASET.NAME",
                    "Custom",
                    "DATASET.CUSTOM_SPEC",
                    "custom.yaml",
                    "DATALOADER.TRAIN_X.BATCH_SIZE",
                    "4",
                    "DATALOADER.NUM_WORKERS",
                    "0",
                    "SEED",
                    &seed.to_string(),
                    "OUTPUT_DIR",
                    out.to_str().unwrap(),
                ]
                .iter()
                .map(|s| s.to_string()),
            );
            opts.extend(extra.iter().map(|s| s.to_string()));
            let cfg = cfg_from(&opts);
            let entry = TrainerEntry::get(cfg.str("TRAINER.NAME").unwrap()).unwrap();
            tch::manual_seed(*seed);
            let mut trainer = (entry.build)(&cfg).unwrap();
            trainer.train().unwrap();
            trainer.test(None).unwrap()
        })
        .collect()
}

/// [`toy_accuracies_with`] for a prompt trainer on the family CLIP in fp32.
pub fn toy_accuracies(trainer: &str, section: &str, extra: &[&str]) -> Vec<f64> {
    let dir = tempfile::tempdir().unwrap();
    let clip = family_clip(dir.path());
    let base = crate::test_support::prompt_opts(trainer, section, &clip, dir.path(), "4");
    toy_accuracies_with(base, extra, dir.path())
}

/// The Rust seeds' mean accuracy agrees with the Python seeds' (expected.json's
/// `accuracies`): their difference is within three standard errors of a difference of two
/// means, with the Python seeds' spread for both, and at least one test image (100 / 24
/// points, the toy split's resolution).
pub fn within_seed_spread(expected: &str, accs: &[f64]) {
    let text = std::fs::read_to_string(fixtures().join(expected)).unwrap();
    let e: serde_json::Value = serde_json::from_str(&text).unwrap();
    let py: Vec<f64> = e["accuracies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let (mp, mr) = (mean(&py), mean(accs));
    let var = py.iter().map(|a| (a - mp).powi(2)).sum::<f64>() / (py.len() - 1) as f64;
    let se = (var / accs.len() as f64 + var / py.len() as f64).sqrt();
    let tol = (3.0 * se).max(100.0 / 24.0) + 1e-6;
    assert!(
        (mr - mp).abs() <= tol,
        "toy accuracy: Rust seeds {accs:?} (mean {mr:.2}) vs Python seeds {py:?} (mean {mp:.2}): \
         difference beyond {tol:.2}"
    );
}
