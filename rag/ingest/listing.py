"""Parse the scraped "Daily Papers" listing text into `Paper` records; finish papers of any format.

Design: pure (text in, papers out); reading files and choosing the format is `digest`'s job,
which re-exports `parse_listing` and the shared helpers below, so callers import from there.

The scraped listing has no markup, so its structure is read from the shape of paragraphs (runs
of non-blank lines): a *title* is one short line that does not start mid-sentence and is
followed by an *abstract*, a paragraph of at least `MIN_ABSTRACT_WORDS` words; metadata
paragraphs right after an abstract (`• N authors` or an organisation, `·`, a date with optional
upvotes) belong to it. Anything else (page header, truncated fragments, orphan metadata) is
skipped rather than guessed at. Trade-off: a shorter abstract is not recognised; that threshold
is what keeps headers and fragments from becoming papers.

Drafts of papers from every format (listing here, JSON records in `digest`) are finished by
`finish_papers`. A paper seen twice (same normalised title, hence same `paper_id`) is kept
once, at its first position, with its missing fields filled from the repeat. Dates without a
year take the listing's year: the `year` argument, else one more than the latest explicit year
in the file, but never past `today` (see `_listing_year`); such papers get `year_inferred=True`.

Layout trade-off: that shared part (`paper_draft`, `parse_date`, `finish_papers`, and through it
`paper_id_for`, `find_code_urls`, `merge_papers`) lives here rather than in `rag.ingest.digest`, so
imports run one way only (digest -> listing) with no third module; the cost is that JSON
parsing in `digest` reaches into this module for listing-style dates and the finishing step.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from rag.errors import DigestFormatError
from rag.records import Paper

MIN_ABSTRACT_WORDS = 20
MAX_TITLE_WORDS = 40
# Python refuses to read numbers of more than 4300 digits; no count of authors or upvotes is close.
MAX_COUNT_DIGITS = 9

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# "Oct 29, 2022", "Oct 11", "Mar 11 2" (2 upvotes), "Sep 14, 2024 2". A year needs the comma
# or four digits starting 19/20, so that any other trailing number reads as upvotes.
DATE_RE = re.compile(
    r"(?i)([a-z]{3})[a-z]*\.?\s+(\d{1,2})"
    r"(?:(?:,\s*|\s+(?=(?:19|20)\d\d\b))(\d{4}))?(?:\s+(\d+))?"
)
_AUTHORS_RE = re.compile(r"(?i)[•*·-]?\s*(\d+)\s+authors?")
_SEPARATORS = ("·", "•")
# Code-host links are often written without a scheme ("github.com/a/b"); `{` ends a URL because
# scraped LaTeX leaves `\href{url}{text}` and `\footnote{... url.}` behind.
_URL_RE = re.compile(
    r"https?://[^\s<>\"'{}\\|^`]+"
    r"|(?<![\w./@-])(?:www\.)?(?:github\.com|gitlab\.com|huggingface\.co)/"
    r"[^\s<>\"'{}\\|^`]+"
)
_URL_TAIL = ".,;:!?)]}>'\""

Day = dt.date | tuple[int, int] | None  # a date, a (month, day) awaiting its year, or unknown


@dataclasses.dataclass(frozen=True)
class _Block:
    """A paragraph: consecutive non-blank lines, and the 1-based number of the first."""

    line: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(word for line in self.lines for word in line.split())


def parse_listing(
    text: str, source: str, *, year: int | None = None, today: dt.date | None = None
) -> list[Paper]:
    """Papers of a scraped listing, in order; headers, fragments and repeats are skipped."""
    blocks = _blocks(text)
    drafts: list[dict[str, Any]] = []
    i = 0
    while i < len(blocks):
        if not _starts_paper(blocks, i):
            i += 1
            continue
        title, abstract, i = blocks[i], blocks[i + 1], i + 2
        draft = paper_draft(title.text, abstract.text, source, title.line)
        # Only metadata right after the abstract is its own (blank lines may split it);
        # metadata after a fragment belonged to the fragment's lost paper.
        while i < len(blocks) and _is_meta(blocks[i]):
            draft.update(_parse_meta(blocks[i], source))
            i += 1
        drafts.append(draft)
    return finish_papers(drafts, source, year, today)


def _blocks(text: str) -> list[_Block]:
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks, current = [], []
    for number, line in enumerate([*lines, ""], 1):
        if line.strip():
            current.append(line.strip())
        elif current:
            blocks.append(_Block(number - len(current), tuple(current)))
            current = []
    return blocks


def _is_fragment(block: _Block) -> bool:
    """A paragraph cut mid-sentence: it opens with punctuation or an all-lowercase word."""
    first = block.text.split()[0]
    return not first[0].isalnum() or first.islower()


def _is_meta(block: _Block) -> bool:
    """Any line is a whole authors line, a `·` or a date (so no prose line can be)."""
    return any(_meta_kind(line) for line in block.lines)


def _looks_like_title(block: _Block) -> bool:
    short = len(block.lines) == 1 and len(block.text.split()) <= MAX_TITLE_WORDS
    return short and not _is_meta(block) and not _is_fragment(block)


def _looks_like_abstract(block: _Block) -> bool:
    return len(block.text.split()) >= MIN_ABSTRACT_WORDS and not _is_meta(block)


def _starts_paper(blocks: Sequence[_Block], i: int) -> bool:
    """Title then abstract, unless that 'abstract' is a long title with an abstract of its own."""
    pair = i + 1 < len(blocks) and _looks_like_title(blocks[i])
    if not (pair and _looks_like_abstract(blocks[i + 1])):
        return False
    next_is_paper = i + 2 < len(blocks) and _looks_like_abstract(blocks[i + 2])
    return not (next_is_paper and _looks_like_title(blocks[i + 1]))


def _meta_kind(line: str) -> str | None:
    if line in _SEPARATORS:
        return "separator"
    if _AUTHORS_RE.fullmatch(line):
        return "authors"
    match = DATE_RE.fullmatch(line)
    return "date" if match and match.group(1).lower() in MONTHS else None


def _parse_meta(block: _Block, source: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for number, line in enumerate(block.lines, block.line):
        kind = _meta_kind(line)
        try:
            if kind == "authors" and (match := _AUTHORS_RE.fullmatch(line)):
                fields["authors_count"] = _count(match.group(1))
            elif kind == "date":
                fields["published"], fields["upvotes"] = parse_date(line)
        except ValueError as err:
            raise DigestFormatError(source, str(err), number) from None
        if kind is None:
            # "newmindai NewMind AI": the account handle, then the display name.
            fields["organization"] = line.split(None, 1)[-1]
    return fields


# ---------------------------------------------------------------- shared with rag.ingest.digest


def parse_date(text: str) -> tuple[Day, int]:
    """A listing date and its upvotes; (month, day) when the year is not given."""
    match = DATE_RE.fullmatch(text.strip())
    if not match or match.group(1).lower() not in MONTHS:
        raise ValueError(f"unreadable date {text!r}")
    month, day = MONTHS.index(match.group(1).lower()) + 1, int(match.group(2))
    upvotes = _count(match.group(4) or "0")
    if match.group(3) is None:
        return (month, day), upvotes
    try:
        return dt.date(int(match.group(3)), month, day), upvotes
    except ValueError:
        raise ValueError(f"no such date {text!r}") from None


def _count(digits: str) -> int:
    """A count read from a listing; one longer than any real count is an error, not an int."""
    if len(digits) > MAX_COUNT_DIGITS:
        raise ValueError(f"number too long to be a count: {digits[:12]}...")
    return int(digits)


def paper_draft(title: str, abstract: str, source: str, line: int) -> dict[str, Any]:
    """Paper fields before ids, URLs and year-less dates are settled."""
    return {"title": title, "abstract": abstract, "source_file": source, "source_line": line}


def finish_papers(
    drafts: list[dict[str, Any]], source: str, year: int | None, today: dt.date | None
) -> list[Paper]:
    """Papers of one file's drafts: ids, code URLs and years filled in, repeats merged."""
    dates = [d.get("published") for d in drafts]
    explicit = [day.year for day in dates if isinstance(day, dt.date)]
    listing_year, not_after = _listing_year(explicit, year, today or dt.date.today())
    papers = []
    for draft, day in zip(drafts, dates, strict=True):
        if isinstance(day, tuple):
            day = _place(day, listing_year, not_after, source, draft["source_line"])
            draft["year_inferred"] = True
        draft["published"] = day
        draft["year_inferred"] = bool(draft.get("year_inferred")) and day is not None
        draft["paper_id"] = draft.get("paper_id") or paper_id_for(draft["title"])
        if draft.get("code_urls") is None:
            draft["code_urls"] = find_code_urls(draft["abstract"])
        papers.append(Paper(**draft))
    return merge_papers(papers)


def _listing_year(
    explicit: Sequence[int], year: int | None, today: dt.date
) -> tuple[int, dt.date | None]:
    """The year for dates that give none, and the day they may not pass (None: no limit).

    A digest lists new papers beside older, dated ones, so year-less dates are taken to be
    newer than every explicit year; but they cannot lie in the future.
    """
    if year is not None:
        return year, None
    return min(max(explicit) + 1 if explicit else today.year, today.year), today


def _place(
    month_day: tuple[int, int], year: int, not_after: dt.date | None, source: str, line: int
) -> dt.date:
    # Step back a year while the date would be in the future, or is Feb 29 of a common year.
    for candidate in range(year, year - 5, -1):
        try:
            day = dt.date(candidate, *month_day)
        except ValueError:
            continue
        if not_after is None or day <= not_after:
            return day
    raise DigestFormatError(source, f"no such date {month_day[0]}/{month_day[1]}", line or None)


def merge_papers(papers: Iterable[Paper]) -> list[Paper]:
    """One paper per id, at its first position, with missing fields filled from repeats."""
    merged: dict[str, Paper] = {}
    for paper in papers:
        first = merged.get(paper.paper_id)
        merged[paper.paper_id] = paper if first is None else _fill(first, paper)
    return list(merged.values())


def _fill(first: Paper, later: Paper) -> Paper:
    changes = {
        name: getattr(later, name)
        for name in ("authors_count", "organization", "upvotes", "code_urls")
        if not getattr(first, name) and getattr(later, name)
    }
    # A stated date beats one whose year was guessed.
    if later.published and (not first.published or first.year_inferred > later.year_inferred):
        changes.update(published=later.published, year_inferred=later.year_inferred)
    return dataclasses.replace(first, **changes)


def paper_id_for(title: str) -> str:
    """A stable 16-hex id of the title, blind to case, spacing, punctuation and width forms."""
    text = unicodedata.normalize("NFKC", title).casefold()
    # Punctuation becomes a space so that "Edge-of-Reach" and "Edge of Reach" agree.
    text = "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text)
    return hashlib.sha1(" ".join(text.split()).encode("utf-8")).hexdigest()[:16]


def find_code_urls(abstract: str) -> tuple[str, ...]:
    """URLs in an abstract, in order, deduplicated, with a scheme and no trailing punctuation."""
    found: dict[str, None] = {}
    for match in _URL_RE.finditer(abstract):
        url = match.group(0).rstrip(_URL_TAIL).rstrip("/")
        found.setdefault(url if "://" in url else "https://" + url, None)
    return tuple(found)
