//! Aggregation against parse_test_res.py's statistics, the tables' text, and the plots.

use std::path::Path;

use super::format::{csv, json, markdown, Columns};
use super::*;

fn rec(label: &str, dataset: &str, shots: i64, seed: i64, role: Role, acc: f64) -> Record {
    Record {
        label: label.into(),
        backbone: "RN50".into(),
        dataset: dataset.into(),
        shots,
        seed: Some(seed),
        role,
        source: if role == Role::Target {
            Some("ImageNet".into())
        } else {
            None
        },
        accuracy: Some(acc),
        dir: format!("{dataset}/{label}/{shots}shots/seed{seed}"),
    }
}

fn fewshot_records() -> Vec<Record> {
    let mut v = Vec::new();
    // The author's seeds in CoOp issue #24 (16 shots): DTD and OxfordFlowers.
    for (seed, acc) in [(1, 62.53), (2, 64.07), (3, 64.13)] {
        v.push(rec(
            "CoOp_end",
            "DescribableTextures",
            16,
            seed,
            Role::Fewshot,
            acc,
        ));
    }
    for (seed, acc) in [(1, 94.68), (2, 94.44), (3, 94.40)] {
        v.push(rec(
            "CoOp_end",
            "OxfordFlowers",
            16,
            seed,
            Role::Fewshot,
            acc,
        ));
    }
    for (seed, acc) in [(1, 50.0), (2, 52.0), (3, 54.0)] {
        v.push(rec(
            "CoOp_end",
            "DescribableTextures",
            1,
            seed,
            Role::Fewshot,
            acc,
        ));
        v.push(rec(
            "CoOp_end",
            "OxfordFlowers",
            1,
            seed,
            Role::Fewshot,
            acc + 20.0,
        ));
    }
    v.push(Record {
        seed: None,
        ..rec(
            "ZeroshotCLIP",
            "DescribableTextures",
            0,
            0,
            Role::Fewshot,
            42.32,
        )
    });
    v.push(Record {
        seed: None,
        ..rec("ZeroshotCLIP", "OxfordFlowers", 0, 0, Role::Fewshot, 66.14)
    });
    v
}

fn paper() -> Paper {
    let mut p = Paper::default();
    p.load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/paper/coop_fewshot.csv"))
        .unwrap();
    p
}

#[test]
fn population_std_as_parse_test_res() {
    let s = stat(&[62.53, 64.07, 64.13]);
    assert!((s.mean - 63.5767).abs() < 1e-3);
    // numpy.std([62.53, 64.07, 64.13]) = 0.7405...
    assert!((s.std - 0.74053).abs() < 1e-4, "{}", s.std);
    assert!((s.ci95 - 1.96 * s.std / 3f64.sqrt()).abs() < 1e-12);
    assert_eq!(s.n, 3);
    assert!((harmonic(80.47, 71.69) - 75.83).abs() < 0.01);
}

#[test]
fn fewshot_rows_and_averages_with_paper() {
    let rep = build(&fewshot_records(), &paper());
    assert_eq!(rep.fewshot.len(), 6);
    let dtd16 = rep
        .fewshot
        .iter()
        .find(|r| r.dataset == "DescribableTextures" && r.shots == 16)
        .unwrap();
    assert_eq!(format!("{:.2}", dtd16.stat.mean), "63.58");
    assert_eq!(dtd16.paper, Some(63.58));
    let avg16 = rep
        .fewshot_average
        .iter()
        .find(|a| a.method == "CoOp_end" && a.shots == 16)
        .unwrap();
    assert_eq!(avg16.datasets, 2);
    // The paper's Average is over its 11 datasets (computed: the sheet prints none), not
    // over the datasets this report happens to have.
    assert_eq!(format!("{:.2}", avg16.paper.unwrap()), "73.42");
    assert!(avg16.paper_computed);
    insta::assert_snapshot!(
        "fewshot_csv",
        csv(
            &rep,
            Columns {
                paper: true,
                ..Default::default()
            }
        )
    );
    insta::assert_snapshot!(
        "fewshot_md",
        markdown(
            &rep,
            Columns {
                ci95: false,
                paper: true,
                long: true,
                ..Default::default()
            }
        )
    );
    insta::assert_snapshot!(
        "fewshot_md_ci95",
        markdown(
            &rep,
            Columns {
                ci95: true,
                per_seed: true,
                ..Default::default()
            }
        )
    );
    let j: serde_json::Value = serde_json::from_str(&json(&rep)).unwrap();
    assert_eq!(j["fewshot"].as_array().unwrap().len(), 6);
}

#[test]
fn base2new_and_dg_tables() {
    let mut v = Vec::new();
    for (ds, b, n) in [
        ("Caltech101", 97.0, 93.0),
        ("DescribableTextures", 77.0, 56.0),
    ] {
        for seed in 1..=3 {
            let d = seed as f64 * 0.5;
            v.push(Record {
                source: Some(ds.into()),
                ..rec("CoCoOp", ds, 16, seed, Role::Base, b + d)
            });
            v.push(Record {
                source: Some(ds.into()),
                ..rec("CoCoOp", ds, 16, seed, Role::New, n - d)
            });
        }
    }
    for seed in 1..=3 {
        v.push(rec(
            "CoOp_M16",
            "ImageNet",
            16,
            seed,
            Role::Source,
            62.9 + seed as f64 * 0.01,
        ));
        v.push(rec("CoOp_M16", "ImageNetV2", 16, seed, Role::Target, 55.0));
        v.push(rec(
            "CoOp_M16",
            "ImageNetSketch",
            16,
            seed,
            Role::Target,
            33.0,
        ));
    }
    let mut p = paper();
    p.load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../results/paper/coop_domain_generalization.csv"),
    )
    .unwrap();
    let rep = build(&v, &p);
    let avg = rep
        .base2new
        .iter()
        .find(|r| r.dataset == "Average")
        .unwrap();
    assert!((avg.base.mean - 88.0).abs() < 1e-9 && (avg.new.mean - 73.5).abs() < 1e-9);
    assert!((avg.harmonic - harmonic(88.0, 73.5)).abs() < 1e-12);
    let src = rep.dg.iter().find(|r| r.target == "ImageNet").unwrap();
    assert_eq!(src.paper, Some(62.95));
    assert_eq!(
        rep.dg
            .iter()
            .find(|r| r.target == "Average")
            .unwrap()
            .stat
            .mean,
        44.0
    );
    insta::assert_snapshot!(
        "b2n_dg_csv",
        csv(
            &rep,
            Columns {
                ci95: true,
                paper: true,
                ..Default::default()
            }
        )
    );
    insta::assert_snapshot!("b2n_dg_md", markdown(&rep, Columns::default()));
    insta::assert_snapshot!(
        "b2n_dg_md_paper_long",
        markdown(
            &rep,
            Columns {
                paper: true,
                long: true,
                ..Default::default()
            }
        )
    );
}

#[test]
fn plots_draw_a_panel_per_dataset_and_the_average() {
    let rep = build(&fewshot_records(), &paper());
    let fig = plot::fewshot_figure(&rep, &paper()).unwrap();
    let titles: Vec<&str> = fig.panels.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, ["Average", "OxfordFlowers", "DescribableTextures"]);
    assert_eq!(fig.series, ["CoOp_end", "ZeroshotCLIP"]);
    assert_eq!(fig.shots, [0, 1, 16]);
    // Our CoOp curve with error bars, and the paper's (dashed) over the same shots.
    let dtd = &fig.panels[2];
    let ours = dtd
        .curves
        .iter()
        .find(|c| c.series == 0 && !c.paper)
        .unwrap();
    assert_eq!(ours.points.len(), 2);
    assert!((ours.points[1].2 - 0.7405).abs() < 1e-3, "std over seeds");
    assert!(dtd.curves.iter().any(|c| c.series == 0 && c.paper));
    assert!(fig.with_paper);
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("f.svg");
    assert_eq!(
        plot::write(&rep, &paper(), &svg).unwrap(),
        std::slice::from_ref(&svg)
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    // plotters writes each text as `>\nTEXT\n</text>`.
    for t in [
        ">\nAverage\n<",
        ">\nDescribableTextures\n<",
        ">\nCoOp_end\n<",
        ">\naccuracy (%)\n<",
        ">\nshots per class\n<",
        ">\n16\n<",
        ">\npublished (dashed)\n<",
    ] {
        assert!(
            text.contains(t),
            "{t} missing in {}",
            &text[..text.len().min(3000)]
        );
    }
    let png = dir.path().join("f.png");
    plot::write(&rep, &paper(), &png).unwrap();
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!((img.width(), img.height()), plot::fewshot_size(&fig));
    // To look at them: DASSL_KEEP_PLOTS=folder cargo test ... plots_draw
    if let Ok(keep) = std::env::var("DASSL_KEEP_PLOTS") {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&png, Path::new(&keep).join("fewshot_test.png")).unwrap();
        std::fs::copy(&svg, Path::new(&keep).join("fewshot_test.svg")).unwrap();
    }
    assert!(
        img.pixels().any(|p| p.0 == [214, 39, 40]),
        "the first series is drawn in red"
    );
    assert!(plot::write(&rep, &paper(), &dir.path().join("f.pdf")).is_err());
    assert!(
        plot::write(&Report::default(), &paper(), &dir.path().join("none.svg"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn collect_reads_only_results_matching_their_manifest() {
    use crate::sweep::{Manifest, RunMeta, RunPlan};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_path_buf();
    let run = |d: &str, hash: &str, seed: i64| RunPlan {
        key: format!("k{seed}"),
        config_hash: hash.into(),
        dir: d.into(),
        args: vec![],
        after: None,
        meta: RunMeta {
            trainer: "CoOp".into(),
            label: "CoOp_end".into(),
            cfg: "rn50".into(),
            backbone: "RN50".into(),
            dataset: "DescribableTextures".into(),
            dataset_key: "dtd".into(),
            shots: 16,
            seed: Some(seed),
            role: Role::Fewshot,
            source: None,
            variant: vec![],
            max_epoch: 200,
            num_workers: 8,
        },
    };
    let m = Manifest {
        version: 1,
        id: "t-CoOp".into(),
        name: "t".into(),
        spec_file: "s.yaml".into(),
        protocol: crate::sweep::spec::Protocol::Fewshot,
        trainers: vec!["CoOp".into()],
        cwd: out.clone(),
        output: out.clone(),
        created: "now".into(),
        runs: vec![
            run("a/seed1", "h1", 1),
            run("a/seed2", "h2", 2),
            run("a/seed3", "h3", 3),
        ],
    };
    m.write().unwrap();
    assert!(matches!(
        collect(&dir.path().join("nowhere")),
        Err(ReportError::NoManifest { .. })
    ));
    let write = |d: &str, hash: &str, acc: f64| {
        let json = format!(
            r#"{{"accuracy": {acc}, "error_rate": 0.0, "macro_f1": 0.0, "split": "test", "total": 1, "correct": 1, "trainer": "CoOp", "dataset": "DescribableTextures", "backbone": "RN50", "shots": 16, "seed": 1, "subsample_classes": "all", "epochs": 1, "seconds": 1.0, "config_hash": "{hash}", "dassl_version": "0", "libtorch_version": "0", "device": "cpu", "finished_at": "now"}}"#
        );
        std::fs::create_dir_all(out.join(d)).unwrap();
        std::fs::write(out.join(d).join("result.json"), json).unwrap();
    };
    write("a/seed1", "h1", 60.0);
    write("a/seed2", "stale", 10.0);
    let recs = collect(&out).unwrap();
    assert_eq!(recs.len(), 3, "every planned run");
    let done: Vec<Option<f64>> = recs.iter().map(|r| r.accuracy).collect();
    assert_eq!(
        done,
        [Some(60.0), None, None],
        "a stale result is not a result"
    );
    let rep = build(&recs, &Paper::default());
    // One of three seeds: the cell says so, and so does the average row.
    assert_eq!((rep.fewshot[0].stat.n, rep.fewshot[0].expected), (1, 3));
    assert_eq!(
        rep.fewshot_average[0].incomplete,
        ["DescribableTextures 1/3"]
    );
    let md = markdown(
        &rep,
        Columns {
            long: true,
            ..Default::default()
        },
    );
    assert!(md.contains("| CoOp_end | RN50 | 60.00 (1/3*) |"), "{md}");
    assert!(
        md.contains("| CoOp_end | RN50 | DescribableTextures | 16 | 60.00 | 1/3* |"),
        "{md}"
    );
    assert!(
        md.contains("| CoOp_end | RN50 | 16 | 60.00 | 1 | DescribableTextures 1/3 |"),
        "{md}"
    );
    assert!(
        md.contains("* incomplete: fewer complete runs than planned"),
        "{md}"
    );
    let c = csv(&rep, Columns::default());
    assert!(
        c.contains("fewshot,CoOp_end,RN50,DescribableTextures,,16,,accuracy,60.00,0.00,1,3,\n"),
        "{c}"
    );
    // Per-seed rows: every planned run, its value once complete, and its folder.
    assert!(c.contains(&format!(
        "run,CoOp_end,RN50,DescribableTextures,,16,1,accuracy,60.00,,1,1,{}\n",
        out.join("a/seed1").display()
    )));
    assert!(c.contains(&format!(
        "run,CoOp_end,RN50,DescribableTextures,,16,2,accuracy,,,0,1,{}\n",
        out.join("a/seed2").display()
    )));
    save(&out, &rep, &Paper::default()).unwrap();
    for f in [
        "summary.md",
        "summary.csv",
        "summary.json",
        "fewshot.svg",
        "fewshot.png",
    ] {
        assert!(out.join("reports").join(f).exists(), "{f}");
    }
}
