//! The reversible mapping between a file's path, relative to the folder it
//! was ingested from, and the name of the memory that holds it.
//!
//! A path is written with `/` between its components on every platform.
//! Its UTF-8 bytes that are ASCII letters, digits, `-`, `_`, `.` or `/`
//! stay as they are; every other byte (a space, `@`, `:`, each byte of a
//! non-ASCII character, …) becomes `@` followed by its value in two
//! upper-case hex digits. A name must start with a letter or a digit: when
//! the escaped path does not (`.github/…`, `_posts/…`), the name is
//! `p:` followed by it. `:` only ever appears in that prefix (a `:` of the
//! path is escaped), so decoding is unambiguous, and every name this
//! produces decodes back to its path.

use crate::memory::{MAX_NAME_BYTES, validate_name};

/// What introduces an escaped byte.
const ESCAPE: u8 = b'@';
/// What starts a name whose escaped path does not start with a letter or digit.
const PREFIX: &str = "p:";
/// Upper-case hex digits, by value.
const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Why a path has no memory name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// The path is empty.
    Empty,
    /// The name would be longer than a memory name may be; holds its length.
    TooLong(usize),
}

/// Returns true if the byte stands for itself in a name.
fn kept(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'/')
}

/// Returns the memory name of `path`, a path relative to its root with
/// `/` between components.
///
/// # Failure
/// [`NameError::Empty`] for an empty path; [`NameError::TooLong`] when the
/// name would be over [`MAX_NAME_BYTES`].
pub fn path_to_name(path: &str) -> Result<String, NameError> {
    if path.is_empty() {
        return Err(NameError::Empty);
    }
    let mut escaped = String::with_capacity(path.len());
    for &byte in path.as_bytes() {
        if kept(byte) {
            escaped.push(char::from(byte));
        } else {
            escaped.push(char::from(ESCAPE));
            escaped.push(char::from(HEX[usize::from(byte >> 4)]));
            escaped.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
    }
    if !escaped.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        escaped.insert_str(0, PREFIX);
    }
    if escaped.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong(escaped.len()));
    }
    debug_assert!(validate_name(&escaped).is_ok());
    Ok(escaped)
}

/// Returns the relative path a memory name produced by [`path_to_name`]
/// stands for, or `None` if no path produces this name.
pub fn name_to_path(name: &str) -> Option<String> {
    validate_name(name).ok()?;
    let escaped = match name.strip_prefix(PREFIX) {
        Some(rest) if !rest.starts_with(|c: char| c.is_ascii_alphanumeric()) => rest,
        Some(_) => return None,
        None => name,
    };
    let mut bytes = Vec::with_capacity(escaped.len());
    let mut rest = escaped.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == ESCAPE {
            let [high, low, tail @ ..] = tail else {
                return None;
            };
            let value = hex_value(*high)? << 4 | hex_value(*low)?;
            if kept(value) {
                return None;
            }
            bytes.push(value);
            rest = tail;
        } else if kept(byte) {
            bytes.push(byte);
            rest = tail;
        } else {
            return None;
        }
    }
    String::from_utf8(bytes)
        .ok()
        .filter(|path| !path.is_empty())
}

/// The value of an upper-case hex digit.
fn hex_value(digit: u8) -> Option<u8> {
    HEX.iter()
        .position(|&d| d == digit)
        .and_then(|v| u8::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(path: &str) -> String {
        let name = path_to_name(path).unwrap_or_else(|e| panic!("{path:?}: {e:?}"));
        validate_name(&name).unwrap();
        assert_eq!(name_to_path(&name).as_deref(), Some(path), "name {name:?}");
        name
    }

    #[test]
    fn plain_paths_are_their_own_names() {
        for path in ["README.md", "src/main.rs", "docs/a-b_c.d/e.txt", "0/1"] {
            assert_eq!(round_trip(path), path);
        }
    }

    #[test]
    fn other_bytes_are_escaped() {
        assert_eq!(round_trip("my notes.md"), "my@20notes.md");
        assert_eq!(round_trip("a@b:c.md"), "a@40b@3Ac.md");
        assert_eq!(round_trip("café.md"), "caf@C3@A9.md");
        assert_eq!(round_trip("back\\slash"), "back@5Cslash");
    }

    #[test]
    fn a_path_not_starting_with_a_letter_or_digit_gets_the_prefix() {
        assert_eq!(round_trip(".github/ci.yml"), "p:.github/ci.yml");
        assert_eq!(round_trip("_posts/x.md"), "p:_posts/x.md");
        assert_eq!(round_trip("-x"), "p:-x");
        assert_eq!(round_trip("été.md"), "p:@C3@A9t@C3@A9.md");
        assert_eq!(round_trip("p:x"), "p@3Ax");
    }

    #[test]
    fn many_paths_round_trip() {
        let pieces = [
            "a", ".", "..x", " ", "@", ":", "p:", "p", "%", "~", "ü", "日本", "😀", "\t", "x y",
            "@41", "-", "_", "/", "\\", "#", "+", "=", "'", "\"",
        ];
        for a in pieces {
            for b in pieces {
                for c in ["", "/", ".md", "/z"] {
                    let path = format!("{a}{b}{c}");
                    if let Ok(name) = path_to_name(&path) {
                        assert_eq!(name_to_path(&name), Some(path.clone()), "{name:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn names_no_path_produces_do_not_decode() {
        for name in [
            "p:abc", "a@41", "a@4", "a@zz", "a@4a", "x:y", "p:", "a@FF", "",
        ] {
            assert_eq!(name_to_path(name), None, "{name:?}");
        }
    }

    #[test]
    fn long_paths_are_refused_not_cut() {
        let path = "d/".repeat(63) + "ab";
        assert_eq!(round_trip(&path).len(), MAX_NAME_BYTES);
        let longer = path.clone() + "c";
        assert_eq!(path_to_name(&longer), Err(NameError::TooLong(129)));
        let unicode = "é".repeat(22);
        assert_eq!(path_to_name(&unicode), Err(NameError::TooLong(134)));
        assert_eq!(path_to_name(""), Err(NameError::Empty));
    }
}
