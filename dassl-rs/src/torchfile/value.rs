//! The Python values PyTorch files hold: what the unpickler produces and the pickler writes.

use tch::Kind;

/// One storage named by a pickle persistent id
/// `('storage', torch.<Type>Storage, key, location, numel)`; its bytes are the archive
/// entry `<root>/data/<key>`.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageRef {
    pub key: String,
    pub kind: Kind,
    /// Where the tensor lived when saved (`cpu`, `cuda:0`); data is always read to the CPU.
    pub location: String,
    /// Number of elements.
    pub numel: i64,
}

/// A tensor rebuilt by `torch._utils._rebuild_tensor_v2` (possibly wrapped in
/// `_rebuild_parameter`): a strided view of a storage. Data is read on demand with
/// [`super::TorchFile::tensor`].
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRef {
    pub storage: StorageRef,
    /// Offset into the storage, in elements.
    pub offset: i64,
    pub size: Vec<i64>,
    pub stride: Vec<i64>,
    pub requires_grad: bool,
    /// Pickled as an `nn.Parameter`.
    pub parameter: bool,
}

/// A Python value. Containers keep insertion order (Python dicts do), so a file written
/// from a value lists its keys in the same order.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An int wider than 64 bits: little-endian two's complement bytes, as LONG1 holds it.
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Set(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// `collections.OrderedDict`, which `state_dict()` returns.
    OrderedDict(Vec<(Value, Value)>),
    Tensor(TensorRef),
    /// A storage not wrapped in a tensor (pre-1.0 files pickle them bare).
    Storage(StorageRef),
    /// A class or function, `module.qualname` (`__builtin__` spelled `builtins`).
    Global(String),
    /// An instance: `class` called with `args` (REDUCE, NEWOBJ), then given `state` by
    /// BUILD (`Value::None` when it got none). TorchScript modules, Python schedulers and
    /// optimizers, `collections.Counter`, ... are objects.
    Object {
        class: String,
        args: Box<Value>,
        state: Box<Value>,
    },
}

impl Value {
    /// The entries of a dict, an OrderedDict, or an object whose state is a dict (its
    /// attributes, as a pickled Python object keeps them).
    pub fn items(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Dict(d) | Value::OrderedDict(d) => Some(d),
            Value::Object { state, .. } => state.items(),
            _ => None,
        }
    }

    /// The value under the string key `key` of a dict-like value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.items()?
            .iter()
            .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
            .map(|(_, v)| v)
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// A float, or an int read as one (Python code mixes `0` and `0.0` freely).
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items of a list or tuple.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_tensor(&self) -> Option<&TensorRef> {
        match self {
            Value::Tensor(t) => Some(t),
            _ => None,
        }
    }

    /// A short name of the variant, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Dict(_) => "dict",
            Value::OrderedDict(_) => "OrderedDict",
            Value::Tensor(_) => "Tensor",
            Value::Storage(_) => "Storage",
            Value::Global(_) => "global",
            Value::Object { .. } => "object",
        }
    }

    /// A dict with string keys, in the given order.
    pub fn str_dict<K: Into<String>>(items: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Dict(
            items
                .into_iter()
                .map(|(k, v)| (Value::Str(k.into()), v))
                .collect(),
        )
    }
}

/// PyTorch's legacy storage class names (what `data.pkl` names) and their dtypes.
const STORAGE_CLASSES: &[(&str, Kind)] = &[
    ("FloatStorage", Kind::Float),
    ("HalfStorage", Kind::Half),
    ("DoubleStorage", Kind::Double),
    ("BFloat16Storage", Kind::BFloat16),
    ("LongStorage", Kind::Int64),
    ("IntStorage", Kind::Int),
    ("ShortStorage", Kind::Int16),
    ("CharStorage", Kind::Int8),
    ("ByteStorage", Kind::Uint8),
    ("BoolStorage", Kind::Bool),
];

/// The dtype of a storage class (`torch.FloatStorage`).
pub(crate) fn storage_kind(class: &str) -> Option<Kind> {
    let name = class.rsplit('.').next()?;
    STORAGE_CLASSES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, k)| *k)
}

/// The storage class torch pickles for a dtype, as `torch.<Type>Storage`.
pub(crate) fn storage_class(kind: Kind) -> Option<&'static str> {
    STORAGE_CLASSES
        .iter()
        .find(|(_, k)| *k == kind)
        .map(|(n, _)| *n)
}
