//! One prompt-learning training step (forward, backward, SGD) of dassl-rs's CoOp or CoCoOp
//! on random images, timed: the dassl-rs side of scripts/bench/run_step_bench.sh (the
//! Python side, CoOp's `CustomCLIP` on OpenAI's CLIP, is scripts/bench/bench_step.py).
//!
//! bench_step WEIGHTS --trainer CoOp|CoCoOp [--classes 100] [--batch 32] [--position end]
//!     [--csc] [--n-ctx 16] [--prec fp32] [--device cpu|cuda] [--iters 3] [--warmup 1]
//!     [--threads 2] [--label NAME]
//!
//! bench_step WEIGHTS --breakdown [--classes 100] [--batch 32] [--n-ctx 16] [--iters 3]
//!     [--threads 2]: where a CoOp end-generic step's time goes (fp32, CPU), one JSON line
//!     per part: the image encoder's forward, and the text encoder's forward and backward
//!     through the shared prefix (CoOp's path), to the last EOT only (front, CSC) and over
//!     all 77 positions (what Python CoOp computes).
//!
//! Prints one JSON line: the median wall and CPU seconds per step and the process's peak
//! resident memory (VmHWM; GPU memory is sampled from outside by scripts/gpu_check.sh).

use std::time::Instant;

use dassl_rs::clip::model::{Clip, EotPositions, Precision, TextSpan};
use dassl_rs::clip::tokenizer::ClipTokenizer;
use dassl_rs::config::{setup_cfg, CfgSources};
use dassl_rs::data::loader::Batch;
use dassl_rs::engine::trainer_x::Step;
use tch::{Device, Kind, Tensor};

struct Args {
    weights: String,
    trainer: String,
    classes: usize,
    batch: i64,
    position: String,
    csc: bool,
    n_ctx: i64,
    prec: String,
    cuda: bool,
    iters: usize,
    warmup: usize,
    threads: i32,
    label: String,
    breakdown: bool,
}

fn parse() -> Args {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        weights: String::new(),
        trainer: "CoOp".into(),
        classes: 100,
        batch: 32,
        position: "end".into(),
        csc: false,
        n_ctx: 16,
        prec: "fp32".into(),
        cuda: false,
        iters: 3,
        warmup: 1,
        threads: 2,
        label: "model".into(),
        breakdown: false,
    };
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--trainer" => a.trainer = value(),
            "--classes" => a.classes = value().parse().expect("--classes"),
            "--batch" => a.batch = value().parse().expect("--batch"),
            "--position" => a.position = value(),
            "--csc" => a.csc = true,
            "--breakdown" => a.breakdown = true,
            "--n-ctx" => a.n_ctx = value().parse().expect("--n-ctx"),
            "--prec" => a.prec = value(),
            "--device" => a.cuda = value() == "cuda",
            "--iters" => a.iters = value().parse().expect("--iters"),
            "--warmup" => a.warmup = value().parse().expect("--warmup"),
            "--threads" => a.threads = value().parse().expect("--threads"),
            "--label" => a.label = value(),
            w if !w.starts_with("--") => a.weights = w.to_string(),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        !a.weights.is_empty(),
        "usage: bench_step WEIGHTS --trainer CoOp ..."
    );
    a
}

/// CPU seconds (user + system, every thread) this process has used: `/proc/self/stat`
/// fields 14 and 15, in the kernel's USER_HZ ticks (100 per second on Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => f64::NAN,
    }
}

/// Peak resident memory of this process in MB (Linux `VmHWM`).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The median as numpy takes it (the mean of the middle two for an even count).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    (v[(v.len() - 1) / 2] + v[v.len() / 2]) / 2.0
}

/// Median wall and CPU seconds of `iters` calls of `f`.
fn timed(iters: usize, mut f: impl FnMut()) -> (f64, f64) {
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..iters.max(1) {
        let (t, c) = (Instant::now(), cpu_seconds());
        f();
        wall.push(t.elapsed().as_secs_f64());
        cpu.push(cpu_seconds() - c);
    }
    (median(wall), median(cpu))
}

/// `--breakdown`: the parts of a CoOp end-generic step at fp32 on the CPU, each timed alone
/// on CLIP's own functions (the trainer composes the same calls).
fn breakdown(a: &Args) {
    let (mut vs, clip) = Clip::load(&a.weights, Device::Cpu, Precision::Fp32).expect("weights");
    vs.freeze();
    tch::manual_seed(0);
    let res = clip.input_resolution();
    let images = Tensor::randn([a.batch, 3, res, res], (Kind::Float, Device::Cpu));
    let texts: Vec<String> = (0..a.classes)
        .map(|i| format!("{} class {i}.", vec!["X"; a.n_ctx as usize].join(" ")))
        .collect();
    let rows = ClipTokenizer::new()
        .tokenize(&texts, 77, false)
        .expect("prompts fit");
    let tokens = Tensor::from_slice(&rows.concat()).view([a.classes as i64, -1]);
    let eot = EotPositions::of(&tokens);
    let embeddings = tch::no_grad(|| clip.token_embedding(&tokens));
    let width = clip.config().transformer_width;
    let ctx = (Tensor::randn([a.n_ctx, width], (Kind::Float, Device::Cpu)) * 0.02)
        .set_requires_grad(true);
    let sos = embeddings.narrow(1, 0, 1);
    let suffix = embeddings.narrow(1, 1 + a.n_ctx, 76 - a.n_ctx);
    let backward = |features: Tensor| features.sum(Kind::Float).backward();
    let prompts = || {
        let c = ctx.unsqueeze(0).expand([a.classes as i64, -1, -1], false);
        Tensor::cat(&[&sos, &c, &suffix], 1)
    };
    type Part<'a> = (&'static str, Box<dyn Fn() + 'a>);
    let parts: [Part; 4] = [
        (
            "image encoder, forward",
            Box::new(|| drop(clip.encode_image(&images))),
        ),
        (
            "text encoder, shared prefix, forward + backward",
            Box::new(|| {
                let prefix = Tensor::cat(&[&sos.narrow(0, 0, 1), &ctx.unsqueeze(0)], 1);
                backward(
                    clip.encode_text_shared_prefix(&prefix, &suffix, &eot)
                        .expect("CoOp's prompts share their prefix"),
                )
            }),
        ),
        (
            "text encoder, to the last EOT, forward + backward",
            Box::new(|| backward(clip.encode_prompts_over(&prompts(), &eot, TextSpan::ToLastEot))),
        ),
        (
            "text encoder, all 77 positions, forward + backward",
            Box::new(|| backward(clip.encode_prompts_over(&prompts(), &eot, TextSpan::Full))),
        ),
    ];
    for (part, f) in parts {
        let (wall, cpu) = timed(a.iters, &f);
        println!(
            "{{\"part\":\"{part}\",\"model\":\"{}\",\"classes\":{},\"batch\":{},\"iters\":{},\"median_s\":{wall:.6},\"cpu_s\":{cpu:.6}}}",
            a.label, a.classes, a.batch, a.iters
        );
    }
}

fn main() {
    let a = parse();
    tch::set_num_threads(a.threads);
    if a.breakdown {
        breakdown(&a);
        return;
    }
    dassl_trainers::link();
    let section = if a.trainer == "CoCoOp" {
        "TRAINER.COCOOP"
    } else {
        "TRAINER.COOP"
    };
    let res = dassl_rs::clip::model::ClipConfig::from_weights(
        &dassl_rs::clip::weights::WeightMap::load(a.weights.as_ref(), Device::Cpu)
            .expect("weights load"),
    )
    .expect("a CLIP")
    .image_resolution;
    let mut opts: Vec<String> = vec![
        "TRAINER.NAME".into(),
        a.trainer.clone(),
        "MODEL.BACKBONE.NAME".into(),
        a.weights.clone(),
        "INPUT.SIZE".into(),
        format!("({res}, {res})"),
        format!("{section}.N_CTX"),
        a.n_ctx.to_string(),
        format!("{section}.PREC"),
        a.prec.clone(),
        "OPTIM.NAME".into(),
        "sgd".into(),
        "OPTIM.LR".into(),
        "0.002".into(),
        "USE_CUDA".into(),
        if a.cuda { "True" } else { "False" }.into(),
        "SEED".into(),
        "1".into(),
    ];
    if a.trainer == "CoOp" {
        opts.extend([
            "TRAINER.COOP.CLASS_TOKEN_POSITION".into(),
            a.position.clone(),
            "TRAINER.COOP.CSC".into(),
            if a.csc { "True" } else { "False" }.into(),
        ]);
    }
    let cfg = setup_cfg(&CfgSources {
        opts,
        ..Default::default()
    })
    .expect("config");
    let names: Vec<String> = (0..a.classes).map(|i| format!("class {i}")).collect();
    let mut learner = dassl_trainers::bench::prompt_learner(&cfg, &names).expect("learner");
    tch::manual_seed(0);
    let batch = Batch {
        images: Tensor::randn([a.batch, 3, res, res], (Kind::Float, Device::Cpu)),
        labels: Tensor::randint(a.classes as i64, [a.batch], (Kind::Int64, Device::Cpu)),
        indices: (0..a.batch as usize).collect(),
    };
    let step = |i: usize| Step {
        epoch: 0,
        batch_idx: i,
        num_batches: usize::MAX,
    };
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    for i in 0..a.warmup + a.iters {
        let (t, c) = (Instant::now(), cpu_seconds());
        learner.forward_backward(&batch, step(i)).expect("a step");
        if a.cuda {
            tch::Cuda::synchronize(0);
        }
        if i >= a.warmup {
            times.push(t.elapsed().as_secs_f64());
            cpu_times.push(cpu_seconds() - c);
        }
    }
    let (median, cpu) = (median(times), median(cpu_times));
    println!(
        "{{\"side\":\"dassl-rs\",\"trainer\":\"{}\",\"model\":\"{}\",\"classes\":{},\"batch\":{},\"position\":\"{}\",\"csc\":{},\"prec\":\"{}\",\"device\":\"{}\",\"iters\":{},\"median_s\":{:.6},\"cpu_s\":{:.6},\"peak_rss_mb\":{:.1}}}",
        a.trainer,
        a.label,
        a.classes,
        a.batch,
        a.position,
        a.csc,
        a.prec,
        if a.cuda { "cuda" } else { "cpu" },
        a.iters,
        median,
        cpu,
        peak_rss_mb()
    );
}
