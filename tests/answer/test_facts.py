"""Metadata answers come from the records: leads name the filters, every paper is cited."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import SEED, TODAY

from rag.answer import facts
from rag.ingest.digest import load_digest
from rag.records import Paper
from rag.search.filters import QueryFilters, filter_papers
from rag.search.query import ParsedQuestion, parse_question

REFERENCE = dt.date(2025, 12, 2)


def paper(
    title: str,
    published: dt.date | None,
    upvotes: int = 0,
    authors: int | None = 3,
    organization: str | None = None,
    inferred: bool = False,
) -> Paper:
    return Paper(
        paper_id=re.sub(r"\W+", "-", title.lower()),
        title=title,
        abstract=f"{title} is studied here. A second sentence follows it.",
        authors_count=authors,
        organization=organization,
        published=published,
        year_inferred=inferred,
        upvotes=upvotes,
    )


BANDITS = paper("Last Switch Bandits", dt.date(2023, 6, 1), upvotes=4, authors=5)
GAMES = paper("Playing Repeated Games", dt.date(2023, 5, 26), upvotes=1, authors=1)
LATTICE = paper("Sparse Lattice Sorting", dt.date(2023, 1, 1))
PARROT = paper("Parrot: A Sycophancy Benchmark", dt.date(2025, 11, 21), 4, None, "NewMind AI", True)
UNDATED = paper("AI Agent Behavioral Science", None, authors=None)


def ask(question: str, filters: QueryFilters | None = None, topic: str = "") -> ParsedQuestion:
    parsed = parse_question(question, REFERENCE, ["NewMind AI"])
    if filters is None:
        return parsed
    return ParsedQuestion(question, topic, filters, parsed.asks_for, parsed.is_listing)


def test_a_listing_names_the_filter_and_cites_each_paper_in_order():
    parsed = ask("Which papers were published in 2023?")
    answer = facts.compose_listing(parsed, [BANDITS, GAMES, LATTICE])
    assert answer.text.splitlines() == [
        "3 papers in the digest were published in 2023:",
        "- \u201cLast Switch Bandits\u201d (2023-06-01, 4 upvotes, 5 authors) [1].",
        "- \u201cPlaying Repeated Games\u201d (2023-05-26, 1 upvote, 1 author) [2].",
        "- \u201cSparse Lattice Sorting\u201d (2023-01-01, 0 upvotes, 3 authors) [3].",
    ]
    assert [(c.number, c.paper_id) for c in answer.citations] == [
        (1, BANDITS.paper_id),
        (2, GAMES.paper_id),
        (3, LATTICE.paper_id),
    ]
    assert answer.citations[0].title == "Last Switch Bandits"
    assert answer.citations[0].published == dt.date(2023, 6, 1)
    assert answer.citations[0].snippet == "Last Switch Bandits is studied here."
    assert [(s.paper, s.rank, s.score) for s in answer.sources] == [
        (BANDITS, 1, 1.0),
        (GAMES, 2, 1.0),
        (LATTICE, 3, 1.0),
    ]
    assert not answer.abstained
    assert answer.mode == facts.MODE


def test_relevance_scores_fill_the_sources_of_a_topical_listing():
    filters = QueryFilters(year=2023)
    parsed = ask("Which 2023 papers are about bandits?", filters, topic="bandits")
    answer = facts.compose_listing(parsed, [BANDITS, GAMES], {BANDITS.paper_id: 0.71})
    assert answer.text.splitlines()[0] == (
        "2 papers in the digest were published in 2023 and are related to \u201cbandits\u201d:"
    )
    assert [s.score for s in answer.sources] == [0.71, 0.0]


def test_leads_read_naturally_for_combined_filters():
    parsed = ask("papers from 2025 with more than 3 upvotes by NewMind AI")
    assert parsed.filters == QueryFilters(year=2025, min_upvotes=4, organization="NewMind AI")
    lead = facts.compose_listing(parsed, [PARROT]).text.splitlines()[0]
    assert lead == (
        "1 paper in the digest was published in 2025, has at least 4 upvotes and was "
        "published by NewMind AI:"
    )
    line = facts.compose_listing(parsed, [PARROT]).text.splitlines()[1]
    assert line == (
        "- \u201cParrot: A Sycophancy Benchmark\u201d (2025-11-21, year inferred, 4 upvotes, "
        "NewMind AI) [1]."
    )


def test_a_singular_superlative_is_one_cited_sentence():
    answer = facts.compose_listing(ask("What is the most upvoted paper?"), [BANDITS])
    assert answer.text == (
        "The most upvoted paper in the digest is \u201cLast Switch Bandits\u201d (4 upvotes) [1]."
    )
    assert [c.paper_id for c in answer.citations] == [BANDITS.paper_id]
    oldest = facts.compose_listing(ask("What is the oldest paper from 2023?"), [LATTICE])
    assert oldest.text == (
        "The oldest paper in the digest published in 2023 is \u201cSparse Lattice Sorting\u201d "
        "(2023-01-01) [1]."
    )
    fewest = facts.compose_listing(ask("Which paper has the fewest authors?"), [GAMES])
    assert fewest.text == (
        "The paper with the fewest authors in the digest is \u201cPlaying Repeated Games\u201d "
        "(1 author) [1]."
    )


def test_a_numbered_superlative_lists_that_many():
    answer = facts.compose_listing(ask("the two most upvoted papers"), [BANDITS, GAMES])
    assert answer.text.splitlines()[0] == "The 2 most upvoted papers in the digest:"
    assert len(answer.citations) == 2
    answer = facts.compose_listing(ask("the 2 newest papers with upvotes"), [BANDITS, GAMES])
    assert answer.text.splitlines()[0] == (
        "The 2 newest papers in the digest with at least 1 upvote:"
    )


def test_a_plural_sort_says_the_order():
    answer = facts.compose_listing(ask("List the papers newest first"), [BANDITS, GAMES, LATTICE])
    assert answer.text.splitlines()[0] == "The digest lists 3 papers, newest first:"


def test_long_listings_are_capped_and_say_how_many_more():
    papers = [paper(f"Paper number {i:02d}", dt.date(2024, 1, i + 1)) for i in range(13)]
    answer = facts.compose_listing(ask("Which papers were published in 2024?"), papers)
    lines = answer.text.splitlines()
    assert lines[0] == "13 papers in the digest were published in 2024:"
    assert len(lines) == 1 + facts.MAX_LISTED + 1
    assert lines[-1] == "3 more papers match but are not listed."
    assert [c.number for c in answer.citations] == list(range(1, facts.MAX_LISTED + 1))
    assert len(answer.sources) == facts.MAX_LISTED


def test_no_match_names_the_filters_and_abstains_only_on_a_subject():
    about_tides = facts.compose_listing(ask("papers by a company about tides"), [])
    assert about_tides.text == (
        "No paper in the digest is listed under an organisation and is related to "
        "\u201ctides\u201d."
    )
    assert about_tides.abstained
    # The records answer "none" to a question about them alone: that is an answer.
    answer = facts.compose_listing(ask("papers from 2019 with at least 2 upvotes"), [])
    assert answer.text == (
        "No paper in the digest was published in 2019 and has at least 2 upvotes."
    )
    assert not answer.abstained
    assert answer.citations == () and answer.sources == ()


def test_the_seed_digest_answers_a_year_listing():
    seed = load_digest(SEED, today=TODAY)
    parsed = ask("Which papers were published in 2023?")
    answer = facts.compose_listing(parsed, filter_papers(seed, parsed.filters))
    assert answer.text.startswith("6 papers in the digest were published in 2023:\n")
    assert len(answer.citations) == 6
    assert re.findall(r"\[(\d+)\]", answer.text) == [str(n) for n in range(1, 7)]


@pytest.mark.parametrize(
    ("question", "record", "text"),
    [
        (
            "How many authors wrote Last Switch Bandits?",
            BANDITS,
            "\u201cLast Switch Bandits\u201d has 5 authors [1].",
        ),
        (
            "When was Last Switch Bandits published?",
            BANDITS,
            "\u201cLast Switch Bandits\u201d was published on 2023-06-01 [1].",
        ),
        (
            "When was Parrot published?",
            PARROT,
            "\u201cParrot\u201d was published on 2025-11-21 (year inferred from the listing) [1].",
        ),
        (
            "How many upvotes does Last Switch Bandits have?",
            BANDITS,
            "\u201cLast Switch Bandits\u201d has 4 upvotes [1].",
        ),
        (
            "How many upvotes does Sparse Lattice Sorting have?",
            LATTICE,
            "\u201cSparse Lattice Sorting\u201d has no upvotes [1].",
        ),
        ("Who published Parrot?", PARROT, "\u201cParrot\u201d was published by NewMind AI [1]."),
        (
            "How many authors wrote Parrot?",
            PARROT,
            "The digest lists no authors count for \u201cParrot\u201d; it is listed under "
            "NewMind AI [1].",
        ),
        (
            "Who wrote Playing Repeated Games?",
            GAMES,
            "The digest lists no organisation for \u201cPlaying Repeated Games\u201d; it lists "
            "1 author [1].",
        ),
        (
            "When was AI Agent Behavioral Science published?",
            UNDATED,
            "The digest lists no publication date for \u201cAI Agent Behavioral Science\u201d [1].",
        ),
        (
            "How many authors wrote AI Agent Behavioral Science?",
            UNDATED,
            "The digest lists no authors count for \u201cAI Agent Behavioral Science\u201d [1].",
        ),
    ],
)
def test_field_answers_state_the_field_and_cite_the_paper(question: str, record: Paper, text: str):
    answer = facts.compose_field_answer(ask(question), record, 0.62)
    assert answer.text == text
    assert [(c.number, c.paper_id) for c in answer.citations] == [(1, record.paper_id)]
    assert [(s.paper, s.score, s.rank) for s in answer.sources] == [(record, 0.62, 1)]
    assert not answer.abstained
    assert answer.mode == facts.MODE


def test_without_a_field_the_answer_summarises_the_record():
    parsed = ParsedQuestion("Tell me about Parrot", "Parrot", QueryFilters(), None, False)
    answer = facts.compose_field_answer(parsed, PARROT, 0.5)
    assert answer.text == (
        "\u201cParrot\u201d: 2025-11-21, year inferred, 4 upvotes, NewMind AI [1]."
    )


def test_a_tie_for_a_superlative_names_every_tied_paper():
    parsed = ask("Which paper has the most upvotes?")
    tied = filter_papers([GAMES, BANDITS, PARROT, LATTICE], parsed.filters)
    assert [p.title for p in tied] == [BANDITS.title, PARROT.title]
    answer = facts.compose_listing(parsed, tied)
    assert "tie as the most upvoted papers" in answer.text
    assert "(4 upvotes each)" in answer.text
    assert [c.title for c in answer.citations] == [BANDITS.title, PARROT.title]


def test_the_runner_up_is_the_second_value_of_the_sort():
    parsed = ask("Which paper is the runner-up by votes?")
    assert parsed.filters.nth == 2
    second = filter_papers([GAMES, BANDITS, LATTICE], parsed.filters)
    assert second == [GAMES]
    answer = facts.compose_listing(parsed, second)
    assert answer.text.startswith("The second most upvoted paper in the digest is")
    assert "(1 upvote) [1]" in answer.text


def test_a_comparison_orders_the_papers_by_the_field_and_states_each_value():
    parsed = ask("Which came first, bandits or games?")
    answer = facts.compose_comparison(parsed, [BANDITS, GAMES])
    assert answer.text.startswith("\u201cPlaying Repeated Games\u201d (2023-05-26) [1] came first")
    assert "\u201cLast Switch Bandits\u201d (2023-06-01) [2]" in answer.text
    assert "Both are from 2023 [1][2]." in answer.text
    votes = facts.compose_comparison(
        ask("Does bandits have more votes than games?"), [GAMES, BANDITS]
    )
    assert votes.text.startswith("\u201cLast Switch Bandits\u201d (4 upvotes) [1] has the most")


def test_the_years_answer_counts_each_year_and_cites_the_ends():
    answer = facts.compose_years(ask("What years does the digest cover?"), [PARROT, GAMES, UNDATED])
    assert "span 2023 to 2025: 2023 (1), 2025 (1)" in answer.text
    assert "1 paper has no date." in answer.text
    assert [c.title for c in answer.citations] == [GAMES.title, PARROT.title]


def test_the_years_answer_of_one_dated_paper_names_it_once():
    answer = facts.compose_years(ask("What years does the digest cover?"), [PARROT, UNDATED])
    assert answer.text.startswith(f"The only dated paper is \u201c{PARROT.title}\u201d")
    assert "span" not in answer.text
    assert [c.title for c in answer.citations] == [PARROT.title]


def test_the_vote_total_adds_up_and_lists_the_voted_papers():
    parsed = ask("How many upvotes are there in total?")
    assert parsed.aggregate == "votes"
    answer = facts.compose_vote_total(parsed, [BANDITS, GAMES, LATTICE, PARROT])
    assert answer.text.splitlines()[0] == (
        "The papers in the digest have 9 upvotes in total, on 3 of 4 papers:"
    )
    assert [c.title for c in answer.citations] == [BANDITS.title, PARROT.title, GAMES.title]


def test_a_yes_no_question_about_one_paper_states_the_deciding_field():
    parsed = ask("Did Playing Repeated Games get more than 3 votes?")
    assert facts.checked_field(parsed.filters) == "upvotes"
    answer = facts.compose_check(parsed, GAMES)
    assert answer.text == "No: \u201cPlaying Repeated Games\u201d has 1 upvote [1]."
    parsed = ask("Was Last Switch Bandits posted in 2023?")
    assert facts.checked_field(parsed.filters) == "date"
    assert facts.compose_check(parsed, BANDITS).text.startswith("Yes: ")


def test_a_superlative_names_the_next_rank_with_its_value_and_cites_it():
    parsed = ask("Which paper has the most upvotes?")
    answer = facts.compose_listing(parsed, [BANDITS], runners_up=[PARROT, GAMES][:1])
    assert answer.text.endswith(
        "Next comes \u201cParrot: A Sycophancy Benchmark\u201d (4 upvotes) [2]."
    )
    assert [c.title for c in answer.citations] == [BANDITS.title, PARROT.title]
