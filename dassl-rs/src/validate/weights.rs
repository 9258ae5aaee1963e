//! Checking CLIP weights before a run loads them, without libtorch: a wrong or truncated
//! file must be a clear message, not a panic or a C++ backtrace from inside the run.
//!
//! An OpenAI name must be the cached file with the SHA-256 OpenAI's address carries; a
//! file given by path must hold a complete CLIP by its key names and shapes, read from the
//! safetensors header alone (a TorchScript file is recognised by its SHA-256 when it is one
//! of OpenAI's releases, else its tensors are read through the archive reader).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::clip::model::ClipConfig;
use crate::clip::BackboneEntry;
use crate::config::content_hash;
use crate::registry::RegistryEntry;

/// What is known about good weights: where they are and the architecture they hold.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedWeights {
    pub path: PathBuf,
    pub sha256: String,
    pub config: ClipConfig,
}

/// One weights problem, as the message the user reads.
pub type WeightsProblem = String;

/// Checks `MODEL.BACKBONE.NAME`'s weights (an OpenAI name or a file path).
pub fn check(name: &str) -> Result<CheckedWeights, WeightsProblem> {
    if let Ok(entry) = BackboneEntry::get(name) {
        return check_released(entry);
    }
    let path = Path::new(name);
    if !path.exists() {
        return Err(format!(
            "MODEL.BACKBONE.NAME {name:?} is neither one of OpenAI's CLIP models ({}) nor an existing weights file",
            BackboneEntry::names().join(", ")
        ));
    }
    if !path.is_file() {
        return Err(format!(
            "MODEL.BACKBONE.NAME {name:?} is a folder; expected a CLIP weights file (.pt or .safetensors)"
        ));
    }
    let sha = content_hash::sha256_file(path).map_err(|e| e.to_string())?;
    // A renamed or copied OpenAI file is that release.
    if let Some(entry) = BackboneEntry::all().into_iter().find(|e| e.sha256() == sha) {
        let config = released_config(entry)?;
        return Ok(CheckedWeights {
            path: path.to_path_buf(),
            sha256: sha,
            config,
        });
    }
    let shapes = if path.extension().is_some_and(|e| e == "safetensors") {
        safetensors_shapes(path)?
    } else {
        torchscript_shapes(path)?
    };
    let config = architecture(&shapes, path)?;
    Ok(CheckedWeights {
        path: path.to_path_buf(),
        sha256: sha,
        config,
    })
}

fn released_config(entry: &BackboneEntry) -> Result<ClipConfig, WeightsProblem> {
    ClipConfig::released(entry.name)
        .ok_or_else(|| format!("no architecture is known for OpenAI's {}", entry.name))
}

fn check_released(entry: &'static BackboneEntry) -> Result<CheckedWeights, WeightsProblem> {
    let path = crate::clip::cache_dir().join(entry.file_name());
    if !path.is_file() {
        return Err(format!(
            "CLIP weights {} not found at {}; download them with `dassl clip fetch {}`",
            entry.name,
            path.display(),
            entry.name
        ));
    }
    let sha = content_hash::sha256_file(&path).map_err(|e| e.to_string())?;
    if sha != entry.sha256() {
        return Err(format!(
            "CLIP weights {} at {} have SHA-256 {sha}, expected OpenAI's {} (a truncated or other file); \
             remove it and run `dassl clip fetch {}`",
            entry.name,
            path.display(),
            entry.sha256(),
            entry.name
        ));
    }
    Ok(CheckedWeights {
        path,
        sha256: sha,
        config: released_config(entry)?,
    })
}

/// Key names and shapes from a safetensors header; a file shorter than its header says
/// is truncated.
pub fn safetensors_shapes(path: &Path) -> Result<BTreeMap<String, Vec<i64>>, WeightsProblem> {
    let bad = |why: String| {
        format!(
            "CLIP weights {} are not a valid safetensors file: {why}",
            path.display()
        )
    };
    let mut f = std::fs::File::open(path)
        .map_err(|e| format!("cannot read CLIP weights {}: {e}", path.display()))?;
    let len = f
        .metadata()
        .map_err(|e| format!("cannot read CLIP weights {}: {e}", path.display()))?
        .len();
    let mut n = [0u8; 8];
    f.read_exact(&mut n).map_err(|_| {
        bad(format!(
            "{len} bytes, shorter than the 8-byte header length"
        ))
    })?;
    let n = u64::from_le_bytes(n);
    if n > len.saturating_sub(8) || n > 100 << 20 {
        return Err(bad(format!(
            "the header says it is {n} bytes long, the file has {len} bytes (truncated?)"
        )));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header)
        .map_err(|e| bad(format!("cannot read the header: {e}")))?;
    let json: serde_json::Value =
        serde_json::from_slice(&header).map_err(|e| bad(format!("the header is not JSON: {e}")))?;
    let map = json
        .as_object()
        .ok_or_else(|| bad("the header is not a JSON object".into()))?;
    let mut shapes = BTreeMap::new();
    let mut data_end = 0u64;
    for (key, v) in map {
        if key == "__metadata__" {
            continue;
        }
        let shape: Vec<i64> = v
            .get("shape")
            .and_then(|s| s.as_array())
            .and_then(|a| a.iter().map(|x| x.as_i64()).collect())
            .ok_or_else(|| bad(format!("tensor {key} has no shape")))?;
        let end = v
            .get("data_offsets")
            .and_then(|o| o.as_array())
            .and_then(|a| a.get(1))
            .and_then(|x| x.as_u64())
            .ok_or_else(|| bad(format!("tensor {key} has no data_offsets")))?;
        data_end = data_end.max(end);
        shapes.insert(key.clone(), shape);
    }
    if 8 + n + data_end > len {
        return Err(bad(format!(
            "its tensors need {} bytes, the file has {len} (truncated)",
            8 + n + data_end
        )));
    }
    Ok(shapes)
}

/// Key names and shapes of a TorchScript archive that is not one of OpenAI's releases.
fn torchscript_shapes(path: &Path) -> Result<BTreeMap<String, Vec<i64>>, WeightsProblem> {
    let tensors = crate::clip::weights::read_archive_tensors(path, &|_| true).map_err(|e| {
        format!(
            "CLIP weights {} cannot be read as a TorchScript archive or safetensors file: {e}",
            path.display()
        )
    })?;
    Ok(tensors.into_iter().map(|(k, t)| (k, t.size())).collect())
}

/// The architecture the shapes hold, checked key by key against what it needs.
pub fn architecture(
    shapes: &BTreeMap<String, Vec<i64>>,
    path: &Path,
) -> Result<ClipConfig, WeightsProblem> {
    let config = ClipConfig::from_shapes(shapes).map_err(|reason| {
        format!(
            "CLIP weights {} do not hold a CLIP model with OpenAI's key names: {reason}",
            path.display()
        )
    })?;
    let expected = config.expected_shapes();
    let optional = config.optional_keys();
    let missing: Vec<&String> = expected
        .keys()
        .filter(|k| !shapes.contains_key(*k))
        .collect();
    let unexpected: Vec<&String> = shapes
        .keys()
        .filter(|k| !expected.contains_key(*k) && !optional.contains(*k))
        .collect();
    if !missing.is_empty() || !unexpected.is_empty() {
        let list = |v: &[&String]| {
            let mut s: Vec<String> = v.iter().take(5).map(|k| k.to_string()).collect();
            if v.len() > 5 {
                s.push(format!("and {} more", v.len() - 5));
            }
            s.join(", ")
        };
        return Err(format!(
            "CLIP weights {} are not a complete CLIP: missing keys [{}], unexpected keys [{}]",
            path.display(),
            list(&missing),
            list(&unexpected)
        ));
    }
    for (key, shape) in &expected {
        if &shapes[key] != shape {
            return Err(format!(
                "CLIP weights {}: key {key} has shape {:?}, the architecture its other keys describe needs {shape:?}",
                path.display(),
                shapes[key]
            ));
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_file_passes_and_a_cut_one_is_named_truncated() {
        let _rng = crate::testing::torch_rng();
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var(content_hash::CACHE_ENV, dir.path().join("h.json"));
        let good = dir.path().join("w.safetensors");
        let config = crate::clip::random::tiny_config("tiny-vit").unwrap();
        crate::clip::random::write_random_clip(&good, &config, 1).unwrap();
        let checked = check(good.to_str().unwrap()).unwrap();
        assert_eq!(checked.config, config);
        let bytes = std::fs::read(&good).unwrap();
        let cut = dir.path().join("cut.safetensors");
        std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
        let e = check(cut.to_str().unwrap()).unwrap_err();
        assert!(
            e.contains("truncated") && e.contains("cut.safetensors"),
            "{e}"
        );
        let e = check("RN51").unwrap_err();
        assert!(e.contains("RN51") && e.contains("RN50"), "{e}");
    }
}
