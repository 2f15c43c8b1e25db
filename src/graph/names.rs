//! The names of the graph: entity names, their matching keys, entity types
//! and relation names, each a validated type of its own.
//!
//! Entity names are not memory names: spaces and letters of any script are
//! normal in them ("Caroline Smith", "Café Nero"). Two names that differ
//! only in case or in runs of white space name the same entity; the
//! [`EntityKey`] is that common form.

use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};

/// Longest accepted entity name, in bytes of UTF-8.
pub const MAX_ENTITY_NAME_BYTES: usize = 256;
/// Longest accepted entity type or relation name, in bytes.
pub const MAX_LABEL_BYTES: usize = 64;

/// An entity's display name: trimmed, inner white space collapsed to one
/// space, no control characters, at most [`MAX_ENTITY_NAME_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EntityName(String);

impl EntityName {
    /// Checks and normalises a name as a user or an extractor gives it.
    ///
    /// # Failure
    /// Invalid input for an empty name or one with control characters;
    /// too-large past [`MAX_ENTITY_NAME_BYTES`].
    pub fn new(text: &str) -> Result<Self> {
        if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(Error::invalid(format!(
                "entity name {text:?} holds a control character"
            )));
        }
        let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            return Err(Error::invalid("an entity name must not be empty"));
        }
        if collapsed.len() > MAX_ENTITY_NAME_BYTES {
            return Err(Error::too_large(format!(
                "entity name of {} bytes; the limit is {MAX_ENTITY_NAME_BYTES}",
                collapsed.len()
            )));
        }
        Ok(EntityName(collapsed))
    }

    /// The name as shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key that identifies the entity within its namespace.
    pub fn key(&self) -> EntityKey {
        EntityKey(self.0.to_lowercase())
    }
}

impl fmt::Display for EntityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The matching key of an entity name: case-folded, white space collapsed.
/// Unique per namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EntityKey(String);

impl EntityKey {
    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A lowercase label in snake_case: `[a-z][a-z0-9_]*`, at most
/// [`MAX_LABEL_BYTES`], used for entity types and relation names.
fn check_label(text: &str, what: &str) -> Result<()> {
    let mut chars = text.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !well_formed {
        return Err(Error::invalid(format!("{what} {text:?} is not snake_case"))
            .with_hint("use lowercase letters, digits and underscores, starting with a letter"));
    }
    if text.len() > MAX_LABEL_BYTES {
        return Err(Error::too_large(format!(
            "{what} of {} bytes; the limit is {MAX_LABEL_BYTES}",
            text.len()
        )));
    }
    Ok(())
}

/// An entity type, such as `person`, `file` or `concept`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EntityType(String);

impl EntityType {
    /// The type of an entity created without one.
    pub const DEFAULT: &str = "concept";

    /// Checks a type.
    ///
    /// # Failure
    /// Invalid input unless snake_case; too-large past [`MAX_LABEL_BYTES`].
    pub fn new(text: &str) -> Result<Self> {
        check_label(text, "entity type")?;
        Ok(EntityType(text.to_owned()))
    }

    /// The type of an entity created without one: [`EntityType::DEFAULT`].
    pub fn default_type() -> Self {
        EntityType(Self::DEFAULT.to_owned())
    }

    /// The type as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name of a relationship's kind, such as `mentioned_with` or
/// `depends_on`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Relation(String);

impl Relation {
    /// What the built-in extractor asserts between entities of one memory.
    pub const MENTIONED_WITH: &str = "mentioned_with";

    /// Checks a relation name.
    ///
    /// # Failure
    /// Invalid input unless snake_case; too-large past [`MAX_LABEL_BYTES`].
    pub fn new(text: &str) -> Result<Self> {
        check_label(text, "relation")?;
        Ok(Relation(text.to_owned()))
    }

    /// The relation as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A relationship's weight, in (0, 1].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Weight(f64);

impl Weight {
    /// The weight of a relationship given without one.
    pub const FULL: Weight = Weight(1.0);

    /// Checks a weight.
    ///
    /// # Failure
    /// Invalid input outside (0, 1] (and for NaN).
    pub fn new(value: f64) -> Result<Self> {
        if value > 0.0 && value <= 1.0 {
            Ok(Weight(value))
        } else {
            Err(Error::invalid(format!("weight {value} is outside (0, 1]")))
        }
    }

    /// The weight as a number.
    pub fn get(self) -> f64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn names_collapse_space_and_keys_fold_case() {
        let name = EntityName::new("  Café   Nero\t").unwrap();
        assert_eq!(name.as_str(), "Café Nero");
        assert_eq!(name.key(), EntityName::new("CAFÉ nero").unwrap().key());
        assert_eq!(name.key().as_str(), "café nero");
    }

    #[test]
    fn bad_names_are_refused() {
        for (text, kind) in [
            ("", ErrorKind::InvalidInput),
            ("   ", ErrorKind::InvalidInput),
            ("a\u{0}b", ErrorKind::InvalidInput),
            ("a\u{1b}[31m", ErrorKind::InvalidInput),
        ] {
            assert_eq!(EntityName::new(text).unwrap_err().kind(), kind, "{text:?}");
        }
        let long = "x".repeat(MAX_ENTITY_NAME_BYTES + 1);
        assert_eq!(
            EntityName::new(&long).unwrap_err().kind(),
            ErrorKind::TooLarge
        );
    }

    #[test]
    fn labels_are_snake_case() {
        assert!(Relation::new("depends_on").is_ok());
        assert!(EntityType::new("person").is_ok());
        for bad in ["", "Depends", "depends on", "2fa", "a-b", "é"] {
            assert!(Relation::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn weights_are_in_the_half_open_unit_interval() {
        assert!(Weight::new(1.0).is_ok());
        assert!(Weight::new(0.001).is_ok());
        for bad in [0.0, -0.5, 1.0001, f64::NAN, f64::INFINITY] {
            assert!(Weight::new(bad).is_err(), "{bad}");
        }
    }
}
