//! FGVCAircraft (CoOp `datasets/fgvc_aircraft.py`): the official
//! train/val/test lists, no split JSON.

use std::collections::HashMap;
use std::path::Path;

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::split::{self, FewShotScope, Split};
use dassl_rs::data::DatasetEntry;
use dassl_rs::data::{DatasetBase, Datum};
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "FGVCAircraft";
const LAYOUT: &str = "fgvc_aircraft/   (the data/ folder of fgvc-aircraft-2013b, renamed)\n  images/<id>.jpg\n  variants.txt\n  images_variant_train.txt, images_variant_val.txt, images_variant_test.txt";

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    let dataset_dir = split::dataset_root(cfg)?.join("fgvc_aircraft");
    split::require_dir(NAME, &dataset_dir, LAYOUT)?;
    let image_dir = dataset_dir.join("images");
    split::require_dir(NAME, &image_dir, LAYOUT)?;
    // Label = line index in variants.txt.
    let cname2lab: HashMap<String, usize> = common::lines(&dataset_dir.join("variants.txt"))?
        .into_iter()
        .enumerate()
        .map(|(i, (_, l))| (l, i))
        .collect();
    let read = |part: &str| {
        read_data(
            &cname2lab,
            &dataset_dir.join(format!("images_variant_{part}.txt")),
            &image_dir,
        )
    };
    let split = Split {
        train: read("train")?,
        val: read("val")?,
        test: read("test")?,
    };
    let mut rng = split::stream_for_seed(cfg.int("SEED")?);
    split::finish_coop(
        cfg,
        &dataset_dir,
        &image_dir,
        split,
        FewShotScope::TrainVal,
        &mut rng,
    )
}

/// `1025794 Boeing 707-320`: image id, then the variant name.
fn read_data(
    cname2lab: &HashMap<String, usize>,
    path: &Path,
    image_dir: &Path,
) -> Result<Vec<Datum>, DataError> {
    common::lines(path)?
        .into_iter()
        .map(|(n, line)| {
            let (id, classname) = line.split_once(' ').unwrap_or((&line, ""));
            let label = *cname2lab.get(classname).ok_or_else(|| {
                common::bad_line(
                    path,
                    n,
                    format!("variant {classname:?} is not in variants.txt"),
                )
            })?;
            split::datum(image_dir.join(format!("{id}.jpg")), label, classname, path)
        })
        .collect()
}
