//! The built-in extractor: finds the entities a memory mentions with fast
//! rules, offline, in one pass over its words.
//!
//! It finds URLs, file paths and file names, code identifiers
//! (`module::path`, `Type::method`, snake_case, camelCase, CamelCase, names
//! in backticks, `call()`), issue ids (`#123`, `ABC-123`), versions
//! (`v1.2`, `1.2.3`), acronyms, and capitalised names of one to six words
//! ("Caroline", "Café Nero", "Bank of America"). A capitalised word that
//! only starts a sentence and is a common English word ("Sounds great",
//! "Yesterday we…") is not a name; weekdays and months are never entities.
//! Each entity is related to the entity mentioned nearest to it
//! (`mentioned_with`, weighted by how close). It knows no dictionary of names: a person, a
//! place and a product all come out as `name` unless a title, a suffix
//! ("Inc", "University", "Street") or the form of the word tells more.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use super::names::{EntityName, Weight};

/// The most entities kept for one memory.
pub const MAX_ENTITIES: usize = 24;
/// The most `mentioned_with` relationships kept for one memory (each
/// entity is related to its nearest neighbour, so at most one per entity).
pub const MAX_RELATIONSHIPS: usize = MAX_ENTITIES;
/// Mentions further apart than this many bytes are not related.
const MAX_GAP: usize = 400;
/// The gap, in bytes, at which a relationship's weight falls to one half.
const HALF_WEIGHT_GAP: f64 = 100.0;
/// The most words in a capitalised name.
const MAX_NAME_WORDS: usize = 6;

/// One entity found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Its name, as first written.
    pub name: EntityName,
    /// Its inferred type.
    pub kind: &'static str,
    /// How many times the text mentions it.
    pub mentions: u32,
}

/// A relationship between two found entities (indexes into
/// [`Extracted::entities`]), from the one mentioned first.
#[derive(Debug, Clone, PartialEq)]
pub struct CoMention {
    /// The entity mentioned first.
    pub from: usize,
    /// The entity mentioned after it.
    pub to: usize,
    /// How close their nearest mentions are, in (0, 1].
    pub weight: Weight,
}

/// What the extractor found in one text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    /// The entities, most telling first.
    pub entities: Vec<Found>,
    /// Entities mentioned near each other.
    pub relationships: Vec<CoMention>,
}

/// Finds the entities in `text` and how they are related.
pub fn extract(text: &str) -> Extracted {
    let mut seen = Seen::default();
    let mut phrase = Phrase::default();
    for word in words(text) {
        match classify(&word) {
            Class::Entity(kind, name) => {
                phrase.finish(&mut seen);
                seen.add(name, kind, word.start);
            }
            Class::Capitalised(name) => {
                if !phrase.extends_with(&word) {
                    phrase.finish(&mut seen);
                }
                phrase.push(&word, name);
            }
            Class::Connector if phrase.is_open() && !word.breaks_before => {
                phrase.push_connector(word.text);
            }
            Class::Connector | Class::Other => phrase.finish(&mut seen),
        }
        if word.ends_clause {
            phrase.finish(&mut seen);
        }
    }
    phrase.finish(&mut seen);
    seen.into_extracted()
}

/// Finds the entities of a memory: its description, then its body.
pub fn extract_memory(description: &str, body: &str) -> Extracted {
    if description.is_empty() {
        extract(body)
    } else {
        extract(&format!("{description}\n{body}"))
    }
}

/// A white-space separated word of the text, cleaned of the punctuation
/// around it.
#[derive(Debug)]
struct Word<'a> {
    /// The word without surrounding quotes, brackets, emphasis and
    /// trailing punctuation.
    text: &'a str,
    /// Byte offset of the raw word in the text.
    start: usize,
    /// Whether it starts a sentence (or a line).
    sentence_start: bool,
    /// Whether punctuation or a line break separates it from the word before.
    breaks_before: bool,
    /// Whether punctuation after it ends a clause.
    ends_clause: bool,
    /// Whether it was written in backticks.
    backticked: bool,
    /// Whether it was written as a call, `name()`.
    called: bool,
}

/// Splits `text` into cleaned words.
fn words(text: &str) -> impl Iterator<Item = Word<'_>> {
    let mut sentence_start = true;
    let mut breaks_before = true;
    let mut rest = text;
    let mut offset = 0;
    std::iter::from_fn(move || {
        loop {
            let skipped = rest.len() - rest.trim_start().len();
            let newline = rest[..skipped].contains('\n');
            if newline {
                sentence_start = true;
                breaks_before = true;
            }
            offset += skipped;
            rest = &rest[skipped..];
            if rest.is_empty() {
                return None;
            }
            let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let raw = &rest[..len];
            let start = offset;
            offset += len;
            rest = &rest[len..];
            let word = clean(raw, start, sentence_start, breaks_before);
            let Some(mut word) = word else {
                // Punctuation alone (a list bullet, a heading mark, a dash).
                breaks_before = true;
                continue;
            };
            let last = raw.trim_end_matches(['"', '\'', '”', '’', ')', ']', '*', '`', '_']);
            if last.ends_with('.') && is_abbreviation(last) {
                word.ends_clause = false;
                sentence_start = false;
            } else {
                sentence_start = last.ends_with(['.', '!', '?', ':']);
            }
            breaks_before = word.ends_clause;
            return Some(word);
        }
    })
}

/// Abbreviations whose period does not end a sentence.
fn is_abbreviation(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "mr." | "mrs." | "ms." | "dr." | "prof." | "st." | "e.g." | "i.e." | "vs." | "etc." | "no."
    )
}

/// Cleans one raw word; `None` if nothing but punctuation is left.
fn clean(raw: &str, start: usize, sentence_start: bool, breaks_before: bool) -> Option<Word<'_>> {
    let opening = ['(', '[', '{', '<', '"', '\'', '“', '‘', '*', '`', '>'];
    let text = raw.trim_start_matches(opening);
    let lead = raw.len() - text.len();
    let backticked = raw[..lead].contains('`');
    let mut text = text;
    let mut ends_clause = false;
    loop {
        let trimmed = text
            .trim_end_matches(['"', '\'', '”', '’', '*', '`', ']', '}', '>'])
            .trim_end_matches([',', ';', ':', '!', '?', '.']);
        if trimmed.len() != text.len() {
            ends_clause |= text[trimmed.len()..].contains([',', ';', ':', '!', '?', '.']);
        }
        let without_paren = if trimmed.ends_with(')') && !trimmed.ends_with("()") {
            &trimmed[..trimmed.len() - 1]
        } else {
            trimmed
        };
        if without_paren.len() == text.len() {
            break;
        }
        if without_paren.len() != trimmed.len() {
            ends_clause = true;
        }
        text = without_paren;
    }
    let called = text.ends_with("()");
    let text = text.trim_end_matches("()");
    let text = text
        .strip_suffix("'s")
        .or_else(|| text.strip_suffix("’s"))
        .unwrap_or(text);
    if !text.chars().any(char::is_alphanumeric) {
        return None;
    }
    Some(Word {
        text,
        start: start + lead,
        sentence_start,
        breaks_before,
        ends_clause,
        backticked,
        called,
    })
}

/// What a word is to the extractor.
enum Class<'a> {
    /// An entity on its own: its type and name.
    Entity(&'static str, &'a str),
    /// A capitalised word, maybe part of a longer name.
    Capitalised(&'a str),
    /// A small word that may join the words of a name ("of", "de").
    Connector,
    /// Anything else.
    Other,
}

fn classify<'a>(word: &Word<'a>) -> Class<'a> {
    let text = word.text;
    // Most words are plain lower-case words: none of the forms below.
    if !word.backticked && !word.called && text.bytes().all(|b| b.is_ascii_lowercase()) {
        return if CONNECTORS.contains(&text) {
            Class::Connector
        } else {
            Class::Other
        };
    }
    if is_url(text) {
        return Class::Entity("url", text);
    }
    if is_issue(text) {
        return Class::Entity("issue", text);
    }
    if is_version(text) {
        return Class::Entity("version", text);
    }
    if is_path(text) || is_file_name(text) {
        return Class::Entity("file", text);
    }
    if is_code_identifier(text) || ((word.backticked || word.called) && is_identifier(text)) {
        return Class::Entity("symbol", text);
    }
    if is_acronym(text) {
        return if is_common(text) {
            Class::Other
        } else {
            Class::Capitalised(text)
        };
    }
    if is_capitalised(text) {
        if is_never_a_name(text) || (word.sentence_start && is_common(text)) {
            return Class::Other;
        }
        return Class::Capitalised(text);
    }
    if CONNECTORS.contains(&text) {
        return Class::Connector;
    }
    Class::Other
}

fn is_url(text: &str) -> bool {
    let lower = text
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    (lower.starts_with("http://") || lower.starts_with("https://")) && text.len() > 10
}

/// `#123`, or a tracker key such as `ABC-123`.
fn is_issue(text: &str) -> bool {
    if let Some(number) = text.strip_prefix('#') {
        return (1..=7).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit());
    }
    let Some((project, number)) = text.split_once('-') else {
        return false;
    };
    (2..=10).contains(&project.len())
        && project.as_bytes()[0].is_ascii_uppercase()
        && project
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && (1..=7).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// `v1.2`, `v2`, `1.2.3`, `1.2.3-rc.1`: a `v` and one dot, or three numbers.
fn is_version(text: &str) -> bool {
    let (prefixed, rest) = match text.strip_prefix(['v', 'V']) {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let core = rest.split_once(['-', '+']).map_or(rest, |(core, _)| core);
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = parts
        .iter()
        .all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()));
    numeric && ((prefixed && parts.len() >= 2) || parts.len() >= 3)
}

/// File extensions the extractor knows.
const EXTENSIONS: &[&str] = &[
    "c", "cc", "cfg", "conf", "cpp", "cs", "css", "csv", "go", "gradle", "h", "hpp", "html", "ini",
    "ipynb", "java", "js", "json", "jsonl", "jsx", "kt", "lock", "log", "lua", "md", "mjs", "nix",
    "php", "pl", "png", "proto", "py", "rb", "rs", "scss", "sh", "sql", "sqlite", "svg", "swift",
    "tf", "toml", "ts", "tsx", "txt", "vue", "xml", "yaml", "yml", "zig",
];

/// Names of files that have no extension.
const PLAIN_FILE_NAMES: &[&str] = &[
    "Dockerfile",
    "Containerfile",
    "Makefile",
    "Justfile",
    "Gemfile",
    "Rakefile",
    "Procfile",
    "LICENSE",
    "README",
    "CHANGELOG",
];

fn has_known_extension(name: &str) -> bool {
    match name.rsplit_once('.') {
        Some((stem, ext)) => {
            stem.chars().any(char::is_alphanumeric)
                && EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
        }
        None => false,
    }
}

fn is_path_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '~' | '@' | '+')
}

/// A path with a slash: rooted (`/etc/hosts`, `./x`, `../x`, `~/x`) or
/// ending in a file with a known extension (`src/main.rs`).
fn is_path(text: &str) -> bool {
    if !text.contains('/') || text.starts_with("//") || !text.chars().all(is_path_char) {
        return false;
    }
    if !text.chars().any(char::is_alphabetic) {
        return false;
    }
    let rooted = ["/", "./", "../", "~/"].iter().any(|p| text.starts_with(p));
    let last = text.rsplit('/').next().unwrap_or("");
    (rooted && text.len() > 2) || has_known_extension(last)
}

/// A file name alone: `Cargo.toml`, `main.rs`, `Dockerfile`.
fn is_file_name(text: &str) -> bool {
    PLAIN_FILE_NAMES.contains(&text)
        || (text.chars().all(is_path_char) && has_known_extension(text))
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `a::b`, snake_case, SCREAMING_SNAKE, camelCase and CamelCase names.
fn is_code_identifier(text: &str) -> bool {
    if text.contains("::") {
        return text
            .split("::")
            .all(|part| !part.is_empty() && is_identifier(part));
    }
    if !is_identifier(text) {
        return false;
    }
    let inner = text.trim_matches('_');
    let snake = inner.contains('_') && inner.chars().any(|c| c.is_ascii_alphabetic());
    let bytes = text.as_bytes();
    let mut hump = false;
    for pair in bytes.windows(2) {
        if pair[0].is_ascii_lowercase() && pair[1].is_ascii_uppercase() {
            hump = true;
        }
    }
    snake || hump
}

/// Two to eight capitals or digits with at least two capitals: `API`, `S3`
/// is not one, `HTTP2` is.
fn is_acronym(text: &str) -> bool {
    (2..=8).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && text.bytes().filter(u8::is_ascii_uppercase).count() >= 2
}

/// An upper-case letter followed by letters (of any script), apostrophes
/// or hyphens, with at least one lower-case letter: `Caroline`, `Zürich`,
/// `O'Brien`, `Jean-Luc`.
fn is_capitalised(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(char::is_uppercase)
        && text.chars().any(char::is_lowercase)
        && chars.all(|c| c.is_alphabetic() || matches!(c, '\'' | '’' | '-'))
}

/// Lower-case words that may stand inside a name.
const CONNECTORS: &[&str] = &[
    "of", "de", "da", "di", "do", "dos", "das", "du", "del", "della", "der", "den", "van", "von",
    "la", "le", "bin", "al", "y",
];

/// Weekdays and months: dates, never entities.
const CALENDAR: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Pronouns, articles and conjunctions: never names, wherever they stand.
const FUNCTION_WORDS: &[&str] = &[
    "i", "me", "my", "we", "us", "our", "you", "your", "he", "him", "his", "she", "her", "it",
    "its", "they", "them", "their", "this", "that", "these", "those", "the", "a", "an", "and",
    "or", "but", "nor", "so", "if", "then", "than", "as", "of", "to", "in", "on", "at", "by",
    "for", "with", "from", "not", "no", "yes",
];

fn is_never_a_name(text: &str) -> bool {
    let lower = text.to_lowercase();
    word_set(&NEVER_NAMES, &[CALENDAR, FUNCTION_WORDS]).contains(lower.as_str())
        || is_contraction(&lower)
}

/// Words that are never names: [`CALENDAR`] and [`FUNCTION_WORDS`].
static NEVER_NAMES: OnceLock<HashSet<&'static str>> = OnceLock::new();
/// The words of [`COMMON`].
static COMMON_WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();

/// The set `cell` holds, made from `lists` the first time it is asked for.
fn word_set<'a>(
    cell: &'a OnceLock<HashSet<&'static str>>,
    lists: &[&[&'static str]],
) -> &'a HashSet<&'static str> {
    cell.get_or_init(|| lists.iter().flat_map(|list| list.iter().copied()).collect())
}

/// `you've`, `it'll`, `don't`: a word, an apostrophe and a short ending
/// (where a name such as `O'Brien` has a capital after it).
fn is_contraction(lower: &str) -> bool {
    lower
        .rsplit_once(['\'', '’'])
        .is_some_and(|(_, end)| matches!(end, "s" | "t" | "d" | "m" | "ll" | "ve" | "re"))
}

/// Common English words that a sentence may start with: capitalised there
/// only because they start it.
const COMMON: &[&str] = &[
    "a",
    "about",
    "absolutely",
    "actually",
    "after",
    "again",
    "ah",
    "all",
    "also",
    "although",
    "always",
    "am",
    "amazing",
    "an",
    "and",
    "another",
    "any",
    "anyway",
    "are",
    "as",
    "at",
    "awesome",
    "aw",
    "back",
    "be",
    "because",
    "been",
    "before",
    "being",
    "best",
    "both",
    "but",
    "by",
    "can",
    "can't",
    "check",
    "congrats",
    "congratulations",
    "could",
    "did",
    "didn't",
    "do",
    "does",
    "doing",
    "don't",
    "done",
    "each",
    "either",
    "enjoy",
    "even",
    "ever",
    "every",
    "everything",
    "exactly",
    "feel",
    "feeling",
    "finally",
    "first",
    "for",
    "from",
    "fun",
    "gave",
    "get",
    "getting",
    "give",
    "glad",
    "go",
    "going",
    "good",
    "got",
    "great",
    "had",
    "happy",
    "has",
    "have",
    "having",
    "he",
    "hello",
    "her",
    "here",
    "hey",
    "hi",
    "him",
    "his",
    "hmm",
    "hope",
    "how",
    "however",
    "i",
    "if",
    "in",
    "indeed",
    "instead",
    "is",
    "isn't",
    "it",
    "it's",
    "its",
    "just",
    "keep",
    "know",
    "last",
    "later",
    "let",
    "let's",
    "like",
    "look",
    "looking",
    "lol",
    "love",
    "made",
    "make",
    "making",
    "many",
    "maybe",
    "me",
    "meanwhile",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "never",
    "new",
    "next",
    "nice",
    "no",
    "nope",
    "not",
    "nothing",
    "now",
    "of",
    "oh",
    "ok",
    "okay",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "out",
    "over",
    "perhaps",
    "please",
    "plus",
    "pretty",
    "quite",
    "really",
    "right",
    "said",
    "same",
    "saw",
    "see",
    "seems",
    "she",
    "should",
    "since",
    "so",
    "some",
    "someone",
    "something",
    "sometimes",
    "soon",
    "sorry",
    "sounds",
    "still",
    "such",
    "sure",
    "take",
    "thank",
    "thanks",
    "that",
    "that's",
    "the",
    "their",
    "them",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "thing",
    "things",
    "think",
    "this",
    "those",
    "though",
    "thought",
    "through",
    "to",
    "today",
    "together",
    "tomorrow",
    "tonight",
    "too",
    "totally",
    "true",
    "try",
    "trying",
    "two",
    "um",
    "under",
    "until",
    "up",
    "us",
    "use",
    "used",
    "using",
    "very",
    "was",
    "wasn't",
    "we",
    "we're",
    "well",
    "went",
    "were",
    "what",
    "what's",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "without",
    "wow",
    "would",
    "yay",
    "yeah",
    "yes",
    "yesterday",
    "yet",
    "you",
    "you're",
    "your",
    "yours",
    "yup",
    "ps",
    "fyi",
    "tbh",
    "btw",
    "omg",
    "note",
    "todo",
    "fix",
    "fixed",
    "add",
    "added",
    "update",
    "updated",
    "remove",
    "removed",
    "run",
    "ran",
    "read",
    "decided",
    "decision",
    "remember",
    "ask",
    "asked",
    "tell",
    "told",
    "fixes",
    "adds",
    "uses",
    "moves",
    "makes",
    "looks",
    "works",
    "means",
    "feels",
    "config",
    "setup",
    "test",
    "tests",
    "build",
    "bug",
    "error",
    "issue",
    "changes",
    "step",
    "steps",
    "gonna",
    "wanna",
    "gotta",
    "kinda",
    "sorta",
    "yep",
    "yea",
    "talk",
    "conversations",
    "cool",
    "cute",
    "sweet",
    "lovely",
    "beautiful",
    "wonderful",
    "interesting",
    "definitely",
    "haha",
    "agreed",
    "agree",
    "alright",
    "bye",
    "cheers",
    "welcome",
    "morning",
    "evening",
    "night",
    "week",
    "year",
    "month",
    "day",
    "weekend",
    "life",
    "people",
    "family",
    "friends",
    "work",
    "sharing",
    "anything",
    "everyone",
    "nobody",
    "somebody",
    "whatever",
    "speaking",
    "seeing",
    "hearing",
    "knowing",
    "wishing",
    "hoping",
    "excited",
    "proud",
    "wish",
    "need",
    "want",
    "say",
    "mine",
    "ours",
    "dear",
    "guess",
];

/// Whether a capitalised word that starts a sentence is just a word: a
/// common one, or one with the ending of a verb form or an adverb
/// ("Upgraded", "Fixes", "Thinking", "Honestly").
fn is_common(text: &str) -> bool {
    let lower = text.to_lowercase();
    let verb_like =
        lower.chars().count() >= 6 && ["ed", "ing", "ly"].iter().any(|end| lower.ends_with(end));
    verb_like
        || is_contraction(&lower)
        || word_set(&COMMON_WORDS, &[COMMON]).contains(lower.as_str())
}

/// Words before a name that make it a person's.
const TITLES: &[&str] = &["mr", "mrs", "ms", "dr", "prof", "sir", "madam"];
/// Last words that make a name an organisation's.
const ORGANISATION_WORDS: &[&str] = &[
    "inc",
    "corp",
    "corporation",
    "ltd",
    "llc",
    "gmbh",
    "foundation",
    "university",
    "institute",
    "college",
    "bank",
    "company",
    "group",
    "labs",
    "association",
    "agency",
    "council",
    "committee",
    "department",
    "ministry",
    "society",
    "school",
    "team",
];
/// Last words that make a name a place's.
const PLACE_WORDS: &[&str] = &[
    "street",
    "avenue",
    "road",
    "city",
    "park",
    "river",
    "lake",
    "mountain",
    "mountains",
    "county",
    "island",
    "islands",
    "beach",
    "bay",
    "valley",
    "square",
    "bridge",
    "station",
    "airport",
    "café",
    "cafe",
    "restaurant",
    "museum",
    "hospital",
    "village",
    "town",
];

/// A capitalised name being read, word by word.
#[derive(Default)]
struct Phrase<'a> {
    words: Vec<&'a str>,
    /// Connectors read after the last capitalised word, kept only if
    /// another capitalised word follows.
    pending: Vec<&'a str>,
    start: usize,
}

impl<'a> Phrase<'a> {
    fn is_open(&self) -> bool {
        !self.words.is_empty()
    }

    fn extends_with(&self, word: &Word<'_>) -> bool {
        self.is_open()
            && !word.breaks_before
            && self.words.len() + self.pending.len() < MAX_NAME_WORDS
    }

    fn push(&mut self, word: &Word<'a>, text: &'a str) {
        if self.words.is_empty() {
            self.start = word.start;
        }
        self.words.append(&mut self.pending);
        self.words.push(text);
    }

    fn push_connector(&mut self, text: &'a str) {
        self.pending.push(text);
    }

    /// Ends the name, if one is being read, and records it.
    fn finish(&mut self, seen: &mut Seen) {
        self.pending.clear();
        if self.words.is_empty() {
            return;
        }
        let words = std::mem::take(&mut self.words);
        let title = words
            .first()
            .is_some_and(|w| TITLES.contains(&w.to_lowercase().trim_end_matches('.')));
        let words: &[&str] = if title && words.len() > 1 {
            &words[1..]
        } else {
            &words
        };
        let last = words.last().map(|w| w.to_lowercase()).unwrap_or_default();
        let kind = if title {
            "person"
        } else if ORGANISATION_WORDS.contains(&last.as_str()) && words.len() > 1 {
            "organization"
        } else if PLACE_WORDS.contains(&last.as_str()) && words.len() > 1 {
            "place"
        } else if words.len() == 1 && is_acronym(words[0]) {
            "concept"
        } else {
            "name"
        };
        let is_title_alone =
            title && words.len() == 1 && TITLES.contains(&last.trim_end_matches('.'));
        if !is_title_alone {
            seen.add(&words.join(" "), kind, self.start);
        }
    }
}

/// The entities found so far, by key.
#[derive(Default)]
struct Seen {
    order: Vec<Candidate>,
    by_key: HashMap<String, usize>,
}

struct Candidate {
    name: EntityName,
    kind: &'static str,
    offsets: Vec<usize>,
}

impl Seen {
    fn add(&mut self, text: &str, kind: &'static str, offset: usize) {
        let Ok(name) = EntityName::new(text) else {
            return;
        };
        let key = name.key().as_str().to_owned();
        match self.by_key.get(&key) {
            Some(&index) => self.order[index].offsets.push(offset),
            None => {
                self.by_key.insert(key, self.order.len());
                self.order.push(Candidate {
                    name,
                    kind,
                    offsets: vec![offset],
                });
            }
        }
    }

    /// Keeps the [`MAX_ENTITIES`] most telling entities (code and
    /// references before names, then the most mentioned, then the first),
    /// and relates those mentioned close together.
    fn into_extracted(self) -> Extracted {
        let mut kept = self.order;
        let rank = |c: &Candidate| match c.kind {
            "name" | "person" | "place" | "organization" => 1,
            "concept" => 2,
            _ => 0,
        };
        kept.sort_by(|a, b| {
            rank(a)
                .cmp(&rank(b))
                .then(b.offsets.len().cmp(&a.offsets.len()))
                .then(a.offsets[0].cmp(&b.offsets[0]))
        });
        kept.truncate(MAX_ENTITIES);
        kept.sort_by_key(|c| c.offsets[0]);
        // Each entity is related to the one mentioned nearest to it (within
        // MAX_GAP): the few relationships that say the most, not every pair.
        let mut nearest: HashMap<(usize, usize), usize> = HashMap::new();
        for (i, a) in kept.iter().enumerate() {
            let closest = kept
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(j, b)| (nearest_gap(&a.offsets, &b.offsets), j))
                .min();
            if let Some((gap, j)) = closest.filter(|&(gap, _)| gap <= MAX_GAP) {
                nearest.insert((i.min(j), i.max(j)), gap);
            }
        }
        let mut relationships = Vec::new();
        for ((from, to), gap) in nearest {
            let weight = 1.0 / (1.0 + gap as f64 / HALF_WEIGHT_GAP);
            let rounded = (weight * 1000.0).round() / 1000.0;
            if let Ok(weight) = Weight::new(rounded) {
                relationships.push(CoMention { from, to, weight });
            }
        }
        relationships.sort_by(|x, y| y.weight.get().total_cmp(&x.weight.get()));
        relationships.truncate(MAX_RELATIONSHIPS);
        relationships.sort_by_key(|r| (r.from, r.to));
        Extracted {
            entities: kept
                .into_iter()
                .map(|c| Found {
                    mentions: u32::try_from(c.offsets.len()).unwrap_or(u32::MAX),
                    name: c.name,
                    kind: c.kind,
                })
                .collect(),
            relationships,
        }
    }
}

/// The smallest distance between an offset of `a` and one of `b` (both
/// ascending).
fn nearest_gap(a: &[usize], b: &[usize]) -> usize {
    let (mut i, mut j, mut best) = (0, 0, usize::MAX);
    while i < a.len() && j < b.len() {
        best = best.min(a[i].abs_diff(b[j]));
        if a[i] < b[j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(String, &'static str)> {
        extract(text)
            .entities
            .into_iter()
            .map(|f| (f.name.as_str().to_owned(), f.kind))
            .collect()
    }

    fn pairs(list: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        list.iter().map(|(n, k)| ((*n).to_owned(), *k)).collect()
    }

    #[test]
    fn the_table() {
        let table: &[(&str, &[(&str, &str)])] = &[
            // Code.
            (
                "Fixed the race in src/slots/queue.rs: Ticket::wait polled; now open_for_reading() sleeps.",
                &[
                    ("src/slots/queue.rs", "file"),
                    ("Ticket::wait", "symbol"),
                    ("open_for_reading", "symbol"),
                ],
            ),
            (
                "Use `HashMap` from std::collections, not BTreeMap; see Cargo.toml and MAX_SLOTS_LIMIT.",
                &[
                    ("HashMap", "symbol"),
                    ("std::collections", "symbol"),
                    ("BTreeMap", "symbol"),
                    ("Cargo.toml", "file"),
                    ("MAX_SLOTS_LIMIT", "symbol"),
                ],
            ),
            (
                "getElementById returns null before DOMContentLoaded; call `render` after it.",
                &[
                    ("getElementById", "symbol"),
                    ("DOMContentLoaded", "symbol"),
                    ("render", "symbol"),
                ],
            ),
            // References.
            (
                "Upgraded rusqlite to v0.43 (see https://github.com/rusqlite/rusqlite/pull/1234). Fixes #88 and PROJ-1412; SQLite 3.50.2 is bundled.",
                &[
                    ("v0.43", "version"),
                    ("https://github.com/rusqlite/rusqlite/pull/1234", "url"),
                    ("#88", "issue"),
                    ("PROJ-1412", "issue"),
                    ("3.50.2", "version"),
                    ("SQLite", "name"),
                ],
            ),
            (
                "Config lives in ~/.config/app/config.json and /etc/hosts; and/or TCP/IP are not paths.",
                &[
                    ("~/.config/app/config.json", "file"),
                    ("/etc/hosts", "file"),
                    ("TCP/IP", "file"),
                ][..2],
            ),
            // Prose.
            (
                "Caroline went to the LGBTQ support group with Melanie. Sounds great! Yesterday she met Dr. Jane Smith at Café Nero.",
                &[
                    ("Caroline", "name"),
                    ("Melanie", "name"),
                    ("Jane Smith", "person"),
                    ("Café Nero", "name"),
                    ("LGBTQ", "concept"),
                ],
            ),
            (
                "The Bank of America and Stanford University opened an office on Market Street in São Paulo on Monday in March.",
                &[
                    ("Bank of America", "name"),
                    ("Stanford University", "organization"),
                    ("Market Street", "place"),
                    ("São Paulo", "name"),
                ],
            ),
            (
                "I think we should ask Zoë. Thanks! Awesome, we decided: Postgres stays.",
                &[("Zoë", "name"), ("Postgres", "name")],
            ),
            // Markdown.
            (
                "## Decision\n- **Auth** moves to `auth_service`\n- Owner: Priya Raman\n> see docs/AUTH.md",
                &[
                    ("auth_service", "symbol"),
                    ("docs/AUTH.md", "file"),
                    ("Auth", "name"),
                    ("Owner", "name"),
                    ("Priya Raman", "name"),
                ],
            ),
            // Nothing.
            ("we talked about it for a while and then left.", &[]),
            ("", &[]),
        ];
        let mut wrong = Vec::new();
        for (text, expected) in table {
            let mut got = found(text);
            let mut want = pairs(expected);
            got.sort();
            want.sort();
            if got != want {
                wrong.push(format!("{text}\n  got:  {got:?}\n  want: {want:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn a_name_mentioned_twice_is_one_entity_counted_twice() {
        let out = extract("Melanie paints. Later melanie and MELANIE talked with Melanie.");
        let melanie: Vec<_> = out
            .entities
            .iter()
            .filter(|f| f.name.key().as_str() == "melanie")
            .collect();
        assert_eq!(melanie.len(), 1);
        assert_eq!(melanie[0].mentions, 3, "lower-case mentions do not count");
    }

    #[test]
    fn entities_are_bounded_and_close_ones_are_related() {
        let text: String = (0..100).map(|i| format!("file{i}.rs ")).collect();
        let out = extract(&text);
        assert_eq!(out.entities.len(), MAX_ENTITIES);
        assert!(out.relationships.len() <= MAX_RELATIONSHIPS);
        let near = extract("Alice met Bob.");
        assert_eq!(near.relationships.len(), 1);
        let r = &near.relationships[0];
        assert_eq!((r.from, r.to), (0, 1));
        assert!(r.weight.get() > 0.9);
        let far = format!("Alice {} Bob", "x ".repeat(300));
        assert!(extract(&far).relationships.is_empty());
    }
}
