use std::path::Path;

use proptest::prelude::*;

use super::*;

fn builder() -> ConfigBuilder {
    let mut b = ConfigBuilder::dassl_defaults();
    b.declare("TRAINER.COOP.N_CTX", "16", "CoOp").unwrap();
    b.declare("TRAINER.COOP.CTX_INIT", "''", "CoOp").unwrap();
    b.declare("TRAINER.COOP.CSC", "False", "CoOp").unwrap();
    b
}

fn yaml(b: &mut ConfigBuilder, text: &str, name: &str) -> Result<(), ConfigError> {
    b.merge_yaml_str(text, Path::new(name))
}

#[test]
fn defaults_are_dassls() {
    let c = ConfigBuilder::dassl_defaults().freeze();
    assert_eq!(
        c.get("INPUT.SIZE"),
        Some(&Value::Tuple(vec![Value::Int(224), Value::Int(224)]))
    );
    assert_eq!(c.float("OPTIM.LR").unwrap(), 0.0003);
    assert_eq!(c.int("SEED").unwrap(), -1);
    assert_eq!(c.str("TEST.EVALUATOR").unwrap(), "Classification");
    assert_eq!(
        c.get("OPTIM.STEPSIZE"),
        Some(&Value::Tuple(vec![Value::Int(-1)]))
    );
    assert_eq!(c.origin("OPTIM.LR"), Some(&Origin::Default));
    // Dassl's defaults.py assigns 162 `_C.` keys (nodes and leaves); so does our table.
    assert_eq!(c.keys().len(), 162);
}

#[test]
fn later_sources_win_in_coops_order() {
    let mut b = builder();
    yaml(
        &mut b,
        "OPTIM:\n  MAX_EPOCH: 50\n  LR: 0.002\n",
        "dataset.yaml",
    )
    .unwrap();
    yaml(&mut b, "OPTIM:\n  MAX_EPOCH: 200\n", "trainer.yaml").unwrap();
    b.set_from_flag("SEED", Value::Int(1), "--seed").unwrap();
    b.merge_opts(&["OPTIM.MAX_EPOCH", "5", "SEED", "7"])
        .unwrap();
    let c = b.freeze();
    assert_eq!(c.int("OPTIM.MAX_EPOCH").unwrap(), 5);
    assert_eq!(c.float("OPTIM.LR").unwrap(), 0.002);
    assert_eq!(c.int("SEED").unwrap(), 7);
    assert_eq!(c.origin("OPTIM.MAX_EPOCH"), Some(&Origin::Opt(1)));
    assert_eq!(
        c.origin("OPTIM.LR"),
        Some(&Origin::File {
            path: "dataset.yaml".into(),
            line: Some(3)
        })
    );
}

#[test]
fn yaml_strings_are_decoded_as_literals() {
    let mut b = builder();
    yaml(
        &mut b,
        "INPUT:\n  SIZE: (32, 32)\n  NO_TRANSFORM: \"True\"\nOPTIM:\n  WARMUP_CONS_LR: 1e-5\n  STEPSIZE: \"[10, 20]\"\nTRAINER:\n  COOP:\n    N_CTX: '4'\n    CTX_INIT: a photo of a\n",
        "t.yaml",
    )
    .unwrap();
    let c = b.freeze();
    assert_eq!(
        c.get("INPUT.SIZE"),
        Some(&Value::Tuple(vec![Value::Int(32), Value::Int(32)]))
    );
    assert!(c.bool("INPUT.NO_TRANSFORM").unwrap());
    assert_eq!(c.float("OPTIM.WARMUP_CONS_LR").unwrap(), 1e-5);
    // A list replaces a tuple default and becomes a tuple (yacs casts list -> tuple).
    assert_eq!(
        c.get("OPTIM.STEPSIZE"),
        Some(&Value::Tuple(vec![Value::Int(10), Value::Int(20)]))
    );
    assert_eq!(c.int("TRAINER.COOP.N_CTX").unwrap(), 4);
    assert_eq!(c.str("TRAINER.COOP.CTX_INIT").unwrap(), "a photo of a");
}

#[test]
fn yaml_lists_are_not_decoded_element_wise() {
    let mut b = builder();
    yaml(
        &mut b,
        "INPUT:\n  TRANSFORMS: [\"random_flip\", \"(1, 2)\"]\n",
        "t.yaml",
    )
    .unwrap();
    let c = b.freeze();
    // Tuple default, list given: converted to a tuple; elements stay as YAML gave them.
    assert_eq!(
        c.get("INPUT.TRANSFORMS"),
        Some(&Value::Tuple(vec![
            Value::Str("random_flip".into()),
            Value::Str("(1, 2)".into())
        ]))
    );
}

#[test]
fn type_rules_follow_yacs() {
    let mut b = builder();
    // int is not widened to float.
    let e = b.merge_opts(&["OPTIM.LR", "1"]).unwrap_err();
    assert!(
        matches!(
            &e,
            ConfigError::TypeMismatch {
                expected: "float",
                got: "int",
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("OPTIM.LR") && e.to_string().contains("1.0"),
        "{e}"
    );
    // `false` is not a Python literal, so it stays a string and fails the bool key.
    let e = b.merge_opts(&["USE_CUDA", "false"]).unwrap_err();
    assert!(
        e.to_string().contains("expected bool") && e.to_string().contains("'false'"),
        "{e}"
    );
    // No str coercion in Python 3's yacs: a number for a string key is a mismatch.
    assert!(matches!(
        b.merge_opts(&["TRAINER.COOP.CTX_INIT", "5"]),
        Err(ConfigError::TypeMismatch { .. })
    ));
    // None is accepted for any valid type, and a None default accepts anything valid.
    b.merge_opts(&["OPTIM.LR", "None"]).unwrap();
    b.merge_opts(&["OPTIM.LR", "0.5"]).unwrap();
    // tuple <-> list both ways.
    b.merge_opts(&["INPUT.PIXEL_MEAN", "(0.5, 0.5, 0.5)"])
        .unwrap();
    b.merge_opts(&["INPUT.SIZE", "[64, 64]"]).unwrap();
    // Dicts are never a config value type.
    assert!(b.merge_opts(&["INPUT.SIZE", "{'a': 1}"]).is_err());
    let c = b.freeze();
    assert_eq!(c.float("OPTIM.LR").unwrap(), 0.5);
    assert_eq!(
        c.get("INPUT.PIXEL_MEAN"),
        Some(&Value::List(vec![Value::Float(0.5); 3]))
    );
    assert_eq!(
        c.get("INPUT.SIZE"),
        Some(&Value::Tuple(vec![Value::Int(64), Value::Int(64)]))
    );
}

#[test]
fn unknown_keys_name_the_source_and_the_closest_key() {
    let mut b = builder();
    let e = b.merge_opts(&["OPTIM.LRR", "0.1"]).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("OPTIM.LRR")
            && msg.contains("did you mean OPTIM.LR?")
            && msg.contains("option pair 1"),
        "{msg}"
    );

    let e = yaml(
        &mut b,
        "DATASET:\n  NAME: EuroSAT\n  NUM_SHOT: 4\n",
        "configs/x.yaml",
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("DATASET.NUM_SHOT")
            && msg.contains("configs/x.yaml:3")
            && msg.contains("DATASET.NUM_SHOTS"),
        "{msg}"
    );

    // A key under a leaf, and a node given a scalar.
    assert!(matches!(
        b.merge_opts(&["OPTIM.LR.X", "1"]),
        Err(ConfigError::UnknownKey { .. })
    ));
    assert!(matches!(
        b.merge_opts(&["OPTIM", "1"]),
        Err(ConfigError::UnknownKey { .. })
    ));
    let e = yaml(&mut b, "OPTIM: 3\n", "n.yaml").unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::TypeMismatch {
                expected: "CfgNode",
                ..
            }
        ),
        "{e}"
    );
    let e = yaml(&mut b, "OPTIM:\n  LR:\n    X: 1\n", "m.yaml").unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::TypeMismatch {
                expected: "float",
                got: "CfgNode",
                ..
            }
        ),
        "{e}"
    );

    // A far-off key gets no suggestion rather than a misleading one.
    let e = b.merge_opts(&["ZZZZZZZZZZZZ", "1"]).unwrap_err();
    assert!(!e.to_string().contains("did you mean"), "{e}");
}

#[test]
fn odd_opts_and_bad_files_are_errors() {
    let mut b = builder();
    let e = b.merge_opts(&["SEED", "1", "OPTIM.LR"]).unwrap_err();
    assert!(matches!(e, ConfigError::OddOpts { count: 3, .. }), "{e}");
    assert!(matches!(
        b.merge_yaml_file(Path::new("/nonexistent/x.yaml")),
        Err(ConfigError::ReadFile { .. })
    ));
    assert!(matches!(
        yaml(&mut b, "- a\n", "l.yaml"),
        Err(ConfigError::YamlNotMapping { .. })
    ));
    assert!(matches!(
        yaml(&mut b, "A: [1\n", "s.yaml"),
        Err(ConfigError::Yaml { .. })
    ));
}

#[test]
fn extensions_may_repeat_a_key_but_not_disagree() {
    let mut b = builder();
    b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", "Caltech101")
        .unwrap();
    b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", "EuroSAT")
        .unwrap();
    let e = b
        .declare("DATASET.SUBSAMPLE_CLASSES", "'base'", "Other")
        .unwrap_err();
    assert!(matches!(e, ConfigError::ConflictingDefault { .. }), "{e}");
    assert!(matches!(
        b.declare("OPTIM.LR.X", "1", "P"),
        Err(ConfigError::NotANode { .. })
    ));
}

#[test]
fn yacs_string_matches_pythons_print() {
    let mut b = ConfigBuilder::empty();
    b.declare("B.C", "(224, 224)", "t").unwrap();
    b.declare("B.A", "'sgd'", "t").unwrap();
    b.declare("A", "1e-05", "t").unwrap();
    b.declare("B.D.E", "['x', 0.5]", "t").unwrap();
    let c = b.freeze();
    assert_eq!(
        c.to_yacs_string(),
        "A: 1e-05\nB:\n  A: sgd\n  C: (224, 224)\n  D:\n    E: ['x', 0.5]"
    );
}

#[test]
fn yaml_output_loads_back_to_the_same_config() {
    let mut b = builder();
    b.merge_opts(&[
        "TRAINER.COOP.CTX_INIT",
        "'a photo of a'",
        "OPTIM.WARMUP_CONS_LR",
        "2e-07",
    ])
    .unwrap();
    let c = b.freeze();
    let text = c.to_yaml();
    let mut again = builder();
    again.merge_yaml_str(&text, Path::new("dump.yaml")).unwrap();
    let d = again.freeze();
    for k in c.keys() {
        assert_eq!(c.get(&k), d.get(&k), "key {k} after a YAML round trip");
    }
}

proptest! {
    #[test]
    fn last_assignment_wins(values in proptest::collection::vec(0i64..1000, 1..8)) {
        let mut b = builder();
        for v in &values {
            b.merge_opts(&["TRAINER.COOP.N_CTX".to_string(), v.to_string()]).unwrap();
        }
        prop_assert_eq!(b.freeze().int("TRAINER.COOP.N_CTX").unwrap(), *values.last().unwrap());
    }

    #[test]
    fn file_then_opts_equals_opts_alone_for_the_same_key(file_v in 1i64..100, opt_v in 1i64..100) {
        let mut b = builder();
        yaml(&mut b, &format!("OPTIM:\n  MAX_EPOCH: {file_v}\n"), "f.yaml").unwrap();
        b.merge_opts(&["OPTIM.MAX_EPOCH".to_string(), opt_v.to_string()]).unwrap();
        prop_assert_eq!(b.freeze().int("OPTIM.MAX_EPOCH").unwrap(), opt_v);
    }

    #[test]
    fn any_float_literal_is_accepted_for_a_float_key(f in -1e6f64..1e6) {
        let mut b = builder();
        b.merge_opts(&["OPTIM.LR".to_string(), value::float_repr(f)]).unwrap();
        prop_assert_eq!(b.freeze().float("OPTIM.LR").unwrap(), f);
    }
}
