//! EuroSAT (CoOp `datasets/eurosat.py`).

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::DatasetBase;
use dassl_rs::data::DatasetEntry;
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "EuroSAT";
const LAYOUT: &str = "eurosat/\n  2750/<AnnualCrop|Forest|...>/*.jpg\n  split_zhou_EuroSAT.json";
/// CoOp's descriptive names: the CamelCase folder names make poor prompts.
const NEW_CNAMES: [(&str, &str); 10] = [
    ("AnnualCrop", "Annual Crop Land"),
    ("Forest", "Forest"),
    ("HerbaceousVegetation", "Herbaceous Vegetation Land"),
    ("Highway", "Highway or Road"),
    ("Industrial", "Industrial Buildings"),
    ("Pasture", "Pasture Land"),
    ("PermanentCrop", "Permanent Crop Land"),
    ("Residential", "Residential Buildings"),
    ("River", "River"),
    ("SeaLake", "Sea or Lake"),
];

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    common::folder_split_dataset(cfg, NAME, "eurosat", "2750", LAYOUT, &[], &NEW_CNAMES)
}
