//! Paper-style wide tables, as CoOp's and CoCoOp's: a row per method, a column per
//! dataset, and an Average column. Few-shot: one table per shot count (zero-shot rows in
//! each); base-to-new: Base, New and H tables; domain generalization: the source, then
//! the targets, and the Average over the targets.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{harmonic, Report, Stat};

/// CoOp's dataset order; others follow alphabetically.
const ORDER: &[&str] = &[
    "ImageNet",
    "Caltech101",
    "OxfordPets",
    "StanfordCars",
    "OxfordFlowers",
    "Food101",
    "FGVCAircraft",
    "SUN397",
    "DescribableTextures",
    "EuroSAT",
    "UCF101",
    "ImageNetV2",
    "ImageNetSketch",
    "ImageNetA",
    "ImageNetR",
];

pub(crate) fn order_key(d: &str) -> (usize, String) {
    (
        ORDER.iter().position(|o| *o == d).unwrap_or(ORDER.len()),
        d.to_string(),
    )
}

/// One cell: our statistic over seeds, the runs planned, the published number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    pub stat: Stat,
    pub expected: usize,
    pub paper: Option<f64>,
}

/// The Average column of a row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Avg {
    /// Mean over the datasets with at least one complete run.
    pub mean: f64,
    pub datasets: usize,
    pub expected_datasets: usize,
    pub paper: Option<f64>,
    /// The paper's Average is computed from its per-dataset numbers, not printed in it.
    pub paper_computed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WideRow {
    pub method: String,
    pub backbone: String,
    /// One per column; `None` where the method has no run for that dataset.
    pub cells: Vec<Option<Cell>>,
    pub average: Option<Avg>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WideTable {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<WideRow>,
}

type RowKey = (String, String);

fn table(
    title: String,
    cells: BTreeMap<RowKey, BTreeMap<String, Cell>>,
    averages: BTreeMap<RowKey, Avg>,
    first: Option<&str>,
) -> WideTable {
    let mut columns: Vec<String> = cells
        .values()
        .flat_map(|m| m.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    columns.sort_by_key(|d| (Some(d.as_str()) != first, order_key(d)));
    let rows = cells
        .into_iter()
        .map(|(k, m)| WideRow {
            cells: columns.iter().map(|c| m.get(c).cloned()).collect(),
            average: averages.get(&k).cloned(),
            method: k.0,
            backbone: k.1,
        })
        .collect();
    WideTable {
        title,
        columns,
        rows,
    }
}

/// Every wide table of a report.
pub fn tables(rep: &Report) -> Vec<WideTable> {
    let mut out = Vec::new();
    // Few-shot: a table per shot count; the zero-shot rows are the baseline of each.
    let shots: std::collections::BTreeSet<i64> = rep
        .fewshot
        .iter()
        .map(|r| r.shots)
        .filter(|s| *s > 0)
        .collect();
    let shot_tables: Vec<Option<i64>> = if shots.is_empty() {
        vec![None]
    } else {
        shots.into_iter().map(Some).collect()
    };
    if !rep.fewshot.is_empty() {
        for k in shot_tables {
            let keep = |s: i64| s == 0 || Some(s) == k;
            let mut cells: BTreeMap<RowKey, BTreeMap<String, Cell>> = BTreeMap::new();
            for r in rep.fewshot.iter().filter(|r| keep(r.shots)) {
                cells
                    .entry((r.method.clone(), r.backbone.clone()))
                    .or_default()
                    .insert(
                        r.dataset.clone(),
                        Cell {
                            stat: r.stat,
                            expected: r.expected,
                            paper: r.paper,
                        },
                    );
            }
            let mut averages = BTreeMap::new();
            for a in rep.fewshot_average.iter().filter(|a| keep(a.shots)) {
                averages.insert(
                    (a.method.clone(), a.backbone.clone()),
                    Avg {
                        mean: a.mean,
                        datasets: a.datasets,
                        expected_datasets: a.expected_datasets,
                        paper: a.paper,
                        paper_computed: a.paper_computed,
                    },
                );
            }
            let title = match k {
                Some(k) => format!("Few-shot accuracy (%), {k} shots"),
                None => "Zero-shot accuracy (%)".to_string(),
            };
            out.push(table(title, cells, averages, None));
        }
    }
    // Base to new: Base, New and H.
    if !rep.base2new.is_empty() {
        for (name, pick) in [("Base", 0), ("New", 1), ("H", 2)] {
            let mut cells: BTreeMap<RowKey, BTreeMap<String, Cell>> = BTreeMap::new();
            let mut averages = BTreeMap::new();
            for b in &rep.base2new {
                let key = (b.method.clone(), b.backbone.clone());
                let n = b.base.n.min(b.new.n);
                let stat = match pick {
                    0 => b.base,
                    1 => b.new,
                    _ => Stat {
                        mean: harmonic(b.base.mean, b.new.mean),
                        std: f64::NAN,
                        n,
                        ci95: f64::NAN,
                    },
                };
                let paper = b.paper.map(|p| [p.0, p.1, p.2][pick]);
                if b.dataset == "Average" {
                    averages.insert(
                        key,
                        Avg {
                            mean: stat.mean,
                            datasets: b.base.n.min(b.new.n),
                            expected_datasets: b.expected,
                            paper,
                            paper_computed: b.paper_computed,
                        },
                    );
                } else {
                    cells.entry(key).or_default().insert(
                        b.dataset.clone(),
                        Cell {
                            stat: if pick == 2 {
                                Stat {
                                    mean: if n > 0 { stat.mean } else { f64::NAN },
                                    ..stat
                                }
                            } else {
                                stat
                            },
                            expected: b.expected,
                            paper,
                        },
                    );
                }
            }
            out.push(table(
                format!("Base-to-new generalization (%): {name}"),
                cells,
                averages,
                None,
            ));
        }
    }
    // Domain generalization, per source.
    let sources: std::collections::BTreeSet<&String> = rep.dg.iter().map(|d| &d.source).collect();
    for src in sources {
        let mut cells: BTreeMap<RowKey, BTreeMap<String, Cell>> = BTreeMap::new();
        let mut averages = BTreeMap::new();
        for d in rep.dg.iter().filter(|d| &d.source == src) {
            let key = (d.method.clone(), d.backbone.clone());
            if d.target == "Average" {
                averages.insert(
                    key,
                    Avg {
                        mean: d.stat.mean,
                        datasets: d.stat.n,
                        expected_datasets: d.expected,
                        paper: d.paper,
                        paper_computed: d.paper_computed,
                    },
                );
            } else {
                cells.entry(key).or_default().insert(
                    d.target.clone(),
                    Cell {
                        stat: d.stat,
                        expected: d.expected,
                        paper: d.paper,
                    },
                );
            }
        }
        out.push(table(
            format!("Domain generalization (%): trained on {src}, Average over the targets"),
            cells,
            averages,
            Some(src),
        ));
    }
    out
}

/// Marks a paper Average computed from the paper's per-dataset numbers.
pub const COMPUTED_MARK: &str = "†";

fn cell_text(c: &Cell, ci95: bool, paper: bool) -> String {
    if c.stat.n == 0 {
        return format!("– (0/{}*)", c.expected);
    }
    let spread = if ci95 { c.stat.ci95 } else { c.stat.std };
    let mut s = if c.stat.n > 1 && spread.is_finite() {
        format!("{:.2} ± {:.2}", c.stat.mean, spread)
    } else {
        format!("{:.2}", c.stat.mean)
    };
    if c.stat.n < c.expected {
        let _ = write!(s, " ({}/{}*)", c.stat.n, c.expected);
    }
    if paper {
        if let Some(p) = c.paper {
            let _ = write!(s, " [{p:.2}]");
        }
    }
    s
}

fn avg_text(a: &Avg, paper: bool) -> String {
    let mut s = if a.mean.is_finite() {
        format!("{:.2}", a.mean)
    } else {
        "–".to_string()
    };
    if a.datasets < a.expected_datasets {
        let _ = write!(s, " ({}/{} datasets*)", a.datasets, a.expected_datasets);
    }
    if paper {
        if let Some(p) = a.paper {
            let mark = if a.paper_computed { COMPUTED_MARK } else { "" };
            let _ = write!(s, " [{p:.2}{mark}]");
        }
    }
    s
}

/// The wide tables as Markdown, with their footnotes.
pub fn markdown(tables: &[WideTable], ci95: bool, paper: bool) -> String {
    let mut s = String::new();
    let spread = if ci95 { "95% CI" } else { "std" };
    for t in tables {
        let _ = writeln!(s, "## {}\n", t.title);
        let mut header = vec!["method".to_string(), "backbone".to_string()];
        header.extend(t.columns.iter().cloned());
        header.push("Average".into());
        let _ = writeln!(s, "| {} |", header.join(" | "));
        let rule: Vec<&str> = header
            .iter()
            .enumerate()
            .map(|(i, _)| if i < 2 { "---" } else { "---:" })
            .collect();
        let _ = writeln!(s, "|{}|", rule.join("|"));
        let mut incomplete = false;
        let mut computed = false;
        for r in &t.rows {
            let mut v = vec![r.method.clone(), r.backbone.clone()];
            for c in &r.cells {
                v.push(match c {
                    Some(c) => {
                        incomplete |= c.stat.n < c.expected;
                        cell_text(c, ci95, paper)
                    }
                    None => String::new(),
                });
            }
            v.push(match &r.average {
                Some(a) => {
                    incomplete |= a.datasets < a.expected_datasets;
                    computed |= paper && a.paper_computed && a.paper.is_some();
                    avg_text(a, paper)
                }
                None => String::new(),
            });
            let _ = writeln!(s, "| {} |", v.join(" | "));
        }
        s.push('\n');
        let mut notes = vec![format!(
            "mean ± {spread} over seeds (a single run shows its value)"
        )];
        if paper {
            notes.push("[published value]".into());
        }
        if computed {
            notes.push(format!(
                "{COMPUTED_MARK} the paper prints no Average: computed from every dataset of the paper's table"
            ));
        }
        if incomplete {
            notes.push(
                "(n/planned*) fewer complete runs than planned (`--per-seed` lists every run)"
                    .into(),
            );
        }
        let _ = writeln!(s, "{}\n", notes.join("; "));
    }
    s
}
