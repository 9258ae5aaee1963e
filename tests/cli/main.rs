//! Integration tests of the real `dassl` binary (one test binary, as cargo and ripgrep do).

mod support;

mod bad_input;
mod cache_cmd;
mod clip_cmd;
mod config_cmd;
mod demo;
mod kill;
mod list;
mod resume;
mod sweep;
mod train;
