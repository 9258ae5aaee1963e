//! The newer baselines (issue 12): KgCoOp, MaPLe, IVLP, VPT, PromptSRC, CLIP_Adapter,
//! Tip-Adapter and Tip-Adapter-F train and test through the real binary on toy data, with their shipped
//! configs, and expand in sweeps.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{dassl_in, fake_coop_data, fake_openai_weights, repo, stderr, stdout};

/// `dassl train --trainer <trainer>` on the toy data with the tiny CLIP, `flags` before the
/// trailing opts `extra`; returns the output and the run's result.json.
fn train(dir: &Path, trainer: &str, flags: &[&str], extra: &[&str]) -> (Output, serde_json::Value) {
    let clip = crate::support::tiny_clip(dir);
    let root = crate::support::toy_data(dir);
    let mut args = vec![
        "train",
        "--trainer",
        trainer,
        "--root",
        root.to_str().unwrap(),
        "--output-dir",
        "out",
        "--seed",
        "1",
        "--backbone",
        clip.to_str().unwrap(),
    ];
    args.extend_from_slice(flags);
    args.extend([
        "DATASET.NAME",
        "ToyShapes",
        "INPUT.SIZE",
        "(32, 32)",
        "DATASET.NUM_SHOTS",
        "4",
        "DATALOADER.TRAIN_X.BATCH_SIZE",
        "4",
        "DATALOADER.TEST.BATCH_SIZE",
        "16",
        "OPTIM.MAX_EPOCH",
        "2",
    ]);
    args.extend_from_slice(extra);
    let o = dassl_in(dir, &args);
    let result = std::fs::read_to_string(dir.join("out/result.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    (o, result)
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("out/log.txt")).unwrap_or_default()
}

fn assert_trained(o: &Output, result: &serde_json::Value, trainer: &str) {
    assert!(o.status.success(), "{}\n{}", stdout(o), stderr(o));
    assert_eq!(result["trainer"], trainer);
    let acc = result["accuracy"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&acc), "{result}");
}

/// KgCoOp with the authors' config file as shipped (`CTX_INIT: True`, a bool).
#[test]
fn kgcoop_trains_with_the_authors_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = repo().join("configs/trainers/KgCoOp/vit_b16_ep100_ctxv1.yaml");
    let (o, result) = train(
        dir.path(),
        "KgCoOp",
        &["--config-file", cfg.to_str().unwrap()],
        &["TRAINER.COOP.W", "8.0", "TRAINER.COOP.PREC", "fp32"],
    );
    assert_trained(&o, &result, "KgCoOp");
    let log = log(dir.path());
    assert!(log.contains("Initial context: \"a photo of a\""), "{log}");
    assert!(
        log.contains("Loading an fp16 CLIP for the hand-crafted text features"),
        "{log}"
    );
    assert!(dir
        .path()
        .join("out/prompt_learner/model.pth.tar-2")
        .exists());
    // PREC amp is refused before anything runs.
    let dir = tempfile::tempdir().unwrap();
    let (o, _) = train(dir.path(), "KgCoOp", &[], &["TRAINER.COOP.PREC", "amp"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("KgCoOp's amp branch"), "{}", stderr(&o));
}

/// MaPLe with the authors' config file as shipped (PREC fp16, on the CPU too), one prompt
/// layer as the tiny CLIP has one; a ResNet backbone and a depth beyond the layers are
/// config errors before anything runs.
#[test]
fn maple_trains_with_the_authors_config_and_refuses_what_cannot_run() {
    let cfg = repo().join("configs/trainers/MaPLe/vit_b16_c2_ep5_batch4_2ctx.yaml");
    let flags = ["--config-file", cfg.to_str().unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let (o, result) = train(
        dir.path(),
        "MaPLe",
        &flags,
        &[
            "TRAINER.MAPLE.PROMPT_DEPTH",
            "1",
            "OPTIM.WARMUP_EPOCH",
            "-1",
        ],
    );
    assert_trained(&o, &result, "MaPLe");
    let log = log(dir.path());
    assert!(
        log.contains("MaPLe design: Multi-modal Prompt Learning")
            && log.contains("Initial context: \"a photo of a\""),
        "{log}"
    );
    assert!(dir
        .path()
        .join("out/MultiModalPromptLearner/model.pth.tar-2")
        .exists());
    for (extra, says) in [
        (
            ["TRAINER.MAPLE.PROMPT_DEPTH", "9"],
            "TRAINER.MAPLE.PROMPT_DEPTH",
        ),
        (["TRAINER.MAPLE.PREC", "fp32"], "TRAINER.MAPLE.PREC"),
        (["MODEL.BACKBONE.NAME", "RN50"], "ViT backbone"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (o, _) = train(dir.path(), "MaPLe", &flags, &extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
        assert!(!dir.path().join("out/result.json").exists());
    }
}

/// IVLP and VPT (MaPLe's repository) and PromptSRC with the authors' config files as
/// shipped (PREC fp16, depths beyond the tiny CLIP's one layer, as their CLIP takes them;
/// PromptSRC's aggregate loaded after the last epoch); what their code cannot run is a
/// config error before anything runs.
#[test]
fn ivlp_vpt_and_promptsrc_train_with_the_authors_configs_and_refuse_what_cannot_run() {
    for (trainer, file, registered, says) in [
        (
            "IVLP",
            "IVLP/vit_b16_c2_ep5_batch4_2+2ctx.yaml",
            "VLPromptLearner",
            "Independent V-L design",
        ),
        (
            "VPT",
            "VPT/vit_b16_c2_ep5_batch4_4.yaml",
            "prompt_learner",
            "Vision Prompting Design",
        ),
        (
            "PromptSRC",
            "PromptSRC/vit_b16_c2_ep20_batch4_4+4ctx.yaml",
            "VLPromptLearner",
            "Using GPA model for final inference...",
        ),
    ] {
        let cfg = repo().join("configs/trainers").join(file);
        let flags = ["--config-file", cfg.to_str().unwrap()];
        let dir = tempfile::tempdir().unwrap();
        let (o, result) = train(dir.path(), trainer, &flags, &["OPTIM.WARMUP_EPOCH", "-1"]);
        assert_trained(&o, &result, trainer);
        let log = log(dir.path());
        assert!(log.contains(says), "{log}");
        let checkpoint = format!("out/{registered}/model.pth.tar-2");
        assert!(dir.path().join(checkpoint).exists());
    }
    for (trainer, extra, says) in [
        ("IVLP", ["MODEL.BACKBONE.NAME", "RN50"], "ViT backbone"),
        (
            "IVLP",
            ["TRAINER.IVLP.PROMPT_DEPTH_TEXT", "0"],
            "PROMPT_DEPTH_TEXT",
        ),
        ("VPT", ["TRAINER.VPT.PREC", "amp"], "VPT's amp branch"),
        (
            "VPT",
            ["TRAINER.VPT.CTX_INIT", "a_picture"],
            "TRAINER.VPT.CTX_INIT",
        ),
        (
            "PromptSRC",
            ["TRAINER.PROMPTSRC.PREC", "fp32"],
            "zero-shot image encoder",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (o, _) = train(dir.path(), trainer, &[], &extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
        assert!(!dir.path().join("out/result.json").exists());
    }
}

#[test]
fn clip_adapter_trains_and_checkpoints_its_adapter() {
    let dir = tempfile::tempdir().unwrap();
    let (o, result) = train(dir.path(), "CLIP_Adapter", &[], &[]);
    assert_trained(&o, &result, "CLIP_Adapter");
    assert!(dir.path().join("out/clip_adapter/model.pth.tar-2").exists());
}

/// Tip-Adapter needs its hyper-parameters for a dataset its authors have no file for.
#[test]
fn tip_adapter_and_tip_adapter_f_fit_and_test() {
    let tip = [
        "TRAINER.TIP_ADAPTER.INIT_BETA",
        "1.0",
        "TRAINER.TIP_ADAPTER.INIT_ALPHA",
        "3.0",
        "TRAINER.TIP_ADAPTER.SEARCH_HP",
        "True",
        "TRAINER.TIP_ADAPTER.SEARCH_SCALE",
        "[7, 3]",
        "TRAINER.TIP_ADAPTER.SEARCH_STEP",
        "[10, 5]",
        "TRAINER.TIP_ADAPTER.AUGMENT_EPOCH",
        "2",
    ];
    let cfg = repo().join("configs/trainers/Tip-Adapter/rn50.yaml");
    let flags = ["--config-file", cfg.to_str().unwrap()];
    for trainer in ["Tip-Adapter", "Tip-Adapter-F"] {
        let dir = tempfile::tempdir().unwrap();
        let (o, result) = train(dir.path(), trainer, &flags, &tip);
        assert_trained(&o, &result, trainer);
        let log = log(dir.path());
        assert!(log.contains("After searching, the best accuarcy"), "{log}");
        if trainer == "Tip-Adapter-F" {
            assert!(log.contains("Tip-Adapter-F's best test accuracy"), "{log}");
        }
        // Without them: a config error naming the key, before anything runs.
        let dir = tempfile::tempdir().unwrap();
        let (o, _) = train(dir.path(), trainer, &flags, &[]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("TRAINER.TIP_ADAPTER.") && stderr(&o).contains("ToyShapes"),
            "{}",
            stderr(&o)
        );
    }
}

/// Each trainer expands in a sweep with its registered config and folder naming, and its
/// runs pass validation (stand-in data and weights).
#[test]
fn the_new_trainers_expand_in_sweeps() {
    let dir = tempfile::tempdir().unwrap();
    let r = repo();
    fake_coop_data(&dir.path().join("data"));
    let spec = |protocol: &str, trainers: &str| {
        let text = format!(
            "name: t\nprotocol: {protocol}\nroot: {}\ndatasets: [dtd, eurosat]\nshots: [16]\nseeds: [1]\ndataset_config_dir: {}/configs/datasets\ntrainer_config_dir: {}/configs/trainers\ntrainers: {trainers}\n",
            dir.path().join("data").display(),
            r.display(),
            r.display()
        );
        let p = dir.path().join(format!("{protocol}.yaml"));
        std::fs::write(&p, text).unwrap();
        p
    };
    let run = |spec: &Path, backbone: &str| -> String {
        let o = Command::new(env!("CARGO_BIN_EXE_dassl"))
            .args([
                "run",
                "--sweep",
                spec.to_str().unwrap(),
                "--output",
                "out",
                "--dry-run",
            ])
            .current_dir(dir.path())
            .env_remove("CUDA_VISIBLE_DEVICES")
            .envs(fake_openai_weights(dir.path(), backbone))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
        stdout(&o)
    };
    let text = run(&spec("base2new", "{KgCoOp: }"), "ViT-B/16");
    assert!(
        text.contains("dtd/shots_16/KgCoOp/vit_b16_ep100_ctxv1/nctx4_cscFalse_w8.0_ctpend/seed1"),
        "{text}"
    );
    let text = run(&spec("base2new", "{MaPLe: }"), "ViT-B/16");
    assert!(
        text.contains("dtd/shots_16/MaPLe/vit_b16_c2_ep5_batch4_2ctx/seed1"),
        "{text}"
    );
    let text = run(
        &spec("base2new", "{IVLP: , VPT: , PromptSRC: }"),
        "ViT-B/16",
    );
    for path in [
        "dtd/shots_16/IVLP/vit_b16_c2_ep5_batch4_2+2ctx/seed1",
        "dtd/shots_16/VPT/vit_b16_c2_ep5_batch4_4/seed1",
        "dtd/shots_16/PromptSRC/vit_b16_c2_ep20_batch4_4+4ctx/seed1",
    ] {
        assert!(text.contains(path), "{path}:\n{text}");
    }
    let text = run(
        &spec(
            "fewshot",
            "{CLIP_Adapter: , Tip-Adapter: , Tip-Adapter-F: }",
        ),
        "RN50",
    );
    for path in [
        "dtd/CLIP_Adapter/rn50_16shots/seed1",
        "eurosat/Tip-Adapter/rn50_16shots/seed1",
        "eurosat/Tip-Adapter-F/rn50_16shots/seed1",
    ] {
        assert!(text.contains(path), "{path}:\n{text}");
    }
    assert!(!dir.path().join("out").exists(), "a dry run writes nothing");
}
