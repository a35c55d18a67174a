"""Benchmarks: what ingest, re-ingest, questions, cold start and memory cost at a given size.

`python -m rag.bench --sizes 44,10000` prints a table and writes JSON (default
benchmarks/results/bench.json). Size 44 is the bundled digest; larger sizes are synthetic
corpora (rag.bench.synthetic, fixed seed) generated on first use under benchmarks/data/, which git
ignores. Every figure comes from a fresh worker process (`python -m rag.bench worker ...`), so
model loading and imports are paid as a user pays them and peak RSS is per task:
- ingest: chunks per second through `Pipeline.ingest` into an empty index, against the raw
  encoder (`Encoder.encode`, the same backend) on the same chunk texts in the same process:
  the floor on this machine. Above `RAW_SAMPLE` chunks the floor is measured on a fixed
  random sample of them;
- re-ingest: the same corpus again (nothing should be embedded);
- query: warm retrieval-only and full-answer latency, p50/p95, over the development questions
  (first turns only), each question's vector computed afresh;
- cold start: a new process that opens the existing index and answers one question; the
  first such start after an ingest also builds the catalogue and BM25 index it keeps.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.config import PROJECT_ROOT, bundled_digests
from rag.eval.metrics import latency_summary

DATA = PROJECT_ROOT / "benchmarks" / "data"
QUESTIONS = PROJECT_ROOT / "tests" / "data" / "dev.jsonl"
RAW_SAMPLE = 3000
COLD_QUESTION = "How does entropy collapse affect reinforcement learning for reasoning?"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def corpus(size: int) -> list[Path]:
    """The digest files for a size: the bundled digest, or a synthetic corpus made once."""
    if size <= 0:
        raise ValueError("sizes are positive paper counts")
    seed_files = list(bundled_digests())
    from rag.ingest.digest import load_digests

    seed = load_digests(seed_files)
    if size == len(seed):
        return seed_files
    from rag.bench.synthetic import write_synthetic_digest

    path = DATA / f"synthetic-{size}.jsonl"
    if not path.exists():
        write_synthetic_digest(seed, size, path)
    return [path]


def settings_for(index: Path, digests: Sequence[Path], encoder: str) -> dict[str, Any]:
    """Settings of a worker; with no digests the existing index is opened as it is."""
    return {
        "index": {"path": index, "digests": tuple(digests), "encoder": encoder, "progress": False}
    }


# Workers: each runs in its own process and prints one JSON object.


def work_ingest(index: Path, digests: Sequence[Path], encoder: str) -> dict[str, Any]:
    from rag import Pipeline
    from rag.ingest.chunking import chunk_paper
    from rag.ingest.digest import load_digests

    pipeline = Pipeline(settings_for(index, digests, encoder))
    # Loading the model is the cold start's cost, measured there; here only the ingest path.
    pipeline.encoder.encode(["warm-up"])
    started = time.perf_counter()
    report = pipeline.ingest()
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "papers": report.papers,
        "chunks_embedded": report.chunks_embedded,
        "ingest_s": seconds,
    }
    if report.chunks_embedded:
        s = pipeline.settings.index
        count = pipeline.encoder.count_tokens
        texts = [
            c.embed_text
            for p in load_digests(digests)
            for c in chunk_paper(p, count, s.chunk_tokens, s.chunk_overlap)
        ]
        sample = random.Random(0).sample(texts, min(RAW_SAMPLE, len(texts)))
        started = time.perf_counter()
        pipeline.encoder.encode(sample, batch_size=s.batch_size)
        raw_rate = len(sample) / (time.perf_counter() - started)
        rate = report.chunks_embedded / seconds
        result |= {
            "chunks_per_s": rate,
            "raw_chunks_per_s": raw_rate,
            "raw_sample_chunks": len(sample),
            "overhead_x": raw_rate / rate,
        }
    return result | {"peak_rss_mib": peak_rss_mib()}


def work_query(index: Path, digests: Sequence[Path], encoder: str) -> dict[str, Any]:
    from rag import Pipeline

    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    questions = [row["user_input"] for row in rows if not row.get("history")]
    pipeline = Pipeline(settings_for(index, (), encoder))
    pipeline.ask("What is this digest about?")  # loads the model, the catalogue and BM25
    retrieval, answer = [], []
    pipeline.encoder.clear_cache()
    for question in questions:
        started = time.perf_counter()
        pipeline.view().retriever.search(question)
        retrieval.append(time.perf_counter() - started)
    pipeline.encoder.clear_cache()
    for question in questions:
        started = time.perf_counter()
        pipeline.ask(question)
        answer.append(time.perf_counter() - started)
    return {
        "questions": len(questions),
        **{f"retrieval_{k}": v for k, v in latency_summary(retrieval).items()},
        **{f"answer_{k}": v for k, v in latency_summary(answer).items()},
        "peak_rss_mib": peak_rss_mib(),
    }


def work_cold(index: Path, digests: Sequence[Path], encoder: str) -> dict[str, Any]:
    from rag import Pipeline

    pipeline = Pipeline(settings_for(index, (), encoder))
    answer = pipeline.ask(COLD_QUESTION)
    return {"cited": len(answer.citations), "peak_rss_mib": peak_rss_mib()}


WORKERS = {"ingest": work_ingest, "query": work_query, "cold": work_cold}


def run_worker(task: str, index: Path, digests: Sequence[Path], encoder: str) -> dict[str, Any]:
    """Run one task in a fresh process; its JSON result plus the process's wall seconds."""
    command = [sys.executable, "-m", "rag.bench", "worker", task, str(index), encoder]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    started = time.perf_counter()
    done = subprocess.run(
        [*command, *map(str, digests)], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"bench worker {task} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"process_s": wall}


def bench_size(size: int, encoder: str, work: Path) -> dict[str, Any]:
    digests = corpus(size)
    index = work / f"index-{size}-{encoder}"
    shutil.rmtree(index, ignore_errors=True)
    fresh = run_worker("ingest", index, digests, encoder)
    again = run_worker("ingest", index, digests, encoder)
    # The first start after an ingest builds the catalogue and BM25 index and keeps them
    # (rag.ingest.derived); later starts read them.
    first = run_worker("cold", index, digests, encoder)
    cold = run_worker("cold", index, digests, encoder)
    query = run_worker("query", index, digests, encoder)
    return {
        "papers": fresh["papers"],
        "encoder": encoder,
        "ingest": fresh,
        "reingest": again,
        "query": query,
        "first_start_s": first["process_s"],
        "cold_start_s": cold["process_s"],
        "peak_rss_mib": max(r["peak_rss_mib"] for r in (fresh, again, first, query, cold)),
    }


def table(results: Sequence[dict[str, Any]]) -> str:
    rows = [
        ("papers", lambda r: f"{r['papers']:,}"),
        ("encoder", lambda r: r["encoder"]),
        ("chunks embedded", lambda r: f"{r['ingest']['chunks_embedded']:,}"),
        ("ingest s", lambda r: f"{r['ingest']['ingest_s']:.1f}"),
        ("ingest chunks/s", lambda r: f"{r['ingest'].get('chunks_per_s', 0):.1f}"),
        ("raw encode chunks/s", lambda r: f"{r['ingest'].get('raw_chunks_per_s', 0):.1f}"),
        ("ingest / raw time", lambda r: f"{r['ingest'].get('overhead_x', 0):.2f}x"),
        ("re-ingest s (embedded)", lambda r: _reingest(r["reingest"])),
        ("retrieval p50 / p95 ms", lambda r: _pair(r["query"], "retrieval")),
        ("answer p50 / p95 ms", lambda r: _pair(r["query"], "answer")),
        ("first start after ingest s", lambda r: f"{r.get('first_start_s', 0):.1f}"),
        ("cold start to answer s", lambda r: f"{r['cold_start_s']:.1f}"),
        ("peak RSS MiB", lambda r: f"{r['peak_rss_mib']:.0f}"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = []
    for name, cell in rows:
        lines.append(f"{name:<{width}}  " + "  ".join(f"{cell(r):>14}" for r in results))
    return "\n".join(lines)


def _pair(query: dict[str, Any], what: str) -> str:
    return f"{query[f'{what}_p50_ms']:.1f} / {query[f'{what}_p95_ms']:.1f}"


def _reingest(report: dict[str, Any]) -> str:
    return f"{report['ingest_s']:.2f} ({report['chunks_embedded']})"


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.platform()}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["worker"]:
        task, index, encoder, *digests = argv[1:]
        result = WORKERS[task](Path(index), [Path(d) for d in digests], encoder)
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(prog="python -m rag.bench", description=__doc__)
    parser.add_argument("--sizes", default="44", help="comma-separated paper counts")
    parser.add_argument("--encoder", action="append", choices=["onnx", "torch"])
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "benchmarks" / "work")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks/results/bench.json")
    args = parser.parse_args(argv)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        for encoder in args.encoder or ["onnx"]:
            results.append(bench_size(size, encoder, args.work))
            print(f"measured {size} papers with {encoder}", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    print(f"Machine: {machine()}\n")
    print(table(results))


if __name__ == "__main__":
    main()
