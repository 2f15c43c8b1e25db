//! The command line: global options and the verb set.
//!
//! Each verb's own arguments live beside its code in `commands/<verb>.rs`.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::commands;
use crate::progress::ProgressMode;

/// Persistent GraphRAG memory for AI coding agents, in one SQLite file.
///
/// Every command prints one JSON document on stdout (export prints JSON
/// lines); logs go to stderr. On failure stdout gets
/// {"error":{"kind":…,"message":…}} and the exit code of that kind.
#[derive(Debug, Parser)]
#[command(name = "sqlite-graphrag", bin_name = "sqlite-graphrag", version)]
pub struct Cli {
    /// Options accepted anywhere on the line.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The verb to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every verb accepts, before or after the verb.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Database file [env: SQLITE_GRAPHRAG_DB] [default: per-user data folder]
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Namespace to work in; `auto` derives it from the current git repository
    /// [env: SQLITE_GRAPHRAG_NAMESPACE] [default: global]
    #[arg(long, global = true, value_name = "NS")]
    pub namespace: Option<String>,
    /// Folder for the slot pools shared by every process on the host
    /// [env: SQLITE_GRAPHRAG_RUNTIME_DIR] [default: $XDG_RUNTIME_DIR/sqlite-graphrag]
    #[arg(long, global = true, value_name = "DIR")]
    pub runtime_dir: Option<PathBuf>,
    /// Configuration file [env: SQLITE_GRAPHRAG_CONFIG] [default: per-user config folder]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Ignore every configuration file
    #[arg(long, global = true, conflicts_with = "config")]
    pub no_config: bool,
    /// The embedder: builtin, or openai-compatible (an HTTP embeddings API)
    /// [env: SQLITE_GRAPHRAG_EMBEDDER] [default: builtin]
    #[arg(long, global = true, value_name = "NAME")]
    pub embedder: Option<String>,
    /// The embeddings API base [env: SQLITE_GRAPHRAG_EMBED_BASE_URL]
    /// [default: https://openrouter.ai/api/v1]
    #[arg(long, global = true, value_name = "URL", hide_short_help = true)]
    pub embed_base_url: Option<String>,
    /// The embeddings model [env: SQLITE_GRAPHRAG_EMBED_MODEL]
    #[arg(long, global = true, value_name = "MODEL", hide_short_help = true)]
    pub embed_model: Option<String>,
    /// The `dimensions` asked of the embeddings API
    /// [env: SQLITE_GRAPHRAG_EMBED_DIMENSIONS]
    #[arg(long, global = true, value_name = "N", hide_short_help = true)]
    pub embed_dimensions: Option<String>,
    /// Texts per embeddings request [env: SQLITE_GRAPHRAG_EMBED_BATCH] [default: 64]
    #[arg(long, global = true, value_name = "N", hide_short_help = true)]
    pub embed_batch: Option<String>,
    /// Seconds one embeddings request may take, connecting included
    /// [env: SQLITE_GRAPHRAG_EMBED_TIMEOUT] [default: 60]
    #[arg(long, global = true, value_name = "SECONDS", hide_short_help = true)]
    pub embed_timeout: Option<String>,
    /// Further attempts of a failed embeddings request
    /// [env: SQLITE_GRAPHRAG_EMBED_RETRIES] [default: 4]
    #[arg(long, global = true, value_name = "N", hide_short_help = true)]
    pub embed_retries: Option<String>,
    /// Put before each search query embedded
    /// [env: SQLITE_GRAPHRAG_EMBED_QUERY_PREFIX] [default: the model family's]
    #[arg(long, global = true, value_name = "TEXT", hide_short_help = true)]
    pub embed_query_prefix: Option<String>,
    /// Put before each document embedded
    /// [env: SQLITE_GRAPHRAG_EMBED_DOCUMENT_PREFIX] [default: the model family's]
    #[arg(long, global = true, value_name = "TEXT", hide_short_help = true)]
    pub embed_document_prefix: Option<String>,
    /// More log output on stderr (-v info, -vv debug, -vvv trace)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Less log output on stderr (-q errors only, -qq nothing); -q also
    /// hides the progress line of --progress auto
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,
    /// A progress line on stderr for long commands (enrich, import, ingest, reindex, backup): auto shows it
    /// when stderr is a terminal
    #[arg(long, global = true, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

/// Every verb.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the database, or migrate it to this version's schema.
    #[command(after_help = crate::examples::INIT)]
    Init(commands::init::InitArgs),
    /// Store a new memory (or, with --update, a new version of one).
    #[command(after_help = crate::examples::REMEMBER)]
    Remember(commands::remember::RememberArgs),
    /// Print one memory, or several.
    #[command(after_help = crate::examples::READ)]
    Read(commands::read::ReadArgs),
    /// List memories of the namespace, most recently updated first.
    #[command(after_help = crate::examples::LIST)]
    List(commands::list::ListArgs),
    /// Change fields of a memory (a new version).
    #[command(after_help = crate::examples::EDIT)]
    Edit(commands::edit::EditArgs),
    /// Give a memory a new name (a new version).
    #[command(after_help = crate::examples::RENAME)]
    Rename(commands::rename::RenameArgs),
    /// Print every version of a memory.
    #[command(after_help = crate::examples::HISTORY)]
    History(commands::history::HistoryArgs),
    /// Bring back an earlier version, or a forgotten memory.
    #[command(after_help = crate::examples::RESTORE)]
    Restore(commands::restore::RestoreArgs),
    /// Forget a memory (soft delete; restorable).
    #[command(after_help = crate::examples::FORGET)]
    Forget(commands::forget::ForgetArgs),
    /// Delete forgotten memories and their history for good.
    #[command(after_help = crate::examples::PURGE)]
    Purge(commands::purge::PurgeArgs),
    /// Load memories from JSON lines.
    #[command(after_help = crate::examples::IMPORT)]
    Import(commands::import::ImportArgs),
    /// Files and folders become memories, one per file; changed files get new versions.
    #[command(after_help = crate::examples::INGEST)]
    Ingest(commands::ingest::IngestArgs),
    /// Write live memories as JSON lines (the import format).
    #[command(after_help = crate::examples::EXPORT)]
    Export(commands::export::ExportArgs),
    /// Search memories by words (FTS5, BM25).
    #[command(after_help = crate::examples::SEARCH)]
    Search(commands::search::SearchArgs),
    /// Search memories by meaning (built-in embeddings, cosine similarity).
    #[command(after_help = crate::examples::RECALL)]
    Recall(commands::recall::RecallArgs),
    /// Search memories by meaning and by words, fused into one ranking.
    #[command(after_help = crate::examples::HYBRID_SEARCH)]
    HybridSearch(commands::hybrid_search::HybridSearchArgs),
    /// Split a question into sub-questions, search each, and merge the evidence.
    #[command(after_help = crate::examples::DEEP_RESEARCH)]
    DeepResearch(commands::deep_research::DeepResearchArgs),
    /// Re-embed every memory with the configured embedding model.
    #[command(after_help = crate::examples::REINDEX)]
    Reindex(commands::reindex::ReindexArgs),
    /// Counts per namespace and size on disk.
    #[command(after_help = crate::examples::STATS)]
    Stats(commands::stats::StatsArgs),
    /// Check database integrity and FTS index consistency.
    #[command(after_help = crate::examples::HEALTH)]
    Health(commands::health::HealthArgs),
    /// Copy the database into a new file, consistently, while others keep writing.
    #[command(after_help = crate::examples::BACKUP)]
    Backup(commands::backup::BackupArgs),
    /// Replace the database's content with a backup's (checked first), in place.
    #[command(after_help = crate::examples::RESTORE_BACKUP)]
    RestoreBackup(commands::restore_backup::RestoreBackupArgs),
    /// Rebuild the database file without its free pages; report its size before and after.
    #[command(after_help = crate::examples::VACUUM)]
    Vacuum(commands::vacuum::VacuumArgs),
    /// Refresh the query planner's statistics and merge the word index.
    #[command(after_help = crate::examples::OPTIMIZE)]
    Optimize(commands::optimize::OptimizeArgs),
    /// List namespaces with their counts.
    #[command(after_help = crate::examples::NAMESPACES)]
    Namespaces(commands::namespaces::NamespacesArgs),
    /// Relate two entities explicitly (creating missing ones).
    #[command(after_help = crate::examples::LINK)]
    Link(commands::link::LinkArgs),
    /// Remove explicit relationships between two entities.
    #[command(after_help = crate::examples::UNLINK)]
    Unlink(commands::link::UnlinkArgs),
    /// List the entities of the namespace.
    #[command(after_help = crate::examples::ENTITIES)]
    Entities(commands::entities::EntitiesArgs),
    /// Print one entity: its memories and relationships.
    #[command(after_help = crate::examples::ENTITY)]
    Entity(commands::entities::EntityArgs),
    /// Merge entities into one; their names become its aliases.
    #[command(after_help = crate::examples::MERGE_ENTITIES)]
    MergeEntities(commands::entities::MergeArgs),
    /// Give an entity a new name; the old one becomes an alias.
    #[command(after_help = crate::examples::RENAME_ENTITY)]
    RenameEntity(commands::entities::RenameEntityArgs),
    /// Delete an entity and keep extractors from bringing it back.
    #[command(after_help = crate::examples::FORGET_ENTITY)]
    ForgetEntity(commands::entities::EntityArgs),
    /// Memories reached through the graph from a memory or an entity.
    #[command(after_help = crate::examples::RELATED)]
    Related(commands::related::RelatedArgs),
    /// The whole graph: export it, count it.
    #[command(after_help = crate::examples::GRAPH)]
    Graph(commands::graph::GraphArgs),
    /// Ask the claude or codex command-line tool, logged in with a subscription.
    #[command(after_help = crate::examples::LLM)]
    Llm(commands::llm::LlmArgs),
    /// Extract queued memories with an LLM backend; count the queue.
    #[command(after_help = crate::examples::ENRICH)]
    Enrich(commands::enrich::EnrichArgs),
    /// Serve the memory to an AI agent as MCP tools over stdin and stdout.
    #[command(after_help = crate::examples::MCP)]
    Mcp(commands::mcp::McpArgs),
    /// Cap concurrent subprocesses host-wide: run commands under a slot, show holders.
    #[command(after_help = crate::examples::SLOTS)]
    Slots(commands::slots::SlotsArgs),
    /// Instructions for coding agents, and context for a session-start hook.
    #[command(after_help = crate::examples::AGENTS)]
    Agents(commands::agents::AgentsArgs),
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish.
    #[command(after_help = crate::examples::COMPLETIONS)]
    Completions(commands::completions::CompletionsArgs),
    /// Print the manual page in roff, or write one page per verb into a folder.
    #[command(after_help = crate::examples::MAN)]
    Man(commands::man::ManArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
