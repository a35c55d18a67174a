"""Digest QA: question answering over a digest of paper abstracts, with cited papers.

import rag
answer = rag.ask("What is neural collapse?")
print(answer.text)
"""

from __future__ import annotations

from rag.config import Settings, get_settings
from rag.errors import DigestFormatError, IndexStateError, QuestionError
from rag.pipeline import Pipeline, ask, default_pipeline
from rag.records import Answer, Chunk, Citation, Paper, Source

__all__ = [
    "Answer",
    "Chunk",
    "Citation",
    "DigestFormatError",
    "IndexStateError",
    "Paper",
    "Pipeline",
    "QuestionError",
    "Settings",
    "Source",
    "ask",
    "default_pipeline",
    "get_settings",
]
