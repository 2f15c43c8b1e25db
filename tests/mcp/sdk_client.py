"""Drives `sqlite-graphrag mcp` with the official MCP Python SDK (PyPI `mcp`).

Usage: sdk_client.py BINARY WORKDIR SCENARIO, where SCENARIO is one of
tools, auto, cancel, concurrent. Exits 0 when every check holds; an
assertion error otherwise. The SDK itself checks each result against the
tool's output schema and raises when they disagree.
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.client import Client
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

BINARY, WORKDIR, SCENARIO = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
DB = WORKDIR / "memory.sqlite"
FAKES = Path(__file__).resolve().parent.parent / "fakes"
TIMEOUT = 60
OTHER_NAMESPACE = "github.com/acme/harbor"


def params(*extra):
    """The server: the binary under test on this test's database."""
    return StdioServerParameters(
        command=BINARY,
        args=["--db", str(DB), "--runtime-dir", str(WORKDIR / "runtime"), *extra, "mcp"],
        env={
            "HOME": str(WORKDIR),
            "SQLITE_GRAPHRAG_CLAUDE_BIN": str(FAKES / "claude"),
            "SQLITE_GRAPHRAG_CODEX_BIN": str(FAKES / "codex"),
        },
        cwd=str(WORKDIR),
    )


class Session:
    """An initialized low-level session, with helpers that check results."""

    def __init__(self, session):
        self.s = session

    async def ok(self, tool, **arguments):
        result = await self.s.call_tool(tool, arguments)
        text = result.content[0].text if result.content else ""
        assert not result.is_error, f"{tool} {arguments} failed: {text}"
        assert isinstance(result.structured_content, dict), f"{tool}: no structured content"
        assert text, f"{tool}: no text rendering"
        return result.structured_content

    async def error(self, tool, kind, **arguments):
        result = await self.s.call_tool(tool, arguments)
        assert result.is_error, f"{tool} {arguments} should fail, got {result.structured_content}"
        assert result.structured_content is None
        error = json.loads(result.content[0].text)["error"]
        assert error["kind"] == kind, f"{tool}: expected {kind}, got {error}"
        return error


async def with_session(body, *extra):
    async with stdio_client(params(*extra)) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=TIMEOUT) as session:
            init = await session.initialize()
            assert init.protocol_version == "2025-11-25", init.protocol_version
            assert init.server_info.name == "sqlite-graphrag"
            assert "recall" in (init.instructions or "")
            return await body(Session(session))


EXPECTED_TOOLS = {
    "recall", "remember", "read", "list", "edit", "forget", "restore", "history",
    "related", "link", "unlink", "entities", "entity", "graph_neighbourhood",
    "namespaces", "stats",
}


async def every_tool(s):
    listed = (await s.s.list_tools()).tools
    names = {tool.name for tool in listed}
    assert names == EXPECTED_TOOLS, f"listed {sorted(names)}"
    for tool in listed:
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema["type"] == "object"
        assert tool.description and tool.annotations is not None
        assert "namespace" in tool.input_schema["properties"], tool.name

    body = "The billing service keeps invoices in Postgres and signs webhooks with HMAC."
    made = await s.ok("remember", name="billing-storage", body=body, type="fact",
                      description="where billing keeps invoices", metadata={"source": "test"})
    assert made["action"] == "created" and made["version"] == 1
    await s.ok("remember", name="deploys", body="Deploys go out on Tuesdays after the Postgres backup.")
    await s.ok("remember", name="elsewhere", body="Another project's note.", namespace=OTHER_NAMESPACE)

    found = await s.ok("recall", query="where are invoices stored")
    assert found["results"][0]["name"] == "billing-storage", found
    for mode in ["hybrid", "meaning", "words"]:
        hits = await s.ok("recall", query="invoices Postgres", mode=mode, limit=1)
        assert [h["name"] for h in hits["results"]] == ["billing-storage"], (mode, hits)
    other = await s.ok("recall", query="note", namespace=OTHER_NAMESPACE)
    assert [h["name"] for h in other["results"]] == ["elsewhere"], other

    read = await s.ok("read", names=["billing-storage"])
    memory = read["memories"][0]
    assert memory["body"] == body and memory["metadata"] == {"source": "test"} and read["missing"] == []
    read = await s.ok("read", names=["deploys", "no-such", "billing-storage"])
    assert [m["name"] for m in read["memories"]] == ["deploys", "billing-storage"] and read["missing"] == ["no-such"]
    listing = await s.ok("list", limit=1)
    assert listing["total"] == 2 and listing["more"] is True and len(listing["items"]) == 1
    with_body = await s.ok("recall", query="invoices", limit=1, with_body=True, snippet_chars=11, since="1d")
    assert with_body["results"][0]["body"] == body and with_body["results"][0]["excerpt"] == body[:11]
    nothing = await s.ok("recall", query="what is the capital of France", min_score=0.99)
    assert nothing["results"] == [], nothing
    empty = await s.ok("list", namespace="github.com/nobody/nothing")
    assert empty["items"] == [] and empty["total"] == 0

    edited = await s.ok("edit", name="deploys", description="release day")
    assert edited["version"] == 2
    history = await s.ok("history", name="deploys")
    assert [v["version"] for v in history["versions"]] == [1, 2]
    assert [v["version"] for v in (await s.ok("history", name="deploys", limit=1))["versions"]] == [2]
    assert (await s.ok("forget", name="deploys"))["action"] == "forgotten"
    assert (await s.ok("restore", name="deploys"))["action"] == "restored"

    link = await s.ok("link", **{"from": "billing-service", "to": "Postgres", "relation": "depends_on"})
    assert link["relation"] == "depends_on"
    entities = await s.ok("entities", limit=50)
    assert "Postgres" in {e["name"] for e in entities["entities"]}, entities
    entity = await s.ok("entity", name="postgres")
    assert entity["outgoing"] or entity["incoming"]
    graph = await s.ok("graph_neighbourhood", entity="billing-service", hops=1)
    assert {"billing-service", "Postgres"} <= {e["name"] for e in graph["entities"]}, graph
    related = await s.ok("related", entity="Postgres")
    assert "billing-storage" in {r["name"] for r in related["results"]}, related
    assert len((await s.ok("unlink", **{"from": "billing-service", "to": "Postgres"}))["removed"]) == 1

    namespaces = await s.ok("namespaces")
    assert {n["namespace"] for n in namespaces["namespaces"]} == {"global", OTHER_NAMESPACE}
    assert (await s.ok("stats"))["memories"] == 3

    # Failures are tool results carrying the command line's error kind.
    await s.error("read", "not_found", names=["no-such-memory"])
    await s.error("remember", "already_exists", name="billing-storage", body="again")
    await s.error("recall", "invalid_input", query="x", limit=0)
    await s.error("recall", "invalid_input", query="x", colour="red")
    await s.error("remember", "invalid_input", name="x")
    await s.error("read", "invalid_input", names=["x"], namespace="bad namespace!")
    await s.error("read", "invalid_input", names="x")
    await s.error("recall", "invalid_input", query="x", since="yesterday-ish")
    try:
        await s.s.call_tool("no_such_tool", {})
        raise AssertionError("an unknown tool must be a protocol error")
    except MCPError as e:
        assert e.error.code == -32602, e.error
    await s.s.send_ping()


async def auto_mode():
    started = time.monotonic()
    async with Client(params(), read_timeout_seconds=TIMEOUT) as client:
        assert client.protocol_version == "2025-11-25"
        tools = await client.list_tools()
        assert {t.name for t in tools.tools} == EXPECTED_TOOLS
        made = await client.call_tool("remember", {"name": "first", "body": "The first memory."})
        assert not made.is_error, made.content
        assert made.structured_content["action"] == "created"
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"the high-level client took {elapsed:.1f} s to connect and call"


async def cancellation(s):
    (WORKDIR / ".claude").mkdir(exist_ok=True)
    (WORKDIR / ".claude" / "fake.json").write_text(json.dumps({"delay": 3}))
    try:
        await s.s.call_tool("remember", {"name": "slow", "body": "Extracted slowly.", "extract": "claude"},
                            read_timeout_seconds=0.5)
        raise AssertionError("the slow call should have timed out")
    except MCPError as e:
        assert "Timed out" in e.error.message or e.error.code == -32001, e.error
    # The session goes on: the next calls are answered once the cancelled one ends.
    await s.s.send_ping()
    listing = await s.ok("list")
    assert [m["name"] for m in listing["items"]] == ["slow"], listing
    await s.ok("remember", name="after", body="Written after the cancellation.")


async def concurrent():
    per_writer = 20

    async def server_writes(index):
        async def body(s):
            for i in range(per_writer):
                await s.ok("remember", name=f"mcp-{index}-{i}", body=f"Written by server {index}, number {i}.")
                await s.ok("recall", query=f"server {index}", limit=3)
        await with_session(body)

    def cli_writes(index):
        for i in range(per_writer):
            out = subprocess.run(
                [BINARY, "--db", str(DB), "remember", "--name", f"cli-{index}-{i}", "--body", f"CLI {index} {i}"],
                capture_output=True, env={"HOME": str(WORKDIR), "PATH": os.environ.get("PATH", "")},
            )
            assert out.returncode == 0, out.stdout + out.stderr

    cli = [asyncio.to_thread(cli_writes, i) for i in range(2)]
    await asyncio.gather(*(server_writes(i) for i in range(4)), *cli)

    async def check(s):
        listing = await s.ok("list", limit=1000)
        assert len(listing["items"]) == 6 * per_writer, len(listing["items"])
    await with_session(check)


def main():
    if SCENARIO == "tools":
        asyncio.run(with_session(every_tool))
    elif SCENARIO == "auto":
        asyncio.run(auto_mode())
    elif SCENARIO == "cancel":
        asyncio.run(with_session(cancellation))
    elif SCENARIO == "concurrent":
        asyncio.run(concurrent())
    else:
        sys.exit(f"unknown scenario {SCENARIO}")
    print(f"{SCENARIO}: ok")


if __name__ == "__main__":
    main()
