//! `dassl report PATH...` over a mixed set of folders: a sweep's output (stand-in runs), runs
//! made by hand with `dassl train`, and a CoOp output tree as CoOp's scripts leave it
//! (dassl-rs/tests/fixtures/report, with what CoOp's parse_test_res.py reports for it).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::{dassl_in, fake_coop_data, fake_openai_weights, ok, repo, stderr, stdout};

fn fixture() -> PathBuf {
    repo().join("dassl-rs/tests/fixtures/report")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// A stand-in for `dassl train` that writes the result.json a sweep expects.
fn stand_in(dir: &Path) -> PathBuf {
    let path = dir.join("run.sh");
    std::fs::write(
        &path,
        r#"#!/bin/sh
out=""; seed=0; prev=""
for a in "$@"; do
  [ "$prev" = "--output-dir" ] && out="$a"
  [ "$prev" = "--seed" ] && seed="$a"
  prev="$a"
done
mkdir -p "$out"
echo "epoch [1/1]" > "$out/log.txt"
cat > "$out/result.json" <<JSON
{"accuracy": $((70 + seed)).5, "error_rate": 0.0, "macro_f1": 0.0, "split": "test", "total": 10, "correct": 7,
 "trainer": "CoOp", "dataset": "D", "backbone": "RN50", "shots": 1, "seed": $seed, "subsample_classes": "all",
 "epochs": 1, "seconds": 0.1, "config_hash": "$DASSL_RUN_CONFIG_HASH", "dassl_version": "0", "libtorch_version": "0",
 "device": "cpu", "finished_at": "now"}
JSON
"#,
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The CSV's rows of one table as maps column -> value.
fn rows(csv: &str, table: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .filter(|l| l.starts_with(&format!("{table},")))
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn a_coop_output_tree_reports_what_parse_test_res_reports() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &fixture().join("coop_output"),
        &dir.path().join("coop_output"),
    );
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture().join("parse_test_res.json")).unwrap(),
    )
    .unwrap();
    let csv = ok(&dassl_in(
        dir.path(),
        &["report", "coop_output", "--format", "csv"],
    ));
    let runs = rows(&csv, "run");
    let cells = rows(&csv, "fewshot");
    let dg = rows(&csv, "dg");
    let b2n = rows(&csv, "base2new");
    let name = |key: &str| match key {
        "caltech101" => "Caltech101",
        "dtd" => "DescribableTextures",
        "eurosat" => "EuroSAT",
        "imagenet" => "ImageNet",
        "imagenetv2" => "ImageNetV2",
        "imagenet_sketch" => "ImageNetSketch",
        other => panic!("{other}"),
    };
    for (exp, want) in expected.as_object().unwrap() {
        let parts: Vec<&str> = exp.split('/').collect();
        // The experiment's seed folders are the run rows under it.
        let mut values: Vec<f64> = runs
            .iter()
            .filter(|r| {
                r["dir"].starts_with(&format!("coop_output/{exp}/")) && !r["mean"].is_empty()
            })
            .map(|r| r["mean"].parse().unwrap())
            .collect();
        let mut want_values: Vec<f64> = want["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        values.sort_by(f64::total_cmp);
        want_values.sort_by(f64::total_cmp);
        assert_eq!(values, want_values, "{exp}");
        let (mean, std) = if parts[0] == "base2new" {
            let metric = if parts[1] == "train_base" {
                "base"
            } else {
                "new"
            };
            let r = b2n
                .iter()
                .find(|r| r["dataset"] == name(parts[2]) && r["metric"] == metric)
                .unwrap_or_else(|| panic!("no base2new row for {exp}:\n{csv}"));
            (r["mean"].clone(), r["std"].clone())
        } else if parts[0] == "evaluation" {
            let r = dg
                .iter()
                .find(|r| r["dataset"] == name(parts[4]) && r["source"] == "ImageNet")
                .unwrap_or_else(|| panic!("no dg row for {exp}:\n{csv}"));
            (r["mean"].clone(), r["std"].clone())
        } else {
            let shots = parts[2]
                .rsplit('_')
                .next()
                .unwrap()
                .trim_end_matches("shots");
            let r = cells
                .iter()
                .find(|r| r["dataset"] == name(parts[0]) && r["shots"] == shots)
                .unwrap_or_else(|| panic!("no row for {exp}:\n{csv}"));
            (r["mean"].clone(), r["std"].clone())
        };
        assert_eq!(
            (mean.as_str(), std.as_str()),
            (
                want["mean"].as_str().unwrap(),
                want["std"].as_str().unwrap()
            ),
            "{exp}: dassl report vs parse_test_res.py"
        );
    }
    // The run that died has no value, and its cell says 3 of 4.
    let c16 = cells
        .iter()
        .find(|r| r["dataset"] == "Caltech101" && r["shots"] == "16")
        .unwrap();
    assert_eq!((c16["n"].as_str(), c16["expected"].as_str()), ("3", "4"));
    // The paper-style tables, with the published numbers beside our cells.
    let md = ok(&dassl_in(
        dir.path(),
        &[
            "report",
            "coop_output",
            "--paper",
            repo()
                .join("results/paper/coop_fewshot.csv")
                .to_str()
                .unwrap(),
            "--paper",
            repo()
                .join("results/paper/coop_domain_generalization.csv")
                .to_str()
                .unwrap(),
            "--paper",
            repo()
                .join("results/paper/cocoop_base2new.csv")
                .to_str()
                .unwrap(),
        ],
    ));
    insta::assert_snapshot!("coop_tree_wide_paper", md);
}

#[test]
fn a_sweep_hand_made_runs_and_a_coop_tree_report_together() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 1. A sweep (stand-in runs): dtd x 1 shot x seeds 1, 2.
    fake_coop_data(&d.join("data"));
    let r = repo();
    std::fs::write(
        d.join("t.yaml"),
        format!(
            "name: t\nroot: data\noutput: sweep_out\ndatasets: [dtd]\nshots: [1]\nseeds: [1, 2]\nconfig: rn50\nconfig_dir: CoOp\ndataset_config_dir: {0}/configs/datasets\ntrainer_config_dir: {0}/configs/trainers\ntrainers: {{CoOp: }}\n",
            r.display()
        ),
    )
    .unwrap();
    let prog = stand_in(d);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_dassl"))
        .args([
            "run",
            "--sweep",
            "t.yaml",
            "--no-progress",
            "--run-program",
            prog.to_str().unwrap(),
        ])
        .current_dir(d)
        .env_remove("CUDA_VISIBLE_DEVICES")
        .envs(fake_openai_weights(d, "RN50"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    // 2. Two runs made by hand with `dassl train` (tiny CLIP, toy data, one epoch).
    let clip = crate::support::tiny_clip(d);
    let root = crate::support::toy_data(d);
    for seed in ["1", "2"] {
        ok(&dassl_in(
            d,
            &[
                "train",
                "--trainer",
                "CoOp",
                "--root",
                root.to_str().unwrap(),
                "--output-dir",
                &format!("hand/seed{seed}"),
                "--seed",
                seed,
                "--config-file",
                r.join("configs/trainers/CoOp/rn50.yaml").to_str().unwrap(),
                "MODEL.BACKBONE.NAME",
                clip.to_str().unwrap(),
                "DATASET.NAME",
                "ToyShapes",
                "INPUT.SIZE",
                "(32, 32)",
                "OPTIM.MAX_EPOCH",
                "1",
                "DATASET.NUM_SHOTS",
                "2",
                "DATALOADER.TRAIN_X.BATCH_SIZE",
                "4",
                "DATALOADER.NUM_WORKERS",
                "0",
            ],
        ));
    }
    // 3. The CoOp tree.
    copy_tree(&fixture().join("coop_output"), &d.join("coop_output"));
    let o = dassl_in(
        d,
        &[
            "report",
            "sweep_out",
            "hand",
            "coop_output",
            "--format",
            "csv",
        ],
    );
    let csv = ok(&o);
    let runs = rows(&csv, "run");
    let from = |prefix: &str| runs.iter().filter(|r| r["dir"].starts_with(prefix)).count();
    assert_eq!(from("sweep_out/"), 2, "{csv}");
    assert_eq!(from("hand/"), 2, "{csv}");
    assert_eq!(from("coop_output/"), 39, "{csv}");
    let hand: Vec<_> = runs
        .iter()
        .filter(|r| r["dir"].starts_with("hand/"))
        .collect();
    for h in &hand {
        // The backbone is the weight file's stem, not its path; the value is result.json's.
        assert_eq!(h["backbone"], "tiny_clip");
        assert_eq!(
            (
                h["method"].as_str(),
                h["dataset"].as_str(),
                h["shots"].as_str()
            ),
            ("CoOp_end", "ToyShapes", "2")
        );
        let res: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(d.join(&h["dir"]).join("result.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            h["mean"],
            format!("{:.2}", res["accuracy"].as_f64().unwrap())
        );
    }
    let sweep_cell = rows(&csv, "fewshot")
        .into_iter()
        .find(|r| r["dataset"] == "DescribableTextures" && r["shots"] == "1" && r["n"] == "2")
        .unwrap_or_else(|| panic!("{csv}"));
    assert_eq!(sweep_cell["mean"], "72.00");
    // The sweep and the CoOp tree both hold DTD 1-shot seeds 1 and 2: kept apart by path.
    assert_eq!(sweep_cell["method"], "CoOp_end @ sweep_out");
    assert!(
        rows(&csv, "fewshot")
            .iter()
            .any(|r| r["method"] == "CoOp_end @ coop_output"
                && r["dataset"] == "DescribableTextures"
                && r["n"] == "3"),
        "{csv}"
    );
    // Markdown with --per-seed lists every run with its folder.
    let md = ok(&dassl_in(
        d,
        &["report", "sweep_out", "hand", "coop_output", "--per-seed"],
    ));
    assert!(md.contains("## Few-shot accuracy (%), 2 shots"), "{md}");
    assert!(md.contains("| CoOp_end | tiny_clip |"), "{md}");
    assert!(md.contains("## Every run"), "{md}");
    assert!(md.contains("hand/seed1 |"), "{md}");
    // A folder with no runs at all is a usage error.
    std::fs::create_dir_all(d.join("empty")).unwrap();
    let o = dassl_in(d, &["report", "empty"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no sweep manifest in empty/.dassl/manifests and no run folder"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn figures_are_drawn_as_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &fixture().join("coop_output"),
        &dir.path().join("coop_output"),
    );
    let o = dassl_in(
        dir.path(),
        &[
            "report",
            "coop_output",
            "--paper",
            repo()
                .join("results/paper/coop_fewshot.csv")
                .to_str()
                .unwrap(),
            "--paper",
            repo()
                .join("results/paper/cocoop_base2new.csv")
                .to_str()
                .unwrap(),
            "--plot",
            "fig/fewshot.png",
            "--plot",
            "fig/fewshot.svg",
        ],
    );
    ok(&o);
    let png = std::fs::read(dir.path().join("fig/fewshot.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // The base-to-new chart goes beside the few-shot figure.
    assert!(dir.path().join("fig/fewshot_base2new.png").exists());
    let b2n = std::fs::read_to_string(dir.path().join("fig/fewshot_base2new.svg")).unwrap();
    for t in [
        "Base",
        "New",
        "H (harmonic mean)",
        "DTD",
        "CoCoOp",
        "published (black tick)",
    ] {
        assert!(b2n.contains(&format!(">\n{t}\n<")), "{t}");
    }
    let svg = std::fs::read_to_string(dir.path().join("fig/fewshot.svg")).unwrap();
    for t in [
        "Caltech101",
        "DescribableTextures",
        "Average",
        "published (dashed)",
    ] {
        assert!(svg.contains(&format!(">\n{t}\n<")), "{t}");
    }
    assert!(
        stderr(&o).contains("wrote fig/fewshot.png"),
        "{}",
        stderr(&o)
    );
}
