//! The demo's toy datasets: demo classes ([`Combo::demo_class`]) drawn in one domain each, with random nuisances,
//! written in CoOp's layout (`images/<class_folder>/NNNN.jpg` and a 50/20/30 split file).

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use super::captions::Combo;
use super::pretrain::render;
use super::style::{Domain, Look};
use super::ToyWorldError;
use crate::data::pyrandom::PyRandom;
use crate::data::split::{python_json, read_and_split_data, save_split};
use crate::data::toy::{encode_jpeg, TOY_DATASET_DIR, TOY_MARKER, TOY_SPLIT_NAME};
use crate::fsutil::write_atomic;

/// Folder of the second demo dataset (read by the `ToyShapes20` dataset plugin).
pub const TOY20_DATASET_DIR: &str = "toy_shapes20";
/// Its split name (`split_zhou_ToyShapes20.json`).
pub const TOY20_SPLIT_NAME: &str = "ToyShapes20";

/// One toy dataset of the demo: where it is written and what reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemoDataset {
    /// The registered `DATASET.NAME` that reads it (with `DATASET.ROOT` = the data root).
    pub dataset_name: &'static str,
    /// Folder under the data root.
    pub dataset_dir: &'static str,
    /// `split_zhou_<split_name>.json`.
    pub split_name: &'static str,
    /// The first `num_classes` demo classes ([`Combo::demo_class`]).
    pub num_classes: usize,
    /// 50/20/30 split: 50 images give 25 train per class (16 shots exist), 10 val, 15 test.
    pub images_per_class: usize,
    /// Every image of the dataset is in this domain.
    pub domain: Domain,
}

/// The demo's toy datasets, each in a domain the zero-shot prompt does not name.
pub const DEMO_DATASETS: [DemoDataset; 2] = [
    DemoDataset {
        dataset_name: "ToyShapes",
        dataset_dir: TOY_DATASET_DIR,
        split_name: TOY_SPLIT_NAME,
        num_classes: 16,
        images_per_class: 50,
        domain: Domain::Infrared,
    },
    DemoDataset {
        dataset_name: "ToyShapes20",
        dataset_dir: TOY20_DATASET_DIR,
        split_name: TOY20_SPLIT_NAME,
        num_classes: 20,
        images_per_class: 50,
        domain: Domain::Ultraviolet,
    },
];

#[derive(Serialize)]
struct Marker<'a> {
    generator: &'static str,
    seed: u64,
    image_size: u32,
    dataset: &'a DemoDataset,
    classnames: &'a [String],
}

/// Writes every demo dataset under `root` (deterministic for `seed`).
pub fn write_datasets(
    root: &Path,
    seed: u64,
    image_size: u32,
    datasets: &[DemoDataset],
) -> Result<(), ToyWorldError> {
    for (index, d) in datasets.iter().enumerate() {
        write_one(root, seed, index as u32, image_size, d)?;
    }
    Ok(())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ToyWorldError + '_ {
    move |source| ToyWorldError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_one(
    root: &Path,
    seed: u64,
    index: u32,
    image_size: u32,
    d: &DemoDataset,
) -> Result<(), ToyWorldError> {
    let dataset_dir = root.join(d.dataset_dir);
    let image_dir = dataset_dir.join("images");
    if dataset_dir.exists() {
        std::fs::remove_dir_all(&dataset_dir).map_err(io(&dataset_dir))?;
    }
    let classes: Vec<Combo> = (0..d.num_classes).map(Combo::demo_class).collect();
    let classnames: Vec<String> = classes.iter().map(Combo::phrase).collect();
    let jobs: Vec<(usize, usize)> = (0..classes.len())
        .flat_map(|c| (0..d.images_per_class).map(move |i| (c, i)))
        .collect();
    jobs.par_iter().try_for_each(|&(c, i)| {
        let mut rng = PyRandom::from_key_words(&[
            seed as u32,
            (seed >> 32) as u32,
            0x4441_5441,
            index,
            c as u32,
            i as u32,
        ]);
        let look = Look::random(d.domain, &mut rng);
        let img = render(classes[c], &look, image_size, &mut rng)?;
        let path = image_dir
            .join(classnames[c].replace(' ', "_"))
            .join(format!("{i:04}.jpg"));
        write_atomic(&path, &encode_jpeg(&img)?).map_err(io(&path))
    })?;
    let names: HashMap<String, String> = classnames
        .iter()
        .map(|n| (n.replace(' ', "_"), n.clone()))
        .collect();
    // CoOp's fallback folder split, on a stream of its own for this dataset.
    let mut rng = PyRandom::from_key_words(&[seed as u32, (seed >> 32) as u32, index, u32::MAX]);
    let split = read_and_split_data(&image_dir, 0.5, 0.2, &[], &names, &mut rng)?;
    let split_path = dataset_dir.join(format!("split_zhou_{}.json", d.split_name));
    save_split(&split, &split_path, &image_dir)?;
    let marker = python_json(&Marker {
        generator: "dassl-rs toyworld",
        seed,
        image_size,
        dataset: d,
        classnames: &classnames,
    });
    let marker_path = dataset_dir.join(TOY_MARKER);
    write_atomic(&marker_path, marker.as_bytes()).map_err(io(&marker_path))
}

/// True when every dataset's marker and split file are on disk.
pub fn datasets_ready(root: &Path, datasets: &[DemoDataset]) -> bool {
    datasets.iter().all(|d| {
        let p = root.join(d.dataset_dir);
        p.join(TOY_MARKER).is_file()
            && p.join(format!("split_zhou_{}.json", d.split_name))
                .is_file()
    })
}
