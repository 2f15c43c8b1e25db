#!/usr/bin/env bash
# Benchmarks the slot semaphore on a release build: storm rounds (64
# processes, 4 slots, SIGKILLs of holders), uncontended acquire latency,
# fairness under contention, and reuse delay after a holder is killed.
# Prints one JSON line per benchmark. Tunables (environment): STORM_ROUNDS
# (100), ACQUIRE_SAMPLES (20000), FAIRNESS_THREADS (16), FAIRNESS_SECONDS (5),
# REUSE_ROUNDS (50 per kind of kill).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --locked --test integration -- --ignored --nocapture --test-threads=1 bench_slots 2>/dev/null \
  | grep -o '{.*"bench".*}'
