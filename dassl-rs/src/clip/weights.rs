//! Reading CLIP weight maps with OpenAI's key names from TorchScript archives and safetensors.
//!
//! OpenAI released CLIP only as TorchScript archives. `tch::CModule::named_parameters` gives
//! their parameters, but the BatchNorm running statistics of the ResNet models (and the
//! archives' `input_resolution`/`context_length`/`vocab_size` scalars) are buffers, and tch
//! 0.24 exposes no way to reach a module's buffers: its shim has no `named_buffers`,
//! `CModule` has no attribute access, and `IValue::Object::getattr` cannot be applied to a
//! loaded module because no call hands the module out as an object. So the buffers are read
//! from the archive itself, following PyTorch's documented TorchScript serialization format
//! (`torch/csrc/jit/docs/serialization.md`) with [`crate::torchfile`]: an uncompressed zip
//! whose `<root>/data.pkl` pickles the module tree, each tensor a persistent id pointing at
//! `<root>/data/<key>`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tch::{nn, CModule, Device, TchError, Tensor};

use super::model::ClipConfig;
use crate::torchfile::{TensorRef, TorchFile, TorchFileError, Value};

/// Everything that can go wrong while reading CLIP weights or building the model.
#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    /// A released model name whose file is not in the cache folder.
    #[error(
        "CLIP weights for {name} not found at {path}; download them with `dassl clip fetch {name}`"
    )]
    MissingModel {
        /// The backbone name.
        name: String,
        /// Where the file was looked for.
        path: PathBuf,
    },
    /// Neither a released model name nor an existing file.
    #[error("{name} is neither a CLIP weights file nor one of OpenAI's models ({available})")]
    UnknownModel {
        /// What was asked for.
        name: String,
        /// The released names.
        available: String,
    },
    /// The file could not be opened or read.
    #[error("cannot read CLIP weights {path}: {source}")]
    Io {
        /// The weights file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// libtorch refused the file or an operation on it.
    #[error("libtorch failed on CLIP weights {path}: {source}")]
    Torch {
        /// The weights file.
        path: PathBuf,
        /// The libtorch error.
        #[source]
        source: TchError,
    },
    /// The TorchScript archive is not laid out as PyTorch writes it (the error names it).
    #[error("cannot read the TorchScript archive: {0}")]
    Archive(#[source] TorchFileError),
    /// The key set differs from the one the inferred model needs.
    #[error(
        "CLIP weights {path} do not match the model: missing keys [{}]; unexpected keys [{}]",
        missing.join(", "),
        unexpected.join(", ")
    )]
    KeyMismatch {
        /// The weights file.
        path: PathBuf,
        /// Keys the model needs that the file lacks.
        missing: Vec<String>,
        /// Keys the file holds that the model does not know.
        unexpected: Vec<String>,
    },
    /// A key holds a tensor of the wrong shape.
    #[error("CLIP weights {path}: key `{key}` has shape {found:?}, the model needs {expected:?}")]
    ShapeMismatch {
        /// The weights file.
        path: PathBuf,
        /// The key.
        key: String,
        /// Shape in the file.
        found: Vec<i64>,
        /// Shape the model needs.
        expected: Vec<i64>,
    },
    /// `build_model`'s inference failed (a key it reads is missing or malformed).
    #[error("cannot infer the CLIP configuration from {path}: {reason}")]
    Config {
        /// The weights file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Tensors by OpenAI key name, with the file they came from (for error messages).
#[derive(Debug)]
pub struct WeightMap {
    /// The file the tensors were read from.
    pub source: PathBuf,
    /// Tensors by key, in the dtype stored in the file.
    pub tensors: BTreeMap<String, Tensor>,
}

impl WeightMap {
    /// Reads `.safetensors` files with [`Self::load_safetensors`], anything else as a
    /// TorchScript archive with [`Self::load_torchscript`].
    pub fn load(path: &Path, device: Device) -> Result<WeightMap, ClipError> {
        if path.extension().is_some_and(|e| e == "safetensors") {
            Self::load_safetensors(path, device)
        } else {
            Self::load_torchscript(path, device)
        }
    }

    /// A safetensors file holding a full state dict with OpenAI key names.
    pub fn load_safetensors(path: &Path, device: Device) -> Result<WeightMap, ClipError> {
        let torch_err = |source| ClipError::Torch {
            path: path.to_path_buf(),
            source,
        };
        let tensors = Tensor::read_safetensors(path).map_err(torch_err)?;
        let tensors = tensors
            .into_iter()
            .map(|(k, t)| (k, t.to_device(device)))
            .collect();
        Ok(WeightMap {
            source: path.to_path_buf(),
            tensors,
        })
    }

    /// An OpenAI TorchScript archive: parameters through `CModule::named_parameters`, buffers
    /// (BatchNorm statistics, the three scalars) through [`read_archive_tensors`].
    pub fn load_torchscript(path: &Path, device: Device) -> Result<WeightMap, ClipError> {
        let torch_err = |source| ClipError::Torch {
            path: path.to_path_buf(),
            source,
        };
        let module = CModule::load_on_device(path, device).map_err(torch_err)?;
        let mut tensors: BTreeMap<String, Tensor> = module
            .named_parameters()
            .map_err(torch_err)?
            .into_iter()
            .collect();
        let params: BTreeSet<String> = tensors.keys().cloned().collect();
        let archive = read_archive_tensors(path, &|name: &str| !params.contains(name))?;
        for (name, t) in archive {
            tensors.insert(name, t.to_device(device));
        }
        Ok(WeightMap {
            source: path.to_path_buf(),
            tensors,
        })
    }

    /// The tensor under `key`, or an error naming the file and the key.
    pub fn get(&self, key: &str) -> Result<&Tensor, ClipError> {
        self.tensors.get(key).ok_or_else(|| ClipError::KeyMismatch {
            path: self.source.clone(),
            missing: vec![key.to_string()],
            unexpected: vec![],
        })
    }

    /// Asserts the key set and shapes `config` needs; the archives' scalars and BatchNorm's
    /// `num_batches_tracked` may be present or not.
    pub fn check_keys(&self, config: &ClipConfig) -> Result<(), ClipError> {
        let expected = config.expected_shapes();
        let optional = config.optional_keys();
        let missing: Vec<String> = expected
            .keys()
            .filter(|k| !self.tensors.contains_key(*k))
            .cloned()
            .collect();
        let unexpected: Vec<String> = self
            .tensors
            .keys()
            .filter(|k| !expected.contains_key(*k) && !optional.contains(*k))
            .cloned()
            .collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            return Err(ClipError::KeyMismatch {
                path: self.source.clone(),
                missing,
                unexpected,
            });
        }
        for (key, shape) in &expected {
            let found = self.tensors[key].size();
            if &found != shape {
                return Err(ClipError::ShapeMismatch {
                    path: self.source.clone(),
                    key: key.clone(),
                    found,
                    expected: shape.clone(),
                });
            }
        }
        Ok(())
    }

    /// Copies every variable of `vs` from the tensor with the same key, casting to the
    /// variable's dtype and device (the variables keep their identity, so modules holding
    /// them see the new values).
    pub fn copy_into(&self, vs: &nn::VarStore) -> Result<(), ClipError> {
        let torch_err = |source| ClipError::Torch {
            path: self.source.clone(),
            source,
        };
        let _guard = tch::no_grad_guard();
        let mut variables: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        variables.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, mut var) in variables {
            let src = self.get(&key)?;
            if src.size() != var.size() {
                return Err(ClipError::ShapeMismatch {
                    path: self.source.clone(),
                    key,
                    found: src.size(),
                    expected: var.size(),
                });
            }
            var.f_copy_(src).map_err(torch_err)?;
        }
        Ok(())
    }
}

/// Reads tensor attributes of the module pickled in a TorchScript archive, keyed by dotted
/// module path (`visual.bn1.running_mean`), keeping those `wanted` accepts. Data is read
/// only for wanted tensors, so asking for buffers alone stays cheap on large models.
pub fn read_archive_tensors(
    path: &Path,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<BTreeMap<String, Tensor>, ClipError> {
    let mut file = TorchFile::open(path).map_err(ClipError::Archive)?;
    let mut found = Vec::new();
    collect_tensors(file.value(), "", &mut found);
    let mut out = BTreeMap::new();
    for (name, t) in found {
        if wanted(&name) {
            let tensor = file.tensor(&t).map_err(ClipError::Archive)?;
            out.insert(name, tensor);
        }
    }
    Ok(out)
}

/// Walks pickled module objects (each one's state is its attribute dict), naming each
/// tensor by its attribute path.
fn collect_tensors(value: &Value, prefix: &str, out: &mut Vec<(String, TensorRef)>) {
    let Value::Object { state, .. } = value else {
        return;
    };
    for (k, v) in state.items().unwrap_or_default() {
        let Value::Str(k) = k else { continue };
        match v {
            Value::Tensor(t) => out.push((format!("{prefix}{k}"), t.clone())),
            Value::Object { .. } => collect_tensors(v, &format!("{prefix}{k}."), out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/clip")
            .join(name)
    }

    #[test]
    fn torchscript_and_safetensors_hold_the_same_weights() {
        for family in ["rn", "vit"] {
            let st = WeightMap::load(&fixture(&format!("tiny_{family}.safetensors")), Device::Cpu)
                .unwrap();
            let ts = WeightMap::load(&fixture(&format!("tiny_{family}.pt")), Device::Cpu).unwrap();
            assert_eq!(
                st.tensors.keys().collect::<Vec<_>>(),
                ts.tensors.keys().collect::<Vec<_>>(),
                "{family}"
            );
            for (k, a) in &st.tensors {
                let b = &ts.tensors[k];
                assert_eq!((a.kind(), a.size()), (b.kind(), b.size()), "{family} {k}");
                assert!(a.equal(b), "{family} {k} differs");
            }
        }
    }

    #[test]
    fn torchscript_buffers_come_from_the_archive() {
        let path = fixture("tiny_rn.pt");
        let module = CModule::load(&path).unwrap();
        let params: BTreeSet<String> = module
            .named_parameters()
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        // named_parameters alone misses the buffers: this is why the archive is parsed.
        assert!(!params.contains("visual.bn1.running_mean"));
        let all = read_archive_tensors(&path, &|_: &str| true).unwrap();
        let buffers: Vec<&String> = all.keys().filter(|k| !params.contains(*k)).collect();
        assert!(buffers.iter().any(|k| k.ends_with("running_var")));
        assert_eq!(all["input_resolution"].int64_value(&[]), 64);
        assert_eq!(all["context_length"].int64_value(&[]), 77);
        assert_eq!(
            all["visual.layer2.1.bn3.num_batches_tracked"].int64_value(&[]),
            7
        );
        // The archive's own copy of every parameter agrees with libtorch's.
        for (k, t) in module.named_parameters().unwrap() {
            assert!(all[&k].equal(&t), "{k}");
        }
    }

    #[test]
    fn key_sets_are_checked_with_named_keys() {
        let mut w = WeightMap::load(&fixture("tiny_rn.safetensors"), Device::Cpu).unwrap();
        let cfg = ClipConfig::from_weights(&w).unwrap();
        w.check_keys(&cfg).unwrap();
        assert!(cfg
            .expected_shapes()
            .contains_key("visual.layer1.0.downsample.1.running_var"));
        w.tensors.remove("visual.bn2.running_mean");
        w.tensors.insert(
            "visual.extra".into(),
            Tensor::zeros([1], (Kind::Float, Device::Cpu)),
        );
        let err = w.check_keys(&cfg).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("visual.bn2.running_mean") && msg.contains("visual.extra"),
            "{msg}"
        );
        assert!(msg.contains("tiny_rn.safetensors"), "{msg}");

        let mut w = WeightMap::load(&fixture("tiny_vit.safetensors"), Device::Cpu).unwrap();
        w.tensors.insert(
            "ln_final.bias".into(),
            Tensor::zeros([3], (Kind::Float, Device::Cpu)),
        );
        let cfg = ClipConfig::from_weights(&w).unwrap();
        match w.check_keys(&cfg) {
            Err(ClipError::ShapeMismatch { key, found, .. }) => {
                assert_eq!((key.as_str(), found), ("ln_final.bias", vec![3]));
            }
            other => panic!("expected a shape mismatch, got {other:?}"),
        }
    }

    #[test]
    fn unreadable_files_name_the_file() {
        let missing = fixture("no_such_model.pt");
        let err = WeightMap::load(&missing, Device::Cpu).unwrap_err();
        assert!(err.to_string().contains("no_such_model.pt"), "{err}");
        let not_zip = fixture("make_clip.py");
        let err = read_archive_tensors(&not_zip, &|_: &str| true).unwrap_err();
        assert!(matches!(err, ClipError::Archive(_)), "{err}");
        assert!(err.to_string().contains("make_clip.py"), "{err}");
    }

    #[test]
    fn config_inference_names_the_missing_key() {
        let mut w = WeightMap::load(&fixture("tiny_vit.safetensors"), Device::Cpu).unwrap();
        w.tensors.remove("ln_final.weight");
        let err = ClipConfig::from_weights(&w).unwrap_err().to_string();
        assert!(
            err.contains("ln_final.weight") && err.contains("tiny_vit.safetensors"),
            "{err}"
        );
    }
}
