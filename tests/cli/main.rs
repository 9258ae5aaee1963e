//! Integration tests of the real `dassl` binary (one test binary, as cargo and ripgrep do).

mod support;

mod config_cmd;
mod list;
mod train;
