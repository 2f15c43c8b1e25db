//! Vectors of the live memories: chunking, embedding before the write
//! transaction, the one-space rule, and the vector scan.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Store;
use super::reindex::stage;
use crate::embed::{Embedder, EmbeddingSpace, MAX_DIM};
use crate::error::{Error, ErrorKind, Result};
use crate::memory::MemoryId;

/// Bodies longer than this many bytes are split into chunks of about this size.
pub const CHUNK_BYTES: usize = 1200;
/// Consecutive chunks share about this many bytes.
pub const CHUNK_OVERLAP: usize = 200;

/// The best-matching chunk of one memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VectorHit {
    /// The memory.
    pub memory_id: MemoryId,
    /// Cosine similarity of its best chunk with the query.
    pub score: f32,
    /// The number of that chunk in the memory.
    pub seq: u32,
}

impl VectorHit {
    /// Orders hits best first; equal scores go to the lower memory id.
    pub fn best_first(a: &VectorHit, b: &VectorHit) -> std::cmp::Ordering {
        b.score
            .total_cmp(&a.score)
            .then(a.memory_id.cmp(&b.memory_id))
    }
}

/// Splits a body into byte ranges of at most about [`CHUNK_BYTES`], cut at
/// whitespace where possible, each starting about [`CHUNK_OVERLAP`] bytes
/// before the previous one ended. An empty body is one empty chunk.
pub fn chunk_ranges(body: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut start = 0;
    loop {
        let hard_end = floor_boundary(body, (start + CHUNK_BYTES).min(body.len()));
        let low = ceil_boundary(body, start + CHUNK_BYTES / 2);
        let end = if hard_end == body.len() || low >= hard_end {
            hard_end
        } else {
            body[low..hard_end]
                .rfind(char::is_whitespace)
                .map_or(hard_end, |at| low + at)
        };
        let end = end.max(ceil_boundary(body, start + 1)).min(body.len());
        ranges.push((start, end));
        if end >= body.len() {
            return ranges;
        }
        let back = floor_boundary(body, end.saturating_sub(CHUNK_OVERLAP).max(start + 1));
        start = match body[back..end].find(char::is_whitespace) {
            Some(at) => ceil_boundary(body, back + at + 1),
            None => back,
        };
        if start <= ranges.last().map_or(0, |r| r.0) {
            start = end;
        }
    }
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// The text embedded for one chunk: the description, then the chunk.
fn chunk_text(description: &str, chunk: &str) -> String {
    if description.is_empty() {
        chunk.to_owned()
    } else {
        format!("{description}\n{chunk}")
    }
}

/// The texts embedded for a memory, one per chunk of its body.
pub(crate) fn chunk_texts(description: &str, body: &str) -> Vec<String> {
    chunk_ranges(body)
        .into_iter()
        .map(|(s, e)| chunk_text(description, &body[s..e]))
        .collect()
}

/// Quantises a unit vector to int8 with one scale: `v ≈ q * scale`.
pub fn quantize(vector: &[f32]) -> (f32, Vec<u8>) {
    let max = vector.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (0.0, vec![0; vector.len()]);
    }
    let scale = max / 127.0;
    let bytes = vector
        .iter()
        .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8 as u8)
        .collect();
    (scale, bytes)
}

/// Stored values times query values are summed in `i32` over blocks of this
/// many dimensions, then the blocks in `i64`: a block's sum is at most
/// 512 × 128 × 32767 = 2,147,418,112, just below `i32::MAX`, so the sum is
/// exact for any dimension, while each block stays a loop the compiler
/// vectorises (`pmaddwd` on x86-64).
const DOT_BLOCK: usize = 512;

/// A query prepared for the scan: int16 values and one scale, so that the
/// dot product with the stored int8 vectors runs in integers, exactly and
/// without reordering floats.
pub struct ScanQuery {
    values: Vec<i16>,
    scale: f32,
}

impl ScanQuery {
    /// Quantises a float query.
    pub fn new(query: &[f32]) -> Self {
        let max = query.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = if max == 0.0 {
            1.0
        } else {
            max / f32::from(i16::MAX)
        };
        let values = query
            .iter()
            .map(|x| (x / scale).round().clamp(-32767.0, 32767.0) as i16)
            .collect();
        ScanQuery { values, scale }
    }

    /// Returns the dot product with a stored vector of scale `stored_scale`.
    pub fn dot(&self, stored: &[u8], stored_scale: f32) -> f32 {
        self.dot_exact(stored) as f32 * self.scale * stored_scale
    }

    /// Returns the dot product of the integer values, exact for any length.
    /// Vectors of one block (the built-in model's) take the loop directly.
    fn dot_exact(&self, stored: &[u8]) -> i64 {
        if stored.len() <= DOT_BLOCK {
            return i64::from(block_dot(stored, &self.values));
        }
        stored
            .chunks(DOT_BLOCK)
            .zip(self.values.chunks(DOT_BLOCK))
            .map(|(stored, query)| i64::from(block_dot(stored, query)))
            .sum()
    }

    /// Returns the number of dimensions.
    pub fn dim(&self) -> usize {
        self.values.len()
    }
}

/// Returns the dot product of at most [`DOT_BLOCK`] stored and query values.
#[inline(always)]
fn block_dot(stored: &[u8], query: &[i16]) -> i32 {
    stored
        .iter()
        .zip(query)
        .map(|(&s, &q)| i32::from(s as i8) * i32::from(q))
        .sum()
}

/// Returns the database's embedding space, if it has one.
pub(crate) fn stored_space(conn: &Connection) -> Result<Option<EmbeddingSpace>> {
    Ok(conn
        .prepare_cached("SELECT model, dim FROM embedding_space WHERE id = 1")?
        .query_row([], |row| {
            Ok(EmbeddingSpace {
                model: row.get(0)?,
                dim: row.get(1)?,
            })
        })
        .optional()?)
}

fn space_mismatch(stored: &EmbeddingSpace, wanted: &EmbeddingSpace) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!(
            "the database holds vectors of {} ({} dimensions), not of {} ({} dimensions)",
            stored.model, stored.dim, wanted.model, wanted.dim
        ),
    )
    .with_hint(REINDEX_HINT)
}

/// The hint of an embedder that does not match the database's vectors.
const REINDEX_HINT: &str = "use the database's embedder, or move the database to this one with \
     `sqlite-graphrag reindex`";

/// Records `space` as the database's space if it has none.
///
/// # Failure
/// Invalid input if the database already holds another space.
pub(crate) fn ensure_space(tx: &Transaction<'_>, space: &EmbeddingSpace) -> Result<()> {
    match stored_space(tx)? {
        Some(stored) if stored == *space => Ok(()),
        Some(stored) => Err(space_mismatch(&stored, space)),
        None => {
            tx.execute(
                "INSERT INTO embedding_space (id, model, dim) VALUES (1, ?1, ?2)",
                params![space.model, space.dim],
            )?;
            Ok(())
        }
    }
}

/// A memory's text cut into chunks and embedded, ready to be written.
///
/// Embedding happens before the write transaction starts, so that the
/// database's write lock is held only for the writing itself.
pub(crate) struct EmbeddedText {
    space: EmbeddingSpace,
    chunks: Vec<EmbeddedChunk>,
}

impl EmbeddedText {
    /// The space of the vectors.
    pub(crate) fn space(&self) -> &EmbeddingSpace {
        &self.space
    }
}

/// One chunk: its byte range in the body and its quantised vector.
struct EmbeddedChunk {
    start: usize,
    end: usize,
    scale: f32,
    vector: Vec<u8>,
}

/// Cuts `body` into chunks and embeds each with `embedder`, with
/// `description` in front.
///
/// # Failure
/// As [`embed_texts`].
pub(crate) fn embed_text(
    embedder: &dyn Embedder,
    description: &str,
    body: &str,
) -> Result<EmbeddedText> {
    let mut embedded = embed_texts(embedder, &[(description, body)])?;
    Ok(embedded.pop().unwrap_or(EmbeddedText {
        space: embedder.space()?,
        chunks: Vec::new(),
    }))
}

/// Embeds the chunks of many `(description, body)` texts with one call of
/// the embedder (which an HTTP embedder sends in batches of its own size,
/// never one request per memory).
///
/// # Failure
/// The embedder's own errors; a database error if it returns the wrong
/// number of vectors or vectors of another dimension than its space's.
pub(crate) fn embed_texts(
    embedder: &dyn Embedder,
    items: &[(&str, &str)],
) -> Result<Vec<EmbeddedText>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let ranges: Vec<Vec<(usize, usize)>> =
        items.iter().map(|(_, body)| chunk_ranges(body)).collect();
    let texts: Vec<String> = items
        .iter()
        .zip(&ranges)
        .flat_map(|((description, body), ranges)| {
            ranges
                .iter()
                .map(move |&(s, e)| chunk_text(description, &body[s..e]))
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = embedder.embed(&refs)?;
    let space = embedder.space()?;
    let dim = space.dim as usize;
    if space.dim > MAX_DIM || vectors.len() != refs.len() || vectors.iter().any(|v| v.len() != dim)
    {
        return Err(Error::new(
            ErrorKind::Database,
            format!(
                "the embedder {} returned {} vectors for {} texts, or not of {} dimensions (at most {MAX_DIM})",
                space.model,
                vectors.len(),
                refs.len(),
                space.dim
            ),
        ));
    }
    let mut vectors = vectors.iter();
    Ok(ranges
        .iter()
        .map(|ranges| EmbeddedText {
            space: space.clone(),
            chunks: ranges
                .iter()
                .zip(vectors.by_ref())
                .map(|(&(start, end), vector)| {
                    let (scale, vector) = quantize(vector);
                    EmbeddedChunk {
                        start,
                        end,
                        scale,
                        vector,
                    }
                })
                .collect(),
        })
        .collect())
}

/// Where vectors are written: the live ones that searches read, or the
/// staged ones of a move to another space (see `reindex`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VectorTable {
    /// `chunks`, waited for in `vector_backlog`.
    Live,
    /// `staged_chunks`, waited for in `staged_backlog`.
    Staged,
}

impl VectorTable {
    /// The table of the vectors.
    fn chunks(self) -> &'static str {
        match self {
            VectorTable::Live => "chunks",
            VectorTable::Staged => "staged_chunks",
        }
    }

    /// The table of the memories waiting for vectors.
    pub(crate) fn backlog(self) -> &'static str {
        match self {
            VectorTable::Live => "vector_backlog",
            VectorTable::Staged => "staged_backlog",
        }
    }
}

/// Fails unless `space` is the space of the move under way; records its
/// dimension when the move's first vectors are written.
fn ensure_staged_space(tx: &Transaction<'_>, space: &EmbeddingSpace) -> Result<()> {
    tx.prepare_cached("UPDATE reindex_stage SET dim = ?2 WHERE model = ?1 AND dim IS NULL")?
        .execute(params![space.model, space.dim])?;
    match stage(tx)? {
        Some((model, Some(dim))) if model == space.model && dim == space.dim => Ok(()),
        _ => Err(Error::new(
            ErrorKind::Database,
            format!(
                "vectors of {} ({} dimensions) are not those of the move under way",
                space.model, space.dim
            ),
        )),
    }
}

/// Replaces the chunks of one live memory in `table` with `embedded`; the
/// memory no longer waits for them.
pub(crate) fn write_chunks(
    tx: &Transaction<'_>,
    table: VectorTable,
    memory_id: MemoryId,
    namespace: &str,
    embedded: &EmbeddedText,
) -> Result<usize> {
    match table {
        VectorTable::Live => ensure_space(tx, &embedded.space)?,
        VectorTable::Staged => ensure_staged_space(tx, &embedded.space)?,
    }
    let (chunks, backlog) = (table.chunks(), table.backlog());
    tx.prepare_cached(&format!("DELETE FROM {chunks} WHERE memory_id = ?1"))?
        .execute([memory_id])?;
    tx.prepare_cached(&format!("DELETE FROM {backlog} WHERE memory_id = ?1"))?
        .execute([memory_id])?;
    let mut insert = tx.prepare_cached(&format!(
        "INSERT INTO {chunks} (namespace, memory_id, seq, start, end, scale, vector)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    ))?;
    for (seq, chunk) in embedded.chunks.iter().enumerate() {
        insert.execute(params![
            namespace,
            memory_id,
            seq as i64,
            chunk.start as i64,
            chunk.end as i64,
            f64::from(chunk.scale),
            chunk.vector
        ])?;
    }
    Ok(embedded.chunks.len())
}

impl Store {
    /// Returns the database's embedding space, if it holds vectors.
    pub fn embedding_space(&self) -> Result<Option<EmbeddingSpace>> {
        stored_space(self.conn())
    }

    /// Fails, without asking `embedder` anything, when the database holds
    /// vectors of another model than `embedder`'s.
    pub fn check_model(&self, embedder: &dyn Embedder) -> Result<()> {
        match self.embedding_space()? {
            Some(stored) if stored.model != embedder.space_model() => Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "the database holds vectors of {} ({} dimensions), not of {}",
                    stored.model,
                    stored.dim,
                    embedder.space_model()
                ),
            )
            .with_hint(REINDEX_HINT)),
            _ => Ok(()),
        }
    }

    /// Fails unless vectors made with `embedder` can be compared with the database's.
    pub fn check_space(&self, embedder: &dyn Embedder) -> Result<()> {
        match self.embedding_space()? {
            Some(stored) => {
                let wanted = embedder.space()?;
                match stored == wanted {
                    true => Ok(()),
                    false => Err(space_mismatch(&stored, &wanted)),
                }
            }
            _ => Ok(()),
        }
    }

    /// Scores every chunk of the live memories in `namespace` (all if `None`)
    /// against `query` and returns each memory's best chunk: the best
    /// `sorted` of them first and in order, the rest after them unordered.
    pub fn vector_scan(
        &self,
        namespace: Option<&str>,
        query: &[f32],
        sorted: usize,
    ) -> Result<Vec<VectorHit>> {
        let query = ScanQuery::new(query);
        let mut stmt = self.conn().prepare_cached(
            "SELECT memory_id, seq, scale, vector FROM chunks WHERE ?1 IS NULL OR namespace = ?1",
        )?;
        let mut rows = stmt.query([namespace])?;
        let mut hits: Vec<VectorHit> = Vec::new();
        while let Some(row) = rows.next()? {
            let memory_id: MemoryId = row.get(0)?;
            let vector = row.get_ref(3)?.as_blob().map_err(rusqlite::Error::from)?;
            if vector.len() != query.dim() {
                return Err(Error::new(
                    ErrorKind::Database,
                    format!(
                        "a stored vector has {} dimensions, the query {}",
                        vector.len(),
                        query.dim()
                    ),
                ));
            }
            let score = query.dot(vector, row.get::<_, f64>(2)? as f32);
            match hits.last_mut() {
                Some(last) if last.memory_id == memory_id => {
                    if score > last.score {
                        last.score = score;
                        last.seq = row.get(1)?;
                    }
                }
                _ => hits.push(VectorHit {
                    memory_id,
                    score,
                    seq: row.get(1)?,
                }),
            }
        }
        if sorted < hits.len() {
            hits.select_nth_unstable_by(sorted, VectorHit::best_first);
            hits[..sorted].sort_unstable_by(VectorHit::best_first);
        } else {
            hits.sort_unstable_by(VectorHit::best_first);
        }
        Ok(hits)
    }

    /// Returns the byte range in the body of chunk `seq` of a memory.
    pub fn chunk_range(&self, memory_id: MemoryId, seq: u32) -> Result<Option<(usize, usize)>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT start, end FROM chunks WHERE memory_id = ?1 AND seq = ?2")?
            .query_row(params![memory_id, seq], |row| {
                Ok((
                    row.get::<_, i64>(0)? as usize,
                    row.get::<_, i64>(1)? as usize,
                ))
            })
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_body_with_overlap() {
        let short = "a short body";
        assert_eq!(chunk_ranges(short), vec![(0, short.len())]);
        assert_eq!(chunk_ranges(""), vec![(0, 0)]);
        let words: String = (0..800).map(|i| format!("wörd{i} ")).collect();
        let ranges = chunk_ranges(&words);
        assert!(ranges.len() > 3);
        assert_eq!(ranges[0].0, 0);
        assert_eq!(ranges.last().unwrap().1, words.len());
        for pair in ranges.windows(2) {
            assert!(pair[1].0 < pair[0].1, "chunks overlap: {pair:?}");
            assert!(pair[1].0 > pair[0].0);
            assert!(pair[0].1 - pair[0].0 <= CHUNK_BYTES);
        }
        let unbroken = "é".repeat(2000);
        let ranges = chunk_ranges(&unbroken);
        assert_eq!(ranges.last().unwrap().1, unbroken.len());
        for &(s, e) in &ranges {
            assert!(unbroken.is_char_boundary(s) && unbroken.is_char_boundary(e));
        }
    }

    /// A vector of `dim` values spread over [-1, 1], different per `seed`.
    fn spread(dim: usize, seed: usize) -> Vec<f32> {
        (0..dim)
            .map(|i| (((i * (31 + 2 * seed) + 7 * seed) % 199) as f32 - 99.0) / 99.0)
            .collect()
    }

    #[test]
    fn wide_dot_products_are_exact() {
        for dim in [1536, 3072, MAX_DIM as usize] {
            let (a, b) = (spread(dim, 1), spread(dim, 2));
            let (scale, stored) = quantize(&a);
            let query = ScanQuery::new(&b);
            let integer: i64 = stored
                .iter()
                .zip(&query.values)
                .map(|(&s, &q)| i64::from(s as i8) * i64::from(q))
                .sum();
            assert_eq!(query.dot_exact(&stored), integer, "{dim} dimensions");
            let reference: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y)).sum();
            let approx = f64::from(query.dot(&stored, scale));
            assert!(
                (approx - reference).abs() < 0.01 * reference.abs().max(1.0),
                "{dim} dimensions: {approx} vs {reference}"
            );
            let extreme = ScanQuery::new(&vec![1.0; dim]);
            let most = vec![(-128i8) as u8; dim];
            assert_eq!(extreme.dot_exact(&most), -128 * 32767 * dim as i64);
        }
    }

    #[test]
    fn quantized_dot_products_match_floats() {
        let a: Vec<f32> = (0..384)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 300.0)
            .collect();
        let b: Vec<f32> = (0..384)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 280.0)
            .collect();
        let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let (scale, q) = quantize(&a);
        let approx = ScanQuery::new(&b).dot(&q, scale);
        assert!(
            (approx - exact).abs() < 0.01 * exact.abs().max(1.0),
            "{approx} vs {exact}"
        );
    }
}
