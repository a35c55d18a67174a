"""Listing format: the bundled listing pinned record by record, robustness on small listings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from conftest import SEED, TODAY, abstract

from rag.errors import DigestFormatError
from rag.ingest.digest import load_digest
from rag.ingest.listing import parse_listing
from rag.records import Paper


def by_title(papers: list[Paper], start: str) -> Paper:
    (paper,) = [p for p in papers if p.title.startswith(start)]
    return paper


@pytest.fixture(scope="module")
def seed() -> list[Paper]:
    return load_digest(SEED, today=TODAY)


# ---------------------------------------------------------------- the bundled seed


def test_seed_gives_44_papers_with_distinct_ids(seed: list[Paper]) -> None:
    assert len(seed) == 44
    assert len({p.paper_id for p in seed}) == 44
    assert {p.source_file for p in seed} == {str(SEED)}


def test_page_header_is_not_a_paper(seed: list[Paper]) -> None:
    assert seed[0].title == "Perturbation Analysis of Neural Collapse"
    titles = {p.title for p in seed}
    assert not titles & {"new", "Subscribe", "Daily Papers", "byAK and the research community"}


def test_paper_with_authors_and_full_date(seed: list[Paper]) -> None:
    paper = by_title(seed, "Perturbation Analysis of Neural Collapse")
    assert paper.authors_count == 3
    assert paper.organization is None
    assert paper.published == dt.date(2022, 10, 29)
    assert paper.year_inferred is False
    assert paper.upvotes == 0
    assert paper.source_line == 13
    assert paper.abstract.startswith("Training deep neural networks for classification")
    assert paper.byline == "3 authors"


def test_paper_by_an_organisation_with_upvotes(seed: list[Paper]) -> None:
    paper = by_title(seed, "Parrot: Persuasion and Agreement")
    assert paper.organization == "NewMind AI"
    assert paper.authors_count is None
    assert paper.upvotes == 4
    assert paper.published == dt.date(2025, 11, 21)
    assert paper.year_inferred is True
    assert paper.source_line == 157


def test_paper_without_metadata(seed: list[Paper]) -> None:
    paper = by_title(seed, "AI Agent Behavioral Science")
    assert (paper.authors_count, paper.organization, paper.published) == (None, None, None)
    assert (paper.upvotes, paper.year_inferred, paper.byline) == (0, False, "")
    assert paper.source_line == 37
    assert paper.abstract.startswith("Recent advances in large language models")


def test_trailing_number_after_a_yearless_date_is_upvotes(seed: list[Paper]) -> None:
    gtr = by_title(seed, "GTR: Guided Thought")
    assert (gtr.published, gtr.upvotes, gtr.year_inferred) == (dt.date(2025, 3, 11), 2, True)
    assert gtr.authors_count == 6
    entropy = by_title(seed, "Entropy-Guided Attention for Private LLMs")
    assert (entropy.published, entropy.upvotes) == (dt.date(2025, 1, 6), 8)


def test_last_paper_in_the_file(seed: list[Paper]) -> None:
    paper = seed[-1]
    assert paper.title == "On the limits of agency in agent-based models"
    assert paper.authors_count == 5
    # The seed's last line is "Sep 14, 2024 2": an explicit date, then 2 upvotes.
    assert (paper.published, paper.upvotes, paper.year_inferred) == (dt.date(2024, 9, 14), 2, False)
    assert paper.code_urls == ("https://github.com/AgentTorch/AgentTorch",)


def test_code_urls_of_seed_abstracts(seed: list[Paper]) -> None:
    assert by_title(seed, "Rethinking Entropy Interventions in RLVR").code_urls == (
        "https://github.com/zz-haooo/STEER",
    )
    assert by_title(seed, "The Edge-of-Reach Problem").code_urls == (
        "https://github.com/anyasims/edge-of-reach",
    )
    assert by_title(seed, "Entropy-Guided Attention").code_urls == (
        "https://github.com/Nandan91/entropy-guided-attention-llm",
    )
    assert sum(1 for p in seed if p.code_urls) == 10


def test_yearless_dates_take_the_year_after_the_latest_explicit_one(seed: list[Paper]) -> None:
    assert max(p.published.year for p in seed if p.published and not p.year_inferred) == 2024
    assert {p.published.year for p in seed if p.year_inferred} == {2025}
    assert sum(p.year_inferred for p in seed) == 21


def test_year_argument_wins_over_inference() -> None:
    papers = load_digest(SEED, year=2023, today=TODAY)
    assert by_title(papers, "GTR: Guided Thought").published == dt.date(2023, 3, 11)
    assert by_title(papers, "Parrot: Persuasion").published == dt.date(2023, 11, 21)
    assert by_title(papers, "Perturbation Analysis").published == dt.date(2022, 10, 29)
    assert {p.published.year for p in papers if p.year_inferred} == {2023}


def test_inferred_dates_are_never_after_today() -> None:
    papers = load_digest(SEED, today=dt.date(2025, 6, 1))
    assert by_title(papers, "GTR: Guided Thought").published == dt.date(2025, 3, 11)
    # Nov 21 2025 would be in the future on 2025-06-01, so it is last year's Nov 21.
    assert by_title(papers, "Parrot: Persuasion").published == dt.date(2024, 11, 21)


def test_seed_with_bom_and_crlf_parses_the_same(tmp_path: Path, seed: list[Paper]) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"\xef\xbb\xbf" + SEED.read_bytes().replace(b"\n", b"\r\n"))
    papers = load_digest(path, today=TODAY)
    assert [dataclasses.replace(p, source_file=str(SEED)) for p in papers] == seed


# ---------------------------------------------------------------- robustness on small listings


def listing(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs) + "\n"


def test_truncated_fragment_does_not_become_a_paper() -> None:
    text = listing(
        "Daily Papers",
        "Dec 10",
        ", abandonment, and churn, which we model as a hazard over sessions of use.",
        "  • 2 authors\n·\nMar 3, 2024",
        "Neural Collapse Revisited",
        abstract("neural collapse"),
        "  • 3 authors\n·\nOct 29, 2022",
        "rather than the usual loss, since the optimiser " + abstract("a cut sentence"),
        "  • 9 authors\n·\nJan 2, 2020",
        "Entropy Collapse in RL",
        abstract("entropy collapse"),
    )
    papers = parse_listing(text, "frag.txt", today=TODAY)
    assert [p.title for p in papers] == ["Neural Collapse Revisited", "Entropy Collapse in RL"]
    # Metadata after a fragment belonged to the fragment's lost paper, not to its neighbour.
    assert (papers[0].authors_count, papers[0].published) == (3, dt.date(2022, 10, 29))
    assert papers[1].published is None
    assert [p.source_line for p in papers] == [11, 25]


def test_repeated_paper_is_kept_once_with_fields_filled_from_the_repeat() -> None:
    text = listing(
        "Neural Collapse Revisited",
        abstract("neural collapse"),
        "Entropy Collapse in RL",
        abstract("entropy collapse"),
        "  • 4 authors\n·\nMay 3",
        "Neural  Collapse  revisited",
        abstract("neural collapse"),
        "  • 3 authors\n·\nOct 29, 2022 7",
    )
    papers = parse_listing(text, "repeat.txt", today=TODAY)
    assert [p.title for p in papers] == ["Neural Collapse Revisited", "Entropy Collapse in RL"]
    first = papers[0]
    assert (first.source_line, first.authors_count, first.upvotes) == (1, 3, 7)
    assert first.published == dt.date(2022, 10, 29)
    assert papers[1].published == dt.date(2023, 5, 3)  # latest explicit year 2022, plus one


def test_long_title_after_a_title_without_abstract_is_still_a_title() -> None:
    long_title = " ".join(["Scaling"] * 24) + " Laws"
    text = listing("Orphan Title Whose Abstract Was Lost", long_title, abstract("scaling"))
    (paper,) = parse_listing(text, "long.txt", year=2024)
    assert (paper.title, paper.source_line) == (long_title, 3)


def test_listing_without_explicit_years_uses_todays_year() -> None:
    text = listing("Neural Collapse Revisited", abstract("collapse"), "  • 1 author\n·\nDec 20 3")
    (paper,) = parse_listing(text, "x.txt", today=dt.date(2026, 12, 31))
    assert (paper.published, paper.upvotes, paper.authors_count) == (dt.date(2026, 12, 20), 3, 1)
    (paper,) = parse_listing(text, "x.txt", today=dt.date(2026, 12, 1))
    assert paper.published == dt.date(2025, 12, 20)


def test_impossible_explicit_date_names_its_line() -> None:
    text = listing(
        "Neural Collapse Revisited", abstract("collapse"), "  • 1 author\n·\nFeb 30, 2024"
    )
    with pytest.raises(DigestFormatError) as err:
        parse_listing(text, "bad-date.txt")
    assert err.value.line == 7
    assert str(err.value).startswith("bad-date.txt:7: ")
