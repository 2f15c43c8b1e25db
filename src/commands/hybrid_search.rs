//! `hybrid-search`: search by meaning and by words, fused.

use clap::Args;

use super::{GraphArgs, MinScoreArgs, RetrievalArgs, SearchResults, VectorArgs};
use crate::config::Config;
use crate::error::Result;
use crate::search;

/// Arguments of `hybrid-search`.
#[derive(Debug, Clone, Args)]
pub struct HybridSearchArgs {
    /// The query and its filters.
    #[command(flatten)]
    pub retrieval: RetrievalArgs,
    /// Graph expansion.
    #[command(flatten)]
    pub graph: GraphArgs,
    /// The vector scan.
    #[command(flatten)]
    pub vectors: VectorArgs,
    /// The score threshold.
    #[command(flatten)]
    pub min_score: MinScoreArgs,
}

/// Returns the results, best first.
pub fn cmd_hybrid_search(config: &Config, args: &HybridSearchArgs) -> Result<SearchResults> {
    args.retrieval.run(
        config,
        search::hybrid_search,
        args.graph.graph_hops(true),
        args.vectors.mode(),
        &args.min_score,
    )
}
