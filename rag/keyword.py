"""Keyword search over whole papers with BM25 (bm25s), built from the index's own catalogue.

Dense vectors miss rare exact terms (acronyms, method names, "sycophancy"); BM25 finds them.
The keyword index is rebuilt in memory from the papers the Chroma index holds, so it can
never drift out of sync with it; at digest scale that takes milliseconds. A paper is one
BM25 document (title + abstract): keyword evidence is about papers, and whole abstracts give
BM25 the term statistics it needs. English stopwords are dropped and words stemmed (Snowball),
so "collapses" finds "collapse".
"""

from __future__ import annotations

from collections.abc import Sequence

import bm25s
import numpy as np
import Stemmer

from rag.records import Paper

_STEMMER = Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(
        texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False
    )


def with_bigrams(tokens: list[str]) -> list[str]:
    """Stemmed words plus adjacent pairs, so "neural collapse" outranks papers that merely
    mention "neural" and "collapse" apart."""
    return tokens + [f"{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False)]


class KeywordIndex:
    """BM25 over a fixed list of papers; scores come back in the papers' order."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        self.paper_ids = [p.paper_id for p in papers]
        self._bm25 = bm25s.BM25()
        if papers:
            documents = tokenize([f"{p.title}\n{p.abstract}" for p in papers])
            self._bm25.index([with_bigrams(d) for d in documents], show_progress=False)
        self._vocabulary = set(self._bm25.vocab_dict) if papers else set()

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every paper for `query` (zeros when no query word is indexed)."""
        if not self.paper_ids:
            return np.zeros(0, dtype=np.float32)
        tokens = [t for t in with_bigrams(tokenize([query])[0]) if t in self._vocabulary]
        if not tokens:
            return np.zeros(len(self.paper_ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
