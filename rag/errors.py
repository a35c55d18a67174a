"""Exceptions raised at the package's boundaries, with messages a user can act on."""

from __future__ import annotations

from pathlib import Path


class DigestQAError(Exception):
    """Every error raised on purpose, with a message a user can act on: front ends catch this
    one class and show the message; any other exception is a bug and keeps its traceback.
    Each subclass also derives from the built-in error it refines (`ValueError`, ...)."""


class InputFileError(DigestQAError, ValueError):
    """A file that cannot be read as given; names the file and, where known, the line."""

    def __init__(self, path: str | Path, reason: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


class DigestFormatError(InputFileError):
    """A digest file that cannot be read as papers."""


class QuestionFileError(InputFileError):
    """A question set that cannot be read at all (single bad lines are reported, not raised)."""


class QuestionError(DigestQAError, ValueError):
    """A question that cannot be asked as given (empty, too long, not text)."""


class IndexStateError(DigestQAError, RuntimeError):
    """The index cannot be used or written as it is; the message says how to repair it."""


class SettingError(DigestQAError, ValueError):
    """A setting (an environment variable) whose value cannot be read as its type or is out
    of its range."""


class OptionError(DigestQAError, ValueError):
    """An option that cannot be used as given (a count below 1, a report folder that is a
    file, a threshold that is not a number); the message says what is allowed."""


class BackendError(DigestQAError, RuntimeError):
    """An LLM backend that cannot be built: missing package or model file."""


class GenerationTimeout(DigestQAError, TimeoutError):
    """The backend was still producing text when its time ran out."""


# Errors a user can fix from the message alone: front ends print them as one line.
USER_ERRORS: tuple[type[Exception], ...] = (DigestQAError,)

# What the user sees when the index folder is in a state only they can resolve.
RECOVER_HINT = (
    "nothing was changed: run `python -m rag ingest --recover` to make the newest complete "
    "generation live again."
)
INDEX_POINTER_MISSING = (
    "The index in {path} holds generations of {collection!r} but its pointer {pointer} is "
    "{problem}, so which one is live is unknown; " + RECOVER_HINT
)
INDEX_LIVE_MISSING = (
    "The index in {path} cannot be used: its live collection {name!r} is missing; " + RECOVER_HINT
)
INDEX_NOTHING_TO_RECOVER = (
    "The index in {path} holds no complete generation of {collection!r} to recover; "
    "rebuild it from its digests with `python -m rag ingest --rebuild DIGEST...`."
)
INDEX_READ_ONLY = (
    "The index in {path} is read-only ({problem}); Chroma must write to its folder even to "
    "read it, and nothing was changed: make it writable (e.g. `chmod -R u+w {path}`) "
    "or copy it to a writable folder."
)
INDEX_NOT_A_FOLDER = (
    "The index path {path} is {problem}: set --index or RAG_INDEX_PATH to a folder."
)
INDEX_WRITE_FAILED = (
    "Could not write to the index in {path} ({problem}); the index is unchanged and still "
    "answers as before: {remedy} and run the ingest again."
)
INDEX_REBUILD_LOSES = (
    "`--rebuild` would drop {count} paper(s) that the index in {path} holds from files not "
    "among the digests given ({files}); nothing was changed: pass those files too, or add "
    "--discard-missing-sources to drop their papers."
)
INGEST_INTERRUPTED = (
    "interrupted: the index in {path} is unchanged and still answers as before; "
    "the next ingest starts afresh"
)


__all__ = [
    "BackendError",
    "DigestFormatError",
    "DigestQAError",
    "GenerationTimeout",
    "IndexStateError",
    "InputFileError",
    "OptionError",
    "QuestionError",
    "QuestionFileError",
    "SettingError",
    "USER_ERRORS",
]
