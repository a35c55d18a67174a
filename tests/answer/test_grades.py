"""Match labels: "strong" only on a paper the answer rests on."""

from __future__ import annotations

from rag.answer.grades import match_grade, strong_papers
from rag.config import AnswerSettings
from rag.records import Answer, Citation, Paper, Source
from rag.ui.format import not_covered_html

SETTINGS = AnswerSettings()
CLOSE = Paper("close", "A Close Paper", "It is close to the question. It says more.")
OTHER = Paper("other", "Another Paper", "It is less close.")
SOURCES = (Source(CLOSE, 0.62, 1), Source(OTHER, 0.30, 2))


def test_grades_follow_the_answerer_s_thresholds():
    assert match_grade(0.62, SETTINGS) == "strong"
    assert match_grade(0.30, SETTINGS) == "partial"
    assert match_grade(0.10, SETTINGS) == "weak"
    assert match_grade(1.0, SETTINGS) == ""  # chosen by its record
    assert match_grade(None, SETTINGS) == ""


def test_a_paper_the_answer_does_not_rest_on_is_never_strong():
    assert match_grade(0.62, SETTINGS, answered=False) == "partial"
    cited = Citation(1, "close", CLOSE.title, None, "It is close to the question.")
    answered = Answer("q", "It is close [1].", citations=(cited,), sources=SOURCES)
    refused = Answer(
        "q", "The digest does not cover this question.", sources=SOURCES, abstained=True
    )
    assert strong_papers(answered, SETTINGS) == ["close"]
    assert strong_papers(refused, SETTINGS) == []
    html = not_covered_html(refused, "k")
    assert "strong match" not in html and "partial match 0.62" in html
