"""Composition rules pinned with a bag-of-words encoder, independent of the real model.

The fake encoder hashes each content word to one of `DIMENSION` slots and normalises the
counts, so the cosine of two texts is their shared words over the product of their lengths:
which sentence matches a question, and which two sentences repeat each other, is decided by
their words alone and can be computed by hand.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np
import pytest

from rag.answer.compose import DUPLICATE_SIMILARITY, compose_extractive, dangling_opener
from rag.config import AnswerSettings
from rag.records import Answer, Paper, Source
from rag.texts import NOT_COVERED

DIMENSION = 4096
_WORD = re.compile(r"[a-z0-9]+")
_FUNCTION_WORDS = frozenset("a an the of in to and for on with how does do what is are was".split())


def words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _FUNCTION_WORDS]


def fake_encode(texts: Sequence[str]) -> np.ndarray:
    """One unit vector per text: its content words counted into hashed slots (zeros if none)."""
    vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in words(text):
            vectors[row, zlib.crc32(word.encode()) % DIMENSION] += 1.0
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0.0, 1.0, norms)


def cosine(a: str, b: str) -> float:
    first, second = fake_encode([a, b])
    return float(first @ second)


DRY_PLOTS = "Field plots were kept dry across six summer weeks."
RESPIRATION = "Microbial respiration fell sharply within four days of drought."
RECOVERY = "Soil communities recovered fully within a month after rewetting."
TIDES = "Coastal gauges form a graph along the shoreline."
FORECAST = "A graph network forecasts tides twelve hours ahead."
DROUGHT_QUESTION = "How fast does microbial respiration fall during drought?"
NOWHERE_QUESTION = "What governs the migration routes of arctic terns?"


def paper(paper_id: str, *sentences: str) -> Paper:
    return Paper(paper_id=paper_id, title=f"Paper {paper_id}", abstract=" ".join(sentences))


def retrieve(question: str, papers: Sequence[Paper]) -> list[Source]:
    """Sources as retrieval gives them: ranked by their best sentence's cosine (one sentence
    standing for one chunk), which is also their score."""
    scored = []
    for p in papers:
        sentences = [s.strip() + "." for s in p.abstract.split(".") if s.strip()]
        best = float((fake_encode(sentences) @ fake_encode([question])[0]).max())
        scored.append((best, p))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return [
        Source(paper=p, score=s, rank=rank, chunk_texts=(p.abstract,), dense=s)
        for rank, (s, p) in enumerate(scored, start=1)
    ]


def answer(question: str, papers: Sequence[Paper]) -> Answer:
    vector = fake_encode([question])[0]
    return compose_extractive(
        question, vector, retrieve(question, papers), fake_encode, AnswerSettings()
    )


def test_the_fake_encoder_counts_shared_words():
    vectors = fake_encode([RESPIRATION, RESPIRATION, "of the and", ""])
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0)
    assert vectors[0] @ vectors[1] == pytest.approx(1.0)
    assert not vectors[2].any() and not vectors[3].any()
    # microbial, respiration and drought are shared; the sentence has 8 words, the question 6.
    assert cosine(DROUGHT_QUESTION, RESPIRATION) == pytest.approx(3 / np.sqrt(6 * 8))
    assert cosine(DROUGHT_QUESTION, DRY_PLOTS) == 0.0
    # No two words of these texts share a slot, or the hand counts above would not hold.
    vocabulary = {
        w
        for t in [DRY_PLOTS, RESPIRATION, RECOVERY, TIDES, FORECAST, DROUGHT_QUESTION]
        for w in words(t)
    }
    slots = {zlib.crc32(w.encode()) % DIMENSION for w in vocabulary}
    assert len(slots) == len(vocabulary)


def test_the_sentence_sharing_the_questions_words_comes_first_and_is_cited_1():
    soil = paper("soil", DRY_PLOTS, RESPIRATION, RECOVERY)
    tides = paper("tides", TIDES, FORECAST)
    reply = answer(DROUGHT_QUESTION, [tides, soil])
    assert not reply.abstained
    # The matching sentence leads although the abstract states it second; the paper's other
    # sentences follow in the abstract's order, and the unrelated paper is not cited.
    assert reply.text == (
        "Microbial respiration fell sharply within four days of drought [1]. "
        "Field plots were kept dry across six summer weeks [1]. "
        "Soil communities recovered fully within a month after rewetting [1]."
    )
    assert [(c.number, c.paper_id) for c in reply.citations] == [(1, "soil")]
    assert reply.citations[0].snippet.startswith(RESPIRATION)
    assert [s.paper.paper_id for s in reply.sources] == ["soil", "tides"]


@pytest.mark.parametrize(
    ("second", "both_chosen"),
    [
        # One word of eight changed: cosine 7/8, a repeat.
        ("Microbial respiration fell steeply within four days of drought.", False),
        # Three words of eight changed: cosine 5/8, something else worth saying.
        ("Microbial respiration rose steeply within four weeks of drought.", True),
    ],
    ids=["near-duplicate", "different-enough"],
)
def test_near_duplicate_sentences_are_not_both_chosen(second: str, both_chosen: bool):
    assert (cosine(RESPIRATION, second) >= DUPLICATE_SIMILARITY) is not both_chosen
    soil = paper("soil", RESPIRATION, second, RECOVERY)
    reply = answer(DROUGHT_QUESTION, [soil])
    assert reply.text.startswith("Microbial respiration fell sharply within four days of drought")
    chosen = reply.citations[0].snippet
    assert RESPIRATION in chosen
    assert (second in chosen) is both_chosen
    assert reply.text.count("[1]") == (3 if both_chosen else 2)


@pytest.mark.parametrize(
    ("question", "abstains"),
    [(DROUGHT_QUESTION, False), (NOWHERE_QUESTION, True)],
    ids=["words-in-an-abstract", "words-nowhere"],
)
def test_a_question_whose_words_appear_nowhere_gets_no_sentences(question: str, abstains: bool):
    soil = paper("soil", DRY_PLOTS, RESPIRATION, RECOVERY)
    tides = paper("tides", TIDES, FORECAST)
    reply = answer(question, [soil, tides])
    assert reply.abstained is abstains
    sentences = [DRY_PLOTS, RESPIRATION, RECOVERY, TIDES, FORECAST]
    used = [s for s in sentences if s.rstrip(".") in reply.text]
    if abstains:
        assert all(s.score == 0.0 for s in reply.sources)
        assert reply.citations == ()
        assert used == []
        assert reply.text.startswith(NOT_COVERED)
    else:
        assert used == [DRY_PLOTS, RESPIRATION, RECOVERY]
        assert [c.paper_id for c in reply.citations] == ["soil"]


@pytest.mark.parametrize(
    ("text", "points_back"),
    [
        ("The authors term this the edge-of-reach problem [1].", True),
        ("However, with practical networks the features do not collapse [1].", True),
        ("To this end, the authors introduce a dataset [1].", True),
        ("This approach improves reasoning [1].", True),
        ("Microbial respiration fell within four days [1].", False),
        ("Several papers in the digest address this:\n- **Soil**: They find drought [1].", False),
        ("Several papers in the digest address this:\n- **Soil**: However, it fell [1].", True),
    ],
)
def test_an_answer_opening_by_pointing_back_is_recognised(text: str, points_back: bool):
    assert dangling_opener(text) is points_back


def test_an_answer_does_not_open_with_a_sentence_that_points_back():
    pointing = "This drop in respiration fell within four days of drought."
    plain = "Microbial respiration was measured every two days under drought."
    reply = answer(DROUGHT_QUESTION, [paper("s", plain, pointing)])
    assert reply.text.startswith("Microbial respiration was measured")
    assert not dangling_opener(reply.text)
