//! Dassl's registries on `inventory`: the generic half (lookup, did-you-mean, uniqueness).
//!
//! Each registry's entry type lives beside what it builds (`engine::TrainerEntry`,
//! `data::DatasetEntry`, `evaluation::EvaluatorEntry`, `clip::BackboneEntry`), collects its
//! own entries with `inventory::collect!` and implements [`RegistryEntry`]; a plugin adds
//! itself from its own file with `inventory::submit!`. Iteration order of `inventory` is
//! unspecified, so every listing is sorted by name, which also fixes the candidate order of
//! Dassl's did-you-mean tie rule.

use crate::difflib;
use crate::errors::RegistryError;

/// Common access to a registry of named entries.
pub trait RegistryEntry: inventory::Collect + Sized {
    /// Registry name as Dassl prints it (`TRAINER`, `DATASET`, ...).
    const REGISTRY: &'static str;
    fn name(&self) -> &'static str;

    /// All entries, sorted by name.
    fn all() -> Vec<&'static Self> {
        let mut v: Vec<&'static Self> = inventory::iter::<Self>.into_iter().collect();
        v.sort_by_key(|e| e.name());
        v
    }

    fn names() -> Vec<&'static str> {
        Self::all().into_iter().map(Self::name).collect()
    }

    /// Looks a name up; an unknown name fails with Dassl's did-you-mean message.
    fn get(requested: &str) -> Result<&'static Self, RegistryError> {
        let all = Self::all();
        if let Some(e) = all.iter().find(|e| e.name() == requested) {
            return Ok(e);
        }
        let names: Vec<&str> = all.iter().map(|e| e.name()).collect();
        if names.is_empty() {
            return Err(RegistryError::Empty {
                registry: Self::REGISTRY,
            });
        }
        // A name that differs only in case is what was meant (`Coop` -> `CoOp`); else
        // Dassl's difflib rule.
        let suggestion = names
            .iter()
            .copied()
            .find(|n| n.eq_ignore_ascii_case(requested))
            .or_else(|| difflib::most_similar(requested, &names))
            .unwrap_or_default();
        Err(RegistryError::Unknown {
            registry: Self::REGISTRY,
            requested: requested.to_string(),
            available: python_list(&names),
            suggestion: suggestion.to_string(),
        })
    }

    /// Two plugins with one name is a packaging bug; report it as Dassl does.
    fn check_unique() -> Result<(), RegistryError> {
        let names = Self::names();
        for w in names.windows(2) {
            if w[0] == w[1] {
                return Err(RegistryError::Duplicate {
                    registry: Self::REGISTRY,
                    name: w[0],
                });
            }
        }
        Ok(())
    }
}

/// Collects an entry type with a `name` field and implements [`RegistryEntry`] for it.
macro_rules! registry_entry {
    ($ty:ty, $registry:literal) => {
        inventory::collect!($ty);
        impl $crate::registry::RegistryEntry for $ty {
            const REGISTRY: &'static str = $registry;
            fn name(&self) -> &'static str {
                self.name
            }
        }
    };
}
pub(crate) use registry_entry;

/// Python's list repr of names, as Dassl's error shows `available`.
fn python_list(names: &[&str]) -> String {
    let items: Vec<String> = names
        .iter()
        .map(|n| crate::config::value::str_repr(n))
        .collect();
    format!("[{}]", items.join(", "))
}
