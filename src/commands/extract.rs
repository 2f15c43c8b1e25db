//! `--extract claude|codex|openai-compatible`: asks an LLM backend for the
//! graph of a stored memory and stores it as that backend's assertions for
//! the memory's version. The write lock is not held while the backend runs.

use clap::ValueEnum;
use serde::Serialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::graph::Extractor;
use crate::llm::extraction::{self, ExtractBackend, Extraction};
use crate::llm::{Backend, chat};
use crate::store::{Outcome, Store};

/// The extraction backends a user can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExtractName {
    /// `claude -p` (Claude Code, logged in with a Claude subscription)
    Claude,
    /// `codex exec` (Codex, logged in with a ChatGPT account)
    Codex,
    /// An OpenAI-compatible chat-completions API (SQLITE_GRAPHRAG_CHAT_*);
    /// bills its API key
    #[value(name = "openai-compatible")]
    OpenaiCompatible,
}

impl From<ExtractName> for ExtractBackend {
    fn from(name: ExtractName) -> Self {
        match name {
            ExtractName::Claude => ExtractBackend::Tool(Backend::Claude),
            ExtractName::Codex => ExtractBackend::Tool(Backend::Codex),
            ExtractName::OpenaiCompatible => ExtractBackend::Chat,
        }
    }
}

/// Checks, before anything is written, what would keep `backend` from
/// extracting at all.
///
/// # Failure
/// Api-key-refused for a tool that would bill an API key; invalid input
/// for bad settings (a chat API without a model, a bad key or URL).
pub fn preflight(config: &Config, backend: ExtractBackend) -> Result<()> {
    match backend {
        ExtractBackend::Tool(tool) => crate::llm::preflight(config, tool),
        ExtractBackend::Chat => chat::preflight(config),
    }
}

/// The LLM extractor a write queues the memory for: the backend
/// `SQLITE_GRAPHRAG_EXTRACT` names, unless the command extracts it itself
/// (`extracts_now`, `--extract` given on the command line).
///
/// # Failure
/// Invalid input when the environment names another backend.
pub fn queued_extractor(config: &Config, extracts_now: bool) -> Result<Option<Extractor>> {
    let backend = config.queued_backend()?;
    Ok(backend
        .filter(|_| !extracts_now)
        .map(ExtractBackend::extractor))
}

/// What an extraction found, and whether it was stored.
#[derive(Debug, Clone, Serialize)]
pub struct Extracted {
    /// What the backend found.
    #[serde(flatten)]
    pub extraction: Extraction,
    /// Whether it was stored: false when the memory changed or was
    /// forgotten while the backend ran (the stale graph is dropped).
    pub stored: bool,
}

/// Extracts the graph of the memory `outcome` names with `backend`, and
/// stores it if the memory is still at the version that was read.
///
/// # Failure
/// The memory stays stored either way; the error (of the backend's run,
/// or not-found if the memory was forgotten before it was read) says so
/// and how to run the extraction again.
pub fn extract_stored(
    config: &Config,
    store: &mut Store,
    backend: ExtractBackend,
    outcome: &Outcome,
) -> Result<Extracted> {
    extract(config, store, backend, outcome).map_err(|e| still_stored(e, backend, outcome))
}

fn extract(
    config: &Config,
    store: &mut Store,
    backend: ExtractBackend,
    outcome: &Outcome,
) -> Result<Extracted> {
    let memory = store
        .memory(outcome.memory_id)?
        .filter(|memory| memory.deleted_at.is_none())
        .ok_or_else(|| Error::not_found("it was forgotten before it was read"))?;
    let mut extraction = extraction::extract(config, backend, &memory, None)?;
    let extractor = backend.extractor();
    let stored = store.replace_extracted(&memory, extractor, &extraction.graph)?;
    leave_out_forgotten(store, &memory.namespace, &mut extraction)?;
    if !stored {
        tracing::warn!(
            "memory {:?} changed while {} extracted its graph; the graph was dropped",
            memory.name,
            backend.name()
        );
    }
    Ok(Extracted { extraction, stored })
}

/// Moves to `dropped` what the store left out of `extraction` because
/// `forget-entity` removed its name from `namespace`.
///
/// # Failure
/// Database errors.
pub fn leave_out_forgotten(
    store: &Store,
    namespace: &str,
    extraction: &mut Extraction,
) -> Result<()> {
    let mut forgotten = std::collections::HashSet::new();
    for mention in &extraction.graph.mentions {
        let key = mention.name.key();
        if store.is_forgotten_name(namespace, &key)? {
            forgotten.insert(key);
        }
    }
    extraction.leave_out_forgotten(&|key| forgotten.contains(key));
    Ok(())
}

/// `error`, of the extraction, saying that the memory is stored anyway.
fn still_stored(error: Error, backend: ExtractBackend, outcome: &Outcome) -> Error {
    let message = format!(
        "memory {:?} is stored (version {}), but its extraction by {} failed: {}",
        outcome.name,
        outcome.version,
        backend.name(),
        error.message()
    );
    let again = format!(
        "`remember --update` with the same content and `--extract {}` runs the extraction again",
        backend.name()
    );
    let hint = match error.hint() {
        Some(hint) => format!("{hint}; then {again}"),
        None => again,
    };
    Error::new(error.kind(), message).with_hint(hint)
}
