#!/usr/bin/env bash
# Benchmarks the built-in embedding model on a release build: the time to
# parse it once per process and the time to embed one query.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --locked --test integration -- --ignored --nocapture --test-threads=1 bench_embed 2>/dev/null \
  | grep -o '{.*"bench".*}'
