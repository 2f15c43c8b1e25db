//! Embedding benchmark, ignored by default; `scripts/bench-embed.sh` runs it
//! on a release build and prints one JSON summary line.

use std::time::Instant;

use serde_json::json;
use sqlite_graphrag::embed::StaticModel;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Time to parse the embedded model (once per process) and to embed a query.
#[test]
#[ignore = "benchmark; run scripts/bench-embed.sh"]
fn bench_embed_query() {
    let start = Instant::now();
    let model = StaticModel::new();
    model.tokenizer();
    let load_ms = start.elapsed().as_secs_f64() * 1000.0;
    let queries = [
        "why does the deploy time out on Tuesdays",
        "what did Caroline research about adoption agencies",
        "decision about retry backoff for the billing worker",
        "how do we handle certificate rotation when the lock file is deleted",
        "kitten",
    ];
    let mut samples: Vec<f64> = (0..2000)
        .map(|i| {
            let start = Instant::now();
            let vector = model.embed_text(queries[i % queries.len()]);
            assert_eq!(vector.len(), 384);
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    println!(
        "{}",
        json!({"bench": "embed_query_us", "model_load_ms": load_ms, "samples": samples.len(),
               "p50": percentile(&samples, 0.5), "p99": percentile(&samples, 0.99)})
    );
}
