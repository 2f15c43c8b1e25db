//! Reading a file as the body of a memory: UTF-8 text within a size limit.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// How many bytes at the start of a file are searched for a NUL byte, the
/// mark of a binary file (as git and ripgrep do).
const BINARY_PROBE_BYTES: usize = 8 * 1024;

/// What a file holds, as a memory's body sees it.
#[derive(Debug)]
pub enum FileText {
    /// UTF-8 text within the limit.
    Text(String),
    /// A NUL byte in its first 8 KiB.
    Binary,
    /// Not valid UTF-8; holds the offset of the first bad byte.
    NotUtf8(usize),
    /// Larger than the limit; holds its size in bytes.
    TooLarge(u64),
}

/// Reads the file at `path` if it is text of at most `max_bytes` bytes,
/// without reading more than one byte past the limit.
///
/// # Failure
/// The I/O error of opening or reading the file.
pub fn read_text(path: &Path, max_bytes: usize) -> io::Result<FileText> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    if size > max_bytes as u64 {
        return Ok(FileText::TooLarge(size));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(max_bytes as u64 + 1).read_to_end(&mut bytes)?;
    Ok(classify(bytes, max_bytes))
}

/// Classifies the bytes read from a file (which may have grown since its
/// size was read).
fn classify(bytes: Vec<u8>, max_bytes: usize) -> FileText {
    if bytes.len() > max_bytes {
        return FileText::TooLarge(bytes.len() as u64);
    }
    let probe = &bytes[..bytes.len().min(BINARY_PROBE_BYTES)];
    if probe.contains(&0) {
        return FileText::Binary;
    }
    match String::from_utf8(bytes) {
        Ok(text) => FileText::Text(text),
        Err(e) => FileText::NotUtf8(e.utf8_error().valid_up_to()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_classified() {
        assert!(matches!(classify(b"hello\n".to_vec(), 10), FileText::Text(t) if t == "hello\n"));
        assert!(matches!(classify(b"a\0b".to_vec(), 10), FileText::Binary));
        assert!(matches!(
            classify(b"ab\xffc".to_vec(), 10),
            FileText::NotUtf8(2)
        ));
        assert!(matches!(
            classify(b"abc".to_vec(), 2),
            FileText::TooLarge(3)
        ));
        let mut late_nul = vec![b'a'; BINARY_PROBE_BYTES];
        late_nul.push(0);
        assert!(matches!(classify(late_nul, 1 << 20), FileText::Text(_)));
    }
}
