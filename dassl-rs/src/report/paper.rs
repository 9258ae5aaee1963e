//! Published numbers (results/paper/*.csv), told apart by their columns:
//! `method,backbone,dataset,shots,accuracy` (few-shot), `method,backbone,dataset,base,new,
//! harmonic` (base-to-new) and `method,backbone,source_dataset,target_dataset,accuracy`
//! (domain generalization and cross-dataset).

use std::collections::HashMap;
use std::path::Path;

use crate::errors::ReportError;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Paper {
    fewshot: HashMap<(String, String, String, i64), f64>,
    base2new: HashMap<(String, String, String), (f64, f64, f64)>,
    dg: HashMap<(String, String, String, String), f64>,
}

impl Paper {
    pub fn fewshot(&self, method: &str, backbone: &str, dataset: &str, shots: i64) -> Option<f64> {
        self.fewshot
            .get(&(method.into(), backbone.into(), dataset.into(), shots))
            .copied()
    }
    pub fn base2new(&self, method: &str, backbone: &str, dataset: &str) -> Option<(f64, f64, f64)> {
        self.base2new
            .get(&(method.into(), backbone.into(), dataset.into()))
            .copied()
    }
    pub fn dg(&self, method: &str, backbone: &str, source: &str, target: &str) -> Option<f64> {
        self.dg
            .get(&(method.into(), backbone.into(), source.into(), target.into()))
            .copied()
    }
    /// The published few-shot Average over datasets, or, where the table has none, the
    /// mean of every dataset it lists for that method, backbone and shots (`true`:
    /// computed, not published).
    pub fn fewshot_average(&self, method: &str, backbone: &str, shots: i64) -> Option<(f64, bool)> {
        if let Some(v) = self.fewshot(method, backbone, "Average", shots) {
            return Some((v, false));
        }
        let v: Vec<f64> = self
            .fewshot
            .iter()
            .filter(|((m, b, d, s), _)| {
                m == method && b == backbone && *s == shots && d != "Average"
            })
            .map(|(_, v)| *v)
            .collect();
        mean(&v).map(|m| (m, true))
    }

    /// The published base-to-new Average row, or the mean base and new over the datasets
    /// listed and H of those (`true`: computed).
    pub fn base2new_average(
        &self,
        method: &str,
        backbone: &str,
    ) -> Option<((f64, f64, f64), bool)> {
        if let Some(v) = self.base2new(method, backbone, "Average") {
            return Some((v, false));
        }
        let v: Vec<(f64, f64, f64)> = self
            .base2new
            .iter()
            .filter(|((m, b, d), _)| m == method && b == backbone && d != "Average")
            .map(|(_, v)| *v)
            .collect();
        let b = mean(&v.iter().map(|x| x.0).collect::<Vec<_>>())?;
        let n = mean(&v.iter().map(|x| x.1).collect::<Vec<_>>())?;
        Some(((b, n, super::harmonic(b, n)), true))
    }

    /// The published Average over the targets of `source`, or the mean of the targets the
    /// table lists (`true`: computed).
    pub fn dg_average(&self, method: &str, backbone: &str, source: &str) -> Option<(f64, bool)> {
        if let Some(v) = self.dg(method, backbone, source, "Average") {
            return Some((v, false));
        }
        let v: Vec<f64> = self
            .dg
            .iter()
            .filter(|((m, b, s, t), _)| {
                m == method && b == backbone && s == source && t != source && t != "Average"
            })
            .map(|(_, v)| *v)
            .collect();
        mean(&v).map(|m| (m, true))
    }

    pub fn is_empty(&self) -> bool {
        self.fewshot.is_empty() && self.base2new.is_empty() && self.dg.is_empty()
    }

    /// Adds one CSV file.
    pub fn load(&mut self, path: &Path) -> Result<(), ReportError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
            path: path.into(),
            source,
        })?;
        self.load_str(&text, path)
    }

    pub fn load_str(&mut self, text: &str, path: &Path) -> Result<(), ReportError> {
        let bad = |reason: String| ReportError::BadFile {
            path: path.into(),
            reason,
        };
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let headers: Vec<String> = rdr
            .headers()
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .map(str::to_string)
            .collect();
        let col = |name: &str| headers.iter().position(|h| h == name);
        let need = |name: &str| {
            col(name).ok_or_else(|| {
                bad(format!(
                    "no column {name:?} (columns: {})",
                    headers.join(",")
                ))
            })
        };
        let (m, b) = (need("method")?, need("backbone")?);
        enum Kind {
            Fewshot(usize, usize, usize),
            B2n(usize, usize, usize, usize),
            Dg(usize, usize, usize),
        }
        let kind =
            if let (Some(d), Some(s), Some(a)) = (col("dataset"), col("shots"), col("accuracy")) {
                Kind::Fewshot(d, s, a)
            } else if let (Some(d), Some(bb), Some(n), Some(h)) =
                (col("dataset"), col("base"), col("new"), col("harmonic"))
            {
                Kind::B2n(d, bb, n, h)
            } else if let (Some(s), Some(t), Some(a)) = (
                col("source_dataset"),
                col("target_dataset"),
                col("accuracy"),
            ) {
                Kind::Dg(s, t, a)
            } else {
                return Err(bad(format!(
                    "columns {} are none of the known published-table layouts",
                    headers.join(",")
                )));
            };
        for (line, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| bad(e.to_string()))?;
            let f = |i: usize| rec.get(i).unwrap_or("").trim().to_string();
            let num = |i: usize| {
                f(i).parse::<f64>()
                    .map_err(|_| bad(format!("line {}: {:?} is not a number", line + 2, f(i))))
            };
            match kind {
                Kind::Fewshot(d, s, a) => {
                    let shots = f(s)
                        .parse::<i64>()
                        .map_err(|_| bad(format!("line {}: shots {:?}", line + 2, f(s))))?;
                    self.fewshot.insert((f(m), f(b), f(d), shots), num(a)?);
                }
                Kind::B2n(d, bb, n, h) => {
                    self.base2new
                        .insert((f(m), f(b), f(d)), (num(bb)?, num(n)?, num(h)?));
                }
                Kind::Dg(s, t, a) => {
                    self.dg.insert((f(m), f(b), f(s), f(t)), num(a)?);
                }
            }
        }
        Ok(())
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shipped_tables() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/paper");
        let mut p = Paper::default();
        for f in [
            "coop_fewshot.csv",
            "cocoop_base2new.csv",
            "coop_domain_generalization.csv",
            "cocoop_cross_dataset.csv",
        ] {
            p.load(&root.join(f)).unwrap();
        }
        assert_eq!(p.fewshot("CoOp_end", "RN50", "ImageNet", 16), Some(62.95));
        assert_eq!(
            p.fewshot("ZeroshotCLIP", "RN50", "ImageNet", 0),
            Some(58.18)
        );
        assert_eq!(
            p.base2new("CoCoOp", "ViT-B/16", "Average"),
            Some((80.47, 71.69, 75.83))
        );
        assert_eq!(
            p.dg("CoOp_M16", "RN50", "ImageNet", "ImageNet"),
            Some(62.95)
        );
        assert!(p.load_str("a,b\n1,2\n", Path::new("x.csv")).is_err());
        // SOURCES.md: the sheet's 11-dataset averages (not stored, so computed).
        let (avg, computed) = p.fewshot_average("CoOp_end", "RN50", 16).unwrap();
        assert!(computed && format!("{avg:.2}") == "73.42", "{avg}");
        assert_eq!(
            p.base2new_average("CoCoOp", "ViT-B/16"),
            Some(((80.47, 71.69, 75.83), false))
        );
        assert_eq!(
            p.dg_average("CoOp", "ViT-B/16", "ImageNet"),
            Some((63.88, false))
        );
    }
}
