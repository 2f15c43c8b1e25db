#!/usr/bin/env python3
"""Writes a synthetic but realistic corpus of agent memories as JSONL.

Each memory is a few sentences (about 40 words) of the kind coding agents
store: decisions, bugs, preferences, facts about a codebase. The output is
deterministic for a given --seed.

usage: gen-corpus.py COUNT [--seed N] [--namespace NS] > corpus.jsonl
"""
import argparse
import json
import random

SUBJECTS = [
    "the auth service", "the billing worker", "our CI pipeline", "the search index",
    "the mobile client", "the staging database", "the payments API", "the cache layer",
    "the onboarding flow", "the export job", "the rate limiter", "the release script",
    "the admin dashboard", "the webhook handler", "the migration runner", "the logging setup",
    "the feature flag system", "the image resizer", "the notification queue", "the config loader",
]
VERBS = [
    "times out when", "breaks whenever", "got much faster after", "needs a retry when",
    "was rewritten because", "must be restarted if", "leaks memory when", "was moved to Rust after",
    "stopped flaking once", "depends on the order in which", "only fails in CI when",
    "logs a warning when", "double counts events if", "should be checked before",
]
CLAUSES = [
    "two deploys overlap", "the token expires during a long upload", "we bumped the connection pool",
    "the clock on the runner drifts", "someone edits the schema by hand", "the queue grows past ten thousand items",
    "a user pastes emoji into the title", "the disk fills up on the build host", "the vendor changes their JSON",
    "tests run in parallel on one database", "the lock file is deleted", "the network drops for a second",
    "the feature flag is flipped at midnight", "a migration renames a column", "the cache is cold after a restart",
]
ADVICE = [
    "Prefer small pull requests and keep the changelog current.",
    "Ask Dana before touching the invoicing code; she owns it.",
    "Run the full suite locally with the race detector enabled.",
    "Never store secrets in the repository, use the vault instead.",
    "Use tabs in Makefiles and four spaces everywhere else.",
    "Tag releases from the main branch only, after CI is green.",
    "Benchmarks live in the bench folder and run nightly.",
    "The on-call rotation changes every Monday at nine.",
    "Write the error message for the person reading it at 3 a.m.",
    "Keep database transactions short and retry on busy.",
    "The staging data is reset every Sunday night.",
    "Document every environment variable in the README.",
]
TYPES = ["decision", "bug", "preference", "fact", "note", "todo"]


def body(rng):
    parts = []
    while sum(len(p.split()) for p in parts) < 34:
        parts.append(
            f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(CLAUSES)}."
        )
        if rng.random() < 0.5:
            parts.append(rng.choice(ADVICE))
    return " ".join(parts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--namespace", default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for i in range(args.count):
        line = {
            "name": f"mem-{i:07d}",
            "type": rng.choice(TYPES),
            "description": f"{rng.choice(SUBJECTS)}: {rng.choice(CLAUSES)}",
            "body": body(rng),
            "metadata": {"source": "generator", "seq": i},
        }
        if args.namespace:
            line["namespace"] = args.namespace
        print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main()
