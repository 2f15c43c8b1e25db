//! Upkeep of the database file: `vacuum` rewrites it without free pages;
//! `optimize` refreshes the query planner's statistics and merges the
//! word indexes' segments.

use std::path::Path;

use serde::Serialize;

use super::Store;
use super::busy::retry_busy;
use crate::error::Result;

/// What `vacuum` did.
#[derive(Debug, Clone, Serialize)]
pub struct VacuumReport {
    /// The database file.
    pub db: String,
    /// Its size with its write-ahead log before, in bytes.
    pub bytes_before: u64,
    /// Its size with its write-ahead log after, in bytes.
    pub bytes_after: u64,
}

/// What `optimize` did.
#[derive(Debug, Clone, Serialize)]
pub struct OptimizeReport {
    /// The database file.
    pub db: String,
    /// The full-text indexes whose segments were merged into one.
    pub fts_merged: Vec<String>,
    /// The tables and indexes the planner now has statistics for.
    pub analyzed: u64,
    /// Whether the write-ahead log was copied into the database and emptied
    /// (not when other processes were reading it).
    pub checkpointed: bool,
}

impl Store {
    /// Rebuilds the database file without its free pages (`VACUUM`), then
    /// copies the log into it and truncates the log.
    ///
    /// # Failure
    /// Busy when other writers keep the lock past the busy timeout;
    /// database errors.
    pub fn vacuum(&mut self) -> Result<VacuumReport> {
        let bytes_before = self.size_on_disk();
        retry_busy(self.busy_timeout, || {
            Ok(self.conn.execute_batch("VACUUM")?)
        })?;
        self.checkpoint()?;
        Ok(VacuumReport {
            db: self.shown(),
            bytes_before,
            bytes_after: self.size_on_disk(),
        })
    }

    /// Runs `PRAGMA optimize` with analysis of every table that needs it,
    /// merges each FTS5 index's segments, and copies the log into the
    /// database.
    ///
    /// # Failure
    /// Busy when other writers keep the lock past the busy timeout;
    /// database errors.
    pub fn optimize(&mut self) -> Result<OptimizeReport> {
        let fts_tables: Vec<String> = {
            let mut statement = self.conn.prepare(
                "SELECT name FROM sqlite_schema
                 WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE % USING fts5%'
                 ORDER BY name",
            )?;
            statement
                .query_map([], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        for table in &fts_tables {
            let quoted = table.replace('"', "\"\"");
            self.write(|tx| {
                tx.execute(
                    &format!("INSERT INTO \"{quoted}\" (\"{quoted}\") VALUES ('optimize')"),
                    [],
                )?;
                Ok(())
            })?;
        }
        // 0x10002: analyse every table whose statistics are missing or
        // stale, not only those this connection has queried.
        retry_busy(self.busy_timeout, || {
            Ok(self.conn.execute_batch("PRAGMA optimize = 0x10002")?)
        })?;
        let analyzed: u64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'",
                [],
                |row| row.get::<_, i64>(0),
            )
            .and_then(|present| match present {
                0 => Ok(0),
                _ => self.conn.query_row(
                    "SELECT count(DISTINCT coalesce(idx, tbl)) FROM sqlite_stat1",
                    [],
                    |row| row.get::<_, i64>(0),
                ),
            })?
            .try_into()
            .unwrap_or(0);
        let checkpointed = self.checkpoint()?;
        Ok(OptimizeReport {
            db: self.shown(),
            fts_merged: fts_tables,
            analyzed,
            checkpointed,
        })
    }

    /// Copies the write-ahead log into the database and truncates it;
    /// returns false when readers kept part of it in use.
    fn checkpoint(&self) -> Result<bool> {
        if self.path.is_none() {
            return Ok(true);
        }
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
        Ok(busy == 0)
    }

    /// The database file's size plus its log's, in bytes (0 in memory).
    fn size_on_disk(&self) -> u64 {
        let Some(path) = self.path.as_deref() else {
            return 0;
        };
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        size(path) + size(Path::new(&wal))
    }

    /// The database's path as printed.
    fn shown(&self) -> String {
        self.path
            .as_deref()
            .map_or_else(|| ":memory:".to_owned(), |p| p.display().to_string())
    }
}
