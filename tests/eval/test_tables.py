"""Scoring comparison tables over a question set's theme questions."""

from __future__ import annotations

from rag import EvalQuestion, Pipeline
from rag.eval.tables import table_scores


def test_tables_are_built_for_theme_questions_only_and_scored(seed_pipeline: Pipeline):
    questions = [
        EvalQuestion("m1", "Which papers try to stop entropy collapse in RL?", type="multi"),
        EvalQuestion("s1", "What is neural collapse?", type="single"),
        EvalQuestion("m2", "What work in the digest involves neural collapse?", type="multi"),
        EvalQuestion("m3", "Which papers study vision transformers?", type="multi"),
    ]
    scores, tables = table_scores(questions, seed_pipeline, limit=2)
    assert [t.question for t in tables] == [questions[0].user_input, questions[2].user_input]
    rows = sum(len(t.rows) for t in tables)
    assert rows >= 4 and scores["questions"] == 2 and scores["cells"] == 3 * rows
    assert 0.5 <= scores["filled"] <= 1 and 0.5 <= scores["supported"] <= 1
