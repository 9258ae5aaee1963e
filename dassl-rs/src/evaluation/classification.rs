//! Dassl's `Classification` evaluator: accuracy, error, macro-F1 (scikit-learn's, over
//! the labels present in the ground truth), per-class accuracy and the confusion matrix,
//! printed in Dassl's exact text so CoOp's parse_test_res.py reads our logs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use super::EvaluatorEntry;
use super::{argmax_rows, Evaluator, Lab2Cname};
use crate::config::Config;
use crate::errors::ConfigError;

inventory::submit! {
    EvaluatorEntry { name: "Classification", build: Classification::build }
}

#[derive(Debug, Clone)]
pub struct Classification {
    lab2cname: Lab2Cname,
    per_class: bool,
    cmat: bool,
    y_true: Vec<usize>,
    y_pred: Vec<usize>,
}

impl Classification {
    pub fn new(lab2cname: Lab2Cname, per_class: bool, cmat: bool) -> Self {
        Classification {
            lab2cname,
            per_class,
            cmat,
            y_true: Vec::new(),
            y_pred: Vec::new(),
        }
    }

    fn build(cfg: &Config, lab2cname: &Lab2Cname) -> Result<Box<dyn Evaluator>, ConfigError> {
        Ok(Box::new(Classification::new(
            lab2cname.clone(),
            cfg.bool("TEST.PER_CLASS_RESULT")?,
            cfg.bool("TEST.COMPUTE_CMAT")?,
        )))
    }

    /// Records already-decided predictions (the linear probe predicts without scores).
    pub fn process_predictions(&mut self, preds: &[usize], labels: &[usize]) {
        self.y_pred.extend_from_slice(preds);
        self.y_true.extend_from_slice(labels);
    }
}

/// One class's line of the per-class block.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct PerClass {
    pub label: usize,
    pub classname: String,
    pub total: usize,
    pub correct: usize,
    pub accuracy: f64,
}

/// What `evaluate()` returns, in Dassl's order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub total: usize,
    pub correct: usize,
    pub accuracy: f64,
    pub error_rate: f64,
    pub macro_f1: f64,
    pub per_class: Option<Vec<PerClass>>,
    pub perclass_accuracy: Option<f64>,
    /// Row-normalised (`normalize="true"`) over the sorted labels seen in truth or prediction.
    pub cmat: Option<(Vec<usize>, Vec<Vec<f64>>)>,
}

impl Evaluator for Classification {
    fn reset(&mut self) {
        self.y_true.clear();
        self.y_pred.clear();
    }

    fn process(&mut self, scores: &[f32], num_classes: usize, labels: &[usize]) {
        let preds = argmax_rows(scores, num_classes);
        self.process_predictions(&preds, labels);
    }

    fn evaluate(&self) -> EvalReport {
        let total = self.y_true.len();
        let correct = self
            .y_true
            .iter()
            .zip(&self.y_pred)
            .filter(|(t, p)| t == p)
            .count();
        let accuracy = if total == 0 {
            0.0
        } else {
            100.0 * correct as f64 / total as f64
        };
        let per_class = self.per_class.then(|| {
            let mut by_label: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
            for (t, p) in self.y_true.iter().zip(&self.y_pred) {
                let e = by_label.entry(*t).or_default();
                e.0 += 1;
                e.1 += usize::from(t == p);
            }
            by_label
                .into_iter()
                .map(|(label, (total, correct))| PerClass {
                    label,
                    classname: self.lab2cname.get(&label).cloned().unwrap_or_default(),
                    total,
                    correct,
                    accuracy: 100.0 * correct as f64 / total as f64,
                })
                .collect::<Vec<_>>()
        });
        let perclass_accuracy = per_class
            .as_ref()
            .filter(|pc| !pc.is_empty())
            .map(|pc| pc.iter().map(|c| c.accuracy).sum::<f64>() / pc.len() as f64);
        EvalReport {
            total,
            correct,
            accuracy,
            error_rate: 100.0 - accuracy,
            macro_f1: 100.0 * macro_f1(&self.y_true, &self.y_pred),
            per_class,
            perclass_accuracy,
            cmat: self
                .cmat
                .then(|| confusion_matrix(&self.y_true, &self.y_pred)),
        }
    }
}

/// scikit-learn `f1_score(average="macro", labels=np.unique(y_true))`, zero_division 0.
pub fn macro_f1(y_true: &[usize], y_pred: &[usize]) -> f64 {
    let labels: BTreeSet<usize> = y_true.iter().copied().collect();
    if labels.is_empty() {
        return 0.0;
    }
    let mut sum = 0.0;
    for &l in &labels {
        let mut tp = 0usize;
        let mut fp = 0usize;
        let mut fn_ = 0usize;
        for (t, p) in y_true.iter().zip(y_pred) {
            match (*t == l, *p == l) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                (false, false) => {}
            }
        }
        let denom = 2 * tp + fp + fn_;
        if denom > 0 {
            sum += 2.0 * tp as f64 / denom as f64;
        }
    }
    sum / labels.len() as f64
}

fn confusion_matrix(y_true: &[usize], y_pred: &[usize]) -> (Vec<usize>, Vec<Vec<f64>>) {
    let labels: Vec<usize> = y_true
        .iter()
        .chain(y_pred)
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index: BTreeMap<usize, usize> = labels.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let n = labels.len();
    let mut m = vec![vec![0.0; n]; n];
    for (t, p) in y_true.iter().zip(y_pred) {
        m[index[t]][index[p]] += 1.0;
    }
    for row in &mut m {
        let s: f64 = row.iter().sum();
        if s > 0.0 {
            row.iter_mut().for_each(|v| *v /= s);
        }
    }
    (labels, m)
}

/// Python's `{:,}` for integers.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl EvalReport {
    /// Dassl's printed result block (and per-class block when enabled).
    pub fn text(&self) -> String {
        let mut s = format!(
            "=> result\n* total: {}\n* correct: {}\n* accuracy: {:.1}%\n* error: {:.1}%\n* macro_f1: {:.1}%\n",
            thousands(self.total),
            thousands(self.correct),
            self.accuracy,
            self.error_rate,
            self.macro_f1
        );
        if let Some(pc) = &self.per_class {
            s.push_str("=> per-class result\n");
            for c in pc {
                let _ = writeln!(
                    s,
                    "* class: {} ({})\ttotal: {}\tcorrect: {}\tacc: {:.1}%",
                    c.label,
                    c.classname,
                    thousands(c.total),
                    thousands(c.correct),
                    c.accuracy
                );
            }
            let _ = writeln!(
                s,
                "* average: {:.1}%",
                self.perclass_accuracy.unwrap_or(0.0)
            );
        }
        s
    }

    /// The confusion matrix as CSV: a header of predicted labels, a row per true label.
    pub fn cmat_csv(&self) -> Option<String> {
        let (labels, m) = self.cmat.as_ref()?;
        let mut s = String::from("true\\pred");
        for l in labels {
            let _ = write!(s, ",{l}");
        }
        s.push('\n');
        for (l, row) in labels.iter().zip(m) {
            let _ = write!(s, "{l}");
            for v in row {
                let _ = write!(s, ",{v}");
            }
            s.push('\n');
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Lab2Cname {
        (0..n).map(|i| (i, format!("class {i}"))).collect()
    }

    #[test]
    fn result_block_is_dassls_text() {
        let mut e = Classification::new(names(3), true, false);
        // Scores: argmax with first-maximum ties (row 3 ties 0 and 2 -> 0). Macro-F1 over
        // labels 0, 1, 2: (2/3 + 2/3 + 0) / 3 = 44.4%.
        let scores = [0.9, 0.1, 0.0, 0.2, 0.7, 0.1, 0.1, 0.2, 0.7, 0.5, 0.1, 0.5];
        e.process(&scores, 3, &[0, 1, 1, 2]);
        let r = e.evaluate();
        assert_eq!((r.total, r.correct), (4, 2));
        assert_eq!(
            r.text(),
            "=> result\n* total: 4\n* correct: 2\n* accuracy: 50.0%\n* error: 50.0%\n* macro_f1: 44.4%\n\
             => per-class result\n\
             * class: 0 (class 0)\ttotal: 1\tcorrect: 1\tacc: 100.0%\n\
             * class: 1 (class 1)\ttotal: 2\tcorrect: 1\tacc: 50.0%\n\
             * class: 2 (class 2)\ttotal: 1\tcorrect: 0\tacc: 0.0%\n\
             * average: 50.0%\n"
        );
    }

    #[test]
    fn macro_f1_matches_sklearn() {
        // per label F1: 0 -> 2/4, 1 -> 4/5, 2 -> 0; sklearn averages to 0.43333333333333335
        let f = macro_f1(&[0, 0, 1, 1, 2, 2], &[0, 1, 1, 1, 0, 3]);
        assert!((f - 0.43333333333333335).abs() < 1e-12, "{f}");
        // Labels only predicted (3) are excluded from the average.
        assert_eq!(macro_f1(&[1, 1], &[1, 1]), 1.0);
    }

    #[test]
    fn thousands_separator_and_cmat() {
        assert_eq!(thousands(2465), "2,465");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
        let mut e = Classification::new(names(2), false, true);
        e.process_predictions(&[0, 1, 1], &[0, 0, 1]);
        let csv = e.evaluate().cmat_csv().unwrap();
        assert_eq!(csv, "true\\pred,0,1\n0,0.5,0.5\n1,0,1\n");
    }
}
