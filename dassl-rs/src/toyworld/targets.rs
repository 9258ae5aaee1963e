//! What the demo claims, checked on the runs it wrote: the orderings CoOp's and CoCoOp's
//! papers found (issue 15's targets), each with the measured numbers, plus how long the
//! demo took on which machine. `dassl run --sweep configs/demo.yaml` prints this and
//! writes it to `OUTPUT/reports/demo.md`; README's demo numbers are copied from that file.
//!
//! Accuracies are averaged as the papers do: the mean over seeds of each dataset, then
//! the mean over datasets; base-to-new H is the harmonic mean of the averaged base and
//! new accuracies. Rows are found by the labels configs/demo*.yaml give them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::{harmonic, Record};
use crate::sweep::Role;

/// Few-shot labels in configs/demo.yaml and configs/demo_csc.yaml.
pub const ZERO_SHOT: &str = "ZeroshotCLIP";
pub const COOP: &str = "CoOp";
pub const COOP_CSC: &str = "CoOp_CSC";
pub const LINEAR_PROBE: &str = "LinearProbeCLIP";
/// Base-to-new labels in configs/demo_base2new.yaml.
pub const B2N_ZERO_SHOT: &str = "CLIP";
pub const B2N_COOP: &str = "CoOp";
pub const B2N_COCOOP: &str = "CoCoOp";

/// One claim and whether the runs bear it out (`None`: a number it needs is missing).
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub what: String,
    pub measured: String,
    pub holds: Option<bool>,
}

/// The demo's averaged numbers and claims.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DemoSummary {
    /// (label, shots) -> mean over datasets of the mean over seeds (shots 0: zero-shot).
    pub fewshot: BTreeMap<(String, i64), f64>,
    /// label -> (base, new, H) averaged over datasets.
    pub base2new: BTreeMap<String, (f64, f64, f64)>,
    pub claims: Vec<Claim>,
}

/// How long the demo took and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Seconds spent pretraining the toy CLIP in this command (None: the cache was used).
    pub pretrain_seconds: Option<f64>,
    /// Seconds of the whole command.
    pub total_seconds: f64,
    /// Runs of the demo's files, and how many of them this command ran: a rerun of an
    /// unchanged demo skips the complete ones, as every sweep does, so its time says so.
    pub runs: usize,
    pub runs_ran: usize,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Mean over datasets of the per-dataset mean over seeds, of the complete runs selected.
fn average<'a>(records: impl Iterator<Item = &'a Record>) -> Option<f64> {
    let mut per: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in records {
        if let Some(a) = r.accuracy {
            per.entry(r.dataset.as_str()).or_default().push(a);
        }
    }
    let means: Vec<f64> = per.values().filter_map(|v| mean(v)).collect();
    mean(&means)
}

/// Averages the demo's runs and checks its claims.
pub fn summarise(records: &[Record]) -> DemoSummary {
    let mut s = DemoSummary::default();
    let mut keys: Vec<(String, i64)> = records
        .iter()
        .filter(|r| r.role == Role::Fewshot)
        .map(|r| (r.label.clone(), r.shots))
        .collect();
    keys.sort();
    keys.dedup();
    for (label, shots) in keys {
        let sel = records
            .iter()
            .filter(|r| r.role == Role::Fewshot && r.label == label && r.shots == shots);
        if let Some(m) = average(sel) {
            s.fewshot.insert((label, shots), m);
        }
    }
    let mut labels: Vec<String> = records
        .iter()
        .filter(|r| r.role == Role::Base)
        .map(|r| r.label.clone())
        .collect();
    labels.sort();
    labels.dedup();
    for label in labels {
        let of = |role: Role| {
            average(
                records
                    .iter()
                    .filter(|r| r.role == role && r.label == label),
            )
        };
        if let (Some(b), Some(n)) = (of(Role::Base), of(Role::New)) {
            s.base2new.insert(label, (b, n, harmonic(b, n)));
        }
    }
    s.claims = claims(&s);
    s
}

fn claims(s: &DemoSummary) -> Vec<Claim> {
    let fs = |label: &str, shots: i64| s.fewshot.get(&(label.to_string(), shots)).copied();
    let zs = fs(ZERO_SHOT, 0);
    let mut out = Vec::new();
    let mut push = |what: String, measured: String, holds: Option<bool>| {
        out.push(Claim {
            what,
            measured,
            holds,
        })
    };
    let pct = |v: Option<f64>| v.map_or("missing".to_string(), |v| format!("{v:.2}"));
    for k in [2, 4, 8, 16] {
        let c = fs(COOP, k);
        push(
            format!("CoOp at {k} shots >= zero-shot CLIP"),
            format!("{} vs {}", pct(c), pct(zs)),
            c.zip(zs).map(|(c, z)| c >= z),
        );
    }
    let c16 = fs(COOP, 16);
    push(
        "CoOp at 16 shots >= zero-shot CLIP + 10 points".into(),
        format!("{} vs {}", pct(c16), pct(zs)),
        c16.zip(zs).map(|(c, z)| c >= z + 10.0),
    );
    for k in [1, 2, 4] {
        let (c, l) = (fs(COOP, k), fs(LINEAR_PROBE, k));
        push(
            format!("CoOp above the linear probe at {k} shot{}", plural(k)),
            format!("{} vs {}", pct(c), pct(l)),
            c.zip(l).map(|(c, l)| c > l),
        );
    }
    let l1 = fs(LINEAR_PROBE, 1);
    push(
        "linear probe at 1 shot below zero-shot CLIP".into(),
        format!("{} vs {}", pct(l1), pct(zs)),
        l1.zip(zs).map(|(l, z)| l < z),
    );
    let b2n = |label: &str| s.base2new.get(label).copied();
    let (zb, cb, kb) = (b2n(B2N_ZERO_SHOT), b2n(B2N_COOP), b2n(B2N_COCOOP));
    let new = |v: Option<(f64, f64, f64)>| v.map(|v| v.1);
    let h = |v: Option<(f64, f64, f64)>| v.map(|v| v.2);
    push(
        "base-to-new: CoOp's new-class accuracy below zero-shot CLIP's".into(),
        format!("{} vs {}", pct(new(cb)), pct(new(zb))),
        new(cb).zip(new(zb)).map(|(c, z)| c < z),
    );
    push(
        "base-to-new: CoCoOp's new-class accuracy above CoOp's".into(),
        format!("{} vs {}", pct(new(kb)), pct(new(cb))),
        new(kb).zip(new(cb)).map(|(k, c)| k > c),
    );
    push(
        "base-to-new: CoCoOp's harmonic mean above CoOp's".into(),
        format!("{} vs {}", pct(h(kb)), pct(h(cb))),
        h(kb).zip(h(cb)).map(|(k, c)| k > c),
    );
    out
}

fn plural(k: i64) -> &'static str {
    if k == 1 {
        ""
    } else {
        "s"
    }
}

/// The machine in words: CPU model and logical cores.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{model}, {cores} logical cores, {}", std::env::consts::OS)
}

/// The demo's Markdown summary: averages, claims, timing.
pub fn markdown(s: &DemoSummary, timing: &Timing, machine: &str, date: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Demo results (configs/demo.yaml)\n");
    let _ = writeln!(
        o,
        "Written by `dassl run --sweep configs/demo.yaml` on {date}."
    );
    let _ = writeln!(o, "Machine: {machine}.");
    let world = match timing.pretrain_seconds {
        Some(p) => format!("of which pretraining the toy CLIP {p:.0} s"),
        None => "the toy CLIP came from the cache".to_string(),
    };
    let runs = if timing.runs_ran == timing.runs {
        format!("all {} runs trained and tested", timing.runs)
    } else {
        format!(
            "{} of {} runs trained and tested, the others complete from an earlier run and skipped",
            timing.runs_ran, timing.runs
        )
    };
    let _ = writeln!(
        o,
        "Time: {:.0} s in all, {world}; {runs}.",
        timing.total_seconds
    );
    let _ = writeln!(
        o,
        "\nAccuracy (%), mean over the datasets of the mean over 3 seeds.\n"
    );
    let mut shots: Vec<i64> = s.fewshot.keys().map(|k| k.1).collect();
    shots.sort_unstable();
    shots.dedup();
    if !s.fewshot.is_empty() {
        let _ = write!(o, "| few-shot (shots) |");
        for k in &shots {
            let _ = write!(o, " {k} |");
        }
        let _ = write!(o, "\n|---|");
        for _ in &shots {
            let _ = write!(o, "---:|");
        }
        o.push('\n');
        for label in [ZERO_SHOT, COOP, COOP_CSC, LINEAR_PROBE] {
            if !s.fewshot.keys().any(|k| k.0 == label) {
                continue;
            }
            let _ = write!(o, "| {label} |");
            for k in &shots {
                match s.fewshot.get(&(label.to_string(), *k)) {
                    Some(v) => {
                        let _ = write!(o, " {v:.2} |");
                    }
                    None => o.push_str(" |"),
                }
            }
            o.push('\n');
        }
    }
    if !s.base2new.is_empty() {
        let _ = writeln!(
            o,
            "\n| base-to-new (16 shots) | base | new | H |\n|---|---:|---:|---:|"
        );
        for label in [B2N_ZERO_SHOT, B2N_COOP, B2N_COCOOP] {
            if let Some((b, n, h)) = s.base2new.get(label) {
                let _ = writeln!(o, "| {label} | {b:.2} | {n:.2} | {h:.2} |");
            }
        }
    }
    let _ = writeln!(
        o,
        "\n| claim (CoOp and CoCoOp papers) | measured | holds |\n|---|---|---|"
    );
    for c in &s.claims {
        let verdict = match c.holds {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "not measured",
        };
        let _ = writeln!(o, "| {} | {} | {verdict} |", c.what, c.measured);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(label: &str, dataset: &str, shots: i64, role: Role, acc: f64) -> Record {
        Record {
            label: label.into(),
            backbone: "toy".into(),
            dataset: dataset.into(),
            shots,
            seed: Some(1),
            role,
            source: None,
            accuracy: Some(acc),
            dir: String::new(),
        }
    }

    #[test]
    fn averages_over_seeds_then_datasets_and_checks_orderings() {
        let f = Role::Fewshot;
        let mut r = vec![
            rec(ZERO_SHOT, "A", 0, f, 50.0),
            rec(ZERO_SHOT, "B", 0, f, 30.0),
            // Dataset A has two seeds: its mean (60) counts once.
            rec(COOP, "A", 16, f, 50.0),
            rec(COOP, "A", 16, f, 70.0),
            rec(COOP, "B", 16, f, 40.0),
            rec(LINEAR_PROBE, "A", 1, f, 20.0),
            rec(LINEAR_PROBE, "B", 1, f, 20.0),
            rec(B2N_COOP, "A", 16, Role::Base, 90.0),
            rec(B2N_COOP, "A", 16, Role::New, 30.0),
            rec(B2N_COCOOP, "A", 16, Role::Base, 80.0),
            rec(B2N_COCOOP, "A", 16, Role::New, 60.0),
        ];
        r.push(Record {
            accuracy: None,
            ..rec(COOP, "B", 16, f, 0.0)
        });
        let s = summarise(&r);
        assert_eq!(s.fewshot[&(ZERO_SHOT.to_string(), 0)], 40.0);
        assert_eq!(s.fewshot[&(COOP.to_string(), 16)], 50.0);
        assert_eq!(s.base2new[B2N_COOP], (90.0, 30.0, 45.0));
        let holds = |what: &str| {
            s.claims
                .iter()
                .find(|c| c.what.starts_with(what))
                .unwrap()
                .holds
        };
        assert_eq!(holds("CoOp at 16 shots >= zero-shot CLIP + 10"), Some(true));
        assert_eq!(holds("CoOp at 2 shots"), None);
        assert_eq!(holds("linear probe at 1 shot"), Some(true));
        assert_eq!(holds("base-to-new: CoCoOp's new"), Some(true));
        assert_eq!(holds("base-to-new: CoOp's new"), None);
        let md = markdown(
            &s,
            &Timing {
                pretrain_seconds: Some(100.0),
                total_seconds: 400.0,
                runs: 12,
                runs_ran: 12,
            },
            "cpu",
            "today",
        );
        assert!(
            md.contains("Time: 400 s in all, of which pretraining the toy CLIP 100 s; all 12 runs"),
            "{md}"
        );
        let rerun = Timing {
            pretrain_seconds: None,
            total_seconds: 2.0,
            runs: 12,
            runs_ran: 0,
        };
        let md = markdown(&s, &rerun, "cpu", "today");
        assert!(
            md.contains("the toy CLIP came from the cache; 0 of 12 runs trained and tested, the others complete from an earlier run and skipped"),
            "{md}"
        );
        assert!(md.contains("| CoOp | | | 50.00 |"), "{md}");
    }
}
