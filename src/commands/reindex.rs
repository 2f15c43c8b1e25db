//! `reindex`: re-embed every memory.

use clap::Args;

use super::{embedder, open_existing};
use crate::config::Config;
use crate::error::Result;
use crate::output;

/// Arguments of `reindex`.
#[derive(Debug, Clone, Args)]
pub struct ReindexArgs {}

/// Replaces every vector with one from the configured model; prints what was done.
pub fn cmd_reindex(config: &Config, _args: &ReindexArgs) -> Result<()> {
    let embedder = embedder(config);
    let mut store = open_existing(config)?;
    output::emit(&store.reindex(&*embedder)?)
}
