"""Read digests of paper abstracts (scraped listings, JSON, JSONL) into `Paper` records.

Design: the core is pure (text or decoded JSON items in, papers out); only `load_digest` and
`load_digests` touch files, and every failure there is a `DigestFormatError` naming the file
(and the line where one applies).

The scraped listing has no markup, so its structure is read from the shape of paragraphs (runs
of non-blank lines): a *title* is one short line that does not start mid-sentence and is
followed by an *abstract*, a paragraph of at least `MIN_ABSTRACT_WORDS` words; metadata
paragraphs right after an abstract (`• N authors` or an organisation, `·`, a date with optional
upvotes) belong to it. Anything else (page header, truncated fragments, orphan metadata) is
skipped rather than guessed at. Trade-off: a shorter abstract is not recognised; that threshold
is what keeps headers and fragments from becoming papers.

A paper seen twice (same normalised title, hence same `paper_id`) is kept once, at its first
position, with its missing fields filled from the repeat. Dates without a year take the
listing's year: the `year` argument, else one more than the latest explicit year in the file,
but never past `today` (see `_listing_year`); such papers get `year_inferred=True`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rag.errors import DigestFormatError
from rag.records import Paper

MIN_ABSTRACT_WORDS = 20
MAX_TITLE_WORDS = 40

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# "Oct 29, 2022", "Oct 11", "Mar 11 2" (2 upvotes), "Sep 14, 2024 2". A year needs the comma
# or four digits starting 19/20, so that any other trailing number reads as upvotes.
_DATE_RE = re.compile(
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

_Day = dt.date | tuple[int, int] | None  # a date, a (month, day) awaiting its year, or unknown


@dataclasses.dataclass(frozen=True)
class _Block:
    """A paragraph: consecutive non-blank lines, and the 1-based number of the first."""

    line: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(word for line in self.lines for word in line.split())


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


def content_hash(paper: Paper) -> str:
    """SHA-256 of what the index stores; where the paper sat in which file is left out."""
    fields = paper_to_record(paper)
    for key in ("source_file", "source_line", "year_inferred"):
        del fields[key]
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode("utf-8")).hexdigest()


def paper_to_record(paper: Paper) -> dict[str, Any]:
    """A JSON-ready dict that `parse_records` reads back into an equal paper."""
    record = dataclasses.asdict(paper)
    record["published"] = paper.published.isoformat() if paper.published else None
    record["code_urls"] = list(paper.code_urls)
    return record


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
        draft = _draft(title.text, abstract.text, source, title.line)
        # Only metadata right after the abstract is its own (blank lines may split it);
        # metadata after a fragment belonged to the fragment's lost paper.
        while i < len(blocks) and _is_meta(blocks[i]):
            draft.update(_parse_meta(blocks[i], source))
            i += 1
        drafts.append(draft)
    return _finish(drafts, source, year, today)


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
    match = _DATE_RE.fullmatch(line)
    return "date" if match and match.group(1).lower() in _MONTHS else None


def _parse_meta(block: _Block, source: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for number, line in enumerate(block.lines, block.line):
        kind = _meta_kind(line)
        if kind == "authors" and (match := _AUTHORS_RE.fullmatch(line)):
            fields["authors_count"] = int(match.group(1))
        elif kind == "date":
            try:
                fields["published"], fields["upvotes"] = _parse_date(line)
            except ValueError as err:
                raise DigestFormatError(source, str(err), number) from None
        elif kind is None:
            # "newmindai NewMind AI": the account handle, then the display name.
            fields["organization"] = line.split(None, 1)[-1]
    return fields


def _parse_date(text: str) -> tuple[_Day, int]:
    """A listing date and its upvotes; (month, day) when the year is not given."""
    match = _DATE_RE.fullmatch(text.strip())
    if not match or match.group(1).lower() not in _MONTHS:
        raise ValueError(f"unreadable date {text!r}")
    month, day = _MONTHS.index(match.group(1).lower()) + 1, int(match.group(2))
    upvotes = int(match.group(4) or 0)
    if match.group(3) is None:
        return (month, day), upvotes
    try:
        return dt.date(int(match.group(3)), month, day), upvotes
    except ValueError:
        raise ValueError(f"no such date {text!r}") from None


def _draft(title: str, abstract: str, source: str, line: int) -> dict[str, Any]:
    """Paper fields before ids, URLs and year-less dates are settled."""
    return {"title": title, "abstract": abstract, "source_file": source, "source_line": line}


def _finish(
    drafts: list[dict[str, Any]], source: str, year: int | None, today: dt.date | None
) -> list[Paper]:
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


# `year_inferred` is read back so that a JSON round trip keeps guessed years marked.
_TYPES: dict[str, type] = {"authors_count": int, "upvotes": int, "organization": str}
_TYPES.update(paper_id=str, year_inferred=bool)
_TYPE_NAMES = {int: "a whole number >= 0", str: "a string", bool: "true or false"}


def parse_records(
    items: Sequence[object],
    source: str,
    *,
    year: int | None = None,
    today: dt.date | None = None,
    line_numbers: Sequence[int] | None = None,
) -> list[Paper]:
    """Papers from decoded JSON objects that use Paper's field names.

    `line_numbers` (one per item, as in JSONL) go into errors and `source_line`; without them
    errors name the item as `item [i]` (0-based) and `source_line` is 0.
    """
    drafts = []
    for index, item in enumerate(items):
        line = line_numbers[index] if line_numbers else 0
        try:
            drafts.append(_record_draft(item, source, line))
        except (TypeError, ValueError) as err:
            where = "" if line else f"item [{index}]: "
            raise DigestFormatError(source, f"{where}{err}", line or None) from None
    return _finish(drafts, source, year, today)


def _record_draft(item: object, source: str, line: int) -> dict[str, Any]:
    """Checked fields of one JSON object; raises ValueError saying what is wrong."""
    if not isinstance(item, dict):
        raise TypeError(f"expected an object with title and abstract, got {item!r:.40}")
    for key in ("title", "abstract"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise ValueError(f"{key!r} must be a non-empty string")
    title, abstract = (" ".join(item[key].split()) for key in ("title", "abstract"))
    draft = _draft(title, abstract, source, line)
    for key, kind in _TYPES.items():
        value = item.get(key)
        # bool is an int in Python, but a count of `true` is a mistake in the file.
        wrong_int = kind is int and (isinstance(value, bool) or (value or 0) < 0)
        if value is not None and (not isinstance(value, kind) or wrong_int):
            raise ValueError(f"{key!r} must be {_TYPE_NAMES[kind]}, got {value!r}")
        draft[key] = value
    draft["upvotes"] = draft["upvotes"] or 0
    urls = item.get("code_urls")
    if urls is not None and not (isinstance(urls, list) and all(isinstance(u, str) for u in urls)):
        raise ValueError("'code_urls' must be a list of strings")
    draft["code_urls"] = None if urls is None else tuple(urls)
    draft["published"] = _record_date(item.get("published"))
    return draft


def _record_date(value: object) -> _Day:
    """ISO ("2024-05-27") or listing style ("May 27, 2024", "May 27")."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
        match = _DATE_RE.fullmatch(value.strip())
        if match and match.group(1).lower() in _MONTHS and match.group(4) is None:
            return _parse_date(value)[0]
    raise ValueError(f"'published' must be a date like 2024-05-27, got {value!r}")


def load_digest(
    path: str | Path, *, year: int | None = None, today: dt.date | None = None
) -> list[Paper]:
    """Papers of one file: a `.json` list, `.jsonl`/`.ndjson` lines, else a listing."""
    source, suffix = str(path), Path(path).suffix.lower()
    text = _read_text(Path(path), source)
    if suffix == ".json":
        papers = parse_records(_json_list(text, source), source, year=year, today=today)
    elif suffix in (".jsonl", ".ndjson"):
        items, numbers = _json_lines(text, source)
        papers = parse_records(items, source, year=year, today=today, line_numbers=numbers)
    else:
        papers = parse_listing(text, source, year=year, today=today)
    if not papers:
        reason = f"no papers found (a title line, then a paragraph of {MIN_ABSTRACT_WORDS}+ words)"
        raise DigestFormatError(source, reason)
    return papers


def load_digests(
    paths: Iterable[str | Path], *, year: int | None = None, today: dt.date | None = None
) -> list[Paper]:
    """Papers of several files, in order; a paper found in several files becomes one record.

    Every file is parsed before anything is returned, so one bad file fails the whole call.
    """
    papers = [p for path in paths for p in load_digest(path, year=year, today=today)]
    return merge_papers(papers)


def _read_text(path: Path, source: str) -> str:
    if not path.exists():
        raise DigestFormatError(source, "no such file")
    if path.is_dir():
        raise DigestFormatError(source, "is a directory, not a digest file")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DigestFormatError(source, f"cannot read: {err.strerror or err}") from None
    if b"\0" in data:
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        raise DigestFormatError(source, "binary file (NUL byte), not a text digest", line)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise DigestFormatError(source, "not UTF-8 text (a binary file?)", line) from None
    if not text.strip():
        raise DigestFormatError(source, "empty file")
    return text


def _json_list(text: str, source: str) -> list[object]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as err:
        raise DigestFormatError(source, f"invalid JSON: {err.msg}", err.lineno) from None
    if not isinstance(items, list):
        raise DigestFormatError(source, "expected a JSON list of paper objects")
    return items


def _json_lines(text: str, source: str) -> tuple[list[object], list[int]]:
    items, numbers = [], []
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise DigestFormatError(source, f"invalid JSON: {err.msg}", number) from None
            numbers.append(number)
    return items, numbers
