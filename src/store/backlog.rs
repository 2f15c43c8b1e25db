//! Memories waiting for vectors: for the live vectors (`vector_backlog`)
//! or for those of a move to another space (`staged_backlog`).
//!
//! Waiting memories are embedded a batch at a time: each batch is read,
//! embedded outside any transaction, then written in one short transaction,
//! so concurrent writers wait for the database at most a batch's write.

use rusqlite::{OptionalExtension, params};

use super::Store;
use super::chunks::{EmbeddedText, VectorTable, embed_texts, stored_space, write_chunks_many};
use super::reindex::staged_model;
use crate::embed::Embedder;
use crate::error::Result;
use crate::memory::MemoryId;

/// Most memories embedded per write transaction.
const BATCH_MEMORIES: usize = 256;
/// A batch stops growing once its bodies hold this many bytes.
const BATCH_BYTES: usize = 8 << 20;

/// A live memory waiting for vectors, with the text to embed.
struct Waiting {
    id: MemoryId,
    namespace: String,
    description: String,
    body: String,
}

/// Memories and chunks written by embedding a backlog.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Embedded {
    /// Memories given vectors.
    pub memories: u64,
    /// Chunks written.
    pub chunks: u64,
    /// Whether the move to another space that the staged vectors were for
    /// is no longer under way (another process finished or replaced it).
    pub move_gone: bool,
}

impl Store {
    /// Returns how many memories wait for vectors of `table`.
    pub(crate) fn backlog_len(&self, table: VectorTable) -> Result<u64> {
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT count(*) FROM {}", table.backlog()))?
            .query_row([], |row| row.get::<_, i64>(0))? as u64)
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
            let total = self.backlog_len(VectorTable::Live)?;
            let mut done = 0;
            self.drain_backlog(embedder, VectorTable::Live, &mut |memories| {
                done += memories;
                tracing::info!("embedded {done} of {total} memories");
            })?;
        }
        Ok(())
    }

    /// Embeds the memories waiting for vectors of `table` until none waits,
    /// telling `progress` how many memories each batch gave vectors.
    ///
    /// # Failure
    /// The embedder's errors and database errors; batches written stay.
    pub(crate) fn drain_backlog(
        &mut self,
        embedder: &dyn Embedder,
        table: VectorTable,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Embedded> {
        let mut done = Embedded::default();
        loop {
            let batch = self.waiting_batch(table)?;
            if batch.is_empty() {
                return Ok(done);
            }
            let texts: Vec<(&str, &str)> = batch
                .iter()
                .map(|w| (w.description.as_str(), w.body.as_str()))
                .collect();
            let embedded = embed_texts(embedder, &texts)?;
            let written = self.write(|tx| write_batch(tx, table, &batch, &embedded))?;
            done.memories += written.memories;
            done.chunks += written.chunks;
            progress(written.memories);
            if written.move_gone {
                done.move_gone = true;
                return Ok(done);
            }
        }
    }

    /// Returns the next live memories waiting for vectors of `table`, in
    /// id order.
    fn waiting_batch(&self, table: VectorTable) -> Result<Vec<Waiting>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT m.id, m.namespace, m.description, m.body
             FROM {} b JOIN memories m ON m.id = b.memory_id
             WHERE m.deleted_at IS NULL ORDER BY b.memory_id LIMIT ?1",
            table.backlog()
        ))?;
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
}

/// Writes the vectors of a batch to `table`. A memory whose text changed
/// since it was read is left waiting (the next batch reads it again),
/// unless its writer already gave it vectors; a forgotten one no longer
/// waits. Staged vectors are written only while their move is under way.
fn write_batch(
    tx: &rusqlite::Transaction<'_>,
    table: VectorTable,
    batch: &[Waiting],
    embedded: &[EmbeddedText],
) -> Result<Embedded> {
    let mut current = tx.prepare_cached(
        "SELECT namespace, description, body FROM memories WHERE id = ?1 AND deleted_at IS NULL",
    )?;
    let mut written = Embedded::default();
    if table == VectorTable::Staged
        && let Some(first) = embedded.first()
        && staged_model(tx)?.as_deref() != Some(first.space().model.as_str())
    {
        written.move_gone = true;
        return Ok(written);
    }
    // The memories still as they were embedded get their vectors in one
    // go, so that each block of a namespace is written once per batch.
    let mut still_current = Vec::with_capacity(batch.len());
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
                still_current.push((waiting.id, waiting.namespace.as_str(), vectors));
            }
            Some(_) => {}
            None => {
                tx.prepare_cached(&format!(
                    "DELETE FROM {} WHERE memory_id = ?1",
                    table.backlog()
                ))?
                .execute(params![waiting.id])?;
            }
        }
    }
    written.chunks += write_chunks_many(tx, table, &still_current)? as u64;
    written.memories += still_current.len() as u64;
    Ok(written)
}
