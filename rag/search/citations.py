"""Citation markers in answer text: the statements an answer makes and the papers each cites.

Shared by the follow-up reader (`conversation`, which reads the last answer's citations), the
answer's own verification and support judge (`rag.answer.grounding`, `rag.answer.support`) and
the evaluation's citation metrics (`rag.eval.metrics`), so all of them read an answer the same
way. It sits in the search stage, the lowest that reads citations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.ingest.chunking import split_sentences

_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_CITATION_WITH_SPACE = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
# A list answer's line: "- **Short title**: sentence [2]." The prefix names the paper for the
# reader; the claim to check is the sentence, so the prefix is always stripped.
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+(?:\*\*[^*]+\*\*\s*:\s*)?")
# ALCE scores at most the first three citations of a statement.
MAX_CITATIONS = 3


def split_statements(text: str) -> list[str]:
    """The statements of an answer to score, citation markers kept.

    Rules: each line is split into sentences with `rag.ingest.chunking.split_sentences`, except a
    bullet line (`- **Title**: sentence [2].`), which is one statement with its bullet and
    bold title prefix stripped. A line ending with ':' is a lead ("Several papers in the
    digest address this:") that introduces a list; it makes no claim and is not scored.
    """
    statements: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.endswith(":"):
            continue
        bullet = _BULLET.match(line)
        if bullet:
            body = line[bullet.end() :].strip()
            if body:
                statements.append(body)
            continue
        statements.extend(_rejoin_quoted(split_sentences(line)))
    return statements


def _rejoin_quoted(pieces: Sequence[str]) -> list[str]:
    """Sentences with any split inside a quotation undone: a quoted title such as
    “Is Model Collapse Inevitable? Breaking the Curse ...” is part of its sentence."""
    joined: list[str] = []
    for piece in pieces:
        if joined and joined[-1].count("“") > joined[-1].count("”"):
            joined[-1] = f"{joined[-1]} {piece}"
        else:
            joined.append(piece)
    return joined


def citation_numbers(text: str) -> list[int]:
    """Every citation number of `[1]`, `[1, 2]` and `[1][2]` markers, deduplicated in order."""
    numbers: list[int] = []
    for group in _CITATION.findall(text):
        numbers.extend(int(n) for n in group.split(","))
    return list(dict.fromkeys(numbers))


def cited_numbers(statement: str) -> list[int]:
    """A statement's citation numbers, at most the first three (ALCE's cap, so padding a
    sentence with citations cannot pay)."""
    return citation_numbers(statement)[:MAX_CITATIONS]


def strip_citations(statement: str) -> str:
    """The statement without its `[n]` markers: 'X holds [1].' -> 'X holds.'"""
    return _CITATION_WITH_SPACE.sub("", statement).strip()
