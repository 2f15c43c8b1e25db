//! `history`: every version of a memory.

use clap::Args;
use serde::Serialize;

use super::open_for_reading;
use crate::config::Config;
use crate::error::Result;
use crate::memory::{MemoryId, validate_name};
use crate::store::VersionRow;

/// Arguments of `history`.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// The memory's name (forgotten memories too)
    pub name: String,
    /// Only the N most recent versions (still oldest first)
    #[arg(short = 'k', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
}

/// A memory's identity and every version of it.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    /// The memory's row id.
    pub memory_id: MemoryId,
    /// Its current name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Every version, oldest first.
    pub versions: Vec<VersionRow>,
}

/// Returns every version of the memory (the latest `--limit`), oldest first.
pub fn cmd_history(config: &Config, args: &HistoryArgs) -> Result<History> {
    let namespace = config.namespace()?;
    validate_name(&args.name)?;
    let store = open_for_reading(config)?;
    let (memory, mut versions) = store.history(namespace, &args.name)?;
    if let Some(limit) = args.limit {
        let older = versions.len().saturating_sub(limit as usize);
        versions.drain(..older);
    }
    Ok(History {
        memory_id: memory.memory_id,
        name: memory.name,
        namespace: memory.namespace,
        versions,
    })
}
