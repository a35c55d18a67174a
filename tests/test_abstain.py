"""Questions the digest cannot answer: names, unmentioned names, figures no abstract states."""

from __future__ import annotations

from rag.abstain import asked_quantity, missing_detail, unmentioned_names
from rag.records import Paper, Source
from rag.texts import FIGURE_NOT_GIVEN, NO_AUTHOR_NAMES

STEER = Paper(
    "s",
    "Rethinking Entropy Interventions in RLVR",
    "We introduce STEER, a reweighting scheme. STEER improves accuracy by 4 points on six "
    "math benchmarks. Training stays stable.",
)
SOURCES = [Source(paper=STEER, score=0.6, rank=1)]


def test_author_names_and_affiliations_are_not_in_a_digest():
    assert missing_detail("Who is the first author of STEER?", SOURCES) == NO_AUTHOR_NAMES
    assert missing_detail("Which university is behind STEER?", SOURCES) == NO_AUTHOR_NAMES
    assert missing_detail("How many authors wrote STEER?", SOURCES) is None


def test_a_figure_needs_a_sentence_with_a_number_and_the_asked_quantity():
    assert asked_quantity("How many GPU hours did STEER need?") == ["gpu", "hour"]
    assert missing_detail("How many GPU hours did STEER need?", SOURCES) == FIGURE_NOT_GIVEN
    assert missing_detail("How much accuracy does STEER gain?", SOURCES) is None
    assert asked_quantity("How much did it improve?") == []


def test_a_named_benchmark_the_paper_never_mentions_means_no_answer():
    assert unmentioned_names("What does STEER score on GSM8K?", SOURCES) == ["GSM8K"]
    assert missing_detail("What does STEER score on GSM8K?", SOURCES).endswith("GSM8K.")
    assert unmentioned_names("How does STEER keep training stable?", SOURCES) == []
    assert unmentioned_names("Why do LLMs and AI agents collapse?", SOURCES) == []


def test_a_number_about_something_else_does_not_state_the_figure():
    paper = Paper(
        "b",
        "BehaveGPT",
        "BehaveGPT models user behavior at scale. It achieves more than a 10% improvement in "
        "recall, showing it can predict user behavior.",
    )
    sources = [Source(paper=paper, score=0.6, rank=1)]
    assert missing_detail("How many users were in its dataset?", sources) == FIGURE_NOT_GIVEN
    assert missing_detail("How much did recall improve?", sources) is None
