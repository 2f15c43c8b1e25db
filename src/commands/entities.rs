//! `entities` and `entity` (the entities of the namespace, and one in
//! full), and the verbs that change entities as a whole.

use clap::Args;
use serde::Serialize;

use super::{open_existing, open_for_reading};
use crate::config::Config;
use crate::error::Result;
use crate::graph::{EntityName, EntityType};
use crate::store::{EntityChange, EntityDetail, EntityFilter, EntityOrder, EntityRow};

/// Arguments of `entities`.
#[derive(Debug, Clone, Args)]
pub struct EntitiesArgs {
    /// Only entities of this type
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// Only entities whose name starts with this (any case)
    #[arg(long)]
    pub prefix: Option<String>,
    /// The order
    #[arg(long, value_enum, default_value = "degree")]
    pub sort: EntityOrder,
    /// At most this many
    #[arg(short = 'k', long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
}

/// Arguments of `entity`.
#[derive(Debug, Clone, Args)]
pub struct EntityArgs {
    /// The entity's name (any case)
    pub name: String,
}

/// Arguments of `merge-entities`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The entities merged (they become aliases of the result)
    #[arg(required = true)]
    pub sources: Vec<String>,
    /// The entity they become (created if missing)
    #[arg(long)]
    pub into: String,
}

/// Arguments of `rename-entity`.
#[derive(Debug, Clone, Args)]
pub struct RenameEntityArgs {
    /// The entity's name now
    pub name: String,
    /// Its new name (the old one stays as an alias)
    pub new_name: String,
}

/// What `entities` prints.
#[derive(Debug, Clone, Serialize)]
pub struct EntityList {
    /// The entities, in the order asked for.
    pub entities: Vec<EntityRow>,
}

/// Returns the namespace's visible entities.
pub fn cmd_entities(config: &Config, args: &EntitiesArgs) -> Result<EntityList> {
    let namespace = config.namespace()?;
    let kind = args.kind.as_deref().map(EntityType::new).transpose()?;
    let store = open_for_reading(config)?;
    let filter = EntityFilter {
        kind: kind.map(|k| k.as_str().to_owned()),
        prefix: args.prefix.clone(),
        order: args.sort,
        limit: args.limit,
    };
    let entities = store.entities(namespace, &filter)?;
    Ok(EntityList { entities })
}

/// Returns one entity with its memories and relationships.
pub fn cmd_entity(config: &Config, args: &EntityArgs) -> Result<EntityDetail> {
    let namespace = config.namespace()?;
    let name = EntityName::new(&args.name)?;
    open_for_reading(config)?.entity(namespace, &name)
}

/// Merges entities into one.
pub fn cmd_merge(config: &Config, args: &MergeArgs) -> Result<EntityChange> {
    let namespace = config.namespace()?;
    let sources = args
        .sources
        .iter()
        .map(|s| EntityName::new(s))
        .collect::<Result<Vec<_>>>()?;
    let into = EntityName::new(&args.into)?;
    open_existing(config)?.merge_entities(namespace, &sources, &into)
}

/// Renames an entity.
pub fn cmd_rename_entity(config: &Config, args: &RenameEntityArgs) -> Result<EntityChange> {
    let namespace = config.namespace()?;
    let old = EntityName::new(&args.name)?;
    let new = EntityName::new(&args.new_name)?;
    open_existing(config)?.rename_entity(namespace, &old, &new)
}

/// Forgets an entity for good.
pub fn cmd_forget_entity(config: &Config, args: &EntityArgs) -> Result<EntityChange> {
    let namespace = config.namespace()?;
    let name = EntityName::new(&args.name)?;
    open_existing(config)?.forget_entity(namespace, &name)
}
