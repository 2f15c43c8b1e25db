//! Reading the graph: the entities of a memory.

use serde::Serialize;

use super::Store;
use crate::error::Result;
use crate::memory::MemoryId;

/// An entity as a memory shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntitySummary {
    /// Its display name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
}

impl Store {
    /// Returns the entities a memory mentions, by any extractor, in name
    /// order.
    pub fn memory_entities(&self, memory_id: MemoryId) -> Result<Vec<EntitySummary>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT DISTINCT e.name, e.type FROM mentions m JOIN entities e ON e.id = m.entity_id
             WHERE m.memory_id = ?1 ORDER BY e.key",
        )?;
        let rows = stmt.query_map([memory_id], |row| {
            Ok(EntitySummary {
                name: row.get(0)?,
                kind: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
