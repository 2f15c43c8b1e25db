//! The `openai-compatible` extraction backend: a chat-completions API
//! (OpenRouter, OpenAI, Ollama, llama.cpp, vLLM, LM Studio) asked for a
//! reply that follows a JSON schema. Unlike the command-line tools, it
//! bills the API key it is given, by design.
//!
//! Each request holds a slot of the `llm` pool (the host-wide cap on LLM
//! work) while it is sent, retried as [`crate::http::retry`] says; a
//! reply cut short or unreadable is asked for again a bounded number of
//! times; a signal stops the wait for the answer.

mod settings;
mod wire;

use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

use serde_json::Value;

pub use settings::{ChatSettings, DEFAULT_BASE_URL, DEFAULT_TIMEOUT, MAX_TIMEOUT, RETRIES};
pub use wire::Usage;
use wire::{Unread, read_answer, request_body};

use super::POOL;
use super::runner::ReplyCheck;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Endpoint, post_json, retry::LONGEST_DELAY};
use crate::process::{SignalMark, SignalWatch};
use crate::slots::Pool;

/// The name users see.
pub const NAME: &str = "openai-compatible";

/// How often a wait for an answer looks for a signal.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// One prompt asking for a reply that follows a schema.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// The prompt, sent as the user's message.
    pub prompt: String,
    /// The JSON schema the reply must follow.
    pub schema: Value,
    /// A check of the reply: one it rejects is malformed.
    pub check_reply: ReplyCheck,
    /// Further attempts after a malformed reply.
    pub malformed_retries: u32,
    /// Counts the signals since this mark (else since the request started).
    pub signals_since: Option<SignalMark>,
}

/// A reply of the chat API.
#[derive(Debug, Clone)]
pub struct ChatReply {
    /// The reply, checked.
    pub structured: Value,
    /// The attempts it took (more than 1 after malformed replies).
    pub attempts: u32,
    /// The tokens the last attempt used, when the provider said.
    pub usage: Option<Usage>,
}

/// Checks, before anything is written, the settings this backend needs.
///
/// # Failure
/// Invalid input for a missing model, a bad URL or key, or bad `llm`
/// pool settings.
pub fn preflight(config: &Config) -> Result<()> {
    config.chat()?;
    config.llm_slots()?;
    config.llm_wait()?;
    Ok(())
}

/// The longest one request may take when each attempt may wait
/// `slot_wait` for its slot: every attempt waiting, running to its
/// deadline, then waiting its longest backoff; zero when the chat API is
/// not configured (no request can be sent).
pub fn longest_request(config: &Config, slot_wait: Duration) -> Duration {
    let Ok(settings) = config.chat() else {
        return Duration::ZERO;
    };
    settings
        .timeout
        .saturating_add(slot_wait)
        .saturating_add(LONGEST_DELAY)
        .saturating_mul(RETRIES + 1)
}

/// Asks the configured chat API for a reply to `request`.
///
/// # Failure
/// Invalid input for bad settings; no-slot; interrupted when a signal
/// arrives while waiting; the provider-* kinds and timeout as
/// [`post_json`] fails; llm-failed for a refusal, or after
/// `1 + malformed_retries` malformed replies.
pub fn complete(config: &Config, request: &ChatRequest) -> Result<ChatReply> {
    let settings = config.chat()?;
    let pool = Pool::open(&config.runtime_dir, POOL, config.llm_slots()?)?;
    let endpoint = settings.endpoint(pool, config.llm_wait()?);
    let body = request_body(
        &settings.model,
        &request.prompt,
        &request.schema,
        settings.is_openrouter(),
    );
    let signals = SignalWatch::start_at(request.signals_since);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let answer = interruptible(&endpoint, &body, &signals).map_err(with_chat_hint)?;
        let why = match read_answer(&answer) {
            Ok(read) => match (request.check_reply)(&read.structured) {
                Ok(()) => {
                    return Ok(ChatReply {
                        structured: read.structured,
                        attempts,
                        usage: read.usage,
                    });
                }
                Err(why) => why,
            },
            Err(Unread::Malformed(why)) => why,
            Err(Unread::Final(error)) => return Err(error),
        };
        if attempts > request.malformed_retries {
            return Err(Error::new(
                ErrorKind::LlmFailed,
                format!("{NAME} failed: {why} (after {attempts} attempts)"),
            ));
        }
        tracing::warn!("{NAME} attempt {attempts}: {why}; retrying");
    }
}

/// Posts `body` to the chat endpoint on a thread of its own, and waits for
/// its answer unless a signal arrives first (the request is then left to
/// end with the process).
fn interruptible(endpoint: &Endpoint, body: &Value, signals: &SignalWatch) -> Result<Value> {
    let (sent, answered) = channel();
    let (endpoint, body) = (endpoint.clone(), body.clone());
    std::thread::spawn(move || {
        let _ = sent.send(post_json(&endpoint, "chat/completions", &body));
    });
    loop {
        if let Some(signal) = signals.received() {
            return Err(Error::new(
                ErrorKind::Interrupted,
                format!("signal {signal} arrived while waiting for {NAME}"),
            ));
        }
        match answered.recv_timeout(SIGNAL_POLL) {
            Ok(answer) => return answer,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Error::new(
                    ErrorKind::ProviderError,
                    format!("the request to {NAME} ended without an answer"),
                ));
            }
        }
    }
}

/// The hint of a failed request, in this backend's settings.
fn with_chat_hint(error: Error) -> Error {
    let hint = match error.kind() {
        ErrorKind::ProviderAuth => {
            "check the API key (SQLITE_GRAPHRAG_CHAT_API_KEY, else OPENROUTER_API_KEY)"
        }
        ErrorKind::ProviderRateLimited => "wait, or check the account's credits",
        ErrorKind::Timeout => "raise SQLITE_GRAPHRAG_CHAT_TIMEOUT, or choose a faster model",
        _ => return error,
    };
    error.with_hint(hint)
}
