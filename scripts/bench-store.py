#!/usr/bin/env python3
"""Benchmarks the release binary on generated corpora: import throughput
(with embeddings), database size, whole-process latency (p50 and p90) of
--version, read, remember, search, recall and hybrid-search (with and
without the graph), and the peak resident memory of recall.

usage: bench-store.py [--bin PATH] [--sizes 10000,100000] [--runs 100] [--queries 20]
                      [--json PATH] [--keep DIR]

Latencies are wall-clock times of whole processes started with posix_spawn
(stdout to /dev/null); the harness adds well under 0.1 ms. For the three
searches, each of --queries generated queries runs --runs/--queries times
and the percentiles are over all runs. Import throughput is the median of
three imports into a new database for sizes up to 100,000, and one import
above that. Peak resident memory is ru_maxrss of each recall process (KiB on
Linux), reported as median and maximum over its runs.

--json PATH writes every figure as JSON, so runs of two versions can be put
side by side. --keep DIR keeps the corpora and databases in DIR (created if
missing) instead of a temporary folder; a corpus already there is reused,
the databases are imported again.
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LARGEST_SIZE_IMPORTED_THRICE = 100_000


def run_timed(argv):
    """Runs argv with stdout to /dev/null; returns (milliseconds, peak RSS in KiB)."""
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {argv}")
    return elapsed * 1000, usage.ru_maxrss


def percentile(samples, fraction):
    """Nearest-rank percentile of samples."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(len(ordered) * fraction) - 1)]


def latency(label, runs):
    """Prints and returns the p50/p90 of the (milliseconds, RSS) runs of one command."""
    millis = [ms for ms, _ in runs]
    figures = {"p50_ms": round(percentile(millis, 0.5), 3), "p90_ms": round(percentile(millis, 0.9), 3), "n": len(millis)}
    print(f"  {label:<40} p50 {figures['p50_ms']:7.2f} ms   p90 {figures['p90_ms']:7.2f} ms   n={len(millis)}")
    return figures


def generate(args, path):
    """Writes gen-corpus.py's output for args to path, unless a complete one is there."""
    if os.path.exists(path):
        return
    partial = path + ".partial"
    with open(partial, "w") as out:
        subprocess.run([sys.executable, os.path.join(HERE, "gen-corpus.py"), *args], stdout=out, check=True)
    os.replace(partial, path)


def remove_database(db):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)


def bench_import(binary, count, corpus, folder):
    """Imports corpus into new databases; returns the import figures and the first database."""
    attempts = 3 if count <= LARGEST_SIZE_IMPORTED_THRICE else 1
    rates = []
    for attempt in range(attempts):
        db = os.path.join(folder, f"import-{count}-{attempt}.sqlite")
        remove_database(db)
        ms, _ = run_timed([binary, "--db", db, "import", corpus])
        rates.append(count / (ms / 1000))
    db = os.path.join(folder, f"import-{count}-0.sqlite")
    size = os.path.getsize(db) + (os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0)
    figures = {"imports": attempts, "rates_per_s": [round(r) for r in rates],
               "median_per_s": round(statistics.median(rates)), "database_bytes": size}
    how = "median of 3 imports" if attempts == 3 else "one import"
    print(f"{count} memories: import {figures['median_per_s']} memories/s ({how}: "
          f"{', '.join(str(r) for r in figures['rates_per_s'])}), database {size / 2**20:.1f} MiB")
    return figures, db


def bench_size(binary, count, runs, queries, folder):
    """Measures one corpus size; returns its figures."""
    corpus = os.path.join(folder, f"corpus-{count}.jsonl")
    generate([str(count)], corpus)
    figures, db = bench_import(binary, count, corpus, folder)
    commands = {}
    commands["--version"] = latency("--version", [run_timed([binary, "--version"]) for _ in range(runs)])
    middle = f"mem-{count // 2:07d}"
    commands["read"] = latency("read", [run_timed([binary, "--db", db, "read", middle]) for _ in range(runs)])
    commands["remember"] = latency("remember (new name, embedded)", [
        run_timed([binary, "--db", db, "remember", "--name", f"bench-{i}", "--body",
                   f"benchmark memory {i}: the release script needs a retry when the disk fills up"])
        for i in range(runs)
    ])
    per_query = max(1, runs // len(queries))
    for verb in ("search", "recall", "hybrid-search", "hybrid-search --no-graph"):
        verb_runs = [run_timed([binary, "--db", db, *verb.split(), q]) for q in queries for _ in range(per_query)]
        commands[verb] = latency(f"{verb} ({len(queries)} queries)", verb_runs)
        if verb == "recall":
            rss = [kib for _, kib in verb_runs]
            figures["recall_peak_rss_kib"] = {"median": round(statistics.median(rss)), "max": max(rss)}
            print(f"  {'recall peak RSS':<40} median {figures['recall_peak_rss_kib']['median'] / 1024:7.1f} MiB"
                  f"   max {max(rss) / 1024:7.1f} MiB")
    figures["commands"] = commands
    return figures


def git_commit():
    result = subprocess.run(["git", "-C", HERE, "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() or None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(HERE, "..", "target", "release", "sqlite-graphrag"))
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--json", metavar="PATH", help="write every figure as JSON to PATH")
    parser.add_argument("--keep", metavar="DIR", help="keep corpora and databases in DIR (a corpus there is reused)")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    queries = subprocess.run([sys.executable, os.path.join(HERE, "gen-corpus.py"), "--queries", str(args.queries),
                              "--seed", "1001"], capture_output=True, text=True, check=True).stdout.splitlines()
    report = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "binary": binary,
        "binary_bytes": os.path.getsize(binary),
        "git_commit": git_commit(),
        "machine": {"cpus": os.cpu_count(), "system": platform.platform()},
        "runs": args.runs,
        "queries": args.queries,
        "load_before": list(os.getloadavg()),
        "sizes": {},
    }
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        folder, cleanup = args.keep, None
    else:
        cleanup = tempfile.TemporaryDirectory()
        folder = cleanup.name
    try:
        for count in (int(s) for s in args.sizes.split(",")):
            report["sizes"][str(count)] = bench_size(binary, count, args.runs, queries, folder)
    finally:
        if cleanup:
            cleanup.cleanup()
    report["load_after"] = list(os.getloadavg())
    print(f"load average before {report['load_before']}, after {report['load_after']}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
            out.write("\n")


if __name__ == "__main__":
    main()
