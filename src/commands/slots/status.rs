//! `slots status`: who holds which slot.

use clap::Args;

use super::PoolArgs;
use crate::config::Config;
use crate::error::Result;
use crate::slots::PoolStatus;

/// Arguments of `slots status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The pool and its size.
    #[command(flatten)]
    pub pool: PoolArgs,
}

/// Returns the pool's slots and their holders.
pub fn cmd_slots_status(config: &Config, args: &StatusArgs) -> Result<PoolStatus> {
    args.pool.find(config)?.status()
}
