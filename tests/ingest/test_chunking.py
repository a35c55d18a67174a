"""Chunks fit the encoder window, follow sentence boundaries and overlap by one sentence."""

from __future__ import annotations

from rag.config import bundled_digests
from rag.ingest.chunking import chunk_paper, embed_text, split_sentences
from rag.ingest.digest import load_digest
from rag.ingest.embedding import Encoder
from rag.records import Paper


def word_count(text: str) -> int:
    """A stand-in tokenizer: one token per word plus the two special tokens."""
    return len(text.split()) + 2


def make_paper(abstract: str, title: str = "A Title") -> Paper:
    return Paper(paper_id="p1", title=title, abstract=abstract)


def test_split_sentences_keeps_abbreviations_inside_a_sentence():
    text = "Features collapse, e.g. in deep layers. We study this. It matters."
    assert split_sentences(text) == (
        "Features collapse, e.g. in deep layers.",
        "We study this.",
        "It matters.",
    )


def test_split_sentences_keeps_a_closing_latex_quote_with_its_sentence():
    text = "We are ``bootstrapping from the void.'' This triggers overestimation."
    assert split_sentences(text) == (
        "We are ``bootstrapping from the void.''",
        "This triggers overestimation.",
    )


def test_chunks_group_whole_sentences_and_overlap_by_one():
    abstract = "One two three four. Five six seven eight. Nine ten eleven twelve. End here now."
    # Budget: 12 tokens minus the title line's 4 leaves 8 words per chunk.
    chunks = chunk_paper(make_paper(abstract, "A Title"), word_count, max_tokens=12, overlap=1)
    assert [c.text for c in chunks] == [
        "One two three four. Five six seven eight.",
        "Five six seven eight. Nine ten eleven twelve.",
        "Nine ten eleven twelve. End here now.",
    ]
    assert [c.chunk_id for c in chunks] == ["p1:0", "p1:1", "p1:2"]
    assert chunks[0].embed_text == embed_text("A Title", chunks[0].text)


def test_an_overlong_sentence_is_split_on_words_not_dropped():
    abstract = " ".join(f"w{i}" for i in range(30)) + "."
    chunks = chunk_paper(make_paper(abstract), word_count, max_tokens=14, overlap=0)
    words = " ".join(c.text for c in chunks).split()
    assert words == abstract.split()
    assert all(word_count(c.embed_text) <= 14 for c in chunks)


def test_seed_chunks_fit_the_model_window(encoder: Encoder):
    papers = load_digest(bundled_digests()[0])
    for paper in papers[:12]:
        chunks = chunk_paper(paper, encoder.count_tokens, max_tokens=200, overlap=1)
        assert chunks, paper.title
        for chunk in chunks:
            assert encoder.count_tokens(chunk.embed_text) <= 200
            assert chunk.embed_text.startswith(paper.title + "\n")
        sentences = split_sentences(paper.abstract)
        covered = {s for c in chunks for s in split_sentences(c.text)}
        assert set(sentences) <= covered
