//! Helpers shared by the CoOp dataset plugins (what CoOp shares through
//! `OxfordPets`, `DescribableTextures` and `ImageNet` static methods).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::split::{self, Split, SplitLayout};
use dassl_rs::data::{DatasetBase, Datum};
use dassl_rs::errors::{ConfigError, DataError};

/// CoOp's `extend_cfg` part every dataset relies on.
pub fn declare_subsample(b: &mut ConfigBuilder, plugin: &str) -> Result<(), ConfigError> {
    b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", plugin)
}

/// Reads a text file, naming it on failure.
pub fn read_text(path: &Path) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Non-empty stripped lines with their 1-based line numbers (Python's
/// `line.strip()` over `readlines()`; blank lines carry no data).
pub fn lines(path: &Path) -> Result<Vec<(usize, String)>, DataError> {
    Ok(read_text(path)?
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .filter(|(_, l)| !l.is_empty())
        .collect())
}

/// A parse error at `path:line`.
pub fn bad_line(path: &Path, line: usize, reason: impl Into<String>) -> DataError {
    DataError::BadAnnotation {
        path: path.to_path_buf(),
        line: Some(line),
        reason: reason.into(),
    }
}

/// `ImageNet.read_classnames`: `<folder> <class name>` per line, in file order.
pub fn read_imagenet_classnames(path: &Path) -> Result<Vec<(String, String)>, DataError> {
    Ok(lines(path)?
        .into_iter()
        .map(|(_, l)| match l.split_once(' ') {
            Some((folder, name)) => (folder.to_string(), name.to_string()),
            None => (l, String::new()),
        })
        .collect())
}

/// The class name of `folder` from `classnames.txt` (upstream: a `KeyError`).
pub fn classname_of<'a>(
    map: &'a HashMap<String, String>,
    folder: &str,
    classnames_file: &Path,
) -> Result<&'a str, DataError> {
    map.get(folder)
        .map(String::as_str)
        .ok_or_else(|| DataError::BadAnnotation {
            path: classnames_file.to_path_buf(),
            line: None,
            reason: format!("no class name for folder {folder:?}"),
        })
}

/// Every non-hidden file of `class_dir` as one class's data (sorted names).
pub fn class_items(
    class_dir: &Path,
    label: usize,
    classname: &str,
) -> Result<Vec<Datum>, DataError> {
    Ok(split::listdir_nohidden(class_dir)?
        .into_iter()
        .map(|n| class_dir.join(n))
        .filter(|p| p.is_file())
        .map(|impath| Datum {
            impath,
            label,
            domain: 0,
            classname: classname.to_string(),
        })
        .collect())
}

/// Test-only datasets: `DatasetBase(train_x=data, test=data)`, no val.
pub fn test_only(data: Vec<Datum>) -> DatasetBase {
    DatasetBase {
        train_x: data.clone(),
        val: Vec::new(),
        test: data,
    }
}

/// The test-only ImageNet variants whose label is the index of the wnid
/// folder among the sorted folders (minus `ignored`), named by `classnames.txt`.
pub fn imagenet_variant(
    cfg: &Config,
    name: &'static str,
    dir: &str,
    image_dir: &str,
    ignored: &[&str],
    layout: &'static str,
) -> Result<DatasetBase, DataError> {
    let dataset_dir = split::dataset_root(cfg)?.join(dir);
    split::require_dir(name, &dataset_dir, layout)?;
    let image_dir = dataset_dir.join(image_dir);
    split::require_dir(name, &image_dir, layout)?;
    let classnames_file = dataset_dir.join("classnames.txt");
    let classnames: HashMap<String, String> = read_imagenet_classnames(&classnames_file)?
        .into_iter()
        .collect();
    // Upstream lists everything and drops README.txt; stray files would crash it, so skip them.
    let folders: Vec<String> = split::listdir_nohidden(&image_dir)?
        .into_iter()
        .filter(|f| !ignored.contains(&f.as_str()) && image_dir.join(f).is_dir())
        .collect();
    let mut data = Vec::new();
    for (label, folder) in folders.iter().enumerate() {
        let classname = classname_of(&classnames, folder, &classnames_file)?;
        data.extend(class_items(&image_dir.join(folder), label, classname)?);
    }
    Ok(test_only(data))
}

/// The datasets CoOp splits from class folders with `read_and_split_data`
/// (50/20/30) when their split file is missing: Caltech101, DTD, Food101, EuroSAT.
pub fn folder_split_dataset(
    cfg: &Config,
    name: &'static str,
    dir: &str,
    image_dir: &str,
    layout: &'static str,
    ignored: &[&str],
    new_cnames: &[(&str, &str)],
) -> Result<DatasetBase, DataError> {
    let dataset_dir = split::dataset_root(cfg)?.join(dir);
    split::require_dir(name, &dataset_dir, layout)?;
    let image_dir = dataset_dir.join(image_dir);
    split::require_dir(name, &image_dir, layout)?;
    let layout = SplitLayout {
        name,
        split_path: dataset_dir.join(format!("split_zhou_{name}.json")),
        dataset_dir,
        prefix: image_dir.clone(),
    };
    let renames: HashMap<String, String> = new_cnames
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    split::build_split_dataset(cfg, &layout, |rng| {
        split::read_and_split_data(&image_dir, 0.5, 0.2, ignored, &renames, rng)
    })
}

/// A split-file dataset whose fallback is an annotation-file train/val split
/// (`split_trainval`, 80/20) over `trainval`, with `test` as given.
pub fn trainval_split(
    trainval: Vec<Datum>,
    test: Vec<Datum>,
    source: &Path,
    rng: &mut dassl_rs::data::pyrandom::PyRandom,
) -> Result<Split, DataError> {
    let (train, val) = split::split_trainval(trainval, 0.2, source, rng)?;
    Ok(Split { train, val, test })
}

/// `root/dir` and its split file path for the usual `split_zhou_<Name>.json`.
pub fn split_layout(
    cfg: &Config,
    name: &'static str,
    dir: &str,
    prefix: Option<&str>,
) -> Result<SplitLayout, DataError> {
    let dataset_dir = split::dataset_root(cfg)?.join(dir);
    let prefix: PathBuf = match prefix {
        Some(p) => dataset_dir.join(p),
        None => dataset_dir.clone(),
    };
    Ok(SplitLayout {
        name,
        split_path: dataset_dir.join(format!("split_zhou_{name}.json")),
        dataset_dir,
        prefix,
    })
}
