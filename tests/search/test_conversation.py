"""Follow-ups are rewritten with the conversation's subject; standalone questions are not."""

from __future__ import annotations

import pytest

from rag.errors import QuestionError
from rag.records import Paper
from rag.search.conversation import (
    CARRIED_QUESTION_CHARS,
    MAX_HISTORY_MESSAGES,
    MAX_TURN_CHARS,
    check_history,
    cited_papers,
    is_follow_up,
    points_back,
    standalone_question,
)

GTR = Paper("g", "GTR: Guided Thought Reinforcement Prevents Thought Collapse", "…")
CURE = Paper("c", "CURE: Critical-Token-Guided Re-Concatenation", "…")
PAPERS = [GTR, CURE]
HISTORY = [
    {"role": "user", "content": "Why do RL-trained VLM agents stop reasoning properly?"},
    {
        "role": "assistant",
        "content": "Rewards on outcomes alone cause thought collapse [1].\n\n"
        "[1] GTR: Guided Thought Reinforcement Prevents Thought Collapse (2025-03-11)",
    },
]
# A conversation whose answer cites both papers.
TWO_CITED = [
    {"role": "user", "content": "Which papers prevent collapse?"},
    {"role": "assistant", "content": "[1] GTR: Guided ... [2] CURE: Critical-Token ..."},
]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        pytest.param("What method did they propose to fix it?", True, id="pronoun"),
        pytest.param("And the newest one?", True, id="continuation"),
        pytest.param("How many authors?", True, id="bare-field"),
        pytest.param(
            "How does entropy collapse hurt RLVR training of language models?",
            False,
            id="standalone",
        ),
    ],
)
def test_follow_ups_are_recognised(question: str, expected: bool):
    assert is_follow_up(question) is expected


def test_a_follow_up_carries_the_subject_and_cited_titles():
    result = standalone_question("What method did they propose to fix it?", HISTORY, PAPERS)
    assert result.rewritten
    assert result.query.startswith("What method did they propose to fix it?")
    assert "stop reasoning properly" in result.query
    assert GTR.title in result.query
    assert result.subject_papers == (GTR,)


def test_a_standalone_question_is_left_alone():
    question = "How does CURE keep entropy from collapsing during RLVR?"
    result = standalone_question(question, HISTORY, PAPERS)
    assert (result.query, result.rewritten) == (question, False)


def test_no_history_means_no_rewrite():
    assert standalone_question("What did they find?", [], PAPERS).rewritten is False


def test_cited_papers_are_found_by_title_or_short_title_in_order():
    text = "Both CURE [1] and “GTR: Guided Thought Reinforcement Prevents Thought Collapse” [2]"
    assert cited_papers(text, PAPERS) == [CURE, GTR]


def test_refers_to_set_only_with_several_subject_papers():
    result = standalone_question("Which of those is the newest?", TWO_CITED, PAPERS)
    assert result.refers_to_set
    assert set(result.subject_papers) == {GTR, CURE}


def test_they_means_the_authors_not_a_set_of_papers():
    result = standalone_question("What did they propose to keep it stable?", TWO_CITED, PAPERS)
    assert result.rewritten
    assert not result.refers_to_set


def test_a_subject_named_in_no_title_is_recalled_by_asking_the_previous_question_again():
    history = [
        {"role": "user", "content": "Which work fixes thought collapse?"},
        {"role": "assistant", "content": "A guided-thought method does [1]."},
    ]
    asked: list[str] = []

    def recall(question: str) -> list[Paper]:
        asked.append(question)
        return [GTR]

    result = standalone_question("What did they find?", history, PAPERS, recall)
    assert asked == ["Which work fixes thought collapse?"]
    assert result.subject_papers == (GTR,)
    assert GTR.title in result.query


def test_papers_cited_but_not_named_by_title_are_recalled_from_the_previous_question():
    history = [
        {"role": "user", "content": "Which papers came out in March?"},
        {"role": "assistant", "content": "Guided Thought Reinforcement [1] and CURE [2]."},
    ]
    asked = []

    def recall(question: str) -> list[Paper]:
        asked.append(question)
        return [GTR, CURE]

    result = standalone_question("Which of those is about tokens?", history, PAPERS, recall)
    assert asked == ["Which papers came out in March?"]
    # CURE is named; the recalled answer adds the paper only cited by number.
    assert [p.paper_id for p in result.subject_papers] == ["c", "g"]
    assert result.refers_to_set


def test_an_answer_whose_citations_are_all_named_is_not_asked_again():
    def recall(question: str) -> list[Paper]:
        raise AssertionError("every cited paper was named")

    result = standalone_question("What did they find?", HISTORY, PAPERS, recall)
    assert [p.paper_id for p in result.subject_papers] == ["g"]


def test_with_a_subject_check_a_follow_up_needs_no_pronoun():
    """ "Which models held up best?" names nothing: unless the question alone is confidently
    about another paper, it continues the conversation."""
    never_new = lambda question, subject: False  # noqa: E731
    question = "Numbers on the hardest long-horizon household tasks benchmark results table?"
    assert not is_follow_up(question)
    result = standalone_question(question, HISTORY, PAPERS, new_subject=never_new)
    assert result.rewritten and result.subject_papers == (GTR,)


def test_a_pronoun_does_not_keep_a_question_on_the_old_subject():
    seen = []

    def about_cure(question, subject):
        seen.append(tuple(subject))
        return True

    question = "What is their token re-concatenation trick?"
    result = standalone_question(question, HISTORY, PAPERS, new_subject=about_cure)
    assert not result.rewritten and result.query == question
    assert seen == [(GTR,)]


def test_the_last_answer_finds_the_subject_when_it_names_no_title():
    history = [
        {"role": "user", "content": "What is RAVL?"},
        {"role": "assistant", "content": "A value-learning fix for guided thought collapse."},
    ]
    asked = []

    def recall(text):
        asked.append(text)
        return [GTR] if "collapse" in text else []

    result = standalone_question("Where's the code?", history, PAPERS, recall)
    assert result.subject_papers == (GTR,)
    assert asked == ["What is RAVL?", history[1]["content"]]


SHAPE = "{'role': 'user' or 'assistant', 'content': text}"
BAD_HISTORIES = {
    "a string": ("abc", "history must be a list of messages"),
    "one message, not a list": ({"role": "user", "content": "x"}, "got dict"),
    "a number in the list": ([1], "history[0] is of type int, not a message"),
    "a string in the list": (["hello"], "history[0] is of type str, not a message"),
    "a system message": (
        [HISTORY[0], {"role": "system", "content": "x"}],
        "history[1] has role 'system'",
    ),
    "no role": ([{"content": "x"}], "history[0] has no 'role'"),
    "no content": ([{"role": "user"}], "history[0] has no 'content'"),
    "content not text": ([{"role": "user", "content": 3}], "has content of type int, not text"),
}


@pytest.mark.parametrize(("history", "problem"), BAD_HISTORIES.values(), ids=BAD_HISTORIES)
def test_a_history_that_is_not_a_list_of_messages_is_refused_naming_the_shape(
    history: object, problem: str
):
    with pytest.raises(QuestionError) as error:
        check_history(history)
    assert problem in str(error.value)
    assert SHAPE in str(error.value)


def test_a_history_is_bounded_to_its_latest_turns_each_cut_to_size():
    turns = [{"role": "user", "content": f"question {n}"} for n in range(100)]
    huge = "pasted " * 200_000 + "\n[1] " + GTR.title
    bounded = check_history([*turns, {"role": "assistant", "content": huge}])
    assert len(bounded) == MAX_HISTORY_MESSAGES
    assert bounded[0]["content"] == "question 81"
    answer = bounded[-1]["content"]
    assert len(answer) <= MAX_TURN_CHARS + 3
    # An answer's references come last: the cut keeps them.
    assert answer.startswith("pasted ") and answer.endswith(GTR.title)
    assert check_history(None) == () and check_history(()) == ()


def test_a_follow_up_carries_only_the_start_of_a_huge_previous_question():
    pasted = "Why do RL-trained VLM agents stop reasoning? Log: " + "loss 0.4 " * 100_000
    history = [{"role": "user", "content": pasted}, HISTORY[1]]
    result = standalone_question("What method did they propose to fix it?", history, PAPERS)
    assert "stop reasoning" in result.query
    assert GTR.title in result.query
    assert len(result.query) < CARRIED_QUESTION_CHARS + 200


@pytest.mark.parametrize(
    ("question", "follows"),
    [
        ("Compare the papers that fix entropy collapse in reinforcement learning", False),
        ("Which studies about protein folding report accuracy gains?", False),
        ("Is that paper from 2024 or from an earlier year?", True),
        ("How does that compare to the GRPO baseline in practice?", True),
        ("Can you tell me more about that method and its evaluation?", True),
        ("What did the paper find about its benchmark results overall?", True),
    ],
    ids=["relative-that", "restricted-noun", "that-paper", "does-that", "about-that", "the-paper"],
)
def test_that_and_the_paper_point_back_only_as_demonstratives(question: str, follows: bool):
    assert is_follow_up(question) is follows


FISH = Paper("f", "Avoiding tipping points in fisheries management", "Fish stocks may collapse.")
BOTH = [
    {"role": "user", "content": "Which papers deal with collapse?"},
    {
        "role": "assistant",
        "content": "Thought collapse [1]. Entropy collapse [2]. Fish stocks [3].\n"
        f"[1] {GTR.title}\n[2] {CURE.title}\n[3] {FISH.title}",
    },
]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What does it propose?", GTR),  # "it": the paper the answer was about, its first
        ("How many authors does that paper have?", GTR),
        ("The one about fisheries: what did they find?", FISH),  # picked by a detail
        ("What about the paper on fish stocks?", FISH),
        ("The fisheries one: what did they find?", FISH),
        ("Which of those is the newest?", None),  # a set, not one paper
        ("What did they find?", None),  # "they": the list, or authors; not narrowed
        ("The one about quantum chemistry?", None),  # a detail that fits none of them
    ],
)
def test_a_question_about_one_paper_points_at_the_answer_s_lead_or_the_one_its_detail_names(
    question: str, expected: Paper | None
):
    standalone = standalone_question(question, BOTH, [GTR, CURE, FISH])
    assert standalone.refers_to_one == expected
    if expected:
        # The search carries that paper's title alone, not the answer's other papers.
        assert expected.title in standalone.query
        assert all(p.title not in standalone.query for p in [GTR, CURE, FISH] if p != expected)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("And the weakest models?", True),
        ("Which of them came first?", True),
        ("Tell me about mixture-of-depths routing", False),
        ("What about speculative decoding?", False),
    ],
)
def test_a_turn_points_back_by_a_pronoun_or_by_going_on(question: str, expected: bool):
    assert points_back(question) is expected
