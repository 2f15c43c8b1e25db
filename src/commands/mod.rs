//! One module per verb: its clap arguments and one `cmd_<verb>` function.
//! This file dispatches, and holds what several verbs share.

pub mod agents;
pub mod backup;
pub mod completions;
pub mod deep_research;
pub mod edit;
pub mod enrich;
pub mod entities;
pub mod export;
pub mod extract;
pub mod forget;
pub mod graph;
pub mod graph_input;
pub mod health;
pub mod history;
pub mod hybrid_search;
pub mod import;
pub mod ingest;
pub mod init;
pub mod link;
pub mod list;
pub mod llm;
pub mod man;
pub mod mcp;
pub mod namespaces;
pub mod optimize;
pub mod parse_failure;
pub mod purge;
pub mod read;
pub mod recall;
pub mod reindex;
pub mod related;
pub mod remember;
pub mod rename;
pub mod restore;
pub mod restore_backup;
pub mod search;
pub mod shown_body;
pub mod slots;
pub mod stats;
pub mod vacuum;

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::cli::Command;
use crate::commands::agents::AgentsCommand;
use crate::commands::slots::SlotsCommand;
use crate::config::Config;
use crate::embed::openai::OpenAiCompatible;
use crate::embed::settings::EmbedderChoice;
use crate::embed::{Embedder, StaticModel};
use crate::error::{Error, Result};
use crate::graph::Extractor;
use crate::memory::{MAX_BODY_BYTES, validate_body, validate_type};
use crate::output;
use crate::search::{DEFAULT_HOPS, MAX_HOPS, Request, SearchResult, Searcher};
use crate::store::{self, CachedEmbedder, OpenMode, ScanMode, Scope, Store};
use crate::time::Timestamp;

/// Runs one verb with the resolved configuration, writes what it returns
/// to `out` (the only place a verb's result is printed), and returns the
/// exit status.
pub fn run(command: Command, config: &Config, out: &mut dyn Write) -> Result<ExitCode> {
    match command {
        Command::Init(args) => reply(out, init::cmd_init(config, &args)),
        Command::Remember(args) => reply(out, remember::cmd_remember(config, &args)),
        Command::Read(args) => reply(out, read::cmd_read(config, &args)),
        Command::List(args) => reply(out, list::cmd_list(config, &args)),
        Command::Edit(args) => reply(out, edit::cmd_edit(config, &args)),
        Command::Rename(args) => reply(out, rename::cmd_rename(config, &args)),
        Command::History(args) => reply(out, history::cmd_history(config, &args)),
        Command::Restore(args) => reply(out, restore::cmd_restore(config, &args)),
        Command::Forget(args) => reply(out, forget::cmd_forget(config, &args)),
        Command::Purge(args) => reply(out, purge::cmd_purge(config, &args)),
        Command::Import(args) => {
            let report = import::cmd_import(config, &args)?;
            output::write_json(out, &report)?;
            Ok(import::exit_status(&report))
        }
        Command::Ingest(args) => ingest::cmd_ingest(config, &args, out),
        Command::Export(args) => export::cmd_export(config, &args, out).map(|_| ExitCode::SUCCESS),
        Command::Search(args) => reply(out, search::cmd_search(config, &args)),
        Command::Recall(args) => reply(out, recall::cmd_recall(config, &args)),
        Command::HybridSearch(args) => reply(out, hybrid_search::cmd_hybrid_search(config, &args)),
        Command::DeepResearch(args) => reply(out, deep_research::cmd_deep_research(config, &args)),
        Command::Reindex(args) => reply(out, reindex::cmd_reindex(config, &args)),
        Command::Stats(args) => reply(out, stats::cmd_stats(config, &args)),
        Command::Health(args) => reply(out, health::cmd_health(config, &args)),
        Command::Backup(args) => reply(out, backup::cmd_backup(config, &args)),
        Command::RestoreBackup(args) => {
            reply(out, restore_backup::cmd_restore_backup(config, &args))
        }
        Command::Vacuum(args) => reply(out, vacuum::cmd_vacuum(config, &args)),
        Command::Optimize(args) => reply(out, optimize::cmd_optimize(config, &args)),
        Command::Namespaces(args) => reply(out, namespaces::cmd_namespaces(config, &args)),
        Command::Link(args) => reply(out, link::cmd_link(config, &args)),
        Command::Unlink(args) => reply(out, link::cmd_unlink(config, &args)),
        Command::Entities(args) => reply(out, entities::cmd_entities(config, &args)),
        Command::Entity(args) => reply(out, entities::cmd_entity(config, &args)),
        Command::MergeEntities(args) => reply(out, entities::cmd_merge(config, &args)),
        Command::RenameEntity(args) => reply(out, entities::cmd_rename_entity(config, &args)),
        Command::ForgetEntity(args) => reply(out, entities::cmd_forget_entity(config, &args)),
        Command::Related(args) => reply(out, related::cmd_related(config, &args)),
        Command::Graph(args) => graph::run(config, &args, out).map(|()| ExitCode::SUCCESS),
        Command::Llm(args) => reply(out, llm::cmd_llm(config, &args)),
        Command::Enrich(args) => enrich::run(config, &args, out),
        Command::Completions(args) => {
            completions::cmd_completions(&args, out).map(|()| ExitCode::SUCCESS)
        }
        Command::Man(args) => man::cmd_man(&args, out).map(|()| ExitCode::SUCCESS),
        Command::Mcp(args) => mcp::cmd_mcp(config, &args, out),
        Command::Slots(args) => match args.command {
            SlotsCommand::Exec(args) => slots::exec::cmd_slots_exec(config, &args),
            SlotsCommand::Status(args) => {
                reply(out, slots::status::cmd_slots_status(config, &args))
            }
            SlotsCommand::Resize(args) => {
                reply(out, slots::resize::cmd_slots_resize(config, &args))
            }
        },
        Command::Agents(args) => match args.command {
            AgentsCommand::Print(args) => agents::print::cmd_agents_print(&args, out),
            AgentsCommand::Context(args) => agents::context::cmd_agents_context(config, &args, out),
        }
        .map(|()| ExitCode::SUCCESS),
    }
}

/// Runs `command` if it only describes the command line (completions,
/// manual pages), which needs no configuration and no database; returns
/// `None` for every other verb.
pub fn describe(command: &Command, out: &mut dyn Write) -> Option<Result<()>> {
    match command {
        Command::Completions(args) => Some(completions::cmd_completions(args, out)),
        Command::Man(args) => Some(man::cmd_man(args, out)),
        _ => None,
    }
}

/// Opens the configured database for a verb that only reads memories. The
/// per-user default database reads as an empty one until something
/// creates it, so that a first search on a new machine finds nothing
/// instead of failing; a database named by flag, environment variable or
/// configuration file must exist (a typo there stays an error).
fn open_for_reading(config: &Config) -> Result<Store> {
    let path = config.db_path()?;
    if config.db_is_default() && !store::exists(path)? {
        tracing::warn!(
            "no database yet at {}: reading it as empty; `remember`, `import` or `init` creates it",
            path.display()
        );
        return Store::open_in_memory();
    }
    Store::open(path, OpenMode::Existing)
}

/// Writes a verb's successful result as one JSON document.
fn reply<T: Serialize>(out: &mut dyn Write, result: Result<T>) -> Result<ExitCode> {
    output::write_json(out, &result?)?;
    Ok(ExitCode::SUCCESS)
}

/// Opens the configured database, which must already exist.
fn open_existing(config: &Config) -> Result<Store> {
    Store::open(config.db_path()?, OpenMode::Existing)
}

/// What `search`, `recall` and `hybrid-search` print: the results, best first.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    /// The matching memories, best first.
    pub results: Vec<SearchResult>,
}

/// Returns the embedder that makes and compares vectors, as configured:
/// the built-in model, or an OpenAI-compatible API whose document vectors
/// are cached in the configured database. Making either costs nothing
/// until it embeds.
///
/// # Failure
/// Invalid input for bad embedder settings.
fn embedder(config: &Config) -> Result<Box<dyn Embedder>> {
    Ok(match config.embedder()? {
        EmbedderChoice::Builtin => Box::new(StaticModel::new()),
        EmbedderChoice::OpenAiCompatible(settings) => {
            let api = OpenAiCompatible::new(
                settings.endpoint(&config.runtime_dir)?,
                settings.model.clone(),
                settings.dimensions,
                settings.batch,
                settings.roles.clone(),
            );
            match api.cache_key() {
                Some(key) => Box::new(CachedEmbedder::new(
                    Box::new(api),
                    key,
                    config.db_path()?.to_owned(),
                )),
                None => Box::new(api),
            }
        }
    })
}

/// Opens the configured database for a verb that embeds or searches, and
/// first embeds the memories waiting for vectors (after an upgrade or an
/// interrupted `reindex`).
fn open_with_vectors(config: &Config, mode: OpenMode, embedder: &dyn Embedder) -> Result<Store> {
    let mut store = Store::open(config.db_path()?, mode)?;
    store.embed_backlog(embedder)?;
    store.extract_backlog()?;
    Ok(store)
}

/// [`open_with_vectors`] for a verb that writes memories, failing before
/// anything is embedded when the database holds vectors of another model
/// than `embedder`'s; its writes that
/// change a memory's text queue the version for `queue_for` (see
/// [`extract::queued_extractor`]); the backlog's work is not queued. Its
/// writes record the origin of an auto-derived namespace.
fn open_for_writes(
    config: &Config,
    mode: OpenMode,
    embedder: &dyn Embedder,
    queue_for: Option<Extractor>,
) -> Result<Store> {
    let mut store = open_with_vectors(config, mode, embedder)?;
    store.check_model(embedder)?;
    store.queue_extractions_for(queue_for);
    record_origin(config, &mut store)?;
    Ok(store)
}

/// Makes the writes of a command whose namespace `--namespace auto`
/// derived record where its name came from.
fn record_origin(config: &Config, store: &mut Store) -> Result<()> {
    if let Some(origin) = config.namespace_origin() {
        store.record_origin_of(config.namespace()?, origin.clone());
    }
    Ok(())
}

/// The query and filters shared by `search`, `recall` and `hybrid-search`.
#[derive(Debug, Clone, Args)]
pub struct RetrievalArgs {
    /// Any text
    #[arg(allow_hyphen_values = true)]
    pub query: String,
    /// Number of results
    #[arg(short = 'k', long = "limit", visible_alias = "k", value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub k: u32,
    /// Only memories of this type
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// Only memories created at or after this time: RFC 3339, YYYY-MM-DD, or
    /// a duration back from now (7d, 2h)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only memories created at or before this time: RFC 3339, YYYY-MM-DD, or
    /// a duration back from now (7d, 2h)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Search every namespace, not only the current one
    #[arg(long)]
    pub all_namespaces: bool,
    /// How much of each result's body is printed.
    #[command(flatten)]
    pub shown_body: shown_body::ShownBodyArgs,
}

impl RetrievalArgs {
    /// Runs one of the three searches with these arguments, keeping the
    /// results that score at least `min_score`.
    fn run(
        &self,
        config: &Config,
        search: Searcher,
        graph_hops: Option<u32>,
        vector_mode: ScanMode,
        min_score: &MinScoreArgs,
    ) -> Result<SearchResults> {
        let min_score = min_score.threshold()?;
        let scope = self.scope(config)?;
        let embedder = embedder(config)?;
        let mut store = open_for_reading(config)?;
        store.embed_backlog(&*embedder)?;
        store.extract_backlog()?;
        let request = Request {
            query: &self.query,
            k: self.k as usize,
            scope: &scope,
            graph_hops,
            vector_mode,
        };
        let mut results = search(&store, &*embedder, &request)?;
        if let Some(min) = min_score {
            results.retain(|r| r.score >= min);
        }
        for result in &mut results {
            (result.body, result.excerpt) = self.shown_body.of(&store, result.memory_id)?;
        }
        Ok(SearchResults { results })
    }

    /// Returns the scope these filters describe.
    ///
    /// # Failure
    /// Invalid input for a malformed time.
    pub fn scope(&self, config: &Config) -> Result<Scope> {
        if let Some(kind) = &self.kind {
            validate_type(kind)?;
        }
        let now = Timestamp::now();
        let bound = |text: &Option<String>| {
            text.as_deref()
                .map(|t| Timestamp::parse_bound(t, now))
                .transpose()
        };
        Ok(Scope {
            namespace: match self.all_namespaces {
                true => None,
                false => Some(config.namespace()?.to_owned()),
            },
            kind: self.kind.clone(),
            since: bound(&self.since)?,
            until: bound(&self.until)?,
        })
    }
}

/// Compacts the vector blocks of `namespace` (all if `None`) with a
/// progress line; returns how many dead slots were removed.
fn compact(config: &Config, store: &mut Store, namespace: Option<&str>) -> Result<usize> {
    let mut progress = config.progress("compact", None);
    let removed = store.compact_vectors(namespace, &mut |blocks, total| {
        progress.set_total(total);
        progress.advance(blocks);
    });
    progress.finish();
    removed
}

/// The score threshold of `search`, `recall` and `hybrid-search`.
#[derive(Debug, Clone, Args)]
pub struct MinScoreArgs {
    /// Drop the results that score below this (see "Scores" in the README
    /// for what each search's score means and the values measured)
    #[arg(long, value_name = "SCORE", allow_negative_numbers = true)]
    pub min_score: Option<f64>,
}

impl MinScoreArgs {
    /// The threshold asked for, if any.
    ///
    /// # Failure
    /// Invalid input for a threshold that is not a finite number.
    pub fn threshold(&self) -> Result<Option<f64>> {
        match self.min_score {
            Some(x) if !x.is_finite() => Err(Error::invalid(format!(
                "--min-score {x} is not a finite number"
            ))),
            threshold => Ok(threshold),
        }
    }
}

/// Vector scan flags of `recall` and `hybrid-search`.
#[derive(Debug, Clone, Args)]
pub struct VectorArgs {
    /// Score every vector, even in a namespace large enough for the prefilter
    #[arg(long)]
    pub exact: bool,
}

impl VectorArgs {
    /// The scan these flags ask for.
    pub fn mode(&self) -> ScanMode {
        match self.exact {
            true => ScanMode::Exact,
            false => ScanMode::Auto,
        }
    }
}

/// Graph expansion flags of `recall` and `hybrid-search`.
#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    /// Also rank memories the entity graph reaches from the best hits (on by default in hybrid-search)
    #[arg(long, overrides_with = "no_graph")]
    pub graph: bool,
    /// Rank by the direct matches only
    #[arg(long, overrides_with = "graph", conflicts_with = "hops")]
    pub no_graph: bool,
    /// Relationships walked from the best hits' entities [default: 1]; turns the graph on
    #[arg(long, value_name = "H", value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_HOPS)))]
    pub hops: Option<u32>,
}

impl GraphArgs {
    /// The hops to walk, or `None` with the graph off; `on_by_default`
    /// says which it is when none of `--graph`, `--no-graph` and `--hops`
    /// is given.
    pub fn graph_hops(&self, on_by_default: bool) -> Option<u32> {
        let on = self.graph || self.hops.is_some() || (on_by_default && !self.no_graph);
        on.then_some(self.hops.unwrap_or(DEFAULT_HOPS))
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
