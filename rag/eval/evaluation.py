"""Batch evaluation: run a question set through one configuration and score every answer.

Each question becomes one row of `results.jsonl`, written as soon as it is answered, so an
interrupted run keeps what it finished and `resume=True` continues where it stopped. Rows use
RAGAS field names (`user_input`, `response`, `retrieved_contexts`, `reference`, ...) so the
file loads into `ragas.EvaluationDataset.from_list`; our metrics sit beside them. Metrics are
computed per question by the pure functions in `rag.eval.metrics` and averaged in `summarise`.
Configurations ("ours", and the peers "baseline" and "bm25") differ only in retrieval; the
pipeline's answer mode (extractive or an LLM backend) is set in its settings, and each row
records which mode wrote the answer and any fallback note.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tqdm import tqdm

from rag.answer.compose import dangling_opener
from rag.answer.grades import strong_papers
from rag.answer.grounding import evidence_text
from rag.answer.support import Support, default_support
from rag.config import EVAL_CONFIGS, AnswerSettings
from rag.errors import OptionError
from rag.eval.metrics import (
    abstention_summary,
    answer_outcome,
    citation_recall_precision,
    faithfulness,
    latency_summary,
    paper_citation_scores,
    required_term_recall,
    retrieval_scores,
)
from rag.eval.questions import EvalQuestion
from rag.ingest.digest import paper_id_for
from rag.pipeline import Message, Pipeline
from rag.records import Answer
from rag.search.citations import cited_numbers, split_statements, strip_citations

log = logging.getLogger(__name__)
RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
WARM_UP_QUESTION = "What is this digest about?"


class Answerer(Protocol):
    def ask(self, question: str, history: Sequence[Message] | None = None) -> Answer: ...


@dataclass(frozen=True)
class Report:
    """What one configuration scored on one question set."""

    config: str
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    folder: Path | None = None


def answerer_for(config: str, pipeline: Pipeline) -> Answerer:
    """Our pipeline, or a peer built over the same papers and encoder."""
    if config not in EVAL_CONFIGS:
        raise ValueError(f"unknown configuration {config!r}; choose from {', '.join(EVAL_CONFIGS)}")
    if config == "ours":
        return pipeline
    from rag.eval.peers import make_peer

    return make_peer(config, pipeline)


def score_answer(
    question: EvalQuestion,
    answer: Answer,
    records: Mapping[str, str],
    support: Support,
    k: int,
    settings: AnswerSettings | None = None,
) -> dict[str, Any]:
    """Every metric that this question's fields allow, for one answer."""
    settings = settings or AnswerSettings()
    ranked = [s.paper.paper_id for s in answer.sources]
    gold = {paper_id_for(title) for title in question.reference_titles}
    metrics: dict[str, Any] = {}
    if gold:
        metrics.update(retrieval_scores({question.id: ranked}, {question.id: gold}, k)[question.id])
    by_number = {c.number: c.paper_id for c in answer.citations}

    def evidence(statement: str) -> list[str]:
        numbers = cited_numbers(statement)
        # A marker that points at no source leaves the statement unsupported, as in ALCE.
        if any(n not in by_number for n in numbers):
            return []
        return [records.get(by_number[n], "") for n in numbers]

    statements = [
        (strip_citations(s), evidence(s))
        for s in ([] if answer.abstained else split_statements(answer.text))
    ]
    if statements:
        recall, precision = citation_recall_precision(statements, support)
        metrics.update(
            citation_recall=recall,
            citation_precision=precision,
            faithfulness=faithfulness(statements, support),
        )
    cited = [c.paper_id for c in answer.citations]
    if gold and cited:
        precision, recall = paper_citation_scores(cited, gold)
        metrics.update(paper_citation_precision=precision, paper_citation_recall=recall)
    term_recall = required_term_recall(answer.text, question.required_terms)
    if term_recall is not None:
        metrics["required_term_recall"] = term_recall
    # Right as a reader judges a turn: a gold paper among the first k when the digest can
    # answer, a refusal when it cannot.
    if not question.answerable:
        metrics["right"] = float(answer.abstained)
    elif gold:
        metrics["right"] = float(not answer.abstained and bool(gold & set(ranked[:k])))
    if not answer.abstained and answer.citations:
        metrics["dangling_opener"] = float(dangling_opener(answer.text))
    metrics["strong_ids"] = strong_papers(answer, settings)
    metrics["outcome"] = answer_outcome(
        answer.abstained, question.answerable, bool(gold & set(cited)), term_recall
    )
    return metrics


def result_row(
    question: EvalQuestion, answer: Answer, seconds: float, metrics: dict[str, Any]
) -> dict[str, Any]:
    """One line of results.jsonl: RAGAS's fields first, then ours."""
    return {
        "id": question.id,
        "type": question.type,
        "user_input": question.user_input,
        "response": answer.text,
        "retrieved_contexts": [
            " ".join(s.chunk_texts[:1]) or s.paper.title for s in answer.sources
        ],
        "retrieved_context_ids": [s.paper.paper_id for s in answer.sources],
        "retrieved_scores": [round(s.score, 4) for s in answer.sources],
        "reference": question.reference or "",
        "reference_contexts": list(question.reference_contexts),
        "reference_context_ids": [paper_id_for(t) for t in question.reference_titles],
        "reference_titles": list(question.reference_titles),
        "retrieved_titles": [s.paper.title for s in answer.sources],
        "cited_titles": [c.title for c in answer.citations],
        "citations": answer.to_dict()["citations"],
        "abstained": answer.abstained,
        "answerable": question.answerable,
        "answer_mode": answer.mode,
        "note": answer.note,
        "latency_s": round(seconds, 4),
        **({"conversation": question.conversation, "turn": question.turn} if question.turn else {}),
        **metrics,
    }


def _share_of(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(values: Iterable[float]) -> float | None:
    numbers = [float(v) for v in values]
    return sum(numbers) / len(numbers) if numbers else None


NUMERIC_METRICS = (
    "recall@{k}",
    "all_gold@{k}",
    "mrr",
    "ndcg@10",
    "citation_recall",
    "citation_precision",
    "faithfulness",
    "paper_citation_precision",
    "paper_citation_recall",
    "required_term_recall",
    "right",
)


def metric_names(k: int) -> list[str]:
    return [name.format(k=k) for name in NUMERIC_METRICS]


def summarise_rows(rows: Sequence[Mapping[str, Any]], k: int) -> dict[str, Any]:
    """Mean of each metric over the rows that have it, abstention figures and latency."""
    summary: dict[str, Any] = {"questions": len(rows)}
    for name in metric_names(k):
        summary[name] = _mean(r[name] for r in rows if r.get(name) is not None)
    summary.update(
        abstention_summary([(r["answerable"], r["abstained"], r["outcome"]) for r in rows])
    )
    # Conversations: turns after the first, where the history is the pipeline's own answers.
    summary["later_turn_right"] = _mean(
        r["right"] for r in rows if r.get("turn", 0) > 1 and r.get("right") is not None
    )
    # "Strong match" labels shown, and the share of them on papers that are not gold.
    strong = [(p, r) for r in rows for p in r.get("strong_ids", ())]
    summary["strong_labels"] = len(strong)
    summary["strong_not_gold_share"] = _share_of(
        sum(1 for p, r in strong if p not in r["reference_context_ids"]), len(strong)
    )
    # Answers whose first sentence points back at one the reader has not seen.
    summary["dangling_openers"] = _mean(
        r["dangling_opener"] for r in rows if r.get("dangling_opener") is not None
    )
    # Generated runs: how often the model's answer was kept rather than the extractive one.
    summary["generated_share"] = _mean(
        r.get("answer_mode", "extractive") != "extractive" for r in rows
    )
    summary.update(latency_summary([r["latency_s"] for r in rows]) if rows else {})
    return summary


def threshold_metrics(k: int) -> list[str]:
    """The scores in a summary that a floor (`--fail-under`) can be set on."""
    return [name for name in summarise_rows([], k) if name != "questions"]


def summarise(rows: Sequence[Mapping[str, Any]], k: int) -> dict[str, Any]:
    """Overall and per question type."""
    types = sorted({r["type"] for r in rows})
    return {
        "overall": summarise_rows(rows, k),
        "by_type": {t: summarise_rows([r for r in rows if r["type"] == t], k) for t in types},
        "k": k,
    }


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows already written (a torn last line from an interrupted run is ignored)."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning("ignoring an incomplete line in %s", path)
    return rows


def keep_whole_rows(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Rewrite `path` with only its whole rows, so rows appended after a torn last line (a
    run killed mid-write) start on a line of their own."""
    if not path.exists():
        return
    lines = path.read_bytes().splitlines(keepends=True)
    if len(lines) == len(rows) and all(line.endswith(b"\n") for line in lines):
        return
    partial = path.with_name(path.name + ".partial")
    partial.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    partial.replace(path)


def file_in_the_way(path: Path) -> Path | None:
    """The first of `path` and its parents that exists, when it is not a folder."""
    for place in (path, *path.parents):
        if place.exists():
            return None if place.is_dir() else place
    return None


def check_report_folder(out: str | Path) -> Path:
    """`out` as a folder the report can be written to (it need not exist yet); an
    `OptionError` when it, or a folder it would be created in, is a file."""
    folder = Path(out)
    blocking = file_in_the_way(folder)
    if blocking is not None:
        where = "is a file" if blocking == folder else f"is inside {blocking}, which is a file"
        raise OptionError(
            f"the report folder {folder} {where}: give a folder for the report "
            "(it is created if missing)"
        )
    return folder


def asked_together(questions: Sequence[EvalQuestion]) -> list[list[EvalQuestion]]:
    """The questions in the groups they are asked in: a lone question alone, a conversation's
    turns together and in turn order, groups in the order their first question comes."""
    groups: dict[str, list[EvalQuestion]] = {}
    for question in questions:
        groups.setdefault(question.conversation or f"\0{question.id}", []).append(question)
    return [sorted(group, key=lambda q: q.turn) for group in groups.values()]


def unfinished(groups: Sequence[list[EvalQuestion]], done: set[str]) -> list[list[EvalQuestion]]:
    return [group for group in groups if any(q.id not in done for q in group)]


def evaluate(
    questions: Sequence[EvalQuestion],
    pipeline: Pipeline | None = None,
    *,
    config: str = "ours",
    out: str | Path | None = None,
    resume: bool = False,
    workers: int = 1,
    support: Support | None = None,
    progress: bool = True,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> Report:
    """Answer and score every question; with `out`, write results.jsonl and summary.json."""
    folder = check_report_folder(out) if out else None
    pipeline = pipeline or Pipeline()
    answerer = answerer_for(config, pipeline)
    support = support or default_support(pipeline.encoder)
    k = pipeline.settings.retrieval.k
    evidence = {pid: evidence_text(paper) for pid, paper in pipeline.papers.items()}
    # Latency is measured warm and per configuration: build the index and load the model
    # first, and start from an empty vector cache so no configuration rides on another's.
    answerer.ask(WARM_UP_QUESTION)
    pipeline.encoder.clear_cache()
    results = folder / RESULTS_FILE if folder else None
    rows = read_rows(results) if results and resume else []
    todo = unfinished(asked_together(questions), {r["id"] for r in rows})
    # A conversation cut off halfway is asked again from its first turn: its later turns
    # depend on the answers before them.
    again = {q.id for group in todo for q in group}
    rows = [r for r in rows if r["id"] not in again]
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    if results and resume:
        keep_whole_rows(results, rows)
    write_lock = threading.Lock()
    sink = results.open("a" if resume else "w", encoding="utf-8") if results else None

    def run(group: Sequence[EvalQuestion]) -> int:
        """Ask a lone question, or a conversation's turns in order, each with the pipeline's
        own earlier answers as its history (as the app would have them)."""
        conversation: list[Message] = []
        for question in group:
            history = conversation if question.conversation else list(question.history)
            started = time.perf_counter()
            answer = answerer.ask(question.user_input, history=list(history))
            seconds = time.perf_counter() - started
            metrics = score_answer(question, answer, evidence, support, k, pipeline.settings.answer)
            row = result_row(question, answer, seconds, metrics)
            conversation += [{"role": "user", "content": question.user_input}, answer.as_message()]
            with write_lock:
                rows.append(row)
                if sink:
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                    sink.flush()
                if on_row:
                    on_row(row)
        return len(group)

    total = sum(len(group) for group in todo)
    bar = tqdm(total=total, desc=f"Evaluating {config}", unit="q", disable=not progress)
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        with bar:
            for asked in pool.map(run, todo):
                bar.update(asked)
    except KeyboardInterrupt:
        # Keep what is done: rows already written stay, queued questions are dropped.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        if sink:
            sink.close()
    order = {q.id: i for i, q in enumerate(questions)}
    rows.sort(key=lambda r: order.get(r["id"], len(order)))
    summary = summarise(rows, k)
    summary["config"] = config
    if folder:
        (folder / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
    return Report(config=config, rows=rows, summary=summary, folder=folder)
