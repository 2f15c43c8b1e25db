//! `reindex`: re-embed every memory.

use clap::Args;

use super::{embedder, open_existing};
use crate::config::Config;
use crate::error::Result;
use crate::store::ReindexReport;

/// Arguments of `reindex`.
#[derive(Debug, Clone, Args)]
pub struct ReindexArgs {}

/// Replaces every vector with one from the configured model; returns what was done.
pub fn cmd_reindex(config: &Config, _args: &ReindexArgs) -> Result<ReindexReport> {
    let embedder = embedder(config)?;
    let mut store = open_existing(config)?;
    store.reindex(&*embedder)
}
