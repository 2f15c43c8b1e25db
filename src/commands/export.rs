//! `export`: write live memories, and the graph, as JSON lines.

use std::io::Write;

use clap::Args;

use super::open_for_reading;
use crate::config::Config;
use crate::error::Result;
use crate::output;
use crate::store::ExportCounts;

/// Arguments of `export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Export every namespace, not only the current one
    #[arg(long)]
    pub all_namespaces: bool,
}

/// Writes one JSON line per live memory, and one per graph line, to `out`,
/// in the format and order `import` reads, and returns how many of each
/// were written.
pub fn cmd_export(config: &Config, args: &ExportArgs, out: &mut dyn Write) -> Result<ExportCounts> {
    let namespace = config.namespace()?;
    let store = open_for_reading(config)?;
    let namespace = (!args.all_namespaces).then_some(namespace);
    let counts = store.export(namespace, |line| output::write_json(out, line))?;
    tracing::info!(
        "exported {} memories and {} graph lines",
        counts.memories,
        counts.graph_lines
    );
    Ok(counts)
}
