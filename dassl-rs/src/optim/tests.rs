//! Parity with torch.optim (fixtures from `tests/fixtures/optim/make_*.py`) and the
//! behaviour of the loss scaler.

use std::path::PathBuf;

use serde_json::Value as Json;
use tch::{Device, Kind, Tensor};

use super::*;
use crate::config::{Config, ConfigBuilder};
use crate::errors::OptimError;

fn fixture(name: &str) -> Json {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/optim")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// Doubles stored as IEEE-754 bit patterns (exact, whatever the JSON float parser does).
fn doubles(v: &Json) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| f64::from_bits(x.as_u64().unwrap()))
        .collect()
}

fn floats(v: &Json) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn f32_tensor(v: &[f64], shape: &[i64]) -> Tensor {
    let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    Tensor::from_slice(&v).reshape(shape)
}

fn values(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(t.detach().flatten(0, -1)).unwrap()
}

fn cfg(opts: &[&str]) -> Config {
    let mut b = ConfigBuilder::dassl_defaults();
    b.merge_opts(opts).unwrap();
    b.freeze()
}

fn settings_of(case: &Json) -> OptimSettings {
    let s = &case["settings"];
    let name = match case["optim"].as_str().unwrap() {
        "sgd" => OptimName::Sgd,
        "adam" => OptimName::Adam,
        _ => OptimName::Adamw,
    };
    let f = |k: &str| s.get(k).and_then(Json::as_f64).unwrap_or(0.0);
    let betas = floats(&s["betas"]);
    OptimSettings {
        name,
        lr: f("lr"),
        weight_decay: f("weight_decay"),
        momentum: f("momentum"),
        dampening: f("dampening"),
        nesterov: s.get("nesterov").and_then(Json::as_bool).unwrap_or(false),
        betas: (betas[0], betas[1]),
        eps: 1e-8,
    }
}

/// Runs a fixture case for `steps` steps starting at `from`, feeding its gradients.
fn run_case(case: &Json, opt: &mut Optimizer, from: usize, to: usize) -> Vec<Vec<f32>> {
    let shape: Vec<i64> = case["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    let mut out = Vec::new();
    for step in from..to {
        if let Some(lrs) = case["lrs"].as_array() {
            opt.set_lr(lrs[step].as_f64().unwrap());
        }
        opt.zero_grad();
        let g = f32_tensor(&floats(&case["grads"][step]), &shape);
        let mut grad = opt.params()[0].grad();
        if grad.defined() {
            grad.copy_(&g);
        } else {
            // First step: make the gradient through autograd, as backward would.
            let p = &opt.params()[0];
            (p * &g).sum(Kind::Float).backward();
        }
        opt.step().unwrap();
        out.push(values(&opt.params()[0]));
    }
    out
}

fn new_param(case: &Json) -> Tensor {
    let shape: Vec<i64> = case["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    f32_tensor(&floats(&case["initial"]), &shape).set_requires_grad(true)
}

#[test]
fn optimizers_match_torch_optim() {
    let fx = fixture("optim.json");
    let mut worst = 0.0f64;
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut opt = Optimizer::new(settings_of(case), vec![new_param(case)]).unwrap();
        let got = run_case(case, &mut opt, 0, fx["steps"].as_u64().unwrap() as usize);
        for (step, (g, want)) in got
            .iter()
            .zip(case["params"].as_array().unwrap())
            .enumerate()
        {
            for (a, b) in g.iter().zip(floats(want)) {
                let err = (f64::from(*a) - b).abs() / b.abs().max(1e-3);
                worst = worst.max(err);
                assert!(err <= 1e-6, "{name} step {step}: {a} vs {b} (rel {err:e})");
            }
        }
    }
    eprintln!("optimizer parity: worst relative error {worst:e}");
}

#[test]
fn optimizer_state_round_trip_continues_identically() {
    let fx = fixture("optim.json");
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut straight = Optimizer::new(settings_of(case), vec![new_param(case)]).unwrap();
        let want = run_case(case, &mut straight, 0, 6);

        let mut first = Optimizer::new(settings_of(case), vec![new_param(case)]).unwrap();
        run_case(case, &mut first, 0, 3);
        let state: OptimizerState =
            serde_json::from_str(&serde_json::to_string(&first.state()).unwrap()).unwrap();
        let buffers = first.state_tensors();
        let resumed_param = first.params()[0].detach().copy().set_requires_grad(true);
        let mut second = Optimizer::new(settings_of(case), vec![resumed_param]).unwrap();
        second.load_state(&state, &buffers).unwrap();
        assert_eq!(second.step_count(), 3, "{name}");
        let got = run_case(case, &mut second, 3, 6);
        assert_eq!(got, want[3..].to_vec(), "{name}");
    }
}

#[test]
fn build_optimizer_follows_the_config() {
    let p = Tensor::zeros([2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let c = cfg(&[
        "OPTIM.NAME",
        "sgd",
        "OPTIM.LR",
        "0.002",
        "OPTIM.MAX_EPOCH",
        "50",
    ]);
    let opt = Optimizer::build(&c, vec![p.shallow_clone()]).unwrap();
    let s = opt.settings();
    assert_eq!(
        (s.name, s.lr, s.weight_decay, s.momentum),
        (OptimName::Sgd, 0.002, 5e-4, 0.9)
    );
    assert_eq!((s.dampening, s.nesterov), (0.0, false));
    // Dassl's default is adam with its betas.
    let opt = Optimizer::build(&cfg(&[]), vec![p.shallow_clone()]).unwrap();
    assert_eq!(
        (opt.settings().name, opt.settings().betas, opt.lr()),
        (OptimName::Adam, (0.9, 0.999), 0.0003)
    );

    let err = Optimizer::build(&cfg(&["OPTIM.NAME", "sgdd"]), vec![p.shallow_clone()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "optim must be one of ['adam', 'amsgrad', 'sgd', 'rmsprop', 'radam', 'adamw'], but got sgdd"
    );
    let err =
        Optimizer::build(&cfg(&["OPTIM.NAME", "rmsprop"]), vec![p.shallow_clone()]).unwrap_err();
    assert!(
        err.to_string()
            .contains("dassl-rs implements ['sgd', 'adam', 'adamw']"),
        "{err}"
    );
    let err =
        Optimizer::build(&cfg(&["OPTIM.STAGED_LR", "True"]), vec![p.shallow_clone()]).unwrap_err();
    assert!(matches!(err, OptimError::Unsupported(_)), "{err}");
    // Not a leaf that requires grad: torch would not optimise it either.
    let frozen = Tensor::zeros([2], (Kind::Float, Device::Cpu));
    assert!(Optimizer::build(&cfg(&[]), vec![frozen]).is_err());
}

fn sched_settings(c: &Json) -> SchedSettings {
    SchedSettings {
        name: c["LR_SCHEDULER"].as_str().unwrap().to_string(),
        stepsize: c["STEPSIZE"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect(),
        gamma: c["GAMMA"].as_f64().unwrap(),
        max_epoch: c["MAX_EPOCH"].as_i64().unwrap(),
        warmup_epoch: c["WARMUP_EPOCH"].as_i64().unwrap(),
        warmup_type: c["WARMUP_TYPE"].as_str().unwrap().to_string(),
        warmup_cons_lr: c["WARMUP_CONS_LR"].as_f64().unwrap(),
        warmup_min_lr: c["WARMUP_MIN_LR"].as_f64().unwrap(),
        warmup_recount: c["WARMUP_RECOUNT"].as_bool().unwrap(),
    }
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * b.abs()
}

#[test]
fn schedulers_match_torch() {
    let fx = fixture("lr.json");
    let mut exact = 0;
    let mut total = 0;
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let c = &case["config"];
        let want = doubles(&case["lrs_bits"]);
        let mut lr = c["LR"].as_f64().unwrap();
        let mut s = LrScheduler::with_lr(&sched_settings(c), &mut lr).unwrap();
        let mut got = vec![lr];
        for _ in 1..want.len() {
            s.step_lr(&mut lr);
            assert_eq!(lr, s.last_lr(), "{name}");
            got.push(lr);
        }
        for (e, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!(close(*a, *b), "{name} epoch {e}: {a:e} vs {b:e}");
            exact += usize::from(a == b);
            total += 1;
        }
    }
    // Same operations in the same order on the same libm: every value is bit-identical.
    assert_eq!(
        exact, total,
        "scheduler parity: only {exact}/{total} values bit-identical"
    );
}

#[test]
fn coop_schedule_matches_the_derived_table() {
    // behaviour reference §8.4: epoch 0 at 1e-5, then 0.002 * (1 + cos(pi (e-1) / T)) / 2.
    let c = cfg(&[
        "OPTIM.NAME",
        "sgd",
        "OPTIM.LR",
        "0.002",
        "OPTIM.LR_SCHEDULER",
        "cosine",
        "OPTIM.MAX_EPOCH",
        "50",
        "OPTIM.WARMUP_EPOCH",
        "1",
        "OPTIM.WARMUP_TYPE",
        "constant",
    ]);
    let p = Tensor::zeros([2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let mut opt = Optimizer::build(&c, vec![p]).unwrap();
    let mut s = LrScheduler::build(&c, &mut opt).unwrap();
    assert_eq!(opt.lr(), 1e-5);
    for e in 1..50 {
        s.step(&mut opt);
        let closed = 0.002 * (1.0 + (std::f64::consts::PI * (e - 1) as f64 / 50.0).cos()) / 2.0;
        assert!(
            (opt.lr() - closed).abs() <= 1e-15,
            "epoch {e}: {} vs {closed}",
            opt.lr()
        );
    }
}

#[test]
fn scheduler_state_round_trip_and_errors() {
    let fx = fixture("lr.json");
    for case in fx["cases"].as_array().unwrap() {
        let c = &case["config"];
        let want = doubles(&case["lrs_bits"]);
        let mut lr = c["LR"].as_f64().unwrap();
        let mut s = LrScheduler::with_lr(&sched_settings(c), &mut lr).unwrap();
        for _ in 0..4 {
            s.step_lr(&mut lr);
        }
        let text = serde_json::to_string(&s.state()).unwrap();
        let mut other = LrScheduler::with_lr(&sched_settings(c), &mut 0.5).unwrap();
        other.load_state(serde_json::from_str(&text).unwrap());
        for lr_want in &want[5..] {
            other.step_lr(&mut lr);
            assert!(close(lr, *lr_want));
        }
    }
    let p = Tensor::zeros([2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let mut opt = Optimizer::build(&cfg(&[]), vec![p]).unwrap();
    let err = LrScheduler::build(&cfg(&["OPTIM.LR_SCHEDULER", "cosinee"]), &mut opt).unwrap_err();
    assert_eq!(
        err.to_string(),
        "scheduler must be one of ['single_step', 'multi_step', 'cosine'], but got cosinee"
    );
    let err = LrScheduler::build(
        &cfg(&["OPTIM.WARMUP_EPOCH", "1", "OPTIM.WARMUP_TYPE", "exp"]),
        &mut opt,
    )
    .unwrap_err();
    assert!(matches!(err, OptimError::UnknownWarmup { .. }), "{err}");
    // Dassl's default: single_step with STEPSIZE (-1,) decays once, at MAX_EPOCH.
    let mut opt = Optimizer::build(
        &cfg(&["OPTIM.LR", "0.1"]),
        vec![Tensor::zeros([1], (Kind::Float, Device::Cpu)).set_requires_grad(true)],
    )
    .unwrap();
    let mut s = LrScheduler::build(&cfg(&["OPTIM.LR", "0.1"]), &mut opt).unwrap();
    let mut lrs = vec![opt.lr()];
    for _ in 0..10 {
        s.step(&mut opt);
        lrs.push(opt.lr());
    }
    assert_eq!(lrs[9], 0.1);
    assert!((lrs[10] - 0.01).abs() < 1e-15);
}

fn param_with_grad(values: &[f32]) -> Tensor {
    let p = Tensor::from_slice(values).set_requires_grad(true);
    (&p * 1.0).sum(Kind::Float).backward();
    p
}

fn set_grad(p: &Tensor, g: &[f32]) {
    p.grad().copy_(&Tensor::from_slice(g));
}

#[test]
fn scaler_skips_overflowing_steps_and_halves_the_scale() {
    let p = param_with_grad(&[1.0, 2.0]);
    let mut opt = Optimizer::new(
        OptimSettings::new(OptimName::Sgd, 0.1),
        vec![p.shallow_clone()],
    )
    .unwrap();
    let mut scaler = DynamicLossScaler::default();
    assert_eq!(scaler.get_scale(), 65536.0);
    set_grad(&p, &[f32::INFINITY, 1.0]);
    assert!(!scaler.step(&mut opt).unwrap());
    scaler.update().unwrap();
    assert_eq!(values(&p), vec![1.0, 2.0], "the step was skipped");
    assert_eq!(scaler.get_scale(), 32768.0);
    assert_eq!(opt.step_count(), 0);
    set_grad(&p, &[f32::NAN, 1.0]);
    assert!(!scaler.step(&mut opt).unwrap());
    scaler.update().unwrap();
    assert_eq!(scaler.get_scale(), 16384.0);
}

#[test]
fn scaler_grows_after_growth_interval_clean_steps() {
    let p = param_with_grad(&[1.0, 2.0]);
    let mut opt = Optimizer::new(
        OptimSettings::new(OptimName::Sgd, 0.5),
        vec![p.shallow_clone()],
    )
    .unwrap();
    let mut scaler = DynamicLossScaler::new(8.0, 2.0, 0.5, 3);
    // A scaled loss, then unscaled grads: backward of scale(loss) gives scale * grad.
    let loss = (&p * &p).sum(Kind::Float);
    let scaled = scaler.scale(&loss).unwrap();
    assert_eq!(f64::try_from(&scaled).unwrap(), 8.0 * 5.0);
    opt.zero_grad();
    scaled.backward();
    assert_eq!(values(&p.grad()), vec![16.0, 32.0]);
    assert!(scaler.step(&mut opt).unwrap());
    scaler.update().unwrap();
    // Unscaled gradient 2p = [2, 4], lr 0.5.
    assert_eq!(values(&p), vec![0.0, 0.0]);
    for i in 0..2 {
        assert_eq!(scaler.get_scale(), 8.0, "after {} clean steps", i + 1);
        set_grad(&p, &[8.0, 8.0]);
        assert!(scaler.step(&mut opt).unwrap());
        scaler.update().unwrap();
    }
    assert_eq!(scaler.get_scale(), 16.0);
    assert_eq!(scaler.state().growth_tracker, 0);
    // An overflow resets the tracker.
    set_grad(&p, &[1.0, 1.0]);
    scaler.step(&mut opt).unwrap();
    scaler.update().unwrap();
    assert_eq!(scaler.state().growth_tracker, 1);
    set_grad(&p, &[f32::INFINITY, 1.0]);
    scaler.step(&mut opt).unwrap();
    scaler.update().unwrap();
    assert_eq!(
        (scaler.get_scale(), scaler.state().growth_tracker),
        (8.0, 0)
    );
}

#[test]
fn scaler_guards_its_call_order_and_round_trips() {
    let p = param_with_grad(&[1.0]);
    let mut opt = Optimizer::new(
        OptimSettings::new(OptimName::Sgd, 0.1),
        vec![p.shallow_clone()],
    )
    .unwrap();
    let mut scaler = DynamicLossScaler::default();
    assert!(scaler.update().is_err(), "update before any step");
    scaler.unscale(&opt).unwrap();
    assert!(scaler.unscale(&opt).is_err(), "unscale twice");
    scaler.step(&mut opt).unwrap();
    assert!(scaler.step(&mut opt).is_err(), "step twice");
    scaler.update().unwrap();
    let mut other = DynamicLossScaler::new(1.0, 3.0, 0.25, 7);
    other.load_state(
        serde_json::from_str(&serde_json::to_string(&scaler.state()).unwrap()).unwrap(),
    );
    assert_eq!(other.state(), scaler.state());

    let off = DynamicLossScaler::disabled();
    let loss = Tensor::from(2.5f32);
    assert_eq!(f64::try_from(&off.scale(&loss).unwrap()).unwrap(), 2.5);
    assert_eq!(off.get_scale(), 1.0);
    // Half gradients are unscaled in float and rounded back, as torch's kernel does.
    let h = Tensor::from_slice(&[1.0f32, 2.0])
        .to_kind(Kind::Half)
        .set_requires_grad(true);
    (&h * 1.0).sum(Kind::Float).backward();
    h.grad()
        .copy_(&Tensor::from_slice(&[65504.0f32, 3.0]).to_kind(Kind::Half));
    let opt = Optimizer::new(
        OptimSettings::new(OptimName::Sgd, 0.0),
        vec![h.shallow_clone()],
    )
    .unwrap();
    let mut s = DynamicLossScaler::new(4.0, 2.0, 0.5, 2000);
    s.unscale(&opt).unwrap();
    assert_eq!(values(&h.grad().to_kind(Kind::Float)), vec![16376.0, 0.75]);
}
