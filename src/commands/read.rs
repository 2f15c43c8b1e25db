//! `read`: print one memory, or several.

use clap::Args;
use serde::Serialize;

use super::open_for_reading;
use crate::config::Config;
use crate::error::{ErrorKind, Result};
use crate::memory::{Memory, validate_name};
use crate::store::{EntitySummary, Store};

/// Arguments of `read`.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// The memories' names (one or more)
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

/// One memory as `read` prints it: the memory and the entities it mentions.
#[derive(Debug, Clone, Serialize)]
pub struct ReadOutput {
    /// The memory, with its body.
    #[serde(flatten)]
    pub memory: Memory,
    /// The entities it mentions, in name order.
    pub entities: Vec<EntitySummary>,
}

/// What `read` prints for several names.
#[derive(Debug, Clone, Serialize)]
pub struct ReadMany {
    /// The memories found, in the order named.
    pub memories: Vec<ReadOutput>,
    /// The names not found, in the order named.
    pub missing: Vec<String>,
}

/// What `read` prints: one memory for one name, or the memories and the
/// missing names for several.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ReadReply {
    /// One name was given.
    One(Box<ReadOutput>),
    /// Several names were given.
    Many(ReadMany),
}

/// Returns the live memories named, with their bodies and entities.
///
/// # Failure
/// Invalid input for a malformed name (nothing is read); for one name,
/// not-found if it is missing; for several, not-found (the first name's)
/// only if none is found.
pub fn cmd_read(config: &Config, args: &ReadArgs) -> Result<ReadReply> {
    let namespace = config.namespace()?;
    for name in &args.names {
        validate_name(name)?;
    }
    let store = open_for_reading(config)?;
    if let [name] = args.names.as_slice() {
        return Ok(ReadReply::One(Box::new(read_one(&store, namespace, name)?)));
    }
    let mut many = ReadMany {
        memories: Vec::new(),
        missing: Vec::new(),
    };
    let mut first_error = None;
    for (i, name) in args.names.iter().enumerate() {
        if args.names[..i].contains(name) {
            continue;
        }
        match read_one(&store, namespace, name) {
            Ok(found) => many.memories.push(found),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                first_error.get_or_insert(e);
                many.missing.push(name.clone());
            }
            Err(e) => return Err(e),
        }
    }
    match (many.memories.is_empty(), first_error) {
        (true, Some(e)) => Err(e),
        _ => Ok(ReadReply::Many(many)),
    }
}

/// Reads one live memory and its entities.
fn read_one(store: &Store, namespace: &str, name: &str) -> Result<ReadOutput> {
    let memory = store.read(namespace, name)?;
    let entities = store.memory_entities(memory.memory_id)?;
    Ok(ReadOutput { memory, entities })
}
