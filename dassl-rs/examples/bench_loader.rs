//! Throughput of the training data pipeline (decode + RandomResizedCrop 224
//! bicubic + flip + to-tensor + normalise, batches of 32) over a folder of
//! images. Driven by scripts/bench/run_loader_bench.sh, which runs the
//! PyTorch DataLoader on the same files for comparison.
//!
//! Usage: bench_loader DIR [--workers N] [--batch B] [--epochs E] [--warmup W]
//! Prints one `RESULT rust images_per_sec=...` line for the driver.

use std::path::PathBuf;
use std::time::Instant;

use dassl_rs::data::loader::{DataLoader, LoaderOptions, Sampler};
use dassl_rs::data::transforms::{Transform, TransformConfig};
use dassl_rs::data::Datum;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    let (mut workers, mut batch, mut epochs, mut warmup) = (2usize, 32usize, 3usize, 1usize);
    let mut profile = false;
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> Result<usize, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match a.as_str() {
            "--workers" => workers = num("--workers")?,
            "--batch" => batch = num("--batch")?,
            "--epochs" => epochs = num("--epochs")?,
            "--warmup" => warmup = num("--warmup")?,
            "--profile" => profile = true,
            _ if dir.is_none() => dir = Some(PathBuf::from(a)),
            _ => return Err(format!("unexpected argument {a}").into()),
        }
    }
    let dir =
        dir.ok_or("usage: bench_loader DIR [--workers N] [--batch B] [--epochs E] [--warmup W]")?;

    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "jpg" || x == "jpeg" || x == "png")
        })
        .collect();
    paths.sort();
    let data: Vec<Datum> = paths
        .into_iter()
        .enumerate()
        .map(|(i, impath)| Datum {
            impath,
            label: i % 10,
            domain: 0,
            classname: format!("class{}", i % 10),
        })
        .collect();
    let n = data.len();
    // torch uses one intra-op thread per core by default; the loader does not
    // need them and they would compete with the decode workers.
    tch::set_num_threads(1);

    let transform = Transform::train(&TransformConfig::coop_clip())?;
    if profile {
        return profile_stages(&data, &transform);
    }
    let options = LoaderOptions {
        num_workers: workers,
        seed: 0,
        ..LoaderOptions::new(Sampler::Random, batch, true)
    };
    let loader = DataLoader::new(data, transform, options)?;
    let per_epoch = loader.len() * batch.min(n);

    let run = |epoch: usize| -> Result<f64, Box<dyn std::error::Error>> {
        let t0 = Instant::now();
        let mut images = 0i64;
        for b in loader.epoch(epoch) {
            let b = b?;
            images += b.images.size()[0];
        }
        assert_eq!(images as usize, per_epoch);
        Ok(t0.elapsed().as_secs_f64())
    };
    for e in 0..warmup {
        let s = run(e)?;
        println!("warm-up epoch {e}: {s:.3} s");
    }
    let mut total = 0.0;
    for e in 0..epochs {
        let s = run(warmup + e)?;
        println!("epoch {e}: {s:.3} s ({:.1} images/s)", per_epoch as f64 / s);
        total += s;
    }
    let ips = (per_epoch * epochs) as f64 / total;
    println!(
        "RESULT rust images_per_sec={ips:.1} images={n} batch={batch} workers={workers} epochs={epochs}"
    );
    Ok(())
}

/// Single-threaded time per stage, to see where a sample's time goes.
fn profile_stages(data: &[Datum], transform: &Transform) -> Result<(), Box<dyn std::error::Error>> {
    use dassl_rs::data::loader::read_image;
    use dassl_rs::data::transforms::{sample_rng, to_tensor_into};
    let (mut read, mut decode, mut aug, mut tensor) = (0.0, 0.0, 0.0, 0.0);
    let (h, w) = transform.output_size();
    let mut out = vec![0.0f32; 3 * h * w];
    for (i, d) in data.iter().enumerate() {
        let t0 = Instant::now();
        let bytes = std::fs::read(&d.impath)?;
        read += t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let img = dassl_rs::data::decode::decode(&bytes)?;
        decode += t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let u8img = transform.apply_u8(&img, &mut sample_rng(0, 0, i as u64))?;
        aug += t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        to_tensor_into(&u8img, transform.normalize(), &mut out)?;
        tensor += t0.elapsed().as_secs_f64();
    }
    let t0 = Instant::now();
    for d in data {
        let _ = read_image(&d.impath)?;
    }
    let whole = t0.elapsed().as_secs_f64();
    let n = data.len() as f64;
    let ms = |s: f64| s * 1000.0 / n;
    println!(
        "per image (ms, one thread): read {:.3}, decode {:.3}, crop+resize+flip {:.3}, to-tensor+normalise {:.3}; read_image {:.3}",
        ms(read),
        ms(decode),
        ms(aug),
        ms(tensor),
        ms(whole)
    );
    Ok(())
}
