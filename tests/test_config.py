"""One settings object: environment variables map onto fields, and the README lists them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT, describe_settings, get_settings
from rag.errors import SettingError


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


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("RAG_RETRIEVAL_K", "abc", "RAG_RETRIEVAL_K must be a whole number, got 'abc'"),
        ("RAG_ANSWER_MIN_RELEVANCE", "high", "RAG_ANSWER_MIN_RELEVANCE must be a number"),
        ("RAG_INDEX_PROGRESS", "maybe", "RAG_INDEX_PROGRESS must be true or false"),
        ("RAG_INDEX_YEAR", "last", "RAG_INDEX_YEAR must be a whole number"),
    ],
)
def test_a_value_that_does_not_fit_names_its_variable(
    variable: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingError) as error:
        get_settings(environ={variable: value})
    assert str(error.value).startswith(expected)


def test_the_digest_size_limit_is_a_setting() -> None:
    assert get_settings(environ={}).index.max_digest_mb == 100.0
    assert get_settings(environ={"RAG_INDEX_MAX_DIGEST_MB": "2.5"}).index.max_digest_mb == 2.5


@pytest.mark.parametrize("value", ["0", "-5", "51", "1000000000"])
def test_a_retrieval_k_out_of_range_names_the_variable_and_the_range(value: str) -> None:
    with pytest.raises(SettingError) as error:
        get_settings(environ={"RAG_RETRIEVAL_K": value})
    assert str(error.value) == (
        f"RAG_RETRIEVAL_K must be a whole number from 1 to 50, got {value!r}"
    )


@pytest.mark.parametrize("value", ["1", "50"])
def test_the_ends_of_the_retrieval_k_range_are_accepted(value: str) -> None:
    assert get_settings(environ={"RAG_RETRIEVAL_K": value}).retrieval.k == int(value)


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("0", False)])
def test_the_mcp_server_is_a_setting_off_by_default(value: str, expected: bool) -> None:
    assert get_settings(environ={}).app.mcp is False
    assert get_settings(environ={"RAG_APP_MCP": value}).app.mcp is expected


def test_an_mcp_setting_that_is_not_a_switch_names_the_variable() -> None:
    with pytest.raises(SettingError, match="RAG_APP_MCP must be true or false, got 'sometimes'"):
        get_settings(environ={"RAG_APP_MCP": "sometimes"})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"retrieval": {"mode": "bogus"}}, "RAG_RETRIEVAL_MODE must be one of hybrid, dense,"),
        ({"retrieval": {"k": -3}}, "RAG_RETRIEVAL_K must be from 1 to 50, got -3"),
        ({"llm": {"mode": "gpt"}}, "RAG_LLM_MODE must be one of extractive, llamacpp,"),
        ({"llm": {"temperature": "hot"}}, "RAG_LLM_TEMPERATURE must be a number, got 'hot'"),
        ({"index": {"encoder": "tpu"}}, "RAG_INDEX_ENCODER must be one of onnx, torch"),
        ({"answer": {"max_sentences": True}}, "RAG_ANSWER_MAX_SENTENCES must be a whole number"),
        ({"app": {"port": 70000}}, "RAG_APP_PORT must be from 0 to 65535, got 70000"),
    ],
    ids=lambda value: "" if isinstance(value, str) else str(value),
)
def test_settings_given_as_arguments_are_checked_where_declared(overrides, message):
    with pytest.raises(SettingError, match=re.escape(message)):
        get_settings(overrides, environ={})
