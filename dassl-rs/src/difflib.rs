//! Python's `difflib.SequenceMatcher(None, a, b).ratio()`, over Unicode scalar values.
//!
//! Dassl suggests the registered name with the highest ratio ("do you mean [X]?"); a
//! Levenshtein distance would suggest different names, so the matcher is ported as is,
//! including the "popular element" autojunk rule for sequences of 200+ items.

use std::collections::{HashMap, HashSet};

/// `SequenceMatcher(None, a, b).ratio()`: 2*M/T over Ratcliff/Obershelp matching blocks.
pub fn ratio(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    let matches = Matcher::new(&a, &b).matched_len();
    2.0 * matches as f64 / total as f64
}

/// Dassl's `get_most_similar_str_to_a_from_b`: scans in order and lets a later candidate
/// win ties (`>=`), so callers must pass candidates in a fixed order.
pub fn most_similar<'a>(requested: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let mut best = 0.0;
    let mut chosen = None;
    for c in candidates {
        let r = ratio(requested, c);
        if r >= best {
            best = r;
            chosen = Some(*c);
        }
    }
    chosen
}

struct Matcher<'s> {
    a: &'s [char],
    b: &'s [char],
    b2j: HashMap<char, Vec<usize>>,
}

impl<'s> Matcher<'s> {
    fn new(a: &'s [char], b: &'s [char]) -> Self {
        let mut b2j: HashMap<char, Vec<usize>> = HashMap::new();
        for (j, c) in b.iter().enumerate() {
            b2j.entry(*c).or_default().push(j);
        }
        let n = b.len();
        if n >= 200 {
            let ntest = n / 100 + 1;
            let popular: HashSet<char> = b2j
                .iter()
                .filter(|(_, idx)| idx.len() > ntest)
                .map(|(c, _)| *c)
                .collect();
            for c in popular {
                b2j.remove(&c);
            }
        }
        Matcher { a, b, b2j }
    }

    fn longest_match(
        &self,
        alo: usize,
        ahi: usize,
        blo: usize,
        bhi: usize,
    ) -> (usize, usize, usize) {
        let (mut besti, mut bestj, mut bestsize) = (alo, blo, 0usize);
        let mut j2len: HashMap<usize, usize> = HashMap::new();
        for i in alo..ahi {
            let mut newj2len = HashMap::new();
            if let Some(js) = self.b2j.get(&self.a[i]) {
                for &j in js {
                    if j < blo {
                        continue;
                    }
                    if j >= bhi {
                        break;
                    }
                    let k = j
                        .checked_sub(1)
                        .and_then(|p| j2len.get(&p))
                        .copied()
                        .unwrap_or(0)
                        + 1;
                    newj2len.insert(j, k);
                    if k > bestsize {
                        besti = i + 1 - k;
                        bestj = j + 1 - k;
                        bestsize = k;
                    }
                }
            }
            j2len = newj2len;
        }
        // Extend over "popular" elements that autojunk removed from b2j (no isjunk here).
        while besti > alo && bestj > blo && self.a[besti - 1] == self.b[bestj - 1] {
            besti -= 1;
            bestj -= 1;
            bestsize += 1;
        }
        while besti + bestsize < ahi
            && bestj + bestsize < bhi
            && self.a[besti + bestsize] == self.b[bestj + bestsize]
        {
            bestsize += 1;
        }
        (besti, bestj, bestsize)
    }

    fn matched_len(&self) -> usize {
        let mut queue = vec![(0, self.a.len(), 0, self.b.len())];
        let mut total = 0;
        while let Some((alo, ahi, blo, bhi)) = queue.pop() {
            let (i, j, k) = self.longest_match(alo, ahi, blo, bhi);
            if k > 0 {
                total += k;
                if alo < i && blo < j {
                    queue.push((alo, i, blo, j));
                }
                if i + k < ahi && j + k < bhi {
                    queue.push((i + k, ahi, j + k, bhi));
                }
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_match_cpython() {
        // Values computed with CPython 3.11 difflib.
        let cases = [
            ("abcd", "bcde", 0.75),
            ("CoOP", "CoOp", 0.75),
            ("HaoMo", "FMoW", 4.0 / 9.0),
            ("", "", 1.0),
            ("a", "", 0.0),
            ("OPTIM.LRR", "OPTIM.LR", 16.0 / 17.0),
            (
                "private Thread currentThread;",
                "private volatile Thread currentThread;",
                0.8656716417910447,
            ),
        ];
        for (a, b, want) in cases {
            assert!(
                (ratio(a, b) - want).abs() < 1e-12,
                "ratio({a:?}, {b:?}) = {} != {want}",
                ratio(a, b)
            );
        }
    }

    #[test]
    fn ties_go_to_the_later_candidate_as_in_dassl() {
        // "ab" vs "ax" and "ay": both ratio 0.5; Dassl keeps the later one.
        assert_eq!(most_similar("ab", &["ax", "ay"]), Some("ay"));
        assert_eq!(
            most_similar("CoOP", &["CoCoOp", "CoOp", "ZeroshotCLIP"]),
            Some("CoOp")
        );
        assert_eq!(most_similar("x", &[]), None);
    }

    #[test]
    fn autojunk_applies_to_long_sequences() {
        // With 200+ chars, characters occurring more than n/100+1 times are "popular" and
        // only found by extending an empty match; CPython: 0.0392156862745098.
        let b = "a".repeat(200);
        assert!((ratio("aaaa", &b) - 0.0392156862745098).abs() < 1e-15);
        let b199 = "a".repeat(199);
        assert!((ratio("aaaa", &b199) - 0.03940886699507389).abs() < 1e-15);
    }
}
