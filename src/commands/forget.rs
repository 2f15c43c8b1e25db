//! `forget`: soft-delete a memory.

use clap::Args;

use super::open_existing;
use crate::config::Config;
use crate::error::Result;
use crate::memory::validate_name;
use crate::store::Outcome;

/// Arguments of `forget`.
#[derive(Debug, Clone, Args)]
pub struct ForgetArgs {
    /// The memory's name
    pub name: String,
}

/// Forgets the memory; `restore` brings it back until it is purged.
pub fn cmd_forget(config: &Config, args: &ForgetArgs) -> Result<Outcome> {
    let namespace = config.namespace()?;
    validate_name(&args.name)?;
    let mut store = open_existing(config)?;
    store.forget(namespace, &args.name)
}
