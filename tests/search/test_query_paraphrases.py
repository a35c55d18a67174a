"""The metadata parser on a grid of wordings: templates times synonym lists.

Each row names a class of question (popularity, recency, team size, time, thresholds, counts),
the ways readers open such a question, the ways they phrase its metadata, and what every
combination must yield. Nothing topical is left in any of them, so each must also leave an
empty topic: the catalogue answers them, not a search.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.search.query import parse_question

REFERENCE = dt.date(2025, 12, 2)

SINGULAR_OPENERS = ["Which paper", "What paper", "Which entry", "Which one", "Which article"]
PLURAL_OPENERS = ["Which papers", "Which entries", "What", "List the papers", "Which ones"]

GRID = [
    # (openers, phrasings, expected filter values)
    (
        SINGULAR_OPENERS,
        [
            "has the most upvotes",
            "has the most votes",
            "got the most likes",
            "received the most votes",
            "is the most popular",
            "is the most liked",
            "is the top-voted",
            "is the highest rated",
            "earned the highest number of upvotes",
            "is trending",
        ],
        {"sort": "most_upvoted", "limit": 1, "nth": None},
    ),
    (
        SINGULAR_OPENERS,
        [
            "has the fewest upvotes",
            "got the fewest votes",
            "is the least popular",
            "has the least likes",
            "is the lowest voted",
        ],
        {"sort": "least_upvoted", "limit": 1},
    ),
    (
        SINGULAR_OPENERS,
        [
            "is the newest",
            "is the latest",
            "is the most recent",
            "was posted most recently",
            "is the most recently added",
            "was the last to appear",
            "was the last one to go up",
            "is the freshest",
        ],
        {"sort": "newest", "limit": 1},
    ),
    (
        SINGULAR_OPENERS,
        [
            "is the oldest",
            "is the earliest",
            "was the first to appear",
            "was posted first",
            "is the least recent",
        ],
        {"sort": "oldest", "limit": 1},
    ),
    (
        SINGULAR_OPENERS,
        [
            "is the second most upvoted",
            "is the runner-up by votes",
            "is the second most popular",
            "has the second most likes",
        ],
        {"sort": "most_upvoted", "nth": 2},
    ),
    (
        SINGULAR_OPENERS,
        ["is the second newest", "is the next most recent", "was the second most recently posted"],
        {"sort": "newest", "nth": 2},
    ),
    (
        SINGULAR_OPENERS,
        [
            "has the most authors",
            "has the biggest team",
            "has the largest author list",
            "has the most co-authors",
            "was written by the most people",
        ],
        {"sort": "most_authors", "limit": 1},
    ),
    (
        PLURAL_OPENERS,
        [
            "were written by two people",
            "have exactly two authors",
            "are by a pair of authors",
            "have 2 authors",
            "are two-author papers",
            "were written by just two researchers",
        ],
        {"min_authors": 2, "max_authors": 2},
    ),
    (
        PLURAL_OPENERS,
        [
            "have a single author",
            "were written by one person",
            "are a solo effort",
            "are solo-authored",
            "are by a single researcher",
            "were written by a lone author",
        ],
        {"min_authors": 1, "max_authors": 1},
    ),
    (
        PLURAL_OPENERS,
        [
            "have more than ten authors",
            "have over 10 authors",
            "were written by more than ten people",
            "have at least 11 co-authors",
        ],
        {"min_authors": 11},
    ),
    (
        PLURAL_OPENERS,
        [
            "are from 2023",
            "were published in 2023",
            "went up in 2023",
            "were posted in 2023",
            "came out in 2023",
            "appeared in 2023",
            "were added in 2023",
            "were uploaded in 2023",
            "are dated 2023",
        ],
        {"year": 2023},
    ),
    (
        PLURAL_OPENERS,
        [
            "were posted in the first quarter of 2025",
            "came out in Q1 2025",
            "went up in the first three months of 2025",
            "appeared during the first quarter of 2025",
        ],
        {"since": dt.date(2025, 1, 1), "until": dt.date(2025, 3, 31)},
    ),
    (
        PLURAL_OPENERS,
        [
            "were posted in the second half of 2024",
            "came out in H2 2024",
            "appeared during the last six months of 2024",
        ],
        {"since": dt.date(2024, 7, 1), "until": dt.date(2024, 12, 31)},
    ),
    (
        PLURAL_OPENERS,
        ["are dated March 11", "went up on March 11", "were posted on 11 March"],
        {"month": 3, "day": 11, "year": None, "since": None},
    ),
    (
        PLURAL_OPENERS,
        [
            "have more than 3 upvotes",
            "got over 3 votes",
            "received more than three likes",
            "have at least 4 upvotes",
            "have 4 or more votes",
        ],
        {"min_upvotes": 4},
    ),
    (
        PLURAL_OPENERS,
        [
            "show a vote count",
            "have a vote count",
            "have any upvotes",
            "got some votes",
            "have at least one like",
        ],
        {"min_upvotes": 1},
    ),
    (
        PLURAL_OPENERS,
        [
            "have no date",
            "are missing a date",
            "are undated",
            "have no publication date",
            "are missing their metadata",
        ],
        {"dated": False},
    ),
]

CASES = [
    pytest.param(f"{opener} {phrase}?", expected, id=f"{opener} {phrase}")
    for openers, phrases, expected in GRID
    for opener, phrase in itertools.product(openers, phrases)
]


@pytest.mark.parametrize(("question", "expected"), CASES)
def test_metadata_wording_yields_its_filters(question: str, expected: dict) -> None:
    parsed = parse_question(question, REFERENCE)
    values = {name: getattr(parsed.filters, name) for name in expected}
    assert values == expected
    assert parsed.topic == "", f"searched for {parsed.topic!r}"


COUNT_QUESTIONS = [
    f"{opening} {rest}"
    for opening, rest in itertools.product(
        ["How many papers", "How many entries", "How many articles", "How many items"],
        ["are in the digest?", "are there in total?", "does the list have?", "are listed?"],
    )
] + ["What is the total number of papers?", "How big is the digest?"]


@pytest.mark.parametrize("question", COUNT_QUESTIONS)
def test_questions_about_the_whole_digest_count_it(question: str) -> None:
    parsed = parse_question(question, REFERENCE)
    assert parsed.aggregate == "count"
    assert parsed.topic == ""


@pytest.mark.parametrize(
    "question",
    [
        "What years does the digest cover?",
        "Which years do these papers span?",
        "What time span do the papers come from?",
        "What is the date range of the digest?",
        "Which years are covered?",
    ],
)
def test_questions_about_the_years_covered(question: str) -> None:
    assert parse_question(question, REFERENCE).aggregate == "years"


@pytest.mark.parametrize(
    ("question", "compare", "parts"),
    [
        ("Which came first, EPO or CURE?", "date", ("EPO", "CURE")),
        ("Is the GTR paper older than RiskPO?", "date", ("GTR", "RiskPO")),
        ("EPO vs CURE: which one was posted earlier?", "date", ("EPO", "CURE")),
        ("Does CURE have more upvotes than EPO?", "upvotes", ("CURE", "EPO")),
        ("Which has more authors, CURE or RiskPO?", "authors", ("CURE", "RiskPO")),
        ("Were they posted in the same year?", "date", ()),
    ],
)
def test_comparisons_name_their_field_and_papers(question, compare, parts) -> None:
    parsed = parse_question(question, REFERENCE)
    assert (parsed.compare, parsed.parts) == (compare, parts)


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("Which 2025 papers are about entropy in RL?", "entropy in RL"),
        ("Which entries from 2024 study model collapse?", "model collapse"),
        ("What is the most upvoted paper on sycophancy?", "sycophancy"),
    ],
)
def test_a_subject_beside_the_metadata_is_kept_for_search(question, topic) -> None:
    assert parse_question(question, REFERENCE).topic == topic


@pytest.mark.parametrize(
    ("question", "since", "until"),
    [
        ("Papers before 2025 from the second half of 2024?", dt.date(2024, 7, 1), None),
        ("Papers until March 2025 posted in Q1 2025?", dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
        ("What came out before June 2025 in the first half of 2025?", None, dt.date(2025, 5, 31)),
    ],
)
def test_several_time_phrases_only_narrow_the_range(question, since, until) -> None:
    filters = parse_question(question, REFERENCE).filters
    assert since is None or filters.since == since
    assert until is None or filters.until == until
    assert filters.since is not None and filters.until is not None


FRAGMENTS = sorted({phrase for _, phrases, _ in GRID for phrase in phrases}) + [
    "before 2025",
    "after March 2024",
    "since May 5",
    "in the last 3 months",
    "between 2023 and 2024",
    "dated March 11, whatever the year",
    "or",
    "vs",
    "which came first",
    "more votes than",
    "about entropy",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=6))
def test_any_mix_of_metadata_phrases_parses(fragments: list[str]) -> None:
    parsed = parse_question("Which papers " + " ".join(fragments) + "?", REFERENCE)
    filters = parsed.filters
    if filters.since and filters.until:
        assert isinstance(filters.since, dt.date) and isinstance(filters.until, dt.date)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Papers with 'Neural Collapse' in the title?", {"title_words": "Neural Collapse"}),
        ("Which papers are titled with the word entropy?", {"title_words": "entropy"}),
        ("Any paper whose title mentions \u201cagents\u201d?", {"title_words": "agents"}),
        ("Anything dated on a New Year's Day?", {"month": 1, "day": 1}),
        ("Anything posted on Christmas 2024?", {"since": dt.date(2024, 12, 25)}),
        ("Which paper has just a single vote?", {"min_upvotes": 1, "max_upvotes": 1}),
        ("List the papers in date order", {"sort": "oldest"}),
        ("Papers from spring 2024?", {"since": dt.date(2024, 3, 1), "until": dt.date(2024, 5, 31)}),
        ("Anything older than 2023?", {"until": dt.date(2022, 12, 31)}),
        ("Anything from the last month of 2024?", {"since": dt.date(2024, 12, 1)}),
    ],
)
def test_titles_named_days_and_orders(question: str, expected: dict) -> None:
    parsed = parse_question(question, REFERENCE)
    assert {name: getattr(parsed.filters, name) for name in expected} == expected
    assert parsed.topic == ""


def test_a_vote_total_is_an_aggregate_not_a_field_of_one_paper() -> None:
    assert parse_question("Total upvotes across the whole listing?", REFERENCE).aggregate == "votes"
    parsed = parse_question("How many upvotes did GTR get?", REFERENCE)
    assert (parsed.aggregate, parsed.asks_for) == (None, "upvotes")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many dated papers are not from 2025?", {"not_year": 2025}),
        ("Papers other than 2024 ones?", {"not_year": 2024}),
        ("Anything without an author count?", {"has_authors_count": False}),
        ("Has any paper cracked double digits in upvotes?", {"min_upvotes": 10}),
        ("Anything from this spring?", {"since": dt.date(2025, 3, 1)}),
        ("Papers from last summer?", {"since": dt.date(2025, 6, 1)}),
        ("Papers from last winter?", {"since": dt.date(2024, 12, 1)}),
    ],
)
def test_negations_idioms_and_relative_seasons(question: str, expected: dict) -> None:
    parsed = parse_question(question, REFERENCE)
    assert {name: getattr(parsed.filters, name) for name in expected} == expected
