//! The graph a user gives with a memory: `--entities-file`,
//! `--relationships-file` (JSON arrays) or `--graph-stdin` (one object
//! holding both), checked whole before anything is written.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::assertion::{Link, MemoryGraph, Mention};
use super::names::{EntityName, EntityType, Relation, Weight};
use crate::error::{Error, Result};

/// The most entities one memory may be given.
pub const MAX_ENTITIES: usize = 1000;
/// The most relationships one memory may be given.
pub const MAX_RELATIONSHIPS: usize = 2000;
/// Longest accepted entity or relationship description, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 4096;

/// One entity as a user writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityInput {
    /// Its name.
    pub name: String,
    /// Its type (default `concept`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// What it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One relationship as a user writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationshipInput {
    /// The source entity's name.
    pub from: String,
    /// The target entity's name.
    pub to: String,
    /// Its kind, in snake_case.
    pub relation: String,
    /// Its weight in (0, 1] (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// What it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What `--graph-stdin` reads, and what a memory line carries for each LLM
/// extractor.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphInput {
    /// The entities.
    #[serde(default)]
    pub entities: Vec<EntityInput>,
    /// The relationships.
    #[serde(default)]
    pub relationships: Vec<RelationshipInput>,
}

/// Checks a user's graph and turns it into what the memory asserts.
/// Entities named only by a relationship are mentioned too, as `concept`.
///
/// # Failure
/// Invalid input naming the first bad item; too-large past the limits.
pub fn check(input: GraphInput) -> Result<MemoryGraph> {
    if input.entities.len() > MAX_ENTITIES {
        return Err(Error::too_large(format!(
            "{} entities; one memory takes at most {MAX_ENTITIES}",
            input.entities.len()
        )));
    }
    if input.relationships.len() > MAX_RELATIONSHIPS {
        return Err(Error::too_large(format!(
            "{} relationships; one memory takes at most {MAX_RELATIONSHIPS}",
            input.relationships.len()
        )));
    }
    let mut graph = MemoryGraph::default();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, entity) in input.entities.into_iter().enumerate() {
        let at = |e: Error| prefix(e, &format!("entities[{i}]"));
        let name = EntityName::new(&entity.name).map_err(at)?;
        let kind =
            EntityType::new(entity.kind.as_deref().unwrap_or(EntityType::DEFAULT)).map_err(at)?;
        let key = name.key().as_str().to_owned();
        if index.contains_key(&key) {
            return Err(at(Error::invalid(format!(
                "entity {:?} is given twice",
                name.as_str()
            ))));
        }
        if let Some(description) = &entity.description {
            check_description(description).map_err(at)?;
        }
        index.insert(key, graph.mentions.len());
        graph.mentions.push(Mention {
            name,
            kind,
            type_stated: entity.kind.is_some(),
            count: 1,
            description: entity.description,
        });
    }
    let mut given: HashSet<(usize, usize, String)> = HashSet::new();
    for (i, r) in input.relationships.into_iter().enumerate() {
        let at = |e: Error| prefix(e, &format!("relationships[{i}]"));
        let relation = Relation::new(&r.relation).map_err(at)?;
        let weight = Weight::new(r.weight.unwrap_or(1.0)).map_err(at)?;
        let mut end = |text: &str| -> Result<usize> {
            let name = EntityName::new(text)?;
            let key = name.key().as_str().to_owned();
            Ok(*index.entry(key).or_insert_with(|| {
                graph.mentions.push(Mention {
                    name,
                    kind: EntityType::default_type(),
                    type_stated: false,
                    count: 1,
                    description: None,
                });
                graph.mentions.len() - 1
            }))
        };
        let from = end(&r.from).map_err(at)?;
        let to = end(&r.to).map_err(at)?;
        if from == to {
            return Err(at(Error::invalid(format!(
                "relationship from {:?} to itself",
                r.from
            ))));
        }
        if !given.insert((from, to, relation.as_str().to_owned())) {
            return Err(at(Error::invalid(format!(
                "relationship {:?} from {:?} to {:?} is given twice",
                relation.as_str(),
                r.from,
                r.to
            ))));
        }
        let description = r.description.unwrap_or_default();
        check_description(&description).map_err(at)?;
        graph.links.push(Link {
            from,
            to,
            relation,
            weight,
            description,
        });
    }
    if graph.mentions.len() > MAX_ENTITIES {
        return Err(Error::too_large(format!(
            "{} entities with the ends of the relationships; one memory takes at most \
             {MAX_ENTITIES}",
            graph.mentions.len()
        )));
    }
    Ok(graph)
}

/// Checks the length of an entity's or a relationship's description.
///
/// # Failure
/// Too-large past [`MAX_DESCRIPTION_BYTES`].
pub fn check_description(description: &str) -> Result<()> {
    if description.len() > MAX_DESCRIPTION_BYTES {
        return Err(Error::too_large(format!(
            "description of {} bytes; the limit is {MAX_DESCRIPTION_BYTES}",
            description.len()
        )));
    }
    Ok(())
}

/// Puts where an error was found in front of its message.
fn prefix(error: Error, at: &str) -> Error {
    let message = format!("{at}: {}", error.message());
    let prefixed = Error::new(error.kind(), message);
    match error.hint() {
        Some(hint) => prefixed.with_hint(hint.to_owned()),
        None => prefixed,
    }
}
