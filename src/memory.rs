//! What a memory is: its identifiers, its content, and the rules its fields obey.

use std::collections::HashSet;
use std::fmt;

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::time::Timestamp;

/// Largest accepted body, in bytes of UTF-8.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest accepted description, in bytes of UTF-8.
pub const MAX_DESCRIPTION_BYTES: usize = 4096;
/// Largest accepted metadata object, in bytes of compact JSON.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;
/// Longest accepted memory name, in bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// Longest accepted namespace, in bytes (room for `host/owner/repo`).
pub const MAX_NAMESPACE_BYTES: usize = 128;
/// Longest accepted type, in bytes.
pub const MAX_TYPE_BYTES: usize = 64;
/// The type given to a memory when none is specified.
pub const DEFAULT_TYPE: &str = "note";
/// The namespace used when none is specified.
pub const DEFAULT_NAMESPACE: &str = "global";
/// The namespace setting that derives the namespace from the current git
/// repository; reserved, so no namespace has this name.
pub const AUTO_NAMESPACE: &str = "auto";

/// Where a namespace's name came from, when `--namespace auto` derived it
/// from a git repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamespaceOrigin {
    /// How: `git-remote` or `git-folder`.
    pub source: String,
    /// From what: the normalised remote URL, or the repository's folder.
    pub detail: String,
}

impl NamespaceOrigin {
    /// An origin of `source` with `detail`.
    pub fn new(source: &str, detail: &str) -> Self {
        NamespaceOrigin {
            source: source.to_owned(),
            detail: detail.to_owned(),
        }
    }
}

/// The row id of a memory; a type of its own, so that it cannot be mixed
/// up with the id of anything else. It is stored and bound as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MemoryId(i64);

impl MemoryId {
    /// Wraps a row id of the `memories` table.
    pub(crate) fn from_row_id(id: i64) -> Self {
        MemoryId(id)
    }

    /// The row id.
    pub(crate) fn row_id(self) -> i64 {
        self.0
    }
}

impl ToSql for MemoryId {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}

impl FromSql for MemoryId {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        i64::column_result(value).map(MemoryId)
    }
}

/// The number of one version of a memory, counting from 1; a type of its
/// own, so that it cannot be mixed up with an id. It is stored and bound as
/// an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct VersionNumber(i64);

impl VersionNumber {
    /// The version a memory is created as.
    pub const FIRST: VersionNumber = VersionNumber(1);

    /// Wraps a version number, as a user gives it.
    pub fn new(number: i64) -> Self {
        VersionNumber(number)
    }

    /// Returns the version that follows this one.
    pub fn next(self) -> Self {
        VersionNumber(self.0 + 1)
    }
}

impl fmt::Display for VersionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ToSql for VersionNumber {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}

impl FromSql for VersionNumber {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        i64::column_result(value).map(VersionNumber)
    }
}

/// The editable content of a memory: everything a version records but its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The memory's type, e.g. `note`, `decision`, `user`.
    pub kind: String,
    /// A one-line summary.
    pub description: String,
    /// The text of the memory.
    pub body: String,
    /// A JSON object stored in canonical form (sorted keys, compact).
    pub metadata: Metadata,
}

impl Content {
    /// Validates and assembles content, applying the documented defaults.
    ///
    /// # Failure
    /// Returns invalid-input or too-large errors naming the offending field.
    pub fn new(
        kind: Option<String>,
        description: Option<String>,
        body: String,
        metadata: Option<Metadata>,
    ) -> Result<Self> {
        let kind = kind.unwrap_or_else(|| DEFAULT_TYPE.to_owned());
        validate_type(&kind)?;
        let description = description.unwrap_or_default();
        validate_description(&description)?;
        validate_body(&body)?;
        Ok(Content {
            kind,
            description,
            body,
            metadata: metadata.unwrap_or_default(),
        })
    }
}

/// A memory's metadata: a JSON object kept as canonical compact text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata(String);

impl Default for Metadata {
    fn default() -> Self {
        Metadata("{}".to_owned())
    }
}

impl Metadata {
    /// Parses metadata from JSON text. Numbers are kept exactly as written,
    /// however many digits they have.
    ///
    /// # Failure
    /// Returns invalid input unless the text is a JSON object without
    /// duplicate keys (at any depth), too-large past [`MAX_METADATA_BYTES`].
    pub fn parse(text: &str) -> Result<Self> {
        let invalid =
            |e: serde_json::Error| Error::invalid(format!("metadata is not valid JSON: {e}"));
        check_unique_keys(text).map_err(invalid)?;
        let value: Value = serde_json::from_str(text).map_err(invalid)?;
        Self::from_value(value)
    }

    /// Builds metadata from a parsed JSON value, which must be an object.
    ///
    /// # Failure
    /// Returns invalid input for a non-object, too-large past [`MAX_METADATA_BYTES`].
    pub fn from_value(value: Value) -> Result<Self> {
        let Value::Object(map) = value else {
            return Err(Error::invalid("metadata must be a JSON object"));
        };
        let text = serde_json::to_string(&Value::Object(map))?;
        if text.len() > MAX_METADATA_BYTES {
            return Err(Error::too_large(format!(
                "metadata is {} bytes; the limit is {MAX_METADATA_BYTES}",
                text.len()
            )));
        }
        Ok(Metadata(text))
    }

    /// Wraps text read back from the database, where it was stored canonical.
    pub fn from_stored(text: String) -> Self {
        Metadata(text)
    }

    /// Returns the canonical JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the metadata as a JSON value for output.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or_else(|_| Value::Object(Map::new()))
    }
}

/// Checks that no object in the JSON document `text` has the same key twice
/// (a JSON value would silently keep the last one).
///
/// # Failure
/// The parse error, naming the duplicate key, or the first syntax error.
pub fn check_unique_keys(text: &str) -> serde_json::Result<()> {
    serde_json::from_str::<UniqueKeys>(text).map(drop)
}

/// A JSON document read only to check that no object in it has the same key
/// twice (a JSON value would silently keep the last one).
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut keys = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if keys.contains(&key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            map.next_value::<UniqueKeys>()?;
            keys.insert(key);
        }
        Ok(UniqueKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
}

impl Serialize for Metadata {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

/// A memory as stored: its identity, current content and timestamps.
#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// The memory's row id.
    pub memory_id: MemoryId,
    /// The namespace it lives in.
    pub namespace: String,
    /// Its name, unique within the namespace.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its one-line summary.
    pub description: String,
    /// Its text; left out of listings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Its metadata object.
    pub metadata: Metadata,
    /// The number of its latest version, starting at 1.
    pub version: VersionNumber,
    /// When it was created.
    pub created_at: Timestamp,
    /// When its latest version was written.
    pub updated_at: Timestamp,
    /// When it was forgotten, if it is.
    pub deleted_at: Option<Timestamp>,
    /// The agent session that last wrote it, if one was named.
    pub session: Option<String>,
}

/// Longest accepted session id, in bytes.
pub const MAX_SESSION_BYTES: usize = 128;

/// Checks an agent session id: 1 to [`MAX_SESSION_BYTES`] bytes, no
/// white space or control characters.
///
/// # Failure
/// Invalid input or too-large, naming the session.
pub fn validate_session(session: &str) -> Result<()> {
    if session.is_empty() || session.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(format!(
            "session {session:?} must be non-empty, without white space or control characters"
        )));
    }
    if session.len() > MAX_SESSION_BYTES {
        return Err(Error::too_large(format!(
            "session of {} bytes; the limit is {MAX_SESSION_BYTES}",
            session.len()
        )));
    }
    Ok(())
}

/// Checks a memory name against the documented rules.
///
/// # Failure
/// Returns too-large past [`MAX_NAME_BYTES`], invalid input describing any
/// other rule that was broken.
pub fn validate_name(name: &str) -> Result<()> {
    validate_identifier("memory name", name, MAX_NAME_BYTES, "-_.:/@")
}

/// Checks a namespace against the documented rules.
///
/// # Failure
/// Returns too-large past [`MAX_NAMESPACE_BYTES`], invalid input describing
/// any other rule that was broken.
pub fn validate_namespace(namespace: &str) -> Result<()> {
    validate_identifier("namespace", namespace, MAX_NAMESPACE_BYTES, "-_./")?;
    if namespace == AUTO_NAMESPACE {
        return Err(Error::invalid(format!(
            "namespace {AUTO_NAMESPACE:?} is reserved: as a setting it derives the namespace from the git repository"
        )));
    }
    // Each `/`-separated part follows the rules of a whole namespace, so
    // `a//b`, `a/` and `a/../b` are refused.
    if let Some(part) = namespace
        .split('/')
        .find(|part| !part.starts_with(|c: char| c.is_ascii_alphanumeric()))
    {
        return Err(Error::invalid(format!(
            "namespace {namespace:?} has the part {part:?}; every part between `/` must start with an ASCII letter or digit"
        )));
    }
    Ok(())
}

/// Checks a memory type against the documented rules.
///
/// # Failure
/// Returns too-large past [`MAX_TYPE_BYTES`], invalid input describing any
/// other rule that was broken.
pub fn validate_type(kind: &str) -> Result<()> {
    validate_identifier("type", kind, MAX_TYPE_BYTES, "-_.")
}

fn validate_identifier(what: &str, value: &str, max_bytes: usize, punctuation: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(format!("{what} must not be empty")));
    }
    if value.len() > max_bytes {
        return Err(Error::too_large(format!(
            "{what} is {} bytes; the limit is {max_bytes}",
            value.len()
        )));
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(Error::invalid(format!(
            "{what} {value:?} must start with an ASCII letter or digit"
        )));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !punctuation.contains(*c))
    {
        return Err(Error::invalid(format!(
            "{what} {value:?} contains {bad:?}; allowed are ASCII letters, digits and {punctuation:?}"
        )));
    }
    Ok(())
}

/// Checks a body against the size limit.
///
/// # Failure
/// Returns too-large past [`MAX_BODY_BYTES`].
pub fn validate_body(body: &str) -> Result<()> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::too_large(format!(
            "body is {} bytes; the limit is {MAX_BODY_BYTES}",
            body.len()
        )));
    }
    Ok(())
}

/// Checks a description against the size limit.
///
/// # Failure
/// Returns too-large past [`MAX_DESCRIPTION_BYTES`].
pub fn validate_description(description: &str) -> Result<()> {
    if description.len() > MAX_DESCRIPTION_BYTES {
        return Err(Error::too_large(format!(
            "description is {} bytes; the limit is {MAX_DESCRIPTION_BYTES}",
            description.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn names_follow_the_rules() {
        for good in [
            "a",
            "D1-3",
            "project/auth:decision",
            "x.y_z@2",
            &"n".repeat(128),
        ] {
            validate_name(good).unwrap();
        }
        for bad in ["", "-a", " a", "a b", "a\u{0}", "é", "a\nb"] {
            assert_eq!(
                validate_name(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
        for good in ["team/a", "github.com/acme/harbor", "a/b.c/d-e_f", "global"] {
            validate_namespace(good).unwrap();
        }
        for bad in [
            "/a", "a/", "a//b", "a/../b", "a/.b", "a/ b", "a\\b", "a:b", "auto",
        ] {
            assert_eq!(
                validate_namespace(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_value_over_its_length_limit_is_too_large() {
        let too_large = |result: Result<()>| result.unwrap_err().kind() == ErrorKind::TooLarge;
        assert!(too_large(validate_name(&"n".repeat(MAX_NAME_BYTES + 1))));
        assert!(too_large(validate_namespace(
            &"n".repeat(MAX_NAMESPACE_BYTES + 1)
        )));
        assert!(too_large(validate_type(&"t".repeat(MAX_TYPE_BYTES + 1))));
        assert!(too_large(validate_description(
            &"d".repeat(MAX_DESCRIPTION_BYTES + 1)
        )));
        assert!(too_large(validate_body(&"b".repeat(MAX_BODY_BYTES + 1))));
        let metadata = format!(r#"{{"k":"{}"}}"#, "m".repeat(MAX_METADATA_BYTES));
        assert!(too_large(Metadata::parse(&metadata).map(drop)));
    }

    #[test]
    fn ids_and_version_numbers_bind_read_and_print_as_integers() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let id: MemoryId = conn
            .query_row("SELECT ?1 + 1", [MemoryId::from_row_id(41)], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(id, MemoryId::from_row_id(42));
        assert_eq!(serde_json::to_string(&id).unwrap(), "42");
        let version: VersionNumber = conn
            .query_row("SELECT ?1", [VersionNumber::FIRST.next()], |row| row.get(0))
            .unwrap();
        assert_eq!(version, VersionNumber::new(2));
        assert_eq!(serde_json::to_string(&version).unwrap(), "2");
    }

    #[test]
    fn metadata_is_canonical_and_must_be_an_object() {
        let m = Metadata::parse(r#"{ "b": 1, "a": [true] }"#).unwrap();
        assert_eq!(m.as_str(), r#"{"a":[true],"b":1}"#);
        for bad in ["[]", "1", "\"x\"", "{", "null"] {
            assert_eq!(
                Metadata::parse(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
    }

    #[test]
    fn metadata_keeps_numbers_exactly_and_refuses_duplicate_keys() {
        let big = r#"{"big":123456789012345678901234567890,"neg":-18446744073709551617,"x":1.50}"#;
        assert_eq!(Metadata::parse(big).unwrap().as_str(), big);
        assert_eq!(Metadata::parse(big).unwrap().to_value().to_string(), big);
        for duplicated in [
            r#"{"a":1,"a":1}"#,
            r#"{"a":{"b":[{"c":1,"c":2}]}}"#,
            r#"{"n":18446744073709551616,"n":1}"#,
        ] {
            let err = Metadata::parse(duplicated).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{duplicated}");
            assert!(err.message().contains("duplicate key"), "{}", err.message());
        }
        Metadata::parse(r#"{"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":2}]}"#).unwrap();
    }

    #[test]
    fn oversized_fields_are_too_large() {
        let body = "x".repeat(MAX_BODY_BYTES + 1);
        let err = Content::new(None, None, body, None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooLarge);
    }
}
