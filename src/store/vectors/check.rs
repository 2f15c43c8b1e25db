//! The consistency checks of the vector blocks that `health` runs.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;

use super::blocks::{SLOT_BYTES, Slot};
use super::center::code_bytes;
use crate::error::Result;

/// Returns each kind of inconsistency found in the vector blocks, with
/// how many rows have it; empty when they are sound.
pub fn vector_problems(conn: &Connection, dim: usize) -> Result<Vec<(&'static str, i64)>> {
    let dead: HashSet<(i64, i64)> = conn
        .prepare("SELECT block, slot FROM dead_slots")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut slots: HashMap<i64, Vec<u8>> = HashMap::new();
    let (mut misshapen, mut live_slots) = (0, 0);
    let mut blocks = conn.prepare(
        "SELECT b.id, b.used, b.slots, length(b.vectors), length(s.codes) FROM vector_blocks b
         LEFT JOIN vector_codes s ON s.namespace = b.namespace AND s.block = b.id",
    )?;
    let mut rows = blocks.query([])?;
    while let Some(row) = rows.next()? {
        let (id, used): (i64, i64) = (row.get(0)?, row.get(1)?);
        let block_slots: Vec<u8> = row.get(2)?;
        let (vector_bytes, sign_bytes_held): (i64, Option<i64>) = (row.get(3)?, row.get(4)?);
        let used_slots = usize::try_from(used).unwrap_or(usize::MAX);
        if Some(block_slots.len()) != used_slots.checked_mul(SLOT_BYTES)
            || Some(vector_bytes as usize) != used_slots.checked_mul(dim)
            || sign_bytes_held.map(|b| b as usize) != used_slots.checked_mul(code_bytes(dim))
        {
            misshapen += 1;
            continue;
        }
        live_slots += (0..used)
            .filter(|&slot| !dead.contains(&(id, slot)))
            .count() as i64;
        slots.insert(id, block_slots);
    }
    let mut misplaced = 0;
    let mut chunks = 0;
    let mut stmt = conn.prepare("SELECT memory_id, seq, block, slot FROM chunks")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        chunks += 1;
        let (memory_id, seq, block, slot): (i64, i64, i64, i64) =
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
        let found = slots
            .get(&block)
            .filter(|held| slot >= 0 && ((slot as usize) + 1) * SLOT_BYTES <= held.len())
            .map(|held| Slot::decode(held, slot as usize));
        let matches = found
            .is_some_and(|s| s.memory_id.row_id() == memory_id && i64::from(s.seq) == seq)
            && !dead.contains(&(block, slot));
        if !matches {
            misplaced += 1;
        }
    }
    let forgotten: i64 = conn.query_row(
        "SELECT count(*) FROM chunks c JOIN memories m ON m.id = c.memory_id
         WHERE m.deleted_at IS NOT NULL",
        [],
        |row| row.get(0),
    )?;
    let found = [
        ("vector block whose sizes disagree", misshapen),
        ("chunk whose vector slot holds another chunk", misplaced),
        (
            "live vector slot no chunk points at",
            (live_slots - chunks + misplaced).max(0),
        ),
        ("chunk of a forgotten memory", forgotten),
    ];
    Ok(found.into_iter().filter(|&(_, rows)| rows > 0).collect())
}
