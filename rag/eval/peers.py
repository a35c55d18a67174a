"""Peer configurations: the plain approaches our pipeline is measured against in the same run.

Each peer answers like `Pipeline.ask` (same question checks, same `Answer`) and hands its
sources to the SAME extractive composer, so an evaluation compares retrieval and nothing else.

- `BaselinePipeline` reproduces the LangChain RAG tutorial: one document per paper (title,
  blank line, abstract), `RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`,
  the same encoder, a cosine Chroma collection and a top-4 chunk similarity search. Papers come
  in order of first appearance among those 4 chunks, scored by their best chunk. The tutorial
  never abstains (it always stuffs 4 chunks into a prompt); we nevertheless give the composer
  real cosine similarities, so its usual `min_relevance` threshold applies. Abstaining is a
  property of the composer, not of retrieval, and keeping it equal keeps the comparison fair.
  The collection lives in `<index path>/peers/baseline` and is rebuilt whole when the
  fingerprint of paper ids and content hashes in its metadata differs: simple, and cheap at
  digest scale, where incremental ingest would only add code.
- `BM25Pipeline` ranks papers by BM25 alone (`bm25s`, default tokenizer, English stopwords,
  no stemming: PyStemmer is not installed and a peer should not add dependencies). BM25
  scores are unbounded, not cosines, so each is divided by the query's best score: the top
  paper gets 1.0, papers scoring zero are dropped, and when no paper scores above zero the
  composer gets no sources and abstains. Consequence: BM25 abstains only when no query word
  occurs in the digest; the relevance threshold never bites, since the top paper is always 1.0.
Both build lazily on the first question, once, under a lock.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import bm25s
import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.answer.compose import compose_extractive
from rag.config import Settings
from rag.ingest.digest import content_hash
from rag.ingest.embedding import ChromaEmbedding, Encoder
from rag.pipeline import Message, Pipeline, check_question
from rag.records import Answer, Paper, Source

PEER_NAMES = ("baseline", "bm25")

# The LangChain RAG tutorial's settings.
CHUNK_SIZE, CHUNK_OVERLAP, TUTORIAL_K = 1000, 200, 4
BASELINE_COLLECTION = "baseline"
ADD_BATCH = 256  # Chroma caps a single write; stay well below it.


class Peer(Protocol):
    name: str

    def ask(self, question: str, history: Sequence[Message] | None = None) -> Answer: ...


def paper_text(paper: Paper) -> str:
    """What both peers index for a paper: the tutorial's page_content."""
    return f"{paper.title}\n\n{paper.abstract}"


class _PeerBase:
    """Question checks, composing and timing shared by the peers; subclasses retrieve."""

    name = "peer"

    def __init__(self, papers: Mapping[str, Paper], encoder: Encoder, settings: Settings) -> None:
        self.papers = dict(papers)
        self.encoder = encoder
        self.settings = settings
        self._lock = threading.Lock()
        self._built = False

    def _build(self) -> None:
        raise NotImplementedError

    def _retrieve(self, question: str, vector: np.ndarray) -> list[Source]:
        raise NotImplementedError

    def ensure_built(self) -> None:
        with self._lock:
            if not self._built:
                self._build()
                self._built = True

    def ask(self, question: str, history: Sequence[Message] | None = None) -> Answer:
        """Answer one question; `history` is accepted for parity and unused, like the pipeline."""
        question = check_question(question, self.settings.answer.max_question_chars)
        self.ensure_built()  # before the clock starts, as in `Pipeline.ask`
        started = time.perf_counter()
        vector = self.encoder.encode_query(question)
        sources = self._retrieve(question, vector)
        answer = compose_extractive(
            question, vector, sources, self.encoder.encode_cached, self.settings.answer
        )
        return answer.timed("total", time.perf_counter() - started)


class BaselinePipeline(_PeerBase):
    """The LangChain tutorial's retrieval: 1000-character chunks, Chroma, top 4 chunks."""

    name = "baseline"

    def __init__(
        self,
        papers: Mapping[str, Paper],
        encoder: Encoder,
        settings: Settings,
        path: Path | None = None,
    ) -> None:
        super().__init__(papers, encoder, settings)
        self.path = Path(path) if path else Path(settings.index.path) / "peers" / "baseline"
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP
        )
        self.collection: chromadb.Collection | None = None
        self.rebuilt = False

    def fingerprint(self) -> str:
        """Changes when any paper, the splitter or the encoder changes."""
        recipe = {
            "papers": sorted((pid, content_hash(p)) for pid, p in self.papers.items()),
            "splitter": [CHUNK_SIZE, CHUNK_OVERLAP],
            "encoder": self.encoder.name,
        }
        return hashlib.sha256(json.dumps(recipe).encode()).hexdigest()

    def chunks(self) -> list[Document]:
        documents = [
            Document(page_content=paper_text(p), metadata={"paper_id": pid})
            for pid, p in self.papers.items()
        ]
        return self.splitter.split_documents(documents)

    def _build(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(self.path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        fingerprint = self.fingerprint()
        collection = self._open(client)
        if (collection.metadata or {}).get("fingerprint") != fingerprint:
            client.delete_collection(BASELINE_COLLECTION)
            collection = self._open(client)
            self._fill(collection)
            # Written last, so a build that was interrupted is redone next time.
            collection.modify(metadata={"fingerprint": fingerprint})
            self.rebuilt = True
        self.collection = collection

    def _open(self, client: chromadb.ClientAPI) -> chromadb.Collection:
        return client.get_or_create_collection(
            BASELINE_COLLECTION,
            embedding_function=ChromaEmbedding(self.encoder),
            configuration={"hnsw": {"space": "cosine"}},
        )

    def _fill(self, collection: chromadb.Collection) -> None:
        chunks = self.chunks()
        ids = [f"{c.metadata['paper_id']}:{n}" for n, c in enumerate(chunks)]
        for start in range(0, len(chunks), ADD_BATCH):
            batch = chunks[start : start + ADD_BATCH]
            # Chroma embeds the documents with our encoder, as the tutorial's vector store does.
            collection.add(
                ids=ids[start : start + ADD_BATCH],
                documents=[c.page_content for c in batch],
                metadatas=[c.metadata for c in batch],
            )

    def search(self, vector: np.ndarray) -> list[tuple[str, str, float]]:
        """(paper id, chunk text, cosine) for the tutorial's top-4 chunks, best first."""
        assert self.collection is not None
        n = min(TUTORIAL_K, self.collection.count())
        if n == 0:
            return []
        result = self.collection.query(
            query_embeddings=[vector], n_results=n, include=["documents", "metadatas", "distances"]
        )
        rows = zip(result["documents"][0], result["metadatas"][0], result["distances"][0])
        return [(str(meta["paper_id"]), doc, 1.0 - dist) for doc, meta, dist in rows]

    def _retrieve(self, question: str, vector: np.ndarray) -> list[Source]:
        grouped: dict[str, tuple[float, list[str]]] = {}
        for pid, text, score in self.search(vector):
            # Hits come best first, so a paper's first hit is its best chunk.
            grouped.setdefault(pid, (score, []))[1].append(text)
        # The fingerprint guarantees every stored paper id is one of `self.papers`.
        return [
            Source(self.papers[pid], score, rank, tuple(texts))
            for rank, (pid, (score, texts)) in enumerate(grouped.items(), start=1)
        ]


class BM25Pipeline(_PeerBase):
    """Papers ranked by BM25 over title and abstract, scores scaled to the query's best."""

    name = "bm25"

    def __init__(self, papers: Mapping[str, Paper], encoder: Encoder, settings: Settings) -> None:
        super().__init__(papers, encoder, settings)
        self.paper_ids = list(self.papers)
        self.retriever: bm25s.BM25 | None = None

    def _build(self) -> None:
        corpus = [paper_text(self.papers[pid]) for pid in self.paper_ids]
        tokens = bm25s.tokenize(corpus, stopwords="en", show_progress=False)
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        self.retriever = retriever

    def scores(self, question: str) -> np.ndarray:
        """Raw BM25 score of every paper, in `paper_ids` order."""
        assert self.retriever is not None
        words = bm25s.tokenize(question, stopwords="en", return_ids=False, show_progress=False)
        # Words absent from the corpus have no id; bm25s would fail on an empty id list.
        ids = self.retriever.get_tokens_ids(words[0])
        if not ids:
            return np.zeros(len(self.paper_ids), dtype=np.float32)
        return np.asarray(self.retriever.get_scores_from_ids(ids))

    def _retrieve(self, question: str, vector: np.ndarray) -> list[Source]:
        scores = self.scores(question)
        best = float(scores.max(initial=0.0))
        if best <= 0.0:
            return []
        order = np.argsort(-scores, kind="stable")[: self.settings.retrieval.k]
        kept = [i for i in order if scores[i] > 0.0]
        return [
            Source(self.papers[self.paper_ids[i]], float(scores[i]) / best, rank)
            for rank, i in enumerate(kept, start=1)
        ]


def make_peer(name: str, pipeline: Pipeline) -> Peer:
    """The peer called `name`, over the same papers, encoder and settings as `pipeline`."""
    if name == "baseline":
        return BaselinePipeline(pipeline.papers, pipeline.encoder, pipeline.settings)
    if name == "bm25":
        return BM25Pipeline(pipeline.papers, pipeline.encoder, pipeline.settings)
    raise ValueError(f"unknown peer {name!r}; choose one of: {', '.join(PEER_NAMES)}")
