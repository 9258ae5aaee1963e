//! SUN397 (CoOp `datasets/sun397.py`).

use std::collections::HashMap;
use std::path::Path;

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::split;
use dassl_rs::data::DatasetEntry;
use dassl_rs::data::{DatasetBase, Datum};
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "SUN397";
const LAYOUT: &str = "sun397/\n  SUN397/<letter>/<scene>[/<sub>]/*.jpg\n  ClassName.txt, Training_01.txt, Testing_01.txt\n  split_zhou_SUN397.json";

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    let layout = common::split_layout(cfg, NAME, "sun397", Some("SUN397"))?;
    split::require_dir(NAME, &layout.dataset_dir, LAYOUT)?;
    split::require_dir(NAME, &layout.prefix, LAYOUT)?;
    let (dataset_dir, image_dir) = (layout.dataset_dir.clone(), layout.prefix.clone());
    split::build_split_dataset(cfg, &layout, |rng| {
        // "/a/abbey" -> "a/abbey": label = line index.
        let cname2lab: HashMap<String, usize> = common::lines(&dataset_dir.join("ClassName.txt"))?
            .into_iter()
            .enumerate()
            .map(|(i, (_, l))| (l.chars().skip(1).collect(), i))
            .collect();
        let trainval_file = dataset_dir.join("Training_01.txt");
        let trainval = read_data(&cname2lab, &trainval_file, &image_dir)?;
        let test = read_data(&cname2lab, &dataset_dir.join("Testing_01.txt"), &image_dir)?;
        common::trainval_split(trainval, test, &trainval_file, rng)
    })
}

/// Class name from the class path: drop the letter folder and reverse the
/// rest ("a/apartment_building/outdoor" -> "outdoor apartment_building").
pub(crate) fn sun_classname(class_path: &str) -> String {
    let mut names: Vec<&str> = class_path.split('/').skip(1).collect();
    names.reverse();
    names.join(" ")
}

fn read_data(
    cname2lab: &HashMap<String, usize>,
    path: &Path,
    image_dir: &Path,
) -> Result<Vec<Datum>, DataError> {
    common::lines(path)?
        .into_iter()
        .map(|(n, line)| {
            let imname: String = line.chars().skip(1).collect();
            let class_path = imname.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            let label = *cname2lab.get(class_path).ok_or_else(|| {
                common::bad_line(
                    path,
                    n,
                    format!("class {class_path:?} is not in ClassName.txt"),
                )
            })?;
            split::datum(
                image_dir.join(&imname),
                label,
                sun_classname(class_path),
                path,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn classname_rule() {
        assert_eq!(super::sun_classname("a/abbey"), "abbey");
        assert_eq!(
            super::sun_classname("a/apartment_building/outdoor"),
            "outdoor apartment_building"
        );
    }
}
