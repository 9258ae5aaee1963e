//! OxfordPets (CoOp `datasets/oxford_pets.py`).

use std::path::Path;

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::split;
use dassl_rs::data::DatasetEntry;
use dassl_rs::data::{DatasetBase, Datum};
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "OxfordPets";
const LAYOUT: &str = "oxford_pets/\n  images/<Breed_N>.jpg\n  annotations/trainval.txt, test.txt\n  split_zhou_OxfordPets.json";

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    let layout = common::split_layout(cfg, NAME, "oxford_pets", Some("images"))?;
    split::require_dir(NAME, &layout.dataset_dir, LAYOUT)?;
    split::require_dir(NAME, &layout.prefix, LAYOUT)?;
    let anno_dir = layout.dataset_dir.join("annotations");
    let image_dir = layout.prefix.clone();
    split::build_split_dataset(cfg, &layout, |rng| {
        let trainval_file = anno_dir.join("trainval.txt");
        let trainval = read_data(&trainval_file, &image_dir)?;
        let test = read_data(&anno_dir.join("test.txt"), &image_dir)?;
        common::trainval_split(trainval, test, &trainval_file, rng)
    })
}

/// `Abyssinian_100 1 1 1` lines: breed = name minus its trailing `_<n>`,
/// lowercased; label = second column minus one.
fn read_data(path: &Path, image_dir: &Path) -> Result<Vec<Datum>, DataError> {
    common::lines(path)?
        .into_iter()
        .map(|(n, line)| {
            let cols: Vec<&str> = line.split(' ').collect();
            let [imname, label, _species, _] = cols[..] else {
                return Err(common::bad_line(
                    path,
                    n,
                    format!("expected 4 space-separated columns, found {line:?}"),
                ));
            };
            let parts: Vec<&str> = imname.split('_').collect();
            let breed = parts[..parts.len() - 1].join("_").to_lowercase();
            let label: usize = label
                .parse::<usize>()
                .ok()
                .and_then(|l| l.checked_sub(1))
                .ok_or_else(|| {
                    common::bad_line(
                        path,
                        n,
                        format!("class id {label:?} is not a positive integer"),
                    )
                })?;
            split::datum(image_dir.join(format!("{imname}.jpg")), label, breed, path)
        })
        .collect()
}
