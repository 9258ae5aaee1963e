//! Dataset plugins: CoOp's 15 datasets, the toy data and a YAML-declared
//! custom dataset. Each file registers one dataset with its config extension;
//! adding a dataset is a new file plus one `mod` line here.

mod common;

mod caltech101;
mod custom;
mod dtd;
mod eurosat;
mod fgvc_aircraft;
mod food101;
mod imagenet;
mod imagenet_a;
mod imagenet_r;
mod imagenet_sketch;
mod imagenetv2;
mod oxford_flowers;
mod oxford_pets;
mod stanford_cars;
mod sun397;
mod toy_shapes;
mod toy_shapes20;
mod ucf101;

/// Called by the binary so the linker keeps this crate and its registrations.
pub fn link() {}
