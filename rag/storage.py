"""The index folder on disk: which Chroma collection is live, who may write, what is broken.

Readers never see a half-written index because nothing they read is ever changed in place: an
ingest fills a new *generation* (a collection named `<collection>.<hex>`), then switches a small
pointer file (`<collection>.live.json`) to it with one atomic rename. A process killed before
the rename leaves the pointer on the old generation; its half-filled one is dropped by the next
ingest. The generation that was live before the switch is kept until the next one, so a reader
that opened it just before still has its data.

Writers take an exclusive file lock (`ingest.lock`, `flock` through the `filelock` package, so a
killed writer releases it). Opening checks everything that could give a silently wrong answer
(a foreign encoder or dimension, an unreadable database, a damaged collection) and turns it into
an `IndexStateError` naming the rebuild command. Trade-off: a generation copies the unchanged
chunks' vectors from the previous one (no re-embedding, but a full copy per ingest that changes
anything), which is cheap for digests of thousands of papers but would not be for millions.

With a server URL the same generations live in a Chroma server (`chroma run`) that several
instances share, and the pointer cannot be a local file: it is the metadata of a small
`<collection>-live` collection, switched with one `modify` call (one row update in the
server's database, so readers see the old generation or the new one, never a mix). The
weaker guarantee: the write lock is still a file, so it serialises ingests on one machine
only. Two machines ingesting at once each build a whole generation and the later switch wins;
before switching, a writer re-reads the pointer and refuses if another has switched since,
which narrows that race to the moment between the check and the switch (see docs/scaling.md).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import chromadb
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError, NotFoundError
from filelock import FileLock, Timeout

from rag.errors import IndexStateError
from rag.texts import INDEX_BUSY, INDEX_SERVER_UNREACHABLE, INDEX_UNUSABLE

log = logging.getLogger(__name__)

DATABASE = "chroma.sqlite3"
LOCK_FILE = "ingest.lock"
# Chroma keeps each segment's vectors in a folder named by a UUID beside its database.
_SEGMENT_DIR = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Pointer:
    """What `<collection>.live.json` says: the live generation and the one it replaced."""

    live: str
    previous: str | None = None


def unusable(path: Path | str, problem: str) -> IndexStateError:
    return IndexStateError(INDEX_UNUSABLE.format(path=path, problem=problem))


def new_generation(collection: str) -> str:
    return f"{collection}.{uuid.uuid4().hex[:12]}"


def is_generation(name: str, collection: str) -> bool:
    """A generation of `collection`, or the single collection that indexes kept before them."""
    return name == collection or name.startswith(f"{collection}.")


def has_database(path: Path) -> bool:
    return (path / DATABASE).is_file()


def open_client(path: Path) -> chromadb.ClientAPI:
    """A Chroma client on `path`; an unreadable database is an `IndexStateError`."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
    except ChromaError as error:
        forget_client(path)
        raise unusable(path, f"its database is unreadable ({error})") from error


def forget_client(path: Path) -> None:
    """Drop Chroma's per-process client for `path`, which it caches even when opening failed."""
    system = SharedSystemClient._identifier_to_system.pop(str(path), None)
    SharedSystemClient._identifier_to_refcount.pop(str(path), None)
    if system is not None:
        try:
            system.stop()
        except AttributeError:
            # It failed half-way through starting (unreadable database): nothing to stop.
            log.debug("the Chroma client on %s never started", path)
        except ChromaError as error:
            log.warning("closing the old Chroma client on %s: %s", path, error)


def pointer_path(path: Path, collection: str) -> Path:
    return path / f"{collection}.live.json"


def read_pointer(path: Path, collection: str) -> Pointer | None:
    """The live generation, or None when no ingest has finished yet."""
    file = pointer_path(path, collection)
    if not file.exists():
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        return Pointer(live=str(data["live"]), previous=data.get("previous"))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise unusable(path, f"{file.name} is damaged ({error})") from error


def write_pointer(path: Path, collection: str, pointer: Pointer) -> None:
    """Switch readers to `pointer.live` in one step: write aside, flush, rename over."""
    file = pointer_path(path, collection)
    staged = file.with_suffix(f".{os.getpid()}.tmp")
    with open(staged, "w", encoding="utf-8") as out:
        json.dump({"live": pointer.live, "previous": pointer.previous}, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(staged, file)
    folder = os.open(path, os.O_RDONLY)
    try:
        os.fsync(folder)  # make the rename itself survive a power cut
    finally:
        os.close(folder)


@contextmanager
def writer_lock(path: Path, timeout: float) -> Iterator[None]:
    """Hold the index's write lock; wait at most `timeout` seconds for another writer."""
    path.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path / LOCK_FILE, timeout=timeout, preserve_lock_file=True)
    try:
        lock.acquire()
    except Timeout:
        raise IndexStateError(INDEX_BUSY.format(path=path, seconds=timeout)) from None
    try:
        yield
    finally:
        lock.release()


def get_generation(client: chromadb.ClientAPI, path: Path | str, name: str) -> chromadb.Collection:
    try:
        return client.get_collection(name)
    except NotFoundError as error:
        raise unusable(path, f"its live collection {name!r} is missing") from error
    except (ChromaError, ValueError) as error:
        raise unusable(path, f"collection {name!r} cannot be opened ({error})") from error


def check_generation(
    collection: chromadb.Collection, path: Path | str, encoder: str, dimension: int
) -> None:
    """Refuse a collection made by another encoder, or whose stored vectors cannot be read."""
    meta = collection.metadata or {}
    stored_encoder = meta.get("encoder", encoder)  # indexes from before metadata: one encoder
    stored_dimension = meta.get("dimension")
    try:
        if collection.count():
            vector = collection.peek(1)["embeddings"][0]
            stored_dimension = stored_dimension or len(vector)
            # A query reads the vector index itself, which count and peek do not touch.
            collection.query(query_embeddings=[vector], n_results=1, include=[])
    except (ChromaError, ValueError, IndexError) as error:
        raise unusable(path, f"collection {collection.name!r} is damaged ({error})") from error
    if stored_encoder != encoder or stored_dimension not in (None, dimension):
        made_by = f"{stored_encoder} ({stored_dimension or '?'} dimensions)"
        raise unusable(path, f"it was built by {made_by}, not {encoder} ({dimension} dimensions)")


def drop_generations(
    client: chromadb.ClientAPI, collection: str, keep: tuple[str | None, ...]
) -> list[str]:
    """Delete every generation of `collection` not in `keep` (leftovers of killed ingests)."""
    dropped = []
    for existing in client.list_collections():
        name = existing.name
        if is_generation(name, collection) and name not in keep:
            try:
                client.delete_collection(name)
                dropped.append(name)
            except ChromaError as error:
                log.warning("could not drop old collection %s: %s", name, error)
    return dropped


def wipe_database(path: Path) -> None:
    """Remove Chroma's own files from `path` (database, segments), nothing else in it."""
    forget_client(path)
    for entry in path.iterdir():
        if entry.name.startswith(DATABASE) or entry.name.endswith(".live.json"):
            entry.unlink()
        elif entry.is_dir() and _SEGMENT_DIR.fullmatch(entry.name):
            shutil.rmtree(entry)
    log.warning("removed the unreadable index database in %s", path)


@dataclass(frozen=True)
class LocalStore:
    """Generations in a Chroma database under `path`; the pointer is a file beside it."""

    path: Path

    @property
    def where(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return has_database(self.path)

    def client(self) -> chromadb.ClientAPI:
        return open_client(self.path)

    def read_pointer(self, client: chromadb.ClientAPI, collection: str) -> Pointer | None:
        return read_pointer(self.path, collection)

    def write_pointer(self, client: chromadb.ClientAPI, collection: str, pointer: Pointer) -> None:
        write_pointer(self.path, collection, pointer)

    def discard_unreadable(self) -> None:
        """Before a rebuild: remove a database Chroma cannot even open."""
        if not has_database(self.path):
            return
        try:
            open_client(self.path)
        except IndexStateError:
            wipe_database(self.path)


def pointer_collection(collection: str) -> str:
    # "-live", not ".live": a name starting with "<collection>." would count as a generation.
    return f"{collection}-live"


@dataclass(frozen=True)
class ServerStore:
    """Generations in a Chroma server at `url`; the pointer is a small collection's metadata."""

    url: str

    @property
    def where(self) -> str:
        return self.url

    def exists(self) -> bool:
        return True  # only the server knows; opening asks it

    def client(self) -> chromadb.ClientAPI:
        """A client of the server; one that cannot be reached is an `IndexStateError`."""
        parts = urlsplit(self.url)
        ssl = parts.scheme == "https"
        try:
            return chromadb.HttpClient(
                host=parts.hostname or "",
                port=parts.port or (443 if ssl else 8000),
                ssl=ssl,
                settings=ChromaSettings(anonymized_telemetry=False),
            )
        except (ValueError, ChromaError) as error:
            raise IndexStateError(
                INDEX_SERVER_UNREACHABLE.format(url=self.url, problem=error)
            ) from error

    def read_pointer(self, client: chromadb.ClientAPI, collection: str) -> Pointer | None:
        try:
            holder = client.get_collection(pointer_collection(collection))
        except NotFoundError:
            return None
        live = (holder.metadata or {}).get("live")
        if not isinstance(live, str) or not live:
            raise unusable(self.url, f"{holder.name} names no live collection")
        return Pointer(live=live, previous=str(holder.metadata.get("previous", "")) or None)

    def write_pointer(self, client: chromadb.ClientAPI, collection: str, pointer: Pointer) -> None:
        """Switch every instance to `pointer.live` with one metadata update on the server."""
        # Chroma metadata holds no None: "" stands for "no previous generation".
        metadata = {"live": pointer.live, "previous": pointer.previous or ""}
        name = pointer_collection(collection)
        try:
            client.get_collection(name).modify(metadata=metadata)
        except NotFoundError:
            client.create_collection(name, metadata=metadata, embedding_function=None)

    def discard_unreadable(self) -> None:
        """Nothing to do: the server owns its files, and a rebuild drops every generation."""


Store = LocalStore | ServerStore


def open_store(path: Path, server_url: str = "") -> Store:
    """The server at `server_url` when one is set, else the folder `path`."""
    if not server_url:
        return LocalStore(Path(path))
    parts = urlsplit(server_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IndexStateError(
            INDEX_SERVER_UNREACHABLE.format(
                url=server_url, problem="not an http(s)://host:port URL"
            )
        )
    return ServerStore(server_url.rstrip("/"))
