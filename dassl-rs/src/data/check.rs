//! `dassl data check`: build a dataset as a run would, print Dassl's summary
//! table, and decode every image, so a broken download fails here with the
//! file's name instead of hours into training.

use std::fmt;
use std::path::{Path, PathBuf};

use super::fewshot::SubsampleMode;
use super::split::unique_paths;
use super::DatasetBase;
use super::DatasetEntry;
use crate::config::{setup_cfg, CfgSources, Config, Value};
use crate::errors::{ConfigError, DataError};
use crate::registry::RegistryEntry;

/// What `dassl data check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// `DATASET.NAME`.
    pub dataset: String,
    pub num_classes: usize,
    pub train_x: usize,
    pub val: usize,
    pub test: usize,
    /// Distinct image files decoded (0 when decoding was skipped).
    pub images_decoded: usize,
    /// Class names ordered by label.
    pub classnames: Vec<String>,
}

impl CheckReport {
    /// Dassl's `show_dataset_summary` table (tabulate's "simple" format).
    pub fn text(&self) -> String {
        let mut rows = vec![
            ("Dataset".to_string(), self.dataset.clone()),
            ("# classes".to_string(), thousands(self.num_classes)),
            ("# train_x".to_string(), thousands(self.train_x)),
        ];
        // Dassl prints the val row only for a non-empty val set.
        if self.val > 0 {
            rows.push(("# val".to_string(), thousands(self.val)));
        }
        rows.push(("# test".to_string(), thousands(self.test)));
        tabulate_simple(&rows)
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// Python's `f"{n:,}"`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `tabulate(rows)` with no headers: dashed rules above and below, columns
/// left-aligned, padded to width and separated by two spaces, each row
/// right-stripped (tabulate's `_build_simple_row`).
fn tabulate_simple(rows: &[(String, String)]) -> String {
    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let rule = format!("{}  {}", "-".repeat(w0), "-".repeat(w1));
    let mut lines = vec![rule.clone()];
    lines.extend(
        rows.iter()
            .map(|(a, b)| format!("{a:<w0$}  {b}").trim_end().to_string()),
    );
    lines.push(rule);
    lines.join("\n")
}

/// Dassl's summary table for a built dataset (the DataManager prints the same).
pub fn summary_table(name: &str, data: &DatasetBase) -> String {
    report(name, data, 0).text()
}

fn report(name: &str, data: &DatasetBase, images_decoded: usize) -> CheckReport {
    CheckReport {
        dataset: name.to_string(),
        num_classes: data.num_classes(),
        train_x: data.train_x.len(),
        val: data.val.len(),
        test: data.test.len(),
        images_decoded,
        classnames: data.classnames(),
    }
}

/// `build_dataset(cfg)`: the registry entry named by `DATASET.NAME`.
pub fn build_dataset(cfg: &Config) -> Result<DatasetBase, DataError> {
    let entry = DatasetEntry::get(cfg.str("DATASET.NAME")?)?;
    (entry.build)(cfg)
}

/// Decodes one image as the loader will (any format the build supports);
/// returns its size.
pub fn decode_image(path: &Path) -> Result<(u32, u32), DataError> {
    let bad = |reason: String| DataError::BadImage {
        path: path.to_path_buf(),
        reason,
    };
    let reader = image::ImageReader::open(path)
        .map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .with_guessed_format()
        .map_err(|e| bad(e.to_string()))?;
    let img = reader.decode().map_err(|e| bad(e.to_string()))?;
    Ok((img.width(), img.height()))
}

/// Builds the dataset named in `cfg` through the registry and, with
/// `decode_images`, decodes every distinct image file, failing on the first
/// one that does not decode.
pub fn check(cfg: &Config, decode_images: bool) -> Result<CheckReport, DataError> {
    let data = build_dataset(cfg)?;
    let mut decoded = 0;
    if decode_images {
        for path in unique_paths(&data) {
            decode_image(&path)?;
            decoded += 1;
        }
    }
    Ok(report(cfg.str("DATASET.NAME")?, &data, decoded))
}

/// The options of `dassl data check`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckArgs {
    /// `--root` (DATASET.ROOT).
    pub root: PathBuf,
    /// `--dataset` (DATASET.NAME); may be left empty when a dataset config file names it.
    pub dataset: Option<String>,
    /// `--shots` (DATASET.NUM_SHOTS).
    pub shots: Option<i64>,
    /// `--seed` (SEED).
    pub seed: Option<i64>,
    /// `--subsample` (DATASET.SUBSAMPLE_CLASSES).
    pub subsample: Option<SubsampleMode>,
    /// `--dataset-config-file`, merged before the flags as in a run.
    pub dataset_config_file: Option<PathBuf>,
    /// `--custom-spec` (DATASET.CUSTOM_SPEC) for the `Custom` dataset.
    pub custom_spec: Option<PathBuf>,
    /// Trailing `KEY VALUE` pairs.
    pub opts: Vec<String>,
}

/// The config a check runs with: CoOp's merge order with the flags above.
pub fn check_config(args: &CheckArgs) -> Result<Config, ConfigError> {
    let mut flags = vec![(
        "DATASET.ROOT".to_string(),
        Value::Str(args.root.to_string_lossy().into_owned()),
        "--root".to_string(),
    )];
    if let Some(d) = &args.dataset {
        flags.push((
            "DATASET.NAME".into(),
            Value::Str(d.clone()),
            "--dataset".into(),
        ));
    }
    if let Some(k) = args.shots {
        flags.push(("DATASET.NUM_SHOTS".into(), Value::Int(k), "--shots".into()));
    }
    if let Some(s) = args.seed {
        flags.push(("SEED".into(), Value::Int(s), "--seed".into()));
    }
    if let Some(m) = args.subsample {
        flags.push((
            "DATASET.SUBSAMPLE_CLASSES".into(),
            Value::Str(m.as_str().into()),
            "--subsample".into(),
        ));
    }
    if let Some(p) = &args.custom_spec {
        flags.push((
            "DATASET.CUSTOM_SPEC".into(),
            Value::Str(p.to_string_lossy().into_owned()),
            "--custom-spec".into(),
        ));
    }
    setup_cfg(&CfgSources {
        dataset_config_file: args.dataset_config_file.clone(),
        config_file: None,
        flags,
        opts: args.opts.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Datum;

    #[test]
    fn summary_matches_dassl_table() {
        let r = CheckReport {
            dataset: "OxfordPets".into(),
            num_classes: 37,
            train_x: 592,
            val: 148,
            test: 3669,
            images_decoded: 0,
            classnames: vec![],
        };
        let expected = "---------  ----------\n\
                        Dataset    OxfordPets\n\
                        # classes  37\n\
                        # train_x  592\n\
                        # val      148\n\
                        # test     3,669\n\
                        ---------  ----------";
        assert_eq!(r.text(), expected);
        let no_val = CheckReport { val: 0, ..r };
        assert!(!no_val.text().contains("# val"));
        assert_eq!(thousands(1_281_167), "1,281,167");
        assert_eq!(thousands(0), "0");
    }

    #[test]
    fn corrupt_image_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.jpg");
        std::fs::write(&good, crate::data::toy::solid_jpeg(8, 6, [1, 2, 3])).unwrap();
        assert_eq!(decode_image(&good).unwrap(), (8, 6));
        let bad = dir.path().join("bad.jpg");
        std::fs::write(&bad, b"\xff\xd8\xff\xe0 truncated").unwrap();
        let e = decode_image(&bad).unwrap_err();
        assert!(
            matches!(e, DataError::BadImage { .. }) && e.to_string().contains("bad.jpg"),
            "{e}"
        );
        let data = DatasetBase {
            train_x: vec![Datum {
                impath: good.clone(),
                label: 0,
                domain: 0,
                classname: "a".into(),
            }],
            val: vec![],
            test: vec![Datum {
                impath: good,
                label: 0,
                domain: 0,
                classname: "a".into(),
            }],
        };
        assert_eq!(unique_paths(&data).len(), 1);
        assert!(summary_table("X", &data).contains("# test     1"));
    }
}
