"""Questions the digest cannot answer: names, unmentioned names, figures no abstract states."""

from __future__ import annotations

from rag.answer.abstain import (
    asked_quantity,
    credit_named_papers,
    missing_detail,
    missing_gap,
    names_elsewhere,
    unmentioned_names,
)
from rag.records import Paper, Source
from rag.texts import FIGURE_NOT_GIVEN, MODEL_NOT_NAMED, NO_AUTHOR_NAMES

STEER = Paper(
    "s",
    "Rethinking Entropy Interventions in RLVR",
    "We introduce STEER, a reweighting scheme. STEER improves accuracy by 4 points on six "
    "math benchmarks. Training stays stable.",
)
SOURCES = [Source(paper=STEER, score=0.6, rank=1)]


def _source(abstract: str, title: str = "A paper") -> list[Source]:
    return [Source(paper=Paper("p", title, abstract), score=0.6, rank=1)]


def test_author_names_and_affiliations_are_not_in_a_digest():
    assert missing_detail("Who is the first author of STEER?", SOURCES) == NO_AUTHOR_NAMES
    assert missing_detail("Which university is behind STEER?", SOURCES) == NO_AUTHOR_NAMES
    assert missing_detail("How many authors wrote STEER?", SOURCES) is None


def test_a_figure_needs_a_sentence_with_a_number_and_the_asked_quantity():
    assert asked_quantity("How many GPU hours did STEER need?") == ["gpu", "hour"]
    assert missing_detail("How many GPU hours did STEER need?", SOURCES) == FIGURE_NOT_GIVEN
    assert missing_detail("How much accuracy does STEER gain?", SOURCES) is None
    assert asked_quantity("How much did it improve?") == []


def test_a_named_benchmark_the_paper_never_mentions_means_no_answer():
    assert unmentioned_names("What does STEER score on GSM8K?", SOURCES) == ["GSM8K"]
    assert missing_detail("What does STEER score on GSM8K?", SOURCES).endswith("GSM8K.")
    assert unmentioned_names("How does STEER keep training stable?", SOURCES) == []
    assert unmentioned_names("Why do LLMs and AI agents collapse?", SOURCES) == []


def test_a_number_about_something_else_does_not_state_the_figure():
    sources = _source(
        "BehaveGPT models user behavior at scale. It achieves more than a 10% improvement in "
        "recall, showing it can predict user behavior.",
        "BehaveGPT",
    )
    assert missing_detail("How many users were in its dataset?", sources) == FIGURE_NOT_GIVEN
    assert missing_detail("How much did recall improve?", sources) is None


def test_a_paper_naming_the_asked_benchmark_counts_as_relevant():
    aime = Paper("a", "Label-free RL", "Training lifts AIME24 pass@1 from 4.6% to 16.4%.")
    other = Paper("o", "Entropy in RL", "Entropy collapses during training.")
    sources = [Source(aime, 0.12, 1, dense=0.12), Source(other, 0.2, 2, dense=0.2)]
    credited = credit_named_papers("Which abstracts report AIME results?", sources, 0.27)
    assert [(s.paper.paper_id, s.score, s.rank) for s in credited] == [
        ("a", 0.27, 1),
        ("o", 0.2, 2),
    ]
    assert credited[0].dense == 0.27
    # A plain word is no name: nothing is credited.
    assert credit_named_papers("Which abstracts report results?", sources, 0.27) == sources


def test_a_name_counts_as_mentioned_in_any_written_form():
    qwen = Paper("q", "Q", "We fine-tune Qwen2.5-7B and evaluate VAEs on AIME'24.")
    sources = [Source(qwen, 0.5, 1)]
    assert unmentioned_names("How do Qwen models and the VAE do on AIME?", sources) == []
    assert unmentioned_names("What about Llama-3 on MATH500?", sources) == ["Llama-3", "MATH500"]


def test_papers_naming_the_asked_thing_move_ahead_of_unrelated_ones():
    aime = Paper("a", "Label-free RL", "Training lifts AIME24 pass@1 from 4.6% to 16.4%.")
    other = Paper("o", "Couch", "Chatbots as therapy clients report results.")
    sources = [Source(other, 0.2, 1, dense=0.2), Source(aime, 0.1, 2, dense=0.1)]
    credited = credit_named_papers("Which papers report results on AIME?", sources, 0.27)
    assert [(s.paper.paper_id, s.rank) for s in credited] == [("a", 1), ("o", 2)]


def test_how_much_better_asks_for_a_figure_about_the_rest_of_the_question():
    gtr = Paper("g", "GTR", "GTR gives 3-5 times higher task success rates than larger models.")
    sources = [Source(gtr, 0.5, 1)]
    assert asked_quantity("How much better was the task success?") == ["task", "success"]
    assert missing_detail("How much better was the task success?", sources) is None
    assert missing_detail("How much better was the GPU memory use?", sources) == FIGURE_NOT_GIVEN


def test_a_near_miss_names_what_the_abstract_lacks():
    assert missing_gap("What learning rate did STEER use?", SOURCES) == (
        FIGURE_NOT_GIVEN,
        "the learning rate",
    )
    assert missing_gap("How many GPU hours did STEER need?", SOURCES)[1] == (
        "the number of GPU hours"
    )
    assert missing_gap("What does STEER score on GSM8K?", SOURCES)[1] == "anything on GSM8K"
    assert missing_gap("How does STEER keep training stable?", SOURCES) is None


def test_an_acronym_is_mentioned_only_in_capitals():
    steering = Paper("e", "EAST", "Entropic activation steering controls agents.")
    assert unmentioned_names("What does STEER reweight?", [Source(steering, 0.5, 1)]) == ["STEER"]
    assert unmentioned_names("What does STEER reweight?", SOURCES) == []
    nested = Paper("l", "Linguistic Collapse", "Causal LLMs show neural collapse.")
    assert unmentioned_names("Do LMs collapse?", [Source(nested, 0.5, 1)]) == []


def test_a_name_only_other_papers_mention_points_away_from_the_conversation():
    behave = Paper("b", "BehaveGPT", "A foundation model for user behaviour.")
    assert names_elsewhere("What learning rate did STEER use?", [STEER, behave], [behave])
    assert not names_elsewhere("What learning rate did STEER use?", [STEER, behave], [STEER])
    assert not names_elsewhere("what did they reweight?", [STEER, behave], [behave])


def test_a_question_for_a_model_needs_the_abstract_to_name_one():
    assert missing_gap("Which base model did STEER fine-tune?", SOURCES) == (
        MODEL_NOT_NAMED,
        "which model it used",
    )
    qwen = Paper("q", "Q", "We fine-tune Qwen2.5-7B with a new reward.")
    assert missing_gap("Which base model did they fine-tune?", [Source(qwen, 0.5, 1)]) is None


def test_a_specific_unit_must_itself_stand_next_to_the_number():
    cure = Paper(
        "c",
        "CURE",
        "CURE keeps entropy 5% higher and improves accuracy by 3 points on six benchmarks.",
    )
    sources = [Source(cure, 0.5, 1)]
    assert asked_quantity("What exact entropy threshold does CURE use?") == ["threshold"]
    assert missing_gap("What exact entropy threshold does CURE use?", sources)[1] == (
        "the exact entropy threshold"
    )
    assert missing_detail("What accuracy gain does CURE report?", sources) is None


def test_a_quantity_after_the_verb_and_article_is_still_asked_for():
    question = "In Linguistic Collapse, what was the largest model size they trained?"
    assert asked_quantity(question) == ["largest", "model", "size"]
    no_size = _source("Models of several sizes are trained on TinyStories.")
    assert missing_gap(question, no_size)[1] == "the largest model size"
    assert missing_gap(question, _source("The largest model size is 410M parameters.")) is None


def test_a_change_is_stated_in_any_change_word_or_next_to_the_asked_benchmark():
    question = "What gains does EPO report on ScienceWorld and ALFWorld?"
    stated = _source("EPO achieves a 152% improvement on ScienceWorld and ALFWorld.")
    assert missing_gap(question, stated) is None
    latency = "What latency reduction does it achieve for private inference?"
    vague = _source(
        "Private inference suffers from latency overheads. We remove 2 nonlinear layers."
    )
    assert missing_gap(latency, vague) == (FIGURE_NOT_GIVEN, "the latency reduction")


def test_a_name_with_digits_is_a_model_only_beside_a_size_or_a_model_word():
    covid = "The COVID-19 pandemic raised suicide risk. We fine-tuned a state-of-the-art model."
    assert missing_detail("Which language model was fine-tuned?", _source(covid)) == (
        MODEL_NOT_NAMED
    )
    llava = "GTR improves the LLaVA-7b model across visual environments."
    assert missing_detail("Which base model did GTR fine-tune?", _source(llava)) is None


def test_a_question_for_versions_needs_a_versioned_model_name():
    families = _source("Frontier models such as ChatGPT, Grok and Gemini were put in therapy.")
    question = "Which exact Gemini and Grok versions were tested?"
    assert missing_gap(question, families) == (MODEL_NOT_NAMED, "which model versions it used")
    versioned = _source("We test Gemini 2.5 Pro and Grok-4 models in therapy sessions.")
    assert missing_gap(question, versioned) is None


def test_a_choice_between_two_names_needs_the_paper_to_name_one():
    question = "What RL algorithm does GTR use underneath, PPO or GRPO?"
    neither = _source("GTR guides thoughts with a corrector during RL training.", "GTR")
    other = Source(Paper("o", "CURE", "CURE extends GRPO and compares with PPO."), 0.3, 2)
    assert missing_gap(question, [*neither, other])[1] == "which of PPO or GRPO it uses"
    one = _source("GTR trains the agent with PPO and a thought corrector.", "GTR")
    assert missing_gap(question, one) is None
