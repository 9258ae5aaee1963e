//! OxfordFlowers (CoOp `datasets/oxford_flowers.py`).

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::split;
use dassl_rs::data::DatasetBase;
use dassl_rs::data::DatasetEntry;
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "OxfordFlowers";
const LAYOUT: &str = "oxford_flowers/\n  jpg/image_XXXXX.jpg\n  imagelabels.mat\n  cat_to_name.json\n  split_zhou_OxfordFlowers.json";

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    let layout = common::split_layout(cfg, NAME, "oxford_flowers", Some("jpg"))?;
    split::require_dir(NAME, &layout.dataset_dir, LAYOUT)?;
    split::require_dir(NAME, &layout.prefix, LAYOUT)?;
    let split_path = layout.split_path.clone();
    split::build_split_dataset(cfg, &layout, |_| {
        Err(DataError::MissingSplit {
            name: NAME,
            path: split_path,
            why: "CoOp's fallback reads the labels from imagelabels.mat (MATLAB), which dassl-rs does not parse",
        })
    })
}
