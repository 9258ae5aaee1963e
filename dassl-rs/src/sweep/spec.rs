//! Sweep files: the YAML that says which runs a study needs (docs/SWEEPS.md).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::errors::SweepError;

/// What a sweep measures; decides which runs exist and how they are named.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// One run per dataset x shots x seed x variant (CoOp's scripts/coop/main.sh).
    #[default]
    Fewshot,
    /// CoCoOp: train on the base classes, then evaluate that model on the new classes.
    Base2new,
    /// Train on `source`, then evaluate that model on each of `targets` (domain
    /// generalization and cross-dataset transfer).
    #[serde(alias = "cross_dataset")]
    Dg,
}

/// Which trainer config a shot count gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EpochRule {
    /// Always the configured file.
    #[default]
    None,
    /// COOP.md: 1 shot `*_ep50`, 2 and 4 shots `*_ep100`, 8 and 16 the base file; ImageNet
    /// always `*_ep50`.
    Coop,
}

/// A dataset: the stem of `configs/datasets/<stem>.yaml`, or a name registered without a
/// config file (`{key: toy_shapes, name: ToyShapes}` passes `DATASET.NAME ToyShapes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DatasetRef {
    Stem(String),
    Named {
        key: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        config: Option<String>,
    },
}

impl DatasetRef {
    /// The folder name in output paths (CoOp uses the config stem, e.g. `caltech101`).
    pub fn key(&self) -> &str {
        match self {
            DatasetRef::Stem(s) => s,
            DatasetRef::Named { key, .. } => key,
        }
    }
}

/// Per-trainer settings; unset fields fall back to the sweep's top level.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainerSpec {
    /// Trainer config file stem (`rn50`), before the epoch rule.
    pub config: Option<String>,
    /// Folder under `trainer_config_dir` holding it (default: the trainer's name).
    pub config_dir: Option<String>,
    pub epoch_rule: Option<EpochRule>,
    /// KEY: [values]: every combination becomes a variant (cartesian product, in order).
    #[serde(default)]
    pub variants: serde_yaml::Mapping,
    #[serde(default)]
    pub opts: serde_yaml::Mapping,
    /// Row label in reports, with `{trainer}` and variant short names (`{nctx}`, `{csc}`,
    /// `{ctp}`, ...) filled in.
    pub label: Option<String>,
    pub ignores_shots: Option<bool>,
    pub ignores_seeds: Option<bool>,
    /// Runs are `--eval-only` (zero-shot CLIP: nothing is trained).
    pub eval_only: Option<bool>,
}

/// One sweep file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    pub name: Option<String>,
    #[serde(default)]
    pub protocol: Protocol,
    /// DATASET.ROOT of every run (`--root` overrides).
    pub root: Option<String>,
    /// Output folder (`--output` overrides).
    pub output: Option<String>,
    /// Where dataset configs are read: given in the file, relative to the file's folder;
    /// unset, `configs/datasets` of the folder `dassl run` starts in (CoOp's layout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_config_dir: Option<String>,
    /// Where trainer configs are read; as `dataset_config_dir`, default `configs/trainers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trainer_config_dir: Option<String>,
    #[serde(default)]
    pub datasets: Vec<DatasetRef>,
    /// Protocol `dg`: the dataset trained on.
    pub source: Option<DatasetRef>,
    /// Protocol `dg`: the datasets the trained model is evaluated on.
    #[serde(default)]
    pub targets: Vec<DatasetRef>,
    #[serde(default)]
    pub shots: Vec<i64>,
    #[serde(default)]
    pub seeds: Vec<i64>,
    /// Defaults for trainers that do not set their own.
    pub config: Option<String>,
    pub config_dir: Option<String>,
    pub epoch_rule: Option<EpochRule>,
    /// Extra KEY: VALUE opts for every run.
    #[serde(default)]
    pub opts: serde_yaml::Mapping,
    /// Trainer name -> settings, in file order; without `--trainer` all of them run.
    #[serde(default)]
    pub trainers: serde_yaml::Mapping,
    /// Run on the toy world (configs/demo.yaml): its datasets root and pretrained toy CLIP
    /// are made (or reused from the cache) before the sweep starts.
    #[serde(default)]
    pub toy_world: Option<ToyWorldRef>,
    /// Sweep files run after this one by the same command, with the same overrides
    /// (configs/demo.yaml chains its CSC and base-to-new parts, which need other shots or
    /// another protocol); paths relative to the folder the command runs in.
    #[serde(default)]
    pub then: Vec<String>,
}

/// `toy_world:` in a sweep file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToyWorldRef {
    /// Seed of the toy data and of the toy CLIP's pretraining.
    #[serde(default = "default_toy_seed")]
    pub seed: u64,
    /// Pretraining steps of the toy CLIP (default: the demo's budget); fewer make a
    /// quicker, weaker world, as the reduced demo in the tests uses.
    #[serde(default)]
    pub steps: Option<usize>,
}

fn default_toy_seed() -> u64 {
    1
}

/// Default of `dataset_config_dir` (relative to the folder `dassl run` starts in).
pub const DEFAULT_DATASET_DIR: &str = "configs/datasets";
/// Default of `trainer_config_dir`.
pub const DEFAULT_TRAINER_DIR: &str = "configs/trainers";

impl SweepSpec {
    pub fn from_file(path: &Path) -> Result<Self, SweepError> {
        let text = std::fs::read_to_string(path).map_err(|source| SweepError::ReadSpec {
            path: path.into(),
            source,
        })?;
        Self::from_str(&text, path)
    }

    pub fn from_str(text: &str, path: &Path) -> Result<Self, SweepError> {
        let spec: SweepSpec =
            serde_yaml::from_str(text).map_err(|source| SweepError::SpecYaml {
                path: path.into(),
                source,
            })?;
        spec.validate(path)?;
        Ok(spec)
    }

    /// The dataset config folder runs read.
    pub fn dataset_dir(&self) -> &str {
        self.dataset_config_dir
            .as_deref()
            .unwrap_or(DEFAULT_DATASET_DIR)
    }

    /// The trainer config folder runs read.
    pub fn trainer_dir(&self) -> &str {
        self.trainer_config_dir
            .as_deref()
            .unwrap_or(DEFAULT_TRAINER_DIR)
    }

    /// Makes every path the file names relative to `dir` (the file's folder): `root`,
    /// `output`, the config folders and dataset `config:` files. Absolute paths stay.
    pub fn rebase_paths(&mut self, dir: &Path) {
        let re = |p: &mut String| {
            if !p.is_empty() && Path::new(p.as_str()).is_relative() {
                *p = join_lexical(dir, Path::new(p.as_str()))
                    .display()
                    .to_string();
            }
        };
        for p in [
            &mut self.root,
            &mut self.output,
            &mut self.dataset_config_dir,
            &mut self.trainer_config_dir,
        ]
        .into_iter()
        .flatten()
        {
            re(p);
        }
        for d in self
            .datasets
            .iter_mut()
            .chain(self.targets.iter_mut())
            .chain(self.source.iter_mut())
        {
            if let DatasetRef::Named {
                config: Some(c), ..
            } = d
            {
                re(c);
            }
        }
    }

    /// The sweep's name: `name:` or the file stem.
    pub fn name_or(&self, path: &Path) -> String {
        self.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sweep".into())
        })
    }

    /// Trainer names in file order.
    pub fn trainer_names(&self) -> Vec<String> {
        self.trainers
            .keys()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect()
    }

    /// The settings of `trainer`; one not listed gets the top-level defaults.
    pub fn trainer(&self, trainer: &str, path: &Path) -> Result<TrainerSpec, SweepError> {
        match self.trainers.get(trainer) {
            None | Some(serde_yaml::Value::Null) => Ok(TrainerSpec::default()),
            Some(v) => serde_yaml::from_value(v.clone()).map_err(|e| SweepError::Spec {
                path: path.into(),
                what: format!("trainers.{trainer}: {e}"),
            }),
        }
    }

    fn validate(&self, path: &Path) -> Result<(), SweepError> {
        let bad = |what: String| {
            Err(SweepError::Spec {
                path: path.into(),
                what,
            })
        };
        for k in self.trainers.keys() {
            let Some(name) = k.as_str() else {
                return bad(format!("trainer names must be strings, got {k:?}"));
            };
            self.trainer(name, path)?;
        }
        match self.protocol {
            Protocol::Fewshot | Protocol::Base2new if self.datasets.is_empty() => {
                return bad("`datasets` is empty: list at least one dataset".into())
            }
            Protocol::Dg if self.source.is_none() || self.targets.is_empty() => {
                return bad(
                    "protocol dg needs `source` (the dataset trained on) and `targets`".into(),
                )
            }
            _ => {}
        }
        if let Some(s) = self.shots.iter().find(|s| **s < 1) {
            return bad(format!("shots must be positive, got {s}"));
        }
        if let Some(s) = self.seeds.iter().find(|s| **s < 0) {
            return bad(format!("seeds must not be negative, got {s}"));
        }
        Ok(())
    }
}

/// `dir/p` with `.` dropped and `..` taken off `dir` where it can be (`configs` +
/// `../data` is `data`), without touching the file system.
pub fn join_lexical(dir: &Path, p: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in dir.components().chain(p.components()) {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return ".".into();
    }
    out.iter().collect()
}

/// A YAML scalar as a Python literal for the run's KEY VALUE opts (`False`, `1.0`, `end`).
pub fn py_literal(v: &serde_yaml::Value) -> Option<String> {
    use serde_yaml::Value as Y;
    Some(match v {
        Y::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Y::Number(n) if n.is_f64() => {
            let f = n.as_f64()?;
            if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
                format!("{f:.1}")
            } else {
                format!("{f}")
            }
        }
        Y::Number(n) => n.to_string(),
        Y::String(s) => s.clone(),
        Y::Sequence(items) => format!(
            "[{}]",
            items
                .iter()
                .map(py_literal)
                .collect::<Option<Vec<_>>>()?
                .join(", ")
        ),
        _ => return None,
    })
}

/// A mapping of KEY: VALUE as a flat opts list.
pub fn opts_list(
    m: &serde_yaml::Mapping,
    path: &Path,
    what: &str,
) -> Result<Vec<(String, String)>, SweepError> {
    let mut out = Vec::new();
    for (k, v) in m {
        let key = k.as_str().ok_or_else(|| SweepError::Spec {
            path: path.into(),
            what: format!("{what}: keys must be strings"),
        })?;
        let val = py_literal(v).ok_or_else(|| SweepError::Spec {
            path: path.into(),
            what: format!("{what}.{key}: a scalar value is needed, got {v:?}"),
        })?;
        out.push((key.to_string(), val));
    }
    Ok(out)
}

/// Variant lists: KEY -> values (a lone scalar is a one-value list).
pub fn variant_lists(
    m: &serde_yaml::Mapping,
    path: &Path,
    trainer: &str,
) -> Result<Vec<(String, Vec<String>)>, SweepError> {
    let mut out = Vec::new();
    for (k, v) in m {
        let what = format!("trainers.{trainer}.variants");
        let key = k.as_str().ok_or_else(|| SweepError::Spec {
            path: path.into(),
            what: format!("{what}: keys must be strings"),
        })?;
        let items: Vec<serde_yaml::Value> = match v {
            serde_yaml::Value::Sequence(s) => s.clone(),
            other => vec![other.clone()],
        };
        if items.is_empty() {
            return Err(SweepError::Spec {
                path: path.into(),
                what: format!("{what}.{key} is an empty list"),
            });
        }
        let vals = items
            .iter()
            .map(|i| {
                py_literal(i).ok_or_else(|| SweepError::Spec {
                    path: path.into(),
                    what: format!("{what}.{key}: scalar values are needed"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push((key.to_string(), vals));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_keep_python_spelling() {
        let y = |s: &str| serde_yaml::from_str::<serde_yaml::Value>(s).unwrap();
        assert_eq!(py_literal(&y("False")).unwrap(), "False");
        assert_eq!(py_literal(&y("16")).unwrap(), "16");
        assert_eq!(py_literal(&y("1.0")).unwrap(), "1.0");
        assert_eq!(py_literal(&y("0.002")).unwrap(), "0.002");
        assert_eq!(py_literal(&y("end")).unwrap(), "end");
        assert_eq!(py_literal(&y("a photo of a")).unwrap(), "a photo of a");
    }

    #[test]
    fn paths_join_lexically() {
        let j = |d: &str, p: &str| {
            join_lexical(Path::new(d), Path::new(p))
                .display()
                .to_string()
        };
        assert_eq!(j("configs", "../data"), "data");
        assert_eq!(j("", "data"), "data");
        assert_eq!(j("", "../data"), "../data");
        assert_eq!(j("a/b", "./c"), "a/b/c");
        assert_eq!(j("/x", "../../y"), "/y");
        let mut s = SweepSpec::from_str(
            "root: ../data\noutput: out\ndatasets: [dtd, {key: k, config: k.yaml}]\ndataset_config_dir: /abs",
            Path::new("s.yaml"),
        )
        .unwrap();
        s.rebase_paths(Path::new("configs"));
        assert_eq!(s.root.as_deref(), Some("data"));
        assert_eq!(s.output.as_deref(), Some("configs/out"));
        assert_eq!(s.dataset_dir(), "/abs");
        assert_eq!(s.trainer_dir(), DEFAULT_TRAINER_DIR);
        assert!(
            matches!(&s.datasets[1], DatasetRef::Named { config: Some(c), .. } if c == "configs/k.yaml")
        );
    }

    #[test]
    fn specs_are_checked() {
        let p = Path::new("s.yaml");
        assert!(SweepSpec::from_str("datasets: []", p).is_err());
        assert!(SweepSpec::from_str("datasets: [dtd]\nshots: [0]", p).is_err());
        assert!(SweepSpec::from_str("datasets: [dtd]\nbogus: 1", p).is_err());
        assert!(SweepSpec::from_str("protocol: dg\ndatasets: [dtd]", p).is_err());
        let s = SweepSpec::from_str("datasets: [dtd, {key: toy, name: ToyShapes}]\ntrainers: {CoOp: {config: rn50}, ZeroshotCLIP: }", p).unwrap();
        assert_eq!(s.trainer_names(), ["CoOp", "ZeroshotCLIP"]);
        assert_eq!(s.datasets[1].key(), "toy");
        assert!(SweepSpec::from_str("datasets: [dtd]\ntrainers: {CoOp: {bogus: 1}}", p).is_err());
    }
}
