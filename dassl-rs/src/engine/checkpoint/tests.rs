//! Save / resume / load round trips, PyTorch reading our checkpoints (`torch.load`,
//! torch's own `load_state_dict`s, CoOp's `load_model` and `interpret_prompt.py` lines),
//! the import of a torch.save checkpoint (`tests/fixtures/checkpoint/make_coop_ckpt.py`)
//! and dassl-rs 0.1's safetensors checkpoints.

use std::path::PathBuf;

use serde::Serialize;
use tch::{Device, Kind, Tensor};

use super::*;
use crate::optim::{OptimName, OptimSettings, SchedSettings};
use crate::torchfile::tests::{run_python, SAME_AS_TORCH_SAVE};

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checkpoint")
}

fn sched_settings(name: &str) -> SchedSettings {
    SchedSettings {
        name: name.into(),
        stepsize: vec![2, 4, 4],
        gamma: 0.1,
        max_epoch: 10,
        warmup_epoch: 1,
        warmup_type: "constant".into(),
        warmup_cons_lr: 1e-5,
        warmup_min_lr: 1e-5,
        warmup_recount: true,
    }
}

/// A CoOp-like prompt learner: trainable ctx plus frozen buffers.
struct Run {
    ctx: Tensor,
    prefix: Tensor,
    opt: Optimizer,
    sched: LrScheduler,
    scaler: DynamicLossScaler,
}

impl Run {
    /// SGD with cosine + constant warmup (CoOp's), or `Run::with` anything else.
    fn new(ctx: Option<Tensor>) -> Run {
        Run::with(ctx, OptimName::Sgd, "cosine", 1)
    }

    fn with(ctx: Option<Tensor>, optim: OptimName, sched: &str, warmup: i64) -> Run {
        let ctx = ctx.unwrap_or_else(|| {
            Tensor::arange(32, (Kind::Float, Device::Cpu)).reshape([4, 8]) / 10.0
        });
        let ctx = ctx.set_requires_grad(true);
        let mut settings = OptimSettings::new(optim, 0.002);
        settings.momentum = 0.9;
        settings.weight_decay = 5e-4;
        let mut opt = Optimizer::new(settings, vec![ctx.shallow_clone()]).unwrap();
        let mut ss = sched_settings(sched);
        ss.warmup_epoch = warmup;
        let sched = LrScheduler::new(&ss, &mut opt).unwrap();
        let prefix = Tensor::ones([3, 1, 8], (Kind::Half, Device::Cpu));
        Run {
            ctx,
            prefix,
            opt,
            sched,
            scaler: DynamicLossScaler::new(1024.0, 2.0, 0.5, 2),
        }
    }

    fn epoch(&mut self, e: usize) {
        for b in 0..2 {
            self.opt.zero_grad();
            let loss = (&self.ctx * &self.ctx).sum(Kind::Float) * (1.0 + (e * 2 + b) as f64 * 0.1);
            self.scaler.scale(&loss).unwrap().backward();
            self.scaler.step(&mut self.opt).unwrap();
            self.scaler.update().unwrap();
        }
        self.sched.step(&mut self.opt);
    }

    fn tensors(&self) -> Vec<(String, Tensor)> {
        vec![
            ("module.ctx".to_string(), self.ctx.detach()),
            ("token_prefix".to_string(), self.prefix.shallow_clone()),
        ]
    }

    fn save(&self, dir: &Path, epoch: usize, val: Option<f64>, best: bool) -> PathBuf {
        let tensors = self.tensors();
        let ckpt = Checkpoint {
            epoch,
            tensors: &tensors,
            optimizer: Some(&self.opt),
            scheduler: Some(&self.sched),
            scaler: Some(&self.scaler),
            val_result: val,
            identity: None,
            progress: None,
        };
        save(dir, &ckpt, best).unwrap()
    }

    fn resume_from(&mut self, dir: &Path) -> Resumed {
        let r = resume(
            dir,
            None,
            Some(&mut self.opt),
            Some(&mut self.sched),
            Some(&mut self.scaler),
        )
        .unwrap()
        .unwrap();
        tch::no_grad(|| self.ctx.copy_(&r.tensors[0].1));
        r
    }
}

/// Trains 6 epochs straight, and 3 + save + resume into a fresh run + 3; both must end
/// bit-identical.
fn check_resume(optim: OptimName, sched: &str, warmup: i64) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prompt_learner");
    let mut straight = Run::with(None, optim, sched, warmup);
    for e in 0..6 {
        straight.epoch(e);
    }
    let mut first = Run::with(None, optim, sched, warmup);
    for e in 0..3 {
        first.epoch(e);
    }
    first.save(&dir, 3, Some(71.25), false);
    let zeros = Tensor::zeros([4, 8], (Kind::Float, Device::Cpu));
    let mut second = Run::with(Some(zeros), optim, sched, warmup);
    let resumed = second.resume_from(&dir);
    assert_eq!((resumed.start_epoch, resumed.val_result), (3, Some(71.25)));
    assert_eq!(second.opt.state(), first.opt.state(), "{optim:?} {sched}");
    assert_eq!(
        second.sched.state(),
        first.sched.state(),
        "{optim:?} {sched}"
    );
    assert_eq!(second.scaler.state(), first.scaler.state());
    for e in resumed.start_epoch..6 {
        second.epoch(e);
    }
    assert!(
        second.ctx.equal(&straight.ctx),
        "resumed run diverged ({optim:?}, {sched})"
    );
    assert_eq!(second.opt.lr(), straight.opt.lr());
    assert_eq!(second.scaler.state(), straight.scaler.state());
}

#[test]
fn resume_continues_exactly_like_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prompt_learner");
    let mut first = Run::new(None);
    for e in 0..3 {
        first.epoch(e);
    }
    let path = first.save(&dir, 3, Some(71.25), false);
    assert_eq!(path, dir.join("model.pth.tar-3"));
    assert_eq!(
        std::fs::read_to_string(dir.join("checkpoint")).unwrap(),
        "model.pth.tar-3\n"
    );
    let mut second = Run::new(Some(Tensor::zeros([4, 8], (Kind::Float, Device::Cpu))));
    let resumed = second.resume_from(&dir);
    let names: Vec<&str> = resumed.tensors.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        ["ctx", "token_prefix"],
        "module. is stripped, as Dassl does"
    );
    assert_eq!(resumed.tensors[1].1.kind(), Kind::Half);
    assert_eq!(second.opt.lr(), first.opt.lr());
    check_resume(OptimName::Sgd, "cosine", 1);
}

#[test]
fn resume_restores_every_optimizer_and_scheduler_exactly() {
    for (optim, sched, warmup) in [
        (OptimName::Adam, "multi_step", 0),
        (OptimName::Adamw, "single_step", 2),
        (OptimName::Sgd, "multi_step", 1),
    ] {
        check_resume(optim, sched, warmup);
    }
}

#[test]
fn best_and_epoch_files_load_and_missing_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prompt_learner");
    assert!(
        resume(&dir, None, None, None, None).unwrap().is_none(),
        "no checkpoint: train from scratch"
    );
    let mut run = Run::new(None);
    run.epoch(0);
    run.save(&dir, 1, Some(50.0), true);
    run.epoch(1);
    run.save(&dir, 2, Some(40.0), false);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "checkpoint",
            "model-best.pth.tar",
            "model.pth.tar-1",
            "model.pth.tar-2"
        ],
        "Dassl's files and no temporary ones"
    );
    assert_eq!(
        std::fs::read(dir.join("model-best.pth.tar")).unwrap(),
        std::fs::read(dir.join("model.pth.tar-1")).unwrap(),
        "the best file is a copy, as Dassl's shutil.copy"
    );
    let best = load(&dir, None).unwrap();
    assert_eq!((best.epoch, best.val_result), (Some(1), Some(50.0)));
    let last = load(&dir, Some(2)).unwrap();
    assert_eq!(last.epoch, Some(2));
    assert!(!best.tensors[0].1.equal(&last.tensors[0].1));
    let err = load(&dir, Some(7)).unwrap_err();
    assert!(matches!(err, CheckpointError::NotFound { .. }));
    assert!(err.to_string().contains("model.pth.tar-7"), "{err}");
    // A checkpoint pointer naming a missing file names it too.
    std::fs::write(dir.join("checkpoint"), "model.pth.tar-9\n").unwrap();
    let err = resume(&dir, None, None, None, None).unwrap_err();
    assert!(err.to_string().contains("model.pth.tar-9"), "{err}");
}

#[test]
fn coop_pytorch_checkpoints_load_natively() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("expected.json")).unwrap(),
    )
    .unwrap();
    let dir = fixture_dir().join("prompt_learner");
    let mut loaded = load(&dir, Some(50)).unwrap();
    assert_eq!((loaded.epoch, loaded.val_result), (Some(50), None));
    let names: Vec<&str> = loaded.tensors.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["ctx", "token_prefix", "token_suffix"]);
    for (name, t) in &loaded.tensors {
        let want = &expected["tensors"][name.as_str()];
        let kind = match want["dtype"].as_str().unwrap() {
            "float32" => Kind::Float,
            "float16" => Kind::Half,
            other => panic!("{other}"),
        };
        let shape: Vec<i64> = serde_json::from_value(want["shape"].clone()).unwrap();
        assert_eq!((t.kind(), t.size()), (kind, shape), "{name}");
        let got = Vec::<f32>::try_from(t.to_kind(Kind::Float).flatten(0, -1)).unwrap();
        let want: Vec<f32> = want["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(got, want, "{name}");
    }
    assert_eq!(
        loaded.tensors[2].1.size(),
        [3, 72, 8],
        "suffix: 77 - 1 - n_ctx tokens"
    );
    let dropped = drop_keys(
        &mut loaded.tensors,
        &["token_prefix", "token_suffix", "absent"],
    );
    assert_eq!(dropped, ["token_prefix", "token_suffix"]);
    assert_eq!(loaded.tensors.len(), 1);
    // Its state was saved by Python (the scheduler holds objects): not resumable.
    let err = resume(&dir, None, None, None, None).unwrap_err();
    assert!(err.to_string().contains("cannot be resumed"), "{err}");
    // Its optimizer and (object-holding) scheduler state still parse as torch's layouts.
    let mut file = TorchFile::open(&dir.join("model.pth.tar-50")).unwrap();
    let top = file.value().clone();
    let sched = state::scheduler_state(top.get("scheduler").unwrap()).unwrap();
    assert_eq!(sched.successor.counters.last_epoch, 2);
    assert_eq!(sched.warmup.as_ref().unwrap().warmup_epoch, 1);
    let settings = OptimSettings::new(OptimName::Sgd, 1.0);
    let (opt, buffers) =
        state::optimizer_state(top.get("optimizer").unwrap(), 3, &settings, &mut file).unwrap();
    assert_eq!((opt.settings.momentum, opt.num_params), (0.9, 1));
    assert_eq!(buffers[0].0, "0.momentum_buffer");
    // Not a checkpoint at all: the error names the file.
    let err = load_file(&fixture_dir().join("make_coop_ckpt.py")).unwrap_err();
    assert!(err.to_string().contains("make_coop_ckpt.py"), "{err}");
    assert!(
        err.to_string().contains("neither a torch.save zip"),
        "{err}"
    );
}

/// Describes a checkpoint loaded by `torch.load` (default `weights_only=True`), after
/// loading its parts into torch's own SGD, schedulers and GradScaler, and running CoOp's
/// `load_model` and `interpret_prompt.py` lines on it.
const TORCH_CHECK: &str = r#"
import json, struct, sys, torch
path, theirs = sys.argv[1], sys.argv[2]
def exact(o):  # floats as their IEEE-754 bits, so the comparison is exact
    if isinstance(o, float):
        return struct.unpack("<Q", struct.pack("<d", o))[0]
    if isinstance(o, dict):
        return {k: exact(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [exact(v) for v in o]
    return o
ck = torch.load(path)
out = {"keys": list(ck), "epoch": ck["epoch"], "val_result": ck["val_result"]}
out["same_as_torch_save"] = same_as_torch_save(ck, path, theirs)
out["state_dict"] = {k: [str(v.dtype), list(v.shape), v.double().flatten().tolist()]
                     for k, v in ck["state_dict"].items()}
out["state_dict_type"] = type(ck["state_dict"]).__name__
# torch's SGD accepts our optimizer layout.
p = torch.nn.Parameter(torch.zeros(4, 8))
opt = torch.optim.SGD([p], lr=1.0, momentum=0.5)
opt.load_state_dict(ck["optimizer"])
g = opt.param_groups[0]
out["group"] = {k: g[k] for k in ["lr", "momentum", "weight_decay", "initial_lr"]}
out["momentum_buffer"] = opt.state[p]["momentum_buffer"].flatten().tolist()
# The scheduler: Dassl's warmup wrapper attributes, successor nested as a dict.
sch = ck["scheduler"]
succ = torch.optim.lr_scheduler.CosineAnnealingLR(torch.optim.SGD([p], lr=0.002), 10.0)
succ.load_state_dict(sch["successor"])
out["scheduler"] = {k: sch[k] for k in ["cons_lr", "warmup_epoch", "last_epoch", "_last_lr"]}
out["successor_last_lr"] = succ.get_last_lr()
scaler = torch.amp.GradScaler("cpu")
scaler.load_state_dict(ck["scaler"])
out["scale"] = scaler.get_scale()
out["dassl_rs"] = ck["dassl_rs"]
# CoOp's load_model (trainers/coop.py): drop the class-dependent buffers, load non-strictly.
state_dict = ck["state_dict"]
if "token_prefix" in state_dict:
    del state_dict["token_prefix"]
if "token_suffix" in state_dict:
    del state_dict["token_suffix"]
class PromptLearner(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ctx = torch.nn.Parameter(torch.zeros(4, 8))
pl = PromptLearner()
pl.load_state_dict(state_dict, strict=False)
out["loaded_ctx"] = pl.ctx.flatten().tolist()
# interpret_prompt.py, lines 43-45.
prompt_learner = torch.load(path, map_location="cpu")["state_dict"]
ctx = prompt_learner["ctx"]
ctx = ctx.float()
out["interpret_ctx"] = list(ctx.shape)
print(json.dumps(exact(out)))
"#;

fn b(x: f64) -> u64 {
    x.to_bits()
}

/// A tensor's values as the bits of their float64 conversions.
fn bits(t: &Tensor) -> Vec<u64> {
    let v = Vec::<f64>::try_from(t.detach().to_kind(Kind::Double).flatten(0, -1)).unwrap();
    v.into_iter().map(f64::to_bits).collect()
}

#[test]
fn torch_load_reads_our_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prompt_learner");
    let mut run = Run::new(None);
    for e in 0..3 {
        run.epoch(e);
    }
    let path = run.save(&dir, 3, Some(71.25), true);
    let check = format!("{SAME_AS_TORCH_SAVE}{TORCH_CHECK}");
    let theirs = tmp.path().join("torch").join("model.pth.tar-3");
    std::fs::create_dir(theirs.parent().unwrap()).unwrap();
    let Some(out) = run_python(&check, &[&path, &theirs]) else {
        return;
    };
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        got["keys"],
        serde_json::json!([
            "state_dict",
            "epoch",
            "optimizer",
            "scheduler",
            "val_result",
            "scaler",
            "dassl_rs"
        ])
    );
    assert_eq!(
        (&got["epoch"], &got["val_result"]),
        (&3.into(), &b(71.25).into())
    );
    assert_eq!(got["state_dict_type"], "OrderedDict");
    assert_eq!(
        got["same_as_torch_save"], true,
        "torch.save of the loaded dict differs from our file (name half of the serialization id aside)"
    );
    let ctx = bits(&run.ctx);
    assert_eq!(
        got["state_dict"]["ctx"],
        serde_json::json!(["torch.float32", [4, 8], ctx])
    );
    assert_eq!(
        got["state_dict"]["token_prefix"],
        serde_json::json!(["torch.float16", [3, 1, 8], vec![b(1.0); 24]])
    );
    assert_eq!(got["loaded_ctx"], serde_json::json!(ctx));
    assert_eq!(got["interpret_ctx"], serde_json::json!([4, 8]));
    let s = run.opt.settings();
    assert_eq!(
        got["group"],
        serde_json::json!({"lr": b(run.opt.lr()), "momentum": b(s.momentum),
            "weight_decay": b(s.weight_decay), "initial_lr": b(0.002)})
    );
    let buf = run
        .opt
        .state_tensors()
        .into_iter()
        .find(|(k, _)| k == "0.momentum_buffer")
        .unwrap()
        .1;
    assert_eq!(got["momentum_buffer"], serde_json::json!(bits(&buf)));
    let st = run.sched.state();
    let w = st.warmup.as_ref().unwrap();
    assert_eq!(
        got["scheduler"],
        serde_json::json!({"cons_lr": b(1e-5), "warmup_epoch": 1,
            "last_epoch": w.counters.last_epoch, "_last_lr": [b(w.counters.last_lr)]})
    );
    assert_eq!(
        got["successor_last_lr"],
        serde_json::json!([b(st.successor.counters.last_lr)])
    );
    assert_eq!(got["scale"], serde_json::json!(b(run.scaler.get_scale())));
    assert_eq!(
        got["dassl_rs"],
        serde_json::json!({"format": FORMAT, "optimizer_step_count": run.opt.step_count()})
    );
    // model-best.pth.tar is the same file.
    let best = dir.join(BEST_NAME);
    let Some(out) = run_python(&check, &[&best, &theirs]) else {
        return;
    };
    let best: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(best, got);
}

/// What dassl-rs 0.1 wrote: safetensors model file, JSON sidecar, optimizer buffers.
#[derive(Serialize)]
struct V01Sidecar {
    format: &'static str,
    epoch: usize,
    val_result: Option<f64>,
    optimizer: crate::optim::OptimizerState,
    optimizer_tensors: String,
    scheduler: crate::optim::SchedulerState,
    scaler: crate::optim::ScalerState,
}

fn save_v01(run: &Run, dir: &Path, epoch: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let name = model_file_name(epoch);
    let tensors: Vec<(String, Tensor)> = run
        .tensors()
        .into_iter()
        .map(|(k, t)| (k.trim_start_matches("module.").to_string(), t))
        .collect();
    Tensor::write_safetensors(&tensors, dir.join(&name)).unwrap();
    Tensor::write_safetensors(&run.opt.state_tensors(), dir.join(format!("{name}.optim"))).unwrap();
    let sidecar = V01Sidecar {
        format: "dassl-rs checkpoint 1",
        epoch,
        val_result: Some(12.5),
        optimizer: run.opt.state(),
        optimizer_tensors: format!("{name}.optim"),
        scheduler: run.sched.state(),
        scaler: run.scaler.state(),
    };
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_string(&sidecar).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join(POINTER_NAME), format!("{name}\n")).unwrap();
}

#[test]
fn v0_1_safetensors_checkpoints_still_load_and_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prompt_learner");
    let mut straight = Run::new(None);
    for e in 0..4 {
        straight.epoch(e);
    }
    let mut old = Run::new(None);
    for e in 0..2 {
        old.epoch(e);
    }
    save_v01(&old, &dir, 2);
    let loaded = load(&dir, Some(2)).unwrap();
    assert_eq!((loaded.epoch, loaded.val_result), (Some(2), Some(12.5)));
    let mut new = Run::new(Some(Tensor::zeros([4, 8], (Kind::Float, Device::Cpu))));
    let r = new.resume_from(&dir);
    assert_eq!(r.start_epoch, 2);
    for e in 2..4 {
        new.epoch(e);
    }
    assert!(
        new.ctx.equal(&straight.ctx),
        "resume from a 0.1 checkpoint diverged"
    );
    // Saving over a 0.1 file leaves no stale sidecars behind.
    new.save(&dir, 2, None, false);
    assert!(!dir.join("model.pth.tar-2.json").exists());
    assert!(!dir.join("model.pth.tar-2.optim").exists());
    assert!(crate::torchfile::is_zip(&dir.join("model.pth.tar-2")).unwrap());
}
