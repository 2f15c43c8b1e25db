//! Retrieval: by meaning (`recall`), and by meaning and words fused
//! (`hybrid_search`).

mod fusion;

use serde::Serialize;

use crate::embed::default_embedder;
use crate::error::{Error, Result};
use crate::memory::{Memory, MemoryId};
use crate::store::{Scope, Store, VectorHit};
use crate::time::Timestamp;

pub use fusion::{FTS_WEIGHT, VECTOR_WEIGHT, fuse};

/// How many candidates each ranker contributes to the fusion.
pub const CANDIDATES: usize = 100;
/// Longest snippet, in characters.
const SNIPPET_CHARS: usize = 200;

/// Where a result ranked in each list it came from (1-based) and with what score.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MatchInfo {
    /// Rank among the word (BM25) matches.
    pub fts_rank: Option<usize>,
    /// BM25 score, higher is better.
    pub fts_score: Option<f64>,
    /// Rank among the vector matches.
    pub vector_rank: Option<usize>,
    /// Cosine similarity of the best chunk.
    pub vector_score: Option<f32>,
}

/// One search result.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
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
    /// The ranking score, higher is better.
    pub score: f64,
    /// A short excerpt: around the matched words, or the best chunk.
    pub snippet: String,
    /// How each ranker saw it.
    #[serde(rename = "match")]
    pub matched: MatchInfo,
}

/// Embeds `query` and checks the database holds vectors of the same space.
fn embed_query(store: &Store, query: &str) -> Result<Vec<f32>> {
    let embedder = default_embedder();
    store.check_space(embedder)?;
    let mut vectors = embedder.embed(&[query])?;
    Ok(vectors.pop().unwrap_or_default())
}

/// Returns the vector hits in `scope`, best first, at most `limit`, with
/// their memories.
fn vector_candidates(
    store: &Store,
    scope: &Scope,
    query: &[f32],
    limit: usize,
) -> Result<Vec<(VectorHit, Memory)>> {
    if query.iter().all(|&x| x == 0.0) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for hit in store.vector_scan(scope.namespace.as_deref(), query)? {
        if out.len() == limit {
            break;
        }
        if let Some(memory) = store.memory(hit.memory_id)?.filter(|m| scope.admits(m)) {
            out.push((hit, memory));
        }
    }
    Ok(out)
}

fn snippet_of(memory: &Memory, range: (usize, usize)) -> String {
    let body = memory.body.as_deref().unwrap_or_default();
    let text = body.get(range.0..range.1).unwrap_or(body).trim();
    let mut chars = text.char_indices();
    match chars.nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn result_from(memory: Memory, score: f64, snippet: String, matched: MatchInfo) -> SearchResult {
    SearchResult {
        memory_id: memory.memory_id,
        name: memory.name,
        namespace: memory.namespace,
        kind: memory.kind,
        description: memory.description,
        created_at: memory.created_at,
        score,
        snippet,
        matched,
    }
}

/// Returns the `k` memories in `scope` whose best chunk is most similar to
/// `query` (cosine similarity of the built-in embeddings).
///
/// # Failure
/// Not-found for an unknown namespace; invalid input if the database holds
/// vectors of another embedding space.
pub fn recall(store: &Store, query: &str, k: usize, scope: &Scope) -> Result<Vec<SearchResult>> {
    store.check_scope(scope)?;
    let vector = embed_query(store, query)?;
    let hits = vector_candidates(store, scope, &vector, k)?;
    Ok(hits
        .into_iter()
        .enumerate()
        .map(|(i, (hit, memory))| {
            let snippet = snippet_of(&memory, hit.range);
            let matched = MatchInfo {
                vector_rank: Some(i + 1),
                vector_score: Some(hit.score),
                ..MatchInfo::default()
            };
            result_from(memory, f64::from(hit.score), snippet, matched)
        })
        .collect())
}

/// Returns the `k` memories in `scope` that rank best when the BM25 word
/// ranking and the vector ranking are fused (see [`fuse`]).
///
/// # Failure
/// Invalid input when the query has neither a word nor anything the model
/// knows; otherwise as [`recall`].
pub fn hybrid_search(
    store: &Store,
    query: &str,
    k: usize,
    scope: &Scope,
) -> Result<Vec<SearchResult>> {
    store.check_scope(scope)?;
    let fts = match store.search(scope, query, CANDIDATES as u32) {
        Ok(hits) => hits,
        Err(e) if e.kind() == crate::error::ErrorKind::InvalidInput => Vec::new(),
        Err(e) => return Err(e),
    };
    let vector = embed_query(store, query)?;
    let vectors = vector_candidates(store, scope, &vector, CANDIDATES)?;
    if fts.is_empty() && vector.iter().all(|&x| x == 0.0) {
        return Err(Error::invalid(
            "the query holds no word to search for and nothing the embedding model knows",
        ));
    }
    let fused = fuse(
        &fts.iter()
            .map(|h| (h.memory_id, h.score))
            .collect::<Vec<_>>(),
        &vectors
            .iter()
            .map(|(h, _)| (h.memory_id, f64::from(h.score)))
            .collect::<Vec<_>>(),
    );
    let mut results = Vec::with_capacity(k);
    for fused_hit in fused.into_iter().take(k) {
        let fts_hit = fts.iter().position(|h| h.memory_id == fused_hit.memory_id);
        let vector_hit = vectors
            .iter()
            .position(|(h, _)| h.memory_id == fused_hit.memory_id);
        let memory = match vector_hit {
            Some(i) => vectors[i].1.clone(),
            None => store
                .memory(fused_hit.memory_id)?
                .ok_or_else(|| Error::not_found("a matched memory vanished"))?,
        };
        let snippet = match (fts_hit, vector_hit) {
            (Some(i), _) => fts[i].snippet.clone(),
            (None, Some(i)) => snippet_of(&memory, vectors[i].0.range),
            (None, None) => String::new(),
        };
        let matched = MatchInfo {
            fts_rank: fts_hit.map(|i| i + 1),
            fts_score: fts_hit.map(|i| fts[i].score),
            vector_rank: vector_hit.map(|i| i + 1),
            vector_score: vector_hit.map(|i| vectors[i].0.score),
        };
        results.push(result_from(memory, fused_hit.score, snippet, matched));
    }
    Ok(results)
}
