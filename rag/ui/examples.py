"""Example questions for the landing page, made from the digest being served.

The examples are the first thing a reader tries, so they must fit this digest: its most
common theme, its most upvoted paper, its latest year, its newest paper. A theme is the
pair of adjacent title words (or, failing that, the word) most titles share.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rag.records import Paper, short_title

EXAMPLE_COUNT = 5
# A theme must be shared by this many titles to stand for the digest.
THEME_TITLES = 2
_WORD = re.compile(r"[A-Za-z][A-Za-z-]+")
_COMMON = frozenset(
    "a an and the of for in on to with via from by into at as is are be its their our we "
    "toward towards using based new large model models learning language llms llm deep neural "
    "network networks paper study approach method framework data towards beyond through".split()
)


def title_words(title: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(title)]


def digest_theme(papers: Sequence[Paper]) -> str:
    """The phrase most titles share: two adjacent content words, else one; "" when none is
    shared by THEME_TITLES titles."""
    pairs: Counter[str] = Counter()
    words: Counter[str] = Counter()
    for paper in papers:
        tokens = title_words(paper.title)
        pairs.update({f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)
                      if a not in _COMMON and b not in _COMMON})  # fmt: skip
        words.update({w for w in tokens if w not in _COMMON and len(w) > 3})
    for counts in (pairs, words):
        # Most titles first, then the alphabet, so the choice does not depend on file order.
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if ranked and ranked[0][1] >= THEME_TITLES:
            return ranked[0][0]
    return ""


def digest_examples(papers: Sequence[Paper]) -> list[str]:
    """Up to EXAMPLE_COUNT questions this digest answers, each about what it holds."""
    if not papers:
        return []
    examples = []
    if theme := digest_theme(papers):
        examples.append(f"Which papers are about {theme}?")
    voted = sorted((p for p in papers if p.upvotes), key=lambda p: (-p.upvotes, p.title))
    if voted:
        examples += [
            "Which is the most upvoted paper?",
            f"What does {short_title(voted[0].title)} propose?",
        ]
    dated = sorted((p for p in papers if p.published), key=lambda p: (p.published, p.title))
    if dated:
        newest = dated[-1]
        examples += [
            f"Which papers came out in {newest.published.year}?",
            f"What is {short_title(newest.title)} about?",
        ]
    if len(examples) < EXAMPLE_COUNT:
        examples.append("How many papers are there?")
    return list(dict.fromkeys(examples))[:EXAMPLE_COUNT]
