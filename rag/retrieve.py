"""Paper-level dense retrieval, exposed as a LangChain `BaseRetriever`.

Chroma returns the nearest chunks; readers want papers. The retriever fetches more chunks
than papers wanted, groups them by paper, scores a paper by its best chunk (a long abstract
with many mediocre chunks should not beat a short one with a precise match) and returns each
paper once, as a `Document` whose metadata carries the paper id, score, rank and the matching
chunk texts. `to_sources` turns those documents back into typed `Source` records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.index import ChunkHit, PaperIndex
from rag.records import Paper, Source


def group_by_paper(hits: Sequence[ChunkHit], k: int) -> list[tuple[str, float, list[str]]]:
    """(paper_id, best score, chunk texts best first) for the top `k` papers."""
    grouped: dict[str, tuple[float, list[str]]] = {}
    for hit in sorted(hits, key=lambda h: h.score, reverse=True):
        best, texts = grouped.setdefault(hit.paper_id, (hit.score, []))
        texts.append(hit.text)
    ranked = sorted(grouped.items(), key=lambda item: item[1][0], reverse=True)
    return [(paper_id, score, texts) for paper_id, (score, texts) in ranked[:k]]


class PaperRetriever(BaseRetriever):
    """Top-k papers for a question by cosine similarity of their best chunk."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: PaperIndex
    k: int = 5
    chunk_candidates: int = 30

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        vector = self.index.encoder.encode_query(query)
        hits = self.index.search(vector, max(self.chunk_candidates, self.k))
        return [
            Document(
                page_content=texts[0],
                metadata={"paper_id": paper_id, "score": score, "rank": rank, "chunks": texts},
            )
            for rank, (paper_id, score, texts) in enumerate(group_by_paper(hits, self.k), start=1)
        ]


def to_sources(documents: Sequence[Document], papers: Mapping[str, Paper]) -> list[Source]:
    """Typed sources for retrieved documents; papers missing from the catalogue are skipped."""
    return [
        Source(
            paper=papers[doc.metadata["paper_id"]],
            score=float(doc.metadata["score"]),
            rank=int(doc.metadata["rank"]),
            chunk_texts=tuple(doc.metadata.get("chunks", (doc.page_content,))),
        )
        for doc in documents
        if doc.metadata["paper_id"] in papers
    ]
