"""One CLI grammar, checked over every command: examples in --help, typed dates and numbers, --json FILE, --lang,
folders created for what a command writes, values refused before anything heavy is imported, one line per error."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from trial import __version__
from trial.cli import app

ROOT = Path(__file__).resolve().parents[1]
BC16 = str(ROOT / "protocols" / "bc16-jobmatch.toml")
DATE_OPTIONS = {"--as-of", "--on", "--until", "--since"}
runner = CliRunner()


def commands() -> Iterator[tuple[str, ...]]:
    def walk(command: object, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            yield path
            return
        for name, sub in subcommands.items():
            yield from walk(sub, (*path, name))

    yield from walk(typer.main.get_command(app), ())


def command(path: tuple[str, ...]) -> object:
    found = typer.main.get_command(app)
    for name in path:
        found = found.commands[name]  # type: ignore[attr-defined]
    return found


ALL = sorted(commands())


@pytest.mark.parametrize("path", ALL, ids=" ".join)
def test_every_help_shows_an_example(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    example = [line for line in result.output.splitlines() if line.strip().startswith("Example:")]
    assert example and f"trial {' '.join(path)}" in example[0]


@pytest.mark.parametrize("path", ALL, ids=" ".join)
def test_options_follow_the_grammar(path: tuple[str, ...]) -> None:
    for param in command(path).params:  # type: ignore[attr-defined]
        names = set(param.opts) | set(param.secondary_opts)
        if "--json" in names:
            assert not param.is_flag and param.metavar == "FILE", f"{path}: --json takes a FILE"
        if names & DATE_OPTIONS:
            assert param.metavar == "DATE", f"{path}: {sorted(names)} is a DATE"
        if "--lang" in names:
            assert param.metavar == "da|en"


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"jobmatch-trial {__version__}"


def test_danish_forms_of_numbers_are_read(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    result = runner.invoke(app, ["savings", "--protocol", BC16, "--days-saved", "3,5", "--ci", "0,5", "6,5",
                                 "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["days_saved"] == {"estimate": 3.5, "ci": [0.5, 6.5]}


def test_json_creates_its_folder_and_dash_is_stdout(tmp_path: Path) -> None:
    nested = tmp_path / "not" / "yet" / "there.json"
    written = runner.invoke(app, ["savings", "--protocol", BC16, "--days-saved", "1", "--json", str(nested)])
    assert written.exit_code == 0
    assert json.loads(nested.read_text(encoding="utf-8"))["target_groups"]
    printed = runner.invoke(app, ["savings", "--protocol", BC16, "--days-saved", "1", "--json", "-"])
    assert json.loads(printed.output)["investment"] == 1_900_000


# Each bad value is refused in one line while the command line is parsed: before pandas or anything heavy loads.
EARLY = [
    (["power", "--protocol", BC16, "--power", "80"],
     "error: --power: must lie between 0 and 1; got 80 (did you mean 0.8?)"),
    (["analyse", "--db", "x.db", "--outcomes", "s.csv", "--as-of", "2026-13-01"],
     "error: Invalid value for '--as-of': '2026-13-01' is not a date; write yyyy-mm-dd, dd-mm-yyyy or dd.mm.yyyy "
     "(see 'trial analyse --help')"),
    (["analyse", "--db", "x.db", "--outcomes", "s.csv", "--as-of", "01.01.2999"],
     "error: --as-of: 2999-01-01 lies after today ({today}); use --allow-future only for simulated data"),
    (["savings", "--protocol", BC16, "--days-saved", "tre"],
     "error: Invalid value for '--days-saved': 'tre' is not a number; write e.g. 3.5 or 3,5 "
     "(see 'trial savings --help')"),
    (["report", "--db", "x.db", "--outcomes", "s.csv", "--as-of", "2020-01-01", "--out", "r.html", "--lang", "de"],
     "error: Invalid value for '--lang': 'de' is not a language of the reports; use da or en "
     "(see 'trial report --help')"),
    (["status", "--db", "x.db", "--json"],
     "error: Option '--json' requires an argument. (see 'trial status --help')"),
]


@pytest.mark.parametrize(("args", "line"), EARLY, ids=[" ".join(a[:1] + a[-2:]) for a, _ in EARLY])
def test_bad_values_are_refused_before_anything_heavy(args: list[str], line: str, tmp_path: Path) -> None:
    from datetime import date

    script = (
        "import sys\n"
        "from trial.cli import main\n"
        f"sys.argv = ['trial', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "names = ('pandas', 'lifelines', 'lightgbm', 'matplotlib', 'statsmodels')\n"
        "heavy = sorted(m for m in names if m in sys.modules)\n"
        "print('HEAVY', heavy, code, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False)
    *lines, last = done.stderr.strip().splitlines()
    assert lines == [line.format(today=date.today().isoformat())]
    assert last == "HEAVY [] 2"


def test_an_unexpected_error_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    """A file that claims the ledger's schema version but holds another table fails deep inside SQLite: the user
    sees one 'internal error' line and exit 1; TRIAL_DEBUG=1 shows the traceback for the report."""
    import os
    import sqlite3

    from trial.ledger import SCHEMA_VERSION

    db = tmp_path / "odd.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE log (seq INTEGER)")
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    trial = str(Path(sys.executable).parent / "trial")
    done = subprocess.run([trial, "status", "--db", str(db)], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "internal error: OperationalError: no such column: body — please report; rerun with TRIAL_DEBUG=1 for the "
        "traceback"
    ]
    debug = subprocess.run([trial, "status", "--db", str(db)], capture_output=True, text=True, check=False,
                           env={**os.environ, "TRIAL_DEBUG": "1"})
    assert "Traceback" in debug.stderr and debug.returncode == 1
