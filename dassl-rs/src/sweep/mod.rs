//! Sweeps: a YAML file of datasets x shots x seeds x variants becomes a manifest of runs
//! (`dassl run --sweep FILE`), run by the local executor or as Slurm job arrays, with
//! the rules of rust-stack.md §12.2: a run is complete only when its `result.json`
//! carries its identity (config/identity.rs); every run is validated before the first
//! starts; complete runs are skipped, failed ones retried, interrupted
//! ones resume from their checkpoint. See docs/SWEEPS.md.

pub mod exec;
pub mod local;
pub mod manifest;
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
    /// Extra KEY VALUE opts for every run.
    pub opts: Vec<String>,
}

/// Reads a sweep file, expands and resolves its runs, and builds (without writing) the
/// manifest. Relative paths are taken from `cwd`, where the runs start.
pub fn prepare(
    spec_path: &Path,
    ov: &Overrides,
    cwd: &Path,
    resolver: &dyn Resolver,
) -> Result<Manifest, SweepError> {
    let spec = SweepSpec::from_file(spec_path)?;
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
        root,
        output: output.clone(),
        extra_opts: ov.opts.clone(),
    };
    let runs = expand(&input, resolver)?;
    Ok(Manifest {
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
    })
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
