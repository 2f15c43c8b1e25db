//! `recall`: search by meaning.

use clap::Args;

use super::{GraphArgs, MinScoreArgs, RetrievalArgs, SearchResults, VectorArgs};
use crate::config::Config;
use crate::error::Result;
use crate::search;

/// Arguments of `recall`.
#[derive(Debug, Clone, Args)]
pub struct RecallArgs {
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
pub fn cmd_recall(config: &Config, args: &RecallArgs) -> Result<SearchResults> {
    args.retrieval.run(
        config,
        search::recall,
        args.graph.graph_hops(false),
        args.vectors.mode(),
        &args.min_score,
    )
}
