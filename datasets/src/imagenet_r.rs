//! ImageNet-R (CoOp `datasets/imagenet_r.py`), test only: 200 wnid folders, labelled 0..199 in sorted order.

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::DatasetBase;
use dassl_rs::data::DatasetEntry;
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "ImageNetR";
const LAYOUT: &str = "imagenet-rendition/\n  imagenet-r/<wnid>/*.jpg   (200 folders; README.txt ignored)\n  classnames.txt   (copied from imagenet/)";

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
        "imagenet-rendition",
        "imagenet-r",
        &["README.txt"],
        LAYOUT,
    )
}
