"""Question sets for evaluation: JSONL or CSV with RAGAS field names, read line by line.

Fields: `user_input` (required), `reference`, `reference_contexts`, and ours:
`reference_titles` (gold papers), `required_terms`, `type`, `history` (earlier turns, as
OpenAI-style messages) and `id`. A conversation is one line with `id` and `turns` (each turn a
question's fields without `history`): its turns are asked in order, each with the pipeline's own
earlier answers as the history, so they are read as questions marked with their conversation
and turn number. A malformed line is reported with its number and skipped so
the rest still run; a missing optional field only switches off the metrics that need it. A
question the pipeline would refuse (blank, longer than it accepts) is reported here too, so one
bad line cannot stop an evaluation halfway. Only a file that cannot be read at all raises.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rag.config import AnswerSettings
from rag.errors import QuestionFileError
from rag.search.conversation import ROLES

UNANSWERABLE = "unanswerable"
LIST_FIELDS = ("reference_contexts", "reference_titles", "required_terms")
MAX_CHARS = AnswerSettings().max_question_chars


@dataclass(frozen=True)
class EvalQuestion:
    """One question of an evaluation set."""

    id: str
    user_input: str
    reference: str | None = None
    reference_contexts: tuple[str, ...] = ()
    reference_titles: tuple[str, ...] = ()
    required_terms: tuple[str, ...] = ()
    type: str = "unspecified"
    history: tuple[Mapping[str, str], ...] = field(default=())
    line: int = 0
    # The conversation this question is a turn of ("" for a lone question) and its place in
    # it, from 1: its history is the conversation's earlier turns as the pipeline answered them.
    conversation: str = ""
    turn: int = 0

    @property
    def answerable(self) -> bool:
        return self.type != UNANSWERABLE


@dataclass(frozen=True)
class LineProblem:
    """A line that could not be read as a question."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


def _as_list(value: object, name: str, from_csv: bool) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str) and from_csv:
        # CSV cells hold lists as JSON or as ';'-separated text.
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            return tuple(part.strip() for part in text.split(";") if part.strip())
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"'{name}' must be a list of strings")
    return tuple(value)


def _history(value: object, from_csv: bool) -> tuple[Mapping[str, str], ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str) and from_csv:
        value = json.loads(value)
    if not isinstance(value, list) or not all(
        isinstance(m, dict) and isinstance(m.get("content"), str) for m in value
    ):
        raise ValueError("'history' must be a list of {role, content} messages")
    messages = tuple({"role": m.get("role", "user"), "content": m["content"]} for m in value)
    # The pipeline refuses any other role: one bad line must not stop the run halfway.
    if roles := sorted({repr(m["role"]) for m in messages if m["role"] not in ROLES}):
        raise ValueError(f"'history' roles must be 'user' or 'assistant', got {', '.join(roles)}")
    return messages


def question_from_record(
    record: object, line: int, from_csv: bool = False, max_chars: int = MAX_CHARS
) -> EvalQuestion:
    """Validate one decoded record; raises ValueError with a reason a user can act on."""
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object")
    user_input = record.get("user_input")
    if not isinstance(user_input, str) or not user_input.strip():
        raise ValueError("'user_input' is required and must be non-empty text")
    if len(user_input.strip()) > max_chars:
        raise ValueError(f"'user_input' is longer than {max_chars} characters")
    if not isinstance(record.get("id", ""), str | int):
        raise ValueError("'id' must be text or a whole number")
    reference = record.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise ValueError("'reference' must be text")
    kind = record.get("type") or "unspecified"
    if not isinstance(kind, str):
        raise ValueError("'type' must be text")
    lists = {name: _as_list(record.get(name), name, from_csv) for name in LIST_FIELDS}
    return EvalQuestion(
        id=str(record.get("id") or f"line{line}"),
        user_input=user_input.strip(),
        reference=reference or None,
        type=kind,
        history=_history(record.get("history"), from_csv),
        line=line,
        **lists,
    )


def turns_from_record(
    record: Mapping[str, object], line: int, max_chars: int = MAX_CHARS
) -> list[EvalQuestion]:
    """A conversation's turns as questions, in order; raises ValueError naming the bad turn."""
    turns = record.get("turns")
    if not isinstance(turns, list) or not turns:
        raise ValueError("'turns' must be a non-empty list of questions")
    conversation = str(record.get("id") or f"line{line}")
    questions = []
    for number, turn in enumerate(turns, 1):
        if isinstance(turn, dict) and "history" in turn:
            raise ValueError(f"turn {number}: a conversation's turns take no 'history'")
        try:
            question = question_from_record(turn, line, max_chars=max_chars)
        except ValueError as error:
            raise ValueError(f"turn {number}: {error}") from None
        questions.append(
            dataclasses.replace(
                question, id=f"{conversation}.{number}", conversation=conversation, turn=number
            )
        )
    return questions


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise QuestionFileError(path, "no such question file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise QuestionFileError(path, f"cannot read: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise QuestionFileError(path, "not UTF-8 text (a binary file?)", line) from None


def _csv_records(text: str) -> list[tuple[int, object]]:
    # `line_num` is where a row ends, which stays right when a quoted cell spans lines.
    reader = csv.DictReader(text.splitlines())
    rows: list[tuple[int, object]] = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as error:
        rows.append((reader.line_num, ValueError(f"not valid CSV ({error})")))
    return rows


def _decode(raw: str) -> object:
    """One JSON line, or the ValueError saying why it is not one."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        return ValueError(f"not valid JSON ({error.msg})")
    except ValueError:  # a number of more than 4300 digits
        return ValueError("not valid JSON (a number is too long)")
    except RecursionError:
        return ValueError("not valid JSON (nested too deeply)")


def _records(path: Path) -> list[tuple[int, object]]:
    """(line number, decoded record or the error) for each non-blank line."""
    text = _read_text(path)
    if path.suffix.lower() == ".csv":
        return _csv_records(text)
    lines = text.replace("\r\n", "\n").split("\n")
    return [(number, _decode(raw)) for number, raw in enumerate(lines, 1) if raw.strip()]


def load_questions(
    path: str | Path, max_chars: int = MAX_CHARS
) -> tuple[list[EvalQuestion], list[LineProblem]]:
    """Questions that could be read, and the lines that could not (with reasons).

    `max_chars` is the longest question the pipeline accepts (`answer.max_question_chars`).
    """
    path = Path(path)
    questions: list[EvalQuestion] = []
    problems: list[LineProblem] = []
    seen: set[str] = set()
    for number, record in _records(path):
        try:
            if isinstance(record, Exception):
                raise record
            from_csv = path.suffix.lower() == ".csv"
            if isinstance(record, dict) and "turns" in record:
                read = turns_from_record(record, number, max_chars)
            else:
                read = [question_from_record(record, number, from_csv, max_chars)]
            if repeated := [q.id for q in read if q.id in seen]:
                raise ValueError(f"duplicate id {repeated[0]!r}")
        except (ValueError, TypeError) as error:
            problems.append(LineProblem(str(path), number, str(error)))
            continue
        seen.update(q.id for q in read)
        questions.extend(read)
    return questions, problems
