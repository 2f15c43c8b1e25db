//! `read`: print one memory.

use clap::Args;
use serde::Serialize;

use super::open_for_reading;
use crate::config::Config;
use crate::error::Result;
use crate::memory::{Memory, validate_name};
use crate::store::EntitySummary;

/// Arguments of `read`.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// The memory's name
    pub name: String,
}

/// What `read` prints: the memory and the entities it mentions.
#[derive(Debug, Clone, Serialize)]
pub struct ReadOutput {
    /// The memory, with its body.
    #[serde(flatten)]
    pub memory: Memory,
    /// The entities it mentions, in name order.
    pub entities: Vec<EntitySummary>,
}

/// Returns the live memory with its body and its entities.
pub fn cmd_read(config: &Config, args: &ReadArgs) -> Result<ReadOutput> {
    let namespace = config.namespace()?;
    validate_name(&args.name)?;
    let store = open_for_reading(config)?;
    let memory = store.read(namespace, &args.name)?;
    let entities = store.memory_entities(memory.memory_id)?;
    Ok(ReadOutput { memory, entities })
}
