//! Evaluators (Dassl's `dassl/evaluation`).

mod classification;

use std::collections::BTreeMap;

pub use classification::{Classification, EvalReport, PerClass};

use crate::config::Config;
use crate::errors::ConfigError;

/// Builds an evaluator from the config and the label names.
pub type BuildEvaluator =
    fn(&Config, &BTreeMap<usize, String>) -> Result<Box<dyn Evaluator>, ConfigError>;

/// An evaluator (`@EVALUATOR_REGISTRY.register()`), built with the label names.
#[derive(Debug)]
pub struct EvaluatorEntry {
    pub name: &'static str,
    pub build: BuildEvaluator,
}

crate::registry::registry_entry!(EvaluatorEntry, "EVALUATOR");

/// Dassl's `EvaluatorBase`: accumulate predictions, then summarise.
pub trait Evaluator {
    fn reset(&mut self);
    /// One batch: model outputs as row-major `[batch, num_classes]` scores and the labels.
    fn process(&mut self, scores: &[f32], num_classes: usize, labels: &[usize]);
    /// The summary; `text()` on it is what Dassl prints.
    fn evaluate(&self) -> EvalReport;
}

/// Index of the first maximum in each row (`output.max(1)[1]`).
pub fn argmax_rows(scores: &[f32], num_classes: usize) -> Vec<usize> {
    scores
        .chunks(num_classes.max(1))
        .map(|row| {
            let mut best = 0;
            for (i, v) in row.iter().enumerate() {
                if *v > row[best] {
                    best = i;
                }
            }
            best
        })
        .collect()
}

/// Names of labels for per-class output.
pub type Lab2Cname = BTreeMap<usize, String>;
