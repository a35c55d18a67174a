"""The Chroma index on disk: incremental ingest of papers and nearest-chunk search.

Every chunk carries its paper's metadata (so Chroma `where` filters can use year, date and
upvotes) and a hash of what produced it (paper content, chunking parameters, encoder). Ingest
compares hashes and embeds only new or changed papers, so re-ingesting an unchanged digest
embeds nothing. Chunk 0 of each paper also stores the full abstract, which lets the index
rebuild the paper catalogue without reading digest files again.

An ingest that changes anything writes a whole new generation (unchanged chunks copied with
their vectors, new ones embedded) under a file lock and switches readers to it atomically;
`rag.ingest.storage` owns that mechanism and the checks that refuse a damaged or foreign index.
A `PaperIndex` keeps the generation it opened (holding a reader's lease on it, so no ingest
drops it) until its own next ingest or `close()`; `stamp()` and `reopen()` let a long-lived
reader notice a newer live generation and move to it (see `rag.pipeline`). An ingest that
fails (a full disk, Ctrl-C) drops what it had written and leaves the live generation as it
was. `--rebuild` refuses to drop papers whose digests are not among those it rebuilds from,
unless told to. Given a server URL the index lives in a Chroma server shared by every
instance instead of the folder; nothing else changes.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import chromadb
import numpy as np
from chromadb.errors import ChromaError, InternalError, NotFoundError
from tqdm import tqdm

from rag.errors import (
    INDEX_NOTHING_TO_RECOVER,
    INDEX_REBUILD_LOSES,
    INDEX_WRITE_FAILED,
    IndexStateError,
)
from rag.ingest import derived, storage
from rag.ingest.catalogue import (
    COPY_BATCH,
    Metadata,
    copy_chunks,
    paper_from_metadata,
    paper_metadata,
    paper_rows,
    stored_fingerprints,
)
from rag.ingest.chunking import SPLITTER, chunk_id_for, chunk_paper, paper_id_of
from rag.ingest.digest import content_hash
from rag.ingest.embedding import ChromaEmbedding, Encoder
from rag.records import Chunk, Paper
from rag.texts import EMPTY_INDEX, INDEX_SWITCHED_MEANWHILE

log = logging.getLogger(__name__)
DISK_FULL = "the disk is full"
# Embedding batches per Chroma write: big enough to amortise a write, small enough that the
# progress bar moves and a killed ingest loses little.
WRITE_BATCHES = 8
# Times a reader reads the pointer again when the generation it named was dropped meanwhile.
OPEN_ATTEMPTS = 3


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
    """One chunk returned by a search, with its cosine similarity to the query.

    A nearest-chunk search leaves `text` empty: reading texts costs Chroma more than the
    search itself, so `PaperIndex.read_chunks` fetches only those a caller keeps."""

    chunk_id: str
    paper_id: str
    text: str
    score: float


@dataclass(frozen=True)
class IngestPlan:
    """What an ingest must write: chunks to embed and the papers whose old chunks go."""

    pending: list[tuple[Chunk, Metadata, str]]
    replaced: set[str]
    added: int
    updated: int

    @property
    def changes_nothing(self) -> bool:
        return not self.pending and not self.replaced


class PaperIndex:
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
        fresh = PaperIndex(
            self.path,
            self.encoder,
            self.collection_name,
            self.chunk_tokens,
            self.chunk_overlap,
            lock_timeout=self.lock_timeout,
            server_url=self.server_url,
        )
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

    def fingerprint(self, paper: Paper) -> str:
        """Changes whenever the paper, the chunking or the encoder changes."""
        recipe = "|".join(
            [
                content_hash(paper),
                str(self.chunk_tokens),
                str(self.chunk_overlap),
                SPLITTER,
                self.encoder.name,
            ]
        )
        return hashlib.sha1(recipe.encode()).hexdigest()

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

    def up_to_date(self, papers: Sequence[Paper], live: chromadb.Collection | None) -> bool:
        """Whether `live` holds every paper as it is now (fingerprints only: no chunking)."""
        stored = stored_fingerprints(live) if live else {}
        return all(stored.get(p.paper_id) == self.fingerprint(p) for p in papers)

    def plan(self, papers: Sequence[Paper], live: chromadb.Collection | None) -> IngestPlan:
        """Chunks of the new and changed papers, compared by fingerprint with `live`."""
        stored = stored_fingerprints(live) if live else {}
        pending: list[tuple[Chunk, Metadata, str]] = []
        replaced: set[str] = set()
        added = 0
        for paper in papers:
            fingerprint = self.fingerprint(paper)
            previous = stored.get(paper.paper_id)
            if previous == fingerprint:
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
                replaced.add(paper.paper_id)
            else:
                added += 1
        return IngestPlan(pending, replaced, added, len(replaced))

    def ingest(
        self,
        papers: Sequence[Paper],
        batch_size: int = 32,
        progress: bool = True,
        rebuild: bool = False,
        discard_missing: bool = False,
    ) -> IngestReport:
        """Add new papers, replace changed ones, leave unchanged ones alone.

        The result becomes visible all at once, when the new generation is switched in.
        `rebuild` starts from nothing, whatever state (or damage) the index is in, but refuses
        to drop papers that are not among `papers` unless `discard_missing` is set.
        """
        started = time.perf_counter()
        plan = IngestPlan([], set(), 0, 0)
        if rebuild or not self.up_to_date(papers, self._open_live()):
            with storage.writer_lock(self.path, self.lock_timeout):
                plan = self._write_generation(
                    papers, batch_size, progress, rebuild, discard_missing
                )
        elif not self.store.shared:
            self.tidy()
        report = IngestReport(
            papers=len(papers),
            added=plan.added,
            updated=plan.updated,
            unchanged=len(papers) - plan.added - plan.updated,
            chunks_embedded=len(plan.pending),
            seconds=time.perf_counter() - started,
        )
        log.info("ingest: %s", report)
        return report

    def _write_generation(
        self,
        papers: Sequence[Paper],
        batch_size: int,
        progress: bool,
        rebuild: bool,
        discard_missing: bool,
    ) -> IngestPlan:
        """Under the lock: fill a new generation and switch readers to it."""
        if rebuild:
            self.store.set_aside_unreadable()
        client = self.store.client()
        if rebuild:
            self._refuse_losing(client, papers, discard_missing)
            self._switch_to(None, None)
        else:
            # Another writer may have switched generations while this one waited for the lock.
            self._switch_to(*self._open_generation(client))
        self._mark_first_ingest(client)
        plan = self.plan(papers, self._live)
        if plan.changes_nothing and not rebuild:
            self._drop_leftovers(client)
            return plan
        previous = None if self._live is None else self._live.name
        name = storage.new_generation(self.collection_name)
        lease = storage.ReadLease(self.path, name)
        with self._abandoned_on_failure(client, name, lease):
            staged = self._fill(client, name, plan, batch_size, progress)
            if not rebuild and not self._still_live(client, previous):
                raise self._switched_meanwhile(client)
            self.store.write_pointer(client, self.collection_name, storage.Pointer(name, previous))
        self._switch_to(staged, lease)
        self._drop_leftovers(client)
        return plan

    def _fill(
        self,
        client: chromadb.ClientAPI,
        name: str,
        plan: IngestPlan,
        batch_size: int,
        progress: bool,
    ) -> chromadb.Collection:
        """Generation `name`: the live one's unchanged chunks and the plan's new ones, marked
        complete once everything is in."""
        staged = client.create_collection(
            name,
            embedding_function=ChromaEmbedding(self.encoder),
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"encoder": self.encoder.name, "dimension": self.encoder.dimension},
        )
        try:
            if self._live is not None:
                copy_chunks(self._live, staged, skip=plan.replaced, batch_size=COPY_BATCH)
            self._embed(staged, plan.pending, batch_size, progress)
        except NotFoundError as error:
            # Only a writer holding another lock (another machine) drops a generation being
            # filled: it switched first, and dropped the rest.
            raise self._switched_meanwhile(client) from error
        storage.mark_complete(staged)
        return staged

    @contextmanager
    def _abandoned_on_failure(
        self, client: chromadb.ClientAPI, name: str, lease: storage.ReadLease
    ) -> Iterator[None]:
        """On any failure before the switch (a full disk, Ctrl-C, another writer) drop the
        half-made generation `name`: the live one stays as it was. A storage failure becomes
        an `IndexStateError` saying so; anything else goes on as it was raised."""
        try:
            yield
        except BaseException as error:
            problem = _storage_problem(error)
            lease.release()
            try:
                client.delete_collection(name)
                self.store.tidy()  # its vector folder too
            except (ChromaError, ValueError, OSError) as cleanup:
                log.info("left %s for the next ingest to drop: %s", name, cleanup)
            if problem is None:
                raise
            full = problem == DISK_FULL
            raise IndexStateError(
                INDEX_WRITE_FAILED.format(
                    path=self.store.where,
                    problem=problem,
                    remedy="free some disk space" if full else "check its disk's free space",
                )
            ) from error

    def _mark_first_ingest(self, client: chromadb.ClientAPI) -> None:
        """Give a new store a pointer naming no generation before anything is written, so that
        a pointer missing later always means damage, never "nothing ingested yet"."""
        try:
            pointer = self.store.read_pointer(client, self.collection_name)
        except IndexStateError:
            return  # a damaged pointer: being rebuilt, and switched at the end
        if pointer is None and not storage.generation_names(client, self.collection_name):
            self.store.write_pointer(client, self.collection_name, storage.Pointer(None))

    def _drop_leftovers(self, client: chromadb.ClientAPI) -> None:
        """Under the lock: drop generations that are neither live nor the one it replaced
        and that no reader holds, their derived data, and orphaned vector folders."""
        pointer = self.store.read_pointer(client, self.collection_name)
        keep = {self._live.name if self._live else None}
        keep |= {pointer.live, pointer.previous} if pointer else set()
        kept = storage.drop_generations(client, self.path, self.collection_name, keep)
        derived.prune(self.path, keep=kept)
        self.store.tidy()

    def tidy(self) -> None:
        """Drop what killed ingests left behind, unless another ingest is running now."""
        try:
            with storage.writer_lock(self.path, timeout=0):
                self._drop_leftovers(self.store.client())
        except IndexStateError as error:
            log.info("left the index as it is: %s", error)

    def _held_rows(self, client: chromadb.ClientAPI) -> list[dict]:
        """Chunk 0 of every paper a rebuild would replace: the live generation's, or every
        generation's when the pointer cannot say which one is live."""
        try:
            pointer = self._live_pointer(client)
            names = [pointer.live] if pointer and pointer.live else []
        except IndexStateError:
            names = storage.generation_names(client, self.collection_name)
        rows: list[dict] = []
        for name in names:
            try:
                rows.extend(paper_rows(client.get_collection(name)))
            except (ChromaError, ValueError) as error:
                log.warning("cannot read the papers of %s: %s", name, error)
        return rows

    def _refuse_losing(
        self, client: chromadb.ClientAPI, papers: Sequence[Paper], discard_missing: bool
    ) -> None:
        """A rebuild from `papers` must not silently drop papers the index holds from other
        files: they may exist nowhere else."""
        if discard_missing:
            return
        wanted = {p.paper_id for p in papers}
        lost = {str(r["paper_id"]): r for r in self._held_rows(client)}
        lost = {pid: row for pid, row in lost.items() if pid not in wanted}
        if lost:
            files = sorted({str(r.get("source_file") or "unknown") for r in lost.values()})
            raise IndexStateError(
                INDEX_REBUILD_LOSES.format(
                    count=len(lost), path=self.store.where, files=", ".join(files)
                )
            )

    def recover(self) -> str | None:
        """Make the newest complete generation live when the pointer is missing or names one
        that cannot be used; its name, or None when the live one is fine (nothing done)."""
        with storage.writer_lock(self.path, self.lock_timeout):
            client = self.store.client()
            try:
                live, lease = self._open_generation(client)
                if live is not None:
                    self._switch_to(live, lease)
                    return None
            except IndexStateError as problem:
                log.info("recovering: %s", problem)
            for candidate in storage.complete_generations(client, self.collection_name):
                lease = storage.ReadLease(self.path, candidate)
                try:
                    live = self._checked(client, candidate)
                except IndexStateError as problem:
                    lease.release()
                    log.warning("not recovering %s: %s", candidate, problem)
                    continue
                pointer = storage.Pointer(candidate, None)
                self.store.write_pointer(client, self.collection_name, pointer)
                self._switch_to(live, lease)
                return candidate
        raise IndexStateError(
            INDEX_NOTHING_TO_RECOVER.format(path=self.store.where, collection=self.collection_name)
        )

    def _still_live(self, client: chromadb.ClientAPI, expected: str | None) -> bool:
        """Whether the generation this ingest started from is still the live one.

        The lock guarantees it on one machine; against a shared server a writer on another
        machine can switch meanwhile, and switching over it would throw its work away."""
        pointer = self.store.read_pointer(client, self.collection_name)
        if pointer is None:  # an index from before generations
            return expected in (None, self.collection_name)
        return pointer.live == expected

    def _switched_meanwhile(self, client: chromadb.ClientAPI) -> IndexStateError:
        pointer = self.store.read_pointer(client, self.collection_name)
        live = pointer.live if pointer else None
        return IndexStateError(INDEX_SWITCHED_MEANWHILE.format(path=self.store.where, live=live))

    def _embed(
        self,
        target: chromadb.Collection,
        pending: list[tuple[Chunk, Metadata, str]],
        batch_size: int,
        progress: bool,
    ) -> None:
        bar = tqdm(
            total=len(pending), unit="chunk", desc="Embedding", disable=not progress or not pending
        )
        # Chunks of similar length share a batch, so little compute goes into padding; a group
        # of batches goes to Chroma in one write, on a writer thread, so Chroma indexes one
        # group while the encoder embeds the next.
        pending = sorted(pending, key=lambda item: len(item[0].embed_text))
        group = batch_size * WRITE_BATCHES
        with bar, ThreadPoolExecutor(max_workers=1) as writer:
            written: Future | None = None
            for start in range(0, len(pending), group):
                batch = pending[start : start + group]
                vectors = self.encoder.encode([c.embed_text for c, _, _ in batch], batch_size)
                if written is not None:
                    bar.update(written.result())
                written = writer.submit(_write, target, batch, vectors)
            if written is not None:
                bar.update(written.result())

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


def _storage_problem(error: BaseException) -> str | None:
    """What went wrong when `error` is the storage failing (a full disk, an I/O error), not a
    bug; None otherwise."""
    if isinstance(error, OSError):
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return DISK_FULL
        return error.strerror or str(error)
    text = str(error).lower()
    if isinstance(error, ChromaError) and ("disk is full" in text or "no space left" in text):
        return DISK_FULL
    if isinstance(error, InternalError):
        # Chroma words some storage failures vaguely: a full disk can surface as "Error in
        # compaction" once SQLite has rolled back (and freed) what it wrote. Everything
        # written here was checked first, so an internal error is the storage's.
        return f"Chroma reports: {error}"
    return None


def _write(
    target: chromadb.Collection, batch: list[tuple[Chunk, Metadata, str]], vectors: np.ndarray
) -> int:
    target.add(
        ids=[c.chunk_id for c, _, _ in batch],
        embeddings=vectors,
        metadatas=[m for _, m, _ in batch],
        documents=[d for _, _, d in batch],
    )
    return len(batch)
