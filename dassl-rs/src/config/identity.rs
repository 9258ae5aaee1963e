//! A run's identity: a hash of exactly what can change its result, so a finished run is
//! recognised (and re-run) for the right reasons.
//!
//! It covers the resolved values of the keys that the engine (Dassl's defaults), the run's
//! trainer and its dataset declare, plus any other key a file, flag or option set; the
//! content hash (SHA-256) of the CLIP weights instead of their path or name; and a
//! fingerprint of the dataset split. So adding a plugin (whose keys nobody set) or moving
//! the weights or data folders changes no finished run's identity, while a new learning
//! rate, other weights or another split does. Locations and thread counts
//! ([`LOCATION_KEYS`]) are left out: they do not change what a run computes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use thiserror::Error;

use super::content_hash::{self, ContentHashError};
use super::{Config, Origin, Value};
use crate::clip::weights::ClipError;
use crate::clip::BackboneEntry;
use crate::data::DatasetEntry;
use crate::data::{split, DatasetBase, Datum};
use crate::errors::{ConfigError, DataError, RegistryError};
use crate::registry::RegistryEntry;

/// First line of the hashed text: a change of the recipe changes every identity once.
pub const IDENTITY_VERSION: &str = "dassl-rs run identity v2";

/// Keys that say where things are or how many threads run, not what is computed.
pub const LOCATION_KEYS: &[&str] = &[
    "OUTPUT_DIR",
    "RESUME",
    "DATASET.ROOT",
    "DATALOADER.NUM_WORKERS",
    "VERBOSE",
];

/// The weights key: its value names a file; the identity holds the file's content hash.
pub const WEIGHTS_KEY: &str = "MODEL.BACKBONE.NAME";

/// Why an identity cannot be computed (each is also a validation problem).
#[derive(Debug, Error)]
pub enum IdentityError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Weights(#[from] ClipError),
    #[error(transparent)]
    Hash(#[from] ContentHashError),
    #[error(transparent)]
    Data(#[from] DataError),
}

/// The parts of an identity, for `dassl config identity` and error messages.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityParts {
    /// `KEY=repr` lines of the keys that count, sorted.
    pub keys: Vec<String>,
    /// SHA-256 of the CLIP weights file.
    pub weights_sha256: String,
    /// [`split_fingerprint`] of the run's dataset.
    pub split: String,
}

impl IdentityParts {
    /// SHA-256 (hex) of the version line, the key lines, the weights and the split.
    pub fn hash(&self) -> String {
        let mut text = format!("{IDENTITY_VERSION}\n");
        for k in &self.keys {
            text.push_str(k);
            text.push('\n');
        }
        text.push_str(&format!(
            "weights.sha256={}\nsplit={}\n",
            self.weights_sha256, self.split
        ));
        content_hash::hex(&Sha256::digest(text.as_bytes()))
    }
}

/// Whether `key` is part of the identity of a run of `trainer` on `dataset`.
fn counts(cfg: &Config, key: &str, trainer: &str, dataset: &str) -> bool {
    if LOCATION_KEYS.contains(&key) || key == WEIGHTS_KEY {
        return false;
    }
    let mut owners = cfg.owners(key).peekable();
    if owners.peek().is_none() {
        return true; // Dassl's own keys: the engine reads them.
    }
    if owners.any(|o| o == trainer || o == dataset) {
        return true;
    }
    // Another plugin's key counts only when someone set it.
    !matches!(
        cfg.origin(key),
        Some(Origin::Extension(_) | Origin::Default) | None
    )
}

/// The `KEY=repr` lines of the keys that count for this run (see the module docs). A
/// config without TRAINER.NAME or DATASET.NAME has no trainer or dataset whose keys count.
pub fn key_lines(cfg: &Config) -> Vec<String> {
    let trainer = cfg.str("TRAINER.NAME").unwrap_or("");
    let dataset = cfg.str("DATASET.NAME").unwrap_or("");
    let mut out = Vec::new();
    for key in cfg.keys() {
        match cfg.get(&key) {
            Some(Value::Node(_)) | None => {}
            Some(v) => {
                if counts(cfg, &key, trainer, dataset) {
                    out.push(format!("{key}={}", v.repr()));
                }
            }
        }
    }
    out
}

/// SHA-256 of the weights `MODEL.BACKBONE.NAME` names: an OpenAI name stands for the file
/// whose SHA-256 OpenAI's address carries (validation checks the cached file has it); a
/// path is hashed (cached by path, size and modification time).
pub fn weights_sha256(cfg: &Config) -> Result<String, IdentityError> {
    let name = cfg.str(WEIGHTS_KEY)?;
    if let Ok(entry) = BackboneEntry::get(name) {
        return Ok(entry.sha256().to_string());
    }
    let path = crate::clip::resolve_weights(name)?;
    Ok(content_hash::sha256_file(&path)?)
}

/// SHA-256 over the sorted `(path relative to DATASET.ROOT, label, domain, class name)`
/// lines of train_x, val and test of the run's dataset as its plugin builds it before
/// few-shot sampling and class subsampling (those follow from DATASET.NUM_SHOTS, SEED and
/// DATASET.SUBSAMPLE_CLASSES, which the key lines hold). The probe build writes nothing
/// (a missing split file is made in memory, as the run would make it) and prints nothing;
/// it is memoised per process, so a sweep builds each dataset once per seed.
pub fn split_fingerprint(cfg: &Config) -> Result<String, IdentityError> {
    static MEMO: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);
    let name = cfg.str("DATASET.NAME")?;
    let entry = DatasetEntry::get(name)?;
    let memo_key: String = cfg
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("DATASET.") || k == "SEED")
        .filter(|k| k != "DATASET.NUM_SHOTS" && k != "DATASET.SUBSAMPLE_CLASSES")
        .filter_map(|k| cfg.get(&k).map(|v| format!("{k}={}\n", v.repr())))
        .collect();
    if let Some(fp) = MEMO
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .get(&memo_key)
    {
        return Ok(fp.clone());
    }
    let probe_origin = || Origin::Flag("(identity probe)".into());
    let mut probe = cfg.with_value("DATASET.NUM_SHOTS", Value::Int(0), probe_origin())?;
    if cfg.get("DATASET.SUBSAMPLE_CLASSES").is_some() {
        probe = probe.with_value(
            "DATASET.SUBSAMPLE_CLASSES",
            Value::Str("all".into()),
            probe_origin(),
        )?;
    }
    let data = crate::logging::quietly(|| split::without_writes(|| (entry.build)(&probe)))?;
    let root = split::dataset_root(cfg)?;
    let fp = fingerprint_of(&data, &root);
    MEMO.lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(memo_key, fp.clone());
    Ok(fp)
}

/// The fingerprint of built splits (see [`split_fingerprint`]).
pub fn fingerprint_of(data: &DatasetBase, root: &Path) -> String {
    let mut h = Sha256::new();
    for (tag, items) in [
        ("train_x", &data.train_x),
        ("val", &data.val),
        ("test", &data.test),
    ] {
        let mut lines: Vec<String> = items.iter().map(|d| line(d, root)).collect();
        lines.sort();
        h.update(format!("[{tag}] {}\n", lines.len()).as_bytes());
        for l in lines {
            h.update(l.as_bytes());
        }
    }
    content_hash::hex(&h.finalize())
}

fn line(d: &Datum, root: &Path) -> String {
    let p = d.impath.strip_prefix(root).unwrap_or(&d.impath);
    format!(
        "{}\t{}\t{}\t{}\n",
        p.to_string_lossy(),
        d.label,
        d.domain,
        d.classname
    )
}

/// Every part of the run's identity.
pub fn parts(cfg: &Config) -> Result<IdentityParts, IdentityError> {
    Ok(IdentityParts {
        keys: key_lines(cfg),
        weights_sha256: weights_sha256(cfg)?,
        split: split_fingerprint(cfg)?,
    })
}

/// The run's identity (hex SHA-256).
pub fn compute(cfg: &Config) -> Result<String, IdentityError> {
    Ok(parts(cfg)?.hash())
}

impl Config {
    /// The config with its run identity attached: results and checkpoints written under
    /// it carry this identity.
    pub fn with_identity(mut self, identity: String) -> Config {
        self.identity = Some(identity);
        self
    }

    /// The attached identity (see [`Config::with_identity`]).
    pub fn identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    /// What `result.json` records as the run's hash: the attached identity; a config with
    /// none (library use outside `dassl train`, unit tests) hashes its key lines alone.
    pub fn run_hash(&self) -> String {
        if let Some(id) = &self.identity {
            return id.clone();
        }
        let mut text = format!("{IDENTITY_VERSION} (keys only)\n");
        for l in key_lines(self) {
            text.push_str(&l);
            text.push('\n');
        }
        content_hash::hex(&Sha256::digest(text.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigBuilder;

    fn builder(extra_plugin: bool) -> ConfigBuilder {
        let mut b = ConfigBuilder::dassl_defaults();
        b.declare("TRAINER.COOP.N_CTX", "16", "CoOp").unwrap();
        b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", "CoOp")
            .unwrap();
        b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", "EuroSAT")
            .unwrap();
        if extra_plugin {
            b.declare("TRAINER.NEWTHING.DEPTH", "3", "NewThing")
                .unwrap();
            b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", "NewThing")
                .unwrap();
        }
        b
    }

    fn lines(extra_plugin: bool, opts: &[&str]) -> Vec<String> {
        let mut b = builder(extra_plugin);
        let mut all = vec!["TRAINER.NAME", "CoOp", "DATASET.NAME", "EuroSAT"];
        all.extend_from_slice(opts);
        b.merge_opts(&all).unwrap();
        key_lines(&b.freeze())
    }

    #[test]
    fn adding_a_plugin_changes_no_identity_until_its_keys_are_set() {
        let base = lines(false, &[]);
        assert_eq!(lines(true, &[]), base);
        assert!(base.iter().any(|l| l == "TRAINER.COOP.N_CTX=16"));
        assert!(base.iter().any(|l| l == "DATASET.SUBSAMPLE_CLASSES='all'"));
        // Setting another plugin's key does count.
        let set = lines(true, &["TRAINER.NEWTHING.DEPTH", "4"]);
        assert!(set.iter().any(|l| l == "TRAINER.NEWTHING.DEPTH=4"));
        // Another trainer's run does not carry CoOp's keys.
        let mut b = builder(true);
        b.merge_opts(&["TRAINER.NAME", "NewThing", "DATASET.NAME", "EuroSAT"])
            .unwrap();
        let other = key_lines(&b.freeze());
        assert!(other
            .iter()
            .any(|l| l.starts_with("TRAINER.NEWTHING.DEPTH=")));
        assert!(!other.iter().any(|l| l.starts_with("TRAINER.COOP.")));
    }

    #[test]
    fn locations_and_the_weights_name_do_not_count_but_what_is_computed_does() {
        let base = lines(false, &[]);
        let moved = lines(
            false,
            &[
                "OUTPUT_DIR",
                "/elsewhere",
                "DATASET.ROOT",
                "/data",
                "DATALOADER.NUM_WORKERS",
                "1",
                "MODEL.BACKBONE.NAME",
                "/other/cache/RN50.pt",
            ],
        );
        assert_eq!(moved, base);
        assert_ne!(lines(false, &["OPTIM.LR", "0.002"]), base);
        assert_ne!(lines(false, &["SEED", "2"]), base);
        let p = |w: &str, s: &str| IdentityParts {
            keys: base.clone(),
            weights_sha256: w.into(),
            split: s.into(),
        };
        assert_eq!(p("a", "b").hash(), p("a", "b").hash());
        assert_ne!(p("a", "b").hash(), p("c", "b").hash());
        assert_ne!(p("a", "b").hash(), p("a", "c").hash());
    }

    #[test]
    fn moved_weights_keep_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a/w.safetensors");
        let b = dir.path().join("b c/ü/w.safetensors");
        for p in [&a, &b] {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"weights").unwrap();
        }
        let sha = |p: &Path| {
            let mut bld = builder(false);
            bld.merge_opts(&["MODEL.BACKBONE.NAME", p.to_str().unwrap()])
                .unwrap();
            weights_sha256(&bld.freeze()).unwrap()
        };
        assert_eq!(sha(&a), sha(&b));
    }

    #[test]
    fn an_attached_identity_is_the_run_hash() {
        let c = builder(false).freeze();
        let keys_only = c.run_hash();
        assert_eq!(keys_only.len(), 64);
        let c = c.with_identity("feed".into());
        assert_eq!(c.run_hash(), "feed");
        assert_eq!(c.identity(), Some("feed"));
    }

    #[test]
    fn fingerprints_ignore_order_and_the_root_but_not_content() {
        let d = |p: &str, l: usize| Datum {
            impath: Path::new(p).to_path_buf(),
            label: l,
            domain: 0,
            classname: format!("c{l}"),
        };
        let a = DatasetBase {
            train_x: vec![d("/r/x/1.jpg", 0), d("/r/x/2.jpg", 1)],
            val: vec![],
            test: vec![d("/r/x/3.jpg", 0)],
        };
        let mut b = a.clone();
        b.train_x.reverse();
        let moved = DatasetBase {
            train_x: vec![d("/s/x/1.jpg", 0), d("/s/x/2.jpg", 1)],
            val: vec![],
            test: vec![d("/s/x/3.jpg", 0)],
        };
        let fa = fingerprint_of(&a, Path::new("/r"));
        assert_eq!(fa, fingerprint_of(&b, Path::new("/r")));
        assert_eq!(fa, fingerprint_of(&moved, Path::new("/s")));
        let mut c = a.clone();
        c.test.push(d("/r/x/4.jpg", 1));
        assert_ne!(fa, fingerprint_of(&c, Path::new("/r")));
        let mut e = a.clone();
        e.test = e.train_x.split_off(1);
        assert_ne!(fa, fingerprint_of(&e, Path::new("/r")));
    }
}
