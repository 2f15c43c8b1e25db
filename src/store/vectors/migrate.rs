//! Moves vectors from rows of one chunk into vector blocks, keeping every
//! vector byte for byte: those of a database from before blocks
//! (`chunks_before_blocks`, left by migration 10's SQL), and the staged
//! vectors of a move to another embedding space when it is swapped in.

use rusqlite::Connection;

use super::blocks::{ChunkVector, Slot, append_chunks};
use crate::error::{Error, ErrorKind, Result};
use crate::memory::MemoryId;

/// Chunks appended at a time while moving.
const MOVE_BATCH: usize = 4_096;

/// One chunk as the old table held it.
struct OldChunk {
    memory_id: MemoryId,
    seq: u16,
    start: usize,
    end: usize,
    scale: f32,
    vector: Vec<u8>,
}

/// Moves every row of `chunks_before_blocks` into vector blocks and
/// `chunks`, then drops the old table.
///
/// # Failure
/// As [`rows_into_blocks`].
pub fn move_into_blocks(conn: &Connection) -> Result<()> {
    rows_into_blocks(conn, "chunks_before_blocks")?;
    conn.execute_batch("DROP TABLE chunks_before_blocks")?;
    Ok(())
}

/// Appends the vectors of `table` (rows of one chunk: namespace, memory,
/// chunk number, byte range, scale, vector) to the vector blocks and
/// `chunks`, namespace by namespace in memory order.
///
/// # Failure
/// A database error; a chunk whose vector is not of the others' dimension.
pub fn rows_into_blocks(conn: &Connection, table: &str) -> Result<()> {
    let mut stmt = conn.prepare(&format!(
        "SELECT namespace, memory_id, seq, start, end, scale, vector FROM {table}
         ORDER BY namespace, memory_id, seq"
    ))?;
    let mut rows = stmt.query([])?;
    let mut namespace = String::new();
    let mut pending: Vec<OldChunk> = Vec::new();
    while let Some(row) = rows.next()? {
        let row_namespace: String = row.get(0)?;
        let chunk = OldChunk {
            memory_id: row.get(1)?,
            seq: u16::try_from(row.get::<_, i64>(2)?).map_err(|_| bad_chunk())?,
            start: row.get::<_, i64>(3)? as usize,
            end: row.get::<_, i64>(4)? as usize,
            scale: row.get::<_, f64>(5)? as f32,
            vector: row.get(6)?,
        };
        let memory_ends = pending
            .last()
            .is_some_and(|last| last.memory_id != chunk.memory_id || row_namespace != namespace);
        if memory_ends && (row_namespace != namespace || pending.len() >= MOVE_BATCH) {
            flush(conn, &namespace, &mut pending)?;
        }
        namespace = row_namespace;
        pending.push(chunk);
    }
    flush(conn, &namespace, &mut pending)
}

fn bad_chunk() -> Error {
    Error::new(ErrorKind::Database, "a chunk numbered beyond 65,535")
}

/// Appends `pending` (whole memories of `namespace`) and empties it.
fn flush(conn: &Connection, namespace: &str, pending: &mut Vec<OldChunk>) -> Result<()> {
    let Some(first) = pending.first() else {
        return Ok(());
    };
    let dim = first.vector.len();
    let mut chunks = Vec::with_capacity(pending.len());
    for memory in pending.chunk_by(|a, b| a.memory_id == b.memory_id) {
        let count = u16::try_from(memory.len()).map_err(|_| bad_chunk())?;
        chunks.extend(memory.iter().map(|chunk| ChunkVector {
            slot: Slot {
                memory_id: chunk.memory_id,
                seq: chunk.seq,
                chunks: count,
                scale: chunk.scale,
            },
            start: chunk.start,
            end: chunk.end,
            vector: &chunk.vector,
        }));
    }
    append_chunks(conn, namespace, dim, &chunks)?;
    pending.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, params};

    use crate::store::migrations::{Tracking, migrate, migrate_to};
    use crate::store::vectors::blocks::stored_vector;
    use crate::store::vectors::center::stored_center;

    /// A vector of schema 9: `dim` int8 values from `seed`.
    fn old_vector(dim: usize, seed: usize) -> Vec<u8> {
        (0..dim)
            .map(|i| ((i * 31 + seed * 17) % 255) as u8)
            .collect()
    }

    #[test]
    fn moving_into_blocks_keeps_every_vector() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::fts_text::register_fold(&conn).unwrap();
        migrate_to(&mut conn, 9, Tracking::AsFound).unwrap();
        let dim = 24;
        let mut expected = Vec::new();
        for i in 0..700usize {
            let namespace = ["global", "team"][i % 2];
            conn.execute(
                "INSERT INTO namespaces (name, created_at) VALUES (?1, 1) ON CONFLICT DO NOTHING",
                [namespace],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO memories (namespace, name, type, description, body, metadata, version, created_at, updated_at)
                 VALUES (?1, ?2, 'note', '', 'b', '{}', 1, 1, 1)",
                params![namespace, format!("m{i}")],
            )
            .unwrap();
            let id = conn.last_insert_rowid();
            for seq in 0..1 + i % 3 {
                let vector = old_vector(dim, i * 3 + seq);
                let scale = 0.001 * (1 + i % 7) as f64;
                conn.execute(
                    "INSERT INTO chunks (namespace, memory_id, seq, start, end, scale, vector)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        namespace,
                        id,
                        seq as i64,
                        seq as i64 * 10,
                        seq as i64 * 10 + 5,
                        scale,
                        vector
                    ],
                )
                .unwrap();
                expected.push((id, seq as u32, scale as f32, vector));
            }
        }
        conn.execute(
            "INSERT INTO embedding_space (id, model, dim) VALUES (1, 'test:old', ?1)",
            [dim as i64],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert!(expected.len() > 1_024);
        for (id, seq, scale, vector) in &expected {
            let memory = crate::memory::MemoryId::from_row_id(*id);
            assert_eq!(stored_vector(&conn, memory, *seq), (*scale, vector.clone()));
            let range: (i64, i64) = conn
                .query_row(
                    "SELECT start, end FROM chunks WHERE memory_id = ?1 AND seq = ?2",
                    params![id, seq],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .unwrap();
            assert_eq!(range, (i64::from(*seq) * 10, i64::from(*seq) * 10 + 5));
        }
        let chunks: i64 = conn
            .query_row("SELECT count(*) FROM chunks", [], |row| row.get(0))
            .unwrap();
        assert_eq!(chunks as usize, expected.len());
        assert!(stored_center(&conn).unwrap().is_some());
        let old: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'chunks_before_blocks'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(old, 0);
    }
}
