"""Metadata questions are parsed into filters, sorts and a topic; filters select from records."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import SEED, TODAY

from rag.ingest.digest import load_digest
from rag.records import Paper
from rag.search.filters import QueryFilters, explicit_filters, filter_papers
from rag.search.query import ParsedQuestion, parse_question

D = dt.date
F = QueryFilters  # short, for the table of parsed filters
REFERENCE = D(2025, 12, 2)  # the seed digest's newest paper
ORGANIZATIONS = ["NewMind AI"]


def parse(question: str, reference: dt.date = REFERENCE) -> ParsedQuestion:
    return parse_question(question, reference, ORGANIZATIONS)


@pytest.fixture(scope="module")
def seed() -> list[Paper]:
    return load_digest(SEED, today=TODAY)


def titles(papers: list[Paper]) -> list[str]:
    return [p.title.split(":")[0] for p in papers]


@pytest.mark.parametrize(
    ("question", "filters", "topic", "listing"),
    [
        ("Which papers were published in 2024?", F(year=2024), "", True),
        ("papers published since March", F(since=D(2025, 3, 1)), "", True),
        ("What is the oldest paper?", F(sort="oldest", limit=1), "", False),
        ("the three most upvoted papers", F(sort="most_upvoted", limit=3), "", True),
        ("papers with more than 3 upvotes", F(min_upvotes=4), "", True),
        ("papers with at least 3 upvotes", F(min_upvotes=3), "", True),
        ("Which papers have any upvotes?", F(min_upvotes=1), "", True),
        ("papers with 2 upvotes", F(min_upvotes=2, max_upvotes=2), "", True),
        ("papers with no upvotes", F(max_upvotes=0), "", True),
        ("papers with fewer than 2 upvotes", F(max_upvotes=1), "", True),
        ("Which paper has the most upvotes?", F(sort="most_upvoted", limit=1), "", False),
        ("the least upvoted paper", F(sort="least_upvoted", limit=1), "", False),
        ("Which papers have the most authors?", F(sort="most_authors"), "", True),
        ("Which paper has the fewest authors?", F(sort="fewest_authors", limit=1), "", False),
        ("Give me the 5 newest papers", F(sort="newest", limit=5), "", True),
        ("What has NewMind AI published?", F(organization="NewMind AI"), "", True),
        ("papers from newmindai", F(organization="NewMind AI"), "", True),
        ("papers by a company", F(has_organization=True), "", True),
        ("papers before 2024", F(until=D(2023, 12, 31)), "", True),
        ("papers after March 2025", F(since=D(2025, 4, 1)), "", True),
        (
            "papers between 2023 and 2024 on neural collapse",
            F(since=D(2023, 1, 1), until=D(2024, 12, 31)),
            "neural collapse",
            True,
        ),
        ("Papers in May 2024", F(since=D(2024, 5, 1), until=D(2024, 5, 31)), "", True),
        ("papers from the last 6 months", F(since=D(2025, 6, 2)), "", True),
        ("papers from last year", F(year=2024), "", True),
        (
            "Of the papers from 2024, which is the oldest?",
            F(year=2024, sort="oldest", limit=1),
            "",
            False,
        ),
        (
            "What is the most popular paper on neural collapse?",
            F(sort="most_upvoted", limit=1),
            "neural collapse",
            False,
        ),
        ("List the most recent papers on entropy", F(sort="newest"), "entropy", True),
    ],
)
def test_metadata_phrases_become_filters(
    question: str, filters: QueryFilters, topic: str, listing: bool
):
    parsed = parse(question)
    assert parsed.filters == filters
    assert parsed.topic == topic
    assert parsed.is_listing is listing
    assert parsed.asks_for is None


def test_a_year_filter_leaves_the_topic_to_retrieve():
    parsed = parse("Which 2025 papers are about entropy in reinforcement learning?")
    assert parsed.filters == QueryFilters(year=2025)
    assert "entropy" in parsed.topic and "reinforcement learning" in parsed.topic
    assert "2025" not in parsed.topic and "papers" not in parsed.topic
    assert parsed.is_listing


def test_a_month_without_a_year_is_the_latest_one_not_after_the_reference():
    assert parse("since March", dt.date(2025, 2, 10)).filters.since == dt.date(2024, 3, 1)
    assert parse("since March", dt.date(2025, 3, 1)).filters.since == dt.date(2025, 3, 1)
    assert parse("papers before March 5th, 2025").filters.until == D(2025, 3, 4)


@pytest.mark.parametrize(
    ("question", "field", "topic"),
    [
        (
            "How many authors wrote the paper on the edge-of-reach problem?",
            "authors",
            "edge-of-reach problem",
        ),
        ("When was the GTR paper published?", "date", "GTR"),
        ("What year was the GTR paper published?", "date", "GTR"),
        ("How many upvotes does the GTR paper have?", "upvotes", "GTR"),
        ("Who published the Parrot benchmark?", "organization", "Parrot benchmark"),
        ("Which organisation wrote Parrot?", "organization", "Parrot"),
    ],
)
def test_questions_about_one_field_name_it(question: str, field: str, topic: str):
    parsed = parse(question)
    assert parsed.asks_for == field
    assert parsed.topic == topic
    assert parsed.filters.is_empty()
    assert not parsed.is_listing


@pytest.mark.parametrize(
    "question",
    [
        "How does GTR prevent thought collapse?",
        "Is Qwen-2.5 better than GPT-4.1?",
        "Is GPT-2024 or v2025.1 better?",
        "Is the 2008 financial crisis covered?",
        "Which papers may help with entropy collapse?",
        "What do papers about majority votes find?",
    ],
)
def test_questions_without_metadata_are_left_alone(question: str):
    parsed = parse(question)
    assert parsed.filters.is_empty()
    assert parsed.asks_for is None
    assert parsed.topic == question


def test_filters_select_from_the_seed_digest(seed: list[Paper]):
    assert titles(filter_papers(seed, QueryFilters(year=2023, sort="oldest"))) == [
        "Neural Collapse in Deep Linear Networks",
        "Playing repeated games with Large Language Models",
        "Last Switch Dependent Bandits with Monotone Payoff Functions",
        "Beyond Vanilla Variational Autoencoders",
        "Large Content And Behavior Models To Understand, Simulate, And Optimize Content And "
        "Behavior",
        "Conceptualizing Suicidal Behavior",
    ]
    assert titles(filter_papers(seed, QueryFilters(sort="oldest", limit=1))) == [
        "Early warning signals"
    ]
    # Parrot and The Entropy Mechanism tie on 4 upvotes: the tie goes by title.
    assert titles(filter_papers(seed, QueryFilters(sort="most_upvoted", limit=3))) == [
        "Entropy-Guided Attention for Private LLMs",
        "Parrot",
        "The Entropy Mechanism of Reinforcement Learning for Reasoning Language Models",
    ]
    assert titles(filter_papers(seed, QueryFilters(organization="newmind ai"))) == ["Parrot"]
    assert titles(filter_papers(seed, QueryFilters(sort="most_authors", limit=1))) == [
        "The Entropy Mechanism of Reinforcement Learning for Reasoning Language Models"
    ]
    assert titles(filter_papers(seed, QueryFilters(sort="newest", limit=2))) == [
        "When AI Takes the Couch",
        "Parrot",
    ]
    assert len(filter_papers(seed, QueryFilters(year=2024))) == 11
    assert len(filter_papers(seed, QueryFilters(year=2025))) == 21
    assert len(filter_papers(seed, QueryFilters(min_upvotes=4))) == 3
    assert len(filter_papers(seed, QueryFilters(year=2025, min_upvotes=1))) == 8
    assert len(filter_papers(seed, QueryFilters(has_organization=False))) == 40


def test_undated_papers_sort_last_and_unsorted_order_is_kept(seed: list[Paper]):
    assert filter_papers(seed[::-1], QueryFilters()) == seed[::-1]
    undated = [p for p in seed if p.published is None]
    assert len(undated) == 3
    assert not any(QueryFilters(until=dt.date(2099, 1, 1)).matches(p) for p in undated)
    assert filter_papers(seed, QueryFilters(sort="newest"))[-3:] == sorted(
        undated, key=lambda p: p.title.casefold()
    )


def test_parsed_questions_select_the_expected_papers(seed: list[Paper]):
    parsed = parse_question("What is the most upvoted paper?", REFERENCE, ORGANIZATIONS)
    assert titles(filter_papers(seed, parsed.filters)) == [
        "Entropy-Guided Attention for Private LLMs"
    ]
    parsed = parse_question("papers published since November", REFERENCE, ORGANIZATIONS)
    assert titles(filter_papers(seed, parsed.filters)) == ["Parrot", "When AI Takes the Couch"]


def test_chroma_where_combines_filters_with_and():
    assert QueryFilters().chroma_where() is None
    assert QueryFilters(sort="newest", limit=3).chroma_where() is None
    assert QueryFilters(year=2024).chroma_where() == {"year": {"$eq": 2024}}
    since, until = dt.date(2025, 3, 1), dt.date(2025, 3, 31)
    assert QueryFilters(
        since=since, until=until, min_upvotes=2, organization="NewMind AI"
    ).chroma_where() == {
        "$and": [
            {"published_ordinal": {"$gte": since.toordinal()}},
            {"published_ordinal": {"$lte": until.toordinal()}},
            {"upvotes": {"$gte": 2}},
            {"organization": {"$eq": "NewMind AI"}},
        ]
    }
    assert QueryFilters(max_upvotes=0, has_organization=False).chroma_where() == {
        "$and": [{"upvotes": {"$lte": 0}}, {"authors_count": {"$gte": 0}}]
    }
    # Chroma cannot test that a key exists, so this one is left to `matches`.
    assert QueryFilters(has_organization=True).chroma_where() is None


def test_describe_gives_one_chip_per_constraint():
    filters = QueryFilters(
        year=2024,
        since=dt.date(2025, 3, 1),
        min_upvotes=4,
        max_upvotes=9,
        organization="NewMind AI",
        has_organization=True,
        sort="most_upvoted",
        limit=1,
    )
    assert filters.describe() == [
        "year: 2024",
        "since 2025-03-01",
        "≥ 4 upvotes",
        "≤ 9 upvotes",
        "organisation: NewMind AI",
        "with an organisation",
        "sorted: most upvoted",
        "top 1",
    ]
    assert QueryFilters().describe() == []
    assert QueryFilters(until=dt.date(2023, 12, 31)).describe() == ["until 2023-12-31"]


def test_merged_lets_explicit_values_win():
    parsed = QueryFilters(year=2024, sort="oldest", limit=1)
    merged = parsed.merged(QueryFilters(year=2025, min_upvotes=2))
    assert merged == QueryFilters(year=2025, min_upvotes=2, sort="oldest", limit=1)
    assert parsed.merged(QueryFilters()) == parsed


def test_explicit_filters_accept_dates_and_iso_strings():
    assert explicit_filters() == QueryFilters()
    assert explicit_filters(
        year="2024", since="2024-03-01", until=dt.date(2024, 6, 30), min_upvotes=1.0
    ) == QueryFilters(
        year=2024, since=dt.date(2024, 3, 1), until=dt.date(2024, 6, 30), min_upvotes=1
    )
    assert explicit_filters(organization="  NewMind AI ", since="") == QueryFilters(
        organization="NewMind AI"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"year": 1850}, "year must be between 1990 and 2099"),
        ({"year": "last"}, "year must be a whole number"),
        ({"since": "March"}, "since must be a date such as 2025-03-01"),
        ({"since": "2025-03-01", "until": "2025-02-01"}, "must not be after until"),
        ({"min_upvotes": -1}, "min_upvotes must be a whole number of at least 0"),
        ({"min_upvotes": True}, "min_upvotes must be a whole number"),
        ({"min_upvotes": 5, "max_upvotes": 2}, "must not exceed max_upvotes"),
        ({"organization": 3}, "organization must be text"),
    ],
)
def test_explicit_filters_reject_bad_values(arguments: dict, message: str):
    with pytest.raises(ValueError, match=message):
        explicit_filters(**arguments)


def test_an_unknown_sort_is_rejected():
    with pytest.raises(ValueError, match="sort must be one of"):
        QueryFilters(sort="alphabetical")


@pytest.mark.parametrize(
    ("question", "chips"),
    [
        ("Is any paper written by a single author?", ["authors: 1"]),
        ("Which papers have more than 10 authors?", ["≥ 11 authors"]),
        ("Which papers in the digest have no publication date?", ["undated"]),
        (
            "Which paper is credited to an organisation rather than a list of authors?",
            ["with an organisation"],
        ),
    ],
)
def test_authors_counts_dates_and_organisations_become_filters(question, chips):
    parsed = parse_question(question, dt.date(2025, 12, 2), ["NewMind AI"])
    assert parsed.filters.describe() == chips
    assert parsed.topic == ""
    assert parsed.asks_for is None


def test_author_and_date_filters_select_the_seed_papers():
    papers = load_digest(SEED)
    single = filter_papers(papers, QueryFilters(min_authors=1, max_authors=1))
    undated = filter_papers(papers, QueryFilters(dated=False))
    assert [p.title[:15] for p in single] == ["The Policy Clif"]
    assert sorted(p.title[:20] for p in undated) == [
        "AI Agent Behavioral ",
        "Detecting Data Conta",
        "Evolving Language Mo",
    ]


OTHER_ORGANIZATIONS = ["AI at Meta", "Adobe Research", "NewMind AI"]


@pytest.mark.parametrize(
    ("question", "organization"),
    [
        ("Anything from Meta in here?", "AI at Meta"),
        ("Is anything in the listing credited to Meta?", "AI at Meta"),
        ("What did Adobe put out?", "Adobe Research"),
        ("any meta-analysis papers?", None),  # a word, not the company's name
        ("papers on meta learning", None),  # not written as a name
        ("Which papers did the research lab publish?", None),  # words every lab has
    ],
)
def test_an_organisation_is_named_by_a_word_of_its_name_only_it_has(
    question: str, organization: str | None
):
    parsed = parse_question(question, dt.date(2026, 6, 1), OTHER_ORGANIZATIONS)
    assert parsed.filters.organization == organization


@pytest.mark.parametrize(
    ("question", "count"),
    [
        ("Which ones were written by a team of three?", 3),
        ("papers by a group of exactly four", 4),
        ("most popular paper in this batch?", None),
    ],
)
def test_a_team_of_n_is_an_authors_count(question: str, count: int | None):
    parsed = parse(question)
    assert (parsed.filters.min_authors, parsed.filters.max_authors) == (count, count)
    assert parsed.topic == ""
