"""Digest text as a person reads it: LaTeX and escapes shown as their characters."""

from __future__ import annotations

import pytest

from rag.display import readable


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ('low "follow rates" (leq 11%, GPT-5: 4\\%)', 'low "follow rates" (≤ 11%, GPT-5: 4%)'),
        (
            "modes: {\\em entropy collapse} in deeper layers",
            "modes: entropy collapse in deeper layers",
        ),
        ("such as e.g.\\ the discount rate", "such as e.g. the discount rate"),
        ("editing of images, \\eg, adjust the cup", "editing of images, e.g., adjust the cup"),
        ("a $\\times 3$ speedup at $\\leq$ 5 ms", "a × 3 speedup at ≤ 5 ms"),
        (
            "benchmarks \\footnote{Our code is at https://x.org/a.",
            "benchmarks (Our code is at https://x.org/a.)",
        ),
        ("see \\href{https://x.org}{our page} and \\textbf{bold}", "see our page and bold"),
        ("code is at this https URL.", "code is at a link given in the paper."),
        ("costs $5 and $10 a month", "costs $5 and $10 a month"),  # prices are not math
        ("plain text stays as it is.", "plain text stays as it is."),
    ],
)
def test_latex_left_in_an_abstract_reads_as_its_characters(stored: str, shown: str):
    assert readable(stored) == shown
    assert readable(shown) == shown  # idempotent


def test_an_answer_quotes_the_abstract_as_characters_and_keeps_the_stored_sentence(seed_pipeline):
    answer = seed_pipeline.ask("How low were the follow rates of the strongest models in Parrot?")
    assert "4%" in answer.text and "4\\%" not in answer.text
    assert "leq" not in answer.text
    paper = seed_pipeline.papers[answer.citations[0].paper_id]
    assert "4\\%" in paper.abstract  # the stored abstract is unchanged
