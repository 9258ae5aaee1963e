//! Command-line overrides of a sweep's axes (`--datasets`, `--shots`, `--seeds`,
//! `--variants`, `--filter`, a trailing `KEY VALUE` naming an axis), sweep-relative paths,
//! the effective sweep file, and did-you-mean for trainer names.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::{fake_coop_data, fake_openai_weights, repo, stderr, stdout};

/// A sweep in `dir/sweeps/t.yaml` whose data and output paths are relative to that file.
fn sweep(dir: &Path) {
    fake_coop_data(&dir.join("data"));
    std::fs::create_dir_all(dir.join("sweeps")).unwrap();
    std::fs::write(
        dir.join("sweeps/t.yaml"),
        format!(
            "name: t\nroot: ../data\noutput: ../out\ndatasets: [dtd, eurosat]\nshots: [1, 16]\nseeds: [1, 2, 3]\nconfig: rn50\nconfig_dir: CoOp\nepoch_rule: coop\ndataset_config_dir: {0}/configs/datasets\ntrainer_config_dir: {0}/configs/trainers\ntrainers:\n  CoOp:\n    variants:\n      TRAINER.COOP.CSC: [False]\n  ZeroshotCLIP: {{}}\n",
            repo().display()
        ),
    )
    .unwrap();
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dassl"))
        .args(["run", "--sweep", "sweeps/t.yaml"])
        .args(args)
        .current_dir(dir)
        .env_remove("CUDA_VISIBLE_DEVICES")
        .envs(fake_openai_weights(dir, "RN50"))
        .output()
        .unwrap()
}

/// The dry-run text with the temporary folder and the run keys (config hashes) masked.
fn masked(dir: &Path, text: &str) -> String {
    let t = text.replace(&dir.display().to_string(), "[tmp]");
    t.split(' ')
        .map(|w| {
            if w.len() == 16 && w.chars().all(|c| c.is_ascii_hexdigit()) {
                "[key]"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn axes_are_narrowed_and_replaced_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sweep(d);
    let o = run(
        d,
        &[
            "--dry-run",
            "--datasets",
            "eurosat",
            "--seeds",
            "2,3",
            "--variants",
            "TRAINER.COOP.CSC=False,True",
            "DATASET.NUM_SHOTS",
            "4",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!("dry_run_with_overrides", masked(d, &stdout(&o)));
    // Filters keep matching runs (and say how many).
    let o = run(
        d,
        &[
            "--dry-run",
            "--trainer",
            "CoOp",
            "--filter",
            "dataset=dtd",
            "--filter",
            "shots>=16",
            "--filter",
            "seed!=2",
        ],
    );
    let text = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(text.contains("filters keep 2 of 12 runs"), "{text}");
    assert!(
        text.contains("dtd/CoOp/rn50_16shots/nctx16_cscFalse_ctpend/seed1"),
        "{text}"
    );
    assert!(
        text.contains("dtd/CoOp/rn50_16shots/nctx16_cscFalse_ctpend/seed3"),
        "{text}"
    );
    assert!(!text.contains("seed2"), "{text}");
    // Paths in the sweep file are relative to it: the output folder is d/out.
    assert!(
        text.contains(&format!("output: {}/out\n", d.display())),
        "{text}"
    );
}

#[test]
fn ambiguous_or_bad_overrides_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sweep(d);
    for (args, msg) in [
        (
            vec!["--shots", "1", "DATASET.NUM_SHOTS", "4"],
            "shots is given twice (--shots) and (DATASET.NUM_SHOTS 4)",
        ),
        (
            vec!["DATASET.NAME", "Food101"],
            "DATASET.NAME Food101 is ambiguous",
        ),
        (vec!["--filter", "colour=red"], "no field \"colour\""),
        (vec!["--filter", "dataset=none"], "keep no run"),
        (vec!["--variants", "TRAINER.COOP.CSC"], "expected KEY=V1,V2"),
        (vec!["--shots", "x"], "not an integer"),
    ] {
        let mut a = vec!["--dry-run"];
        a.extend(args.iter().copied());
        let o = run(d, &a);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(msg), "{args:?}: {}", stderr(&o));
    }
    // A trainer name in the wrong case: the case-insensitive match is suggested.
    let o = run(d, &["--dry-run", "--trainer", "Coop"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("(do you mean [CoOp]?)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_effective_sweep_is_written_beside_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sweep(d);
    let prog = d.join("run.sh");
    std::fs::write(
        &prog,
        "#!/bin/sh\nout=\"\"; prev=\"\"\nfor a in \"$@\"; do [ \"$prev\" = \"--output-dir\" ] && out=\"$a\"; prev=\"$a\"; done\nmkdir -p \"$out\"\nprintf '{\"accuracy\": 50.0, \"error_rate\": 0.0, \"macro_f1\": 0.0, \"split\": \"test\", \"total\": 1, \"correct\": 1, \"trainer\": \"CoOp\", \"dataset\": \"D\", \"backbone\": \"RN50\", \"shots\": 1, \"seed\": 1, \"subsample_classes\": \"all\", \"epochs\": 1, \"seconds\": 0.1, \"config_hash\": \"%s\", \"dassl_version\": \"0\", \"libtorch_version\": \"0\", \"device\": \"cpu\", \"finished_at\": \"now\"}' \"$DASSL_RUN_CONFIG_HASH\" > \"$out/result.json\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = run(
        d,
        &[
            "--trainer",
            "CoOp",
            "--shots",
            "16",
            "--seed",
            "1",
            "--datasets",
            "dtd",
            "--no-progress",
            "--run-program",
            prog.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let eff = d.join("out/.dassl/manifests/t-CoOp.sweep.yaml");
    let text = std::fs::read_to_string(&eff).unwrap();
    assert!(
        text.contains("# override: --shots replaces the shots axis [1, 16] with [16]"),
        "{text}"
    );
    let spec: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(
        spec["shots"],
        serde_yaml::from_str::<serde_yaml::Value>("[16]").unwrap()
    );
    assert_eq!(
        spec["seeds"],
        serde_yaml::from_str::<serde_yaml::Value>("[1]").unwrap()
    );
    assert_eq!(
        spec["datasets"],
        serde_yaml::from_str::<serde_yaml::Value>("[dtd]").unwrap()
    );
    assert_eq!(
        spec["root"].as_str().unwrap(),
        d.join("data").display().to_string()
    );
    assert!(spec["trainers"].get("ZeroshotCLIP").is_none(), "{text}");
    // Run again from the effective file, from another folder: nothing left to do.
    let o = Command::new(env!("CARGO_BIN_EXE_dassl"))
        .args(["run", "--sweep", eff.to_str().unwrap(), "--dry-run"])
        .current_dir("/")
        .env_remove("CUDA_VISIBLE_DEVICES")
        .envs(fake_openai_weights(d, "RN50"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("done 1, running 0, failed 0, stopped 0, to run 0"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn slurm_scripts_carry_every_setting_as_sbatch_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sweep(d);
    // A stand-in sbatch: records its arguments and the scripts it was given.
    let calls = d.join("calls");
    let sbatch = d.join("sbatch");
    std::fs::write(
        &sbatch,
        format!(
            "#!/bin/sh\necho \"$@\" >> {0}\nn=$(grep -vc -- --test-only {0})\necho $((100 + n))\n",
            calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&sbatch, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_dassl"))
        .args([
            "run",
            "--sweep",
            "sweeps/t.yaml",
            "--trainer",
            "CoOp",
            "--executor",
            "slurm",
            "--partition",
            "gpu",
            "--time",
            "04:00:00",
            "--account",
            "lab",
            "--qos",
            "high",
            "--constraint",
            "a100",
            "--mem",
            "32G",
            "--max-parallel",
            "4",
        ])
        .current_dir(d)
        .env("DASSL_SBATCH", &sbatch)
        .env_remove("CUDA_VISIBLE_DEVICES")
        .envs(fake_openai_weights(d, "RN50"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    // sbatch gets only --parsable and the script: the settings are in the script. Before
    // that, `--test-only` checked each job could start.
    let calls = std::fs::read_to_string(&calls).unwrap();
    let (tests, lines): (Vec<&str>, Vec<&str>) =
        calls.lines().partition(|l| l.starts_with("--test-only "));
    assert_eq!(
        tests.len(),
        2,
        "the array and the report job checked: {calls}"
    );
    assert!(
        tests[0].contains(" --cpus-per-task=9 ") && tests[0].ends_with(" --wrap=true"),
        "{}",
        tests[0]
    );
    assert_eq!(lines.len(), 2, "the array and the report job: {calls}");
    for l in &lines {
        assert!(l.starts_with("--parsable ") && l.ends_with(".sh"), "{l}");
        assert_eq!(l.split(' ').count(), 2, "{l}");
    }
    let script = std::fs::read_to_string(lines[0].split(' ').nth(1).unwrap()).unwrap();
    let logs = d.join("out/.dassl/slurm/logs");
    for want in [
        "#SBATCH --job-name=dassl-t".to_string(),
        format!("#SBATCH --output={}/%A_%a.out", logs.display()),
        "#SBATCH --partition=gpu".into(),
        "#SBATCH --time=04:00:00".into(),
        "#SBATCH --account=lab".into(),
        "#SBATCH --qos=high".into(),
        "#SBATCH --constraint=a100".into(),
        "#SBATCH --array=0-11%4".into(),
        "#SBATCH --gres=gpu:1".into(),
        // configs/trainers/CoOp/rn50.yaml asks for 8 loader workers.
        "#SBATCH --cpus-per-task=9".into(),
        "#SBATCH --mem=32G".into(),
        "#SBATCH --requeue".into(),
        "#SBATCH --signal=B:TERM@120".into(),
    ] {
        assert!(
            script.lines().any(|l| l == want),
            "{want} missing:\n{script}"
        );
    }
    let report = std::fs::read_to_string(lines[1].split(' ').nth(1).unwrap()).unwrap();
    assert!(
        report.contains("#SBATCH --dependency=afterany:101\n"),
        "{report}"
    );
    assert!(report.contains("#SBATCH --partition=gpu\n"), "{report}");
}
