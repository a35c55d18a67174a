"""Keyword search over whole papers with BM25 (bm25s), built from the index's own catalogue.

Dense vectors miss rare exact terms (acronyms, method names, "sycophancy"); BM25 finds them.
The keyword index is built from the papers the Chroma index holds, so it can never drift out
of sync with it. Building takes seconds at tens of thousands of papers, so it is kept beside
the generation it was built from (`cached`, see rag.ingest.derived) and loaded in milliseconds on
the next start. A paper is one BM25 document (title + abstract): keyword evidence is about
papers, and whole abstracts give BM25 the term statistics it needs. English stopwords are
dropped and words stemmed (Snowball), so "collapses" finds "collapse". Names written with
digits or punctuation ("AIME24", "AIME'24", "Qwen2.5-7B", "GPT-4o") are indexed whole and also
as their leading word ("aime", "qwen", "gpt"), and an acronym's plural as its singular ("VAEs",
"VAE"), on both sides, so a reader's "AIME" or "Qwen models" finds them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection, Sequence
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from rag.ingest import derived
from rag.records import Paper

log = logging.getLogger(__name__)
_STEMMER = Stemmer.Stemmer("english")
_IDS = "paper_ids.json"
# Bumped whenever `tokenize` changes, so an index kept from an older tokeniser is rebuilt.
TOKENIZER_VERSION = 4
_WORD = re.compile(r"(?u)\b\w\w+\b")
_STOPWORDS = frozenset(STOPWORDS_EN)
# A name glued to digits or joined by punctuation: "AIME24", "AIME'24", "Qwen2.5-7B", "GPT-4o".
_COMPOUND = re.compile(r"\b([A-Za-z]{2,})(?=['’]?\d|[-.]?\d|-[A-Za-z]*\d)[\w.'’-]*")
# An upper-case acronym with a plural s: "VAEs", "LLMs", "GNNs".
_ACRONYM_PLURAL = re.compile(r"\b([A-Z]{2,}[0-9]*)s\b")


def name_parts(text: str) -> str:
    """`text` with each compound name followed by its leading word and each acronym plural by
    its singular: "AIME24 and VAEs" -> "AIME24 AIME and VAEs VAE"."""
    text = _COMPOUND.sub(lambda m: f"{m.group(0)} {m.group(1)}", text)
    return _ACRONYM_PLURAL.sub(lambda m: f"{m.group(0)} {m.group(1)}", text)


def tokenize(texts: list[str]) -> list[list[str]]:
    """Stemmed lowercase words without English stopwords, compound names also split
    (`name_parts`). Acronyms and names with digits are not stemmed: Snowball would turn
    "AIME" into "aim" and match every abstract that aims at something."""
    out = []
    for text in texts:
        words = _WORD.findall(name_parts(text))
        out.append(
            [
                w.lower() if _is_name(w) else _STEMMER.stemWord(w.lower())
                for w in words
                if w.lower() not in _STOPWORDS
            ]
        )
    return out


def _is_name(word: str) -> bool:
    return sum(c.isupper() for c in word) >= 2 or any(c.isdigit() for c in word)


def with_bigrams(tokens: list[str]) -> list[str]:
    """Stemmed words plus adjacent pairs, so "neural collapse" outranks papers that merely
    mention "neural" and "collapse" apart."""
    return tokens + [f"{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def _key(papers: Sequence[Paper] | Sequence[str]) -> list[object]:
    """What a kept index was built from: the tokeniser's version and the paper ids."""
    ids = [p if isinstance(p, str) else p.paper_id for p in papers]
    return [f"tokenizer-{TOKENIZER_VERSION}", *ids]


class KeywordIndex:
    """BM25 over a fixed list of papers; scores come back in the papers' order."""

    def __init__(self, papers: Sequence[Paper], built: bm25s.BM25 | None = None) -> None:
        self.paper_ids = [p.paper_id for p in papers]
        self._bm25 = built or bm25s.BM25()
        if papers and built is None:
            documents = tokenize([f"{p.title}\n{p.abstract}" for p in papers])
            self._bm25.index([with_bigrams(d) for d in documents], show_progress=False)
        self._vocabulary = set(self._bm25.vocab_dict) if papers else set()

    @classmethod
    def cached(cls, papers: Sequence[Paper], place: Path | None) -> KeywordIndex:
        """The index of `papers`, loaded from `place` when it was built for exactly these
        papers, else built (and kept there for the next start)."""
        if place is None or not papers:
            return cls(papers)
        if derived.read_json(place / _IDS) == _key(papers):
            try:
                return cls(papers, bm25s.BM25.load(place, show_progress=False))
            except (OSError, ValueError, KeyError) as error:
                log.warning("rebuilding the keyword index kept in %s: %s", place, error)
        index = cls(papers)
        derived.write_folder(place, index._save)
        return index

    def _save(self, folder: Path) -> None:
        self._bm25.save(folder, show_progress=False)
        (folder / _IDS).write_text(json.dumps(_key(self.paper_ids)), encoding="utf-8")

    def unknown_share(self, text: str, ignore: Collection[str] = ()) -> float:
        """The share of `text`'s words (each with all its written forms, less the stems in
        `ignore`) that occur in no indexed paper: "speculative decoding" is unknown to a digest
        that never mentions it, "AIME" is known where "AIME24" is."""
        forms = self._word_forms(text, ignore)
        if not forms:
            return 0.0
        return sum(1 for f in forms if not f & self._vocabulary) / len(forms)

    def unknown_count(self, text: str, ignore: Collection[str] = ()) -> int:
        """How many of `text`'s words occur in no indexed paper."""
        return sum(1 for f in self._word_forms(text, ignore) if not f & self._vocabulary)

    def _word_forms(self, text: str, ignore: Collection[str]) -> list[set[str]]:
        words = [w for w in _WORD.findall(text) if _STEMMER.stemWord(w.lower()) not in ignore]
        forms = [set(tokenize([w])[0]) for w in words]
        return [f for f in forms if f and not f <= _STOPWORDS and max(map(len, f)) > 2]

    def holders(self, token: str) -> set[str]:
        """The ids of the papers that use one (tokenised) word."""
        if token not in self._vocabulary:
            return set()
        scores = np.asarray(self._bm25.get_scores([token]), dtype=np.float32)
        return {self.paper_ids[i] for i in np.flatnonzero(scores > 0)}

    def knows_any(self, text: str) -> bool:
        """Whether any word of `text` occurs in the indexed papers."""
        return any(token in self._vocabulary for token in tokenize([text])[0])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every paper for `query` (zeros when no query word is indexed)."""
        if not self.paper_ids:
            return np.zeros(0, dtype=np.float32)
        tokens = [t for t in with_bigrams(tokenize([query])[0]) if t in self._vocabulary]
        if not tokens:
            return np.zeros(len(self.paper_ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
