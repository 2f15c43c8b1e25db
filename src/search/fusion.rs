//! Fusing any number of named rankings: a weighted sum of normalised
//! scores.
//!
//! Each ranking's scores are scaled to [0, 1] by its [`Scale`], then added
//! with the ranking's weight; a memory missing from a ranking gets 0 from
//! it. Reciprocal rank fusion was
//! measured too: it scored within 0.01 of this on the development split
//! (docs/BENCHMARKS.md).

use std::collections::HashMap;

use crate::memory::MemoryId;

/// Weight of the BM25 word ranking.
pub const FTS_WEIGHT: f64 = 0.5;
/// Weight of the vector ranking.
pub const VECTOR_WEIGHT: f64 = 0.5;
/// Weight of the graph ranking.
pub const GRAPH_WEIGHT: f64 = 0.3;

/// How a ranking's scores are brought to [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Best 1, worst 0 (a ranking of one score counts as 1): for scores
    /// whose zero means nothing, such as BM25 or cosine.
    MinMax,
    /// Divided by the best: for scores that are 0 for no evidence, such as
    /// the graph's.
    Max,
}

/// One ranking to fuse.
#[derive(Debug, Clone, Copy)]
pub struct Ranking<'a> {
    /// What ranked, for logs (`words`, `vectors`, …).
    pub name: &'static str,
    /// How much its normalised scores count.
    pub weight: f64,
    /// How its scores are normalised.
    pub scale: Scale,
    /// `(memory, score)` pairs, best first, higher scores better.
    pub hits: &'a [(MemoryId, f64)],
}

/// One fused result.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    /// The memory.
    pub memory_id: MemoryId,
    /// Its fused score: at most the sum of the weights.
    pub score: f64,
    /// Its 0-based position in each ranking, in the order the rankings were given.
    pub positions: Vec<Option<usize>>,
}

fn normalized<'a>(ranking: &Ranking<'a>) -> impl Iterator<Item = (MemoryId, f64)> + 'a {
    let hits = ranking.hits;
    let max = hits
        .iter()
        .map(|&(_, s)| s)
        .fold(f64::NEG_INFINITY, f64::max);
    let min = match ranking.scale {
        Scale::MinMax => hits.iter().map(|&(_, s)| s).fold(f64::INFINITY, f64::min),
        Scale::Max => 0.0,
    };
    let span = max - min;
    hits.iter()
        .map(move |&(id, s)| (id, if span > 0.0 { (s - min) / span } else { 1.0 }))
}

/// Fuses `rankings` into one list, best first; ties go to the lower id.
pub fn fuse(rankings: &[Ranking<'_>]) -> Vec<Fused> {
    let mut fused: Vec<Fused> = Vec::new();
    let mut slot: HashMap<MemoryId, usize> = HashMap::new();
    for (r, ranking) in rankings.iter().enumerate() {
        tracing::debug!(
            "fusing {} hits of the {} ranking with weight {}",
            ranking.hits.len(),
            ranking.name,
            ranking.weight
        );
        for (position, (id, score)) in normalized(ranking).enumerate() {
            let at = *slot.entry(id).or_insert_with(|| {
                fused.push(Fused {
                    memory_id: id,
                    score: 0.0,
                    positions: vec![None; rankings.len()],
                });
                fused.len() - 1
            });
            let entry = &mut fused[at];
            entry.score += ranking.weight * score;
            entry.positions[r].get_or_insert(position);
        }
    }
    fused.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.memory_id.cmp(&b.memory_id))
    });
    fused
}

/// A fused result's score on an absolute scale: the list's top result
/// scores `anchor` (an absolute measure of how well the query is matched,
/// such as the best cosine similarity in scope), and every other result
/// `anchor` times its fused `score` relative to the top's `top`. The order
/// stays the fused one; a list whose top fused score is 0 scores 0.
pub fn anchored(score: f64, top: f64, anchor: f64) -> f64 {
    if top > 0.0 { anchor * score / top } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(fused: &[Fused]) -> Vec<MemoryId> {
        fused.iter().map(|f| f.memory_id).collect()
    }

    #[test]
    fn agreement_beats_a_single_list() {
        let fts = [
            (MemoryId::from_row_id(1), 10.0),
            (MemoryId::from_row_id(2), 5.0),
            (MemoryId::from_row_id(3), 1.0),
        ];
        let vec = [
            (MemoryId::from_row_id(2), 0.9),
            (MemoryId::from_row_id(4), 0.8),
            (MemoryId::from_row_id(1), 0.1),
        ];
        let rankings = [
            Ranking {
                name: "words",
                weight: FTS_WEIGHT,
                scale: Scale::MinMax,
                hits: &fts,
            },
            Ranking {
                name: "vectors",
                weight: VECTOR_WEIGHT,
                scale: Scale::MinMax,
                hits: &vec,
            },
        ];
        let fused = fuse(&rankings);
        assert_eq!(ids(&fused), [2, 1, 4, 3].map(MemoryId::from_row_id));
        assert_eq!(fused[0].positions, [Some(1), Some(0)]);
        assert_eq!(fused[2].positions, [None, Some(1)]);
        assert!(fuse(&[]).is_empty());
    }

    #[test]
    fn any_number_of_weighted_rankings() {
        let a = [
            (MemoryId::from_row_id(1), 3.0),
            (MemoryId::from_row_id(2), 2.0),
            (MemoryId::from_row_id(3), 1.0),
        ];
        let b = [
            (MemoryId::from_row_id(3), 0.9),
            (MemoryId::from_row_id(2), 0.5),
        ];
        let c = [(MemoryId::from_row_id(3), 7.0)];
        let ranking = |name, weight, hits| Ranking {
            name,
            weight,
            scale: Scale::MinMax,
            hits,
        };
        let fused = fuse(&[
            ranking("a", 0.2, &a[..]),
            ranking("b", 0.3, &b[..]),
            ranking("c", 0.5, &c[..]),
        ]);
        assert_eq!(ids(&fused), [3, 1, 2].map(MemoryId::from_row_id));
        assert!((fused[0].score - 0.8).abs() < 1e-12);
        assert_eq!(fused[0].positions, [Some(2), Some(0), Some(0)]);
        assert_eq!(
            ids(&fuse(&[ranking("a", 1.0, &a[..])])),
            [1, 2, 3].map(MemoryId::from_row_id)
        );
    }

    #[test]
    fn anchoring_keeps_the_order_and_the_anchor_on_top() {
        assert!((anchored(1.3, 1.3, 0.82) - 0.82).abs() < 1e-12);
        assert!((anchored(0.65, 1.3, 0.82) - 0.41).abs() < 1e-12);
        assert_eq!(anchored(0.0, 0.0, 0.9), 0.0);
    }

    #[test]
    fn max_scaling_keeps_the_weakest_hit() {
        let hits = [
            (MemoryId::from_row_id(1), 0.6),
            (MemoryId::from_row_id(2), 0.4),
        ];
        let fused = |scale| {
            fuse(&[Ranking {
                name: "graph",
                weight: 0.3,
                scale,
                hits: &hits,
            }])
        };
        let by_max = fused(Scale::Max);
        assert!((by_max[0].score - 0.3).abs() < 1e-12);
        assert!((by_max[1].score - 0.2).abs() < 1e-12);
        assert_eq!(fused(Scale::MinMax)[1].score, 0.0);
    }
}
