"""Metric functions against hand-computed values (no model: support is a stub lookup)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from rag.answer.compose import with_citation
from rag.eval import metrics
from rag.search.citations import cited_numbers, split_statements, strip_citations
from rag.texts import LIST_LEAD

# ---------------------------------------------------------------- retrieval


def test_retrieval_scores_by_hand() -> None:
    ranked = {"one": ["g", "x", "y"], "two": ["x", "g"], "pair": ["a", "z"]}
    gold = {"one": {"g"}, "two": {"g"}, "pair": {"a", "b"}}
    scores = metrics.retrieval_scores(ranked, gold)
    assert scores["one"] == {"recall@5": 1.0, "all_gold@5": 1.0, "mrr": 1.0, "ndcg@10": 1.0}
    assert scores["two"]["mrr"] == pytest.approx(0.5)
    assert scores["two"]["ndcg@10"] == pytest.approx(1 / math.log2(3))  # 0.6309
    assert scores["pair"]["recall@5"] == pytest.approx(0.5)
    assert scores["pair"]["all_gold@5"] == 0.0
    assert scores["pair"]["mrr"] == 1.0
    # DCG 1 (a at rank 1) over ideal DCG 1 + 1/log2(3) (two gold at ranks 1 and 2).
    assert scores["pair"]["ndcg@10"] == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_empty_and_missing_runs_score_zero_and_stay() -> None:
    zeros = {"recall@5": 0.0, "all_gold@5": 0.0, "mrr": 0.0, "ndcg@10": 0.0}
    scores = metrics.retrieval_scores(
        {"empty": [], "hit": ["g"]}, {"empty": {"g"}, "hit": {"g"}, "gone": {"g"}}
    )
    assert scores["empty"] == zeros
    assert scores["gone"] == zeros
    assert scores["hit"]["mrr"] == 1.0
    # ranx raises on a run where every query is empty; that must not escape.
    assert metrics.retrieval_scores({"empty": []}, {"empty": {"g"}}) == {"empty": zeros}


def test_unanswerable_questions_are_left_out() -> None:
    scores = metrics.retrieval_scores({"noans": ["x"], "q": ["g"]}, {"noans": set(), "q": ["g"]})
    assert set(scores) == {"q"}


def test_k_names_the_cutoff_and_order_is_the_callers() -> None:
    ranked = {"q10": ["a", "b", "c", "g"], "q9": ["g"]}  # ranx sorts ids; "q10" < "q9"
    scores = metrics.retrieval_scores(ranked, {"q10": ["g"], "q9": ["g"]}, k=3)
    assert set(scores["q10"]) == {"recall@3", "all_gold@3", "mrr", "ndcg@10"}
    assert scores["q10"]["recall@3"] == 0.0
    assert scores["q10"]["all_gold@3"] == 0.0
    assert scores["q10"]["mrr"] == pytest.approx(0.25)
    assert scores["q10"]["ndcg@10"] == pytest.approx(1 / math.log2(5))
    assert scores["q9"]["mrr"] == 1.0


def test_a_repeated_id_keeps_its_first_rank() -> None:
    scores = metrics.retrieval_scores({"q": ["x", "x", "g"]}, {"q": {"g"}})
    assert scores["q"]["mrr"] == pytest.approx(0.5)


# ---------------------------------------------------------------- statements


def test_split_statements_skips_the_lead_and_strips_bullets() -> None:
    lines = [
        LIST_LEAD,
        f"- **GTR**: {with_citation('The authors propose GTR, e.g. a corrector.', 1)}",
        f"- **CURE**: {with_citation('They introduce CURE.', 2)}",
    ]
    assert split_statements("\n".join(lines)) == [
        "The authors propose GTR, e.g. a corrector [1].",
        "They introduce CURE [2].",
    ]


def test_split_statements_splits_prose_into_sentences() -> None:
    text = "The authors find X [1]. They show Y in Fig. 2 [1][2].\n\nIt holds [3]."
    assert split_statements(text) == [
        "The authors find X [1].",
        "They show Y in Fig. 2 [1][2].",
        "It holds [3].",
    ]


def test_cited_numbers_forms_dedup_and_cap() -> None:
    assert cited_numbers("A [1, 2] b [2][3] c [4].") == [1, 2, 3]
    assert cited_numbers("Later first [3][1].") == [3, 1]
    assert cited_numbers("No markers, 2023 and [x].") == []


def test_strip_citations() -> None:
    assert strip_citations("They show Y [1][2].") == "They show Y."
    assert strip_citations("A [1, 2], then b [3].") == "A, then b."


# ---------------------------------------------------------------- ALCE citations


class Lookup:
    """A stub judge: support is looked up by (statement, set of passages); records calls."""

    def __init__(self, table: dict[tuple[str, frozenset[str]], bool]) -> None:
        self.table = table
        self.calls: list[tuple[str, frozenset[str]]] = []

    def __call__(self, statement: str, passages: Sequence[str]) -> bool:
        key = (statement, frozenset(passages))
        self.calls.append(key)
        return self.table.get(key, False)


def judge() -> Lookup:
    return Lookup(
        {
            # s1: p1 alone carries it; p2 adds nothing (the others still support without it).
            ("s1", frozenset({"p1", "p2"})): True,
            ("s1", frozenset({"p1"})): True,
            # s2: neither passage alone, both together: each citation is needed.
            ("s2", frozenset({"p4", "p5"})): True,
            # s4 cites p6, which does not support it (absent from the table).
        }
    )


STATEMENTS = [("s1", ["p1", "p2"]), ("s2", ["p4", "p5"]), ("s3", []), ("s4", ["p6"])]


def test_alce_recall_and_precision_by_hand() -> None:
    support = judge()
    recall, precision = metrics.citation_recall_precision(STATEMENTS, support)
    # Supported: s1, s2 of 4 (s3 is uncited, s4 unsupported).
    assert recall == pytest.approx(2 / 4)
    # Citations 2 + 2 + 0 + 1 = 5; correct: p1 (s1), p4 and p5 (s2); p2 is an over-citation.
    assert precision == pytest.approx(3 / 5)
    # ALCE's order: joint first, then each citation alone; only p2 fails alone, so only p2's
    # remaining citations ({p1}) are asked about afterwards.
    s1_calls = [passages for statement, passages in support.calls if statement == "s1"]
    assert s1_calls == [{"p1", "p2"}, {"p1"}, {"p2"}, {"p1"}]


def test_alce_two_thirds_with_one_over_citation() -> None:
    support = Lookup({("a", frozenset({"p1", "p2"})): True, ("a", frozenset({"p1"})): True})
    support.table[("b", frozenset({"p3"}))] = True
    assert metrics.citation_recall_precision([("a", ["p1", "p2"]), ("b", ["p3"])], support) == (
        pytest.approx(1.0),
        pytest.approx(2 / 3),
    )


def test_alce_undefined_cases() -> None:
    assert metrics.citation_recall_precision([], judge()) == (0.0, 0.0)
    assert metrics.citation_recall_precision([("s3", [])], judge()) == (0.0, 0.0)


def test_faithfulness() -> None:
    assert metrics.faithfulness(STATEMENTS, judge()) == pytest.approx(2 / 4)
    assert metrics.faithfulness([], judge()) == 0.0


# ---------------------------------------------------------------- answers


def test_required_term_recall() -> None:
    text = "A model-based method for Offline RL in a world\u2013model setting with benchmarks."
    assert metrics.required_term_recall(text, ["model based", "offline RL", "world model"]) == 1.0
    assert metrics.required_term_recall(text, ["Model-Based", "entropy"]) == pytest.approx(0.5)
    assert metrics.required_term_recall(text, ["benchmark"]) == 1.0  # plural in the text
    assert metrics.required_term_recall("A world of models.", ["RL"]) == 0.0  # not inside 'world'
    assert metrics.required_term_recall(text, []) is None


def test_paper_citation_scores() -> None:
    assert metrics.paper_citation_scores(["a", "b", "c"], {"a", "d"}) == (
        pytest.approx(1 / 3),
        pytest.approx(1 / 2),
    )
    assert metrics.paper_citation_scores(["a", "a"], {"a"}) == (1.0, 1.0)
    assert metrics.paper_citation_scores([], {"a"}) == (0.0, 0.0)


def test_answer_outcome() -> None:
    assert metrics.answer_outcome(True, True, False, None) == "missing"
    assert metrics.answer_outcome(True, False, False, None) == "missing"
    assert metrics.answer_outcome(False, False, True, 1.0) == "incorrect"
    assert metrics.answer_outcome(False, True, True, 0.5) == "correct"
    assert metrics.answer_outcome(False, True, True, 0.4) == "incorrect"
    assert metrics.answer_outcome(False, True, True, None) == "correct"
    assert metrics.answer_outcome(False, True, False, 1.0) == "incorrect"


def test_abstention_summary_by_hand() -> None:
    rows = [
        (True, False, "correct"),
        (True, False, "incorrect"),
        (True, True, "missing"),
        (False, True, "missing"),
        (False, False, "incorrect"),
        (True, False, "correct"),
        (True, False, "correct"),
    ]
    summary = metrics.abstention_summary(rows)
    assert summary["noans_accuracy"] == pytest.approx(1 / 2)
    assert summary["abstention_recall"] == summary["noans_accuracy"]
    assert summary["hasans_false_refusal_rate"] == pytest.approx(1 / 5)
    assert summary["abstention_precision"] == pytest.approx(1 / 2)
    assert summary["accuracy"] == pytest.approx(3 / 7)
    assert summary["hallucination_rate"] == pytest.approx(2 / 7)
    assert summary["missing_rate"] == pytest.approx(2 / 7)
    assert summary["crag_score"] == pytest.approx(1 / 7)


def test_abstention_summary_empty_denominators() -> None:
    summary = metrics.abstention_summary([(True, False, "correct")])
    assert summary["noans_accuracy"] is None
    assert summary["abstention_precision"] is None
    assert summary["crag_score"] == 1.0
    assert all(value is None for value in metrics.abstention_summary([]).values())
    with pytest.raises(ValueError):
        metrics.abstention_summary([(True, False, "right")])


def test_latency_summary() -> None:
    summary = metrics.latency_summary([0.4, 0.1, 0.3, 0.2])
    assert summary["p50_ms"] == pytest.approx(250.0)
    # Linear: position 0.95 * 3 = 2.85 between 300 and 400 ms.
    assert summary["p95_ms"] == pytest.approx(385.0)
    assert metrics.latency_summary([]) == {"p50_ms": None, "p95_ms": None}


def test_all_gold_with_more_gold_than_k_needs_a_top_k_of_gold_only():
    gold = {"big": {"a", "b", "c", "d"}}
    assert metrics.retrieval_scores({"big": ["a", "b", "x"]}, gold, k=2)["big"]["all_gold@2"] == 1.0
    assert metrics.retrieval_scores({"big": ["a", "x", "b"]}, gold, k=2)["big"]["all_gold@2"] == 0.0


def test_a_question_mark_inside_a_quoted_title_does_not_end_the_statement():
    text = "\u201cIs Model Collapse Inevitable? Breaking the Curse\u201d has 14 authors [1]."
    assert split_statements(text) == [text]
