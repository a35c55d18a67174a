"""The browser app: reply formatting without a server, then the served app over gradio_client."""

from __future__ import annotations

import datetime as dt
import re
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from app import build_app, escape_markdown, format_reply, plain_history
from rag import Pipeline, QuestionError, get_settings
from rag.records import Answer, Citation, Paper, Source
from rag.texts import EMPTY_QUESTION, NOT_COVERED

XSS_TITLE = "Neural Collapse <img src=x onerror=alert(1)> Revisited"


def make_paper(title: str, published: dt.date | None = None, paper_id: str = "p1") -> Paper:
    return Paper(paper_id=paper_id, title=title, abstract="An abstract.", published=published)


def cited(*papers: Paper, text: str = "Features collapse to their class means [1].") -> Answer:
    citations = tuple(
        Citation(i, p.paper_id, p.title, p.published, "A snippet.")
        for i, p in enumerate(papers, start=1)
    )
    sources = tuple(Source(p, 0.8 - i / 10, i) for i, p in enumerate(papers, start=1))
    return Answer("What is neural collapse?", text, citations, sources)


def abstained(*papers: Paper) -> Answer:
    sources = tuple(Source(p, 0.1, i) for i, p in enumerate(papers, start=1))
    return Answer("How do I bake bread?", NOT_COVERED, sources=sources, abstained=True)


LINGUISTIC = make_paper(
    "Linguistic Collapse: Neural Collapse in (Large) Language Models", dt.date(2024, 5, 27)
)
PERTURBATION = make_paper("Perturbation Analysis of Neural Collapse", None, "p2")


def test_reply_lists_numbered_dated_references_after_the_text() -> None:
    reply = format_reply(cited(LINGUISTIC, PERTURBATION))

    lines = reply.splitlines()
    assert lines[0] == "Features collapse to their class means [1]."
    assert "**References**" in lines
    first = lines.index(
        "[1] Linguistic Collapse: Neural Collapse in (Large) Language Models (2024-05-27)  "
    )
    second = [i for i, line in enumerate(lines) if line.startswith("[2] ")]
    assert second and second[0] > first > lines.index("**References**")
    assert lines[second[0]].rstrip() == "[2] Perturbation Analysis of Neural Collapse (undated)"
    assert "Nearest papers" not in reply


def test_abstained_reply_lists_nearest_papers_as_not_cited() -> None:
    reply = format_reply(abstained(LINGUISTIC, PERTURBATION))

    assert reply.startswith(NOT_COVERED)
    assert "**Nearest papers (not cited)**" in reply
    assert "- Linguistic Collapse: Neural Collapse in (Large) Language Models (2024-05-27)" in reply
    assert "- Perturbation Analysis of Neural Collapse (undated)" in reply
    assert "References" not in reply
    assert "[1]" not in reply


def test_reply_without_citations_is_just_the_text() -> None:
    answer = Answer("q", "Nothing to cite.")
    assert format_reply(answer) == "Nothing to cite."


@pytest.mark.parametrize("make", [cited, abstained])
def test_html_in_titles_is_shown_as_text(make: Any) -> None:
    reply = format_reply(make(make_paper(XSS_TITLE, dt.date(2024, 1, 2))))

    assert "<img" not in reply
    assert "Neural Collapse &lt;img src=x onerror=alert(1)&gt; Revisited (2024-01-02)" in reply


def test_html_in_the_answer_text_is_escaped_but_its_markdown_kept() -> None:
    text = "Several papers address this:\n- **GTR**: A <script>x</script> trick [1]."
    reply = format_reply(cited(LINGUISTIC, text=text))

    assert "<script>" not in reply
    assert "- **GTR**: A &lt;script&gt;x&lt;/script&gt; trick [1]." in reply


def test_markdown_in_titles_is_escaped() -> None:
    assert escape_markdown("A *bold* [link](http://x) `code`") == (
        r"A \*bold\* \[link\](http://x) \`code\`"
    )
    reply = format_reply(cited(make_paper("Under_score *and* star")))
    assert r"[1] Under\_score \*and\* star (undated)" in reply


def test_plain_history_keeps_text_messages() -> None:
    history = [
        {"role": "user", "content": [{"type": "text", "text": "What is neural collapse?"}]},
        {"role": "assistant", "content": "Features collapse [1]."},
        {"role": "user", "content": [{"type": "file", "file": {"path": "/tmp/x.png"}}]},
    ]
    assert plain_history(history) == [
        {"role": "user", "content": "What is neural collapse?"},
        {"role": "assistant", "content": "Features collapse [1]."},
    ]


class FakePipeline:
    """Stands in for `Pipeline` in handler tests: no model, no index."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.calls: list[tuple[str, Sequence[Any] | None]] = []

    def ask(self, question: str, history: Sequence[Any] | None = None) -> Answer:
        self.calls.append((question, history))
        if not question.strip():
            raise QuestionError(EMPTY_QUESTION)
        return self.answer


def test_chat_handler_formats_answers_and_reports_bad_questions() -> None:
    fake = FakePipeline(cited(LINGUISTIC))
    demo = build_app(fake)  # type: ignore[arg-type]
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]

    assert demo.fn("What is neural collapse?", history) == format_reply(fake.answer)
    assert fake.calls[0] == ("What is neural collapse?", history)
    assert demo.fn("   ", []) == EMPTY_QUESTION


def test_build_app_registers_both_endpoints_without_building_a_pipeline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the default pipeline must be built on the first question")

    monkeypatch.setattr("app.Pipeline", refuse)
    demo = build_app()

    public = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert public == {"chat", "ask"}


# --- the served app, over the real pipeline and the bundled digest ---------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, set[str]]]:
    """A running app over an index built in a temporary folder, and the digest's titles."""
    index_path: Path = tmp_path_factory.mktemp("app") / "index"
    pipeline = Pipeline(get_settings({"index": {"path": index_path, "progress": False}}))
    pipeline.ensure_index()
    titles = {paper.title for paper in pipeline.papers.values()}
    app = build_app(pipeline)
    port = free_port()
    app.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False), titles
    finally:
        app.close()


def test_served_chat_replies_with_a_cited_digest_paper(served: tuple[Any, set[str]]) -> None:
    client, titles = served
    reply = client.predict("What is neural collapse?", api_name="/chat")

    assert isinstance(reply, str)
    assert "[1]" in reply.split("**References**")[0]
    assert "**References**" in reply
    assert any(f"[1] {escape_markdown(title)} (" in reply for title in titles)


def test_served_json_endpoint_returns_the_answer_dict(served: tuple[Any, set[str]]) -> None:
    client, titles = served
    result = client.predict("What is neural collapse?", api_name="/ask")

    assert result["question"] == "What is neural collapse?"
    assert result["abstained"] is False
    assert result["citations"][0]["number"] == 1
    assert result["citations"][0]["title"] in titles
    assert "[1]" in result["text"]


def test_served_endpoints_report_bad_questions(served: tuple[Any, set[str]]) -> None:
    client, _ = served
    assert client.predict("   ", api_name="/chat") == EMPTY_QUESTION
    with pytest.raises(AppError, match=re.escape(EMPTY_QUESTION)):
        client.predict("   ", api_name="/ask")
