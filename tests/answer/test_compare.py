"""The comparison table: cells are the abstract's own clauses, empty when it says nothing."""

from __future__ import annotations

import csv
import io
from datetime import date

from rag.answer.compare import COLUMNS, NOT_STATED, cell_scores, compare_papers
from rag.records import Paper

CURE = Paper(
    "cure",
    "CURE: Critical-Token-Guided Re-Concatenation for Entropy-Collapse Prevention",
    "Recent advances in RLVR have improved reasoning. However, prior pipelines collapse "
    "entropy. To address this issue, we introduce CURE, a two-stage framework that balances "
    "exploration and exploitation. Extensive experiments on Qwen-2.5-Math-7B show that CURE "
    "achieves a 5% performance gain across six math benchmarks.",
    published=date(2025, 8, 14),
    upvotes=3,
)
THEORY = Paper(
    "theory",
    "Neural Collapse in Deep Linear Networks",
    "Modern deep neural networks have achieved impressive performance on many tasks. We prove "
    "that global solutions exhibit neural collapse across the linear layers.",
)


def test_each_column_takes_the_sentence_that_states_it():
    row = compare_papers("Compare entropy collapse fixes", [CURE]).rows[0]
    assert row.proposes.text.startswith("To address this issue, we introduce CURE")
    assert row.evaluated_on.text == "experiments on Qwen-2.5-Math-7B"
    assert row.result.text.startswith("Extensive experiments on Qwen-2.5-Math-7B show")
    for cell in row.cells:
        assert cell.text in cell.sentence and cell.sentence in CURE.abstract
    assert row.values()[3:] == ["2025-08-14", "3"]


def test_a_column_the_abstract_does_not_state_stays_empty_and_says_so():
    row = compare_papers("q", [THEORY]).rows[0]
    assert row.proposes.text.startswith("We prove that global solutions")
    assert not row.evaluated_on.filled
    assert row.evaluated_on.shown() == f"({NOT_STATED})"
    # The opening sentence sets the scene: "have achieved" there is not this paper's result.
    assert not row.result.filled
    assert row.values()[3] == "undated"


def test_markdown_and_csv_hold_every_row_and_escape_digest_text():
    piped = Paper("p", "A | B: pipes", "We propose a | b split. Experiments on X1 show gains.")
    comparison = compare_papers("q", [CURE, piped])
    table = comparison.to_markdown().splitlines()
    assert table[0] == "| paper | " + " | ".join(COLUMNS) + " |"
    assert len(table) == 4 and table[2].startswith("| CURE [1] |")
    assert "A \\| B [2]" in table[3] and "a \\| b split" in table[3]
    rows = list(csv.reader(io.StringIO(comparison.to_csv())))
    assert rows[0] == ["number", "title", *COLUMNS]
    assert rows[2][:2] == ["2", piped.title] and rows[2][2] == "We propose a | b split."


def test_cell_scores_count_filled_cells_and_those_the_abstract_supports():
    comparison = compare_papers("q", [CURE, THEORY])
    # A judge that accepts only words copied from the abstract: every filled cell is copied.
    scores = cell_scores([comparison], lambda text, passages: text in passages[0])
    assert scores == {"cells": 6.0, "filled": 4 / 6, "supported": 1.0}
    assert cell_scores([comparison], lambda text, passages: False)["supported"] == 0.0


def test_a_result_stated_by_any_form_of_a_change_verb_is_the_headline():
    tides = Paper(
        "tides",
        "Tidal Forecasting with Graph Neural Networks",
        "Coastal tide gauges form a natural graph. We train a graph neural network that "
        "forecasts tides. The model lowers forecast error by a third at forty stations.",
    )
    halved = Paper("halved", "Cheap Sorting", "We sort keys. The encoding halved the qubits.")
    increasingly = Paper("inc", "Usage", "We study usage. Models are increasingly deployed.")
    rows = compare_papers("Compare", [tides, halved, increasingly]).rows
    assert rows[0].result.text == "The model lowers forecast error by a third at forty stations."
    assert rows[1].result.text == "The encoding halved the qubits."
    # An adverb of the same stem reports no result.
    assert not rows[2].result.filled
