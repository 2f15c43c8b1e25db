//! The size of a pool and the name of a pool: the plain values a caller
//! passes in, checked here so the semaphore depends on nothing else.

use crate::error::{Error, Result};

/// The largest accepted slot count.
pub const MAX_SLOTS_LIMIT: u32 = 1024;
/// The longest pool name, in bytes.
const MAX_POOL_NAME_BYTES: usize = 64;

/// How many slots a new pool gets, and whether the user asked for that number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotCount {
    /// The number of slots.
    pub value: u32,
    /// True when the user chose it (flag, environment, configuration file);
    /// a count that is only a default yields to the count a pool already has.
    pub explicit: bool,
}

impl SlotCount {
    /// The default count: the number of CPUs this process may use.
    pub fn host_default() -> Self {
        let cpus = std::thread::available_parallelism()
            .map(|n| u32::try_from(n.get()).unwrap_or(MAX_SLOTS_LIMIT))
            .unwrap_or(1);
        SlotCount {
            value: cpus.clamp(1, MAX_SLOTS_LIMIT),
            explicit: false,
        }
    }

    /// A count the user chose; `what` names where it came from in the error.
    ///
    /// # Failure
    /// Invalid input when `value` is 0 or above [`MAX_SLOTS_LIMIT`].
    pub fn chosen(value: u32, what: &str) -> Result<Self> {
        if in_range(value) {
            Ok(SlotCount {
                value,
                explicit: true,
            })
        } else {
            Err(Error::invalid(format!(
                "{what} must be between 1 and {MAX_SLOTS_LIMIT}, not {value}"
            )))
        }
    }
}

/// True for a slot count the semaphore accepts.
pub(crate) fn in_range(value: u32) -> bool {
    (1..=MAX_SLOTS_LIMIT).contains(&value)
}

/// Checks a pool name: it becomes a folder name, so it must be one plain
/// path component of ASCII letters, digits, `-`, `_` and `.`, starting with
/// a letter or digit.
///
/// # Failure
/// Invalid input naming the rule that was broken.
pub(crate) fn validate_pool_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_POOL_NAME_BYTES {
        return Err(Error::invalid(format!(
            "pool name {name:?} must be 1 to {MAX_POOL_NAME_BYTES} bytes"
        )));
    }
    let first_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "pool name {name:?} must start with an ASCII letter or digit and hold only letters, digits, '-', '_' and '.'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_names_are_checked() {
        assert!(SlotCount::chosen(0, "x").is_err());
        assert!(SlotCount::chosen(MAX_SLOTS_LIMIT + 1, "x").is_err());
        assert!(SlotCount::chosen(3, "x").unwrap().explicit);
        assert!(!SlotCount::host_default().explicit);
        for good in ["llm", "a.b-c_d", "9"] {
            validate_pool_name(good).unwrap();
        }
        for bad in ["", "../x", ".hidden", "a/b", "a b", &"x".repeat(65)] {
            assert!(validate_pool_name(bad).is_err(), "{bad:?}");
        }
    }
}
