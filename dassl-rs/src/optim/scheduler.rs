//! Dassl's `build_lr_scheduler`: PyTorch's StepLR / MultiStepLR / CosineAnnealingLR, with
//! Dassl's constant or linear warmup wrapper, stepped once per epoch.
//!
//! PyTorch's schedulers are recursive: each step derives the new LR from the optimizer's
//! current LR (`group["lr"]`), and the warmup wrapper writes that LR too. The state below
//! mirrors the Python objects field by field (each scheduler's `last_epoch`, `_step_count`,
//! `base_lrs`, `_last_lr`), so the same sequence of floats comes out, including Dassl's
//! quirks: once warmup is over, the wrapper's own `last_epoch` stops advancing and it only
//! forwards to the successor; with `WARMUP_RECOUNT False` the successor starts at
//! `last_epoch = WARMUP_EPOCH` but still recurses from the LR it last wrote.

use serde::{Deserialize, Serialize};

use crate::config::{Config, Value};
use crate::errors::OptimError;
use crate::optim::Optimizer;

/// Dassl's `AVAI_SCHEDS`.
pub const AVAI_SCHEDS: &[&str] = &["single_step", "multi_step", "cosine"];

/// `OPTIM.WARMUP_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarmupType {
    /// LR = `WARMUP_CONS_LR` during warmup.
    Constant,
    /// LR = `WARMUP_MIN_LR` at epoch 0, then `base_lr * epoch / WARMUP_EPOCH`.
    Linear,
}

/// The `OPTIM.*` keys `build_lr_scheduler` reads.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedSettings {
    pub name: String,
    /// `OPTIM.STEPSIZE`: the last entry for `single_step`, the milestones for `multi_step`.
    pub stepsize: Vec<i64>,
    pub gamma: f64,
    pub max_epoch: i64,
    /// No warmup when <= 0.
    pub warmup_epoch: i64,
    pub warmup_type: String,
    pub warmup_cons_lr: f64,
    pub warmup_min_lr: f64,
    pub warmup_recount: bool,
}

impl SchedSettings {
    pub fn from_config(cfg: &Config) -> Result<Self, OptimError> {
        let name = cfg.str("OPTIM.LR_SCHEDULER")?.to_string();
        let stepsize = match cfg.get("OPTIM.STEPSIZE") {
            Some(Value::Int(i)) => vec![*i],
            Some(Value::List(items) | Value::Tuple(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Int(i) => Ok(*i),
                    other => Err(OptimError::Invalid(format!(
                        "OPTIM.STEPSIZE must hold integers, got {}",
                        other.repr()
                    ))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(OptimError::Invalid(format!(
                    "OPTIM.STEPSIZE must be an integer or a list of integers, got {}",
                    other.repr()
                )))
            }
            None => {
                return Err(crate::errors::ConfigError::MissingKey {
                    key: "OPTIM.STEPSIZE".into(),
                }
                .into())
            }
        };
        Ok(SchedSettings {
            name,
            stepsize,
            gamma: cfg.float("OPTIM.GAMMA")?,
            max_epoch: cfg.int("OPTIM.MAX_EPOCH")?,
            warmup_epoch: cfg.int("OPTIM.WARMUP_EPOCH")?,
            warmup_type: cfg.str("OPTIM.WARMUP_TYPE")?.to_string(),
            warmup_cons_lr: cfg.float("OPTIM.WARMUP_CONS_LR")?,
            warmup_min_lr: cfg.float("OPTIM.WARMUP_MIN_LR")?,
            warmup_recount: cfg.bool("OPTIM.WARMUP_RECOUNT")?,
        })
    }
}

/// The successor's update rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
    /// `StepLR(step_size, gamma)`.
    SingleStep { step_size: i64, gamma: f64 },
    /// `MultiStepLR(milestones, gamma)`; a repeated milestone multiplies by gamma that
    /// many times (torch keeps them in a Counter).
    MultiStep { milestones: Vec<i64>, gamma: f64 },
    /// `CosineAnnealingLR(T_max = float(MAX_EPOCH), eta_min = 0)`.
    Cosine { t_max: f64, eta_min: f64 },
}

/// One torch `LRScheduler`'s bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    pub base_lr: f64,
    pub last_epoch: i64,
    pub step_count: u64,
    pub last_lr: f64,
}

/// The successor (StepLR, MultiStepLR or CosineAnnealingLR).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaseScheduler {
    pub rule: Rule,
    pub counters: Counters,
}

/// Dassl's `ConstantWarmupScheduler` / `LinearWarmupScheduler`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmupScheduler {
    pub kind: WarmupType,
    pub warmup_epoch: i64,
    /// `cons_lr` or `min_lr`.
    pub lr: f64,
    pub counters: Counters,
}

/// Everything a checkpoint needs to continue the schedule (torch's `scheduler.state_dict()`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedulerState {
    pub successor: BaseScheduler,
    pub warmup: Option<WarmupScheduler>,
}

/// The built scheduler; [`LrScheduler::step`] once per epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct LrScheduler {
    state: SchedulerState,
}

impl BaseScheduler {
    /// torch's `get_lr` for the current `last_epoch`, from the group's LR `lr`.
    fn get_lr(&self, lr: f64, initial: bool) -> f64 {
        let c = &self.counters;
        match &self.rule {
            Rule::SingleStep { step_size, gamma } => {
                if c.last_epoch == 0 || c.last_epoch.rem_euclid(*step_size) != 0 {
                    lr
                } else {
                    lr * gamma
                }
            }
            Rule::MultiStep { milestones, gamma } => {
                let hits = milestones.iter().filter(|&&m| m == c.last_epoch).count();
                if hits == 0 {
                    lr
                } else {
                    // Python's `gamma ** count` is C pow on doubles.
                    lr * gamma.powf(hits as f64)
                }
            }
            Rule::Cosine { t_max, eta_min } => {
                let (t, e) = (*t_max, c.last_epoch as f64);
                let pi = std::f64::consts::PI;
                if initial {
                    lr
                } else if c.step_count == 1 && c.last_epoch > 0 {
                    eta_min + (c.base_lr - eta_min) * (1.0 + (e * pi / t).cos()) / 2.0
                } else if (e - 1.0 - t).rem_euclid(2.0 * t) == 0.0 {
                    lr + (c.base_lr - eta_min) * (1.0 - (pi / t).cos()) / 2.0
                } else {
                    (1.0 + (pi * e / t).cos()) / (1.0 + (pi * (e - 1.0) / t).cos()) * (lr - eta_min)
                        + eta_min
                }
            }
        }
    }

    /// `LRScheduler.step()` without an epoch argument.
    fn step(&mut self, lr: &mut f64, initial: bool) {
        self.counters.step_count += 1;
        self.counters.last_epoch += 1;
        *lr = self.get_lr(*lr, initial);
        self.counters.last_lr = *lr;
    }
}

impl WarmupScheduler {
    fn get_lr(&self, successor_last_lr: f64) -> f64 {
        let c = &self.counters;
        if c.last_epoch >= self.warmup_epoch {
            return successor_last_lr;
        }
        match self.kind {
            WarmupType::Constant => self.lr,
            WarmupType::Linear if c.last_epoch == 0 => self.lr,
            WarmupType::Linear => c.base_lr * c.last_epoch as f64 / self.warmup_epoch as f64,
        }
    }
}

impl LrScheduler {
    /// `build_lr_scheduler(optimizer, cfg.OPTIM)`: sets the optimizer's LR for epoch 0.
    pub fn build(cfg: &Config, optimizer: &mut Optimizer) -> Result<Self, OptimError> {
        LrScheduler::new(&SchedSettings::from_config(cfg)?, optimizer)
    }

    pub fn new(settings: &SchedSettings, optimizer: &mut Optimizer) -> Result<Self, OptimError> {
        let mut lr = optimizer.lr();
        let s = LrScheduler::with_lr(settings, &mut lr)?;
        optimizer.set_lr(lr);
        Ok(s)
    }

    /// The same on a bare `param_group["lr"]`; `lr` is the optimizer's initial LR on entry.
    pub fn with_lr(settings: &SchedSettings, lr: &mut f64) -> Result<Self, OptimError> {
        let rule = match settings.name.as_str() {
            "single_step" => {
                let last = *settings.stepsize.last().ok_or_else(|| {
                    OptimError::Invalid(
                        "For single_step lr_scheduler, OPTIM.STEPSIZE is empty".into(),
                    )
                })?;
                let step_size = if last <= 0 { settings.max_epoch } else { last };
                if step_size <= 0 {
                    return Err(OptimError::Invalid(format!(
                        "single_step needs a positive step size, got STEPSIZE {:?} and MAX_EPOCH {}",
                        settings.stepsize, settings.max_epoch
                    )));
                }
                Rule::SingleStep {
                    step_size,
                    gamma: settings.gamma,
                }
            }
            "multi_step" => Rule::MultiStep {
                milestones: settings.stepsize.clone(),
                gamma: settings.gamma,
            },
            "cosine" => {
                if settings.max_epoch <= 0 {
                    return Err(OptimError::Invalid(format!(
                        "cosine needs OPTIM.MAX_EPOCH > 0, got {}",
                        settings.max_epoch
                    )));
                }
                Rule::Cosine {
                    t_max: settings.max_epoch as f64,
                    eta_min: 0.0,
                }
            }
            other => {
                return Err(OptimError::UnknownScheduler {
                    got: other.to_string(),
                    available: AVAI_SCHEDS,
                })
            }
        };
        // LRScheduler.__init__: base_lrs from `initial_lr`, last_epoch -1, then one step.
        let counters = Counters {
            base_lr: *lr,
            last_epoch: -1,
            step_count: 0,
            last_lr: *lr,
        };
        let mut successor = BaseScheduler { rule, counters };
        successor.step(lr, true);
        let mut warmup = None;
        if settings.warmup_epoch > 0 {
            if !settings.warmup_recount {
                successor.counters.last_epoch = settings.warmup_epoch;
            }
            let (kind, wlr) = match settings.warmup_type.as_str() {
                "constant" => (WarmupType::Constant, settings.warmup_cons_lr),
                "linear" => (WarmupType::Linear, settings.warmup_min_lr),
                other => {
                    return Err(OptimError::UnknownWarmup {
                        got: other.to_string(),
                    })
                }
            };
            // `initial_lr` was already set by the successor, so base_lr is the original LR.
            let counters = Counters {
                base_lr: successor.counters.base_lr,
                last_epoch: -1,
                step_count: 0,
                last_lr: *lr,
            };
            warmup = Some(WarmupScheduler {
                kind,
                warmup_epoch: settings.warmup_epoch,
                lr: wlr,
                counters,
            });
        }
        let mut s = LrScheduler {
            state: SchedulerState { successor, warmup },
        };
        if s.state.warmup.is_some() {
            // The wrapper's initial step goes through its overridden step().
            s.step_lr(lr);
        }
        Ok(s)
    }

    /// `scheduler.step()`: called once per epoch, after the epoch's optimizer steps.
    pub fn step(&mut self, optimizer: &mut Optimizer) {
        let mut lr = optimizer.lr();
        self.step_lr(&mut lr);
        optimizer.set_lr(lr);
    }

    /// [`LrScheduler::step`] on a bare `param_group["lr"]`.
    pub fn step_lr(&mut self, lr: &mut f64) {
        let SchedulerState { successor, warmup } = &mut self.state;
        match warmup {
            None => successor.step(lr, false),
            Some(w) if w.counters.last_epoch >= w.warmup_epoch => {
                successor.step(lr, false);
                w.counters.last_lr = successor.counters.last_lr;
            }
            Some(w) => {
                w.counters.step_count += 1;
                w.counters.last_epoch += 1;
                *lr = w.get_lr(successor.counters.last_lr);
                w.counters.last_lr = *lr;
            }
        }
    }

    /// `get_last_lr()[0]`.
    pub fn last_lr(&self) -> f64 {
        match &self.state.warmup {
            Some(w) => w.counters.last_lr,
            None => self.state.successor.counters.last_lr,
        }
    }

    pub fn state(&self) -> SchedulerState {
        self.state.clone()
    }

    /// torch's `load_state_dict` replaces the whole object state (successor included).
    pub fn load_state(&mut self, state: SchedulerState) {
        self.state = state;
    }
}
