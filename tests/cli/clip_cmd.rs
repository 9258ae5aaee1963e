use std::process::Command;

use crate::support::{dassl, ok, repo, stderr};

fn with_cache(cache: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dassl"))
        .args(args)
        .env("DASSL_CLIP_CACHE", cache)
        .output()
        .unwrap()
}

#[test]
fn info_reads_a_torchscript_archive_made_by_openais_code() {
    let model = repo().join("dassl-rs/tests/fixtures/clip/tiny_rn.pt");
    let out = ok(&dassl(&["clip", "info", model.to_str().unwrap()]));
    let out = out.replace(model.to_str().unwrap(), "<tiny_rn.pt>");
    insta::assert_snapshot!("clip_info_tiny_rn", out);
    let vit = repo().join("dassl-rs/tests/fixtures/clip/tiny_vit.safetensors");
    let out = ok(&dassl(&["clip", "info", vit.to_str().unwrap()]));
    assert!(
        out.contains("vision: VisionTransformer layers 2 width 128 patch 16 heads 2"),
        "{out}"
    );
}

#[test]
fn a_missing_model_names_the_fetch_command() {
    let cache = tempfile::tempdir().unwrap();
    let o = with_cache(cache.path(), &["clip", "info", "ViT-B/16"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("dassl clip fetch ViT-B/16"),
        "{}",
        stderr(&o)
    );
    let o = with_cache(cache.path(), &["clip", "info", "ViT-B/61"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("neither a CLIP weights file nor one of OpenAI's models"),
        "{}",
        stderr(&o)
    );
    let o = with_cache(cache.path(), &["clip", "fetch", "RN05"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("(do you mean [RN50]?)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn tokenize_prints_clip_token_ids() {
    let out = ok(&dassl(&[
        "clip",
        "tokenize",
        "a photo of a dog.",
        "&amp; Café",
    ]));
    let rows: Vec<Vec<i64>> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][..8], [49406, 320, 1125, 539, 320, 1929, 269, 49407]);
    assert!(rows.iter().all(|r| r.len() == 77));
    let long = "word ".repeat(100);
    let o = dassl(&["clip", "tokenize", &long]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("too long for context length 77"),
        "{}",
        stderr(&o)
    );
    let out = ok(&dassl(&["clip", "tokenize", "--truncate", &long]));
    let row: Vec<i64> = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(row[76], 49407);
}
