"""The browser app: markup and session state as pure functions, the handlers over a real
pipeline without a server, then the served app over gradio_client and HTTP on the tiny digest
(with its own Gradio cache folder, GRADIO_TEMP_DIR, to see what lands there), and `python
app.py` started on a broken digest."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from app import EXAMPLES, build_app, serve
from rag import Pipeline
from rag.config import PROJECT_ROOT
from rag.records import Answer, Citation, Paper, Source
from rag.texts import (
    APP_COMMENT_SAVED,
    APP_NEAREST_LEAD,
    APP_NOTHING_TO_EXPORT,
    EMPTY_QUESTION,
    NOT_COVERED,
)
from rag.ui.feedback import (
    COMMENT_TOO_LONG,
    FEEDBACK_FILE,
    MAX_COMMENT_CHARS,
    conversation_markdown,
    read_feedback,
)
from rag.ui.format import (
    answer_html,
    escape,
    link_citations,
    marked_abstract,
    paper_detail_html,
    paper_rows,
)
from rag.ui.session import Asked, PanelFilters, Session, question_chip

XSS_TITLE = "Neural Collapse <img src=x onerror=alert(1)> Revisited"
YEAR_QUESTION = "Which 2025 papers are about entropy in reinforcement learning?"
YEAR_CHIP = question_chip("year: 2025")
TIDES = "Tidal Forecasting with Graph Neural Networks"
ABSTRACT = (
    "Neural collapse is a phenomenon of late training. Features collapse to their class means. "
    "We analyse it with perturbations."
)


def make_paper(title: str, paper_id: str = "p1", published: dt.date | None = None) -> Paper:
    return Paper(paper_id, title, ABSTRACT, authors_count=3, published=published, upvotes=7)


def cited(*papers: Paper, text: str = "Features collapse to their class means [1].") -> Answer:
    citations = tuple(
        Citation(i, p.paper_id, p.title, p.published, "Features collapse to their class means.")
        for i, p in enumerate(papers, start=1)
    )
    sources = tuple(Source(p, 0.8 - i / 10, i) for i, p in enumerate(papers, start=1))
    return Answer("What is neural collapse?", text, citations, sources)


# --- markup -----------------------------------------------------------------------------------


def test_citations_link_to_their_cards_and_unknown_numbers_stay_text() -> None:
    html = link_citations("A [1] and B [2] but not [7] <b>", "a3", [1, 2])

    assert '<a class="cite" href="#a3-1" data-cite="1">[1]</a>' in html
    assert 'href="#a3-2"' in html
    assert escape("[7]") in html and "#a3-7" not in html
    assert escape("<b>") in html and "<b>" not in html


def test_answer_has_one_card_per_citation_with_the_anchor_its_link_points_to() -> None:
    first, second = make_paper("Linguistic Collapse", "p1"), make_paper("Perturbation", "p2")
    answer = cited(first, second, text="Features collapse [1]. Perturbations help [2].")

    html = answer_html(answer, "a1", {})

    for number in (1, 2):
        assert f'href="#a1-{number}"' in html
        assert f'id="a1-{number}"' in html
    assert html.count('class="source-card"') == 2
    assert "2 authors" not in html and "3 authors" in html
    assert "▲ 7 upvotes" in html and "strong match 0.70" in html
    assert "<details><summary>Full abstract</summary>" in html


def test_the_used_sentence_is_marked_inside_the_abstract() -> None:
    html = marked_abstract(ABSTRACT, "Features collapse to their class means.")

    assert html.count("<mark>") == 1
    assert f"<mark>{escape('Features collapse to their class means.')}</mark>" in html
    assert html.startswith(escape("Neural collapse is a phenomenon of late training."))


@pytest.mark.parametrize(
    "render",
    [
        lambda p: answer_html(cited(p), "a1", {}),
        lambda p: answer_html(
            Answer("q", NOT_COVERED, sources=(Source(p, 0.1, 1),), abstained=True), "a1", {}
        ),
        paper_detail_html,
    ],
    ids=["answer", "not-covered", "detail"],
)
def test_html_in_titles_is_shown_as_text(render: Callable[[Paper], str]) -> None:
    html = render(make_paper(XSS_TITLE))

    assert "<img" not in html
    assert escape(XSS_TITLE) in html
    assert "Neural Collapse &#60;img src&#61;x onerror&#61;alert&#40;1&#41;&#62; Revisited" in html


def test_not_covered_states_it_plainly_and_shows_nearest_papers_without_numbers() -> None:
    nearest = tuple(Source(make_paper(f"Paper {i}", f"p{i}"), 0.1, i) for i in range(1, 5))
    text = f"{NOT_COVERED} The nearest papers in the digest, not cited as evidence, are: x."
    html = answer_html(Answer("bread?", text, sources=nearest, abstained=True), "a5", {})

    assert escape(NOT_COVERED) in html and "not-covered" in html
    assert html.count('class="source-card"') == 3
    assert "a.cite" not in html and 'href="#' not in html


def test_paper_rows_search_abstracts_and_list_newest_first() -> None:
    old = make_paper("Old", "p1", dt.date(2022, 1, 1))
    new = make_paper("New", "p2", dt.date(2025, 1, 1))
    undated = Paper("p3", "Undated", "Soil and drought.")

    assert [row[0] for row in paper_rows([old, undated, new])] == ["New", "Old", "Undated"]
    assert paper_rows([old, undated, new], "DROUGHT") == [["Undated", "undated", "", 0]]
    assert paper_rows([old], "") == [["Old", "2022-01-01", "3 authors", 7]]


# --- session state and side-panel filters -----------------------------------------------------


def test_session_history_names_the_cited_titles_for_follow_ups() -> None:
    session = Session()
    session.add(cited(make_paper("Linguistic Collapse")), message_index=1)

    assert session.history() == [
        {"role": "user", "content": "What is neural collapse?"},
        {
            "role": "assistant",
            "content": "Features collapse to their class means [1].\n[1] Linguistic Collapse",
        },
    ]
    assert session.answer_at(1) is session.answers[0] and session.answer_at(0) is None


def test_panel_filters_give_chips_keywords_and_clear_a_removed_chip() -> None:
    panel = PanelFilters.read("2024", "2024-03-01", "", 5)

    assert panel.chips() == ["year: 2024", "since 2024-03-01", "≥ 5 upvotes"]
    assert panel.keywords() == {"year": 2024, "since": dt.date(2024, 3, 1), "min_upvotes": 5}
    kept = panel.without(["year: 2024", "≥ 5 upvotes"])
    assert kept == PanelFilters(year=2024, min_upvotes=5)
    assert PanelFilters.read("any", "", "", 0) == PanelFilters()


def test_a_removed_question_chip_switches_off_its_fields_for_that_question_only() -> None:
    answer = dataclasses.replace(
        cited(make_paper("Linguistic Collapse")),
        filters=("year: 2025", "≥ 5 upvotes", "2 authors"),
        filter_fields=(("year",), ("min_upvotes",), ("min_authors", "max_authors")),
    )
    session = Session()
    session.add(cited(make_paper("Earlier")), message_index=1)
    asked = session.new_question("Which 2025 papers by 2 authors?").shown(answer, ["≥ 5 upvotes"])

    assert asked.after == 1 and asked.chip_labels() == ["year: 2025", "2 authors"]
    again = asked.without(["year: 2025"])
    assert again.ignored == {"min_authors", "max_authors"}
    assert again.without([]).ignored == {"year", "min_authors", "max_authors"}
    assert asked.without(["year: 2025", "2 authors"]) == asked
    session.add(answer, message_index=3, asked=again)
    assert session.asked is again and session.history(again.after) == session.history()[:2]
    assert session.new_question("What is neural collapse?") == Asked("What is neural collapse?", 2)


def test_panel_filters_report_a_wrong_date_in_words() -> None:
    with pytest.raises(ValueError, match="since must be a date such as 2025-03-01"):
        PanelFilters.read("any", "last spring", "", 0)
    with pytest.raises(ValueError, match="must not be after"):
        PanelFilters.read("any", "2025-01-01", "2024-01-01", 0)


# --- handlers over the real pipeline, no server -------------------------------------------------


def handler(demo: gr.Blocks, name: str) -> Callable[..., Any]:
    return next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == name)


def finished(turns: Iterator[tuple[Any, ...]]) -> tuple[Any, ...]:
    *_, last = turns
    return last


def test_chat_turn_shows_linked_answer_and_keeps_it_in_the_session(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    respond = handler(build_app(tiny_pipeline, tmp_path), "respond")
    session = Session()

    chat, session, box, _ = finished(
        respond("How are tides forecast?", [], session, "extractive", 5, "any", "", "", 0)
    )

    assert box == ""
    assert chat[0] == {"role": "user", "content": "How are tides forecast?"}
    assert 'href="#a1-1"' in chat[1]["content"] and 'id="a1-1"' in chat[1]["content"]
    assert TIDES in chat[1]["content"]
    assert [c.title for c in session.answers[0].citations] == [TIDES]
    assert session.message_answer == {1: 0}


def test_chat_turn_warns_of_empty_and_oversized_questions_without_a_message_to_rate(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    respond = handler(build_app(tiny_pipeline, tmp_path), "respond")

    for bad in ("   ", "x" * 5000):
        with pytest.warns(UserWarning):
            chat, session, box, _ = finished(
                respond(bad, [], Session(), "extractive", 5, "any", "", "", 0)
            )
        # The chat is left as it was: no message without an answer, so nothing offers thumbs.
        assert chat == gr.skip() and session.answers == [] and box == bad
    with pytest.warns(UserWarning, match=re.escape(EMPTY_QUESTION)):
        finished(respond("", [], Session(), "", 5, "any", "", "", 0))


def test_side_panel_year_filter_restricts_the_papers_answered_from(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    respond = handler(build_app(tiny_pipeline, tmp_path), "respond")

    def answer_in(year: str) -> Answer:
        question = "How are tides forecast?"
        _, session, _, _ = finished(respond(question, [], Session(), "", 5, year, "", "", 0))
        return session.answers[0]

    assert [c.title for c in answer_in("2024").citations] == [TIDES]
    excluded = answer_in("2022")
    assert TIDES not in {c.title for c in excluded.citations}
    assert "year: 2022" in excluded.filters


def test_rating_and_comment_append_feedback_lines(tiny_pipeline: Pipeline, tmp_path: Path) -> None:
    demo = build_app(tiny_pipeline, tmp_path)
    respond, rate, comment = (handler(demo, n) for n in ("respond", "rate", "comment"))
    _, session, _, _ = finished(
        respond("How are tides forecast?", [], Session(), "extractive", 5, "any", "", "", 0)
    )

    session, opened, thanks = rate(
        session, gr.LikeData(None, {"index": 1, "value": "", "liked": False})
    )
    assert opened.visible and "thumbs down" in thanks  # the comment box opens under the chat
    box, status, closed = comment("Too short.", session)

    lines = read_feedback(tmp_path)
    assert [(line["rating"], line["comment"]) for line in lines] == [
        ("down", ""),
        ("down", "Too short."),
    ]
    assert lines[0]["question"] == "How are tides forecast?"
    assert lines[0]["citations"][0]["title"] == TIDES  # type: ignore[index]
    assert box == "" and status == APP_COMMENT_SAVED and closed.visible is False
    assert (tmp_path / FEEDBACK_FILE).is_file()


def test_build_app_registers_the_api_without_building_a_pipeline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the default pipeline must be built on first use")

    monkeypatch.setattr("app.Pipeline", refuse)
    demo = build_app()

    public = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert public == {"chat", "ask"}


def remove_chips(
    demo: gr.Blocks, kept: list[str], chat: list[Any], session: Session, *panel: Any
) -> tuple[Any, ...]:
    """What the page does when a chip is removed: clear its control, then ask again."""
    remove, reask = handler(demo, "remove_filter"), handler(demo, "reask")
    *controls, session = remove(kept, session, *panel)
    return finished(reask(chat, session, "extractive", 5, *controls))


def test_removing_a_question_chip_asks_again_without_it_until_the_next_question(
    seed_pipeline: Pipeline, tmp_path: Path
) -> None:
    demo = build_app(seed_pipeline, tmp_path)
    respond = handler(demo, "respond")
    panel = ("any", "", "", 0)

    chat, session, _, chips = finished(
        respond(YEAR_QUESTION, [], Session(), "extractive", 5, *panel)
    )
    assert chips.value == [YEAR_CHIP]
    first = session.answers[-1]
    assert {c.published.year for c in first.citations} == {2025}

    chat, session, box, chips = remove_chips(demo, [], chat, session, *panel)
    again = session.answers[-1]
    assert again.question == YEAR_QUESTION and "year: 2025" not in again.filters
    assert any(c.published and c.published.year != 2025 for c in again.citations)
    assert chips.value == []
    assert len(chat) == 4 and 'id="a3-1"' in chat[3]["content"]
    assert box == gr.skip() and session.message_answer == {1: 0, 3: 1}

    chat, session, _, chips = finished(
        respond("Which 2025 papers study entropy collapse?", chat, session, "", 5, *panel)
    )
    assert "year: 2025" in session.answers[-1].filters and chips.value == [YEAR_CHIP]


def test_panel_and_question_filters_are_one_list_and_removing_either_asks_again(
    seed_pipeline: Pipeline, tmp_path: Path
) -> None:
    demo = build_app(seed_pipeline, tmp_path)
    respond, show_chips = handler(demo, "respond"), handler(demo, "show_chips")
    panel = ("any", "", "", 10)
    chat, session, _, chips = finished(respond(YEAR_QUESTION, [], Session(), "", 5, *panel))
    assert session.answers[-1].filters == ("year: 2025", "≥ 10 upvotes")
    assert chips.value == ["≥ 10 upvotes", YEAR_CHIP]  # the panel's first, then the question's
    assert show_chips(session, *panel).value == chips.value

    chat, session, _, chips = remove_chips(demo, ["≥ 10 upvotes"], chat, session, *panel)
    assert session.answers[-1].filters == ("≥ 10 upvotes",)
    assert chips.value == ["≥ 10 upvotes"]

    remove = handler(demo, "remove_filter")
    assert remove([], session, *panel) == ("any", "", "", 0, session)  # the panel's control
    chat, session, _, chips = remove_chips(demo, [], chat, session, *panel)

    assert session.answers[-1].filters == () and len(session.answers) == 3
    assert session.asked.ignored == {"year"} and chips.value == []


def test_number_of_sources_is_passed_to_the_one_pipeline(
    seed_pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    respond = handler(build_app(seed_pipeline, tmp_path), "respond")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("every depth must use the one pipeline")

    monkeypatch.setattr("app.Pipeline", refuse)

    def sources(question: str, k: int) -> int:
        _, session, _, _ = finished(respond(question, [], Session(), "", k, "any", "", "", 0))
        return len(session.answers[-1].sources)

    assert sources("How does entropy collapse affect reasoning?", 2) == 2
    assert sources("How does entropy collapse affect reasoning?", 8) == 8
    # At the configured depth the pipeline chooses: a list question gets more papers.
    retrieval = seed_pipeline.settings.retrieval
    assert sources("Which papers are about reinforcement learning?", retrieval.k) == (
        retrieval.list_k
    )


@pytest.mark.slow
@pytest.mark.parametrize("question", EXAMPLES)
def test_every_example_question_is_answered_from_the_bundled_digest(
    seed_pipeline: Pipeline, question: str
) -> None:
    answer = seed_pipeline.ask(question)
    assert not answer.abstained and answer.citations


# --- the served app, over the real pipeline and the tiny digest -------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def gradio_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GRADIO_TEMP_DIR of the served app: Gradio's cache and upload folder."""
    return tmp_path_factory.mktemp("gradio-temp")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, gradio_cache: Path) -> Iterator[str]:
    """The URL of a running app over the tiny digest, indexed in a temporary folder."""
    from conftest import TINY_DIGEST

    folder = tmp_path_factory.mktemp("app")
    digest = folder / "tiny.txt"
    digest.write_text(TINY_DIGEST, encoding="utf-8")
    settings = {"index": {"path": folder / "index", "digests": (digest,), "progress": False}}
    pipeline = Pipeline(settings)
    pipeline.ensure_index()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_TEMP_DIR", str(gradio_cache))
        demo = build_app(pipeline, folder / "data")
        port = free_port()
        serve(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()


def chat_reply(client: Client, question: str) -> str:
    chat, _question_box, _detected = client.predict(
        question, [], "extractive", 5, "any", "", "", 0, api_name="/chat"
    )
    return str(chat[-1]["content"])


def test_served_json_endpoint_returns_the_answer_and_its_citations(served: str) -> None:
    result = Client(served, verbose=False).predict("How are tides forecast?", api_name="/ask")

    assert result["question"] == "How are tides forecast?"
    assert result["abstained"] is False
    assert result["citations"][0] == {
        "number": 1,
        "paper_id": result["citations"][0]["paper_id"],
        "title": TIDES,
        "published": "2024-05-27",
        "snippet": result["citations"][0]["snippet"],
    }
    assert "[1]" in result["text"]
    assert json.dumps(result)  # plain JSON all the way down


def test_served_json_endpoint_reports_a_bad_question(served: str) -> None:
    with pytest.raises(AppError, match=re.escape(EMPTY_QUESTION)):
        Client(served, verbose=False).predict("   ", api_name="/ask")


def test_each_session_keeps_its_own_history(served: str) -> None:
    first, second = Client(served, verbose=False), Client(served, verbose=False)

    chat_reply(first, "How are tides forecast?")
    follow_up = chat_reply(first, "How much did they lower the error?")
    stranger = chat_reply(second, "How much did they lower the error?")

    assert TIDES in follow_up and "by a third" in follow_up
    assert escape(NOT_COVERED) in stranger and 'class="cite"' not in stranger


def test_concurrent_sessions_all_get_their_answers(served: str) -> None:
    questions = ["How are tides forecast?", "What happens to soil microbes in drought?"] * 2
    replies: dict[int, str] = {}

    def ask(i: int) -> None:
        replies[i] = chat_reply(Client(served, verbose=False), questions[i])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(replies) == [0, 1, 2, 3]
    for i, reply in replies.items():
        expected = TIDES if "tides" in questions[i] else "Soil Microbes Respond to Drought"
        assert expected in reply and 'href="#a1-1"' in reply


def test_an_unknown_answer_mode_is_a_warning_and_the_question_stays_in_the_box(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    respond = handler(build_app(tiny_pipeline, tmp_path), "respond")

    with pytest.warns(UserWarning, match="unknown answer mode"):
        chat, session, box, _ = finished(
            respond("How are tides forecast?", [], Session(), "telepathy", 5, "any", "", "", 0)
        )

    assert chat == gr.skip() and session.answers == [] and box == "How are tides forecast?"


def test_the_extractive_answer_streams_in_pieces_before_the_cards(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    respond = handler(build_app(tiny_pipeline, tmp_path), "respond")

    shown = [
        chat[-1]["content"]
        for chat, *_ in respond("How are tides forecast?", [], Session(), "", 5, "any", "", "", 0)
    ]

    partial = [text for text in shown if "▍" in text]
    assert len(partial) >= 2
    assert len(partial[0]) < len(partial[-1])
    assert "source-card" in shown[-1] and "▍" not in shown[-1]


def test_the_bad_question_catalogue_through_the_app_api_leaves_it_serving(served: str) -> None:
    from tests.test_bad_questions import ANSWERABLE, REFUSED

    client = Client(served, verbose=False)
    for name, question in ANSWERABLE.items():
        result = client.predict(question, api_name="/ask")
        numbers = [c["number"] for c in result["citations"]]
        assert numbers == list(range(1, len(numbers) + 1)), name
    for name, (question, message) in REFUSED.items():
        with pytest.raises(AppError, match=re.escape(message)):
            client.predict(question, api_name="/ask")
    # Still up and answering as before.
    again = client.predict("How quickly do soil microbes respond to drought?", api_name="/ask")
    assert again["citations"][0]["title"] == "Soil Microbes Respond to Drought Within Days"


def test_a_near_miss_numbers_the_card_of_the_paper_it_is_about() -> None:
    about = Source(make_paper("Paper 1", "p1"), 0.5, 1)
    others = tuple(Source(make_paper(f"Paper {i}", f"p{i}"), 0.2, i) for i in range(2, 5))
    citation = Citation(1, "p1", "Paper 1", None, "")
    text = "\u201cPaper 1\u201d [1] is about this, but its abstract does not give that figure."
    answer = Answer("lr?", text, citations=(citation,), sources=(about, *others), abstained=True)
    html = answer_html(answer, "a6", {})
    assert 'id="a6-1"' in html and '<span class="source-num">[1]</span>' in html
    assert html.count('class="source-card"') == 4
    assert html.index("Paper 1") < html.index(APP_NEAREST_LEAD)


def test_a_comment_over_the_limit_is_refused_with_the_reason_and_not_saved(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    demo = build_app(tiny_pipeline, tmp_path)
    respond, rate, comment = (handler(demo, n) for n in ("respond", "rate", "comment"))
    _, session, _, _ = finished(
        respond("How are tides forecast?", [], Session(), "extractive", 5, "any", "", "", 0)
    )
    session, _, _ = rate(session, gr.LikeData(None, {"index": 1, "value": "", "liked": True}))
    too_long = "x" * (MAX_COMMENT_CHARS + 1)

    box, status, kept_open = comment(too_long, session)

    assert box == too_long and kept_open == gr.skip()
    assert status == COMMENT_TOO_LONG.format(length=MAX_COMMENT_CHARS + 1, limit=MAX_COMMENT_CHARS)
    assert [line["comment"] for line in read_feedback(tmp_path)] == [""]
    assert comment("x" * MAX_COMMENT_CHARS, session)[:2] == ("", APP_COMMENT_SAVED)
    note = next(
        b for b in demo.blocks.values() if getattr(b, "label", "") == "Comment on your rating"
    )
    assert note.max_length == MAX_COMMENT_CHARS  # the page stops typing there too


def test_an_export_is_written_in_the_data_folder_and_sent_to_the_page_that_asked(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    demo = build_app(tiny_pipeline, tmp_path)
    respond, export = handler(demo, "respond"), handler(demo, "export")
    with pytest.warns(UserWarning, match=re.escape(APP_NOTHING_TO_EXPORT)):
        assert export(Session()) is None
    _, session, _, _ = finished(
        respond("How are tides forecast?", [], Session(), "extractive", 5, "any", "", "", 0)
    )

    sent = export(session)

    assert sent["text"] == conversation_markdown(session.answers)
    assert [p.name for p in (tmp_path / "exports").iterdir()] == [sent["name"]]
    assert (tmp_path / "exports" / sent["name"]).read_text(encoding="utf-8") == sent["text"]


def test_uploads_are_refused_and_nothing_is_stored(served: str, gradio_cache: Path) -> None:
    fifty_mb = b"\0" * (50 * 1024 * 1024)

    response = httpx.post(
        f"{served}gradio_api/upload", files={"files": ("big.bin", fifty_mb)}, timeout=120
    )

    assert response.status_code == 413
    assert [path for path in gradio_cache.rglob("*") if path.is_file()] == []


def test_the_app_started_on_a_broken_digest_says_which_file_and_line_in_one_line(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"Daily Papers\n\nA title\x00\n")
    env = {
        **os.environ,
        "RAG_INDEX_DIGESTS": str(broken),
        "RAG_INDEX_PATH": str(tmp_path / "index"),
        "RAG_APP_DATA_DIR": str(tmp_path / "data"),
        "RAG_APP_PORT": str(free_port()),
    }

    run = subprocess.run(
        [sys.executable, "app.py"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode != 0
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert f"{broken}:3:" in run.stderr and "Traceback" not in run.stderr
