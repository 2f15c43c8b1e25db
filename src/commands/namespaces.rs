//! `namespaces`: the namespaces with their counts.

use clap::Args;
use serde::Serialize;

use super::open_for_reading;
use crate::config::Config;
use crate::error::Result;
use crate::store::NamespaceStats;

/// Arguments of `namespaces`.
#[derive(Debug, Clone, Args)]
pub struct NamespacesArgs {}

/// What `namespaces` prints.
#[derive(Debug, Clone, Serialize)]
pub struct NamespaceList {
    /// Every namespace with its counts, by name.
    pub namespaces: Vec<NamespaceStats>,
}

/// Returns every namespace with its counts.
pub fn cmd_namespaces(config: &Config, _args: &NamespacesArgs) -> Result<NamespaceList> {
    let namespaces = open_for_reading(config)?.namespaces()?;
    Ok(NamespaceList { namespaces })
}
