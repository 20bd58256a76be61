"""An analysis with nothing to analyse says so in one line (exit 2) instead of failing with a traceback."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from tests.factory import claimant_rows, write_claimants
from trial.cli import app

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "protocols" / "bc16-jobmatch.toml"
ENV = {"TRIAL_SECRET": "empty-analysis-secret-0123"}
runner = CliRunner()


def _ledger(tmp_path: Path) -> Path:
    db = tmp_path / "t.db"
    assert runner.invoke(app, ["init", "--protocol", str(PROTOCOL), "--db", str(db)]).exit_code == 0
    return db


def _analyse(db: Path, spells: Path):
    return runner.invoke(app, ["analyse", "--db", str(db), "--outcomes", str(spells), "--as-of", "2026-09-01"],
                         env=ENV)


def test_empty_ledger(tmp_path: Path) -> None:
    db = _ledger(tmp_path)
    spells = tmp_path / "spells.csv"
    spells.write_text("person_id,start,end,exit\nabc,2026-01-01,2026-02-01,employment\n", encoding="utf-8")
    result = _analyse(db, spells)
    assert result.exit_code == 2
    assert result.output.strip() == "error: nobody is allocated yet: there is nothing to analyse"


def test_nobody_has_a_spell(tmp_path: Path) -> None:
    db = _ledger(tmp_path)
    claimants = write_claimants(tmp_path / "c.csv", claimant_rows(40, seed=3, as_of=date(2026, 3, 2)))
    enrolled = runner.invoke(app, ["enrol", str(claimants), "--db", str(db), "--as-of", "2026-03-02"], env=ENV)
    assert enrolled.exit_code == 0
    spells = tmp_path / "spells.csv"
    spells.write_text("person_id,start,end,exit\nsomeone-else,2026-01-01,2026-02-01,employment\n", encoding="utf-8")
    result = _analyse(db, spells)
    assert result.exit_code == 2
    assert result.output == f"error: {spells}: 0 of 1 spells match a participant: wrong secret or wrong file?\n"


def test_verify_on_a_file_that_is_not_a_ledger(tmp_path: Path) -> None:
    fake = tmp_path / "fake.db"
    fake.write_text("hello", encoding="utf-8")
    result = runner.invoke(app, ["verify", "--db", str(fake)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {fake} is not a trial ledger (not an SQLite database)"
