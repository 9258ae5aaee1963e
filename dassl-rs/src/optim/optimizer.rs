//! SGD, Adam and AdamW with `torch.optim`'s update rules (single-tensor path), built from
//! the config the way Dassl's `build_optimizer` does.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::config::Config;
use crate::errors::OptimError;

/// Dassl's `AVAI_OPTIMS`, quoted in the error for an unknown `OPTIM.NAME`.
pub const AVAI_OPTIMS: &[&str] = &["adam", "amsgrad", "sgd", "rmsprop", "radam", "adamw"];
/// The subset of [`AVAI_OPTIMS`] dassl-rs implements (CoOp and CoCoOp use `sgd`).
pub const IMPLEMENTED_OPTIMS: &[&str] = &["sgd", "adam", "adamw"];

/// Which update rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimName {
    Sgd,
    Adam,
    /// Adam with decoupled weight decay (`torch.optim.AdamW`).
    Adamw,
}

impl OptimName {
    pub fn as_str(self) -> &'static str {
        match self {
            OptimName::Sgd => "sgd",
            OptimName::Adam => "adam",
            OptimName::Adamw => "adamw",
        }
    }
}

/// Hyper-parameters of one optimizer (one parameter group, as CoOp uses).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimSettings {
    pub name: OptimName,
    pub lr: f64,
    pub weight_decay: f64,
    /// SGD only.
    pub momentum: f64,
    /// SGD only (`OPTIM.SGD_DAMPNING`, Dassl's spelling).
    pub dampening: f64,
    /// SGD only.
    pub nesterov: bool,
    /// Adam/AdamW only.
    pub betas: (f64, f64),
    /// Adam/AdamW only; Dassl leaves torch's default 1e-8.
    pub eps: f64,
}

impl OptimSettings {
    /// Settings with torch's defaults for everything but the rule and the learning rate.
    pub fn new(name: OptimName, lr: f64) -> Self {
        OptimSettings {
            name,
            lr,
            weight_decay: 0.0,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            betas: (0.9, 0.999),
            eps: 1e-8,
        }
    }

    /// Dassl's `build_optimizer` argument mapping from the `OPTIM.*` keys.
    pub fn from_config(cfg: &Config) -> Result<Self, OptimError> {
        let name = cfg.str("OPTIM.NAME")?;
        let kind = match name {
            "sgd" => OptimName::Sgd,
            "adam" => OptimName::Adam,
            "adamw" => OptimName::Adamw,
            other => {
                return Err(OptimError::UnknownOptimizer {
                    got: other.to_string(),
                    available: AVAI_OPTIMS,
                    implemented: if AVAI_OPTIMS.contains(&other) {
                        IMPLEMENTED_OPTIMS
                    } else {
                        &[]
                    },
                })
            }
        };
        if cfg.bool("OPTIM.STAGED_LR")? {
            return Err(OptimError::Unsupported(
                "OPTIM.STAGED_LR True (per-layer learning rates; CoOp does not use them)".into(),
            ));
        }
        let s = OptimSettings {
            name: kind,
            lr: cfg.float("OPTIM.LR")?,
            weight_decay: cfg.float("OPTIM.WEIGHT_DECAY")?,
            momentum: cfg.float("OPTIM.MOMENTUM")?,
            dampening: cfg.float("OPTIM.SGD_DAMPNING")?,
            nesterov: cfg.bool("OPTIM.SGD_NESTEROV")?,
            betas: (
                cfg.float("OPTIM.ADAM_BETA1")?,
                cfg.float("OPTIM.ADAM_BETA2")?,
            ),
            eps: 1e-8,
        };
        s.validate()?;
        Ok(s)
    }

    /// torch.optim's constructor checks, so a bad config fails before training starts.
    pub fn validate(&self) -> Result<(), OptimError> {
        let bad = |m: String| Err(OptimError::Invalid(m));
        if self.lr.is_nan() || self.lr < 0.0 {
            return bad(format!("Invalid learning rate: {}", self.lr));
        }
        if self.weight_decay.is_nan() || self.weight_decay < 0.0 {
            return bad(format!("Invalid weight_decay value: {}", self.weight_decay));
        }
        match self.name {
            OptimName::Sgd => {
                if self.momentum.is_nan() || self.momentum < 0.0 {
                    return bad(format!("Invalid momentum value: {}", self.momentum));
                }
                if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
                    return bad("Nesterov momentum requires a momentum and zero dampening".into());
                }
            }
            OptimName::Adam | OptimName::Adamw => {
                let (b1, b2) = self.betas;
                if !(0.0..1.0).contains(&b1) {
                    return bad(format!("Invalid beta parameter at index 0: {b1}"));
                }
                if !(0.0..1.0).contains(&b2) {
                    return bad(format!("Invalid beta parameter at index 1: {b2}"));
                }
                if self.eps.is_nan() || self.eps < 0.0 {
                    return bad(format!("Invalid epsilon value: {}", self.eps));
                }
            }
        }
        Ok(())
    }
}

/// Per-parameter buffers, created lazily on the first step that parameter gets a gradient
/// (as torch does, so a parameter without gradients keeps no state).
#[derive(Debug, Default)]
struct Slot {
    /// SGD momentum buffer.
    momentum_buffer: Option<Tensor>,
    /// Adam first and second moments.
    exp_avg: Option<Tensor>,
    exp_avg_sq: Option<Tensor>,
    /// Adam's per-parameter step (torch keeps it per parameter too).
    step: u64,
}

/// What a checkpoint stores besides the buffers ([`Optimizer::state_tensors`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    pub settings: OptimSettings,
    /// Number of `step` calls that updated parameters.
    pub step_count: u64,
    /// Adam's per-parameter steps (zeros for SGD).
    pub param_steps: Vec<u64>,
    pub num_params: usize,
}

/// An optimizer over a fixed list of leaf tensors that require gradients.
#[derive(Debug)]
pub struct Optimizer {
    settings: OptimSettings,
    params: Vec<Tensor>,
    slots: Vec<Slot>,
    step_count: u64,
}

impl Optimizer {
    /// Wraps `params`; each must be a leaf with `requires_grad` (what torch would optimise).
    pub fn new(settings: OptimSettings, params: Vec<Tensor>) -> Result<Self, OptimError> {
        settings.validate()?;
        if params.is_empty() {
            return Err(OptimError::Invalid(
                "optimizer got an empty parameter list".into(),
            ));
        }
        for (i, p) in params.iter().enumerate() {
            if !p.requires_grad() || !p.is_leaf() {
                return Err(OptimError::Invalid(format!(
                    "parameter {i} (shape {:?}) is not a leaf tensor that requires grad",
                    p.size()
                )));
            }
        }
        let slots = params.iter().map(|_| Slot::default()).collect();
        Ok(Optimizer {
            settings,
            params,
            slots,
            step_count: 0,
        })
    }

    /// Dassl's `build_optimizer(model, cfg.OPTIM)` for a parameter list.
    pub fn build(cfg: &Config, params: Vec<Tensor>) -> Result<Self, OptimError> {
        Optimizer::new(OptimSettings::from_config(cfg)?, params)
    }

    pub fn settings(&self) -> &OptimSettings {
        &self.settings
    }

    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// The learning rate of the (single) parameter group, as `get_current_lr` reads it.
    pub fn lr(&self) -> f64 {
        self.settings.lr
    }

    /// What a scheduler writes into `param_group["lr"]`.
    pub fn set_lr(&mut self, lr: f64) {
        self.settings.lr = lr;
    }

    pub fn step_count(&self) -> u64 {
        self.step_count
    }

    /// Zeroes every gradient. torch's default sets them to None instead; the difference only
    /// shows for a parameter that gets no gradient in the next backward (it would then be
    /// stepped with a zero gradient here), which never happens for CoOp's context vectors.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.zero_grad();
        }
    }

    /// One update of every parameter that has a gradient, under no_grad.
    pub fn step(&mut self) -> Result<(), OptimError> {
        let _guard = tch::no_grad_guard();
        let s = self.settings;
        for (p, slot) in self.params.iter_mut().zip(self.slots.iter_mut()) {
            let grad = p.grad();
            if !grad.defined() {
                continue;
            }
            match s.name {
                OptimName::Sgd => sgd_step(&s, p, &grad, slot)?,
                OptimName::Adam | OptimName::Adamw => adam_step(&s, p, &grad, slot)?,
            }
        }
        self.step_count += 1;
        Ok(())
    }

    /// The buffers, named `<param index>.<buffer>` (torch's `state` keys are indices too).
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, slot) in self.slots.iter().enumerate() {
            for (name, t) in [
                ("momentum_buffer", &slot.momentum_buffer),
                ("exp_avg", &slot.exp_avg),
                ("exp_avg_sq", &slot.exp_avg_sq),
            ] {
                if let Some(t) = t {
                    out.push((format!("{i}.{name}"), t.shallow_clone()));
                }
            }
        }
        out
    }

    /// The non-tensor part of the state.
    pub fn state(&self) -> OptimizerState {
        OptimizerState {
            settings: self.settings,
            step_count: self.step_count,
            param_steps: self.slots.iter().map(|s| s.step).collect(),
            num_params: self.params.len(),
        }
    }

    /// Restores a state saved by [`Optimizer::state`] and [`Optimizer::state_tensors`],
    /// including the learning rate (as torch's `load_state_dict` restores param groups).
    /// Buffers are copied onto each parameter's device and dtype.
    pub fn load_state(
        &mut self,
        state: &OptimizerState,
        tensors: &[(String, Tensor)],
    ) -> Result<(), OptimError> {
        let mismatch = |m: String| Err(OptimError::StateMismatch(m));
        if state.num_params != self.params.len() || state.param_steps.len() != self.params.len() {
            return mismatch(format!(
                "saved for {} parameter(s), this optimizer has {}",
                state.num_params,
                self.params.len()
            ));
        }
        if state.settings.name != self.settings.name {
            return mismatch(format!(
                "saved by {}, this optimizer is {}",
                state.settings.name.as_str(),
                self.settings.name.as_str()
            ));
        }
        let mut slots: Vec<Slot> = self.params.iter().map(|_| Slot::default()).collect();
        for (name, t) in tensors {
            let (index, buffer) = name
                .split_once('.')
                .and_then(|(i, b)| i.parse::<usize>().ok().map(|i| (i, b)))
                .ok_or_else(|| {
                    OptimError::StateMismatch(format!("unexpected state tensor {name}"))
                })?;
            let Some(p) = self.params.get(index) else {
                return mismatch(format!("state tensor {name} names a missing parameter"));
            };
            if t.size() != p.size() {
                return mismatch(format!(
                    "{name} has shape {:?}, parameter {:?}",
                    t.size(),
                    p.size()
                ));
            }
            let t = t
                .f_to_device(p.device())?
                .f_to_kind(p.kind())?
                .f_detach()?
                .copy();
            let slot = &mut slots[index];
            match buffer {
                "momentum_buffer" => slot.momentum_buffer = Some(t),
                "exp_avg" => slot.exp_avg = Some(t),
                "exp_avg_sq" => slot.exp_avg_sq = Some(t),
                _ => return mismatch(format!("unexpected state tensor {name}")),
            }
        }
        for (slot, &step) in slots.iter_mut().zip(&state.param_steps) {
            slot.step = step;
            if matches!(self.settings.name, OptimName::Adam | OptimName::Adamw)
                && step > 0
                && (slot.exp_avg.is_none() || slot.exp_avg_sq.is_none())
            {
                return mismatch("Adam state without its moment buffers".into());
            }
        }
        self.slots = slots;
        self.settings = state.settings;
        self.step_count = state.step_count;
        Ok(())
    }
}

/// `torch.optim.SGD`'s `_single_tensor_sgd`.
fn sgd_step(
    s: &OptimSettings,
    p: &mut Tensor,
    grad: &Tensor,
    slot: &mut Slot,
) -> Result<(), OptimError> {
    let mut d_p = if s.weight_decay != 0.0 {
        add_scaled(grad, p, s.weight_decay)?
    } else {
        grad.shallow_clone()
    };
    if s.momentum != 0.0 {
        let buf = match slot.momentum_buffer.take() {
            None => d_p.f_detach()?.copy(),
            Some(mut buf) => {
                let _ = buf.f_mul_scalar_(s.momentum)?;
                if s.dampening == 0.0 {
                    let _ = buf.f_add_(&d_p)?;
                } else {
                    let damped = add_scaled(&buf, &d_p, 1.0 - s.dampening)?;
                    buf.f_copy_(&damped)?;
                }
                buf
            }
        };
        d_p = if s.nesterov {
            add_scaled(&d_p, &buf, s.momentum)?
        } else {
            buf.shallow_clone()
        };
        slot.momentum_buffer = Some(buf);
    }
    let updated = add_scaled(p, &d_p, -s.lr)?;
    p.f_copy_(&updated)?;
    Ok(())
}

/// `a.add(b, alpha=alpha)` as ATen's CPU kernel computes it: `alpha` rounded to the
/// tensor's dtype first (an fp16 step uses the fp16 nearest to `-lr`), then a fused
/// multiply-add in fp32 rounded once to the dtype. In f64 the product of two fp32 values is
/// exact, so the f64 sum rounded to fp32 is that fused result (up to a rare double
/// rounding); multiplying and adding in the tensor's own dtype would round twice, which
/// fp16 training makes visible (checked against PyTorch in the trainers' fp16 fixtures).
/// f64 tensors add in f64.
fn add_scaled(a: &Tensor, b: &Tensor, alpha: f64) -> Result<Tensor, OptimError> {
    let kind = a.kind();
    if kind == Kind::Double {
        return Ok(a.f_add(&b.f_mul_scalar(alpha)?)?);
    }
    let alpha = Tensor::from(alpha).f_to_kind(kind)?.f_double_value(&[])?;
    let wide = a
        .f_to_kind(Kind::Double)?
        .f_add(&b.f_to_kind(Kind::Double)?.f_mul_scalar(alpha)?)?;
    Ok(wide.f_to_kind(Kind::Float)?.f_to_kind(kind)?)
}

/// `torch.optim.Adam`'s `_single_tensor_adam` (amsgrad off, not capturable); AdamW is the
/// same with `decoupled_weight_decay`.
fn adam_step(
    s: &OptimSettings,
    p: &mut Tensor,
    grad: &Tensor,
    slot: &mut Slot,
) -> Result<(), OptimError> {
    let (beta1, beta2) = s.betas;
    let zeros = || p.f_zeros_like().map(|t| t.set_requires_grad(false));
    let mut exp_avg = match slot.exp_avg.take() {
        Some(t) => t,
        None => zeros()?,
    };
    let mut exp_avg_sq = match slot.exp_avg_sq.take() {
        Some(t) => t,
        None => zeros()?,
    };
    slot.step += 1;
    let mut grad = grad.shallow_clone();
    if s.weight_decay != 0.0 {
        if s.name == OptimName::Adamw {
            let _ = p.f_mul_scalar_(1.0 - s.lr * s.weight_decay)?;
        } else {
            grad = grad.f_add(&p.f_mul_scalar(s.weight_decay)?)?;
        }
    }
    let _ = exp_avg.f_lerp_(&grad, 1.0 - beta1)?;
    let _ = exp_avg_sq.f_mul_scalar_(beta2)?;
    let _ = exp_avg_sq.f_add_(&grad.f_mul(&grad)?.f_mul_scalar(1.0 - beta2)?)?;
    // torch reads the step back as a Python float and does this arithmetic in doubles.
    let step = slot.step as f64;
    let bias_correction1 = 1.0 - beta1.powf(step);
    let bias_correction2 = 1.0 - beta2.powf(step);
    let step_size = s.lr / bias_correction1;
    let bias_correction2_sqrt = bias_correction2.powf(0.5);
    let denom = exp_avg_sq
        .f_sqrt()?
        .f_div_scalar(bias_correction2_sqrt)?
        .f_add_scalar(s.eps)?;
    let _ = p.f_add_(&exp_avg.f_div(&denom)?.f_mul_scalar(-step_size)?)?;
    slot.exp_avg = Some(exp_avg);
    slot.exp_avg_sq = Some(exp_avg_sq);
    Ok(())
}

/// Whether every gradient of `params` is finite (the check GradScaler makes).
pub(crate) fn grads_finite(params: &[Tensor]) -> Result<bool, OptimError> {
    let _guard = tch::no_grad_guard();
    for p in params {
        let g = p.grad();
        if g.defined() && !bool::try_from(g.f_isfinite()?.f_all()?)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Multiplies every gradient by the float32 `factor`, like
/// `_amp_foreach_non_finite_check_and_unscale_`: half/bfloat16 gradients are scaled in
/// float32 and rounded back (an in-place half multiply would round the factor to half).
pub(crate) fn scale_grads(params: &[Tensor], factor: f32) -> Result<(), OptimError> {
    let _guard = tch::no_grad_guard();
    for p in params {
        let mut g = p.grad();
        if g.defined() {
            let f = Tensor::from(factor).f_to_device(g.device())?;
            if !matches!(g.kind(), Kind::Half | Kind::BFloat16) {
                let _ = g.f_mul_(&f)?;
            } else {
                let scaled = g.f_to_kind(Kind::Float)?.f_mul(&f)?.f_to_kind(g.kind())?;
                g.f_copy_(&scaled)?;
            }
        }
    }
    Ok(())
}
