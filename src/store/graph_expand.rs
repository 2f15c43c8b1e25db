//! The lookups graph-aware retrieval makes: a memory's entities, how many
//! memories mention an entity, the memories that do, an entity's
//! neighbours, the entities a query names, and a memory's neighbours in
//! its session.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::error::Result;
use crate::graph::{EntityId, EntityName};
use crate::memory::MemoryId;

/// Words of a query looked up as entity names: the first ones only, so
/// that a pasted document costs no more than a question.
const MAX_QUERY_WORDS: usize = 64;
/// Longest run of query words looked up as one entity name.
const MAX_NAME_WORDS: usize = 6;

/// What a query word loses at its start before it is looked up as typed:
/// quotes and opening brackets (a leading `.` or `#` is part of a name).
const OPENING_PUNCTUATION: [char; 8] = ['"', '\'', '`', '(', '[', '{', '“', '‘'];

/// What a query word loses at its end before it is looked up as typed:
/// sentence punctuation, quotes and closing brackets.
const CLOSING_PUNCTUATION: [char; 14] = [
    '.', ',', ';', ':', '!', '?', '"', '\'', '`', ')', ']', '}', '”', '’',
];

/// The words of `text`, each stripped of the characters `leading` says at
/// its start and of those `trailing` says at its end, and of an English
/// possessive `'s`.
fn words_of(
    text: &str,
    leading: impl Fn(char) -> bool,
    trailing: impl Fn(char) -> bool,
) -> Vec<&str> {
    text.split_whitespace()
        .map(|w| {
            let w = w.trim_start_matches(&leading).trim_end_matches(&trailing);
            w.strip_suffix("'s")
                .or_else(|| w.strip_suffix("’s"))
                .unwrap_or(w)
        })
        .collect()
}

impl Store {
    /// The entities memory `id` mentions, by any extractor.
    pub fn mentioned_entities(&self, id: MemoryId) -> Result<Vec<EntityId>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT DISTINCT entity_id FROM mentions WHERE memory_id = ?1")?
            .query_map([id], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// How many memories mention `entity` (forgotten ones included), but
    /// counting no further than `cap`: a bound on the work for hubs.
    pub fn mention_count(&self, entity: EntityId, cap: u64) -> Result<u64> {
        let cap = i64::try_from(cap).unwrap_or(i64::MAX);
        let count: i64 = self
            .conn()
            .prepare_cached(
                "SELECT count(*) FROM
                 (SELECT DISTINCT memory_id FROM mentions WHERE entity_id = ?1 LIMIT ?2)",
            )?
            .query_row(params![entity, cap], |row| row.get(0))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The memories that mention `entity` (forgotten ones included), at most `limit`; read from the index alone.
    pub fn mentioning_memories(&self, entity: EntityId, limit: u64) -> Result<Vec<MemoryId>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT DISTINCT memory_id FROM mentions WHERE entity_id = ?1 LIMIT ?2",
            )?
            .query_map(params![entity, limit], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The visible relationships of `entity`, either direction, the
    /// `limit` newest of them: the entity at the other end, the relation,
    /// `out` or `in`, and the weight.
    pub fn weighted_neighbours(
        &self,
        entity: EntityId,
        limit: u64,
    ) -> Result<Vec<(EntityId, String, &'static str, f64)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn().prepare_cached(
            "WITH newest AS (
                 SELECT id, source_id, target_id, relation FROM relationships
                 WHERE source_id = ?1 OR target_id = ?1 ORDER BY id DESC LIMIT ?2)
             SELECT r.source_id, r.target_id, r.relation,
                 coalesce(
                     (SELECT weight FROM assertions WHERE relationship_id = r.id AND memory_id IS NULL),
                     (SELECT max(a.weight) FROM assertions a JOIN memories m ON m.id = a.memory_id
                      WHERE a.relationship_id = r.id AND m.deleted_at IS NULL))
             FROM newest r ORDER BY r.id DESC",
        )?;
        let rows = stmt.query_map(params![entity, limit], |row| {
            Ok((
                row.get::<_, EntityId>(0)?,
                row.get::<_, EntityId>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<f64>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (source, target, relation, weight) = row?;
            let Some(weight) = weight else { continue };
            if source == entity {
                out.push((target, relation, "out", weight));
            } else {
                out.push((source, relation, "in", weight));
            }
        }
        Ok(out)
    }

    /// The entities of `namespace` (of every namespace if `None`) whose
    /// name or alias is a run of words of `text`, in any case.
    pub fn entities_named_in(&self, namespace: Option<&str>, text: &str) -> Result<Vec<EntityId>> {
        // Each word as the extractor would name it (`render()` gives
        // `render`), and as typed but for the punctuation around it (`#123`,
        // `C++`, a URL ending in `/`).
        let bare = words_of(text, |c| !c.is_alphanumeric(), |c| !c.is_alphanumeric());
        let typed = words_of(
            text,
            |c| OPENING_PUNCTUATION.contains(&c),
            |c| CLOSING_PUNCTUATION.contains(&c),
        );
        let mut by_name = self.conn().prepare_cached(
            "SELECT id FROM entities
             WHERE namespace IN (SELECT name FROM namespaces WHERE ?1 IS NULL OR name = ?1) AND key = ?2
             UNION SELECT entity_id FROM entity_aliases
             WHERE namespace IN (SELECT name FROM namespaces WHERE ?1 IS NULL OR name = ?1) AND key = ?2",
        )?;
        let mut found = Vec::new();
        let mut looked_up = HashSet::new();
        let words = bare.len().min(MAX_QUERY_WORDS);
        for start in 0..words {
            for end in start + 1..=words.min(start + MAX_NAME_WORDS) {
                let as_bare = bare[start..end].join(" ");
                let as_typed = typed[start..end].join(" ");
                for run in [as_bare, as_typed] {
                    let Ok(name) = EntityName::new(&run) else {
                        continue;
                    };
                    if !looked_up.insert(name.key()) {
                        continue;
                    }
                    let ids = by_name
                        .query_map(params![namespace, name.key().as_str()], |row| row.get(0))?
                        .collect::<rusqlite::Result<Vec<EntityId>>>()?;
                    found.extend(ids);
                }
            }
        }
        found.sort();
        found.dedup();
        Ok(found)
    }

    /// The live memories just before and just after memory `id` in its
    /// session (by creation time, then by id), if it has a session.
    pub fn session_neighbours(&self, id: MemoryId, window: u32) -> Result<Vec<(MemoryId, u32)>> {
        let place: Option<(String, String, i64)> = self
            .conn()
            .prepare_cached(
                "SELECT namespace, session, created_at FROM memories
                 WHERE id = ?1 AND session IS NOT NULL",
            )?
            .query_row([id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .optional()?;
        let Some((namespace, session, created_at)) = place else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(2);
        for sql in [
            "SELECT id FROM memories
             WHERE namespace = ?1 AND session = ?2 AND (created_at, id) < (?3, ?4)
                 AND deleted_at IS NULL
             ORDER BY created_at DESC, id DESC LIMIT ?5",
            "SELECT id FROM memories
             WHERE namespace = ?1 AND session = ?2 AND (created_at, id) > (?3, ?4)
                 AND deleted_at IS NULL
             ORDER BY created_at, id LIMIT ?5",
        ] {
            let mut stmt = self.conn().prepare_cached(sql)?;
            let rows = stmt
                .query_map(params![namespace, session, created_at, id, window], |row| {
                    row.get::<_, MemoryId>(0)
                })?;
            for (distance, row) in rows.enumerate() {
                out.push((row?, distance as u32 + 1));
            }
        }
        Ok(out)
    }
}

impl Store {
    /// How many memories `namespace` holds (every namespace if `None`),
    /// forgotten ones included, counting no further than `cap`: read from
    /// an index, without reading rows.
    pub fn memory_count(&self, namespace: Option<&str>, cap: u64) -> Result<u64> {
        let cap = i64::try_from(cap).unwrap_or(i64::MAX);
        let count: i64 = self
            .conn()
            .prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM memories
                 WHERE namespace IN (SELECT name FROM namespaces WHERE ?1 IS NULL OR name = ?1)
                 LIMIT ?2)",
            )?
            .query_row(params![namespace, cap], |row| row.get(0))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
