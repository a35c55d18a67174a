"""Digest QA: question answering over a digest of paper abstracts, with cited papers.

import rag
answer = rag.ask("What is neural collapse?")
print(answer.text)
table = rag.compare("Compare the papers on entropy collapse")
print(table.to_markdown())
for piece in rag.stream("What is neural collapse?", mode="llamacpp"):
    ...  # text as it is produced, then the final Answer
"""

from __future__ import annotations

from rag.answer.backends import available_modes
from rag.answer.compare import Comparison
from rag.config import Settings, get_settings
from rag.errors import DigestFormatError, DigestQAError, IndexStateError, QuestionError
from rag.eval.evaluation import Report, evaluate
from rag.eval.questions import EvalQuestion, load_questions
from rag.pipeline import Pipeline, ask, compare, default_pipeline, stream
from rag.records import Answer, Chunk, Citation, Paper, Sentence, Source

__all__ = [
    "Answer",
    "Chunk",
    "Citation",
    "Comparison",
    "DigestFormatError",
    "DigestQAError",
    "EvalQuestion",
    "IndexStateError",
    "Paper",
    "Pipeline",
    "QuestionError",
    "Report",
    "Sentence",
    "Settings",
    "Source",
    "ask",
    "compare",
    "available_modes",
    "default_pipeline",
    "evaluate",
    "get_settings",
    "load_questions",
    "stream",
]
