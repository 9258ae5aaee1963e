//! Dassl's `setup_logger`: everything a run prints goes to stdout and `log.txt`.
//!
//! `log.txt` is always the latest attempt's log, so a resumed run's `log.txt` ends as a
//! complete Dassl log that CoOp's parse_test_res.py reads. An earlier attempt's log is
//! kept beside it as `log.txt-%Y-%m-%d-%H-%M-%S` (the time it was last written). (Dassl
//! keeps the first log and names later ones so, and parse_test_res.py then reads an
//! interrupted attempt.)

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

static LOG_FILE: Mutex<Option<File>> = Mutex::new(None);

thread_local! {
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with [`print`] silenced on this thread: probes that build a run's parts
/// before it starts (validation, the run identity) must not print the run's log lines.
pub fn quietly<T>(f: impl FnOnce() -> T) -> T {
    let was = QUIET.with(|q| q.replace(true));
    let out = f();
    QUIET.with(|q| q.set(was));
    out
}

/// Opens the run's log file in `output_dir` and returns its path.
pub fn setup_logger(output_dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(output_dir)?;
    let path = output_dir.join("log.txt");
    if let Ok(meta) = path.metadata() {
        let written: chrono::DateTime<chrono::Local> = meta.modified()?.into();
        let stamp = written.format("-%Y-%m-%d-%H-%M-%S");
        let mut earlier = output_dir.join(format!("log.txt{stamp}"));
        let mut n = 2;
        while earlier.exists() {
            earlier = output_dir.join(format!("log.txt{stamp}-{n}"));
            n += 1;
        }
        std::fs::rename(&path, &earlier)?;
    }
    let file = File::create(&path)?;
    *LOG_FILE.lock().unwrap_or_else(|e| e.into_inner()) = Some(file);
    Ok(path)
}

/// Stops teeing into the log file (tests run several runs in one process).
pub fn close_logger() {
    *LOG_FILE.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// Prints one line (or block) to stdout and, when set up, to the log file.
pub fn print(text: &str) {
    if QUIET.with(|q| q.get()) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
    if let Some(f) = LOG_FILE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        let _ = writeln!(f, "{text}");
        let _ = f.flush();
    }
}

/// `print!`-style formatting through [`print`].
#[macro_export]
macro_rules! log_println {
    ($($arg:tt)*) => { $crate::logging::print(&format!($($arg)*)) };
}
