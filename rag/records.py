"""Typed records that flow through the pipeline: Paper -> Chunk -> Source -> Answer.

Records are frozen dataclasses that carry data only; every stage reads and writes
these, so later stages (filters, evaluation, the app) find what they need on them
instead of reaching back into files or the index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace


def short_title(title: str) -> str:
    """The part of a title before its subtitle: 'GTR: Guided ...' -> 'GTR'."""
    head = title.split(":", 1)[0].strip()
    return head if len(head) >= 3 else title


@dataclass(frozen=True)
class Paper:
    """One paper of a digest, as parsed from a listing or a JSON file."""

    paper_id: str
    title: str
    abstract: str
    authors_count: int | None = None
    organization: str | None = None
    published: dt.date | None = None
    year_inferred: bool = False
    upvotes: int = 0
    code_urls: tuple[str, ...] = ()
    source_file: str = ""
    source_line: int = 0

    @property
    def byline(self) -> str:
        """Authors count or organisation, as a reader would say it ('' when unknown)."""
        if self.organization:
            return self.organization
        if self.authors_count is not None:
            return f"{self.authors_count} author{'s' if self.authors_count != 1 else ''}"
        return ""


@dataclass(frozen=True)
class Chunk:
    """A piece of one abstract, small enough for the encoder's window."""

    chunk_id: str
    paper_id: str
    number: int
    text: str
    embed_text: str


@dataclass(frozen=True)
class Source:
    """A retrieved paper with its relevance and the chunks that matched."""

    paper: Paper
    score: float
    rank: int
    chunk_texts: tuple[str, ...] = ()
    dense: float = 0.0
    keyword: float = 0.0


@dataclass(frozen=True)
class Citation:
    """A numbered reference in an answer: `[number]` in the text points here."""

    number: int
    paper_id: str
    title: str
    published: dt.date | None
    snippet: str


@dataclass(frozen=True)
class Sentence:
    """One sentence of a generated answer, the sources it cites and whether they back it.

    `supported` is None when nothing was checked (the sentence cites no source)."""

    text: str
    citations: tuple[int, ...] = ()
    supported: bool | None = None


@dataclass(frozen=True)
class Answer:
    """The reply to one question, with its evidence."""

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    sources: tuple[Source, ...] = ()
    abstained: bool = False
    mode: str = "extractive"
    query: str = ""
    filters: tuple[str, ...] = ()
    # The filter fields behind each label in `filters`, for `ask(..., ignore=...)`.
    filter_fields: tuple[tuple[str, ...], ...] = ()
    # Why the answer is not from the requested backend ("" when it is).
    note: str = ""
    # Generated answers only: each sentence with its verdict against the sources it cites.
    sentences: tuple[Sentence, ...] = ()
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    def as_message(self) -> dict[str, str]:
        """The answer as an assistant turn of a history: its text, then a line per citation
        ("[1] Title"), which is how a follow-up finds the papers "it" and "they" mean."""
        cited = "\n".join(f"[{c.number}] {c.title}" for c in self.citations)
        return {"role": "assistant", "content": f"{self.text}\n{cited}".strip()}

    def timed(self, step: str, seconds: float) -> Answer:
        """This answer with how long `step` took added to its timings."""
        return replace(self, timings={**self.timings, step: seconds})

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view (dates as ISO strings)."""

        def iso(day: dt.date | None) -> str | None:
            return day.isoformat() if day else None

        return {
            "question": self.question,
            "text": self.text,
            "abstained": self.abstained,
            "mode": self.mode,
            "query": self.query or self.question,
            "filters": list(self.filters),
            "filter_fields": [list(names) for names in self.filter_fields],
            "note": self.note,
            "sentences": [
                {"text": s.text, "citations": list(s.citations), "supported": s.supported}
                for s in self.sentences
            ],
            "citations": [
                {
                    "number": c.number,
                    "paper_id": c.paper_id,
                    "title": c.title,
                    "published": iso(c.published),
                    "snippet": c.snippet,
                }
                for c in self.citations
            ],
            "sources": [
                {
                    "rank": s.rank,
                    "paper_id": s.paper.paper_id,
                    "title": s.paper.title,
                    "published": iso(s.paper.published),
                    "byline": s.paper.byline,
                    "upvotes": s.paper.upvotes,
                    "score": round(s.score, 4),
                    "dense": round(s.dense, 4),
                    "keyword": round(s.keyword, 4),
                }
                for s in self.sources
            ],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }
