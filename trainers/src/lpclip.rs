//! Linear-probe CLIP (CoOp's lpclip): logistic regression on frozen image features.
//!
//! What lpclip does, kept here: image features are `clip.visual(img)` under the *test*
//! transform for every split and are **not** L2-normalised (feat_extractor.py stores the raw
//! output and linear_probe.py feeds it to scikit-learn as is); the classifier is
//! scikit-learn's `LogisticRegression(solver="lbfgs", max_iter=1000, penalty="l2", C=c)`,
//! i.e. the minimiser of `C * sum_i CE_i + 0.5 * ||W||^2` with an unpenalised intercept
//! (one weight vector when there are two classes, as scikit-learn does); C is chosen on the
//! val split by linear_probe.py's grid + log-space bisection, and the model deployed is the
//! one of the last bisection step (the number lpclip reports).
//!
//! Differences: the few-shot train and val sets are Dassl's (`DATASET.NUM_SHOTS`, val with
//! `min(shots, 4)` per class, which is linear_probe.py's `val_shot_list`) rather than
//! linear_probe.py's own `np.random.choice` draws; the L-BFGS is ours (same objective,
//! stopping rules and memory as SciPy's L-BFGS-B, but a different line search, so runs that
//! stop on `max_iter` before converging, e.g. huge C on separable data, stop elsewhere).

use std::path::{Path, PathBuf};

use dassl_rs::clip::model::{Clip, Precision};
use dassl_rs::config::{Config, ConfigBuilder};
use dassl_rs::data::loader::{Batch, DataLoader, LoaderOptions, Sampler};
use dassl_rs::data::manager::DataManager;
use dassl_rs::engine::trainer_x::{select_device, Engine, Learner, Step};
use dassl_rs::engine::Trainer;
use dassl_rs::engine::{SweepTraits, TrainerEntry};
use dassl_rs::errors::{ConfigError, EngineError};
use dassl_rs::features::{loader_features, EncoderIdentity, FeatureCache, FrozenEncoder};
use dassl_rs::log_println;
use tch::{nn::VarStore, Device, Kind, Tensor};

use crate::clip_common::{encoder_identity, load_clip};

inventory::submit! {
    TrainerEntry { name: "LinearProbeCLIP", extend_cfg, check_cfg, build, sweep: SWEEP }
}

/// lpclip's feat_extractor.sh reads `configs/trainers/CoOp/rn50_val.yaml`.
const SWEEP: SweepTraits = SweepTraits {
    config_dir: Some("CoOp"),
    config: Some("rn50_val"),
    ..SweepTraits::TRAINED
};

/// NUM_STEP and MAX_ITER are counts; the probe is fitted from scratch.
fn check_cfg(cfg: &Config) -> Result<(), ConfigError> {
    crate::clip_common::refuse_init_weights(cfg, "LinearProbeCLIP")?;
    for key in [
        "TRAINER.LINEAR_PROBE.NUM_STEP",
        "TRAINER.LINEAR_PROBE.MAX_ITER",
    ] {
        let v = cfg.int(key)?;
        if v < 0 {
            return Err(ConfigError::InvalidChoice {
                key: key.into(),
                value: v.to_string(),
                expected: "a count >= 0".into(),
            });
        }
    }
    Ok(())
}

/// linear_probe.py's initial grid of C, in its order (ties go to the first, largest C).
pub const C_GRID: [f64; 7] = [1e6, 1e4, 1e2, 1.0, 1e-2, 1e-4, 1e-6];

/// lpclip's knobs: `--num_step` (8 in linear_probe.sh) and scikit-learn's `max_iter`.
fn extend_cfg(b: &mut ConfigBuilder) -> Result<(), ConfigError> {
    b.declare("TRAINER.LINEAR_PROBE.NUM_STEP", "8", "LinearProbeCLIP")?;
    b.declare("TRAINER.LINEAR_PROBE.MAX_ITER", "1000", "LinearProbeCLIP")?;
    b.declare("DATASET.SUBSAMPLE_CLASSES", "'all'", "LinearProbeCLIP")
}

// ---------------------------------------------------------------------------------------
// L-BFGS
// ---------------------------------------------------------------------------------------

/// Stopping rules and memory; the defaults are what scikit-learn passes to SciPy's
/// L-BFGS-B for `LogisticRegression` (tol 1e-4, ftol 64 eps, maxls 50, maxcor 10).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LbfgsOptions {
    pub max_iter: usize,
    /// Stop when the gradient's largest entry is at most this (SciPy's `gtol`).
    pub gtol: f64,
    /// Stop when `(f_old - f) / max(|f_old|, |f|, 1)` is at most this (SciPy's `ftol`).
    pub ftol: f64,
    /// Correction pairs kept.
    pub memory: usize,
    /// Function evaluations per line search.
    pub max_ls: usize,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        LbfgsOptions {
            max_iter: 1000,
            gtol: 1e-4,
            ftol: 64.0 * f64::EPSILON,
            memory: 10,
            max_ls: 50,
        }
    }
}

/// Where L-BFGS stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct LbfgsResult {
    pub x: Vec<f64>,
    pub f: f64,
    pub n_iter: usize,
    /// False when `max_iter` ran out or the line search could not make progress.
    pub converged: bool,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn inf_norm(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// A point on the search line: step, value, gradient and directional derivative.
struct LinePoint {
    a: f64,
    f: f64,
    g: Vec<f64>,
    dg: f64,
}

/// Minimiser of the cubic through two points with derivatives, or `None` when it has none.
fn cubic_min(p: &LinePoint, q: &LinePoint) -> Option<f64> {
    let d1 = p.dg + q.dg - 3.0 * (p.f - q.f) / (p.a - q.a);
    let disc = d1 * d1 - p.dg * q.dg;
    if !disc.is_finite() || disc < 0.0 {
        return None;
    }
    let d2 = (q.a - p.a).signum() * disc.sqrt();
    let a = q.a - (q.a - p.a) * (q.dg + d2 - d1) / (q.dg - p.dg + 2.0 * d2);
    a.is_finite().then_some(a)
}

/// Strong-Wolfe line search (Nocedal & Wright, alg. 3.5/3.6) with SciPy's constants
/// (`ftol` 1e-3, `gtol` 0.9); returns the accepted point, or the best sufficient-decrease
/// point when the evaluations run out.
fn line_search<F: FnMut(&[f64], &mut [f64]) -> f64>(
    fg: &mut F,
    x: &[f64],
    f0: f64,
    dg0: f64,
    d: &[f64],
    step0: f64,
    max_ls: usize,
) -> Option<LinePoint> {
    const C1: f64 = 1e-3;
    const C2: f64 = 0.9;
    let mut evals = 0usize;
    let mut xn = vec![0.0; x.len()];
    let mut eval = |a: f64, fg: &mut F| -> LinePoint {
        for ((xi, di), out) in x.iter().zip(d).zip(xn.iter_mut()) {
            *out = xi + a * di;
        }
        let mut g = vec![0.0; x.len()];
        let f = fg(&xn, &mut g);
        let dg = dot(&g, d);
        LinePoint { a, f, g, dg }
    };
    let armijo = |p: &LinePoint| p.f <= f0 + C1 * p.a * dg0;
    let curvature = |p: &LinePoint| p.dg.abs() <= -C2 * dg0;
    let mut prev = LinePoint {
        a: 0.0,
        f: f0,
        g: Vec::new(),
        dg: dg0,
    };
    let mut a = step0;
    let (mut lo, mut hi) = loop {
        if evals >= max_ls {
            return None;
        }
        let p = eval(a, fg);
        evals += 1;
        if !p.f.is_finite() {
            // Overflow far along the line: come back towards the last good step.
            a = 0.5 * (prev.a + a);
            continue;
        }
        if !armijo(&p) || (prev.a > 0.0 && p.f >= prev.f) {
            break (prev, p);
        }
        if curvature(&p) {
            return Some(p);
        }
        if p.dg >= 0.0 {
            break (p, prev);
        }
        a = 2.0 * p.a;
        prev = p;
    };
    while evals < max_ls {
        let (left, right) = if lo.a < hi.a {
            (lo.a, hi.a)
        } else {
            (hi.a, lo.a)
        };
        let width = right - left;
        let a = cubic_min(&lo, &hi)
            .filter(|a| *a > left + 0.1 * width && *a < right - 0.1 * width)
            .unwrap_or(0.5 * (left + right));
        let p = eval(a, fg);
        evals += 1;
        if !p.f.is_finite() || !armijo(&p) || p.f >= lo.f {
            hi = p;
        } else {
            if curvature(&p) {
                return Some(p);
            }
            if p.dg * (hi.a - lo.a) >= 0.0 {
                hi = lo;
            }
            lo = p;
        }
        if width <= f64::EPSILON * right.max(1.0) {
            break;
        }
    }
    (lo.a > 0.0 && lo.f < f0).then_some(lo)
}

/// Minimises `fg` (which returns f and writes the gradient) from `x0` with limited-memory
/// BFGS (two-loop recursion, scaled initial Hessian); SciPy's first step `1/||g||` and its
/// restart of the memory when a line search fails are kept.
pub fn lbfgs<F: FnMut(&[f64], &mut [f64]) -> f64>(
    mut fg: F,
    x0: Vec<f64>,
    opts: &LbfgsOptions,
) -> LbfgsResult {
    let n = x0.len();
    let mut x = x0;
    let mut g = vec![0.0; n];
    let mut f = fg(&x, &mut g);
    let mut hist: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> =
        std::collections::VecDeque::new();
    if inf_norm(&g) <= opts.gtol {
        return LbfgsResult {
            x,
            f,
            n_iter: 0,
            converged: true,
        };
    }
    let mut iter = 0;
    while iter < opts.max_iter {
        // Two-loop recursion: d = -H g.
        let mut q: Vec<f64> = g.iter().map(|v| -v).collect();
        let mut alphas = Vec::with_capacity(hist.len());
        for (s, y, rho) in hist.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        if let Some((s, y, _)) = hist.back() {
            let gamma = dot(s, y) / dot(y, y);
            q.iter_mut().for_each(|qi| *qi *= gamma);
        }
        for ((s, y, rho), a) in hist.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
        }
        let mut d = q;
        let mut dg = dot(&g, &d);
        if dg >= 0.0 || !dg.is_finite() {
            hist.clear();
            d = g.iter().map(|v| -v).collect();
            dg = dot(&g, &d);
        }
        let step0 = if hist.is_empty() {
            1.0 / dot(&d, &d).sqrt()
        } else {
            1.0
        };
        let point = match line_search(&mut fg, &x, f, dg, &d, step0, opts.max_ls) {
            Some(p) => p,
            None if !hist.is_empty() => {
                hist.clear();
                continue;
            }
            None => {
                return LbfgsResult {
                    x,
                    f,
                    n_iter: iter,
                    converged: false,
                }
            }
        };
        iter += 1;
        let s: Vec<f64> = d.iter().map(|di| point.a * di).collect();
        let y: Vec<f64> = point.g.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > f64::EPSILON * dot(&y, &y) {
            hist.push_back((s.clone(), y, 1.0 / sy));
            if hist.len() > opts.memory {
                hist.pop_front();
            }
        }
        x.iter_mut().zip(&s).for_each(|(xi, si)| *xi += si);
        let f_old = f;
        f = point.f;
        g = point.g;
        if inf_norm(&g) <= opts.gtol || (f_old - f) / f_old.abs().max(f.abs()).max(1.0) <= opts.ftol
        {
            return LbfgsResult {
                x,
                f,
                n_iter: iter,
                converged: true,
            };
        }
    }
    LbfgsResult {
        x,
        f,
        n_iter: iter,
        converged: false,
    }
}

// ---------------------------------------------------------------------------------------
// Logistic regression
// ---------------------------------------------------------------------------------------

/// A fitted L2 logistic regression, scikit-learn's layout: `coef` is `[rows, dim]`
/// row-major with one row per class, or a single row for two classes (positive class
/// `classes[1]`).
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression {
    /// The labels seen in training, sorted (scikit-learn's `classes_`).
    pub classes: Vec<i64>,
    pub coef: Vec<f64>,
    pub intercept: Vec<f64>,
    pub dim: usize,
    pub n_iter: usize,
    pub converged: bool,
}

impl LogisticRegression {
    /// Fits on `x` (`[n, dim]`, any float kind) as scikit-learn does: the objective is
    /// scaled by `1 / (C n)` (mean loss + `||W||^2 / (2 C n)`), which only changes where
    /// `gtol` bites, and L-BFGS starts from zero.
    pub fn fit(
        x: &Tensor,
        labels: &[i64],
        c: f64,
        opts: &LbfgsOptions,
    ) -> Result<Self, EngineError> {
        let x = x.to_kind(Kind::Double).to_device(Device::Cpu);
        let (n, dim) = x.size2()?;
        if n as usize != labels.len() || n == 0 {
            return Err(EngineError::Invalid(format!(
                "{n} feature rows but {} labels",
                labels.len()
            )));
        }
        if !(c > 0.0 && c.is_finite()) {
            return Err(EngineError::Invalid(format!(
                "C must be positive and finite, got {c}"
            )));
        }
        let mut classes = labels.to_vec();
        classes.sort_unstable();
        classes.dedup();
        if classes.len() < 2 {
            return Err(EngineError::Invalid(format!(
                "logistic regression needs at least 2 classes in the data, got {}",
                classes.len()
            )));
        }
        let encoded: Vec<i64> = labels
            .iter()
            .map(|l| classes.binary_search(l).expect("label from the list") as i64)
            .collect();
        let binary = classes.len() == 2;
        let rows = if binary { 1 } else { classes.len() as i64 };
        let target = if binary {
            Tensor::from_slice(&encoded).to_kind(Kind::Double)
        } else {
            Tensor::from_slice(&encoded)
                .one_hot(rows)
                .to_kind(Kind::Double)
        };
        let lam = 1.0 / (c * n as f64);
        let inv_n = 1.0 / n as f64;
        let n_w = (rows * dim) as usize;
        let objective = |p: &[f64], grad: &mut [f64]| -> f64 {
            let w = Tensor::from_slice(&p[..n_w]).view([rows, dim]);
            let b = Tensor::from_slice(&p[n_w..]);
            let z = x.matmul(&w.tr()) + &b;
            let (data_loss, gz) = if binary {
                let z = z.squeeze_dim(1);
                // log(1 + e^z) - y z, and its derivative sigmoid(z) - y.
                let loss = (z.softplus() - &z * &target).sum(Kind::Double);
                (loss, (z.sigmoid() - &target).unsqueeze(1))
            } else {
                let loss = (z.logsumexp([1i64].as_slice(), false).sum(Kind::Double))
                    - (&z * &target).sum(Kind::Double);
                (loss, z.softmax(1, Kind::Double) - &target)
            };
            let gz = gz * inv_n;
            let gw = gz.tr().matmul(&x) + &w * lam;
            let gb = gz.sum_dim_intlist([0i64].as_slice(), false, Kind::Double);
            gw.copy_data(&mut grad[..n_w], n_w);
            gb.copy_data(&mut grad[n_w..], rows as usize);
            data_loss.double_value(&[]) * inv_n
                + 0.5 * lam * w.square().sum(Kind::Double).double_value(&[])
        };
        let r = lbfgs(objective, vec![0.0; n_w + rows as usize], opts);
        Ok(LogisticRegression {
            classes,
            coef: r.x[..n_w].to_vec(),
            intercept: r.x[n_w..].to_vec(),
            dim: dim as usize,
            n_iter: r.n_iter,
            converged: r.converged,
        })
    }

    /// scikit-learn's `decision_function`: `[n, rows]` (`[n, 1]` for two classes), f64 on CPU.
    pub fn decision_function(&self, x: &Tensor) -> Tensor {
        let rows = self.intercept.len() as i64;
        let w = Tensor::from_slice(&self.coef).view([rows, self.dim as i64]);
        x.to_kind(Kind::Double)
            .to_device(Device::Cpu)
            .matmul(&w.tr())
            + Tensor::from_slice(&self.intercept)
    }

    /// scikit-learn's `predict`: the first best class, or `classes[1]` iff the score is > 0.
    pub fn predict(&self, x: &Tensor) -> Vec<i64> {
        let scores = self.decision_function(x);
        let idx: Vec<i64> = if self.classes.len() == 2 {
            Vec::<i64>::try_from(scores.squeeze_dim(1).gt(0.0).to_kind(Kind::Int64))
                .unwrap_or_default()
        } else {
            Vec::<i64>::try_from(scores.argmax(1, false)).unwrap_or_default()
        };
        idx.into_iter().map(|i| self.classes[i as usize]).collect()
    }

    /// Logits over all `num_classes` labels whose argmax is [`Self::predict`]: the binary
    /// score goes to `classes[1]` against 0 for `classes[0]`, and labels never seen in
    /// training get a score no class can lose to.
    pub fn logits(&self, x: &Tensor, num_classes: usize) -> Tensor {
        let scores = self.decision_function(x);
        let n = scores.size()[0];
        let scores = if self.classes.len() == 2 {
            Tensor::cat(&[scores.zeros_like(), scores], 1)
        } else {
            scores
        };
        let out = Tensor::full([n, num_classes as i64], -1e30, (Kind::Double, Device::Cpu));
        let index = Tensor::from_slice(&self.classes)
            .unsqueeze(0)
            .expand([n, -1], false);
        out.scatter(1, &index, &scores)
    }
}

/// Share of `pred` equal to `labels`, as linear_probe.py's `sum(pred == y) / len(y)`.
pub fn accuracy(pred: &[i64], labels: &[i64]) -> f64 {
    pred.iter().zip(labels).filter(|(p, l)| p == l).count() as f64 / labels.len().max(1) as f64
}

// ---------------------------------------------------------------------------------------
// The search over C
// ---------------------------------------------------------------------------------------

/// One bisection round of linear_probe.py: both ends scored, the better kept (left on ties).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchRound {
    pub c_left: f64,
    pub c_right: f64,
    pub acc_left: f64,
    pub acc_right: f64,
    pub c_final: f64,
}

/// What the search tried and what it chose.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchTrace {
    /// Val accuracy per [`C_GRID`] entry.
    pub grid_acc: Vec<f64>,
    pub rounds: Vec<SearchRound>,
    pub c: f64,
}

/// linear_probe.py's search: score [`C_GRID`], take the first best `C_peak`, then
/// `num_step` rounds on `[0.1 C_peak, 10 C_peak]` that score both ends, keep the better
/// (left unless right is strictly better) and halve the range in log10 towards it. Returns
/// the trace and the model of the last round (of the grid peak when `num_step` is 0).
/// `after_round` sees each round's winner (lpclip prints its test accuracy).
pub fn search_c<M, E>(
    num_step: usize,
    mut score: impl FnMut(f64) -> Result<(f64, M), E>,
    mut after_round: impl FnMut(usize, &SearchRound, &M) -> Result<(), E>,
) -> Result<(SearchTrace, M), E> {
    let mut grid_acc = Vec::with_capacity(C_GRID.len());
    let mut best: Option<(f64, M)> = None;
    for c in C_GRID {
        let (acc, model) = score(c)?;
        grid_acc.push(acc);
        if best.as_ref().is_none_or(|(a, _)| acc > *a) {
            best = Some((acc, model));
        }
    }
    let peak_idx = grid_acc
        .iter()
        .position(|a| Some(*a) == best.as_ref().map(|b| b.0))
        .expect("the grid is not empty");
    let c_peak = C_GRID[peak_idx];
    log_println!("Val accuracy on the C grid {:?}: {:?}", C_GRID, grid_acc);
    let (mut c_left, mut c_right) = (1e-1 * c_peak, 1e1 * c_peak);
    let mut chosen = (c_peak, best.expect("the grid is not empty").1);
    let mut rounds = Vec::with_capacity(num_step);
    for step in 0..num_step {
        log_println!("Round {step}: {c_left:?}/{c_right:?}");
        let (acc_left, model_left) = score(c_left)?;
        log_println!("Val accuracy (Left): {:.2}", 100.0 * acc_left);
        let (acc_right, model_right) = score(c_right)?;
        log_println!("Val accuracy (Right): {:.2}", 100.0 * acc_right);
        let (lo, hi) = (c_left.log10(), c_right.log10());
        let (c_final, model, next) = if acc_left < acc_right {
            (c_right, model_right, (0.5 * (hi + lo), hi))
        } else {
            (c_left, model_left, (lo, 0.5 * (hi + lo)))
        };
        let round = SearchRound {
            c_left,
            c_right,
            acc_left,
            acc_right,
            c_final,
        };
        after_round(step, &round, &model)?;
        rounds.push(round);
        chosen = (c_final, model);
        (c_left, c_right) = (10f64.powf(next.0), 10f64.powf(next.1));
    }
    Ok((
        SearchTrace {
            grid_acc,
            rounds,
            c: chosen.0,
        },
        chosen.1,
    ))
}

// ---------------------------------------------------------------------------------------
// The trainer
// ---------------------------------------------------------------------------------------

fn build(cfg: &Config) -> Result<Box<dyn Trainer>, EngineError> {
    Ok(Box::new(LinearProbeTrainer::new(cfg)?))
}

/// Features of a split: `[n, D]` f64 on the CPU, and the labels.
struct Features {
    x: Tensor,
    y: Vec<i64>,
}

/// Runs CLIP's image encoder over a loader (feat_extractor.py's loop), or reads its
/// features from the feature cache: every split goes through the deterministic test
/// transform, so the train split's features are cacheable too.
fn extract(
    learner: &LinearProbeLearner,
    cache: Option<&FeatureCache>,
    loader: &DataLoader,
    what: &str,
) -> Result<Features, EngineError> {
    let encode = |images: &Tensor| learner.encode_images(images);
    let x = loader_features(cache, &learner.identity(), loader, what, &encode)?;
    Ok(Features {
        x: x.to_kind(Kind::Double),
        y: loader.data().iter().map(|d| d.label as i64).collect(),
    })
}

struct LinearProbeLearner {
    clip: Clip,
    _vs: VarStore,
    /// The weights file (it keys the feature cache).
    weights: PathBuf,
    device: Device,
    probe: Option<LogisticRegression>,
    num_classes: usize,
}

impl LinearProbeLearner {
    fn probe(&self) -> Result<&LogisticRegression, EngineError> {
        self.probe.as_ref().ok_or_else(|| {
            EngineError::Invalid(
                "LinearProbeCLIP saves no model: run training (it fits and tests in one go)".into(),
            )
        })
    }
}

impl FrozenEncoder for LinearProbeLearner {
    fn identity(&self) -> EncoderIdentity {
        encoder_identity(&self.clip, &self.weights, self.device)
    }

    fn encode_images(&self, images: &Tensor) -> Tensor {
        self.clip.encode_image(images)
    }

    fn logits_from_features(&mut self, features: &Tensor) -> Result<Tensor, EngineError> {
        Ok(self.probe()?.logits(features, self.num_classes))
    }
}

impl Learner for LinearProbeLearner {
    fn forward_backward(
        &mut self,
        _: &Batch,
        _: Step,
    ) -> Result<Vec<(&'static str, f64)>, EngineError> {
        Err(EngineError::Invalid(
            "LinearProbeCLIP fits its classifier in train(), not per batch".into(),
        ))
    }

    fn inference(&mut self, images: &Tensor) -> Result<Tensor, EngineError> {
        let features = self.encode_images(images);
        self.logits_from_features(&features)
    }

    fn frozen_encoder(&mut self) -> Option<&mut dyn FrozenEncoder> {
        Some(self)
    }

    fn current_lr(&self) -> f64 {
        0.0
    }
}

/// Fits the probe in `train()` and then runs the engine's final test on it.
struct LinearProbeTrainer {
    engine: Engine<LinearProbeLearner>,
    num_step: usize,
    opts: LbfgsOptions,
    batch_size: usize,
    num_workers: usize,
    /// DATASET.NAME, for the log.
    dataset_name: String,
}

impl LinearProbeTrainer {
    fn new(cfg: &Config) -> Result<Self, EngineError> {
        Self::with_data(cfg, DataManager::new(cfg)?)
    }

    /// The trainer over data built elsewhere (tests build it without the dataset registry).
    fn with_data(cfg: &Config, dm: DataManager) -> Result<Self, EngineError> {
        check_cfg(cfg)?;
        let num_step = cfg.int("TRAINER.LINEAR_PROBE.NUM_STEP")? as usize;
        let max_iter = cfg.int("TRAINER.LINEAR_PROBE.MAX_ITER")? as usize;
        let batch_size =
            usize::try_from(cfg.int("DATALOADER.TRAIN_X.BATCH_SIZE")?.max(1)).unwrap_or(1);
        let num_workers = usize::try_from(cfg.int("DATALOADER.NUM_WORKERS")?.max(0)).unwrap_or(0);
        let device = select_device(cfg)?;
        if dm.val_loader().is_none() {
            return Err(EngineError::Invalid(
                "LinearProbeCLIP chooses C on the val split, but the dataset has none".into(),
            ));
        }
        // lpclip loads CLIP with clip.load(..., jit=False): fp16 on a GPU, and cast to
        // fp32 by clip.load itself on the CPU.
        let precision = if device == Device::Cpu {
            Precision::Fp32
        } else {
            Precision::Fp16
        };
        let (mut vs, clip, weights) = load_clip(cfg, device, precision)?;
        vs.freeze();
        let learner = LinearProbeLearner {
            clip,
            _vs: vs,
            weights,
            device,
            probe: None,
            num_classes: dm.num_classes(),
        };
        let engine = Engine::new(cfg, dm, learner, device)?;
        Ok(LinearProbeTrainer {
            engine,
            num_step,
            opts: LbfgsOptions {
                max_iter,
                ..Default::default()
            },
            batch_size,
            num_workers,
            dataset_name: cfg.str("DATASET.NAME")?.to_string(),
        })
    }

    /// Extracts the three splits, searches C and installs the chosen model.
    fn fit(&mut self) -> Result<SearchTrace, EngineError> {
        let dm = &self.engine.dm;
        let learner = &self.engine.learner;
        let cache = self.engine.feature_cache();
        let name = &self.dataset_name;
        // feat_extractor.py: the test transform for the train split too, sequential order.
        let mut options = LoaderOptions::new(Sampler::Sequential, self.batch_size, false);
        options.num_workers = self.num_workers;
        let train_loader = DataLoader::new(
            dm.dataset().train_x.clone(),
            dm.test_loader().transform().clone(),
            options,
        )?;
        let split = |s: &str| format!("the {name} {s} split");
        let train_what = format!("{} (test transform)", split("train_x"));
        let train = extract(learner, cache, &train_loader, &train_what)?;
        let val = extract(
            learner,
            cache,
            dm.val_loader().expect("checked in new"),
            &split("val"),
        )?;
        let test = extract(learner, cache, dm.test_loader(), &split("test"))?;
        log_println!(
            "Extracted image features (not L2-normalised, as lpclip): train {}, val {}, test {}, dim {}",
            train.y.len(),
            val.y.len(),
            test.y.len(),
            train.x.size()[1]
        );
        let opts = self.opts;
        let score = |c: f64| -> Result<(f64, LogisticRegression), EngineError> {
            let model = LogisticRegression::fit(&train.x, &train.y, c, &opts)?;
            if !model.converged {
                log_println!("L-BFGS did not converge for C = {c:?} in {} iterations (scikit-learn warns here too)", model.n_iter);
            }
            Ok((accuracy(&model.predict(&val.x), &val.y), model))
        };
        let report_test =
            |_: usize, _: &SearchRound, model: &LogisticRegression| -> Result<(), EngineError> {
                log_println!(
                    "Test Accuracy: {:.2}",
                    100.0 * accuracy(&model.predict(&test.x), &test.y)
                );
                Ok(())
            };
        let (trace, model) = search_c(self.num_step, score, report_test)?;
        log_println!(
            "Chosen C = {:?} (val accuracy {:.2})",
            trace.c,
            100.0
                * trace
                    .rounds
                    .last()
                    .map_or(f64::NAN, |r| r.acc_left.max(r.acc_right))
        );
        self.engine.learner.probe = Some(model);
        Ok(trace)
    }
}

impl Trainer for LinearProbeTrainer {
    fn train(&mut self) -> Result<(), EngineError> {
        self.fit()?;
        self.engine.test(None).map(|_| ())
    }

    fn test(&mut self, split: Option<&str>) -> Result<f64, EngineError> {
        self.engine.test(split)
    }

    fn load_model(&mut self, directory: &Path, epoch: Option<usize>) -> Result<(), EngineError> {
        self.engine.load_model(directory, epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{cfg_from, tiny_clip, toy_data};

    #[test]
    fn lbfgs_minimises_rosenbrock() {
        let rosen = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let opts = LbfgsOptions {
            gtol: 1e-10,
            ftol: 0.0,
            ..Default::default()
        };
        let r = lbfgs(rosen, vec![-1.2, 1.0], &opts);
        assert!(r.converged, "{r:?}");
        assert!(
            (r.x[0] - 1.0).abs() < 1e-8 && (r.x[1] - 1.0).abs() < 1e-8,
            "{r:?}"
        );
    }

    /// The flat arrays of fixtures/lpclip/logreg.json (written by make_logreg.py).
    fn field(json: &str, key: &str) -> Vec<f64> {
        let pat = format!("\"{key}\":");
        let start = json.find(&pat).unwrap_or_else(|| panic!("{key} missing")) + pat.len();
        let rest = json[start..].trim_start();
        let end = if rest.starts_with('[') {
            rest.find(']').unwrap() + 1
        } else {
            rest.find([',', '\n', '}']).unwrap()
        };
        rest[..end]
            .trim_matches(['[', ']'])
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect()
    }

    fn max_rel_err(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        let scale = inf_norm(b).max(1e-12);
        a.iter()
            .zip(b)
            .fold(0.0_f64, |m, (x, y)| m.max((x - y).abs()))
            / scale
    }

    const CASES: [&str; 4] = ["multi_c1", "multi_c005", "multi_c100", "binary_c05"];

    fn fixture() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lpclip/logreg.json"
        ))
        .unwrap()
    }

    fn fit_case(json: &str, case: &str, opts: &LbfgsOptions) -> (LogisticRegression, Tensor) {
        let n = field(json, &format!("{case}_n"))[0] as i64;
        let d = field(json, &format!("{case}_d"))[0] as i64;
        let x = Tensor::from_slice(&field(json, &format!("{case}_x"))).view([n, d]);
        let y: Vec<i64> = field(json, &format!("{case}_y"))
            .iter()
            .map(|v| *v as i64)
            .collect();
        let c = field(json, &format!("{case}_C"))[0];
        let x_test = Tensor::from_slice(&field(json, &format!("{case}_x_test"))).view([-1, d]);
        (LogisticRegression::fit(&x, &y, c, opts).unwrap(), x_test)
    }

    /// With a tight tolerance both solvers end on the `ftol` test at the float noise of the
    /// objective: coefficients and intercepts within 5e-6 of the largest entry (1e-6 seen),
    /// identical predictions.
    #[test]
    fn fit_matches_sklearn_minimiser() {
        let _rng = dassl_rs::testing::torch_rng();
        let json = fixture();
        let opts = LbfgsOptions {
            gtol: 1e-12,
            max_iter: 100_000,
            ..Default::default()
        };
        for case in CASES {
            let (m, x_test) = fit_case(&json, case, &opts);
            let coef = field(&json, &format!("{case}_tight_coef"));
            let intercept = field(&json, &format!("{case}_tight_intercept"));
            let e_coef = max_rel_err(&m.coef, &coef);
            let e_int = max_rel_err(&m.intercept, &intercept);
            assert!(
                e_coef < 5e-6 && e_int < 5e-6,
                "{case}: coef err {e_coef:e}, intercept err {e_int:e}"
            );
            let pred: Vec<i64> = field(&json, &format!("{case}_tight_pred"))
                .iter()
                .map(|v| *v as i64)
                .collect();
            assert_eq!(m.predict(&x_test), pred, "{case}");
        }
    }

    /// With lpclip's settings (tol 1e-4, max_iter 1000) we stop where scikit-learn does:
    /// same iteration count, coefficients within 1e-6 of the largest entry (2e-7 seen),
    /// identical predictions.
    #[test]
    fn fit_with_lpclip_settings_matches_sklearn() {
        let _rng = dassl_rs::testing::torch_rng();
        let json = fixture();
        for case in CASES {
            let (m, x_test) = fit_case(&json, case, &LbfgsOptions::default());
            assert!(m.converged, "{case}");
            let coef = field(&json, &format!("{case}_lpclip_coef"));
            let e_coef = max_rel_err(&m.coef, &coef);
            let sk_iter = field(&json, &format!("{case}_lpclip_n_iter"))[0] as usize;
            assert_eq!(m.n_iter, sk_iter, "{case}: iterations");
            assert!(e_coef < 1e-6, "{case}: coef err {e_coef:e}");
            let pred: Vec<i64> = field(&json, &format!("{case}_lpclip_pred"))
                .iter()
                .map(|v| *v as i64)
                .collect();
            assert_eq!(m.predict(&x_test), pred, "{case}");
            // Logits over all classes argmax to the same labels.
            let k = field(&json, &format!("{case}_k"))[0] as usize;
            let argmax = Vec::<i64>::try_from(m.logits(&x_test, k + 1).argmax(1, false)).unwrap();
            assert_eq!(argmax, pred, "{case} logits");
        }
    }

    /// The C search on a fixed val-accuracy function reproduces linear_probe.py's numbers
    /// (expected values printed by its loop run in Python on the same function).
    #[test]
    fn c_search_follows_linear_probe_py() {
        let _rng = dassl_rs::testing::torch_rng();
        type Row = (f64, f64, f64, f64, f64);
        #[rustfmt::skip]
        let cases: [(f64, [f64; 7], f64, [Row; 8]); 2] = [
            (0.57, [0.2, 0.5, 0.8, 0.95, 0.65, 0.35, 0.05], 1.0, [
                (0.8, 0.95, 10.0, 1.0, 10.0),
                (0.95, 0.95, 1.0, 1.0, 3.1622776601683795),
                (0.95, 1.0, 3.1622776601683795, 1.7782794100389228, 3.1622776601683795),
                (1.0, 1.0, 1.7782794100389228, 1.7782794100389228, 2.371373705661655),
                (1.0, 1.0, 1.7782794100389228, 1.7782794100389228, 2.053525026457146),
                (1.0, 1.0, 1.7782794100389228, 1.7782794100389228, 1.9109529749704404),
                (1.0, 1.0, 1.7782794100389228, 1.7782794100389228, 1.8434229924091103),
                (1.0, 1.0, 1.7782794100389228, 1.7782794100389228, 1.8105582430271216),
            ]),
            (-5.2, [0.0, 0.0, 0.0, 0.25, 0.55, 0.85, 0.9], 1e-6, [
                (0.75, 1.0, 9.999999999999999e-06, 1e-06, 1e-05),
                (0.9, 1.0, 1e-05, 3.162277660168379e-06, 1e-05),
                (1.0, 1.0, 3.162277660168379e-06, 3.162277660168379e-06, 5.623413251903491e-06),
                (1.0, 1.0, 3.162277660168379e-06, 3.162277660168379e-06, 4.216965034285822e-06),
                (1.0, 1.0, 3.162277660168379e-06, 3.162277660168379e-06, 3.651741272548377e-06),
                (1.0, 1.0, 3.162277660168379e-06, 3.162277660168379e-06, 3.3982083289425593e-06),
                (1.0, 1.0, 3.162277660168379e-06, 3.162277660168379e-06, 3.278121151393459e-06),
                (1.0, 1.0, 3.162277660168379e-06, 3.162277660168379e-06, 3.219678444251379e-06),
            ]),
        ];
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-14 * b.abs();
        for (peak, grid, c_peak, rows) in cases {
            let acc = |c: f64| (20.0 - (3.0 * (c.log10() - peak).abs()).floor()).max(0.0) / 20.0;
            let mut scored = Vec::new();
            let (trace, model) = search_c::<f64, ()>(
                8,
                |c| {
                    scored.push(c);
                    Ok((acc(c), c))
                },
                |_, _, _| Ok(()),
            )
            .unwrap();
            assert_eq!(trace.grid_acc, grid);
            assert_eq!(scored.len(), 7 + 16);
            assert_eq!(trace.rounds[0].c_left, 0.1 * c_peak);
            assert_eq!(trace.rounds[0].c_right, 10.0 * c_peak);
            for (i, (r, row)) in trace.rounds.iter().zip(rows).enumerate() {
                assert_eq!((r.acc_left, r.acc_right), (row.0, row.1), "round {i}");
                assert!(
                    close(r.c_final, row.2),
                    "round {i}: {} vs {}",
                    r.c_final,
                    row.2
                );
                if let Some(next) = trace.rounds.get(i + 1) {
                    assert!(
                        close(next.c_left, row.3) && close(next.c_right, row.4),
                        "round {}: {next:?} vs {row:?}",
                        i + 1
                    );
                }
            }
            assert_eq!(
                model, trace.rounds[7].c_final,
                "the last round's model is deployed"
            );
            assert_eq!(trace.c, rows[7].2);
        }
    }

    #[test]
    fn trains_on_toy_data_and_writes_result_json() {
        let _rng = dassl_rs::testing::torch_rng();
        let dir = tempfile::tempdir().unwrap();
        let clip = tiny_clip(dir.path(), 16);
        toy_data(dir.path());
        let out = dir.path().join("out");
        let opts: Vec<String> = [
            "DATASET.ROOT",
            dir.path().join("data").to_str().unwrap(),
            "DATASET.NAME",
            "ToyShapes",
            "MODEL.BACKBONE.NAME",
            clip.to_str().unwrap(),
            "INPUT.SIZE",
            "(32, 32)",
            "TRAINER.NAME",
            "LinearProbeCLIP",
            "TRAINER.LINEAR_PROBE.NUM_STEP",
            "3",
            "DATALOADER.TRAIN_X.BATCH_SIZE",
            "4",
            "SEED",
            "1",
            "OUTPUT_DIR",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let cfg = cfg_from(&opts);
        // The dataset registry lives in the datasets crate, not linked here: read the split.
        let toy = dir
            .path()
            .join("data")
            .join(dassl_rs::data::toy::TOY_DATASET_DIR);
        let split_file = toy.join(format!(
            "split_zhou_{}.json",
            dassl_rs::data::toy::TOY_SPLIT_NAME
        ));
        let split = dassl_rs::data::split::read_split(&split_file, &toy.join("images")).unwrap();
        let data = dassl_rs::data::DatasetBase {
            train_x: split.train,
            val: split.val,
            test: split.test,
        };
        let dm = DataManager::from_dataset(&cfg, data).unwrap();
        let mut trainer = LinearProbeTrainer::with_data(&cfg, dm).unwrap();
        assert!(
            trainer.test(None).is_err(),
            "nothing to test before the fit"
        );
        let trace = trainer.fit().unwrap();
        assert_eq!(trace.grid_acc.len(), 7);
        assert_eq!(trace.rounds.len(), 3);
        let probe = trainer.engine.learner.probe.clone().unwrap();
        assert_eq!(probe.dim, 16, "features are CLIP's embedding");
        let acc = trainer.test(None).unwrap();
        assert!((0.0..=100.0).contains(&acc));
        assert!(out.join(dassl_rs::engine::result::RESULT_FILE).exists());
    }
}
