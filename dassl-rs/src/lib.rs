//! dassl-rs core library: config, registries, data, engine, evaluation, CLIP modeling,
//! and the `dassl` command line. Plugins (trainers, datasets) live in their own crates
//! and register themselves with `inventory`.

pub mod cli;
pub mod clip;
pub mod config;
pub mod data;
pub mod difflib;
pub mod doctor;
pub mod engine;
pub mod errors;
pub mod evaluation;
pub mod features;
pub mod fsutil;
pub mod logging;
pub mod optim;
pub mod registry;
pub mod report;
pub mod sweep;
#[doc(hidden)]
pub mod testing;
pub mod torchfile;
pub mod toyworld;
pub mod validate;
