//! Command-line overrides of a sweep file's axes, as Hydra users expect: `--datasets`,
//! `--shots`, `--seeds` and `--variants KEY=V1,V2` replace an axis, `--filter` keeps the
//! runs whose fields match, and a trailing `KEY VALUE` that names an axis
//! (`DATASET.NUM_SHOTS 4`, `SEED 3`, a variant key) replaces that axis instead of being
//! silently overridden by it. What changed is said in notes the dry-run prints.

use serde_yaml::{Mapping, Value};
use thiserror::Error;

use super::plan::{short_name, RunPlan};
use super::spec::{DatasetRef, SweepSpec};

/// The axis flags of `dassl run`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AxisOverrides {
    /// Dataset keys (or DATASET.NAME) kept from the file, or config stems added.
    pub datasets: Option<Vec<String>>,
    pub shots: Option<Vec<i64>>,
    pub seeds: Option<Vec<i64>>,
    /// `KEY=V1,V2`, each replacing (or adding) one variant axis.
    pub variants: Vec<String>,
    /// Every filter must match a run for it to be kept.
    pub filters: Vec<String>,
}

#[derive(Debug, Error, PartialEq)]
pub enum OverrideError {
    #[error("--variants {0:?}: expected KEY=V1,V2")]
    BadVariant(String),
    #[error("{key} {value}: {reason}")]
    BadAxisValue {
        key: String,
        value: String,
        reason: String,
    },
    #[error("{key} is given twice ({first}) and ({second}); say it once")]
    Collision {
        key: String,
        first: String,
        second: String,
    },
    #[error("DATASET.NAME {value} is ambiguous: the sweep has {count} datasets; pick them with --datasets")]
    AmbiguousDataset { value: String, count: usize },
    #[error("--filter {0:?}: expected FIELD=GLOB, FIELD!=GLOB, FIELD<N (<=, >, >=) or a glob over the run folder")]
    BadFilter(String),
    #[error("--filter {filter:?}: no field {field:?} (fields: {known})")]
    UnknownField {
        filter: String,
        field: String,
        known: String,
    },
    #[error("the filters {0:?} keep no run")]
    NothingLeft(Vec<String>),
}

/// Splits `a,b c` into items (commas or spaces).
fn items(s: &str) -> impl Iterator<Item = &str> {
    s.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty())
}

/// Parses `--shots 1,2,4` / `--seeds 1 2 3` values (each flag value may hold a list).
pub fn parse_ints(values: &[String], flag: &str) -> Result<Vec<i64>, OverrideError> {
    let mut out = Vec::new();
    for v in values {
        for it in items(v) {
            out.push(it.parse().map_err(|_| OverrideError::BadAxisValue {
                key: flag.into(),
                value: it.into(),
                reason: "not an integer".into(),
            })?);
        }
    }
    Ok(out)
}

/// Flattens comma lists of names.
pub fn parse_names(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| items(v).map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn fmt_list<T: std::fmt::Display>(v: &[T]) -> String {
    format!(
        "[{}]",
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Records one source for an axis; a second, different one is an ambiguous collision.
fn claim(
    seen: &mut Vec<(String, String)>,
    axis: &str,
    source: String,
) -> Result<(), OverrideError> {
    if let Some((_, first)) = seen.iter().find(|(a, _)| a == axis) {
        return Err(OverrideError::Collision {
            key: axis.into(),
            first: first.clone(),
            second: source,
        });
    }
    seen.push((axis.into(), source));
    Ok(())
}

/// Applies the overrides to `spec` (for the trainers that run) and takes the trailing opts
/// that name an axis out of `extra_opts`. Returns one note per change, for the dry-run.
pub fn apply(
    spec: &mut SweepSpec,
    trainers: &[String],
    ov: &AxisOverrides,
    extra_opts: &mut Vec<String>,
) -> Result<Vec<String>, super::SweepError> {
    let mut notes = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    // Trailing KEY VALUE pairs first: those naming an axis become axis overrides.
    let mut axis_opts: Vec<(String, String)> = Vec::new();
    let mut rest = Vec::new();
    let mut known_variant_keys: Vec<String> = Vec::new();
    for t in trainers {
        if let Some(Value::Mapping(tm)) = spec.trainers.get(t.as_str()) {
            if let Some(Value::Mapping(v)) = tm.get("variants") {
                known_variant_keys.extend(v.keys().filter_map(|k| k.as_str().map(String::from)));
            }
        }
    }
    for pair in extra_opts.chunks(2) {
        let [k, v] = pair else {
            rest.extend(pair.iter().cloned());
            continue;
        };
        let is_axis = matches!(k.as_str(), "DATASET.NUM_SHOTS" | "SEED" | "DATASET.NAME")
            || known_variant_keys.contains(k);
        if let Some((_, prev)) = axis_opts.iter().find(|(kk, _)| kk == k) {
            if prev != v {
                return Err(OverrideError::Collision {
                    key: k.clone(),
                    first: format!("{k} {prev}"),
                    second: format!("{k} {v}"),
                }
                .into());
            }
            continue;
        }
        if is_axis {
            axis_opts.push((k.clone(), v.clone()));
        } else {
            rest.push(k.clone());
            rest.push(v.clone());
        }
    }
    *extra_opts = rest;

    let mut shots = ov.shots.clone().map(|s| (s, "--shots".to_string()));
    let mut seeds = ov.seeds.clone().map(|s| (s, "--seeds".to_string()));
    let mut datasets = ov.datasets.clone().map(|d| (d, "--datasets".to_string()));
    if shots.is_some() {
        claim(&mut seen, "shots", "--shots".into())?;
    }
    if seeds.is_some() {
        claim(&mut seen, "seeds", "--seeds".into())?;
    }
    if datasets.is_some() {
        claim(&mut seen, "datasets", "--datasets".into())?;
    }
    let mut variants: Vec<(String, Vec<String>, String)> = Vec::new();
    for v in &ov.variants {
        let (k, vals) = v
            .split_once('=')
            .ok_or_else(|| OverrideError::BadVariant(v.clone()))?;
        let vals: Vec<String> = items(vals).map(str::to_string).collect();
        if k.trim().is_empty() || vals.is_empty() {
            return Err(OverrideError::BadVariant(v.clone()).into());
        }
        claim(&mut seen, k.trim(), format!("--variants {v}"))?;
        variants.push((k.trim().to_string(), vals, format!("--variants {v}")));
    }
    for (k, v) in axis_opts {
        let src = format!("{k} {v}");
        let int = |v: &str| {
            v.parse::<i64>().map_err(|_| OverrideError::BadAxisValue {
                key: k.clone(),
                value: v.into(),
                reason: "not an integer".into(),
            })
        };
        match k.as_str() {
            "DATASET.NUM_SHOTS" => {
                claim(&mut seen, "shots", src.clone())?;
                shots = Some((vec![int(&v)?], src));
            }
            "SEED" => {
                claim(&mut seen, "seeds", src.clone())?;
                seeds = Some((vec![int(&v)?], src));
            }
            "DATASET.NAME" => {
                let all: Vec<&DatasetRef> = spec.datasets.iter().collect();
                let matching: Vec<&DatasetRef> = all
                    .iter()
                    .copied()
                    .filter(|d| dataset_matches(d, &v))
                    .collect();
                if matching.is_empty() && all.len() != 1 {
                    return Err(OverrideError::AmbiguousDataset {
                        value: v.clone(),
                        count: all.len(),
                    }
                    .into());
                }
                claim(&mut seen, "datasets", src.clone())?;
                if matching.is_empty() {
                    // One dataset in the file: the opt renames it, as it would in a run.
                    rest_opt(extra_opts, &k, &v);
                    notes.push(format!("{src}: passed to the runs of the one dataset"));
                } else {
                    datasets = Some((vec![v.clone()], src));
                }
            }
            _ => {
                claim(&mut seen, &k, src.clone())?;
                variants.push((k.clone(), vec![v.clone()], src));
            }
        }
    }
    if let Some((s, src)) = shots {
        notes.push(format!(
            "{src} replaces the shots axis {} with {}",
            fmt_list(&spec.shots),
            fmt_list(&s)
        ));
        spec.shots = s;
    }
    if let Some((s, src)) = seeds {
        notes.push(format!(
            "{src} replaces the seeds axis {} with {}",
            fmt_list(&spec.seeds),
            fmt_list(&s)
        ));
        spec.seeds = s;
    }
    if let Some((names, src)) = datasets {
        let before: Vec<String> = spec.datasets.iter().map(|d| d.key().to_string()).collect();
        let picked: Vec<DatasetRef> = names
            .iter()
            .map(|n| {
                spec.datasets
                    .iter()
                    .find(|d| dataset_matches(d, n))
                    .cloned()
                    .unwrap_or_else(|| DatasetRef::Stem(n.clone()))
            })
            .collect();
        let after: Vec<String> = picked.iter().map(|d| d.key().to_string()).collect();
        notes.push(format!(
            "{src} replaces the datasets axis {} with {}",
            fmt_list(&before),
            fmt_list(&after)
        ));
        spec.datasets = picked;
    }
    for (key, vals, src) in variants {
        let mut applied = Vec::new();
        let listed: Vec<&String> = trainers
            .iter()
            .filter(|t| trainer_lists(spec, t, &key))
            .collect();
        let targets: Vec<String> = if listed.is_empty() {
            trainers.to_vec()
        } else {
            listed.into_iter().cloned().collect()
        };
        for t in &targets {
            let before = set_variant(spec, t, &key, &vals);
            applied.push(match before {
                Some(b) => format!("{t}: {b} -> {}", fmt_list(&vals)),
                None => format!("{t}: new axis {}", fmt_list(&vals)),
            });
        }
        notes.push(format!(
            "{src} replaces the variant axis {key} ({})",
            applied.join("; ")
        ));
    }
    for f in &ov.filters {
        Filter::parse(f)?;
        notes.push(format!("--filter {f}"));
    }
    Ok(notes)
}

fn rest_opt(extra: &mut Vec<String>, k: &str, v: &str) {
    extra.push(k.to_string());
    extra.push(v.to_string());
}

fn dataset_matches(d: &DatasetRef, n: &str) -> bool {
    d.key() == n
        || matches!(d, DatasetRef::Named { name: Some(name), .. } if name == n)
        || d.key().eq_ignore_ascii_case(n)
}

fn trainer_lists(spec: &SweepSpec, trainer: &str, key: &str) -> bool {
    use crate::registry::RegistryEntry;
    let registered = crate::engine::TrainerEntry::get(trainer)
        .map(|e| e.sweep.variant_defaults.iter().any(|(k, _)| *k == key))
        .unwrap_or(false);
    registered
        || matches!(spec.trainers.get(trainer),
            Some(Value::Mapping(tm)) if matches!(tm.get("variants"),
                Some(Value::Mapping(v)) if v.contains_key(key)))
}

/// Sets `trainers.<t>.variants.<key>` to `vals`; returns the list it replaced.
fn set_variant(spec: &mut SweepSpec, trainer: &str, key: &str, vals: &[String]) -> Option<String> {
    let entry = spec
        .trainers
        .entry(Value::String(trainer.into()))
        .or_insert(Value::Mapping(Mapping::new()));
    if !entry.is_mapping() {
        *entry = Value::Mapping(Mapping::new());
    }
    let tm = entry.as_mapping_mut().expect("a mapping");
    let vm = tm
        .entry(Value::String("variants".into()))
        .or_insert(Value::Mapping(Mapping::new()));
    if !vm.is_mapping() {
        *vm = Value::Mapping(Mapping::new());
    }
    let vm = vm.as_mapping_mut().expect("a mapping");
    let new = Value::Sequence(vals.iter().map(|v| yaml_scalar(v)).collect());
    let before = vm.insert(Value::String(key.into()), new).map(|b| match b {
        Value::Sequence(s) => fmt_list(
            &s.iter()
                .map(|x| super::spec::py_literal(x).unwrap_or_default())
                .collect::<Vec<_>>(),
        ),
        other => super::spec::py_literal(&other).unwrap_or_default(),
    });
    before
}

/// A command-line value as the YAML scalar a sweep file would hold (so `False` stays a
/// boolean and `16` a number, and the runs get the same Python literals).
fn yaml_scalar(v: &str) -> Value {
    match v {
        "True" | "true" => Value::Bool(true),
        "False" | "false" => Value::Bool(false),
        _ => serde_yaml::from_str::<Value>(v)
            .ok()
            .filter(|y| matches!(y, Value::Number(_)))
            .unwrap_or_else(|| Value::String(v.into())),
    }
}

/// One `--filter`: `FIELD=GLOB`, `FIELD!=GLOB`, `FIELD<N` (`<=`, `>`, `>=`) or a bare glob
/// over the run folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    field: Option<String>,
    op: Op,
    value: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The fields a filter can name.
pub const FILTER_FIELDS: &[&str] = &[
    "dataset", "trainer", "label", "shots", "seed", "backbone", "cfg", "role", "dir",
];

impl Filter {
    pub fn parse(s: &str) -> Result<Filter, OverrideError> {
        let ops = [
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("=", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        for (tok, op) in ops {
            if let Some((f, v)) = s.split_once(tok) {
                let f = f.trim();
                if f.is_empty() || f.contains(['*', '?', '/']) {
                    return Err(OverrideError::BadFilter(s.into()));
                }
                if matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge)
                    && v.trim().parse::<f64>().is_err()
                {
                    return Err(OverrideError::BadFilter(s.into()));
                }
                return Ok(Filter {
                    field: Some(f.to_string()),
                    op,
                    value: v.trim().to_string(),
                });
            }
        }
        if s.trim().is_empty() {
            return Err(OverrideError::BadFilter(s.into()));
        }
        Ok(Filter {
            field: None,
            op: Op::Eq,
            value: s.trim().to_string(),
        })
    }

    /// The values a run has for `field` (a dataset has its key and its name; a variant key
    /// is named in full or by its short name, e.g. `csc`).
    fn values(run: &RunPlan, field: &str) -> Option<Vec<String>> {
        let m = &run.meta;
        Some(match field {
            "dataset" => vec![m.dataset_key.clone(), m.dataset.clone()],
            "trainer" => vec![m.trainer.clone()],
            "label" | "method" => vec![m.label.clone()],
            "shots" => vec![m.shots.to_string()],
            "seed" => vec![m.seed.map(|s| s.to_string()).unwrap_or_default()],
            "backbone" => vec![m.backbone.clone()],
            "cfg" => vec![m.cfg.clone()],
            "role" => vec![format!("{:?}", m.role).to_lowercase()],
            "dir" => vec![run.dir.clone()],
            other => {
                let v: Vec<String> = m
                    .variant
                    .iter()
                    .filter(|(k, _)| k == other || short_name(k) == other)
                    .map(|(_, v)| v.clone())
                    .collect();
                if v.is_empty() {
                    return None;
                }
                v
            }
        })
    }

    /// Whether `run` passes; `Err` names a field no run has.
    fn matches(&self, run: &RunPlan) -> Option<bool> {
        let field = self.field.as_deref().unwrap_or("dir");
        let vals = Self::values(run, field)?;
        Some(match self.op {
            Op::Eq => vals.iter().any(|v| glob(&self.value, v)),
            Op::Ne => !vals.iter().any(|v| glob(&self.value, v)),
            op => {
                let want: f64 = self.value.parse().unwrap_or(f64::NAN);
                vals.iter()
                    .filter_map(|v| v.parse::<f64>().ok())
                    .any(|x| match op {
                        Op::Lt => x < want,
                        Op::Le => x <= want,
                        Op::Gt => x > want,
                        _ => x >= want,
                    })
            }
        })
    }
}

/// `*` (any run of characters) and `?` (one character); case-sensitive.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Keeps the runs every filter matches, and the runs whose models those evaluate (an
/// evaluation cannot run without its model); indices in `after` follow. Returns the notes
/// on what was kept.
pub fn filter_runs(
    runs: Vec<RunPlan>,
    filters: &[String],
) -> Result<(Vec<RunPlan>, Vec<String>), OverrideError> {
    if filters.is_empty() {
        return Ok((runs, Vec::new()));
    }
    let parsed: Vec<Filter> = filters
        .iter()
        .map(|f| Filter::parse(f))
        .collect::<Result<_, _>>()?;
    let mut keep = vec![false; runs.len()];
    for (i, r) in runs.iter().enumerate() {
        let mut all = true;
        for (f, text) in parsed.iter().zip(filters) {
            match f.matches(r) {
                Some(true) => {}
                Some(false) => all = false,
                None => {
                    // A variant key some runs lack does not match them; a field no run
                    // has at all is a typo.
                    let field = f.field.clone().unwrap_or_default();
                    if !runs.iter().any(|r| Filter::values(r, &field).is_some()) {
                        let mut known: Vec<String> =
                            FILTER_FIELDS.iter().map(|s| s.to_string()).collect();
                        for r in &runs {
                            for (k, _) in &r.meta.variant {
                                let s = short_name(k);
                                if !known.contains(&s) {
                                    known.push(s);
                                }
                            }
                        }
                        return Err(OverrideError::UnknownField {
                            filter: text.clone(),
                            field,
                            known: known.join(", "),
                        });
                    }
                    all = false;
                }
            }
        }
        keep[i] = all;
    }
    let matched = keep.iter().filter(|k| **k).count();
    if matched == 0 {
        return Err(OverrideError::NothingLeft(filters.to_vec()));
    }
    // Models of kept evaluations.
    let mut added = 0;
    for i in 0..runs.len() {
        if keep[i] {
            if let Some(a) = runs[i].after {
                if !keep[a] {
                    keep[a] = true;
                    added += 1;
                }
            }
        }
    }
    let mut index = vec![usize::MAX; runs.len()];
    let mut out = Vec::new();
    for (i, r) in runs.into_iter().enumerate() {
        if keep[i] {
            index[i] = out.len();
            out.push(r);
        }
    }
    for r in &mut out {
        r.after = r.after.map(|a| index[a]);
    }
    let total = index.len();
    let mut notes = vec![format!(
        "filters keep {matched} of {total} runs{}",
        if added > 0 {
            format!(" and the {added} run(s) whose models they evaluate")
        } else {
            String::new()
        }
    )];
    notes.retain(|n| !n.is_empty());
    Ok((out, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("dtd", "dtd"));
        assert!(glob("*", ""));
        assert!(glob("euro*", "eurosat"));
        assert!(glob("*/seed?", "dtd/CoOp/x/seed1"));
        assert!(!glob("euro*", "dtd"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
    }

    #[test]
    fn filters_parse() {
        assert!(Filter::parse("shots>=4").is_ok());
        assert!(Filter::parse("shots>four").is_err());
        assert!(Filter::parse("=x").is_err());
        let f = Filter::parse("dataset!=imagenet").unwrap();
        assert_eq!(f.op, Op::Ne);
        let g = Filter::parse("*/seed1").unwrap();
        assert_eq!(g.field, None);
    }

    #[test]
    fn lists_parse() {
        assert_eq!(
            parse_ints(&["1,2".into(), "4".into()], "--shots").unwrap(),
            [1, 2, 4]
        );
        assert!(parse_ints(&["x".into()], "--shots").is_err());
        assert_eq!(parse_names(&["dtd,eurosat".into()]), ["dtd", "eurosat"]);
    }
}
