#!/usr/bin/env bash
# Benchmarks the slot semaphore on a release build: storm rounds (64
# processes, 4 slots, SIGKILLs of holders), uncontended acquire latency,
# fairness under contention, reuse delay after a holder is killed, and
# crowds of waiters (completions and CPU time). Prints one JSON line per
# benchmark. Tunables (environment): STORM_ROUNDS (100), ACQUIRE_SAMPLES
# (20000), FAIRNESS_THREADS (16), FAIRNESS_SECONDS (5), REUSE_ROUNDS (50 per
# kind of kill), CROWD_SIZES (64,200,500). First it checks that the release
# binary ignores the test hook SQLITE_GRAPHRAG_FAULT=skip-slot-lock.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
hook_dir=$(mktemp -d)
trap 'rm -rf "$hook_dir"' EXIT
# Three commands on a one-slot pool with the hook set; each claims a marker
# folder (mkdir is atomic) while it runs, so any overlap makes one fail.
pids=()
for _ in 1 2 3; do
  # $0 is the inner shell's, not this script's.
  # shellcheck disable=SC2016
  SQLITE_GRAPHRAG_FAULT=skip-slot-lock target/release/sqlite-graphrag --runtime-dir "$hook_dir/run" \
    slots exec --max 1 --wait 30 -- sh -c 'mkdir "$0/inside" || exit 9; sleep 0.3; rmdir "$0/inside"' "$hook_dir" \
    2>/dev/null &
  pids+=("$!")
done
for pid in "${pids[@]}"; do
  wait "$pid" || { echo "the release binary honoured SQLITE_GRAPHRAG_FAULT: commands overlapped" >&2; exit 1; }
done
echo '{"check":"release_ignores_fault_hook","overlap":false}'
cargo test --release --locked --test integration -- --ignored --nocapture --test-threads=1 bench_slots 2>/dev/null \
  | grep -o '{.*"bench".*}'
