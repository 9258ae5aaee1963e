//! Integration tests of the real `dassl` binary (one test binary, as cargo and ripgrep do).

mod support;

mod clip_cmd;
mod config_cmd;
mod demo;
mod list;
mod report_paths;
mod sweep;
mod sweep_overrides;
mod train;
