"""The Chroma index on disk: the live generation opened and read, nearest-chunk search.

Every chunk carries its paper's metadata (so Chroma `where` filters can use year, date and
upvotes); chunk 0 of each paper also stores the full abstract, which lets the index rebuild
the paper catalogue without reading digest files again (`rag.ingest.catalogue`). Writing
(ingest, tidy, recover) is `rag.ingest.generations`' half of `PaperIndex`; `rag.ingest.storage`
owns the pointer to the live generation and the checks that refuse a damaged or foreign index.

A `PaperIndex` keeps the generation it opened (holding a reader's lease on it, so no ingest
drops it) until its own next ingest or `close()`; `stamp()` and `reopen()` let a long-lived
reader notice a newer live generation and move to it (see `rag.pipeline`). Given a server URL
the index lives in a Chroma server shared by every instance instead of the folder; nothing
else changes.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import chromadb
import numpy as np

from rag.errors import (
    IndexStateError,
)
from rag.ingest import derived, storage
from rag.ingest.catalogue import (
    paper_from_metadata,
    paper_rows,
)
from rag.ingest.chunking import chunk_id_for, paper_id_of
from rag.ingest.embedding import Encoder
from rag.ingest.generations import GenerationWriter
from rag.records import Paper
from rag.texts import EMPTY_INDEX

log = logging.getLogger(__name__)
# Times a reader reads the pointer again when the generation it named was dropped meanwhile.
OPEN_ATTEMPTS = 3


@dataclass(frozen=True)
class ChunkHit:
    """One chunk returned by a search, with its cosine similarity to the query.

    A nearest-chunk search leaves `text` empty: reading texts costs Chroma more than the
    search itself, so `PaperIndex.read_chunks` fetches only those a caller keeps."""

    chunk_id: str
    paper_id: str
    text: str
    score: float


class PaperIndex(GenerationWriter):
    """A Chroma collection of abstract chunks, stored under `path` or in the Chroma server at
    `server_url` (see `rag.ingest.storage`); `path` always holds the ingest lock."""

    def __init__(
        self,
        path: Path,
        encoder: Encoder,
        collection: str = "papers",
        chunk_tokens: int = 200,
        chunk_overlap: int = 1,
        lock_timeout: float = 600.0,
        server_url: str = "",
    ) -> None:
        self.path = Path(path)
        self.server_url = server_url
        self.store = storage.open_store(self.path, server_url)
        self.encoder = encoder
        self.collection_name = collection
        self.chunk_tokens = chunk_tokens
        self.chunk_overlap = chunk_overlap
        self.lock_timeout = lock_timeout
        self._forget_live()

    def _forget_live(self) -> None:
        """Nothing opened yet: a new index, or a copy about to open the live generation."""
        self._live: chromadb.Collection | None = None
        self._lease: storage.ReadLease | None = None
        # Both describe the live generation, which never changes once switched in.
        self._count: int | None = None
        self._chunk_counts: dict[str, int] = {}
        self._stamp_client: chromadb.ClientAPI | None = None

    @property
    def collection(self) -> chromadb.Collection:
        """The live generation, checked when first opened; `IndexStateError` when unusable."""
        live = self._open_live()
        if live is None:
            raise IndexStateError(EMPTY_INDEX)
        return live

    @property
    def generation(self) -> str | None:
        """The name of the generation this index reads (None: nothing ingested yet)."""
        live = self._open_live()
        return None if live is None else live.name

    def stamp(self) -> object:
        """A token that changes when an ingest switches the live generation: a `stat` of the
        pointer file (a small read from a server), cheap enough to compare per question."""
        return self.store.stamp(self._client_for_stamp, self.collection_name)

    def _client_for_stamp(self) -> chromadb.ClientAPI:
        if self._stamp_client is None:
            self._stamp_client = self.store.client()
        return self._stamp_client

    def reopen(self) -> PaperIndex:
        """A new index object on the generation live now, opened and checked."""
        fresh = copy.copy(self)  # the same place, encoder and chunking, nothing opened
        fresh._forget_live()
        fresh._open_live()
        return fresh

    def close(self) -> None:
        """Let go of the generation this index reads: an ingest may drop it from now on."""
        self._switch_to(None, None)

    def _open_live(self) -> chromadb.Collection | None:
        """The live generation, opened once (None: nothing ingested yet)."""
        if self._live is None and self.store.exists():
            self._switch_to(*self._open_generation(self.store.client()))
        return self._live

    def _switch_to(self, live: chromadb.Collection | None, lease: storage.ReadLease | None) -> None:
        old, self._lease = self._lease, lease
        self._live, self._count, self._chunk_counts = live, None, {}
        if old is not None and old is not lease:
            old.release()

    def _live_pointer(self, client: chromadb.ClientAPI) -> storage.Pointer | None:
        """What the pointer says; None for a store no ingest has written to yet."""
        pointer = self.store.read_pointer(client, self.collection_name)
        if pointer is not None:
            return pointer
        names = storage.generation_names(client, self.collection_name)
        if self.collection_name in names:
            # An index from before generations keeps its one collection under the plain name.
            return storage.Pointer(live=self.collection_name)
        if names:
            # Never guess, and never rebuild over them from whatever digests are configured.
            pointer_name = self.store.pointer_name(self.collection_name)
            raise storage.pointer_missing(
                self.store.where, self.collection_name, pointer_name, "missing"
            )
        return None

    def _open_generation(
        self, client: chromadb.ClientAPI
    ) -> tuple[chromadb.Collection | None, storage.ReadLease | None]:
        """The live generation, leased and checked (None, None: nothing ingested yet)."""
        for attempt in range(1, OPEN_ATTEMPTS + 1):
            pointer = self._live_pointer(client)
            if pointer is None or pointer.live is None:
                return None, None
            # Leased before it is opened: once leased, no ingest can drop it.
            lease = storage.ReadLease(self.path, pointer.live)
            try:
                return self._checked(client, pointer.live), lease
            except IndexStateError:
                lease.release()
                # Two ingests may have switched past it, and dropped it, since the pointer
                # was read: read the pointer again; the same answer means real damage.
                if attempt == OPEN_ATTEMPTS or self._live_pointer(client) == pointer:
                    raise
        raise AssertionError("unreachable")

    def _checked(self, client: chromadb.ClientAPI, name: str) -> chromadb.Collection:
        where = self.store.where
        live = storage.get_generation(client, where, name)
        storage.check_generation(live, where, self.encoder.name, self.encoder.dimension)
        return live

    def derived_folder(self) -> Path | None:
        """Where data computed from the live generation is kept (None before the first
        ingest, and for an index from before generations, whose name is not unique)."""
        live = self._open_live()
        if live is None or live.name == self.collection_name:
            return None
        return derived.folder(self.path, live.name)

    def count(self) -> int:
        live = self._open_live()
        if live is None:
            return 0
        if self._count is None:
            self._count = live.count()
        return self._count

    def papers(self) -> dict[str, Paper]:
        """Every indexed paper, rebuilt from chunk 0's metadata, in source order."""
        live = self._open_live()
        if live is None:
            return {}
        # Reading every paper's row costs seconds at tens of thousands of papers; the
        # generation never changes, so its catalogue is read once and kept beside it.
        place = self.derived_folder()
        metas = derived.read_json(place / "catalogue.json") if place else None
        if not isinstance(metas, list):
            metas = paper_rows(live)
            if place:
                derived.write_json(place / "catalogue.json", metas)
        self._chunk_counts = {
            str(m["paper_id"]): int(m["n_chunks"]) for m in metas if "n_chunks" in m
        }
        found = [paper_from_metadata(m, str(m.get("abstract", ""))) for m in metas]
        found.sort(key=lambda p: (p.source_file, p.source_line))
        return {p.paper_id: p for p in found}

    def search(self, vector: np.ndarray, n: int, where: dict | None = None) -> list[ChunkHit]:
        """The `n` chunks nearest to `vector` by cosine similarity, best first, without texts."""
        n = min(n, self.count())
        if n <= 0:
            return []
        result = self.collection.query(
            query_embeddings=[vector], n_results=n, where=where, include=["distances"]
        )
        return [
            ChunkHit(chunk_id=cid, paper_id=paper_id_of(cid), text="", score=1.0 - dist)
            for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

    def read_chunks(
        self, vector: np.ndarray, hits: Sequence[ChunkHit] = (), paper_ids: Sequence[str] = ()
    ) -> list[ChunkHit]:
        """`hits` with their texts, and every chunk of `paper_ids` with its text, scored against
        `vector` (papers found by keyword search alone have no scored chunks yet)."""
        live = self._open_live()
        if live is None or not (hits or paper_ids):
            return []
        counted = [p for p in paper_ids if p in self._chunk_counts]
        ids = [
            *(h.chunk_id for h in hits),
            *(chunk_id_for(p, n) for p in counted for n in range(self._chunk_counts[p])),
        ]
        # Vectors are read only to score the papers' chunks: the hits carry their scores.
        include: list = ["documents", "embeddings"] if paper_ids else ["documents"]
        # Reading by id is a primary-key lookup; a metadata filter scans. The chunk counts
        # come from the catalogue (`papers`); without it, filter.
        rows = [live.get(ids=list(dict.fromkeys(ids)), include=include)] if ids else []
        if uncounted := [p for p in paper_ids if p not in self._chunk_counts]:
            rows.append(live.get(where={"paper_id": {"$in": uncounted}}, include=include))
        scored = {h.chunk_id: h.score for h in hits}
        found = []
        for row in rows:
            vectors = row["embeddings"] if paper_ids else [None] * len(row["ids"])
            for cid, doc, emb in zip(row["ids"], row["documents"], vectors, strict=True):
                score = scored[cid] if cid in scored else float(np.asarray(emb) @ vector)
                found.append(ChunkHit(cid, paper_id_of(cid), doc, score))
        return found
