#!/usr/bin/env bash
# Creates target/mcp-venv: a Python virtual environment holding the official
# MCP Python SDK (PyPI `mcp`, pinned in scripts/mcp-requirements.txt), which
# the integration tests use as the client of `sqlite-graphrag mcp`. Run once
# before `cargo test`; it does nothing when the environment is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/mcp-venv
requirements=scripts/mcp-requirements.txt
stamp=$venv/.requirements
if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
cp "$requirements" "$stamp"
