//! What `ingest` needs of the store: the memories a folder's files became
//! (found by their metadata), and writing files' contents the way
//! `import` writes its lines.

use super::derived::derive_many;
use super::jsonl::{MemoryRecord, write_memory};
use super::memories::{Action, MEMORY_COLUMNS, Outcome, find, memory_from_row, outcome};
use super::{Store, Tx};
use crate::embed::Embedder;
use crate::error::Result;
use crate::memory::{Content, Memory};
use crate::time::Timestamp;

/// A memory ready to write: its content, embedded and read by the
/// built-in extractor beforehand, so that writing holds the lock briefly.
pub struct PreparedMemory(MemoryRecord);

impl PreparedMemory {
    /// Embeds (with one call of the embedder) and extracts each
    /// `(name, content)` of `items` for the memory of that name in
    /// `namespace`, written in agent session `session` (`None` keeps the
    /// one recorded), and stamped `now` if it is new.
    ///
    /// # Failure
    /// The embedder's errors.
    pub fn new_many(
        embedder: &dyn Embedder,
        namespace: &str,
        items: Vec<(String, Content)>,
        session: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<Self>> {
        let texts: Vec<(&str, &str)> = items
            .iter()
            .map(|(_, c)| (c.description.as_str(), c.body.as_str()))
            .collect();
        let derived = derive_many(embedder, &texts)?;
        Ok(items
            .into_iter()
            .zip(derived)
            .map(|((name, content), derived)| {
                PreparedMemory(MemoryRecord {
                    namespace: namespace.to_owned(),
                    name,
                    content,
                    derived,
                    session: session.map(str::to_owned),
                    created_at: now,
                    updated_at: now,
                    graph: None,
                    extracted: Vec::new(),
                })
            })
            .collect())
    }

    /// Returns the name of the memory.
    pub fn name(&self) -> &str {
        &self.0.name
    }
}

impl Store {
    /// Returns the memory `name` of `namespace`, live or forgotten, with its body.
    ///
    /// # Failure
    /// Database errors.
    pub fn find_memory(&self, namespace: &str, name: &str) -> Result<Option<Memory>> {
        find(self.conn(), namespace, name)
    }

    /// Returns the live memories of `namespace` whose metadata holds the
    /// string `value` under the top-level `key`, without their bodies, by name.
    ///
    /// # Failure
    /// Database errors.
    pub fn live_memories_with_metadata(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> Result<Vec<Memory>> {
        let sql = format!(
            "SELECT {MEMORY_COLUMNS} FROM memories
             WHERE namespace = ?1 AND deleted_at IS NULL AND json_extract(metadata, ?2) = ?3
             ORDER BY name"
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let path = format!("$.\"{key}\"");
        let rows = stmt.query_map([namespace, path.as_str(), value], |row| {
            memory_from_row(row, false)
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Writes each prepared memory (created, or a new version if its name
    /// exists and its content differs; a forgotten one comes back), in
    /// short transactions as `import` writes, and returns what was done to
    /// each, in order. Changed memories are queued for the LLM extractor
    /// as any other write queues them.
    ///
    /// # Failure
    /// Database errors; the transactions committed before stay.
    pub fn write_prepared_memories(&mut self, memories: &[PreparedMemory]) -> Result<Vec<Outcome>> {
        let mut outcomes = Vec::with_capacity(memories.len());
        self.write_in_parts(
            memories,
            |tx: &Tx<'_>, m: &PreparedMemory| write_memory(tx, &m.0),
            |_, written| outcomes.extend(written),
        )?;
        Ok(outcomes)
    }

    /// Forgets each memory of `memories` that is still live at the version
    /// read, in short transactions, and returns what was done to each (a
    /// memory changed meanwhile is left alone and reported `unchanged`).
    ///
    /// # Failure
    /// Database errors; the transactions committed before stay.
    pub fn forget_memories(&mut self, memories: &[Memory]) -> Result<Vec<Outcome>> {
        let mut outcomes = Vec::with_capacity(memories.len());
        self.write_in_parts(
            memories,
            |tx: &Tx<'_>, memory: &Memory| {
                if tx.is_at_version(memory)? {
                    tx.forget_memory(memory)
                } else {
                    Ok(outcome(
                        memory,
                        &memory.name,
                        memory.version,
                        Action::Unchanged,
                    ))
                }
            },
            |_, written| outcomes.extend(written),
        )?;
        Ok(outcomes)
    }
}
