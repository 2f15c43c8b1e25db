//! `vacuum`: rewrite the database file without its free pages.

use clap::Args;

use super::open_existing;
use crate::config::Config;
use crate::error::Result;
use crate::store::VacuumReport;

/// Arguments of `vacuum`.
#[derive(Debug, Clone, Args)]
pub struct VacuumArgs {}

/// Vacuums the database and reports its size before and after.
pub fn cmd_vacuum(config: &Config, _args: &VacuumArgs) -> Result<VacuumReport> {
    open_existing(config)?.vacuum()
}
