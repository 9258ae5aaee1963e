//! The live progress view: done, running, failed, each running run's epoch, and an ETA.
//! On a terminal it draws indicatif bars on stderr; elsewhere (CI logs, Slurm) it prints
//! one line per event instead.

use std::collections::HashMap;
use std::io::{IsTerminal, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use regex::Regex;

/// The last `epoch [e/E]` of a run's Dassl log (`log.txt`), read from its tail.
pub fn current_epoch(run_dir: &Path) -> Option<(u64, u64)> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"epoch \[(\d+)/(\d+)\]").expect("valid regex"));
    let mut f = std::fs::File::open(run_dir.join("log.txt")).ok()?;
    let len = f.seek(SeekFrom::End(0)).ok()?;
    f.seek(SeekFrom::Start(len.saturating_sub(8192))).ok()?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let c = re.captures_iter(&text).last()?;
    Some((c[1].parse().ok()?, c[2].parse().ok()?))
}

/// Formats seconds as H:MM:SS.
pub fn hms(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Progress of one sweep.
#[derive(Debug)]
pub struct Progress {
    total: usize,
    done: usize,
    failed: usize,
    slots: usize,
    durations: Vec<f64>,
    started: Instant,
    bars: Option<(MultiProgress, ProgressBar)>,
    running: HashMap<usize, (ProgressBar, String)>,
    last_plain: Instant,
}

impl Progress {
    /// `interactive`: draw bars (only when stderr is a terminal).
    pub fn new(total: usize, already_done: usize, slots: usize, interactive: bool) -> Self {
        let bars = (interactive && std::io::stderr().is_terminal()).then(|| {
            let mp = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4));
            let main = mp.add(ProgressBar::new(total as u64));
            main.set_style(
                ProgressStyle::with_template(
                    "{prefix:.bold} [{bar:30.green/white}] {pos}/{len} {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            main.set_prefix("sweep");
            main.set_position(already_done as u64);
            (mp, main)
        });
        let mut p = Progress {
            total,
            done: already_done,
            failed: 0,
            slots: slots.max(1),
            durations: Vec::new(),
            started: Instant::now(),
            bars,
            running: HashMap::new(),
            last_plain: Instant::now(),
        };
        p.refresh_main();
        p
    }

    fn line(&self, text: &str) {
        match &self.bars {
            Some((mp, _)) => {
                let _ = mp.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    pub fn started(&mut self, index: usize, what: &str, device: &str) {
        let bar = match &self.bars {
            Some((mp, _)) => {
                let b = mp.add(ProgressBar::new(0));
                b.set_style(
                    ProgressStyle::with_template("  {prefix:>6} {msg}").expect("valid template"),
                );
                b.set_prefix(device.to_string());
                b.set_message(what.to_string());
                b
            }
            None => {
                eprintln!(
                    "[{}/{}] start {what} on {device}",
                    self.done + self.failed,
                    self.total
                );
                ProgressBar::hidden()
            }
        };
        self.running.insert(index, (bar, what.to_string()));
        self.refresh_main();
    }

    /// Updates the epoch shown for a running run.
    pub fn epoch(&mut self, index: usize, epoch: Option<(u64, u64)>) {
        if let Some((bar, what)) = self.running.get(&index) {
            if let Some((e, n)) = epoch {
                bar.set_message(format!("{what}  epoch {e}/{n}"));
            }
        }
    }

    pub fn finished(&mut self, index: usize, ok: bool, skipped: bool, seconds: f64, note: &str) {
        let what = self.running.remove(&index).map(|(b, w)| {
            b.finish_and_clear();
            w
        });
        let what = what.unwrap_or_default();
        if ok {
            self.done += 1;
            if !skipped {
                self.durations.push(seconds);
            }
            let how = if skipped {
                "complete (run elsewhere)".to_string()
            } else {
                format!("done in {}", hms(seconds))
            };
            self.line(&format!(
                "[{}/{}] {how}: {what}",
                self.done + self.failed,
                self.total
            ));
        } else {
            self.failed += 1;
            self.line(&format!(
                "[{}/{}] FAILED {what}: {note}",
                self.done + self.failed,
                self.total
            ));
        }
        self.refresh_main();
    }

    /// Returns a run to the queue without counting it (another process holds it).
    pub fn requeued(&mut self, index: usize) {
        if let Some((b, _)) = self.running.remove(&index) {
            b.finish_and_clear();
        }
        self.refresh_main();
    }

    pub fn note(&self, text: &str) {
        self.line(text);
    }

    /// ETA from the mean duration of runs finished in this sweep.
    pub fn eta(&self) -> Option<f64> {
        if self.durations.is_empty() {
            return None;
        }
        let mean = self.durations.iter().sum::<f64>() / self.durations.len() as f64;
        let left = self.total.saturating_sub(self.done + self.failed);
        Some(mean * left as f64 / self.slots as f64)
    }

    fn summary(&self) -> String {
        let eta = self
            .eta()
            .map(|e| format!(", ETA {}", hms(e)))
            .unwrap_or_default();
        format!(
            "done {}, running {}, failed {}, elapsed {}{eta}",
            self.done,
            self.running.len(),
            self.failed,
            hms(self.started.elapsed().as_secs_f64())
        )
    }

    fn refresh_main(&mut self) {
        if let Some((_, main)) = &self.bars {
            main.set_position((self.done + self.failed) as u64);
            main.set_message(self.summary());
        }
    }

    /// Called on every scheduler tick; prints a status line now and then without bars.
    pub fn tick(&mut self) {
        self.refresh_main();
        if self.bars.is_none()
            && self.last_plain.elapsed() > Duration::from_secs(60)
            && !self.running.is_empty()
        {
            self.last_plain = Instant::now();
            eprintln!("sweep: {}", self.summary());
        }
    }

    pub fn finish(&mut self) {
        for (_, (b, _)) in self.running.drain() {
            b.finish_and_clear();
        }
        if let Some((_, main)) = &self.bars {
            main.finish_with_message(self.summary());
        }
    }

    pub fn counts(&self) -> (usize, usize) {
        (self.done, self.failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_last_epoch_of_a_dassl_log() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(current_epoch(dir.path()), None);
        std::fs::write(
            dir.path().join("log.txt"),
            "epoch [1/50] batch [5/10] time 0.1 (0.1) data 0.0 (0.0) loss 1.0 (1.0) lr 1e-05 eta 0:00:10\nepoch [2/50] batch [5/10] time 0.1\n",
        )
        .unwrap();
        assert_eq!(current_epoch(dir.path()), Some((2, 50)));
        assert_eq!(hms(3725.0), "1:02:05");
    }

    #[test]
    fn eta_uses_mean_duration_over_slots() {
        let mut p = Progress::new(5, 1, 2, false);
        p.started(1, "a", "cpu");
        p.finished(1, true, false, 10.0, "");
        assert_eq!(p.counts(), (2, 0));
        assert_eq!(p.eta(), Some(15.0));
    }
}
