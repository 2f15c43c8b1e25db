//! The visible graph of a namespace, whole or around one entity, for
//! `graph export` and `graph stats`.

use std::collections::{BTreeSet, HashMap};

use rusqlite::params;
use serde::Serialize;

use super::Store;
use super::graph_links::{RelationshipView, find_entity_or_alias};
use crate::error::Result;
use crate::graph::{EntityId, EntityName};

/// An entity of an exported graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityNode {
    /// Its display name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// What it is, if someone said.
    pub description: String,
    /// Live memories that mention it.
    pub memories: i64,
}

/// A graph: entities, and the relationships between them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GraphDump {
    /// The entities, by name.
    pub entities: Vec<EntityNode>,
    /// The relationships, by source, target and relation.
    pub relationships: Vec<RelationshipView>,
}

/// A visible relationship between two entities, by id.
struct Edge {
    source: EntityId,
    target: EntityId,
    view: RelationshipView,
}

impl Store {
    /// Returns the visible graph of `namespace`, or the part of it within
    /// `hops` relationships of the entity `around`.
    ///
    /// # Failure
    /// Not-found for an unknown entity (with `around`); an unknown namespace has an empty graph.
    pub fn graph(&self, namespace: &str, around: Option<(&EntityName, u32)>) -> Result<GraphDump> {
        let edges = self.visible_edges(namespace)?;
        let nodes = self.visible_entities(namespace, &edges)?;
        let kept: BTreeSet<EntityId> = match around {
            None => nodes.keys().copied().collect(),
            Some((name, hops)) => {
                let start = find_entity_or_alias(self.conn(), namespace, name)?;
                neighbourhood(start, hops, &edges)
            }
        };
        let mut entities: Vec<EntityNode> = kept
            .iter()
            .filter_map(|id| nodes.get(id).cloned())
            .collect();
        entities.sort_by_key(|e| e.name.to_lowercase());
        let mut relationships: Vec<RelationshipView> = edges
            .into_iter()
            .filter(|e| kept.contains(&e.source) && kept.contains(&e.target))
            .map(|e| e.view)
            .collect();
        relationships.sort_by(|a, b| {
            (a.from.to_lowercase(), a.to.to_lowercase(), &a.relation).cmp(&(
                b.from.to_lowercase(),
                b.to.to_lowercase(),
                &b.relation,
            ))
        });
        Ok(GraphDump {
            entities,
            relationships,
        })
    }

    /// The entities of `namespace` that a live memory mentions or a
    /// visible relationship touches.
    fn visible_entities(
        &self,
        namespace: &str,
        edges: &[Edge],
    ) -> Result<HashMap<EntityId, EntityNode>> {
        let mut stmt = self.conn().prepare(
            "SELECT e.id, e.name, e.type, e.description,
                 (SELECT count(DISTINCT mm.memory_id) FROM mentions mm
                  JOIN memories m ON m.id = mm.memory_id
                  WHERE mm.entity_id = e.id AND m.deleted_at IS NULL) AS memories
             FROM entities e WHERE e.namespace = ?1",
        )?;
        let rows = stmt.query_map([namespace], |row| {
            Ok((
                row.get::<_, EntityId>(0)?,
                EntityNode {
                    name: row.get(1)?,
                    kind: row.get(2)?,
                    description: row.get(3)?,
                    memories: row.get(4)?,
                },
            ))
        })?;
        let all = rows.collect::<rusqlite::Result<HashMap<_, _>>>()?;
        let linked: BTreeSet<EntityId> = edges.iter().flat_map(|e| [e.source, e.target]).collect();
        Ok(all
            .into_iter()
            .filter(|(id, node)| node.memories > 0 || linked.contains(id))
            .collect())
    }

    /// The visible relationships of `namespace` with their shown weight.
    fn visible_edges(&self, namespace: &str) -> Result<Vec<Edge>> {
        let mut stmt = self.conn().prepare(
            "SELECT r.source_id, r.target_id, s.name, t.name, r.relation,
                 coalesce(
                     (SELECT weight FROM assertions WHERE relationship_id = r.id AND memory_id IS NULL),
                     (SELECT max(a.weight) FROM assertions a JOIN memories m ON m.id = a.memory_id
                      WHERE a.relationship_id = r.id AND m.deleted_at IS NULL)) AS weight,
                 coalesce((SELECT description FROM assertions
                           WHERE relationship_id = r.id AND memory_id IS NULL), ''),
                 EXISTS (SELECT 1 FROM assertions WHERE relationship_id = r.id AND memory_id IS NULL)
             FROM relationships r
             JOIN entities s ON s.id = r.source_id JOIN entities t ON t.id = r.target_id
             WHERE s.namespace = ?1",
        )?;
        let rows = stmt.query_map(params![namespace], |row| {
            Ok((
                row.get::<_, EntityId>(0)?,
                row.get::<_, EntityId>(1)?,
                row.get::<_, Option<f64>>(5)?,
                RelationshipView {
                    from: row.get(2)?,
                    to: row.get(3)?,
                    relation: row.get(4)?,
                    weight: 0.0,
                    description: row.get(6)?,
                    linked: row.get(7)?,
                },
            ))
        })?;
        let mut edges = Vec::new();
        for row in rows {
            let (source, target, weight, mut view) = row?;
            if let Some(weight) = weight {
                view.weight = weight;
                edges.push(Edge {
                    source,
                    target,
                    view,
                });
            }
        }
        Ok(edges)
    }
}

/// The entities within `hops` relationships of `start`, either direction.
fn neighbourhood(start: EntityId, hops: u32, edges: &[Edge]) -> BTreeSet<EntityId> {
    let mut adjacent: HashMap<EntityId, Vec<EntityId>> = HashMap::new();
    for e in edges {
        adjacent.entry(e.source).or_default().push(e.target);
        adjacent.entry(e.target).or_default().push(e.source);
    }
    let mut kept = BTreeSet::from([start]);
    let mut frontier = vec![start];
    for _ in 0..hops {
        let mut next = Vec::new();
        for id in frontier {
            for &n in adjacent.get(&id).map(Vec::as_slice).unwrap_or_default() {
                if kept.insert(n) {
                    next.push(n);
                }
            }
        }
        frontier = next;
    }
    kept
}
