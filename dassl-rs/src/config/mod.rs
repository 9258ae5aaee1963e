//! Config with yacs semantics (`rbgirshick/yacs` 0.1.8, as Dassl uses it).
//!
//! A [`ConfigBuilder`] starts from Dassl's defaults, takes plugin extensions
//! (`extend_cfg`), YAML files, CLI flags and trailing `KEY VALUE` options in CoOp's
//! order, and freezes into an immutable [`Config`]. Every value remembers its
//! [`Origin`] so errors can say which file line or option set it.

pub mod content_hash;
mod defaults;
pub mod identity;
pub mod literal;
mod setup;
pub mod value;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

pub use setup::{setup_cfg, CfgSources};
pub use value::{Node, Value};

use crate::difflib;
use crate::errors::ConfigError;

/// Adds a plugin's config keys (CoOp's `extend_cfg`).
pub type ExtendCfg = fn(&mut ConfigBuilder) -> Result<(), ConfigError>;

/// Where a config value came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Default,
    /// A plugin's `extend_cfg` (trainer or dataset name).
    Extension(String),
    File {
        path: PathBuf,
        line: Option<usize>,
    },
    /// A command-line flag such as `--seed`.
    Flag(String),
    /// The n-th (1-based) trailing `KEY VALUE` pair.
    Opt(usize),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => write!(f, "Dassl defaults"),
            Origin::Extension(name) => write!(f, "config extension of {name}"),
            Origin::File {
                path,
                line: Some(line),
            } => write!(f, "{}:{line}", path.display()),
            Origin::File { path, line: None } => write!(f, "{}", path.display()),
            Origin::Flag(flag) => write!(f, "command-line flag {flag}"),
            Origin::Opt(n) => write!(f, "command-line option pair {n}"),
        }
    }
}

/// A mutable config tree under construction.
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    root: Node,
    origins: BTreeMap<String, Origin>,
    /// Every plugin that declared a key (several may declare one with the same default);
    /// the run identity keeps a plugin's key only for that plugin's runs.
    owners: BTreeMap<String, BTreeSet<String>>,
    /// String keys that also take a bool (see [`ConfigBuilder::accept_bool`]).
    bool_too: BTreeSet<String>,
}

impl ConfigBuilder {
    /// An empty tree (tests and custom setups); see [`ConfigBuilder::dassl_defaults`].
    pub fn empty() -> Self {
        ConfigBuilder {
            root: Node::new(),
            origins: BTreeMap::new(),
            owners: BTreeMap::new(),
            bool_too: BTreeSet::new(),
        }
    }

    /// Dassl's `get_cfg_default()`.
    pub fn dassl_defaults() -> Self {
        let mut b = Self::empty();
        for (key, literal) in defaults::DASSL_DEFAULTS {
            let value = literal::decode(literal)
                .unwrap_or_else(|| panic!("default for {key} is not a Python literal: {literal}"));
            b.insert_new(key, value, Origin::Default)
                .unwrap_or_else(|e| panic!("Dassl default table is inconsistent: {e}"));
        }
        b
    }

    /// Adds a new key as `extend_cfg` does. Declaring an existing key with the same
    /// value is allowed (several plugins share `DATASET.SUBSAMPLE_CLASSES`); a
    /// different value is an error, since the plugins would disagree on the default.
    pub fn declare(&mut self, key: &str, default: &str, plugin: &str) -> Result<(), ConfigError> {
        let value = literal::decode(default).ok_or_else(|| ConfigError::BadDefault {
            key: key.to_string(),
            literal: default.to_string(),
            plugin: plugin.to_string(),
        })?;
        if let Some(existing) = self.lookup(key) {
            if *existing == value {
                self.record_owner(key, plugin);
                return Ok(());
            }
            return Err(ConfigError::ConflictingDefault {
                key: key.to_string(),
                plugin: plugin.to_string(),
                value: value.repr(),
                existing: existing.repr(),
                by: self
                    .origin_of(key)
                    .map(|o| o.to_string())
                    .unwrap_or_default(),
            });
        }
        self.insert_new(key, value, Origin::Extension(plugin.to_string()))?;
        self.record_owner(key, plugin);
        Ok(())
    }

    /// A fork declared an existing string key as a bool flag (KgCoOp's train.py has
    /// `TRAINER.COOP.CTX_INIT = False` where CoOp's has `""`, and its configs set `True`):
    /// the key keeps its default and also takes a bool, so the fork's configs merge
    /// unchanged. Readers of the key get either type (`Config::str` fails on a bool).
    pub fn accept_bool(&mut self, key: &str, plugin: &str) -> Result<(), ConfigError> {
        match self.lookup(key) {
            Some(Value::Str(_)) => {
                self.bool_too.insert(key.to_string());
                self.record_owner(key, plugin);
                Ok(())
            }
            other => Err(ConfigError::ConflictingDefault {
                key: key.to_string(),
                plugin: plugin.to_string(),
                value: "a string that also takes a bool".into(),
                existing: other.map(Value::repr).unwrap_or_else(|| "nothing".into()),
                by: self
                    .origin_of(key)
                    .map(|o| o.to_string())
                    .unwrap_or_default(),
            }),
        }
    }

    /// `coerce`, plus the bools [`ConfigBuilder::accept_bool`] allows.
    fn coerce_key(
        &self,
        key: &str,
        original: &Value,
        replacement: Value,
        origin: &Origin,
    ) -> Result<Value, ConfigError> {
        if matches!(replacement, Value::Bool(_)) && self.bool_too.contains(key) {
            return Ok(replacement);
        }
        coerce(key, original, replacement, origin)
    }

    fn record_owner(&mut self, key: &str, plugin: &str) {
        // A key Dassl's defaults hold belongs to the engine, whoever declares it again.
        if matches!(self.origin_of(key), Some(Origin::Default)) {
            return;
        }
        self.owners
            .entry(key.to_string())
            .or_default()
            .insert(plugin.to_string());
    }

    fn insert_new(&mut self, key: &str, value: Value, origin: Origin) -> Result<(), ConfigError> {
        let parts: Vec<&str> = key.split('.').collect();
        let (last, parents) = parts.split_last().expect("split yields at least one part");
        let mut node = &mut self.root;
        for (i, p) in parents.iter().enumerate() {
            let entry = node
                .entry((*p).to_string())
                .or_insert_with(|| Value::Node(Node::new()));
            node = match entry {
                Value::Node(n) => n,
                _ => {
                    return Err(ConfigError::NotANode {
                        key: parts[..=i].join("."),
                        full_key: key.to_string(),
                    })
                }
            };
        }
        node.insert((*last).to_string(), value);
        self.origins.insert(key.to_string(), origin);
        Ok(())
    }

    fn lookup(&self, key: &str) -> Option<&Value> {
        lookup(&self.root, key)
    }

    fn origin_of(&self, key: &str) -> Option<&Origin> {
        self.origins.get(key)
    }

    /// `cfg.merge_from_file(path)`.
    pub fn merge_yaml_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
        self.merge_yaml_str(&text, path)
    }

    /// Merges YAML text; `path` names it in errors and origins.
    pub fn merge_yaml_str(&mut self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let incoming = yaml::parse(text, path)?;
        let locate = |keys: &[String]| yaml::locate_line(text, keys);
        self.merge_entries(&incoming, &mut Vec::new(), path, &locate)
    }

    fn merge_entries(
        &mut self,
        entries: &[(String, yaml::Incoming)],
        key_list: &mut Vec<String>,
        path: &Path,
        locate: &dyn Fn(&[String]) -> Option<usize>,
    ) -> Result<(), ConfigError> {
        for (k, raw) in entries {
            key_list.push(k.clone());
            let full_key = key_list.join(".");
            let origin = Origin::File {
                path: path.to_path_buf(),
                line: locate(key_list),
            };
            let Some(existing) = self.lookup(&full_key) else {
                return Err(self.unknown_key(&full_key, origin));
            };
            match raw {
                yaml::Incoming::Map(children) => {
                    if !matches!(existing, Value::Node(_)) {
                        return Err(type_mismatch(
                            &full_key,
                            existing,
                            &Value::Node(Node::new()),
                            origin,
                        ));
                    }
                    self.merge_entries(children, key_list, path, locate)?;
                }
                yaml::Incoming::Leaf(v) => {
                    let decoded = match v {
                        Value::Str(s) => literal::decode_or_str(s),
                        other => other.clone(),
                    };
                    let value = self.coerce_key(&full_key, existing, decoded, &origin)?;
                    self.insert_new(&full_key, value, origin)?;
                }
            }
            key_list.pop();
        }
        Ok(())
    }

    /// Sets one key from a command-line flag (CoOp's `reset_cfg`), type-checked.
    pub fn set_from_flag(
        &mut self,
        key: &str,
        value: Value,
        flag: &str,
    ) -> Result<(), ConfigError> {
        let origin = Origin::Flag(flag.to_string());
        let existing = self
            .lookup(key)
            .ok_or_else(|| self.unknown_key(key, origin.clone()))?;
        let value = self.coerce_key(key, existing, value, &origin)?;
        self.insert_new(key, value, origin)
    }

    /// `cfg.merge_from_list(opts)`: `KEY VALUE` pairs, values decoded as literals.
    pub fn merge_opts<S: AsRef<str>>(&mut self, opts: &[S]) -> Result<(), ConfigError> {
        if opts.len() % 2 != 0 {
            return Err(ConfigError::OddOpts {
                count: opts.len(),
                last: opts
                    .last()
                    .map(|s| s.as_ref().to_string())
                    .unwrap_or_default(),
            });
        }
        for (i, pair) in opts.chunks(2).enumerate() {
            let (key, raw) = (pair[0].as_ref(), pair[1].as_ref());
            let origin = Origin::Opt(i + 1);
            let existing = match self.lookup(key) {
                Some(Value::Node(_)) | None => return Err(self.unknown_key(key, origin)),
                Some(v) => v,
            };
            let value = self.coerce_key(key, existing, literal::decode_or_str(raw), &origin)?;
            self.insert_new(key, value, origin)?;
        }
        Ok(())
    }

    fn unknown_key(&self, key: &str, origin: Origin) -> ConfigError {
        let keys = all_keys(&self.root);
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        // Only suggest keys that resemble the request: a far-off "closest" key misleads.
        let suggestion = difflib::most_similar(key, &refs)
            .filter(|best| difflib::ratio(key, best) >= 0.5)
            .map(str::to_string);
        ConfigError::UnknownKey {
            key: key.to_string(),
            origin,
            suggestion,
        }
    }

    /// yacs `freeze()`: the result has no setters.
    pub fn freeze(self) -> Config {
        Config {
            root: self.root,
            origins: self.origins,
            owners: self.owners,
            identity: None,
        }
    }
}

/// yacs' `_check_and_coerce_cfg_value_type`: same type, None on either side, or
/// tuple <-> list. Python 3's yacs has no str coercion (its `unicode` cast is py2 only),
/// and int is not widened to float.
fn coerce(
    key: &str,
    original: &Value,
    replacement: Value,
    origin: &Origin,
) -> Result<Value, ConfigError> {
    use Value as V;
    let valid = |v: &Value| !matches!(v, V::Dict(_) | V::Node(_));
    match (original, replacement) {
        (o, r) if std::mem::discriminant(o) == std::mem::discriminant(&r) => Ok(r),
        (o, V::None) if valid(o) => Ok(V::None),
        (V::None, r) if valid(&r) => Ok(r),
        (V::List(_), V::Tuple(items)) => Ok(V::List(items)),
        (V::Tuple(_), V::List(items)) => Ok(V::Tuple(items)),
        (o, r) => Err(type_mismatch(key, o, &r, origin.clone())),
    }
}

fn type_mismatch(key: &str, original: &Value, replacement: &Value, origin: Origin) -> ConfigError {
    ConfigError::TypeMismatch {
        key: key.to_string(),
        expected: original.type_name(),
        default: original.repr(),
        got: replacement.type_name(),
        value: replacement.repr(),
        origin,
    }
}

fn lookup<'a>(root: &'a Node, key: &str) -> Option<&'a Value> {
    let mut parts = key.split('.');
    let mut cur = root.get(parts.next()?)?;
    for p in parts {
        match cur {
            Value::Node(n) => cur = n.get(p)?,
            _ => return None,
        }
    }
    Some(cur)
}

fn all_keys(root: &Node) -> Vec<String> {
    fn walk(node: &Node, prefix: &str, out: &mut Vec<String>) {
        for (k, v) in node {
            let full = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if let Value::Node(child) = v {
                walk(child, &full, out);
            }
            out.push(full);
        }
    }
    let mut out = Vec::new();
    walk(root, "", &mut out);
    out.sort();
    out
}

/// A frozen, resolved config.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    root: Node,
    origins: BTreeMap<String, Origin>,
    owners: BTreeMap<String, BTreeSet<String>>,
    /// The run identity (config/identity.rs), attached once it is computed.
    identity: Option<String>,
}

impl Config {
    pub fn get(&self, key: &str) -> Option<&Value> {
        lookup(&self.root, key)
    }

    /// Where the current value of `key` was set.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.origins.get(key)
    }

    /// The plugins that declared `key` (empty for Dassl's own keys).
    pub fn owners(&self, key: &str) -> impl Iterator<Item = &str> {
        self.owners
            .get(key)
            .into_iter()
            .flat_map(|s| s.iter().map(String::as_str))
    }

    /// The same config with `key` set to `value` (origin: `origin`), for probes that
    /// build a run's parts under changed settings; the key must exist.
    pub fn with_value(
        &self,
        key: &str,
        value: Value,
        origin: Origin,
    ) -> Result<Config, ConfigError> {
        let mut c = self.clone();
        let missing = || ConfigError::MissingKey {
            key: key.to_string(),
        };
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().ok_or_else(missing)?;
        let mut node = &mut c.root;
        for p in parts {
            match node.get_mut(p) {
                Some(Value::Node(n)) => node = n,
                _ => return Err(missing()),
            }
        }
        match node.get_mut(last) {
            Some(Value::Node(_)) | None => return Err(missing()),
            Some(slot) => *slot = value,
        }
        c.origins.insert(key.to_string(), origin);
        c.identity = None;
        Ok(c)
    }

    fn require(&self, key: &str) -> Result<&Value, ConfigError> {
        self.get(key).ok_or_else(|| ConfigError::MissingKey {
            key: key.to_string(),
        })
    }

    fn wrong(&self, key: &str, expected: &'static str, v: &Value) -> ConfigError {
        ConfigError::WrongType {
            key: key.to_string(),
            expected,
            value: v.repr(),
        }
    }

    pub fn str(&self, key: &str) -> Result<&str, ConfigError> {
        match self.require(key)? {
            Value::Str(s) => Ok(s),
            v => Err(self.wrong(key, "str", v)),
        }
    }

    pub fn int(&self, key: &str) -> Result<i64, ConfigError> {
        match self.require(key)? {
            Value::Int(i) => Ok(*i),
            v => Err(self.wrong(key, "int", v)),
        }
    }

    /// A float key; ints are accepted where Python arithmetic would accept them.
    pub fn float(&self, key: &str) -> Result<f64, ConfigError> {
        match self.require(key)? {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            v => Err(self.wrong(key, "float", v)),
        }
    }

    pub fn bool(&self, key: &str) -> Result<bool, ConfigError> {
        match self.require(key)? {
            Value::Bool(b) => Ok(*b),
            v => Err(self.wrong(key, "bool", v)),
        }
    }

    /// A list or tuple of strings.
    pub fn strs(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        match self.require(key)? {
            Value::List(items) | Value::Tuple(items) => items
                .iter()
                .map(|v| match v {
                    Value::Str(s) => Ok(s.clone()),
                    other => Err(self.wrong(key, "list of str", other)),
                })
                .collect(),
            v => Err(self.wrong(key, "list of str", v)),
        }
    }

    /// A list or tuple of numbers.
    pub fn floats(&self, key: &str) -> Result<Vec<f64>, ConfigError> {
        match self.require(key)? {
            Value::List(items) | Value::Tuple(items) => items
                .iter()
                .map(|v| match v {
                    Value::Float(f) => Ok(*f),
                    Value::Int(i) => Ok(*i as f64),
                    other => Err(self.wrong(key, "list of numbers", other)),
                })
                .collect(),
            v => Err(self.wrong(key, "list of numbers", v)),
        }
    }

    /// Every key (nodes and leaves), sorted.
    pub fn keys(&self) -> Vec<String> {
        all_keys(&self.root)
    }

    /// yacs' `str(cfg)`, as Dassl prints the config into log.txt.
    pub fn to_yacs_string(&self) -> String {
        fn node_str(node: &Node) -> String {
            node.iter()
                .map(|(k, v)| {
                    let attr = match v {
                        Value::Node(n) => format!("{k}:\n{}", node_str(n)),
                        other => format!("{k}: {}", other.py_str()),
                    };
                    indent(&attr, 2)
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        fn indent(s: &str, n: usize) -> String {
            let mut lines = s.split('\n');
            let first = lines.next().unwrap_or("");
            let rest: Vec<String> = lines.map(|l| format!("{}{l}", " ".repeat(n))).collect();
            if rest.is_empty() {
                first.to_string()
            } else {
                format!("{first}\n{}", rest.join("\n"))
            }
        }
        node_str(&self.root)
    }

    /// The config as YAML (sorted keys, tuples as sequences), loadable by Dassl and by us.
    pub fn to_yaml(&self) -> String {
        let value = to_yaml_value(&Value::Node(self.root.clone()));
        serde_yaml::to_string(&value).expect("a config tree always serialises")
    }
}

fn to_yaml_value(v: &Value) -> serde_yaml::Value {
    use serde_yaml::Value as Y;
    match v {
        Value::None => Y::Null,
        Value::Bool(b) => Y::Bool(*b),
        Value::Int(i) => Y::Number((*i).into()),
        Value::Float(f) => Y::Number((*f).into()),
        Value::Str(s) => Y::String(s.clone()),
        Value::Tuple(items) | Value::List(items) => {
            Y::Sequence(items.iter().map(to_yaml_value).collect())
        }
        Value::Dict(pairs) => Y::Mapping(
            pairs
                .iter()
                .map(|(k, v)| (Y::String(k.py_str()), to_yaml_value(v)))
                .collect(),
        ),
        Value::Node(n) => Y::Mapping(
            n.iter()
                .map(|(k, v)| (Y::String(k.clone()), to_yaml_value(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests;
