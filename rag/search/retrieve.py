"""Paper-level hybrid retrieval (dense + BM25, reciprocal rank fusion) as a LangChain retriever.

Chroma returns the nearest chunks; readers want papers. Dense search groups chunks by paper
and scores a paper by its best chunk (a long abstract with many mediocre chunks should not
beat a short one with a precise match). BM25 ranks whole papers by their words, which finds
rare exact terms that the small encoder blurs. The two rankings are fused with reciprocal
rank fusion (Cormack et al. 2009, k = 60): rank-based, so the incomparable score scales need
no calibration. Each returned paper still carries its dense cosine and its keyword score
(BM25 over the query's best), which later stages use to decide relevance and abstention.
Filters from the question (year, dates, upvotes, organisation) restrict both searches.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.config import RETRIEVAL_MODES
from rag.ingest.index import ChunkHit, PaperIndex
from rag.records import Paper, Source
from rag.search.keyword import KeywordIndex

RRF_K = 60
# How far the best keyword match must outscore the next for its words to be its own.
KEYWORD_LEAD = 2.0
MODES = RETRIEVAL_MODES


def group_by_paper(hits: Sequence[ChunkHit]) -> dict[str, list[ChunkHit]]:
    """paper_id -> its chunks best first, papers in order of their best chunk."""
    grouped: dict[str, list[ChunkHit]] = {}
    for hit in sorted(hits, key=lambda h: h.score, reverse=True):
        grouped.setdefault(hit.paper_id, []).append(hit)
    return grouped


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """Sum of 1 / (k + rank) over the rankings each id appears in."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def keyword_lead(ranking: Sequence[str], scores: Mapping[str, float]) -> str | None:
    """The keyword ranking's first paper when its BM25 score is `KEYWORD_LEAD` times every
    other's or more (None otherwise)."""
    if not ranking:
        return None
    runner_up = scores[ranking[1]] if len(ranking) > 1 else 0.0
    return ranking[0] if scores[ranking[0]] >= KEYWORD_LEAD * runner_up else None


class HybridRetriever(BaseRetriever):
    """Top-k papers for a question: dense and keyword rankings fused, one entry per paper."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: PaperIndex
    keyword: KeywordIndex
    k: int = 5
    chunk_candidates: int = 30
    mode: str = "hybrid"

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return self.search(query)

    def _keyword_ranking(
        self, query: str, allowed: Collection[str] | None
    ) -> tuple[list[str], dict[str, float]]:
        scores = self.keyword.scores(query)
        top = float(scores.max()) if scores.size else 0.0
        if top <= 0:
            return [], {}
        ids = self.keyword.paper_ids
        matching = np.flatnonzero(scores > 0)
        if allowed is not None:
            matching = np.array([i for i in matching if ids[i] in allowed], dtype=np.int64)
        # Only the best few are ranked: sorting every score costs more than the search.
        if len(matching) > self.chunk_candidates:
            best = np.argpartition(-scores[matching], self.chunk_candidates)
            matching = matching[best[: self.chunk_candidates]]
        order = matching[np.argsort(-scores[matching], kind="stable")]
        return [ids[i] for i in order], {ids[i]: float(scores[i]) / top for i in order}

    def search(
        self,
        query: str,
        where: Mapping | None = None,
        allowed: Collection[str] | None = None,
        k: int | None = None,
    ) -> list[Document]:
        """Ranked papers as Documents; `where` filters chunks, `allowed` limits paper ids."""
        k = k or self.k
        vector = self.index.encoder.encode_query(query)
        dense: dict[str, list[ChunkHit]] = {}
        if self.mode != "keyword":
            hits = self.index.search(vector, self.chunk_candidates, dict(where) if where else None)
            dense = group_by_paper([h for h in hits if allowed is None or h.paper_id in allowed])
        keyword_ranking, keyword_scores = ([], {})
        if self.mode != "dense":
            keyword_ranking, keyword_scores = self._keyword_ranking(query, allowed)
        fused = reciprocal_rank_fusion([list(dense), keyword_ranking])
        if lead := keyword_lead(keyword_ranking, keyword_scores):
            # Only this paper holds the question's rarest words: as sure a match as the best
            # dense one, which rank fusion alone would not see (it reads ranks, not margins).
            fused[lead] += 1.0 / (RRF_K + 1)
        ranked = sorted(fused, key=lambda pid: fused[pid], reverse=True)[:k]
        # Texts are read for the papers kept only, together with every chunk of the papers
        # that keyword search alone found (their dense score is their best chunk's).
        read = self.index.read_chunks(
            vector,
            hits=[h for pid in ranked for h in dense.get(pid, ())],
            paper_ids=[pid for pid in ranked if pid not in dense],
        )
        chunks = group_by_paper(read)
        return [
            Document(
                page_content=chunks[pid][0].text if pid in chunks else "",
                metadata={
                    "paper_id": pid,
                    "rank": rank,
                    "fused": fused[pid],
                    "dense": chunks[pid][0].score if pid in chunks else 0.0,
                    "keyword": keyword_scores.get(pid, 0.0),
                    "chunks": [h.text for h in chunks.get(pid, ())],
                },
            )
            for rank, pid in enumerate(ranked, start=1)
        ]


def closeness(retriever: HybridRetriever, query: str, paper_ids: Collection[str]) -> float:
    """The best chunk cosine of `query` among the papers `paper_ids` (0 when there are none)."""
    if not paper_ids:
        return 0.0
    vector = retriever.index.encoder.encode_query(query)
    chunks = retriever.index.read_chunks(vector, paper_ids=list(paper_ids))
    return max((c.score for c in chunks), default=0.0)


def to_sources(documents: Sequence[Document], papers: Mapping[str, Paper]) -> list[Source]:
    """Typed sources for retrieved documents; papers missing from the catalogue are skipped.

    A source's `score` is its dense cosine: unlike the fused rank score it means the same
    thing from question to question, so thresholds can be set on it.
    """
    return [
        Source(
            paper=papers[doc.metadata["paper_id"]],
            score=float(doc.metadata["dense"]),
            rank=int(doc.metadata["rank"]),
            chunk_texts=tuple(doc.metadata.get("chunks") or (doc.page_content,)),
            dense=float(doc.metadata["dense"]),
            keyword=float(doc.metadata["keyword"]),
        )
        for doc in documents
        if doc.metadata["paper_id"] in papers
    ]
