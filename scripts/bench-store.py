#!/usr/bin/env python3
"""Benchmarks the release binary on generated corpora: import throughput
(with embeddings) and whole-process latency of --version, read, remember,
search, recall and hybrid-search (with and without the graph).

usage: bench-store.py [--bin PATH] [--sizes 10000,100000] [--runs 100] [--queries 20]

Latencies are wall-clock times of whole processes started with posix_spawn
(stdout to /dev/null); the harness adds well under 0.1 ms. For the three
searches, each of --queries generated queries runs --runs/--queries times
and the median over all runs is printed. Import throughput is the median of
three imports into a new database.
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
    print(f"  {label:<40} median {statistics.median(samples):7.2f} ms   p90 {p90:7.2f} ms   n={len(samples)}")


def generate(args, path):
    with open(path, "w") as out:
        subprocess.run([sys.executable, os.path.join(HERE, "gen-corpus.py"), *args], stdout=out, check=True)


def bench_size(binary, count, runs, queries, tmp):
    corpus = os.path.join(tmp, f"corpus-{count}.jsonl")
    generate([str(count)], corpus)
    rates = []
    for attempt in range(3):
        db = os.path.join(tmp, f"import-{count}-{attempt}.sqlite")
        seconds = run_timed([binary, "--db", db, "import", corpus]) / 1000
        rates.append(count / seconds)
    db = os.path.join(tmp, f"import-{count}-0.sqlite")
    size = os.path.getsize(db) + (os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0)
    print(f"{count} memories: import median {statistics.median(rates):.0f} memories/s "
          f"(runs: {', '.join(f'{r:.0f}' for r in rates)}), database {size / 2**20:.1f} MiB")
    summary("--version", [run_timed([binary, "--version"]) for _ in range(runs)])
    middle = f"mem-{count // 2:07d}"
    summary("read", [run_timed([binary, "--db", db, "read", middle]) for _ in range(runs)])
    summary("remember (new name, embedded)", [
        run_timed([binary, "--db", db, "remember", "--name", f"bench-{i}", "--body",
                   f"benchmark memory {i}: the release script needs a retry when the disk fills up"])
        for i in range(runs)
    ])
    per_query = max(1, runs // len(queries))
    for verb in ("search", "recall", "hybrid-search", "hybrid-search --no-graph"):
        samples = [run_timed([binary, "--db", db, *verb.split(), q]) for q in queries for _ in range(per_query)]
        summary(f"{verb} ({len(queries)} queries)", samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(HERE, "..", "target", "release", "sqlite-graphrag"))
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    queries = subprocess.run([sys.executable, os.path.join(HERE, "gen-corpus.py"), "--queries", str(args.queries),
                              "--seed", "1001"], capture_output=True, text=True, check=True).stdout.splitlines()
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(s) for s in args.sizes.split(",")):
            bench_size(binary, count, args.runs, queries, tmp)


if __name__ == "__main__":
    main()
