//! SHA-256 of large files (CLIP weights), cached by path, size and modification time in a
//! small JSON file, so a sweep of hundreds of runs reads each weights file once.
//!
//! The cache is only a shortcut: a file whose size or modification time changed is hashed
//! again, and a cache that cannot be read or written is rebuilt (the hash is then
//! recomputed next time), never trusted.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Environment variable naming the cache file (tests, shared caches).
pub const CACHE_ENV: &str = "DASSL_HASH_CACHE";

/// Reading the file to hash failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot hash {path}: {source}")]
pub struct ContentHashError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    size: u64,
    mtime_ns: u64,
    sha256: String,
}

/// `$DASSL_HASH_CACHE`, else `$XDG_CACHE_HOME/dassl-rs/sha256-cache.json`, else
/// `~/.cache/dassl-rs/sha256-cache.json`.
pub fn cache_path() -> PathBuf {
    if let Some(p) = std::env::var_os(CACHE_ENV) {
        return p.into();
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".cache")
        });
    base.join("dassl-rs").join("sha256-cache.json")
}

fn read_cache(path: &Path) -> BTreeMap<String, Entry> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Hex SHA-256 of a byte stream.
pub fn sha256_reader(mut r: impl Read) -> std::io::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The file's SHA-256, from the cache when its path, size and modification time match.
pub fn sha256_file(path: &Path) -> Result<String, ContentHashError> {
    sha256_file_in(&cache_path(), path)
}

/// [`sha256_file`] with the cache file `cache_file`.
pub fn sha256_file_in(cache_file: &Path, path: &Path) -> Result<String, ContentHashError> {
    static LOCK: Mutex<()> = Mutex::new(());
    let err = |source| ContentHashError {
        path: path.to_path_buf(),
        source,
    };
    let abs = std::fs::canonicalize(path).map_err(err)?;
    let meta = std::fs::metadata(&abs).map_err(err)?;
    let mtime_ns = mtime_ns(&meta);
    let key = abs.to_string_lossy().into_owned();
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = read_cache(cache_file).get(&key) {
        if e.size == meta.len() && e.mtime_ns == mtime_ns && e.sha256.len() == 64 {
            return Ok(e.sha256.clone());
        }
    }
    let sha = sha256_reader(std::fs::File::open(&abs).map_err(err)?).map_err(err)?;
    // Re-read before writing, so entries other processes added meanwhile are kept.
    let mut cache = read_cache(cache_file);
    cache.insert(
        key,
        Entry {
            size: meta.len(),
            mtime_ns,
            sha256: sha.clone(),
        },
    );
    let json = serde_json::to_string_pretty(&cache).expect("a hash cache always serialises");
    // Best effort: an unwritable cache only costs hashing again next time.
    let _ = crate::fsutil::write_atomic(cache_file, json.as_bytes());
    Ok(sha)
}

/// Records the SHA-256 of `path` as verified elsewhere (a download checked while it was
/// written) in the cache file `cache_file`, so it is not read again.
pub fn remember_in(cache_file: &Path, path: &Path, sha256: &str) -> Result<(), ContentHashError> {
    let err = |source| ContentHashError {
        path: path.to_path_buf(),
        source,
    };
    let abs = std::fs::canonicalize(path).map_err(err)?;
    let meta = std::fs::metadata(&abs).map_err(err)?;
    let mut cache = read_cache(cache_file);
    cache.insert(
        abs.to_string_lossy().into_owned(),
        Entry {
            size: meta.len(),
            mtime_ns: mtime_ns(&meta),
            sha256: sha256.to_string(),
        },
    );
    let json = serde_json::to_string_pretty(&cache).expect("a hash cache always serialises");
    crate::fsutil::write_atomic(cache_file, json.as_bytes()).map_err(|source| ContentHashError {
        path: cache_file.to_path_buf(),
        source,
    })
}

fn mtime_ns(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_content_and_rehashes_a_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache.json");
        let sha256_file = |p: &Path| sha256_file_in(&cache, p);
        let f = dir.path().join("w.bin");
        std::fs::write(&f, b"abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_file(&f).unwrap(), abc);
        assert!(std::fs::read_to_string(&cache).unwrap().contains(abc));
        // Same size, new time: hashed again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&f, b"abd").unwrap();
        assert_ne!(sha256_file(&f).unwrap(), abc);
        // A moved copy has the same hash.
        let g = dir.path().join("moved.bin");
        std::fs::write(&g, b"abc").unwrap();
        assert_eq!(sha256_file(&g).unwrap(), abc);
        assert!(sha256_file(&dir.path().join("missing")).is_err());
    }
}
