"""The command line: `python -m rag ingest [PATHS...]`, `ask "QUESTION"`, `compare "THEME"`, `eval`.

Errors a user can fix (a malformed digest, an empty question, a bad setting, an index that is
damaged or read-only) print one line to stderr and exit with code 2; Ctrl-C prints one line and
exits with 130 (128 + SIGINT, as shells report it); anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Collection, Sequence
from pathlib import Path

from rag.answer.compare import COLUMNS, Comparison
from rag.config import ANSWER_MODES, EVAL_CONFIGS, describe_settings
from rag.errors import INGEST_INTERRUPTED, USER_ERRORS, OptionError, QuestionError
from rag.pipeline import Pipeline, check_k
from rag.records import Answer
from rag.texts import NOTHING_TO_COMPARE

USAGE_ERROR = 2
INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rag",
        description="Ask questions of a digest of paper abstracts; answers cite the papers.",
        epilog="Settings: "
        + ", ".join(name for name, _, _ in describe_settings())
        + " (see README).",
    )
    parser.add_argument("--index", type=Path, help="index folder (default: RAG_INDEX_PATH)")
    parser.add_argument("--server", help="Chroma server URL (default: RAG_INDEX_SERVER_URL)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True)
    add_ingest_command(commands)
    add_ask_command(commands)
    add_compare_command(commands)
    add_eval_command(commands)
    return parser


Commands = argparse._SubParsersAction


def add_ingest_command(commands: Commands) -> None:
    ingest = commands.add_parser("ingest", help="add digest files to the index")
    ingest.add_argument("paths", nargs="*", type=Path, help="digest files (.txt, .json, .jsonl)")
    ingest.add_argument("--year", type=int, help="year for listing dates that give none")
    ingest.add_argument(
        "--rebuild",
        action="store_true",
        help="drop the index and embed every paper again (repairs a damaged index); refuses "
        "to drop papers from files not given, unless --discard-missing-sources",
    )
    ingest.add_argument(
        "--discard-missing-sources",
        action="store_true",
        help="with --rebuild: drop the papers of files not among the digests given",
    )
    ingest.add_argument(
        "--recover",
        action="store_true",
        help="make the newest complete generation live again after the pointer file "
        "(<collection>.live.json) was lost or damaged; reads no digest",
    )


def add_ask_command(commands: Commands) -> None:
    ask = commands.add_parser("ask", help="answer a question with cited papers")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("-k", type=int, help="papers to retrieve")
    ask.add_argument(
        "--mode", choices=ANSWER_MODES, help="who writes the answer (default: RAG_LLM_MODE)"
    )
    ask.add_argument(
        "--model",
        help="GGUF file for llamacpp, model name for openai or ollama (default: settings)",
    )
    ask.add_argument("--base-url", help="server address for openai or ollama")
    ask.add_argument("--stream", action="store_true", help="print text as it is produced")


def add_compare_command(commands: Commands) -> None:
    compare = commands.add_parser(
        "compare",
        help="the papers a question is about, side by side",
        description="What each paper proposes or studies, what it evaluates on, its headline "
        "result, date and upvotes, in the abstract's own words.",
    )
    compare.add_argument("question", help="the theme, in quotes (e.g. 'Compare the papers on X')")
    compare.add_argument("--papers", nargs="+", metavar="ID", help="compare these paper ids")
    compare.add_argument("-k", type=int, help="papers to retrieve")
    output = compare.add_mutually_exclusive_group()
    output.add_argument("--csv", type=Path, metavar="FILE", help="write the table as CSV")
    output.add_argument("--markdown", action="store_true", help="print a Markdown table")
    output.add_argument("--json", action="store_true", help="print the table as JSON")


def add_eval_command(commands: Commands) -> None:
    evaluate = commands.add_parser(
        "eval",
        help="evaluate question sets, compare runs",
        description="Answer a question set (JSONL or CSV, RAGAS field names) and score it.",
    )
    evaluate.add_argument("questions", nargs="?", type=Path, help="question file")
    evaluate.add_argument("--out", type=Path, help="report folder (per config when several)")
    evaluate.add_argument(
        "--config",
        action="append",
        choices=EVAL_CONFIGS,
        help="configuration to evaluate; repeat to compare several in one run (default: ours)",
    )
    evaluate.add_argument(
        "--mode", choices=ANSWER_MODES, default="extractive", help="who writes the answers"
    )
    evaluate.add_argument("-k", "--k", type=int, help="papers retrieved per question")
    evaluate.add_argument("--workers", type=int, default=1, help="questions answered at once")
    evaluate.add_argument("--resume", action="store_true", help="continue an interrupted run")
    evaluate.add_argument(
        "--fail-under",
        nargs="+",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 when a metric of the first config is below VALUE; "
        "TYPE:METRIC=VALUE checks one question type",
    )
    evaluate.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    evaluate.add_argument(
        "--generate",
        type=int,
        metavar="N",
        help="write a starter set of N questions (plus distractors) from the index to --out",
    )
    evaluate.add_argument("--seed", type=int, default=0, help="sampling seed for --generate")
    evaluate.add_argument(
        "--tables",
        type=int,
        metavar="N",
        help="build comparison tables for the first N multi-paper questions and score their "
        "cells (filled, supported by the abstract); the tables go to --out",
    )


UNSUPPORTED_MARK = "(not backed by a cited source)"


def format_answer(answer: Answer, with_text: bool = True) -> str:
    """The answer followed by its numbered references (or the nearest papers); a generated
    answer one sentence per line, each the sources do not back marked, and any note.
    `with_text=False` leaves out the text already shown by a stream."""
    body = [
        s.text if s.supported else f"{s.text} {UNSUPPORTED_MARK}" for s in answer.sentences
    ] or [answer.text]
    lines = [f"Note: {answer.note}", ""] if answer.note else []
    lines += [*body, ""] if with_text else []
    for citation in answer.citations:
        date = citation.published.isoformat() if citation.published else "undated"
        lines.append(f"[{citation.number}] {citation.title} ({date})")
    return "\n".join(lines).rstrip()


def llm_overrides(args: argparse.Namespace) -> dict[str, object]:
    """--mode, --model and --base-url as `llm` settings; --model and --base-url mean what the
    chosen mode needs (a GGUF path, a model name, a server)."""
    mode = getattr(args, "mode", None)
    llm: dict[str, object] = {"mode": mode} if mode else {}
    model, base_url = getattr(args, "model", None), getattr(args, "base_url", None)
    if model:
        key = {"llamacpp": "model_path", "ollama": "ollama_model"}.get(mode or "", "openai_model")
        llm[key] = model
    if base_url:
        llm["ollama_url" if mode == "ollama" else "base_url"] = base_url
    return llm


def print_stream(pipeline: Pipeline, question: str) -> None:
    """Print the text as it is produced, then what the final answer adds: the verified
    sentences when they differ from the raw text, the note and the references."""
    shown: list[str] = []
    for item in pipeline.stream(question):
        if isinstance(item, Answer):
            print("\n")
            print(format_answer(item, with_text="".join(shown) != item.text))
            return
        shown.append(item)
        print(item, end="", flush=True)


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, dict[str, object]] = {"index": {}, "retrieval": {}}
    if args.index:
        overrides["index"]["path"] = args.index
    if args.server:
        overrides["index"]["server_url"] = args.server
    if getattr(args, "year", None):
        overrides["index"]["year"] = args.year
    if getattr(args, "k", None) is not None:
        overrides["retrieval"]["k"] = check_k(args.k)
    overrides["llm"] = llm_overrides(args)
    if args.command == "eval" and args.compare:
        from rag.eval.report import compare_runs

        print(compare_runs(*args.compare))
        return 0
    pipeline = Pipeline(overrides)
    if args.command == "eval":
        return run_eval(args, pipeline)
    if args.command == "ingest":
        return run_ingest(args, pipeline)
    if args.command == "compare":
        return run_compare(args, pipeline)
    if args.stream and not args.json:
        print_stream(pipeline, args.question)
        return 0
    answer = pipeline.ask(args.question)
    print(json.dumps(answer.to_dict(), indent=2) if args.json else format_answer(answer))
    return 0


def format_comparison(comparison: Comparison) -> str:
    """The table for a terminal: one block per paper, each column on its own line."""
    if not comparison.rows:
        return NOTHING_TO_COMPARE
    blocks = []
    for row in comparison.rows:
        *cells, date, upvotes = row.values()
        lines = [f"[{row.number}] {row.paper.title} ({date}, {upvotes} upvotes)"]
        lines += [f"    {name}: {cell}" for name, cell in zip(COLUMNS, cells, strict=False)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def run_compare(args: argparse.Namespace, pipeline: Pipeline) -> int:
    if args.csv is not None and (args.csv.is_dir() or not args.csv.parent.is_dir()):
        raise OptionError(f"--csv {args.csv}: give a file path in an existing folder")
    comparison = pipeline.compare(args.question, args.papers)
    if args.csv is not None:
        args.csv.write_text(comparison.to_csv(), encoding="utf-8")
        print(f"wrote {len(comparison.rows)} papers to {args.csv}")
    elif args.json:
        print(json.dumps(comparison.to_dict(), indent=2))
    elif args.markdown:
        print(comparison.to_markdown() if comparison.rows else NOTHING_TO_COMPARE)
    else:
        print(format_comparison(comparison))
    return 0


def run_ingest(args: argparse.Namespace, pipeline: Pipeline) -> int:
    where = pipeline.settings.index.server_url or pipeline.settings.index.path
    if args.recover:
        if args.paths or args.rebuild:
            raise QuestionError("--recover takes no digest files and no --rebuild")
        recovered = pipeline.recover()
        print(
            f"recovered the index in {where}: {recovered} is live again"
            if recovered
            else f"the index in {where} is fine: nothing to recover"
        )
        return 0
    if args.discard_missing_sources and not args.rebuild:
        raise QuestionError("--discard-missing-sources only applies to --rebuild")
    try:
        report = pipeline.ingest(
            [str(p) for p in args.paths] or None,
            rebuild=args.rebuild,
            discard_missing=args.discard_missing_sources,
        )
    except KeyboardInterrupt:
        print(f"error: {INGEST_INTERRUPTED.format(path=where)}", file=sys.stderr)
        return INTERRUPTED
    print(
        f"{report.papers} papers: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged; {report.chunks_embedded} chunks embedded "
        f"in {report.seconds:.1f} s"
    )
    return 0


# (question type or None, metric, bound, whether the bound is a ceiling)
Threshold = tuple[str | None, str, float, bool]


def parse_thresholds(items: Sequence[str], metrics: Sequence[str]) -> list[Threshold]:
    """'mrr=0.9' and 'multi:all_gold@5=0.9' as floors, 'hasans_false_refusal_rate<=0.03' as a
    ceiling, each (type or None, metric, value, ceiling); an `OptionError` naming the item when
    its metric is not one of `metrics` or its value is not a number."""
    return [parse_threshold(item, metrics) for item in items]


def parse_threshold(item: str, metrics: Sequence[str]) -> Threshold:
    ceiling = "<=" in item
    name, sep, value = item.partition("<=" if ceiling else "=")
    if not sep:
        raise OptionError(f"--fail-under takes METRIC=VALUE (e.g. mrr=0.5), got {item!r}")
    kind, _, metric = name.rpartition(":")
    if metric not in metrics:
        raise OptionError(
            f"--fail-under {item}: unknown metric {metric!r}; choose from {', '.join(metrics)}"
        )
    try:
        floor = float(value)
    except ValueError:
        floor = math.nan
    if not math.isfinite(floor):
        raise OptionError(f"--fail-under {item}: the value must be a number such as 0.5")
    return kind or None, metric, floor, ceiling


def check_threshold_types(thresholds: Sequence[Threshold], types: Collection[str]) -> None:
    """An `OptionError` when a TYPE:METRIC threshold names a type no question has: its check
    could only fail."""
    for kind, metric, *_ in thresholds:
        if kind is not None and kind not in types:
            raise OptionError(
                f"--fail-under {kind}:{metric}: no question has type {kind!r}; "
                f"the types are {', '.join(sorted(types)) or 'none'}"
            )


def failed_thresholds(summary: dict, thresholds: Sequence[Threshold]) -> list[str]:
    failures = []
    for kind, metric, bound, ceiling in thresholds:
        scope = summary["by_type"].get(kind, {}) if kind else summary["overall"]
        value = scope.get(metric)
        if value is None or (value > bound if ceiling else value < bound):
            label = f"{kind}:{metric}" if kind else metric
            shown = value if value is None else round(value, 4)
            failures.append(f"{label} = {shown} {'>' if ceiling else '<'} {bound}")
    return failures


def run_generate(args: argparse.Namespace, pipeline: Pipeline) -> int:
    """Write a starter question set to the file --out names (its folder made if missing)."""
    from rag.eval.evaluation import file_in_the_way
    from rag.eval.generate import check_count, generate_questions

    count = check_count(args.generate)
    out: Path | None = args.out
    if out is None:
        raise OptionError("--generate N writes a question file: give its path with --out FILE")
    if out.is_dir():
        raise OptionError(
            f"--out {out} is a folder: --generate writes the question set to a file; "
            f"give a file path such as {out / 'generated.jsonl'}"
        )
    if (blocking := file_in_the_way(out.parent)) is not None:
        raise OptionError(f"--out {out} is inside {blocking}, which is a file, not a folder")
    rows = generate_questions(list(pipeline.papers.values()), count, seed=args.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} generated questions to {out} (a smoke test, not a benchmark)")
    return 0


def run_tables(args: argparse.Namespace, pipeline: Pipeline) -> int:
    """Score the comparison tables of a question set's theme questions; write them to --out."""
    from rag.eval.evaluation import check_report_folder
    from rag.eval.questions import load_questions
    from rag.eval.tables import table_scores

    if not args.questions or not args.out:
        raise OptionError("--tables N needs a question file and --out FOLDER")
    check_report_folder(args.out)
    questions, _ = load_questions(args.questions)
    scores, tables = table_scores(questions, pipeline, args.tables)
    args.out.mkdir(parents=True, exist_ok=True)
    shown = [f"## {t.question}\n\n{t.to_markdown()}\n" for t in tables]
    (args.out / "tables.md").write_text("\n".join(shown), encoding="utf-8")
    (args.out / "tables.json").write_text(json.dumps(scores, indent=2), encoding="utf-8")
    print(
        f"{scores['questions']:.0f} tables, {scores['cells']:.0f} cells: "
        f"{scores['filled']:.3f} filled, {scores['supported']:.3f} of those supported by "
        f"their abstract; tables in {args.out / 'tables.md'}"
    )
    return 0


def run_eval(args: argparse.Namespace, pipeline: Pipeline) -> int:
    if args.generate is not None:
        return run_generate(args, pipeline)
    if args.tables is not None:
        return run_tables(args, pipeline)
    if not args.questions or not args.out:
        raise QuestionError("eval needs a question file and --out FOLDER (or --compare A B)")
    # Evaluation pulls in ranx, scipy and matplotlib: imported here so `ask` stays quick.
    from rag.eval.evaluation import check_report_folder, evaluate, threshold_metrics
    from rag.eval.questions import load_questions
    from rag.eval.report import configs_table, write_report

    check_report_folder(args.out)
    metrics = threshold_metrics(pipeline.settings.retrieval.k)
    thresholds = parse_thresholds(args.fail_under, metrics)
    questions, problems = load_questions(
        args.questions, max_chars=pipeline.settings.answer.max_question_chars
    )
    for problem in problems:
        print(f"skipped {problem}", file=sys.stderr)
    check_threshold_types(thresholds, {q.type for q in questions})
    configs = args.config or ["ours"]
    summaries = {}
    for config in configs:
        folder = args.out / config if len(configs) > 1 else args.out
        try:
            report = evaluate(
                questions,
                pipeline,
                config=config,
                out=folder,
                resume=args.resume,
                workers=args.workers,
            )
        except KeyboardInterrupt:
            print(
                f"interrupted: finished rows are in {folder}; rerun with --resume", file=sys.stderr
            )
            return 130
        write_report(report.summary, report.rows, folder)
        summaries[config] = report.summary
    table = configs_table(summaries)
    if len(configs) > 1:
        (args.out / "comparison.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    print(f"\n{len(questions)} questions, {len(problems)} lines skipped; reports in {args.out}")
    failures = failed_thresholds(summaries[configs[0]], thresholds)
    for failure in failures:
        print(f"below threshold: {failure}", file=sys.stderr)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level)
    # bm25s sets its own logger to DEBUG, which would print past the root logger's level.
    logging.getLogger("bm25s").setLevel(level)
    try:
        return run(args)
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): what it read was all it wanted. Point stdout at
        # /dev/null so the interpreter's final flush does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
