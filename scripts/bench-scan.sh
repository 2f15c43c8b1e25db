#!/usr/bin/env bash
# Benchmarks the vector scan on a release build: the time to score every
# vector of a 100,000-memory namespace in process (SQLite reads included),
# exactly and through the prefilter.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --locked --test integration -- --ignored --nocapture --test-threads=1 bench_vector_scan 2>/dev/null \
  | grep -o '{.*"bench".*}'
