//! `search`: word search with FTS5 and BM25.

use clap::Args;

use super::{MinScoreArgs, RetrievalArgs, SearchResults};
use crate::config::Config;
use crate::error::Result;
use crate::search;
use crate::store::ScanMode;

/// Arguments of `search`.
#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// The query and its filters; FTS5 syntax in the query has no effect.
    #[command(flatten)]
    pub retrieval: RetrievalArgs,
    /// The score threshold.
    #[command(flatten)]
    pub min_score: MinScoreArgs,
}

/// Returns the results, best first.
pub fn cmd_search(config: &Config, args: &SearchArgs) -> Result<SearchResults> {
    args.retrieval.run(
        config,
        search::word_search,
        None,
        ScanMode::Auto,
        &args.min_score,
    )
}
