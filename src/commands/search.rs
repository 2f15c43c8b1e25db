//! `search`: word search with FTS5 and BM25.

use clap::Args;
use serde_json::json;

use super::open_existing;
use crate::config::Config;
use crate::error::Result;
use crate::output;
use crate::store::Scope;

/// Arguments of `search`.
#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// Any text; its words are searched, FTS5 syntax has no effect
    #[arg(allow_hyphen_values = true)]
    pub query: String,
    /// Number of results
    #[arg(short = 'k', long = "k", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub k: u32,
}

/// Prints `{"results":[…]}`, best first.
pub fn cmd_search(config: &Config, args: &SearchArgs) -> Result<()> {
    let store = open_existing(config)?;
    let results = store.search(
        &Scope::namespace(&config.namespace),
        &args.query,
        args.k as usize,
    )?;
    output::emit(&json!({ "results": results }))
}
