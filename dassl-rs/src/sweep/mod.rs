//! Sweeps: a YAML file of datasets x shots x seeds x variants becomes a manifest of runs
//! (`dassl run --sweep FILE`), run by the local executor or as Slurm job arrays, with
//! the rules of rust-stack.md §12.2: a run is complete only when its `result.json`
//! carries its identity (config/identity.rs); every run is validated before the first
//! starts; complete runs are skipped, failed ones retried, interrupted
//! ones resume from their checkpoint. See docs/SWEEPS.md.

pub mod exec;
pub mod local;
pub mod manifest;
pub mod overrides;
pub mod plan;
pub mod progress;
pub mod signals;
pub mod slurm;
pub mod spec;
pub mod status;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use manifest::{is_complete, Manifest};
pub use plan::{expand, PlanInput, Resolved, Resolver, Role, RunMeta, RunPlan};
pub use spec::SweepSpec;

use crate::errors::SweepError;

/// What the command line adds to a sweep file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--trainer` (several allowed); empty: every trainer of the file.
    pub trainers: Vec<String>,
    pub root: Option<String>,
    pub output: Option<PathBuf>,
    /// Extra KEY VALUE opts for every run (one that names an axis replaces it).
    pub opts: Vec<String>,
    /// `--datasets`, `--shots`, `--seeds`, `--variants`, `--filter`.
    pub axes: overrides::AxisOverrides,
}

/// A planned sweep: its manifest, what the command line changed, and the sweep file as
/// the runs see it (written beside the manifest).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub manifest: Manifest,
    /// One line per override applied (the dry-run prints them).
    pub notes: Vec<String>,
    /// The effective sweep file: overrides applied, only the trainers that run, paths
    /// absolute.
    pub effective: SweepSpec,
}

impl Prepared {
    /// `<manifest>.sweep.yaml`, beside the manifest.
    pub fn effective_path(&self) -> PathBuf {
        self.manifest.path().with_extension("sweep.yaml")
    }

    /// Writes the effective sweep file (after the manifest is written).
    pub fn write_effective(&self) -> Result<PathBuf, SweepError> {
        let path = self.effective_path();
        let mut text = format!(
            "# The sweep as run: {} with the command line's overrides applied\n# and its paths made absolute; `dassl run --sweep` this file to run it again.\n",
            self.manifest.spec_file
        );
        for n in &self.notes {
            text.push_str(&format!("# override: {n}\n"));
        }
        text.push_str(
            &serde_yaml::to_string(&self.effective).map_err(|e| SweepError::Spec {
                path: path.clone(),
                what: e.to_string(),
            })?,
        );
        crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|source| SweepError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

/// Reads a sweep file, expands and resolves its runs, and builds (without writing) the
/// manifest. Paths the file names are relative to the file's folder; the command line's
/// (`--root`, `--output`, `spec_path`) to `cwd`, where the runs start.
pub fn prepare(
    spec_path: &Path,
    ov: &Overrides,
    cwd: &Path,
    resolver: &dyn Resolver,
) -> Result<Manifest, SweepError> {
    Ok(prepare_full(spec_path, ov, cwd, resolver)?.manifest)
}

/// [`prepare`], with the overrides' notes and the effective sweep file.
pub fn prepare_full(
    spec_path: &Path,
    ov: &Overrides,
    cwd: &Path,
    resolver: &dyn Resolver,
) -> Result<Prepared, SweepError> {
    let mut spec = SweepSpec::from_file(spec_path)?;
    if let Some(dir) = spec_path.parent() {
        spec.rebase_paths(dir);
    }
    let name = spec.name_or(spec_path);
    let trainers: Vec<String> = if ov.trainers.is_empty() {
        spec.trainer_names()
    } else {
        ov.trainers
            .iter()
            .flat_map(|t| t.split(','))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    };
    if trainers.is_empty() {
        return Err(SweepError::Usage(format!(
            "{} lists no trainers: pass --trainer NAME or add a `trainers:` section",
            spec_path.display()
        )));
    }
    let mut extra_opts = ov.opts.clone();
    let mut notes = overrides::apply(&mut spec, &trainers, &ov.axes, &mut extra_opts)?;
    let output = ov
        .output
        .clone()
        .or_else(|| spec.output.clone().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("output"));
    let output = absolute(cwd, &output);
    let root = ov
        .root
        .clone()
        .or_else(|| spec.root.clone())
        .unwrap_or_default();
    let input = PlanInput {
        spec: &spec,
        spec_path,
        trainers: trainers.clone(),
        root: root.clone(),
        output: output.clone(),
        extra_opts: extra_opts.clone(),
    };
    let runs = expand(&input, resolver)?;
    let (runs, kept) = overrides::filter_runs(runs, &ov.axes.filters)?;
    notes.extend(kept);
    let effective = effective_spec(&spec, &trainers, cwd, &root, &output, &extra_opts);
    let manifest = Manifest {
        version: manifest::MANIFEST_VERSION,
        id: format!("{name}-{}", trainers.join("+")),
        name,
        spec_file: spec_path.display().to_string(),
        protocol: spec.protocol,
        trainers,
        cwd: cwd.to_path_buf(),
        output,
        created: chrono::Local::now().to_rfc3339(),
        runs,
    };
    Ok(Prepared {
        manifest,
        notes,
        effective,
    })
}

/// The sweep file the runs see: only `trainers`, the extra opts folded into `opts`, every
/// path absolute (so the file runs again from any folder).
fn effective_spec(
    spec: &SweepSpec,
    trainers: &[String],
    cwd: &Path,
    root: &str,
    output: &Path,
    extra_opts: &[String],
) -> SweepSpec {
    let mut e = spec.clone();
    let abs = |p: &str| absolute(cwd, Path::new(p)).display().to_string();
    e.root = (!root.is_empty()).then(|| abs(root));
    e.output = Some(output.display().to_string());
    e.dataset_config_dir = Some(abs(spec.dataset_dir()));
    e.trainer_config_dir = Some(abs(spec.trainer_dir()));
    let mut kept = serde_yaml::Mapping::new();
    for t in trainers {
        let v = spec
            .trainers
            .get(t.as_str())
            .cloned()
            .unwrap_or(serde_yaml::Value::Null);
        kept.insert(serde_yaml::Value::String(t.clone()), v);
    }
    e.trainers = kept;
    for pair in extra_opts.chunks(2) {
        if let [k, v] = pair {
            e.opts.insert(
                serde_yaml::Value::String(k.clone()),
                serde_yaml::Value::String(v.clone()),
            );
        }
    }
    for d in e
        .datasets
        .iter_mut()
        .chain(e.targets.iter_mut())
        .chain(e.source.iter_mut())
    {
        if let spec::DatasetRef::Named {
            config: Some(c), ..
        } = d
        {
            *c = abs(c);
        }
    }
    e
}

/// `p` made absolute against `cwd`, without requiring it to exist.
pub fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        let mut out = cwd.to_path_buf();
        for c in p.components() {
            match c {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        out
    }
}
