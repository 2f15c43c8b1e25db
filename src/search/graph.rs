//! Graph expansion: a third ranking of the memories reached from the best
//! direct hits (and from the entities the query names) through shared
//! entities, and through their neighbours in the same session.
//!
//! Each seed (one of the [`SEEDS`] best direct hits) weighs its fused score
//! relative to the best hit's. It passes that weight to every entity it
//! mentions; an entity the query names gets [`QUERY_ENTITY_WEIGHT`]. Up to
//! `hops` relationships are then walked from those entities (the
//! [`MAX_RELATIONSHIPS_WALKED`] newest of each, keeping the
//! [`MAX_ENTITIES_PER_HOP`] heaviest entities per hop), each step
//! multiplying the weight by the relationship's weight and by
//! [`HOP_DECAY`]. A memory that mentions a reached entity gains the
//! entity's weight divided by √df, df being how many memories mention it:
//! an entity that many memories mention says little about any one of them,
//! and one in more than [`HUB_SHARE`] of them, or in more than
//! [`MAX_ENTITY_MEMORIES`] (a user's own name, say), is a hub, neither
//! scored nor walked through. A memory written just before or after a seed
//! in the seed's session (up to [`SESSION_WINDOW`] places away) gains the
//! seed's weight divided by the distance. The two parts are each scaled to
//! a best of 1 and added with [`SHARED_ENTITY_PART`] and [`SESSION_PART`];
//! the seeds themselves are left out, and so are forgotten memories and
//! those outside the scope. At most [`MAX_REACHED`] memories are returned.
//!
//! Every lookup is bounded, so that the expansion costs a few milliseconds
//! at any size: hubs are recognised by counting no further than the cap.

use std::collections::HashMap;

use serde::Serialize;

use crate::error::Result;
use crate::graph::EntityId;
use crate::memory::MemoryId;
use crate::store::{HOP_DECAY, Scope, Step, Store};

/// How many of the best direct hits seed the expansion.
pub const SEEDS: usize = 5;
/// Relationships walked from the seeds' entities, by default.
pub const DEFAULT_HOPS: u32 = 1;
/// The most relationships `--hops` may ask to walk.
pub const MAX_HOPS: u32 = 3;
/// What an entity named in the query weighs, against 1 for the best hit.
pub const QUERY_ENTITY_WEIGHT: f64 = 0.5;
/// Entities mentioned by more than this share of the memories are hubs.
pub const HUB_SHARE: f64 = 0.05;
/// Hubs at any size: an entity mentioned by more memories is skipped.
pub const MAX_ENTITY_MEMORIES: u64 = 100;
/// Relationships read per entity walked from: its newest.
pub const MAX_RELATIONSHIPS_WALKED: u64 = 16;
/// Entities kept after each hop: those of greatest weight.
pub const MAX_ENTITIES_PER_HOP: usize = 32;
/// Memories the graph ranking returns at most.
pub const MAX_REACHED: usize = 100;
/// How many places before and after a seed its session neighbours reach.
pub const SESSION_WINDOW: u32 = 2;
/// Share of the graph score from shared entities.
pub const SHARED_ENTITY_PART: f64 = 0.4;
/// Share of the graph score from session neighbours.
pub const SESSION_PART: f64 = 0.6;

/// Where a path through the graph starts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Origin {
    /// A direct hit.
    Seed(MemoryId),
    /// An entity the query names.
    Query,
}

/// An entity reached: its weight and the best path to it.
#[derive(Debug, Clone)]
struct Activation {
    weight: f64,
    origin: Origin,
    path: Vec<(EntityId, Option<(String, &'static str)>)>,
}

/// How a memory was reached, as ids: resolved to names only for the
/// results shown.
#[derive(Debug, Clone)]
enum Route {
    /// Through entities, from an origin.
    Entities {
        origin: Origin,
        path: Vec<(EntityId, Option<(String, &'static str)>)>,
    },
    /// As a session neighbour of a seed.
    Session { seed: MemoryId },
}

/// A memory the graph reached, with its graph score.
#[derive(Debug, Clone)]
pub struct Reached {
    /// The memory.
    pub memory_id: MemoryId,
    /// Its graph score, at most 1.
    pub score: f64,
    route: Route,
}

/// The path of a graph match, as `match.via` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Via {
    /// The direct hit the path starts from; `null` when it starts from an
    /// entity the query names.
    pub memory: Option<String>,
    /// The session shared with that hit, when the memory was reached as
    /// its neighbour there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The entities walked: one the start mentions (or the query names),
    /// then each relationship and the entity it reached.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<Step>,
}

impl Reached {
    /// The path, with names.
    pub fn via(&self, store: &Store) -> Result<Via> {
        let name_of = |id| -> Result<Option<String>> { Ok(store.memory(id)?.map(|m| m.name)) };
        Ok(match &self.route {
            Route::Session { seed } => {
                let seed = store.memory(*seed)?;
                Via {
                    memory: seed.as_ref().map(|m| m.name.clone()),
                    session: seed.and_then(|m| m.session),
                    entities: Vec::new(),
                }
            }
            Route::Entities { origin, path } => {
                let mut entities = Vec::with_capacity(path.len());
                for (entity, step) in path {
                    entities.push(Step {
                        entity: store.entity_name(*entity)?,
                        relation: step.as_ref().map(|(relation, _)| relation.clone()),
                        direction: step.as_ref().map(|&(_, direction)| direction),
                    });
                }
                Via {
                    memory: match origin {
                        Origin::Seed(id) => name_of(*id)?,
                        Origin::Query => None,
                    },
                    session: None,
                    entities,
                }
            }
        })
    }
}

/// A memory's best contribution so far in one part of the score.
#[derive(Debug, Clone)]
struct Part {
    total: f64,
    best: f64,
    route: Route,
}

impl Part {
    fn add(parts: &mut HashMap<MemoryId, Part>, memory: MemoryId, gain: f64, route: Route) {
        match parts.get_mut(&memory) {
            Some(part) => {
                part.total += gain;
                if gain > part.best {
                    part.best = gain;
                    part.route = route;
                }
            }
            None => {
                parts.insert(
                    memory,
                    Part {
                        total: gain,
                        best: gain,
                        route,
                    },
                );
            }
        }
    }
}

/// Memories reached through the graph from `direct` (memories and their
/// fused scores, best first) and from the entities `query` names, walking
/// up to `hops` relationships; best first.
pub fn expand(
    store: &Store,
    scope: &Scope,
    query: &str,
    direct: &[(MemoryId, f64)],
    hops: u32,
) -> Result<Vec<Reached>> {
    let seeds = &direct[..direct.len().min(SEEDS)];
    let top = seeds.first().map_or(0.0, |s| s.1);
    let mut activated: HashMap<EntityId, Activation> = HashMap::new();
    let mut activate = |entity, weight, origin| {
        let entry = activated.entry(entity).or_insert(Activation {
            weight: 0.0,
            origin,
            path: vec![(entity, None)],
        });
        entry.weight += weight;
    };
    let mut by_session: HashMap<MemoryId, Part> = HashMap::new();
    for &(seed, score) in seeds {
        let weight = if top > 0.0 { score / top } else { 1.0 };
        for entity in store.mentioned_entities(seed)? {
            activate(entity, weight, Origin::Seed(seed));
        }
        for (neighbour, distance) in store.session_neighbours(seed, SESSION_WINDOW)? {
            let route = Route::Session { seed };
            Part::add(
                &mut by_session,
                neighbour,
                weight / f64::from(distance),
                route,
            );
        }
    }
    for entity in store.entities_named_in(scope.namespace.as_deref(), query)? {
        activate(entity, QUERY_ENTITY_WEIGHT, Origin::Query);
    }
    // Past this many memories the share rule gives more than the hard
    // cap, so counting further would change nothing.
    let counted_to = (MAX_ENTITY_MEMORIES as f64 / HUB_SHARE) as u64;
    let total = store.memory_count(scope.namespace.as_deref(), counted_to)?;
    let hub_at = ((total as f64 * HUB_SHARE).ceil() as u64).clamp(2, MAX_ENTITY_MEMORIES);
    let mut df: HashMap<EntityId, u64> = HashMap::new();
    let mut frontier: Vec<EntityId> = activated.keys().copied().collect();
    frontier.sort();
    for _ in 0..hops {
        let mut next = Vec::new();
        for entity in frontier {
            if is_hub(store, &mut df, entity, hub_at)? {
                continue;
            }
            let from = activated[&entity].clone();
            for (other, relation, direction, weight) in
                store.weighted_neighbours(entity, MAX_RELATIONSHIPS_WALKED)?
            {
                let weight = from.weight * weight * HOP_DECAY;
                if activated.get(&other).is_some_and(|a| a.weight >= weight) {
                    continue;
                }
                let mut path = from.path.clone();
                path.push((other, Some((relation, direction))));
                activated.insert(
                    other,
                    Activation {
                        weight,
                        origin: from.origin,
                        path,
                    },
                );
                next.push(other);
            }
        }
        next.sort();
        next.dedup();
        next.sort_by(|a, b| activated[b].weight.total_cmp(&activated[a].weight));
        next.truncate(MAX_ENTITIES_PER_HOP);
        frontier = next;
    }
    let mut by_entity: HashMap<MemoryId, Part> = HashMap::new();
    let mut entities: Vec<(&EntityId, &Activation)> = activated.iter().collect();
    entities.sort_by_key(|(id, _)| **id);
    for (&entity, activation) in entities {
        // An entity no memory mentions (one only links name) has nothing
        // to score, though the walk passes through it.
        if is_hub(store, &mut df, entity, hub_at)? || df[&entity] == 0 {
            continue;
        }
        let specificity = 1.0 / (df[&entity] as f64).sqrt();
        for memory in store.mentioning_memories(entity, hub_at)? {
            let route = Route::Entities {
                origin: activation.origin,
                path: activation.path.clone(),
            };
            Part::add(
                &mut by_entity,
                memory,
                activation.weight * specificity,
                route,
            );
        }
    }
    let mut reached: HashMap<MemoryId, Reached> = HashMap::new();
    for (parts, share) in [(by_entity, SHARED_ENTITY_PART), (by_session, SESSION_PART)] {
        let best = parts.values().map(|p| p.total).fold(0.0, f64::max);
        if best <= 0.0 {
            continue;
        }
        for (memory, part) in parts {
            let gain = share * part.total / best;
            let entry = reached.entry(memory).or_insert(Reached {
                memory_id: memory,
                score: 0.0,
                route: part.route.clone(),
            });
            if gain > entry.score {
                entry.route = part.route;
            }
            entry.score += gain;
        }
    }
    for (seed, _) in seeds {
        reached.remove(seed);
    }
    let mut candidates: Vec<Reached> = reached.into_values().filter(|r| r.score > 0.0).collect();
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.memory_id.cmp(&b.memory_id))
    });
    let mut ranked = Vec::with_capacity(MAX_REACHED);
    for found in candidates {
        if ranked.len() == MAX_REACHED {
            break;
        }
        if store.live_in_scope(scope, found.memory_id)? {
            ranked.push(found);
        }
    }
    Ok(ranked)
}

/// Whether `entity` is mentioned by more than `hub_at` memories; counts
/// are remembered in `df`.
fn is_hub(
    store: &Store,
    df: &mut HashMap<EntityId, u64>,
    entity: EntityId,
    hub_at: u64,
) -> Result<bool> {
    let count = match df.get(&entity) {
        Some(&count) => count,
        None => {
            let count = store.mention_count(entity, hub_at + 1)?;
            df.insert(entity, count);
            count
        }
    };
    Ok(count > hub_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::StaticModel;
    use crate::graph::explicit::{self, EntityInput, GraphInput, RelationshipInput};
    use crate::memory::Content;
    use crate::store::Attached;

    fn entity(name: &str) -> EntityInput {
        EntityInput {
            name: name.into(),
            kind: None,
            description: None,
        }
    }

    /// Remembers `name` with a body the built-in extractor finds nothing
    /// in, the given session and explicit entities and relationships.
    fn remember(
        store: &mut Store,
        name: &str,
        session: Option<&str>,
        entities: &[&str],
        relationships: &[(&str, &str, &str, f64)],
    ) -> MemoryId {
        let input = GraphInput {
            entities: entities.iter().map(|e| entity(e)).collect(),
            relationships: relationships
                .iter()
                .map(|&(from, to, relation, weight)| RelationshipInput {
                    from: from.into(),
                    to: to.into(),
                    relation: relation.into(),
                    weight: Some(weight),
                    description: None,
                })
                .collect(),
        };
        let graph = explicit::check(input).unwrap();
        let content = Content::new(None, None, "plain words only".into(), None).unwrap();
        let attached = Attached {
            session,
            graph: Some(&graph),
        };
        store
            .remember(
                &StaticModel::new(),
                "global",
                name,
                &content,
                &attached,
                false,
            )
            .unwrap()
            .memory_id
    }

    /// Session s1: before, seed, next, after-next. The seed and `friend`
    /// mention Zanzibar; `friend` says Zanzibar is part of Pemba, which
    /// `island` mentions; the seed and 40 fillers mention the hub Hubert.
    /// 46 memories in all.
    fn known_store() -> (Store, MemoryId) {
        let mut store = Store::open_in_memory().unwrap();
        remember(&mut store, "before", Some("s1"), &[], &[]);
        let seed = remember(&mut store, "seed", Some("s1"), &["Zanzibar", "Hubert"], &[]);
        remember(&mut store, "next", Some("s1"), &[], &[]);
        remember(&mut store, "after-next", Some("s1"), &[], &[]);
        let part_of = [("Zanzibar", "Pemba", "part_of", 0.8)];
        remember(&mut store, "friend", None, &["Zanzibar"], &part_of);
        remember(&mut store, "island", None, &["Pemba"], &[]);
        for i in 0..40 {
            remember(&mut store, &format!("filler-{i}"), None, &["Hubert"], &[]);
        }
        (store, seed)
    }

    /// `(name, score rounded to 4 places, via)` of each memory reached.
    fn expanded(store: &Store, seed: MemoryId, query: &str, hops: u32) -> Vec<(String, f64, Via)> {
        let scope = Scope::namespace("global");
        expand(store, &scope, query, &[(seed, 1.0)], hops)
            .unwrap()
            .into_iter()
            .map(|r| {
                let name = store.memory(r.memory_id).unwrap().unwrap().name;
                let score = (r.score * 10_000.0).round() / 10_000.0;
                (name, score, r.via(store).unwrap())
            })
            .collect()
    }

    fn via(memory: Option<&str>, session: Option<&str>, steps: &[(&str, Option<&str>)]) -> Via {
        Via {
            memory: memory.map(str::to_owned),
            session: session.map(str::to_owned),
            entities: steps
                .iter()
                .map(|&(entity, relation)| Step {
                    entity: entity.into(),
                    relation: relation.map(str::to_owned),
                    direction: relation.map(|_| "out"),
                })
                .collect(),
        }
    }

    #[test]
    fn shared_entities_session_neighbours_and_one_hop_with_exact_scores() {
        let (store, seed) = known_store();
        let session = via(Some("seed"), Some("s1"), &[]);
        let zanzibar = via(Some("seed"), None, &[("Zanzibar", None)]);
        let pemba = via(
            Some("seed"),
            None,
            &[("Zanzibar", None), ("Pemba", Some("part_of"))],
        );
        // Zanzibar (weight 1) and Pemba (1 × 0.8 × 0.5) are each in 2 of 46
        // memories; `friend` has both: 1.4 shares, `island` 0.4 of them.
        assert_eq!(
            expanded(&store, seed, "anything", 1),
            [
                ("before".to_owned(), 0.6, session.clone()),
                ("next".to_owned(), 0.6, session.clone()),
                ("friend".to_owned(), 0.4, zanzibar.clone()),
                ("after-next".to_owned(), 0.3, session.clone()),
                ("island".to_owned(), 0.1143, pemba),
            ]
        );
        let without_hops = expanded(&store, seed, "anything", 0);
        assert_eq!(without_hops.len(), 4);
        assert_eq!(without_hops[2], ("friend".to_owned(), 0.4, zanzibar));
    }

    #[test]
    fn an_entity_the_query_names_seeds_the_walk() {
        let (store, seed) = known_store();
        let found = expanded(&store, seed, "what is in PEMBA's harbour", 0);
        let island = found.iter().find(|(name, ..)| name == "island").unwrap();
        // Pemba weighs 0.5: `friend` has 1.5 shares, `island` 0.5.
        assert_eq!(island.1, 0.1333);
        assert_eq!(island.2, via(None, None, &[("Pemba", None)]));
    }
}
