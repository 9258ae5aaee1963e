//! Dassl's `AverageMeter`/`MetricMeter` and the Python number formats its log lines use.

use std::fmt::Write as _;

/// Running value and average (Dassl's `AverageMeter(ema=False)`).
#[derive(Debug, Clone, Default)]
pub struct AverageMeter {
    pub val: f64,
    pub sum: f64,
    pub count: usize,
}

impl AverageMeter {
    pub fn update(&mut self, val: f64) {
        self.val = val;
        self.sum += val;
        self.count += 1;
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }
}

/// Named meters in insertion order, printed `name val (avg)` with 4 decimals.
#[derive(Debug, Clone, Default)]
pub struct MetricMeter {
    meters: Vec<(String, AverageMeter)>,
}

impl MetricMeter {
    pub fn update(&mut self, values: &[(&str, f64)]) {
        for (name, v) in values {
            match self.meters.iter_mut().find(|(n, _)| n == name) {
                Some((_, m)) => m.update(*v),
                None => {
                    let mut m = AverageMeter::default();
                    m.update(*v);
                    self.meters.push((name.to_string(), m));
                }
            }
        }
    }

    /// Averages by name, e.g. for TensorBoard scalars.
    pub fn averages(&self) -> Vec<(String, f64)> {
        self.meters
            .iter()
            .map(|(n, m)| (n.clone(), m.avg()))
            .collect()
    }
}

impl std::fmt::Display for MetricMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .meters
            .iter()
            .map(|(n, m)| format!("{n} {:.4} ({:.4})", m.val, m.avg()))
            .collect();
        write!(f, "{}", parts.join(" "))
    }
}

/// Python's `f"{x:.4e}"`: a two-digit signed exponent (`2.0000e-03`).
pub fn py_exp4(x: f64) -> String {
    let s = format!("{x:.4e}");
    let (mantissa, exp) = s.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    let mut out = String::with_capacity(12);
    let _ = write!(
        out,
        "{mantissa}e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    );
    out
}

/// Python's `str(datetime.timedelta(seconds=n))`: `H:MM:SS`, or `D day(s), H:MM:SS`.
pub fn timedelta(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let hms = format!("{}:{:02}:{:02}", rest / 3600, (rest % 3600) / 60, rest % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        d => format!("{d} days, {hms}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_number_formats() {
        assert_eq!(py_exp4(0.002), "2.0000e-03");
        assert_eq!(py_exp4(1e-5), "1.0000e-05");
        assert_eq!(py_exp4(123456.0), "1.2346e+05");
        assert_eq!(py_exp4(0.0), "0.0000e+00");
        assert_eq!(timedelta(0), "0:00:00");
        assert_eq!(timedelta(3725), "1:02:05");
        assert_eq!(timedelta(90_061), "1 day, 1:01:01");
        assert_eq!(timedelta(2 * 86_400), "2 days, 0:00:00");
    }

    #[test]
    fn meters_print_like_dassl() {
        let mut m = MetricMeter::default();
        m.update(&[("loss", 1.5), ("acc", 50.0)]);
        m.update(&[("loss", 0.5), ("acc", 100.0)]);
        assert_eq!(m.to_string(), "loss 0.5000 (1.0000) acc 100.0000 (75.0000)");
    }
}
