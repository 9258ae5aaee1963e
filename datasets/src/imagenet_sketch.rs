//! ImageNet-Sketch (CoOp `datasets/imagenet_sketch.py`), test only, 1,000 classes.

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::DatasetBase;
use dassl_rs::data::DatasetEntry;
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "ImageNetSketch";
const LAYOUT: &str = "imagenet-sketch/\n  images/<wnid>/*.JPEG   (1,000 folders)\n  classnames.txt   (copied from imagenet/)";

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    common::imagenet_variant(cfg, NAME, "imagenet-sketch", "images", &[], LAYOUT)
}
