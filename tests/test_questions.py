"""Question files: RAGAS field names, JSONL or CSV, bad lines reported by number."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import QuestionFileError
from rag.questions import load_questions


def test_jsonl_with_every_field(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"id": "a", "user_input": " What is X? ", "reference": "X is Y.", '
        '"reference_titles": ["Paper X"], "required_terms": ["Y"], "type": "single", '
        '"history": [{"role": "user", "content": "Tell me about X"}]}\n'
    )
    [question], problems = load_questions(path)
    assert problems == []
    assert question.user_input == "What is X?"
    assert question.reference_titles == ("Paper X",)
    assert question.required_terms == ("Y",)
    assert question.history == ({"role": "user", "content": "Tell me about X"},)
    assert question.answerable


def test_bad_lines_are_reported_by_number_and_the_rest_load(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"user_input": "First?"}\n'
        "{not json\n"
        "\n"
        '{"reference": "no question"}\n'
        '{"user_input": "Typed?", "reference_titles": "not a list"}\n'
        '{"user_input": "Last?", "type": "unanswerable"}\n'
    )
    questions, problems = load_questions(path)
    assert [q.user_input for q in questions] == ["First?", "Last?"]
    assert [p.line for p in problems] == [2, 4, 5]
    assert "'reference_titles' must be a list of strings" in problems[2].reason
    assert "not valid JSON" in str(problems[0])
    assert str(problems[1]).startswith(f"{path}:4: 'user_input' is required")
    assert not questions[1].answerable


def test_wrong_types_are_reported(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"user_input": "Q?", "required_terms": [1, 2]}\n{"user_input": 5}\n')
    questions, problems = load_questions(path)
    assert questions == []
    assert [p.line for p in problems] == [1, 2]
    assert "'required_terms' must be a list of strings" in problems[0].reason


def test_duplicate_ids_are_reported(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "x", "user_input": "A?"}\n{"id": "x", "user_input": "B?"}\n')
    questions, problems = load_questions(path)
    assert [q.user_input for q in questions] == ["A?"]
    assert "duplicate id 'x'" in problems[0].reason


def test_csv_with_lists_as_json_or_semicolons(tmp_path: Path):
    path = tmp_path / "q.csv"
    path.write_text(
        "id,user_input,reference_titles,required_terms,type\n"
        'c1,What is X?,"[""Paper X"", ""Paper Y""]",alpha; beta,multi\n'
    )
    [question], problems = load_questions(path)
    assert problems == []
    assert question.reference_titles == ("Paper X", "Paper Y")
    assert question.required_terms == ("alpha", "beta")
    assert question.type == "multi"


def test_missing_file_is_one_clear_error(tmp_path: Path):
    with pytest.raises(QuestionFileError, match="no such question file"):
        load_questions(tmp_path / "absent.jsonl")


def test_the_development_set_loads_cleanly():
    questions, problems = load_questions(Path(__file__).parent / "data" / "questions.jsonl")
    assert problems == []
    assert {q.type for q in questions} >= {"single", "multi", "unanswerable"}
