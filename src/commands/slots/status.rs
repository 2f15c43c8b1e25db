//! `slots status`: who holds which slot.

use clap::Args;

use super::PoolArgs;
use crate::config::Config;
use crate::error::Result;
use crate::output;

/// Arguments of `slots status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The pool and its size.
    #[command(flatten)]
    pub pool: PoolArgs,
}

/// Prints `{"pool","dir","max","held","free","slots":[…]}`.
pub fn cmd_slots_status(config: &Config, args: &StatusArgs) -> Result<()> {
    output::emit(&args.pool.find(config)?.status()?)
}
