use crate::support::{dassl_in, stderr, stdout};

#[test]
fn unknown_trainer_exits_2_with_dassls_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let o = dassl_in(dir.path(), &["train", "--trainer", "CoOP", "--output-dir", "out"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("The requested one is expected to belong to ['CoCoOp', 'CoOp', 'LinearProbeCLIP', 'ZeroshotCLIP', 'ZeroshotCLIP2'], but got [CoOP] (do you mean [CoOp]?)"),
        "{err}"
    );
    // Nothing is created for a run that cannot start.
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_run_logs_args_and_config_and_keeps_earlier_logs() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["train", "--trainer", "CoOp", "--output-dir", "out", "--seed", "1", "TRAINER.COOP.N_CTX", "8"];
    let o = dassl_in(dir.path(), &args);
    let out = dir.path().join("out");
    let log = std::fs::read_to_string(out.join("log.txt")).expect("log.txt is written");
    assert!(log.contains("** Arguments **\n***************\nbackbone: \n"), "{log}");
    assert!(log.contains("opts: ['TRAINER.COOP.N_CTX', '8']"), "{log}");
    assert!(log.contains("    N_CTX: 8\n"), "{log}");
    assert!(log.contains("Loading trainer: CoOp"), "{log}");
    let cfg = std::fs::read_to_string(out.join("config.yaml")).expect("config.yaml is written");
    let v: serde_yaml::Value = serde_yaml::from_str(&cfg).unwrap();
    assert_eq!(v["TRAINER"]["COOP"]["N_CTX"], serde_yaml::Value::from(8));
    assert_eq!(v["SEED"], serde_yaml::Value::from(1));
    assert!(stdout(&o).contains("Setting fixed seed: 1"));
    // The trainer itself reports what it cannot do yet, as a failed run (exit 1).
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // A second run into the same folder keeps the first log, as Dassl does.
    dassl_in(dir.path(), &args);
    let logs: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("log.txt"))
        .collect();
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert_eq!(std::fs::read_to_string(out.join("log.txt")).unwrap(), log);
}

#[test]
fn bad_trainer_option_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = dassl_in(dir.path(), &["train", "--trainer", "CoOp", "--output-dir", "out", "TRAINER.COOP.PREC", "fp8"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("TRAINER.COOP.PREC") && stderr(&o).contains("fp16, fp32, amp"), "{}", stderr(&o));
}

#[test]
fn zeroshot_clip_evaluates_and_writes_a_result_parse_test_res_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::support::tiny_clip(dir.path());
    let root = crate::support::toy_data(dir.path());
    let o = dassl_in(
        dir.path(),
        &[
            "train", "--trainer", "ZeroshotCLIP", "--root", root.to_str().unwrap(), "--output-dir", "out", "--eval-only",
            "--backbone", clip.to_str().unwrap(),
            "DATASET.NAME", "ToyShapes", "INPUT.SIZE", "(32, 32)", "INPUT.INTERPOLATION", "bicubic",
            "DATALOADER.NUM_WORKERS", "2", "TEST.PER_CLASS_RESULT", "True",
        ],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let out = dir.path().join("out");
    let log = std::fs::read_to_string(out.join("log.txt")).unwrap();
    assert!(log.contains("Loading trainer: ZeroshotCLIP"), "{log}");
    assert!(log.contains("Prompts: [\"a photo of a "), "{log}");
    assert!(log.contains("Evaluate on the *test* set\n=> result\n* total: "), "{log}");
    assert!(log.contains("=> per-class result"), "{log}");
    let result: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
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
            "train", "--trainer", "ZeroshotCLIP", "--root", root.to_str().unwrap(), "--output-dir", "out2", "--eval-only",
            "--backbone", clip.to_str().unwrap(),
            "DATASET.NAME", "ToyShapes", "INPUT.SIZE", "(32, 32)", "INPUT.INTERPOLATION", "bicubic",
            "DATALOADER.NUM_WORKERS", "1",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let again: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("out2/result.json")).unwrap()).unwrap();
    assert_eq!(again["accuracy"], result["accuracy"], "thread count must not change results");
    assert_eq!(again["config_hash"].as_str().map(str::len), Some(64));
}
