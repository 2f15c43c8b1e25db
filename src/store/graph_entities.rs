//! Changing entities as a whole: merging several into one, renaming one,
//! forgetting one.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::Store;
use super::graph_links::find_entity;
use super::memories::require_namespace;
use super::tx::Tx;
use crate::error::{Error, Result};
use crate::graph::{EntityId, EntityName, EntityType, RelationshipId};
use crate::time::Timestamp;

/// What `merge-entities`, `rename-entity` and `forget-entity` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityChange {
    /// The entity's name now (`null` once forgotten).
    pub entity: Option<String>,
    /// The names it took over or left behind, now its aliases (or, for
    /// `forget-entity`, the names extractors will no longer bring back).
    pub names: Vec<String>,
}

impl Store {
    /// Merges `sources` into the entity `into` (created with the first
    /// source's type if it does not exist): their mentions and
    /// relationships move to it, their names become its aliases, and
    /// relationships that would join it to itself are dropped.
    ///
    /// # Failure
    /// Not-found for an unknown namespace or source entity.
    pub fn merge_entities(
        &mut self,
        namespace: &str,
        sources: &[EntityName],
        into: &EntityName,
    ) -> Result<EntityChange> {
        self.write(|tx| {
            require_namespace(tx, namespace)?;
            let mut ids = Vec::new();
            for name in sources {
                // Two names of one entity (`A a`, or a name and its alias)
                // merge it once.
                let id = find_entity(tx, namespace, name)?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            let kind: String =
                tx.query_row("SELECT type FROM entities WHERE id = ?1", [ids[0]], |row| {
                    row.get(0)
                })?;
            let now = Timestamp::now();
            let target = tx.entity_for(namespace, into, &EntityType::new(&kind)?, false, now)?;
            let mut names = Vec::new();
            for &source in &ids {
                if source != target {
                    names.push(merge_one(tx, namespace, source, target)?);
                }
            }
            tx.execute(
                "UPDATE entities SET updated_at = ?2 WHERE id = ?1",
                params![target, now.0],
            )?;
            Ok(EntityChange {
                entity: Some(entity_name(tx, target)?),
                names,
            })
        })
    }

    /// Gives an entity a new name; the old one becomes an alias, so that
    /// extractors that find it find the entity.
    ///
    /// # Failure
    /// Not-found for an unknown namespace or entity; already-exists when
    /// another entity has the new name.
    pub fn rename_entity(
        &mut self,
        namespace: &str,
        old: &EntityName,
        new: &EntityName,
    ) -> Result<EntityChange> {
        self.write(|tx| {
            require_namespace(tx, namespace)?;
            let id = find_entity(tx, namespace, old)?;
            let old_name = entity_name(tx, id)?;
            let (old_key, new_key) = (EntityName::new(&old_name)?.key(), new.key());
            match tx.known_entity(namespace, &new_key)? {
                Some(other) if other != id => {
                    return Err(Error::already_exists(format!(
                        "an entity named {:?} already exists in namespace {namespace:?}",
                        new.as_str()
                    ))
                    .with_hint("merge the two with `sqlite-graphrag merge-entities`"));
                }
                _ => {}
            }
            tx.execute(
                "DELETE FROM entity_aliases WHERE entity_id = ?1 AND key = ?2",
                params![id, new_key.as_str()],
            )?;
            tx.execute(
                "UPDATE entities SET key = ?2, name = ?3, updated_at = ?4 WHERE id = ?1",
                params![id, new_key.as_str(), new.as_str(), Timestamp::now().0],
            )?;
            let mut names = Vec::new();
            if old_key != new_key {
                tx.execute(
                    "INSERT INTO entity_aliases (entity_id, namespace, key, name) VALUES (?1, ?2, ?3, ?4)",
                    params![id, namespace, old_key.as_str(), old_name],
                )?;
                names.push(old_name);
            }
            Ok(EntityChange {
                entity: Some(new.as_str().to_owned()),
                names,
            })
        })
    }

    /// Deletes an entity with its mentions and relationships, and keeps
    /// extractors from bringing back its name or aliases.
    ///
    /// # Failure
    /// Not-found for an unknown namespace or entity.
    pub fn forget_entity(&mut self, namespace: &str, name: &EntityName) -> Result<EntityChange> {
        self.write(|tx| {
            require_namespace(tx, namespace)?;
            let id = find_entity(tx, namespace, name)?;
            let names: Vec<String> = tx
                .prepare_cached(
                    "SELECT name FROM entities WHERE id = ?1
                     UNION ALL SELECT name FROM (SELECT name FROM entity_aliases
                                                 WHERE entity_id = ?1 ORDER BY key)",
                )?
                .query_map([id], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            tx.execute(
                "INSERT OR IGNORE INTO ignored_entities (namespace, key)
                 SELECT namespace, key FROM entities WHERE id = ?1
                 UNION ALL SELECT namespace, key FROM entity_aliases WHERE entity_id = ?1",
                [id],
            )?;
            tx.execute("DELETE FROM entities WHERE id = ?1", [id])?;
            tx.drop_unasserted_in(namespace)?;
            Ok(EntityChange {
                entity: None,
                names,
            })
        })
    }
}

/// Moves everything of `source` to `target` and deletes `source`; returns
/// its name, now an alias of `target`.
pub(crate) fn merge_one(
    tx: &Tx<'_>,
    namespace: &str,
    source: EntityId,
    target: EntityId,
) -> Result<String> {
    let name = entity_name(tx, source)?;
    let key: String = tx.query_row("SELECT key FROM entities WHERE id = ?1", [source], |row| {
        row.get(0)
    })?;
    tx.execute(
        "UPDATE entity_aliases SET entity_id = ?2 WHERE entity_id = ?1",
        params![source, target],
    )?;
    tx.execute(
        "INSERT INTO mentions (memory_id, entity_id, extractor, version, count)
         SELECT memory_id, ?2, extractor, version, count FROM mentions WHERE entity_id = ?1
         ON CONFLICT (memory_id, entity_id, extractor) DO UPDATE SET count = count + excluded.count",
        params![source, target],
    )?;
    let moved: Vec<(RelationshipId, EntityId, EntityId, String)> = tx
        .prepare_cached(
            "SELECT id, source_id, target_id, relation FROM relationships
             WHERE source_id = ?1 OR target_id = ?1",
        )?
        .query_map([source], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, from, to, relation) in moved {
        let from = if from == source { target } else { from };
        let to = if to == source { target } else { to };
        if from == to {
            tx.execute("DELETE FROM relationships WHERE id = ?1", [id])?;
            continue;
        }
        let existing: Option<RelationshipId> = tx
            .query_row(
                "SELECT id FROM relationships WHERE source_id = ?1 AND target_id = ?2 AND relation = ?3",
                params![from, to, relation],
                |row| row.get(0),
            )
            .optional()?;
        match existing {
            Some(other) if other != id => {
                move_assertions(tx, id, other)?;
                tx.execute("DELETE FROM relationships WHERE id = ?1", [id])?;
            }
            _ => {
                tx.execute(
                    "UPDATE relationships SET source_id = ?2, target_id = ?3 WHERE id = ?1",
                    params![id, from, to],
                )?;
            }
        }
    }
    tx.execute("DELETE FROM entities WHERE id = ?1", [source])?;
    tx.execute(
        "INSERT INTO entity_aliases (entity_id, namespace, key, name) VALUES (?1, ?2, ?3, ?4)",
        params![target, namespace, key, name],
    )?;
    Ok(name)
}

/// Moves the assertions of relationship `from` to relationship `to`,
/// keeping the larger weight where both have one of the same source.
fn move_assertions(tx: &Tx<'_>, from: RelationshipId, to: RelationshipId) -> Result<()> {
    tx.execute(
        "INSERT INTO assertions (relationship_id, memory_id, extractor, version, weight, description)
         SELECT ?2, memory_id, extractor, version, weight, description FROM assertions
         WHERE relationship_id = ?1 AND memory_id IS NOT NULL
         ON CONFLICT (relationship_id, memory_id, extractor) WHERE memory_id IS NOT NULL
         DO UPDATE SET weight = max(weight, excluded.weight)",
        params![from, to],
    )?;
    tx.execute(
        "INSERT INTO assertions (relationship_id, memory_id, extractor, version, weight, description)
         SELECT ?2, NULL, extractor, NULL, weight, description FROM assertions
         WHERE relationship_id = ?1 AND memory_id IS NULL
         ON CONFLICT (relationship_id) WHERE memory_id IS NULL
         DO UPDATE SET weight = max(weight, excluded.weight)",
        params![from, to],
    )?;
    Ok(())
}

/// The display name of an entity.
fn entity_name(conn: &rusqlite::Connection, id: EntityId) -> Result<String> {
    Ok(
        conn.query_row("SELECT name FROM entities WHERE id = ?1", [id], |row| {
            row.get(0)
        })?,
    )
}
