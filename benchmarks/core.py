"""Core path figures on this machine: ingest, re-ingest, first answer, warm answers.

Run `make bench` (or `python benchmarks/core.py`). Each figure is measured, never assumed:
cold ingest and the first answer run in fresh processes (so model loading is counted, as a
user pays it); warm answers run in one process over the question set in tests/data, first
for questions never seen (nothing cached) and then repeated (query and sentence vectors
cached). Prints a table and writes benchmarks/results/core.json.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTIONS = ROOT / "tests" / "data" / "questions.jsonl"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}


def timed_command(*args: str) -> tuple[float, str]:
    """Wall seconds of a fresh `python ...` process, and its output."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, check=True
    )
    return time.perf_counter() - started, done.stdout


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def warm_answers(index: Path) -> dict[str, float]:
    from rag import Pipeline

    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    rows = [row for row in rows if row["type"] != "unanswerable"]
    pipeline = Pipeline({"index": {"path": index, "progress": False}})
    pipeline.ask("What is this digest about?")  # loads the model and the catalogue
    first, repeated, hits = [], [], 0
    for row in rows:
        started = time.perf_counter()
        answer = pipeline.ask(row["user_input"])
        first.append(time.perf_counter() - started)
        hits += bool(answer.citations) and answer.citations[0].title in row["reference_titles"]
    for row in rows:
        started = time.perf_counter()
        pipeline.ask(row["user_input"])
        repeated.append(time.perf_counter() - started)
    return {
        "questions": len(rows),
        "expected_paper_cited_first": hits,
        "warm_new_p50_ms": 1000 * statistics.median(first),
        "warm_new_p95_ms": 1000 * percentile(first, 0.95),
        "warm_repeat_p50_ms": 1000 * statistics.median(repeated),
        "warm_repeat_p95_ms": 1000 * percentile(repeated, 0.95),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        cold_s, cold_out = timed_command("-m", "rag", "--index", str(index), "ingest")
        again_s, again_out = timed_command("-m", "rag", "--index", str(index), "ingest")
        first_s, _ = timed_command(
            "-m", "rag", "--index", str(index), "ask", "What is neural collapse?"
        )
        results = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}",
            "cold_ingest_process_s": cold_s,
            "cold_ingest_report": cold_out.strip(),
            "reingest_unchanged_process_s": again_s,
            "reingest_report": again_out.strip(),
            "first_ask_fresh_process_s": first_s,
            **warm_answers(index),
        }
    out = ROOT / "benchmarks" / "results" / "core.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    width = max(map(len, results))
    for key, value in results.items():
        shown = f"{value:.3f}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")


if __name__ == "__main__":
    main()
