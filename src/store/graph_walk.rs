//! `related`: memories reached from a memory or an entity by walking the
//! graph's visible relationships, in both directions.
//!
//! Scores: a starting entity scores 1; each relationship walked multiplies
//! the score by its weight and by [`HOP_DECAY`]; an entity reached several
//! ways keeps its best score (and the path of it). A memory scores its best
//! entity's score divided by the square root of how many live memories
//! mention that entity, so that an entity in every memory (a user's own
//! name, say) does not drown the rest. Between paths of equal score, the
//! one whose names sort first wins, so that the answer depends on the
//! graph alone, not on row ids (which an export and import renumber).

use std::collections::{HashMap, HashSet};

use rusqlite::params;
use serde::Serialize;

use super::Store;
use super::graph_links::find_entity_or_alias;
use super::memories::find_live;
use crate::error::Result;
use crate::graph::{EntityId, EntityName, Relation};
use crate::memory::MemoryId;

/// What each relationship walked multiplies a score by, besides its weight.
pub const HOP_DECAY: f64 = 0.5;

/// How far and along what `related` walks.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// The most relationships walked from a starting entity.
    pub hops: u32,
    /// Relationships lighter than this are not walked.
    pub min_weight: f64,
    /// Only relationships of this kind are walked.
    pub relation: Option<Relation>,
    /// At most this many memories.
    pub limit: u32,
}

/// One step of a path: the entity reached, and how.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The entity's name.
    pub entity: String,
    /// The relationship walked to reach it (`null` for a starting entity).
    pub relation: Option<String>,
    /// `out` if walked from source to target, `in` if against it (`null`
    /// for a starting entity).
    pub direction: Option<&'static str>,
}

/// A memory reached through the graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelatedMemory {
    /// Its name.
    pub name: String,
    /// Relationships walked to reach the entity it was found through.
    pub hops: u32,
    /// Its score (see the module's description).
    pub score: f64,
    /// The path: a starting entity, then each step.
    pub via: Vec<Step>,
}

/// An entity reached so far: its best score and the path to it.
#[derive(Debug, Clone)]
struct Reached {
    score: f64,
    via: Vec<Step>,
}

/// Whether path `a` sorts before path `b`: by entity names (any case),
/// then relations and directions.
fn path_before(a: &[Step], b: &[Step]) -> bool {
    let key = |step: &Step| {
        (
            step.entity.to_lowercase(),
            step.relation.clone(),
            step.direction,
        )
    };
    a.iter().map(key).lt(b.iter().map(key))
}

impl Store {
    /// Memories related to the live memory `name` through its entities
    /// (itself left out).
    ///
    /// # Failure
    /// Not-found for an unknown memory.
    pub fn related_to_memory(
        &self,
        namespace: &str,
        name: &str,
        options: &WalkOptions,
    ) -> Result<Vec<RelatedMemory>> {
        let memory = find_live(self.conn(), namespace, name)?;
        let seeds = self.mentioned_entities(memory.memory_id)?;
        self.walk(&seeds, options, Some(memory.memory_id))
    }

    /// Memories related to the entity `name`.
    ///
    /// # Failure
    /// Not-found for an unknown entity.
    pub fn related_to_entity(
        &self,
        namespace: &str,
        name: &EntityName,
        options: &WalkOptions,
    ) -> Result<Vec<RelatedMemory>> {
        let seed = find_entity_or_alias(self.conn(), namespace, name)?;
        self.walk(&[seed], options, None)
    }

    fn walk(
        &self,
        seeds: &[EntityId],
        options: &WalkOptions,
        exclude: Option<MemoryId>,
    ) -> Result<Vec<RelatedMemory>> {
        let mut best: HashMap<EntityId, Reached> = HashMap::new();
        let mut frontier = Vec::new();
        for &seed in seeds {
            let reached = Reached {
                score: 1.0,
                via: vec![Step {
                    entity: self.entity_name(seed)?,
                    relation: None,
                    direction: None,
                }],
            };
            best.insert(seed, reached);
            frontier.push(seed);
        }
        for _ in 0..options.hops {
            let mut next = Vec::new();
            for entity in frontier {
                let from = best[&entity].clone();
                for (neighbour, relation, direction, weight) in self.neighbours(entity, options)? {
                    let score = from.score * weight * HOP_DECAY;
                    let known = best.get(&neighbour);
                    if known.is_some_and(|r| r.score > score) {
                        continue;
                    }
                    let mut via = from.via.clone();
                    via.push(Step {
                        entity: self.entity_name(neighbour)?,
                        relation: Some(relation),
                        direction: Some(direction),
                    });
                    if known.is_some_and(|r| r.score == score && !path_before(&via, &r.via)) {
                        continue;
                    }
                    best.insert(neighbour, Reached { score, via });
                    next.push(neighbour);
                }
            }
            let unique: HashSet<EntityId> = next.into_iter().collect();
            frontier = unique.into_iter().collect();
            frontier.sort();
            if frontier.is_empty() {
                break;
            }
        }
        self.memories_through(&best, options.limit, exclude)
    }

    /// The visible relationships of `entity` that `options` lets the walk
    /// take: the entity at the other end, the relation, the direction and
    /// the weight.
    fn neighbours(
        &self,
        entity: EntityId,
        options: &WalkOptions,
    ) -> Result<Vec<(EntityId, String, &'static str, f64)>> {
        let mut all = self.weighted_neighbours(entity, u64::MAX)?;
        all.retain(|(_, relation, _, weight)| {
            *weight >= options.min_weight
                && options
                    .relation
                    .as_ref()
                    .is_none_or(|r| r.as_str() == relation)
        });
        all.reverse();
        Ok(all)
    }

    /// The live memories that mention the reached entities, best first.
    fn memories_through(
        &self,
        reached: &HashMap<EntityId, Reached>,
        limit: u32,
        exclude: Option<MemoryId>,
    ) -> Result<Vec<RelatedMemory>> {
        let mut count = self.conn().prepare_cached(
            "SELECT count(DISTINCT mm.memory_id) FROM mentions mm JOIN memories m ON m.id = mm.memory_id
             WHERE mm.entity_id = ?1 AND m.deleted_at IS NULL",
        )?;
        let mut memories = self.conn().prepare_cached(
            "SELECT DISTINCT m.id, m.name, m.updated_at FROM mentions mm JOIN memories m ON m.id = mm.memory_id
             WHERE mm.entity_id = ?1 AND m.deleted_at IS NULL
             ORDER BY m.updated_at DESC, m.id DESC LIMIT ?2",
        )?;
        let mut found: HashMap<MemoryId, (RelatedMemory, i64)> = HashMap::new();
        for (&entity, path) in reached {
            let mentioned_by: i64 = count.query_row([entity], |row| row.get(0))?;
            if mentioned_by == 0 {
                continue;
            }
            let score = path.score / (mentioned_by as f64).sqrt();
            let rows = memories.query_map(params![entity, i64::from(limit) + 1], |row| {
                Ok((
                    row.get::<_, MemoryId>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (id, name, updated_at) = row?;
                if Some(id) == exclude {
                    continue;
                }
                let hops = u32::try_from(path.via.len() - 1).unwrap_or(u32::MAX);
                let better = found.get(&id).is_none_or(|(r, _)| {
                    let (new, old) = (
                        (score, std::cmp::Reverse(hops)),
                        (r.score, std::cmp::Reverse(r.hops)),
                    );
                    new > old || (new == old && path_before(&path.via, &r.via))
                });
                if better {
                    let related = RelatedMemory {
                        name,
                        hops,
                        score,
                        via: path.via.clone(),
                    };
                    found.insert(id, (related, updated_at));
                }
            }
        }
        let mut ranked: Vec<(RelatedMemory, i64)> = found.into_values().collect();
        ranked.sort_by(|(a, at), (b, bt)| {
            b.score
                .total_cmp(&a.score)
                .then(a.hops.cmp(&b.hops))
                .then(bt.cmp(at))
                .then(a.name.cmp(&b.name))
        });
        ranked.truncate(limit as usize);
        Ok(ranked.into_iter().map(|(r, _)| r).collect())
    }

    /// The display name of an entity.
    pub(crate) fn entity_name(&self, id: EntityId) -> Result<String> {
        Ok(self
            .conn()
            .prepare_cached("SELECT name FROM entities WHERE id = ?1")?
            .query_row([id], |row| row.get(0))?)
    }
}
