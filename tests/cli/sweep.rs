//! `dassl run --sweep`, `dassl status` and `dassl report` with the real binary. Runs are
//! stand-in shell scripts (`--run-program`), so these tests need no trainer, data or GPU.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{dassl, fake_coop_data, fake_openai_weights, ok, repo, stderr, stdout};

/// A stand-in for `dassl train`: writes `starts` (one line per start), `ckpt` at its
/// first start, `resumed` when it starts again after `ckpt`, then runs `body` and writes
/// result.json with the hash the sweep passes in DASSL_RUN_CONFIG_HASH.
fn stand_in(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("run.sh");
    let text = format!(
        r#"#!/bin/sh
out=""; seed=0; prev=""
for a in "$@"; do
  [ "$prev" = "--output-dir" ] && out="$a"
  [ "$prev" = "--seed" ] && seed="$a"
  prev="$a"
done
mkdir -p "$out"
echo "$$" >> "$out/starts"
[ -f "$out/ckpt" ] && echo yes > "$out/resumed"
echo 1 > "$out/ckpt"
echo "epoch [1/2] batch [1/1] time 0.1 (0.1)" > "$out/log.txt"
{body}
cat > "$out/result.json.tmp" <<JSON
{{"accuracy": $((60 + seed)).5, "error_rate": 0.0, "macro_f1": 0.0, "split": "test", "total": 10, "correct": 6,
 "trainer": "CoOp", "dataset": "D", "backbone": "RN50", "shots": 1, "seed": $seed, "subsample_classes": "all",
 "epochs": 2, "seconds": 0.1, "config_hash": "$DASSL_RUN_CONFIG_HASH", "dassl_version": "0", "libtorch_version": "0",
 "device": "cpu", "finished_at": "now"}}
JSON
mv "$out/result.json.tmp" "$out/result.json"
"#
    );
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A stand-in body that waits (at most 30 s) until `go` exists, in short sleeps, so a run
/// killed mid-way leaves no long-lived child behind.
fn wait_for(go: &Path) -> String {
    format!(
        "i=0; while [ ! -f {} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done",
        go.display()
    )
}

/// A small sweep over the repository's real config files: 2 datasets x 2 shots x 2 seeds,
/// with stand-in data in `dir/data` and stand-in RN50 weights (see [`cmd`]), so the runs
/// pass validation.
fn small_sweep(dir: &Path) -> PathBuf {
    let r = repo();
    fake_coop_data(&dir.join("data"));
    let spec = format!(
        "name: t\nroot: {}\ndatasets: [dtd, eurosat]\nshots: [1, 16]\nseeds: [1, 2]\nconfig: rn50\nconfig_dir: CoOp\nepoch_rule: coop\ndataset_config_dir: {}/configs/datasets\ntrainer_config_dir: {}/configs/trainers\ntrainers: {{CoOp: }}\n",
        dir.join("data").display(),
        r.display(),
        r.display()
    );
    let p = dir.join("t.yaml");
    std::fs::write(&p, spec).unwrap();
    p
}

/// `dassl args...` in `dir`, with the stand-in RN50 of `dir` as OpenAI's weights.
pub(crate) fn cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dassl"));
    c.args(args)
        .current_dir(dir)
        .env_remove("CUDA_VISIBLE_DEVICES")
        .envs(fake_openai_weights(dir, "RN50"));
    c
}

pub(crate) fn run_in(dir: &Path, args: &[&str]) -> Output {
    cmd(dir, args).output().expect("dassl runs")
}

/// Whether this process ignores SIGINT, as a non-interactive shell makes every job it
/// starts with `&`. The ignore is inherited down to the stand-in runs: dassl's own
/// processes still get SIGINT (they block it and wait for it, and Linux queues blocked
/// signals even when ignored), but a shell stand-in can neither trap it nor die of it.
pub(crate) fn sigint_ignored() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("SigIgn:"))?.to_string();
            u64::from_str_radix(line["SigIgn:".len()..].trim(), 16).ok()
        })
        // Bit n-1 is signal n; SIGINT is 2.
        .is_some_and(|mask| mask & (1 << 1) != 0)
}

/// Prints why a Ctrl-C test does not run here; see [`sigint_ignored`].
pub(crate) fn skip_without_sigint(test: &str) -> bool {
    if sigint_ignored() {
        eprintln!("SKIPPED {test}: this test process ignores SIGINT (started with `&` from a non-interactive shell); run the suite in the foreground");
        println!("SKIPPED: SIGINT is ignored in this process");
        return true;
    }
    false
}

/// `run_in`, for commands that wait on something outside the test (a Slurm queue): past
/// `secs` the command is killed, `on_timeout` cleans up, and the test fails saying so,
/// instead of hanging the suite.
pub(crate) fn run_in_at_most(
    dir: &Path,
    args: &[&str],
    secs: u64,
    on_timeout: impl FnOnce(),
) -> Output {
    let mut child = cmd(dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dassl runs");
    let (mut so, mut se) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut so, &mut b).ok();
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut se, &mut b).ok();
        b
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t0.elapsed() > Duration::from_secs(secs) {
            child.kill().ok();
            child.wait().ok();
            on_timeout();
            panic!(
                "`dassl {}` still running after {secs} s:\nstdout:\n{}\nstderr:\n{}",
                args.join(" "),
                String::from_utf8_lossy(&out.join().unwrap()),
                String::from_utf8_lossy(&err.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Starts `dassl` in its own process group, so a test can signal the sweep, its wrappers
/// and its runs together.
pub(crate) fn spawn_group(dir: &Path, args: &[&str]) -> Child {
    cmd(dir, args)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

pub(crate) fn kill(sig: &str, target: &str) {
    Command::new("kill")
        .args([sig, "--", target])
        .status()
        .unwrap();
}

fn run_dirs(out: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for ds in ["dtd", "eurosat"] {
        for cfg in ["rn50_ep50_1shots", "rn50_16shots"] {
            for seed in [1, 2] {
                v.push(out.join(format!("{ds}/CoOp/{cfg}/nctx16_cscFalse_ctpend/seed{seed}")));
            }
        }
    }
    v
}

fn starts(d: &Path) -> usize {
    std::fs::read_to_string(d.join("starts"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// Pids of the wrappers whose runs are running (from their state files).
pub(crate) fn wrapper_pids(out: &Path) -> Vec<String> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir(out.join(".dassl/state"))
        .into_iter()
        .flatten()
    {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if v["status"] == "running" {
            pids.push(v["pid"].to_string());
        }
    }
    pids
}

/// Whether process `pid` has ended (gone, or a zombie nobody reaped yet).
pub(crate) fn ended(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// Waits until `cond` holds (at most `secs` seconds).
pub(crate) fn eventually(secs: u64, cond: impl Fn() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(secs) {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// Waits until at least `n` runs have started.
fn wait_started(out: &Path, n: usize) {
    let t0 = Instant::now();
    while run_dirs(out).iter().filter(|d| starts(d) > 0).count() < n {
        assert!(t0.elapsed() < Duration::from_secs(30), "runs did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn dry_run_lists_the_runs_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_sweep(dir.path());
    let args = [
        "run",
        "--sweep",
        spec.to_str().unwrap(),
        "--output",
        "out",
        "--dry-run",
    ];
    let text = ok(&run_in(dir.path(), &args));
    assert!(
        text.contains("8 runs") && text.contains("to run 8"),
        "{text}"
    );
    assert!(
        text.contains("dtd/CoOp/rn50_ep50_1shots/nctx16_cscFalse_ctpend/seed1")
            && text.contains("eurosat/CoOp/rn50_16shots/nctx16_cscFalse_ctpend/seed2"),
        "{text}"
    );
    assert!(!dir.path().join("out").exists(), "a dry run writes nothing");
    // A config error in a sweep is a usage error, before anything starts.
    let mut bad = args.to_vec();
    bad.extend(["TRAINER.COOP.NCTX", "4"]);
    let o = run_in(dir.path(), &bad);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("TRAINER.COOP.NCTX"), "{}", stderr(&o));
}

/// Done-when (d): a sweep whose runs cannot start exits 2 before launching anything or
/// submitting any job, listing every problem (each once, with the runs it affects).
#[test]
fn a_sweep_over_missing_data_exits_2_before_launching_anything() {
    for (executor, trainers) in [
        ("local", &["--trainer", "CoOp"][..]),
        ("slurm", &["--trainer", "CoOp"]),
        // As the issue types it: every trainer of the file.
        ("local", &[]),
        ("slurm", &[]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let calls = dir.path().join("calls");
        let sbatch = dir.path().join("sbatch");
        std::fs::write(
            &sbatch,
            format!("#!/bin/sh\necho \"$@\" >> {}\necho 1\n", calls.display()),
        )
        .unwrap();
        std::fs::set_permissions(&sbatch, std::fs::Permissions::from_mode(0o755)).unwrap();
        let prog = stand_in(dir.path(), "");
        let out = dir.path().join("out");
        let o = Command::new(env!("CARGO_BIN_EXE_dassl"))
            .arg("run")
            .args(trainers)
            .args([
                "--sweep",
                "configs/fewshot.yaml",
                "--root",
                "/nonexistent",
                "--output",
                out.to_str().unwrap(),
                "--executor",
                executor,
                "--run-program",
                prog.to_str().unwrap(),
            ])
            .current_dir(repo())
            .env("DASSL_SBATCH", &sbatch)
            .env("DASSL_CLIP_CACHE", dir.path().join("empty-cache"))
            .env("DASSL_HASH_CACHE", dir.path().join("hashes.json"))
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{executor}: {err}");
        let planned = if trainers.is_empty() { 341 } else { 165 };
        assert!(
            err.contains(&format!("{planned} of {planned} runs cannot start")),
            "{err}"
        );
        assert!(
            err.contains("dataset folder /nonexistent/caltech-101 not found")
                && err.contains("dataset folder /nonexistent/imagenet not found")
                && err.contains("dassl clip fetch RN50"),
            "{err}"
        );
        assert!(!out.exists(), "{executor}: nothing is written");
        assert!(!calls.exists(), "{executor}: sbatch was called");
    }
    // The other shipped studies stop the same way.
    for f in ["base2new.yaml", "dg.yaml"] {
        let o = dassl(&[
            "run",
            "--sweep",
            &format!("configs/{f}"),
            "--root",
            "/nonexistent",
            "--dry-run",
        ]);
        assert_eq!(o.status.code(), Some(2), "{f}: {}", stderr(&o));
        assert!(stderr(&o).contains("cannot start"), "{f}: {}", stderr(&o));
    }
}

#[test]
fn a_local_sweep_runs_reports_and_skips_on_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_sweep(dir.path());
    let prog = stand_in(dir.path(), "");
    let args = [
        "run",
        "--sweep",
        spec.to_str().unwrap(),
        "--output",
        "out",
        "--jobs-per-device",
        "2",
        "--no-progress",
        "--run-program",
        prog.to_str().unwrap(),
    ];
    let o = run_in(dir.path(), &args);
    let text = ok(&o);
    assert!(
        text.contains("## Few-shot accuracy"),
        "the summary is printed:\n{text}"
    );
    // The wide table at 16 shots: DTD and EuroSAT, 2 seeds each, and their Average.
    assert!(
        text.contains("## Few-shot accuracy (%), 16 shots")
            && text.contains("| CoOp_end | RN50 | 62.00 ± 0.50 | 62.00 ± 0.50 | 62.00 |"),
        "{text}"
    );
    let out = dir.path().join("out");
    for d in run_dirs(&out) {
        assert_eq!(starts(&d), 1, "{}", d.display());
    }
    for f in ["summary.md", "summary.csv", "summary.json", "fewshot.svg"] {
        assert!(out.join("reports").join(f).exists(), "{f}");
    }
    ok(&run_in(dir.path(), &args));
    assert!(
        run_dirs(&out).iter().all(|d| starts(d) == 1),
        "complete runs are skipped"
    );
    let st = ok(&run_in(dir.path(), &["status", "out"]));
    assert!(
        st.contains("t-CoOp (8 runs): done 8, running 0, failed 0"),
        "{st}"
    );
    let csv = ok(&run_in(
        dir.path(),
        &[
            "report",
            "out",
            "--format",
            "csv",
            "--ci95",
            "--paper",
            repo()
                .join("results/paper/coop_fewshot.csv")
                .to_str()
                .unwrap(),
            "--plot",
            "curves.png",
        ],
    ));
    assert!(
        csv.starts_with(
            "table,method,backbone,dataset,source,shots,seed,metric,mean,std,n,expected,ci95,paper,diff,dir\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains(
            "fewshot,CoOp_end,RN50,DescribableTextures,,16,,accuracy,62.00,0.50,2,2,0.69,63.58,-1.58,\n"
        ),
        "{csv}"
    );
    assert!(dir.path().join("curves.png").exists());
    let j: serde_json::Value = serde_json::from_str(&ok(&run_in(
        dir.path(),
        &["report", "out", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(j["fewshot_average"].as_array().unwrap().len(), 2);
}

#[test]
fn failed_runs_give_a_nonzero_exit_and_their_cause() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_sweep(dir.path());
    let prog = stand_in(dir.path(), "case \"$out\" in *eurosat*16shots*seed2) echo 'RuntimeError: CUDA out of memory' >&2; exit 1;; esac");
    let o = run_in(
        dir.path(),
        &[
            "run",
            "--sweep",
            spec.to_str().unwrap(),
            "--output",
            "out",
            "--retries",
            "1",
            "--no-progress",
            "--run-program",
            prog.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 of 8 runs failed"), "{}", stderr(&o));
    assert!(stderr(&o).contains("out of memory"), "{}", stderr(&o));
    let o = run_in(dir.path(), &["status", "out"]);
    assert_eq!(o.status.code(), Some(1), "status exits 1 when runs failed");
    let st = stdout(&o);
    assert!(
        st.contains("done 7, running 0, failed 1")
            && st.contains(
                "eurosat/CoOp/rn50_16shots/nctx16_cscFalse_ctpend/seed2: exit 1: out of memory"
            )
            && st.contains("first error: RuntimeError: CUDA out of memory")
            && st.contains("log: ")
            && st.contains(".dassl/logs/"),
        "{st}"
    );
    // report prints the table and exits 1 too, naming the failed run and its log; the
    // cell shows 1 of its 2 seeds.
    let o = run_in(dir.path(), &["report", "out", "--long"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("| CoOp_end | RN50 | EuroSAT | 16 | 61.50 | 1/2* |")
            && stdout(&o).contains("61.50 (1/2*)"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("EuroSAT 1/2") && stderr(&o).contains("first error: RuntimeError"),
        "{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    let failed = dir
        .path()
        .join("out/eurosat/CoOp/rn50_16shots/nctx16_cscFalse_ctpend/seed2");
    assert_eq!(starts(&failed), 2, "one retry");
}

#[test]
fn a_sweep_killed_with_kill_9_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_sweep(dir.path());
    let prog = stand_in(dir.path(), "sleep 1");
    let args = [
        "run",
        "--sweep",
        spec.to_str().unwrap(),
        "--output",
        "out",
        "--jobs-per-device",
        "2",
        "--no-progress",
        "--run-program",
        prog.to_str().unwrap(),
    ];
    let out = dir.path().join("out");
    let mut sweep = spawn_group(dir.path(), &args);
    wait_started(&out, 2);
    // Only the sweep process dies; its runs go on, holding their locks.
    kill("-9", &sweep.id().to_string());
    sweep.wait().unwrap();
    ok(&run_in(dir.path(), &args));
    for d in run_dirs(&out) {
        assert_eq!(starts(&d), 1, "{} ran {} times", d.display(), starts(&d));
        assert!(d.join("result.json").exists());
    }
}

#[test]
fn runs_killed_with_their_sweep_resume_from_their_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_sweep(dir.path());
    let go = dir.path().join("go");
    let prog = stand_in(dir.path(), &wait_for(&go));
    let args = [
        "run",
        "--sweep",
        spec.to_str().unwrap(),
        "--output",
        "out",
        "--jobs-per-device",
        "2",
        "--no-progress",
        "--run-program",
        prog.to_str().unwrap(),
    ];
    let out = dir.path().join("out");
    let mut sweep = spawn_group(dir.path(), &args);
    wait_started(&out, 2);
    assert!(eventually(10, || wrapper_pids(&out).len() == 2));
    // Everything, as a crashed node would: the sweep, then its wrappers (each in its own
    // process group), whose runs die with them.
    kill("-9", &format!("-{}", sweep.id()));
    sweep.wait().unwrap();
    for pid in wrapper_pids(&out) {
        kill("-9", &pid);
    }
    let status = || ok(&run_in(dir.path(), &["status", "out"]));
    assert!(
        eventually(10, || status().contains("stopped 2")),
        "{}",
        status()
    );
    assert!(
        status().contains("resumes from its checkpoint"),
        "{}",
        status()
    );
    std::fs::write(&go, "").unwrap();
    ok(&run_in(dir.path(), &args));
    let resumed = run_dirs(&out)
        .iter()
        .filter(|d| d.join("resumed").exists())
        .count();
    assert_eq!(
        resumed, 2,
        "the two interrupted runs started again in their folders"
    );
    assert!(run_dirs(&out)
        .iter()
        .all(|d| d.join("result.json").exists()));
}

#[test]
fn ctrl_c_stops_cleanly_and_the_sweep_resumes() {
    if skip_without_sigint("ctrl_c_stops_cleanly_and_the_sweep_resumes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = small_sweep(dir.path());
    let go = dir.path().join("go");
    let prog = stand_in(dir.path(), &wait_for(&go));
    let args = [
        "run",
        "--sweep",
        spec.to_str().unwrap(),
        "--output",
        "out",
        "--no-progress",
        "--run-program",
        prog.to_str().unwrap(),
    ];
    let out = dir.path().join("out");
    let mut sweep = spawn_group(dir.path(), &args);
    wait_started(&out, 1);
    // What a terminal does on Ctrl-C: SIGINT to the foreground group.
    kill("-INT", &format!("-{}", sweep.id()));
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = sweep.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the sweep did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        run_dirs(&out).iter().filter(|d| starts(d) > 0).count(),
        1,
        "nothing new started after Ctrl-C"
    );
    std::fs::write(&go, "").unwrap();
    ok(&run_in(dir.path(), &args));
    assert!(run_dirs(&out)
        .iter()
        .all(|d| d.join("result.json").exists()));
    assert_eq!(
        run_dirs(&out)
            .iter()
            .filter(|d| d.join("resumed").exists())
            .count(),
        1,
        "the interrupted run started again in its folder"
    );
}

/// Item 4 of issue 10: a run never outlives the wrapper that holds its lock, so a
/// restarted sweep cannot start a second train in the same folder.
#[test]
fn killing_a_wrapper_takes_its_run_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_sweep(dir.path());
    let first = dir.path().join("first");
    let prog = stand_in(
        dir.path(),
        &format!(
            "if mkdir {} 2>/dev/null; then echo $$ > {}/pid; exec sleep 30; fi",
            first.display(),
            first.display()
        ),
    );
    let args = [
        "run",
        "--sweep",
        spec.to_str().unwrap(),
        "--output",
        "out",
        "--no-progress",
        "--run-program",
        prog.to_str().unwrap(),
    ];
    let out = dir.path().join("out");
    let sweep = spawn_group(dir.path(), &args);
    assert!(
        eventually(30, || first.join("pid").exists()),
        "the first run started"
    );
    let run_pid = std::fs::read_to_string(first.join("pid"))
        .unwrap()
        .trim()
        .to_string();
    assert!(eventually(10, || wrapper_pids(&out).len() == 1));
    let wrapper = wrapper_pids(&out).remove(0);
    kill("-9", &wrapper);
    assert!(
        eventually(5, || ended(&run_pid)),
        "the run {run_pid} outlived its wrapper {wrapper}"
    );
    let o = sweep.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "the killed run failed");
    // Run again: the killed run starts once more, alone, and completes.
    ok(&run_in(dir.path(), &args));
    let started: usize = run_dirs(&out).iter().map(|d| starts(d)).sum();
    assert_eq!(
        started, 9,
        "8 runs, one of them started twice (killed, then again)"
    );
    assert!(run_dirs(&out)
        .iter()
        .all(|d| d.join("result.json").exists()));
}

/// Item 4 of issue 10: one Ctrl-C (SIGINT to the terminal's process group) is one SIGINT
/// to each run; a second Ctrl-C stops everything at once.
#[test]
fn one_ctrl_c_is_one_signal_to_each_run_and_a_second_stops_everything() {
    if skip_without_sigint("one_ctrl_c_is_one_signal_to_each_run_and_a_second_stops_everything") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = small_sweep(dir.path());
    // Runs that note each SIGINT and keep going.
    let prog = stand_in(
        dir.path(),
        "echo $$ > \"$out/pid\"; trap 'echo INT >> \"$out/signals\"' INT; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done",
    );
    let args = [
        "run",
        "--sweep",
        spec.to_str().unwrap(),
        "--output",
        "out",
        "--jobs-per-device",
        "2",
        "--no-progress",
        "--run-program",
        prog.to_str().unwrap(),
    ];
    let out = dir.path().join("out");
    let sweep = cmd(dir.path(), &args)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let group = format!("-{}", sweep.id());
    wait_started(&out, 2);
    let running: Vec<PathBuf> = run_dirs(&out)
        .into_iter()
        .filter(|d| starts(d) > 0)
        .collect();
    assert!(eventually(10, || running
        .iter()
        .all(|d| d.join("pid").exists())));
    kill("-INT", &group);
    let count = |d: &Path| {
        std::fs::read_to_string(d.join("signals"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    assert!(
        eventually(30, || running.iter().all(|d| count(d) >= 1)),
        "each run got the interrupt"
    );
    std::thread::sleep(Duration::from_millis(700));
    for d in &running {
        assert_eq!(count(d), 1, "{} got {} SIGINTs", d.display(), count(d));
    }
    assert!(
        run_dirs(&out).iter().filter(|d| starts(d) > 0).count() == 2,
        "nothing new started"
    );
    kill("-INT", &group);
    let t0 = Instant::now();
    let o = sweep.wait_with_output().unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "the second Ctrl-C was not immediate"
    );
    assert_eq!(o.status.code(), Some(130));
    let err = stderr(&o);
    assert!(
        err.contains("interrupted again: stopping every run now"),
        "{err}"
    );
    for d in &running {
        let pid = std::fs::read_to_string(d.join("pid")).unwrap();
        assert!(
            eventually(5, || ended(pid.trim())),
            "run {} still runs",
            pid.trim()
        );
    }
}

#[test]
fn two_sweeps_on_one_output_folder_share_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_sweep(dir.path());
    let prog = stand_in(dir.path(), "sleep 0.5");
    let args = [
        "run",
        "--sweep",
        spec.to_str().unwrap(),
        "--output",
        "out",
        "--no-progress",
        "--run-program",
        prog.to_str().unwrap(),
    ];
    let a = cmd(dir.path(), &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = cmd(dir.path(), &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(
        a.status.success() && b.status.success(),
        "{}\n{}",
        stderr(&a),
        stderr(&b)
    );
    for d in run_dirs(&dir.path().join("out")) {
        assert_eq!(starts(&d), 1, "{} ran {} times", d.display(), starts(&d));
    }
}

fn slurm_up() -> bool {
    Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| {
            let s = String::from_utf8_lossy(&o.stdout);
            o.status.success() && (s.contains("idle") || s.contains("mix") || s.contains("alloc"))
        })
}

#[test]
fn slurm_job_arrays_run_the_sweep_and_the_report_job() {
    if !slurm_up() {
        eprintln!("SKIPPED slurm_job_arrays_run_the_sweep_and_the_report_job: no Slurm here (sinfo shows no node); run scripts/slurm/setup_local_slurm.sh as root");
        println!("SKIPPED: Slurm is not available");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = small_sweep(dir.path());
    let prog = stand_in(
        dir.path(),
        "echo \"gpu=$CUDA_VISIBLE_DEVICES task=$SLURM_ARRAY_TASK_ID\" > \"$out/slurm_env\"",
    );
    let base = [
        "run",
        "--sweep",
        spec.to_str().unwrap(),
        "--output",
        "out",
        "--executor",
        "slurm",
        "--max-parallel",
        "2",
        "--time",
        "00:10:00",
        "--wait",
        "--run-program",
        prog.to_str().unwrap(),
    ];
    let scancel = || {
        Command::new("scancel")
            .args(["--name", "dassl-t", "--name", "dassl-t-report"])
            .status()
            .ok();
    };
    // More CPUs per task than the node has: Slurm would queue the array and never start
    // it; dassl asks `sbatch --test-only` first and submits nothing.
    let mut args = base.to_vec();
    args.extend(["--cpus-per-task", "4096"]);
    let o = run_in_at_most(dir.path(), &args, 60, scancel);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("could never start") && err.contains("--cpus-per-task=4096"),
        "{err}"
    );
    let submitted = std::fs::read_dir(dir.path().join("out/.dassl/slurm"))
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".jobs.json"))
        })
        .unwrap_or(false);
    assert!(!submitted, "nothing was submitted");
    // The tasks run the stand-in, which needs one CPU (the configs ask for 8 loader workers).
    let mut args = base.to_vec();
    args.extend(["--cpus-per-task", "1"]);
    let o = run_in_at_most(dir.path(), &args, 300, scancel);
    let text = ok(&o);
    assert!(
        text.contains("submitted job array")
            && text.contains("(8 runs)")
            && text.contains("submitted report job"),
        "{text}"
    );
    let out = dir.path().join("out");
    // The report job runs after the array; give it a moment to finish writing.
    let t0 = Instant::now();
    while !out.join("reports/summary.md").exists() && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        out.join("reports/summary.md").exists(),
        "the report job wrote the reports"
    );
    for d in run_dirs(&out) {
        assert_eq!(starts(&d), 1, "{}", d.display());
        let env = std::fs::read_to_string(d.join("slurm_env")).unwrap();
        assert!(
            env.starts_with("gpu=0 ") || env.starts_with("gpu=1 "),
            "--gres=gpu:1 gives each task one GPU: {env}"
        );
    }
    let st = ok(&run_in(dir.path(), &["status", "out"]));
    assert!(st.contains("done 8") && st.contains("slurm: jobs"), "{st}");
    // Submitting again finds everything complete.
    let again = ok(&run_in_at_most(dir.path(), &args, 120, scancel));
    assert!(
        again.contains("all 8 runs are complete; nothing submitted"),
        "{again}"
    );
}

/// Done-when (a) of issue 10: a finished toy sweep run again with another OPTIM.LR trains
/// every run again (no run may resume from the old config's checkpoint) and reports the
/// new numbers.
#[test]
fn changing_the_lr_of_a_finished_sweep_retrains_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::support::tiny_clip(dir.path());
    let root = crate::support::toy_data(dir.path());
    let r = repo();
    let spec = dir.path().join("toy.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: toy\nroot: {}\ndatasets:\n  - {{key: toy_shapes, name: ToyShapes}}\nshots: [2]\nseeds: [1, 2]\nconfig: rn50\nconfig_dir: CoOp\ntrainer_config_dir: {}/configs/trainers\nopts:\n  MODEL.BACKBONE.NAME: {}\n  INPUT.SIZE: (32, 32)\n  INPUT.TRANSFORMS: \"['normalize']\"\n  OPTIM.MAX_EPOCH: 2\n  DATALOADER.TRAIN_X.BATCH_SIZE: 4\ntrainers: {{CoOp: }}\n",
            root.display(),
            r.display(),
            clip.display()
        ),
    )
    .unwrap();
    let run = |lr: &str| {
        ok(&run_in(
            dir.path(),
            &[
                "run",
                "--sweep",
                spec.to_str().unwrap(),
                "--output",
                "out",
                "--no-progress",
                "OPTIM.LR",
                lr,
            ],
        ))
    };
    let results = || -> Vec<serde_json::Value> {
        (1..=2)
            .map(|s| {
                let p = dir.path().join(format!(
                    "out/toy_shapes/CoOp/rn50_2shots/nctx16_cscFalse_ctpend/seed{s}/result.json"
                ));
                serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
            })
            .collect()
    };
    run("0.002");
    let first = results();
    assert!(first.iter().all(|r| r["epochs"] == 2), "{first:?}");
    let report = run("0.5");
    let second = results();
    for (a, b) in first.iter().zip(&second) {
        assert_ne!(a["config_hash"], b["config_hash"], "a new identity");
        assert_eq!(
            b["epochs"], 2,
            "trained again from scratch, not resumed: {b}"
        );
    }
    let mean =
        (second[0]["accuracy"].as_f64().unwrap() + second[1]["accuracy"].as_f64().unwrap()) / 2.0;
    assert!(
        // The wide table; the backbone is the weights file's stem.
        report.contains(&format!("| CoOp_end | tiny_clip | {mean:.2} ±")),
        "the report shows the new numbers:\n{report}"
    );
}
