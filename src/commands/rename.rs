//! `rename`: give a memory a new name.

use clap::Args;

use super::open_existing;
use crate::config::Config;
use crate::error::Result;
use crate::memory::validate_name;
use crate::store::Outcome;

/// Arguments of `rename`.
#[derive(Debug, Clone, Args)]
pub struct RenameArgs {
    /// The current name
    pub name: String,
    /// The new name
    pub new_name: String,
}

/// Renames the memory (a new version).
pub fn cmd_rename(config: &Config, args: &RenameArgs) -> Result<Outcome> {
    let namespace = config.namespace()?;
    validate_name(&args.name)?;
    let mut store = open_existing(config)?;
    store.rename(namespace, &args.name, &args.new_name)
}
