//! Integration tests of the real `dassl` binary (one test binary, as cargo and ripgrep do).

mod support;

mod cache_cmd;
mod clip_cmd;
mod config_cmd;
mod demo;
mod list;
mod sweep;
mod train;
