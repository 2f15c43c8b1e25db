//! `history`: every version of a memory.

use clap::Args;
use serde_json::json;

use super::open_existing;
use crate::config::Config;
use crate::error::Result;
use crate::output;

/// Arguments of `history`.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// The memory's name (forgotten memories too)
    pub name: String,
}

/// Prints `{"memory_id","name","namespace","versions":[…]}`, oldest first.
pub fn cmd_history(config: &Config, args: &HistoryArgs) -> Result<()> {
    let store = open_existing(config)?;
    let (memory, versions) = store.history(&config.namespace, &args.name)?;
    output::emit(&json!({
        "memory_id": memory.memory_id,
        "name": memory.name,
        "namespace": memory.namespace,
        "versions": versions,
    }))
}
