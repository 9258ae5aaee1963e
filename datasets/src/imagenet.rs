//! ImageNet (CoOp `datasets/imagenet.py`): the official val set is the test
//! set and also serves as val; few-shot sampling applies to train only.

use std::collections::HashMap;
use std::path::Path;

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::split::{self, FewShotScope, Split};
use dassl_rs::data::DatasetEntry;
use dassl_rs::data::{DatasetBase, Datum};
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "ImageNet";
const LAYOUT: &str = "imagenet/\n  images/train/<wnid>/*.JPEG   (1,000 folders like n01440764)\n  images/val/<wnid>/*.JPEG\n  classnames.txt   (\"<wnid> <class name>\" per line)";

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    let dataset_dir = split::dataset_root(cfg)?.join("imagenet");
    split::require_dir(NAME, &dataset_dir, LAYOUT)?;
    let image_dir = dataset_dir.join("images");
    for sub in ["train", "val"] {
        split::require_dir(NAME, &image_dir.join(sub), LAYOUT)?;
    }
    let classnames_file = dataset_dir.join("classnames.txt");
    let classnames: HashMap<String, String> = common::read_imagenet_classnames(&classnames_file)?
        .into_iter()
        .collect();
    let train = read_data(&classnames, &classnames_file, &image_dir.join("train"))?;
    let test = read_data(&classnames, &classnames_file, &image_dir.join("val"))?;
    let mut rng = split::stream_for_seed(cfg.int("SEED")?);
    let split = Split {
        train,
        val: Vec::new(),
        test,
    };
    split::finish_coop(
        cfg,
        &dataset_dir,
        &image_dir,
        split,
        FewShotScope::TrainOnly,
        &mut rng,
    )
}

/// Label = index of the wnid folder among the sorted folders.
fn read_data(
    classnames: &HashMap<String, String>,
    classnames_file: &Path,
    split_dir: &Path,
) -> Result<Vec<Datum>, DataError> {
    let mut items = Vec::new();
    for (label, folder) in split::class_folders(split_dir)?.iter().enumerate() {
        let classname = common::classname_of(classnames, folder, classnames_file)?;
        items.extend(common::class_items(
            &split_dir.join(folder),
            label,
            classname,
        )?);
    }
    Ok(items)
}
