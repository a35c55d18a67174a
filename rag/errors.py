"""Exceptions raised at the package's boundaries, with messages a user can act on."""

from __future__ import annotations

from pathlib import Path


class InputFileError(ValueError):
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


class QuestionError(ValueError):
    """A question that cannot be asked as given (empty, too long, not text)."""


class IndexStateError(RuntimeError):
    """The index on disk cannot be used as it is; the message says how to rebuild it."""


__all__ = [
    "DigestFormatError",
    "IndexStateError",
    "InputFileError",
    "QuestionError",
    "QuestionFileError",
]
