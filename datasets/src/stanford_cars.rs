//! StanfordCars (CoOp `datasets/stanford_cars.py`): split paths are relative
//! to the dataset folder, since the images sit in `cars_train/` and `cars_test/`.

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::split;
use dassl_rs::data::DatasetBase;
use dassl_rs::data::DatasetEntry;
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "StanfordCars";
const LAYOUT: &str = "stanford_cars/\n  cars_train/\n  cars_test/\n  cars_test_annos_withlabels.mat\n  devkit/\n  split_zhou_StanfordCars.json";

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    let layout = common::split_layout(cfg, NAME, "stanford_cars", None)?;
    split::require_dir(NAME, &layout.dataset_dir, LAYOUT)?;
    let split_path = layout.split_path.clone();
    split::build_split_dataset(cfg, &layout, |_| {
        Err(DataError::MissingSplit {
            name: NAME,
            path: split_path,
            why: "CoOp's fallback reads the devkit's MATLAB .mat annotations, which dassl-rs does not parse",
        })
    })
}
