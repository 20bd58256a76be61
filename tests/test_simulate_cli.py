"""`trial simulate` through the real CLI: help with an example, files written, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from trial.cli import app

runner = CliRunner()


def test_help_has_an_example() -> None:
    for command in ("simulate", "demo"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Example: trial " + command in result.output


def test_simulate_writes_the_trial_and_reports_the_truth(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = runner.invoke(
        app, ["simulate", "--out", str(out), "--claimants", "800", "--postings", "200", "--effect-days", "12",
              "--uptake", "0.5", "--seed", "5"],
    )
    assert result.exit_code == 0, result.output
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert truth["claimants"] == 800 and truth["seed"] == 5
    assert abs(truth["itt_days_saved"] - truth["met_share_treatment"] * 12) < 0.2
    assert f"{truth['itt_days_saved']:.2f} days saved" in result.output
    assert len(list((out / "claimants").glob("week-*.csv"))) == truth["weekly_files"] >= 45
    for name in ("spells.csv", "meetings.csv", "secret.key"):
        assert (out / name).is_file()


def test_refuses_to_overwrite_a_simulation_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    assert runner.invoke(app, ["simulate", "--out", str(out), "--claimants", "300", "--postings", "0"]).exit_code == 0
    before = (out / "truth.json").read_bytes()
    again = runner.invoke(app, ["simulate", "--out", str(out), "--claimants", "300", "--seed", "2"])
    assert again.exit_code == 2
    assert again.output == f"error: {out} is not empty; choose a new or empty folder\n"
    assert (out / "truth.json").read_bytes() == before


def test_refuses_a_folder_holding_other_files(tmp_path: Path) -> None:
    """Real data must never be overwritten by fictitious spells or a new secret."""
    (tmp_path / "spells.csv").write_text("the registry's real extract\n", encoding="utf-8")
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path), "--claimants", "100", "--postings", "0"])
    assert result.exit_code == 2 and result.output == f"error: {tmp_path} is not empty; choose a new or empty folder\n"
    assert (tmp_path / "spells.csv").read_text(encoding="utf-8") == "the registry's real extract\n"
    assert not (tmp_path / "secret.key").exists()


def test_rejects_an_uptake_outside_zero_to_one(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path / "x"), "--uptake", "1.5"])
    assert result.exit_code == 2
    assert not (tmp_path / "x").exists()
