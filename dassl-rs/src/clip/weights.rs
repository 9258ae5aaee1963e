//! Reading CLIP weight maps with OpenAI's key names from TorchScript archives and safetensors.
//!
//! OpenAI released CLIP only as TorchScript archives. `tch::CModule::named_parameters` gives
//! their parameters, but the BatchNorm running statistics of the ResNet models (and the
//! archives' `input_resolution`/`context_length`/`vocab_size` scalars) are buffers, and tch
//! 0.24 exposes no way to reach a module's buffers: its shim has no `named_buffers`,
//! `CModule` has no attribute access, and `IValue::Object::getattr` cannot be applied to a
//! loaded module because no call hands the module out as an object. So the buffers are read
//! from the archive itself, following PyTorch's documented TorchScript serialization format
//! (`torch/csrc/jit/docs/serialization.md`): an uncompressed zip whose `<root>/data.pkl`
//! pickles the module tree, with each tensor a persistent id pointing at `<root>/data/<key>`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use tch::{nn, CModule, Device, Kind, TchError, Tensor};

use super::model::ClipConfig;
use crate::torchzip::{le16, le32, storage_kind, zip_entries};

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
    /// The TorchScript archive is not laid out as PyTorch writes it.
    #[error("{path} is not a readable TorchScript archive: {reason}")]
    Archive {
        /// The archive.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
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
    let archive_err = |reason: String| ClipError::Archive {
        path: path.to_path_buf(),
        reason,
    };
    let io_err = |source| ClipError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let entries = zip_entries(&mut file).map_err(|e| archive_err(e.to_string()))?;
    let pkl = entries
        .keys()
        .filter(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
        .min()
        .cloned()
        .ok_or_else(|| archive_err("no <root>/data.pkl entry".into()))?;
    let root = pkl.trim_end_matches("data.pkl").to_string();
    if let Some(order) = entries.get(&format!("{root}byteorder")) {
        let bytes = order.read(&mut file).map_err(io_err)?;
        if bytes != b"little" {
            return Err(archive_err("big-endian archives are not supported".into()));
        }
    }
    let pickle = entries[&pkl].read(&mut file).map_err(io_err)?;
    let value = Unpickler::new(&pickle)
        .run()
        .map_err(|e| archive_err(format!("data.pkl: {e}")))?;
    let mut found = Vec::new();
    collect_tensors(&value, "", &mut found);
    let mut out = BTreeMap::new();
    for (name, t) in found {
        if !wanted(&name) {
            continue;
        }
        let key = format!("{root}data/{}", t.storage.key);
        let entry = entries
            .get(&key)
            .ok_or_else(|| archive_err(format!("no entry {key} for {name}")))?;
        let bytes = entry.read(&mut file).map_err(io_err)?;
        let numel = bytes.len() as i64 / t.storage.kind.elt_size_in_bytes() as i64;
        let storage =
            Tensor::f_from_data_size(&bytes, &[numel], t.storage.kind).map_err(|source| {
                ClipError::Torch {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        let tensor = storage
            .f_as_strided(t.size.as_slice(), t.stride.as_slice(), t.offset)
            .and_then(|v| v.f_contiguous())
            .map_err(|e| archive_err(format!("tensor {name}: {e}")))?;
        out.insert(name, tensor);
    }
    Ok(out)
}

/// Walks pickled module objects, naming each tensor by its attribute path.
fn collect_tensors(value: &Value, prefix: &str, out: &mut Vec<(String, PickledTensor)>) {
    if let Value::Object(state) = value {
        if let Value::Dict(items) = state.as_ref() {
            for (k, v) in items {
                let Value::Str(k) = k else { continue };
                match v {
                    Value::Tensor(t) => out.push((format!("{prefix}{k}"), t.clone())),
                    Value::Object(_) => collect_tensors(v, &format!("{prefix}{k}."), out),
                    _ => {}
                }
            }
        }
    }
}

/// A storage referenced by a pickle persistent id.
#[derive(Debug, Clone)]
struct StorageRef {
    key: String,
    kind: Kind,
}

/// A tensor rebuilt by `torch._utils._rebuild_tensor_v2`, data not yet read.
#[derive(Debug, Clone)]
struct PickledTensor {
    storage: StorageRef,
    offset: i64,
    size: Vec<i64>,
    stride: Vec<i64>,
}

/// The pickle values a TorchScript `data.pkl` uses, as far as finding tensors needs.
#[derive(Debug, Clone)]
enum Value {
    None,
    Int(i64),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String),
    Storage(StorageRef),
    Tensor(PickledTensor),
    /// A `NEWOBJ` instance (a module) with the state `BUILD` gave it.
    Object(Box<Value>),
    /// Values whose content never matters here (bools, floats, bytes, other calls).
    Other,
}

impl Value {
    fn int(&self) -> Result<i64, String> {
        match self {
            Value::Int(i) => Ok(*i),
            v => Err(format!("expected an int, found {v:?}")),
        }
    }

    fn ints(&self) -> Result<Vec<i64>, String> {
        match self {
            Value::Tuple(v) | Value::List(v) => v.iter().map(Value::int).collect(),
            v => Err(format!("expected a tuple of ints, found {v:?}")),
        }
    }
}

/// A minimal pickle machine for the protocol-2 subset TorchScript archives use.
struct Unpickler<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
}

impl<'a> Unpickler<'a> {
    fn new(data: &'a [u8]) -> Self {
        Unpickler {
            data,
            pos: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| "truncated pickle".to_string())?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("unterminated pickle line")?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(s)
    }

    fn pop(&mut self) -> Result<Value, String> {
        self.stack
            .pop()
            .ok_or_else(|| "pickle stack underflow".to_string())
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let m = self.marks.pop().ok_or("pickle mark missing")?;
        if m > self.stack.len() {
            return Err("pickle mark beyond stack".into());
        }
        Ok(self.stack.split_off(m))
    }

    fn u32_arg(&mut self) -> Result<u32, String> {
        Ok(le32(self.take(4)?, 0))
    }

    fn run(mut self) -> Result<Value, String> {
        loop {
            let op = self.take(1)?[0];
            match op {
                0x80 => {
                    self.take(1)?;
                } // PROTO
                0x95 => {
                    self.take(8)?;
                } // FRAME
                b'.' => return self.pop(),
                b'(' => self.marks.push(self.stack.len()),
                b'N' => self.stack.push(Value::None),
                0x88 | 0x89 => self.stack.push(Value::Other), // NEWTRUE, NEWFALSE
                b'K' => {
                    let v = self.take(1)?[0];
                    self.stack.push(Value::Int(i64::from(v)));
                }
                b'M' => {
                    let v = le16(self.take(2)?, 0);
                    self.stack.push(Value::Int(i64::from(v)));
                }
                b'J' => {
                    let v = self.u32_arg()? as i32;
                    self.stack.push(Value::Int(i64::from(v)));
                }
                0x8a => {
                    // LONG1: little-endian two's complement of n bytes.
                    let n = usize::from(self.take(1)?[0]);
                    let b = self.take(n)?;
                    if n > 8 {
                        return Err("integer too large".into());
                    }
                    let mut buf = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                        [0xff; 8]
                    } else {
                        [0; 8]
                    };
                    buf[..n].copy_from_slice(b);
                    self.stack.push(Value::Int(i64::from_le_bytes(buf)));
                }
                b'G' => {
                    self.take(8)?;
                    self.stack.push(Value::Other);
                }
                b'X' | 0x8c | b'T' | b'U' => {
                    let n = match op {
                        0x8c | b'U' => usize::from(self.take(1)?[0]),
                        _ => self.u32_arg()? as usize,
                    };
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.stack.push(Value::Str(s));
                }
                b'B' | b'C' => {
                    let n = if op == b'C' {
                        usize::from(self.take(1)?[0])
                    } else {
                        self.u32_arg()? as usize
                    };
                    self.take(n)?;
                    self.stack.push(Value::Other);
                }
                b')' => self.stack.push(Value::Tuple(vec![])),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n {
                        return Err("pickle stack underflow".into());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(items));
                }
                b']' => self.stack.push(Value::List(vec![])),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::List(items));
                }
                b'a' => {
                    let v = self.pop()?;
                    if let Some(Value::List(l)) = self.stack.last_mut() {
                        l.push(v);
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    if let Some(Value::List(l)) = self.stack.last_mut() {
                        l.extend(items);
                    }
                }
                b'}' => self.stack.push(Value::Dict(vec![])),
                b'd' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Dict(pairs(items)));
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    if let Some(Value::Dict(d)) = self.stack.last_mut() {
                        d.push((k, v));
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if let Some(Value::Dict(d)) = self.stack.last_mut() {
                        d.extend(pairs(items));
                    }
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(format!("{module}.{name}")));
                }
                b'q' => {
                    let i = u32::from(self.take(1)?[0]);
                    self.put(i)?;
                }
                b'r' => {
                    let i = self.u32_arg()?;
                    self.put(i)?;
                }
                0x94 => {
                    let i = self.memo.len() as u32;
                    self.put(i)?;
                } // MEMOIZE
                b'h' | b'j' => {
                    let i = if op == b'h' {
                        u32::from(self.take(1)?[0])
                    } else {
                        self.u32_arg()?
                    };
                    let v = self.memo.get(&i).cloned().ok_or("pickle memo miss")?;
                    self.stack.push(v);
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.stack.push(persistent(pid)?);
                }
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    self.stack.push(reduce(f, args)?);
                }
                0x81 => {
                    let _args = self.pop()?;
                    match self.pop()? {
                        Value::Global(_) => self.stack.push(Value::Object(Box::new(Value::None))),
                        v => return Err(format!("NEWOBJ on {v:?}")),
                    }
                }
                b'b' => {
                    let s = self.pop()?;
                    if let Some(Value::Object(state)) = self.stack.last_mut() {
                        **state = s;
                    }
                }
                op => {
                    return Err(format!(
                        "unsupported pickle opcode 0x{op:02x} at byte {}",
                        self.pos - 1
                    ))
                }
            }
        }
    }

    fn put(&mut self, i: u32) -> Result<(), String> {
        let v = self.stack.last().cloned().ok_or("PUT on an empty stack")?;
        self.memo.insert(i, v);
        Ok(())
    }
}

fn pairs(items: Vec<Value>) -> Vec<(Value, Value)> {
    let mut it = items.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// `('storage', <class>, key, location, numel)` persistent ids.
fn persistent(pid: Value) -> Result<Value, String> {
    let Value::Tuple(items) = pid else {
        return Err(format!("persistent id {pid:?}"));
    };
    match items.as_slice() {
        [Value::Str(tag), Value::Global(class), Value::Str(key), ..] if tag == "storage" => {
            let kind = storage_kind(class).ok_or_else(|| format!("unsupported storage {class}"))?;
            Ok(Value::Storage(StorageRef {
                key: key.clone(),
                kind,
            }))
        }
        _ => Err(format!("unsupported persistent id {items:?}")),
    }
}

/// The REDUCE calls that matter: tensor rebuilding and `OrderedDict()`.
fn reduce(f: Value, args: Value) -> Result<Value, String> {
    let name = match &f {
        Value::Global(g) => g.as_str(),
        _ => return Ok(Value::Other),
    };
    let Value::Tuple(args) = args else {
        return Ok(Value::Other);
    };
    match name {
        "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
            let Some(Value::Storage(storage)) = args.first() else {
                return Err(format!("{name} without a storage"));
            };
            let get = |i: usize| {
                args.get(i)
                    .ok_or_else(|| format!("{name}: too few arguments"))
            };
            Ok(Value::Tensor(PickledTensor {
                storage: storage.clone(),
                offset: get(1)?.int()?,
                size: get(2)?.ints()?,
                stride: get(3)?.ints()?,
            }))
        }
        "torch._utils._rebuild_parameter" => Ok(args.into_iter().next().unwrap_or(Value::None)),
        "collections.OrderedDict" => Ok(Value::Dict(vec![])),
        _ => Ok(Value::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(matches!(err, ClipError::Archive { .. }), "{err}");
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
