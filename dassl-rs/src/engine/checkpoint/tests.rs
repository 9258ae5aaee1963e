//! Save / resume / load round trips and the import of a torch.save checkpoint
//! (`tests/fixtures/checkpoint/make_coop_ckpt.py`).

use std::path::PathBuf;

use tch::{Device, Kind, Tensor};

use super::*;
use crate::optim::{OptimName, OptimSettings, SchedSettings};

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checkpoint")
}

fn sched_settings() -> SchedSettings {
    SchedSettings {
        name: "cosine".into(),
        stepsize: vec![-1],
        gamma: 0.1,
        max_epoch: 10,
        warmup_epoch: 1,
        warmup_type: "constant".into(),
        warmup_cons_lr: 1e-5,
        warmup_min_lr: 1e-5,
        warmup_recount: true,
    }
}

/// A CoOp-like prompt learner: trainable ctx plus frozen buffers, trained with SGD.
struct Run {
    ctx: Tensor,
    prefix: Tensor,
    opt: Optimizer,
    sched: LrScheduler,
    scaler: DynamicLossScaler,
}

impl Run {
    fn new(ctx: Option<Tensor>) -> Run {
        let ctx = ctx.unwrap_or_else(|| {
            Tensor::arange(32, (Kind::Float, Device::Cpu)).reshape([4, 8]) / 10.0
        });
        let ctx = ctx.set_requires_grad(true);
        let mut settings = OptimSettings::new(OptimName::Sgd, 0.002);
        settings.momentum = 0.9;
        settings.weight_decay = 5e-4;
        let mut opt = Optimizer::new(settings, vec![ctx.shallow_clone()]).unwrap();
        let sched = LrScheduler::new(&sched_settings(), &mut opt).unwrap();
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
        };
        save(dir, &ckpt, best).unwrap()
    }
}

#[test]
fn resume_continues_exactly_like_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prompt_learner");
    let mut straight = Run::new(None);
    for e in 0..6 {
        straight.epoch(e);
    }

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
    let resumed = resume(
        &dir,
        Some(&mut second.opt),
        Some(&mut second.sched),
        Some(&mut second.scaler),
    )
    .unwrap()
    .unwrap();
    assert_eq!((resumed.start_epoch, resumed.val_result), (3, Some(71.25)));
    let names: Vec<&str> = resumed.tensors.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        ["ctx", "token_prefix"],
        "module. is stripped, as Dassl does"
    );
    tch::no_grad(|| second.ctx.copy_(&resumed.tensors[0].1));
    assert_eq!(resumed.tensors[1].1.kind(), Kind::Half);
    assert_eq!(second.opt.lr(), first.opt.lr());
    for e in resumed.start_epoch..6 {
        second.epoch(e);
    }
    assert!(second.ctx.equal(&straight.ctx), "resumed run diverged");
    assert_eq!(second.opt.lr(), straight.opt.lr());
    assert_eq!(second.scaler.state(), straight.scaler.state());
}

#[test]
fn best_and_epoch_files_load_and_missing_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prompt_learner");
    assert!(
        resume(&dir, None, None, None).unwrap().is_none(),
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
            "model-best.pth.tar.json",
            "model-best.pth.tar.optim",
            "model.pth.tar-1",
            "model.pth.tar-1.json",
            "model.pth.tar-1.optim",
            "model.pth.tar-2",
            "model.pth.tar-2.json",
            "model.pth.tar-2.optim",
        ],
        "no temporary files are left behind"
    );
    let best = load(&dir, None).unwrap();
    assert_eq!((best.epoch, best.val_result), (Some(1), Some(50.0)));
    let last = load(&dir, Some(2)).unwrap();
    assert_eq!(last.epoch, Some(2));
    assert!(!best.tensors[0].1.equal(&last.tensors[0].1));
    let err = load(&dir, Some(7)).unwrap_err();
    assert!(matches!(err, CheckpointError::NotFound { .. }));
    assert!(err.to_string().contains("model.pth.tar-7"), "{err}");
    // The model file is plain safetensors, readable by anything that reads safetensors.
    let raw = Tensor::read_safetensors(dir.join("model.pth.tar-2")).unwrap();
    assert_eq!(raw.len(), 2);
    // A checkpoint pointer naming a missing file names it too.
    std::fs::write(dir.join("checkpoint"), "model.pth.tar-9\n").unwrap();
    let err = resume(&dir, None, None, None).unwrap_err();
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
        let shape: Vec<i64> = want["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
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
    // Its Python optimizer/scheduler state cannot be resumed; the error says so.
    let err = resume(&dir, None, None, None).unwrap_err();
    assert!(err.to_string().contains("cannot be resumed"), "{err}");
    // Not a zip: the reader names the file.
    let err = read_torch_checkpoint(&fixture_dir().join("make_coop_ckpt.py")).unwrap_err();
    assert!(err.to_string().contains("make_coop_ckpt.py"), "{err}");
}
