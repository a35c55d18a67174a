"""Split abstracts into sentence-aligned chunks that fit the encoder's window.

all-MiniLM-L6-v2 reads 256 word-piece tokens and silently drops the rest, so a chunk is
grown sentence by sentence until the next sentence would overflow the budget, counting the
title prefix too. Neighbouring chunks share `overlap` sentences so a statement that spans a
boundary is still found. A single sentence longer than the budget is split on words: it is
the only place a sentence is cut, and it is rare in abstracts. Token counting is injected,
so this module stays pure and testable without a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import blingfire

from rag.records import Chunk, Paper

TokenCounter = Callable[[str], int]

# Part of every chunk's fingerprint: another splitter makes other chunks, so changing it
# re-embeds an index on its next ingest instead of mixing the two.
SPLITTER = "blingfire-0.1.8"
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=4096)
def split_sentences(text: str) -> tuple[str, ...]:
    """Sentences of `text` in order, whitespace-normalised, empty pieces dropped.

    Bling Fire's rule-based splitter keeps "et al.", decimals and "(a) ..., (b) ..."
    enumerations inside their sentence, and splits an abstract in about 0.2 ms (pysbd took
    14 ms, most of an ingest's time outside the encoder)."""
    sentences: list[str] = []
    flat = _SPACE.sub(" ", text).strip()
    for piece in blingfire.text_to_sentences(flat).split("\n") if flat else ():
        piece = piece.strip()
        if len(piece) > 1:
            sentences.append(piece)
    return tuple(sentences)


def chunk_id_for(paper_id: str, number: int) -> str:
    """A chunk's id, `<paper_id>:<n>`: stable, so re-ingest overwrites, and readable both ways."""
    return f"{paper_id}:{number}"


def paper_id_of(chunk_id: str) -> str:
    """The paper a chunk id belongs to (paper ids may themselves contain colons)."""
    return chunk_id.rsplit(":", 1)[0]


def embed_text(title: str, body: str) -> str:
    """What the encoder sees: the title makes each chunk self-describing."""
    return f"{title}\n{body}"


def _split_long_sentence(sentence: str, fits: Callable[[str], bool]) -> list[str]:
    """Cut an over-long sentence into word runs that each fit."""
    parts: list[str] = []
    current: list[str] = []
    for word in sentence.split():
        if current and not fits(" ".join([*current, word])):
            parts.append(" ".join(current))
            current = []
        current.append(word)
    if current:
        parts.append(" ".join(current))
    return parts


def chunk_paper(
    paper: Paper, count_tokens: TokenCounter, max_tokens: int = 200, overlap: int = 1
) -> list[Chunk]:
    """Chunks of one paper's abstract; ids are `<paper_id>:<n>` so re-ingest overwrites.

    Word-piece tokens of whitespace-joined texts add up (BERT splits on whitespace first),
    so each sentence is tokenised once and a chunk's length is the sum of its parts.
    """
    # count_tokens includes [CLS] and [SEP]; the title line carries them for the chunk.
    budget = max_tokens - count_tokens(paper.title)

    def cost(text: str) -> int:
        return count_tokens(text) - 2

    pieces: list[tuple[str, int]] = []
    for sentence in split_sentences(paper.abstract) or (paper.title,):
        if cost(sentence) <= budget:
            pieces.append((sentence, cost(sentence)))
            continue
        for part in _split_long_sentence(sentence, lambda text: cost(text) <= budget):
            pieces.append((part, cost(part)))

    groups: list[list[str]] = []
    start = 0
    while start < len(pieces):
        end, used = start + 1, pieces[start][1]
        while end < len(pieces) and used + pieces[end][1] <= budget:
            used += pieces[end][1]
            end += 1
        groups.append([text for text, _ in pieces[start:end]])
        if end >= len(pieces):
            break
        # Step back by the overlap, but always move forward by at least one sentence.
        start = max(end - overlap, start + 1)

    return [
        Chunk(
            chunk_id=chunk_id_for(paper.paper_id, number),
            paper_id=paper.paper_id,
            number=number,
            text=" ".join(group),
            embed_text=embed_text(paper.title, " ".join(group)),
        )
        for number, group in enumerate(groups)
    ]
