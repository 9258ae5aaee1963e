//! Dassl's few-shot sampler and CoOp's base/new class split, bit-exact.
//!
//! Upstream builds the K-shot train/val subsets with
//! `DatasetBase.generate_fewshot_dataset` on Python's global `random` stream,
//! and CoOp then keeps half of the classes with `subsample_classes`. Matching
//! them item for item (not just statistically) lets a Rust run reuse the
//! numbers and split caches of upstream runs with the same seed, so the
//! grouping order and every draw below follow the Python code exactly.
//!
//! The functions are generic over the item type: callers pass closures that
//! read (and, for relabelling, write) an item's label.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use super::pyrandom::PyRandom;

/// CoOp draws the validation subset with `min(K, 4)` shots.
pub const COOP_MAX_VAL_SHOTS: i64 = 4;

/// Groups item indices by label: labels in order of first appearance, items
/// in source order (Dassl `split_dataset_by_label`, a `defaultdict(list)`).
pub fn split_by_label<T>(items: &[T], label: impl Fn(&T) -> usize) -> Vec<(usize, Vec<usize>)> {
    let mut slot: HashMap<usize, usize> = HashMap::new();
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let y = label(item);
        let g = *slot.entry(y).or_insert_with(|| {
            groups.push((y, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(i);
    }
    groups
}

/// Few-shot subsets drawn from one [`PyRandom`] stream, as Dassl's
/// `generate_fewshot_dataset` draws from the global `random` module.
///
/// The sampler owns the stream so that successive calls (train, then val)
/// continue it exactly as consecutive Python calls do.
#[derive(Debug, Clone)]
pub struct FewShotSampler {
    rng: PyRandom,
}

/// The train and val subsets of CoOp's few-shot protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FewShotSplit<T> {
    /// `num_shots` per class (fewer where a class is smaller).
    pub train: Vec<T>,
    /// `min(num_shots, 4)` per class, drawn after `train` on the same stream.
    pub val: Vec<T>,
}

impl FewShotSampler {
    /// A sampler on the stream of `random.seed(seed)` (CoOp's `cfg.SEED`).
    pub fn new(seed: i64) -> Self {
        Self::from_rng(PyRandom::seed(seed))
    }

    /// A sampler continuing an existing stream, for when something else
    /// (e.g. a fallback split generator's shuffle) drew from it first.
    pub fn from_rng(rng: PyRandom) -> Self {
        Self { rng }
    }

    /// The underlying stream, to interleave other draws in Python's order.
    pub fn rng_mut(&mut self) -> &mut PyRandom {
        &mut self.rng
    }

    /// Gives the stream back, positioned after every draw made so far.
    pub fn into_rng(self) -> PyRandom {
        self.rng
    }

    /// `generate_fewshot_dataset(items, num_shots=num_shots, repeat=repeat)`
    /// for one source.
    ///
    /// Per label (first-appearance order): `random.sample(items, K)` when
    /// the label has at least `K` items, else `random.choices(items, k=K)`
    /// when `repeat`, else all of its items undrawn. The selections are
    /// concatenated in label order. `num_shots < 1` returns the input
    /// unchanged without touching the stream.
    pub fn sample<T: Clone>(
        &mut self,
        items: &[T],
        label: impl Fn(&T) -> usize,
        num_shots: i64,
        repeat: bool,
    ) -> Vec<T> {
        if num_shots < 1 {
            return items.to_vec();
        }
        // A shot count beyond usize exceeds every class: treat as "too few".
        let k = usize::try_from(num_shots).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for (_, members) in split_by_label(items, label) {
            let picked: Vec<usize> = if members.len() >= k {
                // k <= len by the branch condition, so sample cannot fail.
                self.rng
                    .sample(&members, k)
                    .expect("sample size checked against the group size")
            } else if repeat {
                // Groups are never empty, so choices cannot fail.
                self.rng
                    .choices(&members, k)
                    .expect("label groups are non-empty")
            } else {
                members
            };
            out.extend(picked.into_iter().map(|i| items[i].clone()));
        }
        out
    }

    /// `generate_fewshot_dataset(*sources, ...)` with several sources: each
    /// is sampled in turn on the same stream.
    pub fn sample_sources<T: Clone>(
        &mut self,
        sources: &[&[T]],
        label: impl Fn(&T) -> usize,
        num_shots: i64,
        repeat: bool,
    ) -> Vec<Vec<T>> {
        sources
            .iter()
            .map(|src| self.sample(src, &label, num_shots, repeat))
            .collect()
    }

    /// CoOp's dataset protocol: `train` with `num_shots`, then `val` with
    /// `min(num_shots, 4)`, both without repetition, on the same stream.
    /// (ImageNet samples only `train`; use [`sample`](Self::sample) there.)
    pub fn coop_train_val<T: Clone>(
        &mut self,
        train: &[T],
        val: &[T],
        label: impl Fn(&T) -> usize,
        num_shots: i64,
    ) -> FewShotSplit<T> {
        let train = self.sample(train, &label, num_shots, false);
        let val = self.sample(val, &label, num_shots.min(COOP_MAX_VAL_SHOTS), false);
        FewShotSplit { train, val }
    }
}

/// Which half of the classes CoOp keeps (`DATASET.SUBSAMPLE_CLASSES`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum SubsampleMode {
    /// Every class, labels unchanged (the default).
    #[default]
    All,
    /// The first `ceil(n / 2)` classes of the sorted labels.
    Base,
    /// The remaining `n - ceil(n / 2)` classes.
    New,
}

impl SubsampleMode {
    /// The accepted spellings, in CoOp's order.
    pub const NAMES: [&'static str; 3] = ["all", "base", "new"];

    /// The config spelling of this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Base => "base",
            Self::New => "new",
        }
    }
}

impl fmt::Display for SubsampleMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `SUBSAMPLE_CLASSES` value that is not one of the three modes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid subsample mode {value:?}: expected one of \"all\", \"base\", \"new\"")]
pub struct SubsampleModeError {
    /// The rejected value, as given.
    pub value: String,
}

impl FromStr for SubsampleMode {
    type Err = SubsampleModeError;

    /// Exact, case-sensitive match, as CoOp's `assert subsample in [...]`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(Self::All),
            "base" => Ok(Self::Base),
            "new" => Ok(Self::New),
            _ => Err(SubsampleModeError {
                value: s.to_owned(),
            }),
        }
    }
}

impl TryFrom<String> for SubsampleMode {
    type Error = SubsampleModeError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// The old labels a mode keeps, in new-label order (index = new label):
/// sorted unique labels, `m = ceil(n / 2)`, base = first `m`, new = rest.
pub fn select_classes(labels: impl IntoIterator<Item = usize>, mode: SubsampleMode) -> Vec<usize> {
    let mut labels: Vec<usize> = labels.into_iter().collect();
    labels.sort_unstable();
    labels.dedup();
    let m = labels.len().div_ceil(2);
    match mode {
        SubsampleMode::All => labels,
        SubsampleMode::Base => labels[..m].to_vec(),
        SubsampleMode::New => labels[m..].to_vec(),
    }
}

/// CoOp's `subsample_classes(*sources, subsample=mode)`.
///
/// The classes are chosen from the labels of the **first** source only
/// (train). Every source then keeps, in order, the items whose label was
/// chosen, relabelled by position among the chosen labels through
/// `set_label` (upstream rebuilds each `Datum` there, keeping `impath` and
/// `classname` and resetting `domain` to 0). `All` returns the sources
/// unchanged. With no sources the result is empty.
pub fn subsample_classes<T: Clone>(
    sources: &[&[T]],
    mode: SubsampleMode,
    label: impl Fn(&T) -> usize,
    set_label: impl Fn(&mut T, usize),
) -> Vec<Vec<T>> {
    if mode == SubsampleMode::All || sources.is_empty() {
        return sources.iter().map(|s| s.to_vec()).collect();
    }
    let selected = select_classes(sources[0].iter().map(&label), mode);
    let relabel: HashMap<usize, usize> = selected
        .iter()
        .enumerate()
        .map(|(new, &old)| (old, new))
        .collect();
    sources
        .iter()
        .map(|src| {
            src.iter()
                .filter_map(|item| {
                    relabel.get(&label(item)).map(|&new| {
                        let mut item = item.clone();
                        set_label(&mut item, new);
                        item
                    })
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// (id, label) as in the fixture's synthetic datasets.
    type Item = (u64, usize);

    fn fixture() -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/pyrandom/pyrandom.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        serde_json::from_str(&text).expect("pyrandom.json is valid JSON")
    }

    fn items(v: &Value) -> Vec<Item> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), p[1].as_u64().unwrap() as usize))
            .collect()
    }

    fn u64s(v: &Value) -> Vec<u64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect()
    }

    fn ids(v: &[Item]) -> Vec<u64> {
        v.iter().map(|x| x.0).collect()
    }

    fn label(x: &Item) -> usize {
        x.1
    }

    fn set_label(x: &mut Item, y: usize) {
        x.1 = y;
    }

    /// Mirror of `seq_hash` in make_pyrandom.py.
    fn seq_hash(values: &[u64]) -> u64 {
        const MOD: u128 = (1 << 61) - 1;
        values
            .iter()
            .fold(0u128, |h, &v| (h * 1_000_003 + u128::from(v) + 1) % MOD) as u64
    }

    fn assert_compact(expected: &Value, actual: &[u64], what: &str) {
        let parts = expected.as_array().expect("compact record");
        if parts.len() == 1 {
            assert_eq!(actual, u64s(&parts[0]).as_slice(), "{what}");
        } else {
            assert_eq!(&actual[..4], u64s(&parts[0]).as_slice(), "{what}: head");
            assert_eq!(
                actual.len() as u64,
                parts[1].as_u64().unwrap(),
                "{what}: len"
            );
            assert_eq!(seq_hash(actual), parts[2].as_u64().unwrap(), "{what}: hash");
        }
    }

    #[test]
    fn fewshot_matches_dassl() {
        let fx = fixture();
        let mut n = 0;
        for case in fx["fewshot"].as_array().unwrap() {
            let d = &fx["datasets"][case["dataset"].as_str().unwrap()];
            let (train, val) = (items(&d["train"]), items(&d["val"]));
            let seed = case["seed"].as_i64().unwrap();
            let k = case["k"].as_i64().unwrap();
            let what = format!("{} seed {seed} K {k}", case["dataset"]);
            let mut s = FewShotSampler::new(seed);
            let (got_train, got_val) = if case["repeat"].as_bool().unwrap() {
                let mut out = s.sample_sources(&[&train, &val], label, k, true);
                let v = out.pop().unwrap();
                (out.pop().unwrap(), v)
            } else {
                let split = s.coop_train_val(&train, &val, label, k);
                (split.train, split.val)
            };
            assert_eq!(ids(&got_train), u64s(&case["train"]), "{what} train");
            assert_eq!(ids(&got_val), u64s(&case["val"]), "{what} val");
            n += 1;
        }
        assert!(n >= 45, "only {n} few-shot cases");
    }

    #[test]
    fn subsample_matches_coop() {
        let fx = fixture();
        for case in fx["subsample"].as_array().unwrap() {
            let name = case["dataset"].as_str().unwrap();
            let d = &fx["datasets"][name];
            let (mut train, mut val, test) =
                (items(&d["train"]), items(&d["val"]), items(&d["test"]));
            if let Some(seed) = case["after_fewshot_seed"].as_i64() {
                let split = FewShotSampler::new(seed).coop_train_val(&train, &val, label, 4);
                (train, val) = (split.train, split.val);
            }
            let mode: SubsampleMode = case["mode"].as_str().unwrap().parse().unwrap();
            let out = subsample_classes(&[&train, &val, &test], mode, label, set_label);
            let expected = case["outputs"].as_array().unwrap();
            assert_eq!(out.len(), expected.len());
            for (src, exp) in out.iter().zip(expected) {
                let what = format!("{name} {mode}");
                assert_compact(&exp[0], &ids(src), &format!("{what} ids"));
                let labels: Vec<u64> = src.iter().map(|x| x.1 as u64).collect();
                assert_compact(&exp[1], &labels, &format!("{what} labels"));
            }
        }
    }

    #[test]
    fn all_mode_and_nonpositive_shots_are_identity() {
        let fx = fixture();
        let train = items(&fx["datasets"]["uneven"]["train"]);
        let out = subsample_classes(&[&train, &train[..3]], SubsampleMode::All, label, set_label);
        assert_eq!(out, vec![train.clone(), train[..3].to_vec()]);
        let mut s = FewShotSampler::new(1);
        assert_eq!(s.sample(&train, label, 0, false), train);
        assert_eq!(s.sample(&train, label, -1, true), train);
        // The stream was not touched.
        assert_eq!(s.into_rng(), PyRandom::seed(1));
    }

    #[test]
    fn class_split_sizes_match_the_coop_table() {
        for (n, base, new) in [
            (1000, 500, 500),
            (101, 51, 50),
            (47, 24, 23),
            (37, 19, 18),
            (10, 5, 5),
            (1, 1, 0),
        ] {
            assert_eq!(select_classes(0..n, SubsampleMode::Base).len(), base);
            assert_eq!(select_classes(0..n, SubsampleMode::New).len(), new);
        }
        // Only labels present in the first source count, sorted numerically.
        assert_eq!(
            select_classes([9, 2, 30, 2, 4], SubsampleMode::Base),
            vec![2, 4]
        );
        assert_eq!(
            select_classes([9, 2, 30, 2, 4], SubsampleMode::New),
            vec![9, 30]
        );
    }

    #[test]
    fn mode_parsing_names_value_and_choices() {
        assert_eq!(
            "base".parse::<SubsampleMode>().unwrap(),
            SubsampleMode::Base
        );
        let e = "Base".parse::<SubsampleMode>().unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("\"Base\"") && msg.contains("\"all\", \"base\", \"new\""),
            "{msg}"
        );
        let m: SubsampleMode = serde_json::from_str("\"new\"").unwrap();
        assert_eq!(m, SubsampleMode::New);
        assert!(serde_json::from_str::<SubsampleMode>("\"old\"").is_err());
        assert_eq!(
            serde_json::to_string(&SubsampleMode::All).unwrap(),
            "\"all\""
        );
        for name in SubsampleMode::NAMES {
            assert_eq!(name.parse::<SubsampleMode>().unwrap().as_str(), name);
        }
    }

    #[test]
    fn split_by_label_keeps_first_appearance_order() {
        let xs = [(0, 5), (1, 2), (2, 5), (3, 0), (4, 2)];
        let groups = split_by_label(&xs, label);
        assert_eq!(groups, vec![(5, vec![0, 2]), (2, vec![1, 4]), (0, vec![3])]);
    }

    fn labelled() -> impl Strategy<Value = Vec<Item>> {
        prop::collection::vec(0usize..12, 0..300).prop_map(|ls| {
            ls.into_iter()
                .enumerate()
                .map(|(i, y)| (i as u64, y))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn fewshot_keeps_min_count_k_per_label(seed in any::<i64>(), xs in labelled(), k in 1i64..20, repeat in any::<bool>()) {
            let out = FewShotSampler::new(seed).sample(&xs, label, k, repeat);
            let before = split_by_label(&xs, label);
            let after = split_by_label(&out, label);
            // Same labels, same first-appearance order.
            prop_assert_eq!(
                before.iter().map(|g| g.0).collect::<Vec<_>>(),
                after.iter().map(|g| g.0).collect::<Vec<_>>()
            );
            for ((_, b), (_, a)) in before.iter().zip(&after) {
                let want = if repeat { k as usize } else { b.len().min(k as usize) };
                prop_assert_eq!(a.len(), want);
            }
            // Every output item comes from the input with its label intact.
            prop_assert!(out.iter().all(|x| xs.get(x.0 as usize) == Some(x)));
            if !repeat {
                let mut seen: Vec<u64> = ids(&out);
                seen.sort_unstable();
                seen.dedup();
                prop_assert_eq!(seen.len(), out.len());
            }
        }

        #[test]
        fn base_and_new_partition_the_first_source(xs in labelled()) {
            let base = subsample_classes(&[&xs], SubsampleMode::Base, label, set_label).remove(0);
            let new = subsample_classes(&[&xs], SubsampleMode::New, label, set_label).remove(0);
            prop_assert_eq!(base.len() + new.len(), xs.len());
            let n = select_classes(xs.iter().map(label), SubsampleMode::All).len();
            prop_assert!(base.iter().all(|x| x.1 < n.div_ceil(2)));
            prop_assert!(new.iter().all(|x| x.1 < n / 2));
        }
    }
}
