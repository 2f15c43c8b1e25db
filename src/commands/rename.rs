//! `rename`: give a memory a new name.

use clap::Args;

use super::open_existing;
use crate::config::Config;
use crate::error::Result;
use crate::output;

/// Arguments of `rename`.
#[derive(Debug, Clone, Args)]
pub struct RenameArgs {
    /// The current name
    pub name: String,
    /// The new name
    pub new_name: String,
}

/// Renames the memory (a new version).
pub fn cmd_rename(config: &Config, args: &RenameArgs) -> Result<()> {
    let mut store = open_existing(config)?;
    output::emit(&store.rename(&config.namespace, &args.name, &args.new_name)?)
}
