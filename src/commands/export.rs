//! `export`: write live memories as JSON lines.

use std::io::Write;

use clap::Args;

use super::open_for_reading;
use crate::config::Config;
use crate::error::Result;
use crate::output;

/// Arguments of `export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Export every namespace, not only the current one
    #[arg(long)]
    pub all_namespaces: bool,
}

/// Writes one JSON line per live memory to `out`, in the format `import`
/// reads, and returns how many were written.
pub fn cmd_export(config: &Config, args: &ExportArgs, out: &mut dyn Write) -> Result<u64> {
    let namespace = config.namespace()?;
    let store = open_for_reading(config)?;
    let namespace = (!args.all_namespaces).then_some(namespace);
    let count = store.export(namespace, |line| output::write_json(out, line))?;
    tracing::info!("exported {count} memories");
    Ok(count)
}
