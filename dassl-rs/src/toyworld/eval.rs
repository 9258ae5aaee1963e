//! Zero-shot accuracy of a CLIP on the toy world, split into held-out and seen classes.
//!
//! Tune recipes on the val split or on freshly drawn images
//! ([`zero_shot_rendered`]); the toy datasets' test split is for the demo's reports.

use std::path::Path;

use serde::Serialize;
use tch::{Kind, Tensor};

use super::captions::{Combo, ZERO_SHOT_TEMPLATE};
use super::pretrain::{render_batch, tokenize, RenderItem, CLIP_PIXEL_MEAN, CLIP_PIXEL_STD};
use super::style::{Domain, Look};
use super::ToyWorldError;
use crate::clip::model::Clip;
use crate::clip::tokenizer::ClipTokenizer;
use crate::data::decode::read_image;
use crate::data::pyrandom::PyRandom;
use crate::data::split::read_split;
use crate::data::transforms::{sample_rng, Transform, TransformConfig};

/// Zero-shot accuracy on one set of images.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZeroShotReport {
    /// Dataset folder (or "rendered").
    pub dataset: String,
    /// "train", "val", "test" or "rendered".
    pub split: String,
    pub num_classes: usize,
    pub images: usize,
    /// Percent correct over all images.
    pub accuracy: f64,
    /// Percent correct on images of classes seen in pretraining (None: no such class).
    pub seen_accuracy: Option<f64>,
    /// Percent correct on images of held-out classes (None: no such class).
    pub held_out_accuracy: Option<f64>,
    pub held_out_classes: usize,
    /// 100 / num_classes.
    pub chance: f64,
}

/// Normalised text features `[C, embed]` of "a photo of a {class}." for each class.
pub fn class_text_features(clip: &Clip, classnames: &[String]) -> Result<Tensor, ToyWorldError> {
    template_text_features(clip, classnames, ZERO_SHOT_TEMPLATE)
}

/// Normalised text features `[C, embed]` of `template` filled with each class name.
pub fn template_text_features(
    clip: &Clip,
    classnames: &[String],
    template: &str,
) -> Result<Tensor, ToyWorldError> {
    let prompts: Vec<String> = classnames
        .iter()
        .map(|c| template.replace("{}", &c.replace('_', " ")))
        .collect();
    let tokens = tokenize(&ClipTokenizer::new(), &prompts)?;
    Ok(tch::no_grad(|| normalized(&clip.encode_text(&tokens))))
}

fn normalized(x: &Tensor) -> Tensor {
    x / x.linalg_norm(2.0, [-1i64].as_slice(), true, None::<Kind>)
}

/// Predicted class per image of a normalised `[N, 3, H, W]` batch.
fn predict(clip: &Clip, text: &Tensor, images: &Tensor) -> Vec<i64> {
    tch::no_grad(|| {
        let mut out = Vec::new();
        for chunk in images.split(256, 0) {
            let feats = normalized(&clip.encode_image(&chunk));
            let pred = feats.matmul(&text.tr()).argmax(-1, false);
            out.extend(Vec::<i64>::try_from(pred).unwrap_or_default());
        }
        out
    })
}

/// Accuracy summary from labels, predictions and which classes are held out.
fn summarise(
    dataset: &str,
    split: &str,
    num_classes: usize,
    labels: &[usize],
    preds: &[i64],
    held: &[bool],
) -> ZeroShotReport {
    let pct = |sel: &dyn Fn(usize) -> bool| -> Option<f64> {
        let idx: Vec<usize> = (0..labels.len()).filter(|&i| sel(labels[i])).collect();
        (!idx.is_empty()).then(|| {
            let ok = idx
                .iter()
                .filter(|&&i| preds[i] == labels[i] as i64)
                .count();
            100.0 * ok as f64 / idx.len() as f64
        })
    };
    ZeroShotReport {
        dataset: dataset.to_string(),
        split: split.to_string(),
        num_classes,
        images: labels.len(),
        accuracy: pct(&|_| true).unwrap_or(0.0),
        seen_accuracy: pct(&|l| !held[l]),
        held_out_accuracy: pct(&|l| held[l]),
        held_out_classes: held.iter().filter(|h| **h).count(),
        chance: 100.0 / num_classes.max(1) as f64,
    }
}

/// Zero-shot accuracy on a split (`"train"`, `"val"` or `"test"`) of a toy dataset
/// folder written by `make_toy`, through CoOp's test transform (resize, centre crop,
/// CLIP normalisation) at the model's resolution.
pub fn zero_shot_split(
    clip: &Clip,
    dataset_dir: &Path,
    split_name: &str,
    split: &str,
    held_out: &[Combo],
) -> Result<ZeroShotReport, ToyWorldError> {
    let split_path = dataset_dir.join(format!("split_zhou_{split_name}.json"));
    let all = read_split(&split_path, &dataset_dir.join("images"))?;
    let items = match split {
        "train" => all.train,
        "val" => all.val,
        "test" => all.test,
        other => return Err(ToyWorldError::Recipe(format!("unknown split {other:?}"))),
    };
    let num_classes = items.iter().map(|d| d.label + 1).max().unwrap_or(0);
    let mut classnames = vec![String::new(); num_classes];
    for d in &items {
        classnames[d.label] = d.classname.clone();
    }
    let res = clip.input_resolution() as usize;
    let transform = Transform::test(&TransformConfig {
        size: (res, res),
        interpolation: "bicubic".into(),
        transforms: vec!["normalize".into()],
        pixel_mean: CLIP_PIXEL_MEAN,
        pixel_std: CLIP_PIXEL_STD,
        rrcrop_scale: (0.08, 1.0),
    })
    .map_err(|e| ToyWorldError::Image(e.to_string()))?;
    let mut flat = Vec::with_capacity(items.len() * 3 * res * res);
    for (i, d) in items.iter().enumerate() {
        let img = read_image(&d.impath).map_err(|e| ToyWorldError::Image(e.to_string()))?;
        let t = transform
            .apply(&img, &mut sample_rng(0, 0, i as u64))
            .map_err(|e| ToyWorldError::Image(e.to_string()))?;
        flat.extend_from_slice(&t.data);
    }
    let images = Tensor::from_slice(&flat).view([items.len() as i64, 3, res as i64, res as i64]);
    let text = class_text_features(clip, &classnames)?;
    let preds = predict(clip, &text, &images);
    let labels: Vec<usize> = items.iter().map(|d| d.label).collect();
    let held: Vec<bool> = classnames
        .iter()
        .map(|name| held_out.iter().any(|c| c.phrase() == *name))
        .collect();
    let dataset = dataset_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(summarise(
        &dataset,
        split,
        num_classes,
        &labels,
        &preds,
        &held,
    ))
}

/// Zero-shot accuracy on `per_class` freshly drawn images of each of `classes` in
/// `domain` (random nuisances), from a random stream (`seed`) that pretraining never
/// uses: tuning without touching any split.
pub fn zero_shot_rendered(
    clip: &Clip,
    classes: &[Combo],
    domain: Domain,
    per_class: usize,
    seed: u64,
    held_out: &[Combo],
) -> Result<ZeroShotReport, ToyWorldError> {
    rendered_with_template(
        clip,
        classes,
        domain,
        ZERO_SHOT_TEMPLATE,
        per_class,
        seed,
        held_out,
    )
}

/// [`zero_shot_rendered`] with another prompt template (e.g. one naming the domain: the
/// accuracy a prompt learner could reach by finding the domain word).
pub fn rendered_with_template(
    clip: &Clip,
    classes: &[Combo],
    domain: Domain,
    template: &str,
    per_class: usize,
    seed: u64,
    held_out: &[Combo],
) -> Result<ZeroShotReport, ToyWorldError> {
    let (labels, preds) = rendered_predictions(clip, classes, domain, template, per_class, seed)?;
    let held: Vec<bool> = classes.iter().map(|c| held_out.contains(c)).collect();
    Ok(summarise(
        "rendered",
        "rendered",
        classes.len(),
        &labels,
        &preds,
        &held,
    ))
}

/// (label, predicted class) of `per_class` freshly drawn images of each of `classes` in
/// `domain`, classified with `template`: what [`rendered_with_template`] scores.
pub fn rendered_predictions(
    clip: &Clip,
    classes: &[Combo],
    domain: Domain,
    template: &str,
    per_class: usize,
    seed: u64,
) -> Result<(Vec<usize>, Vec<i64>), ToyWorldError> {
    let size = clip.input_resolution() as u32;
    let mut looks = PyRandom::from_key_words(&[seed as u32, (seed >> 32) as u32, 0x4c4f_4f4b]);
    let mut items: Vec<RenderItem> = Vec::new();
    let mut labels = Vec::new();
    for (label, combo) in classes.iter().enumerate() {
        for i in 0..per_class {
            let key = vec![
                seed as u32,
                (seed >> 32) as u32,
                0x4556_414c,
                label as u32,
                i as u32,
            ];
            items.push((*combo, Look::random(domain, &mut looks), key));
            labels.push(label);
        }
    }
    let images = render_batch(&items, size, None)?;
    let names: Vec<String> = classes.iter().map(Combo::phrase).collect();
    let text = template_text_features(clip, &names, template)?;
    Ok((labels, predict(clip, &text, &images)))
}
