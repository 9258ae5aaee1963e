//! Caltech101 (CoOp `datasets/caltech101.py`).

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::DatasetBase;
use dassl_rs::data::DatasetEntry;
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "Caltech101";
const LAYOUT: &str =
    "caltech-101/\n  101_ObjectCategories/<class>/*.jpg\n  split_zhou_Caltech101.json";
/// Not object classes, so CoOp leaves them out.
const IGNORED: [&str; 2] = ["BACKGROUND_Google", "Faces_easy"];
/// Plural or capitalised folder names made into prompt-friendly class names.
const NEW_CNAMES: [(&str, &str); 4] = [
    ("airplanes", "airplane"),
    ("Faces", "face"),
    ("Leopards", "leopard"),
    ("Motorbikes", "motorbike"),
];

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    common::folder_split_dataset(
        cfg,
        NAME,
        "caltech-101",
        "101_ObjectCategories",
        LAYOUT,
        &IGNORED,
        &NEW_CNAMES,
    )
}
