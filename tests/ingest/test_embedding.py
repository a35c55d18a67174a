"""The two encoder backends compute the same model; the int8 ONNX one is the default."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import Settings, bundled_digests
from rag.ingest.chunking import chunk_paper
from rag.ingest.digest import load_digests
from rag.ingest.embedding import Encoder


@pytest.fixture(scope="module")
def seed_texts() -> list[str]:
    counter = Encoder(backend="onnx")
    papers = load_digests(bundled_digests())
    chunks = [c.embed_text for p in papers[:12] for c in chunk_paper(p, counter.count_tokens)]
    return chunks + ["What is neural collapse?", "entropy", "ö ü 中文 🙂"]


def test_default_backend_is_onnx_and_named_apart_from_torch() -> None:
    assert Settings().index.encoder == "onnx"
    assert Encoder().name != Encoder(backend="torch").name


def test_unknown_backend_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown encoder backend 'gpu'"):
        Encoder(backend="gpu")


def test_onnx_vectors_are_normalised_and_order_independent(seed_texts: list[str]) -> None:
    encoder = Encoder(backend="onnx")
    vectors = encoder.encode(seed_texts, batch_size=4)
    assert vectors.shape == (len(seed_texts), encoder.dimension) == (len(seed_texts), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Length-sorted batching must put every vector back in its text's row.
    alone = np.stack([encoder.encode([t])[0] for t in seed_texts[:5]])
    assert np.allclose(vectors[:5], alone, atol=1e-4)


def test_onnx_counts_tokens_like_the_model_tokenizer(seed_texts: list[str]) -> None:
    onnx, torch = Encoder(backend="onnx"), Encoder(backend="torch")
    long_text = " ".join(seed_texts)
    for text in [*seed_texts, long_text]:
        assert onnx.count_tokens(text) == torch.count_tokens(text)
    assert onnx.count_tokens(long_text) > onnx.max_tokens == 256


@pytest.mark.slow
def test_onnx_vectors_match_the_fp32_model(seed_texts: list[str]) -> None:
    onnx = Encoder(backend="onnx").encode(seed_texts)
    fp32 = Encoder(backend="torch").encode(seed_texts)
    cosines = (onnx * fp32).sum(axis=1)
    assert cosines.min() >= 0.999
