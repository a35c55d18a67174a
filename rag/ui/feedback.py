"""What the app keeps from a conversation: feedback lines and a Markdown export.

Both are written only inside one data folder chosen by the caller; `inside()` resolves every
path and refuses one that would leave the folder (`..`, absolute names, symlinks out), so a
crafted name cannot write elsewhere. Feedback is appended as JSON Lines, one object per
rating or comment, each carrying the question, the answer and its citations, so the file can
be read without the app; a comment longer than `MAX_COMMENT_CHARS` is refused with a message
saying so, so no visitor can grow the file without bound. The export renumbers citations
across the whole conversation into one reference list, so `[3]` means the same paper
wherever it appears; a model's answer given after the extractive one to the same question
follows it under that question, named as the model's.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.display import readable
from rag.records import Answer

FEEDBACK_FILE = "feedback.jsonl"
EXPORT_FOLDER = "exports"
RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 2000
COMMENT_TOO_LONG = "That comment is too long ({length} characters; the limit is {limit})."
MODEL_ANSWER_LEAD = "*The {mode} model's answer, each sentence checked against its source:*"
_CITATION = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Feedback:
    """One reader's verdict on one answer."""

    question: str
    answer: str
    citations: tuple[dict[str, object], ...]
    rating: str | None  # "up", "down", or None for a comment alone
    comment: str = ""
    mode: str = "extractive"
    time: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        if self.rating is not None and self.rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS} or None, got {self.rating!r}")
        if len(self.comment) > MAX_COMMENT_CHARS:
            length, limit = len(self.comment), MAX_COMMENT_CHARS
            raise ValueError(COMMENT_TOO_LONG.format(length=length, limit=limit))


def feedback_for(answer: Answer, rating: str | None, comment: str = "") -> Feedback:
    """The feedback record for an answer, with its citations as plain data."""
    citations = tuple(answer.to_dict()["citations"])  # type: ignore[arg-type]
    return Feedback(answer.question, answer.text, citations, rating, comment.strip(), answer.mode)


def inside(folder: Path, name: str) -> Path:
    """`folder / name`, refused (ValueError) unless it stays inside `folder`."""
    root = folder.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or path == root:
        raise ValueError(f"{name!r} is not a file inside {root}")
    return path


def append_feedback(folder: Path, entry: Feedback) -> Path:
    """Add one line to the feedback file in `folder`; returns the file."""
    path = inside(folder, FEEDBACK_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
    return path


def read_feedback(folder: Path) -> list[dict[str, object]]:
    """Every feedback line in `folder`, oldest first."""
    path = inside(folder, FEEDBACK_FILE)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def conversation_markdown(answers: Sequence[Answer], title: str = "Digest QA conversation") -> str:
    """The conversation as Markdown: each question and answer, then one reference list."""
    references: dict[str, int] = {}
    entries: list[str] = []
    lines = [f"# {title}", ""]
    for position, answer in enumerate(answers):
        local: dict[int, int] = {}
        for c in answer.citations:
            if c.paper_id not in references:
                references[c.paper_id] = len(references) + 1
                day = c.published.isoformat() if c.published else "undated"
                entries.append(f"{references[c.paper_id]}. {readable(c.title)} ({day})")
            local[c.number] = references[c.paper_id]

        def renumber(match: re.Match[str], local: dict[int, int] = local) -> str:
            number = int(match.group(1))
            return f"[{local[number]}]" if number in local else match.group(0)

        again = position > 0 and answers[position - 1].question == answer.question
        if again and answer.mode != "extractive":
            lines += [MODEL_ANSWER_LEAD.format(mode=answer.mode), ""]
        else:
            lines += [f"**Q:** {answer.question}", ""]
        lines += [_CITATION.sub(renumber, answer.text.strip()), ""]
    if entries:
        lines += ["## References", "", *entries, ""]
    return "\n".join(lines)


def save_export(
    folder: Path,
    text: str,
    now: dt.datetime | None = None,
    kind: str = "conversation",
    suffix: str = "md",
) -> Path:
    """Write an export (a conversation by default) under `folder/exports/`, named by its kind
    and its time."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S-%f")
    path = inside(folder, f"{EXPORT_FOLDER}/{kind}-{stamp}.{suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
