//! The vector scan: each memory's best chunk against a query, read from
//! the vector blocks.
//!
//! Small scopes are scanned exactly. Large ones go through the prefilter
//! first: the Hamming distance of every vector's sign bits to the query's
//! picks [`PREFILTER_CANDIDATES`] candidates, and only the blocks holding
//! them are read and scored exactly (every live vector in them, not only
//! the candidates). Scoring is split across the CPU's cores once a scan has
//! more than one batch of vectors.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread;

use rusqlite::{Connection, Row};

use super::blocks::{SLOT_BYTES, Slot, dead_slots};
use super::kernel::{ScanQuery, sign_bytes};
use crate::error::{Error, ErrorKind, Result};
use crate::memory::MemoryId;
use crate::store::VectorHit;

/// Scopes with fewer vectors than this are scanned exactly: below it the
/// exact scan costs about what the prefilter does (see docs/BENCHMARKS.md).
pub const PREFILTER_MIN_VECTORS: usize = 20_000;
/// How many vectors the prefilter keeps, nearest sign bits first.
pub const PREFILTER_CANDIDATES: usize = 2_048;
/// Vectors scored by one thread at a time.
const BATCH_VECTORS: usize = 8_192;

/// How to scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanMode {
    /// The prefilter for large scopes, the exact scan for small ones.
    Auto,
    /// Every vector, whatever the scope's size.
    Exact,
}

/// Each memory's best chunk, gathered as chunks are scored.
#[derive(Default)]
struct BestChunks {
    hits: Vec<VectorHit>,
    /// Where in `hits` each memory of more than one chunk is.
    spread: HashMap<MemoryId, usize>,
}

impl BestChunks {
    /// Takes the score of one chunk.
    #[inline]
    fn offer(&mut self, slot: &Slot, score: f32) {
        let hit = VectorHit {
            memory_id: slot.memory_id,
            score,
            seq: u32::from(slot.seq),
        };
        self.offer_hit(hit, slot.chunks > 1);
    }

    /// Takes the score of one chunk of a memory of more than one chunk if
    /// `spread`; of two equal scores, the lower chunk number wins.
    #[inline]
    fn offer_hit(&mut self, hit: VectorHit, spread: bool) {
        if !spread {
            self.hits.push(hit);
            return;
        }
        match self.spread.get(&hit.memory_id) {
            Some(&at) => {
                let old = self.hits[at];
                if hit.score > old.score || (hit.score == old.score && hit.seq < old.seq) {
                    self.hits[at] = hit;
                }
            }
            None => {
                self.spread.insert(hit.memory_id, self.hits.len());
                self.hits.push(hit);
            }
        }
    }

    /// Adds another thread's hits.
    fn merge(&mut self, other: BestChunks) {
        for (at, hit) in other.hits.into_iter().enumerate() {
            let spread = other.spread.get(&hit.memory_id) == Some(&at);
            self.offer_hit(hit, spread);
        }
    }
}

/// One block's slots and vectors, as read.
struct Block {
    id: i64,
    used: usize,
    slots: Vec<u8>,
    vectors: Vec<u8>,
}

impl Block {
    /// Reads a row of `id, used, slots, vectors`, checking its sizes.
    fn read(row: &Row<'_>, dim: usize) -> Result<Block> {
        let block = Block {
            id: row.get(0)?,
            used: row.get::<_, i64>(1)? as usize,
            slots: row.get(2)?,
            vectors: row.get(3)?,
        };
        if block.slots.len() != block.used * SLOT_BYTES || block.vectors.len() != block.used * dim {
            return Err(Error::new(
                ErrorKind::Database,
                format!(
                    "vector block {} holds {} bytes of vectors for {} slots of {dim} dimensions",
                    block.id,
                    block.vectors.len(),
                    block.used
                ),
            ));
        }
        Ok(block)
    }

    /// Scores every live vector of the block into `best`.
    fn score(&self, query: &ScanQuery, dead: &HashMap<i64, Vec<usize>>, best: &mut BestChunks) {
        let dim = query.dim();
        let dead = dead.get(&self.id);
        for index in 0..self.used {
            if dead.is_some_and(|d| d.contains(&index)) {
                continue;
            }
            let slot = Slot::decode(&self.slots, index);
            let score = query.dot(&self.vectors[index * dim..(index + 1) * dim], slot.scale);
            best.offer(&slot, score);
        }
    }
}

/// Scores the vectors of `namespace` (all if `None`) against `query` and
/// returns each memory's best chunk, unordered; with [`ScanMode::Auto`]
/// and a large scope, only the memories the prefilter kept.
pub fn scan(
    conn: &Connection,
    namespace: Option<&str>,
    query: &ScanQuery,
    mode: ScanMode,
) -> Result<Vec<VectorHit>> {
    let dead = dead_slots(conn, namespace)?;
    let best = match mode {
        ScanMode::Exact => scan_exact(conn, namespace, query, &dead)?,
        ScanMode::Auto => match prefilter(conn, namespace, query)? {
            Some(blocks) => score_blocks(conn, &blocks, query, &dead)?,
            None => scan_exact(conn, namespace, query, &dead)?,
        },
    };
    Ok(best.hits)
}

/// Reads every block of the scope and scores it, across threads once the
/// scope holds more than one batch.
fn scan_exact(
    conn: &Connection,
    namespace: Option<&str>,
    query: &ScanQuery,
    dead: &HashMap<i64, Vec<usize>>,
) -> Result<BestChunks> {
    let mut stmt = match namespace {
        Some(_) => conn.prepare_cached(
            "SELECT id, used, slots, vectors FROM vector_blocks WHERE namespace = ?1 ORDER BY id",
        )?,
        None => conn.prepare_cached("SELECT id, used, slots, vectors FROM vector_blocks")?,
    };
    let mut rows = match namespace {
        Some(namespace) => stmt.query([namespace])?,
        None => stmt.query([])?,
    };
    let dim = query.dim();
    let mut first = Vec::new();
    let mut vectors = 0;
    while vectors < BATCH_VECTORS {
        let Some(row) = rows.next()? else {
            let mut best = BestChunks::default();
            first
                .iter()
                .for_each(|b: &Block| b.score(query, dead, &mut best));
            return Ok(best);
        };
        let block = Block::read(row, dim)?;
        vectors += block.used;
        first.push(block);
    }
    let workers = thread::available_parallelism().map_or(1, |n| n.get());
    thread::scope(|scope| {
        let mut senders = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (send, receive) = mpsc::sync_channel::<Vec<Block>>(2);
            senders.push(send);
            handles.push(scope.spawn(move || {
                let mut best = BestChunks::default();
                for batch in receive {
                    batch.iter().for_each(|b| b.score(query, dead, &mut best));
                }
                best
            }));
        }
        let mut next = 0;
        let mut batch = first;
        let mut in_batch = vectors;
        let read = (|| -> Result<()> {
            while let Some(row) = rows.next()? {
                let block = Block::read(row, dim)?;
                in_batch += block.used;
                batch.push(block);
                if in_batch >= BATCH_VECTORS {
                    let _ = senders[next % workers].send(std::mem::take(&mut batch));
                    next += 1;
                    in_batch = 0;
                }
            }
            Ok(())
        })();
        if !batch.is_empty() {
            let _ = senders[next % workers].send(batch);
        }
        drop(senders);
        let mut best = BestChunks::default();
        for handle in handles {
            best.merge(handle.join().expect("a scan thread panicked"));
        }
        read.map(|()| best)
    })
}

/// The prefilter: returns the blocks holding the
/// [`PREFILTER_CANDIDATES`] vectors whose sign bits are nearest the
/// query's, in id order; `None` if the scope is too small to need it.
fn prefilter(
    conn: &Connection,
    namespace: Option<&str>,
    query: &ScanQuery,
) -> Result<Option<Vec<i64>>> {
    let mut stmt = match namespace {
        Some(_) => {
            conn.prepare_cached("SELECT block, signs FROM vector_signs WHERE namespace = ?1")?
        }
        None => conn.prepare_cached("SELECT block, signs FROM vector_signs")?,
    };
    let mut rows = match namespace {
        Some(namespace) => stmt.query([namespace])?,
        None => stmt.query([])?,
    };
    let width = sign_bytes(query.dim());
    let mut blocks: Vec<i64> = Vec::new();
    let mut distances: Vec<(u16, u32)> = Vec::new();
    let mut counts = vec![0usize; query.dim() + 1];
    while let Some(row) = rows.next()? {
        let block: i64 = row.get(0)?;
        let signs = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        if signs.len() % width != 0 {
            return Err(Error::new(
                ErrorKind::Database,
                format!("the sign bits of vector block {block} are cut short"),
            ));
        }
        let at = blocks.len() as u32;
        blocks.push(block);
        for signs in signs.chunks_exact(width) {
            let distance = query.hamming(signs) as u16;
            counts[usize::from(distance)] += 1;
            distances.push((distance, at));
        }
    }
    if distances.len() < PREFILTER_MIN_VECTORS {
        return Ok(None);
    }
    let mut kept = 0;
    let mut cutoff = 0;
    for (distance, &count) in counts.iter().enumerate() {
        kept += count;
        cutoff = distance as u16;
        if kept >= PREFILTER_CANDIDATES {
            break;
        }
    }
    let mut chosen: Vec<i64> = distances
        .iter()
        .filter(|&&(distance, _)| distance <= cutoff)
        .map(|&(_, at)| blocks[at as usize])
        .collect();
    chosen.sort_unstable();
    chosen.dedup();
    Ok(Some(chosen))
}

/// Reads `blocks` one by one and scores every live vector in them.
fn score_blocks(
    conn: &Connection,
    blocks: &[i64],
    query: &ScanQuery,
    dead: &HashMap<i64, Vec<usize>>,
) -> Result<BestChunks> {
    let mut stmt =
        conn.prepare_cached("SELECT id, used, slots, vectors FROM vector_blocks WHERE id = ?1")?;
    let mut best = BestChunks::default();
    for &id in blocks {
        let mut rows = stmt.query([id])?;
        if let Some(row) = rows.next()? {
            Block::read(row, query.dim())?.score(query, dead, &mut best);
        }
    }
    Ok(best)
}
