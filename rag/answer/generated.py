"""Generated answers: stream a model's text over grounded sources, verify it, or fall back.

The extractive answer is composed first and kept as the fallback, so a generated answer can
only ever add: when the backend cannot be built or reached, runs past the timeout, returns
nothing, or writes no sentence its cited sources back, the reader gets the extractive answer
with a note saying why. Text is yielded as the model produces it (unverified, for a live
display); the final `Answer` carries the verified text, which replaces it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from rag.answer.backends import generation_options
from rag.answer.grounding import STOP_SEQUENCES, build_messages, verify
from rag.answer.support import Support
from rag.errors import GenerationTimeout
from rag.records import Answer, Source
from rag.texts import (
    FALLBACK_EMPTY,
    FALLBACK_FAILED,
    FALLBACK_TIMEOUT,
    FALLBACK_UNSUPPORTED,
    NOT_GENERATED,
)

log = logging.getLogger(__name__)
MAX_REASON_CHARS = 160
_PIECE = re.compile(r"\s*\S+\s*")


def text_pieces(text: str) -> list[str]:
    """A finished text in word-sized pieces that join back to it exactly."""
    return _PIECE.findall(text)


def stream_text(
    model: BaseChatModel, messages: Sequence[BaseMessage], deadline: float, **options: str
) -> Iterator[str]:
    """The model's text as it arrives; `GenerationTimeout` once `deadline` (monotonic) passes."""
    for chunk in model.stream(list(messages), stop=list(STOP_SEQUENCES), **options):
        if time.monotonic() > deadline:
            raise GenerationTimeout
        text = chunk.text
        if text:
            yield text


def finish(
    raw: str, sources: Sequence[Source], support: Support, mode: str, fallback: Answer
) -> Answer:
    """The verified generated answer, or the fallback with a note when nothing is backed."""
    if not raw.strip():
        return dataclasses.replace(fallback, note=FALLBACK_EMPTY.format(mode=mode))
    verified = verify(raw, sources, support)
    if not verified.supported:
        return dataclasses.replace(fallback, note=FALLBACK_UNSUPPORTED.format(mode=mode))
    return dataclasses.replace(
        fallback,
        text=verified.text,
        citations=verified.citations,
        mode=mode,
        sentences=verified.sentences,
        note="",
    )


def timed_out(error: BaseException) -> bool:
    """Our deadline, or a client's own timeout (httpx, openai and ollama each name theirs
    '...Timeout...' and share no base class)."""
    chain = [error, error.__cause__, error.__context__]
    return any(
        isinstance(e, TimeoutError) or "timeout" in type(e).__name__.lower()
        for e in chain
        if e is not None
    )


def reason(error: Exception) -> str:
    text = f"{type(error).__name__}: {error}".strip().rstrip(":")
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "\u2026"


def generate(
    question: str,
    sources: Sequence[Source],
    fallback: Answer,
    mode: str,
    model_for: Callable[[str], BaseChatModel],
    support: Support,
    timeout: float,
) -> Iterator[str | Answer]:
    """Yield the model's text pieces, then the final `Answer` (generated or fallback)."""
    if not sources or fallback.abstained:
        answer = dataclasses.replace(fallback, note=NOT_GENERATED.format(mode=mode))
        yield from text_pieces(answer.text)
        yield answer
        return
    deadline = time.monotonic() + timeout
    pieces: list[str] = []
    try:
        model = model_for(mode)
        options = generation_options(model, len(sources))
        messages = build_messages(question, sources)
        for piece in stream_text(model, messages, deadline, **options):
            pieces.append(piece)
            yield piece
    except Exception as error:  # any backend failure: connection, HTTP status, model load
        log.warning(
            "%s backend failed: %s", mode, reason(error), exc_info=log.isEnabledFor(logging.DEBUG)
        )
        note = (
            FALLBACK_TIMEOUT.format(mode=mode, seconds=timeout)
            if timed_out(error)
            else FALLBACK_FAILED.format(mode=mode, reason=reason(error))
        )
        answer = dataclasses.replace(fallback, note=note)
    else:
        answer = finish("".join(pieces), sources, support, mode, fallback)
    if not pieces:
        yield from text_pieces(answer.text)
    yield answer
