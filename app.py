"""Digest QA in the browser: chat, papers table and topic map over the bundled digest.

Design:
- The app is a thin shell over one `rag.Pipeline`; it holds no retrieval logic. `build_app()`
  returns the Gradio Blocks without launching, so tests start it on any port; with no
  pipeline given it builds the default `Pipeline()` lazily, on the first page load or question.
  `serve()` launches it with the theme and CSS (Gradio 6 takes those at launch).
- Markup comes from pure modules: `rag.ui_format` (answers with citation links, source
  cards; digest text always escaped), `rag.atlas` (the map), `rag.feedback` (ratings and the
  Markdown export, written only inside `data_dir`), `rag.ui_session` (per visitor state in a
  `gr.State`, so sessions never share history; side-panel filters).
- Answers stream: `Pipeline.stream` yields text pieces, then the finished `Answer`, which
  replaces the streamed text with the linked answer and its source cards (a generated answer
  is verified, so the final text may differ). Stop cancels the turn, a re-asked one too. The
  answer modes offered are `rag.backends.available_modes`, the configured default first.
- The side panel's number of sources starts at the configured depth and is passed as `k=`;
  at that depth the pipeline keeps its own choice (more papers for a list question).
- Filters are removable chips, in the side panel and under the chat (those read from the
  question). Removing a panel chip clears its control; removing a question chip switches its
  fields off (`ignore=`, from `Answer.filter_fields`) for that question only. Either asks the
  last question again, with the history it was first asked with.
- Public API: `/ask` (one question in, `Answer.to_dict()` out) and `/chat` (the chat turn).
  Nothing is fetched from the internet: system fonts, no analytics, no CDN.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Answer, Pipeline, QuestionError, get_settings
from rag.atlas import build_atlas, render_svg
from rag.backends import available_modes
from rag.chunking import embed_text
from rag.config import AppSettings
from rag.feedback import append_feedback, conversation_markdown, feedback_for, save_export
from rag.pipeline import check_question
from rag.texts import (
    APP_COMMENT_EMPTY,
    APP_COMMENT_SAVED,
    APP_DESCRIPTION,
    APP_DETECTED_CHIPS,
    APP_DETECTED_CHIPS_HELP,
    APP_MAP_HELP,
    APP_NOTHING_TO_EXPORT,
    APP_RATE_FIRST,
    APP_RATE_PROMPT,
    APP_RATED,
)
from rag.ui_format import (
    PAPER_COLUMNS,
    answer_html,
    error_html,
    escape,
    paper_detail_html,
    paper_rows,
)
from rag.ui_session import ANY_YEAR, Asked, PanelFilters, Session
from rag.ui_style import CSS

# Gradio reads this when it would send telemetry or check its version; the app stays offline.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

TITLE = "Digest QA"
DATA_DIR = AppSettings().data_dir
SOURCES_RANGE = (1, 10)
EXAMPLES = [
    "What is neural collapse?",
    "How does entropy collapse affect reinforcement learning with verifiable rewards?",
    "Is model collapse from training on synthetic data inevitable?",
    "Which benchmarks measure sycophancy in LLMs?",
    "What are early warning signals of tipping points?",
]
THEME = gr.themes.Soft(
    primary_hue="indigo",
    # Plain names are system fonts: nothing is fetched (a GoogleFont would call the internet).
    font=["system-ui", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
)
MAP_CLICKS = """
element.addEventListener('click', (event) => {
  const point = event.target.closest('[data-paper]');
  if (point) trigger('select', {index: 0, value: point.dataset.paper});
});
"""


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


def answer_modes(pipeline: Pipeline) -> list[str]:
    """Modes to offer, the configured default first."""
    modes = available_modes(pipeline.settings)
    default = pipeline.settings.llm.mode
    return sorted(modes, key=lambda mode: mode != default)


def _assistant(content: str) -> dict[str, str]:
    return {"role": "assistant", "content": content}


def question_chips(labels: Sequence[str]) -> Any:
    """The removable chips of filters read from the question; hidden when there are none."""
    return gr.Dropdown(
        choices=list(labels), value=list(labels), multiselect=True, visible=bool(labels)
    )


def build_app(pipeline: Pipeline | None = None, data_dir: Path = DATA_DIR) -> gr.Blocks:
    """The Digest QA app, not launched; `None` means the default pipeline, built lazily."""
    pipeline_of = LazyPipeline(pipeline)
    atlas_lock = threading.Lock()
    atlas_svg: list[str] = []

    def catalogue_map() -> str:
        with atlas_lock:
            if not atlas_svg:
                base = pipeline_of()
                papers = list(base.papers.values())
                vectors = base.encoder.encode([embed_text(p.title, p.abstract) for p in papers])
                atlas_svg.append(render_svg(build_atlas(papers, vectors)))
            return atlas_svg[0]

    def on_load() -> tuple[Any, ...]:
        base = pipeline_of()
        years = sorted({p.published.year for p in base.papers.values() if p.published})
        modes = answer_modes(base)
        k = base.settings.retrieval.k
        return (
            paper_rows(base.papers.values()),
            gr.Dropdown(choices=[ANY_YEAR, *map(str, years)]),
            gr.Dropdown(choices=modes, value=modes[0]),
            gr.Slider(value=k, maximum=max(SOURCES_RANGE[1], k)),
        )

    def read_panel(year: str, since: str, until: str, min_upvotes: float) -> PanelFilters | None:
        try:
            return PanelFilters.read(year, since, until, min_upvotes)
        except ValueError as error:
            gr.Warning(str(error))
            return None

    def turn(
        asked: Asked,
        chat: list[dict[str, Any]],
        session: Session,
        mode: str,
        k: float,
        panel: PanelFilters,
        new: bool,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream the answer to `asked`, then show it with its source cards and question chips.
        A new question empties the question box; a re-ask leaves the box alone."""
        box = "" if new else gr.skip()
        chat = chat + [{"role": "user", "content": escape(asked.question)}, _assistant("…")]
        yield chat, session, box, question_chips([])
        pipeline = pipeline_of()
        # At the configured depth the pipeline decides, which gives list questions more papers.
        depth = None if int(k) == pipeline.settings.retrieval.k else int(k)
        history = session.history(asked.after)
        written: list[str] = []
        try:
            for piece in pipeline.stream(
                asked.question,
                history,
                mode=mode or None,
                k=depth,
                ignore=asked.ignored,
                **panel.keywords(),
            ):
                if isinstance(piece, Answer):
                    key = f"a{len(chat) - 1}"
                    chat[-1] = _assistant(answer_html(piece, key, pipeline.papers))
                    session.add(piece, len(chat) - 1, asked.shown(piece, panel.chips()))
                    yield chat, session, box, question_chips(session.asked.chip_labels())
                    return
                written.append(piece)
                chat[-1] = _assistant(escape("".join(written)) + " ▍")
                yield chat, session, box, gr.skip()
        except QuestionError as error:  # e.g. an answer mode this server does not know
            chat[-1] = _assistant(error_html(str(error)))
            yield chat, session, asked.question if new else box, gr.skip()

    def respond(
        message: str,
        chat: list[dict[str, Any]],
        session: Session,
        mode: str,
        k: float,
        year: str,
        since: str,
        until: str,
        min_upvotes: float,
    ) -> Iterator[tuple[Any, ...]]:
        """One chat turn: validate, stream the answer, then show it with its source cards."""
        chat = list(chat or [])
        try:
            panel = PanelFilters.read(year, since, until, min_upvotes)
            limit = pipeline_of().settings.answer.max_question_chars
            question = check_question(message, limit)
        except (QuestionError, ValueError) as error:
            gr.Warning(str(error))
            yield chat + [_assistant(error_html(str(error)))], session, message, gr.skip()
            return
        yield from turn(session.new_question(question), chat, session, mode, k, panel, new=True)

    def reask(
        chat: list[dict[str, Any]], session: Session, mode: str, k: float, *filters: Any
    ) -> Iterator[tuple[Any, ...]]:
        """After a side-panel chip is removed: the last question again, as it was asked."""
        panel = read_panel(*filters)
        if session.asked is None or panel is None:
            yield chat, session, gr.skip(), gr.skip()
            return
        yield from turn(session.asked, list(chat or []), session, mode, k, panel, new=False)

    def remove_question_chip(
        kept: list[str],
        chat: list[dict[str, Any]],
        session: Session,
        mode: str,
        k: float,
        *filters: Any,
    ) -> Iterator[tuple[Any, ...]]:
        """A chip of a filter read from the question removed: ask it again without that filter."""
        panel = read_panel(*filters)
        asked = session.asked
        again = asked.without(kept or []) if asked else None
        if again is None or again == asked or panel is None:
            yield chat, session, gr.skip(), gr.skip()
            return
        yield from turn(again, list(chat or []), session, mode, k, panel, new=False)

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

    def show_chips(year: str, since: str, until: str, min_upvotes: float) -> Any:
        try:
            chips = PanelFilters.read(year, since, until, min_upvotes).chips()
        except ValueError:
            chips = []
        return gr.Dropdown(choices=chips, value=chips, multiselect=True)

    def remove_chip(
        kept: list[str], year: str, since: str, until: str, min_upvotes: float
    ) -> tuple[Any, ...]:
        """Clear the control of each removed side-panel chip (`reask` follows)."""
        panel = PanelFilters.read(year, since, until, min_upvotes).without(kept or [])
        return (
            str(panel.year) if panel.year else ANY_YEAR,
            panel.since.isoformat() if panel.since else "",
            panel.until.isoformat() if panel.until else "",
            panel.min_upvotes or 0,
        )

    def rate(session: Session, event: gr.LikeData) -> tuple[Session, str]:
        answer = session.answer_at(int(event.index if isinstance(event.index, int) else 0))
        if answer is None:
            return session, ""
        rating = "up" if event.liked else "down"
        append_feedback(data_dir, feedback_for(answer, rating))
        session.last_rated = session.message_answer[int(event.index)]
        session.last_rating = rating
        return session, APP_RATED

    def comment(text: str, session: Session) -> tuple[str, str]:
        if session.last_rated is None:
            return text, APP_RATE_FIRST
        if not text.strip():
            return text, APP_COMMENT_EMPTY
        answer = session.answers[session.last_rated]
        append_feedback(data_dir, feedback_for(answer, session.last_rating, text))
        return "", APP_COMMENT_SAVED

    def export(session: Session) -> Any:
        if not session.answers:
            gr.Warning(APP_NOTHING_TO_EXPORT)
            return gr.File(visible=False)
        path = save_export(data_dir, conversation_markdown(session.answers))
        return gr.File(value=str(path), visible=True)

    def search_papers(text: str) -> list[list[object]]:
        return paper_rows(pipeline_of().papers.values(), text)

    def show_row(event: gr.SelectData) -> str:
        title = str((event.row_value or [""])[0])
        papers = pipeline_of().papers.values()
        return next((paper_detail_html(p) for p in papers if p.title == title), "")

    def show_point(event: gr.SelectData) -> str:
        paper = pipeline_of().papers.get(str(event.value))
        return paper_detail_html(paper) if paper else ""

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        session = gr.State(Session())
        gr.Markdown(f"# {TITLE}\n{APP_DESCRIPTION}")
        with gr.Sidebar(label="Settings", open=True):
            mode = gr.Dropdown(["extractive"], value="extractive", label="Answer mode")
            sources = gr.Slider(*SOURCES_RANGE, value=5, step=1, label="Number of sources")
            year = gr.Dropdown([ANY_YEAR], value=ANY_YEAR, label="Year")
            since = gr.Textbox(label="Published since", placeholder="YYYY-MM-DD")
            until = gr.Textbox(label="Published until", placeholder="YYYY-MM-DD")
            min_upvotes = gr.Slider(0, 100, value=0, step=1, label="Minimum upvotes")
            panel_chips = gr.Dropdown(
                [],
                value=[],
                multiselect=True,
                label="Active filters (× removes one)",
                elem_id="panel-chips",
            )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chatbot = gr.Chatbot(
                    label=TITLE,
                    height=560,
                    sanitize_html=True,
                    latex_delimiters=[],
                    elem_id="chat",
                    placeholder="Ask a question about the papers in the digest.",
                )
                detected = gr.Dropdown(
                    [],
                    value=[],
                    multiselect=True,
                    label=APP_DETECTED_CHIPS,
                    info=APP_DETECTED_CHIPS_HELP,
                    visible=False,
                    elem_id="detected-chips",
                )
                with gr.Row():
                    question = gr.Textbox(
                        show_label=False,
                        placeholder="Ask about the digest…",
                        scale=6,
                        elem_id="question",
                        autofocus=True,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    stop = gr.Button("Stop", variant="stop", scale=1, elem_id="stop")
                gr.Examples(EXAMPLES, inputs=[question], label="Try one of these")
                with gr.Accordion("Feedback and export", open=False):
                    feedback_status = gr.Markdown(APP_RATE_PROMPT)
                    with gr.Row():
                        note = gr.Textbox(label="Comment on your last rating", scale=4)
                        send_note = gr.Button("Send comment", scale=1)
                    export_button = gr.Button("Export conversation as Markdown")
                    export_file = gr.File(label="Conversation", visible=False)
            with gr.Tab("Papers", id="papers"):
                search = gr.Textbox(label="Search titles, authors and abstracts")
                table = gr.Dataframe(
                    headers=PAPER_COLUMNS,
                    datatype=["str", "str", "str", "number"],
                    interactive=False,
                    wrap=True,
                    elem_id="papers-table",
                    max_height=520,
                )
                paper_detail = gr.HTML("Select a paper to read its abstract.", elem_id="paper")
            with gr.Tab("Map", id="map"):
                gr.Markdown(APP_MAP_HELP)
                paper_map = gr.HTML("", elem_id="paper-map", js_on_load=MAP_CLICKS)
                map_detail = gr.HTML("", elem_id="map-paper")

        filters = [year, since, until, min_upvotes]
        conversation = [chatbot, session, mode, sources, *filters]
        turn_outputs = [chatbot, session, question, detected]
        turns = [
            trigger(
                respond,
                [question, *conversation],
                turn_outputs,
                api_name=name,
                api_visibility=visibility,
            )
            for trigger, name, visibility in (
                (question.submit, "chat", "public"),
                (send.click, "chat_click", "private"),
            )
        ]
        for control in filters:
            control.change(show_chips, filters, panel_chips, api_visibility="private")
        turns.append(
            panel_chips.input(
                remove_chip, [panel_chips, *filters], filters, api_visibility="private"
            ).then(reask, conversation, turn_outputs, api_visibility="private")
        )
        turns.append(
            detected.input(
                remove_question_chip,
                [detected, *conversation],
                turn_outputs,
                api_visibility="private",
            )
        )
        stop.click(None, cancels=turns, api_visibility="private")
        chatbot.like(rate, [session], [session, feedback_status], api_visibility="private")
        send_note.click(comment, [note, session], [note, feedback_status], api_visibility="private")
        export_button.click(export, [session], [export_file], api_visibility="private")
        search.change(search_papers, [search], [table], api_visibility="private")
        table.select(show_row, None, [paper_detail], api_visibility="private")
        paper_map.select(show_point, None, [map_detail], api_visibility="private")
        demo.load(on_load, None, [table, year, mode, sources], api_visibility="private")
        # Apart from the table: the map embeds every paper once, which takes a few seconds.
        demo.load(catalogue_map, None, [paper_map], api_visibility="private")
        gr.api(ask, api_name="ask")
    return demo


def serve(demo: gr.Blocks, host: str, port: int, **options: Any) -> Any:
    """Launch with the app's theme and CSS; `options` go to `Blocks.launch`."""
    return demo.launch(server_name=host, server_port=port, theme=THEME, css=CSS, **options)


def main() -> None:
    """Build the index (with a progress bar on first start), then serve the app."""
    settings = get_settings()
    pipeline = Pipeline(settings)
    print(f"Indexing the digest into {settings.index.path} (first start takes a minute)…")
    pipeline.ensure_index()
    url = f"http://{settings.app.host}:{settings.app.port}"
    print(f"{len(pipeline.papers)} papers indexed; open {url}")
    serve(build_app(pipeline, settings.app.data_dir), settings.app.host, settings.app.port)


if __name__ == "__main__":
    main()
