//! `dassl run --sweep FILE`, `dassl report OUTPUT` and `dassl status OUTPUT`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::args::{Cli, Command};
use super::CliError;
use crate::config::setup_cfg;
use crate::errors::SweepError;
use crate::report::format::Columns;
use crate::sweep::exec::{self, ExecCtx, Outcome};
use crate::sweep::local::{self, Launch, LocalOptions};
use crate::sweep::signals;
use crate::sweep::slurm::{self, SlurmOptions};
use crate::sweep::{self as sw, Manifest, Resolved, Resolver};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Executor {
    Local,
    Slurm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Md,
    Csv,
    Json,
}

/// `dassl run`: run a sweep file's runs (docs/SWEEPS.md).
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Sweep file (YAML), e.g. configs/fewshot.yaml.
    #[arg(long, required_unless_present = "manifest")]
    pub sweep: Option<PathBuf>,
    /// Trainer(s) to run (repeat or comma-separate); default: every trainer of the file.
    #[arg(long)]
    pub trainer: Vec<String>,
    /// Datasets root (DATASET.ROOT); overrides the file's `root`.
    #[arg(long)]
    pub root: Option<String>,
    /// Output folder; overrides the file's `output`.
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Executor::Local)]
    pub executor: Executor,
    /// Runs at once per GPU (or on the CPU when there is no GPU).
    #[arg(long, default_value_t = 1)]
    pub jobs_per_device: usize,
    /// Extra attempts for a failed run (config errors, exit 2, are never retried).
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
    /// List the runs and which are done; start nothing, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Plain progress lines instead of bars.
    #[arg(long)]
    pub no_progress: bool,
    /// Slurm: tasks running at once (`--array=0-N%K`).
    #[arg(long, value_name = "K")]
    pub max_parallel: Option<usize>,
    /// Slurm: partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm: time limit per task, e.g. 04:00:00.
    #[arg(long)]
    pub time: Option<String>,
    /// Slurm: account.
    #[arg(long)]
    pub account: Option<String>,
    /// Slurm: generic resources per task; `none` for CPU-only clusters.
    #[arg(long, default_value = "gpu:1")]
    pub gres: String,
    /// Slurm: quality of service.
    #[arg(long)]
    pub qos: Option<String>,
    /// Slurm: node features the tasks need (--constraint), e.g. a100.
    #[arg(long)]
    pub constraint: Option<String>,
    /// Slurm: CPUs per task; default: the runs' DATALOADER.NUM_WORKERS + 1.
    #[arg(long, value_name = "N")]
    pub cpus_per_task: Option<usize>,
    /// Slurm: memory per task, e.g. 32G.
    #[arg(long)]
    pub mem: Option<String>,
    /// Slurm: --signal for a warning before the time limit (the task stops, requeues and
    /// resumes from its checkpoint); `none` to leave it out.
    #[arg(long, default_value = "B:TERM@120")]
    pub signal: String,
    /// Slurm: one more sbatch argument, as it is (repeat for several), e.g. --sbatch-arg=--exclusive.
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
    /// Slurm: wait until the jobs have left the queue, then print the report.
    #[arg(long)]
    pub wait: bool,
    /// Internal: run one run of this manifest (wrappers and Slurm tasks).
    #[arg(long, hide = true)]
    pub manifest: Option<PathBuf>,
    #[arg(long, hide = true)]
    pub index: Option<usize>,
    #[arg(long, hide = true)]
    pub task_list: Option<PathBuf>,
    #[arg(long, hide = true)]
    pub task_id: Option<usize>,
    #[arg(long, hide = true)]
    pub device: Option<String>,
    /// Internal (tests): the program started for each run instead of `dassl train`.
    #[arg(long, hide = true)]
    pub run_program: Option<PathBuf>,
    /// Run only these datasets (keys or DATASET.NAME of the file's datasets, or other
    /// dataset config stems); comma-separated or repeated. Replaces the datasets axis.
    #[arg(long, alias = "dataset", value_name = "DS,..")]
    pub datasets: Vec<String>,
    /// Replace the shots axis, e.g. --shots 1,16.
    #[arg(long, alias = "shot", value_name = "K,..")]
    pub shots: Vec<String>,
    /// Replace the seeds axis, e.g. --seeds 1,2 (--seed 3 for one).
    #[arg(long, alias = "seed", value_name = "S,..")]
    pub seeds: Vec<String>,
    /// Replace (or add) a variant axis: KEY=V1,V2, e.g. TRAINER.COOP.CSC=False,True; repeatable.
    #[arg(long = "variants", alias = "variant", value_name = "KEY=V1,V2")]
    pub variants: Vec<String>,
    /// Keep only the runs that match: FIELD=GLOB, FIELD!=GLOB, FIELD<N (<=, >, >=) or a glob
    /// over the run folder. Fields: dataset, trainer, label, shots, seed, backbone, cfg,
    /// role, dir, and variant keys (full or short: csc, ctp, nctx). Repeat: all must match.
    #[arg(long, value_name = "EXPR")]
    pub filter: Vec<String>,
    /// Extra KEY VALUE opts for every run, after the file's. One that names an axis
    /// (DATASET.NUM_SHOTS, SEED, DATASET.NAME, a variant key) replaces that axis.
    #[arg(value_name = "KEY VALUE", trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub opts: Vec<String>,
}

impl RunArgs {
    /// The axis flags, parsed.
    fn axes(&self) -> Result<sw::overrides::AxisOverrides, CliError> {
        use sw::overrides::{parse_ints, parse_names};
        let some = |v: Vec<i64>| (!v.is_empty()).then_some(v);
        Ok(sw::overrides::AxisOverrides {
            datasets: Some(parse_names(&self.datasets)).filter(|d| !d.is_empty()),
            shots: some(parse_ints(&self.shots, "--shots").map_err(SweepError::from)?),
            seeds: some(parse_ints(&self.seeds, "--seeds").map_err(SweepError::from)?),
            variants: self.variants.clone(),
            filters: self.filter.clone(),
        })
    }
}

/// `dassl report`: tables over the complete runs of any number of folders.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Folders: sweep output folders (read through their manifests), folders made by
    /// `dassl train`, and CoOp/Dassl output trees (every folder with a log.txt).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// Show 1.96 * std / sqrt(n) instead of the std (parse_test_res.py --ci95).
    #[arg(long)]
    pub ci95: bool,
    /// Published numbers (results/paper/*.csv) to show beside each cell; repeatable.
    #[arg(long)]
    pub paper: Vec<PathBuf>,
    /// Draw the few-shot curves into FILE.svg or FILE.png; repeatable.
    #[arg(long, value_name = "FILE")]
    pub plot: Vec<PathBuf>,
    /// Markdown: also list every run's value and folder (CSV and JSON always do).
    #[arg(long)]
    pub per_seed: bool,
    /// Markdown: also the long tables (a row per cell, with n and the difference to the paper).
    #[arg(long)]
    pub long: bool,
    /// Also write summary.{md,csv,json} and the figures into PATH/reports (one PATH only).
    #[arg(long)]
    pub save: bool,
}

/// `dassl status`: where each run of an output folder stands.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The sweep's output folder.
    pub output: PathBuf,
}

/// Resolves and validates runs exactly as `dassl train` will: the same argument parser,
/// `reset_cfg`, `setup_cfg` and in-process validation, giving the same identity.
#[derive(Debug, Clone, Copy, Default)]
pub struct CliResolver;

impl Resolver for CliResolver {
    fn resolve(&self, args: &[String], model_from_sweep: bool) -> Result<Resolved, Vec<String>> {
        let one = |e: &dyn std::fmt::Display| vec![e.to_string()];
        let argv = std::iter::once("dassl".to_string()).chain(args.iter().cloned());
        let cli = <Cli as clap::Parser>::try_parse_from(argv).map_err(|e| one(&e))?;
        let Command::Train(t) = cli.command else {
            return Err(vec!["not a train command".into()]);
        };
        let cfg = setup_cfg(&super::commands::sources(&t.cfg)).map_err(|e| one(&e))?;
        let checked =
            crate::validate::check_run(&cfg, &super::commands::run_flags(&t, model_from_sweep))
                .map_err(|p| p.0)?;
        let s = |k: &str| cfg.str(k).map(str::to_string).map_err(|e| one(&e));
        Ok(Resolved {
            config_hash: checked.identity,
            dataset: s("DATASET.NAME")?,
            backbone: crate::sweep::plan::backbone_label(&s("MODEL.BACKBONE.NAME")?),
            max_epoch: cfg.int("OPTIM.MAX_EPOCH").map_err(|e| one(&e))?,
            num_workers: cfg.int("DATALOADER.NUM_WORKERS").map_err(|e| one(&e))?,
        })
    }
}

fn current_exe() -> Result<PathBuf, CliError> {
    std::env::current_exe().map_err(|source| CliError::Io {
        path: "current executable".into(),
        source,
    })
}

fn cwd() -> Result<PathBuf, CliError> {
    std::env::current_dir().map_err(|source| CliError::Io {
        path: ".".into(),
        source,
    })
}

pub fn run(args: RunArgs) -> Result<(), CliError> {
    if let Some(m) = &args.manifest {
        let stop = signals::install(signals::Role::Wrapper);
        return run_one(&args, m, stop);
    }
    let stop = signals::install(signals::Role::Sweep);
    let started = std::time::Instant::now();
    let spec = args
        .sweep
        .clone()
        .ok_or_else(|| CliError::Usage("--sweep FILE is required".into()))?;
    let mut ov = sw::Overrides {
        trainers: args.trainer.clone(),
        root: args.root.clone(),
        output: args.output.clone(),
        opts: args.opts.clone(),
        axes: args.axes()?,
    };
    let cwd = cwd()?;
    let first = sw::spec::SweepSpec::from_file(&cwd.join(&spec))?;
    let mut files = vec![spec.clone()];
    // Chained files sit beside the first one.
    let spec_dir = spec.parent().map(Path::to_path_buf).unwrap_or_default();
    for next in &first.then {
        let path = cwd.join(&spec_dir).join(next);
        let chained = sw::spec::SweepSpec::from_file(&path)?;
        if !chained.then.is_empty()
            || (chained.toy_world.is_some() && chained.toy_world != first.toy_world)
        {
            return Err(SweepError::Spec {
                path,
                what: format!(
                    "a sweep chained by `then:` in {} may not chain others, and its `toy_world` \
                     must be the first file's",
                    spec.display()
                ),
            }
            .into());
        }
        files.push(spec_dir.join(next));
    }
    let mut pretrain_seconds = None;
    if let Some(toy) = &first.toy_world {
        let budget = crate::toyworld::Budget::with_steps(toy.steps);
        let cache = crate::toyworld::default_cache_dir();
        let recipe = crate::toyworld::demo_recipe()
            .map_err(|e| CliError::Usage(format!("toy world: {e}")))?;
        let pretrained_here = !crate::toyworld::is_cached(&cache, toy.seed, &recipe, &budget)
            && pretrain_in_child(toy.seed, budget.steps)?;
        let world = crate::toyworld::ensure_toy_world_with(&cache, toy.seed, &recipe, &budget)
            .map_err(|e| CliError::Usage(format!("toy world: {e}")))?;
        if world.trained || pretrained_here {
            pretrain_seconds = world
                .info
                .pretraining
                .get("seconds")
                .and_then(|v| v.as_f64());
        }
        ov.root
            .get_or_insert_with(|| world.data_root.to_string_lossy().into_owned());
        let res = world
            .info
            .recipe
            .get("image_size")
            .and_then(|v| v.as_u64())
            .unwrap_or(32);
        let mut opts = vec![
            "MODEL.BACKBONE.NAME".to_string(),
            world.weights.to_string_lossy().into_owned(),
            "INPUT.SIZE".to_string(),
            format!("({res}, {res})"),
        ];
        opts.append(&mut ov.opts);
        ov.opts = opts;
    }
    // Every file is planned (and its errors reported) before any run starts.
    let prepared = files
        .iter()
        .map(|f| sw::prepare_full(f, &ov, &cwd, &CliResolver))
        .collect::<Result<Vec<_>, _>>()?;
    let manifests: Vec<&Manifest> = prepared.iter().map(|p| &p.manifest).collect();
    if stop.load(Ordering::SeqCst) {
        return Err(SweepError::Interrupted { running: 0 }.into());
    }
    if args.dry_run {
        for p in &prepared {
            println!("output: {}", p.manifest.output.display());
            for n in &p.notes {
                println!("override: {n}");
            }
            print!("{}", sw::status::dry_run_text(&p.manifest));
        }
        return Ok(());
    }
    for p in &prepared {
        p.manifest.write()?;
        p.write_effective()?;
    }
    let last = manifests.len() - 1;
    let (mut runs, mut runs_ran) = (0, 0);
    for (i, m) in manifests.iter().enumerate() {
        // Tables once, after the last file (they cover every file of a shared output).
        let report = i == last || m.output != manifests[last].output;
        match args.executor {
            Executor::Local => {
                let s = run_local(&args, m, stop.clone(), report)?;
                runs += s.total;
                runs_ran += s.ran;
            }
            Executor::Slurm => run_slurm(&args, m, stop.clone())?,
        }
    }
    if first.toy_world.is_some() && args.executor == Executor::Local {
        let timing = crate::toyworld::targets::Timing {
            pretrain_seconds,
            total_seconds: started.elapsed().as_secs_f64(),
            runs,
            runs_ran,
        };
        demo_summary(&manifests[last].output, &timing)?;
    }
    Ok(())
}

/// The toy world's claims and timing: printed, and written to OUTPUT/reports/demo.md.
fn demo_summary(output: &Path, timing: &crate::toyworld::targets::Timing) -> Result<(), CliError> {
    use crate::toyworld::targets;
    let summary = targets::summarise(&crate::report::collect(output)?);
    let date = chrono::Local::now().format("%Y-%m-%d %H:%M %Z").to_string();
    let text = targets::markdown(&summary, timing, &targets::machine(), &date);
    println!("{text}");
    let path = output.join("reports").join("demo.md");
    crate::fsutil::write_atomic(&path, text.as_bytes())
        .map_err(|source| CliError::Io { path, source })
}

fn run_local(
    args: &RunArgs,
    m: &Manifest,
    stop: Arc<AtomicBool>,
    report: bool,
) -> Result<local::SweepSummary, CliError> {
    let env = std::env::var("CUDA_VISIBLE_DEVICES").ok();
    let visible = if env.is_none() {
        usize::try_from(tch::Cuda::device_count()).unwrap_or(0)
    } else {
        0
    };
    let opts = LocalOptions {
        slots: local::device_slots(env.as_deref(), visible, args.jobs_per_device),
        launch: Launch::Wrapper {
            exe: current_exe()?,
            retries: args.retries,
            run_program: args.run_program.clone(),
        },
        stop,
        interactive: !args.no_progress,
    };
    eprintln!(
        "sweep {}: {} runs into {} on {}",
        m.id,
        m.runs.len(),
        m.output.display(),
        opts.slots.join(",")
    );
    let summary = local::run_local(m, &opts)?;
    if report || summary.interrupted || !summary.failed.is_empty() {
        print_and_save(&m.output)?;
    }
    if summary.interrupted {
        let running = summary.total - summary.already_done - summary.ran - summary.failed.len();
        return Err(SweepError::Interrupted { running }.into());
    }
    if !summary.failed.is_empty() {
        let recorded = sw::status::failures(m);
        for f in &recorded {
            eprintln!("failed: {f}");
        }
        for (dir, cause) in &summary.failed {
            if !recorded.iter().any(|f| &f.dir == dir) {
                eprintln!("failed: {dir}: {cause}");
            }
        }
        return Err(SweepError::RunsFailed {
            failed: summary.failed.len(),
            total: summary.total,
            output: m.output.clone(),
        }
        .into());
    }
    Ok(summary)
}

fn run_slurm(args: &RunArgs, m: &Manifest, stop: Arc<AtomicBool>) -> Result<(), CliError> {
    let o = SlurmOptions {
        max_parallel: args.max_parallel,
        partition: args.partition.clone(),
        time: args.time.clone(),
        account: args.account.clone(),
        gres: Some(args.gres.clone()).filter(|g| g != "none" && !g.is_empty()),
        qos: args.qos.clone(),
        constraint: args.constraint.clone(),
        cpus_per_task: args.cpus_per_task,
        mem: args.mem.clone(),
        signal: Some(args.signal.clone()).filter(|g| g != "none" && !g.is_empty()),
        extra: args.sbatch_args.clone(),
        exe: current_exe()?,
        retries: args.retries,
        run_program: args.run_program.clone(),
        sbatch: std::env::var("DASSL_SBATCH").unwrap_or_else(|_| "sbatch".into()),
    };
    let jobs = slurm::submit(m, &o)?;
    if jobs.arrays.is_empty() {
        println!("all {} runs are complete; nothing submitted", m.runs.len());
        print_and_save(&m.output)?;
        return Ok(());
    }
    for (id, n) in &jobs.arrays {
        println!("submitted job array {id} ({n} runs)");
    }
    if let Some(r) = &jobs.report {
        println!("submitted report job {r} (after the arrays)");
    }
    println!("follow with: dassl status {}", m.output.display());
    if !args.wait {
        return Ok(());
    }
    let mut ids: Vec<String> = jobs.arrays.iter().map(|(id, _)| id.clone()).collect();
    ids.extend(jobs.report.clone());
    loop {
        if stop.load(Ordering::SeqCst) {
            return Err(SweepError::Interrupted { running: 0 }.into());
        }
        let out = std::process::Command::new("squeue")
            .args(["-h", "-r", "-o", "%i", "-j", &ids.join(",")])
            .output();
        match out {
            Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).trim().is_empty() => {
                break
            }
            Ok(o) if o.status.success() => {}
            // squeue fails for ids Slurm has already forgotten: they are done.
            _ => break,
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    print_and_save(&m.output)?;
    let st: Vec<_> = (0..m.runs.len())
        .map(|i| sw::status::standing(m, i))
        .collect();
    let (done, ..) = sw::status::counts(&st);
    if done < m.runs.len() {
        return Err(SweepError::RunsFailed {
            failed: m.runs.len() - done,
            total: m.runs.len(),
            output: m.output.clone(),
        }
        .into());
    }
    Ok(())
}

/// A wrapper process or Slurm task: one run of a manifest.
fn run_one(args: &RunArgs, manifest: &Path, stop: Arc<AtomicBool>) -> Result<(), CliError> {
    let m = Manifest::read(manifest)?;
    let index = match (args.index, &args.task_list, args.task_id) {
        (Some(i), _, _) => i,
        (None, Some(list), Some(t)) => slurm::task_index(list, t)?,
        _ => {
            return Err(CliError::Usage(
                "--manifest needs --index, or --task-list with --task-id".into(),
            ))
        }
    };
    if index >= m.runs.len() {
        return Err(CliError::Usage(format!(
            "run index {index} is out of range: the manifest has {} runs",
            m.runs.len()
        )));
    }
    let program = match &args.run_program {
        Some(p) => p.clone(),
        None => current_exe()?,
    };
    let ctx = ExecCtx {
        program,
        retries: args.retries,
        stop,
        guard: Some(current_exe()?),
    };
    // Slurm tasks wait for a lock held elsewhere; local wrappers report it instead.
    let wait = args.task_list.is_some();
    if wait {
        // The task's own .out names the run; the run's output goes to its log.
        println!(
            "run #{index} {}: output in {}",
            m.runs[index].dir,
            crate::sweep::manifest::log_path(&m.output, &m.runs[index].key).display()
        );
    }
    let outcome = exec::execute(&ctx, &m, index, args.device.as_deref(), wait)?;
    let dir = &m.runs[index].dir;
    match outcome {
        Outcome::Done { skipped: true, .. } => {
            println!("{dir}: already complete");
            Ok(())
        }
        Outcome::Done { .. } => Ok(()),
        Outcome::Interrupted if signals::terminated() => {
            // Slurm's preemption or time limit: put the task back in the queue; it resumes.
            let requeued = slurm::requeue_this_task();
            Err(SweepError::Exit {
                code: exec::EXIT_TERMINATED as u8,
                message: format!("{dir}: stopped by SIGTERM; {requeued}"),
            }
            .into())
        }
        o => {
            let message = match &o {
                Outcome::Failed { cause, .. } => format!("{dir}: {cause}"),
                Outcome::Busy => format!("{dir}: another process is running it"),
                _ => format!("{dir}: interrupted"),
            };
            Err(SweepError::Exit {
                code: o.exit_code() as u8,
                message,
            }
            .into())
        }
    }
}

/// Prints the Markdown summary and writes every report into OUTPUT/reports.
fn print_and_save(output: &Path) -> Result<(), CliError> {
    let records = crate::report::collect(output)?;
    let done = records.iter().filter(|r| r.accuracy.is_some()).count();
    println!("{done} of {} runs complete", records.len());
    let rep = crate::report::build(&records, &crate::report::Paper::default());
    println!(
        "{}",
        crate::report::format::markdown(&rep, Columns::default())
    );
    crate::report::save(output, &rep, &crate::report::Paper::default())?;
    Ok(())
}

pub fn report(args: ReportArgs) -> Result<(), CliError> {
    let mut paper = crate::report::Paper::default();
    for p in &args.paper {
        paper.load(p)?;
    }
    if args.save && args.paths.len() != 1 {
        return Err(CliError::Usage(
            "--save writes into PATH/reports: give one PATH (or use --plot and --format)".into(),
        ));
    }
    let rep = crate::report::build(&crate::report::collect_paths(&args.paths)?, &paper);
    let cols = Columns {
        ci95: args.ci95,
        paper: !args.paper.is_empty(),
        per_seed: args.per_seed,
        long: args.long,
    };
    match args.format {
        ReportFormat::Md => print!("{}", crate::report::format::markdown(&rep, cols)),
        ReportFormat::Csv => print!("{}", crate::report::format::csv(&rep, cols)),
        ReportFormat::Json => print!("{}", crate::report::format::json(&rep)),
    }
    for p in &args.plot {
        for written in crate::report::plot::write(&rep, &paper, p)? {
            eprintln!("wrote {}", written.display());
        }
    }
    if args.save {
        crate::report::save(&args.paths[0], &rep, &paper)?;
    }
    let mut failed = Vec::new();
    for p in &args.paths {
        if let Err(e) = failed_runs(p, true) {
            failed.push(e);
        }
    }
    match failed.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

pub fn status(args: StatusArgs) -> Result<(), CliError> {
    print!("{}", sw::status::status_text(&args.output)?);
    failed_runs(&args.output, false)
}

/// Exit 1 when runs of the output folder failed (printing each with `print`).
fn failed_runs(output: &Path, print: bool) -> Result<(), CliError> {
    let manifests = Manifest::read_all(output)?;
    let total: usize = manifests.iter().map(|m| m.runs.len()).sum();
    let failed: Vec<_> = manifests.iter().flat_map(sw::status::failures).collect();
    if failed.is_empty() {
        return Ok(());
    }
    if print {
        for f in &failed {
            eprintln!("failed: {f}");
        }
    }
    Err(SweepError::RunsFailed {
        failed: failed.len(),
        total,
        output: output.to_path_buf(),
    }
    .into())
}

/// Pretrains the toy world in a child `dassl data toy-world` with OpenMP's default wait
/// policy when this process runs under another (scripts/dassl sets PASSIVE for the
/// sweep's trains, whose loader workers share the cores): pretraining is many small ops,
/// each waking sleeping threads under PASSIVE, and a policy cannot change once libgomp
/// has started. Returns false (nothing done) when no policy is set: the caller pretrains.
fn pretrain_in_child(seed: u64, steps: usize) -> Result<bool, CliError> {
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        return Ok(false);
    }
    let exe = std::env::current_exe().map_err(|e| {
        CliError::Usage(format!(
            "toy world: cannot find this program to pretrain: {e}"
        ))
    })?;
    let status = std::process::Command::new(exe)
        .args(["data", "toy-world", "--seed", &seed.to_string()])
        .args(["--steps", &steps.to_string()])
        .env_remove("OMP_WAIT_POLICY")
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .status()
        .map_err(|e| CliError::Usage(format!("toy world: cannot start pretraining: {e}")))?;
    if !status.success() {
        return Err(CliError::Usage(format!(
            "toy world: pretraining (dassl data toy-world --seed {seed} --steps {steps}) failed: {status}"
        )));
    }
    Ok(true)
}
