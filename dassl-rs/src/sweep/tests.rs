//! Sweep expansion, naming, the local executor with stand-in run programs, dry-run text.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use proptest::prelude::*;
use sha2::{Digest, Sha256};

use super::exec::ExecCtx;
use super::local::{run_local, Launch, LocalOptions};
use super::manifest::{read_state, RunLock, RunStatus};
use super::*;

/// Resolves like `setup_cfg` would in spirit: the hash covers every argument except the
/// locations (output folder, data root, model folder).
pub(crate) struct FakeResolver;

fn arg<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn stem(p: &str) -> String {
    Path::new(p)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

impl Resolver for FakeResolver {
    fn resolve(&self, args: &[String], _model_from_sweep: bool) -> Result<Resolved, Vec<String>> {
        let cfg = stem(arg(args, "--config-file").ok_or(vec!["no --config-file".to_string()])?);
        if cfg.contains("missing") {
            return Err(vec![format!("cannot read config file {cfg}.yaml")]);
        }
        let mut kept = Vec::new();
        let mut skip = false;
        for a in args {
            if skip {
                skip = false;
                continue;
            }
            if a == "--output-dir" || a == "--root" || a == "--model-dir" {
                skip = true;
                continue;
            }
            kept.push(a.as_str());
        }
        let config_hash: String = Sha256::digest(kept.join(" ").as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let dataset = match args.iter().position(|a| a == "DATASET.NAME") {
            Some(i) => args[i + 1].clone(),
            None => {
                let s = stem(arg(args, "--dataset-config-file").unwrap_or("unknown"));
                match s.as_str() {
                    "imagenet" => "ImageNet".into(),
                    "imagenetv2" => "ImageNetV2".into(),
                    "dtd" => "DescribableTextures".into(),
                    "oxford_flowers" => "OxfordFlowers".into(),
                    other => other
                        .split('_')
                        .map(|w| w[..1].to_uppercase() + &w[1..])
                        .collect(),
                }
            }
        };
        let backbone = if cfg.starts_with("vit_b16") {
            "ViT-B/16"
        } else if cfg.starts_with("rn101") {
            "RN101"
        } else {
            "RN50"
        }
        .to_string();
        let max_epoch = if cfg.contains("_ep50") {
            50
        } else if cfg.contains("_ep100") {
            100
        } else if cfg.contains("_ep10") {
            10
        } else {
            200
        };
        Ok(Resolved {
            config_hash,
            dataset,
            backbone,
            max_epoch,
            num_workers: 8,
        })
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn prepare_in(spec_text: &str, trainers: &[&str], out: &Path) -> Manifest {
    let spec = out.join("spec.yaml");
    std::fs::create_dir_all(out).unwrap();
    std::fs::write(&spec, spec_text).unwrap();
    let ov = Overrides {
        trainers: trainers.iter().map(|s| s.to_string()).collect(),
        output: Some(out.join("output")),
        ..Default::default()
    };
    prepare(&spec, &ov, out, &FakeResolver).unwrap()
}

fn shipped(name: &str, trainers: &[&str]) -> Manifest {
    let ov = Overrides {
        trainers: trainers.iter().map(|s| s.to_string()).collect(),
        output: Some("/out".into()),
        ..Default::default()
    };
    prepare(
        &repo().join("configs").join(name),
        &ov,
        &repo(),
        &FakeResolver,
    )
    .unwrap()
}

#[test]
fn fewshot_follows_coops_epoch_rule_and_folder_names() {
    let m = shipped("fewshot.yaml", &["CoOp"]);
    assert_eq!(m.runs.len(), 11 * 5 * 3);
    assert_eq!(m.id, "fewshot-CoOp");
    let dirs: Vec<&str> = m.runs.iter().map(|r| r.dir.as_str()).collect();
    for d in [
        "caltech101/CoOp/rn50_ep50_1shots/nctx16_cscFalse_ctpend/seed1",
        "caltech101/CoOp/rn50_ep100_2shots/nctx16_cscFalse_ctpend/seed2",
        "caltech101/CoOp/rn50_ep100_4shots/nctx16_cscFalse_ctpend/seed3",
        "caltech101/CoOp/rn50_8shots/nctx16_cscFalse_ctpend/seed1",
        "caltech101/CoOp/rn50_16shots/nctx16_cscFalse_ctpend/seed3",
        "imagenet/CoOp/rn50_ep50_16shots/nctx16_cscFalse_ctpend/seed1",
    ] {
        assert!(dirs.contains(&d), "{d} missing");
    }
    let r = m
        .runs
        .iter()
        .find(|r| r.dir == "caltech101/CoOp/rn50_ep50_1shots/nctx16_cscFalse_ctpend/seed1")
        .unwrap();
    let args = r.args.join(" ");
    assert!(args.starts_with("train --root "), "{args}");
    assert!(args.contains("--seed 1 --trainer CoOp --dataset-config-file configs/datasets/caltech101.yaml --config-file configs/trainers/CoOp/rn50_ep50.yaml --output-dir /out/caltech101/CoOp/rn50_ep50_1shots/nctx16_cscFalse_ctpend/seed1"), "{args}");
    assert!(args.ends_with("TRAINER.COOP.N_CTX 16 TRAINER.COOP.CSC False TRAINER.COOP.CLASS_TOKEN_POSITION end DATASET.NUM_SHOTS 1"), "{args}");
    assert_eq!(r.meta.label, "CoOp_end");
    assert_eq!(r.meta.dataset, "Caltech101");
    assert_eq!(r.meta.max_epoch, 50);
    assert!(m.runs.iter().all(|r| r.after.is_none()));
}

#[test]
fn zero_shot_collapses_shots_and_seeds() {
    let m = shipped("fewshot.yaml", &["ZeroshotCLIP"]);
    assert_eq!(m.runs.len(), 11);
    let r = m.runs.iter().find(|r| r.meta.dataset_key == "dtd").unwrap();
    assert_eq!(r.dir, "ZeroshotCLIP/rn50/dtd");
    let args = r.args.join(" ");
    assert!(
        args.contains("--eval-only") && !args.contains("--seed") && !args.contains("NUM_SHOTS"),
        "{args}"
    );
    assert!(
        args.contains("--config-file configs/trainers/CoOp/rn50.yaml"),
        "{args}"
    );
    assert_eq!((r.meta.shots, r.meta.seed), (0, None));
}

#[test]
fn base2new_evaluates_the_base_model_on_new_classes() {
    let m = shipped("base2new.yaml", &["CoCoOp"]);
    assert_eq!(m.runs.len(), 11 * 3 * 2);
    let new = m
        .runs
        .iter()
        .find(|r| {
            r.dir
                == "base2new/test_new/caltech101/shots_16/CoCoOp/vit_b16_c4_ep10_batch1_ctxv1/seed2"
        })
        .unwrap();
    let base = &m.runs[new.after.unwrap()];
    assert_eq!(
        base.dir,
        "base2new/train_base/caltech101/shots_16/CoCoOp/vit_b16_c4_ep10_batch1_ctxv1/seed2"
    );
    let args = new.args.join(" ");
    assert!(
        args.contains(&format!(
            "--eval-only --model-dir /out/{} --load-epoch 10",
            base.dir
        )),
        "{args}"
    );
    assert!(args.ends_with("DATASET.SUBSAMPLE_CLASSES new"), "{args}");
    assert!(base
        .args
        .join(" ")
        .ends_with("DATASET.NUM_SHOTS 16 DATASET.SUBSAMPLE_CLASSES base"));
    assert_eq!(new.meta.role, Role::New);
    assert_eq!(new.meta.source.as_deref(), Some("Caltech101"));
    // Zero-shot CLIP: two evaluations per dataset, no training.
    let z = shipped("base2new.yaml", &["ZeroshotCLIP"]);
    assert_eq!(z.runs.len(), 22);
    assert!(z
        .runs
        .iter()
        .all(|r| r.after.is_none() && r.args.contains(&"--eval-only".to_string())));
    assert_eq!(z.runs[0].meta.label, "CLIP");
}

#[test]
fn dg_trains_on_imagenet_and_evaluates_on_its_variants() {
    let m = shipped("dg.yaml", &["CoOp"]);
    assert_eq!(m.runs.len(), 3 * 5);
    let t = m
        .runs
        .iter()
        .find(|r| {
            r.dir
                == "evaluation/CoOp/rn50_ep50_16shots/nctx16_cscFalse_ctpend/imagenet_sketch/seed3"
        })
        .unwrap();
    let src = &m.runs[t.after.unwrap()];
    assert_eq!(
        src.dir,
        "imagenet/CoOp/rn50_ep50_16shots/nctx16_cscFalse_ctpend/seed3"
    );
    assert!(t.args.join(" ").contains("--load-epoch 50"));
    assert_eq!(t.meta.label, "CoOp_M16");
    assert_eq!(t.meta.source.as_deref(), Some("ImageNet"));
}

#[test]
fn demo_expands_every_trainer() {
    let m = shipped("demo.yaml", &[]);
    assert_eq!(m.trainers, ["ZeroshotCLIP", "CoOp", "LinearProbeCLIP"]);
    let count = |t: &str| m.runs.iter().filter(|r| r.meta.trainer == t).count();
    assert_eq!(
        (
            count("ZeroshotCLIP"),
            count("CoOp"),
            count("LinearProbeCLIP")
        ),
        (2, 30, 30)
    );
    assert!(m.runs.iter().all(|r| r
        .args
        .windows(2)
        .any(|w| w[0] == "DATASET.NAME" && (w[1] == "ToyShapes" || w[1] == "ToyShapes20"))));
}

#[test]
fn variants_multiply_and_name_folders() {
    let dir = tempfile::tempdir().unwrap();
    let m = prepare_in(
        "datasets: [dtd]\nshots: [16]\nseeds: [1]\nconfig: rn50\ntrainers:\n  CoOp:\n    variants:\n      TRAINER.COOP.CLASS_TOKEN_POSITION: [end, middle]\n      TRAINER.COOP.CSC: [False, True]\n      OPTIM.LR: [0.002]\n",
        &["CoOp"],
        dir.path(),
    );
    let dirs: Vec<&str> = m.runs.iter().map(|r| r.dir.as_str()).collect();
    assert_eq!(
        dirs,
        [
            "dtd/CoOp/rn50_16shots/nctx16_cscFalse_ctpend_lr0.002/seed1",
            "dtd/CoOp/rn50_16shots/nctx16_cscFalse_ctpmiddle_lr0.002/seed1",
            "dtd/CoOp/rn50_16shots/nctx16_cscTrue_ctpend_lr0.002/seed1",
            "dtd/CoOp/rn50_16shots/nctx16_cscTrue_ctpmiddle_lr0.002/seed1",
        ]
    );
    let labels: Vec<&str> = m.runs.iter().map(|r| r.meta.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "CoOp_end_lr0.002",
            "CoOp_middle_lr0.002",
            "CoOp_end_csc_lr0.002",
            "CoOp_middle_csc_lr0.002"
        ]
    );
}

#[test]
fn a_config_that_does_not_resolve_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.yaml"),
        "datasets: [dtd]\nshots: [1]\nseeds: [1]\nconfig: missing\n",
    )
    .unwrap();
    let e = prepare(
        &dir.path().join("s.yaml"),
        &Overrides {
            trainers: vec!["CoOp".into()],
            ..Default::default()
        },
        dir.path(),
        &FakeResolver,
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string()
            .contains("cannot read config file missing.yaml"),
        "{e}"
    );
    let e = prepare(
        &dir.path().join("s.yaml"),
        &Overrides::default(),
        dir.path(),
        &FakeResolver,
    )
    .unwrap_err();
    assert!(e.to_string().contains("--trainer"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The number of runs is the product of the axes; keys and folders are unique; the
    /// expansion is deterministic.
    #[test]
    fn expansion_is_the_cartesian_product(
        n_datasets in 1usize..4,
        shots in proptest::collection::btree_set(1i64..20, 1..4),
        seeds in proptest::collection::btree_set(0i64..5, 1..4),
        nctx in proptest::collection::btree_set(1i64..20, 1..3),
        csc in proptest::collection::btree_set(any::<bool>(), 1..3),
    ) {
        let names = ["dtd", "eurosat", "ucf101"];
        let py = |b: &bool| if *b { "True" } else { "False" };
        let spec = format!(
            "datasets: [{}]\nshots: [{}]\nseeds: [{}]\nconfig: rn50\nepoch_rule: coop\ntrainers:\n  CoOp:\n    variants:\n      TRAINER.COOP.N_CTX: [{}]\n      TRAINER.COOP.CSC: [{}]\n",
            names[..n_datasets].join(", "),
            shots.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
            seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
            nctx.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
            csc.iter().map(py).collect::<Vec<_>>().join(", "),
        );
        let dir = tempfile::tempdir().unwrap();
        let a = prepare_in(&spec, &["CoOp"], dir.path());
        let b = prepare_in(&spec, &["CoOp"], dir.path());
        prop_assert_eq!(a.runs.len(), n_datasets * shots.len() * seeds.len() * nctx.len() * csc.len());
        prop_assert_eq!(&a.runs, &b.runs);
        let keys: std::collections::HashSet<_> = a.runs.iter().map(|r| &r.key).collect();
        let dirs: std::collections::HashSet<_> = a.runs.iter().map(|r| &r.dir).collect();
        prop_assert_eq!(keys.len(), a.runs.len());
        prop_assert_eq!(dirs.len(), a.runs.len());
        // Zero-shot CLIP collapses shots, seeds (and has no variants).
        let z = prepare_in(&spec, &["ZeroshotCLIP"], dir.path());
        prop_assert_eq!(z.runs.len(), n_datasets);
    }
}

// ---- executor ----

/// A stand-in for `dassl train`: finds --output-dir and --seed, appends to `starts`,
/// then does `body` (shell), where `$out`, `$seed` and `$n` (the start count) are set.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let text = format!(
        r#"#!/bin/sh
out=""; seed=0; prev=""
for a in "$@"; do
  [ "$prev" = "--output-dir" ] && out="$a"
  [ "$prev" = "--seed" ] && seed="$a"
  prev="$a"
done
mkdir -p "$out"
echo "$CUDA_VISIBLE_DEVICES" >> "$out/starts"
n=$(wc -l < "$out/starts")
result() {{
  acc=$1
  cat > "$out/result.json.tmp" <<JSON
{{"accuracy": $acc, "error_rate": 0.0, "macro_f1": 0.0, "split": "test", "total": 10, "correct": 5,
 "trainer": "T", "dataset": "D", "backbone": "RN50", "shots": 1, "seed": $seed, "subsample_classes": "all",
 "epochs": 1, "seconds": 0.1, "config_hash": "$DASSL_RUN_CONFIG_HASH", "dassl_version": "0", "libtorch_version": "0",
 "device": "cpu", "finished_at": "now"}}
JSON
  mv "$out/result.json.tmp" "$out/result.json"
}}
{body}
"#
    );
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn opts(program: &Path, retries: u32, slots: &[&str]) -> LocalOptions {
    LocalOptions {
        slots: slots.iter().map(|s| s.to_string()).collect(),
        launch: Launch::InProcess(ExecCtx {
            program: program.into(),
            retries,
            stop: Arc::new(AtomicBool::new(false)),
            guard: None,
        }),
        stop: Arc::new(AtomicBool::new(false)),
        interactive: false,
    }
}

const SMALL: &str =
    "datasets: [dtd, eurosat]\nshots: [1, 2]\nseeds: [1, 2]\nconfig: rn50\ntrainers: {CoOp: }\n";

fn starts(m: &Manifest, i: usize) -> usize {
    std::fs::read_to_string(m.run_dir(i).join("starts"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn runs_complete_once_and_are_skipped_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let m = prepare_in(SMALL, &["CoOp"], dir.path());
    m.write().unwrap();
    let ok = script(dir.path(), "ok.sh", "result $((60 + seed))");
    let s = run_local(&m, &opts(&ok, 0, &["0", "1"])).unwrap();
    assert_eq!(
        (
            s.total,
            s.already_done,
            s.ran,
            s.failed.len(),
            s.interrupted
        ),
        (8, 0, 8, 0, false)
    );
    for i in 0..8 {
        assert!(is_complete(&m.output, &m.runs[i]));
        assert_eq!(starts(&m, i), 1);
        let st = read_state(&m.output, &m.runs[i].key).unwrap();
        assert_eq!((st.status, st.attempts), (RunStatus::Done, 1));
        let dev = std::fs::read_to_string(m.run_dir(i).join("starts")).unwrap();
        assert!(dev.trim() == "0" || dev.trim() == "1", "{dev}");
    }
    let s = run_local(&m, &opts(&ok, 0, &["cpu"])).unwrap();
    assert_eq!((s.already_done, s.ran), (8, 0));
    assert!((0..8).all(|i| starts(&m, i) == 1));
    // A result with another config's hash does not count.
    let other = m.run_dir(0).join("result.json");
    let text = std::fs::read_to_string(&other)
        .unwrap()
        .replace(&m.runs[0].config_hash, "feedface");
    std::fs::write(&other, text).unwrap();
    let s = run_local(&m, &opts(&ok, 0, &["cpu"])).unwrap();
    assert_eq!((s.already_done, s.ran), (7, 1));
}

#[test]
fn failures_are_retried_recorded_and_never_stop_the_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let m = prepare_in(SMALL, &["CoOp"], dir.path());
    m.write().unwrap();
    // eurosat seed 1: fails once then works; dtd 1-shot seed 2: config error; eurosat 2-shot
    // seed 2: killed (as by the OOM killer); dtd 2-shot seed 1: NaN; the rest succeed.
    let body = r#"
case "$out" in
  *eurosat*1shots*seed1) [ "$n" -ge 2 ] || { echo "CUDA out of memory" >&2; exit 1; } ;;
  *dtd*1shots*seed2) echo "non-existent config key: FOO" >&2; exit 2 ;;
  *eurosat*2shots*seed2) kill -9 $$ ;;
  *dtd*2shots*seed1) echo "loss is nan" >&2; exit 1 ;;
esac
result 70
"#;
    let p = script(dir.path(), "mixed.sh", body);
    let s = run_local(&m, &opts(&p, 1, &["cpu", "cpu"])).unwrap();
    assert_eq!(s.ran, 5, "{s:?}");
    assert_eq!(s.failed.len(), 3, "{s:?}");
    let find = |pat: &[&str]| {
        m.runs
            .iter()
            .position(|r| pat.iter().all(|p| r.dir.contains(p)))
            .unwrap()
    };
    let st = |i: usize| read_state(&m.output, &m.runs[i].key).unwrap();
    let oom = find(&["eurosat", "1shots", "seed1"]);
    assert_eq!((st(oom).status, st(oom).attempts), (RunStatus::Done, 2));
    let cfg = find(&["dtd", "1shots", "seed2"]);
    assert_eq!(
        (st(cfg).status, st(cfg).attempts, st(cfg).retryable),
        (RunStatus::Failed, 1, false)
    );
    assert!(st(cfg).cause.unwrap().contains("non-existent config key"));
    let killed = find(&["eurosat", "2shots", "seed2"]);
    assert_eq!(st(killed).attempts, 2);
    assert!(st(killed).cause.unwrap().contains("signal 9"));
    let nan = find(&["dtd", "2shots", "seed1"]);
    assert!(st(nan).cause.unwrap().contains("NaN"));
    let log =
        std::fs::read_to_string(super::manifest::log_path(&m.output, &m.runs[oom].key)).unwrap();
    assert!(
        log.contains("=== attempt 1")
            && log.contains("=== attempt 2")
            && log.contains("CUDA out of memory"),
        "{log}"
    );
    // The status view lists the failures with their causes.
    let text = status::status_text(&m.output).unwrap();
    assert!(text.contains("done 5, running 0, failed 3"), "{text}");
    assert!(text.contains("config or usage error"), "{text}");
}

#[test]
fn evaluations_wait_for_their_model_and_skip_when_it_failed() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "protocol: base2new\ndatasets: [dtd, eurosat]\nshots: [16]\nseeds: [1]\nconfig: vit_b16_c4_ep10_batch1\ntrainers: {CoCoOp: }\n";
    let m = prepare_in(spec, &["CoCoOp"], dir.path());
    assert_eq!(m.runs.len(), 4);
    // Training of eurosat fails; an evaluation checks that its model's result exists.
    let body = r#"
case "$out" in
  *train_base/eurosat*) exit 1 ;;
  *test_new*)
    prev=""; model=""
    for a in "$@"; do [ "$prev" = "--model-dir" ] && model="$a"; prev="$a"; done
    [ -f "$model/result.json" ] || exit 3 ;;
esac
result 80
"#;
    let p = script(dir.path(), "b2n.sh", body);
    let s = run_local(&m, &opts(&p, 0, &["cpu", "cpu", "cpu", "cpu"])).unwrap();
    assert_eq!(s.ran, 2, "{s:?}");
    assert_eq!(s.failed.len(), 2);
    assert!(
        s.failed
            .iter()
            .any(|(d, c)| d.contains("test_new/eurosat") && c.contains("not run")),
        "{s:?}"
    );
}

#[test]
fn a_run_locked_by_another_sweep_is_not_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let m = prepare_in(
        "datasets: [dtd]\nshots: [1]\nseeds: [1, 2]\nconfig: rn50\n",
        &["CoOp"],
        dir.path(),
    );
    let ok = script(dir.path(), "ok.sh", "result 50");
    // "Another sweep" holds run 0 and completes it while we wait.
    let lock = RunLock::try_acquire(&m.output, &m.runs[0].key)
        .unwrap()
        .unwrap();
    let m2 = m.clone();
    let other = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let o = opts(&ok, 0, &["cpu"]);
        let Launch::InProcess(ctx) = &o.launch else {
            unreachable!()
        };
        // Complete it with the same program, as the holder would, then release.
        let mut cmd = std::process::Command::new(&ctx.program);
        cmd.args(&m2.runs[0].args)
            .env("DASSL_RUN_CONFIG_HASH", &m2.runs[0].config_hash)
            .status()
            .unwrap();
        drop(lock);
    });
    let ok2 = script(dir.path(), "ok2.sh", "result 50");
    let s = run_local(&m, &opts(&ok2, 0, &["cpu", "cpu"])).unwrap();
    other.join().unwrap();
    assert_eq!(s.ran, 1, "{s:?}");
    assert!(s.failed.is_empty());
    assert_eq!(starts(&m, 0), 1, "run 0 ran once, by its holder");
    assert!(is_complete(&m.output, &m.runs[0]));
}

#[test]
fn a_stop_request_starts_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let m = prepare_in(SMALL, &["CoOp"], dir.path());
    let ok = script(dir.path(), "ok.sh", "result 50");
    let o = opts(&ok, 0, &["cpu"]);
    o.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let s = run_local(&m, &o).unwrap();
    assert!(s.interrupted);
    assert_eq!(s.ran, 0);
}

#[test]
fn dry_run_lists_runs_and_what_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let m = prepare_in("name: small\ndatasets: [dtd, eurosat]\nshots: [1, 16]\nseeds: [1]\nconfig: rn50\nepoch_rule: coop\ntrainers: {CoOp: , ZeroshotCLIP: }\n", &[], dir.path());
    let ok = script(dir.path(), "ok.sh", "result 50");
    let first = m
        .runs
        .iter()
        .position(|r| r.dir.contains("eurosat/CoOp/rn50_16shots"))
        .unwrap();
    let mut one = m.clone();
    one.runs = vec![m.runs[first].clone()];
    run_local(&one, &opts(&ok, 0, &["cpu"])).unwrap();
    insta::assert_snapshot!("dry_run", status::dry_run_text(&m));
}
