//! Reading the graph: the entities of a memory, of a namespace, and one
//! entity in full.

use clap::ValueEnum;
use rusqlite::{Row, params};
use serde::Serialize;

use super::Store;
use super::graph_links::{
    RelationshipView, VISIBLE_RELATIONSHIP, find_entity_or_alias, relationship_view,
};
use crate::error::Result;
use crate::graph::{EntityKey, EntityName, RelationshipId};
use crate::memory::MemoryId;
use crate::time::Timestamp;

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
    /// Whether `forget-entity` removed the name with `key` from `namespace`
    /// (extractors leave it out of the graph).
    pub fn is_forgotten_name(&self, namespace: &str, key: &EntityKey) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("SELECT 1 FROM ignored_entities WHERE namespace = ?1 AND key = ?2")?
            .exists(params![namespace, key.as_str()])?)
    }

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

/// An entity as `entities` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityRow {
    /// Its display name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// What it is, if someone said.
    pub description: String,
    /// Its other names.
    pub aliases: Vec<String>,
    /// Live memories that mention it.
    pub memories: i64,
    /// Visible relationships in and out.
    pub degree: i64,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// The order `entities` lists them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EntityOrder {
    /// Most relationships first.
    Degree,
    /// By name.
    Name,
    /// Most recently changed first.
    Recent,
}

/// Which entities `entities` lists.
#[derive(Debug, Clone)]
pub struct EntityFilter {
    /// Only entities of this type.
    pub kind: Option<String>,
    /// Only entities whose name (case-folded) starts with this.
    pub prefix: Option<String>,
    /// The order.
    pub order: EntityOrder,
    /// At most this many.
    pub limit: u32,
}

/// The columns of an [`EntityRow`] for an entity aliased `e`; only live
/// memories and visible relationships count.
const ENTITY_ROW_COLUMNS: &str = "e.name, e.type, e.description,
    (SELECT json_group_array(name) FROM (SELECT name FROM entity_aliases
                                         WHERE entity_id = e.id ORDER BY key)) AS aliases,
    e.updated_at,
    (SELECT count(DISTINCT mm.memory_id) FROM mentions mm JOIN memories m ON m.id = mm.memory_id
     WHERE mm.entity_id = e.id AND m.deleted_at IS NULL) AS memories,
    (SELECT count(*) FROM relationships r WHERE (r.source_id = e.id OR r.target_id = e.id)
     AND EXISTS (SELECT 1 FROM assertions a LEFT JOIN memories m ON m.id = a.memory_id
                 WHERE a.relationship_id = r.id AND (a.memory_id IS NULL OR m.deleted_at IS NULL)))
     AS degree";

fn entity_row(row: &Row<'_>) -> rusqlite::Result<EntityRow> {
    let aliases: String = row.get(3)?;
    Ok(EntityRow {
        name: row.get(0)?,
        kind: row.get(1)?,
        description: row.get(2)?,
        aliases: serde_json::from_str(&aliases).unwrap_or_default(),
        updated_at: Timestamp(row.get(4)?),
        memories: row.get(5)?,
        degree: row.get(6)?,
    })
}

impl Store {
    /// Returns the visible entities of a namespace: those a live memory
    /// mentions or a visible relationship touches.
    ///
    /// An unknown namespace has none.
    pub fn entities(&self, namespace: &str, filter: &EntityFilter) -> Result<Vec<EntityRow>> {
        let order = match filter.order {
            EntityOrder::Degree => "degree DESC, memories DESC, e.key",
            EntityOrder::Name => "e.key",
            EntityOrder::Recent => "e.updated_at DESC, e.key",
        };
        let sql = format!(
            "SELECT * FROM (SELECT {ENTITY_ROW_COLUMNS}, e.key FROM entities e
                 WHERE e.namespace = ?1 AND (?2 IS NULL OR e.type = ?2)
                     AND (?3 IS NULL OR substr(e.key, 1, length(?3)) = ?3)) e
             WHERE e.memories > 0 OR e.degree > 0
             ORDER BY {order} LIMIT ?4"
        );
        let prefix = filter.prefix.as_ref().map(|p| p.to_lowercase());
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map(
            params![namespace, filter.kind, prefix, filter.limit],
            entity_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Returns one entity with the live memories that mention it and its
    /// visible relationships.
    ///
    /// # Failure
    /// Not-found for an unknown entity.
    pub fn entity(&self, namespace: &str, name: &EntityName) -> Result<EntityDetail> {
        let id = find_entity_or_alias(self.conn(), namespace, name)?;
        let sql =
            format!("SELECT {ENTITY_ROW_COLUMNS}, e.created_at FROM entities e WHERE e.id = ?1");
        let (entity, created_at) = self.conn().query_row(&sql, [id], |row| {
            Ok((entity_row(row)?, Timestamp(row.get(7)?)))
        })?;
        let mentioned_in = self
            .conn()
            .prepare_cached(
                "SELECT m.name FROM mentions mm JOIN memories m ON m.id = mm.memory_id
                 WHERE mm.entity_id = ?1 AND m.deleted_at IS NULL
                 GROUP BY m.id ORDER BY max(m.updated_at) DESC, m.name",
            )?
            .query_map([id], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        // By relation, then the other end's name: an order that row ids,
        // which an export and import renumber, do not change.
        let relationship_ids = |column: &str, other: &str| -> Result<Vec<RelationshipId>> {
            let sql = format!(
                "SELECT r.id FROM relationships r JOIN entities o ON o.id = r.{other}
                 WHERE r.{column} = ?1 AND {VISIBLE_RELATIONSHIP}
                 ORDER BY r.relation, o.key"
            );
            Ok(self
                .conn()
                .prepare(&sql)?
                .query_map([id], |row| row.get(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        };
        let views = |ids: Vec<RelationshipId>| -> Result<Vec<RelationshipView>> {
            ids.into_iter()
                .map(|r| relationship_view(self.conn(), r))
                .collect()
        };
        Ok(EntityDetail {
            entity,
            created_at,
            mentioned_in,
            outgoing: views(relationship_ids("source_id", "target_id")?)?,
            incoming: views(relationship_ids("target_id", "source_id")?)?,
        })
    }
}

/// One entity in full, as `entity` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityDetail {
    /// Its fields and counts.
    #[serde(flatten)]
    pub entity: EntityRow,
    /// When it was created.
    pub created_at: Timestamp,
    /// The names of the live memories that mention it, most recent first.
    pub mentioned_in: Vec<String>,
    /// Its visible relationships to other entities.
    pub outgoing: Vec<RelationshipView>,
    /// Its visible relationships from other entities.
    pub incoming: Vec<RelationshipView>,
}
