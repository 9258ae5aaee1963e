//! `result.json`: what a finished run reports, beside Dassl's `log.txt`.
//!
//! The sweep runner counts a run as complete only when this file exists and its
//! `config_hash` equals the run's identity (config/identity.rs), so a folder left by an
//! interrupted run or by a different config is never mistaken for a result.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::evaluation::{EvalReport, PerClass};

/// File name inside OUTPUT_DIR.
pub const RESULT_FILE: &str = "result.json";

/// One finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub accuracy: f64,
    pub error_rate: f64,
    pub macro_f1: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perclass_accuracy: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_class: Option<Vec<PerClass>>,
    /// The split evaluated (TEST.SPLIT).
    pub split: String,
    pub total: usize,
    pub correct: usize,
    pub trainer: String,
    pub dataset: String,
    pub backbone: String,
    pub shots: i64,
    pub seed: i64,
    pub subsample_classes: String,
    /// Epochs trained in this process (0 for zero-shot and eval-only runs).
    pub epochs: usize,
    pub seconds: f64,
    pub config_hash: String,
    pub dassl_version: String,
    pub libtorch_version: String,
    pub device: String,
    pub finished_at: String,
}

impl RunResult {
    /// Assembles the result of evaluating `cfg`'s run.
    pub fn new(
        cfg: &Config,
        report: &EvalReport,
        epochs: usize,
        seconds: f64,
        device: &str,
    ) -> Self {
        let s = |k: &str| cfg.str(k).map(str::to_string).unwrap_or_default();
        let i = |k: &str| cfg.int(k).unwrap_or(-1);
        RunResult {
            accuracy: report.accuracy,
            error_rate: report.error_rate,
            macro_f1: report.macro_f1,
            perclass_accuracy: report.perclass_accuracy,
            per_class: report.per_class.clone(),
            split: s("TEST.SPLIT"),
            total: report.total,
            correct: report.correct,
            trainer: s("TRAINER.NAME"),
            dataset: s("DATASET.NAME"),
            backbone: s("MODEL.BACKBONE.NAME"),
            shots: i("DATASET.NUM_SHOTS"),
            seed: i("SEED"),
            subsample_classes: s("DATASET.SUBSAMPLE_CLASSES"),
            epochs,
            seconds,
            config_hash: cfg.run_hash(),
            dassl_version: env!("CARGO_PKG_VERSION").to_string(),
            libtorch_version: crate::doctor::LIBTORCH_VERSION.to_string(),
            device: device.to_string(),
            finished_at: chrono::Local::now().to_rfc3339(),
        }
    }

    /// Writes `OUTPUT_DIR/result.json` atomically.
    pub fn write(&self, output_dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(self).expect("a result always serialises");
        crate::fsutil::write_atomic(&output_dir.join(RESULT_FILE), json.as_bytes())
    }

    /// Reads a result; `None` when absent or unreadable (an interrupted write never
    /// leaves a partial file, but a hand-edited one may be malformed).
    pub fn read(output_dir: &Path) -> Option<RunResult> {
        let text = std::fs::read_to_string(output_dir.join(RESULT_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigBuilder;

    fn cfg(opts: &[&str]) -> Config {
        let mut b = ConfigBuilder::dassl_defaults();
        b.merge_opts(opts).unwrap();
        b.freeze()
    }

    #[test]
    fn result_round_trips_through_its_file() {
        let c = cfg(&["SEED", "1"]);
        let report = EvalReport {
            total: 10,
            correct: 7,
            accuracy: 70.0,
            error_rate: 30.0,
            macro_f1: 66.0,
            per_class: None,
            perclass_accuracy: None,
            cmat: None,
        };
        let r = RunResult::new(&c, &report, 3, 1.5, "cpu");
        let dir = tempfile::tempdir().unwrap();
        r.write(dir.path()).unwrap();
        assert_eq!(RunResult::read(dir.path()), Some(r.clone()));
        assert_eq!(r.config_hash, c.run_hash());
        assert_eq!(r.seed, 1);
        assert!(RunResult::read(&dir.path().join("missing")).is_none());
    }
}
