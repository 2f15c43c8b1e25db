//! `restore`: bring back an earlier version or a forgotten memory.

use clap::Args;

use super::extract::queued_extractor;
use super::{embedder, open_for_writes};
use crate::config::Config;
use crate::error::Result;
use crate::memory::validate_name;
use crate::store::{OpenMode, Outcome};

/// Arguments of `restore`.
#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// The memory's name
    pub name: String,
    /// The version whose content to bring back [default: un-forget as it was]
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub version: Option<i64>,
}

/// Writes a new live version with the restored content.
pub fn cmd_restore(config: &Config, args: &RestoreArgs) -> Result<Outcome> {
    let namespace = config.namespace()?;
    validate_name(&args.name)?;
    let queue_for = queued_extractor(config, false)?;
    let embedder = embedder(config)?;
    let mut store = open_for_writes(config, OpenMode::Existing, &*embedder, queue_for)?;
    store.restore(&*embedder, namespace, &args.name, args.version)
}
