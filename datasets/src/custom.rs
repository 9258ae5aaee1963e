//! `Custom`: a dataset declared by one YAML file (`DATASET.CUSTOM_SPEC`), so
//! adding data needs no code (CoOp issues #6, #37, #57: users had to write,
//! register and import a Python class). The format is in docs/DATASETS.md.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::split::{self, SplitLayout};
use dassl_rs::data::DatasetBase;
use dassl_rs::data::DatasetEntry;
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "Custom";
const LAYOUT: &str = "<dataset_dir>/   (from the spec named by DATASET.CUSTOM_SPEC)\n  <image_dir>/<class>/*.jpg   (source: folders)\n  <split_file>                (source: split, or written for folders)";

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)?;
    b.declare("DATASET.CUSTOM_SPEC", "''", NAME)
}

/// Where the classes and the split come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Source {
    /// Sorted class folders; split as CoOp's fallback (then saved) unless the split file exists.
    #[default]
    Folders,
    /// A split file in CoOp's format that must exist.
    Split,
}

/// What the split file's paths are relative to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RelativeTo {
    #[default]
    ImageDir,
    DatasetDir,
}

/// The YAML spec. Unknown keys are errors, so a typo is not silently ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    dataset_dir: PathBuf,
    #[serde(default)]
    name: Option<String>,
    #[serde(default = "default_image_dir")]
    image_dir: PathBuf,
    #[serde(default)]
    source: Source,
    #[serde(default)]
    split_file: Option<PathBuf>,
    #[serde(default)]
    paths_relative_to: RelativeTo,
    #[serde(default = "default_train_ratio")]
    train_ratio: f64,
    #[serde(default = "default_val_ratio")]
    val_ratio: f64,
    #[serde(default)]
    ignored: Vec<String>,
    #[serde(default)]
    classnames: BTreeMap<String, String>,
}

fn default_image_dir() -> PathBuf {
    PathBuf::from("images")
}
fn default_train_ratio() -> f64 {
    0.5
}
fn default_val_ratio() -> f64 {
    0.2
}

/// The spec file: as given (absolute or from the working folder), else under DATASET.ROOT.
fn spec_path(cfg: &Config, root: &Path) -> Result<PathBuf, DataError> {
    let raw = cfg.str("DATASET.CUSTOM_SPEC")?;
    if raw.is_empty() {
        return Err(DataError::BadSpec {
            path: PathBuf::from("DATASET.CUSTOM_SPEC"),
            reason: "the Custom dataset needs DATASET.CUSTOM_SPEC set to a YAML spec file (see docs/DATASETS.md)".into(),
        });
    }
    let given = split::expand_user(raw);
    if given.is_file() || given.is_absolute() {
        return Ok(given);
    }
    let under_root = root.join(&given);
    Ok(if under_root.is_file() {
        under_root
    } else {
        given
    })
}

fn load_spec(path: &Path) -> Result<Spec, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let spec: Spec = serde_yaml::from_str(&text).map_err(|e| DataError::BadSpec {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let bad = |reason: String| DataError::BadSpec {
        path: path.to_path_buf(),
        reason,
    };
    if !(spec.train_ratio > 0.0 && spec.val_ratio > 0.0 && spec.train_ratio + spec.val_ratio < 1.0)
    {
        return Err(bad(format!(
            "train_ratio {} and val_ratio {} must be positive and leave a test share (sum below 1)",
            spec.train_ratio, spec.val_ratio
        )));
    }
    if spec.source == Source::Split && spec.split_file.is_none() {
        return Err(bad("source: split needs split_file".into()));
    }
    Ok(spec)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    let root = split::dataset_root(cfg)?;
    let spec_file = spec_path(cfg, &root)?;
    let spec = load_spec(&spec_file)?;
    let name = spec.name.clone().unwrap_or_else(|| {
        spec_file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| NAME.into())
    });
    let dataset_dir = root.join(&spec.dataset_dir);
    split::require_dir(NAME, &dataset_dir, LAYOUT)?;
    let image_dir = dataset_dir.join(&spec.image_dir);
    let split_path = dataset_dir.join(
        spec.split_file
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("split_zhou_{name}.json"))),
    );
    let prefix = match spec.paths_relative_to {
        RelativeTo::ImageDir => image_dir.clone(),
        RelativeTo::DatasetDir => dataset_dir.clone(),
    };
    match spec.source {
        Source::Folders => split::require_dir(NAME, &image_dir, LAYOUT)?,
        Source::Split if !split_path.is_file() => {
            return Err(DataError::BadSpec {
                path: spec_file,
                reason: format!(
                    "source: split, but the split file {} does not exist",
                    split_path.display()
                ),
            });
        }
        Source::Split => {}
    }
    let renames: HashMap<String, String> = spec.classnames.clone().into_iter().collect();
    let ignored: Vec<&str> = spec.ignored.iter().map(String::as_str).collect();
    let layout = SplitLayout {
        name: NAME,
        dataset_dir,
        prefix,
        split_path: split_path.clone(),
    };
    let mut rng = split::stream_for_seed(cfg.int("SEED")?);
    let mut data =
        split::load_or_create_split(&layout.split_path, &layout.prefix, &mut rng, |rng| {
            split::read_and_split_data(
                &image_dir,
                spec.train_ratio,
                spec.val_ratio,
                &ignored,
                &renames,
                rng,
            )
        })?;
    // The map also renames classes of a given split file (idempotent for names it produced).
    for d in data
        .train
        .iter_mut()
        .chain(&mut data.val)
        .chain(&mut data.test)
    {
        if let Some(new) = renames.get(&d.classname) {
            d.classname = new.clone();
        }
    }
    let all: Vec<_> = data
        .train
        .iter()
        .chain(&data.val)
        .chain(&data.test)
        .cloned()
        .collect();
    split::check_label_names(&all, &split_path)?;
    split::finish_coop(
        cfg,
        &layout.dataset_dir,
        &layout.prefix,
        data,
        split::FewShotScope::TrainVal,
        &mut rng,
    )
}
