"""Progress the way Rich shows it: a bar with counts and time left on a terminal, nothing when output is not one.

Library code reports progress through a callback `step(message, done=None, total=None)` (the matcher also accepts
an object with such a `step` method); this module turns those calls into one Rich bar on stderr, so standard output
stays the command's result.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Bar:
    """One Rich task: callable as `bar(message, done, total)` and, for the matcher, `bar.step(...)`."""

    def __init__(self, progress: Any, task: Any) -> None:
        self.progress = progress
        self.task = task

    def step(self, message: str, done: int | None = None, total: int | None = None) -> None:
        """Show the message; counts fill the bar (and are added to the message unless it has them already)."""
        if done is not None and total and f"{done}/{total}" not in message:
            message = f"{message} ({done}/{total})"
        self.progress.update(self.task, description=message, completed=done or 0, total=total)

    def __call__(self, message: str, done: int | None = None, total: int | None = None) -> None:
        self.step(message, done, total)


@contextmanager
def progress_bar(first: str = "…") -> Iterator[Bar]:
    """Yield a `Bar` on stderr, shown only when stderr is a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        yield Bar(progress, progress.add_task(first, total=None))
