"""Synthetic scale corpora: reproducible, labelled, and readable as a digest."""

from __future__ import annotations

from pathlib import Path

from rag.bench.synthetic import LABEL, ORGANIZATION, sentence_pool, write_synthetic_digest
from rag.config import bundled_digests
from rag.ingest.digest import load_digests


def test_same_seed_same_corpus_and_every_paper_is_labelled(tmp_path: Path) -> None:
    seed = load_digests(bundled_digests())
    first = write_synthetic_digest(seed, 300, tmp_path / "a.jsonl", seed=7)
    second = write_synthetic_digest(seed, 300, tmp_path / "b.jsonl", seed=7)
    other = write_synthetic_digest(seed, 300, tmp_path / "c.jsonl", seed=8)
    assert first.read_bytes() == second.read_bytes() != other.read_bytes()
    papers = load_digests([first])
    assert len(papers) == 300 and len({p.paper_id for p in papers}) == 300
    assert all(p.title.startswith(LABEL) and p.organization == ORGANIZATION for p in papers)
    sentences, _ = sentence_pool(seed)
    pool = set(sentences)
    # Abstracts are recombined real sentences, not invented text.
    assert all(any(s in p.abstract for s in pool) for p in papers[:20])
    assert not list(tmp_path.glob("*.partial"))
