"""The keyword lead: a paper whose BM25 score dwarfs every other's joins the dense leader."""

from __future__ import annotations

import pytest

from rag.search.retrieve import KEYWORD_LEAD, keyword_lead


@pytest.mark.parametrize(
    ("scores", "lead"),
    [
        ({"parrot": 1.0, "dst": 0.39}, "parrot"),  # only it holds the rare word
        ({"a": 1.0, "b": 1.0 / KEYWORD_LEAD}, "a"),  # exactly the margin
        ({"a": 1.0, "b": 0.6}, None),  # a close race: rank fusion decides
        ({"only": 1.0}, "only"),
        ({}, None),
    ],
    ids=["rare-word", "at-the-margin", "close", "single", "none"],
)
def test_the_best_keyword_match_leads_only_by_a_wide_margin(scores, lead):
    ranking = sorted(scores, key=scores.get, reverse=True)
    assert keyword_lead(ranking, scores) == lead


def test_a_paper_only_keyword_search_finds_by_a_wide_margin_is_ranked_first(seed_pipeline):
    retriever = seed_pipeline.view().retriever
    documents = retriever.search("sycophancy in language models?")
    first = documents[0].metadata
    assert "Sycophancy" in seed_pipeline.papers[first["paper_id"]].title
    # Neither meaning alone nor rank fusion alone would put it first: another paper is closer.
    assert first["keyword"] == 1.0
    assert max(d.metadata["dense"] for d in documents) > first["dense"]
