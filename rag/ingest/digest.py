"""Load digests of paper abstracts (scraped listings, JSON, JSONL) into `Paper` records.

Design: the core is pure (text or decoded JSON items in, papers out); only `load_digest` and
`load_digests` touch files, and every failure there is a `DigestFormatError` naming the file
(and the line where one applies). The format is chosen by suffix: `.json` is a list of objects,
`.jsonl`/`.ndjson` one object a line (using `Paper`'s field names), anything else is a scraped
listing, parsed by `rag.ingest.listing`.

This module is the public face: it re-exports `parse_listing` and the helpers that live in
`listing` (`paper_id_for`, `find_code_urls`, `merge_papers`), so callers import everything
from `rag.ingest.digest`. Imports run one way (digest -> listing): JSON records are finished by the
same code as listings (ids, code URLs, year inference, merging of repeats), which is why that
code lives there. Trade-off: a `published` value may be ISO or listing style, but listing-style
upvotes are not accepted in JSON, where `upvotes` has its own field.

`load_digests` merges a paper found in several files into one record (the first, with missing
fields filled from the later ones), and parses every file before returning anything. Only
regular files are read (a FIFO would block forever, a device never ends), and none larger than
`max_bytes` (`RAG_INDEX_MAX_DIGEST_MB`), so one bad path cannot hang or exhaust the process.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rag.errors import DigestFormatError
from rag.ingest.listing import (
    DATE_RE,
    MAX_TITLE_WORDS,
    MIN_ABSTRACT_WORDS,
    MONTHS,
    Day,
    find_code_urls,
    finish_papers,
    merge_papers,
    paper_draft,
    paper_id_for,
    parse_date,
    parse_listing,
)
from rag.records import Paper

__all__ = [
    "MAX_TITLE_WORDS",
    "MIN_ABSTRACT_WORDS",
    "content_hash",
    "find_code_urls",
    "load_digest",
    "load_digests",
    "merge_papers",
    "paper_id_for",
    "paper_to_record",
    "parse_listing",
    "parse_records",
]


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
    return finish_papers(drafts, source, year, today)


# Every string field a paper is made from (other keys are ignored, so they may hold anything).
_TEXT_FIELDS = ("title", "abstract", "organization", "paper_id", "published", "code_urls")


def _check_text(item: dict[str, Any]) -> None:
    """Refuse text that is not Unicode: JSON can escape a lone surrogate ("\\ud800"), which no
    file, database or tokenizer can store."""
    for key in _TEXT_FIELDS:
        value = item.get(key)
        for text in value if isinstance(value, list) else [value]:
            if not isinstance(text, str):
                continue
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as err:
                code = ord(text[err.start])
                raise ValueError(
                    f"{key!r} holds a lone surrogate \\u{code:04x}, which is not a character"
                ) from None


def _record_draft(item: object, source: str, line: int) -> dict[str, Any]:
    """Checked fields of one JSON object; raises ValueError saying what is wrong."""
    if not isinstance(item, dict):
        raise TypeError(f"expected an object with title and abstract, got {item!r:.40}")
    _check_text(item)
    for key in ("title", "abstract"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise ValueError(f"{key!r} must be a non-empty string")
    title, abstract = (" ".join(item[key].split()) for key in ("title", "abstract"))
    draft = paper_draft(title, abstract, source, line)
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


def _record_date(value: object) -> Day:
    """ISO ("2024-05-27") or listing style ("May 27, 2024", "May 27")."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
        match = DATE_RE.fullmatch(value.strip())
        if match and match.group(1).lower() in MONTHS and match.group(4) is None:
            return parse_date(value)[0]
    raise ValueError(f"'published' must be a date like 2024-05-27, got {value!r}")


# Default for `max_bytes`: the RAG_INDEX_MAX_DIGEST_MB setting's default.
MAX_DIGEST_BYTES = 100_000_000


def load_digest(
    path: str | Path,
    *,
    year: int | None = None,
    today: dt.date | None = None,
    max_bytes: int = MAX_DIGEST_BYTES,
) -> list[Paper]:
    """Papers of one file: a `.json` list, `.jsonl`/`.ndjson` lines, else a listing."""
    source, suffix = str(path), Path(path).suffix.lower()
    text = _read_text(Path(path), source, max_bytes)
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
    paths: Iterable[str | Path],
    *,
    year: int | None = None,
    today: dt.date | None = None,
    max_bytes: int = MAX_DIGEST_BYTES,
) -> list[Paper]:
    """Papers of several files, in order; a paper found in several files becomes one record.

    Every file is parsed before anything is returned, so one bad file fails the whole call.
    """
    papers = [
        p for path in paths for p in load_digest(path, year=year, today=today, max_bytes=max_bytes)
    ]
    return merge_papers(papers)


def _too_large(size: str, max_bytes: int) -> str:
    limit = f"{max_bytes / 1e6:g} MB"
    return f"{size}, over the {limit} limit for one digest file (RAG_INDEX_MAX_DIGEST_MB)"


def _read_bytes(path: Path, source: str, max_bytes: int) -> bytes:
    """The file's bytes: a regular file only, at most `max_bytes` of it."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise DigestFormatError(source, "no such file") from None
    except OSError as err:
        raise DigestFormatError(source, f"cannot read: {err.strerror or err}") from None
    try:
        _check_regular(os.fstat(fd), source, max_bytes)
        file = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with file:
        try:
            data = file.read(max_bytes + 1)  # the file may have grown since it was checked
        except OSError as err:
            raise DigestFormatError(source, f"cannot read: {err.strerror or err}") from None
    if len(data) > max_bytes:
        raise DigestFormatError(source, _too_large("grew while being read", max_bytes))
    return data


def _check_regular(info: os.stat_result, source: str, max_bytes: int) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise DigestFormatError(source, "is a directory, not a digest file")
    if not stat.S_ISREG(info.st_mode):
        raise DigestFormatError(source, "not a regular file (a pipe, device or socket)")
    if info.st_size > max_bytes:
        raise DigestFormatError(source, _too_large(f"{info.st_size / 1e6:.1f} MB", max_bytes))


def _read_text(path: Path, source: str, max_bytes: int = MAX_DIGEST_BYTES) -> str:
    data = _read_bytes(path, source, max_bytes)
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
    items = _decode_json(text, source)
    if not isinstance(items, list):
        raise DigestFormatError(source, "expected a JSON list of paper objects")
    return items


def _json_lines(text: str, source: str) -> tuple[list[object], list[int]]:
    items, numbers = [], []
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if line.strip():
            items.append(_decode_json(line, source, number))
            numbers.append(number)
    return items, numbers


def _decode_json(text: str, source: str, line: int | None = None) -> object:
    """Decoded JSON; `line` is where `text` starts in the file (None: `text` is the file)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        where = err.lineno if line is None else line
        raise DigestFormatError(source, f"invalid JSON: {err.msg}", where) from None
    except ValueError:  # a number of more than 4300 digits
        raise DigestFormatError(source, "invalid JSON: a number is too long", line) from None
    except RecursionError:
        raise DigestFormatError(source, "invalid JSON: nested too deeply", line) from None
