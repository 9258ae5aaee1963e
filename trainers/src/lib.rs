//! Trainer plugins. Each file registers one or more trainers with their config
//! extension; adding a trainer is a new file plus one `mod` line here.

#[doc(hidden)]
pub mod bench;
mod clip_adapter;
mod clip_common;
mod cocoop;
mod coop;
mod deep_prompt;
#[cfg(test)]
mod family_parity;
#[cfg(test)]
mod fp16_parity;
mod ivlp;
mod kgcoop;
mod lpclip;
mod maple;
mod prompt;
mod promptsrc;
#[cfg(test)]
mod test_support;
mod tip_adapter;
mod vpt;
mod zsclip;

/// Called by the binary so the linker keeps this crate and its registrations.
pub fn link() {}

/// Validates a string option against its allowed values (CoOp asserts these).
fn check_choice(
    cfg: &dassl_rs::config::Config,
    key: &str,
    allowed: &[&str],
) -> Result<(), dassl_rs::errors::ConfigError> {
    check_choice_as(cfg, key, allowed, &format!("one of {}", allowed.join(", ")))
}

/// [`check_choice`] with the reason for the allowed values (`expected` in the error).
fn check_choice_as(
    cfg: &dassl_rs::config::Config,
    key: &str,
    allowed: &[&str],
    expected: &str,
) -> Result<(), dassl_rs::errors::ConfigError> {
    let v = cfg.str(key)?;
    if allowed.contains(&v) {
        Ok(())
    } else {
        Err(dassl_rs::errors::ConfigError::InvalidChoice {
            key: key.to_string(),
            value: v.to_string(),
            expected: expected.to_string(),
        })
    }
}
