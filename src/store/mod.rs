//! The SQLite store: one connection, configured and migrated when opened.
//!
//! A [`Store`] that exists is ready to use. Its methods are spread over topic
//! files: `memories` (the lifecycle of one memory), `listing`, `import`,
//! `fts` (word search), `report` (stats and health).

mod backlog;
mod chunks;
mod fts;
mod fts_text;
mod jsonl;
mod listing;
mod memories;
pub mod migrations;
mod report;
mod scope;

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{Error, ErrorKind, Result};

pub use backlog::ReindexReport;
pub use chunks::{CHUNK_BYTES, CHUNK_OVERLAP, VectorHit, chunk_ranges};
pub use jsonl::{ImportError, ImportLine, ImportReport};
pub use listing::ListFilter;
pub use memories::{Action, ContentPatch, Outcome, VersionRow};
pub use report::{Health, NamespaceStats, Stats};
pub use scope::Scope;

/// How long a statement waits for another process's lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Page size of a new database file, in bytes.
pub const PAGE_SIZE: u32 = 16 * 1024;

/// Whether opening may create the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the file (and its folder) if missing.
    Create,
    /// Fail with not-found if the file is missing.
    Existing,
}

/// An open, configured and fully migrated database.
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
}

impl Store {
    /// Opens the database at `path`, applies the connection pragmas and runs
    /// any pending migrations.
    ///
    /// # Failure
    /// Not-found when `mode` is [`OpenMode::Existing`] and the file is missing;
    /// schema-too-new when a newer program wrote it; I/O and database errors.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Self> {
        let exists = path.exists();
        if !exists && mode == OpenMode::Existing {
            return Err(
                Error::not_found(format!("no database at {}", path.display()))
                    .with_hint("create it with `sqlite-graphrag init`, or pass the right --db"),
            );
        }
        if let Some(parent) = path
            .parent()
            .filter(|p| !exists && !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
        }
        let flags = match mode {
            OpenMode::Create => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            OpenMode::Existing => OpenFlags::SQLITE_OPEN_READ_WRITE,
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        let mut store = Store {
            conn,
            path: Some(path.to_owned()),
        };
        retry_busy(|| store.configure())?;
        Ok(store)
    }

    /// Opens a private in-memory database, fully migrated; for tests.
    pub fn open_in_memory() -> Result<Self> {
        let mut store = Store {
            conn: Connection::open_in_memory()?,
            path: None,
        };
        store.configure()?;
        Ok(store)
    }

    fn configure(&mut self) -> Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        fts_text::register_fold(&self.conn)?;
        self.conn.pragma_update(None, "foreign_keys", true)?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        if self.path.is_some() && !mode.eq_ignore_ascii_case("wal") {
            // Only a new, empty database is not in WAL mode yet: give it
            // larger pages first (they cannot change once WAL is on). The
            // vector scan reads every page of the chunks table, and 16 KiB
            // pages read it about a quarter faster than 4 KiB ones.
            self.conn.pragma_update(None, "page_size", PAGE_SIZE)?;
            self.conn
                .query_row("PRAGMA journal_mode = WAL", [], |row| {
                    row.get::<_, String>(0)
                })?;
        }
        migrations::migrate(&mut self.conn)?;
        Ok(())
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
    /// until [`BUSY_TIMEOUT`] has passed once more.
    pub fn write<T>(&mut self, mut work: impl FnMut(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let conn = &mut self.conn;
        retry_busy(|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = work(&tx)?;
            tx.commit()?;
            Ok(value)
        })
    }
}

/// Runs `attempt` again while it fails with a busy error, for up to [`BUSY_TIMEOUT`].
fn retry_busy<T>(mut attempt: impl FnMut() -> Result<T>) -> Result<T> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(2);
    loop {
        match attempt() {
            Err(err) if err.kind() == ErrorKind::Busy && Instant::now() < deadline => {
                tracing::debug!("database busy, retrying: {err}");
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            result => return result,
        }
    }
}
