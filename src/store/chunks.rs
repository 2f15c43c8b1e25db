//! Vectors of the live memories: chunking, embedding before the write
//! transaction, the one-space rule, and the vector scan.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Store;
use super::reindex::stage;
use super::vectors::blocks::{self, ChunkVector, Slot};
use super::vectors::center::stored_center;
use super::vectors::kernel::ScanQuery;
use super::vectors::scan::{self, ScanMode, Scanned};
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
    write_chunks_many(tx, table, &[(memory_id, namespace, embedded)])
}

/// [`write_chunks`] for many memories: `(memory, namespace, vectors)`.
/// The live vectors of one namespace are appended together, so a block is
/// rewritten once however many of its slots the memories fill. Returns
/// how many chunks were written.
pub(crate) fn write_chunks_many(
    tx: &Transaction<'_>,
    table: VectorTable,
    items: &[(MemoryId, &str, &EmbeddedText)],
) -> Result<usize> {
    let mut spaces: Vec<&EmbeddingSpace> = Vec::new();
    for (_, _, embedded) in items {
        if !spaces.contains(&&embedded.space) {
            match table {
                VectorTable::Live => ensure_space(tx, &embedded.space)?,
                VectorTable::Staged => ensure_staged_space(tx, &embedded.space)?,
            }
            spaces.push(&embedded.space);
        }
    }
    let (chunks, backlog) = (table.chunks(), table.backlog());
    for &(memory_id, _, _) in items {
        tx.prepare_cached(&format!("DELETE FROM {chunks} WHERE memory_id = ?1"))?
            .execute([memory_id])?;
        tx.prepare_cached(&format!("DELETE FROM {backlog} WHERE memory_id = ?1"))?
            .execute([memory_id])?;
    }
    let written = items.iter().map(|(_, _, e)| e.chunks.len()).sum();
    match table {
        VectorTable::Live => append_live(tx, items)?,
        VectorTable::Staged => insert_staged(tx, items)?,
    }
    Ok(written)
}

/// Appends the chunks of `items` to the vector blocks, a namespace at a
/// time, then compacts the namespaces that gathered enough dead slots.
fn append_live(tx: &Transaction<'_>, items: &[(MemoryId, &str, &EmbeddedText)]) -> Result<()> {
    let mut namespaces: Vec<&str> = items.iter().map(|&(_, namespace, _)| namespace).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    for namespace in namespaces {
        let mut dim = None;
        let mut vectors = Vec::new();
        for &(memory_id, _, embedded) in items.iter().filter(|(_, n, _)| *n == namespace) {
            dim = Some(embedded.space.dim as usize);
            let count = u16::try_from(embedded.chunks.len()).map_err(|_| too_many_chunks())?;
            for (seq, chunk) in embedded.chunks.iter().enumerate() {
                vectors.push(ChunkVector {
                    slot: Slot {
                        memory_id,
                        seq: u16::try_from(seq).map_err(|_| too_many_chunks())?,
                        chunks: count,
                        scale: chunk.scale,
                    },
                    start: chunk.start,
                    end: chunk.end,
                    vector: &chunk.vector,
                });
            }
        }
        let Some(dim) = dim else { continue };
        blocks::append_chunks(tx, namespace, dim, &vectors)?;
        blocks::compact_if_due(tx, namespace, dim)?;
    }
    Ok(())
}

fn too_many_chunks() -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("a memory of more than {} chunks", u16::MAX),
    )
}

/// Compacts some vector blocks of `namespace` if it has gathered enough
/// dead slots (see [`blocks::compact_if_due`]).
pub(crate) fn compact_if_due(tx: &Transaction<'_>, namespace: &str) -> Result<()> {
    if let Some(space) = stored_space(tx)? {
        blocks::compact_if_due(tx, namespace, space.dim as usize)?;
    }
    Ok(())
}

/// Writes the chunks of `items` as rows of `staged_chunks`.
fn insert_staged(tx: &Transaction<'_>, items: &[(MemoryId, &str, &EmbeddedText)]) -> Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO staged_chunks (namespace, memory_id, seq, start, end, scale, vector)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for &(memory_id, namespace, embedded) in items {
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
    }
    Ok(())
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

    /// Scores the chunks of the live memories in `namespace` (all if
    /// `None`) against `query` and returns each memory's best chunk: the
    /// best `sorted` of them first and in order, the rest after them
    /// unordered. With [`ScanMode::Auto`], a large scope returns only the
    /// memories the prefilter kept, and says so.
    pub fn vector_scan(
        &self,
        namespace: Option<&str>,
        query: &[f32],
        sorted: usize,
        mode: ScanMode,
    ) -> Result<Scanned> {
        // One read transaction: the prefilter and the blocks it picks are
        // read from the same snapshot (a compaction in between would move
        // slots), and SQLite takes its read lock once, not once per block.
        let snapshot = match self.conn().is_autocommit() {
            true => Some(self.conn().unchecked_transaction()?),
            false => None,
        };
        if let Some(space) = self.embedding_space()?
            && space.dim as usize != query.len()
        {
            return Err(Error::new(
                ErrorKind::Database,
                format!(
                    "the stored vectors have {} dimensions, the query {}",
                    space.dim,
                    query.len()
                ),
            ));
        }
        let center = stored_center(self.conn())?;
        let query = ScanQuery::new(query, center.as_deref());
        let mut scanned = scan::scan(self.conn(), namespace, &query, mode)?;
        if let Some(snapshot) = snapshot {
            snapshot.finish()?;
        }
        let hits = &mut scanned.hits;
        if sorted < hits.len() {
            hits.select_nth_unstable_by(sorted, VectorHit::best_first);
            hits[..sorted].sort_unstable_by(VectorHit::best_first);
        } else {
            hits.sort_unstable_by(VectorHit::best_first);
        }
        Ok(scanned)
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
}
