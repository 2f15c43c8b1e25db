//! The backends as data: what to run, with which arguments and variables,
//! and how to read what it prints.

use std::ffi::OsString;
use std::path::Path;

use serde_json::Value;

use super::Failure;
use super::{claude, codex};

/// An LLM command-line tool that answers one prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Anthropic's Claude Code, `claude -p`.
    Claude,
    /// OpenAI's Codex, `codex exec`.
    Codex,
}

/// Variables both tools may need to reach their service: proxies and
/// certificate authorities.
pub(super) const NETWORK_VARS: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// A view of the environment: the value of a variable, by name.
pub(super) type Vars<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// What one run asks of a backend's arguments.
#[derive(Debug, Clone, Copy)]
pub(super) struct Invocation<'a> {
    /// The model, when not the tool's default.
    pub model: Option<&'a str>,
    /// The JSON schema of the reply, if one is required.
    pub schema: Option<&'a Value>,
    /// The run's private working folder (files the tool reads go there).
    pub workdir: &'a Path,
}

/// What one run printed, for a backend's parser.
#[derive(Debug, Clone, Copy)]
pub(super) struct Output<'a> {
    /// Everything read from stdout.
    pub stdout: &'a [u8],
    /// What was kept of stderr.
    pub stderr: &'a str,
    /// The exit code, when the tool exited on its own.
    pub exit_code: Option<i32>,
    /// Whether the reply must be a JSON document (a schema was given).
    pub structured: bool,
    /// Whether billing an API key was allowed.
    pub allow_api_key: bool,
}

/// A reply read from a backend's output.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Parsed {
    /// The reply's text.
    pub text: String,
    /// The reply as a JSON document, when it is one.
    pub structured: Option<Value>,
}

/// Everything the runner needs to know about one backend.
pub(super) struct Spec {
    /// The name users see, and the program looked up in `PATH`.
    pub name: &'static str,
    /// Variables passed on besides the essentials (config folders,
    /// subscription tokens); [`NETWORK_VARS`] are passed too.
    pub passed_vars: &'static [&'static str],
    /// Variables whose presence means an API key (or a cloud provider)
    /// would be billed.
    pub key_vars: &'static [&'static str],
    /// The arguments of one run (the prompt goes to stdin).
    pub args: fn(&Invocation<'_>) -> std::io::Result<Vec<OsString>>,
    /// Reads the reply out of what the tool printed.
    pub parse: fn(&Output<'_>) -> Result<Parsed, Failure>,
    /// Rejects stdout as soon as it shows that an API key is being billed.
    pub rejects_stdout: Option<fn(&[u8]) -> bool>,
    /// Says which login file of the tool, if any, holds an API key.
    pub key_in_files: fn(Vars<'_>) -> Option<String>,
}

impl Backend {
    /// The backend's data.
    pub(super) fn spec(self) -> &'static Spec {
        match self {
            Backend::Claude => &claude::SPEC,
            Backend::Codex => &codex::SPEC,
        }
    }

    /// The name users see.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The variables, besides the essentials, this backend may see; the
    /// API-key variables only when `allow_api_key`.
    pub(super) fn passed_vars(self, allow_api_key: bool) -> Vec<String> {
        let spec = self.spec();
        let keys = if allow_api_key { spec.key_vars } else { &[] };
        [spec.passed_vars, NETWORK_VARS, keys]
            .concat()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }
}

/// Parses a whole text as JSON, ignoring surrounding blanks.
pub(super) fn json_document(text: &str) -> Option<Value> {
    serde_json::from_str(text.trim()).ok()
}
