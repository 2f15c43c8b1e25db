//! `remember`: store a memory.

use clap::Args;

use super::graph_input::GraphInputArgs;
use super::{BodyArgs, embedder, open_with_vectors};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::memory::{Content, Metadata};
use crate::store::{Attached, OpenMode, Outcome};

/// Arguments of `remember`.
#[derive(Debug, Clone, Args)]
pub struct RememberArgs {
    /// Name, unique in the namespace
    #[arg(long)]
    pub name: String,
    /// Body (exactly one of --body, --body-file, --body-stdin)
    #[command(flatten)]
    pub body: BodyArgs,
    /// Type [default: note]
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// One-line summary
    #[arg(long)]
    pub description: Option<String>,
    /// Metadata, a JSON object
    #[arg(long, value_name = "JSON")]
    pub metadata: Option<String>,
    /// If the name exists, write a new version instead of failing
    #[arg(long)]
    pub update: bool,
    /// The agent session writing it [env: SQLITE_GRAPHRAG_SESSION]
    #[arg(long)]
    pub session: Option<String>,
    /// A graph the memory asserts
    #[command(flatten)]
    pub graph: GraphInputArgs,
}

/// Stores the memory and returns what was done.
pub fn cmd_remember(config: &Config, args: &RememberArgs) -> Result<Outcome> {
    let namespace = config.namespace()?;
    let body = args.body.read()?.ok_or_else(|| {
        Error::usage("a body is required: pass --body, --body-file or --body-stdin")
    })?;
    let metadata = args.metadata.as_deref().map(Metadata::parse).transpose()?;
    let content = Content::new(args.kind.clone(), args.description.clone(), body, metadata)?;
    // Checked before opening, which may create the database: bad input changes nothing.
    crate::memory::validate_name(&args.name)?;
    let session = match &args.session {
        Some(session) => {
            crate::memory::validate_session(session)?;
            Some(session.as_str())
        }
        None => config.session()?,
    };
    let graph = args.graph.read()?;
    let embedder = embedder(config);
    let mut store = open_with_vectors(config, OpenMode::Create, &*embedder)?;
    store.remember(
        &*embedder,
        namespace,
        &args.name,
        &content,
        &Attached {
            session,
            graph: graph.as_ref(),
        },
        args.update,
    )
}
