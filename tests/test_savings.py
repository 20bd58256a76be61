"""Savings: the BC16 seed's figures to the krone, the CI carried through, and the CLI on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from trial.cli import app
from trial.errors import TrialError
from trial.protocol import load_protocol
from trial.results import SavingsResult
from trial.savings import eligible_from_ledger, savings

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
    assert g["lvu_under_30"]["per_day_saved"] == 2_484_000
    assert g["all_dagpenge_kontanthjaelp"]["per_day_saved"] == 36_000 * 360 + 5_000 * 320 == 14_560_000
    # One day saved, given without an interval: nothing to round to, the seed's figures to the krone.
    assert g["lvu_under_30"]["per_year"]["estimate"] == 2_484_000
    assert g["all_dagpenge_kontanthjaelp"]["per_year"]["estimate"] == 14_560_000
    # Investment 1.400 + 500 t.kr.; the seed's one-year break-even 1.900.000 / 2.484.000 = 0.765 days per spell.
    assert savings(BC16, 1.0).investment == 1_900_000
    assert round(g["lvu_under_30"]["break_even_days"], 3) == 0.765


def test_the_trial_population_comes_first_and_scenarios_carry_no_interval() -> None:
    r = savings(BC16, 2.5, (0.5, 4.5), effect_name="benefit_days_saved_adjusted")
    assert (r.effect.name, r.effect.estimate, r.effect.ci, r.effect.source) == (
        "benefit_days_saved_adjusted", 2.5, (0.5, 4.5), "analysis"
    )
    pop = r.trial_population
    assert (pop.persons_per_year, pop.persons_source, pop.cost_per_calendar_day) == (6_900, "protocol", 360)
    # Half-width 2 days × 2.484.000 kr. = 4.968.000 kr.: two significant digits, so kroner to the 100.000.
    assert pop.rounded_to == 100_000
    assert pop.per_year.estimate == 6_200_000  # 2.5 × 2.484.000 = 6.210.000
    assert pop.per_year.ci == (1_200_000, 11_200_000)  # 1.242.000 and 11.178.000
    scenario = _groups(r)["all_dagpenge_kontanthjaelp"]
    assert scenario["per_year"]["ci"] is None  # the transfer to other populations is assumed, not estimated
    assert scenario["per_year"]["estimate"] == pytest.approx(2.5 * 14_560_000, abs=scenario["rounded_to"] / 2)


def test_net_present_value_against_a_hand_computation() -> None:
    """BC16: 1.400.000 kr. in 2019 (year 0), 500.000 kr. in 2020; from 2021 (year 2) to 2024 (year 5) savings of
    days × 6.900 persons × 360 kr. less 300.000 kr. running costs a year, discounted at 3.5 %."""
    npv = savings(BC16, 2.0).trial_population.npv.estimate
    by_hand = -1_400_000 - 500_000 / 1.035
    for year in (2, 3, 4, 5):
        by_hand += (2.0 * 6_900 * 360 - 300_000) / 1.035**year
    assert npv == pytest.approx(by_hand, abs=0.01)
    assert by_hand == pytest.approx(14_683_027.77, abs=0.01)
    # Break-even: the days per person at which the NPV is zero.
    pop = savings(BC16, 1.0).trial_population
    costs = 1_400_000 + 500_000 / 1.035 + sum(300_000 / 1.035**y for y in (2, 3, 4, 5))
    assert pop.break_even_days == pytest.approx(costs / sum(6_900 * 360 / 1.035**y for y in (2, 3, 4, 5)))


def test_a_cost_per_paid_weekday_is_converted_to_calendar_days() -> None:
    weekday = BC16.model_copy(update={"finance": BC16.finance.model_copy(update={"daily_cost_unit": "paid_weekday"})})
    r = savings(weekday, 1.0)
    assert r.trial_population.cost_per_calendar_day == pytest.approx(360 * 5 / 7)
    assert _groups(r)["lvu_under_30"]["per_day_saved"] == pytest.approx(6_900 * 360 * 5 / 7)


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


def test_eligible_persons_a_year_from_the_ledger_screening() -> None:
    """Four weekly runs with 30, 25, 35 and 30 eligible people: 120 people in 4 weeks (28 days), × 365.25 / 28."""
    runs = pd.DataFrame({
        "seq": [1, 2, 3, 4],
        "as_of": ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23"],
        "file": "week.csv",
        "file_sha256": "0" * 64,
        "read": [50, 45, 60, 52],
        "duplicate_rows": [0, 1, 0, 0],
        "already_enrolled": [0, 2, 3, 1],
        "eligible": [30, 25, 35, 30],
        "excluded_no_cv": [20, 17, 22, 21],
        "enrolled_treatment": [15, 12, 18, 15],
        "enrolled_control": [15, 13, 17, 15],
    })
    eligible = eligible_from_ledger(runs)
    assert (eligible.source, eligible.persons) == ("ledger", round(120 * 365.25 / 28))  # 1.565
    r = savings(BC16, 1.0, eligible=eligible)
    assert r.trial_population.persons_source == "ledger"
    assert r.trial_population.per_day_saved == 1_565 * 360
    with pytest.raises(TrialError, match="fewer than two enrolment runs"):
        eligible_from_ledger(runs.iloc[:1])


def test_cli_days_saved_with_ci_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    result = runner.invoke(
        app, ["savings", "--protocol", str(BC16_FILE), "--days-saved", "1", "--ci", "0.2", "1.8", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data == savings(BC16, 1.0, (0.2, 1.8)).model_dump(mode="json")
    flat = " ".join(result.output.split())
    assert "2.484.000" in flat and "14.560.000" in flat and "0,765" in flat
    assert "Nedre grænse 0,20 dage < break-even 0,33 dage" in flat
    english = runner.invoke(app, ["savings", "--protocol", str(BC16_FILE), "--days-saved", "1", "--lang", "en"])
    assert "(DKK)" in english.output and "2,484,000" in english.output and "0.765" in english.output
    assert "Scenario: assumes the trial's effect holds for" in " ".join(english.output.split())


def test_cli_multiplies_the_protocols_primary_estimand(tmp_path: Path) -> None:
    analysis = _analysis_with(tmp_path, {"estimate": 9.0, "ci": [1.0, 17.0], "se": 4.0})
    data = json.loads(analysis.read_text(encoding="utf-8"))
    data["effects"]["benefit_days_saved"] = {"estimate": 7.0, "ci": [0.5, 13.5], "se": 3.3}
    data["effects"]["benefit_days_saved_adjusted"] = {"estimate": 6.8, "ci": [0.9, 12.7], "se": 3.0}
    analysis.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "s.json"
    result = runner.invoke(
        app, ["savings", "--protocol", str(BC16_FILE), "--analysis", str(analysis), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["effect"] == {"name": "benefit_days_saved_adjusted", "estimate": 6.8, "ci": [0.9, 12.7],
                                 "source": "analysis", "unit": "calendar days on benefit per person randomised",
                                 "note": "the analysis predates repeated intervals: the interval is the nominal one"}
    population = written["trial_population"]
    assert population["rounded_to"] == 1_000_000  # half-width 5.9 days × 2.484.000 kr. ≈ 14.7 mio. kr.
    assert population["per_year"]["estimate"] == 17_000_000  # 6.8 × 2.484.000 = 16.891.200


def test_cli_reads_an_analysis_from_before_the_estimand(tmp_path: Path) -> None:
    analysis = _analysis_with(tmp_path, {"estimate": 3.2, "ci": [0.4, 6.0], "se": 1.4})
    out = tmp_path / "s.json"
    result = runner.invoke(
        app, ["savings", "--protocol", str(BC16_FILE), "--analysis", str(analysis), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["effect"]["name"] == "days_saved" and "effects.days_saved is used" in written["effect"]["note"]
    assert written["trial_population"]["per_year"]["ci"] == [1_000_000, 14_900_000]  # 993.600 and 14.904.000


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
    assert json.loads(out.read_text())["trial_population"]["npv"]["ci"] is None
    analysis = _analysis_with(tmp_path, {"estimate": None, "ci": [None, None]})
    bad = runner.invoke(app, ["savings", "--protocol", str(BC16_FILE), "--analysis", str(analysis)])
    assert bad.exit_code == 2
    assert bad.output == f"error: {analysis}: 'effects.days_saved' has no estimate (too few data at this data cut?)\n"


def test_cli_analysis_without_days_saved_is_refused(tmp_path: Path) -> None:
    analysis = _analysis_with(tmp_path, None)
    result = runner.invoke(app, ["savings", "--protocol", str(BC16_FILE), "--analysis", str(analysis)])
    assert result.exit_code == 2
    assert result.output == f"error: {analysis}: not the JSON of `trial analyse`: missing field 'effects.days_saved'\n"
