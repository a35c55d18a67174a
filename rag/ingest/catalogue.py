"""The paper catalogue as the index stores it: a paper's record as flat chunk metadata and
back, and the paged reads and copies of a generation's rows.

Chunk 0 of every paper carries the whole record and the abstract, so the catalogue can be
read back from the index alone, without the digest files. Reads are paged because Chroma
reads a page's rows in one SQL statement and SQLite refuses more than 32,766 variables in
one.
"""

from __future__ import annotations

import datetime as dt

import chromadb

from rag.records import Paper

Metadata = dict[str, str | int | float | bool]


def paper_metadata(paper: Paper, fingerprint: str, n_chunks: int) -> Metadata:
    """Flat, Chroma-storable metadata for every chunk of `paper` (None values left out)."""
    meta: Metadata = {
        "paper_id": paper.paper_id,
        "title": paper.title,
        "upvotes": paper.upvotes,
        "year_inferred": paper.year_inferred,
        "source_file": paper.source_file,
        "source_line": paper.source_line,
        "code_urls": "\n".join(paper.code_urls),
        "fingerprint": fingerprint,
        "n_chunks": n_chunks,
    }
    if paper.authors_count is not None:
        meta["authors_count"] = paper.authors_count
    if paper.organization:
        meta["organization"] = paper.organization
    if paper.published:
        meta["published"] = paper.published.isoformat()
        meta["year"] = paper.published.year
        meta["published_ordinal"] = paper.published.toordinal()
    return meta


def paper_from_metadata(meta: dict, abstract: str) -> Paper:
    """The inverse of `paper_metadata`, given the abstract stored on chunk 0."""
    published = meta.get("published")
    return Paper(
        paper_id=str(meta["paper_id"]),
        title=str(meta["title"]),
        abstract=abstract,
        authors_count=meta.get("authors_count"),
        organization=meta.get("organization"),
        published=dt.date.fromisoformat(published) if published else None,
        year_inferred=bool(meta.get("year_inferred", False)),
        upvotes=int(meta.get("upvotes", 0)),
        code_urls=tuple(u for u in str(meta.get("code_urls", "")).split("\n") if u),
        source_file=str(meta.get("source_file", "")),
        source_line=int(meta.get("source_line", 0)),
    )


# Rows per catalogue read (see `paper_rows`).
PAGE_ROWS = 5000
# Chunks copied per request from the live generation into the next (vectors included).
COPY_BATCH = 1000


def paper_rows(live: chromadb.Collection) -> list[dict]:
    """Chunk 0's metadata of every paper, read in pages: Chroma reads a page's rows with one
    SQL statement, and SQLite refuses more than 32,766 variables in one."""
    rows: list[dict] = []
    while True:
        page = live.get(
            where={"chunk": 0}, include=["metadatas"], limit=PAGE_ROWS, offset=len(rows)
        )
        rows.extend(dict(m) for m in page["metadatas"] or [])
        if len(page["ids"]) < PAGE_ROWS:
            return rows


def stored_fingerprints(live: chromadb.Collection) -> dict[str, str]:
    return {str(m["paper_id"]): str(m["fingerprint"]) for m in paper_rows(live)}


def copy_chunks(
    source: chromadb.Collection, target: chromadb.Collection, skip: set[str], batch_size: int
) -> None:
    """Every chunk of `source` except those of the papers in `skip`, vectors and all."""
    include = ["embeddings", "metadatas", "documents"]
    for offset in range(0, source.count(), batch_size):
        rows = source.get(include=include, limit=batch_size, offset=offset)
        keep = [i for i, m in enumerate(rows["metadatas"]) if m["paper_id"] not in skip]
        if keep:
            target.add(
                ids=[rows["ids"][i] for i in keep],
                embeddings=[rows["embeddings"][i] for i in keep],
                metadatas=[rows["metadatas"][i] for i in keep],
                documents=[rows["documents"][i] for i in keep],
            )
