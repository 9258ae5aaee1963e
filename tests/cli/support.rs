//! Running the built `dassl` binary from tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (configs/ lives there).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `dassl args...` from the repository root.
pub fn dassl(args: &[&str]) -> Output {
    dassl_in(&repo(), args)
}

pub fn dassl_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dassl"))
        .args(args)
        .current_dir(dir)
        .env_remove("CUDA_VISIBLE_DEVICES")
        // Tests must not fill the user's feature cache.
        .env("DASSL_FEATURE_CACHE", "off")
        .output()
        .expect("the dassl binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "dassl failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// A random tiny CLIP (ViT, 32 px, full vocabulary) as `.safetensors`.
pub fn tiny_clip(dir: &Path) -> PathBuf {
    use dassl_rs::clip::model::{ClipConfig, VisionConfig};
    let config = ClipConfig {
        embed_dim: 32,
        image_resolution: 32,
        vision: VisionConfig::Vit {
            layers: 1,
            width: 64,
            patch_size: 16,
        },
        context_length: 77,
        vocab_size: 49408,
        transformer_width: 64,
        transformer_heads: 1,
        transformer_layers: 1,
    };
    let path = dir.join("tiny_clip.safetensors");
    dassl_rs::clip::random::write_random_clip(&path, &config, 3).expect("writes a random CLIP");
    path
}

/// Toy data (`toy_shapes`, 5 classes x 12 images) under `dir/data`.
pub fn toy_data(dir: &Path) -> PathBuf {
    let root = dir.join("data");
    ok(&dassl_in(
        dir,
        &[
            "data",
            "make-toy",
            "--root",
            root.to_str().unwrap(),
            "--classes",
            "5",
            "--images-per-class",
            "12",
            "--image-size",
            "40",
        ],
    ));
    root
}

/// Stand-ins for CoOp's DescribableTextures and EuroSAT under `root` (`dtd/`, `eurosat/`):
/// empty image files and real split files, enough for validation's dataset build; for
/// tests whose runs are stand-in scripts that read no image.
pub fn fake_coop_data(root: &Path) {
    for (dir, images, name, classes) in [
        (
            "dtd",
            "images",
            "DescribableTextures",
            ["banded", "blotchy"],
        ),
        ("eurosat", "2750", "EuroSAT", ["Forest", "River"]),
    ] {
        let d = root.join(dir);
        let mut items = Vec::new();
        for (label, class) in classes.iter().enumerate() {
            std::fs::create_dir_all(d.join(images).join(class)).unwrap();
            for i in 0..3 {
                let rel = format!("{class}/{i}.jpg");
                std::fs::write(d.join(images).join(&rel), b"").unwrap();
                items.push(serde_json::json!([rel, label, class]));
            }
        }
        let split = serde_json::json!({"train": items[..], "val": items[..], "test": items[..]});
        std::fs::write(d.join(format!("split_zhou_{name}.json")), split.to_string()).unwrap();
    }
}

/// A stand-in for OpenAI's `name` weights: a small file in the CLIP cache folder
/// `dir/clip`, recorded in the hash cache `dir/hashes.json` with OpenAI's SHA-256 (as
/// `dassl clip fetch` leaves a verified download). Returns the environment that points
/// `dassl` at both.
pub fn fake_openai_weights(dir: &Path, name: &str) -> Vec<(String, PathBuf)> {
    use dassl_rs::clip::BackboneEntry;
    use dassl_rs::registry::RegistryEntry;
    let entry = BackboneEntry::get(name).expect("a released name");
    let cache = dir.join("clip");
    std::fs::create_dir_all(&cache).unwrap();
    let file = cache.join(entry.file_name());
    std::fs::write(&file, b"not really CLIP").unwrap();
    let hashes = dir.join("hashes.json");
    dassl_rs::config::content_hash::remember_in(&hashes, &file, entry.sha256()).unwrap();
    vec![
        ("DASSL_CLIP_CACHE".into(), cache),
        ("DASSL_HASH_CACHE".into(), hashes),
    ]
}

/// Writes a figure file a test measured (kills, lost runs, bad inputs) into the folder
/// named by `DASSL_FIGURES_DIR`, so documents quote files, never hand-typed numbers.
/// Without the variable nothing is written.
pub fn write_figures(name: &str, text: &str) {
    if let Some(dir) = std::env::var_os("DASSL_FIGURES_DIR") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let header = "<!-- written by `DASSL_FIGURES_DIR=<this folder> cargo test --release --test cli`; do not edit -->\n";
        std::fs::write(dir.join(name), format!("{header}{text}")).unwrap();
    }
}
