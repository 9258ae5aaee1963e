//! Dynamic loss scaling with the defaults and rules of `torch.amp.GradScaler`, for the amp
//! precision mode: tch exposes no GradScaler (only the raw `_amp_update_scale_` op).
//!
//! Per iteration: `scale(loss).backward()`, then [`DynamicLossScaler::step`] (unscales the
//! gradients, skips the optimizer step when any is inf/NaN), then
//! [`DynamicLossScaler::update`] (backs off after an overflow, grows after
//! `growth_interval` clean steps). The scale is kept as float32, as torch keeps it.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::errors::OptimError;
use crate::optim::optimizer::{grads_finite, scale_grads};
use crate::optim::Optimizer;

/// Where the scaler is within one iteration (torch's per-optimizer `OptState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Stage {
    #[default]
    Ready,
    Unscaled,
    Stepped,
}

/// What a checkpoint stores (torch's `GradScaler.state_dict()`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalerState {
    pub scale: f32,
    pub growth_factor: f64,
    pub backoff_factor: f64,
    pub growth_interval: u32,
    /// Clean steps since the last growth or backoff (`_growth_tracker`).
    pub growth_tracker: u32,
    pub enabled: bool,
}

/// `GradScaler(init_scale=65536, growth_factor=2, backoff_factor=0.5, growth_interval=2000)`.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicLossScaler {
    state: ScalerState,
    stage: Stage,
    found_inf: bool,
}

impl Default for DynamicLossScaler {
    fn default() -> Self {
        DynamicLossScaler::new(65536.0, 2.0, 0.5, 2000)
    }
}

impl DynamicLossScaler {
    pub fn new(
        init_scale: f64,
        growth_factor: f64,
        backoff_factor: f64,
        growth_interval: u32,
    ) -> Self {
        DynamicLossScaler {
            state: ScalerState {
                scale: init_scale as f32,
                growth_factor,
                backoff_factor,
                growth_interval,
                growth_tracker: 0,
                enabled: true,
            },
            stage: Stage::Ready,
            found_inf: false,
        }
    }

    /// A pass-through scaler (`GradScaler(enabled=False)`): fp32 and fp16 modes use none.
    pub fn disabled() -> Self {
        let mut s = DynamicLossScaler::default();
        s.state.enabled = false;
        s
    }

    pub fn is_enabled(&self) -> bool {
        self.state.enabled
    }

    /// The current scale (`get_scale()`), 1.0 when disabled.
    pub fn get_scale(&self) -> f64 {
        if self.state.enabled {
            f64::from(self.state.scale)
        } else {
            1.0
        }
    }

    /// `scaler.scale(loss)`: the loss times the scale (a float32 tensor, so a half loss
    /// comes back as float32, as in torch).
    pub fn scale(&self, loss: &Tensor) -> Result<Tensor, OptimError> {
        if !self.state.enabled {
            return Ok(loss.shallow_clone());
        }
        let s = Tensor::from(self.state.scale).f_to_device(loss.device())?;
        Ok(loss.f_mul(&s)?)
    }

    /// `scaler.unscale_(optimizer)`: divides the gradients by the scale and records whether
    /// any was inf/NaN. Called by [`DynamicLossScaler::step`] unless done already (e.g. to
    /// clip gradients first); twice in one iteration is an error, as in torch.
    pub fn unscale(&mut self, optimizer: &Optimizer) -> Result<(), OptimError> {
        if !self.state.enabled {
            return Ok(());
        }
        match self.stage {
            Stage::Unscaled => {
                return Err(OptimError::Invalid(
                    "unscale() has already been called on this optimizer since the last update()"
                        .into(),
                ))
            }
            Stage::Stepped => {
                return Err(OptimError::Invalid(
                    "unscale() is being called after step()".into(),
                ))
            }
            Stage::Ready => {}
        }
        // torch: inv_scale = scale.double().reciprocal().float()
        let inv = (1.0 / f64::from(self.state.scale)) as f32;
        self.found_inf = !grads_finite(optimizer.params())?;
        scale_grads(optimizer.params(), inv)?;
        self.stage = Stage::Unscaled;
        Ok(())
    }

    /// `scaler.step(optimizer)`: unscales if needed, then steps unless a gradient was
    /// inf/NaN. Returns whether the optimizer stepped.
    pub fn step(&mut self, optimizer: &mut Optimizer) -> Result<bool, OptimError> {
        if !self.state.enabled {
            optimizer.step()?;
            return Ok(true);
        }
        if self.stage == Stage::Stepped {
            return Err(OptimError::Invalid(
                "step() has already been called since the last update()".into(),
            ));
        }
        if self.stage == Stage::Ready {
            self.unscale(optimizer)?;
        }
        let stepped = !self.found_inf;
        if stepped {
            optimizer.step()?;
        }
        self.stage = Stage::Stepped;
        Ok(stepped)
    }

    /// `scaler.update()`: `_amp_update_scale_`'s rule, then a fresh iteration.
    pub fn update(&mut self) -> Result<(), OptimError> {
        if !self.state.enabled {
            return Ok(());
        }
        if self.stage == Stage::Ready {
            // torch asserts here: no inf checks were recorded prior to update().
            return Err(OptimError::Invalid(
                "No inf checks were recorded prior to update()".into(),
            ));
        }
        let s = &mut self.state;
        if self.found_inf {
            s.scale = (f64::from(s.scale) * s.backoff_factor) as f32;
            s.growth_tracker = 0;
        } else {
            let successful = s.growth_tracker + 1;
            if successful == s.growth_interval {
                let grown = (f64::from(s.scale) * s.growth_factor) as f32;
                if grown.is_finite() {
                    s.scale = grown;
                }
                s.growth_tracker = 0;
            } else {
                s.growth_tracker = successful;
            }
        }
        self.stage = Stage::Ready;
        self.found_inf = false;
        Ok(())
    }

    pub fn state(&self) -> ScalerState {
        self.state.clone()
    }

    pub fn load_state(&mut self, state: ScalerState) {
        self.state = state;
        self.stage = Stage::Ready;
        self.found_inf = false;
    }
}
