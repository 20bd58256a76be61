"""The Typer application, its groups and the one CLI grammar every command follows.

The grammar (a test checks it over every command):
- a date option takes a `DATE` in the forms users type: 2026-11-23, 23-11-2026 or 23.11.2026; `--as-of` is the date a
  run acts as of (enrolment date, data cut, serving date), and no date may lie after today unless `--allow-future`;
- a decimal option takes `3.5` or the Danish `3,5`;
- `--lang da|en` chooses the one language of a command's output (default: the protocol's report language);
- `--json FILE` writes the command's result as JSON (`-` = standard output, and then nothing else is printed);
- `--out` creates the folder it writes into;
- option values are checked while the command line is parsed, before any heavy import or file read;
- every error is one line on stderr: exit 2 for what the user can fix, 1 for an internal error.

Only light imports here: `trial --help` must answer in well under a second.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from trial import __version__
from trial.errors import ParameterError, TrialError

DEBUG_VARIABLE = "TRIAL_DEBUG"
DATE_FORMS = ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")
# A CPR-shaped number (DDMMYY-SSSS, with or without the hyphen) is never echoed, not even in an internal error.
_CPR_SHAPED = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")


def _flag(ctx: Any, parameter: str) -> str:
    """The command-line flag that sets a library parameter (`per_arm` → `--per-arm`)."""
    for param in getattr(ctx.command, "params", []):
        if param.name == parameter and getattr(param, "opts", None):
            return max(param.opts, key=len)
    return "--" + parameter.replace("_", "-")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _warning_line(message: Any, category: type[Warning], *_: Any, **__: Any) -> str:
    """A library's warning as one line, without the source line Python prints beside it."""
    return f"warning: {category.__name__}: {_CPR_SHAPED.sub('<number>', _one_line(str(message)))[:300]}\n"


class _Group(TyperGroup):
    """Every error becomes one line on stderr, never a traceback (which could show data or source lines)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any) -> Any:
        extra.pop("standalone_mode", None)
        if os.environ.get(DEBUG_VARIABLE) != "1":
            warnings.formatwarning = _warning_line  # type: ignore[assignment]
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except typer._click.exceptions.NoArgsIsHelpError as exc:
            exc.show()  # the help text of a group called without a command
            sys.exit(exc.exit_code)
        except typer._click.exceptions.UsageError as exc:
            where = self._command_path(list(sys.argv[1:] if args is None else args))
            typer.echo(f"error: {_one_line(exc.format_message())} (see '{where} --help')", err=True)
            sys.exit(exc.exit_code)
        except typer._click.exceptions.ClickException as exc:
            typer.echo(f"error: {_one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def _command_path(self, args: list[str]) -> str:
        """`trial match train` from the words of a command line, for the hint after a usage error."""
        path, group = ["trial"], self
        for word in args:
            found = getattr(group, "commands", {}).get(word)
            if found is None:
                break
            path.append(word)
            group = found
        return " ".join(path)

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer._click.exceptions.ClickException):
            raise
        except ParameterError as exc:
            typer.echo(f"error: {_flag(_leaf(ctx), exc.parameter)}: {_one_line(exc.message)}", err=True)
            ctx.exit(2)
        except TrialError as exc:
            typer.echo(f"error: {_one_line(str(exc))}", err=True)
            ctx.exit(2)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            name = getattr(exc, "filename", None) or ""
            reason = exc.strerror or type(exc).__name__
            typer.echo(f"error: {name}: {reason}" if name else f"error: {reason}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            typer.echo("interrupted; nothing half-written is kept", err=True)
            ctx.exit(130)
        except Exception as exc:
            if os.environ.get(DEBUG_VARIABLE) == "1":
                raise
            message = _CPR_SHAPED.sub("<number>", _one_line(str(exc)))[:300]
            typer.echo(
                f"internal error: {type(exc).__name__}: {message} — please report; "
                f"rerun with {DEBUG_VARIABLE}=1 for the traceback",
                err=True,
            )
            ctx.exit(1)


def _leaf(ctx: Any) -> Any:
    """The innermost context (the command that ran), for naming its flags."""
    while getattr(ctx, "_leaf_child", None) is not None:
        ctx = ctx._leaf_child
    return ctx


def _typer(help_text: str) -> typer.Typer:
    # No pretty exceptions: they print source lines and locals, which could hold CPR numbers.
    return typer.Typer(
        cls=_Group,
        help=help_text,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )


app = _typer("Run and evaluate a randomised trial of job recommendations (jobmatch-trial).")
protocol_app = _typer("Validate and inspect protocol files.")
match_app = _typer("The LightGBM job recommender: train, recommend (treatment arm only), evaluate.")
app.add_typer(protocol_app, name="protocol")
app.add_typer(match_app, name="match")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"jobmatch-trial {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", callback=_show_version,
                                 is_eager=True),
) -> None:
    """Run and evaluate a randomised trial of job recommendations (jobmatch-trial)."""


# --- values as users type them ------------------------------------------------------------------------------------


def parse_date(value: Any) -> date | None:
    """A date typed as 2026-11-23, 23-11-2026 or 23.11.2026."""
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    for form in DATE_FORMS:
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    raise typer.BadParameter(f"'{text}' is not a date; write yyyy-mm-dd, dd-mm-yyyy or dd.mm.yyyy")


def parse_decimal(value: Any) -> float | None:
    """A decimal number typed as 3.5 or, in Danish, 3,5 (no thousands separators)."""
    if value is None or isinstance(value, float):
        return value
    text = str(value).strip().replace("−", "-")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a number; write e.g. 3.5 or 3,5") from None
    if not math.isfinite(number):
        raise typer.BadParameter(f"'{value}' is not a finite number")
    return number


def parse_language(value: Any) -> str | None:
    """da or en."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text not in ("da", "en"):
        raise typer.BadParameter(f"'{value}' is not a language of the reports; use da or en")
    return text


def date_option(*names: str, help: str, default: Any = None) -> Any:
    """A date option of the one grammar (`DATE`, the three typed forms)."""
    return typer.Option(default, *names, parser=parse_date, metavar="DATE",
                        help=f"{help} (yyyy-mm-dd or dd.mm.yyyy)")


def decimal_option(*names: str, help: str, default: Any = None) -> Any:
    """A decimal option that accepts the Danish decimal comma."""
    return typer.Option(default, *names, parser=parse_decimal, metavar="NUMBER", help=help)


def lang_option() -> Any:
    """`--lang da|en`: the one language of the command's output."""
    return typer.Option(None, "--lang", parser=parse_language, metavar="da|en",
                        help="Language of the output: da or en (default: the protocol's report language).")


def json_option(help: str = "Write the result as JSON to this file ('-' = standard output).") -> Any:
    """`--json FILE`, the same in every command."""
    return typer.Option(None, "--json", metavar="FILE", help=help)


ALLOW_FUTURE = typer.Option(False, "--allow-future", help="Accept dates after today (only for simulations).")


def not_future(day: date | None, option: str, allow_future: bool = False) -> date:
    """`day` (today when None), refused when it lies after today: a date that cannot be yet is a typing error."""
    today = date.today()
    if day is None:
        return today
    if day > today and not allow_future:
        raise TrialError(f"{option}: {day.isoformat()} lies after today ({today.isoformat()}); "
                         "use --allow-future only for simulated data")
    return day


def output_path(path: Path) -> Path:
    """An `--out` or `--json` target: its folder is created, as everywhere in the CLI."""
    if path.exists() and path.is_dir():
        raise TrialError(f"{path} is a directory, not a file; give the name of the file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def output_folder(path: Path) -> Path:
    """An `--out` folder: created with its parents."""
    if path.exists() and not path.is_dir():
        raise TrialError(f"{path} is a file; give a folder to write into")
    path.mkdir(parents=True, exist_ok=True)
    return path


def language(lang: str | None, protocol: Any) -> str:
    """The output language: `--lang`, else the protocol's report language."""
    return lang or protocol.report.language


def emit_json(data: Any, target: Path | None, show: Callable[[], None]) -> None:
    """Write the result as JSON when asked ('-' means stdout, and then nothing else is printed), then show it.

    A result model is written with its own serialiser; plain data with `json.dumps`.
    """
    if target is not None:
        if hasattr(data, "model_dump_json"):
            text = data.model_dump_json(indent=2)
        else:
            text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
        if str(target) == "-":
            typer.echo(text)
            return
        output_path(target).write_text(text + "\n", encoding="utf-8")
    show()
