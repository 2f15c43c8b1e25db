//! Word search over the FTS5 index, with user text turned into a safe query.

use rusqlite::params;
use serde::Serialize;

use super::Store;
use super::scope::Scope;
use crate::error::{Error, Result};
use crate::memory::MemoryId;
use crate::time::Timestamp;

/// Most distinct words taken from one query.
const MAX_QUERY_TERMS: usize = 64;

/// One word-search result.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    /// The memory's row id.
    pub memory_id: MemoryId,
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its description.
    pub description: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// BM25 relevance, higher is better (SQLite's `bm25()` negated).
    pub score: f64,
    /// A short excerpt around the matched words.
    pub snippet: String,
}

/// Turns arbitrary user text into an FTS5 query that cannot be a syntax error:
/// every run of letters and digits becomes a quoted term, and the terms are
/// OR-ed. Returns `None` when the text holds no word at all.
pub fn match_query(text: &str) -> Option<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_lowercase();
        if !terms.contains(&word) {
            terms.push(word);
        }
        if terms.len() == MAX_QUERY_TERMS {
            break;
        }
    }
    if terms.is_empty() {
        return None;
    }
    let quoted: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
    Some(quoted.join(" OR "))
}

impl Store {
    /// Returns the `limit` live memories in `scope` that best match the
    /// words of `query` by BM25.
    ///
    /// # Failure
    /// Invalid input when the query holds no word; not-found for an unknown namespace.
    pub fn search(&self, scope: &Scope, query: &str, limit: u32) -> Result<Vec<SearchHit>> {
        scope.check(self.conn())?;
        let fts_query = match_query(query).ok_or_else(|| {
            Error::invalid("the query holds no word to search for (letters or digits)")
        })?;
        let mut stmt = self.conn().prepare_cached(
            "SELECT m.id, m.name, m.namespace, m.type, m.description, m.created_at,
                    -bm25(memories_fts) AS score,
                    snippet(memories_fts, -1, '', '', '…', 16)
             FROM memories_fts JOIN memories AS m ON m.id = memories_fts.rowid
             WHERE memories_fts MATCH ?1
               AND (?2 IS NULL OR m.namespace = ?2) AND (?3 IS NULL OR m.type = ?3)
               AND (?4 IS NULL OR m.created_at >= ?4) AND (?5 IS NULL OR m.created_at <= ?5)
             ORDER BY bm25(memories_fts) LIMIT ?6",
        )?;
        let args = params![
            fts_query,
            scope.namespace,
            scope.kind,
            scope.since.map(|t| t.0),
            scope.until.map(|t| t.0),
            limit
        ];
        let hits = stmt.query_map(args, |row| {
            Ok(SearchHit {
                memory_id: MemoryId(row.get(0)?),
                name: row.get(1)?,
                namespace: row.get(2)?,
                kind: row.get(3)?,
                description: row.get(4)?,
                created_at: Timestamp(row.get(5)?),
                score: row.get(6)?,
                snippet: row.get(7)?,
            })
        })?;
        Ok(hits.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_becomes_quoted_terms() {
        assert_eq!(
            match_query("Hello, world!").unwrap(),
            "\"hello\" OR \"world\""
        );
        assert_eq!(
            match_query("a AND (b OR \"c").unwrap(),
            "\"a\" OR \"and\" OR \"b\" OR \"or\" OR \"c\""
        );
        assert_eq!(match_query("* ^ -- ()\""), None);
        assert_eq!(
            match_query("NEAR(x y, 2)").unwrap(),
            "\"near\" OR \"x\" OR \"y\" OR \"2\""
        );
    }

    #[test]
    fn hostile_queries_never_fail() {
        let mut store = Store::open_in_memory().unwrap();
        let content =
            crate::memory::Content::new(None, None, "near and or not".into(), None).unwrap();
        store.remember("global", "m", &content, false).unwrap();
        let no_words = store
            .search(&Scope::namespace("global"), "\"*()", 10)
            .unwrap_err();
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
            store
                .search(&Scope::namespace("global"), query, 10)
                .unwrap();
        }
    }
}
