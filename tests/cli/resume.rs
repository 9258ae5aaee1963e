//! Real resume (issue 10, done-when (c)): a run with a shipped config (CHECKPOINT_FREQ 0)
//! killed with kill -9 in its last epoch resumes from its rolling last-epoch checkpoint and
//! ends bit-identical to an uninterrupted run; its log.txt is a complete Dassl log that
//! CoOp's parse_test_res.py reads, the interrupted attempt's log kept beside it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{dassl_in, repo, stderr, stdout};

/// `dassl train` of CoOp with the shipped `rn50_ep50.yaml` (CHECKPOINT_FREQ 0) on the toy
/// data and a tiny CLIP (5 classes x 4 shots, batch 4: 5 batches an epoch).
fn train_args(root: &Path, clip: &Path, out: &str, epochs: &str) -> Vec<String> {
    let r = repo();
    let mut a: Vec<String> = [
        "train",
        "--trainer",
        "CoOp",
        "--root",
        root.to_str().unwrap(),
        "--output-dir",
        out,
        "--seed",
        "1",
        "--backbone",
        clip.to_str().unwrap(),
        "--dataset-config-file",
        r.join("configs/datasets/eurosat.yaml").to_str().unwrap(),
        "--config-file",
        r.join("configs/trainers/CoOp/rn50_ep50.yaml")
            .to_str()
            .unwrap(),
    ]
    .map(String::from)
    .to_vec();
    a.extend(
        [
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
        ]
        .map(String::from),
    );
    a
}

fn run(dir: &Path, args: &[String]) -> std::process::Output {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    dassl_in(dir, &refs)
}

fn read(p: PathBuf) -> Vec<u8> {
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn result(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&read(out.join("result.json"))).unwrap()
}

/// Starts the run and kills it with SIGKILL as soon as its log shows the last epoch.
fn kill_in_epoch(dir: &Path, args: &[String], epoch_line: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dassl"))
        .args(args)
        .current_dir(dir)
        .env_remove("CUDA_VISIBLE_DEVICES")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let log = dir.join("killed/log.txt");
    let t0 = Instant::now();
    loop {
        if std::fs::read_to_string(&log).is_ok_and(|l| l.contains(epoch_line)) {
            child.kill().unwrap();
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its last epoch was seen"
        );
        assert!(t0.elapsed() < Duration::from_secs(120), "no {epoch_line}");
        std::thread::sleep(Duration::from_millis(1));
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed: {status:?}");
}

/// CoOp's parse_test_res.py (needs `$DASSL_PYTHON` and checkouts of CoOp and Dassl, by
/// default in /work/ref; `DASSL_COOP_REF`, `DASSL_DASSL_REF`). `None` when unavailable.
fn parse_test_res(experiment: &Path) -> Option<String> {
    let python = std::env::var_os("DASSL_PYTHON")?;
    let coop = std::env::var("DASSL_COOP_REF").unwrap_or("/work/ref/KaiyangZhou+CoOp".into());
    let dassl =
        std::env::var("DASSL_DASSL_REF").unwrap_or("/work/ref/KaiyangZhou+Dassl.pytorch".into());
    let script = Path::new(&coop).join("parse_test_res.py");
    if !script.is_file() || !Path::new(&dassl).join("dassl/utils").is_dir() {
        return None;
    }
    let o = Command::new(python)
        .arg(&script)
        .arg(experiment)
        .env("PYTHONPATH", &dassl)
        .output()
        .expect("DASSL_PYTHON runs");
    assert!(o.status.success(), "parse_test_res.py: {}", stderr(&o));
    Some(stdout(&o))
}

#[test]
fn a_run_killed_in_its_last_epoch_resumes_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::support::tiny_clip(dir.path());
    let root = crate::support::toy_data(dir.path());
    let whole = train_args(&root, &clip, "exp/whole", "2");
    let o = run(dir.path(), &whole);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let whole_dir = dir.path().join("exp/whole");
    assert!(
        !whole_dir.join(".last-epoch").exists(),
        "a completed run removes its rolling checkpoint"
    );

    let killed = train_args(&root, &clip, "killed", "2");
    kill_in_epoch(dir.path(), &killed, "epoch [2/2] batch [2/5]");
    let out = dir.path().join("killed");
    assert!(!out.join("result.json").exists());
    assert!(
        !out.join("prompt_learner").exists(),
        "CHECKPOINT_FREQ 0: no Dassl checkpoint before the last epoch"
    );
    assert_eq!(
        std::fs::read_to_string(out.join(".last-epoch/latest")).unwrap(),
        "epoch-1\n"
    );
    // A writer killed mid-write leaves a temporary file; the next start removes it.
    let orphan = out.join(".result.json.tmp-99999999");
    std::fs::write(&orphan, "half").unwrap();

    let o = run(dir.path(), &killed);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("Found checkpoint at killed"), "{text}");
    assert!(
        !text.contains("epoch [1/2]") && text.contains("epoch [2/2] batch [1/5]"),
        "{text}"
    );
    assert!(!orphan.exists(), "the orphaned temporary file is removed");
    assert!(!out.join(".last-epoch").exists());

    // Bit-identical: the result's numbers and the saved model (weights, optimizer,
    // scheduler: the whole file).
    let (a, b) = (result(&whole_dir), result(&out));
    for k in [
        "accuracy",
        "error_rate",
        "macro_f1",
        "correct",
        "total",
        "config_hash",
    ] {
        assert_eq!(a[k], b[k], "{k}");
    }
    assert!(
        read(whole_dir.join("prompt_learner/model.pth.tar-2"))
            == read(out.join("prompt_learner/model.pth.tar-2")),
        "the final checkpoints differ"
    );

    // log.txt is the complete attempt; the interrupted one is kept beside it.
    let log = String::from_utf8(read(out.join("log.txt"))).unwrap();
    assert!(
        log.contains("Finish training\nDeploy the last-epoch model\n"),
        "{log}"
    );
    let acc = format!("* accuracy: {:.1}%", a["accuracy"].as_f64().unwrap());
    assert!(log.contains(&acc), "{log}");
    let earlier: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("log.txt-"))
        .collect();
    assert_eq!(earlier.len(), 1, "{earlier:?}");
    let first = std::fs::read_to_string(out.join(&earlier[0])).unwrap();
    assert!(first.contains("epoch [2/2] batch [1/5]") && !first.contains("Finish training"));

    // CoOp's parse_test_res.py reads both runs (one experiment folder per seed folder).
    std::fs::rename(&out, dir.path().join("exp/killed")).unwrap();
    match parse_test_res(&dir.path().join("exp")) {
        None => eprintln!(
            "SKIPPED parse_test_res.py: DASSL_PYTHON or the CoOp/Dassl checkouts are missing"
        ),
        Some(text) => {
            let acc = format!("accuracy: {:.2}%", a["accuracy"].as_f64().unwrap());
            let read = text
                .lines()
                .filter(|l| l.starts_with("file: ") && l.contains(&acc))
                .count();
            assert_eq!(read, 2, "both seeds are read: {text}");
            assert!(text.contains("+- 0.00%"), "{text}");
        }
    }
}

/// With best_val, every epoch ends with a val pass, which draws from torch's generator as
/// the training passes do: a run killed after two such epochs resumes with the order an
/// uninterrupted run has (same result, same best and final checkpoints, byte for byte).
#[test]
fn a_best_val_run_killed_after_two_epochs_resumes_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::support::tiny_clip(dir.path());
    let root = crate::support::toy_data(dir.path());
    let args = |out: &str| {
        let mut a = train_args(&root, &clip, out, "3");
        a.extend(["TEST.FINAL_MODEL".into(), "best_val".into()]);
        a
    };
    let o = run(dir.path(), &args("whole"));
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    kill_in_epoch(dir.path(), &args("killed"), "epoch [3/3] batch [2/5]");
    let o = run(dir.path(), &args("killed"));
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(
        !text.contains("epoch [2/3]") && text.contains("epoch [3/3] batch [1/5]"),
        "{text}"
    );
    let (whole, killed) = (dir.path().join("whole"), dir.path().join("killed"));
    let (a, b) = (result(&whole), result(&killed));
    for k in ["accuracy", "correct", "total", "macro_f1"] {
        assert_eq!(a[k], b[k], "{k}");
    }
    for file in ["model.pth.tar-3", "model-best.pth.tar"] {
        assert!(
            read(whole.join("prompt_learner").join(file))
                == read(killed.join("prompt_learner").join(file)),
            "{file} differs"
        );
    }
}

/// A run started in a folder that holds another config's run trains from scratch; the
/// other run's files are moved aside, never resumed.
#[test]
fn a_run_never_resumes_another_configs_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::support::tiny_clip(dir.path());
    let root = crate::support::toy_data(dir.path());
    let first = train_args(&root, &clip, "out", "1");
    let o = run(dir.path(), &first);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut other = train_args(&root, &clip, "out", "1");
    other.extend(["OPTIM.LR".into(), "0.5".into()]);
    let o = run(dir.path(), &other);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("Moved the files of another run identity aside to out.stale-"),
        "{text}"
    );
    assert!(
        text.contains("No checkpoint found, train from scratch"),
        "{text}"
    );
    assert!(text.contains("epoch [1/1] batch [1/5]"), "{text}");
    assert_eq!(result(&dir.path().join("out"))["epochs"], 1);
    let stale: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("out.stale-"))
        .collect();
    assert_eq!(stale.len(), 1);
    let aside = dir.path().join(&stale[0]);
    assert!(aside.join("result.json").is_file() && aside.join("prompt_learner").is_dir());
}

fn earlier_logs(out: &Path) -> usize {
    std::fs::read_dir(out)
        .into_iter()
        .flatten()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("log.txt-"))
        })
        .count()
}

/// Starts the run in its own process group and sends `sig` to the group (as a terminal's
/// Ctrl-C or Slurm's SIGTERM would) once its log shows `line` (after `earlier` earlier
/// attempts' logs were set aside); returns the exit status and stderr.
fn signal_at(dir: &Path, args: &[String], line: &str, earlier: usize, sig: &str) -> (i32, String) {
    use std::os::unix::process::CommandExt;
    let child = Command::new(env!("CARGO_BIN_EXE_dassl"))
        .args(args)
        .current_dir(dir)
        .env_remove("CUDA_VISIBLE_DEVICES")
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = dir.join("out");
    let t0 = Instant::now();
    while earlier_logs(&out) < earlier
        || !std::fs::read_to_string(out.join("log.txt")).is_ok_and(|l| l.contains(line))
    {
        assert!(t0.elapsed() < Duration::from_secs(120), "no {line}");
        std::thread::sleep(Duration::from_millis(2));
    }
    Command::new("kill")
        .args([sig, "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    (o.status.code().unwrap_or(-1), stderr(&o))
}

/// Ctrl-C stops `dassl train` between batches (exit 130), SIGTERM likewise with 143 (what
/// Slurm's requeue expects of a preempted task); the next start resumes from the last
/// complete epoch.
#[test]
fn sigint_and_sigterm_stop_between_batches_and_the_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::support::tiny_clip(dir.path());
    let root = crate::support::toy_data(dir.path());
    let args = train_args(&root, &clip, "out", "2");
    let (code, err) = signal_at(dir.path(), &args, "epoch [2/2] batch [1/5]", 0, "-INT");
    assert_eq!(code, 130, "{err}");
    assert!(err.contains("stopped by SIGINT in epoch 2"), "{err}");
    assert!(err.contains("resume from the end of epoch 1"), "{err}");
    let out = dir.path().join("out");
    assert_eq!(
        std::fs::read_to_string(out.join(".last-epoch/latest")).unwrap(),
        "epoch-1\n"
    );
    let (code, err) = signal_at(dir.path(), &args, "epoch [2/2] batch [1/5]", 1, "-TERM");
    assert_eq!(code, 143, "{err}");
    assert!(err.contains("stopped by SIGTERM"), "{err}");
    let o = run(dir.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Found checkpoint at out"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("epoch [1/2]"), "{}", stdout(&o));
    assert!(out.join("result.json").is_file());
    // Three attempts: two stopped logs beside the complete one.
    assert_eq!(earlier_logs(&out), 2);
}

/// Files named `name` under `dir`, at any depth.
fn find(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(find(&p, name));
        } else if e.file_name() == name {
            found.push(p);
        }
    }
    found
}

/// A Slurm array task preempted with SIGTERM stops its run, asks `scontrol requeue` for
/// itself and exits 143; the requeued task resumes the run from its last complete epoch.
/// (sbatch and scontrol are stand-ins; the task script is the one `dassl run` submitted.)
#[test]
fn a_preempted_slurm_task_requeues_itself_and_resumes() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::support::tiny_clip(dir.path());
    let root = crate::support::toy_data(dir.path());
    let spec = dir.path().join("toy.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: toy\nroot: {}\ndatasets:\n  - {{key: toy_shapes, name: ToyShapes}}\nshots: [4]\nseeds: [1]\nconfig: rn50\nconfig_dir: CoOp\ntrainer_config_dir: {}/configs/trainers\nopts:\n  MODEL.BACKBONE.NAME: {}\n  INPUT.SIZE: (32, 32)\n  OPTIM.MAX_EPOCH: 2\n  DATALOADER.TRAIN_X.BATCH_SIZE: 4\n  TRAINER.COOP.N_CTX: 4\n  TRAIN.PRINT_FREQ: 1\ntrainers: {{CoOp: }}\n",
            root.display(),
            repo().display(),
            clip.display()
        ),
    )
    .unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for (tool, body) in [
        ("sbatch", "echo \"$@\" >> \"$0.calls\"; echo 7"),
        ("scontrol", "echo \"$@\" >> \"$0.calls\""),
    ] {
        let p = bin.join(tool);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new(env!("CARGO_BIN_EXE_dassl"))
        .args(["run", "--sweep", spec.to_str().unwrap(), "--output", "out"])
        .args(["--executor", "slurm", "--no-progress"])
        .current_dir(dir.path())
        .env("DASSL_SBATCH", bin.join("sbatch"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("out");
    let script = std::fs::read_dir(out.join(".dassl/slurm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            std::fs::read_to_string(p).is_ok_and(|t| t.contains("--task-list"))
                && !p.to_string_lossy().contains("report")
        })
        .expect("a task script");
    let task = || {
        let mut c = Command::new("bash");
        c.arg(&script)
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("SLURM_ARRAY_JOB_ID", "7")
            .env("SLURM_ARRAY_TASK_ID", "0")
            .env_remove("CUDA_VISIBLE_DEVICES");
        c
    };
    let child = task()
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let log = loop {
        if let Some(log) = find(&out, "log.txt").pop() {
            if std::fs::read_to_string(&log).is_ok_and(|l| l.contains("epoch [2/2] batch [1/")) {
                break log;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "epoch 2 never started"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    // Slurm's preemption: SIGTERM to the task.
    Command::new("kill")
        .args(["-TERM", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("requeued Slurm task 7_0"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(bin.join("scontrol.calls")).unwrap(),
        "requeue 7_0\n"
    );
    let run_dir = log.parent().unwrap();
    assert!(!run_dir.join("result.json").exists());
    assert_eq!(
        std::fs::read_to_string(run_dir.join(".last-epoch/latest")).unwrap(),
        "epoch-1\n"
    );
    // The requeued task runs again and resumes.
    let o = task().output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let log = std::fs::read_to_string(run_dir.join("log.txt")).unwrap();
    assert!(log.contains("Found checkpoint at"), "{log}");
    assert!(
        !log.contains("epoch [1/2]") && log.contains("Finish training"),
        "{log}"
    );
    assert!(run_dir.join("result.json").is_file());
}
