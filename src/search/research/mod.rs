//! Deep research: a question split into sub-questions, each searched with
//! `hybrid-search` (graph expansion included), and the lists merged into
//! one ranking with the evidence of each result.
//!
//! The lists are merged by reciprocal rank fusion: a memory scores
//! Σ 1 / ([`RRF_K`] + rank) over the lists that hold it (rank 1-based).
//! Raw scores of different lists are never added or averaged: the fused
//! score of one sub-question's `hybrid-search` says nothing on the scale of
//! another's. With a single sub-question the order is that list's order.

pub mod by_llm;
pub mod splitter;

use std::collections::HashMap;

use serde::Serialize;

use super::{Request, SearchResult, Via, hybrid_search};
use crate::embed::Embedder;
use crate::error::Result;
use crate::memory::MemoryId;
use crate::store::ScanMode;
use crate::store::{Scope, Store};
use crate::time::Timestamp;

/// The constant of reciprocal rank fusion. The usual 60 suits rankings
/// of one query by different rankers, where agreement is the signal;
/// sub-questions ask different things, and the best hits of each list
/// matter more than agreement between them. On question pairs of the
/// LoCoMo development split, R@10 was 0.614 with 60 (below
/// `hybrid-search` on the joined question, 0.623), and 0.649–0.656 for any
/// constant from 0.5 to 5 (docs/BENCHMARKS.md).
pub const RRF_K: f64 = 5.0;
/// How many results each sub-question's search contributes at least (more
/// when more results are asked for).
pub const LIST_DEPTH: usize = 30;

/// Where one sub-question's search placed a result.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// The sub-question's index (0 is the whole question).
    pub sub_question: usize,
    /// The result's rank in that sub-question's list, from 1.
    pub rank: usize,
    /// How the graph reached it there, as `hybrid-search` prints `match.via`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
}

/// One result of a deep research.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The memory's row id.
    pub memory_id: MemoryId,
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its description.
    pub description: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// The reciprocal-rank-fusion score, higher is better.
    pub score: f64,
    /// The snippet of the list that ranked it best.
    pub snippet: String,
    /// The body, when asked for (`--with-body`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The start of the body, when asked for (`--snippet-chars`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
    /// Every sub-question whose search found it, in sub-question order.
    pub evidence: Vec<Evidence>,
}

/// A memory's place in the merged ranking: its score and `(list, rank)`
/// pairs, rank 1-based, in list order.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The memory.
    pub memory_id: MemoryId,
    /// Σ 1 / (`RRF_K` + rank).
    pub score: f64,
    /// Where each list that holds it placed it.
    pub places: Vec<(usize, usize)>,
}

impl Merged {
    /// The best place: the lowest rank, then the earliest list.
    fn best(&self) -> (usize, usize) {
        self.places
            .iter()
            .map(|&(list, rank)| (rank, list))
            .min()
            .map_or((usize::MAX, usize::MAX), |(rank, list)| (list, rank))
    }
}

/// Merges ranked lists of memories (best first) by reciprocal rank
/// fusion, best first. Ties go to the better best rank, then to the
/// earlier list, then to the lower id.
pub fn merge(lists: &[Vec<MemoryId>]) -> Vec<Merged> {
    let mut merged: Vec<Merged> = Vec::new();
    let mut slot: HashMap<MemoryId, usize> = HashMap::new();
    for (list, ids) in lists.iter().enumerate() {
        for (i, &id) in ids.iter().enumerate() {
            let at = *slot.entry(id).or_insert_with(|| {
                merged.push(Merged {
                    memory_id: id,
                    score: 0.0,
                    places: Vec::new(),
                });
                merged.len() - 1
            });
            let entry = &mut merged[at];
            if entry.places.iter().any(|&(l, _)| l == list) {
                continue;
            }
            entry.score += 1.0 / (RRF_K + (i + 1) as f64);
            entry.places.push((list, i + 1));
        }
    }
    merged.sort_by(|a, b| {
        let (a_list, a_rank) = a.best();
        let (b_list, b_rank) = b.best();
        b.score
            .total_cmp(&a.score)
            .then(a_rank.cmp(&b_rank))
            .then(a_list.cmp(&b_list))
            .then(a.memory_id.cmp(&b.memory_id))
    });
    merged
}

/// Searches each of `sub_questions` with [`hybrid_search`] (graph
/// expansion walking `hops` relationships, or off with `None`) in `scope`,
/// and returns the `k` best memories of the merged ranking with their
/// evidence.
///
/// # Failure
/// As [`hybrid_search`]: invalid input for a sub-question without words.
pub fn research(
    store: &Store,
    embedder: &dyn Embedder,
    sub_questions: &[String],
    k: usize,
    scope: &Scope,
    hops: Option<u32>,
) -> Result<Vec<Finding>> {
    let mut lists = Vec::with_capacity(sub_questions.len());
    for question in sub_questions {
        let request = Request {
            query: question,
            k: k.max(LIST_DEPTH),
            scope,
            graph_hops: hops,
            vector_mode: ScanMode::Auto,
        };
        lists.push(hybrid_search(store, embedder, &request)?);
    }
    let ids: Vec<Vec<MemoryId>> = lists
        .iter()
        .map(|list| list.iter().map(|r| r.memory_id).collect())
        .collect();
    let mut findings = Vec::with_capacity(k);
    for merged in merge(&ids).into_iter().take(k) {
        let (list, rank) = merged.best();
        let shown: &SearchResult = &lists[list][rank - 1];
        let evidence = merged
            .places
            .iter()
            .map(|&(list, rank)| Evidence {
                sub_question: list,
                rank,
                via: lists[list][rank - 1].matched.via.clone(),
            })
            .collect();
        findings.push(Finding {
            memory_id: shown.memory_id,
            name: shown.name.clone(),
            namespace: shown.namespace.clone(),
            kind: shown.kind.clone(),
            description: shown.description.clone(),
            created_at: shown.created_at,
            score: merged.score,
            snippet: shown.snippet.clone(),
            body: None,
            excerpt: None,
            evidence,
        });
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[i64]) -> Vec<MemoryId> {
        list.iter().copied().map(MemoryId::from_row_id).collect()
    }

    #[test]
    fn one_list_keeps_its_order() {
        let merged = merge(&[ids(&[3, 1, 2])]);
        let order: Vec<MemoryId> = merged.iter().map(|m| m.memory_id).collect();
        assert_eq!(order, ids(&[3, 1, 2]));
        assert_eq!(merged[1].places, [(0, 2)]);
        assert!((merged[0].score - 1.0 / (RRF_K + 1.0)).abs() < 1e-12);
    }

    #[test]
    fn agreement_between_lists_wins_and_ties_go_to_the_earlier_list() {
        let merged = merge(&[ids(&[1, 2, 3]), ids(&[4, 2, 5]), ids(&[2])]);
        let order: Vec<MemoryId> = merged.iter().map(|m| m.memory_id).collect();
        assert_eq!(order, ids(&[2, 1, 4, 3, 5]));
        assert_eq!(merged[0].places, [(0, 2), (1, 2), (2, 1)]);
        assert!((merged[0].score - (2.0 / (RRF_K + 2.0) + 1.0 / (RRF_K + 1.0))).abs() < 1e-12);
        assert!(merge(&[]).is_empty());
    }

    #[test]
    fn the_best_hit_of_one_list_outranks_what_two_lists_hold_lower_down() {
        let first = ids(&[1, 10, 11, 12, 13, 14, 15, 3]);
        let second = ids(&[2, 20, 21, 22, 23, 24, 25, 3]);
        let merged = merge(&[first, second]);
        let order: Vec<MemoryId> = merged.iter().take(3).map(|m| m.memory_id).collect();
        // With the usual constant of 60, 3 would come first: 2 / 68 > 1 / 61.
        assert_eq!(order, ids(&[1, 2, 3]));
    }

    #[test]
    fn a_memory_twice_in_one_list_counts_once() {
        let merged = merge(&[ids(&[1, 1, 2])]);
        assert_eq!(merged[0].places, [(0, 1)]);
        assert_eq!(merged.len(), 2);
    }
}
