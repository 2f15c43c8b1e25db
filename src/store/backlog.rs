//! Memories waiting for vectors (`vector_backlog`), and `reindex`.
//!
//! Waiting memories are embedded a batch at a time: each batch is read,
//! embedded outside any transaction, then written in one short transaction,
//! so concurrent writers wait for the database at most a batch's write.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::Store;
use super::chunks::{EmbeddedText, embed_texts, ensure_space, stored_space, write_chunks};
use crate::embed::{Embedder, EmbeddingSpace};
use crate::error::Result;
use crate::memory::MemoryId;

/// Most memories embedded per write transaction.
const BATCH_MEMORIES: usize = 256;
/// A batch stops growing once its bodies hold this many bytes.
const BATCH_BYTES: usize = 8 << 20;

/// What `reindex` did.
#[derive(Debug, Clone, Serialize)]
pub struct ReindexReport {
    /// The space vectors were in before, if any.
    pub previous_space: Option<EmbeddingSpace>,
    /// The space they are in now.
    pub space: EmbeddingSpace,
    /// Memories embedded.
    pub memories: u64,
    /// Chunks written.
    pub chunks: u64,
}

/// A live memory waiting for vectors, with the text to embed.
struct Waiting {
    id: MemoryId,
    namespace: String,
    description: String,
    body: String,
}

/// Memories and chunks written by embedding the backlog.
#[derive(Debug, Clone, Copy, Default)]
struct Embedded {
    memories: u64,
    chunks: u64,
}

impl Store {
    /// Returns how many memories wait for vectors.
    fn backlog_len(&self) -> Result<i64> {
        Ok(self
            .conn()
            .prepare_cached("SELECT count(*) FROM vector_backlog")?
            .query_row([], |row| row.get(0))?)
    }

    /// Embeds the memories waiting for vectors with `embedder`, a batch per
    /// transaction, with progress on stderr. Does nothing when the database
    /// holds vectors of another space (`reindex` replaces those).
    ///
    /// # Failure
    /// The embedder's errors and database errors; batches written stay.
    pub fn embed_backlog(&mut self, embedder: &dyn Embedder) -> Result<()> {
        let waiting = self
            .conn()
            .prepare_cached("SELECT 1 FROM vector_backlog LIMIT 1")?
            .exists([])?;
        if !waiting {
            return Ok(());
        }
        let other_space = match stored_space(self.conn())? {
            Some(stored) => stored != embedder.space()?,
            None => false,
        };
        if !other_space {
            self.drain_backlog(embedder)?;
        }
        Ok(())
    }

    fn drain_backlog(&mut self, embedder: &dyn Embedder) -> Result<Embedded> {
        let total = self.backlog_len()?;
        let mut done = Embedded::default();
        loop {
            let batch = self.waiting_batch()?;
            if batch.is_empty() {
                return Ok(done);
            }
            let texts: Vec<(&str, &str)> = batch
                .iter()
                .map(|w| (w.description.as_str(), w.body.as_str()))
                .collect();
            let embedded = embed_texts(embedder, &texts)?;
            let written = self.write(|tx| write_batch(tx, &batch, &embedded))?;
            done.memories += written.memories;
            done.chunks += written.chunks;
            tracing::info!("embedded {} of {total} memories", done.memories);
        }
    }

    /// Returns the next waiting live memories, in id order.
    fn waiting_batch(&self) -> Result<Vec<Waiting>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT m.id, m.namespace, m.description, m.body
             FROM vector_backlog b JOIN memories m ON m.id = b.memory_id
             WHERE m.deleted_at IS NULL ORDER BY b.memory_id LIMIT ?1",
        )?;
        let mut rows = stmt.query([BATCH_MEMORIES as i64])?;
        let mut batch = Vec::new();
        let mut bytes = 0;
        while bytes < BATCH_BYTES
            && let Some(row) = rows.next()?
        {
            let waiting = Waiting {
                id: row.get(0)?,
                namespace: row.get(1)?,
                description: row.get(2)?,
                body: row.get(3)?,
            };
            bytes += waiting.body.len();
            batch.push(waiting);
        }
        Ok(batch)
    }

    /// Re-embeds every live memory with `embedder`, a batch per short
    /// transaction, with progress on stderr.
    ///
    /// Vectors of the same space keep serving searches until their memory's
    /// batch replaces them. Vectors of another space cannot be compared with
    /// the embedder's, so they are all dropped at once, with the new space
    /// recorded, before the first batch. The memories still to do are listed
    /// in `vector_backlog`: after an interruption, `reindex` (or any command
    /// that embeds) carries on with them instead of starting over.
    ///
    /// # Failure
    /// The embedder's errors and database errors; batches written stay.
    pub fn reindex(&mut self, embedder: &dyn Embedder) -> Result<ReindexReport> {
        let space = embedder.space()?;
        let previous_space = self.write(|tx| {
            let previous = stored_space(tx)?;
            if previous.as_ref() != Some(&space) {
                tx.execute_batch("DELETE FROM chunks; DELETE FROM embedding_space;")?;
                ensure_space(tx, &space)?;
            }
            let resuming = previous.as_ref() == Some(&space)
                && tx
                    .prepare_cached("SELECT 1 FROM vector_backlog LIMIT 1")?
                    .exists([])?;
            if !resuming {
                tx.execute(
                    "INSERT OR IGNORE INTO vector_backlog (memory_id)
                     SELECT id FROM memories WHERE deleted_at IS NULL",
                    [],
                )?;
            }
            Ok(previous)
        })?;
        let done = self.drain_backlog(embedder)?;
        Ok(ReindexReport {
            previous_space,
            space,
            memories: done.memories,
            chunks: done.chunks,
        })
    }
}

/// Writes the vectors of a batch. A memory whose text changed since it was
/// read is left waiting (the next batch reads it again), unless its writer
/// already gave it vectors; a forgotten one no longer waits.
fn write_batch(
    tx: &rusqlite::Transaction<'_>,
    batch: &[Waiting],
    embedded: &[EmbeddedText],
) -> Result<Embedded> {
    let mut current = tx.prepare_cached(
        "SELECT namespace, description, body FROM memories WHERE id = ?1 AND deleted_at IS NULL",
    )?;
    let mut written = Embedded::default();
    for (waiting, vectors) in batch.iter().zip(embedded) {
        let now: Option<(String, String, String)> = current
            .query_row([waiting.id], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()?;
        match now {
            Some((namespace, description, body))
                if namespace == waiting.namespace
                    && description == waiting.description
                    && body == waiting.body =>
            {
                written.chunks += write_chunks(tx, waiting.id, &waiting.namespace, vectors)? as u64;
                written.memories += 1;
            }
            Some(_) => {}
            None => {
                tx.prepare_cached("DELETE FROM vector_backlog WHERE memory_id = ?1")?
                    .execute(params![waiting.id])?;
            }
        }
    }
    Ok(written)
}
