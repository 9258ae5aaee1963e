//! The Slurm executor: one job array per stage over the run manifest (evaluation runs in
//! a second array that waits for the first), and a report job chained after them.
//! Each array task is `dassl run --manifest M --task-list L --task-id $SLURM_ARRAY_TASK_ID`,
//! which follows the local executor's skip, lock and resume rules.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::manifest::{is_complete, Manifest, SWEEP_DIR};
use crate::errors::SweepError;

#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// `%K` of `--array=0-N%K`: tasks running at once.
    pub max_parallel: Option<usize>,
    pub partition: Option<String>,
    pub time: Option<String>,
    pub account: Option<String>,
    /// `--gres` of each task; `None` leaves GPUs out (CPU clusters).
    pub gres: Option<String>,
    pub qos: Option<String>,
    /// `--constraint` (node features), e.g. `a100`.
    pub constraint: Option<String>,
    /// `--cpus-per-task`; `None`: the runs' largest DATALOADER.NUM_WORKERS + 1.
    pub cpus_per_task: Option<usize>,
    /// `--mem`, e.g. `32G`.
    pub mem: Option<String>,
    /// `--signal`: warn the task before its time limit so it stops, requeues and resumes
    /// (`B:TERM@120`: SIGTERM to the task 120 s before the limit).
    pub signal: Option<String>,
    /// Further sbatch arguments, passed as they are.
    pub extra: Vec<String>,
    /// The dassl executable the tasks run.
    pub exe: PathBuf,
    pub retries: u32,
    pub run_program: Option<PathBuf>,
    /// `sbatch` (tests may point elsewhere).
    pub sbatch: String,
}

/// The jobs of one submission, kept for `dassl status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Jobs {
    pub submitted: String,
    /// (job id, number of tasks) per stage.
    pub arrays: Vec<(String, usize)>,
    pub report: Option<String>,
}

pub fn slurm_dir(m: &Manifest) -> PathBuf {
    m.output.join(SWEEP_DIR).join("slurm")
}

fn jobs_path(m: &Manifest) -> PathBuf {
    slurm_dir(m).join(format!("{}.jobs.json", m.id))
}

pub fn read_jobs(m: &Manifest) -> Option<Jobs> {
    serde_json::from_str(&std::fs::read_to_string(jobs_path(m)).ok()?).ok()
}

/// Single-quotes for bash.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Every setting of a job as `#SBATCH` lines, so the script alone says how it ran and can
/// be submitted again as it is.
fn sbatch_lines(lines: &[String]) -> String {
    lines.iter().map(|l| format!("#SBATCH {l}\n")).collect()
}

/// The CPUs of a task: `--cpus-per-task`, else the runs' loader workers + 1 (the main
/// process), as CoOp's configs ask for 8 workers.
pub fn cpus_per_task(m: &Manifest, o: &SlurmOptions) -> usize {
    o.cpus_per_task.unwrap_or_else(|| {
        let w = m
            .runs
            .iter()
            .map(|r| r.meta.num_workers.max(0) as usize)
            .max()
            .unwrap_or(0);
        w + 1
    })
}

/// The `#SBATCH` settings every job of the sweep shares.
fn common_lines(o: &SlurmOptions) -> Vec<String> {
    let mut a = Vec::new();
    if let Some(p) = &o.partition {
        a.push(format!("--partition={p}"));
    }
    if let Some(t) = &o.time {
        a.push(format!("--time={t}"));
    }
    if let Some(acc) = &o.account {
        a.push(format!("--account={acc}"));
    }
    if let Some(q) = &o.qos {
        a.push(format!("--qos={q}"));
    }
    if let Some(c) = &o.constraint {
        a.push(format!("--constraint={c}"));
    }
    a
}

/// The `#SBATCH` settings of one stage's array job.
pub fn array_lines(
    m: &Manifest,
    o: &SlurmOptions,
    tasks: usize,
    dependency: Option<&str>,
) -> Vec<String> {
    let logs = slurm_dir(m).join("logs");
    let mut a = vec![
        format!("--job-name=dassl-{}", m.name),
        format!("--output={}/%A_%a.out", logs.display()),
        "--open-mode=append".to_string(),
    ];
    a.extend(common_lines(o));
    let k = o.max_parallel.map(|k| format!("%{k}")).unwrap_or_default();
    a.push(format!("--array=0-{}{k}", tasks - 1));
    if let Some(g) = &o.gres {
        a.push(format!("--gres={g}"));
    }
    a.push(format!("--cpus-per-task={}", cpus_per_task(m, o)));
    if let Some(mem) = &o.mem {
        a.push(format!("--mem={mem}"));
    }
    a.push("--requeue".into());
    if let Some(sig) = &o.signal {
        a.push(format!("--signal={sig}"));
    }
    if let Some(d) = dependency {
        a.push(format!("--dependency=afterany:{d}"));
    }
    a.extend(o.extra.iter().cloned());
    a
}

/// The array task script of one stage.
pub fn task_script(m: &Manifest, o: &SlurmOptions, lines: &[String], task_list: &Path) -> String {
    let mut cmd = format!(
        "exec {} run --manifest {} --task-list {} --task-id \"$SLURM_ARRAY_TASK_ID\" --retries {}",
        sh_quote(&o.exe.display().to_string()),
        sh_quote(&m.path().display().to_string()),
        sh_quote(&task_list.display().to_string()),
        o.retries
    );
    if let Some(p) = &o.run_program {
        cmd.push_str(&format!(
            " --run-program {}",
            sh_quote(&p.display().to_string())
        ));
    }
    format!(
        "#!/bin/bash\n{}# Written by dassl run --executor slurm; submit it again with `sbatch <this file>`.\n# Task i runs manifest run <line i of the task list>; its output goes to the run's own\n# log (printed first below). A task stopped by SIGTERM (preemption, or --signal before\n# the time limit) asks to be requeued and resumes from its checkpoint.\ncd {} || exit 2\n{cmd}\n",
        sbatch_lines(lines),
        sh_quote(&m.cwd.display().to_string()),
    )
}

fn report_lines(m: &Manifest, o: &SlurmOptions, after: &[&str]) -> Vec<String> {
    let mut a = vec![
        format!("--job-name=dassl-{}-report", m.name),
        format!(
            "--output={}/report_%j.out",
            slurm_dir(m).join("logs").display()
        ),
    ];
    a.extend(common_lines(o));
    a.push("--cpus-per-task=1".into());
    a.push(format!("--dependency=afterany:{}", after.join(":")));
    a
}

fn report_script(m: &Manifest, o: &SlurmOptions, lines: &[String]) -> String {
    format!(
        "#!/bin/bash\n{}cd {} || exit 2\nexec {} report {} --save\n",
        sbatch_lines(lines),
        sh_quote(&m.cwd.display().to_string()),
        sh_quote(&o.exe.display().to_string()),
        sh_quote(&m.output.display().to_string()),
    )
}

/// Runs `sbatch` with `args`; only failing to start it is an error here.
fn run_sbatch<S: AsRef<std::ffi::OsStr>>(
    o: &SlurmOptions,
    args: &[S],
) -> Result<std::process::Output, SweepError> {
    Command::new(&o.sbatch).args(args).output().map_err(|e| {
        SweepError::Slurm(format!(
            "cannot run {}: {e} (is Slurm installed? see docs/SWEEPS.md)",
            o.sbatch
        ))
    })
}

fn sbatch(o: &SlurmOptions, script: &Path) -> Result<String, SweepError> {
    let out = run_sbatch(o, &[std::ffi::OsStr::new("--parsable"), script.as_os_str()])?;
    if !out.status.success() {
        return Err(SweepError::Slurm(format!(
            "{} --parsable {} failed: {}",
            o.sbatch,
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    // --parsable prints `jobid` or `jobid;cluster`.
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() {
        return Err(SweepError::Slurm(format!("{} printed no job id", o.sbatch)));
    }
    Ok(id)
}

/// Asks `sbatch --test-only` whether a job with these settings could ever start, so that
/// a request no node can satisfy fails here instead of pending forever in the queue
/// (Slurm accepts such jobs when the partition does not enforce its limits).
fn test_only(o: &SlurmOptions, lines: &[String]) -> Result<(), SweepError> {
    let lines: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| !l.starts_with("--dependency="))
        .collect();
    let args: Vec<&str> = std::iter::once("--test-only")
        .chain(lines.iter().copied())
        .chain(std::iter::once("--wrap=true"))
        .collect();
    let out = run_sbatch(o, &args)?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Err(SweepError::SlurmUnsatisfiable {
        request: lines.join(" "),
        said,
    })
}

/// Submits the incomplete runs: stage 1 (training and single runs), stage 2 (evaluations
/// of stage-1 models, `afterany` stage 1), then the report job (`afterany` all).
pub fn submit(m: &Manifest, o: &SlurmOptions) -> Result<Jobs, SweepError> {
    let dir = slurm_dir(m);
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|source| SweepError::Io {
        path: logs.clone(),
        source,
    })?;
    let todo: Vec<usize> = (0..m.runs.len())
        .filter(|&i| !is_complete(&m.output, &m.runs[i]))
        .collect();
    let stages: [Vec<usize>; 2] = [
        todo.iter()
            .copied()
            .filter(|&i| m.runs[i].after.is_none())
            .collect(),
        todo.iter()
            .copied()
            .filter(|&i| m.runs[i].after.is_some())
            .collect(),
    ];
    // Every job is checked before the first is submitted: nothing half-submitted.
    for stage in stages.iter().filter(|s| !s.is_empty()) {
        test_only(o, &array_lines(m, o, stage.len(), None))?;
    }
    if stages.iter().any(|s| !s.is_empty()) {
        test_only(o, &report_lines(m, o, &[]))?;
    }
    let mut arrays: Vec<(String, usize)> = Vec::new();
    for (k, stage) in stages.iter().enumerate() {
        if stage.is_empty() {
            continue;
        }
        let list = dir.join(format!("{}.stage{}.tasks", m.id, k + 1));
        let text: String = stage.iter().map(|i| format!("{i}\n")).collect();
        crate::fsutil::write_atomic(&list, text.as_bytes()).map_err(|source| SweepError::Io {
            path: list.clone(),
            source,
        })?;
        let script = dir.join(format!("{}.stage{}.sh", m.id, k + 1));
        let dep = arrays.last().map(|(id, _)| id.clone());
        let lines = array_lines(m, o, stage.len(), dep.as_deref());
        crate::fsutil::write_atomic(&script, task_script(m, o, &lines, &list).as_bytes()).map_err(
            |source| SweepError::Io {
                path: script.clone(),
                source,
            },
        )?;
        let id = sbatch(o, &script)?;
        arrays.push((id, stage.len()));
    }
    let report = if arrays.is_empty() {
        None
    } else {
        let script = dir.join(format!("{}.report.sh", m.id));
        let ids: Vec<&str> = arrays.iter().map(|(id, _)| id.as_str()).collect();
        let lines = report_lines(m, o, &ids);
        crate::fsutil::write_atomic(&script, report_script(m, o, &lines).as_bytes()).map_err(
            |source| SweepError::Io {
                path: script.clone(),
                source,
            },
        )?;
        Some(sbatch(o, &script)?)
    };
    let jobs = Jobs {
        submitted: chrono::Local::now().to_rfc3339(),
        arrays,
        report,
    };
    let json = serde_json::to_string_pretty(&jobs).expect("jobs serialise");
    crate::fsutil::write_atomic(&jobs_path(m), json.as_bytes()).map_err(|source| {
        SweepError::Io {
            path: jobs_path(m),
            source,
        }
    })?;
    Ok(jobs)
}

/// `scontrol requeue <array job>_<task>` for the Slurm array task this process runs in;
/// says what happened.
pub fn requeue_this_task() -> String {
    let (Ok(job), Ok(task)) = (
        std::env::var("SLURM_ARRAY_JOB_ID"),
        std::env::var("SLURM_ARRAY_TASK_ID"),
    ) else {
        return "not a Slurm array task: run the sweep again to resume it".into();
    };
    let id = format!("{job}_{task}");
    match Command::new("scontrol").args(["requeue", &id]).output() {
        Ok(o) if o.status.success() => {
            format!("requeued Slurm task {id}; it resumes from its checkpoint")
        }
        Ok(o) => format!(
            "scontrol requeue {id} failed ({}): run the sweep again to resume it",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => format!("cannot run scontrol ({e}): run the sweep again to resume it"),
    }
}

/// Reads the manifest index of task `task_id` from a stage's task list.
pub fn task_index(task_list: &Path, task_id: usize) -> Result<usize, SweepError> {
    let text = std::fs::read_to_string(task_list).map_err(|source| SweepError::Io {
        path: task_list.into(),
        source,
    })?;
    text.lines()
        .nth(task_id)
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| SweepError::BadFile {
            path: task_list.into(),
            what: "task list",
            reason: format!("no line {task_id}"),
        })
}

/// `squeue`'s view of the submission's jobs, as state counts; "not in the queue" once
/// Slurm forgets them (the runs' own files then tell the rest).
pub fn queue_summary(jobs: &Jobs) -> String {
    let mut ids: Vec<String> = jobs.arrays.iter().map(|(id, _)| id.clone()).collect();
    ids.extend(jobs.report.clone());
    let list = ids.join(",");
    let out = Command::new("squeue")
        .args(["-h", "-r", "-o", "%i %T", "-j", &list])
        .output();
    let described = format!("jobs {list} submitted {}", jobs.submitted);
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
            for line in text.lines() {
                if let Some(state) = line.split_whitespace().nth(1) {
                    *counts.entry(state.to_lowercase()).or_default() += 1;
                }
            }
            if counts.is_empty() {
                format!("{described}; none in the queue any more")
            } else {
                let c: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
                format!("{described}; in the queue: {}", c.join(", "))
            }
        }
        _ => format!("{described}; squeue is not available here"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_an_sbatch_line_in_the_script() {
        use crate::sweep::{Role, RunMeta, RunPlan};
        let run = |w: i64| RunPlan {
            key: format!("k{w}"),
            config_hash: "h".into(),
            dir: format!("d{w}"),
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
                seed: Some(1),
                role: Role::Fewshot,
                source: None,
                variant: vec![],
                max_epoch: 200,
                num_workers: w,
            },
        };
        let m = Manifest {
            version: 1,
            id: "t-CoOp".into(),
            name: "t".into(),
            spec_file: "s.yaml".into(),
            protocol: crate::sweep::spec::Protocol::Fewshot,
            trainers: vec!["CoOp".into()],
            cwd: "/w".into(),
            output: "/out".into(),
            created: "now".into(),
            runs: vec![run(2), run(8)],
        };
        let o = SlurmOptions {
            max_parallel: Some(4),
            partition: Some("gpu".into()),
            time: Some("04:00:00".into()),
            account: Some("lab".into()),
            gres: Some("gpu:1".into()),
            qos: Some("high".into()),
            constraint: Some("a100".into()),
            cpus_per_task: None,
            mem: Some("32G".into()),
            signal: Some("B:TERM@120".into()),
            extra: vec!["--exclusive".into()],
            exe: "/bin/dassl".into(),
            retries: 1,
            run_program: None,
            sbatch: "sbatch".into(),
        };
        let lines = array_lines(&m, &o, 10, Some("7"));
        let script = task_script(&m, &o, &lines, Path::new("/out/t.tasks"));
        for l in [
            "#SBATCH --job-name=dassl-t\n",
            "#SBATCH --output=/out/.dassl/slurm/logs/%A_%a.out\n",
            "#SBATCH --partition=gpu\n",
            "#SBATCH --time=04:00:00\n",
            "#SBATCH --account=lab\n",
            "#SBATCH --qos=high\n",
            "#SBATCH --constraint=a100\n",
            "#SBATCH --array=0-9%4\n",
            "#SBATCH --gres=gpu:1\n",
            // The runs' DATALOADER.NUM_WORKERS (8) + 1.
            "#SBATCH --cpus-per-task=9\n",
            "#SBATCH --mem=32G\n",
            "#SBATCH --requeue\n",
            "#SBATCH --signal=B:TERM@120\n",
            "#SBATCH --dependency=afterany:7\n",
            "#SBATCH --exclusive\n",
        ] {
            assert!(script.contains(l), "{l} missing:\n{script}");
        }
        assert!(
            script.contains("exec '/bin/dassl' run --manifest "),
            "{script}"
        );
        let o1 = SlurmOptions {
            cpus_per_task: Some(2),
            gres: None,
            ..o
        };
        let lines = array_lines(&m, &o1, 1, None);
        assert!(lines.contains(&"--cpus-per-task=2".to_string()));
        assert!(!lines.iter().any(|l| l.starts_with("--gres")));
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
    }
}
