"""Generated question sets: answerable by one abstract, not by the title, plus distractors."""

from __future__ import annotations

import pytest
from conftest import SEED

from rag.errors import OptionError
from rag.eval.generate import MAX_TITLE_OVERLAP, generate_questions, plainer, title_overlap
from rag.ingest.digest import load_digest


def test_generated_questions_point_at_their_source_paper():
    papers = {p.title: p for p in load_digest(SEED)}
    rows = generate_questions(list(papers.values()), 12, seed=3)
    answerable = [r for r in rows if r["type"] == "single"]
    assert len(answerable) == 12
    assert len({r["reference_titles"][0] for r in answerable}) == 12
    for row in answerable:
        paper = papers[row["reference_titles"][0]]
        assert row["reference"] in paper.abstract
        assert row["user_input"].startswith("Which paper reports that ")
        assert title_overlap(row["reference"], paper.title) <= MAX_TITLE_OVERLAP


def test_distractors_are_unanswerable_and_a_quarter_of_the_set():
    rows = generate_questions(load_digest(SEED), 12, seed=3)
    distractors = [r for r in rows if r["type"] == "unanswerable"]
    assert len(distractors) == 3
    assert all(r["reference_titles"] == [] for r in distractors)


def test_same_seed_same_questions():
    papers = load_digest(SEED)
    assert generate_questions(papers, 5, seed=7) == generate_questions(papers, 5, seed=7)
    assert generate_questions(papers, 5, seed=7) != generate_questions(papers, 5, seed=8)


def test_plainer_rewords_without_breaking_acronyms():
    assert plainer("We demonstrate a novel method.") == "the authors show a new method"
    assert plainer("GTR significantly improves success.") == "GTR substantially improves success"


@pytest.mark.parametrize("count", [0, -5, True, 2.5])
def test_a_count_below_one_or_not_whole_is_refused(count: object):
    """Before, -5 wrote a set of one distractor and no question to measure."""
    with pytest.raises(OptionError) as error:
        generate_questions(load_digest(SEED), count)  # type: ignore[arg-type]
    assert str(error.value) == (
        f"the number of questions to generate must be 1 or more, got {count!r}"
    )
