//! Vector scan benchmark, ignored by default; `scripts/bench-scan.sh` runs it
//! on a release build and prints one JSON summary line per scan mode.

use std::time::Instant;

use serde_json::json;
use sqlite_graphrag::embed::{Embedder, StaticModel};
use sqlite_graphrag::store::{OpenMode, ScanMode, Store};

/// Memories in the scanned database: one 384-dimension chunk each.
const MEMORIES: usize = 100_000;

/// Time to scan every vector of one namespace for the best 100 memories.
#[test]
#[ignore = "benchmark; run scripts/bench-scan.sh"]
fn bench_vector_scan() {
    let dir = tempfile::tempdir().unwrap();
    let model = StaticModel::new();
    let mut store = Store::open(&dir.path().join("scan.sqlite"), OpenMode::Create).unwrap();
    let words = [
        "deploy",
        "cache",
        "retry",
        "billing",
        "kitten",
        "schema",
        "lock",
        "worker",
        "tuesday",
        "certificate",
        "queue",
        "index",
        "backup",
        "latency",
        "budget",
        "review",
    ];
    let lines: String = (0..MEMORIES)
        .map(|i| {
            let body: Vec<&str> = (0..12)
                .map(|j| words[(i * 7 + j * j * 3 + i / 16) % 16])
                .collect();
            format!(
                "{}\n",
                json!({"name": format!("m{i}"), "body": format!("{} {i}", body.join(" "))})
            )
        })
        .collect();
    let report = store
        .import(&model, lines.as_bytes(), "global", 10_000, &mut |_| {})
        .unwrap();
    assert_eq!(report.imported, MEMORIES as u64);
    let query = model
        .embed(&["why does the deploy retry on tuesdays"])
        .unwrap()
        .remove(0);
    for mode in [ScanMode::Exact, ScanMode::Auto] {
        let mut samples: Vec<f64> = (0..30)
            .map(|_| {
                let start = Instant::now();
                let hits = store
                    .vector_scan(Some("global"), &query, 100, mode)
                    .unwrap()
                    .hits;
                assert!(hits.len() >= 100);
                if mode == ScanMode::Exact {
                    assert_eq!(hits.len(), MEMORIES);
                }
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        println!(
            "{}",
            json!({"bench": "vector_scan_ms", "mode": format!("{mode:?}"), "memories": MEMORIES,
                   "samples": samples.len(), "p50": samples[samples.len() / 2], "min": samples[0]})
        );
    }
}
