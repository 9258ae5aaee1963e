use super::*;
use crate::clip::model::ClipConfig;
use crate::clip::weights::WeightMap;
use crate::data::toy::{make_toy, ToyDatasetSpec, ToySpec};
use sha2::Sha256;
use std::path::Path;

/// Recipe from `TOY_*` environment variables (for the ignored tuning run).
fn env_recipe() -> (Recipe, Budget) {
    let get = |k: &str| std::env::var(k).ok();
    let mut r = Recipe::default();
    if let Some(v) = get("TOY_VISION") {
        r.vision = v;
    }
    let num = |k: &str, d: i64| get(k).map(|v| v.parse().unwrap()).unwrap_or(d);
    r.vision_layers = num("TOY_VLAYERS", r.vision_layers);
    r.vision_width = num("TOY_VWIDTH", r.vision_width);
    r.patch_size = num("TOY_PATCH", r.patch_size);
    r.text_width = num("TOY_TWIDTH", r.text_width);
    r.text_layers = num("TOY_TLAYERS", r.text_layers);
    r.embed_dim = num("TOY_EMBED", r.embed_dim);
    r.image_size = num("TOY_SIZE", r.image_size);
    r.batch_size = num("TOY_BATCH", r.batch_size as i64) as usize;
    r.warmup_steps = num("TOY_WARMUP", r.warmup_steps as i64) as usize;
    if let Some(v) = get("TOY_TRAIN_EMB") {
        r.train_token_embedding = v == "1";
    }
    if let Some(v) = get("TOY_AUGMENT_SHARE") {
        r.augment_share = v.parse().unwrap();
    }
    if let Some(v) = get("TOY_LR") {
        r.lr = v.parse().unwrap();
    }
    let b = Budget {
        steps: num("TOY_STEPS", 300) as usize,
        max_seconds: None,
    };
    (r, b)
}

/// Pretrains with the `TOY_*` recipe and prints zero-shot accuracy on rendered images and
/// on the demo datasets' val split (never test). Run with `--ignored --nocapture`.
#[test]
#[ignore]
fn tune_recipe() {
    let (recipe, budget) = env_recipe();
    let seed = 1;
    tch::set_num_threads(std::env::var("TOY_THREADS").map_or(2, |v| v.parse().unwrap()));
    let combos = training_combos(seed);
    let (vs, clip, report) =
        pretrain(&recipe, &combos, seed, &budget, &mut |l| println!("{l}")).unwrap();
    if let Ok(path) = std::env::var("TOY_SAVE") {
        save_weights(&vs, Path::new(&path)).unwrap();
    }
    println!(
        "RECIPE {recipe:?} steps {} secs {:.1} loss {:.4}->{:.4} scale {:.1}",
        report.steps_done,
        report.seconds,
        report.first_loss,
        report.final_loss,
        report.final_logit_scale
    );
    let dir = tempfile::tempdir().unwrap();
    write_datasets(dir.path(), seed, recipe.image_size as u32, &DEMO_DATASETS).unwrap();
    print_zero_shot(&clip, seed, dir.path());
}

/// Zero-shot accuracy of a saved toy CLIP (`TOY_WEIGHTS`) on rendered images of each
/// domain and on the val split of its demo datasets (`TOY_DATA`). Run with
/// `--ignored --nocapture`.
#[test]
#[ignore]
fn evaluate_saved() {
    tch::set_num_threads(2);
    let weights = std::env::var("TOY_WEIGHTS").unwrap();
    let data = std::env::var("TOY_DATA").unwrap();
    let (_vs, clip) = Clip::load(Path::new(&weights), Device::Cpu, Precision::Fp32).unwrap();
    print_zero_shot(&clip, 1, Path::new(&data));
}

/// Which attributes the CLIP reads: over all 120 combinations as classes, drawn as
/// photos, the share of predictions with the right colour, texture and shape.
fn print_attributes(clip: &Clip) {
    let classes = captions::all_combos();
    let (labels, preds) = eval::rendered_predictions(
        clip,
        &classes,
        Domain::Photo,
        captions::ZERO_SHOT_TEMPLATE,
        6,
        7,
    )
    .unwrap();
    let share = |f: &dyn Fn(&Combo, &Combo) -> bool| {
        let hits = labels.iter().zip(&preds);
        let ok = hits.filter(|(&l, &p)| f(&classes[l], &classes[p as usize]));
        100.0 * ok.count() as f64 / labels.len() as f64
    };
    println!(
        "ATTRIBUTES (120 classes, photo): all {:.1} colour {:.1} texture {:.1} shape {:.1}",
        share(&|a, b| a == b),
        share(&|a, b| a.colour == b.colour),
        share(&|a, b| a.texture == b.texture),
        share(&|a, b| a.shape == b.shape)
    );
}

fn print_zero_shot(clip: &Clip, seed: u64, data: &Path) {
    print_attributes(clip);
    let held = held_out_combos(seed);
    let classes: Vec<Combo> = (0..20).map(Combo::demo_class).collect();
    for domain in [Domain::Photo, Domain::Infrared, Domain::Ultraviolet] {
        let r = zero_shot_rendered(clip, &classes, domain, 30, 99, &held).unwrap();
        println!(
            "RENDERED {domain:?} 20 classes: acc {:.1} seen {:?} held {:?} chance {:.1}",
            r.accuracy, r.seen_accuracy, r.held_out_accuracy, r.chance
        );
        let noun = domain.nouns()[0];
        let article = if noun.starts_with('i') || noun.starts_with('u') {
            "an"
        } else {
            "a"
        };
        let template = format!("{article} {noun} of a {{}}.");
        let r =
            eval::rendered_with_template(clip, &classes, domain, &template, 30, 99, &held).unwrap();
        println!("  with {template:?}: acc {:.1}", r.accuracy);
    }
    for d in DEMO_DATASETS {
        let r =
            zero_shot_split(clip, &data.join(d.dataset_dir), d.split_name, "val", &held).unwrap();
        println!(
            "VAL {}: acc {:.1} seen {:?} held {:?} ({} held classes) chance {:.1}",
            d.dataset_name,
            r.accuracy,
            r.seen_accuracy,
            r.held_out_accuracy,
            r.held_out_classes,
            r.chance
        );
    }
}

#[test]
fn captions_and_held_out_sets_are_deterministic() {
    assert_eq!(captions::all_combos().len(), 120);
    let a = held_out_classes(1);
    assert_eq!(a, held_out_classes(1));
    assert_ne!(a, held_out_classes(2));
    assert_eq!(a.len(), 6);
    // Every block of ten demo classes (so every demo dataset) has held-out classes.
    for block in 0..2 {
        assert_eq!(a.iter().filter(|&&i| i / 10 == block).count(), 3);
    }
    // The demo classes are the 24 colour x texture pairs, each once.
    let pairs: std::collections::HashSet<(usize, usize)> = (0..captions::DEMO_CLASSES)
        .map(|i| (Combo::demo_class(i).colour, Combo::demo_class(i).texture))
        .collect();
    assert_eq!(pairs.len(), 24);
    let train = training_combos(1);
    assert_eq!(train.len(), 114);
    let held = held_out_combos(1);
    assert!(held.iter().all(|c| !train.contains(c)));
    // Held-out combinations are classes of the demo datasets (the largest has 20).
    for (i, c) in a.iter().zip(&held) {
        assert!(*i < 20);
        assert_eq!(*c, Combo::demo_class(*i));
    }
    // Every attribute word is still seen in pretraining.
    let (cs, ts, ss) = crate::data::toy::toy_attributes();
    assert!((0..cs.len()).all(|v| train.iter().any(|c| c.colour == v)));
    assert!((0..ts.len()).all(|v| train.iter().any(|c| c.texture == v)));
    assert!((0..ss.len()).all(|v| train.iter().any(|c| c.shape == v)));
    let c = Combo {
        colour: 0,
        texture: 1,
        shape: 0,
    };
    assert_eq!(c.phrase(), "red striped circle");
}

#[test]
fn short_pretraining_lowers_the_loss_and_is_deterministic() {
    let recipe = Recipe {
        batch_size: 32,
        warmup_steps: 5,
        lr: 5e-3,
        ..Recipe::default()
    };
    let budget = Budget {
        steps: 60,
        max_seconds: None,
    };
    let combos = training_combos(3);
    let run = || {
        pretrain(&recipe, &combos, 3, &budget, &mut |_| {})
            .unwrap()
            .2
    };
    let a = run();
    assert!(a.final_loss < a.first_loss - 0.1, "{a:?}");
    assert!(a.final_loss.is_finite() && a.final_logit_scale <= 100.0 + 1e-6);
    // Same seed, same run (up to BLAS rounding when libtorch changes thread counts).
    let b = run();
    assert!((a.final_loss - b.final_loss).abs() < 1e-3, "{a:?} {b:?}");
}

#[test]
fn zero_pretraining_steps_are_refused_and_nothing_is_cached() {
    let cache = tempfile::tempdir().unwrap();
    let budget = Budget {
        steps: 0,
        max_seconds: None,
    };
    let err = ensure_toy_world_with(cache.path(), 5, &Recipe::default(), &budget).unwrap_err();
    assert!(err.to_string().contains("at least one step"), "{err}");
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn saved_weights_load_and_the_cache_is_reused() {
    let cache = tempfile::tempdir().unwrap();
    let recipe = Recipe {
        batch_size: 8,
        warmup_steps: 1,
        ..Recipe::default()
    };
    let budget = Budget {
        steps: 3,
        max_seconds: None,
    };
    let w = ensure_toy_world_with(cache.path(), 5, &recipe, &budget).unwrap();
    assert!(w.trained);
    assert!(w.weights.starts_with(cache.path()));
    // The file is a CLIP checkpoint like a released one.
    let map = WeightMap::load(&w.weights, Device::Cpu).unwrap();
    let config = ClipConfig::from_weights(&map).unwrap();
    assert_eq!(config, recipe.clip_config().unwrap());
    let (_vs, clip) = w.load_clip().unwrap();
    assert_eq!(clip.input_resolution(), 32);
    assert_eq!(w.info.held_out_classes, held_out_classes(5));
    assert_eq!(w.info.training_combinations, 114);
    // The demo datasets are there, at the model's resolution.
    for d in &w.datasets {
        let dir = w.data_root.join(d.dataset_dir);
        assert!(dir
            .join(format!("split_zhou_{}.json", d.split_name))
            .is_file());
        let r = zero_shot_split(&clip, &dir, d.split_name, "val", &w.held_out).unwrap();
        assert_eq!(r.num_classes, d.num_classes);
        let held = w.info.held_out_classes.iter();
        assert_eq!(
            r.held_out_classes,
            held.filter(|&&i| i < d.num_classes).count()
        );
    }
    let mtime = std::fs::metadata(&w.weights).unwrap().modified().unwrap();
    // Second call: reused, not retrained.
    let again = ensure_toy_world_with(cache.path(), 5, &recipe, &budget).unwrap();
    assert!(!again.trained);
    assert_eq!(again.weights, w.weights);
    assert_eq!(again.info, w.info);
    assert_eq!(
        std::fs::metadata(&w.weights).unwrap().modified().unwrap(),
        mtime
    );
    // Another recipe is another cache entry.
    let other = Budget { steps: 4, ..budget };
    assert_ne!(
        cache_key(&recipe, 5, &budget),
        cache_key(&recipe, 5, &other)
    );
    assert_ne!(
        cache_key(&recipe, 5, &budget),
        cache_key(&recipe, 6, &budget)
    );
    assert_eq!(
        cache_key(&recipe, 5, &budget),
        cache_key(
            &recipe,
            5,
            &Budget {
                max_seconds: Some(1.0),
                ..budget
            }
        )
    );
}

#[test]
fn toy_images_are_unchanged_by_draw_combination() {
    // Hash of make_toy's images taken before `draw_combination` was factored out.
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let spec = ToySpec {
        datasets: vec![ToyDatasetSpec {
            num_classes: 20,
            images_per_class: 6,
            image_size: 32,
            ..Default::default()
        }],
    };
    make_toy(dir.path(), 3, &spec).unwrap();
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir.path().join("toy_shapes/images")).unwrap() {
        for f in std::fs::read_dir(e.unwrap().path()).unwrap() {
            files.push(f.unwrap().path());
        }
    }
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(std::fs::read(f).unwrap());
    }
    assert_eq!(
        format!("{:x}", h.finalize()),
        "21649a655361b46fcdbe2901780ca868a556478739db3c05b4d702abc3283122"
    );
}

/// Times the parts of one pretraining step. Run with `--ignored --nocapture`.
#[test]
#[ignore]
fn profile_step() {
    use std::time::Instant;
    use tch::nn::OptimizerConfig;
    tch::set_num_threads(2);
    let (recipe, _) = env_recipe();
    let config = recipe.clip_config().unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let clip = Clip::new(&vs.root(), &config, Precision::Fp32).unwrap();
    pretrain::init_parameters(&vs, &config, 1);
    if !recipe.train_token_embedding {
        let _ = vs
            .variables()
            .remove("token_embedding.weight")
            .unwrap()
            .requires_grad_(false);
    }
    let mut opt = nn::Adam::default().build(&vs, 1e-3).unwrap();
    let combos = training_combos(1);
    let mut rng = crate::data::pyrandom::PyRandom::from_key_words(&[1]);
    let items: Vec<pretrain::RenderItem> = combos[..recipe.batch_size]
        .iter()
        .enumerate()
        .map(|(j, c)| {
            (
                *c,
                Look::random(Domain::Infrared, &mut rng),
                vec![1, j as u32],
            )
        })
        .collect();
    let augment = pretrain::train_transform(recipe.image_size as u32).unwrap();
    let t = Instant::now();
    for _ in 0..10 {
        let _ = pretrain::render_batch(&items, recipe.image_size as u32, Some(&augment)).unwrap();
    }
    println!("PROF render {:.1} ms", t.elapsed().as_secs_f64() * 100.0);
    let images = pretrain::render_batch(&items, recipe.image_size as u32, Some(&augment)).unwrap();
    let caps: Vec<String> = items
        .iter()
        .map(|(c, look, _)| look.caption(&c.phrase(), &mut rng))
        .collect();
    let tokens = pretrain::tokenize(&crate::clip::tokenizer::ClipTokenizer::new(), &caps)
        .unwrap()
        .narrow(1, 0, 24);
    let _ = tch::no_grad(|| clip.encode_image(&images));
    let _ = tch::no_grad(|| clip.encode_text(&tokens));
    let t = Instant::now();
    for _ in 0..10 {
        let _ = tch::no_grad(|| clip.encode_image(&images));
    }
    println!("PROF image fwd {:.1} ms", t.elapsed().as_secs_f64() * 100.0);
    let t = Instant::now();
    for _ in 0..10 {
        let _ = tch::no_grad(|| clip.encode_text(&tokens));
    }
    println!("PROF text fwd {:.1} ms", t.elapsed().as_secs_f64() * 100.0);
    let t = Instant::now();
    for _ in 0..10 {
        let loss = pretrain::contrastive_loss(&clip, &images, &tokens);
        opt.zero_grad();
        loss.backward();
    }
    println!("PROF fwd+bwd {:.1} ms", t.elapsed().as_secs_f64() * 100.0);
    let t = Instant::now();
    for _ in 0..10 {
        opt.step();
    }
    println!("PROF adam {:.1} ms", t.elapsed().as_secs_f64() * 100.0);
}
