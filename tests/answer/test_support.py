"""The offline support judge: calibration figures hold, and the cases it must get right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.answer.compose import attribute, third_person
from rag.answer.support import (
    DEFAULT_MIN_OVERLAP,
    DEFAULT_MIN_SIMILARITY,
    EmbeddingSupport,
    calibrate,
    content_words,
    default_support,
    names,
    numbers,
)
from rag.ingest.embedding import Encoder

CALIBRATION = Path(__file__).parents[1] / "data" / "support_calibration.jsonl"
# Measured on the file when the defaults were set (see rag/answer/support.py): balanced accuracy and
# accuracy 0.859 (55/64), precision 0.780, recall 1.000. Small margin for encoder drift.
MEASURED_ACCURACY = 0.859
MARGIN = 0.03


def load_examples() -> list[dict[str, object]]:
    return [json.loads(line) for line in CALIBRATION.read_text(encoding="utf-8").splitlines()]


def abstract(title_start: str) -> str:
    """A paper's abstract, as copied into the calibration file."""
    return next(
        str(e["passage"]) for e in load_examples() if str(e["paper"]).startswith(title_start)
    )


def test_calibration_file_is_balanced_and_large_enough() -> None:
    examples = load_examples()
    assert len(examples) >= 60
    supported = sum(1 for e in examples if e["supported"])
    assert abs(supported - (len(examples) - supported)) <= len(examples) // 10
    assert {e["kind"] for e in examples} >= {"verbatim", "pronoun", "changed_number", "negation"}


def test_calibration_meets_the_measured_figures(encoder: Encoder) -> None:
    examples = [
        (str(e["statement"]), str(e["passage"]), bool(e["supported"])) for e in load_examples()
    ]
    fitted = calibrate(examples, encoder)
    assert fitted.examples == len(examples)
    assert fitted.accuracy >= MEASURED_ACCURACY - MARGIN
    # The shipped defaults are the fitted thresholds and score as well.
    judge = default_support(encoder)
    hits = sum(judge(statement, [passage]) == gold for statement, passage, gold in examples)
    assert hits / len(examples) >= MEASURED_ACCURACY - MARGIN
    assert (judge.min_similarity, judge.min_overlap) == (
        DEFAULT_MIN_SIMILARITY,
        DEFAULT_MIN_OVERLAP,
    )


@pytest.fixture(scope="module")
def judge(encoder: Encoder) -> EmbeddingSupport:
    return default_support(encoder)


GTR_SENTENCE = (
    "We find that when rewards are based solely on action outcomes, RL fails to incentivize CoT "
    "reasoning in VLMs, instead leading to a phenomenon we termed thought collapse, "
    "characterized by a rapid loss of diversity in the agent's thoughts, state-irrelevant and "
    "incomplete reasoning, and subsequent invalid actions, resulting in negative rewards."
)


def test_verbatim_sentence_is_supported(judge: EmbeddingSupport) -> None:
    assert judge(GTR_SENTENCE, [abstract("GTR:")])


def test_sentence_reworded_by_the_composer_is_supported(judge: EmbeddingSupport) -> None:
    reworded = attribute(third_person(GTR_SENTENCE, "GTR: Guided Thought Reinforcement"))
    assert reworded.startswith("The authors find")
    assert judge(f"{reworded} [1]", [abstract("GTR:")])  # a stray marker is not a number


def test_another_papers_sentence_is_unsupported(judge: EmbeddingSupport) -> None:
    assert not judge(GTR_SENTENCE, [abstract("CURE:")])
    assert judge(GTR_SENTENCE, [abstract("CURE:"), abstract("GTR:")])  # jointly, it is


def test_changed_number_is_unsupported(judge: EmbeddingSupport) -> None:
    passage = abstract("GTR:")
    original = "GTR achieves 3-5 times higher task success rates than SoTA models."
    assert judge(original, [passage])
    assert not judge(original.replace("3-5", "10"), [passage])


def test_method_credited_to_the_wrong_paper_is_unsupported(judge: EmbeddingSupport) -> None:
    claim = "{} re-generates at high-entropy critical tokens to prevent entropy collapse."
    assert judge(claim.format("CURE"), [abstract("CURE:")])
    assert not judge(claim.format("GTR"), [abstract("CURE:")])


def test_negation_is_a_known_blind_spot(judge: EmbeddingSupport) -> None:
    # Documented in rag/answer/support.py: flipping a claim keeps similarity and overlap
    # high. If this starts failing the judge got better: update the docstring's figures with it.
    assert judge(
        "Models are able to directly output their trigger by default.", [abstract("Tell me")]
    )


def test_nothing_cited_is_unsupported(judge: EmbeddingSupport) -> None:
    assert not judge(GTR_SENTENCE, [])
    assert not judge("", [abstract("GTR:")])


def test_lexical_helpers() -> None:
    assert content_words("They propose the benchmarks and policies [2].") == {"benchmark", "policy"}
    assert numbers("3-5 times, 1,302 questions, five domains on Qwen2.5-7B [4].") == {
        "3",
        "5",
        "1302",
        "qwen2.5",
        "7b",
    }
    assert names("GTR beats LLaVA and LLMs; The authors agree.") == {"gtr", "llava", "llm"}
