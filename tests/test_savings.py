"""Savings: the BC16 seed's figures to the krone, the CI carried through, and the CLI on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trial.cli import app
from trial.errors import TrialError
from trial.protocol import load_protocol
from trial.results import SavingsResult
from trial.savings import savings

ROOT = Path(__file__).resolve().parents[1]
BC16_FILE = ROOT / "protocols" / "bc16-jobmatch.toml"
BC16 = load_protocol(BC16_FILE)
# A fixed, wide terminal: the tests read figures from the tables, whatever $COLUMNS the CI sets.
runner = CliRunner(env={"COLUMNS": "200"})


def _groups(result: SavingsResult | dict) -> dict[str, dict]:
    data = result if isinstance(result, dict) else result.model_dump(mode="json")
    return {g["id"]: g for g in data["target_groups"]}


def _analysis_with(folder: Path, days_saved: dict | None) -> Path:
    """A real analysis file (release 0.1.0's demo) whose days saved are replaced, or removed when None."""
    data = json.loads((ROOT / "tests" / "data" / "analysis-0.1.0.json").read_text(encoding="utf-8"))
    if days_saved is None:
        del data["effects"]["days_saved"]
    else:
        data["effects"]["days_saved"] = days_saved
    path = folder / "analysis.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_bc16_reproduces_the_seed_to_the_krone() -> None:
    g = _groups(savings(BC16, 1.0))
    # Seed (BC16, 2019): 6.900 forløb × 360 kr. ≈ 2,5 mio. kr.; 36.000 × 360 + 5.000 × 320 ≈ 14,6 mio. kr.
    assert g["lvu_under_30"]["per_year"]["estimate"] == 2_484_000
    assert g["all_dagpenge_kontanthjaelp"]["per_year"]["estimate"] == 14_560_000
    assert g["all_dagpenge_kontanthjaelp"]["per_day_saved"] == 36_000 * 360 + 5_000 * 320
    # Investment 1.400 + 500 t.kr.; break-even 1.900.000 / 2.484.000 = 0.765 days per spell in a year.
    assert savings(BC16, 1.0).investment == 1_900_000
    assert round(g["lvu_under_30"]["break_even_days"], 3) == 0.765


def test_ci_is_carried_through_linearly_and_negative_effects_cost() -> None:
    r = savings(BC16, 2.5, (-0.5, 5.0))
    g = _groups(r)["lvu_under_30"]
    assert g["per_year"]["estimate"] == pytest.approx(2.5 * 2_484_000)
    assert g["per_year"]["ci"] == pytest.approx([-0.5 * 2_484_000, 5.0 * 2_484_000])
    assert g["ci_above_break_even"] is False  # the lower bound is below 0.765 days
    assert g["payback_years"] == pytest.approx(1_900_000 / (2.5 * 2_484_000))
    assert _groups(savings(BC16, -1.0))["lvu_under_30"]["payback_years"] is None


def test_haircut_scales_savings_and_break_even() -> None:
    halved = BC16.model_copy(update={"finance": BC16.finance.model_copy(update={"haircut": 0.5})})
    g = _groups(savings(halved, 1.0))["lvu_under_30"]
    assert g["per_year"]["estimate"] == 1_242_000
    assert g["break_even_days"] == pytest.approx(2 * 1_900_000 / 2_484_000)


def test_bad_interval_is_refused() -> None:
    with pytest.raises(TrialError, match="outside"):
        savings(BC16, 3.0, (0.0, 2.0))
    with pytest.raises(TrialError, match="LO ≤ HI"):
        savings(BC16, 1.0, (2.0, 0.0))


def test_cli_days_saved_with_ci_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    result = runner.invoke(
        app, ["savings", "--protocol", str(BC16_FILE), "--days-saved", "1", "--ci", "0.2", "1.8", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data == savings(BC16, 1.0, (0.2, 1.8)).model_dump(mode="json")
    assert "2.484.000" in result.output and "14.560.000" in result.output and "0,765" in result.output
    assert "nedre grænse 0,20 dage < break-even 0,765 dage" in " ".join(result.output.split())
    english = runner.invoke(app, ["savings", "--protocol", str(BC16_FILE), "--days-saved", "1", "--lang", "en"])
    assert "(DKK)" in english.output and "2,484,000" in english.output and "0.765" in english.output


def test_cli_reads_the_analysis_json(tmp_path: Path) -> None:
    analysis = _analysis_with(tmp_path, {"estimate": 3.2, "ci": [0.4, 6.0], "se": 1.4})
    out = tmp_path / "s.json"
    result = runner.invoke(
        app, ["savings", "--protocol", str(BC16_FILE), "--analysis", str(analysis), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    g = _groups(json.loads(out.read_text(encoding="utf-8")))["lvu_under_30"]
    assert g["per_year"]["estimate"] == pytest.approx(3.2 * 2_484_000)
    assert g["per_year"]["ci"] == pytest.approx([0.4 * 2_484_000, 6.0 * 2_484_000])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "--days-saved"),
        (["--days-saved", "1", "--analysis", "x.json"], "not both"),
        (["--ci", "0", "1"], "--ci needs --days-saved"),
        (["--analysis", "missing.json"], "not found"),
        (["--days-saved", "1", "--ci", "2", "3"], "outside"),
    ],
)
def test_cli_errors_are_one_line(args: list[str], needle: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["savings", "--protocol", str(BC16_FILE), *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]


def test_cli_analysis_without_an_interval_or_estimate(tmp_path: Path) -> None:
    analysis = _analysis_with(tmp_path, {"estimate": 2.0, "ci": [None, None]})
    out = tmp_path / "s.json"
    ok = runner.invoke(app, ["savings", "--protocol", str(BC16_FILE), "--analysis", str(analysis), "--json", str(out)])
    assert ok.exit_code == 0, ok.output
    assert _groups(json.loads(out.read_text()))["lvu_under_30"]["per_year"] == {"estimate": 4_968_000, "ci": None}
    analysis = _analysis_with(tmp_path, {"estimate": None, "ci": [None, None]})
    bad = runner.invoke(app, ["savings", "--protocol", str(BC16_FILE), "--analysis", str(analysis)])
    assert bad.exit_code == 2 and "no estimate" in bad.output


def test_cli_analysis_without_days_saved_is_refused(tmp_path: Path) -> None:
    analysis = _analysis_with(tmp_path, None)
    result = runner.invoke(app, ["savings", "--protocol", str(BC16_FILE), "--analysis", str(analysis)])
    assert result.exit_code == 2 and "effects.days_saved" in result.output
