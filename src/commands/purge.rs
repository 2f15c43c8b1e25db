//! `purge`: delete forgotten memories for good.

use clap::Args;
use serde::Serialize;

use super::{compact, open_existing};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::time::parse_duration;

/// Arguments of `purge`.
#[derive(Debug, Clone, Args)]
pub struct PurgeArgs {
    /// Only memories forgotten at least this long ago (e.g. 30d, 12h)
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,
    /// Confirm; nothing is deleted without it
    #[arg(long)]
    pub yes: bool,
}

/// What `purge` did.
#[derive(Debug, Clone, Serialize)]
pub struct PurgeReport {
    /// The namespace purged.
    pub namespace: String,
    /// Memories deleted for good.
    pub purged: usize,
    /// Vectors of the embedding cache deleted: those of texts no live
    /// memory has any more, in any namespace.
    pub cache_pruned: usize,
    /// Dead vector slots removed by compacting the namespace's vectors.
    pub compacted: usize,
}

/// Deletes the namespace's forgotten memories and their versions, and the
/// cached vectors no live memory needs; compacts the namespace's vectors.
pub fn cmd_purge(config: &Config, args: &PurgeArgs) -> Result<PurgeReport> {
    let namespace = config.namespace()?;
    let older_than = args.older_than.as_deref().map(parse_duration).transpose()?;
    if !args.yes {
        return Err(Error::usage(
            "purge deletes forgotten memories for good; pass --yes to confirm",
        ));
    }
    let mut store = open_existing(config)?;
    let purged = store.purge(namespace, older_than)?;
    let cache_pruned = store.prune_embedding_cache()?;
    let compacted = compact(config, &mut store, Some(namespace))?;
    Ok(PurgeReport {
        namespace: namespace.to_owned(),
        purged,
        cache_pruned,
        compacted,
    })
}
