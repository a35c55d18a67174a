"""Papers side by side: what each proposes, what it evaluates on, and its headline result.

A comparison is extractive, like the default answers. Each cell is a clause of the paper's
own abstract, chosen by the cue words that mark a contribution ("we propose", "we
introduce"), an evaluation ("experiments on", "benchmarks") or a result ("outperforms",
"improves ... by 12%"); a result that states a number is preferred. A cell keeps the sentence
it came from, so it can be cited and checked. When no sentence carries a column's cues the
cell stays empty and says so: a guess would be worse than a gap. The concession: cue words
find how abstracts usually phrase these things, and an abstract that states its result
without any of them ("accuracy rose from 4.6% to 16.4%") gets its numbered sentence only if
the sentence also names a result word.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.answer.compose import is_background
from rag.answer.support import Support
from rag.display import readable
from rag.ingest.chunking import split_sentences
from rag.records import Paper, short_title
from rag.search.vocabulary import one_of

NOT_STATED = "not stated in the abstract"
COLUMNS = ("proposes or studies", "evaluated on", "headline result", "date", "upvotes")


# Cue classes, one row each: who does the work, what doing it is called, and how results are
# reported. A new cue joins every column that reads its class.
_THE_PAPER = r"(?:we|this (?:paper|work|study))"
_PROPOSAL_VERBS = one_of(
    "propose introduce present develop design study investigate analy[sz]e explore examine "
    "formali[sz]e establish ask offer provide derive prove take tackle describe review "
    "systemati[sz]e make build release frame"
)
_EVALUATION_WORDS = one_of(r"experiments? evaluat\w* benchmarks? empirical\w* tested validat\w*")
_RAN_ON_WORDS = one_of(r"experiments? evaluat\w* tested results? validat\w*")
_FINDING_VERBS = one_of("show demonstrate reveal indicate confirm suggest")
_TEST_BEDS = one_of("benchmarks? datasets? tasks environments games domains models")
_RESULT_WORDS = one_of(
    r"outperform\w* improv\w* achiev\w* reduc\w* gains? surpass\w* boost\w* significantly "
    r"state-of-the-art sota speed-?ups? better higher accuracy confirm\w* suggest\w* exceed\w*"
)
# A change in a measure, in any of its verb forms ("lowers error", "halved the cost").
_CHANGE_VERBS = one_of("lower rais halv doubl tripl increas decreas shrink accelerat")

_PROPOSES = re.compile(
    rf"\b(?:{_THE_PAPER}|the authors|here,? we)\s+(?:first\s+|then\s+|also\s+|\w+ly\s+)?"
    rf"{_PROPOSAL_VERBS}\w*\b",
    re.I,
)
# Any sentence with the paper as its subject says something of what it does (weaker cue).
_NOT_A_FINDING = r"(?!find|found|show|observe|obtain)"
_OWN_ACTION = re.compile(rf"\b{_THE_PAPER}\s+(?:\w+ly\s+)?{_NOT_A_FINDING}\w+", re.I)
# "... across five mathematical benchmarks", "on 24 ALFWorld tasks".
_ON_BENCHMARKS = re.compile(rf"\b(?:on|across|over)\s+(?:[\w/+-]+\s+){{0,5}}?{_TEST_BEDS}\b", re.I)
_EVALUATES = re.compile(rf"\b{_EVALUATION_WORDS}\b", re.I)
# What an evaluation ran on: "experiments on Qwen-2.5-Math-7B", "evaluated across 24 tasks".
_EVALUATED_ON = re.compile(
    rf"\b{_RAN_ON_WORDS}\s+(?:\w+\s+)?(?:on|across|in|with)\s+"
    rf"(?P<on>[^;:]{{3,160}}?)(?=\s+{_FINDING_VERBS}\w*\b|[,;.]\s|\.?$)",
    re.I,
)
_RESULT = re.compile(
    rf"\b(?:{_RESULT_WORDS}|{_CHANGE_VERBS}(?:e|es|ed|s|ing)?|perform\w* (?:nearly )?as well|"
    r"(?:we|results?|experiments?|analysis) (?:find|show|demonstrate|reveal)\w*)\b",
    re.I,
)
_NUMBER = re.compile(r"\d")
_OWN_WORK = re.compile(rf"\b(?:{_THE_PAPER}|our)\b", re.I)
# LaTeX left in scraped abstracts ("\\footnote{Our code is ...}") is not the paper's words.
_LATEX = re.compile(r"\s*\\[a-z]+\{[^}]*\}?")
# A named thing: an acronym, a CamelCase name or a name with digits ("ALFWorld", "AIME24").
_NAME = re.compile(r"\b(?:[A-Z][A-Za-z]*[A-Z][\w-]*|[A-Za-z]+-?\d[\w.-]*)\b")
MAX_CELL_CHARS = 240
Score = Callable[[str], int]


@dataclass(frozen=True)
class Cell:
    """One cell: the abstract's own words (empty when the abstract does not state it) and the
    sentence they come from."""

    text: str
    sentence: str = ""

    @property
    def filled(self) -> bool:
        return bool(self.text)

    def shown(self) -> str:
        return self.text or f"({NOT_STATED})"


@dataclass(frozen=True)
class ComparisonRow:
    """One paper of the comparison, cited as `number`."""

    number: int
    paper: Paper
    proposes: Cell
    evaluated_on: Cell
    result: Cell

    @property
    def cells(self) -> tuple[Cell, Cell, Cell]:
        return (self.proposes, self.evaluated_on, self.result)

    def values(self) -> list[str]:
        date = self.paper.published.isoformat() if self.paper.published else "undated"
        return [*(c.shown() for c in self.cells), date, str(self.paper.upvotes)]


@dataclass(frozen=True)
class Comparison:
    """Papers compared column by column; rows are cited [1], [2], ... in order."""

    question: str
    rows: tuple[ComparisonRow, ...]

    def to_markdown(self) -> str:
        header = ["paper", *COLUMNS]
        lines = [_markdown_row(header), _markdown_row(["---"] * len(header))]
        for row in self.rows:
            name = f"{short_title(row.paper.title)} [{row.number}]"
            lines.append(_markdown_row([name, *row.values()]))
        return "\n".join(lines)

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["number", "title", *COLUMNS])
        for row in self.rows:
            writer.writerow([row.number, row.paper.title, *row.values()])
        return out.getvalue()

    def to_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "columns": list(COLUMNS),
            "rows": [
                {
                    "number": row.number,
                    "paper_id": row.paper.paper_id,
                    "title": row.paper.title,
                    **{
                        name: {"text": cell.text, "sentence": cell.sentence}
                        for name, cell in zip(COLUMNS, row.cells, strict=False)
                    },
                    "date": row.values()[3],
                    "upvotes": row.paper.upvotes,
                }
                for row in self.rows
            ],
        }


def _markdown_row(values: Sequence[str]) -> str:
    # Digest text is data: a pipe or a line break would break the table's structure.
    cells = [v.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") for v in values]
    return "| " + " | ".join(cells) + " |"


def compare_papers(question: str, papers: Sequence[Paper]) -> Comparison:
    """The comparison table of `papers`, in the given order."""
    rows = tuple(_row(number, paper) for number, paper in enumerate(papers, start=1))
    return Comparison(question=question, rows=rows)


def _row(number: int, paper: Paper) -> ComparisonRow:
    sentences = list(split_sentences(paper.abstract))
    # An abstract's opening sentence sets the scene unless it says what the paper does.
    scene = {
        s
        for i, s in enumerate(sentences)
        if is_background(s) or (i == 0 and not _OWN_WORK.search(s))
    }
    # The result is chosen first: it is what a reader compares most, and its sentence often
    # also says what was evaluated ("Experiments on X show a 5% gain").
    result = _best(sentences, _result_score, scene)
    proposes = _best(sentences, _proposal_score, {result})
    evaluated = _evaluated_on(sentences, {result, proposes})
    return ComparisonRow(
        number,
        paper,
        _cell(proposes, _proposal_score),
        evaluated,
        _cell(result, _result_score),
    )


def _evaluated_on(sentences: Sequence[str], used: set[str]) -> Cell:
    """What the paper evaluates on: the "experiments on ..." phrase of the best evaluation
    sentence (which may be the result's), else a whole evaluation sentence not used yet."""
    ranked = sorted(
        (s for s in sentences if _evaluation_score(s) > 0),
        key=_evaluation_score,
        reverse=True,
    )
    for pattern in (_EVALUATED_ON, _ON_BENCHMARKS):
        for sentence in ranked:
            if match := pattern.search(sentence):
                return Cell(match.group(0).strip(), sentence)
    unused = [s for s in ranked if s not in used]
    return _cell(unused[0], _evaluation_score) if unused else Cell("")


def _best(sentences: Sequence[str], score: Score, used: set[str]) -> str:
    """The highest-scoring sentence not already used for another column ('' when none has
    the column's cues); earlier sentences win ties."""
    ranked = [(score(s), -i, s) for i, s in enumerate(sentences) if s not in used]
    best = max(ranked, default=(0, 0, ""))
    return best[2] if best[0] > 0 else ""


def _proposal_score(sentence: str) -> int:
    if _PROPOSES.search(sentence):
        return 2
    return 1 if _OWN_ACTION.search(sentence) else 0


def _evaluation_score(sentence: str) -> int:
    if not _EVALUATES.search(sentence):
        return 0
    # Named benchmarks, models or environments are what a reader compares.
    return 1 + min(len(_NAME.findall(sentence)), 3)


def _result_score(sentence: str) -> int:
    if not _RESULT.search(sentence):
        return 0
    return 1 + (2 if _NUMBER.search(sentence) else 0)


def _cell(sentence: str, score: Score) -> Cell:
    """The clause of `sentence` that carries the column's cue (the whole sentence when it is
    short): a cell is read across a row, so long sentences are cut at ';' or ':'."""
    if not sentence:
        return Cell("")
    # A footnote is no part of a cell; the rest of the LaTeX reads as its characters.
    sentence = readable(_LATEX.sub("", sentence)).strip()
    if len(sentence) <= MAX_CELL_CHARS:
        return Cell(sentence, sentence)
    clauses = [c.strip() for c in _clauses(sentence) if c.strip()]
    cued = [c for c in clauses if score(c) > 0] or clauses
    return Cell(cued[0], sentence)


def _clauses(sentence: str) -> list[str]:
    """`sentence` cut at each ';' or ':' that is followed by a space and stands outside
    brackets: "(e.g., GPT-5: 4%)" is one aside, not two clauses."""
    clauses, start, depth = [], 0, 0
    for i, char in enumerate(sentence):
        depth += (char in "([{") - (char in ")]}")
        if char in ";:" and depth <= 0 and sentence[i + 1 : i + 2].isspace():
            clauses.append(sentence[start:i])
            start = i + 1
    return [*clauses, sentence[start:]]


def cell_scores(comparisons: Sequence[Comparison], support: Support) -> dict[str, float]:
    """Share of the cells filled, and share of the filled cells that their paper's abstract
    supports by the evaluation's judge (`rag.answer.support`), over every row of `comparisons`."""
    cells = [(row.paper, cell) for c in comparisons for row in c.rows for cell in row.cells]
    filled = [(paper, cell) for paper, cell in cells if cell.filled]
    supported = sum(1 for paper, cell in filled if support(cell.text, [paper.abstract]))
    return {
        "cells": float(len(cells)),
        "filled": len(filled) / len(cells) if cells else 0.0,
        "supported": supported / len(filled) if filled else 0.0,
    }
