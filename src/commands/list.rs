//! `list`: memories of the namespace, without bodies.

use clap::Args;
use serde::Serialize;

use super::open_for_reading;
use crate::config::Config;
use crate::error::Result;
use crate::memory::{Memory, validate_session, validate_type};
use crate::store::ListFilter;

/// Arguments of `list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Only memories of this type
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// At most this many
    #[arg(short = 'k', long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
    /// Skip this many first
    #[arg(long, default_value_t = 0)]
    pub offset: u32,
    /// Include forgotten memories
    #[arg(long)]
    pub include_deleted: bool,
    /// Only memories last written in this agent session
    #[arg(long)]
    pub session: Option<String>,
}

/// What `list` prints.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryList {
    /// The memories without bodies, most recently updated first.
    pub items: Vec<Memory>,
    /// How many memories match the filters, whatever the limit and offset.
    pub total: u64,
    /// Whether more matching memories follow this page.
    pub more: bool,
}

/// Returns the namespace's memories, most recently updated first.
pub fn cmd_list(config: &Config, args: &ListArgs) -> Result<MemoryList> {
    let namespace = config.namespace()?;
    if let Some(kind) = &args.kind {
        validate_type(kind)?;
    }
    if let Some(session) = &args.session {
        validate_session(session)?;
    }
    let store = open_for_reading(config)?;
    let filter = ListFilter {
        kind: args.kind.clone(),
        session: args.session.clone(),
        limit: args.limit,
        offset: args.offset,
        include_deleted: args.include_deleted,
    };
    let (items, total) = store.list_with_total(namespace, &filter)?;
    let more = u64::from(args.offset) + (items.len() as u64) < total;
    Ok(MemoryList { items, total, more })
}
