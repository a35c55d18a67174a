"""How well a paper shown beside an answer matches the question: the label a reader sees.

A label is a claim about the paper ("strong match": this paper answers the question), so it is
graded by the same relevance thresholds the answerer decides with, and a paper the answer did
not rest on (a nearest paper under a refusal) is never called strong.
"""

from __future__ import annotations

from rag.answer.facts import METADATA_MATCH_SCORE
from rag.config import AnswerSettings
from rag.records import Answer, Source

GRADES = ("strong", "partial", "weak")
# Nearest papers shown under a refusal.
NEAREST_SHOWN = 3


def match_grade(score: float | None, settings: AnswerSettings, answered: bool = True) -> str:
    """ "strong", "partial" or "weak"; "" for a paper chosen by its record (no similarity chose
    it). A paper the answer did not rest on is at best "partial"."""
    if score is None or score >= METADATA_MATCH_SCORE:
        return ""
    if score >= settings.confident_relevance and answered:
        return "strong"
    return "partial" if score >= settings.min_relevance else "weak"


def shown_sources(answer: Answer) -> list[tuple[Source, bool]]:
    """The papers a reader sees beside the answer, each with whether the answer rests on it:
    the cited papers, and under a refusal the nearest ones too."""
    cited = {c.paper_id for c in answer.citations}
    shown = [(s, not answer.abstained) for s in answer.sources if s.paper.paper_id in cited]
    if answer.abstained:
        nearest = [s for s in answer.sources if s.paper.paper_id not in cited]
        shown += [(s, False) for s in nearest[:NEAREST_SHOWN]]
    return shown


def strong_papers(answer: Answer, settings: AnswerSettings) -> list[str]:
    """Ids of the papers shown with a "strong match" label."""
    return [
        s.paper.paper_id
        for s, answered in shown_sources(answer)
        if match_grade(s.score, settings, answered) == "strong"
    ]
