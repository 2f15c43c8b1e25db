//! `stats`: counts per namespace and size on disk.

use clap::Args;

use super::open_existing;
use crate::config::Config;
use crate::error::Result;
use crate::store::Stats;

/// Arguments of `stats`.
#[derive(Debug, Clone, Args)]
pub struct StatsArgs {}

/// Returns the database's counts and size.
pub fn cmd_stats(config: &Config, _args: &StatsArgs) -> Result<Stats> {
    open_existing(config)?.stats()
}
