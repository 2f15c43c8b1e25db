//! `reindex`: re-embed every memory, in the same space or into the
//! configured embedder's new one.

use clap::Args;

use super::{compact, embedder, open_existing};
use crate::config::Config;
use crate::error::Result;
use crate::store::ReindexReport;

/// Arguments of `reindex`.
#[derive(Debug, Clone, Args)]
pub struct ReindexArgs {}

/// Replaces every vector with one from the configured embedder, then
/// compacts the vectors, each with a progress line on stderr; returns what
/// was done.
pub fn cmd_reindex(config: &Config, _args: &ReindexArgs) -> Result<ReindexReport> {
    let embedder = embedder(config)?;
    let mut store = open_existing(config)?;
    let mut progress = config.progress("reindex", None);
    let report = store.reindex(&*embedder, &mut |memories, total| {
        progress.set_total(total);
        progress.advance(memories);
    });
    progress.finish();
    let mut report = report?;
    report.compacted = compact(config, &mut store, None)?;
    Ok(report)
}
