#!/usr/bin/env python3
"""Retrieval quality on the development split of the LoCoMo benchmark.

Imports ../shared/bench/locomo-dev/memories.jsonl into a new database with
the release binary (each dialog turn is a memory, with the dialog session
it was said in as its session), runs every query of queries.jsonl except category 5 (adversarial)
in its own namespace through `search` (words only), `recall` (vectors only),
`hybrid-search` and `deep-research` (the heuristic splitter; no LLM), and
prints R@k, Hit@k and MRR@20 for each, then R@10 for each question category.
For `deep-research` it also prints how many questions were split and the
mean number of sub-questions.

usage: bench-retrieval.py [--bin PATH] [--data DIR]
                          [--modes search,recall,hybrid-search,deep-research]
                          [--extra "ARGS"] [--pairs] [--distractors FILE:N]
                          [--scores]

--extra adds arguments to every query (e.g. "--no-graph").
--distractors FILE:N also imports the first N memories of the JSONL FILE
(e.g. a corpus of scripts/gen-corpus.py) into every namespace of the
split, so that each is large enough for the vector prefilter; compare a
run with --extra "--exact" to see what the prefilter loses.
--scores also measures how the top result's score separates questions the
split answers (categories 1 to 4) from the adversarial ones (category 5)
and from off-topic ones (scripts/off-topic-queries.txt, general-knowledge
questions asked in every namespace): for search, recall and hybrid-search
it prints, per category, the quartiles of the top score and the share of
questions whose top score reaches each of a few thresholds (what
--min-score would keep).
--pairs asks two questions at once instead: each question is joined to the
next one of the same namespace (one pair per two questions), and the
relevant turns of both are relevant.

The binary runs with --no-config, so only the environment chooses the
embedder: the built-in model by default, or an OpenAI-compatible
embeddings API, e.g. the model served by scripts/serve-embeddings.py:

    SQLITE_GRAPHRAG_EMBEDDER=openai-compatible \
    SQLITE_GRAPHRAG_EMBED_BASE_URL=http://127.0.0.1:8089/v1 \
    SQLITE_GRAPHRAG_EMBED_MODEL=all-MiniLM-L6-v2 \
    python3 scripts/bench-retrieval.py

(a key in SQLITE_GRAPHRAG_EMBED_API_KEY or OPENROUTER_API_KEY unless the
server is on this machine; SQLITE_GRAPHRAG_EMBED_DIMENSIONS, _BATCH,
_QUERY_PREFIX, _DOCUMENT_PREFIX and _INPUT_TYPE as the README describes).
The script first prints the embedder measured and how long the import
took; under each mode, how many queries failed (a failed query counts as
finding nothing) and the first error.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KS = (1, 5, 10, 20)


class CommandFailed(Exception):
    """A run of the binary that exited with an error."""


def run(binary, db, args, stdin=None):
    out = subprocess.run([binary, "--no-config", "--db", db, *args], input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        said = " ".join(f"{out.stdout} {out.stderr}".split())
        raise CommandFailed(f"{args}: exit {out.returncode}: {said}")
    return json.loads(out.stdout)


def embedder():
    """The embedder the binary will use, read from the variables it reads."""
    name = os.environ.get("SQLITE_GRAPHRAG_EMBEDDER", "builtin")
    if name != "openai-compatible":
        return name
    model = os.environ.get("SQLITE_GRAPHRAG_EMBED_MODEL", "(no model set)")
    base = os.environ.get("SQLITE_GRAPHRAG_EMBED_BASE_URL", "https://openrouter.ai/api/v1")
    described = f"openai-compatible {model} at {base}"
    settings = [
        f"{variable[len('SQLITE_GRAPHRAG_EMBED_'):].lower()}={os.environ[variable]!r}"
        for variable in (
            "SQLITE_GRAPHRAG_EMBED_DIMENSIONS",
            "SQLITE_GRAPHRAG_EMBED_QUERY_PREFIX",
            "SQLITE_GRAPHRAG_EMBED_DOCUMENT_PREFIX",
            "SQLITE_GRAPHRAG_EMBED_INPUT_TYPE",
        )
        if variable in os.environ
    ]
    return f"{described} ({', '.join(settings)})" if settings else described


def pairs(queries):
    """Each question joined to the next one of its namespace, two by two."""
    out = []
    for first, second in zip(queries[::2], queries[1::2]):
        if first["namespace"] != second["namespace"]:
            continue
        text = first["query"].rstrip()
        if not text.endswith("?"):
            text += "?"
        out.append({
            "namespace": first["namespace"],
            "query": f"{text} {second['query']}",
            "relevant": sorted(set(first["relevant"]) | set(second["relevant"])),
            "category": "pair",
        })
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(HERE, "..", "target", "release", "sqlite-graphrag"))
    parser.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "bench", "locomo-dev"))
    parser.add_argument("--modes", default="search,recall,hybrid-search,deep-research")
    parser.add_argument("--extra", default="", help="arguments added to every query")
    parser.add_argument("--pairs", action="store_true", help="ask the questions two at a time")
    parser.add_argument("--distractors", help="FILE:N, memories added to every namespace")
    parser.add_argument("--scores", action="store_true", help="measure how top scores separate categories")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    memories = [json.loads(line) for line in open(os.path.join(args.data, "memories.jsonl"))]
    all_queries = [json.loads(line) for line in open(os.path.join(args.data, "queries.jsonl"))]
    queries = [q for q in all_queries if q.get("category") != 5]
    if args.pairs:
        queries = pairs(queries)
    lines = []
    for m in memories:
        line = {"name": m["name"], "namespace": m["namespace"], "body": m["body"]}
        for field in ("created_at", "session"):
            if field in m:
                line[field] = m[field]
        extra = {k: v for k, v in m.items() if k not in ("name", "namespace", "body", "created_at", "session")}
        if extra:
            line["metadata"] = extra
        lines.append(json.dumps(line))
    if args.distractors:
        path, count = args.distractors.rsplit(":", 1)
        with open(path) as corpus:
            extra = [json.loads(next(corpus)) for _ in range(int(count))]
        for namespace in sorted({m["namespace"] for m in memories}):
            for line in extra:
                lines.append(json.dumps({"name": line["name"], "namespace": namespace, "body": line["body"]}))
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.sqlite")
        print(f"embedder: {embedder()}")
        start = time.time()
        try:
            report = run(binary, db, ["import", "-"], stdin="\n".join(lines) + "\n")
        except CommandFailed as error:
            sys.exit(f"import failed: {error}")
        assert report["failed"] == 0, report
        took = time.time() - start
        print(f"import: {took:.1f} s ({len(lines) / took:.0f} memories/s)")
        asked = "question pairs" if args.pairs else "queries"
        print(f"{len(lines)} memories, {len(queries)} {asked} (category 5 left out)")
        for mode in args.modes.split(","):
            recall = {k: 0.0 for k in KS}
            hit = {k: 0.0 for k in KS}
            mrr = 0.0
            by_category = {}
            split, sub_questions = 0, 0
            failed, first_error = 0, None
            start = time.time()
            for q in queries:
                try:
                    out = run(binary, db, ["--namespace", q["namespace"], mode, q["query"], "-k", "20", *args.extra.split()])
                    names = [r["name"] for r in out["results"]]
                    if "sub_questions" in out:
                        sub_questions += len(out["sub_questions"])
                        split += len(out["sub_questions"]) > 1
                except CommandFailed as error:
                    names = []
                    failed += 1
                    first_error = first_error or str(error)
                relevant = set(q["relevant"])
                for k in KS:
                    found = len(relevant & set(names[:k]))
                    recall[k] += found / len(relevant)
                    hit[k] += 1.0 if found else 0.0
                found10 = len(relevant & set(names[:10])) / len(relevant)
                total, count = by_category.get(q.get("category"), (0.0, 0))
                by_category[q.get("category")] = (total + found10, count + 1)
                rank = next((i + 1 for i, n in enumerate(names) if n in relevant), None)
                mrr += 1.0 / rank if rank else 0.0
            n = len(queries)
            row = "  ".join(f"R@{k} {recall[k] / n:.3f}" for k in KS)
            hits = "  ".join(f"Hit@{k} {hit[k] / n:.3f}" for k in KS)
            print(f"{mode:<14} {row}  {hits}  MRR@20 {mrr / n:.3f}  ({time.time() - start:.1f} s)")
            categories = "  ".join(
                f"cat {c}: {t / k:.3f} ({k})" for c, (t, k) in sorted(by_category.items(), key=lambda i: str(i[0]))
            )
            print(f"{'':<14} R@10 by category: {categories}")
            if sub_questions:
                print(f"{'':<14} {split} questions split; {sub_questions / n:.2f} sub-questions per question")
            print(f"{'':<14} {failed} of {n} {asked} failed" + (f"; first: {first_error}" if failed else ""))
        if args.scores:
            score_separation(binary, db, all_queries, memories, args.extra.split())


THRESHOLDS = {
    "search": (3.0, 5.0, 6.0, 8.0),
    "recall": (0.80, 0.84, 0.85, 0.86, 0.88),
    "hybrid-search": (0.80, 0.84, 0.85, 0.86, 0.88),
}


def score_separation(binary, db, queries, memories, extra):
    """Prints, per mode and category, the top score's quartiles and the
    share of questions whose top score reaches each threshold."""
    with open(os.path.join(HERE, "off-topic-queries.txt")) as listed:
        off_topic = [line.strip() for line in listed if line.strip()]
    asked = [(q["namespace"], q["query"], str(q.get("category"))) for q in queries]
    for namespace in sorted({m["namespace"] for m in memories}):
        asked += [(namespace, text, "off-topic") for text in off_topic]
    print(f"top scores: {len(asked)} questions ({len(off_topic)} off-topic ones in each namespace)")
    for mode, thresholds in THRESHOLDS.items():
        tops = {}
        for namespace, text, category in asked:
            try:
                out = run(binary, db, ["--namespace", namespace, mode, text, "-k", "1", *extra])
                top = out["results"][0]["score"] if out["results"] else 0.0
            except CommandFailed:
                top = 0.0
            tops.setdefault(category, []).append(top)
        tops["1-4"] = sum((tops.get(c, []) for c in ("1", "2", "3", "4")), [])
        print(f"{mode}")
        for category in ("1", "2", "3", "4", "1-4", "5", "off-topic"):
            values = sorted(tops.get(category, []))
            if not values:
                continue
            quartile = lambda p: values[round(p * (len(values) - 1))]
            kept = "  ".join(f">={t:g}: {sum(v >= t for v in values) / len(values):.2f}" for t in thresholds)
            print(
                f"  cat {category:<9} ({len(values):3})  top score p25 {quartile(0.25):.3f}  "
                f"median {quartile(0.5):.3f}  p75 {quartile(0.75):.3f}  kept {kept}"
            )


if __name__ == "__main__":
    main()
