//! Frozen image features, computed once and reused.
//!
//! Every CLIP trainer keeps the image encoder frozen, so the features of an evaluation
//! split depend only on the weights, the precision, the kind of device, the test
//! transform and the images themselves. [`cache::FeatureCache`] stores them once per such
//! key and hands them to every run that needs them (all seeds and shots of a sweep,
//! ZeroshotCLIP, the linear probe, eval-only runs).

pub mod cache;
pub mod frozen;

pub use cache::{CacheError, CacheSetting, FeatureCache, FeatureKey, Outcome};
pub use frozen::{loader_features, EncoderIdentity, FrozenEncoder};
