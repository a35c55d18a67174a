"""A question's search text loses its framing; a theme keeps the papers close to the best one."""

from __future__ import annotations

import pytest

from rag.records import Paper, Source
from rag.search.themes import THEME_KEYWORD, THEME_MARGIN, search_text, theme_members

# --- search_text ------------------------------------------------------------------------------


# Each framing rule, with its cases: the framing goes, the subject stays.
FRAMINGS = [
    # Asking whether the digest has something.
    ("Are there papers on tidal forecasting?", "tidal forecasting?"),
    ("Are there any papers about quantum sorting?", "quantum sorting?"),
    ("Are there works on tidal forecasting?", "tidal forecasting?"),
    ("Is there research on sparse lattices?", "sparse lattices?"),
    ("Is there anything on graph neural networks?", "graph neural networks?"),
    ("Have you got something on soil drought?", "soil drought?"),
    ("Have you got anything about soil respiration?", "soil respiration?"),
    ("Do you have any preprints about sparse lattices?", "sparse lattices?"),
    # "Which/what papers" and their verb.
    ("Which papers study neural collapse?", "neural collapse?"),
    ("Which paper tries to forecast tides?", "forecast tides?"),
    ("Which articles involve quantum sorting?", "quantum sorting?"),
    ("What studies deal with soil drought?", "soil drought?"),
    ("What research is there on quantum annealers?", "quantum annealers?"),
    ("what papers is there on soil drought", "soil drought"),
    ("Which papers that involve sparse lattice encodings?", "sparse lattice encodings?"),
    ("which articles looks at coastal tides", "coastal tides"),
    # Requests to list, show, find, give or compare.
    ("List all the papers about robotics agents", "robotics agents"),
    ("list papers about soil drought", "soil drought"),
    ("Show me the papers on speculative decoding", "speculative decoding"),
    ("Find me the studies on quantum sorting", "quantum sorting"),
    ("Give me research about tidal forecasting", "tidal forecasting"),
    ("Compare the papers that fix entropy collapse in RL", "fix entropy collapse in RL"),
    ("compare GRPO and PPO", "GRPO and PPO"),
    ("Contrast the studies on neural collapse", "neural collapse"),
    # Words placing the subject in the digest.
    ("Which papers in the digest are about drought recovery?", "drought recovery?"),
    ("Which papers in this list deal with tide gauges?", "tide gauges?"),
    ("Which papers listed are about tidal forecasting?", "tidal forecasting?"),
    ("Are there papers here that deal with tide gauges?", "tide gauges?"),
    ("Do you have papers in this digest which study soil drought?", "soil drought?"),
    ("Is there research in here on soil drought?", "soil drought?"),
    ("Which entries are listed that try to forecast tides?", "forecast tides?"),
    # Any case, any leading space.
    ("  are there papers on soil drought?", "soil drought?"),
    ("ARE THERE PAPERS ON SOIL DROUGHT?", "SOIL DROUGHT?"),
    ("wHiCh PaPeRs StUdY soil drought", "soil drought"),
    # The plural "are there".
    ("What papers are there on soil drought?", "soil drought?"),
]


@pytest.mark.parametrize(("question", "expected"), FRAMINGS)
def test_framing_is_stripped(question: str, expected: str):
    assert search_text(question) == expected


def test_at_most_three_linking_words_are_stripped():
    assert search_text("Which papers about on is that soil drought") == "that soil drought"


@pytest.mark.parametrize(
    "question",
    [
        "drought",
        "papers",
        "Which papers?",
        "Which papers are there?",
        "Are there papers on tides?",
        "Is there anything on drought?",
        "Which paper studies drought?",
        "Do you have any studies that look at drought?",
        "Find me papers that deal with tides",
        "Give me research on soil",
    ],
    ids=[
        "one-word",
        "the-noun-alone",
        "nothing-after-framing",
        "only-are-there-after-framing",
        "one-word-after-framing",
        "anything-on-one-word",
        "paper-studies-one-word",
        "studies-that-look-at-one-word",
        "papers-that-deal-with-one-word",
        "research-on-one-word",
    ],
)
def test_fewer_than_two_words_left_keeps_the_question_as_asked(question: str):
    assert search_text(question) == question


@pytest.mark.parametrize(
    "question",
    [
        "How quickly do soil microbes respond to drought?",
        "What is neural collapse?",
        "Tell me which papers study soil drought",
        "What researchers study soil drought?",
    ],
    ids=["no-framing", "what-is", "framing-not-at-start", "noun-that-is-not-a-digest-noun"],
)
def test_questions_without_leading_framing_are_unchanged(question: str):
    assert search_text(question) == question


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which works build on diffusion models?", "build on diffusion models?"),
        ("Which studiesof soil drought", "studiesof soil drought"),
        ("Which workshops discuss tides?", "workshops discuss tides?"),
    ],
    ids=["works-build-on", "studiesof", "workshops"],
)
def test_framing_nouns_match_whole_words_only(question: str, expected: str):
    # "Which" alone goes (a linking word), but a word merely starting with a noun stays whole.
    assert search_text(question) == expected


# --- theme_members ----------------------------------------------------------------------------

MIN_RELEVANCE = 0.27


def source(name: str, dense: float, keyword: float = 0.0, rank: int = 1) -> Source:
    paper = Paper(paper_id=name, title=f"Paper {name}", abstract=f"Abstract of {name}.")
    return Source(paper=paper, score=dense, rank=rank, dense=dense, keyword=keyword)


def names(sources: list[Source]) -> list[str]:
    return [s.paper.paper_id for s in sources]


def test_theme_constants():
    assert (THEME_MARGIN, THEME_KEYWORD) == (0.10, 0.6)


def test_no_sources_no_theme():
    assert theme_members([], MIN_RELEVANCE) == []


def test_nothing_relevant_means_no_theme_even_with_strong_keywords():
    sources = [source("a", 0.26, keyword=1.0), source("b", 0.10, keyword=0.9), source("c", -0.2)]
    assert theme_members(sources, MIN_RELEVANCE) == []


def test_members_are_within_the_margin_of_the_best_dense_score():
    sources = [
        source("a", 0.70),
        source("b", 0.65),
        source("c", 0.70 - THEME_MARGIN),
        source("d", 0.59),
        source("e", 0.40),
    ]
    assert names(theme_members(sources, MIN_RELEVANCE)) == ["a", "b", "c"]


def test_the_margin_is_measured_from_the_best_not_the_first():
    sources = [source("a", 0.50, rank=1), source("b", 0.72, rank=2), source("c", 0.63, rank=3)]
    assert names(theme_members(sources, MIN_RELEVANCE)) == ["b", "c"]


def test_members_keep_the_order_they_came_in():
    sources = [source("c", 0.60), source("a", 0.66), source("b", 0.63)]
    assert names(theme_members(sources, MIN_RELEVANCE)) == ["c", "a", "b"]


@pytest.mark.parametrize(
    ("keyword", "joins"),
    [(THEME_KEYWORD, True), (0.95, True), (THEME_KEYWORD - 0.01, False), (0.0, False)],
    ids=["at-threshold", "above", "just-below", "none"],
)
def test_a_low_dense_source_joins_on_keyword_evidence(keyword: float, joins: bool):
    sources = [source("best", 0.80), source("low", 0.35, keyword=keyword)]
    expected = ["best", "low"] if joins else ["best"]
    assert names(theme_members(sources, MIN_RELEVANCE)) == expected


def test_keyword_evidence_does_not_admit_a_source_below_min_relevance():
    sources = [source("best", 0.80), source("low", 0.20, keyword=1.0)]
    assert names(theme_members(sources, MIN_RELEVANCE)) == ["best"]


@pytest.mark.parametrize(
    ("min_relevance", "expected"),
    [
        (0.27, ["a", "b", "c"]),
        (0.30, ["a", "b", "c"]),
        (0.31, ["a", "b"]),
        (0.44, ["a", "b"]),
        (0.45, ["a"]),
        (0.50, ["a"]),
        (0.51, []),
    ],
    ids=["default", "exactly-c", "above-c", "exactly-b", "above-b", "exactly-a", "above-a"],
)
def test_min_relevance_bounds_who_counts(min_relevance: float, expected: list[str]):
    # "c" is far below "a" but holds strong keyword evidence; "b" is within the margin of "a".
    sources = [source("a", 0.50), source("b", 0.44), source("c", 0.30, keyword=0.7)]
    assert names(theme_members(sources, min_relevance)) == expected
