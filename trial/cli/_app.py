"""The Typer application and its groups; command modules register on these objects.

Only light imports here: `trial --help` must answer in well under a second.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from trial.errors import InputError, TrialError


class _Group(TyperGroup):
    """Turns the user's errors into one line on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrialError as exc:
            typer.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            name = getattr(exc, "filename", None) or ""
            reason = exc.strerror or type(exc).__name__
            typer.echo(f"error: {name}: {reason}" if name else f"error: {reason}", err=True)
            ctx.exit(2)


def _typer(help_text: str) -> typer.Typer:
    # Locals are never shown in tracebacks: they could hold CPR numbers.
    return typer.Typer(
        cls=_Group,
        help=help_text,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_show_locals=False,
        rich_markup_mode=None,
    )


app = _typer("Run and evaluate a randomised trial of job recommendations (jobmatch-trial).")
protocol_app = _typer("Validate and inspect protocol files.")
match_app = _typer("The LightGBM job recommender: train, recommend (treatment arm only), evaluate.")
app.add_typer(protocol_app, name="protocol")
app.add_typer(match_app, name="match")


def as_date(text: str | None, option: str = "--as-of") -> date:
    """A command-line date (yyyy-mm-dd or dd-mm-yyyy); today when not given."""
    if text is None:
        return date.today()
    for pattern in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise TrialError(f"{option}: '{text}' is not a date (use yyyy-mm-dd or dd-mm-yyyy)")


def emit_json(data: dict[str, Any], target: Path | None, show: Callable[[], None]) -> None:
    """Write the result as JSON when asked ('-' means stdout, and then nothing else is printed), then show it."""
    if target is not None:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
        if str(target) == "-":
            typer.echo(text)
            return
        if not target.parent.is_dir():
            raise InputError("the folder for the JSON file does not exist", file=target)
        target.write_text(text + "\n", encoding="utf-8")
    show()
