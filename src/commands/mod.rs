//! One module per verb: its clap arguments and one `cmd_<verb>` function.
//! This file dispatches, and holds what several verbs share.

pub mod edit;
pub mod export;
pub mod forget;
pub mod health;
pub mod history;
pub mod hybrid_search;
pub mod import;
pub mod init;
pub mod list;
pub mod namespaces;
pub mod purge;
pub mod read;
pub mod recall;
pub mod reindex;
pub mod remember;
pub mod rename;
pub mod restore;
pub mod search;
pub mod slots;
pub mod stats;

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use clap::error::ErrorKind as ClapErrorKind;

use crate::cli::Command;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::memory::{MAX_BODY_BYTES, validate_body};
use crate::output;
use crate::search::Searcher;
use crate::store::{OpenMode, Scope, Store};
use crate::time::Timestamp;

/// Runs one verb with the resolved configuration and returns the exit status.
pub fn run(command: Command, config: &Config) -> Result<ExitCode> {
    let done = match command {
        Command::Slots(args) => return slots::cmd_slots(config, &args),
        Command::Init(args) => init::cmd_init(config, &args),
        Command::Remember(args) => remember::cmd_remember(config, &args),
        Command::Read(args) => read::cmd_read(config, &args),
        Command::List(args) => list::cmd_list(config, &args),
        Command::Edit(args) => edit::cmd_edit(config, &args),
        Command::Rename(args) => rename::cmd_rename(config, &args),
        Command::History(args) => history::cmd_history(config, &args),
        Command::Restore(args) => restore::cmd_restore(config, &args),
        Command::Forget(args) => forget::cmd_forget(config, &args),
        Command::Purge(args) => purge::cmd_purge(config, &args),
        Command::Import(args) => import::cmd_import(config, &args),
        Command::Export(args) => export::cmd_export(config, &args),
        Command::Search(args) => search::cmd_search(config, &args),
        Command::Recall(args) => recall::cmd_recall(config, &args),
        Command::HybridSearch(args) => hybrid_search::cmd_hybrid_search(config, &args),
        Command::Reindex(args) => reindex::cmd_reindex(config, &args),
        Command::Stats(args) => stats::cmd_stats(config, &args),
        Command::Health(args) => health::cmd_health(config, &args),
        Command::Namespaces(args) => namespaces::cmd_namespaces(config, &args),
    };
    done.map(|()| ExitCode::SUCCESS)
}

/// Handles a command line clap rejected: help and version are printed as
/// text with exit 0; anything else becomes a usage (or invalid-input, for
/// non-UTF-8 arguments) error envelope.
pub fn parse_failure(err: clap::Error) -> ExitCode {
    match err.kind() {
        ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion => {
            let _ = err.print();
            ExitCode::SUCCESS
        }
        kind => {
            let rendered = err.render().to_string();
            let first_line = rendered.lines().next().unwrap_or_default();
            let message = first_line.strip_prefix("error: ").unwrap_or(first_line);
            let error_kind = if kind == ClapErrorKind::InvalidUtf8 {
                ErrorKind::InvalidInput
            } else {
                ErrorKind::Usage
            };
            let hint = "see `sqlite-graphrag --help`, or --help after the verb";
            output::report_error(&Error::new(error_kind, message).with_hint(hint))
        }
    }
}

/// Opens the configured database, which must already exist.
fn open_existing(config: &Config) -> Result<Store> {
    Store::open(config.db_path()?, OpenMode::Existing)
}

/// Opens the configured database, creating it if missing.
fn open_or_create(config: &Config) -> Result<Store> {
    Store::open(config.db_path()?, OpenMode::Create)
}

/// The query and filters shared by `search`, `recall` and `hybrid-search`.
#[derive(Debug, Clone, Args)]
pub struct RetrievalArgs {
    /// Any text
    #[arg(allow_hyphen_values = true)]
    pub query: String,
    /// Number of results
    #[arg(short = 'k', long = "k", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub k: u32,
    /// Only memories of this type
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// Only memories created at or after this time (RFC 3339 or YYYY-MM-DD)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only memories created at or before this time (RFC 3339 or YYYY-MM-DD)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Search every namespace, not only the current one
    #[arg(long)]
    pub all_namespaces: bool,
}

impl RetrievalArgs {
    /// Runs one of the three searches with these arguments and prints
    /// `{"results":[…]}`, best first.
    fn run(&self, config: &Config, search: Searcher) -> Result<()> {
        let scope = self.scope(config)?;
        let store = open_existing(config)?;
        let results = search(&store, &self.query, self.k as usize, &scope)?;
        output::emit(&serde_json::json!({ "results": results }))
    }

    /// Returns the scope these filters describe.
    ///
    /// # Failure
    /// Invalid input for a malformed time.
    pub fn scope(&self, config: &Config) -> Result<Scope> {
        Ok(Scope {
            namespace: (!self.all_namespaces).then(|| config.namespace.clone()),
            kind: self.kind.clone(),
            since: self.since.as_deref().map(Timestamp::parse).transpose()?,
            until: self.until.as_deref().map(Timestamp::parse).transpose()?,
        })
    }
}

/// The three ways to pass a body; at most one may be given.
#[derive(Debug, Clone, Args)]
#[group(multiple = false)]
pub struct BodyArgs {
    /// The body text
    #[arg(long, value_name = "TEXT")]
    pub body: Option<String>,
    /// Read the body from a UTF-8 file
    #[arg(long, value_name = "PATH")]
    pub body_file: Option<PathBuf>,
    /// Read the body from standard input
    #[arg(long)]
    pub body_stdin: bool,
}

impl BodyArgs {
    /// Returns the body from whichever source was given, or `None`.
    ///
    /// # Failure
    /// Too-large past the body limit, invalid input for non-UTF-8 text, I/O
    /// errors reading the file or stdin.
    pub fn read(&self) -> Result<Option<String>> {
        if let Some(body) = &self.body {
            validate_body(body)?;
            return Ok(Some(body.clone()));
        }
        let (what, bytes) = if let Some(path) = &self.body_file {
            let context = || format!("reading {}", path.display());
            let file = File::open(path).map_err(|e| Error::io(context(), e))?;
            (
                context(),
                read_capped(file).map_err(|e| Error::io(context(), e))?,
            )
        } else if self.body_stdin {
            let bytes =
                read_capped(io::stdin().lock()).map_err(|e| Error::io("reading stdin", e))?;
            ("stdin".to_owned(), bytes)
        } else {
            return Ok(None);
        };
        if bytes.len() > MAX_BODY_BYTES {
            return Err(Error::too_large(format!(
                "body is over the limit of {MAX_BODY_BYTES} bytes"
            )));
        }
        String::from_utf8(bytes).map(Some).map_err(|e| {
            Error::invalid(format!(
                "{what}: body is not valid UTF-8: {}",
                e.utf8_error()
            ))
        })
    }
}

/// Reads at most one byte more than the body limit, so oversize is detected
/// without reading an unbounded input into memory.
fn read_capped(reader: impl Read) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
