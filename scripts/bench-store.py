#!/usr/bin/env python3
"""Benchmarks the memory store with the release binary: whole-process latency
of --version, read and remember, and import throughput.

usage: bench-store.py [--bin PATH] [--count 100000] [--runs 200]

Latencies are wall-clock times of whole processes started with posix_spawn
(the harness adds well under 0.1 ms); the median and the 90th percentile are
printed. Import throughput is the median of three imports into a new DB.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run_timed(argv):
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {argv}")
    return elapsed * 1000


def summary(label, samples):
    samples = sorted(samples)
    p90 = samples[int(len(samples) * 0.9) - 1]
    print(f"{label:<44} median {statistics.median(samples):7.2f} ms   p90 {p90:7.2f} ms   n={len(samples)}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(HERE, "..", "target", "release", "sqlite-graphrag"))
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.jsonl")
        with open(corpus, "w") as out:
            subprocess.run([sys.executable, os.path.join(HERE, "gen-corpus.py"), str(args.count)],
                           stdout=out, check=True)
        rates = []
        for attempt in range(3):
            db = os.path.join(tmp, f"import-{attempt}.sqlite")
            seconds = run_timed([binary, "--db", db, "import", corpus]) / 1000
            rates.append(args.count / seconds)
        print(f"{'import ' + str(args.count) + ' memories':<44} median {statistics.median(rates):9.0f} memories/s "
              f"(runs: {', '.join(f'{r:.0f}' for r in rates)})")
        db = os.path.join(tmp, "import-0.sqlite")
        summary("--version", [run_timed([binary, "--version"]) for _ in range(args.runs)])
        middle = f"mem-{args.count // 2:07d}"
        summary(f"read (DB of {args.count})", [run_timed([binary, "--db", db, "read", middle]) for _ in range(args.runs)])
        summary(f"remember, new name (DB of {args.count})", [
            run_timed([binary, "--db", db, "remember", "--name", f"bench-{i}", "--body",
                       f"benchmark memory {i}: the release script needs a retry when the disk fills up"])
            for i in range(args.runs)
        ])
        summary(f"search, 3 words (DB of {args.count})", [
            run_timed([binary, "--db", db, "search", "cache restart timeout"]) for _ in range(args.runs)
        ])


if __name__ == "__main__":
    main()
