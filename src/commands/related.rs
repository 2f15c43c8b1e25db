//! `related`: memories reached through the graph from a memory or an entity.

use clap::Args;
use serde::Serialize;

use super::open_for_reading;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::graph::{EntityName, Relation};
use crate::memory::validate_name;
use crate::store::{RelatedMemory, WalkOptions};

/// Arguments of `related`.
#[derive(Debug, Clone, Args)]
pub struct RelatedArgs {
    /// Start from the entities of this memory
    #[arg(required_unless_present = "entity", conflicts_with = "entity")]
    pub name: Option<String>,
    /// Start from this entity instead
    #[arg(long)]
    pub entity: Option<String>,
    /// The most relationships walked
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=5))]
    pub hops: u32,
    /// Relationships lighter than this are not walked
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub min_weight: f64,
    /// Only relationships of this kind are walked
    #[arg(long)]
    pub relation: Option<String>,
    /// At most this many memories
    #[arg(short = 'k', long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
}

/// What `related` prints.
#[derive(Debug, Clone, Serialize)]
pub struct RelatedList {
    /// The memories reached, best first.
    pub results: Vec<RelatedMemory>,
}

/// Returns the memories reached, best first.
pub fn cmd_related(config: &Config, args: &RelatedArgs) -> Result<RelatedList> {
    let namespace = config.namespace()?;
    if !(0.0..=1.0).contains(&args.min_weight) {
        return Err(Error::invalid(format!(
            "--min-weight {} is outside [0, 1]",
            args.min_weight
        )));
    }
    let options = WalkOptions {
        hops: args.hops,
        min_weight: args.min_weight,
        relation: args.relation.as_deref().map(Relation::new).transpose()?,
        limit: args.limit,
    };
    let results = match (&args.name, &args.entity) {
        (_, Some(entity)) => {
            let entity = EntityName::new(entity)?;
            open_for_reading(config)?.related_to_entity(namespace, &entity, &options)?
        }
        (Some(name), None) => {
            validate_name(name)?;
            open_for_reading(config)?.related_to_memory(namespace, name, &options)?
        }
        (None, None) => return Err(Error::usage("name a memory, or an entity with --entity")),
    };
    Ok(RelatedList { results })
}
