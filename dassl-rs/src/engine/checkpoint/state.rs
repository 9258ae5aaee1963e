//! Optimizer, scheduler and loss-scaler state in the layouts torch's `state_dict()`s use,
//! so a checkpoint's `optimizer` / `scheduler` / `scaler` entries read like PyTorch's.
//!
//! - optimizer: `{state: {i: {momentum_buffer}} or {i: {step, exp_avg, exp_avg_sq}},
//!   param_groups: [{lr, momentum, ..., initial_lr, params: [0, ...]}]}` (torch 2.11's keys).
//! - scheduler: the `__dict__` of the LRScheduler without its optimizer. Dassl's warmup
//!   wrapper holds its successor scheduler *object*, which `weights_only` loading refuses;
//!   here the successor is stored as its own state dict instead.
//! - scaler: `GradScaler.state_dict()`.

use tch::Tensor;

use crate::optim::scheduler::{BaseScheduler, Counters, Rule, WarmupScheduler};
use crate::optim::{
    OptimName, OptimSettings, Optimizer, OptimizerState, ScalerState, SchedulerState, WarmupType,
};
use crate::torchfile::{Storages, TorchFile, TorchFileError, Value, WriteError};

/// An entry of the checkpoint that is missing or of the wrong type.
#[derive(Debug)]
pub(super) enum Bad {
    Entry { key: String, problem: &'static str },
    File(TorchFileError),
}

impl From<TorchFileError> for Bad {
    fn from(e: TorchFileError) -> Self {
        Bad::File(e)
    }
}

fn bad(key: &str, problem: &'static str) -> Bad {
    Bad::Entry {
        key: key.to_string(),
        problem,
    }
}

/// `parent[name]` of a dict-like value.
fn field<'a>(v: &'a Value, parent: &str, name: &str) -> Result<&'a Value, Bad> {
    v.get(name)
        .ok_or_else(|| bad(&format!("{parent}.{name}"), "is missing"))
}

fn float(v: &Value, parent: &str, name: &str) -> Result<f64, Bad> {
    field(v, parent, name)?
        .as_float()
        .ok_or_else(|| bad(&format!("{parent}.{name}"), "is not a number"))
}

fn int(v: &Value, parent: &str, name: &str) -> Result<i64, Bad> {
    field(v, parent, name)?
        .as_int()
        .ok_or_else(|| bad(&format!("{parent}.{name}"), "is not an int"))
}

fn boolean(v: &Value, parent: &str, name: &str) -> Result<bool, Bad> {
    field(v, parent, name)?
        .as_bool()
        .ok_or_else(|| bad(&format!("{parent}.{name}"), "is not a bool"))
}

/// The single float of a one-group list (`base_lrs`, `_last_lr`).
fn one_float(v: &Value, parent: &str, name: &str) -> Result<f64, Bad> {
    let key = format!("{parent}.{name}");
    match field(v, parent, name)?.as_seq() {
        Some([x]) => x.as_float().ok_or_else(|| bad(&key, "is not a number")),
        _ => Err(bad(&key, "is not a list of one number")),
    }
}

fn unsigned(v: i64, key: &str) -> Result<u64, Bad> {
    u64::try_from(v).map_err(|_| bad(key, "is negative"))
}

fn f(x: f64) -> Value {
    Value::Float(x)
}

/// torch's `optimizer.state_dict()` for one parameter group; `initial_lr` is what the
/// scheduler adds to the group.
pub(super) fn optimizer_value(
    opt: &Optimizer,
    initial_lr: Option<f64>,
    storages: &mut Storages,
) -> Result<Value, WriteError> {
    let st = opt.state();
    let s = st.settings;
    let mut per_param: Vec<Vec<(Value, Value)>> = vec![Vec::new(); st.num_params];
    for (name, t) in opt.state_tensors() {
        let (index, buffer) = name
            .split_once('.')
            .and_then(|(i, b)| Some((i.parse::<usize>().ok()?, b)))
            .ok_or_else(|| WriteError::Unpicklable {
                what: format!("optimizer state tensor {name}"),
            })?;
        let entries = &mut per_param[index];
        if buffer == "exp_avg" {
            // Adam keeps `step` as a float32 scalar tensor, first in its state.
            let step = Tensor::from(st.param_steps[index] as f32);
            entries.push((Value::Str("step".into()), storages.tensor(&step)?));
        }
        entries.push((Value::Str(buffer.into()), storages.tensor(&t)?));
    }
    let state = per_param
        .into_iter()
        .enumerate()
        .filter(|(_, e)| !e.is_empty())
        .map(|(i, e)| (Value::Int(i as i64), Value::Dict(e)))
        .collect();
    let mut group: Vec<(&str, Value)> = vec![("lr", f(s.lr))];
    match s.name {
        OptimName::Sgd => group.extend([
            ("momentum", f(s.momentum)),
            ("dampening", f(s.dampening)),
            ("weight_decay", f(s.weight_decay)),
            ("nesterov", Value::Bool(s.nesterov)),
            ("maximize", Value::Bool(false)),
            ("foreach", Value::None),
            ("differentiable", Value::Bool(false)),
            ("fused", Value::None),
        ]),
        OptimName::Adam | OptimName::Adamw => group.extend([
            ("betas", Value::Tuple(vec![f(s.betas.0), f(s.betas.1)])),
            ("eps", f(s.eps)),
            ("weight_decay", f(s.weight_decay)),
            ("amsgrad", Value::Bool(false)),
            ("maximize", Value::Bool(false)),
            ("foreach", Value::None),
            ("capturable", Value::Bool(false)),
            ("differentiable", Value::Bool(false)),
            ("fused", Value::None),
            (
                "decoupled_weight_decay",
                Value::Bool(s.name == OptimName::Adamw),
            ),
        ]),
    }
    if let Some(lr) = initial_lr {
        group.push(("initial_lr", f(lr)));
    }
    let params = (0..st.num_params).map(|i| Value::Int(i as i64)).collect();
    group.push(("params", Value::List(params)));
    Ok(Value::str_dict([
        ("state", Value::Dict(state)),
        ("param_groups", Value::List(vec![Value::str_dict(group)])),
    ]))
}

/// The optimizer state stored by [`optimizer_value`]; settings not stored in the group
/// (SGD's keys for Adam and the other way round) keep `current`'s values, as torch's
/// `load_state_dict` leaves attributes outside the group alone.
pub(super) fn optimizer_state(
    v: &Value,
    step_count: u64,
    current: &OptimSettings,
    file: &mut TorchFile,
) -> Result<(OptimizerState, Vec<(String, Tensor)>), Bad> {
    let groups = field(v, "optimizer", "param_groups")?;
    let group = match groups.as_seq() {
        Some([g]) => g,
        _ => {
            return Err(bad(
                "optimizer.param_groups",
                "is not a list of one group (dassl-rs optimizers have one)",
            ))
        }
    };
    let g = "optimizer.param_groups[0]";
    let mut s = *current;
    s.lr = float(group, g, "lr")?;
    s.weight_decay = float(group, g, "weight_decay")?;
    if group.get("betas").is_some() {
        s.name = if group.get("decoupled_weight_decay") == Some(&Value::Bool(true)) {
            OptimName::Adamw
        } else {
            OptimName::Adam
        };
        let key = format!("{g}.betas");
        s.betas = match field(group, g, "betas")?.as_seq() {
            Some([a, b]) => (
                a.as_float()
                    .ok_or_else(|| bad(&key, "is not a number pair"))?,
                b.as_float()
                    .ok_or_else(|| bad(&key, "is not a number pair"))?,
            ),
            _ => return Err(bad(&key, "is not a number pair")),
        };
        s.eps = float(group, g, "eps")?;
    } else {
        s.name = OptimName::Sgd;
        s.momentum = float(group, g, "momentum")?;
        s.dampening = float(group, g, "dampening")?;
        s.nesterov = boolean(group, g, "nesterov")?;
    }
    let num_params = field(group, g, "params")?
        .as_seq()
        .ok_or_else(|| bad(&format!("{g}.params"), "is not a list"))?
        .len();
    let mut param_steps = vec![0u64; num_params];
    let mut tensors = Vec::new();
    let state = field(v, "optimizer", "state")?;
    for (k, entries) in state
        .items()
        .ok_or_else(|| bad("optimizer.state", "is not a dict"))?
    {
        let key = format!("optimizer.state[{k:?}]");
        let index = k
            .as_int()
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < num_params)
            .ok_or_else(|| bad(&key, "is not the index of a parameter"))?;
        for (name, value) in entries.items().ok_or_else(|| bad(&key, "is not a dict"))? {
            let name = name
                .as_str()
                .ok_or_else(|| bad(&key, "has a key that is not a str"))?;
            let t = value
                .as_tensor()
                .ok_or_else(|| bad(&format!("{key}.{name}"), "is not a tensor"))?;
            let t = file.tensor(t)?;
            if name == "step" {
                let step = t.f_double_value(&[]).map_err(|e| {
                    Bad::File(TorchFileError::Torch {
                        path: file.path().to_path_buf(),
                        source: e,
                    })
                })?;
                if step < 0.0 || step.fract() != 0.0 {
                    return Err(bad(&format!("{key}.step"), "is not a step count"));
                }
                param_steps[index] = step as u64;
            } else {
                tensors.push((format!("{index}.{name}"), t));
            }
        }
    }
    Ok((
        OptimizerState {
            settings: s,
            step_count,
            param_steps,
            num_params,
        },
        tensors,
    ))
}

/// The LRScheduler attributes every scheduler has, after its own ones.
fn counters_value(own: Vec<(&str, Value)>, c: &Counters) -> Vec<(String, Value)> {
    let mut items: Vec<(String, Value)> = own.into_iter().map(|(k, v)| (k.into(), v)).collect();
    items.extend(
        [
            ("base_lrs", Value::List(vec![f(c.base_lr)])),
            ("last_epoch", Value::Int(c.last_epoch)),
            ("_step_count", Value::Int(c.step_count as i64)),
            ("_is_initial", Value::Bool(false)),
            ("_get_lr_called_within_step", Value::Bool(false)),
            ("_last_lr", Value::List(vec![f(c.last_lr)])),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    items
}

fn counters_state(v: &Value, at: &str) -> Result<Counters, Bad> {
    Ok(Counters {
        base_lr: one_float(v, at, "base_lrs")?,
        last_epoch: int(v, at, "last_epoch")?,
        step_count: unsigned(int(v, at, "_step_count")?, &format!("{at}._step_count"))?,
        last_lr: one_float(v, at, "_last_lr")?,
    })
}

fn base_value(b: &BaseScheduler) -> Value {
    let own = match &b.rule {
        Rule::SingleStep { step_size, gamma } => {
            vec![("step_size", Value::Int(*step_size)), ("gamma", f(*gamma))]
        }
        Rule::MultiStep { milestones, gamma } => {
            // torch keeps MultiStepLR's milestones in a Counter.
            let mut counts: Vec<(i64, i64)> = Vec::new();
            for &m in milestones {
                match counts.iter_mut().find(|(k, _)| *k == m) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((m, 1)),
                }
            }
            let dict = counts
                .into_iter()
                .map(|(m, n)| (Value::Int(m), Value::Int(n)))
                .collect();
            let counter = Value::Object {
                class: "collections.Counter".into(),
                args: Box::new(Value::Tuple(vec![Value::Dict(dict)])),
                state: Box::new(Value::None),
            };
            vec![("milestones", counter), ("gamma", f(*gamma))]
        }
        Rule::Cosine { t_max, eta_min } => vec![("T_max", f(*t_max)), ("eta_min", f(*eta_min))],
    };
    Value::str_dict(counters_value(own, &b.counters))
}

fn base_state(v: &Value, at: &str) -> Result<BaseScheduler, Bad> {
    let rule = if v.get("T_max").is_some() {
        Rule::Cosine {
            t_max: float(v, at, "T_max")?,
            eta_min: float(v, at, "eta_min")?,
        }
    } else if v.get("step_size").is_some() {
        Rule::SingleStep {
            step_size: int(v, at, "step_size")?,
            gamma: float(v, at, "gamma")?,
        }
    } else if v.get("milestones").is_some() {
        let key = format!("{at}.milestones");
        let counts = match field(v, at, "milestones")? {
            Value::Object { class, args, .. } if class == "collections.Counter" => {
                match args.as_seq() {
                    Some([d]) => d.items().unwrap_or_default(),
                    Some([]) => &[],
                    _ => return Err(bad(&key, "is not a Counter")),
                }
            }
            other => other.items().ok_or_else(|| bad(&key, "is not a Counter"))?,
        };
        let mut milestones = Vec::new();
        for (m, n) in counts {
            let (Some(m), Some(n)) = (m.as_int(), n.as_int()) else {
                return Err(bad(&key, "does not count int milestones"));
            };
            milestones.extend(std::iter::repeat_n(m, usize::try_from(n).unwrap_or(0)));
        }
        Rule::MultiStep {
            milestones,
            gamma: float(v, at, "gamma")?,
        }
    } else {
        return Err(bad(
            at,
            "is not a StepLR, MultiStepLR or CosineAnnealingLR state",
        ));
    };
    Ok(BaseScheduler {
        rule,
        counters: counters_state(v, at)?,
    })
}

/// The scheduler's `state_dict()`: the successor's alone, or Dassl's warmup wrapper's
/// attributes with the successor nested as a dict.
pub(super) fn scheduler_value(s: &SchedulerState) -> Value {
    let Some(w) = &s.warmup else {
        return base_value(&s.successor);
    };
    let lr_key = match w.kind {
        WarmupType::Constant => "cons_lr",
        WarmupType::Linear => "min_lr",
    };
    let own = vec![
        (lr_key, f(w.lr)),
        ("successor", base_value(&s.successor)),
        ("warmup_epoch", Value::Int(w.warmup_epoch)),
    ];
    Value::str_dict(counters_value(own, &w.counters))
}

pub(super) fn scheduler_state(v: &Value) -> Result<SchedulerState, Bad> {
    let at = "scheduler";
    let Some(successor) = v.get("successor") else {
        return Ok(SchedulerState {
            successor: base_state(v, at)?,
            warmup: None,
        });
    };
    let (kind, lr) = if v.get("cons_lr").is_some() {
        (WarmupType::Constant, float(v, at, "cons_lr")?)
    } else {
        (WarmupType::Linear, float(v, at, "min_lr")?)
    };
    Ok(SchedulerState {
        successor: base_state(successor, "scheduler.successor")?,
        warmup: Some(WarmupScheduler {
            kind,
            warmup_epoch: int(v, at, "warmup_epoch")?,
            lr,
            counters: counters_state(v, at)?,
        }),
    })
}

/// `GradScaler.state_dict()`: empty for a disabled scaler, as torch's.
pub(super) fn scaler_value(s: &ScalerState) -> Value {
    if !s.enabled {
        return Value::Dict(vec![]);
    }
    Value::str_dict([
        ("scale", f(f64::from(s.scale))),
        ("growth_factor", f(s.growth_factor)),
        ("backoff_factor", f(s.backoff_factor)),
        ("growth_interval", Value::Int(i64::from(s.growth_interval))),
        ("_growth_tracker", Value::Int(i64::from(s.growth_tracker))),
    ])
}

/// `None` for an empty dict (a disabled scaler has nothing to restore).
pub(super) fn scaler_state(v: &Value) -> Result<Option<ScalerState>, Bad> {
    let at = "scaler";
    if v.items().is_some_and(|i| i.is_empty()) {
        return Ok(None);
    }
    let u32_of = |name: &str| -> Result<u32, Bad> {
        u32::try_from(int(v, at, name)?)
            .map_err(|_| bad(&format!("{at}.{name}"), "is out of range"))
    };
    let scale = float(v, at, "scale")?;
    if (scale as f32) as f64 != scale {
        return Err(bad("scaler.scale", "is not a float32 value"));
    }
    Ok(Some(ScalerState {
        scale: scale as f32,
        growth_factor: float(v, at, "growth_factor")?,
        backoff_factor: float(v, at, "backoff_factor")?,
        growth_interval: u32_of("growth_interval")?,
        growth_tracker: u32_of("_growth_tracker")?,
        enabled: true,
    }))
}
