//! ToyShapes20: the toy world's second demo dataset (the first 20 demo classes, made
//! by `dassl_rs::toyworld`), read through CoOp's split-file path like ToyShapes.

use std::collections::HashMap;

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::split;
use dassl_rs::data::DatasetBase;
use dassl_rs::data::DatasetEntry;
use dassl_rs::errors::{ConfigError, DataError};
use dassl_rs::toyworld::{TOY20_DATASET_DIR, TOY20_SPLIT_NAME};

use crate::common;

const NAME: &str = "ToyShapes20";
const LAYOUT: &str = "toy_shapes20/   (made by dassl_rs::toyworld::ensure_toy_world)\n  images/<colour>_<texture>_<shape>/NNNN.jpg\n  split_zhou_ToyShapes20.json";

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    let mut layout = common::split_layout(cfg, NAME, TOY20_DATASET_DIR, Some("images"))?;
    layout.split_path = layout
        .dataset_dir
        .join(format!("split_zhou_{TOY20_SPLIT_NAME}.json"));
    split::require_dir(NAME, &layout.dataset_dir, LAYOUT)?;
    split::require_dir(NAME, &layout.prefix, LAYOUT)?;
    let image_dir = layout.prefix.clone();
    split::build_split_dataset(cfg, &layout, |rng| {
        // Folder "red_striped_circle" is class "red striped circle".
        let names: HashMap<String, String> = split::class_folders(&image_dir)?
            .into_iter()
            .map(|f| (f.clone(), f.replace('_', " ")))
            .collect();
        split::read_and_split_data(&image_dir, 0.5, 0.2, &[], &names, rng)
    })
}
