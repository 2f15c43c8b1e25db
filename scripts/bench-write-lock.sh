#!/usr/bin/env bash
# How long a writer waits while a long import runs: imports 20,000 lines
# with --batch-size 100000 into a new database and, meanwhile, runs a
# `remember` every 0.2 s; prints the number of them and the slowest (ms).
# Usage: scripts/bench-write-lock.sh [BINARY] (default: the release build)
set -euo pipefail
bin=${1:-target/release/sqlite-graphrag}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/in.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(20000):
        body = f"memory number {i} about sqlite and agents and words " * 3
        f.write(json.dumps({"name": f"m{i}", "body": body}) + "\n")
PY
"$bin" --db "$work/x.db" init >/dev/null
"$bin" --db "$work/x.db" import "$work/in.jsonl" --batch-size 100000 >/dev/null 2>&1 &
import_pid=$!
slowest=0
probes=0
failed=0
while kill -0 "$import_pid" 2>/dev/null; do
  start=$(date +%s%N)
  "$bin" --db "$work/x.db" remember --name "probe$probes" --body probe >/dev/null 2>&1 || failed=$((failed + 1))
  ms=$((($(date +%s%N) - start) / 1000000))
  if [ "$ms" -gt "$slowest" ]; then slowest=$ms; fi
  probes=$((probes + 1))
  sleep 0.2
done
wait "$import_pid"
echo "probes=$probes failed=$failed slowest_remember_ms=$slowest"
