"""The MCP server: `python app.py --mcp` started on a free port over the tiny digest, driven by
the `mcp` package's own client over the streamable HTTP transport at the URL Gradio prints.
Tools are listed with their descriptions and schemas, each is called for real papers, and bad
arguments come back as tool errors carrying the project's messages."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, Tool

from rag.config import PROJECT_ROOT
from rag.texts import EMPTY_QUESTION, QUESTION_TOO_LONG
from rag.tools import SORTS, TOOL_NAMES

pytestmark = pytest.mark.slow

TIDES = "Tidal Forecasting with Graph Neural Networks"
SOIL = "Soil Microbes Respond to Drought Within Days"
SORTING = "Sparse Lattice Sorting for Quantum Annealers"
START_TIMEOUT_S = 300
MCP_URL = re.compile(r"Streamable HTTP URL: (http://\S+)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_app(folder: Path, *arguments: str, **variables: str) -> tuple[subprocess.Popen, Path]:
    """`python app.py ARGUMENTS` over the tiny digest in `folder`; its output goes to a log."""
    from conftest import TINY_DIGEST

    digest = folder / "tiny.txt"
    digest.write_text(TINY_DIGEST, encoding="utf-8")
    env = {
        **os.environ,
        "RAG_INDEX_PATH": str(folder / "index"),
        "RAG_INDEX_DIGESTS": str(digest),
        "RAG_INDEX_PROGRESS": "false",
        "RAG_APP_HOST": "127.0.0.1",
        "RAG_APP_PORT": str(free_port()),
        "RAG_APP_DATA_DIR": str(folder / "data"),
        "GRADIO_TEMP_DIR": str(folder / "gradio"),
        "PYTHONUNBUFFERED": "1",
        **variables,
    }
    log = folder / "app.log"
    with log.open("w") as out:
        app = subprocess.Popen(
            [sys.executable, "app.py", *arguments],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return app, log


def printed_mcp_url(app: subprocess.Popen, log: Path) -> str:
    """The MCP URL the app prints once it serves; fails with the log if it never does."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if found := MCP_URL.search(log.read_text()):
            return found.group(1)
        if app.poll() is not None:
            break
        time.sleep(0.5)
    pytest.fail(f"no MCP URL printed (exit code {app.poll()}):\n{log.read_text()[-3000:]}")


def stop(app: subprocess.Popen) -> None:
    app.terminate()
    try:
        app.wait(timeout=30)
    except subprocess.TimeoutExpired:
        app.kill()
        app.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The MCP URL of `python app.py --mcp`, and the app's log."""
    app, log = start_app(tmp_path_factory.mktemp("mcp-app"), "--mcp")
    try:
        yield printed_mcp_url(app, log), log
    finally:
        stop(app)


@pytest.fixture(scope="module")
def url(served: tuple[str, Path]) -> str:
    return served[0]


async def session_call(url: str, work: Any) -> Any:
    async with streamable_http_client(url) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return await work(session)


def list_tools(url: str) -> list[Tool]:
    async def work(session: ClientSession) -> list[Tool]:
        return (await session.list_tools()).tools

    return asyncio.run(session_call(url, work))


def call(url: str, name: str, **arguments: Any) -> CallToolResult:
    async def work(session: ClientSession) -> CallToolResult:
        return await session.call_tool(name, arguments)

    return asyncio.run(session_call(url, work))


def result_of(reply: CallToolResult) -> dict[str, Any]:
    """A tool's returned dict, sent as one text part holding JSON."""
    assert not reply.isError, reply.content
    assert len(reply.content) == 1 and reply.content[0].type == "text"
    value = json.loads(reply.content[0].text)
    assert isinstance(value, dict)
    return value


def error_of(reply: CallToolResult) -> str:
    assert reply.isError, reply.content
    return " ".join(part.text for part in reply.content if part.type == "text")


def paper_ids(url: str) -> dict[str, str]:
    listed = result_of(call(url, "list_papers", sort="title", limit=10))
    return {paper["title"]: paper["paper_id"] for paper in listed["papers"]}


# --- the server ----------------------------------------------------------------------------------


def test_the_printed_url_is_the_streamable_http_endpoint(url: str) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/gradio_api/mcp/", url), url


def test_only_the_five_digest_tools_are_listed_with_descriptions_and_schemas(url: str) -> None:
    tools = {tool.name: tool for tool in list_tools(url)}

    assert sorted(tools) == sorted(TOOL_NAMES)  # the chat turn is not a tool
    for tool in tools.values():
        assert tool.description and len(tool.description) > 40, tool
        properties = tool.inputSchema["properties"]
        assert properties and all(p.get("description") for p in properties.values()), tool
    assert tools["ask"].inputSchema["required"] == ["question"]
    assert tools["get_paper"].inputSchema["properties"]["paper_id"]["type"] == "string"
    assert tools["search_papers"].inputSchema["properties"]["k"]["type"] == "integer"
    sort = tools["list_papers"].inputSchema["properties"]["sort"]
    assert sort["enum"] == list(SORTS)
    filters = tools["list_papers"].inputSchema["properties"]["filters"]["oneOf"][1]
    assert set(filters["properties"]) == {
        "year",
        "since",
        "until",
        "min_upvotes",
        "max_upvotes",
        "organization",
    }


def test_gradio_s_state_warning_for_the_chat_turn_is_not_printed(
    served: tuple[str, Path],
) -> None:
    assert "gr.State input" not in served[1].read_text()


# --- each tool, for real papers -------------------------------------------------------------


def test_ask_answers_with_citations_to_a_digest_paper(url: str) -> None:
    answer = result_of(call(url, "ask", question="How are tides forecast?"))

    assert answer["abstained"] is False and "[1]" in answer["text"]
    assert answer["citations"][0]["title"] == TIDES
    assert answer["citations"][0]["paper_id"] == paper_ids(url)[TIDES]


def test_ask_takes_history_and_filters(url: str) -> None:
    first = result_of(call(url, "ask", question="How are tides forecast?"))
    history = [
        {"role": "user", "content": "How are tides forecast?"},
        {"role": "assistant", "content": first["text"]},
    ]

    follow_up = result_of(
        call(url, "ask", question="How much did they lower the error?", history=history)
    )
    filtered = result_of(
        call(url, "ask", question="How are tides forecast?", filters={"year": 2022})
    )

    assert follow_up["citations"][0]["title"] == TIDES and "a third" in follow_up["text"]
    assert "year: 2022" in filtered["filters"]
    assert TIDES not in [c["title"] for c in filtered["citations"]]


def test_search_papers_ranks_digest_papers_with_scores(url: str) -> None:
    found = result_of(call(url, "search_papers", query="forecasting tides", k=2))

    papers = found["papers"]
    assert 1 <= len(papers) <= 2 and papers[0]["title"] == TIDES
    assert papers[0]["paper_id"] == paper_ids(url)[TIDES]
    assert {"score", "dense", "keyword", "passages"} <= set(papers[0])
    assert papers[0]["dense"] > 0.3


def test_get_paper_returns_the_record_and_abstract(url: str) -> None:
    paper = result_of(call(url, "get_paper", paper_id=paper_ids(url)[SOIL]))

    assert paper["title"] == SOIL and paper["upvotes"] == 4
    assert paper["abstract"].startswith("Field plots were droughted for six weeks")
    assert paper["organization"] == "Example Lab"


def test_list_papers_filters_and_sorts(url: str) -> None:
    by_votes = result_of(call(url, "list_papers", sort="most_upvoted"))
    voted = result_of(call(url, "list_papers", filters={"min_upvotes": 1}, sort="oldest"))

    assert [p["title"] for p in by_votes["papers"]] == [SOIL, TIDES, SORTING]
    assert by_votes["total"] == 3
    assert [p["title"] for p in voted["papers"]] == [TIDES, SOIL]


def test_compare_papers_puts_the_given_papers_side_by_side(url: str) -> None:
    ids = paper_ids(url)
    chosen = [ids[TIDES], ids[SORTING]]

    table = result_of(call(url, "compare_papers", question="Compare these", paper_ids=chosen))

    assert [row["paper_id"] for row in table["rows"]] == chosen
    assert table["markdown"].startswith("| paper |") and TIDES in table["markdown"]


# --- bad arguments: tool errors with the project's message; the server carries on --------


def test_an_empty_question_is_a_tool_error_with_the_message(url: str) -> None:
    assert error_of(call(url, "ask", question="   ")) == EMPTY_QUESTION


def test_an_oversized_question_is_a_tool_error_naming_length_and_limit(url: str) -> None:
    message = error_of(call(url, "compare_papers", question="x" * 2001))
    assert message == QUESTION_TOO_LONG.format(length=2001, limit=2000)


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("get_paper", {"paper_id": "nope"}, "no paper with id 'nope' in the digest"),
        ("search_papers", {"query": "tides", "k": 0}, "k must be a whole number from 1 to 50"),
        ("search_papers", {"query": "tides", "k": 99}, "k must be a whole number from 1 to 50"),
        ("list_papers", {"filters": {"year": 1800}}, "year must be between 1990 and 2099"),
        ("list_papers", {"filters": {"since": "soon"}}, "since must be a date such as"),
        ("list_papers", {"filters": {"yr": 2025}}, "unknown filter yr"),
        ("list_papers", {"limit": 500}, "limit must be a whole number from 1 to 100"),
        ("compare_papers", {"question": "Compare", "paper_ids": ["nope"]}, "no paper with id"),
        ("ask", {"question": "tides?", "history": [{"role": "robot"}]}, "history[0]"),
    ],
)
def test_bad_arguments_are_tool_errors_carrying_the_message(
    url: str, name: str, arguments: dict[str, Any], message: str
) -> None:
    assert message in error_of(call(url, name, **arguments))


@pytest.mark.parametrize(
    ("name", "arguments", "named"),
    [
        ("search_papers", {"query": "tides", "k": "many"}, "'many'"),
        ("list_papers", {"sort": "random"}, "'random'"),
        ("get_paper", {}, "paper_id"),
    ],
)
def test_arguments_that_break_the_schema_are_refused_before_the_tool_runs(
    url: str, name: str, arguments: dict[str, Any], named: str
) -> None:
    assert named in error_of(call(url, name, **arguments))


def test_the_server_still_answers_after_the_errors(served: tuple[str, Path]) -> None:
    url, log = served
    for _ in range(2):
        error_of(call(url, "ask", question=""))
    assert result_of(call(url, "get_paper", paper_id=paper_ids(url)[TIDES]))["title"] == TIDES


def test_the_setting_turns_the_server_on_too(tmp_path: Path) -> None:
    app, log = start_app(tmp_path, RAG_APP_MCP="1")
    try:
        url = printed_mcp_url(app, log)
        assert sorted(tool.name for tool in list_tools(url)) == sorted(TOOL_NAMES)
    finally:
        stop(app)
