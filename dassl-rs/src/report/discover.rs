//! Runs outside any sweep: folders made by `dassl train` and CoOp/Dassl output trees,
//! found by their `log.txt`. What a run was comes from the config Dassl prints into
//! `log.txt` (the `** Config **` block, as yacs prints it) and the `** Arguments **` block;
//! its accuracy from `result.json` when dassl-rs wrote one, else from the log as CoOp's
//! `parse_test_res.py` reads it: the last `* accuracy: X%` after the first line
//! `Finish training` (or, in a log with no training, after `=> result`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::Record;
use crate::engine::result::RunResult;
use crate::sweep::Role;

/// Folders never searched for runs: a sweep's bookkeeping and written reports.
const SKIP_DIRS: &[&str] = &[".dassl", "reports", ".git", "tensorboard"];

/// Every folder under `root` (itself included) holding a `log.txt`, sorted; folders in
/// `skip` (sweep runs already read through their manifest) are left out.
pub fn run_folders(root: &Path, skip: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if skip.iter().any(|s| same(s, &d)) {
            continue;
        }
        if d.join("log.txt").is_file() {
            out.push(d.clone());
        }
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false)
                && !SKIP_DIRS.contains(&name.as_str())
            {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn same(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// What a run's `log.txt` says about it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogInfo {
    /// The `** Config **` block, flattened: `DATASET.NAME` -> `Caltech101`.
    pub config: HashMap<String, String>,
    /// The `** Arguments **` block: `eval_only` -> `True`.
    pub args: HashMap<String, String>,
    /// The accuracy parse_test_res.py reads from this log, if any.
    pub accuracy: Option<f64>,
}

/// Flattens yacs' printed config (two spaces per level) into dotted keys.
pub fn parse_yacs(block: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for line in block.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        let Some((key, value)) = t.split_once(':') else {
            continue;
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let mut full: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
        full.push(key);
        let value = value.trim();
        out.insert(full.join("."), value.to_string());
        if value.is_empty() {
            stack.push((indent, key.to_string()));
        }
    }
    out
}

/// parse_test_res.py's rule over one log's text.
pub fn parse_accuracy(text: &str) -> Option<f64> {
    let signal = if text.lines().any(|l| l.trim() == "Finish training") {
        "Finish training"
    } else {
        "=> result"
    };
    let mut go = false;
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line == signal {
            go = true;
        }
        if !go {
            continue;
        }
        if let Some(rest) = line.strip_prefix("* accuracy: ") {
            if let Some(num) = rest.strip_suffix('%') {
                if let Ok(v) = num.parse::<f64>() {
                    found = Some(v);
                }
            }
        }
    }
    found
}

/// Reads `dir/log.txt`: the config and arguments blocks and the accuracy.
pub fn read_log(dir: &Path) -> Option<LogInfo> {
    let text = std::fs::read_to_string(dir.join("log.txt")).ok()?;
    let section = |start: &str, ends: &[&str]| -> String {
        let Some(i) = text.find(start) else {
            return String::new();
        };
        let rest = &text[i + start.len()..];
        // Skip the banner's closing line of stars.
        let rest = rest.split_once('\n').map(|x| x.1).unwrap_or("");
        let rest = rest.split_once('\n').map(|x| x.1).unwrap_or("");
        let end = ends
            .iter()
            .filter_map(|e| rest.find(e))
            .min()
            .unwrap_or(rest.len());
        rest[..end].to_string()
    };
    let config = parse_yacs(&section(
        "** Config **",
        &[
            "Collecting env info",
            "Loading trainer",
            "Setting fixed seed",
        ],
    ));
    let args_block = section("** Arguments **", &["************"]);
    let args = args_block
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(LogInfo {
        config,
        args,
        accuracy: parse_accuracy(&text),
    })
}

/// A run folder as a report record (role, label, shots, seed), or `None` when its log has
/// no config block (not a Dassl run).
fn record(dir: &Path, info: &LogInfo) -> Option<(Record, Option<String>)> {
    let c = |k: &str| info.config.get(k).cloned().unwrap_or_default();
    let trainer = c("TRAINER.NAME");
    let dataset = c("DATASET.NAME");
    if trainer.is_empty() || dataset.is_empty() {
        return None;
    }
    let entry = {
        use crate::registry::RegistryEntry;
        crate::engine::TrainerEntry::get(&trainer).ok()
    };
    let (ignores_shots, ignores_seeds) = entry
        .map(|e| (e.sweep.ignores_shots, e.sweep.ignores_seeds))
        .unwrap_or((false, false));
    let label = match entry {
        Some(e) => {
            let variant: Vec<(String, String)> = e
                .sweep
                .variant_defaults
                .iter()
                .map(|(k, d)| {
                    let v = info
                        .config
                        .get(*k)
                        .cloned()
                        .unwrap_or_else(|| d.to_string());
                    (k.to_string(), v)
                })
                .collect();
            crate::sweep::plan::label_for(&trainer, &Default::default(), &e.sweep, &variant)
        }
        None => trainer.clone(),
    };
    let shots = c("DATASET.NUM_SHOTS").parse::<i64>().unwrap_or(0);
    let shots = if ignores_shots || shots < 0 { 0 } else { shots };
    let seed = c("SEED")
        .parse::<i64>()
        .ok()
        .filter(|s| *s >= 0 && !ignores_seeds);
    let sub = c("DATASET.SUBSAMPLE_CLASSES");
    let eval_only = info.args.get("eval_only").map(String::as_str) == Some("True");
    let model_dir = info
        .args
        .get("model_dir")
        .filter(|m| !m.is_empty())
        .cloned();
    let role = match sub.as_str() {
        "base" => Role::Base,
        "new" => Role::New,
        _ if eval_only && model_dir.is_some() => Role::Target,
        _ => Role::Fewshot,
    };
    let accuracy = RunResult::read(dir).map(|r| r.accuracy).or(info.accuracy);
    Some((
        Record {
            label,
            backbone: crate::sweep::plan::backbone_label(&c("MODEL.BACKBONE.NAME")),
            dataset,
            shots,
            seed,
            role,
            source: None,
            accuracy,
            dir: dir.display().to_string(),
        },
        model_dir,
    ))
}

/// The run folder a `--model-dir` names: the path itself, or a found folder whose path
/// ends with it (CoOp's scripts pass paths relative to the repository they ran in).
fn model_folder(model_dir: &str, found: &[PathBuf]) -> Option<usize> {
    let m = Path::new(model_dir);
    if let Some(i) = found.iter().position(|f| same(f, m)) {
        return Some(i);
    }
    let comps: Vec<_> = m.components().collect();
    for skip in 0..comps.len() {
        let tail: PathBuf = comps[skip..].iter().collect();
        if tail.components().count() < 2 {
            break;
        }
        if let Some(i) = found.iter().position(|f| f.ends_with(&tail)) {
            return Some(i);
        }
    }
    None
}

/// The records of every run folder under `root` outside `skip`. A model evaluated on
/// another dataset makes a domain-generalization pair: its own run also counts as the
/// source row. A folder whose log carries no Dassl config is left out.
pub fn collect_tree(root: &Path, skip: &[PathBuf]) -> Vec<Record> {
    let folders = run_folders(root, skip);
    let mut parsed: Vec<(Record, Option<String>)> = Vec::new();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for f in &folders {
        if let Some(info) = read_log(f) {
            if let Some(r) = record(f, &info) {
                parsed.push(r);
                dirs.push(f.clone());
            }
        }
    }
    let mut sources: Vec<usize> = Vec::new();
    for i in 0..parsed.len() {
        let Some(model) = parsed[i].1.clone() else {
            continue;
        };
        match parsed[i].0.role {
            Role::Target => {
                let m = model_folder(&model, &dirs);
                match m {
                    Some(m) if parsed[m].0.dataset != parsed[i].0.dataset => {
                        parsed[i].0.source = Some(parsed[m].0.dataset.clone());
                        if !sources.contains(&m) {
                            sources.push(m);
                        }
                    }
                    // An evaluation of a model on its own dataset is a plain result.
                    Some(_) => parsed[i].0.role = Role::Fewshot,
                    None => parsed[i].0.source = Some("unknown".into()),
                }
            }
            Role::New => {
                parsed[i].0.source = Some(parsed[i].0.dataset.clone());
            }
            _ => {}
        }
    }
    let mut out: Vec<Record> = parsed.iter().map(|(r, _)| r.clone()).collect();
    for s in sources {
        out.push(Record {
            role: Role::Source,
            ..parsed[s].0.clone()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yacs_blocks_flatten() {
        let c = parse_yacs(
            "DATASET:\n  NAME: Caltech101\n  NUM_SHOTS: 16\n  SOURCE_DOMAINS: ()\nMODEL:\n  BACKBONE:\n    NAME: RN50\n  HEAD:\n    NAME: \nSEED: 1\nTRAINER:\n  COOP:\n    CSC: False\n  NAME: CoOp\n",
        );
        assert_eq!(c["DATASET.NAME"], "Caltech101");
        assert_eq!(c["DATASET.NUM_SHOTS"], "16");
        assert_eq!(c["MODEL.BACKBONE.NAME"], "RN50");
        assert_eq!(c["MODEL.HEAD.NAME"], "");
        assert_eq!(c["SEED"], "1");
        assert_eq!(c["TRAINER.COOP.CSC"], "False");
        assert_eq!(c["TRAINER.NAME"], "CoOp");
    }

    #[test]
    fn accuracy_as_parse_test_res() {
        // Validation results before training ends do not count; the last test result does.
        let log = "=> result\n* accuracy: 10.0%\nFinish training\n=> result\n* accuracy: 61.2%\n* accuracy: 62.5%\n";
        assert_eq!(parse_accuracy(log), Some(62.5));
        assert_eq!(parse_accuracy("=> result\n* accuracy: 58.2%\n"), Some(58.2));
        assert_eq!(parse_accuracy("epoch [1/2]\n"), None);
        assert_eq!(parse_accuracy("* accuracy: 5.0%\nFinish training\n"), None);
    }
}
