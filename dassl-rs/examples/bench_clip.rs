//! CPU throughput of CLIP's image and text encoders (issue 3 item 7).
//! Driven by scripts/bench/run_clip_bench.sh, which runs OpenAI's CLIP under
//! PyTorch (scripts/bench/bench_clip.py) on the same weights for comparison.
//!
//! Usage: bench_clip WEIGHTS.safetensors [--label NAME] [--image-batch B]
//!        [--text-batch T] [--iters N] [--warmup W] [--threads K]
//! Prints one JSON line per encoder:
//! {"side":"dassl-rs","model":..,"encoder":"image"|"text","batch":..,"iters":..,
//!  "median_s":..,"per_s":..}

use std::time::Instant;

use dassl_rs::clip::model::{Clip, Precision};
use dassl_rs::clip::tokenizer::ClipTokenizer;
use tch::{Device, Kind, Tensor};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median seconds of `iters` timed calls after `warmup` untimed ones.
fn time_it(warmup: usize, iters: usize, mut f: impl FnMut() -> Tensor) -> f64 {
    for _ in 0..warmup {
        let _ = f();
    }
    let times = (0..iters)
        .map(|_| {
            let t = Instant::now();
            let out = f();
            // Force completion (a no-op on CPU, kept for symmetry with the Python side).
            let _ = out.size();
            t.elapsed().as_secs_f64()
        })
        .collect();
    median(times)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut weights: Option<String> = None;
    let mut label = String::from("model");
    let (mut image_batch, mut text_batch, mut iters, mut warmup, mut threads) =
        (8i64, 100usize, 5usize, 2usize, 2i32);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--label" => label = val("--label")?,
            "--image-batch" => image_batch = val("--image-batch")?.parse()?,
            "--text-batch" => text_batch = val("--text-batch")?.parse()?,
            "--iters" => iters = val("--iters")?.parse()?,
            "--warmup" => warmup = val("--warmup")?.parse()?,
            "--threads" => threads = val("--threads")?.parse()?,
            _ if weights.is_none() && !a.starts_with("--") => weights = Some(a),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let weights =
        weights.ok_or("usage: bench_clip WEIGHTS [--label NAME] [--image-batch B] [--iters N]")?;

    tch::set_num_threads(threads);
    tch::manual_seed(0);
    let (_vs, clip) = Clip::load(&weights, Device::Cpu, Precision::Fp32)?;
    let res = clip.input_resolution();
    let ctx = clip.config().context_length as usize;

    // CoOp's test-time text batch: one prompt per class.
    let prompts: Vec<String> = (0..text_batch)
        .map(|i| format!("a photo of a class{i}."))
        .collect();
    let rows = ClipTokenizer::new().tokenize(&prompts, ctx, false)?;
    let flat: Vec<i64> = rows.into_iter().flatten().collect();
    let tokens = Tensor::from_slice(&flat).view([text_batch as i64, ctx as i64]);
    let images = Tensor::randn([image_batch, 3, res, res], (Kind::Float, Device::Cpu));

    let report = |encoder: &str, batch: i64, secs: f64| {
        println!(
            "{{\"side\":\"dassl-rs\",\"model\":\"{label}\",\"encoder\":\"{encoder}\",\"batch\":{batch},\"iters\":{iters},\"median_s\":{secs:.6},\"per_s\":{:.3}}}",
            batch as f64 / secs
        );
    };
    tch::no_grad(|| {
        let s = time_it(warmup, iters, || clip.encode_image(&images));
        report("image", image_batch, s);
        let s = time_it(warmup, iters, || clip.encode_text(&tokens));
        report("text", text_batch as i64, s);
    });
    Ok(())
}
