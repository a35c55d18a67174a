"""Answer modes: settings, streaming, and the extractive fallback when a backend fails.

The servers here are real sockets: a closed port (nothing listens) and a listener that
accepts and never answers. Generation by a real model is in test_llm_servers.py (slow).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer.backends import (
    BackendError,
    LlamaCppCompletion,
    available_modes,
    build_chat_model,
    generation_options,
)
from rag.answer.grounding import citation_grammar
from rag.config import LLMSettings, Settings, get_settings
from rag.errors import QuestionError
from rag.pipeline import Pipeline
from rag.records import Answer
from rag.texts import FALLBACK_FAILED, FALLBACK_TIMEOUT, NOT_GENERATED

QUESTION = "How quickly do soil microbes respond to drought?"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An address that accepts connections and never replies."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def pipeline_with(tiny_pipeline: Pipeline, **llm: object) -> Pipeline:
    """A pipeline over the tiny digest with these LLM settings, indexed before any clock."""
    settings = tiny_pipeline.settings.replace(llm=llm)
    pipeline = Pipeline(settings, encoder=tiny_pipeline.encoder)
    pipeline.ask(QUESTION, mode="extractive")
    return pipeline


def run_stream(pipeline: Pipeline, question: str, **options: object) -> tuple[str, Answer]:
    *pieces, answer = pipeline.stream(question, **options)
    assert all(isinstance(p, str) for p in pieces)
    assert isinstance(answer, Answer)
    return "".join(pieces), answer


def test_extractive_is_always_offered_and_llm_modes_when_configured():
    assert available_modes(Settings())[0] == "extractive"
    configured = get_settings(
        environ={"RAG_LLM_BASE_URL": "http://127.0.0.1:8000/v1", "RAG_LLM_OLLAMA_MODEL": "qwen3"}
    )
    assert {"openai", "ollama"} <= set(available_modes(configured))
    assert "ollama" not in available_modes(Settings())


def test_llm_settings_come_from_the_environment():
    settings = get_settings(
        environ={"RAG_LLM_MODE": "openai", "RAG_LLM_TIMEOUT": "2.5", "RAG_LLM_MAX_TOKENS": "64"}
    )
    assert (settings.llm.mode, settings.llm.timeout, settings.llm.max_tokens) == ("openai", 2.5, 64)


def test_a_missing_gguf_file_is_a_backend_error(tmp_path: Path):
    with pytest.raises(BackendError, match="not found"):
        build_chat_model("llamacpp", LLMSettings(model_path=str(tmp_path / "none.gguf")))


def test_an_unknown_mode_is_a_question_error(tiny_pipeline: Pipeline):
    with pytest.raises(QuestionError, match="unknown answer mode"):
        tiny_pipeline.ask(QUESTION, mode="telepathy")


def test_extractive_stream_yields_the_answer_text_in_pieces_then_the_answer(
    tiny_pipeline: Pipeline,
):
    text, answer = run_stream(tiny_pipeline, QUESTION)
    assert text == answer.text
    assert answer.mode == "extractive" and answer.note == ""
    assert answer.citations[0].title == "Soil Microbes Respond to Drought Within Days"
    assert tiny_pipeline.ask(QUESTION).text == answer.text


@pytest.mark.parametrize("mode", ["openai", "ollama"])
def test_an_unreachable_backend_falls_back_to_extractive_with_a_note(
    tiny_pipeline: Pipeline, mode: str
):
    closed = f"http://127.0.0.1:{free_port()}"
    pipeline = pipeline_with(
        tiny_pipeline, base_url=f"{closed}/v1", ollama_url=closed, ollama_model="none", timeout=5
    )
    pipeline.chat_model(mode)
    started = time.perf_counter()
    text, answer = run_stream(pipeline, QUESTION, mode=mode)
    assert time.perf_counter() - started < 5
    prefix = FALLBACK_FAILED.format(mode=mode, reason="").split("(")[0]
    assert answer.note.startswith(prefix)
    assert answer.mode == "extractive"
    assert text == answer.text == tiny_pipeline.ask(QUESTION).text
    assert answer.sentences == ()


def test_a_backend_that_never_answers_falls_back_after_the_timeout(
    tiny_pipeline: Pipeline, silent_server: str
):
    pipeline = pipeline_with(tiny_pipeline, base_url=f"{silent_server}/v1", timeout=1.5)
    pipeline.chat_model("openai")
    started = time.perf_counter()
    answer = pipeline.ask(QUESTION, mode="openai")
    assert time.perf_counter() - started < 4
    assert answer.note == FALLBACK_TIMEOUT.format(mode="openai", seconds=1.5)
    assert answer.citations[0].title == "Soil Microbes Respond to Drought Within Days"


def test_a_question_the_records_answer_is_not_sent_to_the_model(tiny_pipeline: Pipeline):
    closed = f"http://127.0.0.1:{free_port()}/v1"
    pipeline = pipeline_with(tiny_pipeline, base_url=closed, timeout=5)
    answer = pipeline.ask("Which paper has the most upvotes?", mode="openai")
    assert answer.note == NOT_GENERATED.format(mode="openai")
    assert answer.text == tiny_pipeline.ask("Which paper has the most upvotes?").text


def test_the_configured_mode_is_the_default(tiny_pipeline: Pipeline):
    closed = f"http://127.0.0.1:{free_port()}/v1"
    pipeline = pipeline_with(tiny_pipeline, mode="openai", base_url=closed, timeout=5)
    assert pipeline.ask(QUESTION).note.startswith("The openai model could not answer")
    assert pipeline.ask(QUESTION, mode="extractive").note == ""


def test_the_citation_grammar_parses_in_llama_cpp():
    from llama_cpp import LlamaGrammar

    assert LlamaGrammar.from_string(citation_grammar(5), verbose=False) is not None


def test_the_local_adapter_gets_the_grammar_and_remote_apis_nothing(tmp_path: Path):
    local = LlamaCppCompletion(model_path=str(tmp_path / "unused.gguf"))
    assert generation_options(local, 4) == {"grammar": citation_grammar(4)}
    remote = build_chat_model("openai", LLMSettings(base_url="http://127.0.0.1:9/v1"))
    assert generation_options(remote, 4) == {}
