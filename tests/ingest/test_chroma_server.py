"""The index in a real Chroma server (`chroma run` on 127.0.0.1), shared by several instances.

Each test starts the `chroma` command that ships with chromadb on a free port with its own data
folder, watches the server's sockets the whole time it runs (it must talk to loopback only:
no telemetry, no update check), and stops it with SIGTERM at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from rag import Pipeline
from rag.bench.synthetic import write_synthetic_digest
from rag.config import get_settings
from rag.errors import IndexStateError
from rag.ingest.digest import load_digest
from rag.ingest.embedding import Encoder
from rag.ingest.index import PaperIndex
from rag.ingest.storage import ServerStore, pointer_collection
from rag.texts import INDEX_SWITCHED_MEANWHILE

ROOT = Path(__file__).resolve().parents[2]
CHROMA = Path(sys.executable).parent / "chroma"
QUESTION = "How far ahead can tides be forecast?"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def socket_peers(pid: int) -> set[str]:
    """The remote addresses of every TCP socket process `pid` holds (IPv4 and IPv6)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed between listing and reading
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    peers = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[9] in inodes:
                peers.add(fields[2].rsplit(":", 1)[0])
    return peers


# Remote address columns of /proc/net/tcp{,6} for "nobody" (a listening socket) and loopback.
LOOPBACK = {"00000000", "0100007F", "00000000000000000000000000000000"} | {
    "00000000000000000000000001000000",  # ::1
    "0000000000000000FFFF00000100007F",  # ::ffff:127.0.0.1
}


@dataclass
class ChromaServer:
    url: str
    process: subprocess.Popen[bytes]
    peers_seen: set[str] = field(default_factory=set)


def watch_peers(server: ChromaServer, stop: threading.Event) -> None:
    while not stop.wait(0.05):
        try:
            server.peers_seen |= socket_peers(server.process.pid)
        except FileNotFoundError:
            return  # the process has exited


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ANONYMIZED_TELEMETRY": "False"}
    process = subprocess.Popen(
        [CHROMA, "run", "--path", tmp_path / "chroma", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = ChromaServer(f"http://127.0.0.1:{port}", process)
    stop = threading.Event()
    watcher = threading.Thread(target=watch_peers, args=(server, stop), daemon=True)
    watcher.start()
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "chroma run exited while starting"
        try:
            if httpx.get(f"{server.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "chroma run never answered"
            time.sleep(0.2)
    try:
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            process.kill()
            stop.set()
            watcher.join()
    assert process.returncode == 0
    # Offline: while it ran, the server only ever talked to 127.0.0.1 (our client).
    assert server.peers_seen and server.peers_seen <= LOOPBACK, server.peers_seen


def server_settings(server: ChromaServer, lock_folder: Path, *digests: Path) -> dict:
    return {
        "index": {
            "path": lock_folder,
            "server_url": server.url,
            "digests": digests,
            "progress": False,
        }
    }


def test_the_server_url_comes_from_the_environment():
    settings = get_settings(environ={"RAG_INDEX_SERVER_URL": "http://chroma.internal:8000"})
    assert settings.index.server_url == "http://chroma.internal:8000"
    assert get_settings(environ={}).index.server_url == ""


def test_an_unreachable_server_is_one_error_naming_it(tmp_path: Path, encoder: Encoder):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(IndexStateError, match="cannot be used") as error:
        PaperIndex(tmp_path / "lock", encoder, server_url=url).count()
    assert url in str(error.value) and "chroma run" in str(error.value)
    with pytest.raises(IndexStateError, match="not an http"):
        PaperIndex(tmp_path / "lock", encoder, server_url="chroma.internal:8000")


@pytest.mark.slow
def test_instances_sharing_a_server_answer_alike_and_reingest_embeds_nothing(
    chroma_server: ChromaServer, tmp_path: Path, tiny_digest: Path, encoder: Encoder
):
    first = Pipeline(server_settings(chroma_server, tmp_path / "a", tiny_digest), encoder=encoder)
    report = first.ingest()
    assert (report.added, report.chunks_embedded > 0) == (3, True)
    answer = first.ask(QUESTION)
    assert "twelve hours ahead" in answer.text and "[1]" in answer.text
    assert answer.citations[0].title == "Tidal Forecasting with Graph Neural Networks"

    again = first.ingest()
    assert (again.unchanged, again.chunks_embedded) == (3, 0)
    # Another instance, on another machine as far as locks go: nothing on disk is shared.
    second = Pipeline(server_settings(chroma_server, tmp_path / "b", tiny_digest), encoder=encoder)
    assert second.ask(QUESTION).text == answer.text
    assert second.ingest().chunks_embedded == 0
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").glob("*.sqlite3"))


@pytest.mark.slow
def test_a_switch_on_the_server_reaches_every_instance_but_not_open_readers(
    chroma_server: ChromaServer, tmp_path: Path, tiny_digest: Path, encoder: Encoder
):
    papers = load_digest(tiny_digest)
    writer = PaperIndex(tmp_path / "a", encoder, server_url=chroma_server.url)
    writer.ingest(papers[:2], progress=False)
    reader = PaperIndex(tmp_path / "b", encoder, server_url=chroma_server.url)
    assert len(reader.papers()) == 2
    replaced = writer.collection.name
    writer.ingest(papers, progress=False)
    assert len(reader.papers()) == 2  # the generation it opened is kept
    assert len(PaperIndex(tmp_path / "c", encoder, server_url=chroma_server.url).papers()) == 3

    client = ServerStore(chroma_server.url).client()
    pointer = client.get_collection(pointer_collection("papers")).metadata
    assert pointer == {"live": writer.collection.name, "previous": replaced}
    names = {c.name for c in client.list_collections()}
    assert names == {pointer_collection("papers"), writer.collection.name, replaced}


@pytest.mark.slow
def test_an_ingest_refuses_to_switch_over_one_from_another_machine(
    chroma_server: ChromaServer, tmp_path: Path, tiny_digest: Path, encoder: Encoder
):
    """Two lock folders stand for two machines: the file lock cannot keep them apart."""
    large = write_synthetic_digest(load_digest(tiny_digest), 150, tmp_path / "large.jsonl")
    log = tmp_path / "slow.log"
    with open(log, "w") as stderr:
        slow = subprocess.Popen(
            [sys.executable, "-m", "rag", "--index", str(tmp_path / "a")]
            + ["--server", chroma_server.url, "ingest", str(large)],
            cwd=ROOT,
            env={"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"},
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    deadline = time.monotonic() + 240
    while "Embedding:" not in log.read_text(errors="replace"):
        assert slow.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the slow ingest never started embedding"
        time.sleep(0.05)
    fast = PaperIndex(tmp_path / "b", encoder, server_url=chroma_server.url)
    fast.ingest(load_digest(tiny_digest), progress=False)
    out, _ = slow.communicate(timeout=600)
    assert slow.returncode == 2, out
    assert INDEX_SWITCHED_MEANWHILE.split("{")[0] in log.read_text()
    # The fast ingest stays live and the refused one left no generation behind.
    assert len(PaperIndex(tmp_path / "c", encoder, server_url=chroma_server.url).papers()) == 3
    names = {c.name for c in ServerStore(chroma_server.url).client().list_collections()}
    assert names == {pointer_collection("papers"), fast.collection.name}
