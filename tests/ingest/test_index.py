"""Ingest is incremental and switches generations atomically; rebuild starts from nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag import Pipeline
from rag.ingest.digest import load_digest
from rag.ingest.embedding import Encoder
from rag.ingest.index import PaperIndex
from rag.ingest.storage import (
    DATABASE,
    Pointer,
    ReadLease,
    open_client,
    pointer_path,
    referenced_segments,
    write_pointer,
)


@pytest.fixture
def index(tmp_path: Path, encoder: Encoder) -> PaperIndex:
    return PaperIndex(tmp_path / "index", encoder)


def test_reingest_of_unchanged_digest_embeds_nothing(index: PaperIndex, tiny_digest: Path):
    papers = load_digest(tiny_digest)
    first = index.ingest(papers, progress=False)
    second = index.ingest(papers, progress=False)
    assert (first.added, first.chunks_embedded > 0) == (3, True)
    assert (second.added, second.updated, second.unchanged, second.chunks_embedded) == (0, 0, 3, 0)
    assert index.count() == first.chunks_embedded


def test_index_persists_on_disk_across_clients(tmp_path: Path, encoder: Encoder, tiny_digest):
    PaperIndex(tmp_path / "index", encoder).ingest(load_digest(tiny_digest), progress=False)
    reopened = PaperIndex(tmp_path / "index", encoder)
    assert len(reopened.papers()) == 3
    assert reopened.ingest(load_digest(tiny_digest), progress=False).chunks_embedded == 0


def test_changed_abstract_replaces_its_chunks(index: PaperIndex, tiny_digest: Path):
    index.ingest(load_digest(tiny_digest), progress=False)
    text = tiny_digest.read_text()
    tiny_digest.write_text(text.replace("halves the number of qubits", "quarters the qubit count"))
    report = index.ingest(load_digest(tiny_digest), progress=False)
    assert (report.updated, report.unchanged) == (1, 2)
    stored = index.collection.get(include=["documents"])["documents"]
    assert any("quarters the qubit count" in doc for doc in stored)
    assert not any("halves the number of qubits" in doc for doc in stored)


def test_shorter_abstract_leaves_no_stale_chunks(index: PaperIndex, tiny_digest: Path):
    papers = load_digest(tiny_digest)
    long_paper = papers[0].__class__(**{**papers[0].__dict__, "abstract": "Sentence. " * 400})
    index.ingest([long_paper], progress=False)
    long_count = index.count()
    index.ingest([papers[0]], progress=False)
    short_chunks = index.count()
    assert long_count > 1
    assert short_chunks < long_count
    ids = index.collection.get()["ids"]
    assert sorted(ids) == [f"{papers[0].paper_id}:{n}" for n in range(short_chunks)]


def test_papers_round_trip_through_the_index(index: PaperIndex, tiny_digest: Path):
    papers = load_digest(tiny_digest)
    index.ingest(papers, progress=False)
    assert list(index.papers().values()) == papers


def test_two_digests_merge_into_one_index(tmp_path: Path, tiny_digest: Path, encoder: Encoder):
    other = tmp_path / "other.jsonl"
    other.write_text(
        '{"title": "Tidal Forecasting with Graph Neural Networks", '
        '"abstract": "Same paper again."}\n'
        '{"title": "A Fourth Paper on Glaciers", "abstract": "Glaciers retreat. Ice thins."}\n'
    )
    pipeline = Pipeline(
        {"index": {"path": tmp_path / "index", "digests": (tiny_digest, other), "progress": False}},
        encoder=encoder,
    )
    pipeline.ensure_index()
    titles = [p.title for p in pipeline.papers.values()]
    assert len(titles) == 4
    assert titles.count("Tidal Forecasting with Graph Neural Networks") == 1


def test_search_returns_the_matching_paper_first(index: PaperIndex, tiny_digest, encoder):
    index.ingest(load_digest(tiny_digest), progress=False)
    hits = index.search(encoder.encode_query("predicting ocean tides at coastal stations"), 3)
    assert hits[0].paper_id == load_digest(tiny_digest)[1].paper_id
    assert hits[0].score > hits[-1].score


def test_a_reader_keeps_its_generation_while_an_ingest_switches(
    tmp_path: Path, tiny_digest: Path, encoder: Encoder
):
    papers = load_digest(tiny_digest)
    writer = PaperIndex(tmp_path / "index", encoder)
    writer.ingest(papers[:2], progress=False)
    reader = PaperIndex(tmp_path / "index", encoder)
    assert len(reader.papers()) == 2
    writer.ingest(papers, progress=False)
    # The reader opened before the switch still reads its generation, whole.
    assert len(reader.papers()) == 2
    assert len(PaperIndex(tmp_path / "index", encoder).papers()) == 3
    writer.ingest([papers[0]], progress=False)  # adds nothing: no new generation
    assert len(reader.papers()) == 2


def test_only_the_live_and_the_replaced_generation_are_kept(index: PaperIndex, tiny_digest: Path):
    papers = load_digest(tiny_digest)
    for end in (1, 2, 3):
        index.ingest(papers[:end], progress=False)
    names = [c.name for c in open_client(index.path).list_collections()]
    assert len(names) == 2
    assert index.collection.name in names


def test_rebuild_embeds_everything_again_into_one_generation(index: PaperIndex, tiny_digest: Path):
    papers = load_digest(tiny_digest)
    first = index.ingest(papers, progress=False)
    rebuilt = index.ingest(papers, progress=False, rebuild=True)
    assert (rebuilt.added, rebuilt.chunks_embedded) == (3, first.chunks_embedded)
    assert [c.name for c in open_client(index.path).list_collections()] == [index.collection.name]
    assert list(index.papers().values()) == papers


def test_reading_a_folder_never_ingested_finds_nothing_and_writes_nothing(
    tmp_path: Path, encoder: Encoder
):
    index = PaperIndex(tmp_path / "absent", encoder)
    assert (
        index.count(),
        index.papers(),
        index.read_chunks(encoder.encode_query("x"), paper_ids=["a"]),
    ) == (
        0,
        {},
        [],
    )
    assert index.search(encoder.encode_query("tides"), 3) == []
    assert not (tmp_path / "absent").exists()


def test_reading_a_papers_chunks_scores_them_as_the_search_does(
    tmp_path: Path, tiny_digest: Path, encoder: Encoder
):
    papers = load_digest(tiny_digest)
    PaperIndex(tmp_path / "index", encoder).ingest(papers, progress=False)
    vector = encoder.encode_query("predicting ocean tides at coastal stations")
    fresh = PaperIndex(tmp_path / "index", encoder)
    hits = {h.chunk_id: h for h in fresh.search(vector, 50)}
    # Without the catalogue the chunks are found by a metadata filter, with it by id.
    by_filter = fresh.read_chunks(vector, paper_ids=[papers[1].paper_id])
    fresh.papers()
    by_id = fresh.read_chunks(vector, paper_ids=[papers[1].paper_id])
    assert sorted((h.chunk_id, h.text) for h in by_filter) == sorted(
        (h.chunk_id, h.text) for h in by_id
    )
    assert {h.paper_id for h in by_id} == {papers[1].paper_id} and by_id[0].text
    for chunk in by_id:
        assert chunk.score == pytest.approx(hits[chunk.chunk_id].score, abs=1e-5)
    # Hits come back with their texts and the scores they had.
    best = max(hits.values(), key=lambda h: h.score)
    (read,) = fresh.read_chunks(vector, hits=[best])
    assert (read.chunk_id, read.score, bool(read.text)) == (best.chunk_id, best.score, True)


def test_the_catalogue_is_read_in_pages(
    tmp_path: Path, tiny_digest: Path, encoder: Encoder, monkeypatch: pytest.MonkeyPatch
):
    # One unpaged read of 50,000 papers exceeded SQLite's limit on statement variables.
    papers = load_digest(tiny_digest)
    PaperIndex(tmp_path / "index", encoder).ingest(papers, progress=False)
    monkeypatch.setattr("rag.ingest.catalogue.PAGE_ROWS", 2)
    reopened = PaperIndex(tmp_path / "index", encoder)
    assert list(reopened.papers().values()) == papers
    assert reopened.ingest(papers, progress=False).unchanged == 3


SEGMENT_DIR = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def vector_folders(path: Path) -> set[str]:
    return {d.name for d in path.iterdir() if d.is_dir() and SEGMENT_DIR.fullmatch(d.name)}


def leftover_generation(path: Path, name: str, encoder: Encoder) -> None:
    """What an ingest killed mid-way leaves: a half-filled generation no pointer names."""
    half = open_client(path).create_collection(name, configuration={"hnsw": {"space": "cosine"}})
    vector = encoder.encode_query("half written").tolist()
    half.add(ids=["x:0"], embeddings=[vector], metadatas=[{"paper_id": "x", "chunk": 0}])


def test_the_next_ingest_removes_leftovers_and_vector_folders_no_collection_uses(
    index: PaperIndex, tiny_digest: Path, encoder: Encoder
):
    papers = load_digest(tiny_digest)
    index.ingest(papers[:1], progress=False)
    index.ingest(papers[:2], progress=False)
    leftover_generation(index.path, "papers.0000deadbeef", encoder)
    held_by_reader = PaperIndex(index.path, encoder)
    held = held_by_reader.generation
    assert len(vector_folders(index.path)) == 3
    index.ingest(papers, progress=False)
    names = {c.name for c in open_client(index.path).list_collections()}
    # Live, the one it replaced (which the reader holds): kept; the leftover: gone.
    assert names == {index.generation, held}
    folders = vector_folders(index.path)
    assert folders <= referenced_segments(index.path) and len(folders) == 2
    held_by_reader.close()
    index.ingest(papers, progress=False)  # nothing new: still tidies, and keeps `held`
    assert {c.name for c in open_client(index.path).list_collections()} == names


def test_an_ingest_that_changes_nothing_still_tidies_unless_a_reader_holds_it(
    index: PaperIndex, tiny_digest: Path, encoder: Encoder
):
    papers = load_digest(tiny_digest)
    index.ingest(papers, progress=False)
    leftover_generation(index.path, "papers.0000deadbeef", encoder)
    leftover_generation(index.path, "papers.0000feedface", encoder)
    reader = ReadLease(index.path, "papers.0000feedface")
    report = PaperIndex(index.path, encoder).ingest(papers, progress=False)
    assert report.chunks_embedded == 0
    names = {c.name for c in open_client(index.path).list_collections()}
    assert names == {index.generation, "papers.0000feedface"}
    reader.release()
    PaperIndex(index.path, encoder).ingest(papers, progress=False)
    assert [c.name for c in open_client(index.path).list_collections()] == [index.generation]
    assert len(vector_folders(index.path)) == 1


def test_a_killed_first_ingest_does_not_stop_the_next(tmp_path: Path, tiny_digest, encoder):
    """The first ingest writes a pointer naming nothing before it fills anything, so what a
    killed one leaves is told apart from an index whose pointer was lost."""
    path = tmp_path / "index"
    open_client(path)
    write_pointer(path, "papers", Pointer(None))
    leftover_generation(path, "papers.0000deadbeef", encoder)
    fresh = PaperIndex(path, encoder)
    assert fresh.papers() == {}
    assert fresh.ingest(load_digest(tiny_digest), progress=False).added == 3
    assert [c.name for c in open_client(path).list_collections()] == [fresh.generation]


def test_a_first_ingest_marks_its_pointer_before_writing(
    tmp_path: Path, tiny_digest: Path, encoder: Encoder, monkeypatch: pytest.MonkeyPatch
):
    seen: list[str] = []
    embed = PaperIndex._embed

    def watched(self: PaperIndex, *args: object, **kwargs: object) -> None:
        seen.append(pointer_path(self.path, "papers").read_text())
        embed(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(PaperIndex, "_embed", watched)
    PaperIndex(tmp_path / "index", encoder).ingest(load_digest(tiny_digest), progress=False)
    assert seen == ['{"live": null, "previous": null}']
    assert (tmp_path / "index" / DATABASE).exists()
