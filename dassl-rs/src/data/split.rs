//! CoOp's split files, fallback split generators and few-shot cache.
//!
//! Every CoOp dataset follows one pattern (CoOp `datasets/*.py`): read the
//! fixed split `split_zhou_<Name>.json` (or make one with Python's `random`
//! and save it), draw the K-shot train/val subsets on the same `random`
//! stream (cached per shot count and seed), then keep the base or new half of
//! the classes. [`build_split_dataset`] is that pattern; the pieces are public
//! for datasets that deviate (FGVCAircraft, ImageNet).
//!
//! Upstream caches few-shot subsets as pickles of absolute paths, which break
//! when the data moves; the cache here is JSON with paths relative to the
//! split's prefix, plus a fingerprint of the split it was drawn from so a
//! cache made from other data is detected and rebuilt.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fewshot::{subsample_classes, FewShotSampler, SubsampleMode, COOP_MAX_VAL_SHOTS};
use super::pyrandom::PyRandom;
use super::{DatasetBase, Datum};
use crate::config::Config;
use crate::errors::{ConfigError, DataError};
use crate::fsutil::write_atomic;
use crate::logging::print;

/// Folder (inside the dataset folder) holding the few-shot caches, as in CoOp.
pub const FEWSHOT_DIR: &str = "split_fewshot";

/// Format tag of the few-shot cache, so a later layout change is detected.
const CACHE_FORMAT: &str = "dassl-rs few-shot cache v1";

/// A dataset's train/val/test lists before few-shot sampling.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    pub train: Vec<Datum>,
    pub val: Vec<Datum>,
    pub test: Vec<Datum>,
}

/// Which lists the few-shot step samples (ImageNet samples only train).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FewShotScope {
    /// Train with K shots, then val with `min(K, 4)` (every dataset but ImageNet).
    TrainVal,
    /// Train only; val becomes the test set afterwards (CoOp's ImageNet).
    TrainOnly,
}

/// Where a split-file dataset lives.
#[derive(Debug, Clone)]
pub struct SplitLayout {
    /// Registry name, for messages.
    pub name: &'static str,
    /// `<ROOT>/<dataset_dir>`: holds the split file and `split_fewshot/`.
    pub dataset_dir: PathBuf,
    /// Paths in the split file are relative to this (the image folder;
    /// StanfordCars: the dataset folder).
    pub prefix: PathBuf,
    /// The split JSON (`split_zhou_<Name>.json`).
    pub split_path: PathBuf,
}

/// `abspath(expanduser(cfg.DATASET.ROOT))`, as every CoOp dataset starts.
pub fn dataset_root(cfg: &Config) -> Result<PathBuf, DataError> {
    let raw = cfg.str("DATASET.ROOT")?;
    let expanded = expand_user(raw);
    Ok(std::path::absolute(&expanded).unwrap_or(expanded))
}

/// `~` and `~/...` expansion (Python's `os.path.expanduser` for the current user).
pub fn expand_user(raw: &str) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match (raw, home) {
        ("~", Some(h)) => h,
        (r, Some(h)) if r.starts_with("~/") => h.join(&r[2..]),
        (r, _) => PathBuf::from(r),
    }
}

/// Fails with [`DataError::MissingDataset`] unless `path` is a folder, so a
/// wrong `--root` says which layout was expected instead of a bare I/O error.
pub fn require_dir(name: &'static str, path: &Path, layout: &'static str) -> Result<(), DataError> {
    if path.is_dir() {
        Ok(())
    } else {
        Err(DataError::MissingDataset {
            name,
            path: path.to_path_buf(),
            layout,
        })
    }
}

/// A [`Datum`] whose file must exist, as Dassl's `Datum` checks eagerly.
pub fn datum(
    impath: PathBuf,
    label: usize,
    classname: impl Into<String>,
    listed_in: &Path,
) -> Result<Datum, DataError> {
    if !impath.is_file() {
        return Err(DataError::MissingImage {
            path: impath,
            listed_in: listed_in.to_path_buf(),
        });
    }
    Ok(Datum {
        impath,
        label,
        domain: 0,
        classname: classname.into(),
    })
}

/// Python's `round(x)` for a float: halves go to the even neighbour.
pub fn py_round(x: f64) -> i64 {
    x.round_ties_even() as i64
}

/// Python's `f"{p:.0%}"`.
fn pct(p: f64) -> String {
    format!("{}%", py_round(p * 100.0))
}

// ---------------------------------------------------------------------------
// Split JSON

/// One `[rel_impath, label, classname]` triple as written.
type Triple = (String, usize, String);

#[derive(Serialize)]
struct SplitOut<'a> {
    train: &'a [Triple],
    val: &'a [Triple],
    test: &'a [Triple],
}

/// `impath` relative to `prefix`, as `save_split` strips the prefix and a leading `/`.
pub fn relative_path(impath: &Path, prefix: &Path) -> String {
    match impath.strip_prefix(prefix) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => impath.to_string_lossy().trim_start_matches('/').to_string(),
    }
}

fn triples(items: &[Datum], prefix: &Path) -> Vec<Triple> {
    items
        .iter()
        .map(|d| {
            (
                relative_path(&d.impath, prefix),
                d.label,
                d.classname.clone(),
            )
        })
        .collect()
}

/// JSON text as Python's `json.dump(obj, f, indent=4, separators=(",", ": "))`
/// writes it (ASCII only), so our split files diff cleanly against CoOp's.
pub fn python_json<T: Serialize>(value: &T) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    value
        .serialize(&mut ser)
        .expect("serialising plain data to memory cannot fail");
    let text = String::from_utf8(buf).expect("serde_json writes UTF-8");
    // Non-ASCII only occurs inside strings, so escaping it everywhere is safe.
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// CoOp's `OxfordPets.save_split`: paths relative to `prefix`, keys train/val/test.
pub fn save_split(split: &Split, path: &Path, prefix: &Path) -> Result<(), DataError> {
    let (train, val, test) = (
        triples(&split.train, prefix),
        triples(&split.val, prefix),
        triples(&split.test, prefix),
    );
    let text = python_json(&SplitOut {
        train: &train,
        val: &val,
        test: &test,
    });
    write_atomic(path, text.as_bytes()).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    print(&format!("Saved split to {}", path.display()));
    Ok(())
}

/// Parses one list of triples; the label may be an int or an int string (`int(label)`).
fn parse_triples(v: &serde_json::Value, key: &str, path: &Path) -> Result<Vec<Triple>, DataError> {
    let bad = |reason: String| DataError::BadSplit {
        path: path.to_path_buf(),
        reason,
    };
    let list = v.as_array().ok_or_else(|| {
        bad(format!(
            "\"{key}\" must be a list of [impath, label, classname]"
        ))
    })?;
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let parts = item.as_array().filter(|p| p.len() == 3);
            let what = || {
                bad(format!(
                    "\"{key}\" item {i} must be [impath, label, classname], found {item}"
                ))
            };
            let parts = parts.ok_or_else(what)?;
            let impath = parts[0].as_str().ok_or_else(what)?;
            let label = match &parts[1] {
                serde_json::Value::Number(n) => n.as_u64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .and_then(|l| usize::try_from(l).ok())
            .ok_or_else(what)?;
            let classname = parts[2].as_str().ok_or_else(what)?;
            Ok((impath.to_string(), label, classname.to_string()))
        })
        .collect()
}

fn to_data(items: Vec<Triple>, prefix: &Path, listed_in: &Path) -> Result<Vec<Datum>, DataError> {
    items
        .into_iter()
        .map(|(rel, label, cname)| datum(prefix.join(rel), label, cname, listed_in))
        .collect()
}

/// Reads a split file's three lists of triples without touching the images.
fn read_split_triples(path: &Path) -> Result<[Vec<Triple>; 3], DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| DataError::BadSplit {
        path: path.to_path_buf(),
        reason: format!("invalid JSON: {e}"),
    })?;
    let get = |key: &str| {
        json.get(key).ok_or_else(|| DataError::BadSplit {
            path: path.to_path_buf(),
            reason: format!("missing key \"{key}\" (expected \"train\", \"val\" and \"test\")"),
        })
    };
    Ok([
        parse_triples(get("train")?, "train", path)?,
        parse_triples(get("val")?, "val", path)?,
        parse_triples(get("test")?, "test", path)?,
    ])
}

/// CoOp's `OxfordPets.read_split`: joins `prefix` back and checks every image exists.
pub fn read_split(path: &Path, prefix: &Path) -> Result<Split, DataError> {
    print(&format!("Reading split from {}", path.display()));
    let [train, val, test] = read_split_triples(path)?;
    Ok(Split {
        train: to_data(train, prefix, path)?,
        val: to_data(val, prefix, path)?,
        test: to_data(test, prefix, path)?,
    })
}

// ---------------------------------------------------------------------------
// Fallback split generators

/// Dassl's `listdir_nohidden`, sorted: upstream keeps `os.listdir` order
/// (filesystem dependent) for images, which no port can reproduce, so we sort.
pub fn listdir_nohidden(dir: &Path) -> Result<Vec<String>, DataError> {
    let rd = std::fs::read_dir(dir).map_err(|source| DataError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut names = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|source| DataError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Sorted non-hidden sub-folders of `dir` (class folders).
pub fn class_folders(dir: &Path) -> Result<Vec<String>, DataError> {
    Ok(listdir_nohidden(dir)?
        .into_iter()
        .filter(|n| dir.join(n).is_dir())
        .collect())
}

/// CoOp's `DescribableTextures.read_and_split_data`: sorted class folders
/// minus `ignored`, label = folder index, per class shuffle on `rng` and
/// `round(p_trn n)` train, `round(p_val n)` val, the rest test; `new_cnames`
/// renames folders to class names.
pub fn read_and_split_data(
    image_dir: &Path,
    p_trn: f64,
    p_val: f64,
    ignored: &[&str],
    new_cnames: &HashMap<String, String>,
    rng: &mut PyRandom,
) -> Result<Split, DataError> {
    let categories: Vec<String> = class_folders(image_dir)?
        .into_iter()
        .filter(|c| !ignored.contains(&c.as_str()))
        .collect();
    let p_tst = 1.0 - p_trn - p_val;
    print(&format!(
        "Splitting into {} train, {} val, and {} test",
        pct(p_trn),
        pct(p_val),
        pct(p_tst)
    ));
    let mut split = Split::default();
    for (label, category) in categories.iter().enumerate() {
        let category_dir = image_dir.join(category);
        let mut images: Vec<PathBuf> = listdir_nohidden(&category_dir)?
            .into_iter()
            .map(|n| category_dir.join(n))
            .collect();
        rng.shuffle(&mut images);
        let n_total = images.len();
        let n_train = py_round(n_total as f64 * p_trn).max(0) as usize;
        let n_val = py_round(n_total as f64 * p_val).max(0) as usize;
        if n_train == 0 || n_val == 0 || n_train + n_val >= n_total {
            return Err(DataError::TooFewImages {
                dir: category_dir,
                class: category.clone(),
                count: n_total,
                split: format!(
                    "{}/{}/{} train/val/test",
                    pct(p_trn),
                    pct(p_val),
                    pct(p_tst)
                ),
            });
        }
        let cname = new_cnames.get(category).unwrap_or(category);
        let mk = |ims: &[PathBuf]| -> Vec<Datum> {
            ims.iter()
                .map(|p| Datum {
                    impath: p.clone(),
                    label,
                    domain: 0,
                    classname: cname.clone(),
                })
                .collect()
        };
        split.train.extend(mk(&images[..n_train]));
        split.val.extend(mk(&images[n_train..n_train + n_val]));
        split.test.extend(mk(&images[n_train + n_val..]));
    }
    Ok(split)
}

/// CoOp's `OxfordPets.split_trainval`: per label (first-appearance order)
/// shuffle the indices on `rng`; the first `round(p_val n)` go to val.
/// `source` names the annotation file in the too-few-images error.
pub fn split_trainval(
    trainval: Vec<Datum>,
    p_val: f64,
    source: &Path,
    rng: &mut PyRandom,
) -> Result<(Vec<Datum>, Vec<Datum>), DataError> {
    let p_trn = 1.0 - p_val;
    print(&format!(
        "Splitting trainval into {} train and {} val",
        pct(p_trn),
        pct(p_val)
    ));
    let groups = super::fewshot::split_by_label(&trainval, |d| d.label);
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for (_, mut idxs) in groups {
        let n_val = py_round(idxs.len() as f64 * p_val).max(0) as usize;
        if n_val == 0 {
            let d = &trainval[idxs[0]];
            return Err(DataError::TooFewImages {
                dir: source.to_path_buf(),
                class: d.classname.clone(),
                count: idxs.len(),
                split: format!("{} train / {} val", pct(p_trn), pct(p_val)),
            });
        }
        rng.shuffle(&mut idxs);
        for (n, idx) in idxs.into_iter().enumerate() {
            if n < n_val {
                val.push(trainval[idx].clone());
            } else {
                train.push(trainval[idx].clone());
            }
        }
    }
    Ok((train, val))
}

thread_local! {
    static NO_WRITES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` (a dataset build) without writing a missing split file on this thread: a
/// probe before the run (its identity) must see the split the run will make, without
/// making it (the run that makes it draws its few-shot subsets from the same stream).
pub fn without_writes<T>(f: impl FnOnce() -> T) -> T {
    let was = NO_WRITES.with(|w| w.replace(true));
    let out = f();
    NO_WRITES.with(|w| w.set(was));
    out
}

/// Reads the split file if present; otherwise runs `fallback` on the
/// dataset's random stream and saves its result there, as CoOp does.
pub fn load_or_create_split(
    split_path: &Path,
    prefix: &Path,
    rng: &mut PyRandom,
    fallback: impl FnOnce(&mut PyRandom) -> Result<Split, DataError>,
) -> Result<Split, DataError> {
    if split_path.exists() {
        read_split(split_path, prefix)
    } else {
        let split = fallback(rng)?;
        if !NO_WRITES.with(|w| w.get()) {
            save_split(&split, split_path, prefix)?;
        }
        Ok(split)
    }
}

// ---------------------------------------------------------------------------
// Random stream

/// The stream CoOp's `random` module is in when the dataset is built:
/// `random.seed(SEED)` for `SEED >= 0`; Dassl does not seed for a negative
/// SEED, so those draw from OS-random state (not reproducible).
pub fn stream_for_seed(seed: i64) -> PyRandom {
    if seed >= 0 {
        return PyRandom::seed(seed);
    }
    let words: Vec<u32> = (0..4)
        .flat_map(|_| {
            let v = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish();
            [v as u32, (v >> 32) as u32]
        })
        .collect();
    PyRandom::from_key_words(&words)
}

// ---------------------------------------------------------------------------
// Few-shot cache

#[derive(Debug, Serialize, Deserialize)]
struct FewShotCacheFile {
    format: String,
    num_shots: i64,
    seed: i64,
    /// [`split_fingerprint`] of the train/val lists the subsets were drawn from.
    source_fingerprint: String,
    train: Vec<Triple>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    val: Option<Vec<Triple>>,
}

/// `<dataset_dir>/split_fewshot/shot_{K}-seed_{S}.json` (CoOp: `.pkl`).
pub fn fewshot_cache_path(dataset_dir: &Path, num_shots: i64, seed: i64) -> PathBuf {
    dataset_dir
        .join(FEWSHOT_DIR)
        .join(format!("shot_{num_shots}-seed_{seed}.json"))
}

/// FNV-1a 64 over the sorted `(relpath, label, classname)` lines of train and
/// val: stable across runs and platforms, and blind to item order (the order
/// affects sampling but not which data a cache came from).
pub fn split_fingerprint(train: &[Datum], val: &[Datum], prefix: &Path) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for (tag, items) in [("train", train), ("val", val)] {
        let mut lines: Vec<String> = triples(items, prefix)
            .into_iter()
            .map(|(p, l, c)| format!("{p}\t{l}\t{c}\n"))
            .collect();
        lines.sort();
        feed(tag.as_bytes());
        feed(b"\0");
        for l in &lines {
            feed(l.as_bytes());
        }
    }
    format!("{h:016x}")
}

/// The cache at `path` if it matches the current split, else why not.
fn load_cache(
    path: &Path,
    fingerprint: &str,
    scope: FewShotScope,
) -> Result<FewShotCacheFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("unreadable ({e})"))?;
    let cache: FewShotCacheFile =
        serde_json::from_str(&text).map_err(|e| format!("not a dassl-rs few-shot cache ({e})"))?;
    if cache.format != CACHE_FORMAT {
        return Err(format!(
            "written in format {:?}, expected {CACHE_FORMAT:?}",
            cache.format
        ));
    }
    if cache.source_fingerprint != fingerprint {
        return Err(format!(
            "made from different data (split fingerprint {}, the current split has {fingerprint})",
            cache.source_fingerprint
        ));
    }
    if scope == FewShotScope::TrainVal && cache.val.is_none() {
        return Err("has no val subset".into());
    }
    Ok(cache)
}

/// Maps cached triples back onto the source items; `None` if one is not in the source.
fn resolve(cached: &[Triple], source: &[Datum], prefix: &Path) -> Option<Vec<Datum>> {
    let index: HashMap<Triple, &Datum> = triples(source, prefix).into_iter().zip(source).collect();
    cached
        .iter()
        .map(|t| index.get(t).map(|d| (*d).clone()))
        .collect()
}

/// CoOp's few-shot block: load `shot_K-seed_S` from the cache, or draw train
/// (K shots) and val (`min(K, 4)`) on `rng` and cache them. `num_shots < 1`
/// returns the lists unchanged. A cache from other data is rebuilt (logged).
#[allow(clippy::too_many_arguments)]
pub fn fewshot_with_cache(
    dataset_dir: &Path,
    prefix: &Path,
    train: Vec<Datum>,
    val: Vec<Datum>,
    num_shots: i64,
    seed: i64,
    scope: FewShotScope,
    rng: &mut PyRandom,
) -> Result<(Vec<Datum>, Vec<Datum>), DataError> {
    if num_shots < 1 {
        return Ok((train, val));
    }
    let path = fewshot_cache_path(dataset_dir, num_shots, seed);
    let val_source: &[Datum] = if scope == FewShotScope::TrainVal {
        &val
    } else {
        &[]
    };
    let fingerprint = split_fingerprint(&train, val_source, prefix);
    if path.exists() {
        let loaded = load_cache(&path, &fingerprint, scope).and_then(|c| {
            let t = resolve(&c.train, &train, prefix);
            let v = match &c.val {
                Some(v) if scope == FewShotScope::TrainVal => resolve(v, &val, prefix),
                _ => Some(val.clone()),
            };
            t.zip(v)
                .ok_or_else(|| "lists images that are not in the current split".to_string())
        });
        match loaded {
            Ok(pair) => {
                print(&format!(
                    "Loading preprocessed few-shot data from {}",
                    path.display()
                ));
                return Ok(pair);
            }
            Err(why) => print(&format!(
                "Few-shot cache {} {why}; rebuilding it",
                path.display()
            )),
        }
    }
    if seed < 0 {
        print(&format!(
            "SEED is {seed}: the {num_shots}-shot subsets are drawn unseeded and are not reproducible \
             (they are still cached in {})",
            path.display()
        ));
    }
    let mut sampler = FewShotSampler::from_rng(std::mem::replace(rng, PyRandom::seed(0)));
    print(&format!("Creating a {num_shots}-shot dataset"));
    let new_train = sampler.sample(&train, |d| d.label, num_shots, false);
    let new_val = if scope == FewShotScope::TrainVal {
        let k = num_shots.min(COOP_MAX_VAL_SHOTS);
        print(&format!("Creating a {k}-shot dataset"));
        sampler.sample(&val, |d| d.label, k, false)
    } else {
        val
    };
    *rng = sampler.into_rng();
    let cache = FewShotCacheFile {
        format: CACHE_FORMAT.to_string(),
        num_shots,
        seed,
        source_fingerprint: fingerprint,
        train: triples(&new_train, prefix),
        val: (scope == FewShotScope::TrainVal).then(|| triples(&new_val, prefix)),
    };
    print(&format!(
        "Saving preprocessed few-shot data to {}",
        path.display()
    ));
    write_atomic(&path, python_json(&cache).as_bytes()).map_err(|source| DataError::Io {
        path: path.clone(),
        source,
    })?;
    Ok((new_train, new_val))
}

// ---------------------------------------------------------------------------
// Base/new classes and the common pattern

/// `DATASET.SUBSAMPLE_CLASSES` as a mode.
pub fn subsample_mode(cfg: &Config) -> Result<SubsampleMode, DataError> {
    let raw = cfg.str("DATASET.SUBSAMPLE_CLASSES")?;
    raw.parse().map_err(|_| {
        DataError::Config(ConfigError::InvalidChoice {
            key: "DATASET.SUBSAMPLE_CLASSES".into(),
            value: raw.to_string(),
            expected: "one of all, base, new".into(),
        })
    })
}

/// CoOp's `subsample_classes(*sources, subsample=mode)` on data lists, with
/// its `SUBSAMPLE BASE CLASSES!` message; rebuilt items get domain 0.
pub fn subsample(sources: &[&[Datum]], mode: SubsampleMode) -> Vec<Vec<Datum>> {
    if mode != SubsampleMode::All {
        print(&format!(
            "SUBSAMPLE {} CLASSES!",
            mode.as_str().to_uppercase()
        ));
    }
    subsample_classes(
        sources,
        mode,
        |d: &Datum| d.label,
        |d: &mut Datum, y| {
            d.label = y;
            d.domain = 0;
        },
    )
}

/// Few-shot (cached) then base/new, then the `DatasetBase`; with
/// [`FewShotScope::TrainOnly`] val is the (subsampled) test set, as ImageNet.
pub fn finish_coop(
    cfg: &Config,
    dataset_dir: &Path,
    prefix: &Path,
    split: Split,
    scope: FewShotScope,
    rng: &mut PyRandom,
) -> Result<DatasetBase, DataError> {
    let num_shots = cfg.int("DATASET.NUM_SHOTS")?;
    let seed = cfg.int("SEED")?;
    let mode = subsample_mode(cfg)?;
    let Split { train, val, test } = split;
    let (train, val) =
        fewshot_with_cache(dataset_dir, prefix, train, val, num_shots, seed, scope, rng)?;
    match scope {
        FewShotScope::TrainVal => {
            let mut out = subsample(&[&train, &val, &test], mode).into_iter();
            let (train_x, val, test) = (
                out.next().unwrap_or_default(),
                out.next().unwrap_or_default(),
                out.next().unwrap_or_default(),
            );
            Ok(DatasetBase { train_x, val, test })
        }
        FewShotScope::TrainOnly => {
            let mut out = subsample(&[&train, &test], mode).into_iter();
            let (train_x, test) = (
                out.next().unwrap_or_default(),
                out.next().unwrap_or_default(),
            );
            Ok(DatasetBase {
                train_x,
                val: test.clone(),
                test,
            })
        }
    }
}

/// The whole CoOp pattern for a split-file dataset: one random stream seeded
/// by SEED, the split file (or `fallback` on that stream, then saved), few-shot
/// train/val with `min(K, 4)` on the same stream, then base/new.
pub fn build_split_dataset(
    cfg: &Config,
    layout: &SplitLayout,
    fallback: impl FnOnce(&mut PyRandom) -> Result<Split, DataError>,
) -> Result<DatasetBase, DataError> {
    let mut rng = stream_for_seed(cfg.int("SEED")?);
    let split = load_or_create_split(&layout.split_path, &layout.prefix, &mut rng, fallback)?;
    finish_coop(
        cfg,
        &layout.dataset_dir,
        &layout.prefix,
        split,
        FewShotScope::TrainVal,
        &mut rng,
    )
}

/// Checks that no two distinct class names share a label (a broken split file
/// would otherwise silently mislabel prompts).
pub fn check_label_names(items: &[Datum], path: &Path) -> Result<(), DataError> {
    let mut seen: HashMap<usize, &str> = HashMap::new();
    for d in items {
        let name = seen.entry(d.label).or_insert(&d.classname);
        if *name != d.classname {
            return Err(DataError::BadSplit {
                path: path.to_path_buf(),
                reason: format!(
                    "label {} is named both {:?} and {:?}",
                    d.label, name, d.classname
                ),
            });
        }
    }
    Ok(())
}

/// The distinct image paths of a dataset, for checks that touch each file once.
pub fn unique_paths(data: &DatasetBase) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    data.train_x
        .iter()
        .chain(&data.val)
        .chain(&data.test)
        .filter(|d| seen.insert(d.impath.clone()))
        .map(|d| d.impath.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"x").unwrap();
    }

    fn d(p: &Path, label: usize, c: &str) -> Datum {
        Datum {
            impath: p.to_path_buf(),
            label,
            domain: 0,
            classname: c.into(),
        }
    }

    #[test]
    fn py_round_is_half_even() {
        assert_eq!(
            [0.5, 1.5, 2.5, 3.5, 2.4000000000000004].map(py_round),
            [0, 2, 2, 4, 2]
        );
        assert_eq!(pct(0.5), "50%");
        assert_eq!(pct(1.0 - 0.5 - 0.2), "30%");
    }

    #[test]
    fn split_round_trips_in_python_layout() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("images");
        for f in ["a/1.jpg", "a/2.jpg", "b/3.jpg"] {
            touch(&img.join(f));
        }
        let split = Split {
            train: vec![
                d(&img.join("a/1.jpg"), 0, "a"),
                d(&img.join("b/3.jpg"), 1, "b é"),
            ],
            val: vec![d(&img.join("a/2.jpg"), 0, "a")],
            test: vec![],
        };
        let path = dir.path().join("split.json");
        save_split(&split, &path, &img).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\n    \"train\": [\n        [\n            \"a/1.jpg\",\n            0,\n            \"a\"\n        ],"), "{text}");
        assert!(text.contains("\"b \\u00e9\""), "{text}");
        assert!(text.ends_with("\"test\": []\n}"), "{text}");
        assert_eq!(read_split(&path, &img).unwrap(), split);
    }

    #[test]
    fn missing_image_names_file_and_split() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(
            &path,
            r#"{"train": [["x/gone.jpg", "0", "x"]], "val": [], "test": []}"#,
        )
        .unwrap();
        let e = read_split(&path, dir.path()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("gone.jpg") && msg.contains("s.json"), "{msg}");
        std::fs::write(
            &path,
            r#"{"train": [["x/gone.jpg", 0]], "val": [], "test": []}"#,
        )
        .unwrap();
        assert!(matches!(
            read_split(&path, dir.path()),
            Err(DataError::BadSplit { .. })
        ));
        std::fs::write(&path, r#"{"train": []}"#).unwrap();
        assert!(read_split(&path, dir.path())
            .unwrap_err()
            .to_string()
            .contains("\"val\""));
    }

    #[test]
    fn folder_split_follows_coop_ratios_and_renames() {
        let dir = tempfile::tempdir().unwrap();
        for (c, n) in [("cat", 10), ("dog", 7), ("skip", 5)] {
            for i in 0..n {
                touch(&dir.path().join(c).join(format!("{i}.jpg")));
            }
        }
        touch(&dir.path().join(".hidden/0.jpg"));
        let names = HashMap::from([("dog".to_string(), "puppy".to_string())]);
        let mut rng = PyRandom::seed(1);
        let s = read_and_split_data(dir.path(), 0.5, 0.2, &["skip"], &names, &mut rng).unwrap();
        // cat: 5/2/3, dog: round(3.5)=4 / round(1.4)=1 / 2
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (9, 3, 5));
        assert!(s
            .train
            .iter()
            .any(|d| d.classname == "puppy" && d.label == 1));
        let mut again = PyRandom::seed(1);
        assert_eq!(
            read_and_split_data(dir.path(), 0.5, 0.2, &["skip"], &names, &mut again).unwrap(),
            s
        );
        // Too few images to split.
        touch(&dir.path().join("tiny/0.jpg"));
        let e = read_and_split_data(dir.path(), 0.5, 0.2, &[], &names, &mut rng).unwrap_err();
        assert!(matches!(e, DataError::TooFewImages { count: 1, .. }), "{e}");
    }

    #[test]
    fn trainval_split_is_per_label() {
        let dir = tempfile::tempdir().unwrap();
        let items: Vec<Datum> = (0..15)
            .map(|i| d(&dir.path().join(format!("{i}")), i % 3, "c"))
            .collect();
        let (train, val) =
            split_trainval(items.clone(), 0.2, dir.path(), &mut PyRandom::seed(0)).unwrap();
        assert_eq!((train.len(), val.len()), (12, 3));
        let e = split_trainval(items[..2].to_vec(), 0.2, dir.path(), &mut PyRandom::seed(0))
            .unwrap_err();
        assert!(matches!(e, DataError::TooFewImages { .. }));
    }

    #[test]
    fn fingerprint_ignores_order_but_not_content() {
        let p = Path::new("/r");
        let a = vec![d(&p.join("1"), 0, "a"), d(&p.join("2"), 1, "b")];
        let b = vec![a[1].clone(), a[0].clone()];
        assert_eq!(split_fingerprint(&a, &[], p), split_fingerprint(&b, &[], p));
        assert_ne!(
            split_fingerprint(&a, &[], p),
            split_fingerprint(&a[..1], &[], p)
        );
        assert_ne!(split_fingerprint(&a, &[], p), split_fingerprint(&[], &a, p));
        // Moving the root keeps the fingerprint (paths are relative).
        let moved: Vec<Datum> = a
            .iter()
            .map(|x| {
                d(
                    &Path::new("/s").join(x.impath.strip_prefix(p).unwrap()),
                    x.label,
                    &x.classname,
                )
            })
            .collect();
        assert_eq!(
            split_fingerprint(&a, &[], p),
            split_fingerprint(&moved, &[], Path::new("/s"))
        );
    }

    #[test]
    fn cache_is_reused_and_rebuilt_on_other_data() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let train: Vec<Datum> = (0..20)
            .map(|i| d(&p.join(format!("t{i}")), i % 2, "c"))
            .collect();
        let val: Vec<Datum> = (0..10)
            .map(|i| d(&p.join(format!("v{i}")), i % 2, "c"))
            .collect();
        let run = |train: &[Datum]| {
            fewshot_with_cache(
                p,
                p,
                train.to_vec(),
                val.clone(),
                3,
                5,
                FewShotScope::TrainVal,
                &mut PyRandom::seed(5),
            )
            .unwrap()
        };
        let (t1, v1) = run(&train);
        assert_eq!((t1.len(), v1.len()), (6, 6));
        let path = fewshot_cache_path(p, 3, 5);
        let before = std::fs::read_to_string(&path).unwrap();
        // A different stream would sample differently; a reused cache does not sample.
        let (t2, _) = fewshot_with_cache(
            p,
            p,
            train.clone(),
            val.clone(),
            3,
            5,
            FewShotScope::TrainVal,
            &mut PyRandom::seed(99),
        )
        .unwrap();
        assert_eq!(t2, t1);
        // Changed data: the cache is rebuilt from the new split.
        let mut other = train.clone();
        other.pop();
        let (t3, _) = run(&other);
        assert!(t3.iter().all(|x| other.contains(x)));
        assert_ne!(std::fs::read_to_string(&path).unwrap(), before);
        // Garbage cache: rebuilt, not an error.
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(run(&train).0, t1);
    }

    #[test]
    fn negative_seed_samples_without_a_seed() {
        let a = stream_for_seed(-1);
        let b = stream_for_seed(-1);
        assert_ne!(a, b);
        assert_eq!(stream_for_seed(3), PyRandom::seed(3));
    }

    #[test]
    fn label_name_clash_is_reported() {
        let p = Path::new("/r");
        let items = vec![d(&p.join("1"), 0, "a"), d(&p.join("2"), 0, "b")];
        assert!(check_label_names(&items, p)
            .unwrap_err()
            .to_string()
            .contains("\"a\""));
    }
}
