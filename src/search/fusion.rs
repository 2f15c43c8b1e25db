//! Fusing two rankings: a weighted sum of min-max-normalised scores.
//!
//! Each list's scores are scaled to [0, 1] (best 1, worst 0; a list of one
//! score counts as 1), then added with the weights below; a memory missing
//! from a list gets 0 from it. Reciprocal rank fusion was measured too: it
//! scored within 0.01 of this on the development split (docs/BENCHMARKS.md).

use crate::memory::MemoryId;

/// Weight of the BM25 word ranking.
pub const FTS_WEIGHT: f64 = 0.5;
/// Weight of the vector ranking.
pub const VECTOR_WEIGHT: f64 = 0.5;

/// One fused result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fused {
    /// The memory.
    pub memory_id: MemoryId,
    /// Its fused score in [0, 1].
    pub score: f64,
}

fn normalized(list: &[(MemoryId, f64)]) -> impl Iterator<Item = (MemoryId, f64)> + '_ {
    let max = list
        .iter()
        .map(|&(_, s)| s)
        .fold(f64::NEG_INFINITY, f64::max);
    let min = list.iter().map(|&(_, s)| s).fold(f64::INFINITY, f64::min);
    let span = max - min;
    list.iter()
        .map(move |&(id, s)| (id, if span > 0.0 { (s - min) / span } else { 1.0 }))
}

/// Fuses a word ranking and a vector ranking (each `(memory, score)`,
/// higher better) into one list, best first; ties go to the lower id.
pub fn fuse(fts: &[(MemoryId, f64)], vectors: &[(MemoryId, f64)]) -> Vec<Fused> {
    let mut fused: Vec<Fused> = Vec::with_capacity(fts.len() + vectors.len());
    let mut add = |id: MemoryId, score: f64| match fused.iter_mut().find(|f| f.memory_id == id) {
        Some(f) => f.score += score,
        None => fused.push(Fused {
            memory_id: id,
            score,
        }),
    };
    for (id, s) in normalized(fts) {
        add(id, FTS_WEIGHT * s);
    }
    for (id, s) in normalized(vectors) {
        add(id, VECTOR_WEIGHT * s);
    }
    fused.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.memory_id.cmp(&b.memory_id))
    });
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_beats_a_single_list() {
        let id = MemoryId::from_row_id;
        let fts = [(id(1), 10.0), (id(2), 5.0), (id(3), 1.0)];
        let vec = [(id(2), 0.9), (id(4), 0.8), (id(1), 0.1)];
        let order: Vec<MemoryId> = fuse(&fts, &vec).iter().map(|f| f.memory_id).collect();
        assert_eq!(order[0], id(2));
        assert_eq!(order.len(), 4);
        assert!(fuse(&[], &[]).is_empty());
    }
}
