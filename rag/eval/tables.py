"""How good the comparison tables are: filled cells, and cells their abstract supports.

A table is built for each multi-paper question of a set (the questions whose answer draws on
several papers of one theme, as a comparison does) and scored by `cell_scores`: the share of
cells the abstracts let us fill, and the share of filled cells the evaluation's support judge
finds in the cited abstract. There is no gold table to compare against; these two figures say
whether the cells are real and how often the abstracts leave a gap.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.compare import Comparison, cell_scores
from rag.eval.questions import EvalQuestion
from rag.pipeline import Pipeline

THEME_TYPE = "multi"


def table_scores(
    questions: Sequence[EvalQuestion], pipeline: Pipeline, limit: int
) -> tuple[dict[str, float], list[Comparison]]:
    """Scores over the tables of the first `limit` multi-paper questions, and the tables."""
    themes = [q for q in questions if q.type == THEME_TYPE][:limit]
    tables = [pipeline.compare(q.user_input) for q in themes]
    scores = cell_scores(tables, pipeline.support)
    return {"questions": float(len(themes)), **scores}, tables
