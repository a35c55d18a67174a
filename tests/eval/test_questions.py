"""Question files: RAGAS field names, JSONL or CSV, bad lines reported by number, the rest run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.errors import QuestionFileError
from rag.eval.evaluation import RESULTS_FILE
from rag.eval.questions import load_questions


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
    questions, problems = load_questions(Path(__file__).parents[1] / "data" / "questions.jsonl")
    assert problems == []
    assert {q.type for q in questions} >= {"single", "multi", "unanswerable"}


# ---------------------------------------------------------------- a catalogue of bad lines

BAD_LINES = {
    "not valid JSON": "{broken",
    "a number is too long": '{"user_input": "Q?", "upvotes": ' + "9" * 5000 + "}",
    "nested too deeply": "[" * 5000,
    "expected a JSON object": '["user_input", "Q?"]',
    "'user_input' is required": '{"question": "wrong field name?"}',
    "must be non-empty text": '{"user_input": "   "}',
    "longer than 2000 characters": json.dumps({"user_input": "why " * 600}),
    "'id' must be text": '{"id": {"a": 1}, "user_input": "Q?"}',
    "'type' must be text": '{"user_input": "Q?", "type": 3}',
    "'reference' must be text": '{"user_input": "Q?", "reference": ["a"]}',
    "'history' must be a list": '{"user_input": "Q?", "history": "earlier"}',
    "'history' roles must be 'user' or 'assistant', got 'system'": (
        '{"user_input": "Q?", "history": [{"role": "system", "content": "Be brief."}]}'
    ),
    "'reference_contexts' must be": '{"user_input": "Q?", "reference_contexts": {"a": 1}}',
}
GOOD_LINES = [
    '{"id": "tides", "user_input": "How far ahead can tides be forecast?"}',
    '{"id": "soil", "user_input": "How quickly do soil microbes respond to drought?"}',
]


def write_catalogue(path: Path) -> list[int]:
    """Good lines first and last, one bad line of each kind between; the bad line numbers."""
    lines = [GOOD_LINES[0], *BAD_LINES.values(), GOOD_LINES[1]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return list(range(2, 2 + len(BAD_LINES)))


def test_every_kind_of_bad_line_is_reported_by_number_and_the_rest_load(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    bad_numbers = write_catalogue(path)
    questions, problems = load_questions(path)
    assert [q.id for q in questions] == ["tides", "soil"]
    assert [p.line for p in problems] == bad_numbers
    for problem, reason in zip(problems, BAD_LINES, strict=True):
        assert reason in problem.reason, problem


def test_question_length_limit_follows_the_setting(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"user_input": "A short one?"}\n{"user_input": "A much longer one?"}\n')
    questions, problems = load_questions(path, max_chars=12)
    assert [q.user_input for q in questions] == ["A short one?"]
    assert str(problems[0]) == f"{path}:2: 'user_input' is longer than 12 characters"


def test_csv_rows_are_numbered_by_file_line_even_across_quoted_newlines(tmp_path: Path):
    path = tmp_path / "q.csv"
    path.write_text(
        'id,user_input,reference\nc1,First?,"a reference\nover two lines"\nc2,,no question\n'
        'c3,Third?,"[""not"", ""a list""]"\n'
    )
    questions, problems = load_questions(path)
    assert [q.id for q in questions] == ["c1", "c3"]
    assert [(p.line, p.reason) for p in problems] == [
        (4, "'user_input' is required and must be non-empty text")
    ]


def test_file_that_is_not_text_is_one_error_naming_the_line(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'{"user_input": "Fine?"}\n{"user_input": "Caf\xe9?"}\n')
    with pytest.raises(QuestionFileError) as error:
        load_questions(path)
    assert (error.value.line, error.value.reason) == (2, "not UTF-8 text (a binary file?)")


def test_eval_reports_bad_lines_and_evaluates_the_rest(tmp_path: Path, tiny_digest: Path):
    path = tmp_path / "q.jsonl"
    bad_numbers = write_catalogue(path)
    env = {
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "PATH": "/usr/bin:/bin",
        "RAG_INDEX_DIGESTS": str(tiny_digest),
        "RAG_INDEX_PROGRESS": "false",
    }
    out = tmp_path / "report"
    result = subprocess.run(
        [sys.executable, "-m", "rag", "--index", str(tmp_path / "index"), "eval", str(path)]
        + ["--out", str(out)],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped ")]
    assert [int(line.split(":")[1]) for line in skipped] == bad_numbers
    rows = [json.loads(line) for line in (out / RESULTS_FILE).read_text().splitlines()]
    assert sorted(row["id"] for row in rows) == ["soil", "tides"]
    assert f"2 questions, {len(BAD_LINES)} lines skipped" in result.stdout
