//! `recall`: search by meaning.

use clap::Args;
use serde_json::json;

use super::{RetrievalArgs, open_existing};
use crate::config::Config;
use crate::error::Result;
use crate::output;
use crate::search::recall;

/// Arguments of `recall`.
#[derive(Debug, Clone, Args)]
pub struct RecallArgs {
    /// The query and its filters.
    #[command(flatten)]
    pub retrieval: RetrievalArgs,
}

/// Prints `{"results":[…]}`, most similar first.
pub fn cmd_recall(config: &Config, args: &RecallArgs) -> Result<()> {
    let scope = args.retrieval.scope(config)?;
    let store = open_existing(config)?;
    let results = recall(
        &store,
        &args.retrieval.query,
        args.retrieval.k as usize,
        &scope,
    )?;
    output::emit(&json!({ "results": results }))
}
