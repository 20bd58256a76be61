"""How long matcher work reports progress: a message and, for per-batch loops, how many citizens of how many are done.

A caller that can draw a bar passes a `Progress`; a plain `Callable[[str], None]` still works and gets the messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable


@runtime_checkable
class Progress(Protocol):
    """Receives each step of long work; `done` and `total` are given where the work is counted (else None)."""

    def step(self, message: str, done: int | None = None, total: int | None = None) -> None: ...


OnProgress = Progress | Callable[[str], None]


def report(progress: OnProgress | None, message: str, done: int | None = None, total: int | None = None) -> None:
    """Tell `progress` about a step: a Progress gets the counts too, a plain callable only the message."""
    if progress is None:
        return
    if isinstance(progress, Progress):
        progress.step(message, done, total)
    else:
        progress(message)
