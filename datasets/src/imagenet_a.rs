//! ImageNet-A (CoOp `datasets/imagenet_a.py`), test only: 200 wnid folders, labelled 0..199 in sorted order.

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::DatasetBase;
use dassl_rs::data::DatasetEntry;
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "ImageNetA";
const LAYOUT: &str = "imagenet-adversarial/\n  imagenet-a/<wnid>/*.jpg   (200 folders; README.txt ignored)\n  classnames.txt   (copied from imagenet/)";

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    common::imagenet_variant(
        cfg,
        NAME,
        "imagenet-adversarial",
        "imagenet-a",
        &["README.txt"],
        LAYOUT,
    )
}
