//! Integration tests of the real `dassl` binary (one test binary, as cargo and ripgrep do).

mod support;

mod bad_input;
mod cache_cmd;
mod clip_cmd;
mod config_cmd;
mod demo;
mod family;
mod kill;
mod list;
mod report_paths;
mod resume;
mod sweep;
mod sweep_overrides;
mod train;
