//! `search`: word search with FTS5 and BM25.

use clap::Args;
use serde_json::json;

use super::{RetrievalArgs, open_existing};
use crate::config::Config;
use crate::error::Result;
use crate::output;
use crate::search::word_search;

/// Arguments of `search`.
#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// The query and its filters; FTS5 syntax in the query has no effect.
    #[command(flatten)]
    pub retrieval: RetrievalArgs,
}

/// Prints `{"results":[…]}`, best first.
pub fn cmd_search(config: &Config, args: &SearchArgs) -> Result<()> {
    let scope = args.retrieval.scope(config)?;
    let store = open_existing(config)?;
    let results = word_search(
        &store,
        &args.retrieval.query,
        args.retrieval.k as usize,
        &scope,
    )?;
    output::emit(&json!({ "results": results }))
}
