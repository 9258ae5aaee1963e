//! Datasets and the data pipeline.

pub mod check;
pub mod decode;
pub mod fewshot;
pub mod loader;
pub mod manager;
pub mod pyrandom;
pub mod resize;
pub mod split;
pub mod torch_order;
pub mod toy;
pub mod transforms;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::{Config, ExtendCfg};
use crate::errors::DataError;

/// A dataset plugin (`@DATASET_REGISTRY.register()`).
#[derive(Debug)]
pub struct DatasetEntry {
    pub name: &'static str,
    pub extend_cfg: ExtendCfg,
    pub build: fn(&Config) -> Result<DatasetBase, DataError>,
}

crate::registry::registry_entry!(DatasetEntry, "DATASET");

/// One labelled image (Dassl's `Datum`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datum {
    pub impath: PathBuf,
    pub label: usize,
    pub domain: usize,
    pub classname: String,
}

/// A dataset's splits (Dassl's `DatasetBase`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetBase {
    pub train_x: Vec<Datum>,
    pub val: Vec<Datum>,
    pub test: Vec<Datum>,
}

impl DatasetBase {
    /// `max(label in train_x) + 1`, as Dassl counts classes.
    pub fn num_classes(&self) -> usize {
        self.train_x.iter().map(|d| d.label + 1).max().unwrap_or(0)
    }

    /// Label -> class name, from train_x as Dassl builds it.
    pub fn lab2cname(&self) -> BTreeMap<usize, String> {
        self.train_x
            .iter()
            .map(|d| (d.label, d.classname.clone()))
            .collect()
    }

    /// Class names ordered by label.
    pub fn classnames(&self) -> Vec<String> {
        self.lab2cname().into_values().collect()
    }
}
