//! `namespaces`: the namespaces with their counts.

use clap::Args;
use serde_json::json;

use super::open_existing;
use crate::config::Config;
use crate::error::Result;
use crate::output;

/// Arguments of `namespaces`.
#[derive(Debug, Clone, Args)]
pub struct NamespacesArgs {}

/// Prints `{"namespaces":[{"namespace","memories","forgotten","versions"}]}`.
pub fn cmd_namespaces(config: &Config, _args: &NamespacesArgs) -> Result<()> {
    let namespaces = open_existing(config)?.namespaces()?;
    output::emit(&json!({ "namespaces": namespaces }))
}
