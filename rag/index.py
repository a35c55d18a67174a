"""The Chroma index on disk: incremental ingest of papers and nearest-chunk search.

Every chunk carries its paper's metadata (so Chroma `where` filters can use year, date and
upvotes) and a hash of what produced it (paper content, chunking parameters, encoder). Ingest
compares hashes and embeds only new or changed papers, so re-ingesting an unchanged digest
embeds nothing. Chunk 0 of each paper also stores the full abstract, which lets the index
rebuild the paper catalogue without reading digest files again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from tqdm import tqdm

from rag.chunking import chunk_paper
from rag.digest import content_hash
from rag.embedding import ChromaEmbedding, Encoder
from rag.records import Chunk, Paper

log = logging.getLogger(__name__)
Metadata = dict[str, str | int | float | bool]


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did."""

    papers: int
    added: int
    updated: int
    unchanged: int
    chunks_embedded: int
    seconds: float


@dataclass(frozen=True)
class ChunkHit:
    """One chunk returned by a search, with its cosine similarity to the query."""

    chunk_id: str
    paper_id: str
    text: str
    score: float


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


class PaperIndex:
    """A Chroma collection of abstract chunks, stored under `path`."""

    def __init__(
        self,
        path: Path,
        encoder: Encoder,
        collection: str = "papers",
        chunk_tokens: int = 200,
        chunk_overlap: int = 1,
    ) -> None:
        self.path = Path(path)
        self.encoder = encoder
        self.collection_name = collection
        self.chunk_tokens = chunk_tokens
        self.chunk_overlap = chunk_overlap

    @cached_property
    def collection(self) -> chromadb.Collection:
        self.path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(self.path),
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
        )
        return client.get_or_create_collection(
            self.collection_name,
            embedding_function=ChromaEmbedding(self.encoder),
            configuration={"hnsw": {"space": "cosine"}},
        )

    def fingerprint(self, paper: Paper) -> str:
        """Changes whenever the paper, the chunking or the encoder changes."""
        recipe = "|".join(
            [
                content_hash(paper),
                str(self.chunk_tokens),
                str(self.chunk_overlap),
                self.encoder.name,
            ]
        )
        return hashlib.sha1(recipe.encode()).hexdigest()

    def count(self) -> int:
        return self.collection.count()

    def _stored_fingerprints(self) -> dict[str, tuple[str, int]]:
        rows = self.collection.get(where={"chunk": 0}, include=["metadatas"])
        return {
            str(m["paper_id"]): (str(m["fingerprint"]), int(m["n_chunks"]))
            for m in rows["metadatas"] or []
        }

    def ingest(
        self, papers: Sequence[Paper], batch_size: int = 32, progress: bool = True
    ) -> IngestReport:
        """Add new papers, replace changed ones, leave unchanged ones alone."""
        started = time.perf_counter()
        stored = self._stored_fingerprints()
        pending: list[tuple[Chunk, Metadata, str]] = []
        stale_ids: list[str] = []
        added = updated = 0
        for paper in papers:
            fingerprint = self.fingerprint(paper)
            previous = stored.get(paper.paper_id)
            if previous and previous[0] == fingerprint:
                continue
            chunks = chunk_paper(
                paper, self.encoder.count_tokens, self.chunk_tokens, self.chunk_overlap
            )
            meta = paper_metadata(paper, fingerprint, len(chunks))
            for chunk in chunks:
                chunk_meta = {**meta, "chunk": chunk.number}
                if chunk.number == 0:
                    chunk_meta["abstract"] = paper.abstract
                pending.append((chunk, chunk_meta, chunk.text))
            if previous:
                updated += 1
                stale_ids += [f"{paper.paper_id}:{n}" for n in range(len(chunks), previous[1])]
            else:
                added += 1
        self._write(pending, batch_size, progress)
        if stale_ids:
            self.collection.delete(ids=stale_ids)
        report = IngestReport(
            papers=len(papers),
            added=added,
            updated=updated,
            unchanged=len(papers) - added - updated,
            chunks_embedded=len(pending),
            seconds=time.perf_counter() - started,
        )
        log.info("ingest: %s", report)
        return report

    def _write(
        self, pending: list[tuple[Chunk, Metadata, str]], batch_size: int, progress: bool
    ) -> None:
        bar = tqdm(
            total=len(pending), unit="chunk", desc="Embedding", disable=not progress or not pending
        )
        with bar:
            for start in range(0, len(pending), batch_size):
                batch = pending[start : start + batch_size]
                vectors = self.encoder.encode([c.embed_text for c, _, _ in batch], batch_size)
                self.collection.upsert(
                    ids=[c.chunk_id for c, _, _ in batch],
                    embeddings=vectors,
                    metadatas=[m for _, m, _ in batch],
                    documents=[d for _, _, d in batch],
                )
                bar.update(len(batch))

    def papers(self) -> dict[str, Paper]:
        """Every indexed paper, rebuilt from chunk 0's metadata, in source order."""
        rows = self.collection.get(where={"chunk": 0}, include=["metadatas"])
        metas = rows["metadatas"] or []
        found = [paper_from_metadata(m, str(m.get("abstract", ""))) for m in metas]
        found.sort(key=lambda p: (p.source_file, p.source_line))
        return {p.paper_id: p for p in found}

    def search(self, vector: np.ndarray, n: int, where: dict | None = None) -> list[ChunkHit]:
        """The `n` chunks nearest to `vector` by cosine similarity, best first."""
        n = min(n, self.count())
        if n <= 0:
            return []
        result = self.collection.query(
            query_embeddings=[vector],
            n_results=n,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            ChunkHit(chunk_id=cid, paper_id=str(meta["paper_id"]), text=doc, score=1.0 - dist)
            for cid, doc, meta, dist in zip(
                result["ids"][0],
                result["documents"][0],
                result["metadatas"][0],
                result["distances"][0],
                strict=True,
            )
        ]

    def score_papers(self, vector: np.ndarray, paper_ids: Sequence[str]) -> list[ChunkHit]:
        """Every chunk of the given papers, scored against `vector` (for papers found by
        keyword search alone, which the nearest-chunk search did not reach)."""
        if not paper_ids:
            return []
        rows = self.collection.get(
            where={"paper_id": {"$in": list(paper_ids)}},
            include=["documents", "metadatas", "embeddings"],
        )
        return [
            ChunkHit(cid, str(meta["paper_id"]), doc, float(np.asarray(emb) @ vector))
            for cid, doc, meta, emb in zip(
                rows["ids"], rows["documents"], rows["metadatas"], rows["embeddings"], strict=True
            )
        ]
