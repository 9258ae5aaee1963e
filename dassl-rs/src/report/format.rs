//! CSV (one long table), Markdown (one table per section) and JSON output.

use std::fmt::Write as _;

use super::{Report, Stat};

/// What the tables show besides mean, std and n.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Columns {
    /// parse_test_res.py's --ci95 interval.
    pub ci95: bool,
    /// The published number and our mean minus it.
    pub paper: bool,
}

fn f2(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        String::new()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(f2).unwrap_or_default()
}

fn diff(ours: f64, paper: Option<f64>) -> String {
    match paper {
        Some(p) if ours.is_finite() => {
            // Round first, so a match prints +0.00 and never -0.00.
            let d = ((ours - p) * 100.0).round() / 100.0;
            format!("{:+.2}", if d == 0.0 { 0.0 } else { d })
        }
        _ => String::new(),
    }
}

/// One long CSV: `table,method,backbone,dataset,source,shots,metric,mean,std,n,expected[,ci95][,paper,diff]`
/// (`expected`: runs planned for the cell; fewer complete runs than that is an incomplete cell).
pub fn csv(rep: &Report, c: Columns) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "table", "method", "backbone", "dataset", "source", "shots", "metric", "mean", "std", "n",
        "expected",
    ];
    if c.ci95 {
        header.push("ci95");
    }
    if c.paper {
        header.extend(["paper", "diff"]);
    }
    w.write_record(&header).expect("in-memory csv");
    let mut row = |table: &str,
                   method: &str,
                   backbone: &str,
                   dataset: &str,
                   source: &str,
                   shots: String,
                   metric: &str,
                   s: Stat,
                   expected: usize,
                   paper: Option<f64>| {
        let mut r = vec![
            table.to_string(),
            method.to_string(),
            backbone.to_string(),
            dataset.to_string(),
            source.to_string(),
            shots,
            metric.to_string(),
            f2(s.mean),
            f2(s.std),
            s.n.to_string(),
            expected.to_string(),
        ];
        if c.ci95 {
            r.push(f2(s.ci95));
        }
        if c.paper {
            r.push(opt(paper));
            r.push(diff(s.mean, paper));
        }
        w.write_record(&r).expect("in-memory csv");
    };
    for r in &rep.fewshot {
        row(
            "fewshot",
            &r.method,
            &r.backbone,
            &r.dataset,
            "",
            r.shots.to_string(),
            "accuracy",
            r.stat,
            r.expected,
            r.paper,
        );
    }
    for a in &rep.fewshot_average {
        let s = Stat {
            mean: a.mean,
            std: f64::NAN,
            n: a.datasets,
            ci95: f64::NAN,
        };
        row(
            "fewshot_average",
            &a.method,
            &a.backbone,
            "Average",
            "",
            a.shots.to_string(),
            "accuracy",
            s,
            a.expected_datasets,
            a.paper,
        );
    }
    for b in &rep.base2new {
        let h = Stat {
            mean: b.harmonic,
            std: f64::NAN,
            n: b.base.n.min(b.new.n),
            ci95: f64::NAN,
        };
        row(
            "base2new",
            &b.method,
            &b.backbone,
            &b.dataset,
            "",
            String::new(),
            "base",
            b.base,
            b.expected,
            b.paper.map(|p| p.0),
        );
        row(
            "base2new",
            &b.method,
            &b.backbone,
            &b.dataset,
            "",
            String::new(),
            "new",
            b.new,
            b.expected,
            b.paper.map(|p| p.1),
        );
        row(
            "base2new",
            &b.method,
            &b.backbone,
            &b.dataset,
            "",
            String::new(),
            "harmonic",
            h,
            b.expected,
            b.paper.map(|p| p.2),
        );
    }
    for d in &rep.dg {
        row(
            "dg",
            &d.method,
            &d.backbone,
            &d.target,
            &d.source,
            String::new(),
            "accuracy",
            d.stat,
            d.expected,
            d.paper,
        );
    }
    String::from_utf8(w.into_inner().expect("in-memory csv")).expect("utf-8 csv")
}

fn md_table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let text_cols = [
        "method",
        "backbone",
        "dataset",
        "source",
        "target",
        "incomplete cells",
    ];
    let rule: Vec<&str> = header
        .iter()
        .map(|h| if text_cols.contains(h) { "---" } else { "---:" })
        .collect();
    let _ = writeln!(out, "|{}|", rule.join("|"));
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out.push('\n');
}

/// Marks a cell with fewer complete runs than planned.
pub const INCOMPLETE_MARK: &str = "*";

/// `n`, or `n/expected*` for an incomplete cell.
fn count(n: usize, expected: usize) -> String {
    if n >= expected {
        n.to_string()
    } else {
        format!("{n}/{expected}{INCOMPLETE_MARK}")
    }
}

fn footnote(out: &mut String, any: bool) {
    if any {
        let _ = writeln!(
            out,
            "{INCOMPLETE_MARK} incomplete: fewer complete runs than planned (failed, running or not started; `dassl status` says which)\n"
        );
    }
}

fn pm(s: Stat, ci95: bool) -> String {
    if !s.mean.is_finite() {
        return String::new();
    }
    let spread = if ci95 { s.ci95 } else { s.std };
    if spread.is_finite() {
        format!("{:.2} ± {:.2}", s.mean, spread)
    } else {
        f2(s.mean)
    }
}

/// Markdown: a section per table that has rows.
pub fn markdown(rep: &Report, c: Columns) -> String {
    let mut s = String::new();
    let spread = if c.ci95 {
        "mean ± 95% CI"
    } else {
        "mean ± std"
    };
    if !rep.fewshot.is_empty() {
        let _ = writeln!(s, "## Few-shot accuracy (%), {spread} over seeds\n");
        let mut h = vec!["method", "backbone", "dataset", "shots", "accuracy", "n"];
        if c.paper {
            h.extend(["paper", "diff"]);
        }
        let rows: Vec<Vec<String>> = rep
            .fewshot
            .iter()
            .map(|r| {
                let mut v = vec![
                    r.method.clone(),
                    r.backbone.clone(),
                    r.dataset.clone(),
                    r.shots.to_string(),
                    pm(r.stat, c.ci95),
                    count(r.stat.n, r.expected),
                ];
                if c.paper {
                    v.extend([opt(r.paper), diff(r.stat.mean, r.paper)]);
                }
                v
            })
            .collect();
        md_table(&mut s, &h, &rows);
        footnote(&mut s, rep.fewshot.iter().any(|r| !r.complete()));
        let _ = writeln!(s, "## Few-shot average over datasets\n");
        let mut h = vec![
            "method",
            "backbone",
            "shots",
            "accuracy",
            "datasets",
            "incomplete cells",
        ];
        if c.paper {
            h.extend(["paper", "diff"]);
        }
        let rows: Vec<Vec<String>> = rep
            .fewshot_average
            .iter()
            .map(|a| {
                let mut v = vec![
                    a.method.clone(),
                    a.backbone.clone(),
                    a.shots.to_string(),
                    f2(a.mean),
                    count(a.datasets, a.expected_datasets),
                    a.incomplete.join(", "),
                ];
                if c.paper {
                    v.extend([opt(a.paper), diff(a.mean, a.paper)]);
                }
                v
            })
            .collect();
        md_table(&mut s, &h, &rows);
    }
    if !rep.base2new.is_empty() {
        let _ = writeln!(
            s,
            "## Base-to-new generalization (%), {spread} over seeds; H = 2BN/(B+N)\n"
        );
        let mut h = vec!["method", "backbone", "dataset", "base", "new", "H", "n"];
        if c.paper {
            h.extend(["paper base", "paper new", "paper H", "diff H"]);
        }
        let rows: Vec<Vec<String>> = rep
            .base2new
            .iter()
            .map(|b| {
                let mut v = vec![
                    b.method.clone(),
                    b.backbone.clone(),
                    b.dataset.clone(),
                    pm(b.base, c.ci95),
                    pm(b.new, c.ci95),
                    f2(b.harmonic),
                    count(b.base.n.min(b.new.n), b.expected),
                ];
                if c.paper {
                    v.extend([
                        opt(b.paper.map(|p| p.0)),
                        opt(b.paper.map(|p| p.1)),
                        opt(b.paper.map(|p| p.2)),
                        diff(b.harmonic, b.paper.map(|p| p.2)),
                    ]);
                }
                v
            })
            .collect();
        md_table(&mut s, &h, &rows);
        footnote(
            &mut s,
            rep.base2new
                .iter()
                .any(|b| b.base.n.min(b.new.n) < b.expected),
        );
    }
    if !rep.dg.is_empty() {
        let _ = writeln!(s, "## Domain generalization (%), {spread} over seeds\n");
        let mut h = vec!["method", "backbone", "source", "target", "accuracy", "n"];
        if c.paper {
            h.extend(["paper", "diff"]);
        }
        let rows: Vec<Vec<String>> = rep
            .dg
            .iter()
            .map(|d| {
                let mut v = vec![
                    d.method.clone(),
                    d.backbone.clone(),
                    d.source.clone(),
                    d.target.clone(),
                    pm(d.stat, c.ci95),
                    count(d.stat.n, d.expected),
                ];
                if c.paper {
                    v.extend([opt(d.paper), diff(d.stat.mean, d.paper)]);
                }
                v
            })
            .collect();
        md_table(&mut s, &h, &rows);
        footnote(&mut s, rep.dg.iter().any(|d| d.stat.n < d.expected));
    }
    if s.is_empty() {
        s.push_str("No complete runs yet.\n");
    }
    s
}

/// JSON: the tables as they are (NaN, for cells without a spread, becomes null).
pub fn json(rep: &Report) -> String {
    serde_json::to_string_pretty(rep).expect("a report always serialises") + "\n"
}
