"""The extractive composer cites every sentence, numbers papers once, and abstains plainly."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rag import Pipeline
from rag.answer.compose import (
    MAX_SENTENCE_CHARS,
    MAX_SENTENCES_PER_PAPER,
    attribute,
    candidates,
    is_list_question,
    third_person,
    with_citation,
)
from rag.ingest.chunking import split_sentences
from rag.records import Paper, Source
from rag.texts import NEAREST_PAPERS_LEAD, NOT_COVERED

CITATION = re.compile(r"\[(\d+)\]")


def test_with_citation_goes_before_the_final_full_stop():
    assert with_citation("Models collapse.", 2) == "Models collapse [2]."
    assert with_citation("Is it real?", 1) == "Is it real [1]?"
    assert with_citation("No stop", 3) == "No stop [3]."
    assert with_citation("It is \u201cthe void.\u201d", 1) == "It is \u201cthe void\u201d [1]."


def test_third_person_rewords_self_references():
    assert third_person("We propose a method.", "GTR: Guided Thought") == "They propose a method."
    assert (
        third_person("In this paper, we analyse our model.", "X")
        == "In the paper \u201cX\u201d, they analyse their model."
    )
    assert third_person("Moreover, the loss falls.", "X") == "The loss falls."


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which papers study entropy collapse?", True),
        ("List the papers about neural collapse", True),
        ("What is neural collapse?", False),
        ("How does GTR prevent thought collapse?", False),
    ],
)
def test_list_questions_are_recognised(question: str, expected: bool):
    assert is_list_question(question) is expected


def test_every_sentence_cites_a_listed_paper_once(seed_pipeline: Pipeline):
    answer = seed_pipeline.ask("What is neural collapse?")
    numbers = [c.number for c in answer.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len({c.paper_id for c in answer.citations}) == len(numbers)
    cited = {int(n) for n in CITATION.findall(answer.text)}
    assert cited == set(numbers)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", answer.text) if s]
    assert all(CITATION.search(s) for s in sentences)
    assert len(sentences) == len(set(sentences))


def test_answer_opens_with_the_best_matching_sentence(seed_pipeline: Pipeline):
    answer = seed_pipeline.ask("What is the edge-of-reach problem?")
    assert answer.citations[0].title.startswith("The Edge-of-Reach Problem")
    assert "edge-of-reach" in answer.text.split("[1]")[0].lower()
    assert len(answer.citations) == 1


def test_citation_snippets_are_sentences_of_the_cited_abstract(seed_pipeline: Pipeline):
    answer = seed_pipeline.ask("Does accumulating real data prevent model collapse?")
    for citation in answer.citations:
        abstract = seed_pipeline.papers[citation.paper_id].abstract
        sentences = split_sentences(citation.snippet)
        assert sentences
        assert all(sentence in abstract for sentence in sentences)


def test_list_question_names_several_papers(seed_pipeline: Pipeline):
    answer = seed_pipeline.ask("Which papers study neural collapse?")
    assert len(answer.citations) >= 2
    assert answer.text.count("\n- ") == len(answer.citations)


@pytest.mark.parametrize(
    "question",
    [
        "How do I bake sourdough bread?",
        "What is the capital of France?",
        "Who won the 2022 football world cup?",
        "How does photosynthesis work in plants?",
    ],
)
def test_off_topic_questions_abstain_without_citations(seed_pipeline: Pipeline, question: str):
    answer = seed_pipeline.ask(question)
    assert answer.abstained
    assert answer.citations == ()
    assert answer.text.startswith(NOT_COVERED)
    assert NEAREST_PAPERS_LEAD in answer.text
    assert not CITATION.search(answer.text)


def test_a_papers_first_they_becomes_the_authors():
    assert attribute("They prove that they converge.") == "The authors prove that they converge."
    assert attribute("To see why, they use a model.") == "To see why, the authors use a model."
    assert attribute("Models collapse.") == "Models collapse."


def test_a_two_part_question_is_split_into_its_parts():
    from rag.answer.compose import question_parts

    assert question_parts("What does it prove, and along which trajectory is it analysed?") == [
        "What does it prove",
        "along which trajectory is it analysed?",
    ]
    assert question_parts("Which models caved worst? How did the strongest hold up?") == [
        "Which models caved worst",
        "How did the strongest hold up?",
    ]
    assert question_parts("What are the pros and cons of RLHF?") == []


def test_the_sentences_encoded_per_paper_are_bounded_whatever_the_abstract_holds():
    huge = " ".join(f"Sentence number {i} says something about tides here." for i in range(5000))
    run_on = "word " * (MAX_SENTENCE_CHARS // 4)  # one "sentence" with no full stop
    sources = [
        Source(Paper("h", "Huge", huge), 0.5, 1),
        Source(Paper("r", "Run-on", run_on), 0.4, 2),
    ]
    encoded: list[str] = []

    def encode(texts: list[str]) -> np.ndarray:
        encoded.extend(texts)
        return np.ones((len(texts), 3), dtype=np.float32)

    found, _ = candidates("What about tides?", np.ones(3, dtype=np.float32), sources, encode)
    assert len(encoded) == len(found) == MAX_SENTENCES_PER_PAPER
    assert all(c.source.paper.paper_id == "h" for c in found)
