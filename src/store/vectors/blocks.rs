//! The vector blocks: the vectors of a namespace stored many to a row.
//!
//! A block holds up to [`block_capacity`] chunks of one namespace: their
//! [`Slot`]s (memory, chunk number, scale) in one blob and their int8
//! vectors, back to back, in another, sized so that a block of the
//! built-in model's vectors fits in one 16 KiB page: the scan reads whole
//! pages of vectors, a candidate costs one page, and an append rewrites
//! one. The codes of the same slots (sign bits and one byte, see
//! [`super::center`]) live in `vector_codes`, a table of their own, so
//! that the prefilter reads 49 bytes a vector instead of 384.
//!
//! Appends go to the namespace's last block. A chunk that is replaced or
//! forgotten leaves a dead slot, listed in `dead_slots` by a trigger on
//! `chunks`; the scan skips those, and [`compact`] rewrites the blocks
//! that hold them.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::center::{fix_center_if_due, stored_center, vector_code};
use crate::error::{Error, ErrorKind, Result};
use crate::memory::MemoryId;

/// Bytes of vectors a block holds at most: 32 vectors of 384 dimensions,
/// which with their slots fit in one 16 KiB page.
const BLOCK_VECTOR_BYTES: usize = 12 * 1024;
/// Most slots in a block, whatever the dimension.
const MAX_BLOCK_SLOTS: usize = 64;
/// Bytes of one encoded [`Slot`].
pub const SLOT_BYTES: usize = 16;
/// Dead slots a namespace may gather before a write compacts some of its
/// blocks: the scan of a namespace reads all of them.
pub const DEAD_SLOTS_BEFORE_COMPACTION: i64 = 512;
/// Most blocks one write compacts on its way, so that no single write
/// pays for a whole namespace.
const BLOCKS_PER_WRITE: usize = 32;

/// Returns how many vectors of `dim` dimensions a block holds.
pub fn block_capacity(dim: usize) -> usize {
    (BLOCK_VECTOR_BYTES / dim.max(1)).clamp(1, MAX_BLOCK_SLOTS)
}

/// What a slot records of its chunk, besides the vector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot {
    /// The memory.
    pub memory_id: MemoryId,
    /// The chunk's number in the memory.
    pub seq: u16,
    /// How many chunks the memory has.
    pub chunks: u16,
    /// The vector's scale: `value ≈ int8 × scale`.
    pub scale: f32,
}

impl Slot {
    /// Appends the slot's 16 bytes: memory id, chunk number, chunk count
    /// and scale, little-endian.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.memory_id.row_id().to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.chunks.to_le_bytes());
        out.extend_from_slice(&self.scale.to_le_bytes());
    }

    /// Reads slot `index` of a block's slots blob.
    #[inline]
    pub fn decode(slots: &[u8], index: usize) -> Slot {
        let at = &slots[index * SLOT_BYTES..(index + 1) * SLOT_BYTES];
        Slot {
            memory_id: MemoryId::from_row_id(i64::from_le_bytes(
                at[0..8].try_into().expect("8 bytes"),
            )),
            seq: u16::from_le_bytes(at[8..10].try_into().expect("2 bytes")),
            chunks: u16::from_le_bytes(at[10..12].try_into().expect("2 bytes")),
            scale: f32::from_le_bytes(at[12..16].try_into().expect("4 bytes")),
        }
    }
}

/// A chunk's vector to be written, with its slot.
#[derive(Debug, Clone)]
pub struct NewVector<'a> {
    /// What its slot records.
    pub slot: Slot,
    /// The int8 vector.
    pub vector: &'a [u8],
}

/// Where a vector was written: the block's id and the slot in it.
pub type Place = (i64, usize);

/// Appends `vectors` of `dim` dimensions to the blocks of `namespace`,
/// filling its last block first; returns where each went, in order.
///
/// # Failure
/// A database error, or a vector of another dimension than `dim`.
pub fn append(
    conn: &Connection,
    namespace: &str,
    dim: usize,
    vectors: &[NewVector<'_>],
) -> Result<Vec<Place>> {
    if let Some(v) = vectors.iter().find(|v| v.vector.len() != dim) {
        return Err(Error::new(
            ErrorKind::Database,
            format!("a vector of {} dimensions among {dim}", v.vector.len()),
        ));
    }
    let capacity = block_capacity(dim);
    let center = stored_center(conn)?;
    let center = center.as_deref();
    let mut places = Vec::with_capacity(vectors.len());
    let mut rest = vectors;
    let last: Option<(i64, usize)> = conn
        .prepare_cached(
            "SELECT id, used FROM vector_blocks WHERE namespace = ?1 ORDER BY id DESC LIMIT 1",
        )?
        .query_row([namespace], |row| {
            Ok((row.get(0)?, row.get::<_, i64>(1)? as usize))
        })
        .optional()?;
    if let Some((block, used)) = last.filter(|&(_, used)| used < capacity) {
        let (here, later) = rest.split_at(rest.len().min(capacity - used));
        extend_block(conn, namespace, block, used, &encode(here, center))?;
        places.extend((used..used + here.len()).map(|slot| (block, slot)));
        rest = later;
    }
    for group in rest.chunks(capacity) {
        let block = new_block(conn, namespace, &encode(group, center))?;
        places.extend((0..group.len()).map(|slot| (block, slot)));
    }
    if center.is_none() {
        fix_center_if_due(conn, dim)?;
    }
    Ok(places)
}

/// The slots, vectors and codes (taken with `center`) of some vectors,
/// each back to back.
struct Encoded {
    count: usize,
    slots: Vec<u8>,
    values: Vec<u8>,
    codes: Vec<u8>,
}

fn encode(vectors: &[NewVector<'_>], center: Option<&[f32]>) -> Encoded {
    let mut encoded = Encoded {
        count: vectors.len(),
        slots: Vec::with_capacity(vectors.len() * SLOT_BYTES),
        values: Vec::new(),
        codes: Vec::new(),
    };
    for v in vectors {
        v.slot.encode(&mut encoded.slots);
        encoded.values.extend_from_slice(v.vector);
        encoded
            .codes
            .extend(vector_code(v.vector, v.slot.scale, center));
    }
    encoded
}

/// Adds `added` to block `block`, which has `used` slots.
fn extend_block(
    conn: &Connection,
    namespace: &str,
    block: i64,
    used: usize,
    added: &Encoded,
) -> Result<()> {
    let (old_slots, old_values, old_codes): (Vec<u8>, Vec<u8>, Vec<u8>) = conn
        .prepare_cached(
            "SELECT b.slots, b.vectors, s.codes FROM vector_blocks b
             JOIN vector_codes s ON s.namespace = b.namespace AND s.block = b.id
             WHERE b.id = ?1",
        )?
        .query_row([block], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    conn.prepare_cached(
        "UPDATE vector_blocks SET used = ?2, slots = ?3, vectors = ?4 WHERE id = ?1",
    )?
    .execute(params![
        block,
        (used + added.count) as i64,
        [&old_slots[..], &added.slots].concat(),
        [&old_values[..], &added.values].concat()
    ])?;
    conn.prepare_cached("UPDATE vector_codes SET codes = ?3 WHERE namespace = ?1 AND block = ?2")?
        .execute(params![
            namespace,
            block,
            [&old_codes[..], &added.codes].concat()
        ])?;
    Ok(())
}

/// Writes `added` as a new block of `namespace`; returns its id.
fn new_block(conn: &Connection, namespace: &str, added: &Encoded) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO vector_blocks (namespace, used, slots, vectors) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        namespace,
        added.count as i64,
        added.slots,
        added.values
    ])?;
    let block = conn.last_insert_rowid();
    conn.prepare_cached("INSERT INTO vector_codes (namespace, block, codes) VALUES (?1, ?2, ?3)")?
        .execute(params![namespace, block, added.codes])?;
    Ok(block)
}

/// Records in `chunks` where each vector of a memory's chunks now is.
fn record_places(conn: &Connection, namespace: &str, moved: &[(Slot, Place)]) -> Result<()> {
    let mut update = conn.prepare_cached(
        "UPDATE chunks SET block = ?4, slot = ?5 WHERE namespace = ?1 AND memory_id = ?2 AND seq = ?3",
    )?;
    for (slot, (block, index)) in moved {
        update.execute(params![
            namespace,
            slot.memory_id,
            slot.seq,
            block,
            *index as i64
        ])?;
    }
    Ok(())
}

/// Compacts some blocks of `namespace` if it has gathered at least
/// [`DEAD_SLOTS_BEFORE_COMPACTION`] dead slots: at most
/// [`BLOCKS_PER_WRITE`] of them, those with the most dead slots first.
/// Returns how many dead slots were removed.
pub fn compact_if_due(conn: &Connection, namespace: &str, dim: usize) -> Result<usize> {
    let dead: i64 = conn
        .prepare_cached("SELECT count(*) FROM dead_slots WHERE namespace = ?1")?
        .query_row([namespace], |row| row.get(0))?;
    if dead < DEAD_SLOTS_BEFORE_COMPACTION {
        return Ok(0);
    }
    let mut removed = 0;
    for (namespace, blocks) in blocks_with_dead_slots(conn, Some(namespace), BLOCKS_PER_WRITE)? {
        removed += compact(conn, &namespace, dim, &blocks)?;
    }
    Ok(removed)
}

/// Returns up to `most` blocks holding dead slots in `namespace` (every
/// namespace if `None`), those with the most first, by namespace.
pub fn blocks_with_dead_slots(
    conn: &Connection,
    namespace: Option<&str>,
    most: usize,
) -> Result<Vec<(String, Vec<i64>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT namespace, block FROM dead_slots WHERE ?1 IS NULL OR namespace = ?1
         GROUP BY namespace, block ORDER BY count(*) DESC, namespace, block LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![namespace, most as i64])?;
    let mut chosen: Vec<(String, Vec<i64>)> = Vec::new();
    while let Some(row) = rows.next()? {
        let namespace: String = row.get(0)?;
        let block = row.get(1)?;
        match chosen.iter_mut().find(|(n, _)| *n == namespace) {
            Some((_, blocks)) => blocks.push(block),
            None => chosen.push((namespace, vec![block])),
        }
    }
    Ok(chosen)
}

/// Returns how many blocks hold dead slots in `namespace` (every
/// namespace if `None`).
pub fn blocks_with_dead_slots_count(conn: &Connection, namespace: Option<&str>) -> Result<u64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM (SELECT DISTINCT namespace, block FROM dead_slots
             WHERE ?1 IS NULL OR namespace = ?1)",
        )?
        .query_row([namespace], |row| row.get::<_, i64>(0))? as u64)
}

/// Rewrites `blocks` of `namespace` without their dead slots: their live
/// vectors are appended again at the namespace's end and `chunks` follows
/// them; the blocks and their dead slots are deleted. Returns how many
/// dead slots were removed.
pub fn compact(conn: &Connection, namespace: &str, dim: usize, blocks: &[i64]) -> Result<usize> {
    let mut live: Vec<(Slot, Vec<u8>)> = Vec::new();
    let mut removed = 0;
    for &block in blocks {
        let dead = dead_in_block(conn, namespace, block)?;
        let Some((used, slots, values)) = conn
            .prepare_cached(
                "SELECT used, slots, vectors FROM vector_blocks WHERE id = ?1 AND namespace = ?2",
            )?
            .query_row(params![block, namespace], |row| {
                Ok((
                    row.get::<_, i64>(0)? as usize,
                    row.get::<_, Vec<u8>>(1)?,
                    row.get::<_, Vec<u8>>(2)?,
                ))
            })
            .optional()?
        else {
            continue;
        };
        for index in (0..used).filter(|i| !dead.contains(i)) {
            live.push((
                Slot::decode(&slots, index),
                values[index * dim..(index + 1) * dim].to_vec(),
            ));
        }
        removed += dead.len();
        conn.prepare_cached("DELETE FROM vector_blocks WHERE id = ?1")?
            .execute([block])?;
        conn.prepare_cached("DELETE FROM vector_codes WHERE namespace = ?1 AND block = ?2")?
            .execute(params![namespace, block])?;
        conn.prepare_cached("DELETE FROM dead_slots WHERE namespace = ?1 AND block = ?2")?
            .execute(params![namespace, block])?;
    }
    let vectors: Vec<NewVector<'_>> = live
        .iter()
        .map(|(slot, vector)| NewVector {
            slot: *slot,
            vector,
        })
        .collect();
    let places = append(conn, namespace, dim, &vectors)?;
    let moved: Vec<(Slot, Place)> = live.iter().map(|(slot, _)| *slot).zip(places).collect();
    record_places(conn, namespace, &moved)?;
    Ok(removed)
}

/// Returns the dead slots of one block.
fn dead_in_block(conn: &Connection, namespace: &str, block: i64) -> Result<Vec<usize>> {
    let mut stmt =
        conn.prepare_cached("SELECT slot FROM dead_slots WHERE namespace = ?1 AND block = ?2")?;
    let slots = stmt
        .query_map(params![namespace, block], |row| {
            Ok(row.get::<_, i64>(0)? as usize)
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(slots)
}

/// The dead slots of the blocks in `namespace` (all namespaces if `None`),
/// by block.
pub fn dead_slots(conn: &Connection, namespace: Option<&str>) -> Result<HashMap<i64, Vec<usize>>> {
    let mut stmt = conn
        .prepare_cached("SELECT block, slot FROM dead_slots WHERE ?1 IS NULL OR namespace = ?1")?;
    let mut rows = stmt.query([namespace])?;
    let mut dead: HashMap<i64, Vec<usize>> = HashMap::new();
    while let Some(row) = rows.next()? {
        dead.entry(row.get(0)?)
            .or_default()
            .push(row.get::<_, i64>(1)? as usize);
    }
    Ok(dead)
}

/// Appends the vectors of many memories' chunks, in order, and records
/// each chunk with its place in `chunks`.
pub fn append_chunks(
    conn: &Connection,
    namespace: &str,
    dim: usize,
    chunks: &[ChunkVector<'_>],
) -> Result<()> {
    let vectors: Vec<NewVector<'_>> = chunks
        .iter()
        .map(|c| NewVector {
            slot: c.slot,
            vector: c.vector,
        })
        .collect();
    let places = append(conn, namespace, dim, &vectors)?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO chunks (namespace, memory_id, seq, start, end, block, slot)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (chunk, (block, slot)) in chunks.iter().zip(places) {
        insert.execute(params![
            namespace,
            chunk.slot.memory_id,
            chunk.slot.seq,
            chunk.start as i64,
            chunk.end as i64,
            block,
            slot as i64
        ])?;
    }
    Ok(())
}

/// One chunk to write: its slot, byte range in the body, and vector.
#[derive(Debug, Clone)]
pub struct ChunkVector<'a> {
    /// What its slot records.
    pub slot: Slot,
    /// Where the chunk starts in the body, in bytes.
    pub start: usize,
    /// Where it ends.
    pub end: usize,
    /// The int8 vector.
    pub vector: &'a [u8],
}

/// Returns the scale and int8 vector stored for chunk `seq` of a memory.
#[cfg(test)]
pub(crate) fn stored_vector(conn: &Connection, memory_id: MemoryId, seq: u32) -> (f32, Vec<u8>) {
    let (used, slots, vectors, slot): (i64, Vec<u8>, Vec<u8>, i64) = conn
        .query_row(
            "SELECT b.used, b.slots, b.vectors, c.slot FROM chunks c
             JOIN vector_blocks b ON b.id = c.block
             WHERE c.memory_id = ?1 AND c.seq = ?2",
            params![memory_id, seq],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .unwrap();
    let dim = vectors.len() / used as usize;
    let slot = slot as usize;
    let decoded = Slot::decode(&slots, slot);
    assert_eq!(
        (decoded.memory_id, u32::from(decoded.seq)),
        (memory_id, seq)
    );
    (
        decoded.scale,
        vectors[slot * dim..(slot + 1) * dim].to_vec(),
    )
}
