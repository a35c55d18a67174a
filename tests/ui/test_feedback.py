"""Feedback lines and the Markdown export, written only inside the data folder."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from rag.records import Answer, Citation
from rag.ui.feedback import (
    MAX_COMMENT_CHARS,
    Feedback,
    append_feedback,
    conversation_markdown,
    feedback_for,
    inside,
    read_feedback,
    save_export,
)

TIDES = Citation(1, "tides", "Tidal Forecasting", dt.date(2024, 5, 27), "Tides are forecast.")
SOIL = Citation(1, "soil", "Soil Microbes", None, "Microbes respond.")


def test_feedback_lines_accumulate_with_question_answer_and_citations(tmp_path: Path) -> None:
    answer = Answer("How are tides forecast?", "With a graph network [1].", (TIDES,))
    append_feedback(tmp_path, feedback_for(answer, "up"))
    append_feedback(tmp_path, feedback_for(answer, "up", "  Clear answer. "))

    lines = read_feedback(tmp_path)
    assert [(x["rating"], x["comment"]) for x in lines] == [("up", ""), ("up", "Clear answer.")]
    assert lines[0]["answer"] == "With a graph network [1]."
    assert lines[0]["citations"] == [
        {
            "number": 1,
            "paper_id": "tides",
            "title": "Tidal Forecasting",
            "published": "2024-05-27",
            "snippet": "Tides are forecast.",
        }
    ]


def test_a_rating_other_than_up_or_down_is_refused() -> None:
    with pytest.raises(ValueError, match="rating"):
        Feedback("q", "a", (), "meh")


def test_a_comment_longer_than_the_limit_is_refused_with_its_length_and_the_limit() -> None:
    answer = Answer("How are tides forecast?", "With a graph network [1].", (TIDES,))

    assert feedback_for(answer, "up", "x" * MAX_COMMENT_CHARS).comment == "x" * MAX_COMMENT_CHARS
    too_long = f"That comment is too long ({MAX_COMMENT_CHARS + 1} characters; the limit is"
    with pytest.raises(ValueError, match=re.escape(too_long)):
        feedback_for(answer, "up", "x" * (MAX_COMMENT_CHARS + 1))


@pytest.mark.parametrize("name", ["../escape.md", "/etc/passwd", "exports/../../x", "."])
def test_paths_outside_the_data_folder_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a file inside"):
        inside(tmp_path / "data", name)


def test_export_numbers_references_across_the_conversation(tmp_path: Path) -> None:
    answers = [
        Answer("How are tides forecast?", "With a graph network [1].", (TIDES,)),
        Answer(
            "And soil?",
            "Microbes respond [1], unlike tides [2].",
            (SOIL, dataclasses.replace(TIDES, number=2)),
        ),
    ]
    markdown = conversation_markdown(answers)

    assert "**Q:** How are tides forecast?\n\nWith a graph network [1]." in markdown
    assert "Microbes respond [2], unlike tides [1]." in markdown
    assert markdown.endswith(
        "## References\n\n1. Tidal Forecasting (2024-05-27)\n2. Soil Microbes (undated)\n"
    )
    path = save_export(tmp_path, markdown, dt.datetime(2026, 1, 2, 3, 4, 5))
    assert path.parent == (tmp_path / "exports").resolve()
    assert path.name == "conversation-20260102-030405-000000.md"
    assert path.read_text(encoding="utf-8") == markdown
