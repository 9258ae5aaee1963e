//! Words of the toy world: every colour x texture x shape combination and the
//! combinations held out of pretraining (captions around them: [`super::style`]).

use serde::Serialize;

use crate::data::pyrandom::PyRandom;
use crate::data::toy::toy_attributes;

/// The prompt zero-shot CLIP uses for datasets CoOp has no template for. Pretraining
/// captions photos this way, but the demo datasets are infrared and ultraviolet.
pub const ZERO_SHOT_TEMPLATE: &str = "a photo of a {}.";

/// Held-out demo classes per block of ten consecutive demo classes, so every demo
/// dataset (its classes are the first N) has some unseen combinations.
pub const HELD_OUT_PER_TEN: usize = 3;

/// Demo classes: the 6 x 4 colour x texture pairs ([`Combo::demo_class`]).
pub const DEMO_CLASSES: usize = 24;

/// Demo classes that can be held out: the first 20, as many as the largest demo dataset.
const HOLDABLE_CLASSES: usize = 20;

/// One colour/texture/shape combination (indices into `toy_attributes()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Combo {
    pub colour: usize,
    pub texture: usize,
    pub shape: usize,
}

impl Combo {
    /// The combination of demo class `i` (`i < DEMO_CLASSES`): every colour x texture
    /// pair once, in an order whose first six classes have all six colours and whose
    /// neighbours differ in colour and texture. The shape is `i % 5`, a word the class
    /// name carries but no other class of a demo dataset needs: a tiny ViT pretrained
    /// for a minute reads colour and texture from pixels but not shape, so classes that
    /// differ only in shape would be a test of the toy CLIP rather than of the trainers.
    pub fn demo_class(i: usize) -> Combo {
        let (c, t, s) = toy_attributes();
        Combo {
            colour: i % c.len(),
            texture: (i + i / c.len()) % t.len(),
            shape: i % s.len(),
        }
    }

    /// "red striped circle": the class name the toy datasets use.
    pub fn phrase(&self) -> String {
        let (c, t, s) = toy_attributes();
        format!(
            "{} {} {}",
            c[self.colour % c.len()],
            t[self.texture % t.len()],
            s[self.shape % s.len()]
        )
    }
}

/// All 6 x 4 x 5 = 120 combinations, colour-major.
pub fn all_combos() -> Vec<Combo> {
    let (c, t, s) = toy_attributes();
    let mut out = Vec::with_capacity(c.len() * t.len() * s.len());
    for colour in 0..c.len() {
        for texture in 0..t.len() {
            for shape in 0..s.len() {
                out.push(Combo {
                    colour,
                    texture,
                    shape,
                });
            }
        }
    }
    out
}

/// The combinations kept out of pretraining: [`HELD_OUT_PER_TEN`] demo classes drawn
/// (for `seed`) from each block of ten of the first 20 demo classes, sorted by index.
///
/// Only demo dataset classes are held out because the other combinations never appear
/// in a demo dataset, so holding them out would test nothing; every single colour,
/// texture and shape word stays in the corpus through the other combinations.
pub fn held_out_classes(seed: u64) -> Vec<usize> {
    let mut rng = PyRandom::from_key_words(&[seed as u32, (seed >> 32) as u32, 0x4845_4c44]);
    let mut out = Vec::new();
    for block in (0..HOLDABLE_CLASSES).step_by(10) {
        let mut idx: Vec<usize> = (block..block + 10).collect();
        rng.shuffle(&mut idx);
        out.extend_from_slice(&idx[..HELD_OUT_PER_TEN]);
    }
    out.sort_unstable();
    out
}

/// The held-out combinations (those of [`held_out_classes`]).
pub fn held_out_combos(seed: u64) -> Vec<Combo> {
    held_out_classes(seed)
        .into_iter()
        .map(Combo::demo_class)
        .collect()
}

/// The combinations pretraining captions and draws: all but the held-out ones.
pub fn training_combos(seed: u64) -> Vec<Combo> {
    let held = held_out_combos(seed);
    all_combos()
        .into_iter()
        .filter(|c| !held.contains(c))
        .collect()
}
