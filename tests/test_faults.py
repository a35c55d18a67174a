"""Faults in the index, caused for real: a killed ingest, two ingests at once, damaged folders.

Ingests run as separate `python -m rag` processes, killed with SIGKILL mid-embedding; damage is
done to the files Chroma wrote. After each fault the index either answers exactly as before or
refuses to open with one message naming the rebuild command, and the rebuild repairs it.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import chromadb
import pytest
from chromadb.errors import InternalError
from conftest import SEED

from rag import Pipeline
from rag.errors import INGEST_INTERRUPTED, IndexStateError
from rag.ingest.digest import load_digest
from rag.ingest.embedding import BACKENDS, Encoder
from rag.ingest.index import PaperIndex
from rag.ingest.storage import DATABASE, open_client, referenced_segments, writer_lock
from rag.texts import INDEX_REBUILD_HINT

ROOT = Path(__file__).resolve().parent.parent
# Papers in the large digest: several seconds of embedding on two cores, so a kill lands mid-way.
LARGE = 400
QUESTIONS = (
    "How quickly do soil microbes respond to drought?",
    "How far ahead can tides be forecast?",
    "How many qubits does lattice sorting save?",
)
# tqdm's progress line once at least one batch is written: "Embedding:   3%|...| 32/1203".
EMBEDDING_STARTED = re.compile(r"Embedding:.*\| *[1-9]\d*/\d+")
SEGMENT_DIR = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def rag_command(index: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "rag", "--index", str(index), *args]


def rag_env() -> dict[str, str]:
    return {"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"}


def start_ingest(index: Path, *digests: Path, log: Path) -> subprocess.Popen[str]:
    """An ingest in its own process, its progress bar written to `log`. SIGINT is reset to
    its default first: a shell without job control starts background jobs ignoring it."""
    with open(log, "w") as stderr:
        return subprocess.Popen(
            rag_command(index, "ingest", *map(str, digests)),
            cwd=ROOT,
            env=rag_env(),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )


def wait_for_embedding(process: subprocess.Popen[str], log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not EMBEDDING_STARTED.search(log.read_text(errors="replace")):
        assert process.poll() is None, f"ingest ended before embedding: {log.read_text()}"
        assert time.monotonic() < deadline, "ingest never started embedding"
        time.sleep(0.05)


def interrupt_ingest(
    index: Path, *digests: Path, sig: signal.Signals, log: Path | None = None
) -> int:
    """Start an ingest of `digests` and send it `sig` once it is embedding: its exit status.
    Its progress bar goes to `log`, by default a file beside the index."""
    log = log or index.with_name("interrupted-ingest.log")
    process = start_ingest(index, *digests, log=log)
    wait_for_embedding(process, log)
    process.send_signal(sig)
    return process.wait(timeout=120)


def run(command: list[str], timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
    """`command` run to its end with `env` added to `rag_env()`, its output captured."""
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**rag_env(), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ingest_to_the_end(index: Path, *digests: Path) -> str:
    """An ingest of `digests` in its own process, which must succeed: what it printed."""
    done = run(rag_command(index, "ingest", *map(str, digests)))
    assert done.returncode == 0, done.stderr
    return done.stdout


def write_large_digest(path: Path, n: int = LARGE) -> Path:
    """`n` distinct papers in JSONL, their words drawn from the seed listing."""
    words = re.findall(r"[A-Za-z]{4,}", SEED.read_text(encoding="utf-8"))
    rng = random.Random(7)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            title = f"Synthetic Study {i} of {' '.join(rng.sample(words, 3))}"
            abstract = " ".join(rng.choices(words, k=60)) + "."
            out.write(json.dumps({"title": title, "abstract": abstract}) + "\n")
    return path


@pytest.fixture
def large_digest(tmp_path: Path) -> Path:
    return write_large_digest(tmp_path / "large.jsonl")


def pipeline_over(index: Path, digest: Path, encoder: Encoder) -> Pipeline:
    settings = {"index": {"path": index, "digests": (digest,), "progress": False}}
    return Pipeline(settings, encoder=encoder)


def answers(pipeline: Pipeline) -> list[tuple[str, tuple[str, ...]]]:
    """What the pipeline says to each question, with the titles it cites."""
    replies = [pipeline.ask(question) for question in QUESTIONS]
    return [(a.text, tuple(c.title for c in a.citations)) for a in replies]


def generations(index: Path) -> list[str]:
    return sorted(c.name for c in open_client(index).list_collections())


def vector_folders(index: Path) -> set[str]:
    """The folders Chroma keeps vectors in (named by segment id) found beside the database."""
    return {d.name for d in index.iterdir() if d.is_dir() and SEGMENT_DIR.fullmatch(d.name)}


def no_orphan_folders(index: Path) -> bool:
    """Every vector folder belongs to a segment the database lists, one per generation."""
    folders = vector_folders(index)
    return folders <= referenced_segments(index) and len(folders) == len(generations(index))


# ---------------------------------------------------------------- killed and concurrent ingests


@pytest.mark.slow
def test_killed_ingest_leaves_the_previous_index_whole_and_the_next_completes(
    tmp_path: Path, tiny_digest: Path, large_digest: Path, encoder: Encoder, tiny_pipeline: Pipeline
):
    index = tmp_path / "index"  # where tiny_pipeline keeps its index
    before_papers, before_answers = tiny_pipeline.papers, answers(tiny_pipeline)

    killed = interrupt_ingest(index, tiny_digest, large_digest, sig=signal.SIGKILL)
    assert killed == -signal.SIGKILL

    reopened = pipeline_over(index, tiny_digest, encoder)
    assert reopened.papers == before_papers
    assert answers(reopened) == before_answers
    assert answers(tiny_pipeline) == before_answers

    printed = ingest_to_the_end(index, tiny_digest, large_digest)
    assert f"{LARGE + 3} papers: {LARGE} added, 0 updated, 3 unchanged" in printed
    completed = PaperIndex(index, encoder).papers()
    assert len(completed) == LARGE + 3
    assert {pid: completed[pid] for pid in before_papers} == before_papers
    # The killed run's half-filled generation is gone: the live one and the one it replaced,
    # and so is every vector folder no collection uses any more.
    assert len(generations(index)) == 2
    assert no_orphan_folders(index)


@pytest.mark.slow
def test_ctrl_c_during_ingest_prints_one_line_and_leaves_the_index_as_it_was(
    tmp_path: Path, tiny_digest: Path, large_digest: Path, encoder: Encoder, tiny_pipeline: Pipeline
):
    index = tmp_path / "index"  # where tiny_pipeline keeps its index
    before_papers, before_answers = tiny_pipeline.papers, answers(tiny_pipeline)
    log = tmp_path / "interrupted.log"
    assert interrupt_ingest(index, tiny_digest, large_digest, log=log, sig=signal.SIGINT) == 130
    last = log.read_text().replace("\r", "\n").strip().splitlines()[-1]
    assert last == f"error: {INGEST_INTERRUPTED.format(path=index)}"
    assert "Traceback" not in log.read_text()
    # Nothing half-written is left: not the generation, not its vector folder.
    assert len(generations(index)) == 1
    assert no_orphan_folders(index)
    reopened = pipeline_over(index, tiny_digest, encoder)
    assert reopened.papers == before_papers
    assert answers(reopened) == before_answers
    printed = ingest_to_the_end(index, tiny_digest, large_digest)
    assert f"{LARGE} added, 0 updated, 3 unchanged" in printed


@pytest.mark.slow
def test_two_ingests_at_once_take_turns_and_embed_each_paper_once(tmp_path: Path):
    index = tmp_path / "index"
    large = write_large_digest(tmp_path / "large.jsonl", n=LARGE // 2)
    first = start_ingest(index, large, log=tmp_path / "first.log")
    wait_for_embedding(first, tmp_path / "first.log")
    second = start_ingest(index, large, log=tmp_path / "second.log")
    first_out, _ = first.communicate(timeout=600)
    second_out, _ = second.communicate(timeout=600)
    assert (first.returncode, second.returncode) == (0, 0), (tmp_path / "second.log").read_text()
    assert f"{LARGE // 2} added" in first_out
    # The second waited for the lock, then found the first one's work already live.
    assert f"{LARGE // 2} unchanged; 0 chunks embedded" in second_out
    reopened = PaperIndex(index, Encoder())
    assert len(reopened.papers()) == LARGE // 2
    assert reopened.count() == len(set(reopened.collection.get()["ids"]))
    assert len(generations(index)) == 1


def test_ingest_gives_up_clearly_when_another_writer_holds_the_lock(
    tmp_path: Path, tiny_digest: Path, encoder: Encoder
):
    index = tmp_path / "index"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from rag.ingest.storage import writer_lock\n"
            f"with writer_lock(Path({str(index)!r}), 5):\n"
            "    print('locked', flush=True); time.sleep(60)",
        ],
        cwd=ROOT,
        env=rag_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        waiting = PaperIndex(index, encoder, lock_timeout=1.5)
        started = time.monotonic()
        with pytest.raises(IndexStateError, match="Another ingest is writing") as error:
            waiting.ingest(load_digest(tiny_digest), progress=False)
        assert 1.5 <= time.monotonic() - started < 10
        assert str(index) in str(error.value)
    finally:
        holder.kill()
        holder.wait()
    with writer_lock(index, 5):  # a killed holder's lock is released with its process
        pass


# ---------------------------------------------------------------- damaged or foreign folders


@pytest.fixture
def built(tmp_path: Path, tiny_digest: Path, encoder: Encoder) -> Path:
    index = tmp_path / "index"
    PaperIndex(index, encoder).ingest(load_digest(tiny_digest), progress=False)
    return index


def segment_files(index: Path) -> list[Path]:
    return [f for d in index.iterdir() if d.is_dir() for f in d.iterdir()]


def garbage_database(index: Path) -> None:
    (index / DATABASE).write_bytes(os.urandom(8192))


def garbage_pointer(index: Path) -> None:
    (index / "papers.live.json").write_text("{not json")


def pointer_to_nowhere(index: Path) -> None:
    (index / "papers.live.json").write_text('{"live": "papers.000000000000"}')


DAMAGE = {
    "its database is unreadable": garbage_database,
    "papers.live.json is damaged": garbage_pointer,
    "its live collection 'papers.000000000000' is missing": pointer_to_nowhere,
}
# Damage to the pointer alone loses nothing: recovery finds the generation it named.
POINTER_DAMAGE = {name: DAMAGE[name] for name in list(DAMAGE)[1:]}


@pytest.mark.parametrize("problem", DAMAGE)
def test_damaged_index_is_refused_at_open_and_rebuild_repairs_it(
    built: Path, tiny_digest: Path, encoder: Encoder, problem: str
):
    expected = PaperIndex(built, encoder).papers()
    DAMAGE[problem](built)
    with pytest.raises(IndexStateError) as error:
        PaperIndex(built, encoder).papers()
    assert problem in str(error.value)
    hint = INDEX_REBUILD_HINT if problem not in POINTER_DAMAGE else "ingest --recover"
    assert hint in str(error.value)
    repaired = PaperIndex(built, encoder)
    report = repaired.ingest(load_digest(tiny_digest), progress=False, rebuild=True)
    assert (report.added, report.unchanged) == (3, 0)
    assert PaperIndex(built, encoder).papers() == expected


@pytest.mark.parametrize("problem", POINTER_DAMAGE)
def test_damaged_pointer_is_recovered_without_reading_any_digest(
    built: Path, encoder: Encoder, problem: str
):
    expected = PaperIndex(built, encoder).papers()
    live = PaperIndex(built, encoder).generation
    POINTER_DAMAGE[problem](built)
    assert PaperIndex(built, encoder).recover() == live
    assert PaperIndex(built, encoder).papers() == expected
    # A sound pointer is left alone.
    assert PaperIndex(built, encoder).recover() is None


def test_an_unreadable_database_is_set_aside_by_rebuild_not_deleted(
    built: Path, tiny_digest: Path, encoder: Encoder
):
    garbage_database(built)
    damaged = (built / DATABASE).read_bytes()
    PaperIndex(built, encoder).ingest(load_digest(tiny_digest), progress=False, rebuild=True)
    [aside] = built.glob("damaged-*")
    assert (aside / DATABASE).read_bytes() == damaged
    assert len(PaperIndex(built, encoder).papers()) == 3


def test_index_of_another_encoder_is_refused(built: Path, tiny_digest: Path, encoder: Encoder):
    other = Encoder(backend=next(b for b in BACKENDS if b != encoder.backend_name))
    with pytest.raises(IndexStateError) as error:
        PaperIndex(built, other).ingest(load_digest(tiny_digest), progress=False)
    assert f"built by {encoder.name} (384 dimensions), not {other.name}" in str(error.value)
    report = PaperIndex(built, other).ingest(load_digest(tiny_digest), progress=False, rebuild=True)
    assert report.chunks_embedded > 0
    assert PaperIndex(built, other).collection.metadata["encoder"] == other.name
    with pytest.raises(IndexStateError, match=f"built by {other.name}"):
        PaperIndex(built, encoder).count()


def test_older_index_of_another_dimension_is_refused(tmp_path: Path, encoder: Encoder):
    index = tmp_path / "index"
    # An index from before generations and metadata, filled by a 768-dimension model.
    legacy = open_client(index).create_collection("papers")
    legacy.add(ids=["a:0"], embeddings=[[0.1] * 768], metadatas=[{"paper_id": "a", "chunk": 0}])
    with pytest.raises(IndexStateError) as error:
        PaperIndex(index, encoder).count()
    assert f"(768 dimensions), not {encoder.name} (384 dimensions)" in str(error.value)


def ask_in_new_process(index: Path) -> subprocess.CompletedProcess[str]:
    question = "How far ahead can tides be forecast?"
    return run(rag_command(index, "ask", question), timeout=300, RAG_INDEX_DIGESTS="")


def test_ask_on_a_damaged_index_prints_one_line_naming_the_rebuild(built: Path):
    garbage_database(built)
    result = ask_in_new_process(built)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: The index in {built} cannot be used")
    assert line.endswith(INDEX_REBUILD_HINT + ".")


# Chroma writes a collection's vector index to disk once it holds this many vectors.
PERSISTED = 1100


@pytest.mark.slow
def test_damaged_vector_files_are_refused_and_rebuild_repairs_them(
    tmp_path: Path, tiny_digest: Path, encoder: Encoder
):
    index = tmp_path / "index"
    notes = tmp_path / "notes.jsonl"
    notes.write_text(
        "".join(
            json.dumps({"title": f"Field Note {i}", "abstract": f"Tide gauge {i} read high."})
            + "\n"
            for i in range(PERSISTED)
        )
    )
    papers = load_digest(tiny_digest) + load_digest(notes)
    PaperIndex(index, encoder).ingest(papers, progress=False)
    for file in segment_files(index):
        file.write_bytes(os.urandom(max(file.stat().st_size, 64)))
    # A new process reads the damaged files; this one still holds the vectors in memory.
    refused = ask_in_new_process(index)
    assert refused.returncode == 2
    assert "is damaged" in refused.stderr
    assert INDEX_REBUILD_HINT in refused.stderr
    PaperIndex(index, encoder).ingest(papers, progress=False, rebuild=True)
    repaired = ask_in_new_process(index)
    assert repaired.returncode == 0, repaired.stderr
    assert "[1] Tidal Forecasting with Graph Neural Networks" in repaired.stdout


def test_stray_files_in_the_index_folder_change_nothing(built: Path, encoder: Encoder):
    expected = PaperIndex(built, encoder).papers()
    (built / "notes.txt").write_bytes(os.urandom(300))
    (built / "0000").mkdir()
    (built / "0000" / "junk.bin").write_bytes(os.urandom(300))
    assert PaperIndex(built, encoder).papers() == expected


def test_collection_records_its_encoder_dimension_and_completion(built: Path, encoder: Encoder):
    live = PaperIndex(built, encoder).collection
    assert set(live.metadata) == {"encoder", "dimension", "complete", "built_at"}
    assert (live.metadata["encoder"], live.metadata["dimension"]) == (encoder.name, 384)
    assert live.metadata["complete"] is True
    assert isinstance(live, chromadb.Collection)


# ---------------------------------------------------------------- a full disk


SQLITE_FULL = (
    "Query error: Database error: error returned from database: (code: 13) database or disk is full"
)


def test_a_full_disk_during_ingest_is_one_message_and_the_index_answers_as_before(
    built: Path, tiny_digest: Path, encoder: Encoder, monkeypatch: pytest.MonkeyPatch
):
    """The error SQLite gives on a full disk, raised where Chroma writes the new chunks."""
    expected = PaperIndex(built, encoder).papers()
    before = generations(built)
    more = write_large_digest(built.parent / "more.jsonl", n=5)
    papers = load_digest(tiny_digest) + load_digest(more)

    def full(*args: object, **kwargs: object) -> None:
        raise InternalError(SQLITE_FULL)

    monkeypatch.setattr(chromadb.Collection, "add", full)
    with pytest.raises(IndexStateError) as error:
        PaperIndex(built, encoder).ingest(papers, progress=False)
    assert "(the disk is full)" in str(error.value)
    assert "the index is unchanged" in str(error.value)
    monkeypatch.undo()
    assert generations(built) == before
    assert no_orphan_folders(built)
    assert PaperIndex(built, encoder).papers() == expected
    assert PaperIndex(built, encoder).ingest(papers, progress=False).added == 5


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs (needs root, or the right to mount)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


def test_a_really_full_disk_gives_one_line_and_the_next_ingest_completes(
    small_disk: Path, tiny_digest: Path, tmp_path: Path
):
    index = small_disk / "index"
    large = write_large_digest(tmp_path / "large.jsonl", n=300)
    ingest_to_the_end(index, tiny_digest)
    full = run(
        rag_command(index, "ingest", str(tiny_digest), str(large)), RAG_INDEX_PROGRESS="false"
    )
    assert full.returncode == 2, full.stderr
    [line] = full.stderr.strip().splitlines()
    assert line.startswith(f"error: Could not write to the index in {index} (")
    assert "the index is unchanged and still answers as before" in line
    answered = ask_in_new_process(index)
    assert answered.returncode == 0, answered.stderr
    assert "[1] Tidal Forecasting with Graph Neural Networks" in answered.stdout
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    assert "300 added" in ingest_to_the_end(index, tiny_digest, large)
    assert len(generations(index)) == 2
    assert no_orphan_folders(index)


# ---------------------------------------------------------------- read-only, not damaged


def unprivileged(command: Sequence[str]) -> list[str]:
    """`command` without the power to ignore file permissions: root keeps it otherwise."""
    if os.geteuid() != 0:
        return list(command)
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv to drop the permission override")
    drop = "--bounding-set=-dac_override,-dac_read_search,-fowner"
    return ["setpriv", drop, *command]


def run_unprivileged(index: Path, *args: str, digests: Path) -> subprocess.CompletedProcess[str]:
    command = unprivileged(rag_command(index, *args))
    return run(command, timeout=300, RAG_INDEX_DIGESTS=str(digests))


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    return line


def snapshot(index: Path) -> dict[str, bytes]:
    return {str(f.relative_to(index)): f.read_bytes() for f in index.rglob("*") if f.is_file()}


@contextmanager
def permissions(path: Path, mode: int, restore: int) -> Iterator[None]:
    """`path` with permission bits `mode` during the block, `restore` after it."""
    path.chmod(mode)
    try:
        yield
    finally:
        path.chmod(restore)


@pytest.fixture
def two_sources(built: Path, tmp_path: Path, tiny_digest: Path, encoder: Encoder) -> Path:
    """`built` plus one paper from a file that is not among the configured digests."""
    notes = tmp_path / "notes.jsonl"
    notes.write_text(json.dumps({"title": "Field Note", "abstract": "Tide gauge read high."}))
    papers = load_digest(tiny_digest) + load_digest(notes)
    PaperIndex(built, encoder).ingest(papers, progress=False)
    return built


def test_a_read_only_database_is_called_read_only_and_rebuild_deletes_nothing(
    two_sources: Path, tiny_digest: Path, encoder: Encoder
):
    index = two_sources
    with permissions(index / DATABASE, 0o444, restore=0o644):
        before = snapshot(index)
        for args in (("ask", "tides"), ("ingest", "--rebuild")):
            line = one_line(run_unprivileged(index, *args, digests=tiny_digest))
            assert f"The index in {index} is read-only ({DATABASE} cannot be written)" in line
            assert "rebuild" not in line
        assert snapshot(index) == before
    assert len(PaperIndex(index, encoder).papers()) == 4


def test_a_read_only_folder_is_called_read_only_not_a_traceback(
    two_sources: Path, tiny_digest: Path, encoder: Encoder
):
    index = two_sources
    (index / "ingest.lock").unlink()  # an ingest must create it: refused by the folder
    before = snapshot(index)
    with permissions(index, 0o555, restore=0o755):
        for args in (("ask", "tides"), ("ingest", "--rebuild"), ("ingest",)):
            line = one_line(run_unprivileged(index, *args, digests=tiny_digest))
            assert f"The index in {index} is read-only (its folder cannot be written)" in line
        assert snapshot(index) == before
    assert len(PaperIndex(index, encoder).papers()) == 4
