"""Wires the stages into one object and one call: `Pipeline(settings).ask(question)`.

The pipeline owns the expensive things (encoder, Chroma collection) and builds each lazily,
once; tests and callers can inject their own. Answering is a LangChain runnable chain
(question -> retriever -> sources -> extractive composer), so it composes with the rest of
the ecosystem. `rag.ask()` uses a default pipeline over the bundled digest, built on first use.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from operator import itemgetter
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from rag.answer import compose_extractive
from rag.config import Settings, get_settings
from rag.digest import load_digests
from rag.embedding import Encoder
from rag.errors import QuestionError
from rag.index import IngestReport, PaperIndex
from rag.records import Answer, Paper
from rag.retrieve import PaperRetriever, to_sources
from rag.texts import EMPTY_QUESTION, QUESTION_NOT_TEXT, QUESTION_TOO_LONG

log = logging.getLogger(__name__)
Message = Mapping[str, str]


def check_question(question: object, max_chars: int) -> str:
    """The question, stripped; a `QuestionError` a user can act on when it cannot be asked."""
    if not isinstance(question, str):
        raise QuestionError(QUESTION_NOT_TEXT)
    stripped = question.strip()
    if not stripped:
        raise QuestionError(EMPTY_QUESTION)
    if len(stripped) > max_chars:
        raise QuestionError(QUESTION_TOO_LONG.format(length=len(stripped), limit=max_chars))
    return stripped


class Pipeline:
    """Index, retriever and answerer for one settings object."""

    def __init__(
        self,
        settings: Settings | Mapping[str, Mapping[str, Any]] | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        self.settings = get_settings(settings)
        self._encoder = encoder
        self._ready = threading.Lock()
        self._indexed = False

    @cached_property
    def encoder(self) -> Encoder:
        return self._encoder or Encoder()

    @cached_property
    def index(self) -> PaperIndex:
        s = self.settings.index
        return PaperIndex(s.path, self.encoder, s.collection, s.chunk_tokens, s.chunk_overlap)

    def ingest(self, paths: Sequence[str] | None = None) -> IngestReport:
        """Parse digest files (all of them before touching the index) and add them."""
        s = self.settings.index
        papers = load_digests(paths or s.digests, year=s.year)
        report = self.index.ingest(papers, batch_size=s.batch_size, progress=s.progress)
        self.__dict__.pop("papers", None)
        return report

    def ensure_index(self) -> None:
        """Bring the index up to date with the configured digests, once per pipeline."""
        with self._ready:
            if self._indexed:
                return
            if self.settings.index.digests:
                self.ingest()
            self._indexed = True

    @cached_property
    def papers(self) -> dict[str, Paper]:
        """The indexed papers by id, read once from the index."""
        self.ensure_index()
        return self.index.papers()

    @cached_property
    def retriever(self) -> PaperRetriever:
        r = self.settings.retrieval
        return PaperRetriever(index=self.index, k=r.k, chunk_candidates=r.chunk_candidates)

    @cached_property
    def chain(self) -> Runnable:
        """question -> {question, documents} -> Answer."""
        return RunnablePassthrough.assign(
            documents=itemgetter("question") | self.retriever
        ) | RunnableLambda(self._compose)

    def _compose(self, inputs: dict[str, Any]) -> Answer:
        question: str = inputs["question"]
        sources = to_sources(inputs["documents"], self.papers)
        return compose_extractive(
            question,
            self.encoder.encode_query(question),
            sources,
            self.encoder.encode_cached,
            self.settings.answer,
        )

    def ask(self, question: str, history: Sequence[Message] | None = None) -> Answer:
        """Answer one question with cited papers from the digest."""
        question = check_question(question, self.settings.answer.max_question_chars)
        self.papers  # noqa: B018 - builds the index before the clock starts
        started = time.perf_counter()
        answer = self.chain.invoke({"question": question, "history": list(history or [])})
        answer.timings["total"] = time.perf_counter() - started
        return answer


_default: Pipeline | None = None
_default_lock = threading.Lock()


def default_pipeline() -> Pipeline:
    """The shared pipeline over the configured (by default the bundled) digest."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Pipeline()
        return _default


def ask(question: str, history: Sequence[Message] | None = None) -> Answer:
    """Answer a question from the default digest: `rag.ask("What is neural collapse?")`."""
    return default_pipeline().ask(question, history)
