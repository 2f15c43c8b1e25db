//! `read`: print one memory.

use clap::Args;

use super::open_for_reading;
use crate::config::Config;
use crate::error::Result;
use crate::memory::{Memory, validate_name};

/// Arguments of `read`.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// The memory's name
    pub name: String,
}

/// Returns the live memory with its body.
pub fn cmd_read(config: &Config, args: &ReadArgs) -> Result<Memory> {
    let namespace = config.namespace()?;
    validate_name(&args.name)?;
    let store = open_for_reading(config)?;
    store.read(namespace, &args.name)
}
