"""Reading the toolkit's own text files (a protocol, an analysis JSON) with one-line errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trial.errors import InputError


def read_text(path: str | Path, what: str) -> str:
    """The UTF-8 text of a file; a missing file, a folder or another encoding is one InputError naming `what`."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"is a folder, not {what}", file=path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} not found", file=path) from None
    except UnicodeDecodeError:
        raise InputError(f"{what} is not UTF-8 text", file=path) from None


def first_problem(exc: Any) -> str:
    """The first problem of a pydantic validation as one line: the dotted key, what is wrong, what was given.

    A misspelt key shows up twice (unknown and missing); naming the unknown one points at the typo.
    """
    errors = exc.errors()
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    key = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "json_invalid":
        return f"invalid JSON ({error.get('ctx', {}).get('error', error['msg'])})"
    if kind == "extra_forbidden":
        return f"unknown key '{key}'"
    if kind == "missing":
        return f"missing field '{key}'"
    message = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    shown = "" if kind == "value_error" or isinstance(given, (dict, list)) else f" (got {given!r:.40})"
    return f"key '{key}': {message}{shown}" if key else f"{message}{shown}"
