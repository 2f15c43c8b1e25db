#!/usr/bin/env python3
"""Writes a synthetic but realistic corpus of agent memories as JSONL.

Each memory is a few sentences (about 40 words) of the kind coding agents
store: decisions, bugs, preferences, facts about a codebase. Like real notes,
the words follow a long-tailed distribution: common English words, a few
hundred frequent technical terms, and thousands of rare names (components,
files, people, tickets) drawn with Zipf-like weights, so most content words
occur in few memories. Every 20 consecutive memories share a `session`, as
the notes one agent session writes would. The output is deterministic for a
given --seed.

usage: gen-corpus.py COUNT [--seed N] [--namespace NS] > corpus.jsonl
       gen-corpus.py --queries N [--seed N] > queries.txt
"""
import argparse
import json
import random

SYLLABLES = [
    "al", "ba", "cor", "da", "el", "fen", "gra", "hol", "in", "jet", "ka", "lum", "mer", "nor", "om",
    "pax", "quo", "ra", "sil", "tor", "ul", "ven", "wes", "xa", "yor", "zen", "bri", "cal", "dor", "fi",
]
KINDS = [
    "service", "worker", "queue", "cache", "client", "parser", "scheduler", "gateway", "index", "store",
    "exporter", "importer", "resolver", "validator", "renderer", "watcher", "proxy", "router", "pool", "job",
]
FIRST_NAMES = [
    "Ana", "Bruno", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ivan", "Jules", "Kofi", "Lena",
    "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tomas", "Uma", "Viktor", "Wen", "Yara",
]
TERMS = [
    "deploy", "rollback", "migration", "schema", "index", "latency", "timeout", "retry", "backoff",
    "deadlock", "race", "leak", "panic", "crash", "regression", "benchmark", "profile", "flamegraph",
    "allocation", "buffer", "socket", "handshake", "certificate", "token", "session", "cookie", "header",
    "payload", "checksum", "compression", "encryption", "signature", "webhook", "callback", "cron",
    "container", "image", "volume", "cluster", "replica", "shard", "partition", "quorum", "leader",
    "snapshot", "backup", "restore", "vacuum", "checkpoint", "journal", "cursor", "transaction", "lock",
    "mutex", "semaphore", "thread", "coroutine", "future", "stream", "channel", "pipeline", "batch",
    "throttle", "quota", "limit", "budget", "alert", "dashboard", "metric", "trace", "span", "log",
    "warning", "error", "exception", "stacktrace", "fixture", "mock", "snapshot-test", "flaky", "linter",
    "formatter", "compiler", "linker", "toolchain", "dependency", "lockfile", "vendor", "license",
    "changelog", "release", "tag", "branch", "merge", "rebase", "review", "approval", "hotfix", "patch",
]
VERBS = [
    "times out when", "breaks whenever", "got faster after", "needs a retry when", "was rewritten because",
    "must be restarted if", "leaks memory when", "stopped flaking once", "only fails in CI when",
    "logs a warning when", "double counts events if", "should be checked before", "was pinned because",
    "returns stale data when", "holds the lock too long when", "drops messages if",
]
CONDITIONS = [
    "two deploys overlap", "the token expires during an upload", "the connection pool is exhausted",
    "the clock drifts on the runner", "someone edits the schema by hand", "the queue grows past its quota",
    "a user pastes emoji into a title", "the disk fills up", "the vendor changes their payload",
    "tests share one database", "the lock file is deleted", "the network drops for a second",
    "a flag flips at midnight", "a migration renames a column", "the cache is cold after a restart",
]
ADVICE = [
    "Prefer small pull requests and keep the changelog current.",
    "Run the whole suite locally before pushing.",
    "Never commit secrets; the vault holds them.",
    "Tag releases from the main branch only, after CI is green.",
    "Keep transactions short and retry on busy.",
    "Write the error message for the person on call.",
    "Document every environment variable.",
    "Ask the owner before touching this code.",
]
TYPES = ["decision", "bug", "preference", "fact", "note", "todo"]
SESSION_LENGTH = 20


class Vocabulary:
    """Names drawn with Zipf-like weights: a few common, most rare."""

    def __init__(self, rng):
        self.rng = rng
        self.components = self._zipf([self._component() for _ in range(4000)])
        self.files = self._zipf([self._file() for _ in range(3000)])
        self.people = self._zipf([f"{rng.choice(FIRST_NAMES)} {rng.choice(SYLLABLES).capitalize()}{rng.choice(SYLLABLES)}" for _ in range(400)])
        self.terms = self._zipf(TERMS)

    def _component(self):
        name = "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 3)))
        return f"{name}-{self.rng.choice(KINDS)}"

    def _file(self):
        parts = ["".join(self.rng.choice(SYLLABLES) for _ in range(2)) for _ in range(self.rng.randint(1, 3))]
        return "src/" + "/".join(parts) + self.rng.choice([".rs", ".py", ".ts", ".go", ".sql", ".toml"])

    def _zipf(self, items):
        weights = [1.0 / (rank + 1) for rank in range(len(items))]
        return items, weights

    def pick(self, table):
        items, weights = table
        return self.rng.choices(items, weights)[0]


def sentence(v, rng):
    kind = rng.random()
    if kind < 0.35:
        return f"The {v.pick(v.components)} {rng.choice(VERBS)} {rng.choice(CONDITIONS)}."
    if kind < 0.55:
        return f"{v.pick(v.people)} found that {v.pick(v.files)} causes a {v.pick(v.terms)} {v.pick(v.terms)} in the {v.pick(v.components)}."
    if kind < 0.7:
        return f"Ticket {rng.choice(['OPS', 'PAY', 'WEB', 'DB'])}-{rng.randint(100, 9999)} tracks the {v.pick(v.terms)} in {v.pick(v.files)}."
    if kind < 0.85:
        return f"We chose {v.pick(v.terms)} over {v.pick(v.terms)} for the {v.pick(v.components)} after {v.pick(v.people)} measured it."
    return rng.choice(ADVICE)


def body(v, rng):
    parts = []
    while sum(len(p.split()) for p in parts) < 34:
        parts.append(sentence(v, rng))
    return " ".join(parts)


def query(v, rng):
    templates = [
        lambda: f"why does the {v.pick(v.components)} {rng.choice(VERBS).split()[0]}",
        lambda: f"what did {v.pick(v.people)} find about {v.pick(v.terms)}",
        lambda: f"{v.pick(v.terms)} problems in {v.pick(v.files)}",
        lambda: f"how do we handle {v.pick(v.terms)} when {rng.choice(CONDITIONS)}",
        lambda: f"decision about {v.pick(v.terms)} for the {v.pick(v.components)}",
    ]
    return rng.choice(templates)()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int, nargs="?", default=0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--namespace", default=None)
    parser.add_argument("--queries", type=int, default=0, help="print this many queries instead")
    args = parser.parse_args()
    vocab = Vocabulary(random.Random(7))
    rng = random.Random(args.seed)
    vocab.rng = rng
    if args.queries:
        for _ in range(args.queries):
            print(query(vocab, rng))
        return
    for i in range(args.count):
        line = {
            "name": f"mem-{i:07d}",
            "type": rng.choice(TYPES),
            "description": f"{vocab.pick(vocab.components)}: {rng.choice(CONDITIONS)}",
            "body": body(vocab, rng),
            "metadata": {"source": "generator", "seq": i},
            "session": f"session-{i // SESSION_LENGTH:05d}",
        }
        if args.namespace:
            line["namespace"] = args.namespace
        print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main()
