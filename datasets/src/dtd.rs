//! DescribableTextures (CoOp `datasets/dtd.py`).

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::DatasetBase;
use dassl_rs::data::DatasetEntry;
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "DescribableTextures";
const LAYOUT: &str =
    "dtd/\n  images/<texture>/*.jpg\n  imdb/\n  labels/\n  split_zhou_DescribableTextures.json";

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    common::folder_split_dataset(cfg, NAME, "dtd", "images", LAYOUT, &[], &[])
}
