#!/usr/bin/env python3
"""Throughput of `enrich` against the fake `claude` answering after a delay.

Queues N memories (SQLITE_GRAPHRAG_EXTRACT=claude, one import), then runs
`enrich --parallel P` with an `llm` pool of P slots and a fake `claude`
that answers after DELAY seconds, and compares the wall time with the ideal
N * DELAY / P. Repeats RUNS times on fresh databases; prints the median.

The fake is a shell script written here that prints what `claude -p
--output-format stream-json` prints (an init event with apiKeySource
"none", then a result with `structured_output`): the Python fake of
tests/fakes takes about 0.18 s of CPU just to start, which two cores
cannot give 20 runs a second. `--fake python` uses it anyway.

usage: bench-enrich.py [--bin PATH] [--jobs 1000] [--delay 0.2] [--parallel 4]
                       [--runs 3] [--fake sh|python]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FAKES = os.path.join(HERE, "..", "tests", "fakes")
REPLY = {
    "entities": [
        {"name": "SQLite", "type": "database", "description": None},
        {"name": "Rust", "type": "language", "description": None},
    ],
    "relationships": [
        {"from": "Rust", "to": "SQLite", "relation": "uses", "weight": 0.8, "description": None}
    ],
}


SH_FAKE = """#!/bin/sh
cat >/dev/null
echo '{"type":"system","subtype":"init","apiKeySource":"none","session_id":"s","tools":[]}'
sleep DELAY
echo 'RESULT'
"""


def write_sh_fake(home, delay):
    result = {
        "type": "result", "subtype": "success", "is_error": False, "num_turns": 2,
        "result": "", "session_id": "s", "structured_output": REPLY,
    }
    path = os.path.join(home, "claude")
    with open(path, "w") as f:
        f.write(SH_FAKE.replace("DELAY", str(delay)).replace("RESULT", json.dumps(result)))
    os.chmod(path, 0o755)
    return path


def one_run(args):
    with tempfile.TemporaryDirectory() as home:
        if args.fake == "sh":
            fake = write_sh_fake(home, args.delay)
        else:
            fake = os.path.join(FAKES, "claude")
        os.makedirs(os.path.join(home, ".claude"))
        with open(os.path.join(home, ".claude", "fake.json"), "w") as f:
            json.dump({"reply": REPLY, "delay": args.delay}, f)
        env = {
            "PATH": os.environ["PATH"],
            "HOME": home,
            "SQLITE_GRAPHRAG_DB": os.path.join(home, "db.sqlite"),
            "SQLITE_GRAPHRAG_RUNTIME_DIR": os.path.join(home, "run"),
            "SQLITE_GRAPHRAG_CLAUDE_BIN": fake,
            "SQLITE_GRAPHRAG_LLM_SLOTS": str(args.parallel),
            "SQLITE_GRAPHRAG_EXTRACT": "claude",
        }
        lines = "".join(
            json.dumps({"name": f"note-{i}", "body": f"Service {i} keeps its data in SQLite, written in Rust."}) + "\n"
            for i in range(args.jobs)
        )
        subprocess.run([args.bin, "import", "-"], input=lines, env=env, text=True, check=True, capture_output=True)
        started = time.monotonic()
        out = subprocess.run(
            [args.bin, "enrich", "--parallel", str(args.parallel)],
            env=env, text=True, capture_output=True,
        )
        wall = time.monotonic() - started
        if out.returncode != 0:
            sys.exit(f"enrich: exit {out.returncode}: {out.stderr}")
        summary = json.loads(out.stdout.splitlines()[-1])
        if summary["stored"] != args.jobs:
            sys.exit(f"stored {summary['stored']} of {args.jobs}: {summary}")
        return wall


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(HERE, "..", "target", "release", "sqlite-graphrag"))
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fake", choices=["sh", "python"], default="sh")
    args = parser.parse_args()
    ideal = args.jobs * args.delay / args.parallel
    walls = []
    for run in range(args.runs):
        wall = one_run(args)
        walls.append(wall)
        print(f"run {run + 1}: {wall:.1f} s ({wall / ideal:.3f} x ideal)", flush=True)
    median = statistics.median(walls)
    print(f"jobs {args.jobs}, delay {args.delay} s, parallel {args.parallel}: "
          f"ideal {ideal:.1f} s, median {median:.1f} s = {median / ideal:.3f} x ideal")


if __name__ == "__main__":
    main()
