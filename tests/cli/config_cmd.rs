use crate::support::{dassl, ok, repo, stderr};

#[test]
fn coop_eurosat_config_merges_in_order() {
    let out = ok(&dassl(&[
        "config",
        "show",
        "--dataset-config-file",
        "configs/datasets/eurosat.yaml",
        "--config-file",
        "configs/trainers/CoOp/rn50_ep50.yaml",
        "TRAINER.COOP.N_CTX",
        "4",
    ]));
    let v: serde_yaml::Value = serde_yaml::from_str(&out).expect("config show prints YAML");
    assert_eq!(v["OPTIM"]["MAX_EPOCH"], serde_yaml::Value::from(50));
    assert_eq!(v["TRAINER"]["COOP"]["N_CTX"], serde_yaml::Value::from(4));
    assert_eq!(v["DATASET"]["NAME"], serde_yaml::Value::from("EuroSAT"));
    insta::assert_snapshot!("eurosat_rn50_ep50_nctx4", out);
}

#[test]
fn unknown_key_exits_2_naming_the_closest_key() {
    let o = dassl(&["config", "show", "OPTIM.LRR", "0.1"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("OPTIM.LRR") && err.contains("did you mean OPTIM.LR?"),
        "{err}"
    );
}

#[test]
fn unknown_key_in_a_file_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.yaml");
    std::fs::write(&f, "OPTIM:\n  NAME: sgd\n  MAX_EPOCHS: 3\n").unwrap();
    let o = dassl(&["config", "show", "--config-file", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("OPTIM.MAX_EPOCHS")
            && err.contains("bad.yaml:3")
            && err.contains("OPTIM.MAX_EPOCH?"),
        "{err}"
    );
}

#[test]
fn type_mismatch_and_odd_opts_exit_2() {
    let o = dassl(&["config", "show", "OPTIM.LR", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected float"), "{}", stderr(&o));
    let o = dassl(&["config", "show", "SEED"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("KEY VALUE pairs"), "{}", stderr(&o));
    let o = dassl(&["config", "show", "--config-file", "/no/such/file.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/no/such/file.yaml"), "{}", stderr(&o));
}

#[test]
fn seed_zero_sets_seed_zero_unlike_coop() {
    let out = ok(&dassl(&[
        "config",
        "show",
        "--seed",
        "0",
        "--trainer",
        "CoOp",
        "--backbone",
        "ViT-B/16",
        "--root",
        "/data",
    ]));
    let v: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
    assert_eq!(v["SEED"], serde_yaml::Value::from(0));
    assert_eq!(v["TRAINER"]["NAME"], serde_yaml::Value::from("CoOp"));
    assert_eq!(
        v["MODEL"]["BACKBONE"]["NAME"],
        serde_yaml::Value::from("ViT-B/16")
    );
    assert_eq!(v["DATASET"]["ROOT"], serde_yaml::Value::from("/data"));
    let out = ok(&dassl(&["config", "show", "--seed", "-1"]));
    let v: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
    assert_eq!(v["SEED"], serde_yaml::Value::from(-1));
}

/// Every YAML file CoOp ships loads unchanged, alone and after each dataset file.
#[test]
fn every_shipped_coop_config_loads() {
    let root = repo().join("configs");
    let datasets: Vec<_> = std::fs::read_dir(root.join("datasets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(datasets.len(), 15);
    let mut trainers = Vec::new();
    for t in ["CoOp", "CoCoOp"] {
        trainers.extend(
            std::fs::read_dir(root.join("trainers").join(t))
                .unwrap()
                .map(|e| e.unwrap().path())
                // toy_*.yaml are ours (the demo's), not CoOp's.
                .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("toy_")),
        );
    }
    assert_eq!(trainers.len(), 20);
    for t in &trainers {
        let out = ok(&dassl(&[
            "config",
            "show",
            "--dataset-config-file",
            datasets[0].to_str().unwrap(),
            "--config-file",
            t.to_str().unwrap(),
        ]));
        assert!(out.contains("MODEL:"), "{}", t.display());
    }
    for d in &datasets {
        ok(&dassl(&[
            "config",
            "show",
            "--dataset-config-file",
            d.to_str().unwrap(),
        ]));
    }
}

#[test]
fn yacs_format_prints_like_dassl() {
    let out = ok(&dassl(&[
        "config",
        "show",
        "--format",
        "yacs",
        "--config-file",
        "configs/trainers/CoOp/rn50.yaml",
    ]));
    assert!(out.contains("\nINPUT:\n  COLORJITTER_B: 0.4\n"), "{out}");
    assert!(out.contains("  SIZE: (224, 224)\n"), "{out}");
    assert!(out.contains("  WARMUP_CONS_LR: 1e-05\n"), "{out}");
    assert!(
        out.contains("  TRANSFORMS: ('random_resized_crop', 'random_flip', 'normalize')\n"),
        "{out}"
    );
}

/// Item 1 of issue 10: moving the weights or the data changes no run's identity; another
/// plugin's keys are not part of it; what the run computes is.
#[test]
fn run_identity_follows_what_a_run_computes_not_where_things_are() {
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::support::tiny_clip(dir.path());
    let root = crate::support::toy_data(dir.path());
    let identity = |clip: &std::path::Path, root: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "config",
            "identity",
            "--keys",
            "--trainer",
            "CoOp",
            "--root",
            root.to_str().unwrap(),
            "MODEL.BACKBONE.NAME",
            clip.to_str().unwrap(),
            "DATASET.NAME",
            "ToyShapes",
            "INPUT.SIZE",
            "(32, 32)",
        ];
        args.extend_from_slice(extra);
        ok(&crate::support::dassl_in(dir.path(), &args))
    };
    let first = |s: &str| s.lines().next().unwrap().to_string();
    let a = identity(&clip, &root, &[]);
    assert!(
        a.starts_with("identity: ") && a.contains("  TRAINER.COOP.N_CTX=16"),
        "{a}"
    );
    assert!(
        !a.contains("TRAINER.COCOOP.") && !a.contains("TRAINER.LINEAR_PROBE."),
        "other trainers' keys are not part of a CoOp run's identity:\n{a}"
    );
    assert!(
        !a.contains("MODEL.BACKBONE.NAME") && !a.contains("DATASET.ROOT"),
        "{a}"
    );
    let moved_clip = dir.path().join("other cache ü/w.safetensors");
    std::fs::create_dir_all(moved_clip.parent().unwrap()).unwrap();
    std::fs::rename(&clip, &moved_clip).unwrap();
    let moved_root = dir.path().join("data moved");
    std::fs::rename(&root, &moved_root).unwrap();
    let b = identity(&moved_clip, &moved_root, &[]);
    assert_eq!(first(&a), first(&b), "{a}\n{b}");
    let c = identity(&moved_clip, &moved_root, &["OPTIM.LR", "0.1"]);
    assert_ne!(first(&a), first(&c));
    // Other weights change it.
    let other = dir.path().join("other.safetensors");
    dassl_rs::clip::random::write_random_clip(
        &other,
        &dassl_rs::clip::random::tiny_config("tiny-vit").unwrap(),
        9,
    )
    .unwrap();
    let d = identity(&other, &moved_root, &[]);
    assert_ne!(first(&a), first(&d));
}
