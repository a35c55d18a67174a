"""Synthetic digests for scale tests: real sentences and title words, recombined reproducibly.

Speed at 10,000 or 50,000 papers cannot be measured on the 44-paper seed, and no larger real
digest ships with the project. A synthetic paper takes 3-7 sentences of the seed's abstracts
and a title of seed title words, drawn with a fixed seed, so its chunks have the length and
vocabulary of real ones. Every synthetic record is labelled: its title starts with
"[synthetic]" and its organisation is "Synthetic corpus". Files are generated on demand
(`python -m rag.bench.synthetic 10000 out.jsonl`) and kept out of git.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from rag.ingest.chunking import split_sentences
from rag.records import Paper

LABEL = "[synthetic]"
ORGANIZATION = "Synthetic corpus"
FIRST_DAY = dt.date(2024, 1, 1)
DAYS = 730


def sentence_pool(papers: Sequence[Paper]) -> tuple[list[str], list[str]]:
    """The seed's abstract sentences and title words (each list sorted, so draws reproduce)."""
    sentences = sorted({s for p in papers for s in split_sentences(p.abstract)})
    words = sorted({w for p in papers for w in re.findall(r"[A-Za-z][A-Za-z-]{3,}", p.title)})
    return [s for s in sentences if len(s.split()) >= 4], words


def synthetic_records(papers: Sequence[Paper], count: int, seed: int = 0) -> Iterator[dict]:
    """`count` JSONL-ready paper records (Paper field names), the same for the same seed."""
    sentences, words = sentence_pool(papers)
    draw = random.Random(seed)
    for number in range(1, count + 1):
        title_words = draw.sample(words, draw.randint(4, 8))
        yield {
            "title": f"{LABEL} {' '.join(title_words).capitalize()} {number}",
            "abstract": " ".join(draw.sample(sentences, draw.randint(3, 7))),
            "organization": ORGANIZATION,
            "published": (FIRST_DAY + dt.timedelta(days=draw.randrange(DAYS))).isoformat(),
            "upvotes": draw.randint(0, 60),
        }


def write_synthetic_digest(papers: Sequence[Paper], count: int, path: Path, seed: int = 0) -> Path:
    """Write the corpus as JSONL (through a temporary file, so a partial file never remains)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for record in synthetic_records(papers, count, seed):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    partial.replace(path)
    return path


def main(argv: Sequence[str] | None = None) -> None:
    from rag.config import bundled_digests
    from rag.ingest.digest import load_digests

    parser = argparse.ArgumentParser(prog="python -m rag.bench.synthetic", description=__doc__)
    parser.add_argument("count", type=int, help="papers to generate")
    parser.add_argument("out", type=Path, help="JSONL file to write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    write_synthetic_digest(load_digests(bundled_digests()), args.count, args.out, args.seed)
    print(f"wrote {args.count} synthetic papers to {args.out}")


if __name__ == "__main__":
    main()
