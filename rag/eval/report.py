"""Evaluation reports: report.md and plots for one run, tables across configurations,
and a paired comparison of two runs.

Everything here reads rows and summaries that `rag.eval.evaluation` produced; nothing re-runs a
question. Plots use matplotlib's Agg backend so they render on a machine with no display.
A difference between two runs is called significant only by a paired test on the
per-question scores (ranx's paired Student's t-test), never by eye.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rag.errors import InputFileError
from rag.eval.evaluation import RESULTS_FILE, SUMMARY_FILE, metric_names, read_rows

TABLE_EXTRAS = (
    "noans_accuracy",
    "hasans_false_refusal_rate",
    "abstention_precision",
    "crag_score",
    "p50_ms",
    "p95_ms",
)
WORST_SHOWN = 10
SIGNIFICANCE = 0.05


def fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if not math.isnan(value) else "–"
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def columns(k: int) -> list[str]:
    return [*metric_names(k), *TABLE_EXTRAS]


def what_went_wrong(row: Mapping[str, Any], k: int) -> str:
    """One line a developer can act on."""
    if not row["answerable"]:
        return "answered a question the digest does not cover" if not row["abstained"] else "ok"
    if row["abstained"]:
        return "refused an answerable question"
    gold = set(row["reference_titles"])
    missing = [t for t in row["reference_titles"] if t not in row["retrieved_titles"]]
    if missing:
        got = "; ".join(row["retrieved_titles"][:3]) or "nothing"
        return f"gold paper not retrieved: {'; '.join(missing)} (got: {got})"
    if gold and not gold & set(row["cited_titles"]):
        return "gold paper retrieved but not cited"
    if (row.get("required_term_recall") or 1.0) < 0.5:
        return "answer lacks the required terms"
    if (row.get("faithfulness") or 1.0) < 1.0:
        return "some statements are not supported by their citations"
    return "ok"


def badness(row: Mapping[str, Any], k: int) -> tuple[float, ...]:
    """Sort key: wrong outcomes first, then low ranking scores."""
    outcome = {"incorrect": 0, "missing": 1, "correct": 2}[row["outcome"]]
    return (outcome, row.get("mrr", 1.0), row.get(f"recall@{k}", 1.0), row.get("faithfulness", 1.0))


def render_report(summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    k = summary["k"]
    cols = columns(k)
    overall = summary["overall"]
    by_type = summary["by_type"]
    ranked = sorted(rows, key=lambda r: badness(r, k))
    worst = [r for r in ranked if what_went_wrong(r, k) != "ok"][:WORST_SHOWN]
    parts = [
        f"# Evaluation: {summary.get('config', '')}",
        f"{overall['questions']} questions; paper-level retrieval at k = {k}.",
        "## Overall",
        markdown_table(["metric", "value"], [(c, overall.get(c)) for c in cols]),
        "## By question type",
        markdown_table(
            ["type", "n", *cols],
            [(t, s["questions"], *(s.get(c) for c in cols)) for t, s in by_type.items()],
        ),
        "## Worst questions",
        markdown_table(
            ["id", "type", "question", "what went wrong"],
            [(r["id"], r["type"], r["user_input"], what_went_wrong(r, k)) for r in worst],
        )
        if worst
        else "Every question was answered as expected.",
    ]
    return "\n\n".join(parts) + "\n"


def plot(summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], folder: Path) -> list[Path]:
    """metric_by_type.png and latency.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = summary["k"]
    shown = [f"recall@{k}", "mrr", "ndcg@10", "citation_recall", "faithfulness", "noans_accuracy"]
    types = list(summary["by_type"])
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / max(1, len(shown))
    for i, metric in enumerate(shown):
        values = [summary["by_type"][t].get(metric) or 0.0 for t in types]
        ax.bar([x + i * width for x in range(len(types))], values, width, label=metric)
    ax.set_xticks([x + width * (len(shown) - 1) / 2 for x in range(len(types))], types)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_title(f"Metrics by question type ({summary.get('config', '')})")
    ax.legend(fontsize=8, ncols=len(shown), loc="lower center", bbox_to_anchor=(0.5, -0.25))
    fig.tight_layout()
    by_type = folder / "metric_by_type.png"
    fig.savefig(by_type, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist([1000 * r["latency_s"] for r in rows], bins=20, color="#4477aa")
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.set_title("Latency distribution")
    fig.tight_layout()
    latency = folder / "latency.png"
    fig.savefig(latency, dpi=110)
    plt.close(fig)
    return [by_type, latency]


def write_report(
    summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], folder: Path
) -> None:
    (folder / "report.md").write_text(render_report(summary, rows), encoding="utf-8")
    plot(summary, rows, folder)


def configs_table(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    """One row per configuration, overall and per type, for the same questions."""
    k = next(iter(summaries.values()))["k"]
    cols = columns(k)
    rows = [(name, "all", *(s["overall"].get(c) for c in cols)) for name, s in summaries.items()]
    types = sorted({t for s in summaries.values() for t in s["by_type"]})
    for t in types:
        for name, s in summaries.items():
            part = s["by_type"].get(t, {})
            rows.append((name, t, *(part.get(c) for c in cols)))
    return markdown_table(["config", "type", *cols], rows)


RUN_HINT = "give a folder that `python -m rag eval QUESTIONS --out FOLDER` wrote"


def check_run_folder(folder: Path) -> None:
    """An `InputFileError` saying what is missing when `folder` holds no finished run."""
    if not folder.exists():
        raise InputFileError(folder, f"no such folder: {RUN_HINT}")
    if not folder.is_dir():
        raise InputFileError(folder, f"not a folder: {RUN_HINT}")
    for name in (SUMMARY_FILE, RESULTS_FILE):
        if not (folder / name).is_file():
            runs = sorted(p.parent.name for p in folder.glob(f"*/{SUMMARY_FILE}"))
            hint = f"it holds runs in {', '.join(runs)}: compare those" if runs else RUN_HINT
            raise InputFileError(folder, f"holds no {name}, so no finished evaluation; {hint}")


def load_run(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    check_run_folder(folder)
    try:
        summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        summary = None
    if not isinstance(summary, dict) or not isinstance(summary.get("k"), int):
        raise InputFileError(folder / SUMMARY_FILE, "not a summary written by `python -m rag eval`")
    return summary, read_rows(folder / RESULTS_FILE)


def compare_runs(a: Path, b: Path) -> str:
    """Side-by-side means on the questions both runs answered, with deltas and p-values."""
    from ranx.statistical_tests import paired_student_t_test

    summary_a, rows_a = load_run(a)
    _, rows_b = load_run(b)
    k = summary_a["k"]
    by_id_b = {r["id"]: r for r in rows_b}
    shared = [(r, by_id_b[r["id"]]) for r in rows_a if r["id"] in by_id_b]
    table = []
    for metric in [*metric_names(k), "correct"]:
        pairs = [
            (_value(ra, metric), _value(rb, metric))
            for ra, rb in shared
            if _value(ra, metric) is not None and _value(rb, metric) is not None
        ]
        if not pairs:
            continue
        xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
        mean_a, mean_b = sum(xs) / len(xs), sum(ys) / len(ys)
        p_value = float(paired_student_t_test(xs, ys)[0]) if xs != ys else 1.0
        verdict = (
            "same"
            if math.isnan(p_value) or p_value > SIGNIFICANCE
            else ("B better" if mean_b > mean_a else "A better")
        )
        table.append((metric, len(pairs), mean_a, mean_b, mean_b - mean_a, p_value, verdict))
    header = ["metric", "n", f"A ({a.name})", f"B ({b.name})", "B − A", "p (paired t)", "verdict"]
    return markdown_table(header, table)


def _value(row: Mapping[str, Any], metric: str) -> float | None:
    if metric == "correct":
        return 1.0 if row["outcome"] == "correct" else 0.0
    value = row.get(metric)
    return None if value is None else float(value)
