//! Memories waiting for the built-in extractor (`graph_backlog`): those of
//! a database from before the graph. They are read a batch at a time,
//! extracted outside any transaction, and written in one short transaction
//! per batch, so concurrent writers wait at most a batch's write.

use rusqlite::{OptionalExtension, params};

use super::Store;
use super::graph_tx::Asserting;
use crate::error::Result;
use crate::graph::extract::extract_memory;
use crate::graph::{Extractor, MemoryGraph};
use crate::memory::{MemoryId, VersionNumber};

/// Most memories extracted per write transaction.
const BATCH_MEMORIES: i64 = 512;

/// A memory waiting for extraction, at the version that was read.
struct Waiting {
    id: MemoryId,
    namespace: String,
    version: VersionNumber,
    graph: MemoryGraph,
}

impl Store {
    /// Extracts the entities of the memories waiting for it, a batch per
    /// transaction.
    ///
    /// # Failure
    /// Database errors; batches written stay.
    pub fn extract_backlog(&mut self) -> Result<()> {
        loop {
            let batch = self.extraction_batch()?;
            if batch.is_empty() {
                return Ok(());
            }
            self.write(|tx| {
                let mut version_now =
                    tx.prepare_cached("SELECT version FROM memories WHERE id = ?1")?;
                for waiting in &batch {
                    let now: Option<VersionNumber> = version_now
                        .query_row([waiting.id], |row| row.get(0))
                        .optional()?;
                    if now == Some(waiting.version) {
                        let who = Asserting {
                            memory_id: waiting.id,
                            namespace: &waiting.namespace,
                            version: waiting.version,
                            extractor: Extractor::Builtin,
                        };
                        tx.replace_assertions(&who, &waiting.graph)?;
                    }
                    if now.is_none() || now == Some(waiting.version) {
                        tx.prepare_cached("DELETE FROM graph_backlog WHERE memory_id = ?1")?
                            .execute(params![waiting.id])?;
                    }
                }
                Ok(())
            })?;
        }
    }

    /// Reads and extracts the next waiting memories, in id order.
    fn extraction_batch(&self) -> Result<Vec<Waiting>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT m.id, m.namespace, m.version, m.description, m.body
             FROM graph_backlog b JOIN memories m ON m.id = b.memory_id
             ORDER BY b.memory_id LIMIT ?1",
        )?;
        let rows = stmt.query_map([BATCH_MEMORIES], |row| {
            let description: String = row.get(3)?;
            let body: String = row.get(4)?;
            Ok(Waiting {
                id: row.get(0)?,
                namespace: row.get(1)?,
                version: row.get(2)?,
                graph: extract_memory(&description, &body).into(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
