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
- Public API: `/ask` (one question in, `Answer.to_dict()` out) and `/chat` (the chat turn).
  Nothing is fetched from the internet: system fonts, no analytics, no CDN.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Pipeline, QuestionError, get_settings
from rag.config import AppSettings
from rag.ui.chat import CHAT_SCROLL, EXAMPLES, ChatHandlers, build_chat_tab, wire_chat
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


def ask_api(pipeline_of: LazyPipeline) -> Callable[..., dict[str, Any]]:
    """The `/ask` endpoint over the app's pipeline."""

    def ask(question: str, mode: str = "") -> dict[str, Any]:
        """Answer a question about the digest; returns the answer as JSON (Answer.to_dict()).
        `mode` picks the answer mode (empty: the configured default)."""
        try:
            return pipeline_of().ask(question, mode=mode or None).to_dict()
        except QuestionError as error:
            raise gr.Error(str(error)) from error

    # gr.api reads the return hint unresolved; under `from __future__ import annotations` it is
    # the string "dict[str, Any]" and the API docs would say "Any" instead of an object.
    ask.__annotations__["return"] = dict
    return ask


def build_app(pipeline: Pipeline | None = None, data_dir: Path = DATA_DIR) -> gr.Blocks:
    """The Digest QA app, not launched; `None` means the default pipeline, built lazily."""
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

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        session = gr.State(Session())
        header = gr.HTML(header_html(), elem_id="header")
        panel = build_panel()
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat = build_chat_tab()
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
        gr.api(ask_api(pipeline_of), api_name="ask")
    return demo


def serve(demo: gr.Blocks, host: str, port: int, **options: Any) -> Any:
    """Launch with the app's theme and CSS, refusing uploads; `options` go to `Blocks.launch`."""
    return demo.launch(
        server_name=host,
        server_port=port,
        theme=THEME,
        css=CSS,
        js=f"() => {{ ({CHAT_SCROLL})(); ({CLOSE_ON_NARROW})(); }}",
        max_file_size=MAX_UPLOAD_BYTES,
        **options,
    )


def main() -> None:
    """Build the index (with a progress bar on first start), then serve the app. A problem the
    user can fix (a bad digest or setting, a damaged index) is one line and exit code 2."""
    import sys

    from rag.errors import USER_ERRORS

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
    serve(build_app(pipeline, settings.app.data_dir), settings.app.host, settings.app.port)


if __name__ == "__main__":
    main()
