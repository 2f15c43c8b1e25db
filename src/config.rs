//! The one resolved configuration, decided once before a command runs.
//!
//! Each setting comes from the first of: a flag, an environment variable
//! `SQLITE_GRAPHRAG_*`, the configuration file, the built-in default. The
//! environment is read in exactly one place, [`Env::from_process`]; the rest
//! of the program only sees the typed [`Config`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tracing::level_filters::LevelFilter;

use crate::cli::GlobalArgs;
use crate::embed::MAX_DIM;
use crate::embed::families::conventions;
use crate::embed::openai::Roles;
use crate::embed::settings::{
    DEFAULT_BASE_URL, DEFAULT_BATCH, DEFAULT_HTTP_SLOTS, DEFAULT_HTTP_WAIT, DEFAULT_RETRIES,
    DEFAULT_TIMEOUT, EmbedderChoice, HttpSettings, MAX_BATCH, MAX_RETRIES,
};
use crate::error::{Error, ErrorKind, Result};
use crate::llm::chat::{self, ChatSettings};
use crate::llm::{Backend, ExtractBackend};
use crate::memory::{AUTO_NAMESPACE, DEFAULT_NAMESPACE, NamespaceOrigin, validate_namespace};
use crate::progress::{Progress, ProgressSettings};
use crate::repo;
use crate::slots::{MAX_SLOTS_LIMIT, RuntimeDir, RuntimeDirKind, SlotCount};

/// Environment variable naming the database file.
pub const ENV_DB: &str = "SQLITE_GRAPHRAG_DB";
/// Environment variable naming the namespace.
pub const ENV_NAMESPACE: &str = "SQLITE_GRAPHRAG_NAMESPACE";
/// Environment variable naming the runtime folder of the slot pools.
pub const ENV_RUNTIME_DIR: &str = "SQLITE_GRAPHRAG_RUNTIME_DIR";
/// Environment variable giving the number of slots of a new pool.
pub const ENV_MAX_SLOTS: &str = "SQLITE_GRAPHRAG_MAX_SLOTS";
/// Environment variable naming the configuration file.
pub const ENV_CONFIG: &str = "SQLITE_GRAPHRAG_CONFIG";
/// Environment variable naming the agent session that writes memories.
pub const ENV_SESSION: &str = "SQLITE_GRAPHRAG_SESSION";
/// Environment variable giving the number of slots of a new `llm` pool.
pub const ENV_LLM_SLOTS: &str = "SQLITE_GRAPHRAG_LLM_SLOTS";
/// Environment variable naming the `claude` program to run.
pub const ENV_CLAUDE_BIN: &str = "SQLITE_GRAPHRAG_CLAUDE_BIN";
/// Environment variable naming the LLM backend that writes queue memories
/// for (`claude`, `codex`, `openai-compatible` or `none`).
pub const ENV_EXTRACT: &str = "SQLITE_GRAPHRAG_EXTRACT";
/// Environment variable naming the `codex` program to run.
pub const ENV_CODEX_BIN: &str = "SQLITE_GRAPHRAG_CODEX_BIN";
/// Environment variable giving how long an extraction waits for a slot of
/// the `llm` pool, in seconds.
pub const ENV_LLM_WAIT: &str = "SQLITE_GRAPHRAG_LLM_WAIT";
/// How long an extraction waits for a slot when nothing says otherwise.
const DEFAULT_LLM_WAIT: Duration = Duration::from_secs(300);
/// The longest an extraction or a request may be told to wait for a slot:
/// a day.
const MAX_SLOT_WAIT: Duration = Duration::from_secs(24 * 60 * 60);
/// Environment variable naming the embedder (`builtin`, `openai-compatible`).
pub const ENV_EMBEDDER: &str = "SQLITE_GRAPHRAG_EMBEDDER";
/// Environment variable naming the base URL of an embeddings API.
pub const ENV_EMBED_BASE_URL: &str = "SQLITE_GRAPHRAG_EMBED_BASE_URL";
/// Environment variable naming the embeddings model.
pub const ENV_EMBED_MODEL: &str = "SQLITE_GRAPHRAG_EMBED_MODEL";
/// Environment variable giving the `dimensions` asked of the embeddings API.
pub const ENV_EMBED_DIMENSIONS: &str = "SQLITE_GRAPHRAG_EMBED_DIMENSIONS";
/// Environment variable holding the embeddings API key.
pub const ENV_EMBED_API_KEY: &str = "SQLITE_GRAPHRAG_EMBED_API_KEY";
/// Environment variable giving the texts per embeddings request.
pub const ENV_EMBED_BATCH: &str = "SQLITE_GRAPHRAG_EMBED_BATCH";
/// Environment variable giving the deadline of one embeddings request, in seconds.
pub const ENV_EMBED_TIMEOUT: &str = "SQLITE_GRAPHRAG_EMBED_TIMEOUT";
/// Environment variable giving the number of slots of a new `http` pool.
pub const ENV_HTTP_SLOTS: &str = "SQLITE_GRAPHRAG_HTTP_SLOTS";
/// Environment variable giving the further attempts of a failed embeddings request.
pub const ENV_EMBED_RETRIES: &str = "SQLITE_GRAPHRAG_EMBED_RETRIES";
/// Environment variable giving what is put before each search query embedded.
pub const ENV_EMBED_QUERY_PREFIX: &str = "SQLITE_GRAPHRAG_EMBED_QUERY_PREFIX";
/// Environment variable giving what is put before each document embedded.
pub const ENV_EMBED_DOCUMENT_PREFIX: &str = "SQLITE_GRAPHRAG_EMBED_DOCUMENT_PREFIX";
/// Environment variable giving the `input_type` of queries and documents
/// (`QUERY,DOCUMENT`, or `none`).
pub const ENV_EMBED_INPUT_TYPE: &str = "SQLITE_GRAPHRAG_EMBED_INPUT_TYPE";
/// Environment variable giving how long a request to a provider waits for
/// a slot of the `http` pool, in seconds.
pub const ENV_HTTP_WAIT: &str = "SQLITE_GRAPHRAG_HTTP_WAIT";
/// Environment variable naming the model `claude` runs (else its default).
pub const ENV_CLAUDE_MODEL: &str = "SQLITE_GRAPHRAG_CLAUDE_MODEL";
/// Environment variable naming the model `codex` runs (else its default).
pub const ENV_CODEX_MODEL: &str = "SQLITE_GRAPHRAG_CODEX_MODEL";
/// Environment variable naming the base URL of the chat API of the
/// `openai-compatible` extraction backend.
pub const ENV_CHAT_BASE_URL: &str = "SQLITE_GRAPHRAG_CHAT_BASE_URL";
/// Environment variable naming the model of the chat API.
pub const ENV_CHAT_MODEL: &str = "SQLITE_GRAPHRAG_CHAT_MODEL";
/// Environment variable holding the chat API key.
pub const ENV_CHAT_API_KEY: &str = "SQLITE_GRAPHRAG_CHAT_API_KEY";
/// Environment variable giving the deadline of one chat request, in seconds.
pub const ENV_CHAT_TIMEOUT: &str = "SQLITE_GRAPHRAG_CHAT_TIMEOUT";
/// The slot count of a new `llm` pool when none is configured: LLM command
/// lines are heavy, and a subscription takes only a few at once.
const DEFAULT_LLM_SLOTS: u32 = 2;

/// The folder created inside the platform's data, config and runtime folders.
const APP_DIR: &str = "sqlite-graphrag";
/// The file name of the database inside the data folder.
const DB_FILE_NAME: &str = "graphrag.sqlite";
/// The file name of the configuration inside the config folder.
const CONFIG_FILE_NAME: &str = "config.json";
/// The environment variables this program reads, captured once.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `SQLITE_GRAPHRAG_DB`.
    pub db: Option<OsString>,
    /// `SQLITE_GRAPHRAG_NAMESPACE`.
    pub namespace: Option<OsString>,
    /// `SQLITE_GRAPHRAG_RUNTIME_DIR`.
    pub runtime_dir: Option<OsString>,
    /// `SQLITE_GRAPHRAG_MAX_SLOTS`.
    pub max_slots: Option<OsString>,
    /// `SQLITE_GRAPHRAG_CONFIG`.
    pub config: Option<OsString>,
    /// `SQLITE_GRAPHRAG_SESSION`.
    pub session: Option<OsString>,
    /// `SQLITE_GRAPHRAG_LLM_SLOTS`.
    pub llm_slots: Option<OsString>,
    /// `SQLITE_GRAPHRAG_CLAUDE_BIN`.
    pub claude_bin: Option<OsString>,
    /// `SQLITE_GRAPHRAG_CODEX_BIN`.
    pub codex_bin: Option<OsString>,
    /// `SQLITE_GRAPHRAG_EXTRACT`.
    pub extract: Option<OsString>,
    /// `SQLITE_GRAPHRAG_LLM_WAIT`.
    pub llm_wait: Option<OsString>,
    /// `SQLITE_GRAPHRAG_EMBEDDER`.
    pub embedder: Option<OsString>,
    /// `SQLITE_GRAPHRAG_EMBED_BASE_URL`.
    pub embed_base_url: Option<OsString>,
    /// `SQLITE_GRAPHRAG_EMBED_MODEL`.
    pub embed_model: Option<OsString>,
    /// `SQLITE_GRAPHRAG_EMBED_DIMENSIONS`.
    pub embed_dimensions: Option<OsString>,
    /// `SQLITE_GRAPHRAG_EMBED_API_KEY`.
    pub embed_api_key: Option<OsString>,
    /// `OPENROUTER_API_KEY`, the key when the one above is not set.
    pub openrouter_api_key: Option<OsString>,
    /// `SQLITE_GRAPHRAG_EMBED_BATCH`.
    pub embed_batch: Option<OsString>,
    /// `SQLITE_GRAPHRAG_EMBED_TIMEOUT`.
    pub embed_timeout: Option<OsString>,
    /// `SQLITE_GRAPHRAG_EMBED_RETRIES`.
    pub embed_retries: Option<OsString>,
    /// `SQLITE_GRAPHRAG_EMBED_QUERY_PREFIX`.
    pub embed_query_prefix: Option<OsString>,
    /// `SQLITE_GRAPHRAG_EMBED_DOCUMENT_PREFIX`.
    pub embed_document_prefix: Option<OsString>,
    /// `SQLITE_GRAPHRAG_EMBED_INPUT_TYPE`.
    pub embed_input_type: Option<OsString>,
    /// `SQLITE_GRAPHRAG_HTTP_SLOTS`.
    pub http_slots: Option<OsString>,
    /// `SQLITE_GRAPHRAG_HTTP_WAIT`.
    pub http_wait: Option<OsString>,
    /// `SQLITE_GRAPHRAG_CLAUDE_MODEL`.
    pub claude_model: Option<OsString>,
    /// `SQLITE_GRAPHRAG_CODEX_MODEL`.
    pub codex_model: Option<OsString>,
    /// `SQLITE_GRAPHRAG_CHAT_BASE_URL`.
    pub chat_base_url: Option<OsString>,
    /// `SQLITE_GRAPHRAG_CHAT_MODEL`.
    pub chat_model: Option<OsString>,
    /// `SQLITE_GRAPHRAG_CHAT_API_KEY`.
    pub chat_api_key: Option<OsString>,
    /// `SQLITE_GRAPHRAG_CHAT_TIMEOUT`.
    pub chat_timeout: Option<OsString>,
    /// `XDG_DATA_HOME`.
    pub xdg_data_home: Option<OsString>,
    /// `XDG_CONFIG_HOME`.
    pub xdg_config_home: Option<OsString>,
    /// `XDG_RUNTIME_DIR`.
    pub xdg_runtime_dir: Option<OsString>,
    /// `HOME`.
    pub home: Option<OsString>,
    /// `TERM`.
    pub term: Option<OsString>,
    /// `APPDATA` (Windows).
    pub appdata: Option<OsString>,
    /// `LOCALAPPDATA` (Windows).
    pub local_appdata: Option<OsString>,
    /// The current folder, where `--namespace auto` looks for a repository.
    pub cwd: Option<PathBuf>,
}

impl Env {
    /// Reads the variables from this process's environment; empty values count as unset.
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Env {
            db: var(ENV_DB),
            namespace: var(ENV_NAMESPACE),
            runtime_dir: var(ENV_RUNTIME_DIR),
            max_slots: var(ENV_MAX_SLOTS),
            config: var(ENV_CONFIG),
            session: var(ENV_SESSION),
            llm_slots: var(ENV_LLM_SLOTS),
            claude_bin: var(ENV_CLAUDE_BIN),
            codex_bin: var(ENV_CODEX_BIN),
            extract: var(ENV_EXTRACT),
            llm_wait: var(ENV_LLM_WAIT),
            embedder: var(ENV_EMBEDDER),
            embed_base_url: var(ENV_EMBED_BASE_URL),
            embed_model: var(ENV_EMBED_MODEL),
            embed_dimensions: var(ENV_EMBED_DIMENSIONS),
            embed_api_key: var(ENV_EMBED_API_KEY),
            openrouter_api_key: var("OPENROUTER_API_KEY"),
            embed_batch: var(ENV_EMBED_BATCH),
            embed_timeout: var(ENV_EMBED_TIMEOUT),
            embed_retries: var(ENV_EMBED_RETRIES),
            embed_query_prefix: var(ENV_EMBED_QUERY_PREFIX),
            embed_document_prefix: var(ENV_EMBED_DOCUMENT_PREFIX),
            embed_input_type: var(ENV_EMBED_INPUT_TYPE),
            http_wait: var(ENV_HTTP_WAIT),
            http_slots: var(ENV_HTTP_SLOTS),
            claude_model: var(ENV_CLAUDE_MODEL),
            codex_model: var(ENV_CODEX_MODEL),
            chat_base_url: var(ENV_CHAT_BASE_URL),
            chat_model: var(ENV_CHAT_MODEL),
            chat_api_key: var(ENV_CHAT_API_KEY),
            chat_timeout: var(ENV_CHAT_TIMEOUT),
            xdg_data_home: var("XDG_DATA_HOME"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR"),
            home: var("HOME"),
            term: var("TERM"),
            appdata: var("APPDATA"),
            local_appdata: var("LOCALAPPDATA"),
            cwd: std::env::current_dir().ok(),
        }
    }
}

/// The configuration file: a JSON object with any of these keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Database file.
    pub db: Option<PathBuf>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Runtime folder of the slot pools.
    pub runtime_dir: Option<PathBuf>,
    /// Number of slots of a new pool (any JSON value here; checked when a
    /// command uses it).
    pub max_slots: Option<serde_json::Value>,
    /// Number of slots of a new `llm` pool (checked when a command uses it).
    pub llm_slots: Option<serde_json::Value>,
    /// The LLM backend writes queue memories for (checked when used).
    pub extract: Option<serde_json::Value>,
    /// Seconds an extraction waits for a slot (checked when used).
    pub llm_wait: Option<serde_json::Value>,
    /// The embedder (`builtin`, `openai-compatible`; checked when used).
    pub embedder: Option<serde_json::Value>,
    /// The base URL of an embeddings API.
    pub embed_base_url: Option<String>,
    /// The embeddings model.
    pub embed_model: Option<String>,
    /// The `dimensions` asked of the embeddings API (checked when used).
    pub embed_dimensions: Option<serde_json::Value>,
    /// Texts per embeddings request (checked when used).
    pub embed_batch: Option<serde_json::Value>,
    /// Seconds one embeddings request may take (checked when used).
    pub embed_timeout: Option<serde_json::Value>,
    /// Further attempts of a failed embeddings request (checked when used).
    pub embed_retries: Option<serde_json::Value>,
    /// What is put before each search query embedded.
    pub embed_query_prefix: Option<String>,
    /// What is put before each document embedded.
    pub embed_document_prefix: Option<String>,
    /// The `input_type` of queries and documents (checked when used).
    pub embed_input_type: Option<String>,
    /// Number of slots of a new `http` pool (checked when used).
    pub http_slots: Option<serde_json::Value>,
    /// Seconds a request to a provider waits for a slot (checked when used).
    pub http_wait: Option<serde_json::Value>,
    /// The `claude` program.
    pub claude_bin: Option<PathBuf>,
    /// The `codex` program.
    pub codex_bin: Option<PathBuf>,
    /// The model `claude` runs.
    pub claude_model: Option<String>,
    /// The model `codex` runs.
    pub codex_model: Option<String>,
    /// The base URL of the chat API of the `openai-compatible` extraction backend.
    pub chat_base_url: Option<String>,
    /// The model of the chat API.
    pub chat_model: Option<String>,
    /// Seconds one chat request may take (checked when used).
    pub chat_timeout: Option<serde_json::Value>,
}

impl ConfigFile {
    /// Reads the file at `path`.
    ///
    /// # Failure
    /// Not-found or I/O if it cannot be read, invalid input if it is not a
    /// JSON object of the known keys.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::not_found(format!("no configuration file at {}", path.display()))
            } else {
                Error::io(format!("reading {}", path.display()), e)
            }
        })?;
        serde_json::from_str(&text).map_err(|e| {
            Error::invalid(format!("configuration file {}: {e}", path.display())).with_hint(
                "keys: db, namespace, runtime_dir, max_slots, llm_slots, llm_wait, \
                     extract, claude_bin, codex_bin, claude_model, codex_model, embedder, \
                     embed_base_url, embed_model, embed_dimensions, embed_batch, embed_timeout, \
                     embed_retries, embed_query_prefix, embed_document_prefix, \
                     embed_input_type, http_slots, http_wait, chat_base_url, chat_model, \
                     chat_timeout",
            )
        })
    }
}

/// Everything a command needs to know about how it was invoked.
///
/// Settings that only some commands use (the database path, the namespace,
/// the slot count) are resolved up front but checked when a command asks
/// for them, so a command never fails over a setting it does not use.
#[derive(Debug, Clone)]
pub struct Config {
    /// The database file, or why there is none.
    db_path: Deferred<PathBuf>,
    /// Whether `db_path` is the per-user default (no flag, environment
    /// variable or configuration file named a database).
    db_is_default: bool,
    /// The namespace memories are read from and written to, or why it is bad.
    namespace: Deferred<String>,
    /// Where the namespace came from when `--namespace auto` derived it.
    namespace_origin: Option<NamespaceOrigin>,
    /// Whether the namespace is the default one (no flag, environment
    /// variable or configuration file named one).
    namespace_is_default: bool,
    /// The current folder, where `--namespace auto` looks for a repository.
    cwd: Option<PathBuf>,
    /// The folder holding the slot pools, and how it was chosen.
    pub runtime_dir: RuntimeDir,
    /// The slot count of a new pool, or why the given one is bad.
    max_slots: Deferred<SlotCount>,
    /// The agent session from the environment, or why it is bad.
    session: Deferred<Option<String>>,
    /// The slot count of a new `llm` pool, or why the given one is bad.
    llm_slots: Deferred<SlotCount>,
    /// How long an extraction waits for a slot, or why the given time is bad.
    llm_wait: Deferred<Duration>,
    /// The embedder, or why the settings naming it are bad.
    embedder: Deferred<EmbedderChoice>,
    /// The `claude` program named by the environment or the configuration
    /// file (else found in `PATH`).
    pub claude_bin: Option<PathBuf>,
    /// The `codex` program named by the environment or the configuration
    /// file (else found in `PATH`).
    pub codex_bin: Option<PathBuf>,
    /// The model `claude` runs, when not its own default.
    claude_model: Deferred<Option<String>>,
    /// The model `codex` runs, when not its own default.
    codex_model: Deferred<Option<String>>,
    /// The LLM backend writes queue memories for, or why the given one is bad.
    queued_backend: Deferred<Option<ExtractBackend>>,
    /// The chat API of the `openai-compatible` extraction backend, or why
    /// its settings are bad.
    chat: Deferred<ChatSettings>,
    /// The most detailed log level written to stderr.
    pub log_level: LevelFilter,
    /// When long commands show a progress line, and how.
    pub progress: ProgressSettings,
    /// Warnings about the resolved settings, written once logging is set up.
    pub notices: Vec<String>,
}

impl Config {
    /// Resolves the configuration from the global flags, the environment and
    /// the configuration file.
    ///
    /// # Failure
    /// Invalid input for malformed values; not-found for a configuration file
    /// that was named but is missing; usage when no database path can be derived.
    pub fn resolve(flags: &GlobalArgs, env: &Env) -> Result<Self> {
        let file = load_file(flags, env)?;
        let db_is_default = flags.db.is_none() && env.db.is_none() && file.db.is_none();
        let mut notices = Vec::new();
        let db_path = match (&flags.db, &env.db, &file.db) {
            (Some(path), _, _) => Ok(path.clone()),
            (None, Some(path), _) => Ok(PathBuf::from(path)),
            (None, None, Some(path)) => Ok(path.clone()),
            (None, None, None) => default_db_path(env, &mut notices),
        }
        .map_err(DeferredError::from);
        let namespace = match (&flags.namespace, &env.namespace, &file.namespace) {
            (Some(ns), _, _) => Ok(ns.clone()),
            (None, Some(ns), _) => utf8(ns, ENV_NAMESPACE).map(str::to_owned),
            (None, None, Some(ns)) => Ok(ns.clone()),
            (None, None, None) => Ok(DEFAULT_NAMESPACE.to_owned()),
        }
        .and_then(|ns| resolve_namespace(ns, env.cwd.as_deref()));
        let namespace_origin = namespace
            .as_ref()
            .ok()
            .and_then(|(_, origin)| origin.clone());
        let namespace = namespace.map(|(ns, _)| ns).map_err(DeferredError::from);
        let named = |path: PathBuf| RuntimeDir {
            path,
            kind: RuntimeDirKind::Named,
        };
        let runtime_dir = match (&flags.runtime_dir, &env.runtime_dir, &file.runtime_dir) {
            (Some(dir), _, _) => named(dir.clone()),
            (None, Some(dir), _) => named(PathBuf::from(dir)),
            (None, None, Some(dir)) => named(dir.clone()),
            (None, None, None) => default_runtime_dir(env),
        };
        let max_slots = slot_count(env, &file).map_err(DeferredError::from);
        let session = env
            .session
            .as_ref()
            .map(|s| {
                let s = utf8(s, ENV_SESSION)?;
                crate::memory::validate_session(s)?;
                Ok::<_, Error>(s.to_owned())
            })
            .transpose()
            .map_err(DeferredError::from);
        Ok(Config {
            db_path,
            db_is_default,
            namespace,
            namespace_origin,
            namespace_is_default: flags.namespace.is_none()
                && env.namespace.is_none()
                && file.namespace.is_none(),
            cwd: env.cwd.clone(),
            runtime_dir,
            max_slots,
            session,
            llm_slots: llm_slot_count(env, &file).map_err(DeferredError::from),
            llm_wait: seconds(
                (&env.llm_wait, ENV_LLM_WAIT),
                (&file.llm_wait, "llm_wait"),
                DEFAULT_LLM_WAIT,
                MAX_SLOT_WAIT,
            )
            .map_err(DeferredError::from),
            embedder: embedder_choice(flags, env, &file).map_err(DeferredError::from),
            claude_bin: env
                .claude_bin
                .as_ref()
                .map(PathBuf::from)
                .or(file.claude_bin.clone()),
            codex_bin: env
                .codex_bin
                .as_ref()
                .map(PathBuf::from)
                .or(file.codex_bin.clone()),
            claude_model: model(&env.claude_model, ENV_CLAUDE_MODEL, &file.claude_model)
                .map_err(DeferredError::from),
            codex_model: model(&env.codex_model, ENV_CODEX_MODEL, &file.codex_model)
                .map_err(DeferredError::from),
            queued_backend: queued_backend(env, &file).map_err(DeferredError::from),
            chat: chat_settings(env, &file).map_err(DeferredError::from),
            log_level: log_level(flags.verbose, flags.quiet),
            progress: ProgressSettings {
                mode: flags.progress,
                quiet: flags.quiet,
                dumb_terminal: env.term.as_deref() == Some("dumb".as_ref()),
            },
            notices,
        })
    }
}

impl Config {
    /// The database file.
    ///
    /// # Failure
    /// Usage when no database path was given and none can be derived.
    pub fn db_path(&self) -> Result<&Path> {
        self.db_path.as_deref().map_err(DeferredError::to_error)
    }

    /// Whether the database is the per-user default one rather than a file
    /// named by flag, environment variable or configuration file.
    pub fn db_is_default(&self) -> bool {
        self.db_is_default
    }

    /// The namespace memories are read from and written to.
    ///
    /// # Failure
    /// Invalid input (or too-large) when the flag, environment or
    /// configuration file gave a bad namespace.
    pub fn namespace(&self) -> Result<&str> {
        self.namespace.as_deref().map_err(DeferredError::to_error)
    }

    /// Where the namespace came from, when `--namespace auto` derived it
    /// from a git repository; `None` for a namespace given by name.
    pub fn namespace_origin(&self) -> Option<&NamespaceOrigin> {
        self.namespace_origin.as_ref()
    }

    /// Whether the namespace is the default one rather than one named by
    /// flag, environment variable or configuration file.
    pub fn namespace_is_default(&self) -> bool {
        self.namespace_is_default
    }

    /// The folder the command runs in, if it can be read.
    pub fn cwd(&self) -> Option<&Path> {
        self.cwd.as_deref()
    }

    /// This configuration working in `namespace` instead, resolved as the
    /// `--namespace` flag's value is (`auto` included).
    pub fn with_namespace(&self, namespace: &str) -> Config {
        let mut config = self.clone();
        let resolved = resolve_namespace(namespace.to_owned(), self.cwd.as_deref());
        config.namespace_origin = resolved
            .as_ref()
            .ok()
            .and_then(|(_, origin)| origin.clone());
        config.namespace = resolved.map(|(ns, _)| ns).map_err(DeferredError::from);
        config.namespace_is_default = false;
        config
    }

    /// The agent session named by `SQLITE_GRAPHRAG_SESSION`, if any.
    ///
    /// # Failure
    /// Invalid input for a malformed session id.
    pub fn session(&self) -> Result<Option<&str>> {
        self.session
            .as_ref()
            .map(Option::as_deref)
            .map_err(DeferredError::to_error)
    }

    /// The slot count of a new pool.
    ///
    /// # Failure
    /// Invalid input when the environment or the configuration file gave a
    /// bad count.
    pub fn max_slots(&self) -> Result<SlotCount> {
        self.max_slots.clone().map_err(|e| e.to_error())
    }
}

impl Config {
    /// The slot count of a new `llm` pool (the pool every LLM subprocess
    /// takes a slot of).
    ///
    /// # Failure
    /// Invalid input when the environment gave a bad count.
    pub fn llm_slots(&self) -> Result<SlotCount> {
        self.llm_slots.clone().map_err(|e| e.to_error())
    }

    /// The embedder the settings name, checked.
    ///
    /// # Failure
    /// Invalid input for a bad setting of the embedder.
    pub fn embedder(&self) -> Result<EmbedderChoice> {
        self.embedder.clone().map_err(|e| e.to_error())
    }

    /// How long an extraction (`remember --extract`, `enrich`) waits for a
    /// slot of the `llm` pool.
    ///
    /// # Failure
    /// Invalid input when the environment or the configuration file gave a
    /// time that is not a number of seconds, zero or more.
    pub fn llm_wait(&self) -> Result<Duration> {
        self.llm_wait.clone().map_err(|e| e.to_error())
    }

    /// The LLM backend that writes changing a memory's text queue the new
    /// version for (`enrich` extracts it later); `None` by default.
    ///
    /// # Failure
    /// Invalid input when the environment named another backend.
    pub fn queued_backend(&self) -> Result<Option<ExtractBackend>> {
        self.queued_backend.clone().map_err(|e| e.to_error())
    }

    /// Starts the progress line of `label` for `total` items, as
    /// `--progress` and `-q` say.
    pub fn progress(&self, label: &'static str, total: Option<u64>) -> Progress {
        Progress::start(&self.progress, label, total)
    }

    /// The model `backend` runs, when configured (else the tool's default).
    ///
    /// # Failure
    /// Invalid input when the environment or the configuration file gave a
    /// model that is not UTF-8 or could be read as an option.
    pub fn model(&self, backend: Backend) -> Result<Option<&str>> {
        let model = match backend {
            Backend::Claude => &self.claude_model,
            Backend::Codex => &self.codex_model,
        };
        model
            .as_ref()
            .map(Option::as_deref)
            .map_err(DeferredError::to_error)
    }
}

// The chat API of the `openai-compatible` extraction backend.

impl Config {
    /// The chat API the `openai-compatible` extraction backend asks, checked.
    ///
    /// # Failure
    /// Invalid input for a missing model, a bad base URL, timeout or key.
    pub fn chat(&self) -> Result<ChatSettings> {
        self.chat.clone().map_err(|e| e.to_error())
    }
}

/// The chat API's settings: each from the environment, else the
/// configuration file, else its default (the key only from the
/// environment: `SQLITE_GRAPHRAG_CHAT_API_KEY`, else `OPENROUTER_API_KEY`).
fn chat_settings(env: &Env, file: &ConfigFile) -> Result<ChatSettings> {
    let settings = ChatSettings {
        base_url: text(&env.chat_base_url, ENV_CHAT_BASE_URL)?
            .or_else(|| file.chat_base_url.clone())
            .unwrap_or_else(|| chat::DEFAULT_BASE_URL.to_owned()),
        model: text(&env.chat_model, ENV_CHAT_MODEL)?
            .or_else(|| file.chat_model.as_deref().map(|m| m.trim().to_owned()))
            .unwrap_or_default(),
        api_key: match text(&env.chat_api_key, ENV_CHAT_API_KEY)? {
            Some(key) => Some(key),
            None => text(&env.openrouter_api_key, "OPENROUTER_API_KEY")?,
        },
        timeout: whole_number(
            text(&env.chat_timeout, ENV_CHAT_TIMEOUT)?.map(|t| (t, ENV_CHAT_TIMEOUT)),
            (&file.chat_timeout, "chat_timeout"),
            1..=chat::MAX_TIMEOUT.as_secs(),
        )?
        .map_or(chat::DEFAULT_TIMEOUT, Duration::from_secs),
    };
    settings.check()?;
    Ok(settings)
}

/// A setting's value, or the error to report when a command asks for it.
type Deferred<T> = std::result::Result<T, DeferredError>;

/// An error kept until a command needs the setting it is about.
#[derive(Debug, Clone)]
struct DeferredError {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
}

impl From<Error> for DeferredError {
    fn from(error: Error) -> Self {
        DeferredError {
            kind: error.kind(),
            message: error.message().to_owned(),
            hint: error.hint().map(str::to_owned),
        }
    }
}

impl DeferredError {
    fn to_error(&self) -> Error {
        let error = Error::new(self.kind, self.message.clone());
        match &self.hint {
            Some(hint) => error.with_hint(hint.clone()),
            None => error,
        }
    }
}

/// Checks a configured namespace, or derives it from the git repository of
/// the current folder when it is [`AUTO_NAMESPACE`].
fn resolve_namespace(ns: String, cwd: Option<&Path>) -> Result<(String, Option<NamespaceOrigin>)> {
    if ns != AUTO_NAMESPACE {
        validate_namespace(&ns)?;
        return Ok((ns, None));
    }
    let cwd =
        cwd.ok_or_else(|| Error::invalid("--namespace auto: the current folder cannot be read"))?;
    let derived = repo::derive(cwd)?;
    Ok((derived.namespace, Some(derived.origin)))
}

/// The slot count of a new pool: from the environment, else the
/// configuration file, else the host's default.
fn slot_count(env: &Env, file: &ConfigFile) -> Result<SlotCount> {
    pool_slot_count(
        (&env.max_slots, ENV_MAX_SLOTS),
        (&file.max_slots, "max_slots"),
        SlotCount::host_default(),
    )
}

/// The slot count of a new `llm` pool: from the environment, else the
/// configuration file, else [`DEFAULT_LLM_SLOTS`] (a default, which an
/// existing pool overrides).
fn llm_slot_count(env: &Env, file: &ConfigFile) -> Result<SlotCount> {
    pool_slot_count(
        (&env.llm_slots, ENV_LLM_SLOTS),
        (&file.llm_slots, "llm_slots"),
        SlotCount {
            value: DEFAULT_LLM_SLOTS,
            explicit: false,
        },
    )
}

/// A pool's slot count: from the environment variable, else the
/// configuration file's key (any JSON value there, checked here), else
/// `default`.
fn pool_slot_count(
    (env_value, env_name): (&Option<OsString>, &str),
    (file_value, file_key): (&Option<serde_json::Value>, &str),
    default: SlotCount,
) -> Result<SlotCount> {
    match (env_value, file_value) {
        (Some(text), _) => {
            let text = utf8(text, env_name)?;
            let value = text
                .trim()
                .parse()
                .map_err(|_| Error::invalid(format!("{env_name}={text:?} is not a number")))?;
            SlotCount::chosen(value, env_name)
        }
        (None, Some(value)) => {
            let what = format!("{file_key} in the configuration file");
            let count = value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "{what} must be a whole number between 1 and {MAX_SLOTS_LIMIT}, not {value}"
                    ))
                })?;
            SlotCount::chosen(count, &what)
        }
        (None, None) => Ok(default),
    }
}

/// The embedder: from the flag, the environment, the configuration file,
/// else the built-in one; an HTTP one with its settings, checked.
fn embedder_choice(flags: &GlobalArgs, env: &Env, file: &ConfigFile) -> Result<EmbedderChoice> {
    let named = match (
        &flags.embedder,
        text(&env.embedder, ENV_EMBEDDER)?,
        &file.embedder,
    ) {
        (Some(name), _, _) => name.clone(),
        (None, Some(name), _) => name,
        (None, None, Some(value)) => value.as_str().map(str::to_owned).ok_or_else(|| {
            Error::invalid(format!(
                "embedder in the configuration file must be a string, not {value}"
            ))
        })?,
        (None, None, None) => return Ok(EmbedderChoice::Builtin),
    };
    match named.as_str() {
        "builtin" => return Ok(EmbedderChoice::Builtin),
        "openai-compatible" => {}
        other => {
            return Err(Error::invalid(format!(
                "{other:?} is not an embedder: use builtin or openai-compatible"
            )));
        }
    }
    let number = |flag: &Option<String>, flag_name, env_value, env_name, file, range| {
        let given = match flag {
            Some(value) => Some((value.trim().to_owned(), flag_name)),
            None => text(env_value, env_name)?.map(|value| (value, env_name)),
        };
        whole_number(given, file, range)
    };
    let model = flags
        .embed_model
        .clone()
        .map_or_else(|| text(&env.embed_model, ENV_EMBED_MODEL), |m| Ok(Some(m)))?
        .or_else(|| file.embed_model.clone())
        .unwrap_or_default();
    let settings = HttpSettings {
        base_url: flags
            .embed_base_url
            .clone()
            .map_or_else(
                || text(&env.embed_base_url, ENV_EMBED_BASE_URL),
                |u| Ok(Some(u)),
            )?
            .or_else(|| file.embed_base_url.clone())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
        dimensions: number(
            &flags.embed_dimensions,
            "--embed-dimensions",
            &env.embed_dimensions,
            ENV_EMBED_DIMENSIONS,
            (&file.embed_dimensions, "embed_dimensions"),
            1..=u64::from(MAX_DIM),
        )?
        .map(|n| n as u32),
        api_key: match text(&env.embed_api_key, ENV_EMBED_API_KEY)? {
            Some(key) => Some(key),
            None => text(&env.openrouter_api_key, "OPENROUTER_API_KEY")?,
        },
        batch: number(
            &flags.embed_batch,
            "--embed-batch",
            &env.embed_batch,
            ENV_EMBED_BATCH,
            (&file.embed_batch, "embed_batch"),
            1..=MAX_BATCH as u64,
        )?
        .map_or(DEFAULT_BATCH, |n| n as usize),
        timeout: number(
            &flags.embed_timeout,
            "--embed-timeout",
            &env.embed_timeout,
            ENV_EMBED_TIMEOUT,
            (&file.embed_timeout, "embed_timeout"),
            1..=3600,
        )?
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs),
        retries: number(
            &flags.embed_retries,
            "--embed-retries",
            &env.embed_retries,
            ENV_EMBED_RETRIES,
            (&file.embed_retries, "embed_retries"),
            0..=u64::from(MAX_RETRIES),
        )?
        .map_or(DEFAULT_RETRIES, |n| n as u32),
        slots: pool_slot_count(
            (&env.http_slots, ENV_HTTP_SLOTS),
            (&file.http_slots, "http_slots"),
            SlotCount {
                value: DEFAULT_HTTP_SLOTS,
                explicit: false,
            },
        )?,
        wait: seconds(
            (&env.http_wait, ENV_HTTP_WAIT),
            (&file.http_wait, "http_wait"),
            DEFAULT_HTTP_WAIT,
            MAX_SLOT_WAIT,
        )?,
        roles: roles(flags, env, file, &model)?,
        model,
    };
    settings.check()?;
    Ok(EmbedderChoice::OpenAiCompatible(Box::new(settings)))
}

/// A variable's value, trimmed, if it is set.
fn text(value: &Option<OsString>, name: &str) -> Result<Option<String>> {
    value
        .as_ref()
        .map(|v| utf8(v, name).map(|s| s.trim().to_owned()))
        .transpose()
}

/// A whole number in `range`, from `given` (a flag's or a variable's text,
/// with its name), else the configuration file's value of `file_key`.
fn whole_number(
    given: Option<(String, &str)>,
    (file_value, file_key): (&Option<serde_json::Value>, &str),
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<u64>> {
    let (value, what) = match (given, file_value) {
        (Some((text, name)), _) => {
            let what = format!("{name}={text:?}");
            (
                Some(
                    text.parse::<u64>()
                        .map_err(|_| Error::invalid(format!("{what} is not a whole number")))?,
                ),
                what,
            )
        }
        (None, Some(value)) => {
            let what = format!("{file_key} {value} in the configuration file");
            (
                Some(
                    value
                        .as_u64()
                        .ok_or_else(|| Error::invalid(format!("{what} is not a whole number")))?,
                ),
                what,
            )
        }
        (None, None) => (None, String::new()),
    };
    match value {
        Some(n) if !range.contains(&n) => Err(Error::invalid(format!(
            "{what} is not from {} to {}",
            range.start(),
            range.end()
        ))),
        other => Ok(other),
    }
}

/// A wait for a slot, in seconds (fractions allowed, up to `max`): from
/// the environment variable, else the configuration file's key, else
/// `default`.
fn seconds(
    (env_value, env_name): (&Option<OsString>, &str),
    (file_value, file_key): (&Option<serde_json::Value>, &str),
    default: Duration,
    max: Duration,
) -> Result<Duration> {
    let (seconds, what) = match (env_value, file_value) {
        (Some(text), _) => {
            let text = utf8(text, env_name)?.trim();
            (text.parse::<f64>().ok(), format!("{env_name}={text:?}"))
        }
        (None, Some(value)) => (
            value.as_f64(),
            format!("{file_key} {value} in the configuration file"),
        ),
        (None, None) => return Ok(default),
    };
    seconds
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .filter(|wait| *wait <= max)
        .ok_or_else(|| {
            Error::invalid(format!(
                "{what} is not a number of seconds from 0 to {}",
                max.as_secs()
            ))
        })
}

/// How the embeddings model tells queries from documents: its family's
/// conventions, each overridden by a flag, the environment or the
/// configuration file (prefixes are taken as given, spaces included).
fn roles(flags: &GlobalArgs, env: &Env, file: &ConfigFile, model: &str) -> Result<Roles> {
    let family = conventions(model);
    let prefix = |flag: &Option<String>,
                  env_value: &Option<OsString>,
                  env_name,
                  from_file: &Option<String>,
                  default: &str|
     -> Result<String> {
        Ok(match (flag, env_value, from_file) {
            (Some(value), _, _) => value.clone(),
            (None, Some(value), _) => utf8(value, env_name)?.to_owned(),
            (None, None, Some(value)) => value.clone(),
            (None, None, None) => default.to_owned(),
        })
    };
    let input_type = match (
        text(&env.embed_input_type, ENV_EMBED_INPUT_TYPE)?,
        &file.embed_input_type,
    ) {
        (Some(value), _) => Some((value, ENV_EMBED_INPUT_TYPE)),
        (None, Some(value)) => Some((value.clone(), "embed_input_type in the configuration file")),
        (None, None) => None,
    };
    let input_type = match input_type {
        None => family.input_type.map(|(q, d)| (q.to_owned(), d.to_owned())),
        Some((value, _)) if value == "none" => None,
        Some((value, what)) => match value.split_once(',') {
            Some((query, document))
                if !query.trim().is_empty()
                    && !document.trim().is_empty()
                    && !document.contains(',') =>
            {
                Some((query.trim().to_owned(), document.trim().to_owned()))
            }
            _ => {
                return Err(Error::invalid(format!(
                    "{what} {value:?} is not QUERY,DOCUMENT (e.g. search_query,search_document) or none"
                )));
            }
        },
    };
    Ok(Roles {
        query_prefix: prefix(
            &flags.embed_query_prefix,
            &env.embed_query_prefix,
            ENV_EMBED_QUERY_PREFIX,
            &file.embed_query_prefix,
            family.query_prefix,
        )?,
        document_prefix: prefix(
            &flags.embed_document_prefix,
            &env.embed_document_prefix,
            ENV_EMBED_DOCUMENT_PREFIX,
            &file.embed_document_prefix,
            family.document_prefix,
        )?,
        input_type,
    })
}

/// The backend writes queue memories for: from the environment, else the
/// configuration file, else none.
fn queued_backend(env: &Env, file: &ConfigFile) -> Result<Option<ExtractBackend>> {
    const NAMES: &str = "claude, codex, openai-compatible or none";
    let (text, what) = match (&env.extract, &file.extract) {
        (Some(text), _) => (utf8(text, ENV_EXTRACT)?.trim(), ENV_EXTRACT),
        (None, Some(value)) => {
            const WHAT: &str = "extract in the configuration file";
            let text = value
                .as_str()
                .ok_or_else(|| Error::invalid(format!("{WHAT} must be {NAMES}, not {value}")))?;
            (text, WHAT)
        }
        (None, None) => return Ok(None),
    };
    match (text, ExtractBackend::named(text)) {
        ("none", _) => Ok(None),
        (_, Some(backend)) => Ok(Some(backend)),
        (other, None) => Err(Error::invalid(format!(
            "{what}={other:?} is not a backend: use {NAMES}"
        ))),
    }
}

/// A backend's model: from the environment, else the configuration file.
fn model(env: &Option<OsString>, name: &str, file: &Option<String>) -> Result<Option<String>> {
    let model = match env {
        Some(text) => Some(utf8(text, name)?.trim().to_owned()),
        None => file.clone(),
    };
    if let Some(model) = &model {
        crate::llm::check_model(model)?;
    }
    Ok(model)
}

fn utf8<'a>(value: &'a OsString, name: &str) -> Result<&'a str> {
    value
        .to_str()
        .ok_or_else(|| Error::invalid(format!("{name} is not valid UTF-8")))
}

/// Reads the configuration file: the one named by flag or environment (which
/// must exist), else the per-user one if it exists (one in a folder the
/// user may not enter counts as missing).
fn load_file(flags: &GlobalArgs, env: &Env) -> Result<ConfigFile> {
    if flags.no_config {
        return Ok(ConfigFile::default());
    }
    if let Some(path) = flags
        .config
        .clone()
        .or_else(|| env.config.as_ref().map(PathBuf::from))
    {
        return ConfigFile::read(&path);
    }
    let Some(path) = user_dir(env, Folder::Config).map(|dir| dir.join(CONFIG_FILE_NAME)) else {
        return Ok(ConfigFile::default());
    };
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => Err(Error::invalid(format!(
            "the configuration file {} is a folder",
            path.display()
        ))
        .with_hint("remove it, or pass --no-config or --config PATH")),
        Ok(_) => ConfigFile::read(&path),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(ConfigFile::default())
        }
        // A folder above it that the user may not enter: no file there.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            tracing::debug!("no configuration file read: {}: {e}", path.display());
            Ok(ConfigFile::default())
        }
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

/// A kind of per-user folder.
#[derive(Clone, Copy)]
enum Folder {
    Data,
    Config,
}

/// The per-user folder of this program. On Windows: data under
/// `%LOCALAPPDATA%` (it stays on this machine), configuration under
/// `%APPDATA%` (it roams with the profile). Elsewhere: under
/// `$XDG_DATA_HOME` / `$XDG_CONFIG_HOME`, falling back to
/// `$HOME/.local/share` / `$HOME/.config`.
fn user_dir(env: &Env, folder: Folder) -> Option<PathBuf> {
    let base = if cfg!(windows) {
        match folder {
            Folder::Data => env.local_appdata.as_ref().map(PathBuf::from),
            Folder::Config => env.appdata.as_ref().map(PathBuf::from),
        }
    } else {
        let (xdg, fallback) = match folder {
            Folder::Data => (&env.xdg_data_home, ".local/share"),
            Folder::Config => (&env.xdg_config_home, ".config"),
        };
        xdg.as_ref()
            .map(PathBuf::from)
            .or_else(|| env.home.as_ref().map(|h| PathBuf::from(h).join(fallback)))
    };
    base.map(|b| b.join(APP_DIR))
}

/// The default database. On Windows, a database left in the roaming
/// `%APPDATA%` folder by earlier versions is still used while none exists
/// under `%LOCALAPPDATA%`, with a notice saying how to move it.
fn default_db_path(env: &Env, notices: &mut Vec<String>) -> Result<PathBuf> {
    let path = user_dir(env, Folder::Data)
        .map(|dir| dir.join(DB_FILE_NAME))
        .ok_or_else(|| {
            Error::usage("cannot find a per-user data folder for the default database")
                .with_hint(format!("pass --db PATH or set {ENV_DB}"))
        })?;
    let roaming = env
        .appdata
        .as_ref()
        .filter(|_| cfg!(windows))
        .map(|dir| PathBuf::from(dir).join(APP_DIR).join(DB_FILE_NAME));
    match roaming {
        Some(old) if !path.exists() && old.is_file() => {
            notices.push(format!(
                "using the database in the roaming profile, {}; the default is now {}: \
                 move the file (and any -wal and -shm files beside it) there while nothing uses it",
                old.display(),
                path.display()
            ));
            Ok(old)
        }
        _ => Ok(path),
    }
}

/// `$XDG_RUNTIME_DIR/sqlite-graphrag` (if `$XDG_RUNTIME_DIR` passes the
/// checks of [`RuntimeDir::trusted`] when it is used); else, on Windows,
/// `%LOCALAPPDATA%\sqlite-graphrag\run`; else `sqlite-graphrag-<uid>` in
/// the system's temporary folder.
fn default_runtime_dir(env: &Env) -> RuntimeDir {
    if let Some(dir) = &env.xdg_runtime_dir {
        return RuntimeDir {
            path: PathBuf::from(dir).join(APP_DIR),
            kind: RuntimeDirKind::Xdg,
        };
    }
    if let Some(dir) = env.local_appdata.as_ref().filter(|_| cfg!(windows)) {
        return RuntimeDir {
            path: PathBuf::from(dir).join(APP_DIR).join("run"),
            kind: RuntimeDirKind::PerUser,
        };
    }
    RuntimeDir::per_user_temp()
}

fn log_level(verbose: u8, quiet: u8) -> LevelFilter {
    match (verbose, quiet) {
        (0, 0) => LevelFilter::WARN,
        (1, _) => LevelFilter::INFO,
        (2, _) => LevelFilter::DEBUG,
        (v, _) if v > 2 => LevelFilter::TRACE,
        (_, 1) => LevelFilter::ERROR,
        _ => LevelFilter::OFF,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_file() -> GlobalArgs {
        GlobalArgs {
            no_config: true,
            ..GlobalArgs::default()
        }
    }

    #[test]
    fn flags_beat_environment_beats_defaults() {
        let env = Env {
            db: Some("/env.db".into()),
            namespace: Some("envns".into()),
            home: Some("/home/u".into()),
            ..Env::default()
        };
        let mut f = no_file();
        let c = Config::resolve(&f, &env).unwrap();
        assert_eq!(
            (c.db_path().unwrap().to_str(), c.namespace().unwrap()),
            (Some("/env.db"), "envns")
        );
        f.db = Some("/flag.db".into());
        f.namespace = Some("flagns".into());
        let c = Config::resolve(&f, &env).unwrap();
        assert_eq!(
            (c.db_path().unwrap().to_str(), c.namespace().unwrap()),
            (Some("/flag.db"), "flagns")
        );
        let home_only = Env {
            home: Some("/home/u".into()),
            appdata: Some("C:\\Users\\u\\AppData\\Roaming".into()),
            ..Env::default()
        };
        let c = Config::resolve(&no_file(), &home_only).unwrap();
        assert_eq!(c.namespace().unwrap(), "global");
        assert!(!c.max_slots().unwrap().explicit);
        if !cfg!(windows) {
            assert_eq!(
                c.db_path().unwrap(),
                PathBuf::from("/home/u/.local/share/sqlite-graphrag/graphrag.sqlite")
            );
        }
    }

    #[test]
    fn the_file_sits_between_environment_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(
            &path,
            r#"{"namespace":"filens","max_slots":3,"runtime_dir":"/run/x"}"#,
        )
        .unwrap();
        let flags = GlobalArgs {
            config: Some(path.clone()),
            db: Some("x.db".into()),
            ..GlobalArgs::default()
        };
        let c = Config::resolve(&flags, &Env::default()).unwrap();
        assert_eq!(c.namespace().unwrap(), "filens");
        assert_eq!(
            c.max_slots().unwrap(),
            SlotCount {
                value: 3,
                explicit: true
            }
        );
        assert_eq!(
            c.runtime_dir,
            RuntimeDir {
                path: PathBuf::from("/run/x"),
                kind: RuntimeDirKind::Named
            }
        );
        let env = Env {
            max_slots: Some("5".into()),
            namespace: Some("envns".into()),
            ..Env::default()
        };
        let c = Config::resolve(&flags, &env).unwrap();
        assert_eq!(
            (c.namespace().unwrap(), c.max_slots().unwrap().value),
            ("envns", 5)
        );
        std::fs::write(&path, r#"{"colour":"red"}"#).unwrap();
        assert!(Config::resolve(&flags, &Env::default()).is_err());
    }

    #[test]
    fn the_llm_settings_come_from_the_environment_else_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(
            &path,
            r#"{"llm_slots":3,"extract":"codex","claude_bin":"/opt/claude",
                "codex_bin":"/opt/codex","claude_model":"opus","codex_model":"gpt-x"}"#,
        )
        .unwrap();
        let flags = GlobalArgs {
            config: Some(path.clone()),
            ..GlobalArgs::default()
        };
        let c = Config::resolve(&flags, &Env::default()).unwrap();
        assert_eq!(c.llm_slots().unwrap().value, 3);
        assert_eq!(
            c.queued_backend().unwrap(),
            Some(ExtractBackend::Tool(Backend::Codex))
        );
        assert_eq!(c.claude_bin, Some(PathBuf::from("/opt/claude")));
        assert_eq!(c.codex_bin, Some(PathBuf::from("/opt/codex")));
        assert_eq!(c.model(Backend::Claude).unwrap(), Some("opus"));
        assert_eq!(c.model(Backend::Codex).unwrap(), Some("gpt-x"));
        let env = Env {
            llm_slots: Some("5".into()),
            extract: Some("none".into()),
            claude_bin: Some("/env/claude".into()),
            claude_model: Some("sonnet".into()),
            ..Env::default()
        };
        let c = Config::resolve(&flags, &env).unwrap();
        assert_eq!(c.llm_slots().unwrap().value, 5);
        assert_eq!(c.queued_backend().unwrap(), None);
        assert_eq!(c.claude_bin, Some(PathBuf::from("/env/claude")));
        assert_eq!(c.model(Backend::Claude).unwrap(), Some("sonnet"));
        assert_eq!(c.llm_wait().unwrap(), DEFAULT_LLM_WAIT);
        std::fs::write(&path, r#"{"llm_wait": 12.5}"#).unwrap();
        let c = Config::resolve(&flags, &Env::default()).unwrap();
        assert_eq!(c.llm_wait().unwrap(), Duration::from_millis(12_500));
        let env = Env {
            llm_wait: Some("0".into()),
            ..Env::default()
        };
        let c = Config::resolve(&flags, &env).unwrap();
        assert_eq!(c.llm_wait().unwrap(), Duration::ZERO);
        for bad in ["-1", "soon", "inf", "NaN", "86401"] {
            let env = Env {
                llm_wait: Some(bad.into()),
                ..Env::default()
            };
            let c = Config::resolve(&flags, &env).unwrap();
            assert_eq!(
                c.llm_wait().unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad}"
            );
        }
        std::fs::write(
            &path,
            r#"{"llm_slots":"two","extract":"gpt","llm_wait":"x"}"#,
        )
        .unwrap();
        let c = Config::resolve(&flags, &Env::default()).unwrap();
        assert_eq!(c.llm_wait().unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(c.llm_slots().unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(
            c.queued_backend().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert!(c.max_slots().is_ok());
    }

    #[test]
    fn the_chat_settings_come_from_the_environment_else_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(
            &path,
            r#"{"extract":"openai-compatible","chat_base_url":"http://127.0.0.1:9/v1",
                "chat_model":"qwen","chat_timeout":30}"#,
        )
        .unwrap();
        let flags = GlobalArgs {
            config: Some(path.clone()),
            ..GlobalArgs::default()
        };
        let c = Config::resolve(&flags, &Env::default()).unwrap();
        assert_eq!(c.queued_backend().unwrap(), Some(ExtractBackend::Chat));
        let chat = c.chat().unwrap();
        assert_eq!(
            (chat.base_url.as_str(), chat.model.as_str(), chat.api_key),
            ("http://127.0.0.1:9/v1", "qwen", None)
        );
        assert_eq!(chat.timeout, Duration::from_secs(30));
        let env = Env {
            chat_base_url: Some("https://api.example.com/v1".into()),
            chat_model: Some("gpt-x".into()),
            openrouter_api_key: Some("sk-or".into()),
            chat_timeout: Some("7".into()),
            ..Env::default()
        };
        let chat = Config::resolve(&flags, &env).unwrap().chat().unwrap();
        assert_eq!(chat.model, "gpt-x");
        assert_eq!(chat.api_key.as_deref(), Some("sk-or"));
        assert_eq!(chat.timeout, Duration::from_secs(7));
        let env = Env {
            chat_api_key: Some("sk-chat".into()),
            ..env
        };
        let chat = Config::resolve(&flags, &env).unwrap().chat().unwrap();
        assert_eq!(chat.api_key.as_deref(), Some("sk-chat"));
        let defaults = Config::resolve(&no_file(), &Env::default()).unwrap();
        let missing = defaults.chat().unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::InvalidInput);
        assert!(missing.message().contains("model"), "{missing:?}");
        assert!(defaults.llm_wait().is_ok(), "only chat() fails");
        for bad in ["0", "3601", "soon"] {
            let env = Env {
                chat_timeout: Some(bad.into()),
                ..Env::default()
            };
            let c = Config::resolve(&flags, &env).unwrap();
            assert_eq!(c.chat().unwrap_err().kind(), ErrorKind::InvalidInput);
        }
        let keyless = Env {
            chat_model: Some("m".into()),
            ..Env::default()
        };
        let c = Config::resolve(&no_file(), &keyless).unwrap();
        assert!(c.chat().is_err(), "openrouter.ai needs a key");
    }

    #[test]
    fn the_http_embedder_comes_from_the_flag_the_environment_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(
            &path,
            r#"{"embedder":"openai-compatible","embed_base_url":"http://127.0.0.1:11434/v1",
                "embed_model":"nomic-embed-text","embed_dimensions":256,"embed_batch":16}"#,
        )
        .unwrap();
        let flags = GlobalArgs {
            config: Some(path.clone()),
            ..GlobalArgs::default()
        };
        let EmbedderChoice::OpenAiCompatible(http) = Config::resolve(&flags, &Env::default())
            .unwrap()
            .embedder()
            .unwrap()
        else {
            panic!("the file names the HTTP embedder");
        };
        assert_eq!(
            (
                http.model.as_str(),
                http.dimensions,
                http.batch,
                http.api_key
            ),
            ("nomic-embed-text", Some(256), 16, None)
        );
        assert_eq!(http.retries, DEFAULT_RETRIES);
        let env = Env {
            embed_api_key: None,
            openrouter_api_key: Some("sk-or".into()),
            embed_retries: Some("0".into()),
            ..Env::default()
        };
        let EmbedderChoice::OpenAiCompatible(http) =
            Config::resolve(&flags, &env).unwrap().embedder().unwrap()
        else {
            panic!("still the HTTP embedder");
        };
        assert_eq!((http.api_key.as_deref(), http.retries), (Some("sk-or"), 0));
        assert_eq!(
            (
                http.roles.query_prefix.as_str(),
                http.roles.document_prefix.as_str()
            ),
            ("search_query: ", "search_document: "),
            "nomic-embed-text's own prefixes"
        );
        let flagged = GlobalArgs {
            embed_batch: Some("8".into()),
            embed_query_prefix: Some(String::new()),
            ..flags.clone()
        };
        let env = Env {
            embed_batch: Some("32".into()),
            embed_input_type: Some("search_query,search_document".into()),
            ..env
        };
        let EmbedderChoice::OpenAiCompatible(http) =
            Config::resolve(&flagged, &env).unwrap().embedder().unwrap()
        else {
            panic!("still the HTTP embedder");
        };
        assert_eq!(http.batch, 8, "the flag beats the environment");
        assert_eq!(http.roles.query_prefix, "", "a prefix may be turned off");
        assert_eq!(http.roles.document_prefix, "search_document: ");
        assert_eq!(
            http.roles.input_type,
            Some(("search_query".to_owned(), "search_document".to_owned()))
        );
        let builtin = GlobalArgs {
            embedder: Some("builtin".into()),
            ..flags.clone()
        };
        let c = Config::resolve(&builtin, &env).unwrap();
        assert_eq!(c.embedder().unwrap(), EmbedderChoice::Builtin);
        for (name, value) in [
            ("dimensions", "0"),
            ("dimensions", "5000"),
            ("batch", "x"),
            ("embedder", "onnx"),
            ("input_type", "query"),
            ("http_wait", "-1"),
        ] {
            let mut env = Env::default();
            let value = Some(value.into());
            match name {
                "dimensions" => env.embed_dimensions = value,
                "batch" => env.embed_batch = value,
                "input_type" => env.embed_input_type = value,
                "http_wait" => env.http_wait = value,
                _ => env.embedder = value,
            }
            let c = Config::resolve(&flags, &env).unwrap();
            assert_eq!(
                c.embedder().unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{name}"
            );
            assert!(c.namespace().is_ok(), "other settings still work");
        }
    }

    #[test]
    fn bad_values_are_rejected() {
        let mut f = no_file();
        f.db = Some("x.db".into());
        f.namespace = Some("no spaces".into());
        let c = Config::resolve(&f, &Env::default()).unwrap();
        assert_eq!(c.namespace().unwrap_err().kind(), ErrorKind::InvalidInput);
        assert!(c.db_path().is_ok(), "only the bad setting fails");
        f.namespace = None;
        for bad in ["0", "many", "5000"] {
            let env = Env {
                max_slots: Some(bad.into()),
                ..Env::default()
            };
            let c = Config::resolve(&f, &env).unwrap();
            assert_eq!(
                c.max_slots().unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad}"
            );
            assert!(c.db_path().is_ok(), "only the bad setting fails");
        }
    }

    #[test]
    fn settings_a_command_does_not_use_do_not_fail_it() {
        let c = Config::resolve(&no_file(), &Env::default()).unwrap();
        let err = c.db_path().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert!(err.hint().unwrap().contains("--db"));
        assert!(c.max_slots().is_ok());
    }

    #[test]
    fn a_config_file_slot_count_of_the_wrong_type_fails_only_when_used() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        for bad in ["-1", "0", "2.5", "\"four\"", "99999999999"] {
            std::fs::write(&path, format!(r#"{{"db":"x.db","max_slots":{bad}}}"#)).unwrap();
            let flags = GlobalArgs {
                config: Some(path.clone()),
                ..GlobalArgs::default()
            };
            let c = Config::resolve(&flags, &Env::default()).unwrap();
            assert!(c.db_path().is_ok(), "{bad}");
            assert_eq!(
                c.max_slots().unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_per_user_config_path_that_is_a_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sqlite-graphrag/config.json")).unwrap();
        // The per-user config folder: XDG's on Unix, %APPDATA% on Windows.
        let env = Env {
            xdg_config_home: Some(dir.path().into()),
            appdata: Some(dir.path().into()),
            db: Some("x.db".into()),
            ..Env::default()
        };
        let err = Config::resolve(&GlobalArgs::default(), &env).unwrap_err();
        assert!(err.message().contains("is a folder"), "{}", err.message());
    }

    #[cfg(windows)]
    #[test]
    fn the_default_database_is_local_and_an_old_roaming_one_is_still_used() {
        let local = tempfile::tempdir().unwrap();
        let roaming = tempfile::tempdir().unwrap();
        let env = Env {
            local_appdata: Some(local.path().into()),
            appdata: Some(roaming.path().into()),
            ..Env::default()
        };
        let resolve = || Config::resolve(&GlobalArgs::default(), &env).unwrap();
        let new = local.path().join("sqlite-graphrag").join("graphrag.sqlite");
        let old = roaming
            .path()
            .join("sqlite-graphrag")
            .join("graphrag.sqlite");
        assert_eq!(resolve().db_path().unwrap(), new);
        assert!(resolve().notices.is_empty());

        std::fs::create_dir_all(old.parent().unwrap()).unwrap();
        std::fs::write(&old, b"").unwrap();
        let config = resolve();
        assert_eq!(config.db_path().unwrap(), old);
        assert!(
            config.notices[0].contains("roaming"),
            "{:?}",
            config.notices
        );

        std::fs::create_dir_all(new.parent().unwrap()).unwrap();
        std::fs::write(&new, b"").unwrap();
        assert_eq!(resolve().db_path().unwrap(), new);
        assert!(resolve().notices.is_empty());
    }
}
