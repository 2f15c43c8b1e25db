//! `optimize`: refresh the planner's statistics and merge the word index.

use clap::Args;

use super::open_existing;
use crate::config::Config;
use crate::error::Result;
use crate::store::OptimizeReport;

/// Arguments of `optimize`.
#[derive(Debug, Clone, Args)]
pub struct OptimizeArgs {}

/// Optimizes the database and reports what was done.
pub fn cmd_optimize(config: &Config, _args: &OptimizeArgs) -> Result<OptimizeReport> {
    open_existing(config)?.optimize()
}
