//! A folder of image-feature tensors, one entry per [`FeatureKey`].
//!
//! An entry is `<id>.safetensors` (the features, `[images, dim]`, on the CPU) and
//! `<id>.json` (its key, shape, dtype and the SHA-256 of the tensor file). Both are written
//! to a temporary name and renamed, the JSON last, so a reader sees a whole entry or none;
//! one writer per entry holds `<id>.lock` while it builds, and a second run that wants the
//! same entry waits for it and reuses it. An entry whose files do not match its JSON
//! (truncated, edited, or written by an older format) is rebuilt.
//!
//! Where the folder is: the config key `TEST.FEATURE_CACHE` when set, else the
//! `DASSL_FEATURE_CACHE` environment variable, else `~/.cache/dassl-rs/features`; either
//! may say `off` to compute features every time.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use fs2::FileExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{Device, TchError, Tensor};
use thiserror::Error;

use crate::fsutil::write_atomic;

/// Environment variable naming the cache folder (or `off`).
pub const ENV: &str = "DASSL_FEATURE_CACHE";
/// Config key naming the cache folder (or `off`); empty defers to [`ENV`].
pub const CONFIG_KEY: &str = "TEST.FEATURE_CACHE";
/// Bumped whenever the way cached features are computed changes: older entries go stale.
pub const FORMAT: u32 = 2;
/// Name of the tensor inside an entry's safetensors file.
const TENSOR_NAME: &str = "features";

/// What can go wrong with the cache folder.
#[derive(Debug, Error)]
pub enum CacheError {
    /// A file of the cache could not be read or written.
    #[error("feature cache: {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// libtorch could not write the features.
    #[error("feature cache: cannot write {path}: {source}")]
    Torch {
        /// The tensor file.
        path: PathBuf,
        /// The libtorch error.
        #[source]
        source: TchError,
    },
    /// The features built for an entry do not have one row per image (not stored).
    #[error("feature cache: features of shape {shape:?} were built for {images} images")]
    WrongRows {
        /// Their shape.
        shape: Vec<i64>,
        /// The image count of the key.
        images: usize,
    },
    /// `dassl cache rm` named an entry the folder does not hold.
    #[error("feature cache {dir} holds no entry {id} (see `dassl cache ls`)")]
    NoSuchEntry {
        /// The id asked for.
        id: String,
        /// The cache folder.
        dir: PathBuf,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Declares [`CONFIG_KEY`] (empty: defer to [`ENV`]), a dassl-rs key beside Dassl's own.
pub fn extend_cfg(b: &mut crate::config::ConfigBuilder) -> Result<(), crate::errors::ConfigError> {
    b.declare(CONFIG_KEY, "''", "dassl-rs feature cache")
}

/// Whether and where features are cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheSetting {
    /// Features are computed every time.
    Off,
    /// Features are cached in this folder.
    Dir(PathBuf),
}

impl CacheSetting {
    /// The setting from the config value (`TEST.FEATURE_CACHE`) and the environment:
    /// a non-empty config value wins, then [`ENV`], then the default folder. `off`,
    /// `none`, `false` and `0` (any case) turn the cache off.
    pub fn resolve(config_value: &str, env_value: Option<&str>) -> CacheSetting {
        let chosen = if !config_value.trim().is_empty() {
            config_value.trim()
        } else {
            env_value.map(str::trim).unwrap_or("")
        };
        if ["off", "none", "false", "0"]
            .iter()
            .any(|o| chosen.eq_ignore_ascii_case(o))
        {
            return CacheSetting::Off;
        }
        if chosen.is_empty() {
            return CacheSetting::Dir(default_dir());
        }
        CacheSetting::Dir(PathBuf::from(chosen))
    }

    /// [`CacheSetting::resolve`] with the process environment.
    pub fn from_config_value(config_value: &str) -> CacheSetting {
        let env = std::env::var(ENV).ok();
        Self::resolve(config_value, env.as_deref())
    }

    /// The cache, unless it is off.
    pub fn cache(&self) -> Option<FeatureCache> {
        match self {
            CacheSetting::Off => None,
            CacheSetting::Dir(d) => Some(FeatureCache::at(d)),
        }
    }
}

/// `$XDG_CACHE_HOME/dassl-rs/features`, or `~/.cache/dassl-rs/features`.
pub fn default_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
            Path::new(&home).join(".cache")
        });
    base.join("dassl-rs").join("features")
}

/// Everything the features of a list of images depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureKey {
    /// SHA-256 of the weights file's bytes.
    pub weights_sha256: String,
    /// `fp16`, `fp32` or `amp`.
    pub precision: String,
    /// `cpu` or `cuda` (kernels, hence rounding, differ between kinds).
    pub device: String,
    /// The transform that turns a file into the encoder's input (its full description).
    pub transform: String,
    /// Fingerprint of the image list: every path, size and modification time, in order.
    pub images_sha256: String,
    /// Number of images.
    pub images: usize,
    /// Images per encoder call: kernels may block a batch of another size differently and
    /// round the features apart, so an entry holds exactly what an evaluation with this
    /// batch size computes without the cache.
    pub batch_size: usize,
    /// [`FORMAT`] when the entry was written.
    pub format: u32,
}

impl FeatureKey {
    /// The entry's file stem: the first 24 hex digits of the key's SHA-256.
    pub fn id(&self) -> String {
        let json = serde_json::to_string(self).expect("a key serialises");
        hex(&Sha256::digest(json.as_bytes()))[..24].to_string()
    }
}

/// What an entry's JSON holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryMeta {
    /// The key the features were computed for.
    pub key: FeatureKey,
    /// What they are, for people (`ToyShapes test, tiny.safetensors, fp32, cpu`).
    pub label: String,
    /// Shape of the tensor.
    pub shape: Vec<i64>,
    /// Its dtype (`Float`, `Half`).
    pub kind: String,
    /// SHA-256 of the safetensors file.
    pub features_sha256: String,
    /// Size of the safetensors file in bytes.
    pub bytes: u64,
    /// When it was written (RFC 3339).
    pub created: String,
}

/// Where a lookup's features came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A valid entry was read.
    Hit,
    /// No entry existed: the features were computed and stored.
    Built,
    /// The entry was unusable (the reason says why): computed and stored again.
    Rebuilt(String),
}

/// An entry as `dassl cache ls` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    /// File stem.
    pub id: String,
    /// Its JSON, or why it could not be read.
    pub meta: Result<EntryMeta, String>,
}

/// A cache folder.
#[derive(Debug, Clone)]
pub struct FeatureCache {
    dir: PathBuf,
}

impl FeatureCache {
    /// The cache in `dir` (created on the first write).
    pub fn at(dir: impl Into<PathBuf>) -> FeatureCache {
        FeatureCache { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn tensor_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.safetensors"))
    }

    fn meta_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn lock_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.lock"))
    }

    /// The stored features of `key`, `Ok(None)` when there is no entry, `Err(reason)` when
    /// the entry is unusable.
    pub fn lookup(&self, key: &FeatureKey) -> Result<Option<Tensor>, String> {
        let id = key.id();
        let meta_path = self.meta_path(&id);
        let text = match std::fs::read_to_string(&meta_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", meta_path.display())),
        };
        let meta: EntryMeta =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", meta_path.display()))?;
        if meta.key != *key {
            return Err("its key differs from the one wanted".into());
        }
        let path = self.tensor_path(&id);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if hex(&Sha256::digest(&bytes)) != meta.features_sha256 {
            return Err(format!("{} does not match its checksum", path.display()));
        }
        let tensors =
            Tensor::read_safetensors(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let t = tensors
            .into_iter()
            .find(|(n, _)| n == TENSOR_NAME)
            .map(|(_, t)| t)
            .ok_or_else(|| format!("{} holds no `{TENSOR_NAME}` tensor", path.display()))?;
        if t.size() != meta.shape || t.size().first() != Some(&(key.images as i64)) {
            return Err(format!(
                "{} has shape {:?}, its JSON says {:?} for {} images",
                path.display(),
                t.size(),
                meta.shape,
                key.images
            ));
        }
        Ok(Some(t))
    }

    /// The features of `key`: read from the cache, or computed by `build` (`[images, dim]`)
    /// and stored. Only one process builds an entry at a time; others wait and read it.
    pub fn get_or_build<E: From<CacheError>>(
        &self,
        key: &FeatureKey,
        label: &str,
        build: impl FnOnce() -> Result<Tensor, E>,
    ) -> Result<(Tensor, Outcome), E> {
        let first = match self.lookup(key) {
            Ok(Some(t)) => return Ok((t, Outcome::Hit)),
            Ok(None) => None,
            Err(reason) => Some(reason),
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let lock_path = self.lock_path(&key.id());
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        lock.lock_exclusive().map_err(io(&lock_path))?;
        // Another run may have written the entry while this one waited for the lock.
        let reason = match self.lookup(key) {
            Ok(Some(t)) => return Ok((t, Outcome::Hit)),
            Ok(None) => first,
            Err(reason) => Some(reason),
        };
        let features = build()?.to_device(Device::Cpu).contiguous();
        if features.size().first() != Some(&(key.images as i64)) {
            return Err(CacheError::WrongRows {
                shape: features.size(),
                images: key.images,
            }
            .into());
        }
        self.store(key, label, &features)?;
        drop(lock);
        Ok((
            features,
            match reason {
                None => Outcome::Built,
                Some(r) => Outcome::Rebuilt(r),
            },
        ))
    }

    /// Writes the tensor file, then the JSON that makes the entry visible.
    fn store(&self, key: &FeatureKey, label: &str, features: &Tensor) -> Result<(), CacheError> {
        let id = key.id();
        let path = self.tensor_path(&id);
        let tmp = self
            .dir
            .join(format!(".{id}.tmp-{}.safetensors", std::process::id()));
        Tensor::write_safetensors(&[(TENSOR_NAME, features)], &tmp).map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            CacheError::Torch {
                path: tmp.clone(),
                source,
            }
        })?;
        let bytes = std::fs::read(&tmp).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        let meta = EntryMeta {
            key: key.clone(),
            label: label.to_string(),
            shape: features.size(),
            kind: format!("{:?}", features.kind()),
            features_sha256: hex(&Sha256::digest(&bytes)),
            bytes: bytes.len() as u64,
            created: chrono::Local::now().to_rfc3339(),
        };
        let json = serde_json::to_string_pretty(&meta).expect("meta serialises");
        let meta_path = self.meta_path(&id);
        write_atomic(&meta_path, json.as_bytes()).map_err(io(&meta_path))
    }

    /// Every entry of the folder (by its JSON or tensor file), sorted by id; an absent
    /// folder is an empty cache.
    pub fn list(&self) -> Result<Vec<Listed>, CacheError> {
        let mut ids = std::collections::BTreeSet::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        for entry in entries {
            let name = entry.map_err(io(&self.dir))?.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            if let Some(id) = name
                .strip_suffix(".json")
                .or_else(|| name.strip_suffix(".safetensors"))
            {
                ids.insert(id.to_string());
            }
        }
        Ok(ids
            .into_iter()
            .map(|id| {
                let path = self.meta_path(&id);
                let meta = std::fs::read_to_string(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|t| serde_json::from_str::<EntryMeta>(&t).map_err(|e| e.to_string()));
                Listed { id, meta }
            })
            .collect())
    }

    /// Removes the entries `ids` (every entry and temporary file when `ids` is empty);
    /// returns how many entries went.
    pub fn remove(&self, ids: &[String]) -> Result<usize, CacheError> {
        let listed = self.list()?;
        let doomed: Vec<String> = if ids.is_empty() {
            listed.into_iter().map(|l| l.id).collect()
        } else {
            for id in ids {
                if !listed.iter().any(|l| &l.id == id) {
                    return Err(CacheError::NoSuchEntry {
                        id: id.clone(),
                        dir: self.dir.clone(),
                    });
                }
            }
            ids.to_vec()
        };
        for id in &doomed {
            // The JSON first: without it the entry is invisible to readers.
            for path in [self.meta_path(id), self.tensor_path(id), self.lock_path(id)] {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&path)(e)),
                }
            }
        }
        if ids.is_empty() {
            self.remove_leftovers()?;
        }
        Ok(doomed.len())
    }

    /// Temporary files of interrupted writes, stray locks and the weights-hash memos.
    fn remove_leftovers(&self) -> Result<(), CacheError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        for entry in entries {
            let path = entry.map_err(io(&self.dir))?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            if path.is_dir() && name == WEIGHTS_MEMO_DIR {
                std::fs::remove_dir_all(&path).map_err(io(&path))?;
            } else if name.starts_with('.') || name.ends_with(".lock") {
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        Ok(())
    }

    /// SHA-256 of a weights file, remembered per (path, size, modification time) in the
    /// cache folder so that a 300 MB file is hashed once, not at every run.
    pub fn weights_sha256(&self, path: &Path) -> Result<String, CacheError> {
        let meta = std::fs::metadata(path).map_err(io(path))?;
        let canonical = path.canonicalize().map_err(io(path))?;
        let stamp = format!(
            "{}\0{}\0{}",
            canonical.display(),
            meta.len(),
            mtime_ns(&meta)
        );
        let memo = self
            .dir
            .join(WEIGHTS_MEMO_DIR)
            .join(&hex(&Sha256::digest(stamp.as_bytes()))[..24]);
        if let Ok(text) = std::fs::read_to_string(&memo) {
            let text = text.trim();
            if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Ok(text.to_string());
            }
        }
        let digest = file_sha256(path)?;
        write_atomic(&memo, digest.as_bytes()).map_err(io(&memo))?;
        Ok(digest)
    }
}

/// Sub-folder of remembered weight hashes.
const WEIGHTS_MEMO_DIR: &str = "weights";

fn mtime_ns(meta: &std::fs::Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

/// Lower-case hex of bytes.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file's bytes, read in blocks.
pub fn file_sha256(path: &Path) -> Result<String, CacheError> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Fingerprint of an ordered image list: each path, size and modification time (a file
/// replaced in place changes its time), so listing is enough, no image is read.
pub fn images_sha256<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Result<String, CacheError> {
    let mut hasher = Sha256::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(io(path))?;
        hasher.update(path.to_string_lossy().as_bytes());
        hasher.update(format!("\0{}\0{}\n", meta.len(), mtime_ns(&meta)).as_bytes());
    }
    Ok(hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests;
