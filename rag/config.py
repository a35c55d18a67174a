"""One settings object for every stage: defaults, then `RAG_*` variables, then arguments.

`Settings` groups fields by stage so each stage receives only its part. `get_settings()` is the
only function that reads the environment; everything else is handed a `Settings`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import SettingError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_DIGEST_DIR = PROJECT_ROOT / "seeds"


# Configurations the evaluator can run: ours and the two peers it is measured against.
EVAL_CONFIGS = ("ours", "baseline", "bm25")
# Papers retrieved per question: more than MAX_K would not fit a generated answer's prompt or a
# reader's screen, and none at all makes every answer "not covered".
MIN_K, MAX_K = 1, 50
K_ALLOWED = f"a whole number from {MIN_K} to {MAX_K}"


# Retrieval modes (rag.search.retrieve) and encoder backends (rag.ingest.embedding).
RETRIEVAL_MODES = ("hybrid", "dense", "keyword")
ENCODER_BACKENDS = ("onnx", "torch")
# Answer modes: the extractive composer and the LLM backends (see rag.answer.backends).
ANSWER_MODES = ("extractive", "llamacpp", "openai", "ollama")


def valid_k(k: object) -> bool:
    """Whether `k` is a number of papers a question may retrieve (a bool is not a number)."""
    return isinstance(k, int) and not isinstance(k, bool) and MIN_K <= k <= MAX_K


def bundled_digests() -> tuple[Path, ...]:
    """The digest files shipped with the project."""
    return tuple(sorted(BUNDLED_DIGEST_DIR.glob("*.txt")))


class _Checked:
    """A settings group that checks its values when built, from defaults, the environment or
    arguments alike: each field against its default's type and its `range` (inclusive) or
    `choices` metadata. A `SettingError` names the field's variable."""

    def __post_init__(self) -> None:
        group = type(self).__name__.removesuffix("Settings")
        for fld in dataclasses.fields(self):  # type: ignore[arg-type]
            _check_field(f"RAG_{group}_{fld.name}".upper(), fld, getattr(self, fld.name))


def _check_field(variable: str, fld: dataclasses.Field, value: object) -> None:
    default = fld.default_factory() if fld.default is dataclasses.MISSING else fld.default  # type: ignore[misc]
    kind = next((k for k in _KINDS if isinstance(default, k)), None)
    if default is None and value is not None:
        kind = int  # an optional whole number (year)
    if kind is not None and value is not None and not _is_kind(value, kind):
        raise SettingError(f"{variable} must be {_KINDS[kind]}, got {value!r}")
    if isinstance(default, str) and not isinstance(value, str):
        raise SettingError(f"{variable} must be text, got {value!r}")
    if (choices := fld.metadata.get("choices")) and value not in choices:
        raise SettingError(f"{variable} must be one of {', '.join(choices)}, got {value!r}")
    if "range" in fld.metadata and value is not None:
        low, high = fld.metadata["range"]
        if not low <= value <= high:  # type: ignore[operator]
            raise SettingError(f"{variable} must be from {low} to {high}, got {value!r}")


def _is_kind(value: object, kind: type) -> bool:
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    return isinstance(value, int) if kind is int else isinstance(value, int | float)


@dataclass(frozen=True)
class IndexSettings(_Checked):
    path: Path = field(
        default=PROJECT_ROOT / ".rag", metadata={"help": "folder holding the Chroma index"}
    )
    server_url: str = field(
        default="", metadata={"help": "Chroma server, e.g. http://127.0.0.1:8000 (empty: path)"}
    )
    collection: str = field(default="papers", metadata={"help": "Chroma collection name"})
    encoder: str = field(
        default="onnx",
        metadata={
            "choices": ENCODER_BACKENDS,
            "help": "encoder backend: onnx (int8, fast) or torch (fp32)",
        },
    )
    digests: tuple[Path, ...] = field(
        default_factory=bundled_digests, metadata={"help": "digest files to index (os.pathsep)"}
    )
    year: int | None = field(
        default=None, metadata={"help": "year for listing dates that give none"}
    )
    chunk_tokens: int = field(
        default=200,
        metadata={"range": (16, 256), "help": "max tokens per chunk (model window is 256)"},
    )
    chunk_overlap: int = field(
        default=1,
        metadata={"range": (0, 5), "help": "sentences repeated between neighbouring chunks"},
    )
    lock_timeout: float = field(
        default=600.0, metadata={"help": "seconds an ingest waits for another one to finish"}
    )
    batch_size: int = field(
        default=32, metadata={"range": (1, 4096), "help": "chunks per embedding batch"}
    )
    max_digest_mb: float = field(
        default=100.0, metadata={"help": "largest digest file read, in megabytes (10^6 bytes)"}
    )
    progress: bool = field(default=True, metadata={"help": "show a progress bar when embedding"})


@dataclass(frozen=True)
class RetrievalSettings(_Checked):
    k: int = field(
        default=5,
        metadata={
            "help": f"papers retrieved per question ({MIN_K} to {MAX_K})",
            "range": (MIN_K, MAX_K),
        },
    )
    chunk_candidates: int = field(
        default=30,
        metadata={"range": (1, 1000), "help": "chunks fetched before grouping them by paper"},
    )
    list_k: int = field(
        default=10,
        metadata={
            "range": (MIN_K, MAX_K),
            "help": "papers considered when the question asks for a list",
        },
    )
    mode: str = field(
        default="hybrid",
        metadata={
            "choices": RETRIEVAL_MODES,
            "help": "hybrid (dense + BM25 fused), dense or keyword",
        },
    )
    new_subject_margin: float = field(
        default=0.35,
        metadata={
            "help": "in a conversation, how much closer the question alone must match a paper "
            "outside the conversation's subject than its papers to start a new subject"
        },
    )
    new_subject_relevance: float = field(
        default=0.47,
        metadata={
            "help": "in a conversation, best-chunk cosine of the question alone above which a "
            "paper outside the conversation's subject starts a new subject"
        },
    )


@dataclass(frozen=True)
class AnswerSettings(_Checked):
    max_sentences: int = field(
        default=5, metadata={"range": (1, 50), "help": "sentences in a direct answer"}
    )
    max_list_sentences: int = field(
        default=6,
        metadata={"range": (1, 50), "help": "sentences when the question asks for several papers"},
    )
    min_relevance: float = field(
        default=0.27,
        metadata={
            "range": (-1.0, 1.0),
            "help": "best-chunk cosine below which the answer abstains",
        },
    )
    max_question_chars: int = field(
        default=2000, metadata={"range": (1, 1_000_000), "help": "longest accepted question"}
    )
    unknown_words: float = field(
        default=0.4,
        metadata={
            "range": (0.0, 1.0),
            "help": "share of a question's words that no paper uses, from which it is off topic "
            "unless its best paper reaches confident_relevance",
        },
    )
    confident_relevance: float = field(
        default=0.45,
        metadata={
            "range": (-1.0, 1.0),
            "help": "best-chunk cosine above which unknown words do not make it off topic",
        },
    )


@dataclass(frozen=True)
class LLMSettings(_Checked):
    mode: str = field(
        default="extractive",
        metadata={
            "choices": ANSWER_MODES,
            "help": "default answer mode: extractive, llamacpp, openai or ollama",
        },
    )
    model_path: str = field(
        default="", metadata={"help": "GGUF file for llamacpp (empty: the packaged Gemma 3 270M)"}
    )
    base_url: str = field(
        default="", metadata={"help": "OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1"}
    )
    openai_model: str = field(
        default="gpt-4o-mini", metadata={"help": "model name the openai backend asks for"}
    )
    api_key: str = field(default="", metadata={"help": "API key for the openai backend"})
    ollama_url: str = field(
        default="http://127.0.0.1:11434", metadata={"help": "Ollama server address"}
    )
    ollama_model: str = field(
        default="", metadata={"help": "Ollama model, e.g. llama3.2 (empty: ollama not offered)"}
    )
    timeout: float = field(
        default=60.0, metadata={"help": "seconds a backend may take before the answer falls back"}
    )
    max_tokens: int = field(
        default=200, metadata={"range": (1, 32_768), "help": "longest generated answer, in tokens"}
    )
    temperature: float = field(
        default=0.0, metadata={"range": (0.0, 2.0), "help": "sampling temperature"}
    )
    context_tokens: int = field(
        default=2048,
        metadata={
            "range": (256, 1_000_000),
            "help": "context window for llamacpp (prompt plus answer)",
        },
    )
    threads: int = field(
        default=0, metadata={"range": (0, 1024), "help": "CPU threads for llamacpp (0: automatic)"}
    )


@dataclass(frozen=True)
class AppSettings(_Checked):
    host: str = field(default="127.0.0.1", metadata={"help": "address the app listens on"})
    port: int = field(
        default=7860, metadata={"range": (0, 65_535), "help": "port the app listens on"}
    )
    data_dir: Path = field(
        default=PROJECT_ROOT / ".rag" / "app",
        metadata={"help": "folder for feedback and conversation exports"},
    )
    mcp: bool = field(
        default=False,
        metadata={"help": "also serve the digest as MCP tools for AI assistants (app.py --mcp)"},
    )


@dataclass(frozen=True)
class Settings:
    index: IndexSettings = field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    app: AppSettings = field(default_factory=AppSettings)

    def replace(self, **groups: Mapping[str, Any]) -> Settings:
        """A copy with some fields changed: `s.replace(retrieval={"k": 3})`."""
        changed = {
            name: dataclasses.replace(getattr(self, name), **values)
            for name, values in groups.items()
        }
        return dataclasses.replace(self, **changed)


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}
# Whole-number fields whose default is None: an empty variable leaves them unset.
_OPTIONAL = {"year"}
_KINDS = {bool: "true or false", int: "a whole number", float: "a number"}


def _coerce(raw: str, current: object, name: str) -> object:
    """Turn an environment string into the type of the field's default."""
    if isinstance(current, bool):
        word = raw.strip().lower()
        if word not in _TRUE | _FALSE:
            raise ValueError(raw)
        return word in _TRUE
    if name in _OPTIONAL and not raw.strip():
        return None
    if isinstance(current, int) or name in _OPTIONAL:
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, Path):
        return Path(raw).expanduser()
    if isinstance(current, tuple):
        return tuple(Path(p).expanduser() for p in raw.split(os.pathsep) if p)
    return raw


def _from_environment(key: str, raw: str, current: object, fld: dataclasses.Field) -> object:
    """`_coerce`, with a `SettingError` naming the variable when the value does not fit its
    type or the field's `range` (inclusive bounds in its metadata)."""
    kind = next((k for k in _KINDS if isinstance(current, k)), int)
    try:
        value = _coerce(raw, current, fld.name)
    except ValueError:
        raise SettingError(f"{key} must be {_KINDS[kind]}, got {raw!r}") from None
    if "range" in fld.metadata:
        low, high = fld.metadata["range"]
        if not low <= value <= high:
            raise SettingError(f"{key} must be {_KINDS[kind]} from {low} to {high}, got {raw!r}")
    return value


def get_settings(
    overrides: Settings | Mapping[str, Mapping[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Defaults, then `RAG_<GROUP>_<FIELD>` variables (e.g. `RAG_RETRIEVAL_K=8`), then overrides."""
    if isinstance(overrides, Settings):
        return overrides
    environ = os.environ if environ is None else environ
    settings = Settings()
    from_env: dict[str, dict[str, Any]] = {}
    for group in dataclasses.fields(Settings):
        group_value = getattr(settings, group.name)
        for fld in dataclasses.fields(group_value):
            key = f"RAG_{group.name}_{fld.name}".upper()
            if key in environ:
                current = getattr(group_value, fld.name)
                from_env.setdefault(group.name, {})[fld.name] = _from_environment(
                    key, environ[key], current, fld
                )
    settings = settings.replace(**from_env)
    return settings.replace(**(overrides or {}))


def describe_settings() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every field, for the README and `--help`."""
    rows = []
    defaults = Settings()
    for group in dataclasses.fields(Settings):
        group_value = getattr(defaults, group.name)
        for fld in dataclasses.fields(group_value):
            default = getattr(group_value, fld.name)
            if isinstance(default, Path | tuple):
                default = "(project folder)"
            rows.append(
                (f"RAG_{group.name}_{fld.name}".upper(), str(default), fld.metadata.get("help", ""))
            )
    return rows
