//! The SQLite store: one connection, configured and migrated when opened.
//!
//! A [`Store`] that exists is ready to use. Its methods are spread over topic
//! files: `memories` (the lifecycle of one memory), `listing`, `jsonl`
//! (import and export), `ingested` (the memories `ingest` made), `fts`
//! (word search), `chunks` (vectors), `report` (stats and health). Every
//! write goes through one [`Tx`], whose write primitives live in
//! `memory_tx` and the other topic files. Opening checks the file first
//! (`file`, `marker`), then migrates it (`migrations`).

mod backlog;
mod backup;
mod busy;
mod chunks;
mod compact;
mod derived;
mod embedding_cache;
mod enrich_jobs;
mod enrich_lease;
mod file;
mod fts;
mod fts_text;
mod graph_backlog;
mod graph_dump;
mod graph_entities;
mod graph_expand;
mod graph_extracted;
mod graph_lines;
mod graph_links;
mod graph_read;
mod graph_tx;
mod graph_walk;
mod ingested;
mod jsonl;
mod listing;
mod maintenance;
mod marker;
mod memories;
mod memory_tx;
pub mod migrations;
mod origins;
mod reindex;
mod report;
mod scope;
mod tx;
mod vectors;
mod wal;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{Error, ErrorKind, Result};
use crate::graph::Extractor;
use marker::Contents;
use origins::OriginOf;

pub use backup::BackupSource;
pub use chunks::{CHUNK_BYTES, CHUNK_OVERLAP, VectorHit, chunk_ranges};
pub use embedding_cache::{CacheSize, CachedEmbedder};
pub use enrich_jobs::EnrichCounts;
pub use enrich_lease::{ClaimedJob, Lease, Settled};
pub use file::{check_path, exists};
pub use graph_dump::{EntityNode, GraphDump};
pub use graph_entities::EntityChange;
pub use graph_lines::{EntityFields, EntityLine, IgnoredLine, LinkLine};
pub use graph_links::{NewLink, RelationshipView};
pub use graph_read::{EntityDetail, EntityFilter, EntityOrder, EntityRow, EntitySummary};
pub use graph_walk::{HOP_DECAY, RelatedMemory, Step, WalkOptions};
pub use ingested::PreparedMemory;
pub use jsonl::{ExportCounts, ExportLine, ImportError, ImportLine, ImportReport};
pub use listing::ListFilter;
pub use maintenance::{OptimizeReport, VacuumReport};
pub use memories::{Action, ContentPatch, Outcome, VersionRow};
pub use memory_tx::Attached;
pub use reindex::ReindexReport;
pub use report::{Health, NamespaceStats, Stats};
pub use scope::Scope;
pub use tx::Tx;
pub use vectors::scan::{Prefilter, ScanMode, Scanned};

/// How long a statement waits for another process's lock before giving up
/// (and, after that, how long a write transaction is retried).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;

/// Page size of a new database file, in bytes.
pub const PAGE_SIZE: u32 = 16 * 1024;

/// Whether opening may create the database, and what it may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the file (and its folder) if missing, and the schema in a
    /// file that is empty.
    Create,
    /// Like [`OpenMode::Create`], and also add the schema to another
    /// application's database, beside its tables.
    Adopt,
    /// Fail with not-found if the file is missing or holds no database.
    Existing,
}

/// An open, configured and fully migrated database.
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
    /// How long writes are retried after a first busy failure.
    busy_timeout: Duration,
    created: bool,
    /// The LLM extractor a write that changes a memory's text queues it for.
    queue_for: Option<Extractor>,
    /// The namespace whose writes record where its name came from.
    origin: Option<OriginOf>,
}

impl Store {
    /// Opens the database at `path`, applies the connection pragmas and runs
    /// any pending migrations. Nothing is written before the file is known
    /// to be a database of ours at a schema this program can handle, or an
    /// empty one that `mode` may create.
    ///
    /// # Failure
    /// Invalid input for an in-memory name or a URI, and for another
    /// application's database (unless `mode` is [`OpenMode::Adopt`]);
    /// not-found when `mode` is [`OpenMode::Existing`] and the file is
    /// missing or empty; schema-too-new when a newer program wrote it; I/O
    /// and database errors.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Self> {
        file::check_path(path)?;
        if !file::exists(path)? {
            if mode == OpenMode::Existing {
                return Err(no_database(format!("no database at {}", path.display())));
            }
            file::create_private(path)?;
        }
        let with_path = |err: Error| match err.kind() {
            ErrorKind::Database => {
                Error::new(err.kind(), format!("{}: {}", path.display(), err.message()))
            }
            _ => err,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(path, flags).map_err(|e| file::open_error(path, e))?;
        let mut store = Store {
            conn,
            path: Some(path.to_owned()),
            busy_timeout: BUSY_TIMEOUT,
            created: false,
            queue_for: None,
            origin: None,
        };
        busy::retry_busy(BUSY_TIMEOUT, || store.configure(mode)).map_err(with_path)?;
        Ok(store)
    }

    /// Opens a private in-memory database, fully migrated; for tests.
    pub fn open_in_memory() -> Result<Self> {
        let mut store = Store {
            conn: Connection::open_in_memory()?,
            path: None,
            busy_timeout: BUSY_TIMEOUT,
            created: false,
            queue_for: None,
            origin: None,
        };
        store.configure(OpenMode::Create)?;
        Ok(store)
    }

    /// Checks what the file holds, then (only if `mode` allows it) brings
    /// the schema up to date, and turns on WAL in a file it created or
    /// adopted.
    fn configure(&mut self, mode: OpenMode) -> Result<()> {
        self.conn.busy_handler(Some(busy::wait_while_busy))?;
        // Every statement a write runs stays prepared: the default cache of
        // 16 is smaller than what one memory's write with its graph runs,
        // and preparing again costs more than running.
        self.conn
            .set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        fts_text::register_fold(&self.conn)?;
        if let Some(path) = &self.path {
            wal::align_side_file_modes(path);
            wal::keep_log_on_close(&self.conn)?;
        }
        self.conn.pragma_update(None, "foreign_keys", true)?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let contents = marker::inspect(&self.conn)?;
        let shown = self
            .path
            .as_deref()
            .map_or_else(|| ":memory:".to_owned(), |p| p.display().to_string());
        admit(contents, mode, &shown)?;
        if self.path.is_some() && contents == Contents::Empty {
            // Larger pages first (they cannot change once WAL is on).
            // The vector scan reads every page of the chunks table, and
            // 16 KiB pages read it about a quarter faster than 4 KiB ones.
            self.conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        }
        match contents {
            Contents::Foreign { .. } => migrations::adopt(&mut self.conn)?,
            _ => migrations::migrate(&mut self.conn)?,
        }
        // A file of ours keeps the journal mode it has: a command that
        // writes nothing leaves its bytes as they were.
        if self.path.is_some() && !matches!(contents, Contents::Ours { .. }) {
            self.conn
                .query_row("PRAGMA journal_mode = WAL", [], |row| {
                    row.get::<_, String>(0)
                })?;
        }
        self.created = !matches!(contents, Contents::Ours { .. });
        Ok(())
    }

    /// Returns true if opening created the schema: the file was missing,
    /// empty, or (with [`OpenMode::Adopt`]) another application's.
    pub fn created(&self) -> bool {
        self.created
    }

    /// Returns the database file's path (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Returns the underlying connection for read-only queries.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `work` in a `BEGIN IMMEDIATE` transaction and commits it.
    ///
    /// The write lock is taken up front, so the transaction never has to be
    /// upgraded (which is where readers and writers deadlock into
    /// SQLITE_BUSY). If the lock is still busy after the busy timeout, or a
    /// busy error escapes the handler, the whole transaction is retried
    /// until the busy timeout has passed once more since that first failure.
    pub fn write<T>(&mut self, mut work: impl FnMut(&Tx<'_>) -> Result<T>) -> Result<T> {
        let conn = &mut self.conn;
        let queue_for = self.queue_for;
        let origin = &self.origin;
        busy::retry_busy(self.busy_timeout, || {
            let behavior = TransactionBehavior::Immediate;
            let tx = Tx::new(
                conn.transaction_with_behavior(behavior)?,
                queue_for,
                origin.clone(),
            );
            let value = work(&tx)?;
            tx.commit()?;
            Ok(value)
        })
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            wal::checkpoint_large_log(&self.conn, path);
        }
    }
}

/// Fails unless a file holding `contents` may be opened in `mode`: readers
/// need a database of ours, writers may also create one in an empty file,
/// and only adopting takes another application's; none takes a newer schema.
fn admit(contents: Contents, mode: OpenMode, shown: &str) -> Result<()> {
    match (contents, mode) {
        (Contents::Empty, OpenMode::Existing) => Err(no_database(format!(
            "{shown} is empty: it holds no sqlite-graphrag database"
        ))),
        (Contents::Foreign { application_id }, OpenMode::Adopt) if application_id != 0 => {
            Err(Error::invalid(format!(
                "{shown} belongs to another application (its application id is {application_id:#010x}); sqlite-graphrag will not claim it"
            ))
            .with_hint("keep sqlite-graphrag's memories in a file of their own: pass another --db"))
        }
        (Contents::Foreign { .. }, OpenMode::Create | OpenMode::Existing) => Err(Error::invalid(format!(
            "{shown} is not a sqlite-graphrag database: it holds another application's data"
        ))
        .with_hint(
            "pass the right --db; `sqlite-graphrag init --force` adds sqlite-graphrag's tables to this file",
        )),
        (Contents::Ours { version }, _) => migrations::check_not_newer(version),
        _ => Ok(()),
    }
}

/// A not-found error for a path without a database, with the usual hint.
fn no_database(message: String) -> Error {
    Error::not_found(message)
        .with_hint("create it with `sqlite-graphrag init`, or pass the right --db")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread;

    use super::*;

    /// The busy timeout of the store under test.
    const TEST_BUSY_TIMEOUT: Duration = Duration::from_millis(200);

    /// Set once the first write attempt has given up.
    static FIRST_ATTEMPT_FAILED: AtomicBool = AtomicBool::new(false);

    /// A busy handler like SQLite's own for the first attempt (wait the whole
    /// busy timeout, then give up), and one that waits as long as it takes
    /// for every later attempt.
    fn busy_handler(_calls: i32) -> bool {
        if FIRST_ATTEMPT_FAILED.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(1));
            return true;
        }
        thread::sleep(TEST_BUSY_TIMEOUT);
        FIRST_ATTEMPT_FAILED.store(true, Ordering::SeqCst);
        false
    }

    #[test]
    fn a_write_that_stays_busy_for_a_whole_busy_timeout_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.sqlite");
        let mut store = Store::open(&path, OpenMode::Create).unwrap();
        store.busy_timeout = TEST_BUSY_TIMEOUT;
        store.conn.busy_handler(Some(busy_handler)).unwrap();
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();

        let writer = thread::spawn(move || {
            store.write(|tx| {
                Ok(tx.execute(
                    "INSERT INTO namespaces (name, created_at) VALUES ('late', 1)",
                    [],
                )?)
            })
        });
        while !FIRST_ATTEMPT_FAILED.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(1));
        }
        holder.execute_batch("COMMIT").unwrap();
        assert_eq!(writer.join().unwrap().unwrap(), 1);
    }
}
