"""Digest loading: bad files, JSON and JSONL, merging across files, ids, hashes, URLs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import threading
from pathlib import Path

import pytest
from conftest import SEED, TODAY, abstract

from rag.errors import DigestFormatError
from rag.ingest.digest import (
    content_hash,
    find_code_urls,
    load_digest,
    load_digests,
    paper_id_for,
    paper_to_record,
    parse_records,
)
from rag.records import Paper


def listing(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs) + "\n"


@pytest.fixture(scope="module")
def seed() -> list[Paper]:
    return load_digest(SEED, today=TODAY)


# ---------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("name", "content", "line", "reason"),
    [
        ("empty.txt", b"", None, "empty file"),
        ("blank.txt", b"\xef\xbb\xbf \r\n\r\n", None, "empty file"),
        ("nul.txt", b"Title\n\nsome text\x00\x01\x02\n", 3, "binary"),
        ("latin1.txt", b"Title\n\nCaf\xe9 au lait\n", 3, "UTF-8"),
        (
            "header.txt",
            listing("new", "Subscribe", "Daily Papers", "Dec 10").encode(),
            None,
            "no papers",
        ),
        ("empty.json", b"[]", None, "no papers"),
    ],
)
def test_unreadable_file_names_file_and_line(
    tmp_path: Path, name: str, content: bytes, line: int | None, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DigestFormatError) as err:
        load_digest(path)
    assert err.value.line == line
    assert name in str(err.value)
    assert reason in err.value.reason
    if line:
        assert f"{name}:{line}: " in str(err.value)


def test_missing_path_and_directory_are_named(tmp_path: Path) -> None:
    with pytest.raises(DigestFormatError, match=r"nowhere\.txt: no such file"):
        load_digest(tmp_path / "nowhere.txt")
    with pytest.raises(DigestFormatError, match="a directory") as err:
        load_digest(tmp_path)
    assert err.value.path == str(tmp_path)


def load_within(path: Path, seconds: float = 10, **options: object) -> BaseException | None:
    """What `load_digest(path)` raised, failing the test if it had not ended in `seconds`
    (a thread, so that a hang shows as a failure rather than a stuck run)."""
    raised: list[BaseException] = []

    def load() -> None:
        try:
            load_digest(path, **options)  # type: ignore[arg-type]
        except BaseException as error:  # noqa: BLE001 - handed to the test
            raised.append(error)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"reading {path} did not end within {seconds} s"
    return raised[0] if raised else None


def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "listing.jsonl"
    os.mkfifo(fifo)
    error = load_within(fifo)
    assert isinstance(error, DigestFormatError)
    assert str(error) == f"{fifo}: not a regular file (a pipe, device or socket)"


def test_a_device_is_refused_before_reading_anything() -> None:
    error = load_within(Path("/dev/zero"))
    assert isinstance(error, DigestFormatError)
    assert "not a regular file" in str(error)


def test_a_file_over_the_size_limit_is_refused_naming_the_setting(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text(listing("A Title", abstract("size limits")) * 100)
    assert load_digest(big, max_bytes=big.stat().st_size)  # at the limit: read
    with pytest.raises(DigestFormatError) as err:
        load_digest(big, max_bytes=1000)
    assert "over the 0.001 MB limit for one digest file (RAG_INDEX_MAX_DIGEST_MB)" in str(err.value)


def test_a_symlink_to_a_digest_is_read(tmp_path: Path) -> None:
    target = tmp_path / "real.txt"
    target.write_text(listing("A Title", abstract("links")))
    (tmp_path / "link.txt").symlink_to(target)
    assert len(load_digest(tmp_path / "link.txt")) == 1


# ---------------------------------------------------------------- JSON and JSONL


def test_jsonl_round_trip_of_the_seed(tmp_path: Path, seed: list[Paper]) -> None:
    path = tmp_path / "seed.jsonl"
    path.write_text("".join(json.dumps(paper_to_record(p)) + "\n" for p in seed), "utf-8")
    papers = load_digest(path, today=TODAY)
    assert papers == [
        dataclasses.replace(p, source_file=str(path), source_line=n) for n, p in enumerate(seed, 1)
    ]


def test_json_list_round_trip_of_the_seed(tmp_path: Path, seed: list[Paper]) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps([paper_to_record(p) for p in seed], indent=1), "utf-8")
    papers = load_digest(path, today=TODAY)
    assert papers == [dataclasses.replace(p, source_file=str(path), source_line=0) for p in seed]


def test_minimal_records_get_ids_urls_and_dates() -> None:
    items = [
        {
            "title": "Neural Collapse",
            "abstract": "See github.com/a/b).",
            "published": "May 27, 2024",
        },
        {"title": "Entropy", "abstract": "Text.", "published": "Nov 21", "upvotes": 4},
        {"title": "Given Id", "abstract": "Text.", "paper_id": "custom", "code_urls": []},
        {"title": "Iso", "abstract": "Text.", "published": "2023-01-02", "organization": "Lab"},
    ]
    papers = parse_records(items, "mini.json", today=TODAY)
    assert papers[0].paper_id == paper_id_for("Neural Collapse")
    assert papers[0].code_urls == ("https://github.com/a/b",)
    assert (papers[0].published, papers[0].year_inferred) == (dt.date(2024, 5, 27), False)
    assert (papers[1].published, papers[1].year_inferred, papers[1].upvotes) == (
        dt.date(2025, 11, 21),
        True,
        4,
    )
    assert (papers[2].paper_id, papers[2].code_urls, papers[2].upvotes) == ("custom", (), 0)
    assert (papers[3].published, papers[3].byline) == (dt.date(2023, 1, 2), "Lab")


def test_malformed_jsonl_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    good = json.dumps({"title": "A", "abstract": "B"})
    path.write_text(f"{good}\n\n{{not json\n", "utf-8")
    with pytest.raises(DigestFormatError) as err:
        load_digest(path)
    assert err.value.line == 3
    assert str(err.value).startswith(f"{path}:3: invalid JSON")


def test_invalid_jsonl_record_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "invalid.jsonl"
    rows = [{"title": "A", "abstract": "B"}, {"title": "C", "abstract": "D", "upvotes": -1}]
    path.write_text("\n".join(json.dumps(r) for r in rows), "utf-8")
    with pytest.raises(DigestFormatError, match=r"invalid\.jsonl:2: 'upvotes' must be"):
        load_digest(path)


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"abstract": "B"}, "'title' must be a non-empty string"),
        ({"title": "A", "abstract": "  "}, "'abstract' must be a non-empty string"),
        ({"title": "A", "abstract": "B", "authors_count": True}, "'authors_count' must be"),
        ({"title": "A", "abstract": "B", "published": "someday"}, "'published' must be a date"),
        ({"title": "A", "abstract": "B", "code_urls": "x"}, "'code_urls' must be a list"),
        (["A", "B"], "expected an object"),
    ],
)
def test_invalid_json_item_names_its_index(item: object, reason: str) -> None:
    with pytest.raises(DigestFormatError) as err:
        parse_records([{"title": "A", "abstract": "B"}, item], "list.json")
    assert str(err.value).startswith(f"list.json: item [1]: {reason}")


@pytest.mark.parametrize("field", ["title", "abstract", "organization", "code_urls"])
def test_a_lone_surrogate_escape_names_its_line_and_field(tmp_path: Path, field: str) -> None:
    path = tmp_path / "surrogate.jsonl"
    record = {"title": "A Title", "abstract": abstract("surrogates")}
    record[field] = ["\ud800"] if field == "code_urls" else "bad \ud800 text"
    path.write_text(json.dumps({"title": "Fine", "abstract": abstract("x")}) + "\n")
    with path.open("a") as out:
        out.write(json.dumps(record) + "\n")  # json.dumps writes it as the escape \\ud800
    assert "\\ud800" in path.read_text()
    with pytest.raises(DigestFormatError) as err:
        load_digest(path)
    assert str(err.value) == (
        f"{path}:2: '{field}' holds a lone surrogate \\ud800, which is not a character"
    )


def test_json_that_is_not_a_list_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "object.json"
    path.write_text('{"title": "A"}', "utf-8")
    with pytest.raises(DigestFormatError, match=r"object\.json: expected a JSON list"):
        load_digest(path)


# ---------------------------------------------------------------- several files


def test_duplicates_across_files_merge_into_the_first(tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.jsonl"
    first.write_text(
        listing(
            "Neural Collapse Revisited",
            abstract("collapse"),
            "Entropy Collapse in RL",
            abstract("entropy"),
            "  • 2 authors\n·\nJan 5, 2024",
        ),
        "utf-8",
    )
    record = {
        "title": "neural collapse revisited",
        "abstract": "Other words.",
        "published": "2024-03-01",
        "upvotes": 9,
        "authors_count": 4,
    }
    second.write_text(json.dumps(record) + "\n" + json.dumps({"title": "New", "abstract": "X"}))
    papers = load_digests([first, second], today=TODAY)
    assert [p.title for p in papers] == [
        "Neural Collapse Revisited",
        "Entropy Collapse in RL",
        "New",
    ]
    merged = papers[0]
    assert (merged.source_file, merged.source_line) == (str(first), 1)
    assert merged.abstract == abstract("collapse")
    assert (merged.published, merged.upvotes, merged.authors_count) == (dt.date(2024, 3, 1), 9, 4)


def test_one_bad_file_fails_the_whole_load(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text(listing("Neural Collapse Revisited", abstract("collapse")), "utf-8")
    bad.write_bytes(b"\x00")
    with pytest.raises(DigestFormatError, match=r"bad\.txt:1: binary"):
        load_digests([good, bad])


# ---------------------------------------------------------------- ids, hashes, URLs


def test_paper_id_ignores_case_spacing_punctuation_and_width() -> None:
    pid = paper_id_for("The Edge-of-Reach Problem")
    assert len(pid) == 16
    assert set(pid) <= set("0123456789abcdef")
    assert paper_id_for("  the edge of reach   PROBLEM. ") == pid
    assert paper_id_for("\uff34\uff48\uff45 \uff25dge-of-Reach Problem") == pid
    assert paper_id_for("The Edge-of-Reach Problems") != pid


def test_content_hash_follows_indexed_fields_only(seed: list[Paper]) -> None:
    paper = seed[0]
    digest = content_hash(paper)
    assert content_hash(dataclasses.replace(paper, source_file="x", source_line=99)) == digest
    assert content_hash(dataclasses.replace(paper, abstract=paper.abstract + " More.")) != digest
    assert content_hash(dataclasses.replace(paper, upvotes=5)) != digest
    assert content_hash(dataclasses.replace(paper, published=None)) != digest


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("Code: https://github.com/zz-haooo/STEER.", ("https://github.com/zz-haooo/STEER",)),
        (
            "open-sourced at: github.com/anyasims/edge-of-reach.",
            ("https://github.com/anyasims/edge-of-reach",),
        ),
        (
            "(see https://github.com/a/b) and \\footnote{https://x.org/p}",
            ("https://github.com/a/b", "https://x.org/p"),
        ),
        ("at https://github.com/N/llm{entropy-guided-llm}.", ("https://github.com/N/llm",)),
        ("github.com/a/b and https://github.com/a/b/ again", ("https://github.com/a/b",)),
        ("mail me at user@github.com/a or visit example.com", ()),
    ],
)
def test_find_code_urls(text: str, urls: tuple[str, ...]) -> None:
    assert find_code_urls(text) == urls
