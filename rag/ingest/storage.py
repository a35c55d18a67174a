"""The index folder on disk: which Chroma collection is live, who may write, what is broken.

Readers never see a half-written index because nothing they read is ever changed in place: an
ingest fills a new *generation* (a collection named `<collection>.<hex>`), then switches a small
pointer file (`<collection>.live.json`) to it with one atomic rename. A process killed before
the rename leaves the pointer on the old generation; its half-filled one is dropped by the next
ingest, and so are the vector folders Chroma leaves behind when a collection is deleted. The
first ingest into a new folder writes a pointer naming no generation before it starts, so a
missing pointer beside existing generations always means damage: it is refused (nothing is
rebuilt from whatever digests happen to be configured) and `ingest --recover` makes the newest
generation marked complete live again. A generation is marked complete (in its metadata) once
it is filled, before the switch.

Readers hold a shared `flock` on `readers/<generation>.lock` while they use a generation; an
ingest drops only generations whose lock it can take exclusively, so a generation is never
deleted under a process still reading it (it goes at a later ingest, once released). The
generation that was live before a switch is also kept until the next one.

Writers take an exclusive file lock (`ingest.lock`, `flock` through the `filelock` package, so a
killed writer releases it). Opening checks everything that could give a silently wrong answer
(a foreign encoder or dimension, an unreadable database, a damaged collection) and turns it into
an `IndexStateError` naming the repair; a folder or database that cannot be written is called
read-only, never damaged. A rebuild moves a database Chroma cannot open aside
(`damaged-<time>/`) instead of deleting it. Trade-off: a generation copies the unchanged
chunks' vectors from the previous one (no re-embedding, but a full copy per ingest that changes
anything), which is cheap for digests of thousands of papers but would not be for millions.

With a server URL the same generations live in a Chroma server (`chroma run`) that several
instances share, and the pointer cannot be a local file: it is the metadata of a small
`<collection>-live` collection, switched with one `modify` call (one row update in the
server's database, so readers see the old generation or the new one, never a mix). The
weaker guarantee: the write lock and the readers' locks are still files, so they serialise
ingests and protect readers on one machine only (a reader elsewhere whose generation is
dropped reopens the live one). Two machines ingesting at once each build a whole generation
and the later switch wins; before switching, a writer re-reads the pointer and refuses if
another has switched since, which narrows that race to the moment between the check and the
switch (see docs/scaling.md).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import sqlite3
import time
import uuid
import weakref
from collections.abc import Callable, Collection, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import chromadb
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError, NotFoundError
from filelock import FileLock, Timeout

from rag.errors import (
    INDEX_LIVE_MISSING,
    INDEX_NOT_A_FOLDER,
    INDEX_POINTER_MISSING,
    INDEX_READ_ONLY,
    IndexStateError,
)
from rag.texts import INDEX_BUSY, INDEX_SERVER_UNREACHABLE, INDEX_UNUSABLE

log = logging.getLogger(__name__)

DATABASE = "chroma.sqlite3"
LOCK_FILE = "ingest.lock"
READERS = "readers"
# Metadata keys of a generation: filled completely, and when (seconds since the epoch).
COMPLETE, BUILT_AT = "complete", "built_at"
# Chroma keeps each segment's vectors in a folder named by a UUID beside its database.
_SEGMENT_DIR = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Pointer:
    """What `<collection>.live.json` says: the live generation (None while the first ingest
    runs) and the one it replaced."""

    live: str | None
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


def pointer_missing(
    where: Path | str, collection: str, pointer: str, problem: str
) -> IndexStateError:
    """The pointer is gone or unreadable while generations exist: only recovery can tell."""
    return IndexStateError(
        INDEX_POINTER_MISSING.format(
            path=where, collection=collection, pointer=pointer, problem=problem
        )
    )


def read_only_problem(path: Path) -> str | None:
    """Why Chroma cannot write to the index in `path`, or None when it can."""
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "its file system is mounted read-only"
    except OSError:
        return None
    if not os.access(path, os.W_OK | os.X_OK):
        return "its folder cannot be written"
    database = path / DATABASE
    if database.exists() and not os.access(database, os.W_OK):
        return f"{DATABASE} cannot be written"
    return None


def read_only(path: Path, problem: str) -> IndexStateError:
    return IndexStateError(INDEX_READ_ONLY.format(path=path, problem=problem))


def ensure_folder(path: Path) -> None:
    """Create the index folder; a path that is a file, or cannot be made, is an error."""
    if path.exists() and not path.is_dir():
        raise IndexStateError(INDEX_NOT_A_FOLDER.format(path=path, problem="a file, not a folder"))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        problem = f"not a folder that can be created ({error.strerror or error})"
        raise IndexStateError(INDEX_NOT_A_FOLDER.format(path=path, problem=problem)) from None


def open_client(path: Path) -> chromadb.ClientAPI:
    """A Chroma client on `path`; an unreadable database is an `IndexStateError`, and one that
    only cannot be written is called read-only."""
    ensure_folder(path)
    try:
        return chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
    except ChromaError as error:
        forget_client(path)
        problem = read_only_problem(path)
        if problem is None and "readonly database" in str(error):
            problem = f"Chroma says: {error}"
        if problem:
            raise read_only(path, problem) from error
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


def pointer_stamp(path: Path, collection: str) -> tuple[int, ...] | None:
    """Changes whenever the pointer file is switched (a rename gives it a new inode): one
    `stat`, cheap enough to make before every question."""
    try:
        info = os.stat(pointer_path(path, collection))
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_ctime_ns, info.st_size


def read_pointer(path: Path, collection: str) -> Pointer | None:
    """The live generation, or None when there is no pointer file."""
    file = pointer_path(path, collection)
    if not file.exists():
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        live, previous = data["live"], data.get("previous")
        if not all(isinstance(n, str | None) for n in (live, previous)):
            raise TypeError(f"unexpected content {data!r:.80}")
        return Pointer(live=live, previous=previous)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise pointer_missing(path, collection, file.name, f"damaged ({error})") from error


def write_pointer(path: Path, collection: str, pointer: Pointer) -> None:
    """Switch readers to `pointer.live` in one step: write aside, flush, rename over."""
    file = pointer_path(path, collection)
    staged = file.with_suffix(f".{os.getpid()}.tmp")
    try:
        with open(staged, "w", encoding="utf-8") as out:
            json.dump({"live": pointer.live, "previous": pointer.previous}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(staged, file)
    except BaseException:
        staged.unlink(missing_ok=True)  # a full disk: the old pointer stays, and nothing else
        raise
    folder = os.open(path, os.O_RDONLY)
    try:
        os.fsync(folder)  # make the rename itself survive a power cut
    finally:
        os.close(folder)


@contextmanager
def writer_lock(path: Path, timeout: float) -> Iterator[None]:
    """Hold the index's write lock; wait at most `timeout` seconds for another writer."""
    ensure_folder(path)
    problem = read_only_problem(path)
    if problem:
        raise read_only(path, problem)
    lock = FileLock(path / LOCK_FILE, timeout=timeout, preserve_lock_file=True)
    try:
        lock.acquire()
    except Timeout:
        raise IndexStateError(INDEX_BUSY.format(path=path, seconds=timeout)) from None
    except OSError as error:
        problem = read_only_problem(path) or f"{LOCK_FILE}: {error.strerror or error}"
        raise read_only(path, problem) from None
    try:
        yield
    finally:
        lock.release()


def lease_path(path: Path, generation: str) -> Path:
    return path / READERS / f"{generation}.lock"


class ReadLease:
    """A shared lock on a generation, held while this process reads it: no ingest drops a
    generation that any process holds one on. Without a writable folder there is no lease
    (an index nobody can write cannot lose a generation either)."""

    def __init__(self, path: Path, generation: str) -> None:
        self.generation = generation
        self._close = None
        file = lease_path(path, generation)
        try:
            file.parent.mkdir(exist_ok=True)
            fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            log.debug("no reader lease on %s: %s", file, error)
            return
        # Closing the descriptor releases the lock; the finaliser does so if release is skipped.
        self._close = weakref.finalize(self, os.close, fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
        except OSError as error:
            log.debug("no reader lease on %s: %s", file, error)
            self.release()

    def release(self) -> None:
        if self._close is not None:
            self._close()


@contextmanager
def unleased(path: Path, generation: str) -> Iterator[bool]:
    """Whether no reader holds `generation`; while True, none can start to (the caller may
    drop it, and its lease file goes with it)."""
    file = lease_path(path, generation)
    try:
        fd = os.open(file, os.O_RDWR)
    except FileNotFoundError:
        yield True  # never read through a lease (or its lease file is already gone)
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def get_generation(client: chromadb.ClientAPI, path: Path | str, name: str) -> chromadb.Collection:
    try:
        return client.get_collection(name)
    except NotFoundError as error:
        raise IndexStateError(INDEX_LIVE_MISSING.format(path=path, name=name)) from error
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


def generation_names(client: chromadb.ClientAPI, collection: str) -> list[str]:
    """Every generation of `collection` in the database (the plain name too, if present)."""
    return [c.name for c in client.list_collections() if is_generation(c.name, collection)]


def drop_generations(
    client: chromadb.ClientAPI, path: Path, collection: str, keep: Collection[str | None]
) -> list[str]:
    """Delete every generation of `collection` not in `keep` and not held by a reader
    (leftovers of killed ingests, generations no longer live); returns those still there."""
    kept = []
    for name in generation_names(client, collection):
        if name in keep:
            kept.append(name)
            continue
        with unleased(path, name) as free:
            if not free:
                log.info("keeping generation %s: a reader still uses it", name)
                kept.append(name)
                continue
            try:
                client.delete_collection(name)
            except ChromaError as error:
                log.warning("could not drop old collection %s: %s", name, error)
                kept.append(name)
                continue
            lease_path(path, name).unlink(missing_ok=True)
    _forget_leases(path, keep=kept)
    return kept


def _forget_leases(path: Path, keep: Collection[str]) -> None:
    """Remove the lease files of generations that no longer exist (and no one holds)."""
    folder = path / READERS
    if not folder.is_dir():
        return
    for file in folder.glob("*.lock"):
        name = file.name.removesuffix(".lock")
        if name not in keep:
            with unleased(path, name) as free:
                if free:
                    file.unlink(missing_ok=True)


def mark_complete(collection: chromadb.Collection) -> None:
    """Record in its metadata that `collection` is filled (recovery looks for this mark)."""
    meta = dict(collection.metadata or {})
    collection.modify(metadata={**meta, COMPLETE: True, BUILT_AT: time.time()})


def complete_generations(client: chromadb.ClientAPI, collection: str) -> list[str]:
    """The generations of `collection` marked complete, newest first."""
    complete = [
        c
        for c in client.list_collections()
        if is_generation(c.name, collection) and (c.metadata or {}).get(COMPLETE) is True
    ]
    complete.sort(key=lambda c: float(c.metadata.get(BUILT_AT, 0)), reverse=True)
    return [c.name for c in complete]


def referenced_segments(path: Path) -> set[str] | None:
    """Ids of the segments Chroma's database lists; None when they cannot be read."""
    uri = (path / DATABASE).resolve().as_uri() + "?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True, timeout=30)) as db:
            return {str(row[0]) for row in db.execute("SELECT id FROM segments")}
    except sqlite3.Error as error:
        log.warning("cannot list the index's segments in %s: %s", path, error)
        return None


def remove_orphan_segments(path: Path) -> list[str]:
    """Delete the vector folders of collections the database no longer lists (Chroma leaves
    them behind when it deletes a collection, and a killed ingest leaves its own). Only under
    the write lock: no other writer is then creating one."""
    referenced = referenced_segments(path)
    if referenced is None:
        return []  # unsure what is in use: delete nothing
    removed = []
    for entry in path.iterdir():
        if entry.is_dir() and _SEGMENT_DIR.fullmatch(entry.name) and entry.name not in referenced:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    if removed:
        log.info("removed %d orphaned vector folders from %s", len(removed), path)
    return removed


def set_aside(path: Path) -> Path:
    """Move Chroma's own files (database, segments, pointer) from `path` into a new
    `damaged-<time>` folder in it, so that a rebuild starts afresh and nothing is deleted."""
    forget_client(path)
    aside = path / f"damaged-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    aside.mkdir()
    for entry in path.iterdir():
        chroma_file = entry.name.startswith(DATABASE) or entry.name.endswith(".live.json")
        if chroma_file or (entry.is_dir() and _SEGMENT_DIR.fullmatch(entry.name)):
            os.rename(entry, aside / entry.name)
    log.warning("moved the unreadable index database in %s to %s", path, aside)
    return aside


@dataclass(frozen=True)
class LocalStore:
    """Generations in a Chroma database under `path`; the pointer is a file beside it."""

    path: Path
    # Other machines do not write to a folder: a reader may drop leftovers (see `tidy`).
    shared = False

    @property
    def where(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return has_database(self.path)

    def client(self) -> chromadb.ClientAPI:
        return open_client(self.path)

    def stamp(self, client_of: Callable[[], chromadb.ClientAPI], collection: str) -> object:
        return pointer_stamp(self.path, collection)

    def pointer_name(self, collection: str) -> str:
        return pointer_path(self.path, collection).name

    def read_pointer(self, client: chromadb.ClientAPI, collection: str) -> Pointer | None:
        return read_pointer(self.path, collection)

    def write_pointer(self, client: chromadb.ClientAPI, collection: str, pointer: Pointer) -> None:
        write_pointer(self.path, collection, pointer)

    def set_aside_unreadable(self) -> Path | None:
        """Before a rebuild: move aside a database Chroma cannot open (where it went). One that
        is only read-only is refused: it is not damaged, and moving it would fail anyway."""
        if not has_database(self.path):
            return None
        problem = read_only_problem(self.path)
        if problem:
            raise read_only(self.path, problem)
        try:
            open_client(self.path)
        except IndexStateError:
            return set_aside(self.path)
        return None

    def tidy(self) -> list[str]:
        """Under the write lock: remove vector folders no collection uses any more."""
        return remove_orphan_segments(self.path)


def pointer_collection(collection: str) -> str:
    # "-live", not ".live": a name starting with "<collection>." would count as a generation.
    return f"{collection}-live"


@dataclass(frozen=True)
class ServerStore:
    """Generations in a Chroma server at `url`; the pointer is a small collection's metadata."""

    url: str
    # Writers on other machines may be filling a generation no pointer names yet.
    shared = True

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

    def stamp(self, client_of: Callable[[], chromadb.ClientAPI], collection: str) -> object:
        """The pointer itself: one small read from the server."""
        try:
            return self.read_pointer(client_of(), collection)
        except Exception as error:  # noqa: BLE001 - any failure to ask means "unknown"
            # Unknown for now: the reader keeps the generation it has and asks again later.
            return f"unknown: {type(error).__name__}: {error}"

    def pointer_name(self, collection: str) -> str:
        return f"collection {pointer_collection(collection)!r}"

    def read_pointer(self, client: chromadb.ClientAPI, collection: str) -> Pointer | None:
        try:
            holder = client.get_collection(pointer_collection(collection))
        except NotFoundError:
            return None
        meta = holder.metadata or {}
        live = meta.get("live")
        if not isinstance(live, str):
            raise pointer_missing(self.url, collection, holder.name, "naming no generation")
        # "" stands for None: the first ingest is running (Chroma metadata holds no None).
        return Pointer(live=live or None, previous=str(meta.get("previous", "")) or None)

    def write_pointer(self, client: chromadb.ClientAPI, collection: str, pointer: Pointer) -> None:
        """Switch every instance to `pointer.live` with one metadata update on the server."""
        # Chroma metadata holds no None: "" stands for "no generation".
        metadata = {"live": pointer.live or "", "previous": pointer.previous or ""}
        name = pointer_collection(collection)
        try:
            client.get_collection(name).modify(metadata=metadata)
        except NotFoundError:
            client.create_collection(name, metadata=metadata, embedding_function=None)

    def set_aside_unreadable(self) -> Path | None:
        """Nothing to do: the server owns its files."""
        return None

    def tidy(self) -> list[str]:
        """Nothing to do: the server owns its files."""
        return []


Store = LocalStore | ServerStore


def open_store(path: Path, server_url: str = "") -> Store:
    """The server at `server_url` when one is set, else the folder `path`."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise IndexStateError(INDEX_NOT_A_FOLDER.format(path=path, problem="a file, not a folder"))
    if not server_url:
        return LocalStore(path)
    try:
        parts = urlsplit(server_url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as error:
        problem = f"not a valid URL: {error}"
    else:
        good = parts.scheme in ("http", "https") and parts.hostname
        problem = "" if good else "not an http(s)://host:port URL"
    if problem:
        raise IndexStateError(INDEX_SERVER_UNREACHABLE.format(url=server_url, problem=problem))
    return ServerStore(server_url.rstrip("/"))
