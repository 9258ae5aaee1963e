//! Reading Dassl YAML config files.
//!
//! Values arrive raw (strings undecoded) because yacs decodes them during the merge.
//! serde_yaml keeps no positions in its `Value`, so [`locate_line`] finds a key's line
//! by indentation, which is exact for the block-style files Dassl and CoOp ship; for a
//! key inside flow syntax it reports the nearest enclosing block key.

use std::path::Path;

use super::value::Value;
use crate::errors::ConfigError;

/// A parsed YAML mapping entry before decoding.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Incoming {
    Map(Vec<(String, Incoming)>),
    Leaf(Value),
}

pub(crate) fn parse(text: &str, path: &Path) -> Result<Vec<(String, Incoming)>, ConfigError> {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|source| ConfigError::Yaml {
            path: path.to_path_buf(),
            source,
        })?;
    match doc {
        // An empty file merges nothing, as yacs does with `yaml.safe_load("") -> None`.
        serde_yaml::Value::Null => Ok(Vec::new()),
        serde_yaml::Value::Mapping(m) => map_entries(&m, path, &mut Vec::new()),
        other => Err(ConfigError::YamlNotMapping {
            path: path.to_path_buf(),
            found: kind(&other),
        }),
    }
}

fn map_entries(
    m: &serde_yaml::Mapping,
    path: &Path,
    keys: &mut Vec<String>,
) -> Result<Vec<(String, Incoming)>, ConfigError> {
    let mut out = Vec::with_capacity(m.len());
    for (k, v) in m {
        let key = match k {
            serde_yaml::Value::String(s) => s.clone(),
            other => leaf(other, path, keys)?.py_str(),
        };
        keys.push(key.clone());
        let entry = match v {
            serde_yaml::Value::Mapping(child) => Incoming::Map(map_entries(child, path, keys)?),
            other => Incoming::Leaf(leaf(other, path, keys)?),
        };
        keys.pop();
        out.push((key, entry));
    }
    Ok(out)
}

fn leaf(v: &serde_yaml::Value, path: &Path, keys: &[String]) -> Result<Value, ConfigError> {
    use serde_yaml::Value as Y;
    Ok(match v {
        Y::Null => Value::None,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if n.is_f64() {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            } else {
                return Err(ConfigError::YamlValue {
                    path: path.to_path_buf(),
                    key: keys.join("."),
                    line: None,
                    what: format!("integer {n} does not fit in 64 bits"),
                });
            }
        }
        Y::String(s) => Value::Str(s.clone()),
        Y::Sequence(items) => Value::List(
            items
                .iter()
                .map(|i| leaf(i, path, keys))
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(m) => Value::Dict(
            m.iter()
                .map(|(k, v)| Ok((leaf(k, path, keys)?, leaf(v, path, keys)?)))
                .collect::<Result<_, ConfigError>>()?,
        ),
        Y::Tagged(t) => {
            return Err(ConfigError::YamlValue {
                path: path.to_path_buf(),
                key: keys.join("."),
                line: None,
                what: format!("YAML tag {} is not a config value type", t.tag),
            })
        }
    })
}

fn kind(v: &serde_yaml::Value) -> &'static str {
    match v {
        serde_yaml::Value::Null => "nothing",
        serde_yaml::Value::Bool(_) => "a boolean",
        serde_yaml::Value::Number(_) => "a number",
        serde_yaml::Value::String(_) => "a string",
        serde_yaml::Value::Sequence(_) => "a sequence",
        serde_yaml::Value::Mapping(_) => "a mapping",
        serde_yaml::Value::Tagged(_) => "a tagged value",
    }
}

/// 1-based line of the key path `keys` in block-style YAML `text`.
pub(crate) fn locate_line(text: &str, keys: &[String]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0;
    let mut parent_indent: Option<usize> = None;
    let mut found = None;
    for key in keys {
        let mut hit = None;
        for (i, line) in lines.iter().enumerate().skip(start) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            if let Some(p) = parent_indent {
                if indent <= p {
                    break;
                }
            }
            if key_of(trimmed) == Some(key.as_str()) {
                hit = Some((i, indent));
                break;
            }
        }
        let (i, indent) = hit?;
        found = Some(i + 1);
        start = i + 1;
        parent_indent = Some(indent);
    }
    found
}

fn key_of(trimmed: &str) -> Option<&str> {
    let (k, _) = trimmed.split_once(':')?;
    let k = k.trim_end();
    let k = k
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(k);
    let k = k
        .strip_prefix('\'')
        .and_then(|k| k.strip_suffix('\''))
        .unwrap_or(k);
    Some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "DATALOADER:\n  TRAIN_X:\n    BATCH_SIZE: 32\n  TEST:\n    BATCH_SIZE: 100\n\n# comment\nOPTIM:\n  NAME: \"sgd\"\n  LR: 0.002\n";

    fn k(path: &[&str]) -> Vec<String> {
        path.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn locates_nested_keys_by_indentation() {
        assert_eq!(locate_line(TEXT, &k(&["DATALOADER"])), Some(1));
        assert_eq!(
            locate_line(TEXT, &k(&["DATALOADER", "TRAIN_X", "BATCH_SIZE"])),
            Some(3)
        );
        assert_eq!(
            locate_line(TEXT, &k(&["DATALOADER", "TEST", "BATCH_SIZE"])),
            Some(5)
        );
        assert_eq!(locate_line(TEXT, &k(&["OPTIM", "LR"])), Some(10));
        assert_eq!(locate_line(TEXT, &k(&["OPTIM", "BATCH_SIZE"])), None);
    }

    #[test]
    fn parses_raw_values_in_file_order() {
        let entries = parse(TEXT, Path::new("x.yaml")).unwrap();
        let names: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["DATALOADER", "OPTIM"]);
        let Incoming::Map(optim) = &entries[1].1 else {
            panic!("OPTIM is a mapping")
        };
        assert_eq!(
            optim[0],
            ("NAME".to_string(), Incoming::Leaf(Value::Str("sgd".into())))
        );
        assert_eq!(
            optim[1],
            ("LR".to_string(), Incoming::Leaf(Value::Float(0.002)))
        );
        assert!(parse("", Path::new("e.yaml")).unwrap().is_empty());
        assert!(matches!(
            parse("- 1\n- 2\n", Path::new("s.yaml")),
            Err(ConfigError::YamlNotMapping { .. })
        ));
        assert!(matches!(
            parse("A: [1\n", Path::new("b.yaml")),
            Err(ConfigError::Yaml { .. })
        ));
    }
}
