//! `llm run`: one prompt to one LLM command-line tool, under a slot of the
//! `llm` pool, with the OAuth-only guard; prints the reply.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use super::slots::parse_seconds;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::llm::{self, Backend, Reply, Request};
use serde_json::Value;

/// The largest prompt accepted, in bytes.
const MAX_PROMPT_BYTES: usize = 8 * 1024 * 1024;
/// The largest schema accepted, as compact JSON: it is passed to the tool as
/// one argument, and Linux takes at most 128 KiB in one.
const MAX_SCHEMA_BYTES: usize = 64 * 1024;

/// Arguments of `llm`.
#[derive(Debug, Clone, Args)]
pub struct LlmArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: LlmCommand,
}

/// The `llm` verbs.
#[derive(Debug, Clone, Subcommand)]
pub enum LlmCommand {
    /// Send one prompt (stdin, or --prompt) to claude or codex and print the reply.
    #[command(after_help = crate::examples::LLM_RUN)]
    Run(RunArgs),
}

/// The backends a user can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendName {
    /// `claude -p` (Claude Code, logged in with a Claude subscription)
    Claude,
    /// `codex exec` (Codex, logged in with a ChatGPT account)
    Codex,
}

impl From<BackendName> for Backend {
    fn from(name: BackendName) -> Self {
        match name {
            BackendName::Claude => Backend::Claude,
            BackendName::Codex => Backend::Codex,
        }
    }
}

/// Arguments of `llm run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The command-line tool to ask
    #[arg(long, value_enum)]
    pub backend: BackendName,
    /// The prompt [default: read from stdin]
    #[arg(long, value_name = "TEXT")]
    pub prompt: Option<String>,
    /// The model, when not the tool's default
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// A JSON schema file the reply must follow (codex needs it OpenAI-strict)
    #[arg(long, value_name = "PATH")]
    pub schema_file: Option<PathBuf>,
    /// Seconds one attempt may run; then the tool's process group is stopped (exit 124)
    #[arg(long, value_name = "SECS", default_value = "600", value_parser = parse_seconds)]
    pub timeout: Duration,
    /// Seconds to wait for a slot of the `llm` pool (exit 75 when it runs out)
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = parse_seconds)]
    pub wait: Duration,
    /// The most bytes of output accepted from one attempt (1 to 1 GiB)
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1 << 30))]
    pub max_output: usize,
    /// Further attempts after a reply that cannot be read (0 to 10)
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,
    /// Let the tool bill an API key (ANTHROPIC_API_KEY, OPENAI_API_KEY, …) and
    /// pass such keys on to it: this costs money per token. Without it the tool
    /// is not started when it would (exit 13)
    #[arg(long)]
    pub allow_api_key: bool,
}

/// Runs an `llm` verb.
pub fn cmd_llm(config: &Config, args: &LlmArgs) -> Result<Reply> {
    match &args.command {
        LlmCommand::Run(args) => cmd_llm_run(config, args),
    }
}

/// Sends the prompt and returns the reply.
fn cmd_llm_run(config: &Config, args: &RunArgs) -> Result<Reply> {
    let prompt = match &args.prompt {
        Some(prompt) => prompt.clone().into_bytes(),
        None => read_prompt()?,
    };
    if prompt.len() > MAX_PROMPT_BYTES {
        return Err(Error::too_large(format!(
            "the prompt is over the limit of {MAX_PROMPT_BYTES} bytes"
        )));
    }
    if prompt.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid("the prompt is empty"));
    }
    if args.timeout.is_zero() {
        return Err(Error::usage("--timeout must be more than 0 seconds"));
    }
    let schema = args.schema_file.as_deref().map(read_schema).transpose()?;
    let request = Request {
        prompt,
        model: args.model.clone(),
        schema,
        timeout: args.timeout,
        slot_wait: args.wait,
        max_output: args.max_output,
        malformed_retries: args.retries,
        allow_api_key: args.allow_api_key,
        check_reply: None,
        signals_since: None,
    };
    llm::run(config, args.backend.into(), &request)
}

/// Reads a JSON schema file, small enough to be passed as one argument.
///
/// # Failure
/// I/O if it cannot be read; invalid input if it is not UTF-8 JSON;
/// too-large past [`MAX_SCHEMA_BYTES`].
fn read_schema(path: &Path) -> Result<Value> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| Error::invalid(format!("schema file {} is not UTF-8: {e}", path.display())))?;
    let schema: Value = serde_json::from_str(text)
        .map_err(|e| Error::invalid(format!("schema file {}: {e}", path.display())))?;
    let size = schema.to_string().len();
    if size > MAX_SCHEMA_BYTES {
        return Err(Error::too_large(format!(
            "the schema is {size} bytes as compact JSON; the limit is {MAX_SCHEMA_BYTES} \
             (it is passed to the tool as one argument)"
        )));
    }
    Ok(schema)
}

/// Reads the prompt from stdin, up to [`MAX_PROMPT_BYTES`].
fn read_prompt() -> Result<Vec<u8>> {
    let mut prompt = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_PROMPT_BYTES as u64 + 1)
        .read_to_end(&mut prompt)
        .map_err(|e| Error::io("reading stdin", e))?;
    if prompt.len() > MAX_PROMPT_BYTES {
        return Err(Error::too_large(format!(
            "the prompt is over the limit of {MAX_PROMPT_BYTES} bytes"
        )));
    }
    Ok(prompt)
}
