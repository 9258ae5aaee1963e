//! The toy world: toy datasets plus a tiny CLIP pretrained by our own code, so the whole
//! CoOp pipeline (zero-shot, prompt learning, linear probe) runs without downloads.
//!
//! The CLIP is our [`Clip`] architecture trained contrastively on captioned toy images
//! ("a dark infrared photo of a red striped circle.") over all 120 colour x texture x
//! shape combinations except some held out, so zero-shot accuracy on held-out toy classes
//! measures compositional generalisation. The demo datasets are each in a domain (see
//! [`style`]) that the zero-shot prompt does not name, which is what CoOp's learned
//! context can find. Everything is cached under a key that changes with the recipe, so
//! the first run trains (a few minutes on two cores) and later runs reuse the file.

pub mod captions;
pub mod datasets;
pub mod eval;
pub mod pretrain;
pub mod style;
pub mod targets;

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use tch::{nn, Device};
use thiserror::Error;

use crate::clip::model::{Clip, Precision};
use crate::clip::weights::ClipError;
use crate::data::split::python_json;
use crate::errors::DataError;
use crate::fsutil::write_atomic;
use crate::logging::print;

pub use captions::{held_out_classes, held_out_combos, training_combos, Combo};
pub use datasets::{
    datasets_ready, write_datasets, DemoDataset, DEMO_DATASETS, TOY20_DATASET_DIR, TOY20_SPLIT_NAME,
};
pub use eval::{zero_shot_rendered, zero_shot_split, ZeroShotReport};
pub use pretrain::{pretrain, save_weights, Budget, PretrainReport, Recipe};
pub use style::{Domain, Look};

/// Bumped whenever code changes what a recipe produces (drawing, captions, training),
/// so stale caches are never reused.
pub const TOY_WORLD_VERSION: u32 = 3;
/// The weights file inside a cache entry.
pub const WEIGHTS_FILE: &str = "toy_clip.safetensors";
/// The recipe/result description beside it.
pub const INFO_FILE: &str = "toy_clip.json";

/// Errors of the toy world.
#[derive(Debug, Error)]
pub enum ToyWorldError {
    #[error("toy world recipe: {0}")]
    Recipe(String),
    #[error("toy world image: {0}")]
    Image(String),
    #[error("toy world cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("toy world cache entry {path} is unreadable ({reason}); delete it to retrain")]
    Cache { path: PathBuf, reason: String },
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Clip(#[from] ClipError),
    #[error("toy world: libtorch failed: {0}")]
    Torch(#[from] tch::TchError),
}

/// Where toy worlds are cached: `~/.cache/dassl-rs/toyworld`, or `DASSL_TOYWORLD_CACHE`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DASSL_TOYWORLD_CACHE") {
        return dir.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    Path::new(&home).join(".cache/dassl-rs/toyworld")
}

/// What `toy_clip.json` records.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ToyClipInfo {
    pub generator: String,
    pub version: u32,
    pub key: String,
    pub seed: u64,
    pub recipe: serde_json::Value,
    pub steps: usize,
    /// Toy class indices (as `toy_classnames` orders them) kept out of pretraining.
    pub held_out_classes: Vec<usize>,
    pub held_out: Vec<String>,
    pub training_combinations: usize,
    pub pretraining: serde_json::Value,
}

/// A ready toy world.
#[derive(Debug, Clone, PartialEq)]
pub struct ToyWorld {
    /// The cache entry (`<cache>/<key>`).
    pub dir: PathBuf,
    /// The CLIP weights: a `MODEL.BACKBONE.NAME` for the CLIP trainers.
    pub weights: PathBuf,
    /// `DATASET.ROOT` for the demo datasets.
    pub data_root: PathBuf,
    pub datasets: Vec<DemoDataset>,
    pub held_out: Vec<Combo>,
    pub info: ToyClipInfo,
    /// True when this call pretrained (false: reused the cache).
    pub trained: bool,
}

impl ToyWorld {
    /// Loads the pretrained CLIP (fp32, CPU).
    pub fn load_clip(&self) -> Result<(nn::VarStore, Clip), ToyWorldError> {
        Ok(Clip::load(&self.weights, Device::Cpu, Precision::Fp32)?)
    }

    /// Zero-shot accuracy of the pretrained CLIP on `split` of every demo dataset.
    pub fn zero_shot(&self, split: &str) -> Result<Vec<ZeroShotReport>, ToyWorldError> {
        let (_vs, clip) = self.load_clip()?;
        self.datasets
            .iter()
            .map(|d| {
                let dir = self.data_root.join(d.dataset_dir);
                zero_shot_split(&clip, &dir, d.split_name, split, &self.held_out)
            })
            .collect()
    }
}

/// The cache key: a hash of everything that decides the weights and the datasets.
pub fn cache_key(recipe: &Recipe, seed: u64, budget: &Budget) -> String {
    #[derive(Serialize)]
    struct Key<'a> {
        version: u32,
        recipe: &'a Recipe,
        seed: u64,
        steps: usize,
        datasets: &'a [DemoDataset],
    }
    let json = python_json(&Key {
        version: TOY_WORLD_VERSION,
        recipe,
        seed,
        steps: budget.steps,
        datasets: &DEMO_DATASETS,
    });
    let digest = Sha256::digest(json.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// True when the toy world of `(recipe, seed, budget)` is pretrained under `cache`.
pub fn is_cached(cache: &Path, seed: u64, recipe: &Recipe, budget: &Budget) -> bool {
    let dir = cache.join(cache_key(recipe, seed, budget));
    dir.join(WEIGHTS_FILE).is_file() && dir.join(INFO_FILE).is_file()
}

/// Environment variable with a JSON object of [`Recipe`] fields that replace the demo's
/// (for tuning the toy world; the cache key follows the recipe).
pub const RECIPE_ENV: &str = "DASSL_TOYWORLD_RECIPE";

/// The demo's recipe: [`Recipe::default`], with the fields given in [`RECIPE_ENV`].
pub fn demo_recipe() -> Result<Recipe, ToyWorldError> {
    let Some(text) = std::env::var_os(RECIPE_ENV) else {
        return Ok(Recipe::default());
    };
    serde_json::from_str(&text.to_string_lossy())
        .map_err(|e| ToyWorldError::Recipe(format!("{RECIPE_ENV}: {e}")))
}

/// [`ensure_toy_world_with`] with the demo recipe.
pub fn ensure_toy_world(
    cache: &Path,
    seed: u64,
    budget: &Budget,
) -> Result<ToyWorld, ToyWorldError> {
    ensure_toy_world_with(cache, seed, &demo_recipe()?, budget)
}

/// Returns the toy world of `(recipe, seed, budget)` under `cache`, pretraining the CLIP
/// (progress lines on stdout) and writing the datasets only when they are not cached.
pub fn ensure_toy_world_with(
    cache: &Path,
    seed: u64,
    recipe: &Recipe,
    budget: &Budget,
) -> Result<ToyWorld, ToyWorldError> {
    let key = cache_key(recipe, seed, budget);
    let dir = cache.join(&key);
    let weights = dir.join(WEIGHTS_FILE);
    let info_path = dir.join(INFO_FILE);
    let data_root = dir.join("data");
    let held = held_out_combos(seed);
    let cached = is_cached(cache, seed, recipe, budget);
    let info = if cached {
        let text = std::fs::read_to_string(&info_path).map_err(|e| ToyWorldError::Cache {
            path: info_path.clone(),
            reason: e.to_string(),
        })?;
        let info: ToyClipInfo = serde_json::from_str(&text).map_err(|e| ToyWorldError::Cache {
            path: info_path.clone(),
            reason: e.to_string(),
        })?;
        print(&format!("toy CLIP: reusing {}", weights.display()));
        info
    } else {
        let combos = training_combos(seed);
        print(&format!(
            "toy CLIP: pretraining {} on {} of 120 combinations ({} held out), {} steps",
            recipe.vision,
            combos.len(),
            held.len(),
            budget.steps
        ));
        tch::set_num_threads(
            std::thread::available_parallelism()
                .map(|n| n.get() as i32)
                .unwrap_or(1),
        );
        let (vs, _clip, report) = pretrain(recipe, &combos, seed, budget, &mut print)?;
        save_weights(&vs, &weights)?;
        let info = ToyClipInfo {
            generator: "dassl-rs toyworld".into(),
            version: TOY_WORLD_VERSION,
            key: key.clone(),
            seed,
            recipe: to_value(recipe),
            steps: budget.steps,
            held_out_classes: held_out_classes(seed),
            held_out: held.iter().map(Combo::phrase).collect(),
            training_combinations: combos.len(),
            pretraining: to_value(&report),
        };
        let text = serde_json::to_string_pretty(&info).unwrap_or_default();
        write_atomic(&info_path, text.as_bytes()).map_err(|source| ToyWorldError::Io {
            path: info_path.clone(),
            source,
        })?;
        print(&format!(
            "toy CLIP: saved {} (loss {:.4} -> {:.4} in {:.0}s)",
            weights.display(),
            report.first_loss,
            report.final_loss,
            report.seconds
        ));
        // As a later run reads it back (JSON floats do not always round-trip exactly).
        serde_json::from_str(&text).unwrap_or(info)
    };
    if !datasets_ready(&data_root, &DEMO_DATASETS) {
        print(&format!(
            "toy world: writing the demo datasets under {}",
            data_root.display()
        ));
        write_datasets(&data_root, seed, recipe.image_size as u32, &DEMO_DATASETS)?;
    }
    Ok(ToyWorld {
        dir,
        weights,
        data_root,
        datasets: DEMO_DATASETS.to_vec(),
        held_out: held,
        info,
        trained: !cached,
    })
}

fn to_value<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests;
