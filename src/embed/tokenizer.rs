//! The BERT-style tokenizer of the built-in model: normalisation (clean-up,
//! CJK padding, accent stripping, lower case), splitting on whitespace and
//! punctuation, then greedy longest-match WordPiece over the vocabulary.

use super::tables::{Normalized, Split, Tables};

/// Tokens longer than this many characters become `[UNK]`.
const MAX_WORD_CHARS: usize = 100;
/// Continuation pieces of a word carry this prefix in the vocabulary.
const CONTINUATION: &str = "##";
/// Tokens the reference matches in the raw text before normalising it.
const RAW_TOKENS: [&str; 2] = ["[PAD]", "[UNK]"];

/// A WordPiece vocabulary: tokens in id order and ids in token order.
pub struct Tokenizer {
    tokens: Vec<&'static str>,
    sorted_ids: Vec<u32>,
    unknown: u32,
    tables: &'static Tables,
}

impl Tokenizer {
    /// Builds a tokenizer from tokens in id order and the ids sorted by token bytes.
    pub fn new(tokens: Vec<&'static str>, sorted_ids: Vec<u32>) -> Self {
        let mut tokenizer = Tokenizer {
            tokens,
            sorted_ids,
            unknown: 0,
            tables: Tables::get(),
        };
        tokenizer.unknown = tokenizer.id("[UNK]").expect("the vocabulary has [UNK]");
        tokenizer
    }

    /// Returns the id of the unknown token.
    pub fn unknown(&self) -> u32 {
        self.unknown
    }

    /// Returns the id of `token`, if it is in the vocabulary.
    pub fn id(&self, token: &str) -> Option<u32> {
        self.sorted_ids
            .binary_search_by(|&id| self.tokens[id as usize].cmp(token))
            .ok()
            .map(|i| self.sorted_ids[i])
    }

    /// Returns the token ids of `text`, at most `max_tokens` of them
    /// (including `[UNK]`s, as the reference truncates before dropping them).
    pub fn encode(&self, text: &str, max_tokens: usize) -> Vec<u32> {
        let mut ids = Vec::new();
        let mut rest = text;
        while !rest.is_empty() && ids.len() < max_tokens {
            let next_raw = RAW_TOKENS
                .iter()
                .filter_map(|t| rest.find(t).map(|at| (at, *t)))
                .min_by_key(|&(at, _)| at);
            let (plain, raw) = match next_raw {
                Some((at, token)) => (&rest[..at], Some(token)),
                None => (rest, None),
            };
            self.encode_plain(plain, &mut ids);
            match raw {
                Some(token) => {
                    ids.push(self.id(token).expect("raw tokens are in the vocabulary"));
                    rest = &rest[plain.len() + token.len()..];
                }
                None => rest = "",
            }
        }
        ids.truncate(max_tokens);
        ids
    }

    fn encode_plain(&self, text: &str, ids: &mut Vec<u32>) {
        let mut word = String::new();
        let mut piece = String::new();
        for c in text.chars() {
            match self.tables.normalize(c) {
                Normalized::Same => self.push_char(c, &mut word, ids, &mut piece),
                Normalized::Removed => {}
                Normalized::Padded => {
                    self.end_word(&mut word, ids, &mut piece);
                    self.push_char(c, &mut word, ids, &mut piece);
                    self.end_word(&mut word, ids, &mut piece);
                }
                Normalized::Mapped(text) => {
                    for m in text.chars() {
                        self.push_char(m, &mut word, ids, &mut piece);
                    }
                }
            }
        }
        self.end_word(&mut word, ids, &mut piece);
    }

    /// Adds one normalised character: to the current word, or as a word
    /// boundary or a word of its own.
    fn push_char(&self, c: char, word: &mut String, ids: &mut Vec<u32>, piece: &mut String) {
        match self.tables.split(c) {
            Split::Word => word.push(c),
            Split::Whitespace => self.end_word(word, ids, piece),
            Split::Punctuation => {
                self.end_word(word, ids, piece);
                word.push(c);
                self.end_word(word, ids, piece);
            }
        }
    }

    fn end_word(&self, word: &mut String, ids: &mut Vec<u32>, piece: &mut String) {
        if !word.is_empty() {
            self.word_pieces(word, ids, piece);
            word.clear();
        }
    }

    /// Splits one word into the longest vocabulary pieces from the left;
    /// a word that cannot be split completely is one `[UNK]`.
    fn word_pieces(&self, word: &str, ids: &mut Vec<u32>, piece: &mut String) {
        if word.chars().count() > MAX_WORD_CHARS {
            ids.push(self.unknown);
            return;
        }
        let first_new = ids.len();
        let mut start = 0;
        while start < word.len() {
            let mut end = word.len();
            let mut found = None;
            while start < end {
                piece.clear();
                if start > 0 {
                    piece.push_str(CONTINUATION);
                }
                piece.push_str(&word[start..end]);
                if let Some(id) = self.id(piece) {
                    found = Some(id);
                    break;
                }
                end = word[..end].char_indices().next_back().map_or(0, |(i, _)| i);
            }
            match found {
                Some(id) => {
                    ids.push(id);
                    start = end;
                }
                None => {
                    ids.truncate(first_new);
                    ids.push(self.unknown);
                    return;
                }
            }
        }
    }
}
