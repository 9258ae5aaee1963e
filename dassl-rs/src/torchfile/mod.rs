//! PyTorch's file format, read and written: the one layer CLIP's TorchScript archives,
//! Dassl checkpoints and `dassl interpret` go through.
//!
//! A file is a stored zip (see [`zip`]) under one root folder: `<root>/data.pkl` pickles
//! the value, each tensor a persistent id naming the entry `<root>/data/<key>` that holds
//! its storage's raw little-endian bytes. [`TorchFile`] reads any such file (`torch.save`
//! output and TorchScript archives alike) with one unpickler ([`unpickle`]) into a
//! [`Value`]; [`save`] writes a value in `torch.save`'s layout (protocol-2 `data.pkl`, then
//! `.format_version`, `.storage_alignment`, `byteorder`, `data/<key>` in key order,
//! `version`, `.data/serialization_id`, every entry's data 64-byte aligned), so that
//! `torch.load` reads it with its default `weights_only=True`.

mod pickle;
mod unpickle;
mod value;
mod zip;

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};

pub use pickle::pickle;
pub use unpickle::{unpickle, UnpickleError};
pub use value::{StorageRef, TensorRef, Value};
pub use zip::ZipError;

use crate::fsutil::write_atomic;
use value::storage_class;

/// What can go wrong reading or writing a PyTorch file; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum TorchFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a readable PyTorch file: {source}")]
    Zip {
        path: PathBuf,
        #[source]
        source: ZipError,
    },
    #[error("{path} has no <root>/data.pkl entry (not a torch.save or TorchScript file)")]
    NoPickle { path: PathBuf },
    #[error("{path} was saved big-endian; only little-endian files are supported")]
    BigEndian { path: PathBuf },
    #[error("{path}: cannot unpickle {entry}: {source}")]
    Unpickle {
        path: PathBuf,
        entry: String,
        #[source]
        source: UnpickleError,
    },
    #[error("{path}: no entry {entry} for a tensor's storage")]
    MissingStorage { path: PathBuf, entry: String },
    #[error(
        "{path}: storage {key} holds {available} {kind:?} elements; the tensor (size {size:?}, \
         stride {stride:?}, offset {offset}) needs {needed}"
    )]
    StorageTooSmall {
        path: PathBuf,
        key: String,
        kind: Kind,
        available: i64,
        needed: i64,
        size: Vec<i64>,
        stride: Vec<i64>,
        offset: i64,
    },
    #[error("{path}: libtorch failed on a stored tensor: {source}")]
    Torch {
        path: PathBuf,
        #[source]
        source: tch::TchError,
    },
    #[error("cannot write {path}: {source}")]
    Encode {
        path: PathBuf,
        #[source]
        source: WriteError,
    },
}

/// Why a value cannot be written as a PyTorch file.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot pickle {what}")]
    Unpicklable { what: String },
    #[error("tensors of dtype {0:?} have no PyTorch storage class")]
    Dtype(Kind),
    #[error("cannot copy a tensor to the CPU: {0}")]
    Torch(#[source] tch::TchError),
    #[error(transparent)]
    Zip(#[from] ZipError),
}

/// Whether `path` starts like a zip file (every PyTorch file since 1.6 does).
pub fn is_zip(path: &Path) -> Result<bool, TorchFileError> {
    let read_err = |source| TorchFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut head = [0u8; 4];
    let mut f = File::open(path).map_err(read_err)?;
    let mut n = 0;
    while n < 4 {
        match f.read(&mut head[n..]).map_err(read_err)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n == 4 && head == *b"PK\x03\x04")
}

/// An opened PyTorch file: its unpickled value, and its storages read on demand.
#[derive(Debug)]
pub struct TorchFile {
    path: PathBuf,
    file: File,
    entries: HashMap<String, zip::Entry>,
    /// `<root>/`, the folder every entry lives in.
    root: String,
    value: Value,
}

impl TorchFile {
    /// Opens `path` and unpickles its `data.pkl`.
    pub fn open(path: &Path) -> Result<TorchFile, TorchFileError> {
        let mut file = File::open(path).map_err(|source| TorchFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let entries = zip::entries(&mut file).map_err(|e| read_failure(path, e))?;
        let pkl = entries
            .keys()
            .filter(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
            .min()
            .cloned()
            .ok_or_else(|| TorchFileError::NoPickle {
                path: path.to_path_buf(),
            })?;
        let root = pkl.trim_end_matches("data.pkl").to_string();
        if let Some(order) = entries.get(&format!("{root}byteorder")) {
            let bytes = order.read(&mut file).map_err(|e| read_failure(path, e))?;
            if bytes != b"little" {
                return Err(TorchFileError::BigEndian {
                    path: path.to_path_buf(),
                });
            }
        }
        let pickle = entries[&pkl]
            .read(&mut file)
            .map_err(|e| read_failure(path, e))?;
        let value = unpickle(&pickle).map_err(|source| TorchFileError::Unpickle {
            path: path.to_path_buf(),
            entry: pkl.clone(),
            source,
        })?;
        Ok(TorchFile {
            path: path.to_path_buf(),
            file,
            entries,
            root,
            value,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The unpickled `data.pkl`.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The tensor `t` refers to, on the CPU, contiguous, with its stored dtype.
    pub fn tensor(&mut self, t: &TensorRef) -> Result<Tensor, TorchFileError> {
        let entry = format!("{}data/{}", self.root, t.storage.key);
        let bytes = self
            .entries
            .get(&entry)
            .ok_or_else(|| TorchFileError::MissingStorage {
                path: self.path.clone(),
                entry: entry.clone(),
            })?
            .read(&mut self.file)
            .map_err(|e| read_failure(&self.path, e))?;
        let kind = t.storage.kind;
        let available = (bytes.len() / kind.elt_size_in_bytes()) as i64;
        let needed = if t.size.contains(&0) {
            0
        } else {
            t.size
                .iter()
                .zip(&t.stride)
                .map(|(n, s)| (n - 1) * s)
                .sum::<i64>()
                + 1
                + t.offset
        };
        if needed > available || t.offset < 0 || t.stride.iter().any(|&s| s < 0) {
            return Err(TorchFileError::StorageTooSmall {
                path: self.path.clone(),
                key: t.storage.key.clone(),
                kind,
                available,
                needed,
                size: t.size.clone(),
                stride: t.stride.clone(),
                offset: t.offset,
            });
        }
        let torch_err = |source| TorchFileError::Torch {
            path: self.path.clone(),
            source,
        };
        let used = available as usize * kind.elt_size_in_bytes();
        Tensor::f_from_data_size(&bytes[..used], &[available], kind)
            .and_then(|s| s.f_as_strided(t.size.as_slice(), t.stride.as_slice(), t.offset))
            .and_then(|v| v.f_contiguous())
            .map_err(torch_err)
    }
}

fn read_failure(path: &Path, e: zip::ReadFailure) -> TorchFileError {
    match e {
        zip::ReadFailure::Io(source) => TorchFileError::Read {
            path: path.to_path_buf(),
            source,
        },
        zip::ReadFailure::Zip(source) => TorchFileError::Zip {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// The storages of a value being built for [`save`]: each tensor added gets its own
/// storage, keyed `0`, `1`, ... in the order added (torch keys storages the same way).
#[derive(Debug, Default)]
pub struct Storages {
    data: Vec<Vec<u8>>,
}

impl Storages {
    pub fn new() -> Self {
        Self::default()
    }

    /// Copies `t` (detached, to the CPU, contiguous) into a new storage and returns the
    /// value that pickles it: a plain tensor with `requires_grad=False`, as in a
    /// `state_dict()`.
    pub fn tensor(&mut self, t: &Tensor) -> Result<Value, WriteError> {
        let kind = t.kind();
        storage_class(kind).ok_or(WriteError::Dtype(kind))?;
        let cpu = t
            .f_detach()
            .and_then(|t| t.f_to_device(Device::Cpu))
            .and_then(|t| t.f_contiguous())
            .map_err(WriteError::Torch)?;
        let numel = cpu.numel();
        let mut bytes = vec![0u8; numel * kind.elt_size_in_bytes()];
        cpu.f_copy_data_u8(&mut bytes, numel)
            .map_err(WriteError::Torch)?;
        let key = self.data.len().to_string();
        self.data.push(bytes);
        Ok(Value::Tensor(TensorRef {
            storage: StorageRef {
                key,
                kind,
                location: "cpu".into(),
                numel: numel as i64,
            },
            offset: 0,
            size: cpu.size(),
            stride: cpu.stride(),
            requires_grad: false,
            parameter: false,
        }))
    }
}

/// torch's root folder for a file name: the basename up to its last `.`
/// (`model.pth.tar-50` -> `model.pth`), as `PyTorchStreamWriter` names it.
pub fn archive_name(path: &Path) -> String {
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = match base.rfind('.') {
        Some(i) => base[..i].to_string(),
        None => base,
    };
    if stem.is_empty() {
        "archive".into()
    } else {
        stem
    }
}

/// The bytes of a `torch.save` file holding `value`, under the root folder `root`.
/// The tensors in `value` must refer to `storages`' keys.
pub fn to_bytes(root: &str, value: &Value, storages: &Storages) -> Result<Vec<u8>, WriteError> {
    let pkl = pickle(value)?;
    let mut w = zip::ZipWriter::default();
    let mut names = Vec::new();
    let mut add = |w: &mut zip::ZipWriter, name: String, data: &[u8]| {
        w.add(&format!("{root}/{name}"), data)?;
        names.push(name);
        Ok::<(), WriteError>(())
    };
    add(&mut w, "data.pkl".into(), &pkl)?;
    add(&mut w, ".format_version".into(), b"1")?;
    let alignment = zip::ALIGNMENT.to_string();
    add(&mut w, ".storage_alignment".into(), alignment.as_bytes())?;
    add(&mut w, "byteorder".into(), b"little")?;
    for (key, bytes) in storages.data.iter().enumerate() {
        add(&mut w, format!("data/{key}"), bytes)?;
    }
    add(&mut w, "version".into(), b"3\n")?;
    // torch's id: 20 digits of combined record-name hashes, 20 of combined CRC-32s. Its
    // name hash is libstdc++'s std::hash over an unordered_set; a SHA-256 of the names in
    // order stands in for it, so the id stays deterministic.
    let name_hash = names.iter().fold(0u64, |seed, name| {
        let d = Sha256::digest(name.as_bytes());
        let h = u64::from_le_bytes(d[..8].try_into().unwrap_or([0; 8]));
        zip::hash_combine(seed, h)
    });
    let id = format!("{name_hash:020}{:020}", w.combined_crc());
    w.add(&format!("{root}/.data/serialization_id"), id.as_bytes())?;
    Ok(w.finish())
}

/// `torch.save(value, path)`: written to a temporary file and renamed, so readers never
/// see half a file.
pub fn save(path: &Path, value: &Value, storages: &Storages) -> Result<(), TorchFileError> {
    let bytes = to_bytes(&archive_name(path), value, storages).map_err(|source| {
        TorchFileError::Encode {
            path: path.to_path_buf(),
            source,
        }
    })?;
    write_atomic(path, &bytes).map_err(|source| TorchFileError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
pub(crate) mod tests;
