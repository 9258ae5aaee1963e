//! The pickle writer and reader against each other (proptests) and against PyTorch:
//! `torch.load` (default `weights_only=True`) reads what [`save`] writes, with the layout
//! `torch.save` gives the same value, and we read what `torch.save` writes.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use proptest::prelude::*;
use tch::{Device, Kind, Tensor};

use super::*;

/// Runs `script` with the project venv's Python (`$DASSL_PYTHON`, set by
/// `scripts/env.sh`) and returns its stdout; `None` (with a visible note) when unset.
pub(crate) fn run_python(script: &str, args: &[&Path]) -> Option<String> {
    let Some(python) = std::env::var_os("DASSL_PYTHON") else {
        // Straight to stderr: the test harness would swallow eprintln! of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED the PyTorch check: DASSL_PYTHON is unset (source scripts/env.sh)"
        );
        return None;
    };
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("cannot start $DASSL_PYTHON");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

/// Python: `same_as_torch_save(obj, ours, theirs)` writes `obj` with `torch.save` to
/// `theirs` and tells whether that file equals `ours` byte for byte, but for the first
/// half of the serialization id (torch hashes the record names with libstdc++'s
/// `std::hash`) and the CRC-32s of the id.
pub(crate) const SAME_AS_TORCH_SAVE: &str = r#"
import struct, zipfile, torch
def _normalized(p):
    b = bytearray(open(p, "rb").read())
    z = zipfile.ZipFile(p)
    cd, crc_half = z.start_dir, None
    for i in z.infolist():
        n, m = struct.unpack("<HH", b[i.header_offset + 26:i.header_offset + 30])
        if i.filename.endswith("/.data/serialization_id"):
            start = i.header_offset + 30 + n + m
            crc_half = bytes(b[start + 20:start + 40])
            b[start:start + i.file_size + 8] = bytes(i.file_size + 8)  # id, descriptor signature, CRC
            b[cd + 16:cd + 20] = bytes(4)  # its CRC in the central directory
        name, extra, comment = struct.unpack("<HHH", b[cd + 28:cd + 34])
        cd += 46 + name + extra + comment
    return bytes(b), crc_half
def same_as_torch_save(obj, ours, theirs):
    torch.save(obj, theirs)
    return _normalized(ours) == _normalized(theirs)
"#;

fn s(x: &str) -> Value {
    Value::Str(x.into())
}

fn tensor_ref(kind: Kind, key: &str) -> impl Strategy<Value = TensorRef> {
    let key = key.to_string();
    (
        prop::collection::vec(0i64..5, 0..4),
        0i64..100,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(size, offset, requires_grad, parameter)| {
            let stride = size.iter().map(|&n| n + 1).collect();
            TensorRef {
                storage: StorageRef {
                    key: key.clone(),
                    kind,
                    location: "cpu".into(),
                    numel: 1000,
                },
                offset,
                size,
                stride,
                requires_grad,
                parameter,
            }
        })
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::None),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        // Wider than 64 bits, in LONG1's minimal encoding (top byte not a sign extension).
        (prop::collection::vec(any::<u8>(), 8..14), 1u8..0x7f).prop_map(|(mut b, top)| {
            b.push(top);
            Value::BigInt(b)
        }),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |f| !f.is_nan())
            .prop_map(Value::Float),
        "[a-z_0-9]{0,6}|\\PC{0,4}".prop_map(Value::Str),
        tensor_ref(Kind::Half, "3").prop_map(Value::Tensor),
        tensor_ref(Kind::Int64, "12").prop_map(Value::Tensor),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        let pairs = prop::collection::vec((inner.clone(), inner.clone()), 0..5);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Tuple),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Set),
            pairs.clone().prop_map(Value::Dict),
            pairs.prop_map(Value::OrderedDict),
            prop::collection::vec((any::<i64>(), 1i64..4), 0..4).prop_map(|c| Value::Object {
                class: "collections.Counter".into(),
                args: Box::new(Value::Tuple(vec![Value::Dict(
                    c.into_iter()
                        .map(|(k, n)| (Value::Int(k), Value::Int(n)))
                        .collect(),
                )])),
                state: Box::new(Value::None),
            }),
        ]
    })
}

proptest! {
    #[test]
    fn pickles_read_back_as_written(v in value()) {
        let bytes = pickle(&v).unwrap();
        prop_assert_eq!(unpickle(&bytes).unwrap(), v);
    }

    #[test]
    fn any_bytes_unpickle_without_panicking(
        body in prop::collection::vec(any::<u8>(), 0..200),
        proto in any::<bool>(),
    ) {
        let data = if proto { [&[0x80u8, 2][..], &body].concat() } else { body };
        let _ = unpickle(&data);
    }

    #[test]
    fn truncated_pickles_are_errors(v in value(), cut in 0.0f64..1.0) {
        let bytes = pickle(&v).unwrap();
        let n = ((bytes.len() - 1) as f64 * cut) as usize;
        prop_assert!(unpickle(&bytes[..n]).is_err());
    }
}

#[test]
fn memoized_containers_are_shared_as_in_python() {
    // {'a': [], 'b': <the same list>} with the list filled after both references exist:
    // `}q\0(X a q\1 ]q\2 X b q\3 h\2 u h\2 K\7 a .` -- pickle memoizes before filling.
    let mut p = vec![0x80, 2, b'}', b'q', 0, b'('];
    p.extend_from_slice(b"X\x01\x00\x00\x00aq\x01]q\x02X\x01\x00\x00\x00bq\x03h\x02u");
    p.extend_from_slice(b"h\x02K\x07a0.");
    let v = unpickle(&p).unwrap();
    let seven = Value::List(vec![Value::Int(7)]);
    assert_eq!(v.get("a"), Some(&seven));
    assert_eq!(v.get("b"), Some(&seven));
}

#[test]
fn unwritable_values_are_refused_by_name() {
    let obj = Value::Object {
        class: "torch.optim.lr_scheduler.CosineAnnealingLR".into(),
        args: Box::new(Value::Tuple(vec![])),
        state: Box::new(Value::None),
    };
    let err = pickle(&Value::List(vec![obj])).unwrap_err().to_string();
    assert!(err.contains("CosineAnnealingLR"), "{err}");
    assert!(pickle(&Value::Bytes(vec![1])).is_err());
    let err = Storages::new()
        .tensor(&Tensor::zeros([2], (Kind::ComplexFloat, Device::Cpu)))
        .unwrap_err();
    assert!(
        matches!(err, WriteError::Dtype(Kind::ComplexFloat)),
        "{err}"
    );
}

/// Every dtype with a storage class, a 0-dim and an empty tensor, a non-contiguous
/// input and a parameter, inside nested containers.
fn sample(storages: &mut Storages) -> (Value, Vec<(String, Tensor)>) {
    let opts = |k| (k, Device::Cpu);
    let mut tensors = vec![
        (
            "float".to_string(),
            Tensor::arange(12, opts(Kind::Float)).reshape([3, 4]).tr() / 3.0,
        ),
        (
            "half".into(),
            Tensor::arange(6, opts(Kind::Float)).to_kind(Kind::Half) - 2.5,
        ),
        (
            "bfloat16".into(),
            Tensor::from_slice(&[1.5f32, -2.25]).to_kind(Kind::BFloat16),
        ),
        ("double".into(), Tensor::from_slice(&[std::f64::consts::PI])),
        (
            "int64".into(),
            Tensor::from_slice(&[i64::MIN, -1, i64::MAX]),
        ),
        ("int32".into(), Tensor::from_slice(&[-7i32, 9])),
        ("int16".into(), Tensor::from_slice(&[-3i16])),
        ("int8".into(), Tensor::from_slice(&[-128i8, 127])),
        ("uint8".into(), Tensor::from_slice(&[0u8, 255])),
        ("bool".into(), Tensor::from_slice(&[true, false, true])),
        ("scalar".into(), Tensor::from(0.5f32)),
        ("empty".into(), Tensor::zeros([0, 3], opts(Kind::Float))),
    ];
    let mut state_dict = Vec::new();
    for (name, t) in &tensors {
        state_dict.push((s(name), storages.tensor(t).unwrap()));
    }
    let mut param = storages
        .tensor(&Tensor::ones([2], opts(Kind::Float)))
        .unwrap();
    if let Value::Tensor(t) = &mut param {
        t.parameter = true;
        t.requires_grad = true;
    }
    tensors.push(("param".into(), Tensor::ones([2], opts(Kind::Float))));
    let value = Value::str_dict([
        ("state_dict", Value::OrderedDict(state_dict)),
        ("param", param),
        ("epoch", Value::Int(50)),
        ("big", Value::Int(1 << 40)),
        ("neg", Value::Int(-70000)),
        ("val_result", Value::None),
        ("lr", Value::Float(0.001_992_114_701_314_478)),
        (
            "flags",
            Value::Tuple(vec![Value::Bool(true), Value::Bool(false)]),
        ),
        (
            "nested",
            Value::Dict(vec![(
                Value::Int(0),
                Value::List(vec![s("a"), s("a"), Value::Float(-0.0)]),
            )]),
        ),
        (
            "milestones",
            Value::Object {
                class: "collections.Counter".into(),
                args: Box::new(Value::Tuple(vec![Value::Dict(vec![(
                    Value::Int(30),
                    Value::Int(2),
                )])])),
                state: Box::new(Value::None),
            },
        ),
        ("set", Value::Set(vec![Value::Int(3)])),
        ("unicode", s("ctx ✓ 学")),
    ]);
    (value, tensors)
}

fn check_tensors(file: &mut TorchFile, value: &Value, tensors: &[(String, Tensor)]) {
    let sd = value.get("state_dict").unwrap().items().unwrap().to_vec();
    for ((name, want), (k, v)) in tensors.iter().zip(&sd) {
        assert_eq!(k.as_str(), Some(name.as_str()));
        let got = file.tensor(v.as_tensor().unwrap()).unwrap();
        assert_eq!(
            (got.kind(), got.size()),
            (want.kind(), want.size()),
            "{name}"
        );
        assert!(got.equal(&want.contiguous()), "{name}");
    }
}

#[test]
fn saved_files_read_back_and_equal_values_give_equal_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.pth.tar-50");
    let mut storages = Storages::new();
    let (value, tensors) = sample(&mut storages);
    save(&path, &value, &storages).unwrap();
    let mut file = TorchFile::open(&path).unwrap();
    assert_eq!(file.value(), &value);
    check_tensors(&mut file, &value, &tensors);
    let param = file.value().get("param").unwrap().as_tensor().unwrap();
    assert!(param.parameter && param.requires_grad);
    // Same value, same bytes: the serialization id is deterministic.
    let again = dir.path().join("again").join("model.pth.tar-50");
    save(&again, &value, &storages).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&again).unwrap()
    );
}

#[test]
fn torch_load_reads_our_files_and_we_read_torch_saves() {
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("model.pth.tar-50");
    let mut storages = Storages::new();
    let (value, tensors) = sample(&mut storages);
    save(&ours, &value, &storages).unwrap();
    let theirs_dir = dir.path().join("torch");
    std::fs::create_dir(&theirs_dir).unwrap();
    let theirs = theirs_dir.join("model.pth.tar-50");
    // Loads ours with torch.load's defaults (weights_only=True), describes it, saves it
    // again with torch.save, and compares the two files byte for byte.
    let script = r#"
import json, struct, sys, zipfile, collections, torch
ours, theirs = sys.argv[1], sys.argv[2]
obj = torch.load(ours)
def desc(v):
    if isinstance(v, torch.Tensor):
        return {"tensor": str(v.dtype), "shape": list(v.shape), "param": isinstance(v, torch.nn.Parameter),
                "requires_grad": v.requires_grad,
                "bits": [struct.unpack("<Q", struct.pack("<d", x))[0] for x in v.double().flatten().tolist()]}
    if isinstance(v, collections.Counter):
        return {"Counter": sorted(v.items())}
    if isinstance(v, collections.OrderedDict):
        return {"OrderedDict": [[k, desc(x)] for k, x in v.items()]}
    if isinstance(v, dict):
        return {"dict": [[repr(k), desc(x)] for k, x in v.items()]}
    if isinstance(v, (list, tuple, set)):
        return {type(v).__name__: [desc(x) for x in v]}
    return repr(v)
roots = sorted({i.filename.split("/")[0] for i in zipfile.ZipFile(ours).infolist()})
same = same_as_torch_save(obj, ours, theirs)
print(json.dumps({"value": desc(obj), "roots": roots, "same_bytes": same}))
"#;
    let script = format!("{SAME_AS_TORCH_SAVE}{script}");
    let Some(out) = run_python(&script, &[&ours, &theirs]) else {
        return;
    };
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        got["same_bytes"], true,
        "torch.save of the loaded value is not byte-identical to our file (name half of the serialization id aside)"
    );
    assert_eq!(got["roots"], serde_json::json!(["model.pth"]));
    let v = &got["value"]["dict"];
    let field = |name: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|p| p[0] == format!("'{name}'"))
            .unwrap_or_else(|| panic!("{name} missing in {v}"))[1]
            .clone()
    };
    assert_eq!(field("epoch"), "50");
    assert_eq!(field("big"), (1i64 << 40).to_string());
    assert_eq!(field("neg"), "-70000");
    assert_eq!(field("val_result"), "None");
    assert_eq!(field("lr"), "0.001992114701314478");
    assert_eq!(field("unicode"), "'ctx ✓ 学'");
    assert_eq!(
        field("milestones"),
        serde_json::json!({"Counter": [[30, 2]]})
    );
    assert_eq!(field("set"), serde_json::json!({"set": ["3"]}));
    assert_eq!(
        field("nested"),
        serde_json::json!({"dict": [["0", {"list": ["'a'", "'a'", "-0.0"]}]]})
    );
    let param = field("param");
    assert_eq!(
        (param["param"].as_bool(), param["requires_grad"].as_bool()),
        (Some(true), Some(true))
    );
    let sd = field("state_dict")["OrderedDict"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(sd.len(), tensors.len() - 1);
    for (entry, (name, t)) in sd.iter().zip(&tensors) {
        assert_eq!(entry[0], name.as_str());
        let shape: Vec<i64> = serde_json::from_value(entry[1]["shape"].clone()).unwrap();
        assert_eq!(shape, t.size(), "{name}");
        let got: Vec<u64> = serde_json::from_value(entry[1]["bits"].clone()).unwrap();
        let want = Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).unwrap();
        let want: Vec<u64> = want.into_iter().map(f64::to_bits).collect();
        assert_eq!(got, want, "{name}");
        let dtype = match t.kind() {
            Kind::Float => "float32",
            Kind::Half => "float16",
            Kind::BFloat16 => "bfloat16",
            Kind::Double => "float64",
            Kind::Int64 => "int64",
            Kind::Int => "int32",
            Kind::Int16 => "int16",
            Kind::Int8 => "int8",
            Kind::Uint8 => "uint8",
            Kind::Bool => "bool",
            k => panic!("{k:?}"),
        };
        assert_eq!(entry[1]["tensor"], format!("torch.{dtype}"), "{name}");
    }
    // And torch.save's file of the same value reads back as ours did.
    let mut file = TorchFile::open(&theirs).unwrap();
    let v = file.value().clone();
    check_tensors(&mut file, &v, &tensors);
    assert_eq!(v.get("epoch"), Some(&Value::Int(50)));
    assert_eq!(v.get("milestones"), value.get("milestones"));
}
