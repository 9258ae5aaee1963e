use crate::support::{dassl_in, stderr, stdout};

#[test]
fn unknown_trainer_exits_2_with_dassls_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let o = dassl_in(
        dir.path(),
        &["train", "--trainer", "CoOP", "--output-dir", "out"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("The requested one is expected to belong to ['CLIP_Adapter', 'CoCoOp', 'CoOp', 'IVLP', 'KgCoOp', 'LinearProbeCLIP', 'MaPLe', 'PromptSRC', 'Tip-Adapter', 'Tip-Adapter-F', 'VPT', 'ZeroshotCLIP', 'ZeroshotCLIP2'], but got [CoOP] (do you mean [CoOp]?)"),
        "{err}"
    );
    // Nothing is created for a run that cannot start.
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_run_logs_args_and_config_and_keeps_earlier_logs_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::support::tiny_clip(dir.path());
    let root = crate::support::toy_data(dir.path());
    let args = [
        "train",
        "--trainer",
        "CoOp",
        "--root",
        root.to_str().unwrap(),
        "--output-dir",
        "out",
        "--seed",
        "1",
        "--no-train",
        "TRAINER.COOP.N_CTX",
        "8",
        "MODEL.BACKBONE.NAME",
        clip.to_str().unwrap(),
        "DATASET.NAME",
        "ToyShapes",
        "INPUT.SIZE",
        "(32, 32)",
    ];
    let o = dassl_in(dir.path(), &args);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let out = dir.path().join("out");
    let log = std::fs::read_to_string(out.join("log.txt")).expect("log.txt is written");
    assert!(
        log.contains("** Arguments **\n***************\nbackbone: \n"),
        "{log}"
    );
    assert!(log.contains("opts: ['TRAINER.COOP.N_CTX', '8', "), "{log}");
    assert!(log.contains("    N_CTX: 8\n"), "{log}");
    assert!(log.contains("Loading trainer: CoOp"), "{log}");
    let cfg = std::fs::read_to_string(out.join("config.yaml")).expect("config.yaml is written");
    let v: serde_yaml::Value = serde_yaml::from_str(&cfg).unwrap();
    assert_eq!(v["TRAINER"]["COOP"]["N_CTX"], serde_yaml::Value::from(8));
    assert_eq!(v["SEED"], serde_yaml::Value::from(1));
    assert!(stdout(&o).contains("Setting fixed seed: 1"));
    // A second run into the same folder logs to log.txt (parse_test_res.py reads the
    // latest attempt) and keeps the first log beside it as log.txt-<time>.
    dassl_in(dir.path(), &args);
    let logs: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("log.txt-"))
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(std::fs::read_to_string(out.join(&logs[0])).unwrap(), log);
    assert!(std::fs::read_to_string(out.join("log.txt"))
        .unwrap()
        .contains("** Arguments **"));
}

#[test]
fn bad_trainer_option_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::support::tiny_clip(dir.path());
    let root = crate::support::toy_data(dir.path());
    let o = dassl_in(
        dir.path(),
        &[
            "train",
            "--trainer",
            "CoOp",
            "--root",
            root.to_str().unwrap(),
            "--output-dir",
            "out",
            "--no-train",
            "MODEL.BACKBONE.NAME",
            clip.to_str().unwrap(),
            "DATASET.NAME",
            "ToyShapes",
            "INPUT.SIZE",
            "(32, 32)",
            "TRAINER.COOP.PREC",
            "fp8",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("TRAINER.COOP.PREC") && stderr(&o).contains("fp16, fp32, amp"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn zeroshot_clip_evaluates_and_writes_a_result_parse_test_res_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::support::tiny_clip(dir.path());
    let root = crate::support::toy_data(dir.path());
    let o = dassl_in(
        dir.path(),
        &[
            "train",
            "--trainer",
            "ZeroshotCLIP",
            "--root",
            root.to_str().unwrap(),
            "--output-dir",
            "out",
            "--eval-only",
            "--backbone",
            clip.to_str().unwrap(),
            "DATASET.NAME",
            "ToyShapes",
            "INPUT.SIZE",
            "(32, 32)",
            "INPUT.INTERPOLATION",
            "bicubic",
            "DATALOADER.NUM_WORKERS",
            "2",
            "TEST.PER_CLASS_RESULT",
            "True",
        ],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let out = dir.path().join("out");
    let log = std::fs::read_to_string(out.join("log.txt")).unwrap();
    assert!(log.contains("Loading trainer: ZeroshotCLIP"), "{log}");
    assert!(log.contains("Prompts: [\"a photo of a "), "{log}");
    assert!(
        log.contains("Evaluate on the *test* set\n=> result\n* total: "),
        "{log}"
    );
    assert!(log.contains("=> per-class result"), "{log}");
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["trainer"], "ZeroshotCLIP");
    assert_eq!(result["dataset"], "ToyShapes");
    assert_eq!(result["device"], "cpu");
    let acc = result["accuracy"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&acc));
    assert!(log.contains(&format!("* accuracy: {acc:.1}%")), "{log}");
    // The same command again evaluates the same model on the same data: same accuracy.
    let o = dassl_in(
        dir.path(),
        &[
            "train",
            "--trainer",
            "ZeroshotCLIP",
            "--root",
            root.to_str().unwrap(),
            "--output-dir",
            "out2",
            "--eval-only",
            "--backbone",
            clip.to_str().unwrap(),
            "DATASET.NAME",
            "ToyShapes",
            "INPUT.SIZE",
            "(32, 32)",
            "INPUT.INTERPOLATION",
            "bicubic",
            "DATALOADER.NUM_WORKERS",
            "1",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let again: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out2/result.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        again["accuracy"], result["accuracy"],
        "thread count must not change results"
    );
    assert_eq!(again["config_hash"].as_str().map(str::len), Some(64));
}

fn coop_args<'a>(
    root: &'a str,
    clip: &'a str,
    out: &'a str,
    epochs: &'a str,
    flags: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--trainer",
        "CoOp",
        "--root",
        root,
        "--output-dir",
        out,
        "--seed",
        "1",
        "--backbone",
        clip,
        "--dataset-config-file",
        "DATASET_CFG",
        "--config-file",
        "TRAINER_CFG",
    ];
    // Flags go before the trailing KEY VALUE pairs, which take everything after them.
    args.extend_from_slice(flags);
    args.extend([
        "DATASET.NAME",
        "ToyShapes",
        "INPUT.SIZE",
        "(32, 32)",
        "OPTIM.MAX_EPOCH",
        epochs,
        "DATASET.NUM_SHOTS",
        "4",
        "TRAINER.COOP.N_CTX",
        "4",
        "DATALOADER.TRAIN_X.BATCH_SIZE",
        "4",
        "TRAIN.PRINT_FREQ",
        "1",
    ]);
    args
}

#[test]
fn coop_trains_checkpoints_resumes_and_evaluates_a_saved_context() {
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::support::tiny_clip(dir.path());
    let root = crate::support::toy_data(dir.path());
    let repo = crate::support::repo();
    let dataset_cfg = repo.join("configs/datasets/eurosat.yaml");
    let trainer_cfg = repo.join("configs/trainers/CoOp/rn50_ep50.yaml");
    let with_cfgs = |args: Vec<&str>| -> Vec<String> {
        args.into_iter()
            .map(|a| match a {
                "DATASET_CFG" => dataset_cfg.to_str().unwrap().to_string(),
                "TRAINER_CFG" => trainer_cfg.to_str().unwrap().to_string(),
                other => other.to_string(),
            })
            .collect()
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        dassl_in(dir.path(), &refs)
    };
    let o = run(with_cfgs(coop_args(
        root.to_str().unwrap(),
        clip.to_str().unwrap(),
        "out",
        "2",
        &[],
    )));
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let out = dir.path().join("out");
    let log = std::fs::read_to_string(out.join("log.txt")).unwrap();
    // 5 classes x 4 shots = 20 images, batch 4: 5 batches, a line each (PRINT_FREQ 1).
    // CoOp's schedule: constant warmup at 1e-5 in the first epoch, then cosine from 0.002;
    // CoOp steps the scheduler inside the last batch, so that line already shows 0.002.
    assert!(
        log.contains("epoch [1/2] batch [4/5] time ") && log.contains("lr 1.0000e-05 eta"),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.starts_with("epoch [1/2] batch [5/5]") && l.contains("lr 2.0000e-03")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.starts_with("epoch [2/2] batch [1/5]") && l.contains("lr 2.0000e-03")),
        "{log}"
    );
    assert!(
        log.contains(
            "Finish training\nDeploy the last-epoch model\nEvaluate on the *test* set\n=> result\n"
        ),
        "{log}"
    );
    assert!(out.join("prompt_learner/model.pth.tar-2").is_file());
    assert_eq!(
        std::fs::read_to_string(out.join("prompt_learner/checkpoint"))
            .unwrap()
            .trim(),
        "model.pth.tar-2"
    );
    assert!(std::fs::read_dir(out.join("tensorboard")).unwrap().count() >= 1);
    // interpret_prompt.py's printout: per context vector, the nearest vocabulary strings
    // (SimpleTokenizer.decoder's, e.g. 'photo</w>') and their distances.
    let o = dassl_in(
        dir.path(),
        &[
            "interpret",
            "out/prompt_learner/model.pth.tar-2",
            "--backbone",
            clip.to_str().unwrap(),
            "--topk",
            "3",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let tok = dassl_rs::clip::tokenizer::ClipTokenizer::new();
    let vocabulary: std::collections::HashSet<&str> =
        (0..49408).filter_map(|i| tok.token_str(i)).collect();
    let rows: Vec<&str> = text.lines().filter(|l| l.contains(": ['")).collect();
    assert!(!rows.is_empty(), "{text}");
    for row in rows {
        let words = row.split(": [").nth(1).unwrap().split(']').next().unwrap();
        for w in words.split(", ") {
            let w = w.trim_matches(|c| c == '\'' || c == '"');
            assert!(w.contains('\\') || vocabulary.contains(w), "{w:?} in {row}");
        }
    }
    // torchtools.save_checkpoint's line, with OUTPUT_DIR as given ("out").
    let saved = std::path::Path::new("out").join("prompt_learner/model.pth.tar-2");
    assert!(
        log.contains(&format!("Checkpoint saved to {}\n", saved.display())),
        "{log}"
    );
    // TensorBoard's train/loss is the epoch's running average (the "(avg)" of each line).
    let logged_avgs: Vec<f64> = log
        .lines()
        .filter(|l| l.starts_with("epoch ["))
        .map(|l| {
            let after = l.split(" loss ").nth(1).unwrap();
            let avg = after.split('(').nth(1).unwrap().split(')').next().unwrap();
            avg.parse().unwrap()
        })
        .collect();
    let events = std::fs::read_dir(out.join("tensorboard"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let tb_losses: Vec<(i64, f32)> = dassl_rs::engine::tensorboard::read_scalars(&events)
        .unwrap()
        .into_iter()
        .filter(|(tag, _, _)| tag == "train/loss")
        .map(|(_, step, v)| (step, v))
        .collect();
    assert_eq!(tb_losses.len(), 10);
    for (i, ((step, tb), avg)) in tb_losses.iter().zip(&logged_avgs).enumerate() {
        assert_eq!(*step, i as i64);
        assert!(
            (f64::from(*tb) - avg).abs() <= 5e-5 + 1e-6,
            "batch {i}: {tb} vs {avg}"
        );
    }
    let first: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    assert_eq!(first["epochs"], 2);
    assert_eq!(first["shots"], 4);

    // Running again into the same folder resumes at the end: no training, same result.
    let o = run(with_cfgs(coop_args(
        root.to_str().unwrap(),
        clip.to_str().unwrap(),
        "out",
        "2",
        &[],
    )));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("Found checkpoint at"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("epoch [1/2]"), "{}", stdout(&o));
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    assert_eq!(again["accuracy"], first["accuracy"]);

    // --eval-only from the model folder gives the same accuracy, from a fresh context.
    let model_dir = out.to_str().unwrap();
    let eval = with_cfgs(coop_args(
        root.to_str().unwrap(),
        clip.to_str().unwrap(),
        "eval",
        "2",
        &["--eval-only", "--model-dir", model_dir, "--load-epoch", "2"],
    ));
    let o = run(eval);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Loading weights to prompt_learner from"),
        "{}",
        stdout(&o)
    );
    let evaluated: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("eval/result.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(evaluated["accuracy"], first["accuracy"]);

    // A missing epoch names the file it looked for.
    let missing = with_cfgs(coop_args(
        root.to_str().unwrap(),
        clip.to_str().unwrap(),
        "eval2",
        "2",
        &["--eval-only", "--model-dir", model_dir, "--load-epoch", "7"],
    ));
    let o = run(missing);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("model.pth.tar-7"), "{}", stderr(&o));
}

#[test]
fn zeroshot_clip2_ensembles_seven_templates_plus_the_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::support::tiny_clip(dir.path());
    let root = crate::support::toy_data(dir.path());
    let o = dassl_in(
        dir.path(),
        &[
            "train",
            "--trainer",
            "ZeroshotCLIP2",
            "--root",
            root.to_str().unwrap(),
            "--output-dir",
            "out",
            "--eval-only",
            "--backbone",
            clip.to_str().unwrap(),
            "DATASET.NAME",
            "ToyShapes",
            "INPUT.SIZE",
            "(32, 32)",
        ],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    // IMAGENET_TEMPLATES_SELECT (7) plus the dataset's template outside ImageNet.
    assert!(
        stdout(&o).contains("Prompt ensembling (n=8)"),
        "{}",
        stdout(&o)
    );
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/result.json")).unwrap())
            .unwrap();
    assert_eq!(result["trainer"], "ZeroshotCLIP2");
}
