"""A corpus of broken CV, posting and hire files through the real `trial match`: each is refused in one line naming
the file (and row and column where there is one) with nothing written, or read with what it cannot use counted;
never a traceback."""

from __future__ import annotations

import csv
import hashlib
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.factory import claimant_rows, write_claimants
from tests.test_match_pipeline import write_market
from trial.cli import app

PROTOCOL = Path(__file__).resolve().parents[1] / "protocols" / "bc16-jobmatch.toml"
SECRET = "corpus-secret-0123456789abcdef"
ENROL_ON = date(2025, 1, 20)
SERVE_ON = "2025-02-01"
BIG = "x" * 5_000_000  # a 5 MB field
KINDS = ("cvs", "postings", "hires")
runner = CliRunner()

Rows = list[list[str]]


def _run(*args: object):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, [str(a) for a in args], env={"TRIAL_SECRET": SECRET})
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result


def _csv(path: Path, rows: Rows, *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding=encoding, errors="replace") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """60 claimants enrolled in a real ledger, a small simulated market over the year before, a trained model."""
    tmp = tmp_path_factory.mktemp("match-corpus")
    claimants = claimant_rows(60, seed=3, as_of=ENROL_ON)
    write_claimants(tmp / "claimants.csv", claimants)
    assert _run("init", "--protocol", PROTOCOL, "--db", tmp / "trial.db").exit_code == 0
    assert _run("enrol", tmp / "claimants.csv", "--db", tmp / "trial.db", "--as-of", ENROL_ON).exit_code == 0
    write_market(tmp, claimants, history=300, postings=800)
    model = _run("match", "train", "--cvs", tmp / "cvs.csv", "--postings", tmp / "postings.csv",
                 "--hires", tmp / "hires.csv", "--until", "2024-10-20", "--out", tmp / "model")
    assert model.exit_code == 0, model.output
    return {"tmp": tmp, "db": tmp / "trial.db", "model": tmp / "model"} | {k: tmp / f"{k}.csv" for k in KINDS}


def _rows(world: dict[str, Path], kind: str) -> tuple[list[str], Rows]:
    with world[kind].open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _with(header: list[str], row: list[str], **cells: str) -> list[str]:
    return [cells.get(name, value) for name, value in zip(header, row, strict=True)]


Write = Callable[[list[str], Rows, Path], object]
NUL_LINE = b"contains a NUL byte (binary file, or UTF-16 text; save as UTF-8 CSV)"

# What breaks any of the three files alike → (how to write it, the refusal after "error: {f}")
ANY: dict[str, tuple[Write, str]] = {
    "empty": (lambda h, b, f: f.write_bytes(b""), ": file is empty"),
    "header_only": (lambda h, b, f: _csv(f, [h]), ": has a header but no rows: nothing to read"),
    "binary": (lambda h, b, f: f.write_bytes(bytes(range(256)) * 20), f", row 1: {NUL_LINE.decode()}"),
    "nul_bytes": (lambda h, b, f: f.write_bytes((",".join(h) + "\n").encode() + b"a\x00b," + b"\n"),
                  f", row 2: {NUL_LINE.decode()}"),
    "ragged_rows": (lambda h, b, f: _csv(f, [h, *b[:3], [*b[3], "extra"], *b[4:]]),
                    ", row 5: has {wide} fields but the header has {width} (ragged row)"),
    "field_of_5_mb": (lambda h, b, f: _csv(f, [h, *b[:3], [*b[3][:-1], BIG], *b[4:]]),
                      ", row 5, column '{last}': a cell of 5,000,000 characters; at most 100,000 are read"),
    "duplicate_rows": (lambda h, b, f: _csv(f, [h, *b, b[1]]), ", row {after}, column '{key}': {twice}"),
}
KEYS = {"cvs": ("cpr", "cpr appears twice"), "postings": ("posting_id", "posting_id appears twice"),
        "hires": ("posting_id", "the same hire (person and posting) appears twice")}

# Broken in a way only one kind of file can be → (kind, how to write it, the refusal after "error: {f}")
ONE: dict[str, tuple[str, Write, str]] = {
    "hire_garbage_date": ("hires", lambda h, b, f: _csv(f, [h, *b[:3], _with(h, b[3], hired_on="hello"), *b[4:]]),
                          ", row 5, column 'hired_on': not a date (use yyyy-mm-dd or dd-mm-yyyy)"),
    "hire_in_the_future": ("hires",
                           lambda h, b, f: _csv(f, [h, *b[:3], _with(h, b[3], hired_on="2031-01-01"), *b[4:]]),
                           ", row 5, column 'hired_on': lies after today: a hire cannot be in the future"),
    "posting_garbage_date": (
        "postings", lambda h, b, f: _csv(f, [h, *b[:3], _with(h, b[3], published_on="31/31/2024"), *b[4:]]),
        ", row 5, column 'published_on': not a valid calendar date"),
    "posting_ends_before_it_starts": (
        "postings", lambda h, b, f: _csv(f, [h, *b[:3], _with(h, b[3], deadline="2001-01-01"), *b[4:]]),
        ", row 5, column 'deadline': deadline is before published_on"),
    "cv_garbage_number": ("cvs", lambda h, b, f: _csv(f, [h, *b[:3], _with(h, b[3], experience_years="mange"),
                                                       *b[4:]]),
                          ", row 5, column 'experience_years': not a number"),
}


def _train(world: dict[str, Path], kind: str, broken: Path, out: Path):  # type: ignore[no-untyped-def]
    files = {k: world[k] for k in KINDS} | {kind: broken}
    return _run("match", "train", "--cvs", files["cvs"], "--postings", files["postings"], "--hires", files["hires"],
                "--until", "2024-10-20", "--out", out)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(ANY))
def test_a_broken_file_is_refused_by_match_train_in_one_line(
    world: dict[str, Path], tmp_path: Path, kind: str, name: str
) -> None:
    header, body = _rows(world, kind)
    broken = tmp_path / f"{kind}_{name}.csv"
    write, line = ANY[name]
    write(header, body, broken)
    key, twice = KEYS[kind]
    expected = "error: " + str(broken) + line.format(wide=len(header) + 1, width=len(header), last=header[-1],
                                                     after=len(body) + 2, key=key, twice=twice)
    result = _train(world, kind, broken, tmp_path / "model")
    assert result.exit_code == 2
    assert result.output == expected + "\n"
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("name", sorted(ONE))
def test_a_bad_cell_is_refused_by_match_train_in_one_line(world: dict[str, Path], tmp_path: Path, name: str) -> None:
    kind, write, line = ONE[name]
    header, body = _rows(world, kind)
    broken = tmp_path / f"{name}.csv"
    write(header, body, broken)
    result = _train(world, kind, broken, tmp_path / "model")
    assert (result.exit_code, result.output) == (2, f"error: {broken}{line}\n")
    assert not (tmp_path / "model").exists()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _recommend(world: dict[str, Path], tmp_path: Path, cvs: Path, postings: Path | None = None):  # type: ignore[no-untyped-def]
    db = tmp_path / "trial.db"
    shutil.copy(world["db"], db)
    result = _run("match", "recommend", "--model", world["model"], "--db", db, "--cvs", cvs,
                  "--postings", postings or world["postings"], "--out", tmp_path / "out", "--as-of", SERVE_ON)
    return result, db


def test_broken_files_are_refused_by_recommend_and_evaluate_with_nothing_stored(
    world: dict[str, Path], tmp_path: Path
) -> None:
    header, body = _rows(world, "cvs")
    cvs = _csv(tmp_path / "cvs.csv", [header, *body[:3], [*body[3][:-1], BIG], *body[4:]])
    result, db = _recommend(world, tmp_path, cvs)
    assert result.exit_code == 2
    assert result.output == (f"error: {cvs}, row 5, column '{header[-1]}': a cell of 5,000,000 characters; "
                             "at most 100,000 are read\n")
    assert _sha(db) == _sha(world["db"]) and not (tmp_path / "out").exists()
    hires = _csv(tmp_path / "hires.csv", [_rows(world, "hires")[0]])
    evaluated = _run("match", "evaluate", "--model", world["model"], "--cvs", world["cvs"], "--postings",
                     world["postings"], "--hires", hires, "--json", tmp_path / "e.json")
    assert evaluated.exit_code == 2
    assert evaluated.output == f"error: {hires}: has a header but no rows: nothing to read\n"
    assert not (tmp_path / "e.json").exists()


def test_people_not_in_the_ledger_are_counted_and_never_scored(world: dict[str, Path], tmp_path: Path) -> None:
    """The CV file holds the 60 claimants (43 randomised) and 300 people of the history the ledger never saw."""
    result, _ = _recommend(world, tmp_path, world["cvs"])
    assert result.exit_code == 0, result.output
    served = pd.read_csv(tmp_path / "out" / "recommendations.csv", dtype=str)["person_id"].nunique()
    lines = result.output.splitlines()
    assert lines[0].startswith(f"recommendations for {served} citizens in the treatment arm")
    other = 43 - served
    assert lines[1] == (f"  refused, never scored: {360 - served} (other arm {other}, not enrolled {360 - 43}, "
                        "withdrawn 0)")


def test_latin1_with_semicolons_is_read_as_the_same_file(world: dict[str, Path], tmp_path: Path) -> None:
    """Excel's Danish CSV: Latin-1 and semicolons. The citizens served are those of the UTF-8 file."""
    header, body = _rows(world, "cvs")
    latin = _csv(tmp_path / "cvs.csv", [header, *body], encoding="latin-1", delimiter=";")
    (tmp_path / "latin").mkdir()
    (tmp_path / "plain").mkdir()
    result, _ = _recommend(world, tmp_path / "latin", latin)
    plain, _ = _recommend(world, tmp_path / "plain", world["cvs"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == plain.output.splitlines()[1]
    served = pd.read_csv(tmp_path / "latin" / "out" / "recommendations.csv", dtype=str)["person_id"]
    again = pd.read_csv(tmp_path / "plain" / "out" / "recommendations.csv", dtype=str)["person_id"]
    assert set(served) == set(again)


def test_hires_of_unknown_postings_are_counted_not_used(world: dict[str, Path], tmp_path: Path) -> None:
    header, body = _rows(world, "hires")
    extra = [_with(header, row, posting_id=f"GONE{i}") for i, row in enumerate(body[:7])]
    # the same people hired to postings no file holds: a hire the postings export lost
    hires = _csv(tmp_path / "hires.csv", [header, *body, *extra])
    result = _train(world, "hires", hires, tmp_path / "model")
    assert result.exit_code == 0, result.output
    assert "hires not used: 7 with an unknown posting" in result.output.splitlines()[1]
