"""A long-lived reader follows the index while other processes ingest into it, and loses nothing.

Ingests run as real `python -m rag ingest` processes; the reader is a `Pipeline` in this process,
or the app started as its own process and asked through `gradio_client` by concurrent clients.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rag import Pipeline
from rag.bench.loadtest import running_app
from rag.ingest.digest import load_digest
from rag.ingest.embedding import Encoder
from rag.ingest.index import PaperIndex
from rag.ingest.storage import open_client

ROOT = Path(__file__).resolve().parents[2]
# One paper per digest, each on a subject the others never touch.
PAPERS = {
    "a": (
        "Glacier Melt Forecasting with Satellite Radar",
        "How is glacier melt forecast from satellite radar?",
        "We forecast glacier melt from satellite radar backscatter over forty alpine glaciers "
        "and show that radar-derived wetness predicts daily melt two weeks ahead with low error.",
    ),
    "b": (
        "Coral Reef Bleaching Detected by Underwater Drones",
        "Can underwater drones detect coral reef bleaching?",
        "Underwater drones photographed coral reefs every week for a year, and a classifier "
        "trained on their images detects coral bleaching a month before divers notice it.",
    ),
    "c": (
        "Honeybee Navigation Using Polarised Light Cues",
        "How do honeybees navigate with polarised light?",
        "Honeybees read the polarisation pattern of skylight to keep their heading, and bees "
        "with painted eyes lose their way home on overcast days in field trials across seasons.",
    ),
}


@pytest.fixture
def digests(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for key, (title, _, abstract) in PAPERS.items():
        paths[key] = tmp_path / f"{key}.jsonl"
        paths[key].write_text(json.dumps({"title": title, "abstract": abstract}) + "\n")
    return paths


def ingest(index: Path, *args: object) -> None:
    """`python -m rag --index INDEX ingest ARGS...` as its own process, which must succeed."""
    done = subprocess.run(
        [sys.executable, "-m", "rag", "--index", str(index), "ingest", *map(str, args)],
        cwd=ROOT,
        env={
            "HF_HUB_OFFLINE": "1",
            "ANONYMIZED_TELEMETRY": "False",
            "RAG_INDEX_PROGRESS": "false",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr


def reader_over(index: Path, encoder: Encoder) -> Pipeline:
    """A pipeline that only reads `index` (no digests of its own to ingest)."""
    return Pipeline({"index": {"path": index, "digests": (), "progress": False}}, encoder=encoder)


def first_cited(pipeline: Pipeline, key: str) -> str | None:
    answer = pipeline.ask(PAPERS[key][1])
    return answer.citations[0].title if answer.citations else None


def generations(index: Path) -> set[str]:
    return {c.name for c in open_client(index).list_collections()}


def test_a_pipeline_answers_each_newly_ingested_paper_without_a_restart(
    tmp_path: Path, digests: dict[str, Path], encoder: Encoder
):
    index = tmp_path / "index"
    ingest(index, digests["a"])
    pipeline = Pipeline(
        {"index": {"path": index, "digests": (digests["a"],), "progress": False}}, encoder=encoder
    )
    assert first_cited(pipeline, "a") == PAPERS["a"][0]
    assert first_cited(pipeline, "b") is None
    ingest(index, digests["b"])
    assert first_cited(pipeline, "b") == PAPERS["b"][0]
    # Before, the generation this pipeline had opened was dropped here: NotFoundError forever.
    ingest(index, digests["c"])
    assert first_cited(pipeline, "c") == PAPERS["c"][0]
    ingest(index, "--rebuild", *digests.values())
    assert [first_cited(pipeline, key) for key in PAPERS] == [p[0] for p in PAPERS.values()]
    assert len(pipeline.papers) == 3


def test_questions_check_the_pointer_and_reopen_only_after_a_switch(
    tmp_path: Path, digests: dict[str, Path], encoder: Encoder, monkeypatch: pytest.MonkeyPatch
):
    index = tmp_path / "index"
    ingest(index, digests["a"])
    opened: list[str | None] = []
    reopen = PaperIndex.reopen

    def counted(self: PaperIndex) -> PaperIndex:
        fresh = reopen(self)
        opened.append(fresh.generation)
        return fresh

    monkeypatch.setattr(PaperIndex, "reopen", counted)
    pipeline = Pipeline(
        {"index": {"path": index, "digests": (), "progress": False}}, encoder=encoder
    )
    for _ in range(4):
        first_cited(pipeline, "a")
    assert len(opened) == 1
    ingest(index, digests["b"])
    for _ in range(4):
        first_cited(pipeline, "b")
    assert len(opened) == 2 and opened[0] != opened[1]


def test_a_question_in_flight_keeps_its_generation_through_two_ingests_and_a_rebuild(
    tmp_path: Path, digests: dict[str, Path], encoder: Encoder
):
    index = tmp_path / "index"
    ingest(index, digests["a"])
    pipeline = Pipeline(
        {"index": {"path": index, "digests": (), "progress": False}}, encoder=encoder
    )
    in_flight = pipeline.stream(PAPERS["a"][1])
    next(in_flight)  # retrieved and answering: it holds the generation it started on
    started_on = pipeline.view().index.generation
    ingest(index, digests["b"])
    ingest(index, digests["c"])
    ingest(index, "--rebuild", *digests.values())
    assert started_on in generations(index)
    *_, answer = in_flight
    assert answer.citations[0].title == PAPERS["a"][0]
    # The next question moves to the live generation; once nothing reads the old one, the
    # next ingest drops it.
    assert first_cited(pipeline, "c") == PAPERS["c"][0]
    ingest(index, *digests.values())
    assert started_on not in generations(index)


def test_a_generation_a_reader_holds_is_dropped_only_once_released(
    tmp_path: Path, digests: dict[str, Path], encoder: Encoder
):
    index = tmp_path / "index"
    papers = {key: load_digest(path) for key, path in digests.items()}
    writer = PaperIndex(index, encoder)
    writer.ingest(papers["a"], progress=False)
    reader = PaperIndex(index, encoder)
    held = reader.generation
    writer.ingest(papers["a"] + papers["b"], progress=False)
    writer.ingest(papers["a"] + papers["b"] + papers["c"], progress=False)
    # Neither live nor the one live replaced, but read: kept, and still answers whole.
    assert held in generations(index) and len(generations(index)) == 3
    assert list(reader.papers()) == [p.paper_id for p in papers["a"]]
    assert reader.search(encoder.encode_query(PAPERS["a"][1]), 1)
    reader.close()
    writer.ingest(papers["a"] + papers["b"] + papers["c"], progress=False)  # nothing new
    assert held not in generations(index) and len(generations(index)) == 2


# ---------------------------------------------------------------- the app under load


@dataclass
class Tally:
    """Every `/ask` request the clients made and the ones that failed."""

    requests: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, problem: str | None) -> None:
        with self.lock:
            self.requests += 1
            if problem:
                self.failures.append(problem)


def ask_app(client: object, question: str) -> tuple[dict | None, str | None]:
    try:
        reply = client.predict(question, api_name="/ask")  # type: ignore[attr-defined]
    except Exception as error:  # noqa: BLE001 - every failure counts
        return None, f"{type(error).__name__}: {error}"[:300]
    if not isinstance(reply, dict) or "text" not in reply:
        return None, f"unexpected reply: {str(reply)[:200]}"
    return reply, None


def keep_asking(url: str, tally: Tally, stop: threading.Event, offset: int) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    questions = [question for _, question, _ in PAPERS.values()]
    turn = offset
    while not stop.is_set():
        tally.count(ask_app(client, questions[turn % len(questions)])[1])
        turn += 1


def wait_until_cited(url: str, key: str, tally: Tally, timeout: float = 60) -> float:
    """Seconds until the app's answer cites the paper of digest `key`."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        reply, problem = ask_app(client, PAPERS[key][1])
        tally.count(problem)
        titles = [c["title"] for c in (reply or {}).get("citations", [])]
        if titles[:1] == [PAPERS[key][0]]:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"the app never cited {PAPERS[key][0]!r} within {timeout} s")


@pytest.fixture
def app_on(
    tmp_path: Path, digests: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path]]:
    """`app.py` as its own process on a free port, over an index that `python -m rag ingest`
    filled with digest a (also the app's only configured digest)."""
    index = tmp_path / "index"
    ingest(index, digests["a"])
    monkeypatch.setenv("RAG_INDEX_DIGESTS", str(digests["a"]))
    monkeypatch.setenv("RAG_APP_DATA_DIR", str(tmp_path / "app-data"))
    log = tmp_path / "app.log"
    with running_app(index, log) as (url, _):
        yield url, log


@pytest.mark.slow
def test_the_app_under_load_fails_no_request_through_two_ingests_and_a_rebuild(
    tmp_path: Path, digests: dict[str, Path], app_on: tuple[str, Path]
):
    index, (url, log) = tmp_path / "index", app_on
    tally, stop = Tally(), threading.Event()
    clients = [threading.Thread(target=keep_asking, args=(url, tally, stop, n)) for n in range(10)]
    for client in clients:
        client.start()
    try:
        time.sleep(3)  # the load is on before the first ingest starts
        ingest(index, digests["b"])
        seen_b = wait_until_cited(url, "b", tally)
        ingest(index, digests["c"])
        seen_c = wait_until_cited(url, "c", tally)
        ingest(index, "--rebuild", *digests.values())
        time.sleep(5)  # and stays on the rebuilt index for a while
        for key in PAPERS:
            wait_until_cited(url, key, tally)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=120)
    print(
        f"\n{tally.requests} /ask requests during two ingests and a rebuild, "
        f"{len(tally.failures)} failed; new papers cited {seen_b:.1f} s and {seen_c:.1f} s "
        "after their ingest ended"
    )
    assert tally.failures == [], tally.failures[:5]
    assert tally.requests >= 50
    assert "Traceback" not in log.read_text()
