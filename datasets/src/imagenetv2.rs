//! ImageNetV2 matched-frequency (CoOp `datasets/imagenetv2.py`), test only:
//! folder `i` holds class `i` of `classnames.txt`.

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::split;
use dassl_rs::data::DatasetBase;
use dassl_rs::data::DatasetEntry;
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "ImageNetV2";
const LAYOUT: &str = "imagenetv2/\n  imagenetv2-matched-frequency-format-val/<0..999>/*.jpeg\n  classnames.txt   (copied from imagenet/)";

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    let dataset_dir = split::dataset_root(cfg)?.join("imagenetv2");
    split::require_dir(NAME, &dataset_dir, LAYOUT)?;
    let image_dir = dataset_dir.join("imagenetv2-matched-frequency-format-val");
    split::require_dir(NAME, &image_dir, LAYOUT)?;
    let classnames = common::read_imagenet_classnames(&dataset_dir.join("classnames.txt"))?;
    // Upstream loops over range(1000); the class list has exactly those 1,000 entries.
    let mut data = Vec::new();
    for (label, (_, classname)) in classnames.iter().enumerate() {
        let class_dir = image_dir.join(label.to_string());
        split::require_dir(NAME, &class_dir, LAYOUT)?;
        data.extend(common::class_items(&class_dir, label, classname)?);
    }
    Ok(common::test_only(data))
}
