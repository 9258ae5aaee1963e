//! The README's first command, reduced: the demo sweep on a quickly pretrained toy world.

use std::process::Command;

use crate::support::{repo, stderr, stdout};

#[test]
fn a_reduced_demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(repo().join("configs/demo.yaml")).unwrap();
    // Same file, smaller: a 40-step toy CLIP, one dataset, two shot counts, one seed.
    let reduced = demo
        .replace("toy_world: {seed: 1}", "toy_world: {seed: 1, steps: 40}")
        .replace("  - {key: toy_shapes20, name: ToyShapes20}\n", "")
        .replace("shots: [1, 2, 4, 8, 16]", "shots: [1, 4]")
        .replace("seeds: [1, 2, 3]", "seeds: [1]")
        .replace("OPTIM.MAX_EPOCH: 30", "OPTIM.MAX_EPOCH: 2");
    assert_ne!(
        reduced, demo,
        "the demo file changed shape: update this test"
    );
    let sweep = dir.path().join("demo.yaml");
    std::fs::write(&sweep, reduced).unwrap();
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_dassl"))
        .args([
            "run",
            "--sweep",
            sweep.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ])
        .current_dir(repo())
        .env("DASSL_TOYWORLD_CACHE", dir.path().join("cache"))
        .env("DASSL_FEATURE_CACHE", dir.path().join("features"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    // Every run evaluates the same test split with the same frozen CLIP: one run per
    // precision computes its image features (fp16: ZeroshotCLIP and CoOp's default PREC;
    // fp32: the linear probe, whose clip.load casts CLIP to fp32 on a CPU), the others read
    // them from the feature cache (and say so).
    let logs: Vec<String> = walk(&out)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "log.txt"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let said = |what: &str| logs.iter().filter(|l| l.contains(what)).count();
    let test_split = "Image features of the ToyShapes test split";
    assert_eq!(said(&format!("{test_split}: computed and stored")), 2);
    // ZeroshotCLIP, 2 CoOp and 2 linear-probe runs (the probe reads it twice, fitting and
    // testing: its own log may hold both lines).
    assert!(said(&format!("{test_split}: read from the feature cache")) >= 4);
    let text = stdout(&o);
    for trainer in ["ZeroshotCLIP", "CoOp_end", "LinearProbeCLIP"] {
        assert!(text.contains(trainer), "summary lacks {trainer}:\n{text}");
    }
    // 1 zero-shot run + 2 CoOp + 2 linear-probe runs, each with its result.
    let results = walk(&out)
        .into_iter()
        .filter(|p| p.ends_with("result.json"))
        .count();
    assert_eq!(results, 5, "{text}");
    let reports: Vec<String> = std::fs::read_dir(out.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        reports.iter().any(|r| r.ends_with(".md")) && reports.iter().any(|r| r.ends_with(".csv")),
        "{reports:?}"
    );
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
