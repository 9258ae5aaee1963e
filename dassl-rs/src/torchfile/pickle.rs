//! The pickle writer: protocol 2, opcode for opcode what Python's `pickle.Pickler` emits
//! for the same value (memo `BINPUT` after every container, string and global; batched
//! `APPENDS` / `SETITEMS`), restricted to what `torch.load`'s default `weights_only`
//! unpickler accepts: plain containers, numbers, strings, `OrderedDict`, tensors and
//! `collections.Counter`. Strings and globals are memoized by value (Python memoizes by
//! object identity; the loaded values are the same).

use std::collections::HashMap;

use super::value::{storage_class, TensorRef, Value};
use super::WriteError;

/// Python's `pickle._BATCHSIZE`.
const BATCH: usize = 1000;

/// Classes [`Value::Object`] may name when written: `torch.load(weights_only=True)`
/// rebuilds these from their arguments (MultiStepLR keeps its milestones in a Counter).
const SAFE_CLASSES: &[&str] = &["collections.Counter"];

/// The protocol-2 pickle of `value`.
pub fn pickle(value: &Value) -> Result<Vec<u8>, WriteError> {
    let mut p = Pickler::default();
    p.out.extend_from_slice(&[0x80, 2]);
    p.save(value)?;
    p.out.push(b'.');
    Ok(p.out)
}

#[derive(Debug, Default)]
struct Pickler {
    out: Vec<u8>,
    memo_len: u32,
    strings: HashMap<String, u32>,
    globals: HashMap<String, u32>,
}

impl Pickler {
    fn put(&mut self) -> u32 {
        let i = self.memo_len;
        if let Ok(b) = u8::try_from(i) {
            self.out.extend_from_slice(&[b'q', b]);
        } else {
            self.out.push(b'r');
            self.out.extend_from_slice(&i.to_le_bytes());
        }
        self.memo_len += 1;
        i
    }

    fn get(&mut self, i: u32) {
        if let Ok(b) = u8::try_from(i) {
            self.out.extend_from_slice(&[b'h', b]);
        } else {
            self.out.push(b'j');
            self.out.extend_from_slice(&i.to_le_bytes());
        }
    }

    fn int(&mut self, v: i64) {
        if (0..=0xff).contains(&v) {
            self.out.extend_from_slice(&[b'K', v as u8]);
        } else if (0..=0xffff).contains(&v) {
            self.out.push(b'M');
            self.out.extend_from_slice(&(v as u16).to_le_bytes());
        } else if let Ok(v) = i32::try_from(v) {
            self.out.push(b'J');
            self.out.extend_from_slice(&v.to_le_bytes());
        } else {
            self.long(&v.to_le_bytes());
        }
    }

    /// LONG1 with the shortest two's complement encoding, as `pickle.encode_long`.
    fn long(&mut self, bytes: &[u8]) {
        let mut b = bytes.to_vec();
        while b.len() > 1 {
            let (last, prev) = (b[b.len() - 1], b[b.len() - 2]);
            if (last == 0 && prev & 0x80 == 0) || (last == 0xff && prev & 0x80 != 0) {
                b.pop();
            } else {
                break;
            }
        }
        if b == [0] {
            b.clear();
        }
        if let Ok(n) = u8::try_from(b.len()) {
            self.out.extend_from_slice(&[0x8a, n]);
        } else {
            self.out.push(0x8b);
            self.out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        }
        self.out.extend_from_slice(&b);
    }

    fn str(&mut self, s: &str) {
        if let Some(&i) = self.strings.get(s) {
            return self.get(i);
        }
        self.out.push(b'X');
        self.out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.out.extend_from_slice(s.as_bytes());
        let i = self.put();
        self.strings.insert(s.to_string(), i);
    }

    /// GLOBAL `module\nname\n`, with protocol 2's Python 2 module names.
    fn global(&mut self, qualified: &str) {
        if let Some(&i) = self.globals.get(qualified) {
            return self.get(i);
        }
        let (module, name) = qualified.rsplit_once('.').unwrap_or(("", qualified));
        let module = match module {
            "builtins" => "__builtin__",
            "copyreg" => "copy_reg",
            m => m,
        };
        self.out.push(b'c');
        for part in [module, name] {
            self.out.extend_from_slice(part.as_bytes());
            self.out.push(b'\n');
        }
        let i = self.put();
        self.globals.insert(qualified.to_string(), i);
    }

    fn tuple(&mut self, items: &[Value]) -> Result<(), WriteError> {
        if items.is_empty() {
            self.out.push(b')');
            return Ok(());
        }
        let small = items.len() <= 3;
        if !small {
            self.out.push(b'(');
        }
        for v in items {
            self.save(v)?;
        }
        self.out.push(if small {
            0x84 + items.len() as u8
        } else {
            b't'
        });
        self.put();
        Ok(())
    }

    fn appends(&mut self, items: &[Value]) -> Result<(), WriteError> {
        for batch in items.chunks(BATCH) {
            if let [one] = batch {
                self.save(one)?;
                self.out.push(b'a');
            } else {
                self.out.push(b'(');
                for v in batch {
                    self.save(v)?;
                }
                self.out.push(b'e');
            }
        }
        Ok(())
    }

    fn set_items(&mut self, items: &[(Value, Value)]) -> Result<(), WriteError> {
        for batch in items.chunks(BATCH) {
            if let [(k, v)] = batch {
                self.save(k)?;
                self.save(v)?;
                self.out.push(b's');
            } else {
                self.out.push(b'(');
                for (k, v) in batch {
                    self.save(k)?;
                    self.save(v)?;
                }
                self.out.push(b'u');
            }
        }
        Ok(())
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict())`,
    /// wrapped in `_rebuild_parameter(tensor, requires_grad, OrderedDict())` for parameters.
    fn tensor(&mut self, t: &TensorRef) -> Result<(), WriteError> {
        let class = storage_class(t.storage.kind).ok_or(WriteError::Dtype(t.storage.kind))?;
        if t.parameter {
            self.global("torch._utils._rebuild_parameter");
        }
        self.global("torch._utils._rebuild_tensor_v2");
        self.out.push(b'(');
        self.out.push(b'(');
        self.str("storage");
        self.global(&format!("torch.{class}"));
        self.str(&t.storage.key);
        self.str(&t.storage.location);
        self.int(t.storage.numel);
        self.out.push(b't');
        self.put();
        self.out.push(b'Q');
        self.int(t.offset);
        let ints = |v: &[i64]| v.iter().map(|&i| Value::Int(i)).collect::<Vec<_>>();
        self.tuple(&ints(&t.size))?;
        self.tuple(&ints(&t.stride))?;
        self.out.push(if t.requires_grad && !t.parameter {
            0x88
        } else {
            0x89
        });
        self.empty_ordered_dict();
        self.out.push(b't');
        self.put();
        self.out.push(b'R');
        self.put();
        if t.parameter {
            self.out.push(if t.requires_grad { 0x88 } else { 0x89 });
            self.empty_ordered_dict();
            self.out.push(0x87);
            self.put();
            self.out.push(b'R');
            self.put();
        }
        Ok(())
    }

    fn empty_ordered_dict(&mut self) {
        self.global("collections.OrderedDict");
        self.out.push(b')');
        self.out.push(b'R');
        self.put();
    }

    fn save(&mut self, v: &Value) -> Result<(), WriteError> {
        match v {
            Value::None => self.out.push(b'N'),
            Value::Bool(b) => self.out.push(if *b { 0x88 } else { 0x89 }),
            Value::Int(i) => self.int(*i),
            Value::BigInt(b) => self.long(b),
            Value::Float(f) => {
                self.out.push(b'G');
                self.out.extend_from_slice(&f.to_be_bytes());
            }
            Value::Str(s) => self.str(s),
            Value::Tuple(items) => self.tuple(items)?,
            Value::List(items) => {
                self.out.push(b']');
                self.put();
                self.appends(items)?;
            }
            Value::Dict(items) => {
                self.out.push(b'}');
                self.put();
                self.set_items(items)?;
            }
            Value::OrderedDict(items) => {
                self.empty_ordered_dict();
                self.set_items(items)?;
            }
            // Protocol 2 pickles a set as `set([items])`.
            Value::Set(items) => {
                self.global("builtins.set");
                self.out.push(b']');
                self.put();
                self.appends(items)?;
                self.out.push(0x85);
                self.put();
                self.out.push(b'R');
                self.put();
            }
            Value::Tensor(t) => self.tensor(t)?,
            Value::Object { class, args, state }
                if SAFE_CLASSES.contains(&class.as_str()) && **state == Value::None =>
            {
                let Value::Tuple(args) = args.as_ref() else {
                    return Err(WriteError::Unpicklable {
                        what: format!("{class} with non-tuple arguments"),
                    });
                };
                self.global(class);
                self.tuple(args)?;
                self.out.push(b'R');
                self.put();
            }
            Value::Object { class, .. } => {
                return Err(WriteError::Unpicklable {
                    what: format!(
                        "an instance of {class} (torch.load's weights_only unpickler refuses it)"
                    ),
                })
            }
            Value::Bytes(_) | Value::Storage(_) | Value::Global(_) => {
                return Err(WriteError::Unpicklable {
                    what: format!("a bare {}", v.type_name()),
                })
            }
        }
        Ok(())
    }
}
