//! Food101 (CoOp `datasets/food101.py`; the fallback split is CoOp's 50/20/30, not the official one).

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::DatasetBase;
use dassl_rs::data::DatasetEntry;
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "Food101";
const LAYOUT: &str = "food-101/\n  images/<dish>/*.jpg\n  meta/\n  split_zhou_Food101.json";

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    common::folder_split_dataset(cfg, NAME, "food-101", "images", LAYOUT, &[], &[])
}
