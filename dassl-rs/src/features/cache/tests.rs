use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tch::{Kind, Tensor};

use super::*;

fn key(images: usize) -> FeatureKey {
    FeatureKey {
        weights_sha256: "ab".repeat(32),
        precision: "fp32".into(),
        device: "cpu".into(),
        transform: "Transform { test }".into(),
        images_sha256: "cd".repeat(32),
        images,
        batch_size: 100,
        format: FORMAT,
    }
}

fn features(rows: i64) -> Tensor {
    Tensor::arange(rows * 4, (Kind::Float, Device::Cpu)).view([rows, 4])
}

/// `get_or_build` with a builder that counts its calls.
fn fetch(cache: &FeatureCache, k: &FeatureKey, calls: &AtomicUsize) -> (Tensor, Outcome) {
    cache
        .get_or_build::<CacheError>(k, "toy test", || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(features(k.images as i64))
        })
        .unwrap()
}

#[test]
fn an_entry_is_built_once_then_read() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FeatureCache::at(dir.path().join("cache"));
    let calls = AtomicUsize::new(0);
    let (a, first) = fetch(&cache, &key(3), &calls);
    let (b, second) = fetch(&cache, &key(3), &calls);
    assert_eq!((first, second), (Outcome::Built, Outcome::Hit));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(a.equal(&b));
    // Any other key part is another entry.
    let mut other = key(3);
    other.precision = "fp16".into();
    assert_eq!(fetch(&cache, &other, &calls).1, Outcome::Built);
    // Another batch size may round the features apart: another entry too.
    let mut batched = key(3);
    batched.batch_size = 7;
    assert_eq!(fetch(&cache, &batched, &calls).1, Outcome::Built);
    let listed = cache.list().unwrap();
    assert_eq!(listed.len(), 3);
    let meta = listed[0].meta.as_ref().unwrap();
    assert_eq!(
        (meta.label.as_str(), meta.shape.as_slice()),
        ("toy test", &[3i64, 4][..])
    );
}

#[test]
fn corrupt_and_stale_entries_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FeatureCache::at(dir.path());
    let calls = AtomicUsize::new(0);
    let k = key(2);
    let _ = fetch(&cache, &k, &calls);
    let tensor = dir.path().join(format!("{}.safetensors", k.id()));
    let json = dir.path().join(format!("{}.json", k.id()));
    // A truncated tensor file.
    let bytes = std::fs::read(&tensor).unwrap();
    std::fs::write(&tensor, &bytes[..bytes.len() / 2]).unwrap();
    let (t, outcome) = fetch(&cache, &k, &calls);
    assert!(
        matches!(&outcome, Outcome::Rebuilt(r) if r.contains("checksum")),
        "{outcome:?}"
    );
    assert!(t.equal(&features(2)));
    // An unreadable JSON.
    std::fs::write(&json, "{").unwrap();
    assert!(matches!(fetch(&cache, &k, &calls).1, Outcome::Rebuilt(_)));
    // A JSON that describes another key (an older format, or an id collision).
    let mut meta: EntryMeta =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    meta.key.format = FORMAT + 1;
    std::fs::write(&json, serde_json::to_string(&meta).unwrap()).unwrap();
    let outcome = fetch(&cache, &k, &calls).1;
    assert!(
        matches!(&outcome, Outcome::Rebuilt(r) if r.contains("key")),
        "{outcome:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(fetch(&cache, &k, &calls).1, Outcome::Hit);
}

#[test]
fn two_runs_building_one_entry_compute_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (d, calls) = (dir.path().to_path_buf(), calls.clone());
            std::thread::spawn(move || {
                FeatureCache::at(d)
                    .get_or_build::<CacheError>(&key(5), "t", || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        Ok(features(5))
                    })
                    .unwrap()
                    .1
            })
        })
        .collect();
    let outcomes: Vec<Outcome> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Built).count(), 1);
    // Nothing half-written is left beside the entry.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn features_with_the_wrong_row_count_are_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FeatureCache::at(dir.path());
    let err = cache
        .get_or_build::<CacheError>(&key(3), "t", || Ok(features(2)))
        .unwrap_err();
    assert!(
        matches!(err, CacheError::WrongRows { images: 3, .. }),
        "{err}"
    );
    assert!(cache.list().unwrap().is_empty());
}

#[test]
fn rm_removes_named_entries_or_everything() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FeatureCache::at(dir.path());
    let calls = AtomicUsize::new(0);
    for n in 1..=3 {
        let _ = fetch(&cache, &key(n), &calls);
    }
    let err = cache.remove(&["nope".into()]).unwrap_err();
    assert!(matches!(err, CacheError::NoSuchEntry { .. }), "{err}");
    assert_eq!(cache.remove(&[key(2).id()]).unwrap(), 1);
    let left: Vec<String> = cache.list().unwrap().into_iter().map(|l| l.id).collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&key(2).id()));
    assert_eq!(cache.remove(&[]).unwrap(), 2);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // An absent folder is an empty cache.
    assert!(FeatureCache::at(dir.path().join("none"))
        .list()
        .unwrap()
        .is_empty());
}

#[test]
fn the_setting_prefers_the_config_key_then_the_environment() {
    let dir = |s: &str| CacheSetting::Dir(PathBuf::from(s));
    assert_eq!(CacheSetting::resolve("/a", Some("/b")), dir("/a"));
    assert_eq!(CacheSetting::resolve("", Some("/b")), dir("/b"));
    assert_eq!(CacheSetting::resolve("", Some("OFF")), CacheSetting::Off);
    assert_eq!(CacheSetting::resolve("off", Some("/b")), CacheSetting::Off);
    assert_eq!(CacheSetting::resolve("/a", Some("off")), dir("/a"));
    assert_eq!(
        CacheSetting::resolve("", None),
        CacheSetting::Dir(default_dir())
    );
    assert!(default_dir().ends_with("dassl-rs/features"));
}

#[test]
fn fingerprints_follow_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jpg"), dir.path().join("b.jpg"));
    std::fs::write(&a, b"one").unwrap();
    std::fs::write(&b, b"two").unwrap();
    let both = images_sha256([a.as_path(), b.as_path()]).unwrap();
    assert_eq!(both, images_sha256([a.as_path(), b.as_path()]).unwrap());
    assert_ne!(
        both,
        images_sha256([b.as_path(), a.as_path()]).unwrap(),
        "order counts"
    );
    std::fs::write(&b, b"three").unwrap();
    assert_ne!(both, images_sha256([a.as_path(), b.as_path()]).unwrap());
    // The weights hash is the file's, remembered until the file changes.
    let cache = FeatureCache::at(dir.path().join("cache"));
    let h = cache.weights_sha256(&a).unwrap();
    assert_eq!(h, file_sha256(&a).unwrap());
    assert_eq!(h, hex(&Sha256::digest(b"one")));
    assert_eq!(cache.weights_sha256(&a).unwrap(), h);
    std::fs::write(&a, b"changed").unwrap();
    assert_eq!(
        cache.weights_sha256(&a).unwrap(),
        hex(&Sha256::digest(b"changed"))
    );
}
