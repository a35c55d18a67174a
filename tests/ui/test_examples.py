"""The landing page's example questions come from the digest served, and each is answered."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app import build_app
from rag import Pipeline
from rag.ingest.embedding import Encoder
from rag.records import Paper
from rag.ui.examples import digest_examples, digest_theme

DIGESTS = Path(__file__).resolve().parents[1] / "data" / "digests"


def paper(title: str, upvotes: int = 0, day: dt.date | None = None) -> Paper:
    return Paper(title.lower()[:8], title, "An abstract.", published=day, upvotes=upvotes)


CATALOGUE = [
    paper("Tidal Forecasting with Graph Networks", 3, dt.date(2024, 5, 1)),
    paper("SoilNet: Drought Forecasting for Soil Microbes", 9, dt.date(2025, 2, 1)),
    paper("Graph Networks for River Flow", 1, dt.date(2023, 1, 1)),
    paper("Drought Forecasting from Satellites", 0, dt.date(2025, 6, 1)),
]


def test_the_examples_name_the_digest_s_theme_its_top_paper_and_its_newest():
    assert digest_theme(CATALOGUE) == "drought forecasting"
    assert digest_examples(CATALOGUE) == [
        "Which papers are about drought forecasting?",
        "Which is the most upvoted paper?",
        "What does SoilNet propose?",
        "Which papers came out in 2025?",
        "What is Drought Forecasting from Satellites about?",
    ]


def test_a_digest_without_votes_or_dates_gets_what_it_can_answer():
    bare = [Paper("a", "One Thing", "x"), Paper("b", "Another Thing", "y")]
    assert digest_examples(bare) == ["Which papers are about thing?", "How many papers are there?"]
    assert digest_examples([]) == []


def test_the_app_shows_the_served_digest_s_examples(tiny_pipeline: Pipeline):
    demo = build_app(tiny_pipeline)
    chatbot = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "chat")
    shown = [example["text"] for example in chatbot.examples]
    assert shown == digest_examples(list(tiny_pipeline.papers.values()))
    assert "What does Soil Microbes Respond to Drought Within Days propose?" in shown


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vision", "science"])
def test_every_example_of_another_digest_is_answered_from_it(
    name: str, tmp_path: Path, encoder: Encoder
):
    settings = {
        "index": {"path": tmp_path, "digests": (DIGESTS / f"{name}.txt",), "progress": False}
    }
    pipeline = Pipeline(settings, encoder=encoder)
    for question in digest_examples(list(pipeline.papers.values())):
        answer = pipeline.ask(question)
        assert not answer.abstained and answer.citations, question


@pytest.mark.slow
def test_every_example_of_the_bundled_digest_is_answered(seed_pipeline: Pipeline):
    for question in digest_examples(list(seed_pipeline.papers.values())):
        answer = seed_pipeline.ask(question)
        assert not answer.abstained and answer.citations, question
