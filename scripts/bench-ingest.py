#!/usr/bin/env python3
"""Benchmarks `ingest` with the release binary: a generated tree of files
(first ingest, re-ingest with nothing changed, ingest after 1% of the files
changed), then this repository's own src, tests, docs and README.md.

usage: bench-ingest.py [--bin PATH] [--files 10000] [--runs 3] [--seed 7]

The tree is deterministic for a given --seed: Markdown, Rust and text files
(half, a quarter and a quarter) of 300 B to 6 KiB of words from a
long-tailed vocabulary, in nested folders, with a .gitignore. Each run
builds the tree afresh and ingests it into a new database; times are of
whole processes, and each summary line is checked against what the step
must report. Medians of the runs are printed.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

SYLLABLES = ["al", "ba", "cor", "da", "el", "fen", "gra", "hol", "in", "jet", "ka", "lum", "mer",
             "nor", "om", "pax", "quo", "ra", "sil", "tor", "ul", "ven", "wes", "zen", "bri", "cal"]
COMMON = ("the of and to in is that for it as with was on be by this are from or an at which "
          "when we use data file user time error value request memory cache index query").split()


def vocabulary(rng):
    rare = sorted({"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
                   for _ in range(6000)})
    weights = [1.0 / (rank + 1) for rank in range(len(rare))]
    return rare, weights


def words(rng, vocab, count):
    rare, weights = vocab
    out = []
    for word in rng.choices(rare, weights=weights, k=count):
        out.append(rng.choice(COMMON) if rng.random() < 0.45 else word)
    return out


def file_text(rng, vocab, kind):
    size = rng.randint(300, 6 * 1024)
    body = words(rng, vocab, size // 6)
    if kind == "md":
        lines = [f"# {' '.join(body[:4]).title()}", ""]
        lines += [" ".join(body[i:i + 14]) for i in range(4, len(body), 14)]
    elif kind == "rs":
        lines = [f"//! {' '.join(body[:8])}", ""]
        for i in range(8, len(body), 10):
            name = "_".join(body[i:i + 2])
            lines.append(f"/// {' '.join(body[i:i + 10])}\npub fn {name}() -> usize {{ {i} }}\n")
    else:
        lines = [" ".join(body[i:i + 16]) for i in range(0, len(body), 16)]
    return "\n".join(lines) + "\n"


def build_tree(root, files, seed):
    """Writes the tree; returns the relative paths of its files."""
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    os.makedirs(root)
    with open(os.path.join(root, ".gitignore"), "w") as f:
        f.write("target/\n*.tmp\n")
    paths = []
    for n in range(files):
        kind = rng.choices(["md", "rs", "txt"], weights=[2, 1, 1])[0]
        folder = os.path.join(f"area{n % 20:02d}", f"part{(n // 20) % 25:02d}")
        path = os.path.join(folder, f"file{n:05d}.{kind}")
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        with open(os.path.join(root, path), "w") as f:
            f.write(file_text(rng, vocab, kind))
        paths.append(path)
    return paths


def ingest(binary, db, paths, cwd=None):
    """Runs one ingest; returns (seconds, summary)."""
    start = time.perf_counter()
    out = subprocess.run([binary, "--db", db, "-q", "ingest", *paths], cwd=cwd,
                         stdout=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"ingest failed with {out.returncode}: {paths}")
    summary = json.loads(out.stdout.decode().splitlines()[-1])
    return seconds, summary


def expect(summary, **counts):
    for key, value in counts.items():
        if summary[key] != value:
            sys.exit(f"expected {key}={value}: {summary}")


def report(label, samples, files):
    median = statistics.median(samples)
    runs = " / ".join(f"{s:.2f}" for s in samples)
    print(f"  {label:<34} median {median:7.2f} s  ({files / median:7.0f} files/s; runs {runs})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(REPO, "target", "release", "sqlite-graphrag"))
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    changed = max(1, args.files // 100)
    first, again, after_change = [], [], []
    own_first, own_again = [], []
    own_paths = ["src", "tests", "docs", "README.md"]
    own_files = None
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            root = os.path.join(tmp, f"tree{run}")
            db = os.path.join(tmp, f"tree{run}.sqlite")
            paths = build_tree(root, args.files, args.seed)
            megabytes = sum(os.path.getsize(os.path.join(root, p)) for p in paths) / 2**20
            seconds, summary = ingest(binary, db, [root])
            expect(summary, created=args.files, skipped=0)
            first.append(seconds)
            seconds, summary = ingest(binary, db, [root])
            expect(summary, unchanged=args.files, created=0, updated=0)
            again.append(seconds)
            for path in random.Random(args.seed + run).sample(paths, changed):
                with open(os.path.join(root, path), "a") as f:
                    f.write("One more line, changed since the last ingest.\n")
            seconds, summary = ingest(binary, db, [root])
            expect(summary, updated=changed, unchanged=args.files - changed)
            after_change.append(seconds)
            shutil.rmtree(root)

            own_db = os.path.join(tmp, f"own{run}.sqlite")
            seconds, summary = ingest(binary, own_db, own_paths, cwd=REPO)
            own_files = summary["created"]
            own_first.append(seconds)
            seconds, summary = ingest(binary, own_db, own_paths, cwd=REPO)
            expect(summary, unchanged=own_files, created=0, updated=0)
            own_again.append(seconds)
    print(f"generated tree: {args.files} files, {megabytes:.1f} MiB, seed {args.seed}, "
          f"{args.runs} runs")
    report("first ingest", first, args.files)
    report("re-ingest, nothing changed", again, args.files)
    report(f"ingest after {changed} files changed", after_change, args.files)
    print(f"this repository ({' '.join(own_paths)}): {own_files} files")
    report("first ingest", own_first, own_files)
    report("re-ingest, nothing changed", own_again, own_files)


if __name__ == "__main__":
    main()
