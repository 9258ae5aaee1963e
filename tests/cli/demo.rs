//! The README's first command, reduced: the demo sweep (with its chained CSC and
//! base-to-new files) on a quickly pretrained toy world.

use std::path::Path;
use std::process::Command;

use crate::support::{repo, stderr, stdout};

/// Writes `configs/<name>` into `dir` with each `(from, to)` replaced, checking that every
/// replacement applied (so a changed demo file fails here, not silently).
fn reduced(dir: &Path, name: &str, edits: &[(&str, &str)]) {
    let mut text = std::fs::read_to_string(repo().join("configs").join(name)).unwrap();
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "configs/{name} has no {from:?}: update this test"
        );
        text = text.replace(from, to);
    }
    std::fs::write(dir.join(name), text).unwrap();
}

const ONE_DATASET: (&str, &str) = ("  - {key: toy_shapes20, name: ToyShapes20}\n", "");
const ONE_SEED: (&str, &str) = ("seeds: [1, 2, 3]", "seeds: [1]");
const QUICK_WORLD: (&str, &str) = ("toy_world: {seed: 1}", "toy_world: {seed: 1, steps: 40}");

#[test]
fn a_reduced_demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    // Same files, smaller: a 40-step toy CLIP, one dataset, one seed, few epochs.
    reduced(
        dir.path(),
        "demo.yaml",
        &[
            QUICK_WORLD,
            ONE_DATASET,
            ONE_SEED,
            ("shots: [1, 2, 4, 8, 16]", "shots: [1, 4]"),
            ("OPTIM.MAX_EPOCH: 20", "OPTIM.MAX_EPOCH: 2"),
        ],
    );
    reduced(
        dir.path(),
        "demo_csc.yaml",
        &[
            QUICK_WORLD,
            ONE_DATASET,
            ONE_SEED,
            ("shots: [1, 16]", "shots: [1]"),
            ("OPTIM.MAX_EPOCH: 20", "OPTIM.MAX_EPOCH: 2"),
        ],
    );
    reduced(
        dir.path(),
        "demo_base2new.yaml",
        &[
            QUICK_WORLD,
            ONE_DATASET,
            ONE_SEED,
            ("shots: [16]", "shots: [2]"),
            ("OPTIM.MAX_EPOCH: 20", "OPTIM.MAX_EPOCH: 1"),
            ("OPTIM.MAX_EPOCH: 5\n", "OPTIM.MAX_EPOCH: 1\n"),
        ],
    );
    let out = dir.path().join("out");
    let demo_run = || {
        let o = Command::new(env!("CARGO_BIN_EXE_dassl"))
            .args([
                "run",
                "--sweep",
                dir.path().join("demo.yaml").to_str().unwrap(),
                "--output",
                out.to_str().unwrap(),
                "--no-progress",
            ])
            .current_dir(repo())
            .env("DASSL_TOYWORLD_CACHE", dir.path().join("cache"))
            .env("DASSL_FEATURE_CACHE", dir.path().join("features"))
            .env_remove("DASSL_TOYWORLD_RECIPE")
            // As scripts/dassl runs it: the toy CLIP is pretrained in a child process.
            .env("OMP_WAIT_POLICY", "PASSIVE")
            .env_remove("CUDA_VISIBLE_DEVICES")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
        o
    };
    let o = demo_run();
    // Every run evaluates the same test split with the same frozen CLIP: the first run
    // of each precision computes its image features, the others read them from the
    // feature cache (and say so).
    let logs: Vec<String> = walk(&out)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "log.txt"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let said = |what: &str| logs.iter().filter(|l| l.contains(what)).count();
    let test_split = "Image features of the ToyShapes test split";
    assert!(said(&format!("{test_split}: computed and stored")) >= 1);
    assert!(said(&format!("{test_split}: read from the feature cache")) >= 4);
    let text = stdout(&o);
    // Few-shot: 1 zero-shot + 2 CoOp + 2 linear-probe runs, then 1 CSC run; base-to-new:
    // zero-shot, CoOp and CoCoOp, each tested on base and new.
    let results = walk(&out)
        .into_iter()
        .filter(|p| p.ends_with("result.json"))
        .count();
    assert_eq!(results, 6 + 6, "{text}");
    for label in ["ZeroshotCLIP", "CoOp_CSC", "LinearProbeCLIP", "CoCoOp"] {
        assert!(text.contains(label), "summary lacks {label}:\n{text}");
    }
    // The demo's own summary: averages, every claim with its verdict, the timing.
    let demo = std::fs::read_to_string(out.join("reports/demo.md")).unwrap();
    assert!(text.contains(demo.trim()), "{text}");
    assert!(
        demo.contains("of which pretraining the toy CLIP")
            && demo.contains("; all 12 runs trained"),
        "{demo}"
    );
    for claim in [
        "CoOp at 2 shots >= zero-shot CLIP",
        "linear probe at 1 shot below zero-shot CLIP",
        "base-to-new: CoCoOp's harmonic mean above CoOp's",
    ] {
        assert!(demo.contains(claim), "{demo}");
    }
    // The base-to-new claims are measured at this scale (few-shot ones need 2+ shots).
    assert!(
        !demo
            .lines()
            .any(|l| l.starts_with("| base-to-new:") && l.ends_with("not measured |")),
        "{demo}"
    );
    let reports: Vec<String> = std::fs::read_dir(out.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        reports.iter().any(|r| r.ends_with(".csv")) && reports.iter().any(|r| r.ends_with(".svg")),
        "{reports:?}"
    );
    // A second run of the unchanged demo reuses the toy world and skips every complete
    // run, as any sweep does, and its summary says so (same numbers, no retraining).
    let again = stdout(&demo_run());
    assert!(
        again.contains("the toy CLIP came from the cache; 0 of 12 runs trained and tested"),
        "{again}"
    );
    let table = |t: &str| t[t.find("| few-shot").unwrap()..].trim().to_string();
    assert_eq!(table(&again), table(&demo), "{again}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The orderings a reduced demo can show: with a toy CLIP pretrained for 800 steps, one
/// dataset and one seed, learned context is more than ten points above the hand-written
/// prompt at 16 shots and above the linear probe at one shot. (The linear probe's fall
/// below zero-shot CLIP at one shot needs the full pretraining; base-to-new needs seeds.)
#[test]
fn a_reduced_demo_shows_learned_context_beating_the_prompt_and_the_probe() {
    let dir = tempfile::tempdir().unwrap();
    reduced(
        dir.path(),
        "demo.yaml",
        &[
            ("toy_world: {seed: 1}", "toy_world: {seed: 1, steps: 800}"),
            ONE_DATASET,
            ONE_SEED,
            ("shots: [1, 2, 4, 8, 16]", "shots: [1, 16]"),
            ("then: [demo_csc.yaml, demo_base2new.yaml]", ""),
        ],
    );
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_dassl"))
        .args(["run", "--sweep"])
        .arg(dir.path().join("demo.yaml"))
        .arg("--output")
        .arg(&out)
        .arg("--no-progress")
        .current_dir(repo())
        .env("DASSL_TOYWORLD_CACHE", dir.path().join("cache"))
        .env("DASSL_FEATURE_CACHE", dir.path().join("features"))
        .env_remove("DASSL_TOYWORLD_RECIPE")
        .env_remove("CUDA_VISIBLE_DEVICES")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let demo = std::fs::read_to_string(out.join("reports/demo.md")).unwrap();
    for claim in [
        "| CoOp at 16 shots >= zero-shot CLIP + 10 points |",
        "| CoOp above the linear probe at 1 shot |",
    ] {
        let row = demo.lines().find(|l| l.starts_with(claim));
        assert!(
            row.is_some_and(|r| r.ends_with("| yes |")),
            "{claim} does not hold:\n{demo}"
        );
    }
}
