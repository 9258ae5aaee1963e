//! Dassl's `DataManager`: the dataset, its transforms and its loaders, built
//! from the config in Dassl's order (`dassl/data/data_manager.py`).
//!
//! Construction prints what Dassl prints: `Loading dataset: NAME` (VERBOSE),
//! the transform listings (`Building transform_train`, `+ random flip`, ...),
//! and the dataset summary table (VERBOSE). `train_u` (semi-supervised) and
//! `K_TRANSFORMS`/`RETURN_IMG0` are not supported: CoOp uses neither.

use std::collections::BTreeMap;

use super::check::thousands;
use super::loader::{worker_pool, DataLoader, LoaderOptions, Sampler, DEFAULT_PREFETCH};
use super::transforms::{Transform, TransformConfig};
use super::DatasetBase;
use super::DatasetEntry;
use crate::config::{Config, Value};
use crate::errors::{ConfigError, DataError};
use crate::logging::print;
use crate::registry::RegistryEntry;

/// The data side of a run: dataset, loaders and label names.
#[derive(Debug)]
pub struct DataManager {
    dataset: DatasetBase,
    train_loader_x: DataLoader,
    val_loader: Option<DataLoader>,
    test_loader: DataLoader,
    num_classes: usize,
    num_source_domains: usize,
    lab2cname: BTreeMap<usize, String>,
    classnames: Vec<String>,
    summary: String,
}

impl DataManager {
    /// `DataManager(cfg)`: builds `DATASET.NAME` through the registry, then
    /// the transforms and loaders.
    pub fn new(cfg: &Config) -> Result<Self, DataError> {
        let name = cfg.str("DATASET.NAME")?;
        let entry = DatasetEntry::get(name)?;
        if cfg.bool("VERBOSE")? {
            print(&format!("Loading dataset: {name}"));
        }
        let dataset = (entry.build)(cfg)?;
        Self::from_dataset(cfg, dataset)
    }

    /// The rest of `DataManager.__init__` for a dataset built elsewhere
    /// (custom datasets, tests).
    pub fn from_dataset(cfg: &Config, dataset: DatasetBase) -> Result<Self, DataError> {
        if cfg.bool("INPUT.NO_TRANSFORM")? {
            return Err(DataError::InvalidLoader(
                "INPUT.NO_TRANSFORM = True is not supported: the loader batches transformed tensors".into(),
            ));
        }
        let k = cfg.int("DATALOADER.K_TRANSFORMS")?;
        if k != 1 {
            return Err(DataError::InvalidLoader(format!(
                "DATALOADER.K_TRANSFORMS = {k} is not supported (only 1)"
            )));
        }
        if cfg.bool("DATALOADER.RETURN_IMG0")? {
            return Err(DataError::InvalidLoader(
                "DATALOADER.RETURN_IMG0 = True is not supported".into(),
            ));
        }

        let tcfg = transform_config(cfg)?;
        let tfm_train = Transform::train(&tcfg).map_err(|source| DataError::BuildTransform {
            which: "train",
            source,
        })?;
        print(&transform_listing(cfg, true)?.join("\n"));
        let tfm_test = Transform::test(&tcfg).map_err(|source| DataError::BuildTransform {
            which: "test",
            source,
        })?;
        print(&transform_listing(cfg, false)?.join("\n"));

        let workers = non_negative(cfg, "DATALOADER.NUM_WORKERS")?;
        // One pool for every loader of the run: only one loader runs at a time.
        let pool = match workers {
            0 => None,
            n => Some(worker_pool(n)?),
        };
        let seed = cfg.int("SEED")?;
        let options = |sampler_key: &str,
                       batch_key: &str,
                       is_train: bool|
         -> Result<LoaderOptions, DataError> {
            Ok(LoaderOptions {
                sampler: Sampler::parse(cfg.str(sampler_key)?)?,
                batch_size: non_negative(cfg, batch_key)?,
                is_train,
                num_workers: workers,
                seed,
                prefetch: DEFAULT_PREFETCH,
            })
        };

        let train_loader_x = DataLoader::with_pool(
            dataset.train_x.clone(),
            tfm_train,
            options(
                "DATALOADER.TRAIN_X.SAMPLER",
                "DATALOADER.TRAIN_X.BATCH_SIZE",
                true,
            )?,
            pool.clone(),
        )
        .map_err(|e| in_split(e, "train_x"))?;
        let test_options = options(
            "DATALOADER.TEST.SAMPLER",
            "DATALOADER.TEST.BATCH_SIZE",
            false,
        )?;
        let val_loader = if dataset.val.is_empty() {
            None
        } else {
            Some(
                DataLoader::with_pool(
                    dataset.val.clone(),
                    tfm_test.clone(),
                    test_options,
                    pool.clone(),
                )
                .map_err(|e| in_split(e, "val"))?,
            )
        };
        let test_loader = DataLoader::with_pool(dataset.test.clone(), tfm_test, test_options, pool)
            .map_err(|e| in_split(e, "test"))?;

        let source = non_empty_list(cfg, "DATASET.SOURCE_DOMAINS");
        let target = non_empty_list(cfg, "DATASET.TARGET_DOMAINS");
        let num_source_domains = source.as_ref().map_or(0, |(_, n)| *n);
        let summary = summary_table(
            cfg.str("DATASET.NAME")?,
            source.map(|(s, _)| s).as_deref(),
            target.map(|(s, _)| s).as_deref(),
            &dataset,
        );
        let dm = Self {
            num_classes: dataset.num_classes(),
            num_source_domains,
            lab2cname: dataset.lab2cname(),
            classnames: dataset.classnames(),
            dataset,
            train_loader_x,
            val_loader,
            test_loader,
            summary,
        };
        if cfg.bool("VERBOSE")? {
            dm.show_dataset_summary();
        }
        Ok(dm)
    }

    /// `max(train_x label) + 1`.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// `len(DATASET.SOURCE_DOMAINS)`.
    pub fn num_source_domains(&self) -> usize {
        self.num_source_domains
    }

    /// Label -> class name, from train_x.
    pub fn lab2cname(&self) -> &BTreeMap<usize, String> {
        &self.lab2cname
    }

    /// Class names ordered by label (what CoOp builds prompts from).
    pub fn classnames(&self) -> &[String] {
        &self.classnames
    }

    pub fn dataset(&self) -> &DatasetBase {
        &self.dataset
    }

    pub fn train_loader_x(&self) -> &DataLoader {
        &self.train_loader_x
    }

    /// Present only when the dataset has a val split, as in Dassl.
    pub fn val_loader(&self) -> Option<&DataLoader> {
        self.val_loader.as_ref()
    }

    pub fn test_loader(&self) -> &DataLoader {
        &self.test_loader
    }

    /// The summary table text (tabulate's "simple" format, as Dassl prints it).
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// Prints the summary table to stdout and the log.
    pub fn show_dataset_summary(&self) {
        print(&self.summary);
    }
}

/// Names the split in loader errors that do not carry a path.
fn in_split(e: DataError, split: &str) -> DataError {
    match e {
        DataError::InvalidLoader(msg) => DataError::InvalidLoader(format!("{split} loader: {msg}")),
        other => other,
    }
}

fn non_negative(cfg: &Config, key: &str) -> Result<usize, DataError> {
    let v = cfg.int(key)?;
    usize::try_from(v).map_err(|_| {
        DataError::Config(ConfigError::InvalidChoice {
            key: key.to_string(),
            value: v.to_string(),
            expected: "a non-negative integer".to_string(),
        })
    })
}

/// A list or tuple key that Python would find truthy: its `str()` and length.
fn non_empty_list(cfg: &Config, key: &str) -> Option<(String, usize)> {
    match cfg.get(key)? {
        v @ (Value::List(items) | Value::Tuple(items)) if !items.is_empty() => {
            Some((v.py_str(), items.len()))
        }
        _ => None,
    }
}

/// `n` numbers from a list key.
fn numbers<const N: usize>(cfg: &Config, key: &str) -> Result<[f64; N], DataError> {
    let v = cfg.floats(key)?;
    <[f64; N]>::try_from(v.as_slice()).map_err(|_| {
        DataError::Config(ConfigError::InvalidChoice {
            key: key.to_string(),
            value: format!("{v:?}"),
            expected: format!("{N} numbers"),
        })
    })
}

/// The INPUT.* values the transforms need.
pub fn transform_config(cfg: &Config) -> Result<TransformConfig, DataError> {
    let [h, w] = numbers::<2>(cfg, "INPUT.SIZE")?;
    let size_ok = |x: f64| x >= 1.0 && x.fract() == 0.0;
    if !size_ok(h) || !size_ok(w) {
        return Err(DataError::Config(ConfigError::InvalidChoice {
            key: "INPUT.SIZE".into(),
            value: format!("({h}, {w})"),
            expected: "two positive integers".into(),
        }));
    }
    let [s0, s1] = numbers::<2>(cfg, "INPUT.RRCROP_SCALE")?;
    Ok(TransformConfig {
        size: (h as usize, w as usize),
        interpolation: cfg.str("INPUT.INTERPOLATION")?.to_string(),
        transforms: cfg.strs("INPUT.TRANSFORMS")?,
        pixel_mean: numbers::<3>(cfg, "INPUT.PIXEL_MEAN")?,
        pixel_std: numbers::<3>(cfg, "INPUT.PIXEL_STD")?,
        rrcrop_scale: (s0, s1),
    })
}

/// The lines Dassl's `build_transform` prints, for the steps this port
/// implements (anything else fails earlier, in [`Transform::build`]).
pub fn transform_listing(cfg: &Config, is_train: bool) -> Result<Vec<String>, DataError> {
    let repr = |key: &str| -> Result<String, DataError> {
        cfg.get(key).map(Value::repr).ok_or_else(|| {
            DataError::Config(ConfigError::MissingKey {
                key: key.to_string(),
            })
        })
    };
    let choices = cfg.strs("INPUT.TRANSFORMS")?;
    let has = |n: &str| choices.iter().any(|c| c == n);
    let tc = transform_config(cfg)?;
    let (h, w) = tc.size;
    let target_size = format!("{h}x{w}");
    let mut lines = Vec::new();
    if is_train {
        lines.push("Building transform_train".to_string());
        if !has("random_crop") && !has("random_resized_crop") {
            lines.push(format!("+ resize to {target_size}"));
        }
        if has("random_resized_crop") {
            lines.push(format!(
                "+ random resized crop (size={}, scale={})",
                repr("INPUT.SIZE")?,
                repr("INPUT.RRCROP_SCALE")?
            ));
        }
        if has("random_flip") {
            lines.push("+ random flip".to_string());
        }
    } else {
        lines.push("Building transform_test".to_string());
        lines.push(format!("+ resize the smaller edge to {}", h.max(w)));
        lines.push(format!("+ {target_size} center crop"));
    }
    lines.push("+ to torch tensor of range [0, 1]".to_string());
    if has("normalize") {
        lines.push(format!(
            "+ normalization (mean={}, std={})",
            repr("INPUT.PIXEL_MEAN")?,
            repr("INPUT.PIXEL_STD")?
        ));
    }
    Ok(lines)
}

/// Dassl's `show_dataset_summary` table: Source/Target rows only when those
/// domain lists are non-empty, `# val` only for a non-empty val split.
pub fn summary_table(
    name: &str,
    source: Option<&str>,
    target: Option<&str>,
    data: &DatasetBase,
) -> String {
    let mut rows = vec![("Dataset".to_string(), name.to_string())];
    if let Some(s) = source {
        rows.push(("Source".into(), s.to_string()));
    }
    if let Some(t) = target {
        rows.push(("Target".into(), t.to_string()));
    }
    rows.push(("# classes".into(), thousands(data.num_classes())));
    rows.push(("# train_x".into(), thousands(data.train_x.len())));
    if !data.val.is_empty() {
        rows.push(("# val".into(), thousands(data.val.len())));
    }
    rows.push(("# test".into(), thousands(data.test.len())));
    // tabulate "simple" without headers: dashed rules, left-aligned, two
    // spaces, each line right-stripped (tabulate's `_build_simple_row`).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigBuilder;
    use crate::data::check;
    use crate::data::transforms::sample_rng;
    use crate::data::Datum;
    use image::{Rgb, RgbImage};
    use std::path::Path;

    fn cfg(opts: &[&str]) -> Config {
        let mut b = ConfigBuilder::dassl_defaults();
        let base = [
            "DATASET.NAME",
            "Tiny",
            "INPUT.SIZE",
            "(16, 16)",
            "INPUT.INTERPOLATION",
            "bicubic",
            "INPUT.TRANSFORMS",
            "['random_resized_crop', 'random_flip', 'normalize']",
            "INPUT.PIXEL_MEAN",
            "[0.48145466, 0.4578275, 0.40821073]",
            "INPUT.PIXEL_STD",
            "[0.26862954, 0.26130258, 0.27577711]",
            "DATALOADER.NUM_WORKERS",
            "2",
            "DATALOADER.TRAIN_X.BATCH_SIZE",
            "4",
            "DATALOADER.TEST.BATCH_SIZE",
            "3",
            "SEED",
            "1",
        ];
        b.merge_opts(&base).unwrap();
        b.merge_opts(opts).unwrap();
        b.freeze()
    }

    fn datum(dir: &Path, i: usize, label: usize) -> Datum {
        let p = dir.join(format!("{i}.png"));
        RgbImage::from_fn(20 + i as u32, 18, |x, y| {
            Rgb([(x * 7) as u8, (y * 5) as u8, (i * 20) as u8])
        })
        .save(&p)
        .unwrap();
        Datum {
            impath: p,
            label,
            domain: 0,
            classname: format!("class {label}"),
        }
    }

    fn dataset(dir: &Path, n_train: usize, n_val: usize, n_test: usize) -> DatasetBase {
        let mut i = 0;
        let mut split = |n: usize| -> Vec<Datum> {
            (0..n)
                .map(|k| {
                    i += 1;
                    datum(dir, i, k % 3)
                })
                .collect()
        };
        DatasetBase {
            train_x: split(n_train),
            val: split(n_val),
            test: split(n_test),
        }
    }

    #[test]
    fn builds_loaders_as_dassl_does() {
        let _rng = crate::testing::torch_rng();
        let dir = tempfile::tempdir().unwrap();
        let dm = DataManager::from_dataset(&cfg(&[]), dataset(dir.path(), 9, 2, 7)).unwrap();
        assert_eq!(dm.num_classes(), 3);
        assert_eq!(dm.classnames(), ["class 0", "class 1", "class 2"]);
        assert_eq!(dm.lab2cname()[&1], "class 1");
        assert_eq!(dm.num_source_domains(), 0);
        // train_x: 9 images, batch 4, RandomSampler, drop_last -> 2 batches.
        let tx = dm.train_loader_x();
        assert_eq!(
            (tx.len(), tx.drop_last(), tx.sampler()),
            (2, true, Sampler::Random)
        );
        assert_eq!(tx.num_workers(), 2);
        assert_eq!(tx.seed(), 1);
        // val and test: TEST sampler and batch size, never drop_last.
        let val = dm.val_loader().unwrap();
        assert_eq!(
            (val.len(), val.drop_last(), val.sampler()),
            (1, false, Sampler::Sequential)
        );
        let test = dm.test_loader();
        assert_eq!(test.len(), 3);
        let sizes: Vec<i64> = test.epoch(0).map(|b| b.unwrap().images.size()[0]).collect();
        assert_eq!(sizes, [3, 3, 1]);
        // Test loader output is the test transform of each image.
        let t = Transform::test(&transform_config(&cfg(&[])).unwrap()).unwrap();
        let b = test.load(&[4], 0).unwrap();
        let img = crate::data::decode::read_image(&dm.dataset().test[4].impath).unwrap();
        let want = t.apply(&img, &mut sample_rng(0, 0, 0)).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(b.images.flatten(0, -1)).unwrap(),
            want.data
        );

        // No val split: no val loader, no "# val" row.
        let dm =
            DataManager::from_dataset(&cfg(&["VERBOSE", "False"]), dataset(dir.path(), 3, 0, 2))
                .unwrap();
        assert!(dm.val_loader().is_none());
        assert!(!dm.summary().contains("# val"));
        // Fewer train images than a batch: one partial batch.
        assert_eq!(
            (dm.train_loader_x().len(), dm.train_loader_x().drop_last()),
            (1, false)
        );
    }

    #[test]
    fn summary_matches_dassl_text() {
        let dir = tempfile::tempdir().unwrap();
        let data = dataset(dir.path(), 4, 2, 3);
        let dm = DataManager::from_dataset(&cfg(&[]), data.clone()).unwrap();
        assert_eq!(dm.summary(), check::summary_table("Tiny", &data));
        let expected = "---------  ----\nDataset    Tiny\n# classes  3\n# train_x  4\n# val      2\n# test     3\n---------  ----";
        assert_eq!(dm.summary(), expected);
        let t = summary_table(
            "Office31",
            Some("['amazon', 'dslr']"),
            Some("['webcam']"),
            &data,
        );
        assert!(t.contains("Source     ['amazon', 'dslr']\n"), "{t}");
        assert!(t.contains("Target     ['webcam']"), "{t}");
        let c = cfg(&["DATASET.SOURCE_DOMAINS", "['amazon', 'dslr']"]);
        let dm = DataManager::from_dataset(&c, data).unwrap();
        assert_eq!(dm.num_source_domains(), 2);
        // yacs coerces the list to the default's tuple type, and Dassl prints that.
        assert!(
            dm.summary().contains("Source     ('amazon', 'dslr')"),
            "{}",
            dm.summary()
        );
    }

    #[test]
    fn transform_listing_matches_dassl() {
        let c = cfg(&[
            "INPUT.SIZE",
            "(224, 224)",
            "INPUT.PIXEL_MEAN",
            "[0.5, 0.5, 0.5]",
            "INPUT.PIXEL_STD",
            "[0.5, 0.5, 0.5]",
        ]);
        assert_eq!(
            transform_listing(&c, true).unwrap(),
            [
                "Building transform_train",
                "+ random resized crop (size=(224, 224), scale=(0.08, 1.0))",
                "+ random flip",
                "+ to torch tensor of range [0, 1]",
                "+ normalization (mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])",
            ]
        );
        assert_eq!(
            transform_listing(&c, false).unwrap(),
            [
                "Building transform_test",
                "+ resize the smaller edge to 224",
                "+ 224x224 center crop",
                "+ to torch tensor of range [0, 1]",
                "+ normalization (mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])",
            ]
        );
        let c = cfg(&[
            "INPUT.TRANSFORMS",
            "['random_flip']",
            "INPUT.SIZE",
            "(32, 48)",
        ]);
        assert_eq!(
            transform_listing(&c, true).unwrap(),
            [
                "Building transform_train",
                "+ resize to 32x48",
                "+ random flip",
                "+ to torch tensor of range [0, 1]",
            ]
        );
    }

    #[test]
    fn config_errors_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let data = dataset(dir.path(), 4, 0, 2);
        let e = DataManager::from_dataset(
            &cfg(&["DATALOADER.TRAIN_X.SAMPLER", "RandomDomainSampler"]),
            data.clone(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("RandomDomainSampler"), "{e}");
        let e =
            DataManager::from_dataset(&cfg(&["DATALOADER.TEST.SAMPLER", "Shuffled"]), data.clone())
                .unwrap_err();
        assert!(
            e.to_string().contains("RandomSampler, SequentialSampler"),
            "{e}"
        );
        let e =
            DataManager::from_dataset(&cfg(&["INPUT.TRANSFORMS", "['colorjitter']"]), data.clone())
                .unwrap_err();
        assert!(e.to_string().contains("colorjitter"), "{e}");
        let mut empty_test = data.clone();
        empty_test.test.clear();
        let e = DataManager::from_dataset(&cfg(&[]), empty_test).unwrap_err();
        assert!(e.to_string().starts_with("test loader:"), "{e}");
        assert!(DataManager::from_dataset(&cfg(&["DATALOADER.K_TRANSFORMS", "2"]), data).is_err());
        // Unknown dataset name: the registry's did-you-mean error.
        let e =
            DataManager::new(&cfg(&["DATASET.NAME", "NoSuchDatasetForLoaderTests"])).unwrap_err();
        assert!(matches!(e, DataError::Registry(_)), "{e:?}");
    }
}
