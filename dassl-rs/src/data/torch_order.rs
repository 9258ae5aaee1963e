//! The order in which torch's `DataLoader` visits a dataset, draw for draw.
//!
//! Every `iter(loader)` draws a base seed from torch's global CPU generator
//! (`torch.empty((), dtype=torch.int64).random_()`), and `RandomSampler`, at its
//! first batch, draws one more the same way, seeds a fresh `torch.Generator` with it
//! and yields `torch.randperm(n, generator=g)`. A CoOp run seeded with `SEED` therefore
//! shuffles each epoch from the global generator's state after everything drawn
//! before it: CLIP's construction, the context, earlier epochs and evaluations. The
//! global draws go through libtorch itself ([`draw_global_seed`]); the private
//! generator's permutation is [`randperm`], torch's CPU algorithm on its Mersenne
//! Twister, checked against torch by `tests/fixtures/sampler/make_sampler.py`.

use tch::{Device, Kind, Tensor};

/// One draw of `torch.empty((), dtype=torch.int64).random_()` from the global CPU
/// generator, as `DataLoader` and `RandomSampler` make it.
pub fn draw_global_seed() -> i64 {
    let mut t = Tensor::empty([0i64; 0], (Kind::Int64, Device::Cpu));
    let _ = t.random_();
    t.int64_value(&[])
}

/// `torch.randperm(n, generator=torch.Generator().manual_seed(seed))` on the CPU.
///
/// torch seeds its `mt19937` with the seed's low 32 bits, then shuffles `0..n` from
/// the front: position `i` swaps with `i + random() % (n - i)`. (torch switches to
/// 64-bit draws only for `n` past `u32::MAX / 20`, far beyond any dataset here.)
pub fn randperm(n: usize, seed: i64) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..n).collect();
    let mut mt = Mt19937::new(seed as u64 as u32);
    for i in 0..n.saturating_sub(1) {
        let z = mt.next_u32() as usize % (n - i);
        perm.swap(i, i + z);
    }
    perm
}

/// The 32-bit Mersenne Twister (MT19937), as `at::mt19937` seeds and runs it.
struct Mt19937 {
    state: [u32; 624],
    index: usize,
}

impl Mt19937 {
    fn new(seed: u32) -> Self {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { state, index: 624 }
    }

    fn twist(&mut self) {
        for i in 0..624 {
            let y = (self.state[i] & 0x8000_0000) | (self.state[(i + 1) % 624] & 0x7fff_ffff);
            let mut next = self.state[(i + 397) % 624] ^ (y >> 1);
            if y & 1 != 0 {
                next ^= 0x9908_b0df;
            }
            self.state[i] = next;
        }
        self.index = 0;
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn fixture() -> Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sampler/sampler.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("sampler.json")).unwrap()
    }

    fn usizes(v: &Value) -> Vec<usize> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect()
    }

    #[test]
    fn randperm_is_torchs_for_every_seed_and_length() {
        for case in fixture()["randperm"].as_array().unwrap() {
            let seed: u64 = case["seed"].as_str().unwrap().parse().unwrap();
            let n = case["n"].as_u64().unwrap() as usize;
            assert_eq!(
                randperm(n, seed as i64),
                usizes(&case["perm"]),
                "randperm({n}) with seed {seed}"
            );
        }
    }

    #[test]
    fn global_draws_are_torchs() {
        let _rng = crate::testing::torch_rng();
        for case in fixture()["random_int64"].as_array().unwrap() {
            tch::manual_seed(case["seed"].as_i64().unwrap());
            let ours: Vec<String> = (0..4).map(|_| draw_global_seed().to_string()).collect();
            let theirs: Vec<String> = case["draws"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_string())
                .collect();
            assert_eq!(ours, theirs, "seed {}", case["seed"]);
        }
    }
}
