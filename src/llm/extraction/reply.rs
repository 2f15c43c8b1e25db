//! Reading an extraction's reply into the graph a memory asserts.
//!
//! A reply whose shape is not the schema's (not an object holding the two
//! arrays, an item missing a field or with a field of the wrong JSON type)
//! is malformed: the runner asks again. Within a well-shaped reply, each
//! item goes through the validators of a user's graph (entity names,
//! snake_case types and relations, weights in (0, 1], description length,
//! the per-memory limits); an item that fails is dropped, and reported,
//! while the others are kept. Before they are checked, types and relations
//! are brought to snake_case (lowercased, other characters turned into
//! `_`), the slip models make most.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::graph::explicit::{MAX_ENTITIES, MAX_RELATIONSHIPS, check_description};
use crate::graph::{EntityName, EntityType, Link, MemoryGraph, Mention, Relation, Weight};

/// The reply as the schema shapes it.
#[derive(Debug, Deserialize)]
struct Reply {
    entities: Vec<EntityItem>,
    relationships: Vec<RelationshipItem>,
}

/// One entity of a reply.
#[derive(Debug, Deserialize)]
struct EntityItem {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    description: Option<String>,
}

/// One relationship of a reply.
#[derive(Debug, Deserialize)]
struct RelationshipItem {
    from: String,
    to: String,
    relation: String,
    weight: Option<f64>,
    description: Option<String>,
}

/// An item of a reply left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dropped {
    /// Where it was: `entities[i]` or `relationships[i]`, or the entity
    /// (`entity "NAME"`) when it was left out for its name.
    pub item: String,
    /// Why it was left out.
    pub reason: String,
}

/// What a reply gives: the graph, and the items left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checked {
    /// The entities and relationships kept.
    pub graph: MemoryGraph,
    /// The items dropped.
    pub dropped: Vec<Dropped>,
}

/// Checks that a reply has the schema's shape, for the runner: an `Err`
/// makes the reply malformed.
pub fn check_shape(reply: &Value) -> Result<(), String> {
    Reply::deserialize(reply)
        .map(drop)
        .map_err(|e| format!("the reply does not follow the extraction schema: {e}"))
}

/// Reads a reply into a graph, dropping the items that fail validation.
///
/// # Failure
/// The reply's shape is not the schema's (see [`check_shape`]).
pub fn read(reply: &Value) -> Result<Checked, String> {
    let reply = Reply::deserialize(reply)
        .map_err(|e| format!("the reply does not follow the extraction schema: {e}"))?;
    let mut reader = Reader::default();
    for (i, entity) in reply.entities.into_iter().enumerate() {
        let item = format!("entities[{i}]");
        if i >= MAX_ENTITIES {
            reader.drop(item, format!("over the limit of {MAX_ENTITIES} entities"));
            continue;
        }
        if let Err(reason) = reader.entity(entity) {
            reader.drop(item, reason);
        }
    }
    for (i, relationship) in reply.relationships.into_iter().enumerate() {
        let item = format!("relationships[{i}]");
        if i >= MAX_RELATIONSHIPS {
            let reason = format!("over the limit of {MAX_RELATIONSHIPS} relationships");
            reader.drop(item, reason);
            continue;
        }
        if let Err(reason) = reader.relationship(relationship) {
            reader.drop(item, reason);
        }
    }
    Ok(reader.checked)
}

/// The graph read so far.
#[derive(Default)]
struct Reader {
    checked: Checked,
    /// Mentions by entity key.
    index: HashMap<String, usize>,
    /// Relationships given so far: (from, to, relation).
    given: HashSet<(usize, usize, String)>,
}

impl Reader {
    fn drop(&mut self, item: String, reason: String) {
        self.checked.dropped.push(Dropped { item, reason });
    }

    /// Adds an entity, unless it is invalid or given already. A type that
    /// cannot be written in ASCII leaves the entity's type unstated.
    fn entity(&mut self, entity: EntityItem) -> Result<(), String> {
        let name = EntityName::new(&entity.name).map_err(message)?;
        let (kind, type_stated) = match snake_case(&entity.kind) {
            Some(kind) => (EntityType::new(&kind).map_err(message)?, true),
            None => (EntityType::default_type(), false),
        };
        let description = described(entity.description)?;
        let key = name.key().as_str().to_owned();
        if self.index.contains_key(&key) {
            return Err(format!("entity {:?} is given twice", name.as_str()));
        }
        self.index.insert(key, self.checked.graph.mentions.len());
        self.checked.graph.mentions.push(Mention {
            name,
            kind,
            type_stated,
            count: 1,
            description,
        });
        Ok(())
    }

    /// Adds a relationship, and the entities it names that were not given,
    /// unless it is invalid or given already.
    fn relationship(&mut self, r: RelationshipItem) -> Result<(), String> {
        let relation = snake_case(&r.relation)
            .ok_or_else(|| format!("relation {:?} has letters outside ASCII", r.relation))?;
        let relation = Relation::new(&relation).map_err(message)?;
        let weight = Weight::new(r.weight.unwrap_or(1.0)).map_err(message)?;
        let description = described(r.description)?.unwrap_or_default();
        let from = EntityName::new(&r.from).map_err(message)?;
        let to = EntityName::new(&r.to).map_err(message)?;
        if from.key() == to.key() {
            return Err(format!("relationship from {:?} to itself", r.from));
        }
        let new_ends = [&from, &to]
            .iter()
            .filter(|end| !self.index.contains_key(end.key().as_str()))
            .count();
        if self.checked.graph.mentions.len() + new_ends > MAX_ENTITIES {
            return Err(format!(
                "its ends would take the memory past {MAX_ENTITIES} entities"
            ));
        }
        let (from, to) = (self.end(from), self.end(to));
        if !self.given.insert((from, to, relation.as_str().to_owned())) {
            return Err(format!(
                "relationship {:?} from {:?} to {:?} is given twice",
                relation.as_str(),
                r.from,
                r.to
            ));
        }
        self.checked.graph.links.push(Link {
            from,
            to,
            relation,
            weight,
            description,
        });
        Ok(())
    }

    /// The mention of a relationship's end, added as a `concept` whose
    /// type is not stated when the reply did not list it.
    fn end(&mut self, name: EntityName) -> usize {
        let mentions = &mut self.checked.graph.mentions;
        *self
            .index
            .entry(name.key().as_str().to_owned())
            .or_insert_with(|| {
                mentions.push(Mention {
                    name,
                    kind: EntityType::default_type(),
                    type_stated: false,
                    count: 1,
                    description: None,
                });
                mentions.len() - 1
            })
    }
}

/// A description trimmed, `None` when empty.
///
/// # Failure
/// Past the length limit of descriptions.
fn described(description: Option<String>) -> Result<Option<String>, String> {
    let Some(description) = description else {
        return Ok(None);
    };
    let trimmed = description.trim();
    check_description(trimmed).map_err(message)?;
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// A label brought to snake_case: lowercased, each run of characters other
/// than ASCII letters and digits turned into one `_`, none at either end;
/// `None` when it holds a letter or digit outside ASCII (types and
/// relations are ASCII, and dropping such letters would change the word).
fn snake_case(label: &str) -> Option<String> {
    let mut out = String::with_capacity(label.len());
    for c in label.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if c.is_alphanumeric() {
            return None;
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    Some(out.trim_end_matches('_').to_owned())
}

/// The message of a validator's error.
fn message(error: crate::error::Error) -> String {
    error.message().to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_reply_becomes_the_graph_with_bad_items_dropped() {
        let reply = json!({
            "entities": [
                {"name": "SQLite", "type": "Database Engine", "description": "  an embedded database "},
                {"name": "Rust", "type": "language", "description": null},
                {"name": "  ", "type": "concept", "description": null},
                {"name": "sqlite", "type": "tool", "description": null},
                {"name": "Café", "type": "日本", "description": null}
            ],
            "relationships": [
                {"from": "Rust", "to": "SQLite", "relation": "Depends-On", "weight": null, "description": null},
                {"from": "Rust", "to": "Cargo", "relation": "uses", "weight": 0.5, "description": "builds"},
                {"from": "Rust", "to": "SQLite", "relation": "depends_on", "weight": 0.3, "description": null},
                {"from": "Rust", "to": "rust", "relation": "is", "weight": null, "description": null},
                {"from": "Rust", "to": "SQLite", "relation": "uses", "weight": 1.5, "description": null}
            ]
        });
        let checked = read(&reply).unwrap();
        let mentions: Vec<(&str, &str, bool)> = checked
            .graph
            .mentions
            .iter()
            .map(|m| (m.name.as_str(), m.kind.as_str(), m.type_stated))
            .collect();
        assert_eq!(
            mentions,
            [
                ("SQLite", "database_engine", true),
                ("Rust", "language", true),
                ("Café", "concept", false),
                ("Cargo", "concept", false)
            ],
            "a type outside ASCII leaves the entity's type unstated"
        );
        assert_eq!(
            checked.graph.mentions[0].description.as_deref(),
            Some("an embedded database")
        );
        let links: Vec<(usize, usize, &str)> = checked
            .graph
            .links
            .iter()
            .map(|l| (l.from, l.to, l.relation.as_str()))
            .collect();
        assert_eq!(links, [(1, 0, "depends_on"), (1, 3, "uses")]);
        let dropped: Vec<&str> = checked.dropped.iter().map(|d| d.item.as_str()).collect();
        assert_eq!(
            dropped,
            [
                "entities[2]",
                "entities[3]",
                "relationships[2]",
                "relationships[3]",
                "relationships[4]"
            ]
        );
    }

    #[test]
    fn a_reply_of_another_shape_is_malformed() {
        for reply in [
            json!(["SQLite"]),
            json!({"entities": []}),
            json!({"entities": [{"name": "x"}], "relationships": []}),
            json!({"entities": [], "relationships": [{"from": 1, "to": "b", "relation": "r", "weight": null, "description": null}]}),
        ] {
            assert!(check_shape(&reply).is_err(), "{reply}");
            assert!(read(&reply).is_err(), "{reply}");
        }
        assert!(check_shape(&json!({"entities": [], "relationships": []})).is_ok());
    }

    #[test]
    fn labels_are_brought_to_snake_case() {
        let snake = |label| snake_case(label);
        assert_eq!(snake(" Depends-On ").as_deref(), Some("depends_on"));
        assert_eq!(snake("part of  (the)").as_deref(), Some("part_of_the"));
        assert_eq!(snake("__x__").as_deref(), Some("x"));
        assert_eq!(snake("日本"), None);
        assert_eq!(snake("Café Owner"), None, "not caf_owner");
        assert_eq!(snake("ÄRZTE"), None);
        assert_eq!(snake("—"), Some(String::new()));
    }
}
