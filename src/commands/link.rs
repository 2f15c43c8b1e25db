//! `link` and `unlink`: explicit relationships between entities.

use clap::Args;
use serde::Serialize;

use super::open_existing;
use crate::config::Config;
use crate::error::Result;
use crate::graph::{EntityName, EntityType, Relation, Weight};
use crate::store::{NewLink, OpenMode, RelationshipView, Store};

/// Arguments of `link`.
#[derive(Debug, Clone, Args)]
pub struct LinkArgs {
    /// The source entity (created if missing)
    #[arg(long)]
    pub from: String,
    /// The target entity (created if missing)
    #[arg(long)]
    pub to: String,
    /// The kind of relationship, in snake_case (e.g. depends_on)
    #[arg(long)]
    pub relation: String,
    /// Its weight, in (0, 1]
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub weight: f64,
    /// What it says
    #[arg(long, default_value = "")]
    pub description: String,
    /// The type of an entity this creates
    #[arg(long = "type", value_name = "TYPE", default_value = EntityType::DEFAULT)]
    pub kind: String,
}

/// Arguments of `unlink`.
#[derive(Debug, Clone, Args)]
pub struct UnlinkArgs {
    /// The source entity
    #[arg(long)]
    pub from: String,
    /// The target entity
    #[arg(long)]
    pub to: String,
    /// Only this kind of relationship (default: every explicit one)
    #[arg(long)]
    pub relation: Option<String>,
}

/// What `unlink` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Unlinked {
    /// The explicit links removed.
    pub removed: Vec<RelationshipView>,
}

/// Links two entities and returns the relationship.
pub fn cmd_link(config: &Config, args: &LinkArgs) -> Result<RelationshipView> {
    let namespace = config.namespace()?;
    let from = EntityName::new(&args.from)?;
    let to = EntityName::new(&args.to)?;
    let relation = Relation::new(&args.relation)?;
    let weight = Weight::new(args.weight)?;
    let kind = EntityType::new(&args.kind)?;
    let mut store = Store::open(config.db_path()?, OpenMode::Create)?;
    super::record_origin(config, &mut store)?;
    store.link(&NewLink {
        namespace,
        from: &from,
        to: &to,
        relation: &relation,
        weight,
        description: &args.description,
        kind: &kind,
    })
}

/// Removes explicit links and returns them.
pub fn cmd_unlink(config: &Config, args: &UnlinkArgs) -> Result<Unlinked> {
    let namespace = config.namespace()?;
    let from = EntityName::new(&args.from)?;
    let to = EntityName::new(&args.to)?;
    let relation = args.relation.as_deref().map(Relation::new).transpose()?;
    let mut store = open_existing(config)?;
    let removed = store.unlink(namespace, &from, &to, relation.as_ref())?;
    Ok(Unlinked { removed })
}
