"""Wires the stages into one object and one call: `Pipeline(settings).ask(question)`.

The pipeline owns the expensive things (encoder, Chroma collection) and builds each lazily,
once; tests and callers can inject their own. Answering is a LangChain runnable chain
(question -> retriever -> sources -> extractive composer), so it composes with the rest of
the ecosystem. `rag.ask()` uses a default pipeline over the bundled digest, built on first use.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from langchain_core.runnables import Runnable

from rag.chain import Resources, Turn, build_chain
from rag.config import Settings, get_settings
from rag.conversation import Message
from rag.digest import load_digests
from rag.embedding import Encoder
from rag.errors import QuestionError
from rag.index import IngestReport, PaperIndex
from rag.keyword import KeywordIndex
from rag.query import explicit_filters
from rag.records import Answer, Paper
from rag.retrieve import HybridRetriever
from rag.texts import EMPTY_QUESTION, QUESTION_NOT_TEXT, QUESTION_TOO_LONG

log = logging.getLogger(__name__)


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
        for cached in ("papers", "keyword", "retriever", "chain"):
            self.__dict__.pop(cached, None)
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
    def keyword(self) -> KeywordIndex:
        """BM25 over the indexed papers, rebuilt from the index so it is never out of sync."""
        return KeywordIndex(list(self.papers.values()))

    @cached_property
    def retriever(self) -> HybridRetriever:
        r = self.settings.retrieval
        return HybridRetriever(
            index=self.index,
            keyword=self.keyword,
            k=r.k,
            chunk_candidates=r.chunk_candidates,
            mode=r.mode,
        )

    @cached_property
    def chain(self) -> Runnable:
        """Turn -> Answer: understand the question, retrieve, compose (see rag.chain)."""
        return build_chain(self.resources)

    def resources(self) -> Resources:
        return Resources(self.settings, self.papers, self.retriever, self.encoder, self.ask)

    def ask(
        self,
        question: str,
        history: Sequence[Message] | None = None,
        *,
        year: int | None = None,
        since: dt.date | str | None = None,
        until: dt.date | str | None = None,
        min_upvotes: int | None = None,
        max_upvotes: int | None = None,
        organization: str | None = None,
    ) -> Answer:
        """Answer one question with cited papers from the digest.

        `history` holds earlier turns as OpenAI-style messages; the keyword filters restrict
        the papers considered, on top of any the question itself states.
        """
        question = check_question(question, self.settings.answer.max_question_chars)
        explicit = explicit_filters(year, since, until, min_upvotes, max_upvotes, organization)
        self.papers  # noqa: B018 - builds the index before the clock starts
        started = time.perf_counter()
        turn = Turn(question, tuple(history or ()), explicit)
        answer = self.chain.invoke(turn)
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


def ask(question: str, history: Sequence[Message] | None = None, **filters: Any) -> Answer:
    """Answer a question from the default digest: `rag.ask("What is neural collapse?")`."""
    return default_pipeline().ask(question, history, **filters)
