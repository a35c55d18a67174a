"""The catalogue and BM25 index are kept per generation, reused on restart, and pruned."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np

from rag import Pipeline
from rag.ingest.digest import load_digest
from rag.ingest.embedding import Encoder
from rag.ingest.index import PaperIndex
from rag.search.keyword import KeywordIndex


def test_a_restart_reads_the_catalogue_and_bm25_kept_beside_the_generation(
    tmp_path: Path, tiny_digest: Path, encoder: Encoder
):
    settings = {"index": {"path": tmp_path / "index", "digests": (tiny_digest,), "progress": False}}
    first = Pipeline(settings, encoder=encoder)
    first.ensure_index()
    built = first.view().keyword.scores("tides along the coast")
    place = first.index.derived_folder()
    assert place is not None and (place / "catalogue.json").is_file()
    assert (place / "bm25" / "paper_ids.json").is_file()

    reopened = {"index": {"path": tmp_path / "index", "digests": (), "progress": False}}
    again = Pipeline(reopened, encoder=encoder)
    assert list(again.papers.values()) == list(first.papers.values())
    np.testing.assert_allclose(again.view().keyword.scores("tides along the coast"), built)


def test_damaged_derived_files_are_computed_again(
    tmp_path: Path, tiny_digest: Path, encoder: Encoder
):
    index = PaperIndex(tmp_path / "index", encoder)
    index.ingest(load_digest(tiny_digest), progress=False)
    papers = list(index.papers().values())
    place = index.derived_folder()
    assert place is not None
    fresh = KeywordIndex.cached(papers, place / "bm25").scores("graph neural networks")

    (place / "catalogue.json").write_text("{not json")
    for kept in (place / "bm25").glob("*.npy"):
        kept.write_bytes(b"damaged")
    reopened = PaperIndex(tmp_path / "index", encoder)
    assert list(reopened.papers().values()) == papers
    np.testing.assert_allclose(
        KeywordIndex.cached(papers, place / "bm25").scores("graph neural networks"), fresh
    )
    # ...and repaired on disk for the next start.
    repaired = KeywordIndex(papers, built=bm25s.BM25.load(place / "bm25", show_progress=False))
    np.testing.assert_allclose(repaired.scores("graph neural networks"), fresh)
    assert (place / "catalogue.json").read_text().startswith("[")


def test_only_live_and_previous_generations_keep_derived_data(
    tmp_path: Path, tiny_digest: Path, encoder: Encoder
):
    papers = load_digest(tiny_digest)
    index = PaperIndex(tmp_path / "index", encoder)
    for end in (1, 2, 3):
        index.ingest(papers[:end], progress=False)
        index.papers()
    kept = sorted(p.name for p in (tmp_path / "index" / "derived").iterdir())
    assert len(kept) == 2
    assert index.collection.name in kept


def test_the_kept_catalogue_is_what_a_restart_reads(
    tmp_path: Path, tiny_digest: Path, encoder: Encoder
):
    index = PaperIndex(tmp_path / "index", encoder)
    index.ingest(load_digest(tiny_digest), progress=False)
    index.papers()
    place = index.derived_folder()
    assert place is not None
    kept = json.loads((place / "catalogue.json").read_text())
    kept[0]["title"] = "Read from the kept catalogue"
    (place / "catalogue.json").write_text(json.dumps(kept))
    titles = [p.title for p in PaperIndex(tmp_path / "index", encoder).papers().values()]
    assert "Read from the kept catalogue" in titles
