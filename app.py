"""Digest QA in the browser: a chat over the bundled digest of paper abstracts.

Design:
- The app is a thin shell over `rag.Pipeline`; it holds no retrieval logic. `build_app()`
  returns the Gradio Blocks without launching, so tests can start it on any port; with no
  pipeline given it builds the default `Pipeline()` lazily, on the first question.
- `format_reply()` is a pure function from an `Answer` to the Markdown shown in the chat:
  the answer text, then a numbered "References" list (`[1] Title (2024-05-27)`), or, when the
  pipeline abstained, the nearest papers under "Nearest papers (not cited)". Gradio's Chatbot
  turns Markdown into HTML and only sanitizes it (even with `render_markdown=False` a message
  is parsed as HTML), so digest text is escaped here: titles fully (HTML entities and Markdown
  punctuation); the answer text, which is already Markdown written by the pipeline (list
  answers use `- **Title**: ...`), gets HTML entities only. LaTeX rendering is switched off.
- A `QuestionError` (empty or too long question) is shown as its own message, never a trace.
- Two API endpoints: `/chat` (the ChatInterface: Markdown reply and history) and `/ask`
  (`gr.api`: one question in, `Answer.to_dict()` out as JSON), e.g. with gradio_client
  `Client(url).predict("What is neural collapse?", api_name="/ask")`.
- `main()` reads the settings, builds or updates the index first (so the first question is
  fast) and launches on `settings.app.host:port`. Nothing is fetched from the internet.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import threading
from collections.abc import Callable
from typing import Any

import gradio as gr

from rag import Answer, Pipeline, QuestionError, get_settings
from rag.texts import NOT_COVERED

# Gradio reads this when it would send telemetry or check its version; the app stays offline.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

TITLE = "Digest QA"
NEAREST_SHOWN = 3
DESCRIPTION = (
    "Ask about the papers in the bundled research digest. Answers quote the abstracts and "
    "cite them as [1], [2], ... with the references listed below each answer; when the "
    "digest does not cover a question, the app says so and lists the nearest papers."
)
EXAMPLES = [
    "What is neural collapse?",
    "How does entropy collapse affect reinforcement learning with verifiable rewards?",
    "Is model collapse from training on synthetic data inevitable?",
    "Which benchmarks measure sycophancy in LLMs?",
    "What are early warning signals of tipping points?",
]

# Markdown punctuation that could change how digest text renders (emphasis, links, code,
# headings, tables, strikethrough); '<', '>' and '&' are turned into HTML entities.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")


def escape_markdown(text: str) -> str:
    """Digest text as literal Markdown: no HTML tags, links or emphasis survive."""
    return html.escape(_MARKDOWN_SPECIAL.sub(r"\\\1", text), quote=False)


def _entry(title: str, published: dt.date | None) -> str:
    day = published.isoformat() if published else "undated"
    return f"{escape_markdown(title)} ({day})"


def format_reply(answer: Answer) -> str:
    """The chat message for an answer: text, then references or the nearest papers."""
    if answer.abstained:
        # The answer text names the nearest papers too; here they are listed with dates instead.
        lines = [NOT_COVERED]
        if answer.sources:
            nearest = answer.sources[:NEAREST_SHOWN]
            lines += ["", "**Nearest papers (not cited)**", ""]
            lines += [f"- {_entry(s.paper.title, s.paper.published)}" for s in nearest]
        return "\n".join(lines)
    lines = [html.escape(answer.text.strip(), quote=False)]
    if answer.citations:
        lines += ["", "**References**", ""]
        # Two trailing spaces: a hard line break even where Markdown ignores single newlines.
        lines += [f"[{c.number}] {_entry(c.title, c.published)}  " for c in answer.citations]
    return "\n".join(lines).rstrip()


def plain_history(history: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Gradio chat history (content as a string or a list of parts) as role/text messages."""
    messages = []
    for message in history:
        content = message.get("content")
        parts = content if isinstance(content, list) else [content]
        text = " ".join(
            part if isinstance(part, str) else str(part.get("text", ""))
            for part in parts
            if isinstance(part, str) or (isinstance(part, dict) and part.get("type") == "text")
        ).strip()
        if text and message.get("role") in {"user", "assistant"}:
            messages.append({"role": str(message["role"]), "content": text})
    return messages


def _lazy(pipeline: Pipeline | None) -> Callable[[], Pipeline]:
    """A getter for the pipeline, building the default one once, on first use."""
    holder: list[Pipeline] = [pipeline] if pipeline is not None else []
    lock = threading.Lock()

    def get() -> Pipeline:
        with lock:
            if not holder:
                holder.append(Pipeline())
            return holder[0]

    return get


def build_app(pipeline: Pipeline | None = None) -> gr.Blocks:
    """The Digest QA app, not launched; `None` means the default pipeline, built lazily."""
    get_pipeline = _lazy(pipeline)

    def chat(message: str, history: list[dict[str, Any]]) -> str:
        """Answer a question about the digest; returns Markdown with numbered references."""
        try:
            answer = get_pipeline().ask(message, history=plain_history(history))
        except QuestionError as error:
            return str(error)
        return format_reply(answer)

    def ask(question: str) -> dict[str, Any]:
        """Answer a question about the digest; returns the answer as JSON (Answer.to_dict())."""
        try:
            return get_pipeline().ask(question).to_dict()
        except QuestionError as error:
            raise gr.Error(str(error)) from error

    # gr.api reads the return hint unresolved; under `from __future__ import annotations` it is
    # the string "dict[str, Any]" and the API docs would say "Any" instead of an object.
    ask.__annotations__["return"] = dict

    chatbot = gr.Chatbot(
        label=TITLE,
        sanitize_html=True,
        latex_delimiters=[],
        placeholder="Ask a question about the papers in the digest.",
    )
    demo = gr.ChatInterface(
        chat,
        chatbot=chatbot,
        title=TITLE,
        description=DESCRIPTION,
        examples=EXAMPLES,
        cache_examples=False,
        api_name="chat",
        analytics_enabled=False,
    )
    with demo:
        gr.api(ask, api_name="ask")
    return demo


def main() -> None:
    """Build the index, then serve the app on the configured host and port."""
    settings = get_settings()
    pipeline = Pipeline(settings)
    pipeline.ensure_index()
    build_app(pipeline).launch(server_name=settings.app.host, server_port=settings.app.port)


if __name__ == "__main__":
    main()
