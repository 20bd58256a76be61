"""Progress the way Rich shows it: a bar with counts and time left on a terminal, nothing when output is not one.

Library code reports progress through a plain callback `step(message, done=None, total=None)`; this module turns
those calls into one Rich bar on stderr, so standard output stays the command's result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Step = Callable[..., None]


@contextmanager
def progress_bar(first: str = "…") -> Iterator[Step]:
    """Yield `step(message, done=None, total=None)`: the message names the work, done/total fill the bar."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(first, total=None)

        def step(message: str, done: int | None = None, total: int | None = None) -> None:
            bar.update(task, description=message, completed=done or 0, total=total)

        yield step
