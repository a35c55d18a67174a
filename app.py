"""Digest QA in the browser: chat, papers table and topic map over the bundled digest.

Design:
- The app is a thin shell over one `rag.Pipeline`; it holds no retrieval logic. `build_app()`
  returns the Gradio Blocks without launching, so tests start it on any port; with no
  pipeline given it builds the default `Pipeline()` lazily, on the first page load or question.
  `serve()` launches it with the theme and CSS (Gradio 6 takes those at launch).
- This module only assembles: the header with the digest's one-line overview, the side panel
  (`rag.ui.panel`), and one builder per tab: Chat (`rag.ui.chat`: turns, stop, filters,
  feedback, export), Papers (`rag.ui.papers`) and Map (`rag.ui.map`, whose atlas also names
  the overview's topics). Markup comes from pure modules: `rag.ui.format` (digest text
  always escaped as data, neither HTML nor Markdown, so the chat renders no Markdown),
  `rag.ui.atlas`, `rag.ui.feedback` (written only inside `data_dir`) and `rag.ui.session` (per
  visitor state in a `gr.State`, so sessions never share history).
- Files stay in `data_dir`: an export is handed to the browser that asked for it over its
  own session's event stream and saved there by the page, so it is never copied to Gradio's
  cache nor given an address another client could fetch. The app takes no uploads: Gradio
  refuses any file with content (`MAX_UPLOAD_BYTES`), before storing it.
- Public API: `/ask` (one question in, `Answer.to_dict()` out; the `ask` tool of `rag.tools`)
  and `/chat` (the chat turn). With `--mcp` or `RAG_APP_MCP=1` the other digest tools join it
  (`/search_papers`, `/get_paper`, `/list_papers`, `/compare_papers`) and Gradio's MCP server
  serves the five at /gradio_api/mcp/; the chat turn is taken out of its tool list, since it
  needs a browser session an assistant does not have. A mistake in a tool's arguments reaches
  the caller as a `gr.Error` carrying the `QuestionError` message (Gradio passes on only
  `gr.Error` messages).
  Nothing is fetched from the internet: system fonts, no analytics, no CDN.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Pipeline, get_settings
from rag.config import AppSettings
from rag.errors import USER_ERRORS
from rag.tools import TOOL_NAMES, DigestTools
from rag.ui.chat import CHAT_SCROLL, EXAMPLES, ChatHandlers, build_chat_tab, wire_chat
from rag.ui.examples import digest_examples
from rag.ui.format import TITLE, header_html, overview_html
from rag.ui.map import Catalogue, build_map_tab
from rag.ui.panel import CLOSE_ON_NARROW, build_panel, panel_choices
from rag.ui.papers import PapersHandlers, build_papers_tab, wire_papers
from rag.ui.session import Session
from rag.ui.style import CSS

# Gradio reads this when it would send telemetry or check its version; the app stays offline.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

__all__ = ["EXAMPLES", "build_app", "main", "serve"]

DATA_DIR = AppSettings().data_dir
# The app takes no files, so Gradio refuses every upload with content (HTTP 413).
MAX_UPLOAD_BYTES = 0
THEME = gr.themes.Soft(
    primary_hue="indigo",
    # Plain names are system fonts: nothing is fetched (a GoogleFont would call the internet).
    font=["system-ui", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
)


class LazyPipeline:
    """The configured pipeline, built once on first use (an LLM model then loads once too)."""

    def __init__(self, pipeline: Pipeline | None) -> None:
        self._pipeline = pipeline
        self._lock = threading.Lock()

    def __call__(self) -> Pipeline:
        with self._lock:
            if self._pipeline is None:
                self._pipeline = Pipeline()
            return self._pipeline


def tool_endpoint(tool: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """`tool` as a Gradio endpoint: same name, signature and docstring (Gradio builds the API
    and MCP schemas from them), with a mistake the caller can fix raised as a `gr.Error`, whose
    message Gradio passes on; any other exception reaches the client only as a generic error."""

    @functools.wraps(tool)
    def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return tool(*args, **kwargs)
        except USER_ERRORS as error:
            # The caller's mistake, not the server's: no traceback in the server's log.
            raise gr.Error(str(error), print_exception=False) from error

    return call


def keep_only_digest_tools(demo: gr.Blocks) -> None:
    """Serve only the digest tools over MCP. Gradio makes every public endpoint a tool; the chat
    turn (`/chat`) is public for gradio_client, but as a tool it would need a browser session."""
    server = demo.mcp_server_obj
    wanted = {server.tool_prefix + name for name in TOOL_NAMES} if server else set()
    if server is None or not wanted <= set(server.tool_to_endpoint):
        demo.close()
        problem = demo.mcp_error or "the digest tools are missing: build_app(..., mcp=True)"
        raise RuntimeError(f"the MCP server did not start: {problem}")
    for name in set(server.tool_to_endpoint) - wanted:
        del server.tool_to_endpoint[name]
    answer_in_json(server)


def answer_in_json(server: Any) -> None:
    """Send each tool's result to MCP clients as JSON. Gradio sends `str(result)`, a Python
    literal (`True`, `None`, single quotes) that a client's JSON parser rejects."""
    as_text = server.postprocess_output_data

    def postprocess(data: list[Any], root_url: str) -> list[Any]:
        if not all(isinstance(item, dict) for item in data):
            return as_text(data, root_url)
        return [
            server.types.TextContent(type="text", text=json.dumps(item, ensure_ascii=False))
            for item in data
        ]

    server.postprocess_output_data = postprocess


def build_app(
    pipeline: Pipeline | None = None, data_dir: Path = DATA_DIR, mcp: bool = False
) -> gr.Blocks:
    """The Digest QA app, not launched; `None` means the default pipeline, built lazily. With
    `mcp`, every digest tool is registered for `serve(..., mcp=True)`; without, only `/ask`."""
    pipeline_of = LazyPipeline(pipeline)
    catalogue = Catalogue(pipeline_of)
    papers = PapersHandlers(pipeline_of)
    private: dict[str, Any] = {"api_visibility": "private"}

    def on_load() -> tuple[Any, ...]:
        base = pipeline_of()
        overview = overview_html(list(base.papers.values()), catalogue.topics_if_built())
        return (header_html(overview), papers.table(), *panel_choices(base))

    def on_atlas() -> tuple[str, str]:
        listed = list(pipeline_of().papers.values())
        return catalogue.svg(), header_html(overview_html(listed, catalogue.topics()))

    # The examples come from the digest served; an app built before its pipeline has only the
    # bundled digest's.
    examples = digest_examples(list(pipeline.papers.values())) if pipeline is not None else EXAMPLES
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        session = gr.State(Session())
        header = gr.HTML(header_html(), elem_id="header")
        panel = build_panel()
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat = build_chat_tab(examples)
            with gr.Tab("Papers", id="papers"):
                papers_view = build_papers_tab()
            with gr.Tab("Map", id="map"):
                map_view = build_map_tab(catalogue)
        wire_chat(chat, panel, ChatHandlers(pipeline_of, data_dir), session)
        wire_papers(papers_view, papers)
        loaded = [header, papers_view.table, panel.year, panel.mode, panel.sources]
        demo.load(on_load, None, loaded, **private)
        # Apart from the table: the map embeds every paper once, which takes a few seconds.
        demo.load(on_atlas, None, [map_view.paper_map, header], **private)
        for tool in DigestTools(pipeline_of).tools():
            if mcp or tool.__name__ == "ask":
                gr.api(tool_endpoint(tool), api_name=tool.__name__)
    return demo


def serve(demo: gr.Blocks, host: str, port: int, mcp: bool = False, **options: Any) -> Any:
    """Launch with the app's theme and CSS, refusing uploads; with `mcp`, also as an MCP server
    of the digest tools. `options` go to `Blocks.launch`."""
    block = not options.pop("prevent_thread_lock", False)
    with warnings.catch_warnings():
        # Gradio warns that the chat turn's session state is not kept between MCP calls; the
        # chat turn is no MCP tool here (keep_only_digest_tools).
        warnings.filterwarnings("ignore", message="This MCP server includes a tool")
        launched = demo.launch(
            server_name=host,
            server_port=port,
            theme=THEME,
            css=CSS,
            js=f"() => {{ ({CHAT_SCROLL})(); ({CLOSE_ON_NARROW})(); }}",
            max_file_size=MAX_UPLOAD_BYTES,
            # The app's setting is the one switch (not Gradio's GRADIO_MCP_SERVER variable).
            mcp_server=mcp,
            # Returns once the server is up, so the MCP tool list is trimmed before blocking.
            prevent_thread_lock=True,
            **options,
        )
    if mcp:
        keep_only_digest_tools(demo)
    if block:
        demo.block_thread()
    return launched


def main(argv: Sequence[str] | None = None) -> None:
    """Build the index (with a progress bar on first start), then serve the app. A problem the
    user can fix (a bad digest or setting, a damaged index) is one line and exit code 2."""
    import sys

    parser = argparse.ArgumentParser(description="Digest QA in the browser.")
    parser.add_argument(
        "--mcp", action="store_true", help="also serve the digest as MCP tools (RAG_APP_MCP=1)"
    )
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        pipeline = Pipeline(settings)
        print(f"Indexing the digest into {settings.index.path} (first start takes a minute)…")
        pipeline.ensure_index()
        papers = len(pipeline.papers)
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    url = f"http://{settings.app.host}:{settings.app.port}"
    print(f"{papers} papers indexed; open {url}")
    mcp = args.mcp or settings.app.mcp
    demo = build_app(pipeline, settings.app.data_dir, mcp=mcp)
    serve(demo, settings.app.host, settings.app.port, mcp=mcp)


if __name__ == "__main__":
    main()
