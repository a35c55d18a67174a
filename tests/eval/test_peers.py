"""Peer configurations: the tutorial baseline and BM25 answer through the same composer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from rag import Pipeline
from rag.errors import QuestionError
from rag.eval.peers import PEER_NAMES, BaselinePipeline, BM25Pipeline, make_peer
from rag.ingest.embedding import Encoder

EDGE_OF_REACH = "What is the edge-of-reach problem in offline model-based reinforcement learning?"
EDGE_OF_REACH_TITLE = "The Edge-of-Reach Problem in Offline Model-Based Reinforcement Learning"


class CountingEncoder:
    """Counts texts embedded through `encode` (what Chroma calls); delegates the rest."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.embedded = 0

    def encode(self, texts: Any, *args: Any, **kwargs: Any) -> Any:
        self.embedded += len(texts)
        return self.inner.encode(texts, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def peers(seed_pipeline: Pipeline) -> dict[str, Any]:
    return {name: make_peer(name, seed_pipeline) for name in PEER_NAMES}


@pytest.mark.parametrize("name", PEER_NAMES)
def test_peer_cites_the_paper_asked_about_first(peers: dict[str, Any], name: str) -> None:
    answer = peers[name].ask(EDGE_OF_REACH)
    assert not answer.abstained
    assert answer.citations[0].title == EDGE_OF_REACH_TITLE
    numbers = {c.number for c in answer.citations}
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)} <= numbers


@pytest.mark.parametrize("name", PEER_NAMES)
def test_peer_rejects_an_empty_question(peers: dict[str, Any], name: str) -> None:
    with pytest.raises(QuestionError):
        peers[name].ask("   ")


def test_baseline_chunks_fit_the_tutorial_splitter(peers: dict[str, Any]) -> None:
    chunks = peers["baseline"].chunks()
    assert chunks and all(len(c.page_content) <= 1000 for c in chunks)


def test_baseline_sources_follow_the_top_four_chunks(
    peers: dict[str, Any], encoder: Encoder
) -> None:
    baseline: BaselinePipeline = peers["baseline"]
    question = "How do language models behave in repeated games?"
    answer = baseline.ask(question)
    hits = baseline.search(encoder.encode_query(question))
    assert 0 < len(hits) <= 4
    first_seen = list(dict.fromkeys(pid for pid, _, _ in hits))
    assert [s.paper.paper_id for s in answer.sources] == first_seen
    assert sum(len(s.chunk_texts) for s in answer.sources) == len(hits)
    assert [s.rank for s in answer.sources] == list(range(1, len(first_seen) + 1))
    # A paper's score is its best chunk's cosine, so first appearance is also best first.
    scores = [s.score for s in answer.sources]
    assert scores == sorted(scores, reverse=True) and scores[0] <= 1.0


def test_baseline_reuses_its_stored_collection(
    seed_pipeline: Pipeline, encoder: Encoder, tmp_path: Path
) -> None:
    papers = dict(list(seed_pipeline.papers.items())[:6])
    settings = seed_pipeline.settings

    def build(subset: dict) -> tuple[BaselinePipeline, CountingEncoder]:
        counting = CountingEncoder(encoder)
        peer = BaselinePipeline(subset, counting, settings, path=tmp_path)  # type: ignore[arg-type]
        peer.ensure_built()
        return peer, counting

    first, first_counter = build(papers)
    stored = first.collection.count()
    assert first.rebuilt and first_counter.embedded == stored > 0
    again, again_counter = build(papers)
    assert not again.rebuilt and again_counter.embedded == 0
    assert again.collection.count() == stored
    # A different paper set no longer matches the stored fingerprint.
    fewer, _ = build(dict(list(papers.items())[:5]))
    assert fewer.rebuilt and 0 < fewer.collection.count() < stored


def test_bm25_abstains_when_no_word_occurs(peers: dict[str, Any]) -> None:
    answer = peers["bm25"].ask("zxqv wobble frumious")
    assert answer.abstained and not answer.citations and not answer.sources


def test_bm25_scores_are_relative_to_the_best_paper(
    peers: dict[str, Any], seed_pipeline: Pipeline
) -> None:
    bm25: BM25Pipeline = peers["bm25"]
    sources = bm25.ask(EDGE_OF_REACH).sources
    assert sources[0].score == 1.0
    assert all(0.0 < s.score <= 1.0 for s in sources)
    assert len(sources) <= seed_pipeline.settings.retrieval.k


def test_make_peer_names_the_allowed_peers(seed_pipeline: Pipeline) -> None:
    with pytest.raises(ValueError, match="baseline.*bm25"):
        make_peer("nope", seed_pipeline)
