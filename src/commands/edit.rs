//! `edit`: change some fields of a memory.

use clap::Args;

use super::extract::queued_extractor;
use super::graph_input::GraphInputArgs;
use super::{BodyArgs, embedder, open_for_writes};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::memory::{Metadata, validate_name};
use crate::store::{ContentPatch, OpenMode, Outcome};

/// Arguments of `edit`.
#[derive(Debug, Clone, Args)]
pub struct EditArgs {
    /// The memory's name
    pub name: String,
    /// New body
    #[command(flatten)]
    pub body: BodyArgs,
    /// New type
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// New one-line summary
    #[arg(long)]
    pub description: Option<String>,
    /// New metadata, a JSON object (replaces the old one)
    #[arg(long, value_name = "JSON")]
    pub metadata: Option<String>,
    /// A new graph the memory asserts (replaces the one given before)
    #[command(flatten)]
    pub graph: GraphInputArgs,
}

/// Writes a new version with the given fields changed.
pub fn cmd_edit(config: &Config, args: &EditArgs) -> Result<Outcome> {
    let namespace = config.namespace()?;
    validate_name(&args.name)?;
    let patch = ContentPatch {
        kind: args.kind.clone(),
        description: args.description.clone(),
        body: args.body.read()?,
        metadata: args.metadata.as_deref().map(Metadata::parse).transpose()?,
    };
    let graph = args.graph.read()?;
    if patch.kind.is_none()
        && patch.description.is_none()
        && patch.body.is_none()
        && patch.metadata.is_none()
        && graph.is_none()
    {
        return Err(Error::usage(
            "nothing to change: pass --body/--body-file/--body-stdin, --type, --description, --metadata or a graph",
        ));
    }
    let queue_for = queued_extractor(config, false)?;
    let embedder = embedder(config)?;
    let mut store = open_for_writes(config, OpenMode::Existing, &*embedder, queue_for)?;
    store.edit(&*embedder, namespace, &args.name, &patch, graph.as_ref())
}
