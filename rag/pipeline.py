"""Wires the stages into one object and one call: `Pipeline(settings).ask(question)`.

The pipeline owns the expensive things (encoder, Chroma collection, chat models) and builds
each lazily, once; tests and callers can inject their own. Answering is a LangChain runnable
chain (question -> retriever -> sources -> extractive composer), so it composes with the rest
of the ecosystem. `mode` picks who writes the answer: the extractive composer, or an LLM
backend whose text is verified against its sources and falls back to the extractive answer
(rag.answer.generated). `stream()` yields text as it is produced and the final `Answer` last;
`ask()` returns that `Answer`. `rag.ask()` and `rag.stream()` use a default pipeline over the
bundled digest, built on first use.

A pipeline follows the index as other processes ingest into it: each question first compares
the index's pointer stamp (one `stat`) with the one its current `View` was opened at, and on a
change one thread opens the new live generation while the others keep answering from the
current view. A view is one generation with everything read from it (catalogue, BM25,
retriever, chains), so a question never mixes two generations; the view holds a reader's lease
on its generation until the last question reading it has finished, so no ingest can drop it
from under a question in flight.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any

from chromadb.errors import NotFoundError
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from rag.answer.backends import build_chat_model
from rag.answer.compare import Comparison, compare_papers
from rag.answer.generated import generate, text_pieces
from rag.answer.support import EmbeddingSupport, default_support
from rag.chain import (
    Resources,
    Turn,
    Understood,
    build_chain,
    build_retrieval_chain,
    compose,
    grounding_sources,
)
from rag.config import ANSWER_MODES, K_ALLOWED, Settings, get_settings, valid_k
from rag.errors import IndexStateError, QuestionError
from rag.ingest.digest import load_digests
from rag.ingest.embedding import Encoder
from rag.ingest.generations import IngestReport
from rag.ingest.index import PaperIndex
from rag.records import Answer, Paper
from rag.search.conversation import Message, check_history
from rag.search.filters import QueryFilters, explicit_filters
from rag.search.keyword import KeywordIndex
from rag.search.retrieve import HybridRetriever
from rag.search.themes import theme_members
from rag.texts import EMPTY_QUESTION, QUESTION_NOT_TEXT, QUESTION_TOO_LONG

log = logging.getLogger(__name__)

QUERY_FILTER_FIELDS = frozenset(f.name for f in dataclasses.fields(QueryFilters))


# A table wider than this stops being read side by side.
MAX_COMPARED = 6


def check_question(question: object, max_chars: int) -> str:
    """The question, stripped; a `QuestionError` a user can act on when it cannot be asked."""
    if not isinstance(question, str):
        raise QuestionError(QUESTION_NOT_TEXT)
    # Argument bytes that are not UTF-8 arrive as lone surrogates, which the tokenizer rejects.
    question = question.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    stripped = question.strip()
    if not stripped:
        raise QuestionError(EMPTY_QUESTION)
    if len(stripped) > max_chars:
        raise QuestionError(QUESTION_TOO_LONG.format(length=len(stripped), limit=max_chars))
    return stripped


def check_k(k: object) -> int:
    """`k`, the papers a question retrieves; a `QuestionError` naming the range otherwise."""
    if not valid_k(k):
        raise QuestionError(f"k must be {K_ALLOWED}, got {k!r}")
    assert isinstance(k, int)
    return k


class View:
    """One generation as questions read it: the index pinned to it and everything built from
    it, and how many questions are reading it. Retired when a newer generation goes live, it
    lets go of its generation once the last of them has finished."""

    def __init__(
        self,
        index: PaperIndex,
        stamp: object,
        settings: Settings,
        encoder: Encoder,
        recall: Callable[[str], Answer],
    ) -> None:
        self.index = index
        self.stamp = stamp
        self._settings = settings
        self._encoder = encoder
        self._recall = recall
        self._lock = threading.Lock()
        self._readers = 0
        self._retired = False

    @cached_property
    def papers(self) -> dict[str, Paper]:
        return self.index.papers()

    @cached_property
    def keyword(self) -> KeywordIndex:
        """BM25 over the view's papers, built from the index's own catalogue (and kept beside
        its generation), so it is never out of sync with it."""
        place = self.index.derived_folder()
        return KeywordIndex.cached(list(self.papers.values()), place / "bm25" if place else None)

    @cached_property
    def retriever(self) -> HybridRetriever:
        r = self._settings.retrieval
        return HybridRetriever(
            index=self.index,
            keyword=self.keyword,
            k=r.k,
            chunk_candidates=r.chunk_candidates,
            mode=r.mode,
        )

    @cached_property
    def resources(self) -> Resources:
        return Resources(self._settings, self.papers, self.retriever, self._encoder, self._recall)

    @cached_property
    def chain(self) -> Runnable:
        """Turn -> Answer: understand the question, retrieve, compose (see rag.chain)."""
        return build_chain(lambda: self.resources)

    @cached_property
    def retrieval_chain(self) -> Runnable:
        """Turn -> Understood with sources: what a generated answer is grounded on."""
        return build_retrieval_chain(lambda: self.resources)

    def warm(self) -> View:
        """Build everything before the view is shown to questions."""
        self.resources  # noqa: B018 - reads the catalogue, builds BM25 and the retriever
        self.chain  # noqa: B018
        self.retrieval_chain  # noqa: B018
        return self

    def enter(self) -> bool:
        """Count one more question reading this view; False once it is retired."""
        with self._lock:
            if self._retired:
                return False
            self._readers += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._readers -= 1
            done = self._retired and self._readers == 0
        if done:
            self.index.close()

    def retire(self) -> None:
        with self._lock:
            self._retired = True
            done = self._readers == 0
        if done:
            self.index.close()


# A stamp no pointer has: forces the next question to open the live generation again.
STALE = object()


class Pipeline:
    """Index, retriever and answerer for one settings object.

    The LangChain pieces belong to the live generation's view: `pipeline.view().chain` is
    the Turn -> Answer runnable, `view().retriever` the `BaseRetriever` over the papers."""

    def __init__(
        self,
        settings: Settings | Mapping[str, Mapping[str, Any]] | None = None,
        encoder: Encoder | None = None,
        chat_models: Mapping[str, BaseChatModel] | None = None,
    ) -> None:
        self.settings = get_settings(settings)
        self._encoder = encoder
        self._chat_models = dict(chat_models or {})
        self._models_lock = threading.Lock()
        self._ready = threading.Lock()
        self._indexed = False
        self._view: View | None = None
        self._switching = threading.Lock()

    @cached_property
    def encoder(self) -> Encoder:
        return self._encoder or Encoder(backend=self.settings.index.encoder)

    @cached_property
    def index(self) -> PaperIndex:
        """The index ingests write through; questions read through views (`reopen`)."""
        s = self.settings.index
        return PaperIndex(
            s.path,
            self.encoder,
            s.collection,
            s.chunk_tokens,
            s.chunk_overlap,
            lock_timeout=s.lock_timeout,
            server_url=s.server_url,
        )

    def ingest(
        self,
        paths: Sequence[str] | None = None,
        rebuild: bool = False,
        discard_missing: bool = False,
    ) -> IngestReport:
        """Parse digest files (all of them before touching the index) and add them.

        `rebuild` embeds everything again into a fresh index: the repair for a damaged one.
        It refuses to drop papers from files not among `paths` unless `discard_missing`.
        Questions move to the new generation by themselves (see `View`).
        """
        s = self.settings.index
        max_bytes = round(s.max_digest_mb * 1_000_000)
        papers = load_digests(paths or s.digests, year=s.year, max_bytes=max_bytes)
        try:
            return self.index.ingest(
                papers,
                batch_size=s.batch_size,
                progress=s.progress,
                rebuild=rebuild,
                discard_missing=discard_missing,
            )
        finally:
            self.index.close()  # views hold their own generations; this one is done
            self._mark_stale()

    def recover(self) -> str | None:
        """Make the newest complete generation live after its pointer was lost or damaged;
        its name, or None when the live generation was fine."""
        try:
            return self.index.recover()
        finally:
            self.index.close()
            self._mark_stale()

    def ensure_index(self) -> None:
        """Bring the index up to date with the configured digests, once per pipeline."""
        with self._ready:
            if self._indexed:
                return
            if self.settings.index.digests:
                self.ingest()
            self._indexed = True

    def _mark_stale(self) -> None:
        view = self._view
        if view is not None:
            view.stamp = STALE

    def view(self) -> View:
        """The view of the live generation; a new one when an ingest has switched it since
        the last question (found by one `stat` of the pointer)."""
        self.ensure_index()
        view = self._view
        if view is not None and view.stamp == self.index.stamp():
            return view
        # One thread opens the new generation; the others go on reading the current one.
        if not self._switching.acquire(blocking=view is None):
            assert view is not None
            return view
        try:
            return self._switch()
        finally:
            self._switching.release()

    def _switch(self) -> View:
        current = self._view
        stamp = self.index.stamp()  # read before the pointer: a later switch is seen next time
        if current is not None and current.stamp == stamp:
            return current  # another thread switched meanwhile
        try:
            index = self.index.reopen()
        except IndexStateError as error:
            if current is None:
                raise
            # The generation in hand is whole and leased: answer from it rather than fail
            # every question, and try again when the pointer changes.
            log.warning("still answering from %s: %s", current.index.generation, error)
            current.stamp = stamp
            return current
        if current is not None and index.generation == current.index.generation:
            index.close()
            current.stamp = stamp
            return current
        view = View(index, stamp, self.settings, self.encoder, self.recall).warm()
        self._view = view
        if current is not None:
            current.retire()
            log.info("now answering from %s", index.generation)
        return view

    def _enter(self) -> View:
        """The current view, counted as read by one more question until `leave`."""
        while True:
            view = self.view()
            if view.enter():
                return view

    @property
    def papers(self) -> dict[str, Paper]:
        """The indexed papers by id, as of the live generation."""
        return self.view().papers

    @cached_property
    def support(self) -> EmbeddingSupport:
        """The citation judge the evaluation uses, to verify generated sentences."""
        return default_support(self.encoder)

    def chat_model(self, mode: str) -> BaseChatModel:
        """The chat model for an LLM mode, built on first use (a model file loads once)."""
        with self._models_lock:
            if mode not in self._chat_models:
                self._chat_models[mode] = build_chat_model(mode, self.settings.llm)
            return self._chat_models[mode]

    def resources(self) -> Resources:
        return self.view().resources

    def recall(self, question: str) -> Answer:
        """An earlier question answered again to find its papers: extractively, whatever the
        mode, since only its citations are read. An earlier turn may be longer than a question
        is allowed to be (an answer, or text pasted by another front end): its start is asked."""
        limit = self.settings.answer.max_question_chars
        return self.ask(question.strip()[:limit], mode="extractive")

    def resolve_mode(self, mode: str | None) -> str:
        mode = mode or self.settings.llm.mode
        if mode not in ANSWER_MODES:
            raise QuestionError(
                f"unknown answer mode {mode!r}; choose from {', '.join(ANSWER_MODES)}"
            )
        return mode

    def ask(
        self,
        question: str,
        history: Sequence[Message] | None = None,
        *,
        mode: str | None = None,
        **filters: Any,
    ) -> Answer:
        """Answer one question with cited papers from the digest.

        `history` holds earlier turns as OpenAI-style messages; `mode` picks who writes the
        answer (None: the configured default); the keyword filters (year, since, until,
        min_upvotes, max_upvotes, organization) restrict the papers considered, on top of any
        the question itself states; `ignore` switches off filters read from the question, by
        field name (`answer.filter_fields` gives each label's fields); `k` sets how many papers
        are retrieved.
        """
        *_, answer = self.stream(question, history, mode=mode, **filters)
        assert isinstance(answer, Answer)
        return answer

    def stream(
        self,
        question: str,
        history: Sequence[Message] | None = None,
        *,
        mode: str | None = None,
        year: int | None = None,
        since: dt.date | str | None = None,
        until: dt.date | str | None = None,
        min_upvotes: int | None = None,
        max_upvotes: int | None = None,
        organization: str | None = None,
        k: int | None = None,
        ignore: Collection[str] = (),
    ) -> Iterator[str | Answer]:
        """Like `ask`, but yields the answer's text in pieces as it is produced, then the
        final `Answer`. A generated answer's pieces are the model's raw text; the final
        `Answer` holds the verified text that replaces them."""
        mode = self.resolve_mode(mode)
        question = check_question(question, self.settings.answer.max_question_chars)
        explicit = explicit_filters(year, since, until, min_upvotes, max_upvotes, organization)
        ignored = frozenset(ignore)
        if unknown := ignored - QUERY_FILTER_FIELDS:
            raise QuestionError(f"unknown filter to ignore: {', '.join(sorted(unknown))}")
        if k is not None:
            check_k(k)
        messages = check_history(history)
        self.view()  # builds the index before the clock starts
        started = time.perf_counter()
        turn = Turn(question, messages, explicit, ignored=ignored, k=k)
        view, result = self._retrieve(turn, mode)
        try:
            if isinstance(result, Answer):
                answer = result
                yield from text_pieces(answer.text)
            else:
                answer = yield from self._generate(view, question, result, mode)
        finally:
            view.leave()
        yield answer.timed("total", time.perf_counter() - started)

    def compare(
        self,
        question: str,
        paper_ids: Sequence[str] | None = None,
        history: Sequence[Message] | None = None,
        **filters: Any,
    ) -> Comparison:
        """The papers a question is about, side by side: what each proposes or studies, what it
        evaluates on, its headline result, date and upvotes, each cell cited to its abstract.

        The rows are the given `paper_ids` in their order, or else the papers of the question's
        theme: the same retrieval as a multi-paper answer (keyword filters as for `ask`), at
        most `MAX_COMPARED` of them. A question the digest does not cover gives no rows.
        """
        if paper_ids:
            papers = self.papers
            unknown = [pid for pid in paper_ids if pid not in papers]
            if unknown:
                listed = ", ".join(map(repr, unknown))
                raise QuestionError(f"no paper with id {listed} in the digest")
            chosen = [papers[pid] for pid in dict.fromkeys(paper_ids)]
            limit = self.settings.answer.max_question_chars
            return compare_papers(check_question(question, limit), chosen)
        answer = self.ask(question, history, mode="extractive", **filters)
        if answer.abstained:
            return compare_papers(answer.question, [])
        members = theme_members(answer.sources, self.settings.answer.min_relevance)
        return compare_papers(answer.question, [s.paper for s in members[:MAX_COMPARED]])

    def _retrieve(self, turn: Turn, mode: str) -> tuple[View, Answer | Understood]:
        """The current view, entered, and the chain's result on it: the answer when extractive,
        the turn with its sources otherwise. A generation dropped under the question (by a
        writer on another machine sharing a server) is reopened once."""
        for attempt in (1, 2):
            view = self._enter()
            try:
                chain = view.chain if mode == "extractive" else view.retrieval_chain
                return view, chain.invoke(turn)
            except NotFoundError:
                view.leave()
                if attempt == 2:
                    raise
                view.stamp = STALE
            except BaseException:
                view.leave()
                raise
        raise AssertionError("unreachable")

    def _generate(
        self, view: View, question: str, turn: Understood, mode: str
    ) -> Generator[str, None, Answer]:
        """Text pieces of an LLM's answer grounded on `turn`'s sources; returns the Answer."""
        resources = view.resources
        fallback = compose(turn, resources)
        sources = grounding_sources(turn, resources)
        retrieved = time.perf_counter()
        llm = self.settings.llm
        answer: str | Answer | None = None
        for item in generate(
            question, sources, fallback, mode, self.chat_model, self.support, llm.timeout
        ):
            if isinstance(item, str):
                yield item
            answer = item
        assert isinstance(answer, Answer)
        return answer.timed("generate", time.perf_counter() - retrieved)


_default: Pipeline | None = None
_default_lock = threading.Lock()


def default_pipeline() -> Pipeline:
    """The shared pipeline over the configured (by default the bundled) digest."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Pipeline()
        return _default


def ask(question: str, history: Sequence[Message] | None = None, **options: Any) -> Answer:
    """Answer a question from the default digest: `rag.ask("What is neural collapse?")`."""
    return default_pipeline().ask(question, history, **options)


def stream(
    question: str, history: Sequence[Message] | None = None, **options: Any
) -> Iterator[str | Answer]:
    """Text pieces, then the `Answer`, from the default digest: `rag.stream("...")`."""
    return default_pipeline().stream(question, history, **options)


def compare(question: str, paper_ids: Sequence[str] | None = None, **options: Any) -> Comparison:
    """The comparison table from the default digest: `rag.compare("Compare ... papers")`."""
    return default_pipeline().compare(question, paper_ids, **options)
