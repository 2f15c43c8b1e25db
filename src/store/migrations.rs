//! Schema migrations: ordered SQL steps keyed on the schema version.
//!
//! A database this program created keeps its schema version in
//! `PRAGMA user_version`. A database adopted from another application keeps
//! it in a one-row table of ours, [`VERSION_TABLE`], and its user version
//! stays the other application's.
//!
//! Steps are only ever appended. The pending ones run in one
//! `BEGIN IMMEDIATE` transaction that re-reads the version first (so
//! concurrent openers apply a step once) and checks
//! `PRAGMA foreign_key_check` after each step: a step that fails or would
//! orphan a row leaves the database as it was.

use rusqlite::{Connection, TransactionBehavior};

use super::marker::APPLICATION_ID;
use crate::error::{Error, ErrorKind, Result};

/// One schema step: the version it produces and the SQL that gets there.
/// Work that takes long (embedding) is queued by the SQL and done after
/// the migration, in short transactions.
struct Migration {
    version: u32,
    sql: &'static str,
    /// Work the SQL cannot do, run after it in the same transaction.
    then: Option<fn(&Connection) -> Result<()>>,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("migrations/0001_memories.sql"),
        then: None,
    },
    Migration {
        version: 2,
        sql: include_str!("migrations/0002_fts.sql"),
        then: None,
    },
    Migration {
        version: 3,
        sql: include_str!("migrations/0003_vectors.sql"),
        then: None,
    },
    Migration {
        version: 4,
        sql: include_str!("migrations/0004_vector_backlog.sql"),
        then: None,
    },
    Migration {
        version: 5,
        sql: include_str!("migrations/0005_fts_fold.sql"),
        then: None,
    },
    Migration {
        version: 6,
        sql: include_str!("migrations/0006_graph.sql"),
        then: None,
    },
    Migration {
        version: 7,
        sql: include_str!("migrations/0007_enrich_jobs.sql"),
        then: None,
    },
    Migration {
        version: 8,
        sql: include_str!("migrations/0008_space_moves.sql"),
        then: None,
    },
    Migration {
        version: 9,
        sql: include_str!("migrations/0009_enrich_jobs_chat.sql"),
        then: None,
    },
    Migration {
        version: 10,
        sql: include_str!("migrations/0010_vector_blocks.sql"),
        then: Some(super::vectors::migrate::move_into_blocks),
    },
    Migration {
        version: 11,
        sql: include_str!("migrations/0011_namespace_origin.sql"),
        then: None,
    },
    Migration {
        version: 12,
        sql: include_str!("migrations/0012_assertions_by_relationship.sql"),
        then: None,
    },
];

/// The schema version this program writes.
pub const LATEST_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The table holding the schema version of an adopted database.
const VERSION_TABLE: &str = "graphrag_schema";

/// Reads the schema version of an open database.
pub fn schema_version(conn: &Connection) -> Result<u32> {
    Ok(stored_version(conn)?)
}

/// Reads the schema version from [`VERSION_TABLE`] if the database has
/// one, else from `PRAGMA user_version`.
pub(crate) fn stored_version(conn: &Connection) -> rusqlite::Result<u32> {
    if has_version_table(conn)? {
        conn.query_row(&format!("SELECT version FROM {VERSION_TABLE}"), [], |row| {
            row.get(0)
        })
    } else {
        conn.pragma_query_value(None, "user_version", |row| row.get(0))
    }
}

fn has_version_table(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [VERSION_TABLE],
        |row| row.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Records `version` where [`stored_version`] reads it.
fn store_version(conn: &Connection, version: u32) -> rusqlite::Result<()> {
    if has_version_table(conn)? {
        conn.execute(
            &format!("UPDATE {VERSION_TABLE} SET version = ?1"),
            [version],
        )?;
        Ok(())
    } else {
        conn.pragma_update(None, "user_version", version)
    }
}

/// Where a migration keeps the schema version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tracking {
    /// Where the database already keeps it (`user_version` in a new file).
    AsFound,
    /// In [`VERSION_TABLE`], created at version 0 if missing: the database
    /// is another application's, whose user version is left alone.
    Adopted,
}

/// Brings the database up to [`LATEST_VERSION`].
///
/// # Failure
/// Schema-too-new if the database is ahead of this program; a database error
/// (with nothing applied) if a step fails or breaks a foreign key.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, LATEST_VERSION, Tracking::AsFound)
}

/// Adds the whole schema to another application's database, whatever its
/// user version holds, and marks it as ours.
///
/// # Failure
/// As [`migrate`]; nothing is changed.
pub(crate) fn adopt(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, LATEST_VERSION, Tracking::Adopted)
}

/// Fails with schema-too-new if `version` is ahead of this program.
pub(crate) fn check_not_newer(version: u32) -> Result<()> {
    if version > LATEST_VERSION {
        return Err(Error::new(
            ErrorKind::SchemaTooNew,
            format!(
                "database schema version {version} is newer than this program's {LATEST_VERSION}"
            ),
        )
        .with_hint("upgrade sqlite-graphrag"));
    }
    Ok(())
}

/// Applies the steps up to and including `target`, and marks the database
/// as ours with its application id, in one transaction; a database already
/// there is not locked for writing.
pub(crate) fn migrate_to(conn: &mut Connection, target: u32, tracking: Tracking) -> Result<()> {
    if tracking == Tracking::AsFound {
        let current = schema_version(conn)?;
        check_not_newer(current)?;
        if current >= target && is_marked(conn)? {
            return Ok(());
        }
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if tracking == Tracking::Adopted && !has_version_table(&tx)? {
        tx.execute_batch(&format!(
            "CREATE TABLE {VERSION_TABLE} (version INTEGER NOT NULL);
             INSERT INTO {VERSION_TABLE} (version) VALUES (0);"
        ))?;
    }
    let current = schema_version(&tx)?;
    check_not_newer(current)?;
    for step in MIGRATIONS
        .iter()
        .filter(|m| m.version > current && m.version <= target)
    {
        tx.execute_batch(step.sql)?;
        if let Some(then) = step.then {
            then(&tx)?;
        }
        let orphans: i64 =
            tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
                row.get(0)
            })?;
        if orphans > 0 {
            return Err(Error::new(
                ErrorKind::Database,
                format!(
                    "migration to schema version {} would leave {orphans} rows with broken references; nothing was changed",
                    step.version
                ),
            ));
        }
        store_version(&tx, step.version)?;
        tracing::info!("migrating database to schema version {}", step.version);
    }
    if !is_marked(&tx)? {
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    tx.commit()?;
    Ok(())
}

/// Whether the database carries our application id.
fn is_marked(conn: &Connection) -> rusqlite::Result<bool> {
    let id: i32 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    Ok(id == APPLICATION_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes rows with the SQL of schema `version` and returns how many
    /// namespaces, memories and versions every later schema must still hold.
    fn seed(conn: &Connection, version: u32) -> [i64; 3] {
        if version == 0 {
            return [1, 0, 0];
        }
        conn.execute_batch(
            "INSERT INTO namespaces (name, created_at) VALUES ('team', 1);
             INSERT INTO memories (namespace, name, type, description, body, metadata, version, created_at, updated_at, deleted_at)
             VALUES ('global', 'alpha', 'note', 'first', 'the quick brown fox', '{}', 2, 1, 2, NULL),
                    ('team', 'beta', 'decision', '', 'use sqlite for storage', '{\"k\":1}', 1, 1, 1, NULL),
                    ('team', 'gamma', 'note', '', 'forgotten fox tale', '{}', 2, 1, 3, 3);
             INSERT INTO memory_versions (memory_id, version, action, name, type, description, body, metadata, deleted, recorded_at)
             SELECT id, 1, 'created', name, type, description, body, metadata, 0, 1 FROM memories;
             INSERT INTO memory_versions (memory_id, version, action, name, type, description, body, metadata, deleted, recorded_at)
             SELECT id, 2, 'updated', name, type, description, body, metadata, deleted_at IS NOT NULL, 2
             FROM memories WHERE version = 2;",
        )
        .unwrap();
        [2, 3, 5]
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |row| row.get(0)).unwrap()
    }

    /// Every schema version a database can be at before the latest.
    fn earlier_versions() -> impl Iterator<Item = u32> {
        std::iter::once(0).chain(
            MIGRATIONS
                .iter()
                .map(|m| m.version)
                .filter(|&v| v < LATEST_VERSION),
        )
    }

    #[test]
    fn every_earlier_version_migrates_without_losing_rows() {
        for from in earlier_versions() {
            let mut conn = Connection::open_in_memory().unwrap();
            super::super::fts_text::register_fold(&conn).unwrap();
            conn.pragma_update(None, "foreign_keys", true).unwrap();
            migrate_to(&mut conn, from, Tracking::AsFound).unwrap();
            assert_eq!(schema_version(&conn).unwrap(), from);
            let expected = seed(&conn, from);
            migrate(&mut conn).unwrap();
            assert_eq!(schema_version(&conn).unwrap(), LATEST_VERSION);
            let kept = [
                count(&conn, "SELECT count(*) FROM namespaces"),
                count(&conn, "SELECT count(*) FROM memories"),
                count(&conn, "SELECT count(*) FROM memory_versions"),
            ];
            assert_eq!(kept, expected, "rows lost migrating from version {from}");
            let live = count(
                &conn,
                "SELECT count(*) FROM memories WHERE deleted_at IS NULL",
            );
            let indexed = count(
                &conn,
                "SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'fox OR sqlite'",
            );
            assert_eq!(
                indexed, live,
                "live rows not indexed after migrating from {from}"
            );
            let waiting = count(&conn, "SELECT count(*) FROM vector_backlog");
            let listed_by_migration = if from < 4 { live } else { 0 };
            assert_eq!(
                waiting, listed_by_migration,
                "live rows not waiting for vectors after migrating from {from}"
            );
            conn.execute(
                "INSERT INTO memories_fts (memories_fts, rank) VALUES ('integrity-check', 1)",
                [],
            )
            .unwrap();
        }
    }

    #[test]
    fn the_enrich_queue_keeps_its_jobs_and_takes_the_chat_backend() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::fts_text::register_fold(&conn).unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        migrate_to(&mut conn, 7, Tracking::AsFound).unwrap();
        seed(&conn, 7);
        conn.execute_batch(
            "INSERT INTO enrich_jobs (memory_id, version, backend, state, attempts, next_attempt_at,
                                      lease_pid, lease_token, lease_expires_at, last_error,
                                      queued_at, updated_at)
             VALUES (1, 2, 'claude', 'queued', 0, 10, NULL, NULL, NULL, NULL, 5, 5),
                    (2, 1, 'codex', 'running', 1, 10, 42, 7, 99, NULL, 5, 6),
                    (1, 2, 'codex', 'failed', 8, 10, NULL, NULL, NULL, 'rate limit', 5, 7);",
        )
        .unwrap();
        let jobs = |conn: &Connection| -> Vec<String> {
            let mut statement = conn
                .prepare(
                    "SELECT id || memory_id || version || backend || state || attempts
                            || next_attempt_at || ifnull(lease_pid, '-') || ifnull(lease_token, '-')
                            || ifnull(last_error, '-') || queued_at || updated_at
                     FROM enrich_jobs ORDER BY id",
                )
                .unwrap();
            statement
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let before = jobs(&conn);
        let chat = "INSERT INTO enrich_jobs (memory_id, version, backend, next_attempt_at, queued_at, updated_at)
                    VALUES (2, 1, 'openai-compatible', 1, 1, 1)";
        assert!(conn.execute(chat, []).is_err(), "version 7 refuses it");
        migrate(&mut conn).unwrap();
        assert_eq!(jobs(&conn), before);
        conn.execute(chat, []).unwrap();
        let other = chat.replace("openai-compatible", "gpt");
        assert!(conn.execute(&other, []).is_err());
        let indexed = count(
            &conn,
            "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'enrich_jobs_waiting'",
        );
        assert_eq!(indexed, 1);
        conn.execute("DELETE FROM memories WHERE id = 2", [])
            .unwrap();
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM enrich_jobs WHERE memory_id = 2"
            ),
            0,
            "jobs still go with their memory"
        );
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SchemaTooNew);
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::fts_text::register_fold(&conn).unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(schema_version(&conn).unwrap(), LATEST_VERSION);
        let marked: i32 = conn
            .pragma_query_value(None, "application_id", |row| row.get(0))
            .unwrap();
        assert_eq!(marked, APPLICATION_ID);
    }
}
