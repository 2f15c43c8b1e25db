#!/usr/bin/env python3
"""What graph expansion adds to `hybrid-search` on a large database.

Generates a corpus (scripts/gen-corpus.py: sessions of 20 memories), imports
it into a new database, then runs each of 20 generated queries with and
without the graph, alternating, and prints the medians of whole processes
for `--no-graph`, `--hops 0`, the default (1 hop) and `--hops 2`, and the
median of the per-query differences against `--no-graph`.

usage: bench-graph-latency.py [--bin PATH] [--count 100000] [--rounds 5] [--db PATH]

--db reuses a database made by an earlier run (kept there) instead of
importing again.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VARIANTS = {"--no-graph": ["--no-graph"], "--hops 0": ["--hops", "0"], "default": [], "--hops 2": ["--hops", "2"]}


def timed(argv):
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(HERE, "..", "target", "release", "sqlite-graphrag"))
    parser.add_argument("--count", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    gen = os.path.join(HERE, "gen-corpus.py")
    queries = subprocess.run([sys.executable, gen, "--queries", "20", "--seed", "1001"],
                             capture_output=True, text=True, check=True).stdout.splitlines()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or os.path.join(tmp, "bench.sqlite")
        if not os.path.exists(db):
            corpus = os.path.join(tmp, "corpus.jsonl")
            with open(corpus, "w") as out:
                subprocess.run([sys.executable, gen, str(args.count)], stdout=out, check=True)
            subprocess.run([binary, "--db", db, "import", corpus], stdout=subprocess.DEVNULL, check=True)
        samples = {name: [] for name in VARIANTS}
        extra = {name: [] for name in VARIANTS}
        for _ in range(args.rounds):
            for q in queries:
                base = None
                for name, flags in VARIANTS.items():
                    ms = timed([binary, "--db", db, "hybrid-search", q, *flags])
                    samples[name].append(ms)
                    if base is None:
                        base = ms
                    else:
                        extra[name].append(ms - base)
        for name in VARIANTS:
            line = f"hybrid-search {name:<11} median {statistics.median(samples[name]):7.2f} ms"
            if extra[name]:
                line += f"   added median {statistics.median(extra[name]):6.2f} ms"
            print(line + f"   n={len(samples[name])}")


if __name__ == "__main__":
    main()
