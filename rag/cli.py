"""The command line: `python -m rag ingest [PATHS...]` and `python -m rag ask "QUESTION"`.

Errors a user can fix (a malformed digest, an empty question) print one line to stderr and
exit with code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from rag.config import describe_settings
from rag.errors import DigestFormatError, IndexStateError, QuestionError
from rag.pipeline import Pipeline
from rag.records import Answer

USAGE_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rag",
        description="Ask questions of a digest of paper abstracts; answers cite the papers.",
        epilog="Settings: "
        + ", ".join(name for name, _, _ in describe_settings())
        + " (see README).",
    )
    parser.add_argument("--index", type=Path, help="index folder (default: RAG_INDEX_PATH)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="add digest files to the index")
    ingest.add_argument("paths", nargs="*", type=Path, help="digest files (.txt, .json, .jsonl)")
    ingest.add_argument("--year", type=int, help="year for listing dates that give none")

    ask = commands.add_parser("ask", help="answer a question with cited papers")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("-k", type=int, help="papers to retrieve")
    return parser


def format_answer(answer: Answer) -> str:
    """The answer followed by its numbered references (or the nearest papers)."""
    lines = [answer.text, ""]
    for citation in answer.citations:
        date = citation.published.isoformat() if citation.published else "undated"
        lines.append(f"[{citation.number}] {citation.title} ({date})")
    return "\n".join(lines).rstrip()


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, dict[str, object]] = {"index": {}, "retrieval": {}}
    if args.index:
        overrides["index"]["path"] = args.index
    if getattr(args, "year", None):
        overrides["index"]["year"] = args.year
    if getattr(args, "k", None):
        overrides["retrieval"]["k"] = args.k
    pipeline = Pipeline(overrides)
    if args.command == "ingest":
        report = pipeline.ingest([str(p) for p in args.paths] or None)
        print(
            f"{report.papers} papers: {report.added} added, {report.updated} updated, "
            f"{report.unchanged} unchanged; {report.chunks_embedded} chunks embedded "
            f"in {report.seconds:.1f} s"
        )
        return 0
    answer = pipeline.ask(args.question)
    print(json.dumps(answer.to_dict(), indent=2) if args.json else format_answer(answer))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        return run(args)
    except (DigestFormatError, QuestionError, IndexStateError) as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
