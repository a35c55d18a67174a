"""Writing the index: an ingest plans by fingerprint, fills a new generation, switches to it.

Every chunk carries a hash of what produced it (paper content, chunking parameters, encoder).
An ingest compares hashes and embeds only new or changed papers, so re-ingesting an unchanged
digest embeds nothing. An ingest that changes anything writes a whole new generation
(unchanged chunks copied with their vectors, new ones embedded) under a file lock and switches
readers to it atomically; `rag.ingest.storage` owns that mechanism. An ingest that fails (a
full disk, Ctrl-C) drops what it had written and leaves the live generation as it was.
`--rebuild` refuses to drop papers whose digests are not among those it rebuilds from, unless
told to.

`GenerationWriter` is the writing half of `PaperIndex` (rag.ingest.index), kept apart so each
half reads on its own; it uses the index's settings and its opening of the live generation
(`_open_live`, `_live_pointer`, `_open_generation`, `_checked`, `_switch_to`).
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
    paper_metadata,
    paper_rows,
    stored_fingerprints,
)
from rag.ingest.chunking import SPLITTER, chunk_paper
from rag.ingest.digest import content_hash
from rag.ingest.embedding import ChromaEmbedding, Encoder
from rag.records import Chunk, Paper
from rag.texts import INDEX_SWITCHED_MEANWHILE

log = logging.getLogger(__name__)
DISK_FULL = "the disk is full"

# Embedding batches per Chroma write: big enough to amortise a write, small enough that the
# progress bar moves and a killed ingest loses little.
WRITE_BATCHES = 8


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
class IngestPlan:
    """What an ingest must write: chunks to embed and the papers whose old chunks go."""

    pending: list[tuple[Chunk, Metadata, str]]
    replaced: set[str]
    added: int
    updated: int

    @property
    def changes_nothing(self) -> bool:
        return not self.pending and not self.replaced


class GenerationWriter:
    """Ingest, tidy and recover the generations of one index (mixed into `PaperIndex`)."""

    path: Path
    store: storage.Store
    encoder: Encoder
    collection_name: str
    chunk_tokens: int
    chunk_overlap: int
    lock_timeout: float
    _live: chromadb.Collection | None

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
