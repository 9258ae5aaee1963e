//! Issue 10, item 7: the bad-input corpus. Each case runs the real binary on one bad
//! input (config, sweep file, data, weights, checkpoint, flag, path) and asserts the exit
//! status (2: usage, config or set-up; 1: a failed run), that the message names the key,
//! file or value and what was expected, and that nothing is left half-written: no
//! temporary files, and no output folder at all when the input is refused (exit 2).
//! Cases run on a few threads; fixtures are made once.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{fake_coop_data, fake_openai_weights, repo, tiny_clip, toy_data};

/// Shared, read-only inputs.
struct Fx {
    clip: PathBuf,
    data: PathBuf,
    /// Stand-in CoOp datasets (dtd, eurosat) and stand-in RN50 weights.
    coop_data: PathBuf,
    env: Vec<(String, PathBuf)>,
}

struct Case {
    name: String,
    dir: PathBuf,
    args: Vec<String>,
    code: i32,
    /// Every one must appear in stdout or stderr.
    needles: Vec<String>,
}

/// 91 words: more context tokens than CLIP's 77.
const CTX_INIT_TOO_LONG: &str = "'a photo of a very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very very long prompt'";

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// `dassl train` of a valid CoOp run on the toy data with `flags` and `opts` added.
fn train(fx: &Fx, dir: &Path, flags: &[&str], opts: &[&str]) -> Vec<String> {
    let mut a = s(&["train", "--trainer", "CoOp", "--root"]);
    a.push(fx.data.display().to_string());
    a.extend(s(&["--output-dir"]));
    a.push(dir.join("out").display().to_string());
    a.extend(s(flags));
    a.extend(s(&["MODEL.BACKBONE.NAME"]));
    a.push(fx.clip.display().to_string());
    a.extend(s(&[
        "DATASET.NAME",
        "ToyShapes",
        "INPUT.SIZE",
        "(32, 32)",
        "OPTIM.MAX_EPOCH",
        "1",
    ]));
    a.extend(s(opts));
    a
}

/// A train case with extra opts.
fn opt_case(fx: &Fx, base: &Path, name: &str, opts: &[&str], needles: &[&str]) -> Case {
    let dir = base.join(name);
    Case {
        name: name.into(),
        args: train(fx, &dir, &[], opts),
        dir,
        code: 2,
        needles: s(needles),
    }
}

/// A train case with the backbone replaced by `weights`.
fn weights_case(fx: &Fx, base: &Path, name: &str, weights: &Path, needles: &[&str]) -> Case {
    let dir = base.join(name);
    let w = weights.display().to_string();
    let mut args = train(fx, &dir, &[], &[]);
    let i = args
        .iter()
        .position(|a| a == "MODEL.BACKBONE.NAME")
        .unwrap();
    args[i + 1] = w.clone();
    let mut needles = s(needles);
    needles.push(w);
    Case {
        name: name.into(),
        args,
        dir,
        code: 2,
        needles,
    }
}

/// Safetensors `bytes` with its header passed through `edit` (data kept as it is).
fn edit_safetensors(
    bytes: &[u8],
    edit: impl Fn(&mut serde_json::Map<String, serde_json::Value>),
) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    edit(&mut header);
    let mut text = serde_json::to_vec(&header).unwrap();
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text);
    out.extend(&bytes[8 + n..]);
    out
}

fn write(p: &Path, bytes: impl AsRef<[u8]>) -> PathBuf {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
    p.to_path_buf()
}

/// A sweep file in `dir` over the stand-in CoOp data, with `extra` YAML lines.
fn sweep_file(fx: &Fx, dir: &Path, extra: &str) -> PathBuf {
    let r = repo();
    write(
        &dir.join("s.yaml"),
        format!(
            "name: s\nroot: {}\ndatasets: [dtd]\nshots: [1]\nseeds: [1]\nconfig: rn50\nconfig_dir: CoOp\ndataset_config_dir: {}/configs/datasets\ntrainer_config_dir: {}/configs/trainers\n{extra}",
            fx.coop_data.display(),
            r.display(),
            r.display()
        ),
    )
}

fn sweep_case(
    fx: &Fx,
    base: &Path,
    name: &str,
    yaml: &str,
    extra_args: &[&str],
    needles: &[&str],
) -> Case {
    let dir = base.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let spec = sweep_file(fx, &dir, yaml);
    let mut args = s(&["run", "--sweep"]);
    args.push(spec.display().to_string());
    args.extend(s(&["--output"]));
    args.push(dir.join("out").display().to_string());
    args.extend(s(extra_args));
    Case {
        name: name.into(),
        args,
        dir,
        code: 2,
        needles: s(needles),
    }
}

fn cases(fx: &Fx, base: &Path) -> Vec<Case> {
    let mut v = Vec::new();
    // --- config values: ranges, choices, types, keys -------------------------------
    let o = |v: &mut Vec<Case>, name: &str, opts: &[&str], needles: &[&str]| {
        v.push(opt_case(fx, base, name, opts, needles))
    };
    // MODEL.INIT_WEIGHTS on a trainer that loads no learned weights: CoOp's code ignores
    // it silently, we refuse before the run.
    for trainer in [
        "ZeroshotCLIP",
        "ZeroshotCLIP2",
        "LinearProbeCLIP",
        "Tip-Adapter",
    ] {
        let mut c = opt_case(
            fx,
            base,
            &format!("init_weights_{trainer}"),
            &[
                "MODEL.INIT_WEIGHTS",
                "/some/prompt_learner/model.pth.tar-50",
            ],
            &["MODEL.INIT_WEIGHTS", trainer, "does not use it", "unset it"],
        );
        c.args[2] = trainer.into();
        v.push(c);
    }
    o(
        &mut v,
        "max_epoch_0",
        &["OPTIM.MAX_EPOCH", "0"],
        &["OPTIM.MAX_EPOCH", "0", "an integer >= 1"],
    );
    o(
        &mut v,
        "max_epoch_negative",
        &["OPTIM.MAX_EPOCH", "-3"],
        &["OPTIM.MAX_EPOCH", "-3", ">= 1"],
    );
    o(
        &mut v,
        "train_batch_0",
        &["DATALOADER.TRAIN_X.BATCH_SIZE", "0"],
        &["DATALOADER.TRAIN_X.BATCH_SIZE", ">= 1"],
    );
    o(
        &mut v,
        "test_batch_0",
        &["DATALOADER.TEST.BATCH_SIZE", "0"],
        &["DATALOADER.TEST.BATCH_SIZE", ">= 1"],
    );
    o(
        &mut v,
        "workers_negative",
        &["DATALOADER.NUM_WORKERS", "-1"],
        &["DATALOADER.NUM_WORKERS", ">= 0"],
    );
    o(
        &mut v,
        "optimizer_unknown",
        &["OPTIM.NAME", "adamx"],
        &["adamx", "optim must be one of", "'sgd'"],
    );
    o(
        &mut v,
        "optimizer_not_ported",
        &["OPTIM.NAME", "rmsprop"],
        &["rmsprop", "dassl-rs implements"],
    );
    o(
        &mut v,
        "scheduler_unknown",
        &["OPTIM.LR_SCHEDULER", "linear"],
        &["linear", "scheduler must be one of", "'cosine'"],
    );
    o(
        &mut v,
        "lr_negative",
        &["OPTIM.LR", "-0.1"],
        &["Invalid learning rate: -0.1"],
    );
    o(
        &mut v,
        "warmup_type_unknown",
        &["OPTIM.WARMUP_EPOCH", "1", "OPTIM.WARMUP_TYPE", "exp"],
        &["OPTIM.WARMUP_TYPE", "exp", "'constant', 'linear'"],
    );
    o(
        &mut v,
        "momentum_negative",
        &["OPTIM.NAME", "sgd", "OPTIM.MOMENTUM", "-0.9"],
        &["momentum", "-0.9"],
    );
    o(
        &mut v,
        "adam_beta_out_of_range",
        &["OPTIM.NAME", "adam", "OPTIM.ADAM_BETA1", "1.5"],
        &["beta", "1.5"],
    );
    o(
        &mut v,
        "final_model_unknown",
        &["TEST.FINAL_MODEL", "best"],
        &["TEST.FINAL_MODEL", "best", "last_step, best_val"],
    );
    o(
        &mut v,
        "test_split_unknown",
        &["TEST.SPLIT", "train"],
        &["TEST.SPLIT", "train", "val, test"],
    );
    o(
        &mut v,
        "evaluator_unknown",
        &["TEST.EVALUATOR", "Accuracy"],
        &["EVALUATOR registry", "Accuracy", "Classification"],
    );
    o(
        &mut v,
        "train_sampler_unknown",
        &["DATALOADER.TRAIN_X.SAMPLER", "RandomDomainSampler"],
        &[
            "DATALOADER.TRAIN_X.SAMPLER",
            "RandomDomainSampler",
            "RandomSampler",
        ],
    );
    o(
        &mut v,
        "test_sampler_unknown",
        &["DATALOADER.TEST.SAMPLER", "Shuffled"],
        &["DATALOADER.TEST.SAMPLER", "Shuffled"],
    );
    o(
        &mut v,
        "input_size_not_the_models",
        &["INPUT.SIZE", "(224, 224)"],
        &[
            "INPUT.SIZE",
            "(224, 224)",
            "32x32",
            "expected INPUT.SIZE (32, 32)",
        ],
    );
    o(
        &mut v,
        "input_size_zero",
        &["INPUT.SIZE", "(0, 0)"],
        &["INPUT.SIZE", "two positive integers"],
    );
    o(
        &mut v,
        "input_size_one_number",
        &["INPUT.SIZE", "(32,)"],
        &["INPUT.SIZE", "2 numbers"],
    );
    o(
        &mut v,
        "transform_unknown",
        &["INPUT.TRANSFORMS", "['random_rotate']"],
        &["random_rotate"],
    );
    o(
        &mut v,
        "interpolation_unknown",
        &["INPUT.INTERPOLATION", "cubic"],
        &["cubic", "bicubic"],
    );
    o(
        &mut v,
        "pixel_mean_two_numbers",
        &["INPUT.PIXEL_MEAN", "(0.5, 0.5)"],
        &["INPUT.PIXEL_MEAN", "3 numbers"],
    );
    o(
        &mut v,
        "print_freq_0",
        &["TRAIN.PRINT_FREQ", "0"],
        &["TRAIN.PRINT_FREQ", ">= 1"],
    );
    o(
        &mut v,
        "checkpoint_freq_negative",
        &["TRAIN.CHECKPOINT_FREQ", "-1"],
        &["TRAIN.CHECKPOINT_FREQ", ">= 0"],
    );
    o(
        &mut v,
        "subsample_unknown",
        &["DATASET.SUBSAMPLE_CLASSES", "half"],
        &["DATASET.SUBSAMPLE_CLASSES", "half", "all, base, new"],
    );
    o(
        &mut v,
        "lr_int_for_float",
        &["OPTIM.LR", "1"],
        &["OPTIM.LR", "expected float", "1.0"],
    );
    o(
        &mut v,
        "bool_misspelt",
        &["TRAINER.COOP.CSC", "yes"],
        &["TRAINER.COOP.CSC", "expected bool", "True or False"],
    );
    o(
        &mut v,
        "unknown_key",
        &["OPTIM.LRR", "0.1"],
        &["OPTIM.LRR", "did you mean OPTIM.LR?"],
    );
    o(&mut v, "odd_opts", &["SEED"], &["KEY VALUE pairs", "SEED"]);
    o(
        &mut v,
        "dataset_unknown",
        &["DATASET.NAME", "ToyShape"],
        &["DATASET registry", "ToyShape", "ToyShapes"],
    );
    o(
        &mut v,
        "dataset_empty",
        &["DATASET.NAME", "''"],
        &["DATASET.NAME is not set"],
    );
    o(
        &mut v,
        "backbone_unknown",
        &["MODEL.BACKBONE.NAME", "RN51"],
        &["RN51", "neither one of OpenAI's CLIP models", "RN50"],
    );
    o(
        &mut v,
        "several_problems_at_once",
        &[
            "OPTIM.MAX_EPOCH",
            "0",
            "OPTIM.NAME",
            "adamx",
            "TEST.SPLIT",
            "x",
        ],
        &[
            "problems found before anything was written",
            "OPTIM.MAX_EPOCH",
            "adamx",
            "TEST.SPLIT",
        ],
    );
    // Trainer checks come from the trainer's registry entry (TrainerEntry::check_cfg).
    for (name, opts, needles) in [
        (
            "n_ctx_too_long",
            &["TRAINER.COOP.N_CTX", "100"][..],
            &["TRAINER.COOP.N_CTX", "100"][..],
        ),
        (
            "n_ctx_zero",
            &["TRAINER.COOP.N_CTX", "0"],
            &["TRAINER.COOP.N_CTX", "from 1 to"],
        ),
        (
            "ctx_init_too_long",
            &["TRAINER.COOP.CTX_INIT", CTX_INIT_TOO_LONG],
            &["TRAINER.COOP.CTX_INIT"],
        ),
        (
            "prec_unknown",
            &["TRAINER.COOP.PREC", "fp8"],
            &["TRAINER.COOP.PREC", "fp16, fp32, amp"],
        ),
        (
            "class_token_position_unknown",
            &["TRAINER.COOP.CLASS_TOKEN_POSITION", "side"],
            &["TRAINER.COOP.CLASS_TOKEN_POSITION", "end, middle, front"],
        ),
    ] {
        v.push(opt_case(fx, base, name, opts, needles));
    }

    // --- trainer and flags -------------------------------------------------------
    let dir = base.join("trainer_misspelt");
    let mut args = train(fx, &dir, &[], &[]);
    args[2] = "CoOP".into();
    v.push(Case {
        name: "trainer_misspelt".into(),
        dir,
        args,
        code: 2,
        needles: s(&["[CoOP]", "do you mean [CoOp]"]),
    });
    let dir = base.join("trainer_missing");
    let args = s(&["train", "--output-dir"])
        .into_iter()
        .chain([dir.join("out").display().to_string()])
        .collect();
    v.push(Case {
        name: "trainer_missing".into(),
        dir,
        args,
        code: 2,
        needles: s(&["TRAINER.NAME is not set", "--trainer"]),
    });
    let flag = |v: &mut Vec<Case>, name: &str, flags: &[&str], needles: &[&str]| {
        let dir = base.join(name);
        v.push(Case {
            name: name.into(),
            args: train(fx, &dir, flags, &[]),
            dir,
            code: 2,
            needles: s(needles),
        })
    };
    flag(
        &mut v,
        "eval_only_without_model_dir",
        &["--eval-only"],
        &["--eval-only needs --model-dir"],
    );
    flag(
        &mut v,
        "model_dir_missing",
        &["--eval-only", "--model-dir", "/nonexistent/model"],
        &["--model-dir /nonexistent/model does not exist"],
    );
    flag(
        &mut v,
        "load_epoch_negative",
        &["--load-epoch", "-1"],
        &["--load-epoch", "-1"],
    );
    flag(
        &mut v,
        "seed_not_a_number",
        &["--seed", "one"],
        &["--seed", "one", "invalid digit"],
    );
    flag(&mut v, "unknown_flag", &["--epochs", "3"], &["--epochs"]);
    flag(
        &mut v,
        "config_file_missing",
        &["--config-file", "/nonexistent/trainer.yaml"],
        &["cannot read config file /nonexistent/trainer.yaml"],
    );
    flag(
        &mut v,
        "dataset_config_file_missing",
        &["--dataset-config-file", "/no/data set ü.yaml"],
        &["cannot read config file /no/data set ü.yaml"],
    );

    // --- config files ------------------------------------------------------------
    let file = |v: &mut Vec<Case>, name: &str, text: &str, needles: &[&str]| {
        let dir = base.join(name);
        let f = write(&dir.join("cfg dir ü/bad.yaml"), text);
        let fs = f.display().to_string();
        let mut needles = s(needles);
        needles.push(fs.clone());
        v.push(Case {
            name: name.into(),
            args: train(fx, &dir, &["--config-file", &fs], &[]),
            dir,
            code: 2,
            needles,
        })
    };
    file(
        &mut v,
        "yaml_invalid",
        "OPTIM:\n  LR: [0.1\n",
        &["not valid YAML"],
    );
    file(
        &mut v,
        "yaml_not_a_mapping",
        "- OPTIM\n- LR\n",
        &["must hold a mapping"],
    );
    file(
        &mut v,
        "yaml_unknown_key",
        "OPTIM:\n  NAME: sgd\n  MAX_EPOCHS: 3\n",
        &[
            "OPTIM.MAX_EPOCHS",
            "bad.yaml:3",
            "did you mean OPTIM.MAX_EPOCH?",
        ],
    );
    file(
        &mut v,
        "yaml_type_mismatch",
        "OPTIM:\n  LR: fast\n",
        &["OPTIM.LR", "expected float", "'fast'"],
    );
    file(
        &mut v,
        "yaml_value_not_a_node",
        "OPTIM:\n  LR:\n    X: 1\n",
        &["OPTIM.LR"],
    );
    file(
        &mut v,
        "yaml_range_in_file",
        "DATALOADER:\n  TEST:\n    BATCH_SIZE: 0\n",
        &["DATALOADER.TEST.BATCH_SIZE", ">= 1"],
    );

    // --- weights -----------------------------------------------------------------
    let good = std::fs::read(&fx.clip).unwrap();
    let wdir = base.join("weights files ü");
    let w = |name: &str, bytes: &[u8]| write(&wdir.join(name), bytes);
    let truncated = w("truncated.safetensors", &good[..good.len() / 2]);
    v.push(weights_case(
        fx,
        base,
        "weights_truncated",
        &truncated,
        &["truncated"],
    ));
    let empty = w("empty.safetensors", b"");
    v.push(weights_case(
        fx,
        base,
        "weights_empty",
        &empty,
        &["shorter than the 8-byte header"],
    ));
    let garbage = w("garbage.safetensors", &[0xffu8; 4096]);
    v.push(weights_case(
        fx,
        base,
        "weights_garbage_header",
        &garbage,
        &["the header says it is"],
    ));
    let not_json = w(
        "not_json.safetensors",
        &[&16u64.to_le_bytes()[..], b"this is not json"].concat(),
    );
    v.push(weights_case(
        fx,
        base,
        "weights_header_not_json",
        &not_json,
        &["not JSON"],
    ));
    let one = edit_safetensors(&good, |h| h.retain(|k, _| k == "text_projection"));
    let not_clip = w("not_clip.safetensors", &one);
    v.push(weights_case(
        fx,
        base,
        "weights_not_a_clip",
        &not_clip,
        &["do not hold a CLIP model"],
    ));
    let missing = edit_safetensors(&good, |h| {
        h.remove("ln_final.bias");
    });
    let missing = w("missing_key.safetensors", &missing);
    v.push(weights_case(
        fx,
        base,
        "weights_missing_key",
        &missing,
        &["not a complete CLIP", "ln_final.bias"],
    ));
    let extra = edit_safetensors(&good, |h| {
        let t = h["ln_final.bias"].clone();
        h.insert("visual.extra.weight".into(), t);
    });
    let extra = w("extra_key.safetensors", &extra);
    v.push(weights_case(
        fx,
        base,
        "weights_unexpected_key",
        &extra,
        &["unexpected keys [visual.extra.weight]"],
    ));
    let shape = edit_safetensors(&good, |h| {
        h["ln_final.bias"]["shape"] = serde_json::json!([65]);
    });
    let shape = w("wrong_shape.safetensors", &shape);
    v.push(weights_case(
        fx,
        base,
        "weights_wrong_shape",
        &shape,
        &["ln_final.bias", "[65]", "[64]"],
    ));
    let pt = w("garbage.pt", &[7u8; 1000]);
    v.push(weights_case(
        fx,
        base,
        "weights_pt_not_an_archive",
        &pt,
        &["cannot be read as a TorchScript archive"],
    ));
    v.push(weights_case(
        fx,
        base,
        "weights_folder",
        &wdir,
        &["is a folder"],
    ));
    v.push(weights_case(
        fx,
        base,
        "weights_missing_file",
        &wdir.join("nowhere ü.pt"),
        &["neither one of OpenAI's CLIP models"],
    ));
    // OpenAI names: the cached file must have OpenAI's SHA-256.
    let dir = base.join("openai_not_downloaded");
    let mut args = train(fx, &dir, &[], &[]);
    let i = args
        .iter()
        .position(|a| a == "MODEL.BACKBONE.NAME")
        .unwrap();
    args[i + 1] = "ViT-B/16".into();
    v.push(Case {
        name: "openai_not_downloaded".into(),
        dir,
        args,
        code: 2,
        needles: s(&[
            "CLIP weights ViT-B/16 not found",
            "dassl clip fetch ViT-B/16",
        ]),
    });
    let dir = base.join("openai_wrong_file");
    write(&dir.join("clip/ViT-B-32.pt"), b"a partial download");
    let mut args = train(fx, &dir, &[], &[]);
    let i = args
        .iter()
        .position(|a| a == "MODEL.BACKBONE.NAME")
        .unwrap();
    args[i + 1] = "ViT-B/32".into();
    v.push(Case {
        name: "openai_wrong_file".into(),
        dir,
        args,
        code: 2,
        needles: s(&[
            "ViT-B/32",
            "have SHA-256",
            "expected OpenAI's",
            "dassl clip fetch ViT-B/32",
        ]),
    });

    // --- data --------------------------------------------------------------------
    let data_case = |v: &mut Vec<Case>, name: &str, root: &Path, needles: &[&str]| {
        let dir = base.join(name);
        let mut args = train(fx, &dir, &[], &[]);
        args[4] = root.display().to_string();
        v.push(Case {
            name: name.into(),
            args,
            dir,
            code: 2,
            needles: s(needles),
        })
    };
    data_case(
        &mut v,
        "root_missing",
        Path::new("/nonexistent/data"),
        &[
            "dataset folder /nonexistent/data/toy_shapes not found",
            "expects this layout",
        ],
    );
    let copy = |name: &str| -> PathBuf {
        let root = base.join(name).join("data root ü");
        copy_dir(&fx.data, &root);
        root
    };
    let split = |root: &Path| root.join("toy_shapes/split_zhou_ToyShapes.json");
    let r = copy("split_invalid_json");
    std::fs::write(split(&r), "{\"train\": [").unwrap();
    data_case(
        &mut v,
        "split_invalid_json",
        &r,
        &["split_zhou_ToyShapes.json", "invalid JSON"],
    );
    let r = copy("split_missing_test");
    std::fs::write(split(&r), "{\"train\": [], \"val\": []}").unwrap();
    data_case(
        &mut v,
        "split_missing_test",
        &r,
        &["split_zhou_ToyShapes.json", "missing key \"test\""],
    );
    let r = copy("split_lists_missing_image");
    let text = std::fs::read_to_string(split(&r)).unwrap();
    let first = text.split('"').nth(3).unwrap().to_string(); // first image path in "train"
    std::fs::remove_file(r.join("toy_shapes/images").join(&first)).unwrap();
    data_case(
        &mut v,
        "split_lists_missing_image",
        &r,
        &[&first, "does not exist"],
    );
    let r = copy("split_label_not_a_number");
    let mut j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(split(&r)).unwrap()).unwrap();
    j["train"][0][1] = serde_json::json!("seven");
    std::fs::write(split(&r), j.to_string()).unwrap();
    data_case(
        &mut v,
        "split_label_not_a_number",
        &r,
        &["split_zhou_ToyShapes.json", "seven"],
    );
    let r = copy("dataset_folder_empty");
    std::fs::remove_dir_all(r.join("toy_shapes")).unwrap();
    std::fs::create_dir_all(r.join("toy_shapes")).unwrap();
    data_case(&mut v, "dataset_folder_empty", &r, &["toy_shapes"]);
    let dir = base.join("custom_spec_missing");
    let args = train(
        fx,
        &dir,
        &[],
        &[
            "DATASET.NAME",
            "Custom",
            "DATASET.CUSTOM_SPEC",
            "/nonexistent/spec.yaml",
        ],
    );
    v.push(Case {
        name: "custom_spec_missing".into(),
        dir,
        args,
        code: 2,
        needles: s(&["/nonexistent/spec.yaml"]),
    });

    // --- output paths ------------------------------------------------------------
    let dir = base.join("output_is_a_file");
    write(&dir.join("out"), b"a file");
    let args = train(fx, &dir, &[], &[]);
    v.push(Case {
        name: "output_is_a_file".into(),
        dir,
        args,
        code: 2,
        needles: s(&["OUTPUT_DIR", "is a file, expected a folder"]),
    });

    // --- checkpoints (a model folder to evaluate) ---------------------------------
    for (name, bytes) in [
        ("checkpoint_empty", &b""[..]),
        ("checkpoint_garbage", &[0x42u8; 300][..]),
        (
            "checkpoint_truncated_zip",
            &b"PK\x03\x04\x14\x00\x00\x00\x00\x00"[..],
        ),
    ] {
        let dir = base.join(name);
        let model = dir.join("model dir ü");
        write(&model.join("prompt_learner/model.pth.tar-1"), bytes);
        write(
            &model.join("prompt_learner/checkpoint"),
            "model.pth.tar-1\n",
        );
        let m = model.display().to_string();
        let args = train(
            fx,
            &dir,
            &["--eval-only", "--model-dir", &m, "--load-epoch", "1"],
            &[],
        );
        v.push(Case {
            name: name.into(),
            args,
            dir,
            code: 1,
            needles: s(&["model.pth.tar-1"]),
        });
    }
    let dir = base.join("checkpoint_epoch_missing");
    let model = dir.join("model");
    write(
        &model.join("prompt_learner/checkpoint"),
        "model.pth.tar-1\n",
    );
    let m = model.display().to_string();
    let args = train(
        fx,
        &dir,
        &["--eval-only", "--model-dir", &m, "--load-epoch", "7"],
        &[],
    );
    v.push(Case {
        name: "checkpoint_epoch_missing".into(),
        args,
        dir,
        code: 1,
        needles: s(&["model.pth.tar-7"]),
    });

    // --- sweep files -------------------------------------------------------------
    let sw = |v: &mut Vec<Case>, name: &str, yaml: &str, extra: &[&str], needles: &[&str]| {
        v.push(sweep_case(fx, base, name, yaml, extra, needles))
    };
    sw(
        &mut v,
        "sweep_no_trainers",
        "",
        &[],
        &["lists no trainers", "--trainer"],
    );
    sw(
        &mut v,
        "sweep_unknown_field",
        "trainers: {CoOp: }\nepochs: 3\n",
        &[],
        &["unknown field `epochs`"],
    );
    sw(
        &mut v,
        "sweep_unknown_trainer_field",
        "trainers: {CoOp: {variant: {}}}\n",
        &[],
        &["unknown field `variant`"],
    );
    sw(
        &mut v,
        "sweep_protocol_unknown",
        "protocol: zeroshot\ntrainers: {CoOp: }\n",
        &[],
        &["zeroshot", "fewshot"],
    );
    sw(
        &mut v,
        "sweep_trainer_unknown",
        "trainers: {CoOP: }\n",
        &[],
        &["CoOP", "do you mean [CoOp]"],
    );
    sw(
        &mut v,
        "sweep_variant_unknown_key",
        "trainers: {CoOp: {variants: {TRAINER.COOP.NCTX: [4, 8]}}}\n",
        &[],
        &["TRAINER.COOP.NCTX", "did you mean TRAINER.COOP.N_CTX?"],
    );
    sw(
        &mut v,
        "sweep_opt_wrong_type",
        "opts: {OPTIM.LR: 1}\ntrainers: {CoOp: }\n",
        &[],
        &["OPTIM.LR", "expected float"],
    );
    sw(
        &mut v,
        "sweep_opt_out_of_range",
        "opts: {OPTIM.MAX_EPOCH: 0}\ntrainers: {CoOp: }\n",
        &[],
        &[
            "1 of 1 runs cannot start",
            "OPTIM.MAX_EPOCH",
            ">= 1",
            "dtd/CoOp/rn50_1shots",
        ],
    );
    sw(
        &mut v,
        "sweep_root_missing",
        "trainers: {CoOp: }\n",
        &["--trainer", "CoOp", "--root", "/nonexistent"],
        &["dataset folder /nonexistent/dtd not found"],
    );
    sw(
        &mut v,
        "sweep_trainer_config_missing",
        "trainers: {CoOp: {config: rn49}}\n",
        &[],
        &["rn49.yaml"],
    );
    sw(
        &mut v,
        "sweep_dg_without_source",
        "protocol: dg\ntrainers: {CoOp: }\n",
        &[],
        &["source"],
    );
    sw(
        &mut v,
        "sweep_extra_opts_odd",
        "trainers: {CoOp: }\n",
        &["SEED"],
        &["KEY VALUE", "SEED"],
    );
    sw(
        &mut v,
        "sweep_weights_missing",
        "trainers: {CoOp: }\nopts: {MODEL.BACKBONE.NAME: ViT-L/14}\n",
        &[],
        &["dassl clip fetch ViT-L/14"],
    );
    sw(
        &mut v,
        "sweep_jobs_not_a_number",
        "trainers: {CoOp: }\n",
        &["--jobs-per-device", "two"],
        &["--jobs-per-device", "two"],
    );
    sw(
        &mut v,
        "sweep_executor_unknown",
        "trainers: {CoOp: }\n",
        &["--executor", "pbs"],
        &["pbs", "local, slurm"],
    );
    // The shots/seed axes of a trainer that needs them.
    let dir = base.join("sweep_seeds_empty");
    std::fs::create_dir_all(&dir).unwrap();
    let spec = write(&dir.join("s.yaml"), format!("datasets: [dtd]\nshots: [1]\nseeds: []\nconfig: rn50\nroot: {}\ntrainers: {{CoOp: }}\n", fx.coop_data.display()));
    v.push(Case {
        name: "sweep_seeds_empty".into(),
        args: s(&[
            "run",
            "--sweep",
            spec.to_str().unwrap(),
            "--output",
            dir.join("out").to_str().unwrap(),
        ]),
        dir,
        code: 2,
        needles: s(&["`seeds` is empty", "CoOp needs seeds"]),
    });
    let dir = base.join("sweep_shots_empty");
    std::fs::create_dir_all(&dir).unwrap();
    let spec = write(&dir.join("s.yaml"), format!("datasets: [dtd]\nshots: []\nseeds: [1]\nconfig: rn50\nroot: {}\ntrainers: {{CoOp: }}\n", fx.coop_data.display()));
    v.push(Case {
        name: "sweep_shots_empty".into(),
        args: s(&[
            "run",
            "--sweep",
            spec.to_str().unwrap(),
            "--output",
            dir.join("out").to_str().unwrap(),
        ]),
        dir,
        code: 2,
        needles: s(&["`shots` is empty", "CoOp needs shots"]),
    });
    let dir = base.join("sweep_file_missing");
    v.push(Case {
        name: "sweep_file_missing".into(),
        args: s(&["run", "--sweep", "/nonexistent/sweep ü.yaml"]),
        dir,
        code: 2,
        needles: s(&["cannot read sweep file /nonexistent/sweep ü.yaml"]),
    });
    let dir = base.join("sweep_invalid_yaml");
    let spec = write(&dir.join("s.yaml"), "datasets: [dtd\n");
    v.push(Case {
        name: "sweep_invalid_yaml".into(),
        args: s(&["run", "--sweep", spec.to_str().unwrap(), "--dry-run"]),
        dir,
        code: 2,
        needles: s(&["s.yaml", "is not valid"]),
    });

    // --- other commands ----------------------------------------------------------
    let cmd = |v: &mut Vec<Case>, name: &str, args: &[&str], code: i32, needles: &[&str]| {
        let dir = base.join(name);
        v.push(Case {
            name: name.into(),
            args: s(args),
            dir,
            code,
            needles: s(needles),
        })
    };
    cmd(
        &mut v,
        "report_no_manifest",
        &["report", "/nonexistent/out"],
        2,
        &["no sweep manifest in /nonexistent/out"],
    );
    cmd(
        &mut v,
        "status_no_manifest",
        &["status", "/nonexistent/out"],
        2,
        &["no sweep in /nonexistent/out"],
    );
    cmd(&mut v, "run_without_sweep", &["run"], 2, &["--sweep"]);
    cmd(
        &mut v,
        "make_toy_one_class",
        &["data", "make-toy", "--root", "/tmp/never", "--classes", "1"],
        2,
        &["--classes must be between 2 and", "got 1"],
    );
    cmd(
        &mut v,
        "clip_random_unknown",
        &["clip", "random", "RN51", "--out", "/tmp/never.safetensors"],
        2,
        &["unknown model \"RN51\"", "RN50"],
    );
    cmd(
        &mut v,
        "clip_info_missing",
        &["clip", "info", "/nonexistent/w.pt"],
        2,
        &["/nonexistent/w.pt", "neither a CLIP weights file"],
    );
    cmd(
        &mut v,
        "tokenize_too_long",
        &[
            "clip",
            "tokenize",
            "--context-length",
            "3",
            "a photo of a cat",
        ],
        2,
        &["context length 3"],
    );
    cmd(
        &mut v,
        "list_unknown",
        &["list", "models"],
        2,
        &["models", "trainers"],
    );
    cmd(
        &mut v,
        "config_show_unknown_key",
        &["config", "show", "OPTIM.LRR", "0.1"],
        2,
        &["OPTIM.LRR", "did you mean OPTIM.LR?"],
    );
    v
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Files whose name marks an unfinished atomic write.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(temporaries(&p));
        } else if e.file_name().to_string_lossy().contains(".tmp-") {
            out.push(p);
        }
    }
    out
}

/// Runs one case; `Err` says what went wrong.
fn check(fx: &Fx, c: &Case) -> Result<(), String> {
    std::fs::create_dir_all(&c.dir).unwrap();
    let mut env = fx.env.clone();
    // A case with its own CLIP cache folder uses it.
    if c.dir.join("clip").is_dir() {
        env.retain(|(k, _)| k != "DASSL_CLIP_CACHE");
        env.push(("DASSL_CLIP_CACHE".into(), c.dir.join("clip")));
    }
    let o = Command::new(env!("CARGO_BIN_EXE_dassl"))
        .args(&c.args)
        .current_dir(&c.dir)
        .env_remove("CUDA_VISIBLE_DEVICES")
        .envs(env)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let mut why = Vec::new();
    if o.status.code() != Some(c.code) {
        why.push(format!("exit {:?}, expected {}", o.status.code(), c.code));
    }
    for n in &c.needles {
        if !text.contains(n.as_str()) {
            why.push(format!("the message lacks {n:?}"));
        }
    }
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace", "frame #"] {
        if text.contains(bad) {
            why.push(format!("the output holds {bad:?}"));
        }
    }
    let tmp = temporaries(&c.dir);
    if !tmp.is_empty() {
        why.push(format!("half-written files left: {tmp:?}"));
    }
    if c.code == 2 && c.dir.join("out").is_dir() {
        why.push("a refused run left its output folder".into());
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}:\n    {}\n  output:\n{}",
            c.name,
            why.join("\n    "),
            text
        ))
    }
}

#[test]
fn bad_input_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let coop_data = root.join("coop data");
    fake_coop_data(&coop_data);
    let fx = Fx {
        clip: tiny_clip(root),
        data: toy_data(root),
        coop_data,
        env: fake_openai_weights(root, "RN50"),
    };
    let base = root.join("cases");
    let all = cases(&fx, &base);
    assert!(all.len() >= 80, "the corpus has {} cases", all.len());
    let threads = 4;
    let results: Vec<(usize, Result<(), String>)> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (fx, all) = (&fx, &all);
                sc.spawn(move || {
                    (t..all.len())
                        .step_by(threads)
                        .map(|i| (i, check(fx, &all[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let failed: Vec<String> = results.into_iter().filter_map(|(_, r)| r.err()).collect();
    let summary = format!(
        "bad-input corpus: {} cases, {} passed, {} failed",
        all.len(),
        all.len() - failed.len(),
        failed.len()
    );
    println!("{summary}");
    crate::support::write_figures("bad_input.md", &format!("{summary}\n"));
    assert!(
        failed.is_empty(),
        "{} cases failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    /// `None` (and a visible note) where mounting is not possible (not root, no tmpfs).
    fn tmpfs(at: &Path, options: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(at.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A read-only output folder is refused before the run starts (exit 2); a full disk fails
/// the run (exit 1) naming the file, and leaves no half-written file.
#[test]
fn read_only_and_full_file_systems() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let fx = Fx {
        clip: tiny_clip(root),
        data: toy_data(root),
        coop_data: root.join("coop"),
        env: vec![("DASSL_HASH_CACHE".into(), root.join("hashes.json"))],
    };
    let Some(ro) = Mount::tmpfs(&root.join("ro"), "ro,size=1m") else {
        println!("SKIPPED read_only_and_full_file_systems: cannot mount a tmpfs here (needs root)");
        return;
    };
    let c = Case {
        name: "read_only_output".into(),
        dir: root.join("case_ro"),
        args: train(&fx, &ro.0.join("run"), &[], &[]),
        code: 2,
        needles: s(&["OUTPUT_DIR", "cannot be written", "Read-only file system"]),
    };
    let r = check(&fx, &c);
    drop(ro);
    r.unwrap();
    let full = Mount::tmpfs(&root.join("full"), "size=64k").expect("a second tmpfs mounts");
    // Fill it.
    let _ = std::fs::write(full.0.join("filler"), vec![0u8; 256 * 1024]);
    let c = Case {
        name: "full_disk".into(),
        dir: full.0.clone(),
        args: train(&fx, &full.0, &["--no-train"], &[]),
        code: 1,
        needles: s(&["config.yaml", "No space left on device"]),
    };
    let r = check(&fx, &c);
    assert!(
        !full.0.join("out/config.yaml").exists(),
        "no partial config"
    );
    drop(full);
    r.unwrap();
}
