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
