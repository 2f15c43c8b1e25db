//! Character tables of the built-in tokenizer, read from `data/model/normalizer.bin`.
//!
//! They were probed code point by code point from the reference tokenizer
//! (`scripts/build-embedding-model.py`), so normalisation here agrees with
//! the one the model was distilled with, whatever Unicode version either
//! side's standard library knows.

use std::sync::OnceLock;

static NORMALIZER_BIN: &[u8] = include_bytes!("../../data/model/normalizer.bin");

/// What normalisation does to one character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalized {
    /// The character stays as it is.
    Same,
    /// The character is dropped (control and unassigned characters).
    Removed,
    /// The character is surrounded by spaces (CJK ideographs).
    Padded,
    /// The character is replaced (lower case, accents stripped, whitespace to space).
    Mapped(&'static str),
}

/// How pre-tokenisation treats one (normalised) character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Part of a word.
    Word,
    /// A word of its own.
    Punctuation,
    /// A separator, dropped.
    Whitespace,
}

/// The parsed tables.
pub struct Tables {
    norm_ranges: Vec<(u32, u32, u8)>,
    split_ranges: Vec<(u32, u32, u8)>,
    mapped: Vec<(u32, &'static str)>,
    ascii_norm: [Normalized; 128],
    ascii_split: [Split; 128],
}

impl Tables {
    /// Returns the tables, parsing them on first use.
    pub fn get() -> &'static Tables {
        static TABLES: OnceLock<Tables> = OnceLock::new();
        TABLES.get_or_init(|| {
            parse(NORMALIZER_BIN).expect("the embedded normalizer tables are valid")
        })
    }

    /// Returns what normalisation does to `c`.
    pub fn normalize(&self, c: char) -> Normalized {
        let cp = c as u32;
        if cp < 128 {
            return self.ascii_norm[cp as usize];
        }
        self.normalize_slow(cp)
    }

    fn normalize_slow(&self, cp: u32) -> Normalized {
        if let Ok(i) = self.mapped.binary_search_by_key(&cp, |&(c, _)| c) {
            return Normalized::Mapped(self.mapped[i].1);
        }
        match find_range(&self.norm_ranges, cp) {
            Some(1) => Normalized::Removed,
            Some(2) => Normalized::Padded,
            _ => Normalized::Same,
        }
    }

    /// Returns how pre-tokenisation treats `c`.
    pub fn split(&self, c: char) -> Split {
        let cp = c as u32;
        if cp < 128 {
            return self.ascii_split[cp as usize];
        }
        self.split_slow(cp)
    }

    fn split_slow(&self, cp: u32) -> Split {
        match find_range(&self.split_ranges, cp) {
            Some(1) => Split::Punctuation,
            Some(2) => Split::Whitespace,
            _ => Split::Word,
        }
    }
}

fn find_range(ranges: &[(u32, u32, u8)], cp: u32) -> Option<u8> {
    let i = ranges.partition_point(|&(start, _, _)| start <= cp);
    let &(start, end, class) = ranges.get(i.checked_sub(1)?)?;
    (start <= cp && cp <= end).then_some(class)
}

/// A little-endian reader over the embedded bytes.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.bytes
    }
}

fn parse(bytes: &'static [u8]) -> Option<Tables> {
    let mut r = Reader::new(bytes);
    if r.take(4)? != b"SGRN" || r.u32()? != 1 {
        return None;
    }
    let mut ranges = || -> Option<Vec<(u32, u32, u8)>> {
        let n = r.u32()? as usize;
        (0..n)
            .map(|_| Some((r.u32()?, r.u32()?, r.u8()?)))
            .collect()
    };
    let norm_ranges = ranges()?;
    let split_ranges = ranges()?;
    let n = r.u32()? as usize;
    let mut mapped = Vec::with_capacity(n);
    for _ in 0..n {
        let cp = r.u32()?;
        let len = r.u8()? as usize;
        mapped.push((cp, std::str::from_utf8(r.take(len)?).ok()?));
    }
    let mut tables = Tables {
        norm_ranges,
        split_ranges,
        mapped,
        ascii_norm: [Normalized::Same; 128],
        ascii_split: [Split::Word; 128],
    };
    for cp in 0..128u32 {
        tables.ascii_norm[cp as usize] = tables.normalize_slow(cp);
        tables.ascii_split[cp as usize] = tables.split_slow(cp);
    }
    Some(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_classify_known_characters() {
        let t = Tables::get();
        assert_eq!(t.normalize('A'), Normalized::Mapped("a"));
        assert_eq!(t.normalize('a'), Normalized::Same);
        assert_eq!(t.normalize('é'), Normalized::Mapped("e"));
        assert_eq!(t.normalize('\u{0}'), Normalized::Removed);
        assert_eq!(t.normalize('\t'), Normalized::Mapped(" "));
        assert_eq!(t.normalize('東'), Normalized::Padded);
        assert_eq!(t.split(','), Split::Punctuation);
        assert_eq!(t.split(' '), Split::Whitespace);
        assert_eq!(t.split('x'), Split::Word);
        assert_eq!(t.split('、'), Split::Punctuation);
    }
}
