//! Reports over a sweep's output folder (`dassl report OUTPUT`): mean and population std
//! over seeds per (trainer variant, backbone, dataset, shots), as CoOp's
//! parse_test_res.py computes them; per-shot averages over datasets; CoCoOp's base-to-new
//! table with harmonic means; the domain-generalization table; the published numbers
//! beside each cell; and the few-shot curves of CoOp's Figure 3.

pub mod discover;
pub mod format;
pub mod paper;
pub mod plot;
pub mod wide;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::engine::result::RunResult;
use crate::errors::ReportError;
use crate::sweep::{Manifest, Role};
pub use paper::Paper;

/// One planned run, as the tables need it; `accuracy` is `None` until it is complete, so
/// a cell knows how many runs it was planned with.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub label: String,
    pub backbone: String,
    pub dataset: String,
    pub shots: i64,
    pub seed: Option<i64>,
    pub role: Role,
    /// The dataset the evaluated model was trained on (dg and base2new evaluations).
    pub source: Option<String>,
    pub accuracy: Option<f64>,
    /// The run's folder (per-seed tables name it).
    pub dir: String,
}

/// Every planned run of every manifest in `output` (a run listed by two manifests counts
/// once), with the accuracy of those that are complete.
pub fn collect(output: &Path) -> Result<Vec<Record>, ReportError> {
    let manifests = Manifest::read_all(output).map_err(|e| ReportError::BadFile {
        path: output.into(),
        reason: e.to_string(),
    })?;
    if manifests.is_empty() {
        return Err(ReportError::NoManifest {
            path: output.into(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for m in &manifests {
        let dg_source = m
            .runs
            .iter()
            .find(|r| r.meta.role == Role::Source)
            .map(|r| r.meta.dataset.clone());
        for r in &m.runs {
            // Read the folder beside the manifest, so a moved output folder still reports.
            if !seen.insert((r.dir.clone(), r.key.clone())) {
                continue;
            }
            let accuracy = RunResult::read(&output.join(&r.dir))
                .filter(|res| res.config_hash == r.config_hash)
                .map(|res| res.accuracy);
            let source = r.meta.source.clone().or_else(|| {
                if r.meta.role == Role::Target {
                    dg_source.clone()
                } else {
                    None
                }
            });
            out.push(Record {
                label: r.meta.label.clone(),
                backbone: r.meta.backbone.clone(),
                dataset: r.meta.dataset.clone(),
                shots: r.meta.shots,
                seed: r.meta.seed,
                role: r.meta.role,
                source,
                accuracy,
                dir: output.join(&r.dir).display().to_string(),
            });
        }
    }
    Ok(out)
}

/// The records of every run under `paths`: each path's sweep manifests (their runs, each
/// once), and every other folder with a `log.txt` (`dassl train` folders, CoOp/Dassl
/// output trees; see [`discover`]). A path with neither is an error.
///
/// Runs of different paths that would share a cell (same method, backbone, dataset,
/// shots and seed: say ours and CoOp's own) are kept apart: the method of every path
/// involved is labelled `METHOD @ PATH`.
pub fn collect_paths(paths: &[std::path::PathBuf]) -> Result<Vec<Record>, ReportError> {
    let mut per_path: Vec<Vec<Record>> = Vec::new();
    for p in paths {
        let mut out = Vec::new();
        if !p.exists() {
            return Err(ReportError::NoRuns {
                path: p.clone(),
                missing: true,
            });
        }
        let manifests = Manifest::read_all(p).map_err(|e| ReportError::BadFile {
            path: p.clone(),
            reason: e.to_string(),
        })?;
        let mut skip = Vec::new();
        if !manifests.is_empty() {
            for m in &manifests {
                skip.extend(m.runs.iter().map(|r| p.join(&r.dir)));
            }
            out.extend(collect(p)?);
        }
        let found = discover::collect_tree(p, &skip);
        if manifests.is_empty() && found.is_empty() {
            return Err(ReportError::NoRuns {
                path: p.clone(),
                missing: false,
            });
        }
        out.extend(found);
        per_path.push(out);
    }
    type RunKey = (
        String,
        String,
        String,
        i64,
        Option<i64>,
        Role,
        Option<String>,
    );
    let key = |r: &Record| -> RunKey {
        (
            r.label.clone(),
            r.backbone.clone(),
            r.dataset.clone(),
            r.shots,
            r.seed,
            r.role,
            r.source.clone(),
        )
    };
    let keys: Vec<std::collections::HashSet<RunKey>> = per_path
        .iter()
        .map(|recs| recs.iter().map(key).collect())
        .collect();
    let mut out = Vec::new();
    for (i, recs) in per_path.into_iter().enumerate() {
        let collides = keys
            .iter()
            .enumerate()
            .any(|(j, k)| j != i && !k.is_disjoint(&keys[i]));
        for mut r in recs {
            if collides {
                r.label = format!("{} @ {}", r.label, paths[i].display());
            }
            out.push(r);
        }
    }
    Ok(out)
}

/// Mean, population std (NumPy's default, as parse_test_res.py) and count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stat {
    pub mean: f64,
    pub std: f64,
    pub n: usize,
    /// parse_test_res.py --ci95: 1.96 * std / sqrt(n).
    pub ci95: f64,
}

pub fn stat(values: &[f64]) -> Stat {
    let n = values.len();
    if n == 0 {
        return Stat {
            mean: f64::NAN,
            std: f64::NAN,
            n: 0,
            ci95: f64::NAN,
        };
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    Stat {
        mean,
        std,
        n,
        ci95: 1.96 * std / (n as f64).sqrt(),
    }
}

/// 2BN/(B+N), CoCoOp's H.
pub fn harmonic(b: f64, n: f64) -> f64 {
    if b + n == 0.0 {
        0.0
    } else {
        2.0 * b * n / (b + n)
    }
}

/// A few-shot cell: one (variant, backbone, dataset, shots) over seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub method: String,
    pub backbone: String,
    pub dataset: String,
    pub shots: i64,
    pub stat: Stat,
    /// Runs the sweeps planned for this cell (`stat.n` of them are complete).
    pub expected: usize,
    pub paper: Option<f64>,
}

impl Row {
    pub fn complete(&self) -> bool {
        self.stat.n >= self.expected
    }
}

/// The mean over datasets of a (variant, backbone, shots), over the datasets with at
/// least one complete run; `incomplete` names the cells with fewer runs than planned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvgRow {
    pub method: String,
    pub backbone: String,
    pub shots: i64,
    pub mean: f64,
    /// Datasets averaged (with at least one complete run).
    pub datasets: usize,
    /// Datasets planned.
    pub expected_datasets: usize,
    /// `Dataset n/expected` of each incomplete cell.
    pub incomplete: Vec<String>,
    /// The paper's Average: published, or computed from every dataset the paper lists.
    pub paper: Option<f64>,
    /// `paper` is computed from the paper's per-dataset values, not printed in it.
    pub paper_computed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct B2nRow {
    pub method: String,
    pub backbone: String,
    /// A dataset, or `Average` (mean base, mean new, and H of those means, as CoCoOp).
    pub dataset: String,
    pub base: Stat,
    pub new: Stat,
    /// Runs planned per phase (base and new each).
    pub expected: usize,
    pub harmonic: f64,
    /// Published (base, new, H).
    pub paper: Option<(f64, f64, f64)>,
    /// `paper` is computed (an Average row the paper's table does not print).
    pub paper_computed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DgRow {
    pub method: String,
    pub backbone: String,
    pub source: String,
    /// A target dataset, the source itself, or `Average` (over the targets only).
    pub target: String,
    pub stat: Stat,
    /// Runs planned for this cell.
    pub expected: usize,
    pub paper: Option<f64>,
    /// `paper` is computed (an Average the paper's table does not print).
    pub paper_computed: bool,
}

/// One run, for the per-seed tables.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedRow {
    pub method: String,
    pub backbone: String,
    pub dataset: String,
    pub source: Option<String>,
    pub shots: i64,
    pub seed: Option<i64>,
    pub role: Role,
    /// `None` while the run is not complete.
    pub accuracy: Option<f64>,
    pub dir: String,
}

/// All tables of an output folder.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub fewshot: Vec<Row>,
    pub fewshot_average: Vec<AvgRow>,
    pub base2new: Vec<B2nRow>,
    pub dg: Vec<DgRow>,
    /// Every run, complete or not.
    pub runs: Vec<SeedRow>,
}

type Key4 = (String, String, String, i64);
type Key4s = (String, String, String, String);
/// Complete runs' accuracies and the number of runs planned.
type Cell = (Vec<f64>, usize);
type Key3 = (String, String, String);

pub fn build(records: &[Record], paper: &Paper) -> Report {
    let mut rep = Report::default();
    let mut seeds: Vec<SeedRow> = records
        .iter()
        .map(|r| SeedRow {
            method: r.label.clone(),
            backbone: r.backbone.clone(),
            dataset: r.dataset.clone(),
            source: r.source.clone(),
            shots: r.shots,
            seed: r.seed,
            role: r.role,
            accuracy: r.accuracy,
            dir: r.dir.clone(),
        })
        .collect();
    seeds.sort_by(|a, b| {
        (
            &a.role,
            &a.method,
            &a.backbone,
            &a.source,
            &a.dataset,
            a.shots,
            a.seed,
            &a.dir,
        )
            .cmp(&(
                &b.role,
                &b.method,
                &b.backbone,
                &b.source,
                &b.dataset,
                b.shots,
                b.seed,
                &b.dir,
            ))
    });
    // A discovered model evaluated elsewhere is also its domain-generalization source:
    // list the run once.
    let plain: std::collections::HashSet<String> = seeds
        .iter()
        .filter(|r| r.role == Role::Fewshot)
        .map(|r| r.dir.clone())
        .collect();
    seeds.retain(|r| r.role != Role::Source || !plain.contains(&r.dir));
    rep.runs = seeds;
    // Few-shot rows.
    let mut cells: BTreeMap<Key4, Cell> = BTreeMap::new();
    for r in records.iter().filter(|r| r.role == Role::Fewshot) {
        let c = cells
            .entry((
                r.label.clone(),
                r.backbone.clone(),
                r.dataset.clone(),
                r.shots,
            ))
            .or_default();
        c.0.extend(r.accuracy);
        c.1 += 1;
    }
    for ((method, backbone, dataset, shots), (v, expected)) in &cells {
        let paper = paper.fewshot(method, backbone, dataset, *shots);
        rep.fewshot.push(Row {
            method: method.clone(),
            backbone: backbone.clone(),
            dataset: dataset.clone(),
            shots: *shots,
            stat: stat(v),
            expected: *expected,
            paper,
        });
    }
    rep.fewshot.sort_by(|a, b| {
        (&a.method, &a.backbone, &a.dataset, a.shots).cmp(&(
            &b.method,
            &b.backbone,
            &b.dataset,
            b.shots,
        ))
    });
    let mut avg: BTreeMap<(String, String, i64), Vec<&Row>> = BTreeMap::new();
    for r in &rep.fewshot {
        avg.entry((r.method.clone(), r.backbone.clone(), r.shots))
            .or_default()
            .push(r);
    }
    for ((method, backbone, shots), rows) in avg {
        let done: Vec<&&Row> = rows.iter().filter(|r| r.stat.n > 0).collect();
        let means: Vec<f64> = done.iter().map(|r| r.stat.mean).collect();
        let published = paper.fewshot_average(&method, &backbone, shots);
        rep.fewshot_average.push(AvgRow {
            mean: stat(&means).mean,
            datasets: done.len(),
            expected_datasets: rows.len(),
            incomplete: rows
                .iter()
                .filter(|r| !r.complete())
                .map(|r| format!("{} {}/{}", r.dataset, r.stat.n, r.expected))
                .collect(),
            paper: published.map(|p| p.0),
            paper_computed: published.is_some_and(|p| p.1),
            method,
            backbone,
            shots,
        });
    }
    // Base to new.
    let mut b2n: BTreeMap<Key3, (Vec<f64>, Vec<f64>, usize)> = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| matches!(r.role, Role::Base | Role::New))
    {
        let e = b2n
            .entry((r.label.clone(), r.backbone.clone(), r.dataset.clone()))
            .or_default();
        if r.role == Role::Base {
            e.0.extend(r.accuracy);
            e.2 += 1;
        } else {
            e.1.extend(r.accuracy)
        }
    }
    let mut per_method: BTreeMap<(String, String), Vec<(f64, f64)>> = BTreeMap::new();
    for ((method, backbone, dataset), (b, n, expected)) in &b2n {
        let (bs, ns) = (stat(b), stat(n));
        if bs.n > 0 && ns.n > 0 {
            per_method
                .entry((method.clone(), backbone.clone()))
                .or_default()
                .push((bs.mean, ns.mean));
        }
        rep.base2new.push(B2nRow {
            method: method.clone(),
            backbone: backbone.clone(),
            dataset: dataset.clone(),
            harmonic: harmonic(bs.mean, ns.mean),
            base: bs,
            new: ns,
            expected: *expected,
            paper: paper.base2new(method, backbone, dataset),
            paper_computed: false,
        });
    }
    for ((method, backbone), pairs) in per_method {
        if pairs.len() < 2 {
            continue;
        }
        let b = stat(&pairs.iter().map(|p| p.0).collect::<Vec<_>>());
        let n = stat(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
        let expected = b2n
            .keys()
            .filter(|(m, bb, _)| *m == method && *bb == backbone)
            .count();
        rep.base2new.push(B2nRow {
            expected,
            harmonic: harmonic(b.mean, n.mean),
            base: Stat {
                std: f64::NAN,
                ci95: f64::NAN,
                ..b
            },
            new: Stat {
                std: f64::NAN,
                ci95: f64::NAN,
                ..n
            },
            paper: paper.base2new_average(&method, &backbone).map(|p| p.0),
            paper_computed: paper
                .base2new_average(&method, &backbone)
                .is_some_and(|p| p.1),
            method,
            backbone,
            dataset: "Average".into(),
        });
    }
    // Domain generalization.
    // (method, backbone, source, target) -> (accuracies, runs planned)
    let mut dg: BTreeMap<Key4s, Cell> = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| matches!(r.role, Role::Source | Role::Target))
    {
        let source = if r.role == Role::Source {
            r.dataset.clone()
        } else {
            r.source.clone().unwrap_or_default()
        };
        let e = dg
            .entry((
                r.label.clone(),
                r.backbone.clone(),
                source,
                r.dataset.clone(),
            ))
            .or_default();
        e.0.extend(r.accuracy);
        e.1 += 1;
    }
    let mut targets: BTreeMap<(String, String, String), Vec<f64>> = BTreeMap::new();
    let mut target_cells: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for ((method, backbone, source, target), (v, expected)) in &dg {
        let s = stat(v);
        if target != source {
            *target_cells
                .entry((method.clone(), backbone.clone(), source.clone()))
                .or_default() += 1;
        }
        if target != source && s.n > 0 {
            targets
                .entry((method.clone(), backbone.clone(), source.clone()))
                .or_default()
                .push(s.mean);
        }
        rep.dg.push(DgRow {
            paper: paper.dg(method, backbone, source, target),
            paper_computed: false,
            method: method.clone(),
            backbone: backbone.clone(),
            source: source.clone(),
            target: target.clone(),
            stat: s,
            expected: *expected,
        });
    }
    for ((method, backbone, source), means) in targets {
        if means.len() < 2 {
            continue;
        }
        let s = stat(&means);
        let expected = target_cells
            .get(&(method.clone(), backbone.clone(), source.clone()))
            .copied()
            .unwrap_or(means.len());
        rep.dg.push(DgRow {
            expected,
            paper: paper.dg_average(&method, &backbone, &source).map(|p| p.0),
            paper_computed: paper
                .dg_average(&method, &backbone, &source)
                .is_some_and(|p| p.1),
            stat: Stat {
                std: f64::NAN,
                ci95: f64::NAN,
                ..s
            },
            method,
            backbone,
            source,
            target: "Average".into(),
        });
    }
    rep
}

impl Report {
    pub fn is_empty(&self) -> bool {
        self.fewshot.is_empty() && self.base2new.is_empty() && self.dg.is_empty()
    }
}

/// Writes `reports/summary.{md,csv,json}` (the wide, long and per-seed tables) and the
/// figures (`fewshot.{svg,png}`, `base2new.{svg,png}`) into the output folder (what
/// `dassl run` and the Slurm report job leave behind).
pub fn save(output: &Path, rep: &Report, paper: &Paper) -> Result<(), ReportError> {
    let dir = output.join("reports");
    let cols = format::Columns {
        paper: !paper.is_empty(),
        per_seed: true,
        long: true,
        ..Default::default()
    };
    for (name, text) in [
        ("summary.md", format::markdown(rep, cols)),
        ("summary.csv", format::csv(rep, cols)),
        ("summary.json", format::json(rep)),
    ] {
        let path = dir.join(name);
        crate::fsutil::write_atomic(&path, text.as_bytes())
            .map_err(|source| ReportError::Io { path, source })?;
    }
    plot::write_all(rep, paper, &dir)?;
    Ok(())
}
