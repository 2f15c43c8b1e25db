//! Word search over the FTS5 index, with user text turned into a safe query.

use rusqlite::{OptionalExtension, params};

use super::Store;
use super::fts_text::{CJK_SEPARATOR, fold, is_cjk};
use super::scope::Scope;
use crate::error::{Error, Result};
use crate::memory::MemoryId;

/// Most matches a word query ranks; past it, its most frequent terms are
/// left out (see `prune_frequent`).
pub const MAX_POSTINGS: i64 = 10_000;
/// Most distinct words taken from one query.
const MAX_QUERY_TERMS: usize = 64;

/// English function words left out of word queries: they match most
/// memories and only add noise to BM25 (on the development split, leaving
/// them out raised R@10 from 0.588 to 0.636). Forms with an apostrophe are
/// listed without it, the way queries are split.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "arent",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "cannot",
    "cant",
    "could",
    "couldnt",
    "d",
    "did",
    "didnt",
    "do",
    "does",
    "doesnt",
    "doing",
    "dont",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "hadnt",
    "has",
    "hasnt",
    "have",
    "havent",
    "having",
    "he",
    "hed",
    "hell",
    "her",
    "here",
    "heres",
    "hers",
    "herself",
    "hes",
    "him",
    "himself",
    "his",
    "how",
    "hows",
    "i",
    "id",
    "if",
    "ill",
    "im",
    "in",
    "into",
    "is",
    "isnt",
    "it",
    "its",
    "itself",
    "ive",
    "lets",
    "ll",
    "m",
    "me",
    "more",
    "most",
    "mustnt",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "ought",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "re",
    "s",
    "same",
    "shant",
    "she",
    "shed",
    "shell",
    "shes",
    "should",
    "shouldnt",
    "so",
    "some",
    "such",
    "t",
    "than",
    "that",
    "thats",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "theres",
    "these",
    "they",
    "theyd",
    "theyll",
    "theyre",
    "theyve",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "ve",
    "very",
    "was",
    "wasnt",
    "we",
    "wed",
    "well",
    "were",
    "werent",
    "weve",
    "what",
    "whats",
    "when",
    "whens",
    "where",
    "wheres",
    "which",
    "while",
    "who",
    "whom",
    "whos",
    "why",
    "whys",
    "with",
    "wont",
    "would",
    "wouldnt",
    "you",
    "youd",
    "youll",
    "your",
    "youre",
    "yours",
    "yourself",
    "yourselves",
    "youve",
];

/// Splits a word at apostrophes, as the FTS tokenizer does.
fn apostrophe_parts(word: &str) -> impl Iterator<Item = &str> {
    word.split(['\'', '’']).filter(|p| !p.is_empty())
}

fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// Turns arbitrary user text into an FTS5 query that cannot be a syntax error:
/// every run of letters and digits becomes a quoted term, and the terms are
/// OR-ed. English stop words are left out, unless the text holds nothing
/// else. A run of CJK characters becomes its overlapping pairs of
/// characters, each a two-token phrase (one character alone is itself).
/// The text is folded as the index is ([`fold`]). Returns `None` when the
/// text holds no word at all.
pub fn match_query(text: &str) -> Option<String> {
    or_query(&query_terms(text))
}

/// Joins terms into an FTS5 OR query of quoted terms; `None` for no terms.
fn or_query(terms: &[String]) -> Option<String> {
    if terms.is_empty() {
        return None;
    }
    let quoted: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
    Some(quoted.join(" OR "))
}

/// Splits one folded word (CJK characters already apart) into its
/// non-CJK parts and, for each run of CJK characters, its pairs.
fn word_terms(word: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let flush_run = |run: &mut Vec<char>, terms: &mut Vec<String>| {
        match run.as_slice() {
            [] => {}
            [one] => terms.push(one.to_string()),
            pairs => terms.extend(
                pairs
                    .windows(2)
                    .map(|p| format!("{}{CJK_SEPARATOR}{}", p[0], p[1])),
            ),
        }
        run.clear();
    };
    for piece in word.split(CJK_SEPARATOR).filter(|p| !p.is_empty()) {
        let mut chars = piece.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if is_cjk(c) => run.push(c),
            _ => {
                flush_run(&mut run, &mut terms);
                terms.push(piece.to_owned());
            }
        }
    }
    flush_run(&mut run, &mut terms);
    terms
}

/// Returns the distinct lower-case words of `text` that [`match_query`] searches.
fn query_terms(text: &str) -> Vec<String> {
    let lowered = fold(text).to_lowercase();
    let is_apostrophe = |c: char| c == '\'' || c == '’';
    let words: Vec<String> = lowered
        .split(|c: char| !c.is_alphanumeric() && !is_apostrophe(c) && c != CJK_SEPARATOR)
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .flat_map(word_terms)
        .collect();
    let content: Vec<&str> = words
        .iter()
        .filter(|w| !is_stop_word(&w.replace(['\'', '’'], "")))
        .flat_map(|w| apostrophe_parts(w))
        .filter(|p| !is_stop_word(p))
        .collect();
    let chosen: Vec<&str> = if content.is_empty() {
        words.iter().flat_map(|w| apostrophe_parts(w)).collect()
    } else {
        content
    };
    let mut terms: Vec<String> = Vec::new();
    for word in chosen {
        if !terms.iter().any(|t| t == word) {
            terms.push(word.to_owned());
        }
        if terms.len() == MAX_QUERY_TERMS {
            break;
        }
    }
    terms
}

/// The FTS5 token that marks the rows of one namespace (see migration 2).
fn namespace_token(namespace: &str) -> String {
    let hex: String = namespace.bytes().map(|b| format!("{b:02x}")).collect();
    format!("ns{hex}")
}

impl Store {
    /// Returns up to `limit` live memories in `scope` that best match the
    /// words of `query`, as (memory, BM25 score) pairs, best first.
    ///
    /// The ranking runs inside the FTS index alone; memory rows are read
    /// only to apply type and time filters, for as many candidates as needed.
    ///
    /// # Failure
    /// Invalid input when the query holds no word.
    pub fn fts_candidates(
        &self,
        scope: &Scope,
        query: &str,
        limit: usize,
    ) -> Result<Vec<(MemoryId, f64)>> {
        let namespace = self.namespace_filter(scope)?;
        let within = |terms: &str| match &namespace {
            Some(namespace) => format!("ns : \"{}\" AND ({terms})", namespace_token(namespace)),
            None => terms.to_owned(),
        };
        let terms = self.prune_frequent(query_terms(query))?;
        let fts_query = within(&or_query(&terms).ok_or_else(|| {
            Error::invalid("the query holds no word to search for (letters or digits)")
        })?);
        let filtered = scope.filters();
        let mut ranked = self.conn().prepare_cached(
            "SELECT rowid, -rank FROM memories_fts WHERE memories_fts MATCH ?1 ORDER BY rank LIMIT ?2",
        )?;
        let mut wanted = if filtered {
            limit.saturating_mul(8)
        } else {
            limit
        };
        loop {
            let hits: Vec<(MemoryId, f64)> = ranked
                .query_map(params![fts_query, wanted as i64], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let exhausted = hits.len() < wanted;
            if !filtered {
                return Ok(hits);
            }
            let mut kept = Vec::with_capacity(limit);
            for hit in hits {
                if scope.admits(self.conn(), hit.0)? {
                    kept.push(hit);
                    if kept.len() == limit {
                        break;
                    }
                }
            }
            if kept.len() == limit || exhausted {
                return Ok(kept);
            }
            wanted = wanted.saturating_mul(8);
        }
    }

    /// Returns the namespace the word query must be limited to: the
    /// scope's, unless the database holds no other namespace. Limiting
    /// costs a pass over every memory of the namespace (BM25 counts the
    /// matches of each phrase of the query, the namespace's included) and
    /// changes no score (the `ns` column weighs nothing in the ranking), so
    /// it is left out when it would keep every match anyway. Every memory's
    /// namespace is a row of `namespaces` (a foreign key).
    fn namespace_filter<'s>(&self, scope: &'s Scope) -> Result<Option<&'s str>> {
        let Some(namespace) = scope.namespace.as_deref() else {
            return Ok(None);
        };
        let others = self
            .conn()
            .prepare_cached("SELECT 1 FROM namespaces WHERE name <> ?1")?
            .exists([namespace])?;
        Ok(others.then_some(namespace))
    }

    /// Leaves out the most frequent terms while the query would rank more
    /// than [`MAX_POSTINGS`] matches, keeping at least the rarest term.
    /// BM25 gives such terms little weight, but scoring every memory that
    /// holds them costs time in proportion to their number. Frequencies are
    /// counted over all namespaces, which is cheaper and close enough.
    fn prune_frequent(&self, terms: Vec<String>) -> Result<Vec<String>> {
        if terms.len() < 2 {
            return Ok(terms);
        }
        // A term past the limit on its own is left out whatever its exact
        // count, unless every term is: counting stops there.
        let over = MAX_POSTINGS + 1;
        let mut counted: Vec<(i64, String)> = Vec::with_capacity(terms.len());
        for term in terms {
            counted.push((self.matches_upto(&term, over)?, term));
        }
        counted.sort_by_key(|&(n, _)| n);
        if counted[0].0 >= over {
            for (n, term) in &mut counted {
                *n = self.matches_upto(term, i64::MAX)?;
            }
            counted.sort_by_key(|&(n, _)| n);
            counted.truncate(1);
        }
        let mut total: i64 = counted.iter().map(|(n, _)| n).sum();
        while total > MAX_POSTINGS && counted.len() > 1 {
            let (n, term) = counted.pop().expect("more than one term");
            tracing::debug!("leaving out {term:?}: it matches {n} memories or more");
            total -= n;
        }
        Ok(counted.into_iter().map(|(_, t)| t).collect())
    }

    /// Counts the memories whose text holds `term`, stopping at `limit`.
    fn matches_upto(&self, term: &str, limit: i64) -> Result<i64> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT count(*) FROM
                 (SELECT 1 FROM memories_fts WHERE memories_fts MATCH ?1 LIMIT ?2)",
            )?
            .query_row(params![format!("\"{term}\""), limit], |row| row.get(0))?)
    }

    /// Returns an excerpt of memory `id` around the words of `query`, as
    /// the index holds it (folded) but without the separators of CJK characters.
    pub fn fts_snippet(&self, query: &str, id: MemoryId) -> Result<String> {
        let Some(terms) = match_query(query) else {
            return Ok(String::new());
        };
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT snippet(memories_fts, -1, '', '', '…', 16) FROM memories_fts
                 WHERE memories_fts MATCH ?1 AND rowid = ?2",
            )?
            .query_row(params![terms, id], |row| row.get::<_, String>(0))
            .optional()?
            .unwrap_or_default()
            .replace(CJK_SEPARATOR, ""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Attached;

    #[test]
    fn user_text_becomes_quoted_terms() {
        let q = |text: &str| match_query(text).unwrap();
        assert_eq!(q("Hello, world!"), r#""hello" OR "world""#);
        assert_eq!(q("x AND (b OR \"c"), r#""x" OR "b" OR "c""#);
        assert_eq!(match_query("* ^ -- ()\""), None);
        assert_eq!(q("NEAR(x y, 2)"), r#""near" OR "x" OR "y" OR "2""#);
        assert_eq!(
            q("What didn't Caroline's dog do?"),
            r#""caroline" OR "dog""#
        );
        assert_eq!(q("what is it"), r#""what" OR "is" OR "it""#);
        assert_eq!(q("İstanbul ﬁles"), r#""istanbul" OR "files""#);
        let sep = CJK_SEPARATOR;
        assert_eq!(
            q("東京タワー"),
            format!("\"東{sep}京\" OR \"京{sep}タ\" OR \"タ{sep}ワ\" OR \"ワ{sep}ー\"")
        );
        assert_eq!(
            q("北 tokyo東京"),
            format!("\"北\" OR \"tokyo\" OR \"東{sep}京\"")
        );
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn terms_past_the_limit_leave_the_rarest_however_close_the_counts() {
        let store = Store::open_in_memory().unwrap();
        let rows = MAX_POSTINGS + 50;
        store
            .conn()
            .execute_batch(&format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
                 INSERT INTO memories_fts (rowid, ns, name, description, body)
                 SELECT i, 'nsx', 'm' || i, '', CASE WHEN i <= 40 THEN 'common' ELSE 'common rare' END
                 FROM n"
            ))
            .unwrap();
        let terms = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let kept = store.prune_frequent(terms(&["common", "rare"])).unwrap();
        assert_eq!(kept, ["rare"]);
        let kept = store
            .prune_frequent(terms(&["common", "unseen", "rare"]))
            .unwrap();
        assert_eq!(kept, ["unseen"]);
    }

    #[test]
    fn hostile_queries_never_fail() {
        let mut store = Store::open_in_memory().unwrap();
        let content =
            crate::memory::Content::new(None, None, "near and or not".into(), None).unwrap();
        let model = crate::embed::StaticModel::new();
        store
            .remember(&model, "global", "m", &content, &Attached::default(), false)
            .unwrap();
        let scope = Scope::namespace("global");
        let no_words = store.fts_candidates(&scope, "\"*()", 10).unwrap_err();
        assert_eq!(no_words.kind(), crate::error::ErrorKind::InvalidInput);
        for query in [
            "a\"b",
            "NEAR(a b)",
            "x*",
            "^start",
            "col:term",
            "((( x",
            "AND",
            "été 東京 🙂",
            "'; DROP TABLE memories; --",
        ] {
            store.fts_candidates(&scope, query, 10).unwrap();
            store
                .fts_snippet(query, crate::memory::MemoryId::from_row_id(1))
                .unwrap();
        }
    }
}
