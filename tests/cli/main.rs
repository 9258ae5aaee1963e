//! Integration tests of the real `dassl` binary (one test binary, as cargo and ripgrep do).

mod support;

mod clip_cmd;
mod config_cmd;
mod demo;
mod family;
mod list;
mod sweep;
mod train;
