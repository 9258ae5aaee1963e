//! The frozen-feature cache from the command line: a second run reads what the first
//! stored, `dassl cache ls` shows it and `dassl cache rm` clears it.

use crate::support::{dassl_in, ok, stderr, stdout, tiny_clip, toy_data};

#[test]
fn a_second_zero_shot_run_reads_the_cached_features_and_cache_rm_clears_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = toy_data(dir.path());
    let clip = tiny_clip(dir.path());
    let cache = dir.path().join("features");
    let run = |out: &str| {
        let args = [
            "train",
            "--trainer",
            "ZeroshotCLIP",
            "--root",
            root.to_str().unwrap(),
            "--output-dir",
            out,
            "--backbone",
            clip.to_str().unwrap(),
            "DATASET.NAME",
            "ToyShapes",
            "INPUT.SIZE",
            "(32, 32)",
            "TEST.FEATURE_CACHE",
            cache.to_str().unwrap(),
        ];
        ok(&dassl_in(dir.path(), &args));
        std::fs::read_to_string(dir.path().join(out).join("log.txt")).unwrap()
    };
    let line = "Image features of the ToyShapes test split:";
    let first = run("a");
    assert!(
        first.contains(&format!("{line} computed and stored in the feature cache")),
        "{first}"
    );
    let second = run("b");
    assert!(
        second.contains(&format!("{line} read from the feature cache")),
        "{second}"
    );
    let accuracy = |log: &str| {
        log.lines()
            .find(|l| l.starts_with("* accuracy"))
            .map(str::to_string)
    };
    assert_eq!(accuracy(&first), accuracy(&second));

    let cache_arg = cache.to_str().unwrap();
    let listing = ok(&dassl_in(dir.path(), &["cache", "ls", "--dir", cache_arg]));
    assert!(
        // ZeroshotCLIP builds CLIP in fp16 whatever PREC says, as CoOp's load_clip_to_cpu.
        listing.contains("tiny_clip.safetensors, Fp16, cpu"),
        "{listing}"
    );
    assert!(listing.contains("1 entries"), "{listing}");
    let id = listing
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    // rm needs ids or --all; an unknown id is a usage error.
    let o = dassl_in(dir.path(), &["cache", "rm", "--dir", cache_arg]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = dassl_in(dir.path(), &["cache", "rm", "--dir", cache_arg, "0123"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("holds no entry 0123"), "{}", stderr(&o));
    let o = ok(&dassl_in(
        dir.path(),
        &["cache", "rm", "--dir", cache_arg, &id],
    ));
    assert!(o.contains("Removed 1 entries"), "{o}");
    let listing = ok(&dassl_in(dir.path(), &["cache", "ls", "--dir", cache_arg]));
    assert!(listing.contains("(empty)"), "{listing}");
    // With the environment turning it off, ls says so.
    let o = dassl_in(dir.path(), &["cache", "ls"]);
    assert!(
        stdout(&o).contains("The feature cache is off"),
        "{}",
        stdout(&o)
    );
}
