//! Exactly once under kill -9 (issue 10, done-when (b)): random SIGKILLs of the sweep, of
//! its per-run wrappers and of the trains themselves, on a toy sweep of real `dassl train`
//! runs, leave no run executed twice at once, none lost, none duplicated, and a report
//! identical to a clean sweep's. The figures go to `$DASSL_FIGURES_DIR/kill_test.md`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use crate::support::{ok, repo};
use crate::sweep::{ended, eventually, kill, run_in, spawn_group, wrapper_pids};

const KILLS: usize = 20;
const SEEDS: [u32; 3] = [1, 2, 3];
const SHOTS: [u32; 2] = [1, 2];

/// A toy sweep of CoOp on ToyShapes with a tiny CLIP: 2 shots x 3 seeds, 2 epochs each.
fn toy_sweep(dir: &Path) -> PathBuf {
    let clip = crate::support::tiny_clip(dir);
    let root = crate::support::toy_data(dir);
    let spec = dir.join("toy.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: toy\nroot: {}\ndatasets:\n  - {{key: toy_shapes, name: ToyShapes}}\nshots: {SHOTS:?}\nseeds: {SEEDS:?}\nconfig: rn50\nconfig_dir: CoOp\ntrainer_config_dir: {}/configs/trainers\nopts:\n  MODEL.BACKBONE.NAME: {}\n  INPUT.SIZE: (32, 32)\n  INPUT.TRANSFORMS: \"['normalize']\"\n  OPTIM.MAX_EPOCH: 2\n  DATALOADER.TRAIN_X.BATCH_SIZE: 4\n  TRAINER.COOP.N_CTX: 4\ntrainers: {{CoOp: }}\n",
            root.display(),
            repo().display(),
            clip.display()
        ),
    )
    .unwrap();
    spec
}

/// The run program: records each start (its pid, which becomes the train's, and whether a
/// train of the same run was still alive or its result already existed), then becomes
/// `dassl train`. A train killed with SIGKILL releases the run's lock while the kernel is
/// still tearing it down (its files close before it turns zombie); it runs no more code
/// then, so "alive" means neither zombie nor exiting (PF_EXITING, 0x4 in stat's flags).
fn recording_train(dir: &Path) -> PathBuf {
    let path = dir.join("train.sh");
    let text = format!(
        r#"#!/bin/sh
out=""; prev=""
for a in "$@"; do [ "$prev" = "--output-dir" ] && out="$a"; prev="$a"; done
mkdir -p "$out"
for p in $(cat "$out/pids" 2>/dev/null); do
  s=$(sed 's/^.*) //' /proc/$p/stat 2>/dev/null) || continue
  state=${{s%% *}}; flags=$(echo "$s" | cut -d' ' -f7)
  if [ -n "$s" ] && [ "$state" != Z ] && [ "$state" != X ] && [ $((flags & 4)) -eq 0 ]; then
    echo "$out: $p still running when $$ started" >> {overlaps}
  fi
done
[ -f "$out/result.json" ] && echo "$out: started again after its result" >> {dups}
echo $$ >> "$out/pids"
exec {dassl} "$@"
"#,
        overlaps = dir.join("overlaps").display(),
        dups = dir.join("duplicates").display(),
        dassl = env!("CARGO_BIN_EXE_dassl"),
    );
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The planned runs' folders (`<dataset>/CoOp/rn50_<K>shots/<tag>/seed<S>`).
fn run_dirs(out: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for shots in SHOTS {
        let cfg = out.join(format!("toy_shapes/CoOp/rn50_{shots}shots"));
        let tag = std::fs::read_dir(&cfg)
            .ok()
            .and_then(|mut e| e.next())
            .and_then(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .unwrap_or_else(|| "nctx16_cscFalse_ctpend".into());
        for seed in SEEDS {
            v.push(cfg.join(&tag).join(format!("seed{seed}")));
        }
    }
    v
}

/// Pids of trains that are running now.
fn train_pids(out: &Path) -> Vec<String> {
    run_dirs(out)
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("pids")).ok())
        .filter_map(|t| t.lines().last().map(str::to_string))
        .filter(|p| !ended(p))
        .collect()
}

fn refs(a: &[String]) -> Vec<&str> {
    a.iter().map(String::as_str).collect()
}

/// xorshift64: the kill schedule is the same on every run of the test.
struct Dice(u64);

impl Dice {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

#[test]
fn random_kill_9_of_sweep_wrappers_and_trains_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = toy_sweep(dir.path());
    let prog = recording_train(dir.path());
    let args = |out: &str| -> Vec<String> {
        [
            "run",
            "--sweep",
            spec.to_str().unwrap(),
            "--output",
            out,
            "--jobs-per-device",
            "2",
            "--retries",
            "30",
            "--no-progress",
            "--run-program",
            prog.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };
    let (chaos_args, clean_args) = (args("chaos"), args("clean"));
    let out = dir.path().join("chaos");

    let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
    let mut sweep: Child = spawn_group(dir.path(), &refs(&chaos_args));
    let mut killed = [0usize; 3];
    let mut sweeps_started = 1;
    let t0 = Instant::now();
    while killed.iter().sum::<usize>() < KILLS {
        assert!(
            t0.elapsed() < Duration::from_secs(240),
            "{killed:?} kills in 240 s"
        );
        std::thread::sleep(Duration::from_millis(100 + 50 * dice.next(11)));
        if sweep.try_wait().unwrap().is_some() {
            // The sweep ended (done, or every run failed for now): start it again.
            if run_dirs(&out)
                .iter()
                .all(|d| d.join("result.json").exists())
            {
                break;
            }
            sweep = spawn_group(dir.path(), &refs(&chaos_args));
            sweeps_started += 1;
            continue;
        }
        // A third of the kills each: the sweep, a wrapper, a train (waiting, at most 20 s,
        // for one of the chosen kind to be running).
        let kind = dice.next(3) as usize;
        let targets = |kind: usize| match kind {
            0 => vec![sweep.id().to_string()],
            1 => wrapper_pids(&out),
            _ => train_pids(&out),
        };
        let done = || {
            run_dirs(&out)
                .iter()
                .all(|d| d.join("result.json").exists())
        };
        if !eventually(20, || !targets(kind).is_empty() || done()) || done() {
            continue;
        }
        let targets = targets(kind);
        let Some(target) = targets.get(dice.next(targets.len().max(1) as u64) as usize) else {
            continue;
        };
        kill("-9", target);
        killed[kind] += 1;
        if kind == 0 {
            sweep.wait().unwrap();
            // A new sweep at once, as a user would run the command again.
            sweep = spawn_group(dir.path(), &refs(&chaos_args));
            sweeps_started += 1;
        }
    }
    let kills: usize = killed.iter().sum();
    // Let the last sweep finish; then the command once more must find everything done.
    let status = sweep.wait().unwrap();
    if !status.success() {
        ok(&run_in(dir.path(), &refs(&chaos_args)));
        sweeps_started += 1;
    }
    let again = ok(&run_in(dir.path(), &refs(&chaos_args)));
    let lost = run_dirs(&out)
        .iter()
        .filter(|d| !d.join("result.json").exists())
        .count();
    let overlaps = lines(&dir.path().join("overlaps"));
    let duplicates = lines(&dir.path().join("duplicates"));
    let starts: usize = run_dirs(&out)
        .iter()
        .map(|d| lines(&d.join("pids")).len())
        .sum();

    // The same sweep without kills.
    ok(&run_in(dir.path(), &refs(&clean_args)));
    let report = |o: &str| ok(&run_in(dir.path(), &["report", o]));
    let identical = report("chaos") == report("clean");

    let figures = format!(
        "# kill -9 test (issue 10, done-when (b))\n\n\
         Toy sweep: {} runs of `dassl train` (CoOp, ToyShapes, tiny CLIP, 2 epochs), 2 at a time.\n\n\
         | figure | value |\n|---|---|\n\
         | kills | {kills} |\n| of the sweep | {} |\n| of a wrapper | {} |\n| of a train | {} |\n\
         | sweeps started | {sweeps_started} |\n| train starts | {starts} |\n\
         | runs executed twice at once | {} |\n| runs lost | {lost} |\n| runs duplicated | {} |\n\
         | report identical to a clean sweep's | {} |\n",
        run_dirs(&out).len(),
        killed[0],
        killed[1],
        killed[2],
        overlaps.len(),
        duplicates.len(),
        if identical { "yes" } else { "no" },
    );
    println!("{figures}");
    crate::support::write_figures("kill_test.md", &figures);
    assert_eq!(kills, KILLS, "{figures}");
    assert!(overlaps.is_empty(), "{overlaps:?}");
    assert!(duplicates.is_empty(), "{duplicates:?}");
    assert_eq!(lost, 0, "{figures}");
    assert!(
        again.contains("complete") || again.contains("skipped"),
        "{again}"
    );
    assert!(
        identical,
        "chaos:\n{}\nclean:\n{}",
        report("chaos"),
        report("clean")
    );
}
