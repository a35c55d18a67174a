"""Chat turns through the app's own handlers over a real pipeline, without a server: new
topics, a local model's answer that never takes away what the reader saw, Stop, the model's
lock, examples that ask, ratings only on answers, and Compare with its exports.

The local model is `LlamaCppCompletion` itself with a scripted llama in place of the GGUF
file, so its real lock and streaming path are what the app drives."""

from __future__ import annotations

import csv
import html
import io
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from app import build_app
from rag.answer.backends import LlamaCppCompletion, available_modes
from rag.pipeline import Pipeline
from rag.records import Answer
from rag.texts import (
    APP_COMPARISON,
    APP_MODE_DEMO,
    APP_MODEL_STOPPED,
    APP_NEW_TOPIC_MARK,
    APP_NOTHING_COMPARED,
    APP_SEARCHED,
    APP_SENTENCE_UNSUPPORTED,
    APP_STOPPED,
    EMPTY_QUESTION,
    FALLBACK_UNSUPPORTED,
    NOT_COVERED,
    NOTHING_TO_COMPARE,
)
from rag.ui.format import NEW_TOPIC_OPTION
from rag.ui.panel import panel_choices
from rag.ui.session import Session

TIDES = "Tidal Forecasting with Graph Neural Networks"
SOIL = "Soil Microbes Respond to Drought Within Days"
QUESTION = "How are tides forecast?"
PANEL = ("any", "", "", 0)
BACKED = "A graph neural network forecasts tides twelve hours ahead from neighbouring gauges [1]. "
INVENTED = "Tides are forecast by counting seagulls on the beach at dawn [1]. "


class ScriptedLlama:
    """Stands in for `llama_cpp.Llama`: streams a fixed text a word at a time and counts the
    words it has produced."""

    def __init__(self, text: str) -> None:
        self.words = re.findall(r"\S+\s*", text)
        self.produced = 0

    def create_completion(self, prompt: str, **options: Any) -> Iterator[dict[str, Any]]:
        for word in self.words:
            self.produced += 1
            yield {"choices": [{"text": word}]}


def local_model(text: str) -> LlamaCppCompletion:
    model = LlamaCppCompletion(model_path="scripted.gguf")
    model._llama = ScriptedLlama(text)
    return model


def pipeline_with_model(tiny_pipeline: Pipeline, model: LlamaCppCompletion) -> Pipeline:
    return Pipeline(
        tiny_pipeline.settings, encoder=tiny_pipeline.encoder, chat_models={"llamacpp": model}
    )


def handler(demo: gr.Blocks, name: str) -> Callable[..., Any]:
    return next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == name)


def handlers(demo: gr.Blocks, *names: str) -> list[Callable[..., Any]]:
    """The app's event handlers called `names`, in that order."""
    return [handler(demo, name) for name in names]


@pytest.fixture
def tiny_app(tiny_pipeline: Pipeline, tmp_path: Path) -> gr.Blocks:
    """The app over the tiny digest, with `tmp_path` as its data folder."""
    return build_app(tiny_pipeline, tmp_path)


def first_answer(respond: Callable[..., Iterator[tuple[Any, ...]]]) -> tuple[Any, ...]:
    """The outputs once QUESTION is answered in a new session."""
    return finished(respond(QUESTION, [], Session(), "", 5, *PANEL))


def visible(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def contents(chat: list[dict[str, Any]]) -> list[str]:
    return [str(message["content"]) for message in chat]


def finished(turns: Iterator[tuple[Any, ...]]) -> tuple[Any, ...]:
    *_, last = turns
    return last


def is_free(model: LlamaCppCompletion) -> bool:
    """Whether the model's lock can be taken now (a generation in progress holds it)."""
    if not model._lock.acquire(blocking=False):
        return False
    model._lock.release()
    return True


# --- item 1: the conversation's subject -----------------------------------------------------------


def test_a_follow_up_shows_what_was_searched_and_offers_to_ask_it_as_a_new_topic(
    tiny_app: gr.Blocks,
) -> None:
    respond, again = handlers(tiny_app, "respond", "ask_as_new_topic")
    chat, session, _, _ = first_answer(respond)
    assert APP_SEARCHED not in visible(chat[-1]["content"]) and "options" not in chat[-1]

    chat, session, _, _ = finished(
        respond("How much did they lower the error?", chat, session, "", 5, *PANEL)
    )

    follow_up = visible(chat[-1]["content"])
    assert APP_SEARCHED in follow_up and TIDES in follow_up.split(APP_SEARCHED)[1]
    assert chat[-1]["options"] == [NEW_TOPIC_OPTION]

    chat, session, _, _ = finished(again(chat, session, "", 5, *PANEL))

    alone = session.answers[-1]
    assert alone.question == "How much did they lower the error?" and alone.abstained
    assert APP_NEW_TOPIC_MARK in chat[-2]["content"] and NOT_COVERED in visible(chat[-1]["content"])


def test_new_topic_asks_without_the_conversation_and_follow_ups_start_from_it(
    tiny_app: gr.Blocks,
) -> None:
    respond, new_topic = handlers(tiny_app, "respond", "respond_new_topic")
    chat, session, _, _ = first_answer(respond)

    chat, session, box, _ = finished(
        new_topic("What happens to soil microbes in drought?", chat, session, "", 5, *PANEL)
    )
    assert box == "" and session.topic_start == 1 and session.asked.since == 1
    assert session.answers[-1].query in ("", session.answers[-1].question)  # nothing added
    chat, session, _, _ = finished(
        respond("How fast did they recover?", chat, session, "", 5, *PANEL)
    )

    follow_up = session.answers[-1]
    assert [c.title for c in follow_up.citations] == [SOIL]
    assert SOIL in follow_up.query and TIDES not in follow_up.query


# --- item 2: a local model's answer ---------------------------------------------------------------


def llamacpp_turn(tiny_pipeline: Pipeline, tmp_path: Path, text: str) -> list[list[str]]:
    """Every state of the chat while a question is answered in llamacpp mode."""
    pipeline = pipeline_with_model(tiny_pipeline, local_model(text))
    respond = handler(build_app(pipeline, tmp_path), "respond")
    return [
        contents(chat)
        for chat, *_ in respond(QUESTION, [], Session(), "llamacpp", 5, *PANEL)
        if isinstance(chat, list)
    ]


def assert_nothing_shown_is_taken_away(states: list[list[str]]) -> None:
    """Whatever a message showed at any point is still there, word for word, at the end:
    its text and each of its cards (compared without spaces, which markup adds; a note may
    join them)."""
    final = ["".join(visible(message).split()) for message in states[-1]]
    for state in states:
        for position, message in enumerate(state):
            if "model-writing" in message:
                continue  # progress, not an answer: it goes once the answer is there
            for block in re.split(r'(?=<div class="(?:source-card|answer-note))', message):
                seen = "".join(visible(block).replace("▍", "").split())
                assert seen in final[position], (seen, final[position])


def test_a_model_answer_no_source_backs_never_shows_and_the_extractive_one_stays(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    states = llamacpp_turn(tiny_pipeline, tmp_path, INVENTED)

    assert not any("seagulls" in message for state in states for message in state)
    assert_nothing_shown_is_taken_away(states)
    final = states[-1]
    assert len(final) == 2 and "source-card" in final[1]
    assert FALLBACK_UNSUPPORTED.format(mode="llamacpp") in visible(final[1])
    # The extractive answer, with its cards, was there while the model was still writing.
    writing = next(i for i, s in enumerate(states) if "writing its own answer" in "".join(s))
    assert "source-card" in states[writing][1]


def test_a_verified_model_answer_is_added_below_with_each_unbacked_sentence_marked(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    states = llamacpp_turn(tiny_pipeline, tmp_path, BACKED + INVENTED)

    assert_nothing_shown_is_taken_away(states)
    final = states[-1]
    assert len(final) == 3 and "source-card" in final[1] and "source-card" in final[2]
    model = visible(final[2])
    assert model.startswith(f" {APP_MODE_DEMO}") and APP_SENTENCE_UNSUPPORTED in model
    assert re.search(
        r'class="sentence unsupported">Tides are forecast by counting seagulls', final[2]
    )
    # The model's text shows only once judged: never while it was being written.
    assert [i for i, s in enumerate(states) if "seagulls" in "".join(s)] == [len(states) - 1]


@pytest.mark.skipif(
    "llamacpp" not in available_modes(Pipeline({"llm": {"model_path": ""}}).settings),
    reason="llama-cpp-python or the packaged model is not installed",
)
def test_the_packaged_model_is_named_a_demonstration_model_in_the_mode_picker(
    tiny_pipeline: Pipeline,
) -> None:
    _, modes, _ = panel_choices(tiny_pipeline)

    assert (APP_MODE_DEMO, "llamacpp") in modes.choices
    assert "demonstration model" in modes.info
    local = Pipeline(tiny_pipeline.settings.replace(llm={"model_path": "/models/other.gguf"}))
    assert APP_MODE_DEMO not in dict(panel_choices(local)[1].choices)


# --- item 3: Stop --------------------------------------------------------------------------------


def test_stop_ends_a_streaming_answer_with_its_text_so_far_and_stopped(
    tiny_app: gr.Blocks,
) -> None:
    respond, stop = handlers(tiny_app, "respond", "stop")
    turn = respond(QUESTION, [], Session(), "", 5, *PANEL)
    for _ in range(4):
        chat, session, *_ = next(turn)
    written = " ".join(visible(chat[-1]["content"]).replace("▍", "").split())
    assert written  # some words, not yet the answer

    chat, session = stop(chat, session)

    shown = " ".join(visible(chat[-1]["content"]).split())
    assert shown == f"{written} {APP_STOPPED}" and "▍" not in chat[-1]["content"]
    # The turn ends at its next piece, showing the same stopped message as its last word.
    [(last, *_)] = list(turn)
    assert contents(last) == contents(chat) and session.answers == []


@dataclass
class ModelWriting:
    """A llamacpp turn caught while the local model writes: three words in, not stopped."""

    model: LlamaCppCompletion
    respond: Callable[..., Iterator[tuple[Any, ...]]]
    stop: Callable[..., tuple[Any, Session]]
    turn: Iterator[tuple[Any, ...]]
    chat: list[dict[str, Any]]
    session: Session


@pytest.fixture
def model_writing(tiny_pipeline: Pipeline, tmp_path: Path) -> ModelWriting:
    model = local_model(BACKED * 20)
    demo = build_app(pipeline_with_model(tiny_pipeline, model), tmp_path)
    respond, stop = handlers(demo, "respond", "stop")
    turn = respond(QUESTION, [], Session(), "llamacpp", 5, *PANEL)
    for chat, session, *_ in turn:
        if isinstance(chat, list) and model._llama.produced >= 3:
            return ModelWriting(model, respond, stop, turn, chat, session)
    raise AssertionError("the model's answer ended before it was three words in")


def test_stop_while_the_model_writes_keeps_the_extractive_answer_and_frees_the_model(
    model_writing: ModelWriting,
) -> None:
    model = model_writing.model
    assert not is_free(model)  # mid-generation

    chat, session = model_writing.stop(model_writing.chat, model_writing.session)

    shown = contents(chat)
    assert "source-card" in shown[1] and visible(shown[2]).strip() == APP_MODEL_STOPPED
    model_writing.turn.close()  # what Gradio does to an event whose page went away
    assert is_free(model) and model._llama.produced < len(model._llama.words)
    assert [a.mode for a in session.answers] == ["extractive"]


def test_a_stopped_generation_lets_go_of_the_model_even_when_nothing_closes_it(
    model_writing: ModelWriting,
) -> None:
    model = model_writing.model
    model_writing.stop(model_writing.chat, model_writing.session)
    produced = model._llama.produced

    [(last, *_)] = list(model_writing.turn)  # nothing closes the turn: it resumes once more

    assert visible(contents(last)[2]).strip() == APP_MODEL_STOPPED
    assert is_free(model) and model._llama.produced <= produced + 1
    # The next question gets the model.
    respond = model_writing.respond
    second = threading.Thread(
        target=lambda: finished(respond(QUESTION, [], Session(), "llamacpp", 5, *PANEL))
    )
    second.start()
    second.join(timeout=120)
    assert not second.is_alive()


# --- item 9 and 8: examples ask, only answers can be rated ---------------------------------------


def test_an_example_clicked_in_the_empty_chat_is_asked_at_once(tiny_app: gr.Blocks) -> None:
    example = handler(tiny_app, "ask_example")
    event = gr.SelectData(None, {"index": 0, "value": {"text": QUESTION}})

    chat, session, box, _ = finished(example(event, [], Session(), "", 5, *PANEL))

    assert chat[0]["content"] == QUESTION and TIDES in chat[1]["content"] and box == ""
    assert [a.question for a in session.answers] == [QUESTION]


def test_a_message_that_is_not_an_answer_cannot_be_rated(
    tiny_app: gr.Blocks, tmp_path: Path
) -> None:
    respond, stop, rate = handlers(tiny_app, "respond", "stop", "rate")
    turn = respond(QUESTION, [], Session(), "", 5, *PANEL)
    for _ in range(3):
        chat, session, *_ = next(turn)
    chat, session = stop(chat, session)

    rated = rate(session, gr.LikeData(None, {"index": 1, "value": "", "liked": True}))

    assert rated == (session, gr.skip(), gr.skip())
    assert not (tmp_path / "feedback.jsonl").exists()


def test_the_answer_record_of_a_generated_turn_keeps_both_answers_for_export(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    pipeline = pipeline_with_model(tiny_pipeline, local_model(BACKED))
    respond, export = handlers(build_app(pipeline, tmp_path), "respond", "export")
    _, session, _, _ = finished(respond(QUESTION, [], Session(), "llamacpp", 5, *PANEL))

    assert [a.mode for a in session.answers] == ["extractive", "llamacpp"]
    assert session.message_answer == {1: 0, 2: 1}
    text = export(session)["text"]
    assert text.count(f"**Q:** {QUESTION}") == 1 and "The llamacpp model's answer" in text
    assert isinstance(session.answers[1], Answer) and session.answers[1].sentences


# --- Compare -------------------------------------------------------------------------------------


def test_compare_shows_the_theme_s_papers_side_by_side_and_exports_them_to_the_data_folder(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    demo = build_app(tiny_pipeline, data)
    compare = handler(demo, "compare")

    panel, table, exports, cards, comparison = compare(QUESTION, Session(), 5, *PANEL)

    assert panel.visible and exports.visible
    assert [row.paper.title for row in comparison.rows] == [TIDES]
    assert TIDES in visible(table) and "(not stated in the abstract)" in visible(table)
    assert 'href="#cmp-1"' in table and 'id="cmp-1"' in cards and TIDES in visible(cards)
    saved = [export(comparison) for export in handlers(demo, "export_csv", "export_markdown")]
    assert [s["type"] for s in saved] == ["text/csv", "text/markdown"]
    rows = list(csv.reader(io.StringIO(saved[0]["text"])))
    assert saved[0]["text"] == comparison.to_csv() and rows[1][:2] == ["1", TIDES]
    assert saved[1]["text"].startswith(f"# {APP_COMPARISON}: {QUESTION}\n")
    assert comparison.to_markdown() in saved[1]["text"]
    # Each file as sent to the page, in the data folder's exports and nowhere else in it.
    written = {path: path.read_bytes().decode() for path in data.rglob("*") if path.is_file()}
    assert written == {data / "exports" / s["name"]: s["text"] for s in saved}
    # The side panel's filters count, as they do for Ask: no tide paper from 2022.
    *_, in_2022 = compare(QUESTION, Session(), 5, "2022", "", "", 0)
    assert TIDES not in [row.paper.title for row in in_2022.rows]


def test_compare_warns_of_an_empty_question_and_says_when_there_is_nothing_to_compare(
    tiny_app: gr.Blocks, tmp_path: Path
) -> None:
    compare, export_csv = handlers(tiny_app, "compare", "export_csv")
    with pytest.warns(UserWarning, match=re.escape(EMPTY_QUESTION)):
        assert compare("   ", Session(), 5, *PANEL) == (gr.skip(),) * 5  # as Ask warns

    _, table, exports, cards, comparison = compare(
        "What is the best recipe for sourdough bread?", Session(), 5, *PANEL
    )

    assert NOTHING_TO_COMPARE in visible(table) and not exports.visible and cards == ""
    for nothing in (comparison, None):
        with pytest.warns(UserWarning, match=re.escape(APP_NOTHING_COMPARED)):
            assert export_csv(nothing) is None
    assert not (tmp_path / "exports").exists()
