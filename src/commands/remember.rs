//! `remember`: store a memory.

use clap::Args;
use serde::Serialize;

use super::extract::{ExtractName, Extracted, extract_stored, preflight, queued_extractor};
use super::graph_input::GraphInputArgs;
use super::{BodyArgs, embedder, open_for_writes};
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
    /// Then ask this LLM backend for the memory's entities and
    /// relationships, wait for it (under a slot of the `llm` pool), and store
    /// them; claude and codex never bill an API key (exit 13 when they
    /// would), openai-compatible bills the key it is given
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub extract: Option<ExtractName>,
}

/// What `remember` prints: what was done, and what `--extract` found.
#[derive(Debug, Clone, Serialize)]
pub struct Remembered {
    /// What was done to the memory.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// What the LLM backend extracted, with `--extract`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extraction: Option<Extracted>,
}

/// Stores the memory, then, with `--extract`, its extracted graph; returns
/// what was done.
///
/// # Failure
/// With `--extract`, a failed extraction fails the command with the
/// backend's error kind, the memory staying stored.
pub fn cmd_remember(config: &Config, args: &RememberArgs) -> Result<Remembered> {
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
    if let Some(backend) = args.extract {
        preflight(config, backend.into())?;
    }
    let queue_for = queued_extractor(config, args.extract.is_some())?;
    let embedder = embedder(config)?;
    let mut store = open_for_writes(config, OpenMode::Create, &*embedder, queue_for)?;
    let outcome = store.remember(
        &*embedder,
        namespace,
        &args.name,
        &content,
        &Attached {
            session,
            graph: graph.as_ref(),
        },
        args.update,
    )?;
    let extraction = args
        .extract
        .map(|backend| extract_stored(config, &mut store, backend.into(), &outcome))
        .transpose()?;
    Ok(Remembered {
        outcome,
        extraction,
    })
}
