//! `hybrid-search`: search by meaning and by words, fused.

use clap::Args;
use serde_json::json;

use super::{RetrievalArgs, open_existing};
use crate::config::Config;
use crate::error::Result;
use crate::output;
use crate::search::hybrid_search;

/// Arguments of `hybrid-search`.
#[derive(Debug, Clone, Args)]
pub struct HybridSearchArgs {
    /// The query and its filters.
    #[command(flatten)]
    pub retrieval: RetrievalArgs,
}

/// Prints `{"results":[…]}`, best first.
pub fn cmd_hybrid_search(config: &Config, args: &HybridSearchArgs) -> Result<()> {
    let scope = args.retrieval.scope(config)?;
    let store = open_existing(config)?;
    let results = hybrid_search(
        &store,
        &args.retrieval.query,
        args.retrieval.k as usize,
        &scope,
    )?;
    output::emit(&json!({ "results": results }))
}
