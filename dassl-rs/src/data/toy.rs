//! A toy data generator in CoOp's layout, for runs without the real datasets.
//!
//! Each class is a word triple such as "red striped circle"; its images draw
//! that shape in that colour with that texture at a random place and size on
//! a random noisy background, so a classifier (and CLIP's text side) has
//! something real to learn. Everything is drawn from CPython-compatible
//! streams keyed by the seed, so one seed always gives the same bytes.
//!
//! Layout per toy dataset (`root/<dataset_dir>/`): `images/<colour>_<texture>_<shape>/NNNN.jpg`,
//! `split_zhou_<split_name>.json` (CoOp's 50/20/30 folder split), `toy.json`
//! (what was generated) and `custom.yaml` (a spec for the `Custom` dataset).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, RgbImage};
use serde::Serialize;

use super::pyrandom::PyRandom;
use super::split::{python_json, read_and_split_data, save_split};
use crate::errors::DataError;
use crate::fsutil::write_atomic;

/// Marker file: only folders holding it are ever rewritten by the generator.
pub const TOY_MARKER: &str = "toy.json";
/// The folder the `ToyShapes` dataset reads under DATASET.ROOT.
pub const TOY_DATASET_DIR: &str = "toy_shapes";
/// The split name (`split_zhou_ToyShapes.json`) of the default toy dataset.
pub const TOY_SPLIT_NAME: &str = "ToyShapes";
/// JPEG quality of the toy images: high enough that textures survive.
const JPEG_QUALITY: u8 = 90;

const COLOURS: [(&str, [u8; 3]); 6] = [
    ("red", [220, 40, 40]),
    ("green", [40, 170, 60]),
    ("blue", [40, 80, 220]),
    ("yellow", [235, 205, 40]),
    ("purple", [150, 60, 200]),
    ("orange", [245, 135, 30]),
];
const TEXTURES: [&str; 4] = ["plain", "striped", "dotted", "checkered"];
const SHAPES: [&str; 5] = ["circle", "square", "triangle", "diamond", "cross"];
/// Classes `i` use colour `i % 6`, texture `i % 4`, shape `i % 5`: all
/// distinct up to lcm(6, 4, 5) = 60, and neighbours differ in every attribute.
pub const MAX_TOY_CLASSES: usize = 60;

/// One toy dataset to generate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToyDatasetSpec {
    /// Folder under the root (`toy_shapes` is what `ToyShapes` reads).
    pub dataset_dir: String,
    /// `split_zhou_<split_name>.json`.
    pub split_name: String,
    pub num_classes: usize,
    pub images_per_class: usize,
    /// Square image side in pixels.
    pub image_size: u32,
}

impl Default for ToyDatasetSpec {
    fn default() -> Self {
        Self {
            dataset_dir: TOY_DATASET_DIR.into(),
            split_name: TOY_SPLIT_NAME.into(),
            num_classes: 10,
            images_per_class: 30,
            image_size: 64,
        }
    }
}

/// What [`make_toy`] generates: one or more toy datasets.
#[derive(Debug, Clone, PartialEq)]
pub struct ToySpec {
    pub datasets: Vec<ToyDatasetSpec>,
}

impl Default for ToySpec {
    /// One `toy_shapes` dataset: 10 classes x 30 images of 64x64.
    fn default() -> Self {
        Self {
            datasets: vec![ToyDatasetSpec::default()],
        }
    }
}

/// What was written for one toy dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct ToyDatasetReport {
    pub dataset_dir: PathBuf,
    pub split_path: PathBuf,
    pub custom_spec: PathBuf,
    pub classnames: Vec<String>,
    pub num_images: usize,
    pub train: usize,
    pub val: usize,
    pub test: usize,
}

/// What [`make_toy`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ToyReport {
    pub datasets: Vec<ToyDatasetReport>,
}

#[derive(Serialize)]
struct Marker<'a> {
    generator: &'static str,
    seed: u64,
    spec: &'a ToyDatasetSpec,
    classnames: &'a [String],
}

/// Class names of a toy dataset with `n` classes, in generation order.
pub fn toy_classnames(n: usize) -> Vec<String> {
    (0..n.min(MAX_TOY_CLASSES))
        .map(|i| {
            format!(
                "{} {} {}",
                COLOURS[i % COLOURS.len()].0,
                TEXTURES[i % TEXTURES.len()],
                SHAPES[i % SHAPES.len()]
            )
        })
        .collect()
}

fn bad_spec(path: &Path, reason: String) -> DataError {
    DataError::BadSpec {
        path: path.to_path_buf(),
        reason,
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Generates every toy dataset of `spec` under `root`, deterministically for
/// `seed`. A folder that exists without the toy marker is never touched.
pub fn make_toy(root: &Path, seed: u64, spec: &ToySpec) -> Result<ToyReport, DataError> {
    let mut reports = Vec::new();
    for (index, ds) in spec.datasets.iter().enumerate() {
        reports.push(make_one(root, seed, index as u32, ds)?);
    }
    Ok(ToyReport { datasets: reports })
}

fn make_one(
    root: &Path,
    seed: u64,
    index: u32,
    spec: &ToyDatasetSpec,
) -> Result<ToyDatasetReport, DataError> {
    let dataset_dir = root.join(&spec.dataset_dir);
    if spec.num_classes == 0 || spec.num_classes > MAX_TOY_CLASSES {
        return Err(bad_spec(
            &dataset_dir,
            format!(
                "num_classes must be 1..={MAX_TOY_CLASSES}, got {}",
                spec.num_classes
            ),
        ));
    }
    if spec.images_per_class < 4 {
        return Err(bad_spec(
            &dataset_dir,
            format!(
                "images_per_class must be at least 4 for CoOp's 50/20/30 split, got {}",
                spec.images_per_class
            ),
        ));
    }
    if !(16..=512).contains(&spec.image_size) {
        return Err(bad_spec(
            &dataset_dir,
            format!(
                "image_size must be 16..=512 pixels, got {}",
                spec.image_size
            ),
        ));
    }
    prepare_dir(&dataset_dir, &spec.split_name)?;
    let image_dir = dataset_dir.join("images");
    let classnames = toy_classnames(spec.num_classes);
    let mut folder_names = HashMap::new();
    for (c, name) in classnames.iter().enumerate() {
        let folder = name.replace(' ', "_");
        let class_dir = image_dir.join(&folder);
        for i in 0..spec.images_per_class {
            let mut rng = PyRandom::from_key_words(&[
                seed as u32,
                (seed >> 32) as u32,
                index,
                c as u32,
                i as u32,
            ]);
            let img = draw(c, spec.image_size, &mut rng);
            let path = class_dir.join(format!("{i:04}.jpg"));
            write_atomic(&path, &encode_jpeg(&img)?).map_err(io(&path))?;
        }
        folder_names.insert(folder, name.clone());
    }
    // CoOp's fallback folder split, on a stream of its own for this dataset.
    let mut rng = PyRandom::from_key_words(&[seed as u32, (seed >> 32) as u32, index, u32::MAX]);
    let split = read_and_split_data(&image_dir, 0.5, 0.2, &[], &folder_names, &mut rng)?;
    let split_path = dataset_dir.join(format!("split_zhou_{}.json", spec.split_name));
    save_split(&split, &split_path, &image_dir)?;
    let custom_spec = dataset_dir.join("custom.yaml");
    let yaml = format!(
        "# Toy data made by dassl-rs (seed {seed}); load it with\n\
         #   DATASET.NAME Custom DATASET.CUSTOM_SPEC {}\n\
         name: {}\ndataset_dir: {}\nimage_dir: images\nsource: split\nsplit_file: {}\n",
        custom_spec.display(),
        spec.split_name,
        dataset_dir.display(),
        split_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    write_atomic(&custom_spec, yaml.as_bytes()).map_err(io(&custom_spec))?;
    let marker = python_json(&Marker {
        generator: "dassl-rs toy",
        seed,
        spec,
        classnames: &classnames,
    });
    let marker_path = dataset_dir.join(TOY_MARKER);
    write_atomic(&marker_path, marker.as_bytes()).map_err(io(&marker_path))?;
    Ok(ToyDatasetReport {
        dataset_dir,
        split_path,
        custom_spec,
        classnames,
        num_images: spec.num_classes * spec.images_per_class,
        train: split.train.len(),
        val: split.val.len(),
        test: split.test.len(),
    })
}

/// Empties an earlier toy dataset (so stale images do not linger) and refuses
/// to write into a non-empty folder that the generator did not make.
fn prepare_dir(dataset_dir: &Path, split_name: &str) -> Result<(), DataError> {
    if !dataset_dir.exists() {
        return Ok(());
    }
    let non_empty = std::fs::read_dir(dataset_dir)
        .map_err(io(dataset_dir))?
        .next()
        .is_some();
    if !dataset_dir.join(TOY_MARKER).is_file() {
        if non_empty {
            return Err(DataError::NotToyData {
                path: dataset_dir.to_path_buf(),
                marker: TOY_MARKER,
            });
        }
        return Ok(());
    }
    for sub in ["images", super::split::FEWSHOT_DIR] {
        let p = dataset_dir.join(sub);
        if p.exists() {
            std::fs::remove_dir_all(&p).map_err(io(&p))?;
        }
    }
    let old_split = dataset_dir.join(format!("split_zhou_{split_name}.json"));
    if old_split.exists() {
        std::fs::remove_file(&old_split).map_err(io(&old_split))?;
    }
    Ok(())
}

/// JPEG bytes of an RGB image.
pub fn encode_jpeg(img: &RgbImage) -> Result<Vec<u8>, DataError> {
    let mut buf = Vec::new();
    JpegEncoder::new_with_quality(&mut buf, JPEG_QUALITY)
        .encode(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgb8,
        )
        .map_err(|e| DataError::BadImage {
            path: PathBuf::from("<toy image>"),
            reason: e.to_string(),
        })?;
    Ok(buf)
}

/// A small uniform JPEG (fake dataset layouts in tests and docs examples).
pub fn solid_jpeg(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let img = RgbImage::from_pixel(width.max(1), height.max(1), image::Rgb(rgb));
    encode_jpeg(&img).expect("encoding a small in-memory image cannot fail")
}

fn uniform(rng: &mut PyRandom, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random()
}

/// Draws class `class`'s shape/colour/texture at a random pose on a random background.
fn draw(class: usize, size: u32, rng: &mut PyRandom) -> RgbImage {
    draw_combination(
        class % COLOURS.len(),
        class % TEXTURES.len(),
        class % SHAPES.len(),
        size,
        rng,
    )
}

/// The attribute words (colours, textures, shapes) in index order, so other code
/// (the toy CLIP's captions) can name every combination, not only the 60 classes.
pub fn toy_attributes() -> ([&'static str; 6], [&'static str; 4], [&'static str; 5]) {
    (COLOURS.map(|(name, _)| name), TEXTURES, SHAPES)
}

/// Draws any colour/texture/shape combination (indices into [`toy_attributes`], taken
/// modulo the list lengths) exactly as the toy datasets draw their classes.
pub fn draw_combination(
    colour: usize,
    texture: usize,
    shape: usize,
    size: u32,
    rng: &mut PyRandom,
) -> RgbImage {
    let s = f64::from(size);
    let colour = COLOURS[colour % COLOURS.len()].1;
    let texture = texture % TEXTURES.len();
    let shape = shape % SHAPES.len();
    // Greyish background with a tint, so the class colour stands out.
    let grey = uniform(rng, 40.0, 215.0);
    let bg: Vec<f64> = (0..3)
        .map(|_| (grey + uniform(rng, -25.0, 25.0)).clamp(0.0, 255.0))
        .collect();
    let r = uniform(rng, 0.22, 0.36) * s;
    let cx = uniform(rng, r, s - r);
    let cy = uniform(rng, r, s - r);
    let period = (s / uniform(rng, 7.0, 10.0)).max(4.0);
    let phase = uniform(rng, 0.0, period);
    let jitter: Vec<f64> = (0..3).map(|_| uniform(rng, -15.0, 15.0)).collect();
    let mut img = RgbImage::new(size, size);
    for y in 0..size {
        for x in 0..size {
            let (px, py) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
            let (dx, dy) = (px - cx, py - cy);
            let inside = match shape {
                0 => dx * dx + dy * dy <= r * r,
                1 => dx.abs() <= 0.8 * r && dy.abs() <= 0.8 * r,
                // Upward triangle: apex at the top, base at the bottom.
                2 => dy >= -r && dy <= 0.8 * r && dx.abs() <= 0.6 * (dy + r),
                3 => dx.abs() + dy.abs() <= r,
                _ => {
                    (dx.abs() <= 0.3 * r && dy.abs() <= r) || (dy.abs() <= 0.3 * r && dx.abs() <= r)
                }
            };
            let (u, v) = (px + phase, py + phase);
            let on = match texture {
                0 => true,
                1 => ((u + v) / period).floor() as i64 % 2 == 0,
                2 => {
                    let (fx, fy) = (
                        u.rem_euclid(period) - period / 2.0,
                        v.rem_euclid(period) - period / 2.0,
                    );
                    fx * fx + fy * fy > (period * 0.3).powi(2)
                }
                _ => ((u / period).floor() as i64 + (v / period).floor() as i64) % 2 == 0,
            };
            let noise = uniform(rng, -12.0, 12.0);
            let mut out = [0u8; 3];
            for ch in 0..3 {
                let base = if inside {
                    let c = f64::from(colour[ch]) + jitter[ch];
                    if on {
                        c
                    } else {
                        c * 0.4
                    }
                } else {
                    bg[ch]
                };
                out[ch] = (base + noise).round().clamp(0.0, 255.0) as u8;
            }
            img.put_pixel(x, y, image::Rgb(out));
        }
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push((
                        p.strip_prefix(dir).unwrap().to_string_lossy().into_owned(),
                        std::fs::read(&p).unwrap(),
                    ));
                }
            }
        }
        out.sort();
        out
    }

    fn small() -> ToySpec {
        ToySpec {
            datasets: vec![ToyDatasetSpec {
                num_classes: 3,
                images_per_class: 5,
                image_size: 32,
                ..Default::default()
            }],
        }
    }

    #[test]
    fn same_seed_same_bytes_other_seed_differs() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let ra = make_toy(a.path(), 7, &small()).unwrap();
        make_toy(b.path(), 7, &small()).unwrap();
        make_toy(c.path(), 8, &small()).unwrap();
        let norm = |fs: Vec<(String, Vec<u8>)>| {
            fs.into_iter()
                .filter(|(n, _)| !n.ends_with("custom.yaml"))
                .collect::<Vec<_>>()
        };
        let (fa, fb, fc) = (
            norm(files(a.path())),
            norm(files(b.path())),
            norm(files(c.path())),
        );
        assert_eq!(fa, fb);
        assert_ne!(fa, fc);
        let r = &ra.datasets[0];
        assert_eq!(r.num_images, 15);
        assert_eq!((r.train, r.val, r.test), (6, 3, 6));
        assert_eq!(
            r.classnames,
            [
                "red plain circle",
                "green striped square",
                "blue dotted triangle"
            ]
        );
        // Rerunning over a toy folder replaces it.
        make_toy(a.path(), 7, &small()).unwrap();
        assert_eq!(norm(files(a.path())), fb);
    }

    #[test]
    fn images_decode_and_depend_on_the_class() {
        let dir = tempfile::tempdir().unwrap();
        make_toy(dir.path(), 1, &small()).unwrap();
        let img_dir = dir.path().join("toy_shapes/images");
        let mean = |p: PathBuf| {
            let img = image::open(p).unwrap().to_rgb8();
            assert_eq!(img.dimensions(), (32, 32));
            let n = f64::from(img.width() * img.height());
            let mut m = [0.0; 3];
            for px in img.pixels() {
                for c in 0..3 {
                    m[c] += f64::from(px[c]) / n;
                }
            }
            m
        };
        // The red class is redder than the blue class on average.
        let red = mean(img_dir.join("red_plain_circle/0000.jpg"));
        let blue = mean(img_dir.join("blue_dotted_triangle/0000.jpg"));
        assert!(red[0] - red[2] > blue[0] - blue[2], "{red:?} {blue:?}");
    }

    #[test]
    fn refuses_foreign_folders_and_bad_specs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("toy_shapes")).unwrap();
        std::fs::write(dir.path().join("toy_shapes/mine.txt"), "keep").unwrap();
        let e = make_toy(dir.path(), 1, &small()).unwrap_err();
        assert!(matches!(e, DataError::NotToyData { .. }), "{e}");
        let mut spec = small();
        spec.datasets[0].dataset_dir = "other".into();
        spec.datasets[0].num_classes = 61;
        assert!(matches!(
            make_toy(dir.path(), 1, &spec),
            Err(DataError::BadSpec { .. })
        ));
        assert_eq!(
            toy_classnames(60)
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len(),
            60
        );
    }
}
