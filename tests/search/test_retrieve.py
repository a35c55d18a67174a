"""Rank fusion and chunk grouping by hand, then each retrieval mode over the tiny digest."""

from __future__ import annotations

import pytest
from conftest import TINY_DIGEST

from rag import Pipeline
from rag.ingest.embedding import Encoder
from rag.ingest.index import ChunkHit
from rag.records import Source
from rag.search.retrieve import (
    MODES,
    RRF_K,
    HybridRetriever,
    group_by_paper,
    reciprocal_rank_fusion,
    to_sources,
)

# --- reciprocal_rank_fusion -------------------------------------------------------------------


def test_fusion_of_two_rankings_sums_one_over_k_plus_rank():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]])
    assert fused == pytest.approx({"a": 1 / 61 + 1 / 62, "b": 1 / 62, "c": 1 / 63 + 1 / 61})


def test_a_paper_in_one_ranking_only_scores_from_that_ranking_alone():
    fused = reciprocal_rank_fusion([["a", "b"], ["a"]])
    assert fused["b"] == pytest.approx(1 / 62)
    assert fused["a"] == pytest.approx(2 / 61)


def test_swapped_first_places_tie_and_keep_the_order_first_seen():
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "a"]])
    assert fused["a"] == fused["b"] == pytest.approx(1 / 61 + 1 / 62)
    # Retrieval sorts stably, so a tie goes to the paper the first (dense) ranking put first.
    assert list(fused) == ["a", "b"]
    assert sorted(fused, key=fused.__getitem__, reverse=True) == ["a", "b"]


def test_default_k_is_sixty():
    assert RRF_K == 60
    assert reciprocal_rank_fusion([["a"]]) == {"a": pytest.approx(1 / 61)}


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (0, {"a": 1 / 1 + 1 / 3, "b": 1 / 2, "c": 1 / 3 + 1 / 1}),
        (1, {"a": 1 / 2 + 1 / 4, "b": 1 / 3, "c": 1 / 4 + 1 / 2}),
        (60, {"a": 1 / 61 + 1 / 63, "b": 1 / 62, "c": 1 / 63 + 1 / 61}),
    ],
    ids=["k=0", "k=1", "k=60"],
)
def test_k_sets_each_rank_contribution(k: int, expected: dict[str, float]):
    assert reciprocal_rank_fusion([["a", "b", "c"], ["c", "x", "a"]], k=k) == pytest.approx(
        {**expected, "x": 1 / (k + 2)}
    )


def test_a_small_k_lets_one_first_place_beat_two_middling_places():
    # "a" is first in one ranking; "b" is third in both.
    rankings = [["a", "x", "b"], ["y", "z", "b"]]
    small = reciprocal_rank_fusion(rankings, k=0)
    large = reciprocal_rank_fusion(rankings, k=60)
    assert (small["a"], small["b"]) == pytest.approx((1.0, 2 / 3))
    assert small["a"] > small["b"]
    assert (large["a"], large["b"]) == pytest.approx((1 / 61, 2 / 63))
    assert large["a"] < large["b"]


@pytest.mark.parametrize("rankings", [[], [[]], [[], []]], ids=["none", "one-empty", "two-empty"])
def test_nothing_to_fuse_gives_nothing(rankings: list[list[str]]):
    assert reciprocal_rank_fusion(rankings) == {}


def test_one_empty_ranking_leaves_the_other_as_it_was():
    assert reciprocal_rank_fusion([[], ["a", "b"]]) == pytest.approx({"a": 1 / 61, "b": 1 / 62})


# --- group_by_paper ---------------------------------------------------------------------------


def hit(chunk: str, paper: str, score: float) -> ChunkHit:
    return ChunkHit(chunk_id=chunk, paper_id=paper, text=f"text of {chunk}", score=score)


def test_chunks_are_grouped_under_their_paper_best_chunk_first():
    hits = [hit("p1-0", "p1", 0.4), hit("p2-0", "p2", 0.9), hit("p1-1", "p1", 0.7)]
    grouped = group_by_paper(hits)
    assert list(grouped) == ["p2", "p1"]
    assert [h.chunk_id for h in grouped["p1"]] == ["p1-1", "p1-0"]
    assert [h.chunk_id for h in grouped["p2"]] == ["p2-0"]


def test_papers_come_in_order_of_their_best_chunk_not_their_chunk_count():
    hits = [
        hit("a-0", "a", 0.50),
        hit("a-1", "a", 0.49),
        hit("a-2", "a", 0.48),
        hit("b-0", "b", 0.51),
    ]
    assert list(group_by_paper(hits)) == ["b", "a"]


def test_equal_scores_keep_the_order_they_came_in():
    hits = [hit("c-0", "c", 0.5), hit("a-0", "a", 0.5), hit("c-1", "c", 0.5), hit("b-0", "b", 0.5)]
    grouped = group_by_paper(hits)
    assert list(grouped) == ["c", "a", "b"]
    assert [h.chunk_id for h in grouped["c"]] == ["c-0", "c-1"]


def test_grouping_keeps_every_hit_once_and_unchanged():
    hits = [hit("a-0", "a", 0.2), hit("b-0", "b", -0.1), hit("a-1", "a", 0.3)]
    grouped = group_by_paper(hits)
    regrouped = [h for chunks in grouped.values() for h in chunks]
    assert sorted(regrouped, key=lambda h: h.chunk_id) == sorted(hits, key=lambda h: h.chunk_id)


def test_no_hits_no_papers():
    assert group_by_paper([]) == {}


# --- the three retrieval modes over the tiny digest -------------------------------------------

SOIL = "Soil Microbes Respond to Drought Within Days"
TIDES = "Tidal Forecasting with Graph Neural Networks"
LATTICE = "Sparse Lattice Sorting for Quantum Annealers"
DROUGHT_QUESTION = "How quickly do soil microbes respond to drought?"
# Words of one abstract only, which the encoder alone does not rank that abstract first for.
KEYWORD_ONLY = [("onset", SOIL), ("halves", LATTICE), ("forty", TIDES)]


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> dict[str, Pipeline]:
    """One pipeline per retrieval mode, all over one index of the tiny digest."""
    folder = tmp_path_factory.mktemp("modes")
    digest = folder / "tiny.txt"
    digest.write_text(TINY_DIGEST, encoding="utf-8")
    index = {"path": folder / "index", "digests": (digest,), "progress": False}
    return {
        mode: Pipeline({"index": index, "retrieval": {"mode": mode}}, encoder=encoder)
        for mode in MODES
    }


def retrieved(pipeline: Pipeline, question: str) -> list[Source]:
    retriever = pipeline.view().retriever
    return to_sources(retriever.invoke(question), pipeline.papers)


def titles(sources: list[Source]) -> list[str]:
    return [s.paper.title for s in sources]


def test_the_modes_are_hybrid_dense_and_keyword():
    assert MODES == ("hybrid", "dense", "keyword")


@pytest.mark.parametrize("mode", MODES, ids=MODES)
def test_the_settings_mode_reaches_the_retriever(pipelines: dict[str, Pipeline], mode: str):
    retriever = pipelines[mode].view().retriever
    assert isinstance(retriever, HybridRetriever)
    assert retriever.mode == mode


def test_the_environment_variable_sets_the_mode(
    pipelines: dict[str, Pipeline], encoder: Encoder, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("RAG_RETRIEVAL_MODE", "keyword")
    index = pipelines["hybrid"].settings.index
    settings = {"index": {"path": index.path, "digests": index.digests, "progress": False}}
    pipeline = Pipeline(settings, encoder=encoder)
    assert pipeline.view().retriever.mode == "keyword"
    assert titles(retrieved(pipeline, "rewetting")) == [SOIL]


@pytest.mark.parametrize("mode", MODES, ids=MODES)
def test_a_question_about_one_paper_ranks_it_first_in_every_mode(
    pipelines: dict[str, Pipeline], mode: str
):
    documents = pipelines[mode].view().retriever.invoke(DROUGHT_QUESTION)
    sources = to_sources(documents, pipelines[mode].papers)
    assert sources[0].paper.title == SOIL
    assert [s.rank for s in sources] == list(range(1, len(sources) + 1))
    fused = [d.metadata["fused"] for d in documents]
    assert fused == sorted(fused, reverse=True)
    # Every mode reports the best chunk's cosine, the score thresholds are set on.
    assert all(s.score == s.dense for s in sources)
    assert all(-1.0 <= s.dense <= 1.0 for s in sources)
    assert sources[0].dense > 0.6
    assert all(s.dense < 0.2 for s in sources[1:])
    assert sources[0].chunk_texts == (pipelines[mode].papers[sources[0].paper.paper_id].abstract,)


def test_dense_mode_ranks_every_paper_by_cosine_alone(pipelines: dict[str, Pipeline]):
    documents = pipelines["dense"].view().retriever.invoke(DROUGHT_QUESTION)
    sources = to_sources(documents, pipelines["dense"].papers)
    assert titles(sources) == [SOIL, TIDES, LATTICE]
    assert [s.dense for s in sources] == sorted((s.dense for s in sources), reverse=True)
    assert [s.keyword for s in sources] == [0.0, 0.0, 0.0]
    assert [d.metadata["fused"] for d in documents] == pytest.approx([1 / 61, 1 / 62, 1 / 63])


def test_keyword_mode_returns_only_papers_sharing_a_word(pipelines: dict[str, Pipeline]):
    sources = retrieved(pipelines["keyword"], DROUGHT_QUESTION)
    assert titles(sources) == [SOIL]
    assert sources[0].keyword == 1.0


def test_keyword_mode_finds_nothing_for_words_no_abstract_uses(pipelines: dict[str, Pipeline]):
    assert retrieved(pipelines["keyword"], "photosynthesis chloroplast") == []


def test_hybrid_mode_keeps_every_paper_and_scores_keywords_against_the_best(
    pipelines: dict[str, Pipeline],
):
    documents = pipelines["hybrid"].view().retriever.invoke(DROUGHT_QUESTION)
    sources = to_sources(documents, pipelines["hybrid"].papers)
    assert titles(sources) == [SOIL, TIDES, LATTICE]
    assert [s.keyword for s in sources] == [1.0, 0.0, 0.0]
    # First in both rankings: at least both first places' share.
    assert documents[0].metadata["fused"] >= 2 / 61 - 1e-12
    # The others are in the dense ranking only, second and third.
    assert [d.metadata["fused"] for d in documents[1:]] == pytest.approx([1 / 62, 1 / 63])


@pytest.mark.parametrize("mode", ["hybrid", "keyword"], ids=["hybrid", "keyword"])
@pytest.mark.parametrize(("word", "title"), KEYWORD_ONLY, ids=[w for w, _ in KEYWORD_ONLY])
def test_a_rare_exact_word_finds_its_paper(
    pipelines: dict[str, Pipeline], mode: str, word: str, title: str
):
    sources = retrieved(pipelines[mode], word)
    assert sources[0].paper.title == title
    assert sources[0].keyword == 1.0
    assert [s.keyword for s in sources[1:]] == [0.0] * (len(sources) - 1)
    assert len(sources) == (1 if mode == "keyword" else 3)


@pytest.mark.parametrize(("word", "title"), KEYWORD_ONLY, ids=[w for w, _ in KEYWORD_ONLY])
def test_dense_mode_alone_misses_the_rare_exact_word(
    pipelines: dict[str, Pipeline], word: str, title: str
):
    """What makes these words keyword-only: the encoder ranks another paper first."""
    sources = retrieved(pipelines["dense"], word)
    assert sources[0].paper.title != title
    assert all(s.keyword == 0.0 for s in sources)


@pytest.mark.parametrize("mode", MODES, ids=MODES)
def test_search_takes_k_and_allowed_papers(pipelines: dict[str, Pipeline], mode: str):
    retriever = pipelines[mode].view().retriever
    papers = pipelines[mode].papers
    assert [papers[d.metadata["paper_id"]].title for d in retriever.search("rewetting", k=1)] == [
        SOIL
    ]
    tides = next(pid for pid, p in papers.items() if p.title == TIDES)
    allowed = retriever.search(DROUGHT_QUESTION, allowed={tides})
    # Keyword search finds no drought words in the tides abstract, so keyword mode finds nothing.
    assert [d.metadata["paper_id"] for d in allowed] == ([] if mode == "keyword" else [tides])
