//! The graph in the JSONL exchange format: what a memory line carries (the
//! graph a user gave the memory), and the lines that are not memories:
//! `{"ignored": NAME}` for a name `forget-entity` removed,
//! `{"link": {…}}` for a relationship made with `link`, and
//! `{"entity": {…}}` for an entity's name, type, description, aliases and
//! times. `export` writes them in the order `import` needs them: ignored
//! names before the memories (so that the built-in extractor leaves them
//! out), then the memories, the links, and the entities last (so that an
//! entity line finds its entity, and merges the ones its aliases name).

use rusqlite::{OptionalExtension, Row, params};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::graph_entities::merge_one;
use super::graph_links::{NewLink, VISIBLE_RELATIONSHIP};
use super::jsonl::{importable_times, line_times};
use super::{Store, Tx};
use crate::error::{Error, Result};
use crate::graph::explicit::{EntityInput, GraphInput, MAX_DESCRIPTION_BYTES, RelationshipInput};
use crate::graph::{EntityId, EntityKey, EntityName, EntityType, Extractor, Relation, Weight};
use crate::memory::{MemoryId, validate_namespace};
use crate::time::Timestamp;

/// An entity line: `{"entity": {…}, "namespace": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityLine {
    /// The entity.
    pub entity: EntityFields,
    /// The namespace; when present it wins over `--namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// What an entity line says of an entity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityFields {
    /// Its display name (required).
    pub name: String,
    /// Its type; absent keeps the one it has (`concept` for a new one).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// What it is; absent keeps what it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its other names, added to the ones it has.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// RFC 3339 creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// RFC 3339 time of the latest change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// A link line: `{"link": {"from","to","relation","weight","description"},
/// "namespace": …}`, a relationship as `link` makes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkLine {
    /// The relationship.
    pub link: RelationshipInput,
    /// The namespace; when present it wins over `--namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// An ignored line: `{"ignored": NAME, "namespace": …}`, a name that
/// extractors do not bring back, as `forget-entity` leaves it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoredLine {
    /// The name (export writes its matching key).
    pub ignored: String,
    /// The namespace; when present it wins over `--namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Which kind of line a JSON object is: the one field that tells.
#[derive(Default, Deserialize)]
struct LineKind {
    #[serde(default)]
    entity: Option<IgnoredAny>,
    #[serde(default)]
    link: Option<IgnoredAny>,
    #[serde(default)]
    ignored: Option<IgnoredAny>,
}

/// A checked graph line, ready to write.
pub(crate) struct GraphRecord {
    namespace: String,
    item: GraphItem,
}

enum GraphItem {
    Ignored(EntityName),
    Link {
        from: EntityName,
        to: EntityName,
        relation: Relation,
        weight: Weight,
        description: String,
    },
    Entity(CheckedEntity),
}

struct CheckedEntity {
    name: EntityName,
    kind: Option<EntityType>,
    description: Option<String>,
    aliases: Vec<EntityName>,
    times: Option<(Timestamp, Timestamp)>,
}

/// Reads `text` as a graph line if it is one (it has a field `entity`,
/// `link` or `ignored`), and checks it with the rules of the commands
/// that make what it describes; `None` if it is not a graph line.
///
/// # Failure
/// Invalid input or too-large, naming what is wrong.
pub(crate) fn parse_graph_line(
    text: &str,
    default_namespace: &str,
    now: Timestamp,
) -> Result<Option<GraphRecord>> {
    let kind: LineKind = serde_json::from_str(text).unwrap_or_default();
    let (namespace, item) = if kind.entity.is_some() {
        let line: EntityLine = serde_json::from_str(text)?;
        (
            line.namespace,
            GraphItem::Entity(check_entity(line.entity, now)?),
        )
    } else if kind.link.is_some() {
        let line: LinkLine = serde_json::from_str(text)?;
        (line.namespace, check_link(line.link)?)
    } else if kind.ignored.is_some() {
        let line: IgnoredLine = serde_json::from_str(text)?;
        (
            line.namespace,
            GraphItem::Ignored(EntityName::new(&line.ignored)?),
        )
    } else {
        return Ok(None);
    };
    let namespace = namespace.unwrap_or_else(|| default_namespace.to_owned());
    validate_namespace(&namespace)?;
    Ok(Some(GraphRecord { namespace, item }))
}

fn check_entity(fields: EntityFields, now: Timestamp) -> Result<CheckedEntity> {
    let name = EntityName::new(&fields.name)?;
    let kind = fields.kind.as_deref().map(EntityType::new).transpose()?;
    if let Some(description) = &fields.description
        && description.len() > MAX_DESCRIPTION_BYTES
    {
        return Err(Error::too_large(format!(
            "entity description of {} bytes; the limit is {MAX_DESCRIPTION_BYTES}",
            description.len()
        )));
    }
    let mut keys = vec![name.key()];
    let mut aliases = Vec::with_capacity(fields.aliases.len());
    for alias in &fields.aliases {
        let alias = EntityName::new(alias)?;
        let key = alias.key();
        if keys.contains(&key) {
            return Err(Error::invalid(format!(
                "alias {:?} repeats a name of the entity",
                alias.as_str()
            )));
        }
        keys.push(key);
        aliases.push(alias);
    }
    let times = line_times(
        fields.created_at.as_deref(),
        fields.updated_at.as_deref(),
        now,
    )?;
    Ok(CheckedEntity {
        name,
        kind,
        description: fields.description,
        aliases,
        times,
    })
}

fn check_link(link: RelationshipInput) -> Result<GraphItem> {
    let from = EntityName::new(&link.from)?;
    let to = EntityName::new(&link.to)?;
    if from.key() == to.key() {
        return Err(Error::invalid(format!(
            "an entity cannot be linked to itself ({:?})",
            from.as_str()
        )));
    }
    Ok(GraphItem::Link {
        from,
        to,
        relation: Relation::new(&link.relation)?,
        weight: Weight::new(link.weight.unwrap_or(1.0))?,
        description: link.description.unwrap_or_default(),
    })
}

impl Tx<'_> {
    /// Writes a checked graph line, at `now`.
    ///
    /// # Failure
    /// Invalid input when the line cannot apply to the graph as it is: an
    /// entity line whose entity nothing mentions or links, or whose name
    /// or alias another entity has as an alias; a link line whose two
    /// names are one entity's.
    pub(crate) fn write_graph_line(&self, record: &GraphRecord, now: Timestamp) -> Result<()> {
        let namespace = record.namespace.as_str();
        self.ensure_namespace(namespace, now)?;
        match &record.item {
            GraphItem::Ignored(name) => {
                self.prepare_cached(
                    "INSERT OR IGNORE INTO ignored_entities (namespace, key) VALUES (?1, ?2)",
                )?
                .execute(params![namespace, name.key().as_str()])?;
            }
            GraphItem::Link {
                from,
                to,
                relation,
                weight,
                description,
            } => {
                let link = NewLink {
                    namespace,
                    from,
                    to,
                    relation,
                    weight: *weight,
                    description,
                    kind: &EntityType::default_type(),
                };
                self.link(&link, now)?;
            }
            GraphItem::Entity(entity) => self.write_entity(namespace, entity, now)?,
        }
        Ok(())
    }

    /// Finds (or creates) the entity of an entity line by its name, merges
    /// into it the entities its aliases name, and sets its fields.
    fn write_entity(&self, namespace: &str, entity: &CheckedEntity, now: Timestamp) -> Result<()> {
        let name = &entity.name;
        let id = match self.entity_named(namespace, &name.key())? {
            Some(id) => id,
            None => {
                self.refuse_alias_of_another(namespace, name, None)?;
                let kind = entity.kind.clone().unwrap_or_else(EntityType::default_type);
                self.entity_for(namespace, name, &kind, false, now)?
            }
        };
        // Merged first, so that an alias that a merged entity has is then
        // the entity's own, whatever the order of the aliases.
        for alias in &entity.aliases {
            if let Some(other) = self.entity_named(namespace, &alias.key())? {
                merge_one(self, namespace, other, id)?;
            }
        }
        for alias in &entity.aliases {
            let key = alias.key();
            self.refuse_alias_of_another(namespace, alias, Some(id))?;
            self.prepare_cached(
                "INSERT INTO entity_aliases (entity_id, namespace, key, name) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (namespace, key) DO UPDATE SET name = excluded.name",
            )?
            .execute(params![id, namespace, key.as_str(), alias.as_str()])?;
        }
        let (created_at, updated_at) = entity.times.map_or((None, now), |(c, u)| (Some(c), u));
        self.prepare_cached(
            "UPDATE entities SET name = ?2, type = coalesce(?3, type),
                 description = coalesce(?4, description), created_at = coalesce(?5, created_at),
                 updated_at = ?6
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            name.as_str(),
            entity.kind.as_ref().map(EntityType::as_str),
            entity.description,
            created_at.map(|t| t.0),
            updated_at.0
        ])?;
        let asserted: bool = self
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM mentions WHERE entity_id = ?1)
                     OR EXISTS (SELECT 1 FROM relationships WHERE source_id = ?1 OR target_id = ?1)",
            )?
            .query_row([id], |row| row.get(0))?;
        if !asserted {
            return Err(Error::invalid(format!(
                "no memory mentions entity {:?} and no link names it",
                name.as_str()
            ))
            .with_hint("an entity line follows the memory and link lines that give its entity"));
        }
        Ok(())
    }

    /// The entity whose name (not alias) has `key` in `namespace`.
    fn entity_named(&self, namespace: &str, key: &EntityKey) -> Result<Option<EntityId>> {
        Ok(self
            .prepare_cached("SELECT id FROM entities WHERE namespace = ?1 AND key = ?2")?
            .query_row(params![namespace, key.as_str()], |row| row.get(0))
            .optional()?)
    }

    /// Fails if `name` is an alias of an entity other than `own`.
    fn refuse_alias_of_another(
        &self,
        namespace: &str,
        name: &EntityName,
        own: Option<EntityId>,
    ) -> Result<()> {
        let owner: Option<(EntityId, String)> = self
            .prepare_cached(
                "SELECT e.id, e.name FROM entity_aliases a JOIN entities e ON e.id = a.entity_id
                 WHERE a.namespace = ?1 AND a.key = ?2",
            )?
            .query_row(params![namespace, name.key().as_str()], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        match owner {
            Some((owner, owner_name)) if Some(owner) != own => Err(Error::invalid(format!(
                "{:?} is already a name of entity {owner_name:?}",
                name.as_str()
            ))),
            _ => Ok(()),
        }
    }
}

impl Store {
    /// Returns what `extractor` asserted about a memory (entities with
    /// their type, relationships), as an export line carries it, or `None`
    /// if nothing.
    pub(crate) fn asserted_graph(
        &self,
        memory_id: MemoryId,
        extractor: Extractor,
    ) -> Result<Option<GraphInput>> {
        let entities = self
            .conn()
            .prepare_cached(
                "SELECT e.name, e.type FROM mentions mm JOIN entities e ON e.id = mm.entity_id
                 WHERE mm.memory_id = ?1 AND mm.extractor = ?2 ORDER BY e.key",
            )?
            .query_map(params![memory_id, extractor.as_str()], |row| {
                Ok(EntityInput {
                    name: row.get(0)?,
                    kind: Some(row.get(1)?),
                    description: None,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let relationships = self
            .conn()
            .prepare_cached(
                "SELECT s.name, t.name, r.relation, a.weight, a.description
                 FROM assertions a JOIN relationships r ON r.id = a.relationship_id
                 JOIN entities s ON s.id = r.source_id JOIN entities t ON t.id = r.target_id
                 WHERE a.memory_id = ?1 AND a.extractor = ?2
                 ORDER BY s.key, t.key, r.relation",
            )?
            .query_map(params![memory_id, extractor.as_str()], relationship_input)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if entities.is_empty() && relationships.is_empty() {
            return Ok(None);
        }
        Ok(Some(GraphInput {
            entities,
            relationships,
        }))
    }

    /// Whether what `extractor` asserted about a memory was extracted from
    /// the text the memory has now (a later version may have changed only
    /// its name, type or metadata).
    pub(crate) fn extraction_is_current(
        &self,
        memory_id: MemoryId,
        extractor: Extractor,
    ) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT 1 FROM memories m JOIN memory_versions v ON v.memory_id = m.id
                 WHERE m.id = ?1 AND v.body = m.body AND v.description = m.description
                   AND v.version = (SELECT max(version) FROM mentions
                                    WHERE memory_id = ?1 AND extractor = ?2)",
            )?
            .exists(params![memory_id, extractor.as_str()])?)
    }

    /// Calls `emit` with an ignored line for each name `forget-entity`
    /// removed from `namespace` (all if `None`) that no entity has taken
    /// since, by namespace and name.
    pub(crate) fn ignored_lines(
        &self,
        namespace: Option<&str>,
        mut emit: impl FnMut(IgnoredLine) -> Result<()>,
    ) -> Result<u64> {
        let mut stmt = self.conn().prepare(
            "SELECT i.namespace, i.key FROM ignored_entities i
             WHERE (?1 IS NULL OR i.namespace = ?1)
                 AND NOT EXISTS (SELECT 1 FROM entities WHERE namespace = i.namespace AND key = i.key)
                 AND NOT EXISTS (SELECT 1 FROM entity_aliases
                                 WHERE namespace = i.namespace AND key = i.key)
             ORDER BY i.namespace, i.key",
        )?;
        let mut rows = stmt.query([namespace])?;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            emit(IgnoredLine {
                namespace: Some(row.get(0)?),
                ignored: row.get(1)?,
            })?;
            count += 1;
        }
        Ok(count)
    }

    /// Calls `emit` with a link line for each link made with `link` in
    /// `namespace` (all if `None`), by namespace, source, target and relation.
    pub(crate) fn link_lines(
        &self,
        namespace: Option<&str>,
        mut emit: impl FnMut(LinkLine) -> Result<()>,
    ) -> Result<u64> {
        let mut stmt = self.conn().prepare(
            "SELECT s.name, t.name, r.relation, a.weight, a.description, s.namespace
             FROM assertions a JOIN relationships r ON r.id = a.relationship_id
             JOIN entities s ON s.id = r.source_id JOIN entities t ON t.id = r.target_id
             WHERE a.memory_id IS NULL AND (?1 IS NULL OR s.namespace = ?1)
             ORDER BY s.namespace, s.key, t.key, r.relation",
        )?;
        let mut rows = stmt.query([namespace])?;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            emit(LinkLine {
                link: relationship_input(row)?,
                namespace: Some(row.get(5)?),
            })?;
            count += 1;
        }
        Ok(count)
    }

    /// Calls `emit` with an entity line for each entity `entities` shows in
    /// `namespace` (all if `None`): one that a live memory mentions or a
    /// visible relationship touches; by namespace and name, its times as an
    /// import at or after `now` accepts them.
    pub(crate) fn entity_lines(
        &self,
        namespace: Option<&str>,
        now: Timestamp,
        mut emit: impl FnMut(EntityLine) -> Result<()>,
    ) -> Result<u64> {
        let sql = format!(
            "SELECT e.namespace, e.name, e.type, e.description,
                 (SELECT json_group_array(name) FROM (SELECT name FROM entity_aliases
                                                      WHERE entity_id = e.id ORDER BY key)),
                 e.created_at, e.updated_at
             FROM entities e
             WHERE (?1 IS NULL OR e.namespace = ?1)
                 AND (EXISTS (SELECT 1 FROM mentions mm JOIN memories m ON m.id = mm.memory_id
                              WHERE mm.entity_id = e.id AND m.deleted_at IS NULL)
                      OR EXISTS (SELECT 1 FROM relationships r
                                 WHERE (r.source_id = e.id OR r.target_id = e.id)
                                     AND {VISIBLE_RELATIONSHIP}))
             ORDER BY e.namespace, e.key"
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let mut rows = stmt.query([namespace])?;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            let aliases: String = row.get(4)?;
            let (created_at, updated_at) =
                importable_times(Timestamp(row.get(5)?), Timestamp(row.get(6)?), now);
            emit(EntityLine {
                namespace: Some(row.get(0)?),
                entity: EntityFields {
                    name: row.get(1)?,
                    kind: Some(row.get(2)?),
                    description: Some(row.get(3)?),
                    aliases: serde_json::from_str(&aliases)?,
                    created_at: Some(created_at.to_string()),
                    updated_at: Some(updated_at.to_string()),
                },
            })?;
            count += 1;
        }
        Ok(count)
    }
}

/// Reads a relationship's `from`, `to`, `relation`, `weight` and
/// `description` from the first five columns of `row`.
fn relationship_input(row: &Row<'_>) -> rusqlite::Result<RelationshipInput> {
    Ok(RelationshipInput {
        from: row.get(0)?,
        to: row.get(1)?,
        relation: row.get(2)?,
        weight: Some(row.get(3)?),
        description: Some(row.get(4)?),
    })
}
