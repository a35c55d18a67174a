"""A bounded load test of the running app: concurrent sessions through `gradio_client`.

`python -m rag.bench.loadtest --sessions 20 --seconds 60` starts `app.py` on a free port of
127.0.0.1 (its own index folder, the bundled digest), waits until it answers, then runs one
client per session, each asking the development questions in its own order through the JSON
`/ask` endpoint until the time is up. It reports requests served, errors, latency p50/p95,
and the app's resident memory: after warm-up, at the end, and the slope over the second half
of the run (a leak shows as steady growth there; caches fill early and then stay flat).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.config import PROJECT_ROOT
from rag.eval.metrics import latency_summary

QUESTIONS = PROJECT_ROOT / "tests" / "data" / "dev.jsonl"
START_TIMEOUT_S = 300


@dataclass
class LoadReport:
    sessions: int
    seconds: float
    served: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    rss_after_warmup_mib: float = 0.0
    rss_end_mib: float = 0.0
    rss_second_half_growth_mib: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.sessions} sessions for {self.seconds:.0f} s: {self.served} requests served, "
            f"{self.errors} errors, latency p50 {self.p50_ms:.0f} ms, p95 {self.p95_ms:.0f} ms; "
            f"app RSS {self.rss_after_warmup_mib:.0f} MiB after warm-up, "
            f"{self.rss_end_mib:.0f} MiB at the end, "
            f"{self.rss_second_half_growth_mib:+.1f} MiB over the second half"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def start_app(port: int, index: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "RAG_APP_PORT": str(port),
        "RAG_INDEX_PATH": str(index),
        "RAG_INDEX_PROGRESS": "false",
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "ANONYMIZED_TELEMETRY": "False",
    }
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out
        )


def wait_until_serving(app: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise RuntimeError(f"the app exited with {app.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the app did not listen on port {port} within {START_TIMEOUT_S} s")


@contextmanager
def running_app(index: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`app.py` on a free port over `index`, stopped when the block ends: its URL and process."""
    port = free_port()
    app = start_app(port, index, log)
    try:
        wait_until_serving(app, port, log)
        yield f"http://127.0.0.1:{port}/", app
    finally:
        app.terminate()
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.kill()


def load_questions() -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    return [row["user_input"] for row in rows if not row.get("history")]


def run_load(url: str, pid: int, sessions: int, seconds: float) -> LoadReport:
    from gradio_client import Client

    questions = load_questions()
    report = LoadReport(sessions, seconds)
    latencies: list[float] = []
    lock = threading.Lock()
    Client(url, verbose=False).predict(questions[0], api_name="/ask")  # warm-up
    report.rss_after_warmup_mib = rss_mib(pid)
    started = time.monotonic()
    stop_at = started + seconds
    samples: list[tuple[float, float]] = []

    def session(number: int) -> None:
        client = Client(url, verbose=False)
        order = random.Random(number).sample(questions, len(questions))
        i = 0
        while time.monotonic() < stop_at:
            question = order[i % len(order)]
            i += 1
            t0 = time.perf_counter()
            try:
                result = client.predict(question, api_name="/ask")
                ok = isinstance(result, dict) and "text" in result
                problem = "" if ok else f"unexpected reply: {str(result)[:200]}"
            except Exception as error:  # noqa: BLE001 - every failure counts as an error
                problem = f"{type(error).__name__}: {error}"[:300]
            with lock:
                if problem:
                    report.errors += 1
                    report.error_samples = (report.error_samples + [problem])[:5]
                else:
                    report.served += 1
                    latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(sessions)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        samples.append((time.monotonic() - started, rss_mib(pid)))
        time.sleep(1.0)
    for thread in threads:
        thread.join()
    report.rss_end_mib = rss_mib(pid)
    second_half = [rss for t, rss in samples if t >= seconds / 2]
    if second_half:
        report.rss_second_half_growth_mib = second_half[-1] - second_half[0]
    if latencies:
        summary = latency_summary(latencies)
        report.p50_ms, report.p95_ms = summary["p50_ms"], summary["p95_ms"]
    return report


def load_test(sessions: int, seconds: float, index: Path | None = None) -> LoadReport:
    """Start the app, run the load, stop the app; the index folder is temporary unless given."""
    with tempfile.TemporaryDirectory() as tmp:
        with running_app(index or Path(tmp) / "index", Path(tmp) / "app.log") as (url, app):
            return run_load(url, app.pid, sessions, seconds)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rag.bench.loadtest", description=__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    report = load_test(args.sessions, args.seconds)
    print(report.summary())
    for sample in report.error_samples:
        print(f"  error: {sample}")
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2))


if __name__ == "__main__":
    main()
