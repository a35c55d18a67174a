"""One settings object: environment variables map onto fields, and the README lists them all."""

from __future__ import annotations

from pathlib import Path

from rag.config import PROJECT_ROOT, describe_settings, get_settings


def test_environment_variables_set_typed_fields() -> None:
    settings = get_settings(
        environ={
            "RAG_RETRIEVAL_K": "8",
            "RAG_INDEX_PROGRESS": "no",
            "RAG_INDEX_PATH": "/tmp/x",
            "RAG_ANSWER_MIN_RELEVANCE": "0.3",
            "RAG_INDEX_ENCODER": "torch",
        }
    )
    assert settings.retrieval.k == 8
    assert settings.index.progress is False
    assert settings.index.path == Path("/tmp/x")
    assert settings.answer.min_relevance == 0.3
    assert settings.index.encoder == "torch"


def test_readme_documents_every_setting() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    missing = [name for name, _, _ in describe_settings() if f"`{name}`" not in readme]
    assert not missing
