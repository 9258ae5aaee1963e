//! UCF101 (CoOp `datasets/ucf101.py`), on the middle frames of the videos.

use std::collections::HashMap;
use std::path::Path;

use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::split;
use dassl_rs::data::DatasetEntry;
use dassl_rs::data::{DatasetBase, Datum};
use dassl_rs::errors::{ConfigError, DataError};

use crate::common;

const NAME: &str = "UCF101";
const LAYOUT: &str = "ucf101/\n  UCF-101-midframes/<Action_Name>/<video>.jpg\n  ucfTrainTestlist/classInd.txt, trainlist01.txt, testlist01.txt\n  split_zhou_UCF101.json";

inventory::submit! {
    DatasetEntry { name: NAME, extend_cfg, build }
}

fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    common::declare_subsample(b, NAME)
}

fn build(cfg: &Config) -> Result<DatasetBase, DataError> {
    let layout = common::split_layout(cfg, NAME, "ucf101", Some("UCF-101-midframes"))?;
    split::require_dir(NAME, &layout.dataset_dir, LAYOUT)?;
    split::require_dir(NAME, &layout.prefix, LAYOUT)?;
    let (dataset_dir, image_dir) = (layout.dataset_dir.clone(), layout.prefix.clone());
    split::build_split_dataset(cfg, &layout, |rng| {
        let lists = dataset_dir.join("ucfTrainTestlist");
        let class_ind = lists.join("classInd.txt");
        let mut cname2lab = HashMap::new();
        for (n, line) in common::lines(&class_ind)? {
            let parsed = line
                .split_once(' ')
                .and_then(|(l, c)| Some((l.parse::<usize>().ok()?.checked_sub(1)?, c)));
            let (label, cname) = parsed.ok_or_else(|| {
                common::bad_line(
                    &class_ind,
                    n,
                    format!("expected \"<id> <Action>\", found {line:?}"),
                )
            })?;
            cname2lab.insert(cname.to_string(), label);
        }
        let trainval_file = lists.join("trainlist01.txt");
        let trainval = read_data(&cname2lab, &trainval_file, &image_dir)?;
        let test = read_data(&cname2lab, &lists.join("testlist01.txt"), &image_dir)?;
        common::trainval_split(trainval, test, &trainval_file, rng)
    })
}

/// `re.findall("[A-Z][^A-Z]*", action)` joined by `_`: "ApplyEyeMakeup" -> "Apply_Eye_Makeup"
/// (characters before the first capital are dropped, as the regex does).
pub(crate) fn split_camel(action: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in action.chars() {
        if c.is_ascii_uppercase() {
            parts.push(c.to_string());
        } else if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts.join("_")
}

fn read_data(
    cname2lab: &HashMap<String, usize>,
    path: &Path,
    image_dir: &Path,
) -> Result<Vec<Datum>, DataError> {
    common::lines(path)?
        .into_iter()
        .map(|(n, line)| {
            let entry = line.split(' ').next().unwrap_or("");
            let Some((action, filename)) = entry.split_once('/') else {
                return Err(common::bad_line(
                    path,
                    n,
                    format!("expected <Action>/<video>.avi, found {entry:?}"),
                ));
            };
            let label = *cname2lab.get(action).ok_or_else(|| {
                common::bad_line(path, n, format!("action {action:?} is not in classInd.txt"))
            })?;
            let renamed = split_camel(action);
            let impath = image_dir
                .join(&renamed)
                .join(filename.replace(".avi", ".jpg"));
            split::datum(impath, label, renamed, path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn camel_case_rule() {
        assert_eq!(super::split_camel("ApplyEyeMakeup"), "Apply_Eye_Makeup");
        assert_eq!(super::split_camel("YoYo"), "Yo_Yo");
        assert_eq!(super::split_camel("PlayingDaf"), "Playing_Daf");
    }
}
