//! `enrich`: the queue of memory versions waiting for an LLM extractor.

use clap::{Args, Subcommand};

use super::open_existing;
use crate::config::Config;
use crate::error::Result;
use crate::store::EnrichCounts;

/// Arguments of `enrich`.
#[derive(Debug, Clone, Args)]
pub struct EnrichArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: EnrichCommand,
}

/// The `enrich` verbs.
#[derive(Debug, Clone, Subcommand)]
pub enum EnrichCommand {
    /// Count the jobs of the queue by state.
    Status,
}

/// Runs an `enrich` verb.
pub fn cmd_enrich(config: &Config, args: &EnrichArgs) -> Result<EnrichCounts> {
    match args.command {
        EnrichCommand::Status => open_existing(config)?.enrich_counts(),
    }
}
