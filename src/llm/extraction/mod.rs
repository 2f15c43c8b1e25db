//! Entity and relationship extraction by an LLM backend: one memory in,
//! the graph it asserts out, ready to be stored as that backend's
//! assertions for the memory's version. Every backend gets the same prompt
//! and schema, and its reply the same checks.

mod backend;
mod prompt;
mod reply;

use std::time::Duration;

use serde::Serialize;

pub use backend::ExtractBackend;
pub use reply::Dropped;

use prompt::{prompt, schema};
use reply::{Checked, check_shape, read};

use super::chat::{self, ChatRequest, Usage};
use super::{Request, run};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{EntityKey, MemoryGraph};
use crate::memory::Memory;
use crate::process::SignalMark;

/// Wall-clock limit of one extraction attempt.
pub const TIMEOUT: Duration = Duration::from_secs(600);
/// The most stdout bytes accepted from one attempt.
const MAX_OUTPUT: usize = 16 * 1024 * 1024;
/// Further attempts after a reply that cannot be read.
const MALFORMED_RETRIES: u32 = 2;

/// The longest one extraction by any backend can take when each attempt
/// may wait `slot_wait` for its slot: every attempt waiting, then running
/// to its timeout (a chat request's retries included).
pub fn longest(config: &Config, slot_wait: Duration) -> Duration {
    TIMEOUT
        .saturating_add(slot_wait)
        .max(chat::longest_request(config, slot_wait))
        .saturating_mul(MALFORMED_RETRIES + 1)
}

/// What a backend extracted from one memory.
#[derive(Debug, Clone, Serialize)]
pub struct Extraction {
    /// The backend that replied.
    pub backend: &'static str,
    /// The attempts it took (more than 1 after malformed replies).
    pub attempts: u32,
    /// The tokens the reply used, when a chat API said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The entities kept.
    pub entities: Vec<EntityView>,
    /// The relationships kept.
    pub relationships: Vec<RelationshipView>,
    /// The items of the reply left out, and why.
    pub dropped: Vec<Dropped>,
    /// The graph to store.
    #[serde(skip)]
    pub graph: MemoryGraph,
}

/// An extracted entity as a reply shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EntityView {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// What it is, if the backend said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An extracted relationship as a reply shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RelationshipView {
    /// The source entity's name.
    pub from: String,
    /// The target entity's name.
    pub to: String,
    /// Its kind.
    pub relation: String,
    /// Its weight.
    pub weight: f64,
    /// What it says.
    pub description: String,
}

/// Asks `backend` for the graph of `memory` (read with its body), under a
/// slot of the `llm` pool, and checks the reply. Nothing is stored.
///
/// # Failure
/// What [`run`] or [`chat::complete`] fails with (api-key-refused,
/// no-slot, timeout, the llm-* and provider-* kinds); llm-failed when
/// every attempt's reply is malformed.
///
/// `signals_since` is the mark of a caller's signal watch (see
/// [`Request::signals_since`]).
pub fn extract(
    config: &Config,
    backend: ExtractBackend,
    memory: &Memory,
    signals_since: Option<SignalMark>,
) -> Result<Extraction> {
    let (structured, attempts, usage) = match backend {
        ExtractBackend::Tool(tool) => {
            let reply = run(config, tool, &tool_request(config, memory, signals_since)?)?;
            (reply.structured.unwrap_or_default(), reply.attempts, None)
        }
        ExtractBackend::Chat => {
            let request = ChatRequest {
                prompt: prompt(memory),
                schema: schema(),
                check_reply: check_shape,
                malformed_retries: MALFORMED_RETRIES,
                signals_since,
            };
            let reply = chat::complete(config, &request)?;
            (reply.structured, reply.attempts, reply.usage)
        }
    };
    let checked = read(&structured).map_err(|e| Error::new(ErrorKind::LlmFailed, e))?;
    let mut extraction = view(backend, attempts, checked);
    extraction.usage = usage;
    Ok(extraction)
}

/// The request asking a command-line tool for the graph of `memory`.
fn tool_request(
    config: &Config,
    memory: &Memory,
    signals_since: Option<SignalMark>,
) -> Result<Request> {
    Ok(Request {
        prompt: prompt(memory).into_bytes(),
        model: None,
        schema: Some(schema()),
        timeout: TIMEOUT,
        slot_wait: config.llm_wait()?,
        max_output: MAX_OUTPUT,
        malformed_retries: MALFORMED_RETRIES,
        allow_api_key: false,
        check_reply: Some(check_shape),
        signals_since,
    })
}

impl Extraction {
    /// Moves to `dropped` the entities whose name `forgotten` says
    /// `forget-entity` removed (the store keeps them out of the graph), and
    /// the relationships that touch them.
    pub fn leave_out_forgotten(&mut self, forgotten: &dyn Fn(&EntityKey) -> bool) {
        let gone: Vec<bool> = self
            .graph
            .mentions
            .iter()
            .map(|m| forgotten(&m.name.key()))
            .collect();
        let mut at = 0;
        let mut dropped = Vec::new();
        self.entities.retain(|entity| {
            let keep = !gone[at];
            at += 1;
            if !keep {
                dropped.push(Dropped {
                    item: format!("entity {:?}", entity.name),
                    reason: "forget-entity removed this name".to_owned(),
                });
            }
            keep
        });
        let mut at = 0;
        let links = &self.graph.links;
        self.relationships.retain(|r| {
            let link = &links[at];
            at += 1;
            let keep = !(gone[link.from] || gone[link.to]);
            if !keep {
                dropped.push(Dropped {
                    item: format!("relationship {:?} {} {:?}", r.from, r.relation, r.to),
                    reason: "forget-entity removed the name of one end".to_owned(),
                });
            }
            keep
        });
        self.dropped.extend(dropped);
    }
}

/// The extraction of a checked reply.
fn view(backend: ExtractBackend, attempts: u32, checked: Checked) -> Extraction {
    let graph = checked.graph;
    let entities = graph
        .mentions
        .iter()
        .map(|m| EntityView {
            name: m.name.as_str().to_owned(),
            kind: m.kind.as_str().to_owned(),
            description: m.description.clone(),
        })
        .collect();
    let relationships = graph
        .links
        .iter()
        .map(|l| RelationshipView {
            from: graph.mentions[l.from].name.as_str().to_owned(),
            to: graph.mentions[l.to].name.as_str().to_owned(),
            relation: l.relation.as_str().to_owned(),
            weight: l.weight.get(),
            description: l.description.clone(),
        })
        .collect();
    Extraction {
        backend: backend.name(),
        attempts,
        usage: None,
        entities,
        relationships,
        dropped: checked.dropped,
        graph,
    }
}
