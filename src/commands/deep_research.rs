//! `deep-research`: a question split into sub-questions (by a heuristic,
//! or by an LLM backend), each searched as `hybrid-search` does, the lists
//! merged by reciprocal rank fusion with the evidence of every result.

use clap::Args;
use serde::Serialize;

use super::llm::BackendName;
use super::{GraphArgs, RetrievalArgs, embedder, open_for_reading};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::llm::Backend;
use crate::search::research::splitter;
use crate::search::research::{self, Finding, by_llm};

/// Arguments of `deep-research`.
#[derive(Debug, Clone, Args)]
pub struct DeepResearchArgs {
    /// The question and the filters.
    #[command(flatten)]
    pub retrieval: RetrievalArgs,
    /// Graph expansion of each sub-question's search.
    #[command(flatten)]
    pub graph: GraphArgs,
    /// Split the question with this command-line tool instead of the heuristic
    #[arg(long, value_enum)]
    pub backend: Option<BackendName>,
    /// The backend's model, when not the tool's default
    #[arg(long, value_name = "MODEL", requires = "backend")]
    pub model: Option<String>,
}

/// One sub-question as printed.
#[derive(Debug, Clone, Serialize)]
pub struct SubQuestion {
    /// Its place: 0 is the whole question.
    pub index: usize,
    /// Its text.
    pub text: String,
    /// Where it came from: `question`, `heuristic`, `claude` or `codex`.
    pub source: &'static str,
}

/// A backend failure the heuristic stood in for.
#[derive(Debug, Clone, Serialize)]
pub struct SplitterError {
    /// The error's kind, as in an error envelope.
    pub kind: &'static str,
    /// What went wrong.
    pub message: String,
}

/// How the question was split.
#[derive(Debug, Clone, Serialize)]
pub struct Splitter {
    /// `heuristic`, or the backend that split it.
    pub kind: &'static str,
    /// Why the heuristic split it although a backend was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<SplitterError>,
}

/// What `deep-research` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Research {
    /// The question as given.
    pub question: String,
    /// The sub-questions searched.
    pub sub_questions: Vec<SubQuestion>,
    /// How the question was split.
    pub splitter: Splitter,
    /// The merged results, best first.
    pub results: Vec<Finding>,
}

/// The name of the heuristic splitter, as `splitter.kind` and `source` show it.
const HEURISTIC: &str = "heuristic";

/// The most sub-questions searched, the whole question included.
pub const MAX_SUB_QUESTIONS: usize = 1 + by_llm::MAX_LLM_SUB_QUESTIONS;

/// Failures of a backend after which the heuristic splits the question
/// instead: the backend may work later, and the search is still worth
/// doing. Any other failure (an API key refused, a failed login, a missing
/// tool) needs the user and fails the command.
const FALLBACK_KINDS: [ErrorKind; 4] = [
    ErrorKind::LlmUnavailable,
    ErrorKind::NoSlot,
    ErrorKind::Timeout,
    ErrorKind::LlmFailed,
];

/// Splits the question, searches each part, and merges the results.
pub fn cmd_deep_research(config: &Config, args: &DeepResearchArgs) -> Result<Research> {
    let question = args.retrieval.query.trim();
    if !question.chars().any(char::is_alphanumeric) {
        return Err(Error::invalid(
            "the question holds no word to search for (letters or digits)",
        ));
    }
    let scope = args.retrieval.scope(config)?;
    let embedder = embedder(config)?;
    let mut store = open_for_reading(config)?;
    let (splitter, parts, source) = split(config, args, question)?;
    store.embed_backlog(&*embedder)?;
    store.extract_backlog()?;
    let mut sub_questions = vec![SubQuestion {
        index: 0,
        text: question.to_owned(),
        source: "question",
    }];
    add_distinct(&mut sub_questions, parts, source);
    let texts: Vec<String> = sub_questions.iter().map(|s| s.text.clone()).collect();
    let mut results = research::research(
        &store,
        &*embedder,
        &texts,
        args.retrieval.k as usize,
        &scope,
        args.graph.graph_hops(true),
    )?;
    for finding in &mut results {
        (finding.body, finding.excerpt) =
            args.retrieval.shown_body.of(&store, finding.memory_id)?;
    }
    Ok(Research {
        question: question.to_owned(),
        sub_questions,
        splitter,
        results,
    })
}

/// The parts of `question` besides itself, how they were found, and the
/// `source` they are shown with: the backend's, or the heuristic's when
/// no backend is asked or it failed in a way that may pass.
///
/// # Failure
/// The backend's failures that need the user (see [`FALLBACK_KINDS`]).
fn split(
    config: &Config,
    args: &DeepResearchArgs,
    question: &str,
) -> Result<(Splitter, Vec<String>, &'static str)> {
    let mut error = None;
    if let Some(name) = args.backend {
        let backend = Backend::from(name);
        match by_llm::ask(config, backend, args.model.as_deref(), question) {
            Ok(parts) => {
                let by_backend = Splitter {
                    kind: backend.name(),
                    error: None,
                };
                return Ok((by_backend, parts, backend.name()));
            }
            Err(e) if FALLBACK_KINDS.contains(&e.kind()) => {
                tracing::warn!("{}; the heuristic splits the question", e.message());
                error = Some(SplitterError {
                    kind: e.kind().as_str(),
                    message: e.message().to_owned(),
                });
            }
            Err(e) => return Err(e),
        }
    }
    let heuristic = Splitter {
        kind: HEURISTIC,
        error,
    };
    Ok((heuristic, splitter::split(question), HEURISTIC))
}

/// Adds the `texts` not yet among `sub_questions` (in any case), up to
/// [`MAX_SUB_QUESTIONS`] in all.
fn add_distinct(
    sub_questions: &mut Vec<SubQuestion>,
    texts: impl IntoIterator<Item = String>,
    source: &'static str,
) {
    for text in texts {
        if sub_questions.len() == MAX_SUB_QUESTIONS {
            break;
        }
        let key = text.to_lowercase();
        if sub_questions.iter().all(|s| s.text.to_lowercase() != key) {
            sub_questions.push(SubQuestion {
                index: sub_questions.len(),
                text,
                source,
            });
        }
    }
}
