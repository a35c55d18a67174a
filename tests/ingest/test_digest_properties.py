"""Property-based tests of the digest parser: any text, mangled or random, gives papers or a
`DigestFormatError` naming the file (and a real line, when it names one), never a crash.

Inputs are the real seed listing and tiny digest, damaged the ways files get damaged in
practice (cut lines, shuffled or dropped paragraphs, stray unicode and control characters,
huge lines, CRLF, a BOM), plus arbitrary text and arbitrary JSON for the JSON formats.
"""

from __future__ import annotations

import json
import random
import re
import tempfile
from pathlib import Path

from conftest import SEED, TINY_DIGEST, TODAY
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rag.errors import DigestFormatError
from rag.ingest.digest import load_digest, parse_records
from rag.ingest.listing import parse_listing
from rag.records import Paper

# The first dozen seed papers: enough structure to mangle, small enough to parse thousands of times.
SEED_HEAD = "\n".join(SEED.read_text(encoding="utf-8").split("\n")[:120])
SAMPLES = (TINY_DIGEST, SEED_HEAD)
LINE_BREAK = re.compile(r"\r\n|\r|\n")
NOISE = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("\x00\x07\x0b\x0c\x1b\x7f\x85\u2028\u2029\ufeff\u200b\u00a0·•"),
    ),
    max_size=20,
)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def lines_of(text: str) -> list[str]:
    """Lines as the parser counts them (CRLF, CR and LF each end one), BOM dropped."""
    return LINE_BREAK.split(text.lstrip("\ufeff"))


def check_papers(papers: list[Paper], text: str, source: str) -> None:
    """Every paper is whole and its `source_line` is the line holding its title."""
    lines = lines_of(text)
    for paper in papers:
        assert paper.title.strip() and paper.abstract.strip()
        assert paper.source_file == source
        assert 1 <= paper.source_line <= len(lines)
        assert " ".join(lines[paper.source_line - 1].split()) == paper.title


def parse_or_error(text: str, source: str = "mangled.txt") -> list[Paper] | DigestFormatError:
    try:
        papers = parse_listing(text, source, today=TODAY)
    except DigestFormatError as error:
        assert error.path == source
        assert error.line is None or 1 <= error.line <= len(lines_of(text))
        return error
    check_papers(papers, text, source)
    return papers


@st.composite
def mangled_digests(draw: st.DrawFn) -> str:
    """A real digest after a few random edits of the kinds files suffer."""
    lines = draw(st.sampled_from(SAMPLES)).split("\n")
    rng = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(1, 6))):
        edit = draw(
            st.sampled_from(["cut", "drop", "shuffle", "noise", "huge", "duplicate", "join"])
        )
        at = rng.randrange(len(lines)) if lines else 0
        if not lines:
            lines = [draw(NOISE)]
        elif edit == "cut":
            lines[at] = lines[at][: rng.randrange(len(lines[at]) + 1)]
        elif edit == "drop":
            del lines[at]
        elif edit == "shuffle":
            blocks = "\n".join(lines).split("\n\n")
            rng.shuffle(blocks)
            lines = "\n\n".join(blocks).split("\n")
        elif edit == "noise":
            cut = rng.randrange(len(lines[at]) + 1)
            lines[at] = lines[at][:cut] + draw(NOISE) + lines[at][cut:]
        elif edit == "huge":
            unit = draw(st.sampled_from(["word ", "9", "• 7 authors ", "Oct 2", "x" * 7]))
            lines.insert(at, unit * rng.randrange(1_000, 30_000))
        elif edit == "duplicate":
            lines.insert(at, lines[at])
        elif edit == "join" and at + 1 < len(lines):
            lines[at : at + 2] = [lines[at] + " " + lines[at + 1]]
    text = "\n".join(lines)
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return ("\ufeff" if draw(st.booleans()) else "") + text


@PROPERTY_SETTINGS
@given(mangled_digests())
@example("\n\n".join(["Title", "9" * 5000 + " authors"]))
@example("Title\n\n" + "word " * 30 + "\n\n• " + "1" * 5000 + " authors")
@example("Title\n\n" + "word " * 30 + "\n\nOct 2, 2023 " + "1" * 5000)
@example("Title\n\n" + "word " * 30 + "\n\nFeb 30")
def test_mangled_listing_gives_papers_or_a_located_error(text: str) -> None:
    parse_or_error(text)


@PROPERTY_SETTINGS
@given(st.text(st.characters(codec="utf-8"), max_size=3_000))
def test_arbitrary_text_gives_papers_or_a_located_error(text: str) -> None:
    parse_or_error(text)


@PROPERTY_SETTINGS
@given(st.sampled_from(SAMPLES), st.booleans())
def test_line_endings_and_bom_do_not_change_the_papers(text: str, bom: bool) -> None:
    plain = parse_listing(text, "d.txt", today=TODAY)
    crlf = ("\ufeff" if bom else "") + text.replace("\n", "\r\n")
    assert parse_listing(crlf, "d.txt", today=TODAY) == plain
    assert parse_listing(text.replace("\n", "\r"), "d.txt", today=TODAY) == plain


@PROPERTY_SETTINGS
@given(mangled_digests(), st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
def test_any_file_bytes_load_as_papers_or_a_named_error(text: str, encoding: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "digest.txt"
        path.write_bytes(text.encode(encoding, errors="replace"))
        try:
            papers = load_digest(path, today=TODAY)
        except DigestFormatError as error:
            assert error.path == str(path)
            assert str(error).startswith(str(path))
            return
        assert papers


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["May 27, 2024", "2024-02-30", "Feb 29", "Nov 21 4", ""]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
FIELDS = ["title", "abstract", "published", "upvotes", "authors_count", "organization"]
RECORDS = st.dictionaries(
    st.sampled_from([*FIELDS, "paper_id", "code_urls", "year_inferred"]), JSON_VALUES
)


@PROPERTY_SETTINGS
@given(st.lists(RECORDS | JSON_VALUES, max_size=5))
def test_arbitrary_json_records_give_papers_or_a_located_error(items: list[object]) -> None:
    try:
        papers = parse_records(items, "d.jsonl", today=TODAY, line_numbers=range(1, 99))
    except DigestFormatError as error:
        assert error.path == "d.jsonl"
        assert error.line is not None and 1 <= error.line <= len(items)
        return
    assert all(p.title.strip() and p.abstract.strip() for p in papers)


@PROPERTY_SETTINGS
@given(st.lists(RECORDS | JSON_VALUES, max_size=4), st.integers(0, 3), NOISE)
@example([{"title": "T", "abstract": "A"}], 0, "1" * 5000)
@example([{"title": "T", "abstract": "A"}], 0, "[" * 5000)
def test_damaged_json_files_give_papers_or_a_named_error(
    items: list[object], at: int, noise: str
) -> None:
    lines = [json.dumps(item) for item in items] or ["[]"]
    lines.insert(min(at, len(lines)), noise)
    with tempfile.TemporaryDirectory() as folder:
        for name, text in [("d.jsonl", "\n".join(lines)), ("d.json", "[" + ",".join(lines) + "]")]:
            path = Path(folder) / name
            path.write_text(text, encoding="utf-8", errors="replace")
            try:
                load_digest(path, today=TODAY)
            except DigestFormatError as error:
                assert error.path == str(path)
                assert error.line is None or 1 <= error.line <= len(lines)
