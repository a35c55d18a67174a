"""A starter question set generated from the indexed digest itself, offline.

For each sampled paper the generator picks the abstract's most distinctive sentence (highest
summed IDF of its content words across the digest), turns it into a "Which paper ..."
question, swaps common academic verbs for plainer ones, and rejects candidates that repeat
too many of the title's words (a question that quotes the title is answered by keyword
lookup alone and measures nothing). Unanswerable distractors come in two kinds: questions on
subjects far from any abstract, and near-misses that ask a paper for a detail its abstract
does not give. This is a smoke test for a new digest, not a substitute for written questions:
the wording stays close to the abstracts, so it overstates how well retrieval works.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rag.errors import OptionError
from rag.ingest.chunking import split_sentences
from rag.records import Paper

MAX_TITLE_OVERLAP = 0.34
MIN_WORDS, MAX_WORDS, SHORT_WORDS = 10, 45, 25
_WORD = re.compile(r"[a-z][a-z0-9\-]+")
_STOP = frozenset(
    "a an and are as at be been by can for from has have in into is it its of on or that the "
    "their them these they this to was we were which with our us not but than such also more "
    "most both each other over under between while when where how what who why these those".split()
)
_PLAINER = {
    "demonstrate": "show",
    "demonstrates": "shows",
    "utilize": "use",
    "utilizing": "using",
    "novel": "new",
    "significantly": "substantially",
    "leverage": "use",
    "leverages": "uses",
    "propose": "put forward",
    "introduce": "present",
    "approach": "method",
    "methodology": "method",
    "facilitates": "helps",
    "enhance": "improve",
    "enhances": "improves",
}
_LEADS = re.compile(
    r"^(in this (paper|work|study),?\s*|here,?\s*|we (show|find|demonstrate|prove) that\s*|"
    r"(our|these) (results|experiments|findings) (show|demonstrate|suggest) that\s*)",
    re.IGNORECASE,
)
OFF_TOPIC = (
    "How long should sourdough bread proof before baking?",
    "What were the main causes of the fall of the Western Roman Empire?",
    "How do I replace the brake pads on a bicycle?",
    "Which grape varieties are used in Champagne?",
    "How does a heat pump warm a house in winter?",
    "What is the best way to learn to play the violin as an adult?",
)
NEAR_MISS = (
    "How many GPUs did the authors of \u201c{title}\u201d use for training?",
    "What was the total cost in dollars of the experiments in \u201c{title}\u201d?",
    "Which university are the authors of \u201c{title}\u201d affiliated with?",
)
_MISSING_DETAIL = ("gpu", "dollar", "university")


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def idf_table(papers: Sequence[Paper]) -> dict[str, float]:
    frequency = Counter(w for p in papers for w in set(content_words(p.abstract)))
    return {w: math.log((1 + len(papers)) / (1 + n)) + 1 for w, n in frequency.items()}


def title_overlap(text: str, title: str) -> float:
    title_words = set(content_words(title))
    return len(title_words & set(content_words(text))) / len(title_words) if title_words else 0.0


def plainer(sentence: str) -> str:
    """Strip reporting leads and swap academic verbs for plainer ones."""
    body = _LEADS.sub("", sentence.strip()).rstrip(".!? ")
    words = [_PLAINER.get(w.lower(), w) for w in body.split()]
    body = " ".join(words)
    body = re.sub(r"\bwe\b", "the authors", body, flags=re.IGNORECASE)
    body = re.sub(r"\bour\b", "their", body, flags=re.IGNORECASE)
    words = body.split()
    if len(words) > SHORT_WORDS:
        # A reader asks about the main claim; cut at the first clause break after it.
        for i in range(MIN_WORDS, len(words)):
            head = " ".join(words[:i])
            if words[i - 1][-1] in ",;:" and head.count("(") == head.count(")"):
                words = words[:i]
                words[-1] = words[-1][:-1]
                break
    body = " ".join(words)
    # Lower-case a leading capital, but never an acronym ("GTR", "LLMs").
    return body[:1].lower() + body[1:] if body[1:2].islower() else body


def question_for(paper: Paper, idf: dict[str, float]) -> tuple[str, str] | None:
    """(question, source sentence) from the paper's most distinctive usable sentence."""
    ranked = sorted(
        (s for s in split_sentences(paper.abstract) if MIN_WORDS <= len(s.split()) <= MAX_WORDS),
        key=lambda s: -sum(idf.get(w, 0.0) for w in set(content_words(s))),
    )
    for sentence in ranked:
        if sentence.endswith("?") or title_overlap(sentence, paper.title) > MAX_TITLE_OVERLAP:
            continue
        return f"Which paper reports that {plainer(sentence)}?", sentence
    return None


def check_count(n: object) -> int:
    """`n`, the answerable questions to generate; an `OptionError` unless it is at least 1
    (with none asked for, the set would hold only distractors)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise OptionError(f"the number of questions to generate must be 1 or more, got {n!r}")
    return n


def generate_questions(
    papers: Sequence[Paper], n: int, seed: int = 0, unanswerable: int | None = None
) -> list[dict[str, Any]]:
    """`n` answerable questions (one per sampled paper) plus distractors, RAGAS field names."""
    check_count(n)
    rng = random.Random(seed)
    idf = idf_table(papers)
    rows: list[dict[str, Any]] = []
    for paper in rng.sample(list(papers), len(papers)):
        if len(rows) >= n:
            break
        made = question_for(paper, idf)
        if made is None:
            continue
        question, sentence = made
        rows.append(
            {
                "id": f"gen{len(rows) + 1:03d}",
                "user_input": question,
                "reference": sentence,
                "reference_contexts": [sentence],
                "reference_titles": [paper.title],
                "type": "single",
                "generated": True,
            }
        )
    wanted = max(1, n // 4) if unanswerable is None else unanswerable
    near = [
        (template, paper)
        for paper in papers
        for template, missing in zip(NEAR_MISS, _MISSING_DETAIL, strict=True)
        if missing not in paper.abstract.lower()
    ]
    # Half far off the digest's subjects, half near-misses on its own papers.
    off_topic = list(OFF_TOPIC[: min(len(OFF_TOPIC), (wanted + 1) // 2)])
    near_misses = [t.format(title=p.title) for t, p in rng.sample(near, len(near))]
    for question in off_topic + near_misses[: wanted - len(off_topic)]:
        rows.append(
            {
                "id": f"gen{len(rows) + 1:03d}",
                "user_input": question,
                "reference": "",
                "reference_titles": [],
                "type": "unanswerable",
                "generated": True,
            }
        )
    return rows
