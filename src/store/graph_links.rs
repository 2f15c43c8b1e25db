//! Explicit links: relationships a user states with `link`, which stand on
//! their own (no memory asserts them) until `unlink`.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::memories::require_namespace;
use super::{Store, Tx};
use crate::error::{Error, ErrorKind, Result};
use crate::graph::explicit::check_description;
use crate::graph::{EntityId, EntityName, EntityType, Extractor, Relation, RelationshipId, Weight};
use crate::time::Timestamp;

/// A relationship as the graph commands show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelationshipView {
    /// The source entity's name.
    pub from: String,
    /// The target entity's name.
    pub to: String,
    /// Its kind.
    pub relation: String,
    /// Its weight: the explicit one if a user linked it, else the largest
    /// of the visible assertions.
    pub weight: f64,
    /// What a user said of it, if anything.
    pub description: String,
    /// Whether a user linked it with `link` (it then stands on its own
    /// until `unlink`); else only memories assert it.
    pub linked: bool,
}

/// What `link` asks for.
pub struct NewLink<'a> {
    /// The namespace of both entities.
    pub namespace: &'a str,
    /// The source entity.
    pub from: &'a EntityName,
    /// The target entity.
    pub to: &'a EntityName,
    /// The kind of relationship.
    pub relation: &'a Relation,
    /// Its weight.
    pub weight: Weight,
    /// What it says.
    pub description: &'a str,
    /// The type given to an entity this creates.
    pub kind: &'a EntityType,
}

/// The SQL condition, on a relationship aliased `r`, that some user or
/// live memory asserts it.
pub(crate) const VISIBLE_RELATIONSHIP: &str = "EXISTS (SELECT 1 FROM assertions a
    LEFT JOIN memories m ON m.id = a.memory_id
    WHERE a.relationship_id = r.id AND (a.memory_id IS NULL OR m.deleted_at IS NULL))";

impl Store {
    /// Links two entities (created with `link.kind` if missing), or changes
    /// the weight and description of that explicit link.
    ///
    /// # Failure
    /// Invalid input for a link from an entity to itself; too-large for
    /// a description past the limit.
    pub fn link(&mut self, link: &NewLink<'_>) -> Result<RelationshipView> {
        self.write(|tx| {
            let id = tx.link(link, Timestamp::now())?;
            relationship_view(tx, id)
        })
    }

    /// Removes the explicit links from `from` to `to` (of `relation` only,
    /// if given); relationships and entities nothing else asserts go too.
    /// Returns the links removed.
    ///
    /// # Failure
    /// Not-found for an unknown entity, or when no such explicit link exists.
    pub fn unlink(
        &mut self,
        namespace: &str,
        from: &EntityName,
        to: &EntityName,
        relation: Option<&Relation>,
    ) -> Result<Vec<RelationshipView>> {
        self.write(|tx| {
            require_namespace(tx, namespace)?;
            let source = find_entity(tx, namespace, from)?;
            let target = find_entity(tx, namespace, to)?;
            let ids: Vec<RelationshipId> = tx
                .prepare_cached(
                    "SELECT r.id FROM relationships r JOIN assertions a ON a.relationship_id = r.id
                     WHERE r.source_id = ?1 AND r.target_id = ?2 AND (?3 IS NULL OR r.relation = ?3)
                         AND a.memory_id IS NULL
                     ORDER BY r.relation",
                )?
                .query_map(
                    params![source, target, relation.map(Relation::as_str)],
                    |row| row.get(0),
                )?
                .collect::<rusqlite::Result<_>>()?;
            if ids.is_empty() {
                return Err(Error::not_found(format!(
                    "no explicit link from {:?} to {:?}{}",
                    from.as_str(),
                    to.as_str(),
                    relation
                        .map(|r| format!(" of relation {:?}", r.as_str()))
                        .unwrap_or_default()
                ))
                .with_hint("see an entity's links with `sqlite-graphrag entity NAME`"));
            }
            let mut removed = Vec::new();
            for &id in &ids {
                removed.push(relationship_view(tx, id)?);
                tx.prepare_cached(
                    "DELETE FROM assertions WHERE relationship_id = ?1 AND memory_id IS NULL",
                )?
                .execute([id])?;
            }
            tx.drop_unasserted(&(vec![source, target], ids))?;
            Ok(removed)
        })
    }
}

impl Tx<'_> {
    /// Writes the explicit link `link` as [`Store::link`] does, at `at`,
    /// and returns its relationship.
    ///
    /// # Failure
    /// Invalid input for a link from an entity to itself; too-large for
    /// a description past the limit.
    pub(crate) fn link(&self, link: &NewLink<'_>, at: Timestamp) -> Result<RelationshipId> {
        check_description(link.description)?;
        if link.from.key() == link.to.key() {
            return Err(Error::invalid(format!(
                "an entity cannot be linked to itself ({:?})",
                link.from.as_str()
            )));
        }
        self.ensure_namespace(link.namespace, at)?;
        let source = self.entity_for(link.namespace, link.from, link.kind, false, at)?;
        let target = self.entity_for(link.namespace, link.to, link.kind, false, at)?;
        if source == target {
            return Err(Error::invalid(format!(
                "{:?} and {:?} are names of one entity",
                link.from.as_str(),
                link.to.as_str()
            )));
        }
        let id = self.relationship_for(source, target, link.relation.as_str())?;
        self.prepare_cached(
            "INSERT INTO assertions (relationship_id, memory_id, extractor, version, weight, description)
             VALUES (?1, NULL, ?2, NULL, ?3, ?4)
             ON CONFLICT (relationship_id) WHERE memory_id IS NULL
             DO UPDATE SET weight = excluded.weight, description = excluded.description",
        )?
        .execute(params![
            id,
            Extractor::Explicit.as_str(),
            link.weight.get(),
            link.description
        ])?;
        Ok(id)
    }
}

/// Returns the id of the entity `name` of `namespace`.
///
/// # Failure
/// Not-found if there is none.
pub(crate) fn find_entity(
    conn: &rusqlite::Connection,
    namespace: &str,
    name: &EntityName,
) -> Result<EntityId> {
    conn.prepare_cached("SELECT id FROM entities WHERE namespace = ?1 AND key = ?2")?
        .query_row(params![namespace, name.key().as_str()], |row| row.get(0))
        .optional()?
        .ok_or_else(|| {
            Error::not_found(format!(
                "no entity named {:?} in namespace {namespace:?}",
                name.as_str()
            ))
            .with_hint("see the known ones with `sqlite-graphrag entities`")
        })
}

/// Returns the id of the entity named `name` in `namespace`, or whose
/// alias it is (the reading commands accept a merged or renamed entity's
/// old name, as `link` does).
///
/// # Failure
/// Not-found if there is none.
pub(crate) fn find_entity_or_alias(
    conn: &rusqlite::Connection,
    namespace: &str,
    name: &EntityName,
) -> Result<EntityId> {
    match find_entity(conn, namespace, name) {
        Err(missing) if missing.kind() == ErrorKind::NotFound => conn
            .prepare_cached(
                "SELECT entity_id FROM entity_aliases WHERE namespace = ?1 AND key = ?2",
            )?
            .query_row(params![namespace, name.key().as_str()], |row| row.get(0))
            .optional()?
            .ok_or(missing),
        found => found,
    }
}

/// Reads a relationship as the commands show it.
pub(crate) fn relationship_view(
    conn: &rusqlite::Connection,
    id: RelationshipId,
) -> Result<RelationshipView> {
    Ok(conn
        .prepare_cached(
            "SELECT s.name, t.name, r.relation,
                 coalesce(
                     (SELECT weight FROM assertions WHERE relationship_id = r.id AND memory_id IS NULL),
                     (SELECT max(a.weight) FROM assertions a LEFT JOIN memories m ON m.id = a.memory_id
                      WHERE a.relationship_id = r.id AND (a.memory_id IS NULL OR m.deleted_at IS NULL)),
                     0),
                 coalesce((SELECT description FROM assertions
                           WHERE relationship_id = r.id AND memory_id IS NULL), ''),
                 EXISTS (SELECT 1 FROM assertions WHERE relationship_id = r.id AND memory_id IS NULL)
             FROM relationships r
             JOIN entities s ON s.id = r.source_id JOIN entities t ON t.id = r.target_id
             WHERE r.id = ?1",
        )?
        .query_row([id], |row| {
            Ok(RelationshipView {
                from: row.get(0)?,
                to: row.get(1)?,
                relation: row.get(2)?,
                weight: row.get(3)?,
                description: row.get(4)?,
                linked: row.get(5)?,
            })
        })?)
}
