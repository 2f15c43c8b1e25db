//! Retrieval: by words (`word_search`), by meaning (`recall`), and by
//! both fused (`hybrid_search`). All three return the same result shape.

mod fusion;
mod graph;
pub mod research;

use serde::Serialize;

use crate::embed::Embedder;
use crate::error::{Error, ErrorKind, Result};
use crate::memory::MemoryId;
use crate::store::{OpenMode, ScanMode, Scope, Store, VectorHit};
use crate::time::Timestamp;

pub use fusion::{FTS_WEIGHT, Fused, GRAPH_WEIGHT, Ranking, Scale, VECTOR_WEIGHT, anchored, fuse};
pub use graph::{DEFAULT_HOPS, MAX_HOPS, Via};

/// What to search for, where, and how.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The query text.
    pub query: &'a str,
    /// How many results.
    pub k: usize,
    /// Which memories.
    pub scope: &'a Scope,
    /// Relationships the graph expansion walks; `None` turns it off.
    /// `search` (words only) never expands.
    pub graph_hops: Option<u32>,
    /// How the vectors are scanned; `search` reads none.
    pub vector_mode: ScanMode,
}

/// The signature the three searches share: the store, the embedder that
/// made its vectors, and the request.
pub type Searcher = fn(&Store, &dyn Embedder, &Request<'_>) -> Result<Vec<SearchResult>>;

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
    /// Rank among the memories the graph reached.
    pub graph_rank: Option<usize>,
    /// Graph score, at most 1 (see `Graph-aware retrieval` in the README).
    pub graph_score: Option<f64>,
    /// How the graph reached it.
    pub via: Option<Via>,
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
    /// The score, higher is better: BM25 for the word search, the cosine
    /// similarity for the vector search, and for fused lists the best
    /// cosine similarity scaled by the fused score relative to the top's.
    pub score: f64,
    /// A short excerpt: around the matched words, or the best chunk.
    pub snippet: String,
    /// The body, when asked for (`--with-body`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The start of the body, when asked for (`--snippet-chars`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
    /// How each ranker saw it.
    #[serde(rename = "match")]
    pub matched: MatchInfo,
}

/// Fails unless `query` holds a word: a letter or a digit. The three
/// searches share this rule, so an empty or blank query fails the same way.
fn require_words(query: &str) -> Result<()> {
    if query.chars().any(char::is_alphanumeric) {
        Ok(())
    } else {
        Err(Error::invalid(
            "the query holds no word to search for (letters or digits)",
        ))
    }
}

/// Embeds `query` and checks the database holds vectors of the same space:
/// the model before the query is sent, the dimension after (an HTTP
/// embedder learns it from the answer rather than by asking twice).
fn embed_query(store: &Store, embedder: &dyn Embedder, query: &str) -> Result<Vec<f32>> {
    store.check_model(embedder)?;
    let mut vectors = embedder.embed_queries(&[query])?;
    store.check_space(embedder)?;
    Ok(vectors.pop().unwrap_or_default())
}

/// Returns the vector hits in `scope`, best first, at most `limit`. When
/// the prefilter's candidates give fewer than `limit` in scope, every
/// vector is scored instead.
fn vector_candidates(
    store: &Store,
    scope: &Scope,
    query: &[f32],
    limit: usize,
    mode: ScanMode,
) -> Result<Vec<VectorHit>> {
    if query.iter().all(|&x| x == 0.0) {
        return Ok(Vec::new());
    }
    let (kept, prefiltered) = scope_candidates(store, scope, query, limit, mode)?;
    if kept.len() < limit && prefiltered {
        return Ok(scope_candidates(store, scope, query, limit, ScanMode::Exact)?.0);
    }
    Ok(kept)
}

/// [`vector_candidates`] from one scan; also says whether the prefilter
/// chose what was scored. Memory rows are read only when the scope
/// filters by type or time.
fn scope_candidates(
    store: &Store,
    scope: &Scope,
    query: &[f32],
    limit: usize,
    mode: ScanMode,
) -> Result<(Vec<VectorHit>, bool)> {
    let filtered = scope.filters();
    let presorted = if filtered {
        limit.saturating_mul(4)
    } else {
        limit
    };
    let scanned = store.vector_scan(scope.namespace.as_deref(), query, presorted, mode)?;
    let mut hits = scanned.hits;
    if !filtered {
        hits.truncate(limit);
        return Ok((hits, scanned.prefiltered));
    }
    let mut kept = Vec::with_capacity(limit);
    let mut sorted_upto = presorted.min(hits.len());
    let mut i = 0;
    while kept.len() < limit && i < hits.len() {
        if i == sorted_upto {
            // The filters rejected many; order the rest as well.
            hits[i..].sort_unstable_by(VectorHit::best_first);
            sorted_upto = hits.len();
        }
        let hit = hits[i];
        i += 1;
        if store.in_scope(scope, hit.memory_id)? {
            kept.push(hit);
        }
    }
    Ok((kept, scanned.prefiltered))
}

/// How to make a result's snippet.
enum SnippetSource<'a> {
    /// Around the words of this query (FTS5 `snippet()`).
    Words(&'a str),
    /// Around the words of this query if the memory holds any, else the
    /// start of this chunk of the body.
    WordsOrChunk(&'a str, u32),
}

/// Reads a memory and turns it into a result.
fn result_for(
    store: &Store,
    id: MemoryId,
    score: f64,
    source: SnippetSource<'_>,
    matched: MatchInfo,
) -> Result<Option<SearchResult>> {
    let Some(memory) = store.memory(id)? else {
        return Ok(None);
    };
    let snippet = match source {
        SnippetSource::Words(query) => store.fts_snippet(query, id)?,
        SnippetSource::WordsOrChunk(query, seq) => {
            let around_words = store.fts_snippet(query, id)?;
            if around_words.is_empty() {
                let body = memory.body.as_deref().unwrap_or_default();
                let range = store.chunk_range(id, seq)?.unwrap_or((0, body.len()));
                excerpt(body.get(range.0..range.1).unwrap_or(body))
            } else {
                around_words
            }
        }
    };
    Ok(Some(SearchResult {
        memory_id: memory.memory_id,
        name: memory.name,
        namespace: memory.namespace,
        kind: memory.kind,
        description: memory.description,
        created_at: memory.created_at,
        score,
        snippet,
        body: None,
        excerpt: None,
        matched,
    }))
}

/// The first [`SNIPPET_CHARS`] characters of `text`, trimmed.
fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Returns the `k` memories in `scope` whose best chunk is most similar to
/// `query` (cosine similarity of `embedder`'s vectors).
///
/// # Failure
/// Invalid input when the query holds no word, or if the database holds
/// vectors of another embedding space.
/// A query whose words the model does not know matches nothing.
pub fn recall(
    store: &Store,
    embedder: &dyn Embedder,
    request: &Request<'_>,
) -> Result<Vec<SearchResult>> {
    let (query, k, scope) = (request.query, request.k, request.scope);
    require_words(query)?;
    let vector = embed_query(store, embedder, query)?;
    let Some(hops) = request.graph_hops else {
        let mut results = Vec::with_capacity(k);
        for (i, hit) in vector_candidates(store, scope, &vector, k, request.vector_mode)?
            .into_iter()
            .enumerate()
        {
            let matched = MatchInfo {
                vector_rank: Some(i + 1),
                vector_score: Some(hit.score),
                ..MatchInfo::default()
            };
            let source = SnippetSource::WordsOrChunk(query, hit.seq);
            results.extend(result_for(
                store,
                hit.memory_id,
                f64::from(hit.score),
                source,
                matched,
            )?);
        }
        return Ok(results);
    };
    let vectors = vector_candidates(
        store,
        scope,
        &vector,
        k.max(CANDIDATES),
        request.vector_mode,
    )?;
    let vector_scores: Vec<(MemoryId, f64)> = vectors
        .iter()
        .map(|h| (h.memory_id, f64::from(h.score)))
        .collect();
    let reached = graph::expand(store, scope, query, &vector_scores, hops)?;
    let graph_scores: Vec<(MemoryId, f64)> =
        reached.iter().map(|r| (r.memory_id, r.score)).collect();
    let rankings = [
        Ranking {
            name: "vectors",
            scale: Scale::MinMax,
            weight: VECTOR_WEIGHT,
            hits: &vector_scores,
        },
        Ranking {
            name: "graph",
            scale: Scale::Max,
            weight: GRAPH_WEIGHT,
            hits: &graph_scores,
        },
    ];
    let fused_list = fuse(&rankings);
    let (top, anchor) = anchor_of(&fused_list, &vectors);
    let mut results = Vec::with_capacity(k);
    for fused in fused_list.into_iter().take(k) {
        let (vector_hit, graph_hit) = (fused.positions[0], fused.positions[1]);
        let mut matched = MatchInfo {
            vector_rank: vector_hit.map(|i| i + 1),
            vector_score: vector_hit.map(|i| vectors[i].score),
            ..MatchInfo::default()
        };
        graph_match(store, &mut matched, &reached, graph_hit)?;
        let source = match vector_hit {
            Some(i) => SnippetSource::WordsOrChunk(query, vectors[i].seq),
            None => SnippetSource::Words(query),
        };
        results.extend(result_for(
            store,
            fused.memory_id,
            anchored(fused.score, top, anchor),
            source,
            matched,
        )?);
    }
    Ok(results)
}

/// The top fused score of `fused` and the anchor of the list's scores
/// (see [`anchored`]): the best cosine similarity among the vector hits,
/// 0 when none is positive.
fn anchor_of(fused: &[Fused], vectors: &[VectorHit]) -> (f64, f64) {
    let top = fused.first().map_or(0.0, |f| f.score);
    let best = vectors
        .iter()
        .map(|h| f64::from(h.score))
        .fold(f64::NEG_INFINITY, f64::max);
    (top, best.max(0.0))
}

/// Fills in the graph's part of `matched` for the memory at `position`
/// among those the graph `reached`.
fn graph_match(
    store: &Store,
    matched: &mut MatchInfo,
    reached: &[graph::Reached],
    position: Option<usize>,
) -> Result<()> {
    if let Some(i) = position {
        matched.graph_rank = Some(i + 1);
        matched.graph_score = Some(reached[i].score);
        matched.via = Some(reached[i].via(store)?);
    }
    Ok(())
}

/// Returns the `k` live memories in `scope` that best match the words of
/// `query` by BM25, with an excerpt around the matched words. The
/// embedder is not used.
///
/// # Failure
/// Invalid input when the query holds no word.
pub fn word_search(
    store: &Store,
    _embedder: &dyn Embedder,
    request: &Request<'_>,
) -> Result<Vec<SearchResult>> {
    let (query, k, scope) = (request.query, request.k, request.scope);
    let mut results = Vec::with_capacity(k);
    for (i, (id, score)) in store
        .fts_candidates(scope, query, k)?
        .into_iter()
        .enumerate()
    {
        let matched = MatchInfo {
            fts_rank: Some(i + 1),
            fts_score: Some(score),
            ..MatchInfo::default()
        };
        results.extend(result_for(
            store,
            id,
            score,
            SnippetSource::Words(query),
            matched,
        )?);
    }
    Ok(results)
}

/// Returns the BM25 candidates, or none for a query without words.
fn word_candidates(store: &Store, scope: &Scope, query: &str) -> Result<Vec<(MemoryId, f64)>> {
    match store.fts_candidates(scope, query, CANDIDATES) {
        Err(e) if e.kind() == ErrorKind::InvalidInput => Ok(Vec::new()),
        result => result,
    }
}

/// Returns the `k` memories in `scope` that rank best when the BM25 word
/// ranking and the vector ranking are fused (see [`fuse`]).
///
/// # Failure
/// Invalid input when the query holds no word; otherwise as [`recall`].
pub fn hybrid_search(
    store: &Store,
    embedder: &dyn Embedder,
    request: &Request<'_>,
) -> Result<Vec<SearchResult>> {
    let (query, k, scope) = (request.query, request.k, request.scope);
    require_words(query)?;
    // The word ranking runs on a second connection in a second thread while
    // this one scans the vectors: the two take about as long each.
    let (fts, vectors) = std::thread::scope(|threads| -> Result<_> {
        let words = store.path().map(|path| {
            threads.spawn(move || {
                word_candidates(&Store::open(path, OpenMode::Existing)?, scope, query)
            })
        });
        let vector = embed_query(store, embedder, query)?;
        let vectors = vector_candidates(store, scope, &vector, CANDIDATES, request.vector_mode)?;
        let fts = match words {
            Some(handle) => handle
                .join()
                .map_err(|_| Error::new(ErrorKind::Database, "the word search panicked"))??,
            None => word_candidates(store, scope, query)?,
        };
        Ok((fts, vectors))
    })?;
    let vector_scores: Vec<(MemoryId, f64)> = vectors
        .iter()
        .map(|h| (h.memory_id, f64::from(h.score)))
        .collect();
    let rankings = [
        Ranking {
            name: "words",
            scale: Scale::MinMax,
            weight: FTS_WEIGHT,
            hits: &fts,
        },
        Ranking {
            name: "vectors",
            scale: Scale::MinMax,
            weight: VECTOR_WEIGHT,
            hits: &vector_scores,
        },
    ];
    let reached = match request.graph_hops {
        Some(hops) => {
            let direct: Vec<(MemoryId, f64)> = fuse(&rankings)
                .iter()
                .map(|f| (f.memory_id, f.score))
                .collect();
            graph::expand(store, scope, query, &direct, hops)?
        }
        None => Vec::new(),
    };
    let graph_scores: Vec<(MemoryId, f64)> =
        reached.iter().map(|r| (r.memory_id, r.score)).collect();
    let [words, vectors_ranking] = rankings;
    let rankings = [
        words,
        vectors_ranking,
        Ranking {
            name: "graph",
            scale: Scale::Max,
            weight: GRAPH_WEIGHT,
            hits: &graph_scores,
        },
    ];
    let fused_list = fuse(&rankings);
    let (top, anchor) = anchor_of(&fused_list, &vectors);
    let mut results = Vec::with_capacity(k);
    for fused in fused_list.into_iter().take(k) {
        let (fts_hit, vector_hit) = (fused.positions[0], fused.positions[1]);
        let mut matched = MatchInfo {
            fts_rank: fts_hit.map(|i| i + 1),
            fts_score: fts_hit.map(|i| fts[i].1),
            vector_rank: vector_hit.map(|i| i + 1),
            vector_score: vector_hit.map(|i| vectors[i].score),
            ..MatchInfo::default()
        };
        graph_match(store, &mut matched, &reached, fused.positions[2])?;
        let source = match (fts_hit, vector_hit) {
            (None, Some(i)) => SnippetSource::WordsOrChunk(query, vectors[i].seq),
            _ => SnippetSource::Words(query),
        };
        results.extend(result_for(
            store,
            fused.memory_id,
            anchored(fused.score, top, anchor),
            source,
            matched,
        )?);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::{EmbeddingSpace, StaticModel};
    use crate::memory::Content;
    use crate::store::Attached;

    /// An embedder of 1,536 dimensions, as HTTP models have: each word
    /// lights a few dimensions picked by its hash.
    struct WideEmbedder(EmbeddingSpace);

    impl Embedder for WideEmbedder {
        fn space(&self) -> Result<EmbeddingSpace> {
            Ok(self.0.clone())
        }

        fn space_model(&self) -> String {
            self.0.model.clone()
        }

        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            let dim = self.0.dim as usize;
            Ok(texts
                .iter()
                .map(|text| {
                    let mut v = vec![0f32; dim];
                    for word in text.split_whitespace() {
                        let hash = word.bytes().fold(2166136261u32, |h, b| {
                            (h ^ u32::from(b)).wrapping_mul(16777619)
                        });
                        for j in 0..8 {
                            v[(hash as usize + j * 193) % dim] += 1.0;
                        }
                    }
                    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                    v.iter_mut().for_each(|x| *x /= norm);
                    v
                })
                .collect())
        }
    }

    #[test]
    fn any_embedder_dimension_works_end_to_end() {
        let wide = WideEmbedder(EmbeddingSpace {
            model: "test:wide".into(),
            dim: 1536,
        });
        let mut store = Store::open_in_memory().unwrap();
        for (name, body) in [
            ("a", "alpha bravo charlie"),
            ("b", "delta echo foxtrot"),
            ("c", "alpha golf hotel"),
        ] {
            let content = Content::new(None, None, body.into(), None).unwrap();
            store
                .remember(&wide, "global", name, &content, &Attached::default(), false)
                .unwrap();
        }
        let scope = Scope::namespace("global");
        let request = |query| Request {
            query,
            k: 3,
            scope: &scope,
            graph_hops: None,
            vector_mode: ScanMode::Auto,
        };
        let found = recall(&store, &wide, &request("alpha bravo")).unwrap();
        let names: Vec<&str> = found.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "c", "b"]);
        assert!((found[0].score - 0.816).abs() < 0.01, "{}", found[0].score);
        let builtin = recall(&store, &StaticModel::new(), &request("alpha")).unwrap_err();
        assert_eq!(builtin.kind(), ErrorKind::InvalidInput);
    }
}
