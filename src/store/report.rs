//! Reports about the whole database: per-namespace counts, size, health.

use rusqlite::OptionalExtension;
use serde::Serialize;

use super::Store;
use super::chunks::stored_space;
use super::embedding_cache::CacheSize;
use super::migrations::{LATEST_VERSION, schema_version};
use super::origins::origin_from_row;
use super::vectors::check::vector_problems;
use crate::error::Result;
use crate::memory::NamespaceOrigin;

/// Counts for one namespace.
#[derive(Debug, Clone, Serialize)]
pub struct NamespaceStats {
    /// The namespace.
    pub namespace: String,
    /// Live memories.
    pub memories: i64,
    /// Forgotten (restorable) memories.
    pub forgotten: i64,
    /// Version rows of all its memories.
    pub versions: i64,
    /// Where its name came from when `--namespace auto` derived it; `null`
    /// for a name given as is.
    pub origin: Option<NamespaceOrigin>,
}

/// Counts and sizes for the whole database.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// The database file.
    pub db: String,
    /// Bytes on disk: the database file plus its write-ahead log.
    pub db_size_bytes: u64,
    /// The schema version.
    pub schema_version: u32,
    /// Live memories in all namespaces.
    pub memories: i64,
    /// Forgotten memories in all namespaces.
    pub forgotten: i64,
    /// Version rows in all namespaces.
    pub versions: i64,
    /// Per-namespace counts, by name.
    pub namespaces: Vec<NamespaceStats>,
    /// The vectors kept by the embedding cache of HTTP embedders.
    pub embedding_cache: CacheSize,
    /// A move to another embedding space under way (`reindex`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reindex_under_way: Option<MoveUnderWay>,
}

/// A move to another embedding space that `reindex` began.
#[derive(Debug, Clone, Serialize)]
pub struct MoveUnderWay {
    /// The space moved to.
    pub model: String,
    /// Live memories still waiting for vectors of that space.
    pub waiting: i64,
}

/// The result of `health`.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// True when every check passed.
    pub ok: bool,
    /// `PRAGMA quick_check` output: `["ok"]` when sound.
    pub integrity: Vec<String>,
    /// True when the FTS index holds exactly the live memories.
    pub fts_consistent: bool,
    /// Rows in the FTS index.
    pub fts_rows: i64,
    /// Live memories.
    pub live_memories: i64,
    /// True when the schema is at this program's version.
    pub schema_current: bool,
    /// The graph's consistency problems, each with how many rows have it;
    /// empty when the graph is sound.
    pub graph_problems: Vec<Problem>,
    /// The vector blocks' consistency problems, each with how many rows
    /// have it; empty when they are sound.
    pub vector_problems: Vec<Problem>,
}

/// One kind of inconsistency, and how many rows have it.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// What is wrong.
    pub problem: &'static str,
    /// How many rows.
    pub rows: i64,
}

/// Each graph check: what it finds, and the query counting it.
const GRAPH_CHECKS: &[(&str, &str)] = &[
    (
        "rows that reference a missing row",
        "SELECT count(*) FROM pragma_foreign_key_check",
    ),
    (
        "relationships that nothing asserts",
        "SELECT count(*) FROM relationships r
         WHERE NOT EXISTS (SELECT 1 FROM assertions WHERE relationship_id = r.id)",
    ),
    (
        "entities without mentions or relationships",
        "SELECT count(*) FROM entities e
         WHERE NOT EXISTS (SELECT 1 FROM mentions WHERE entity_id = e.id)
           AND NOT EXISTS (SELECT 1 FROM relationships WHERE source_id = e.id OR target_id = e.id)",
    ),
    (
        "relationships between entities of different namespaces",
        "SELECT count(*) FROM relationships r JOIN entities s ON s.id = r.source_id
         JOIN entities t ON t.id = r.target_id WHERE s.namespace <> t.namespace",
    ),
    (
        "mentions by a memory of another namespace",
        "SELECT count(*) FROM mentions mm JOIN memories m ON m.id = mm.memory_id
         JOIN entities e ON e.id = mm.entity_id WHERE m.namespace <> e.namespace",
    ),
    (
        "assertions from a memory version that does not exist",
        "SELECT count(*) FROM assertions a JOIN memories m ON m.id = a.memory_id
         WHERE a.version > m.version OR a.version < 1",
    ),
    (
        "mentions from a memory version that does not exist",
        "SELECT count(*) FROM mentions mm JOIN memories m ON m.id = mm.memory_id
         WHERE mm.version > m.version OR mm.version < 1",
    ),
    (
        "aliases that are also an entity's name",
        "SELECT count(*) FROM entity_aliases a JOIN entities e
         ON e.namespace = a.namespace AND e.key = a.key",
    ),
    (
        "relationships from an entity to itself",
        "SELECT count(*) FROM relationships WHERE source_id = target_id",
    ),
];

impl Store {
    /// Returns live, forgotten and version counts per namespace, including
    /// namespaces that are now empty.
    pub fn namespaces(&self) -> Result<Vec<NamespaceStats>> {
        let mut stmt = self.conn().prepare(
            "SELECT n.name,
                    (SELECT count(*) FROM memories m WHERE m.namespace = n.name AND m.deleted_at IS NULL),
                    (SELECT count(*) FROM memories m WHERE m.namespace = n.name AND m.deleted_at IS NOT NULL),
                    (SELECT count(*) FROM memory_versions v JOIN memories m ON m.id = v.memory_id
                     WHERE m.namespace = n.name),
                    n.origin_source, n.origin_detail
             FROM namespaces n ORDER BY n.name",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(NamespaceStats {
                namespace: row.get(0)?,
                memories: row.get(1)?,
                forgotten: row.get(2)?,
                versions: row.get(3)?,
                origin: origin_from_row(row, 4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Returns counts per namespace and totals, with the size on disk.
    pub fn stats(&self) -> Result<Stats> {
        let namespaces = self.namespaces()?;
        let (db, db_size_bytes) = match self.path() {
            Some(path) => {
                let mut wal = path.as_os_str().to_owned();
                wal.push("-wal");
                let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                (path.display().to_string(), size(path) + size(wal.as_ref()))
            }
            None => (":memory:".to_owned(), 0),
        };
        Ok(Stats {
            db,
            db_size_bytes,
            schema_version: schema_version(self.conn())?,
            memories: namespaces.iter().map(|n| n.memories).sum(),
            forgotten: namespaces.iter().map(|n| n.forgotten).sum(),
            versions: namespaces.iter().map(|n| n.versions).sum(),
            namespaces,
            embedding_cache: self.embedding_cache_size()?,
            reindex_under_way: self
                .conn()
                .query_row(
                    "SELECT model, (SELECT count(*) FROM staged_backlog) FROM reindex_stage",
                    [],
                    |row| {
                        Ok(MoveUnderWay {
                            model: row.get(0)?,
                            waiting: row.get(1)?,
                        })
                    },
                )
                .optional()?,
        })
    }

    /// From one read snapshot (so that other processes' commits cannot land
    /// between two counts): SQLite's quick check, the index's row count
    /// against the live memories', and the checks of the graph and the
    /// vector blocks; then FTS5's integrity check of the index against the
    /// memories, in its own transaction.
    pub fn health(&self) -> Result<Health> {
        let conn = self.conn();
        let snapshot = conn.unchecked_transaction()?;
        // FTS5 keeps the index layout it read in an earlier statement, and
        // the quick check's pass over the index does not reread it; opening
        // a cursor does, so that the check reads this snapshot's layout.
        conn.query_row(
            "SELECT count(*) FROM memories_fts WHERE rowid = 0",
            [],
            |_| Ok(()),
        )?;
        let integrity = conn
            .prepare("PRAGMA quick_check")?
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let count = |sql: &str| conn.query_row(sql, [], |row| row.get::<_, i64>(0));
        let fts_rows = count("SELECT count(*) FROM memories_fts_docsize")?;
        let live_memories = count("SELECT count(*) FROM memories WHERE deleted_at IS NULL")?;
        let schema_current = schema_version(conn)? == LATEST_VERSION;
        let mut graph_problems = Vec::new();
        for &(problem, sql) in GRAPH_CHECKS {
            let rows = count(sql)?;
            if rows > 0 {
                graph_problems.push(Problem { problem, rows });
            }
        }
        let vector_problems: Vec<Problem> = match stored_space(conn)? {
            Some(space) => vector_problems(conn, space.dim as usize)?
                .into_iter()
                .map(|(problem, rows)| Problem { problem, rows })
                .collect(),
            None => Vec::new(),
        };
        drop(snapshot);
        let index_matches_content = match conn.execute(
            "INSERT INTO memories_fts (memories_fts, rank) VALUES ('integrity-check', 1)",
            [],
        ) {
            Ok(_) => true,
            Err(err) if err.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
                false
            }
            Err(err) => return Err(err.into()),
        };
        let fts_consistent = index_matches_content && fts_rows == live_memories;
        Ok(Health {
            ok: integrity == ["ok"]
                && fts_consistent
                && schema_current
                && graph_problems.is_empty()
                && vector_problems.is_empty(),
            graph_problems,
            vector_problems,
            integrity,
            fts_consistent,
            fts_rows,
            live_memories,
            schema_current,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::StaticModel;
    use crate::memory::Content;
    use crate::store::{Attached, OpenMode};

    fn remember(store: &mut Store, model: &StaticModel, name: &str) {
        let content = Content::new(None, None, format!("{name} holds words"), None).unwrap();
        store
            .remember(model, "global", name, &content, &Attached::default(), false)
            .unwrap();
    }

    #[test]
    fn a_long_open_store_checks_the_index_another_connection_rewrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memory.sqlite");
        let model = StaticModel::new();
        let mut checker = Store::open(&path, OpenMode::Create).unwrap();
        for i in 0..20 {
            remember(&mut checker, &model, &format!("m{i}"));
        }
        assert!(checker.health().unwrap().ok);
        // Another connection merges the index into one new segment and
        // deletes every segment the checker last read.
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer
            .execute(
                "INSERT INTO memories_fts (memories_fts) VALUES ('optimize')",
                [],
            )
            .unwrap();
        let health = checker.health().unwrap();
        assert!(health.ok, "{health:?}");
    }
}
