//! The vector scan: each memory's best chunk against a query, read from
//! the vector blocks.
//!
//! Small scopes are scanned exactly. Large ones go through the prefilter
//! first: a dot product estimated from every vector's code (sign bits and
//! one byte, see [`super::center`]) picks [`Prefilter::candidates`]
//! candidates, and only the blocks holding
//! them are read and scored exactly (every live vector in them, not only
//! the candidates). Scoring is split across the CPU's cores once a scan has
//! more than one batch of vectors.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread;

use rusqlite::{Connection, Row};

use super::blocks::{SLOT_BYTES, Slot, dead_slots};
use super::center::code_bytes;
use super::kernel::ScanQuery;
use crate::error::{Error, ErrorKind, Result};
use crate::memory::MemoryId;
use crate::store::VectorHit;

/// When the prefilter is used, and how much it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefilter {
    /// Scopes with fewer vectors are scanned exactly.
    pub min_vectors: usize,
    /// How many vectors it keeps, nearest sign bits first.
    pub candidates: usize,
}

impl Prefilter {
    /// The prefilter of [`ScanMode::Auto`]. Below 20,000 vectors the exact
    /// scan costs about what the prefilter does; 4,096 candidates lose
    /// 0.003 of R@10 on the development split among 30,000 other memories
    /// a namespace, where 2,048 lose 0.005 (see docs/BENCHMARKS.md).
    pub const DEFAULT: Prefilter = Prefilter {
        min_vectors: 20_000,
        candidates: 4_096,
    };
}
/// Vectors scored by one thread at a time.
const BATCH_VECTORS: usize = 8_192;

/// How to scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanMode {
    /// The prefilter for large scopes, the exact scan for small ones.
    Auto,
    /// Every vector, whatever the scope's size.
    Exact,
    /// The prefilter given (to measure others than the default).
    With(Prefilter),
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

/// One block's slots and vectors.
struct Block<'a> {
    id: i64,
    used: usize,
    slots: &'a [u8],
    vectors: &'a [u8],
}

impl<'a> Block<'a> {
    /// Reads a row of `id, used, slots, vectors` in place, checking its sizes.
    fn read(row: &'a Row<'_>, dim: usize) -> Result<Block<'a>> {
        let used = row.get::<_, i64>(1)?;
        let block = Block {
            id: row.get(0)?,
            used: usize::try_from(used).unwrap_or(usize::MAX),
            slots: row.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?,
            vectors: row.get_ref(3)?.as_blob().map_err(rusqlite::Error::from)?,
        };
        if Some(block.slots.len()) != block.used.checked_mul(SLOT_BYTES)
            || Some(block.vectors.len()) != block.used.checked_mul(dim)
        {
            return Err(Error::new(
                ErrorKind::Database,
                format!(
                    "vector block {} holds {} bytes of vectors for {used} slots of {dim} dimensions",
                    block.id,
                    block.vectors.len(),
                ),
            ));
        }
        Ok(block)
    }

    /// Scores every live vector of the block into `best`.
    fn score(&self, query: &ScanQuery, dead: &HashMap<i64, Vec<usize>>, best: &mut BestChunks) {
        let dim = query.dim();
        let dead = dead.get(&self.id);
        for (index, vector) in self.vectors.chunks_exact(dim).enumerate() {
            if dead.is_some_and(|d| d.contains(&index)) {
                continue;
            }
            let slot = Slot::decode(self.slots, index);
            best.offer(&slot, query.dot(vector, slot.scale));
        }
    }
}

/// Blocks copied out of SQLite for another thread to score.
#[derive(Default)]
struct Batch {
    blocks: Vec<(i64, usize)>,
    slots: Vec<u8>,
    vectors: Vec<u8>,
}

impl Batch {
    /// Copies `block` in.
    fn push(&mut self, block: &Block<'_>) {
        self.blocks.push((block.id, block.used));
        self.slots.extend_from_slice(block.slots);
        self.vectors.extend_from_slice(block.vectors);
    }

    /// The number of vectors held.
    fn vectors(&self, dim: usize) -> usize {
        self.vectors.len() / dim
    }

    /// Scores every block held into `best`.
    fn score(&self, query: &ScanQuery, dead: &HashMap<i64, Vec<usize>>, best: &mut BestChunks) {
        let (mut slots, mut vectors) = (&self.slots[..], &self.vectors[..]);
        for &(id, used) in &self.blocks {
            let (here, rest) = slots.split_at(used * SLOT_BYTES);
            slots = rest;
            let (values, rest) = vectors.split_at(used * query.dim());
            vectors = rest;
            let block = Block {
                id,
                used,
                slots: here,
                vectors: values,
            };
            block.score(query, dead, best);
        }
    }
}

/// Each memory's best chunk, unordered.
pub struct Scanned {
    /// The hits: one per memory scored.
    pub hits: Vec<VectorHit>,
    /// Whether the prefilter chose the vectors scored; if not, every
    /// memory of the scope is in `hits`.
    pub prefiltered: bool,
}

/// Scores the vectors of `namespace` (all if `None`) against `query` and
/// returns each memory's best chunk; with [`ScanMode::Auto`] and a large
/// scope, only for the memories the prefilter kept.
pub fn scan(
    conn: &Connection,
    namespace: Option<&str>,
    query: &ScanQuery,
    mode: ScanMode,
) -> Result<Scanned> {
    let prefilter = match mode {
        ScanMode::Exact => None,
        ScanMode::Auto => Some(Prefilter::DEFAULT),
        ScanMode::With(prefilter) => Some(prefilter),
    };
    scan_with(conn, namespace, query, prefilter)
}

/// [`scan`] with the prefilter given, if any.
pub fn scan_with(
    conn: &Connection,
    namespace: Option<&str>,
    query: &ScanQuery,
    prefilter: Option<Prefilter>,
) -> Result<Scanned> {
    let dead = dead_slots(conn, namespace)?;
    let chosen = match prefilter {
        None => None,
        Some(prefilter) => choose_blocks(conn, namespace, query, prefilter)?,
    };
    let best = match &chosen {
        Some(blocks) => score_blocks(conn, blocks, query, &dead)?,
        None => scan_exact(conn, namespace, query, &dead)?,
    };
    Ok(Scanned {
        hits: best.hits,
        prefiltered: chosen.is_some(),
    })
}

/// Reads every block of the scope and scores it. Past the first batch,
/// batches take turns: one is scored in place by this thread, the next
/// is copied out for another core, and so on.
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
    let helpers = thread::available_parallelism().map_or(1, |n| n.get()) - 1;
    thread::scope(|scope| {
        let mut best = BestChunks::default();
        let mut senders: Vec<mpsc::SyncSender<Batch>> = Vec::new();
        let mut handles = Vec::new();
        let mut batch = Batch::default();
        let mut scored_here = 0;
        let mut turn = 0;
        let read = (|| -> Result<()> {
            while let Some(row) = rows.next()? {
                let block = Block::read(row, dim)?;
                if turn == 0 {
                    block.score(query, dead, &mut best);
                    scored_here += block.used;
                    if scored_here >= BATCH_VECTORS && helpers > 0 {
                        scored_here = 0;
                        turn = 1;
                    }
                    continue;
                }
                batch.push(&block);
                if batch.vectors(dim) >= BATCH_VECTORS {
                    if senders.len() < turn {
                        let (send, receive) = mpsc::sync_channel::<Batch>(1);
                        senders.push(send);
                        handles.push(scope.spawn(move || {
                            let mut best = BestChunks::default();
                            for batch in receive {
                                batch.score(query, dead, &mut best);
                            }
                            best
                        }));
                    }
                    let _ = senders[turn - 1].send(std::mem::take(&mut batch));
                    turn = (turn + 1) % (helpers + 1);
                }
            }
            Ok(())
        })();
        batch.score(query, dead, &mut best);
        drop(senders);
        for handle in handles {
            best.merge(handle.join().expect("a scan thread panicked"));
        }
        read.map(|()| best)
    })
}

/// Estimated dot products are sorted into this many buckets over [-2, 2]
/// (steps of 0.001, finer than the estimates are good) to find the best
/// candidates in one pass, with counts that stay in the CPU's first cache.
const ESTIMATE_BUCKETS: usize = 1 << 12;

/// The bucket of an estimated dot product, higher for a better estimate.
fn bucket(estimate: f32) -> u16 {
    ((estimate.clamp(-2.0, 2.0) + 2.0) / 4.0 * (ESTIMATE_BUCKETS - 1) as f32) as u16
}

/// Estimated dot products, by bucket, of the vectors seen so far.
struct Estimates {
    /// How many vectors fell in each bucket.
    counts: Vec<usize>,
    /// Each vector's bucket and its block's place in the blocks read.
    kept: Vec<(u16, u32)>,
}

impl Estimates {
    fn new() -> Self {
        Estimates {
            counts: vec![0; ESTIMATE_BUCKETS],
            kept: Vec::new(),
        }
    }

    /// Estimates the vectors of the `at`-th block read, from their codes.
    #[inline]
    fn add(&mut self, query: &ScanQuery, at: u32, codes: &[u8]) {
        for code in codes.chunks_exact(code_bytes(query.dim())) {
            let bucket = bucket(query.estimate(code));
            self.counts[usize::from(bucket)] += 1;
            self.kept.push((bucket, at));
        }
    }

    /// Adds another thread's estimates.
    fn merge(&mut self, other: Estimates) {
        for (count, more) in self.counts.iter_mut().zip(other.counts) {
            *count += more;
        }
        self.kept.extend(other.kept);
    }
}

/// Codes of blocks copied out of SQLite for another thread.
#[derive(Default)]
struct CodeBatch {
    /// Each block's place in the blocks read, and its bytes of codes.
    blocks: Vec<(u32, usize)>,
    codes: Vec<u8>,
}

impl CodeBatch {
    /// Estimates every vector held into `estimates`.
    fn estimate(&self, query: &ScanQuery, estimates: &mut Estimates) {
        let mut codes = &self.codes[..];
        for &(at, bytes) in &self.blocks {
            let (these, rest) = codes.split_at(bytes);
            estimates.add(query, at, these);
            codes = rest;
        }
    }
}

/// The prefilter: returns the blocks holding the `prefilter.candidates`
/// vectors whose codes give the best estimates (see [`super::center`]), in
/// id order; `None` if the scope is too small to need it.
fn choose_blocks(
    conn: &Connection,
    namespace: Option<&str>,
    query: &ScanQuery,
    prefilter: Prefilter,
) -> Result<Option<Vec<i64>>> {
    let mut stmt = match namespace {
        Some(_) => {
            conn.prepare_cached("SELECT block, codes FROM vector_codes WHERE namespace = ?1")?
        }
        None => conn.prepare_cached("SELECT block, codes FROM vector_codes")?,
    };
    let mut rows = match namespace {
        Some(namespace) => stmt.query([namespace])?,
        None => stmt.query([])?,
    };
    let width = code_bytes(query.dim());
    let helpers = thread::available_parallelism().map_or(1, |n| n.get()) - 1;
    let mut blocks: Vec<i64> = Vec::new();
    let mut here = Estimates::new();
    let (estimates, counts) = thread::scope(|scope| -> Result<_> {
        let mut senders: Vec<mpsc::SyncSender<CodeBatch>> = Vec::new();
        let mut handles = Vec::new();
        let mut batch = CodeBatch::default();
        let (mut in_turn, mut turn) = (0, 0);
        while let Some(row) = rows.next()? {
            let block: i64 = row.get(0)?;
            let codes = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            if codes.len() % width != 0 {
                return Err(Error::new(
                    ErrorKind::Database,
                    format!("the codes of vector block {block} are cut short"),
                ));
            }
            let at = blocks.len() as u32;
            blocks.push(block);
            in_turn += codes.len() / width;
            if turn == 0 {
                here.add(query, at, codes);
            } else {
                batch.blocks.push((at, codes.len()));
                batch.codes.extend_from_slice(codes);
            }
            if in_turn < BATCH_VECTORS || helpers == 0 {
                continue;
            }
            if turn > 0 {
                if senders.len() < turn {
                    let (send, receive) = mpsc::sync_channel::<CodeBatch>(1);
                    senders.push(send);
                    handles.push(scope.spawn(move || {
                        let mut estimates = Estimates::new();
                        for batch in receive {
                            batch.estimate(query, &mut estimates);
                        }
                        estimates
                    }));
                }
                let _ = senders[turn - 1].send(std::mem::take(&mut batch));
            }
            in_turn = 0;
            turn = (turn + 1) % (helpers + 1);
        }
        batch.estimate(query, &mut here);
        drop(senders);
        for handle in handles {
            here.merge(handle.join().expect("a prefilter thread panicked"));
        }
        Ok((here.kept, here.counts))
    })?;
    if estimates.len() < prefilter.min_vectors {
        return Ok(None);
    }
    let mut kept = 0;
    let mut cutoff = 0;
    for (bucket, &count) in counts.iter().enumerate().rev() {
        kept += count;
        cutoff = bucket as u16;
        if kept >= prefilter.candidates {
            break;
        }
    }
    let mut chosen: Vec<i64> = estimates
        .iter()
        .filter(|&&(bucket, _)| bucket >= cutoff)
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
