//! The text the word index holds, and the same folding for queries.
//!
//! SQLite's `unicode61` tokenizer lower-cases and strips accents, but it
//! splits words only at separators and knows no compatibility forms, so a
//! run of Chinese or Japanese is one long token and `ﬁle` never matches
//! `file`. Before text reaches the index (through the SQL function
//! [`FOLD_FUNCTION`], in the index's view and triggers) and before a query
//! is split into terms, [`fold`] makes these changes:
//!
//! - each CJK character (Han, kana, Hangul) stands on its own: a zero-width
//!   space goes between it and its neighbours, so each is one token;
//! - Latin ligatures (`ﬁ`, `ﬂ`, …) become their letters, and full-width
//!   ASCII (`ＡＢＣ１２３`) becomes ASCII;
//! - `İ` (capital I with dot) becomes `I`, whose lower case is one letter.

use std::borrow::Cow;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ToSql};

/// The SQL function that folds the indexed columns (migration 5).
pub const FOLD_FUNCTION: &str = "fts_fold";

/// The separator [`fold`] puts around CJK characters: `unicode61` splits
/// words at it, and snippets leave it out.
pub const CJK_SEPARATOR: char = '\u{200B}';

/// Returns whether `c` is a CJK character that is a word of its own.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3005}' | '\u{3007}'              // 々 〇
        | '\u{3040}'..='\u{30FF}'            // Hiragana, Katakana
        | '\u{31F0}'..='\u{31FF}'            // Katakana phonetic extensions
        | '\u{3400}'..='\u{4DBF}'            // CJK extension A
        | '\u{4E00}'..='\u{9FFF}'            // CJK unified ideographs
        | '\u{AC00}'..='\u{D7AF}'            // Hangul syllables
        | '\u{F900}'..='\u{FAFF}'            // CJK compatibility ideographs
        | '\u{FF66}'..='\u{FF9F}'            // half-width Katakana
        | '\u{20000}'..='\u{323AF}'          // CJK extensions B to H, compatibility supplement
    )
}

/// Returns what `c` becomes, if it is a compatibility character [`fold`] replaces.
fn compatibility(c: char) -> Option<&'static str> {
    const LIGATURES: [&str; 7] = ["ff", "fi", "fl", "ffi", "ffl", "st", "st"];
    const ASCII: &str = "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
    match c {
        '\u{FB00}'..='\u{FB06}' => Some(LIGATURES[c as usize - 0xFB00]),
        '\u{FF01}'..='\u{FF5E}' => {
            let at = c as usize - 0xFF01;
            Some(&ASCII[at..at + 1])
        }
        '\u{0130}' => Some("I"),
        _ => None,
    }
}

/// Folds text for the word index (see the module documentation); borrows
/// when nothing changes, as for most English text.
pub fn fold(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(|c: char| is_cjk(c) || compatibility(c).is_some()) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    out.push_str(&text[..first]);
    let mut previous_cjk = false;
    for c in text[first..].chars() {
        let cjk = is_cjk(c);
        if (cjk || previous_cjk)
            && !c.is_whitespace()
            && !out.is_empty()
            && !out.ends_with(char::is_whitespace)
        {
            out.push(CJK_SEPARATOR);
        }
        match compatibility(c) {
            Some(replacement) => out.push_str(replacement),
            None => out.push(c),
        }
        previous_cjk = cjk;
    }
    Cow::Owned(out)
}

/// Registers [`FOLD_FUNCTION`] on a connection; every connection that
/// writes memories or reads the index's text needs it. A value that is not
/// text, or that folding leaves as it is, is returned as it came.
pub fn register_fold(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        FOLD_FUNCTION,
        1,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| -> rusqlite::Result<Box<dyn ToSql>> {
            if let ValueRef::Text(bytes) = ctx.get_raw(0)
                && let Ok(text) = std::str::from_utf8(bytes)
                && let Cow::Owned(folded) = fold(text)
            {
                return Ok(Box::new(folded));
            }
            Ok(Box::new(ctx.get_arg(0)))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_cjk_ligatures_and_full_width() {
        assert!(matches!(fold("plain English text"), Cow::Borrowed(_)));
        let sep = CJK_SEPARATOR;
        assert_eq!(
            fold("東京タワー"),
            format!("東{sep}京{sep}タ{sep}ワ{sep}ー")
        );
        assert_eq!(fold("go 北京 now"), format!("go 北{sep}京 now"));
        assert_eq!(fold("Tokyo東京"), format!("Tokyo{sep}東{sep}京"));
        assert_eq!(fold("東京tower"), format!("東{sep}京{sep}tower"));
        assert_eq!(fold("the ﬁle"), "the file");
        assert_eq!(fold("ＡＢＣ１２３"), "ABC123");
        assert_eq!(fold("İstanbul"), "Istanbul");
        assert_eq!(fold("서울에서"), format!("서{sep}울{sep}에{sep}서"));
    }
}
