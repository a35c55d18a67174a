"""End to end over the bundled digest: the expected paper is cited first for each question."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rag
from rag import Pipeline, QuestionError
from rag.texts import EMPTY_QUESTION, NO_AUTHOR_NAMES

ALL_QUESTIONS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "questions.jsonl").read_text().splitlines()
    if line.strip()
]
QUESTIONS = [row for row in ALL_QUESTIONS if row["type"] != "unanswerable"]


def test_the_question_set_is_large_enough():
    assert len(QUESTIONS) >= 10


@pytest.mark.parametrize("row", QUESTIONS, ids=[row["id"] for row in QUESTIONS])
def test_expected_paper_is_cited_first(seed_pipeline: Pipeline, row: dict):
    answer = seed_pipeline.ask(row["user_input"])
    assert not answer.abstained
    assert answer.citations[0].title in row["reference_titles"]
    assert "[1]" in answer.text


def test_seed_index_holds_every_paper(seed_pipeline: Pipeline):
    assert len(seed_pipeline.papers) == 44


@pytest.mark.parametrize("question", ["", "   \n\t ", None, 42])
def test_empty_or_non_text_questions_are_refused(tiny_pipeline: Pipeline, question):
    with pytest.raises(QuestionError):
        tiny_pipeline.ask(question)


def test_empty_question_message_is_the_documented_one(tiny_pipeline: Pipeline):
    with pytest.raises(QuestionError, match=EMPTY_QUESTION):
        tiny_pipeline.ask("  ")


def test_oversized_question_names_its_length_and_the_limit(tiny_pipeline: Pipeline):
    limit = tiny_pipeline.settings.answer.max_question_chars
    with pytest.raises(QuestionError, match=f"{limit + 1} characters; the limit is {limit}"):
        tiny_pipeline.ask("x" * (limit + 1))


def test_question_errors_are_value_errors():
    assert issubclass(QuestionError, ValueError)


def test_answer_serialises_to_json(tiny_pipeline: Pipeline):
    answer = tiny_pipeline.ask("How far ahead can the graph network forecast tides?")
    data = json.loads(json.dumps(answer.to_dict()))
    assert data["citations"][0]["title"] == "Tidal Forecasting with Graph Neural Networks"
    assert data["citations"][0]["published"] == "2024-05-27"
    assert data["sources"][0]["upvotes"] == 3
    assert "twelve hours ahead" in data["text"]


EDGE = "The Edge-of-Reach Problem in Offline Model-Based Reinforcement Learning"


def test_a_metadata_question_is_answered_from_the_records(seed_pipeline: Pipeline):
    answer = seed_pipeline.ask("Which papers were published in 2023?")
    assert answer.filters == ("year: 2023",)
    assert len(answer.citations) == 6
    assert all(c.published and c.published.year == 2023 for c in answer.citations)


def test_explicit_filters_combine_with_the_topic(seed_pipeline: Pipeline):
    answer = seed_pipeline.ask("Which papers are about entropy collapse?", year=2024)
    assert "year: 2024" in answer.filters
    assert all(c.published and c.published.year == 2024 for c in answer.citations)


def test_bad_explicit_filters_are_refused_clearly(seed_pipeline: Pipeline):
    with pytest.raises(ValueError, match="since"):
        seed_pipeline.ask("Anything new?", since="not a date")


def test_a_follow_up_finds_the_conversation_s_paper(seed_pipeline: Pipeline):
    first = seed_pipeline.ask("What is the edge-of-reach problem in offline RL?")
    history = [
        {"role": "user", "content": "What is the edge-of-reach problem in offline RL?"},
        {"role": "assistant", "content": first.text},
    ]
    follow_up = seed_pipeline.ask("What method did they propose to fix it?", history=history)
    assert follow_up.query != follow_up.question
    assert follow_up.citations[0].title == EDGE
    assert "RAVL" in follow_up.text


def test_a_follow_up_on_an_answer_longer_than_a_question_finds_its_paper(seed_pipeline):
    """An earlier answer that names no title is searched with to find the conversation's
    paper; one longer than a question may be must not make the follow-up "too long"."""
    edge = next(p for p in seed_pipeline.papers.values() if p.title == EDGE)
    answer = f"{edge.abstract} {edge.abstract}"
    assert len(answer) > seed_pipeline.settings.answer.max_question_chars
    history = [{"role": "user", "content": "Go on."}, {"role": "assistant", "content": answer}]
    follow_up = seed_pipeline.ask("What method did they propose to fix it?", history=history)
    assert follow_up.citations[0].title == EDGE


def test_how_many_authors_is_answered_from_the_record(seed_pipeline: Pipeline):
    answer = seed_pipeline.ask("How many authors wrote the paper on the edge-of-reach problem?")
    assert answer.citations[0].title == EDGE
    assert "4 authors" in answer.text


def test_a_filter_read_from_the_question_can_be_switched_off(seed_pipeline: Pipeline):
    question = "Which 2025 papers are about entropy in reinforcement learning?"
    filtered = seed_pipeline.ask(question)
    assert "year: 2025" in filtered.filters
    year_fields = filtered.filter_fields[filtered.filters.index("year: 2025")]
    assert year_fields == ("year",)
    assert all(s.paper.published.year == 2025 for s in filtered.sources)
    unfiltered = seed_pipeline.ask(question, ignore=year_fields)
    assert "year: 2025" not in unfiltered.filters
    assert any(s.paper.published.year != 2025 for s in unfiltered.sources if s.paper.published)


def test_the_caller_chooses_how_many_papers_are_retrieved(seed_pipeline: Pipeline):
    question = "How does entropy collapse affect reinforcement learning for reasoning?"
    assert len(seed_pipeline.ask(question, k=2).sources) == 2
    assert len(seed_pipeline.ask(question, k=8).sources) == 8


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"ignore": ["colour"]}, "unknown filter to ignore: colour"),
        ({"k": 0}, "k must be a whole number from 1 to 50, got 0"),
        ({"k": 51}, "k must be a whole number from 1 to 50, got 51"),
        ({"k": True}, "k must be a whole number from 1 to 50, got True"),
    ],
)
def test_bad_retrieval_options_are_refused_clearly(seed_pipeline: Pipeline, option, message):
    with pytest.raises(QuestionError, match=message):
        seed_pipeline.ask("What is neural collapse?", **option)


def test_a_near_miss_cites_the_paper_and_names_what_its_abstract_lacks(seed_pipeline: Pipeline):
    answer = seed_pipeline.ask("What learning rate did the edge-of-reach paper use for RAVL?")
    assert answer.abstained
    assert [c.title for c in answer.citations] == [EDGE]
    assert answer.text.endswith("is about this, but its abstract does not give the learning rate.")


def test_words_no_paper_uses_make_a_question_off_topic(seed_pipeline: Pipeline):
    answer = seed_pipeline.ask("Any papers on federated learning with differential privacy?")
    assert answer.abstained and answer.citations == ()


def test_entries_that_went_up_in_a_year_are_listed_not_refused(seed_pipeline: Pipeline):
    answer = seed_pipeline.ask("Which entries went up in 2023?")
    assert not answer.abstained
    assert answer.text.startswith("6 papers in the digest were published in 2023:")


def test_a_follow_up_without_a_pronoun_stays_on_the_conversation_s_paper(seed_pipeline):
    first = seed_pipeline.ask("What is the edge-of-reach problem in offline RL?")
    history = [
        {"role": "user", "content": "What is the edge-of-reach problem in offline RL?"},
        {"role": "assistant", "content": first.text},
    ]
    follow_up = seed_pipeline.ask("Numbers on the benchmarks?", history=history)
    assert follow_up.citations and follow_up.citations[0].title == EDGE


def test_a_yes_no_question_about_one_paper_is_checked_against_its_record(seed_pipeline):
    answer = seed_pipeline.ask("Was the GTR paper posted in 2024?")
    assert answer.text.startswith("No: \u201cGTR\u201d was published on 2025-03-11")
    assert answer.citations[0].title.startswith("GTR")


def test_a_new_subject_after_a_listing_is_not_read_as_a_follow_up(seed_pipeline: Pipeline):
    """Found in the browser: after "Which entries went up in 2023?", a question about
    sycophancy was searched together with the six 2023 papers."""
    first = seed_pipeline.ask("Which entries went up in 2023?")
    history = [
        {"role": "user", "content": "Which entries went up in 2023?"},
        {"role": "assistant", "content": first.text},
    ]
    answer = seed_pipeline.ask("Is there a benchmark for sycophancy?", history=history)
    assert answer.query == "a benchmark for sycophancy?"
    assert answer.citations[0].title.startswith("Parrot")


def test_a_name_the_conversation_never_mentions_starts_a_new_subject(seed_pipeline: Pipeline):
    """Found in the browser: "the STEER paper" after a question on BehaveGPT was answered
    about BehaveGPT, and then about the paper on activation *steering*."""
    first = seed_pipeline.ask("Did BehaveGPT get any likes?")
    history = [
        {"role": "user", "content": "Did BehaveGPT get any likes?"},
        {"role": "assistant", "content": first.text},
    ]
    answer = seed_pipeline.ask("What learning rate did the STEER paper use?", history=history)
    assert answer.abstained
    assert answer.citations[0].title.startswith("Rethinking Entropy Interventions in RLVR")


def test_a_comparison_takes_the_theme_s_papers_or_the_given_ids(seed_pipeline: Pipeline):
    table = seed_pipeline.compare("Compare the papers that fix entropy collapse in RL")
    titles = [row.paper.title for row in table.rows]
    assert len(titles) >= 2 and all("ntropy" in t for t in titles[:2]), titles
    assert [row.number for row in table.rows] == list(range(1, len(titles) + 1))
    chosen = [table.rows[1].paper.paper_id, table.rows[0].paper.paper_id]
    given = seed_pipeline.compare("Compare these", [*chosen, chosen[0]])
    assert [row.paper.paper_id for row in given.rows] == chosen
    assert seed_pipeline.compare("What is the boiling point of tungsten?").rows == ()


def test_a_comparison_of_an_unknown_paper_id_names_it(seed_pipeline: Pipeline):
    with pytest.raises(QuestionError, match="no paper with id 'nope' in the digest"):
        seed_pipeline.compare("Compare", ["nope"])


@pytest.mark.parametrize(
    "options",
    [{"year": "abc"}, {"since": "notadate"}, {"min_upvotes": -3}, {"k": 0}, {"mode": "bogus"}],
    ids=["year", "since", "min_upvotes", "k", "mode"],
)
def test_every_bad_option_is_a_question_error_of_the_one_family(tiny_pipeline, options):
    with pytest.raises(QuestionError) as caught:
        tiny_pipeline.ask("How do tides work?", **options)
    assert isinstance(caught.value, rag.DigestQAError) and isinstance(caught.value, ValueError)


def test_every_error_raised_on_purpose_shares_one_base():
    from rag import errors

    family = [
        getattr(errors, name) for name in errors.__all__ if isinstance(getattr(errors, name), type)
    ]
    assert len(family) >= 9
    assert all(issubclass(error, rag.DigestQAError) for error in family)
    assert errors.USER_ERRORS == (rag.DigestQAError,)


def test_a_comparison_after_another_topic_compares_the_new_theme(seed_pipeline: Pipeline):
    asked = "Which papers deal with sycophancy in language models?"
    answer = seed_pipeline.ask(asked)
    history = [{"role": "user", "content": asked}, {"role": "assistant", "content": answer.text}]
    theme = "Compare the papers that fix entropy collapse in RL"
    table = seed_pipeline.compare(theme, history=history)
    titles = [row.paper.title for row in table.rows]
    assert titles and all("ycophancy" not in t for t in titles)
    assert sum("ntropy" in t for t in titles) >= 2, titles


def asked_in_turns(pipeline: Pipeline, questions: list[str]) -> list:
    """Each question asked with the pipeline's own earlier answers as the history."""
    history: list[dict[str, str]] = []
    answers = []
    for question in questions:
        answers.append(pipeline.ask(question, history=history))
        history += [{"role": "user", "content": question}, answers[-1].as_message()]
    return answers


def test_it_after_a_top_paper_means_that_paper_turn_after_turn(seed_pipeline: Pipeline):
    top, proposal, authors = asked_in_turns(
        seed_pipeline,
        ["Which is the most upvoted paper?", "What does it propose?", "How many authors wrote it?"],
    )
    lead = top.citations[0].title
    assert lead == "Entropy-Guided Attention for Private LLMs"
    assert [c.title for c in proposal.citations] == [lead]
    assert [c.title for c in authors.citations] == [lead]


def test_an_off_topic_turn_inside_a_conversation_is_refused_then_the_topic_resumes(
    seed_pipeline: Pipeline,
):
    steering, off_topic, back = asked_in_turns(
        seed_pipeline,
        [
            "Is there a paper on steering LLM agents with activations?",
            "Tell me about mixture-of-depths routing",
            "Back to steering: what do they steer?",
        ],
    )
    assert not steering.abstained
    assert off_topic.abstained and not off_topic.citations
    # It was judged on its own words, and that is what it says was searched.
    assert off_topic.query == "Tell me about mixture-of-depths routing"
    assert not back.abstained
    assert back.citations[0].title == steering.citations[0].title


def test_a_question_for_a_resource_no_abstract_mentions_is_a_near_miss(seed_pipeline):
    answer = seed_pipeline.ask("Which GPU did the GTR authors train on?")
    assert answer.abstained
    assert answer.text.endswith("does not give which GPU.")


def test_a_two_part_question_gets_the_part_the_abstract_answers_and_what_it_lacks(
    seed_pipeline: Pipeline,
):
    answer = seed_pipeline.ask("What does BehaveGPT propose, and how many GPUs did they train on?")
    assert not answer.abstained
    assert answer.citations[0].title.startswith("BehaveGPT")
    assert "propose BehaveGPT" in answer.text or "BehaveGPT, a foundational model" in answer.text
    assert answer.text.endswith(
        "The abstract of \u201cBehaveGPT\u201d [1] does not give anything on GPUs."
    )


def test_the_organisation_a_paper_is_listed_under_is_answered_but_author_names_are_not(
    seed_pipeline: Pipeline,
):
    listed = seed_pipeline.ask("Which institution is the Parrot benchmark listed under?")
    assert not listed.abstained and "NewMind AI" in listed.text
    names = seed_pipeline.ask("Who are the authors of Parrot and what lab are they at?")
    assert names.abstained and names.text.startswith(NO_AUTHOR_NAMES)
