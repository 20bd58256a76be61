"""Reading the toolkit's own text files (a protocol, an analysis JSON) with one-line errors that name the file."""

from __future__ import annotations

from pathlib import Path

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
