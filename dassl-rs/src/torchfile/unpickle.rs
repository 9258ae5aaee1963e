//! One pickle machine for every PyTorch file dassl-rs reads: `torch.save` dicts (protocol
//! 2, or higher with `pickle_protocol`) and TorchScript archives' module trees.
//!
//! Nothing is executed: a call of a global (REDUCE, NEWOBJ) becomes [`Value::Object`]
//! unless it is one of the few constructors PyTorch files are built from (tensor and
//! parameter rebuilding, `OrderedDict`, `defaultdict`, `set`, bytes), which become the
//! matching [`Value`]. Containers live in an arena while the machine runs, so a container
//! memoized before its items were added (pickle always does that) is shared, as in Python.

use std::collections::HashMap;

use super::value::{storage_kind, StorageRef, TensorRef, Value};

/// Why `data.pkl` could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnpickleError {
    #[error("truncated pickle")]
    Truncated,
    #[error("unsupported pickle opcode 0x{op:02x} at byte {at}")]
    UnsupportedOpcode { op: u8, at: usize },
    #[error("pickle stack underflow at byte {at}")]
    StackUnderflow { at: usize },
    #[error("pickle MARK missing at byte {at}")]
    NoMark { at: usize },
    #[error("pickle memo has no entry {index}")]
    MemoMiss { index: u32 },
    #[error("malformed number {text:?} at byte {at}")]
    BadNumber { text: String, at: usize },
    #[error("{op} at byte {at} applied to a {found}, expected a {expected}")]
    WrongTarget {
        op: &'static str,
        at: usize,
        expected: &'static str,
        found: &'static str,
    },
    #[error("unsupported persistent id {found}")]
    BadPersistentId { found: String },
    #[error("unsupported storage class {class}")]
    UnknownStorage { class: String },
    #[error("{function}: {problem}")]
    BadCall {
        function: String,
        problem: &'static str,
    },
    #[error("the pickled value nests deeper than {limit} levels (or refers to itself)")]
    TooDeep { limit: usize },
    #[error("the pickled value expands to more than {limit} items")]
    TooLarge { limit: usize },
}

type Result<T> = std::result::Result<T, UnpickleError>;

/// Index into the arena.
type Id = usize;

#[derive(Debug, Clone)]
enum Node {
    Leaf(Value),
    Tuple(Vec<Id>),
    List(Vec<Id>),
    Set(Vec<Id>),
    Dict(Vec<(Id, Id)>),
    OrderedDict(Vec<(Id, Id)>),
    Object {
        class: String,
        args: Id,
        state: Option<Id>,
    },
}

impl Node {
    fn type_name(&self) -> &'static str {
        match self {
            Node::Leaf(v) => v.type_name(),
            Node::Tuple(_) => "tuple",
            Node::List(_) => "list",
            Node::Set(_) => "set",
            Node::Dict(_) => "dict",
            Node::OrderedDict(_) => "OrderedDict",
            Node::Object { .. } => "object",
        }
    }
}

/// Nesting limit of the value handed out (also what stops self-referencing containers).
const MAX_DEPTH: usize = 512;
/// Size limit of the value handed out: shared subtrees are copied, so a hostile pickle
/// could otherwise expand exponentially.
const MAX_ITEMS: usize = 50_000_000;

/// Unpickles one pickle stream.
pub fn unpickle(data: &[u8]) -> Result<Value> {
    Machine {
        data,
        pos: 0,
        nodes: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    }
    .run()
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    nodes: Vec<Node>,
    stack: Vec<Id>,
    marks: Vec<usize>,
    memo: HashMap<u32, Id>,
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn le_u64(b: &[u8]) -> u64 {
    u64::from(le_u32(b)) | (u64::from(le_u32(&b[4..])) << 32)
}

/// LONG1/LONG4 payload: little-endian two's complement.
fn long_value(b: &[u8]) -> Value {
    if b.len() > 8 {
        return Value::BigInt(b.to_vec());
    }
    let mut buf = if b.last().is_some_and(|&x| x & 0x80 != 0) {
        [0xff; 8]
    } else {
        [0; 8]
    };
    buf[..b.len()].copy_from_slice(b);
    Value::Int(i64::from_le_bytes(buf))
}

/// Python 3's names for the Python 2 modules protocol-2 pickles name (`fix_imports`).
fn global_name(module: &str, name: &str) -> String {
    let module = match module {
        "__builtin__" => "builtins",
        "copy_reg" => "copyreg",
        m => m,
    };
    format!("{module}.{name}")
}

impl<'a> Machine<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(UnpickleError::Truncated)?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn len4(&mut self) -> Result<usize> {
        Ok(le_u32(self.take(4)?) as usize)
    }

    fn len8(&mut self) -> Result<usize> {
        usize::try_from(le_u64(self.take(8)?)).map_err(|_| UnpickleError::Truncated)
    }

    fn line(&mut self) -> Result<&'a str> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(UnpickleError::Truncated)?;
        self.pos += n + 1;
        std::str::from_utf8(&rest[..n]).map_err(|_| UnpickleError::BadNumber {
            text: String::from_utf8_lossy(&rest[..n]).into_owned(),
            at: self.pos - n - 1,
        })
    }

    fn decimal<T: std::str::FromStr>(&mut self) -> Result<T> {
        let at = self.pos;
        let text = self.line()?;
        text.trim().parse().map_err(|_| UnpickleError::BadNumber {
            text: text.to_string(),
            at,
        })
    }

    fn add(&mut self, node: Node) -> Id {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn push(&mut self, node: Node) {
        let id = self.add(node);
        self.stack.push(id);
    }

    fn push_value(&mut self, v: Value) {
        self.push(Node::Leaf(v));
    }

    fn pop(&mut self) -> Result<Id> {
        self.stack
            .pop()
            .ok_or(UnpickleError::StackUnderflow { at: self.pos })
    }

    fn top(&self) -> Result<Id> {
        self.stack
            .last()
            .copied()
            .ok_or(UnpickleError::StackUnderflow { at: self.pos })
    }

    fn pop_mark(&mut self) -> Result<Vec<Id>> {
        let m = self
            .marks
            .pop()
            .ok_or(UnpickleError::NoMark { at: self.pos })?;
        if m > self.stack.len() {
            return Err(UnpickleError::NoMark { at: self.pos });
        }
        Ok(self.stack.split_off(m))
    }

    fn memo_get(&mut self, index: u32) -> Result<()> {
        let id = *self
            .memo
            .get(&index)
            .ok_or(UnpickleError::MemoMiss { index })?;
        self.stack.push(id);
        Ok(())
    }

    fn memo_put(&mut self, index: u32) -> Result<()> {
        let id = self.top()?;
        self.memo.insert(index, id);
        Ok(())
    }

    fn wrong(&self, op: &'static str, expected: &'static str, id: Id) -> UnpickleError {
        UnpickleError::WrongTarget {
            op,
            at: self.pos.saturating_sub(1),
            expected,
            found: self.nodes[id].type_name(),
        }
    }

    fn append(&mut self, items: Vec<Id>) -> Result<()> {
        let target = self.top()?;
        match &mut self.nodes[target] {
            Node::List(l) => l.extend(items),
            _ => return Err(self.wrong("APPEND", "list", target)),
        }
        Ok(())
    }

    fn set_items(&mut self, items: Vec<Id>) -> Result<()> {
        let target = self.top()?;
        let pairs = items.chunks_exact(2).map(|p| (p[0], p[1]));
        match &mut self.nodes[target] {
            Node::Dict(d) | Node::OrderedDict(d) => d.extend(pairs),
            _ => return Err(self.wrong("SETITEM", "dict", target)),
        }
        Ok(())
    }

    fn text_string(&mut self, n: usize) -> Result<()> {
        let s = String::from_utf8_lossy(self.take(n)?).into_owned();
        self.push_value(Value::Str(s));
        Ok(())
    }

    fn run(mut self) -> Result<Value> {
        loop {
            let op = self.byte()?;
            match op {
                0x80 => {
                    self.byte()?; // PROTO
                }
                0x95 => {
                    self.take(8)?; // FRAME
                }
                b'.' => {
                    let id = self.pop()?;
                    let mut budget = 0usize;
                    return self.resolve(id, 0, &mut budget);
                }
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let id = self.top()?;
                    self.stack.push(id);
                }
                b'N' => self.push_value(Value::None),
                0x88 => self.push_value(Value::Bool(true)),
                0x89 => self.push_value(Value::Bool(false)),
                b'I' => {
                    let at = self.pos;
                    let v = match self.line()? {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        t => Value::Int(t.parse().map_err(|_| UnpickleError::BadNumber {
                            text: t.to_string(),
                            at,
                        })?),
                    };
                    self.push_value(v);
                }
                b'K' => {
                    let v = self.byte()?;
                    self.push_value(Value::Int(i64::from(v)));
                }
                b'M' => {
                    let b = self.take(2)?;
                    self.push_value(Value::Int(i64::from(u16::from_le_bytes([b[0], b[1]]))));
                }
                b'J' => {
                    let v = le_u32(self.take(4)?) as i32;
                    self.push_value(Value::Int(i64::from(v)));
                }
                0x8a => {
                    let n = usize::from(self.byte()?);
                    let b = self.take(n)?;
                    self.push_value(long_value(b));
                }
                0x8b => {
                    let n = self.len4()?;
                    let b = self.take(n)?;
                    self.push_value(long_value(b));
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.push_value(Value::Float(f64::from_be_bytes(a)));
                }
                b'F' => {
                    let v = self.decimal::<f64>()?;
                    self.push_value(Value::Float(v));
                }
                0x8c | b'U' => {
                    let n = usize::from(self.byte()?);
                    self.text_string(n)?;
                }
                b'X' | b'T' => {
                    let n = self.len4()?;
                    self.text_string(n)?;
                }
                0x8d => {
                    let n = self.len8()?;
                    self.text_string(n)?;
                }
                b'C' | b'B' | 0x8e | 0x96 => {
                    let n = match op {
                        b'C' => usize::from(self.byte()?),
                        b'B' => self.len4()?,
                        _ => self.len8()?,
                    };
                    let b = self.take(n)?.to_vec();
                    self.push_value(Value::Bytes(b));
                }
                b')' => self.push(Node::Tuple(vec![])),
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Node::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n {
                        return Err(UnpickleError::StackUnderflow { at: self.pos });
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push(Node::Tuple(items));
                }
                b']' => self.push(Node::List(vec![])),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Node::List(items));
                }
                b'a' => {
                    let v = self.pop()?;
                    self.append(vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append(items)?;
                }
                b'}' => self.push(Node::Dict(vec![])),
                b'd' => {
                    let items = self.pop_mark()?;
                    let pairs = items.chunks_exact(2).map(|p| (p[0], p[1])).collect();
                    self.push(Node::Dict(pairs));
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?;
                }
                0x8f => self.push(Node::Set(vec![])),
                0x90 => {
                    let items = self.pop_mark()?;
                    let target = self.top()?;
                    match &mut self.nodes[target] {
                        Node::Set(s) => s.extend(items),
                        _ => return Err(self.wrong("ADDITEMS", "set", target)),
                    }
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.push(Node::Set(items));
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.push_value(Value::Global(global_name(module, name)));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let g = match (&self.nodes[module], &self.nodes[name]) {
                        (Node::Leaf(Value::Str(m)), Node::Leaf(Value::Str(n))) => global_name(m, n),
                        _ => return Err(self.wrong("STACK_GLOBAL", "str", name)),
                    };
                    self.push_value(Value::Global(g));
                }
                b'p' => {
                    let i = self.decimal::<u32>()?;
                    self.memo_put(i)?;
                }
                b'q' => {
                    let i = u32::from(self.byte()?);
                    self.memo_put(i)?;
                }
                b'r' => {
                    let i = le_u32(self.take(4)?);
                    self.memo_put(i)?;
                }
                0x94 => {
                    let i = self.memo.len() as u32;
                    self.memo_put(i)?;
                }
                b'g' => {
                    let i = self.decimal::<u32>()?;
                    self.memo_get(i)?;
                }
                b'h' => {
                    let i = u32::from(self.byte()?);
                    self.memo_get(i)?;
                }
                b'j' => {
                    let i = le_u32(self.take(4)?);
                    self.memo_get(i)?;
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let mut budget = 0usize;
                    let pid = self.resolve(pid, 0, &mut budget)?;
                    self.push_value(Value::Storage(persistent(pid)?));
                }
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    let node = self.call(f, args)?;
                    self.push(node);
                }
                0x81 => {
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let node = self.call(class, args)?;
                    self.push(node);
                }
                0x92 => {
                    let _kwargs = self.pop()?;
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let node = self.call(class, args)?;
                    self.push(node);
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.top()?;
                    match &mut self.nodes[target] {
                        Node::Object { state: s, .. } => *s = Some(state),
                        // Attributes of an OrderedDict (`_metadata` of a state_dict) or
                        // of a tensor: no part of the value these files are read for.
                        Node::OrderedDict(_) | Node::Leaf(Value::Tensor(_)) => {}
                        _ => return Err(self.wrong("BUILD", "object", target)),
                    }
                }
                op => {
                    return Err(UnpickleError::UnsupportedOpcode {
                        op,
                        at: self.pos - 1,
                    })
                }
            }
        }
    }

    /// REDUCE / NEWOBJ: `f(*args)` as a value.
    fn call(&mut self, f: Id, args: Id) -> Result<Node> {
        let name = match &self.nodes[f] {
            Node::Leaf(Value::Global(g)) => g.clone(),
            _ => return Err(self.wrong("REDUCE", "global", f)),
        };
        let items = match &self.nodes[args] {
            Node::Tuple(items) => items.clone(),
            _ => return Err(self.wrong("REDUCE", "tuple", args)),
        };
        let mut budget = 0usize;
        let bad = |problem| UnpickleError::BadCall {
            function: name.clone(),
            problem,
        };
        Ok(match name.as_str() {
            "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
                let args = self.resolve(args, 0, &mut budget)?;
                Node::Leaf(Value::Tensor(rebuild_tensor(&args).map_err(bad)?))
            }
            "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
                let Some(&data) = items.first() else {
                    return Err(bad("no data argument"));
                };
                let Node::Leaf(Value::Tensor(t)) = &self.nodes[data] else {
                    return Err(bad("its data is not a tensor"));
                };
                let mut t = t.clone();
                t.parameter = true;
                if let Some(&rg) = items.get(1) {
                    if let Node::Leaf(Value::Bool(b)) = self.nodes[rg] {
                        t.requires_grad = b;
                    }
                }
                Node::Leaf(Value::Tensor(t))
            }
            "collections.OrderedDict" | "collections.defaultdict" | "builtins.dict" => {
                let mut pairs = Vec::new();
                // OrderedDict([(k, v), ...]) lists its items; defaultdict's argument is
                // its default factory.
                if name == "collections.OrderedDict" {
                    if let Some(&seq) = items.first() {
                        let (Node::List(entries) | Node::Tuple(entries)) = &self.nodes[seq] else {
                            return Err(bad("argument is not a list of pairs"));
                        };
                        for &e in entries {
                            match &self.nodes[e] {
                                Node::Tuple(kv) | Node::List(kv) if kv.len() == 2 => {
                                    pairs.push((kv[0], kv[1]))
                                }
                                _ => return Err(bad("argument is not a list of pairs")),
                            }
                        }
                    }
                    Node::OrderedDict(pairs)
                } else {
                    Node::Dict(pairs)
                }
            }
            "builtins.set" | "builtins.frozenset" => match items.first() {
                None => Node::Set(vec![]),
                Some(&seq) => match &self.nodes[seq] {
                    Node::List(v) | Node::Tuple(v) | Node::Set(v) => Node::Set(v.clone()),
                    _ => return Err(bad("argument is not a sequence")),
                },
            },
            // Protocol 2's bytes: `_codecs.encode(text, 'latin1')`.
            "_codecs.encode" => {
                let args = self.resolve(args, 0, &mut budget)?;
                match args.as_seq() {
                    Some([Value::Str(s), Value::Str(enc)]) if enc == "latin1" => {
                        let bytes = s.chars().map(|c| c as u32 as u8).collect();
                        Node::Leaf(Value::Bytes(bytes))
                    }
                    _ => return Err(bad("expected (str, 'latin1')")),
                }
            }
            _ => Node::Object {
                class: name,
                args,
                state: None,
            },
        })
    }

    /// The value of node `id`, copied out of the arena.
    fn resolve(&self, id: Id, depth: usize, budget: &mut usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(UnpickleError::TooDeep { limit: MAX_DEPTH });
        }
        *budget += 1;
        if *budget > MAX_ITEMS {
            return Err(UnpickleError::TooLarge { limit: MAX_ITEMS });
        }
        let d = depth + 1;
        let seq = |ids: &[Id], budget: &mut usize| -> Result<Vec<Value>> {
            ids.iter().map(|&i| self.resolve(i, d, budget)).collect()
        };
        let pairs = |ids: &[(Id, Id)], budget: &mut usize| -> Result<Vec<(Value, Value)>> {
            ids.iter()
                .map(|&(k, v)| Ok((self.resolve(k, d, budget)?, self.resolve(v, d, budget)?)))
                .collect()
        };
        Ok(match &self.nodes[id] {
            Node::Leaf(v) => v.clone(),
            Node::Tuple(v) => Value::Tuple(seq(v, budget)?),
            Node::List(v) => Value::List(seq(v, budget)?),
            Node::Set(v) => Value::Set(seq(v, budget)?),
            Node::Dict(v) => Value::Dict(pairs(v, budget)?),
            Node::OrderedDict(v) => Value::OrderedDict(pairs(v, budget)?),
            Node::Object { class, args, state } => Value::Object {
                class: class.clone(),
                args: Box::new(self.resolve(*args, d, budget)?),
                state: Box::new(match state {
                    Some(s) => self.resolve(*s, d, budget)?,
                    None => Value::None,
                }),
            },
        })
    }
}

/// `('storage', <storage class>, key, location, numel)`.
fn persistent(pid: Value) -> Result<StorageRef> {
    let bad = |pid: &Value| UnpickleError::BadPersistentId {
        found: format!("{pid:?}"),
    };
    let Some(items) = pid.as_seq() else {
        return Err(bad(&pid));
    };
    match items {
        [Value::Str(tag), Value::Global(class), Value::Str(key), Value::Str(location), numel]
            if tag == "storage" =>
        {
            let kind = storage_kind(class).ok_or_else(|| UnpickleError::UnknownStorage {
                class: class.clone(),
            })?;
            Ok(StorageRef {
                key: key.clone(),
                kind,
                location: location.clone(),
                numel: numel.as_int().ok_or_else(|| bad(&pid))?,
            })
        }
        _ => Err(bad(&pid)),
    }
}

/// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks, ...)`.
fn rebuild_tensor(args: &Value) -> std::result::Result<TensorRef, &'static str> {
    let args = args.as_seq().ok_or("arguments are not a tuple")?;
    let Some(Value::Storage(storage)) = args.first() else {
        return Err("first argument is not a storage");
    };
    let ints = |v: Option<&Value>| -> std::result::Result<Vec<i64>, &'static str> {
        v.and_then(Value::as_seq)
            .ok_or("size or stride is not a tuple")?
            .iter()
            .map(|x| x.as_int().ok_or("size or stride holds a non-int"))
            .collect()
    };
    let offset = args
        .get(1)
        .and_then(Value::as_int)
        .ok_or("storage offset is not an int")?;
    let size = ints(args.get(2))?;
    let stride = ints(args.get(3))?;
    if size.len() != stride.len() {
        return Err("size and stride differ in length");
    }
    Ok(TensorRef {
        storage: storage.clone(),
        offset,
        size,
        stride,
        requires_grad: args.get(4).and_then(Value::as_bool).unwrap_or(false),
        parameter: false,
    })
}
