//! The vector blocks against a brute-force reference: random vectors
//! through writes, edits, forgets, restores, purges, compactions and
//! reindexing, with a fixed seed.

use std::collections::HashMap;

use super::center::stored_center;
use super::kernel::ScanQuery;
use super::scan::{Prefilter, scan_with};
use crate::embed::{Embedder, EmbeddingSpace};
use crate::error::Result;
use crate::memory::{Content, MemoryId};
use crate::store::chunks::{chunk_texts, quantize};
use crate::store::{Attached, Store, VectorHit};

const DIM: usize = 16;
const NAMESPACES: [&str; 3] = ["alpha", "beta", "gamma"];

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random unit vectors around a common direction, one per text, the same
/// for the same text.
struct RandomEmbedder;

fn random_vector(text: &str) -> Vec<f32> {
    let seed = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut rng = Rng(seed | 1);
    let v: Vec<f32> = (0..DIM)
        .map(|i| (rng.below(2001) as f32 - 1000.0) / 1000.0 + if i % 3 == 0 { 1.5 } else { 0.0 })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

impl Embedder for RandomEmbedder {
    fn space(&self) -> Result<EmbeddingSpace> {
        Ok(EmbeddingSpace {
            model: "test:random".into(),
            dim: DIM as u32,
        })
    }

    fn space_model(&self) -> String {
        "test:random".into()
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| random_vector(t)).collect())
    }
}

/// Each live memory's best chunk, computed from the texts alone.
fn reference(store: &Store, namespace: Option<&str>, query: &ScanQuery) -> Vec<VectorHit> {
    let mut stmt = store
        .conn()
        .prepare(
            "SELECT id, description, body FROM memories
             WHERE deleted_at IS NULL AND (?1 IS NULL OR namespace = ?1)",
        )
        .unwrap();
    let rows = stmt
        .query_map([namespace], |row| {
            Ok((
                row.get::<_, MemoryId>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })
        .unwrap();
    let mut hits = Vec::new();
    for row in rows {
        let (memory_id, description, body) = row.unwrap();
        let mut best: Option<VectorHit> = None;
        for (seq, text) in chunk_texts(&description, &body).iter().enumerate() {
            let (scale, stored) = quantize(&random_vector(text));
            let score = query.dot(&stored, scale);
            if best.is_none_or(|b| score > b.score) {
                best = Some(VectorHit {
                    memory_id,
                    score,
                    seq: seq as u32,
                });
            }
        }
        hits.extend(best);
    }
    hits.sort_unstable_by_key(|h| h.memory_id);
    hits
}

/// Scans with `prefilter` and returns the hits by memory.
fn scanned(
    store: &Store,
    namespace: Option<&str>,
    query: &ScanQuery,
    prefilter: Option<Prefilter>,
) -> Vec<VectorHit> {
    let mut hits = scan_with(store.conn(), namespace, query, prefilter)
        .unwrap()
        .hits;
    hits.sort_unstable_by_key(|h| h.memory_id);
    hits
}

/// A body of one chunk, or now and then one of several.
fn body(rng: &mut Rng, round: usize) -> String {
    let words = if rng.below(8) == 0 { 400 } else { 12 };
    (0..words)
        .map(|_| format!("w{}", rng.below(5000)))
        .chain(std::iter::once(format!("r{round}")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn blocks_match_a_brute_force_reference_through_every_change() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let embedder = RandomEmbedder;
    let mut store = Store::open_in_memory().unwrap();
    let mut names: HashMap<&str, Vec<String>> = HashMap::new();
    let mut next_name = 0;
    for round in 0..60 {
        for _ in 0..40 {
            let namespace = NAMESPACES[rng.below(NAMESPACES.len())];
            let known = names.entry(namespace).or_default();
            let action = if known.is_empty() { 0 } else { rng.below(10) };
            match action {
                0..=4 => {
                    let name = format!("m{next_name}");
                    next_name += 1;
                    let content = Content::new(None, None, body(&mut rng, round), None).unwrap();
                    store
                        .remember(
                            &embedder,
                            namespace,
                            &name,
                            &content,
                            &Attached::default(),
                            false,
                        )
                        .unwrap();
                    known.push(name);
                }
                5..=6 => {
                    let name = known[rng.below(known.len())].clone();
                    let content = Content::new(None, None, body(&mut rng, round), None).unwrap();
                    let _ = store.remember(
                        &embedder,
                        namespace,
                        &name,
                        &content,
                        &Attached::default(),
                        true,
                    );
                }
                7..=8 => {
                    let name = known[rng.below(known.len())].clone();
                    let _ = store.forget(namespace, &name);
                }
                _ => {
                    let name = known[rng.below(known.len())].clone();
                    let _ = store.restore(&embedder, namespace, &name, None);
                }
            }
        }
        match round % 10 {
            3 => {
                store.purge(NAMESPACES[round % 3], None).unwrap();
                let purged: Vec<String> = store
                    .conn()
                    .prepare("SELECT name FROM memories WHERE namespace = ?1")
                    .unwrap()
                    .query_map([NAMESPACES[round % 3]], |row| row.get(0))
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap();
                names.insert(
                    NAMESPACES[round % 3],
                    names[NAMESPACES[round % 3]]
                        .iter()
                        .filter(|n| purged.contains(n))
                        .cloned()
                        .collect(),
                );
            }
            6 => {
                store.compact_vectors(None, &mut |_, _| {}).unwrap();
                let dead: i64 = store
                    .conn()
                    .query_row("SELECT count(*) FROM dead_slots", [], |row| row.get(0))
                    .unwrap();
                assert_eq!(dead, 0);
            }
            9 => {
                store.reindex(&embedder, &mut |_, _| {}).unwrap();
            }
            _ => {}
        }
        assert!(
            store.health().unwrap().vector_problems.is_empty(),
            "round {round}"
        );
        let center = stored_center(store.conn()).unwrap();
        for probe in 0..3 {
            let query = ScanQuery::new(
                &random_vector(&format!("q{round}-{probe}")),
                center.as_deref(),
            );
            for namespace in NAMESPACES.iter().copied().map(Some).chain([None]) {
                let expected = reference(&store, namespace, &query);
                assert_eq!(
                    scanned(&store, namespace, &query, None),
                    expected,
                    "round {round}"
                );
                let everything = Prefilter {
                    min_vectors: 0,
                    candidates: usize::MAX,
                };
                assert_eq!(
                    scanned(&store, namespace, &query, Some(everything)),
                    expected
                );
                let few = Prefilter {
                    min_vectors: 0,
                    candidates: 8,
                };
                let chosen = scanned(&store, namespace, &query, Some(few));
                assert!(!chosen.is_empty() || expected.is_empty());
                for hit in chosen {
                    let at = expected.binary_search_by_key(&hit.memory_id, |h| h.memory_id);
                    let want = expected[at.expect("a live memory")];
                    assert!(hit.score <= want.score, "round {round}: {hit:?} {want:?}");
                }
            }
        }
    }
    let slots: i64 = store
        .conn()
        .query_row("SELECT sum(used) FROM vector_blocks", [], |row| row.get(0))
        .unwrap();
    assert!(slots > 500, "{slots} slots");
    assert!(stored_center(store.conn()).unwrap().is_some());
}

#[test]
fn scans_split_across_threads_match_the_reference() {
    let embedder = RandomEmbedder;
    let mut store = Store::open_in_memory().unwrap();
    let lines: String = (0..20_000)
        .map(|i| {
            format!(
                "{{\"name\":\"m{i}\",\"body\":\"w{} w{} w{i}\"}}\n",
                i % 97,
                i % 89
            )
        })
        .collect();
    let report = store
        .import(&embedder, lines.as_bytes(), "alpha", 5_000, &mut |_| {})
        .unwrap();
    assert_eq!(report.imported, 20_000);
    let center = stored_center(store.conn()).unwrap();
    for probe in 0..3 {
        let query = ScanQuery::new(&random_vector(&format!("q{probe}")), center.as_deref());
        let expected = reference(&store, Some("alpha"), &query);
        assert_eq!(scanned(&store, Some("alpha"), &query, None), expected);
        let everything = Prefilter {
            min_vectors: 0,
            candidates: usize::MAX,
        };
        assert_eq!(
            scanned(&store, Some("alpha"), &query, Some(everything)),
            expected
        );
        let few = Prefilter {
            min_vectors: 0,
            candidates: 100,
        };
        let chosen = scanned(&store, Some("alpha"), &query, Some(few));
        assert!(chosen.len() >= 100 && chosen.len() < expected.len());
        for hit in chosen {
            let at = expected.binary_search_by_key(&hit.memory_id, |h| h.memory_id);
            assert_eq!(hit, expected[at.expect("a live memory")]);
        }
    }
}
