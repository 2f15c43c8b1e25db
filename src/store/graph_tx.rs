//! The write primitives of the graph, as methods of [`Tx`]: what one
//! extractor asserts about one memory replaces what it asserted before.

use rusqlite::{OptionalExtension, params};

use super::tx::Tx;
use crate::error::Result;
use crate::graph::assertion::VAGUE_TYPES;
use crate::graph::{
    EntityId, EntityKey, EntityName, EntityType, Extractor, MemoryGraph, RelationshipId,
};
use crate::memory::{MemoryId, VersionNumber};
use crate::time::Timestamp;

/// The memory whose assertions are written, and the version they come from.
pub(crate) struct Asserting<'a> {
    pub memory_id: MemoryId,
    pub namespace: &'a str,
    pub version: VersionNumber,
    pub extractor: Extractor,
}

impl Tx<'_> {
    /// Replaces what `who.extractor` asserted about `who.memory_id` with
    /// `graph`. Relationships and entities that nothing asserts any more
    /// are deleted.
    pub(crate) fn replace_assertions(
        &self,
        who: &Asserting<'_>,
        graph: &MemoryGraph,
    ) -> Result<()> {
        let before = self.asserted_by(who)?;
        // A memory new to this extractor (every one an import creates) has
        // nothing to delete: its two lookups above found nothing.
        if !before.0.is_empty() {
            self.prepare_cached("DELETE FROM mentions WHERE memory_id = ?1 AND extractor = ?2")?
                .execute(params![who.memory_id, who.extractor.as_str()])?;
        }
        if !before.1.is_empty() {
            self.prepare_cached("DELETE FROM assertions WHERE memory_id = ?1 AND extractor = ?2")?
                .execute(params![who.memory_id, who.extractor.as_str()])?;
        }
        let now = Timestamp::now();
        let mut ids = Vec::with_capacity(graph.mentions.len());
        for mention in &graph.mentions {
            let explicit = who.extractor == Extractor::Explicit;
            let (known, ignored) = self.look_up_entity(who.namespace, &mention.name.key())?;
            if known.is_none() && ignored && !explicit {
                ids.push(None);
                continue;
            }
            let id = match known {
                Some(id) => {
                    if explicit && mention.type_stated {
                        self.set_entity_type(id, &mention.kind, now)?;
                    } else if who.extractor.refines_vague_types() && mention.type_stated {
                        self.refine_vague_type(id, &mention.kind, now)?;
                    }
                    id
                }
                None => {
                    self.create_entity(who.namespace, &mention.name, &mention.kind, ignored, now)?
                }
            };
            if let Some(description) = &mention.description {
                // A user's description replaces any; an extractor's only fills a blank one.
                self.prepare_cached(
                    "UPDATE entities SET description = ?2, updated_at = ?3
                     WHERE id = ?1 AND (?4 OR description = '')",
                )?
                .execute(params![id, description, now.0, explicit])?;
            }
            self.prepare_cached(
                "INSERT INTO mentions (memory_id, entity_id, extractor, version, count)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (memory_id, entity_id, extractor) DO UPDATE SET count = count + excluded.count",
            )?
            .execute(params![
                who.memory_id,
                id,
                who.extractor.as_str(),
                who.version,
                mention.count
            ])?;
            ids.push(Some(id));
        }
        for link in &graph.links {
            let (Some(&Some(source)), Some(&Some(target))) = (ids.get(link.from), ids.get(link.to))
            else {
                continue;
            };
            if source == target {
                continue;
            }
            let relationship = self.relationship_for(source, target, link.relation.as_str())?;
            self.prepare_cached(
                "INSERT INTO assertions (relationship_id, memory_id, extractor, version, weight, description)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (relationship_id, memory_id, extractor) WHERE memory_id IS NOT NULL
                 DO UPDATE SET weight = max(weight, excluded.weight)",
            )?
            .execute(params![
                relationship,
                who.memory_id,
                who.extractor.as_str(),
                who.version,
                link.weight.get(),
                link.description
            ])?;
        }
        self.drop_unasserted(&before)
    }

    /// The entities and relationships `who` asserted until now.
    fn asserted_by(&self, who: &Asserting<'_>) -> Result<(Vec<EntityId>, Vec<RelationshipId>)> {
        let entities = self
            .prepare_cached(
                "SELECT entity_id FROM mentions WHERE memory_id = ?1 AND extractor = ?2",
            )?
            .query_map(params![who.memory_id, who.extractor.as_str()], |row| {
                row.get(0)
            })?
            .collect::<rusqlite::Result<Vec<EntityId>>>()?;
        let relationships = self
            .prepare_cached(
                "SELECT relationship_id FROM assertions WHERE memory_id = ?1 AND extractor = ?2",
            )?
            .query_map(params![who.memory_id, who.extractor.as_str()], |row| {
                row.get(0)
            })?
            .collect::<rusqlite::Result<Vec<RelationshipId>>>()?;
        Ok((entities, relationships))
    }

    /// Deletes those of `candidates` that nothing asserts any more: a
    /// relationship without assertions, then an entity without mentions
    /// and without relationships.
    pub(crate) fn drop_unasserted(
        &self,
        candidates: &(Vec<EntityId>, Vec<RelationshipId>),
    ) -> Result<()> {
        let (entities, relationships) = candidates;
        let mut drop_relationship = self.prepare_cached(
            "DELETE FROM relationships WHERE id = ?1
             AND NOT EXISTS (SELECT 1 FROM assertions WHERE relationship_id = ?1)",
        )?;
        let mut ends =
            self.prepare_cached("SELECT source_id, target_id FROM relationships WHERE id = ?1")?;
        let mut orphans: Vec<EntityId> = entities.clone();
        for &id in relationships {
            let pair: Option<(EntityId, EntityId)> = ends
                .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            if drop_relationship.execute([id])? > 0
                && let Some((source, target)) = pair
            {
                orphans.extend([source, target]);
            }
        }
        let mut drop_entity = self.prepare_cached(
            "DELETE FROM entities WHERE id = ?1
             AND NOT EXISTS (SELECT 1 FROM mentions WHERE entity_id = ?1)
             AND NOT EXISTS (SELECT 1 FROM relationships WHERE source_id = ?1 OR target_id = ?1)",
        )?;
        for id in orphans {
            drop_entity.execute([id])?;
        }
        Ok(())
    }

    /// Deletes the relationships of `namespace` that nothing asserts, then
    /// its entities without mentions and without relationships.
    pub(crate) fn drop_unasserted_in(&self, namespace: &str) -> Result<()> {
        self.prepare_cached(
            "DELETE FROM relationships WHERE source_id IN (SELECT id FROM entities WHERE namespace = ?1)
             AND NOT EXISTS (SELECT 1 FROM assertions WHERE relationship_id = relationships.id)",
        )?
        .execute([namespace])?;
        self.prepare_cached(
            "DELETE FROM entities WHERE namespace = ?1
             AND NOT EXISTS (SELECT 1 FROM mentions WHERE entity_id = entities.id)
             AND NOT EXISTS (SELECT 1 FROM relationships
                             WHERE source_id = entities.id OR target_id = entities.id)",
        )?
        .execute([namespace])?;
        Ok(())
    }

    /// Returns the entity named `name` in `namespace`, found by its name
    /// or one of its aliases, or created with `kind` if it is new (and no
    /// longer ignored, if `forget-entity` removed it). An existing entity
    /// takes `kind` only when `set_type`.
    pub(crate) fn entity_for(
        &self,
        namespace: &str,
        name: &EntityName,
        kind: &EntityType,
        set_type: bool,
        at: Timestamp,
    ) -> Result<EntityId> {
        match self.look_up_entity(namespace, &name.key())? {
            (Some(id), _) => {
                if set_type {
                    self.set_entity_type(id, kind, at)?;
                }
                Ok(id)
            }
            (None, ignored) => self.create_entity(namespace, name, kind, ignored, at),
        }
    }

    /// Gives an entity the type a user states.
    fn set_entity_type(&self, id: EntityId, kind: &EntityType, at: Timestamp) -> Result<()> {
        self.prepare_cached(
            "UPDATE entities SET type = ?2, updated_at = ?3 WHERE id = ?1 AND type <> ?2",
        )?
        .execute(params![id, kind.as_str(), at.0])?;
        Ok(())
    }

    /// Gives an entity of a vague type ([`VAGUE_TYPES`]) the type an LLM
    /// extractor states.
    fn refine_vague_type(&self, id: EntityId, kind: &EntityType, at: Timestamp) -> Result<()> {
        let vague = serde_json::to_string(VAGUE_TYPES)?;
        self.prepare_cached(
            "UPDATE entities SET type = ?2, updated_at = ?3
             WHERE id = ?1 AND type <> ?2 AND type IN (SELECT value FROM json_each(?4))",
        )?
        .execute(params![id, kind.as_str(), at.0, vague])?;
        Ok(())
    }

    /// Creates an entity, taking its name off the ignored ones if it was.
    fn create_entity(
        &self,
        namespace: &str,
        name: &EntityName,
        kind: &EntityType,
        ignored: bool,
        at: Timestamp,
    ) -> Result<EntityId> {
        let key = name.key();
        if ignored {
            self.prepare_cached("DELETE FROM ignored_entities WHERE namespace = ?1 AND key = ?2")?
                .execute(params![namespace, key.as_str()])?;
        }
        self.prepare_cached(
            "INSERT INTO entities (namespace, key, name, type, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )?
        .execute(params![
            namespace,
            key.as_str(),
            name.as_str(),
            kind.as_str(),
            at.0
        ])?;
        Ok(EntityId::from_row_id(self.last_insert_rowid()))
    }

    /// The entity whose name or alias has `key` in `namespace`, if any.
    pub(crate) fn known_entity(
        &self,
        namespace: &str,
        key: &EntityKey,
    ) -> Result<Option<EntityId>> {
        Ok(self.look_up_entity(namespace, key)?.0)
    }

    /// The entity whose name or alias has `key` in `namespace`, if any,
    /// and whether `forget-entity` removed that name.
    fn look_up_entity(&self, namespace: &str, key: &EntityKey) -> Result<(Option<EntityId>, bool)> {
        Ok(self
            .prepare_cached(
                "SELECT coalesce(
                     (SELECT id FROM entities WHERE namespace = ?1 AND key = ?2),
                     (SELECT entity_id FROM entity_aliases WHERE namespace = ?1 AND key = ?2)),
                     EXISTS (SELECT 1 FROM ignored_entities WHERE namespace = ?1 AND key = ?2)",
            )?
            .query_row(params![namespace, key.as_str()], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?)
    }

    /// Returns the relationship `relation` from `source` to `target`,
    /// creating it if it is new.
    pub(crate) fn relationship_for(
        &self,
        source: EntityId,
        target: EntityId,
        relation: &str,
    ) -> Result<RelationshipId> {
        let inserted = self
            .prepare_cached(
                "INSERT OR IGNORE INTO relationships (source_id, target_id, relation)
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![source, target, relation])?;
        if inserted == 1 {
            return Ok(RelationshipId::from_row_id(self.last_insert_rowid()));
        }
        Ok(self
            .prepare_cached(
                "SELECT id FROM relationships WHERE source_id = ?1 AND target_id = ?2 AND relation = ?3",
            )?
            .query_row(params![source, target, relation], |row| row.get(0))?)
    }
}
