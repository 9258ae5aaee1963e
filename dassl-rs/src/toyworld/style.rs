//! How a toy image looks beyond its class: the domain it was taken in and nuisances.
//!
//! These carry the mechanisms behind CoOp's findings into the toy world:
//! - a **domain** ("infrared photo", "ultraviolet photo") exchanges two colours (an
//!   infrared red thing looks green). Pretraining captions name the domain, so the
//!   text encoder knows "infrared ... red" means a green-looking image; the demo datasets
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
    /// Red things look green and green things red.
    Infrared,
    /// Blue things look yellow and yellow things blue.
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

    /// The colour (index into the toy colours) an object of `colour` shows in this
    /// domain: an infrared photo shows red things green and green things red, an
    /// ultraviolet photo blue things yellow and yellow things blue; the other four
    /// colours look as they are. So a prompt that does not name the domain is wrong
    /// about a third of the classes and right about the rest, as a generic prompt is
    /// a poor but not useless fit for a real dataset's domain.
    pub fn seen_colour(self, colour: usize) -> usize {
        let pair = match self {
            Domain::Photo => return colour,
            Domain::Infrared => (RED, GREEN),
            Domain::Ultraviolet => (BLUE, YELLOW),
        };
        match colour {
            c if c == pair.0 => pair.1,
            c if c == pair.1 => pair.0,
            c => c,
        }
    }
}

/// Indices of the colours the domains exchange (`toy_attributes().0`).
const RED: usize = 0;
const GREEN: usize = 1;
const BLUE: usize = 2;
const YELLOW: usize = 3;

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
    /// Random nuisances in `domain`: a third each dark, normal and bright, half blurry.
    /// Frequent enough that one or two examples of a class rarely show all its looks.
    pub fn random(domain: Domain, rng: &mut PyRandom) -> Look {
        let lighting = match rng.randbelow(3) {
            0 => Lighting::Dark,
            1 => Lighting::Bright,
            _ => Lighting::Normal,
        };
        Look {
            domain,
            lighting,
            blurry: rng.randbelow(2) == 0,
        }
    }

    /// Applies lighting and blur to a freshly drawn image (the domain chose its colour:
    /// [`Domain::seen_colour`]).
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
    fn domains_exchange_two_colours_and_captions_name_them() {
        let (colours, _, _) = crate::data::toy::toy_attributes();
        assert_eq!(
            [colours[RED], colours[GREEN], colours[BLUE], colours[YELLOW]],
            ["red", "green", "blue", "yellow"]
        );
        let seen = |d: Domain| (0..6).map(|c| d.seen_colour(c)).collect::<Vec<_>>();
        assert_eq!(seen(Domain::Photo), [0, 1, 2, 3, 4, 5]);
        assert_eq!(seen(Domain::Infrared), [1, 0, 2, 3, 4, 5]);
        assert_eq!(seen(Domain::Ultraviolet), [0, 1, 3, 2, 4, 5]);
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
