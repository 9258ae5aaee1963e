//! How a toy image looks beyond its class: the domain it was taken in and nuisances.
//!
//! These carry the mechanisms behind CoOp's findings into the toy world:
//! - a **domain** ("infrared photo", "ultraviolet photo") swaps two colour channels, so
//!   some colours look like others (an infrared red looks green) and some stay. Pretraining captions name the domain, so the
//!   text encoder knows "infrared ... red" means a blue-looking image; the demo datasets
//!   are each in one such domain, and the zero-shot prompt "a photo of a {}." misses it.
//!   Learned context can recover the domain word, a hand-written prompt cannot.
//! - **nuisances** (dark or bright lighting, blur) that captions also name, so image
//!   features encode them strongly: one or two examples per class do not tell a linear
//!   probe which feature directions are the class and which are the lighting.

use image::RgbImage;
use serde::Serialize;

use crate::data::pyrandom::PyRandom;

/// The domain an image was taken in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    /// Colours as they are.
    Photo,
    /// Red and green channels swapped: red and green trade places, orange looks green,
    /// purple looks blue; blue and yellow stay.
    Infrared,
    /// Green and blue channels swapped: green and blue trade places, yellow looks
    /// purple, orange looks red; red stays.
    Ultraviolet,
}

impl Domain {
    /// The noun phrase captions use for the domain.
    pub fn nouns(self) -> &'static [&'static str] {
        match self {
            Domain::Photo => &["photo", "picture", "image"],
            Domain::Infrared => &["infrared photo", "infrared image"],
            Domain::Ultraviolet => &["ultraviolet photo", "ultraviolet image"],
        }
    }

    /// Rewrites the image's pixels into this domain.
    pub fn apply(self, img: &mut RgbImage) {
        let rot = match self {
            Domain::Photo => return,
            Domain::Infrared => [1, 0, 2],
            Domain::Ultraviolet => [0, 2, 1],
        };
        for px in img.pixels_mut() {
            let p = px.0;
            px.0 = [p[rot[0]], p[rot[1]], p[rot[2]]];
        }
    }
}

/// Lighting of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lighting {
    Normal,
    Dark,
    Bright,
}

/// Everything about one image except its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Look {
    pub domain: Domain,
    pub lighting: Lighting,
    pub blurry: bool,
}

impl Look {
    /// Random nuisances in `domain`: a sixth dark, a sixth bright, a quarter blurry.
    pub fn random(domain: Domain, rng: &mut PyRandom) -> Look {
        let lighting = match rng.randbelow(6) {
            0 => Lighting::Dark,
            1 => Lighting::Bright,
            _ => Lighting::Normal,
        };
        Look {
            domain,
            lighting,
            blurry: rng.randbelow(4) == 0,
        }
    }

    /// Applies lighting, blur and domain to a freshly drawn image.
    pub fn apply(&self, img: &mut RgbImage) {
        match self.lighting {
            Lighting::Normal => {}
            Lighting::Dark => img.pixels_mut().for_each(|p| {
                p.0 = p.0.map(|v| (f64::from(v) * 0.4).round() as u8);
            }),
            Lighting::Bright => img.pixels_mut().for_each(|p| {
                p.0 =
                    p.0.map(|v| (f64::from(v) + (255.0 - f64::from(v)) * 0.55).round() as u8);
            }),
        }
        if self.blurry {
            for _ in 0..2 {
                *img = box_blur(img);
            }
        }
        self.domain.apply(img);
    }

    /// A caption of `phrase` in this look: the domain noun and, each with probability
    /// 3/4, the nuisance words, e.g. "a dark blurry infrared photo of a red plain circle.".
    /// One caption in ten is the bare phrase ("a red plain circle."), as web captions
    /// often say nothing about how a picture was taken.
    pub fn caption(&self, phrase: &str, rng: &mut PyRandom) -> String {
        if rng.randbelow(10) == 0 {
            return format!("a {phrase}.");
        }
        let mut words: Vec<&str> = Vec::new();
        match self.lighting {
            Lighting::Dark if rng.randbelow(4) != 0 => words.push("dark"),
            Lighting::Bright if rng.randbelow(4) != 0 => words.push("bright"),
            _ => {}
        }
        if self.blurry && rng.randbelow(4) != 0 {
            words.push("blurry");
        }
        let nouns = self.domain.nouns();
        words.push(nouns[rng.randbelow(nouns.len() as u64) as usize]);
        let head = words.join(" ");
        let article = if head.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {head} of a {phrase}.")
    }
}

/// 3x3 box blur with edge clamping.
fn box_blur(img: &RgbImage) -> RgbImage {
    let (w, h) = (img.width() as i64, img.height() as i64);
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let mut sum = [0u32; 3];
        for dy in -1..=1 {
            for dx in -1..=1 {
                let xx = (i64::from(x) + dx).clamp(0, w - 1) as u32;
                let yy = (i64::from(y) + dy).clamp(0, h - 1) as u32;
                let p = img.get_pixel(xx, yy).0;
                for c in 0..3 {
                    sum[c] += u32::from(p[c]);
                }
            }
        }
        image::Rgb(sum.map(|s| ((s + 4) / 9) as u8))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_swap_channels_and_captions_name_them() {
        let mut img = RgbImage::from_pixel(2, 2, image::Rgb([200, 10, 20]));
        Domain::Infrared.apply(&mut img);
        assert_eq!(img.get_pixel(0, 0).0, [10, 200, 20]);
        let mut img = RgbImage::from_pixel(2, 2, image::Rgb([200, 10, 20]));
        Domain::Ultraviolet.apply(&mut img);
        assert_eq!(img.get_pixel(0, 0).0, [200, 20, 10]);
        let look = Look {
            domain: Domain::Infrared,
            lighting: Lighting::Dark,
            blurry: true,
        };
        let mut rng = PyRandom::from_key_words(&[3]);
        let caps: Vec<String> = (0..40)
            .map(|_| look.caption("red plain circle", &mut rng))
            .collect();
        assert!(caps.iter().any(|c| c.contains("dark blurry infrared")));
        assert!(caps.iter().any(|c| c == "a red plain circle."));
        assert!(caps.iter().any(|c| c.starts_with("an infrared")));
        assert!(caps.iter().all(|c| c.ends_with("red plain circle.")));
    }
}
