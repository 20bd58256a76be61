"""Power: analytic figures against closed forms, a textbook Schoenfeld example and 2,000 simulated trials."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from trial.cli import app
from trial.power import (
    Design,
    detectable_hazard_ratio,
    employment_frequency,
    frequency_power,
    frequency_total_n,
    hazard_ratio_for_days,
    history_control,
    logrank_power,
    logrank_total_n,
    parametric_control,
    rmst,
    rmst_power,
    rmst_total_n,
    rmst_variance,
    schoenfeld_events,
)
from trial.power import (
    days_saved as days_saved_of,
)
from trial.protocol import load_protocol

ROOT = Path(__file__).resolve().parents[1]
BC16 = ROOT / "protocols" / "bc16-jobmatch.toml"
DJU = ROOT / "protocols" / "digital-jobunivers.toml"
HORIZON = 182
TRIALS = 2_000


def test_schoenfeld_textbook_example() -> None:
    # Schoenfeld (1983, Biometrika 70:316) as worked in Collett, Modelling Survival Data in Medical Research
    # (ch. 10, sample size): hazard ratio 2/3 (median 5 → 7.5 years), two-sided alpha 0.05, 90% power → 256 deaths.
    assert math.ceil(schoenfeld_events(2 / 3, 0.05, 0.90)) == 256
    # The formula is symmetric in HR and 1/HR (a faster exit to employment is HR > 1 in this project).
    assert schoenfeld_events(1.5, 0.05, 0.90) == pytest.approx(schoenfeld_events(2 / 3, 0.05, 0.90))
    # Hand computation: 4 (z_0.975 + z_0.90)² / log(1.5)².
    assert schoenfeld_events(1.5, 0.05, 0.90) == pytest.approx(4 * (1.959964 + 1.281552) ** 2 / math.log(1.5) ** 2)


def test_rmst_and_variance_match_closed_form_for_exponential() -> None:
    # Without censoring the KM RMST is the mean of min(T, h); its per-person variance is Var(min(T, h)).
    median = 90.0
    curve = parametric_control(median, HORIZON)
    lam = math.log(2) / median
    m1 = (1 - math.exp(-lam * HORIZON)) / lam
    m2 = 2 / lam**2 * (1 - math.exp(-lam * HORIZON) * (1 + lam * HORIZON))
    assert rmst(curve) == pytest.approx(m1, rel=1e-5)
    assert rmst_variance(curve) == pytest.approx(m2 - m1**2, rel=1e-4)
    assert employment_frequency(curve) == pytest.approx(1 - math.exp(-lam * HORIZON), rel=1e-9)


def test_hazard_ratio_for_days_inverts_the_rmst_difference() -> None:
    curve = parametric_control(60.0, HORIZON, shape=1.3)
    hr = hazard_ratio_for_days(curve, 5.0)
    assert hr > 1
    assert rmst(curve) - rmst(curve, hr) == pytest.approx(5.0, abs=1e-6)


def _survrm2_rmst(x: np.ndarray, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier RMST and its survRM2 variance per row, for uncensored times already cut at the horizon."""
    n = x.shape[1]
    xs = np.sort(x, axis=1)
    event = xs < horizon
    estimate = xs.mean(axis=1)
    # Area under the KM curve from the j-th time to the horizon: (1/n) Σ_{k>j} (x_k − x_j).
    suffix = np.cumsum(xs[:, ::-1], axis=1)[:, ::-1] - xs
    later = n - 1 - np.arange(n)
    area_after = (suffix - later * xs) / n
    at_risk = n - np.arange(n)
    with np.errstate(divide="ignore"):
        term = np.where(event & (at_risk > 1), 1.0 / (at_risk * (at_risk - 1.0)), 0.0)
    return estimate, np.sum(area_after**2 * term, axis=1)


def _logrank_z(t_control: np.ndarray, t_treat: np.ndarray, horizon: float) -> np.ndarray:
    """Log-rank z (observed − expected in the treatment arm) per row; continuous times, censored at the horizon."""
    times = np.concatenate([t_control, t_treat], axis=1)
    treated = np.concatenate([np.zeros_like(t_control), np.ones_like(t_treat)], axis=1)
    order = np.argsort(times, axis=1)
    times = np.take_along_axis(times, order, axis=1)
    treated = np.take_along_axis(treated, order, axis=1)
    total = times.shape[1]
    at_risk = total - np.arange(total)
    at_risk_treated = np.cumsum(treated[:, ::-1], axis=1)[:, ::-1]
    died = times < horizon
    share = at_risk_treated / at_risk
    observed_minus_expected = np.sum(died * (treated - share), axis=1)
    variance = np.sum(died * share * (1 - share), axis=1)
    return observed_minus_expected / np.sqrt(variance)


def test_analytic_power_matches_2000_simulated_trials() -> None:
    """Empirical power of each test within 2 percentage points of the analytic figure (vectorised numpy)."""
    median, shape = 90.0, 1.0
    curve = parametric_control(median, HORIZON, shape)
    design = Design(alpha=0.05, sided=2, power=0.8)
    hr = hazard_ratio_for_days(curve, 10.0)
    per_arm = 550  # analytic power 0.70-0.78: the range a design aims at; Monte Carlo SE ≈ 1 point
    n_total = 2 * per_arm
    rng = np.random.default_rng(20190601)
    rate = math.log(2) / median
    t_control = rng.exponential(1 / rate, size=(TRIALS, per_arm))
    t_treat = rng.exponential(1 / (rate * hr), size=(TRIALS, per_arm))
    x_control, x_treat = np.minimum(t_control, HORIZON), np.minimum(t_treat, HORIZON)

    mean_c, var_c = _survrm2_rmst(x_control, HORIZON)
    mean_t, var_t = _survrm2_rmst(x_treat, HORIZON)
    z_rmst = (mean_c - mean_t) / np.sqrt(var_c + var_t)
    empirical = {"rmst": float(np.mean(np.abs(z_rmst) > 1.959964))}

    z_lr = _logrank_z(t_control, t_treat, HORIZON)
    empirical["logrank"] = float(np.mean(np.abs(z_lr) > 1.959964))

    p_c, p_t = np.mean(t_control < HORIZON, axis=1), np.mean(t_treat < HORIZON, axis=1)
    pooled = (p_c + p_t) / 2
    z_freq = (p_t - p_c) / np.sqrt(pooled * (1 - pooled) * 2 / per_arm)
    empirical["employment_frequency"] = float(np.mean(np.abs(z_freq) > 1.959964))

    analytic = {
        "rmst": rmst_power(curve, design, hr, n_total),
        "logrank": logrank_power(curve, design, hr, n_total),
        "employment_frequency": frequency_power(curve, design, hr, n_total),
    }
    for test, value in analytic.items():
        assert 0.6 < value < 0.9, (test, value)  # a design point where power is informative
        assert abs(empirical[test] - value) < 0.02, (test, empirical[test], value)


def _km_rmst_by_trial(
    time: np.ndarray, event: np.ndarray, horizon: float, width: float
) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier RMST and its survRM2 variance per row (trial), times rounded up to a grid of `width` days."""
    trials, n = time.shape
    bins = round(horizon / width)
    cell = np.arange(trials)[:, None] * (bins + 1) + np.minimum(np.ceil(time / width).astype(int), bins)
    d = np.bincount(cell[event], minlength=trials * (bins + 1)).reshape(trials, -1).astype(float)
    removed = np.bincount(cell.ravel(), minlength=trials * (bins + 1)).reshape(trials, -1).astype(float)
    at_risk = n - np.cumsum(removed, axis=1) + removed
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(np.where(at_risk > 0, 1 - d / at_risk, 1.0), axis=1)
        term = np.where(at_risk - d > 0, d / (at_risk * (at_risk - d)), 0.0)
    heights = surv[:, :bins]  # the curve on [t_k, t_k+1) after the exits at t_k
    after = np.concatenate([width * np.cumsum(heights[:, ::-1], axis=1)[:, ::-1], np.zeros((trials, 1))], axis=1)
    return width * heights.sum(axis=1), np.sum(after**2 * term, axis=1)


def test_days_on_benefit_power_with_other_exits_and_the_data_cut_matches_2000_simulated_trials() -> None:
    """Exponential job and other exits (a quarter of exits within the horizon), enrolment over 12 months and the data
    cut at 12 months (half followed to the horizon): the analytic SE, mean and power of the days-on-benefit test
    against 2,000 simulated Kaplan-Meier analyses."""
    from trial.power import DAYS_PER_MONTH, days_saved

    year = 12 * DAYS_PER_MONTH
    curve = parametric_control(60.0, HORIZON, 1.0, 0.25).with_follow_up(year, year)
    design = Design(alpha=0.05, sided=2, power=0.8)
    hr = hazard_ratio_for_days(curve, 8.0, "benefit_days")
    per_arm = 700
    to_job = -math.log(curve.survival[-1]) / HORIZON
    other = -math.log(curve.competing[-1]) / HORIZON
    rng = np.random.default_rng(20190601)
    arms = []
    for rate in (to_job, to_job * hr):
        shape = (TRIALS, per_arm)
        on_benefit = np.minimum(rng.exponential(1 / rate, shape), rng.exponential(1 / other, shape))
        followed = year * rng.random((TRIALS, per_arm))
        seen = np.minimum(on_benefit, np.minimum(followed, HORIZON))
        arms.append(_km_rmst_by_trial(seen, on_benefit <= np.minimum(followed, HORIZON), HORIZON, 0.25))
    (control, var_c), (treated, var_t) = arms
    spread = rmst_variance(curve, 1.0, "benefit_days") + rmst_variance(curve, hr, "benefit_days")
    assert np.std(control - treated) == pytest.approx(math.sqrt(spread / per_arm), rel=0.04)
    assert np.mean(control - treated) == pytest.approx(days_saved(curve, hr, "benefit_days"), abs=0.25)
    analytic = rmst_power(curve, design, hr, 2 * per_arm, "benefit_days")
    assert 0.6 < analytic < 0.9
    empirical = float(np.mean(np.abs((control - treated) / np.sqrt(var_c + var_t)) > 1.959964))
    assert abs(empirical - analytic) < 0.025


def test_other_exits_make_days_on_benefit_saved_smaller_than_days_saved() -> None:
    """Faster jobs pre-empt exits to education: fewer days on benefit are saved than days to a job."""
    curve = parametric_control(49.0, HORIZON, 1.0, 0.2)
    assert days_saved_of(curve, 1.2, "benefit_days") < days_saved_of(curve, 1.2, "days_saved")
    # The median of time to any exit is the one asked for, and a fifth of exits within the horizon are other exits.
    benefit = curve.benefit
    assert np.interp(0.5, benefit[::-1], curve.grid[::-1]) == pytest.approx(49.0, abs=0.01)
    from trial.power import other_exit_frequency

    assert other_exit_frequency(curve) / (1 - benefit[-1]) == pytest.approx(0.2, abs=1e-3)


def test_sizes_and_detectable_effects_are_inverse() -> None:
    curve = parametric_control(70.0, HORIZON)
    design = Design(alpha=0.05, sided=2, power=0.9)
    hr = hazard_ratio_for_days(curve, 8.0)
    n = rmst_total_n(curve, design, hr)
    assert rmst_power(curve, design, hr, n) == pytest.approx(0.9, abs=1e-6)  # the far tail adds ~1e-7
    assert detectable_hazard_ratio("rmst", curve, design, n) == pytest.approx(hr, rel=1e-6)
    events, n_lr = logrank_total_n(curve, design, hr)
    assert logrank_power(curve, design, hr, n_lr) == pytest.approx(0.9, abs=1e-6)
    assert events < n_lr  # not everyone finds a job within the horizon
    n_f = frequency_total_n(curve, design, hr)
    assert frequency_power(curve, design, hr, n_f) == pytest.approx(0.9, abs=1e-6)
    # Halving the days saved roughly quadruples the participants needed.
    assert rmst_total_n(curve, design, hazard_ratio_for_days(curve, 4.0)) / n == pytest.approx(4, rel=0.05)


def test_history_file_gives_the_kaplan_meier_control_curve(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 3_000
    employed = rng.exponential(80.0, n)
    competing = rng.exponential(600.0, n)
    days = np.minimum(employed, competing).round().astype(int) + 1
    exit_ = np.where(employed <= competing, "employment", "education")
    lines = ["start,end,exit"]
    start = np.datetime64("2018-01-01")
    for i in range(n):
        begin = start + np.timedelta64(int(i % 365), "D")
        lines.append(f"{begin},{begin + np.timedelta64(int(days[i]), 'D')},{exit_[i]}")
    lines.append("2019-01-01,,")  # an open spell
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    curve = history_control(path, load_protocol(BC16))
    # KM of employment with competing exits censored estimates exp(-t/80).
    assert curve.survival[-1] == pytest.approx(math.exp(-HORIZON / 80.0), abs=0.03)
    assert curve.censoring[-1] == pytest.approx(math.exp(-HORIZON / 600.0), abs=0.03)
    # The cumulative incidence of employment is below 1 − S because competing exits remove people first.
    assert employment_frequency(curve) < 1 - curve.survival[-1]


# A fixed, wide terminal: the tests read figures from the tables, whatever $COLUMNS the CI sets.
runner = CliRunner(env={"COLUMNS": "200"})


def test_cli_power_bc16_writes_json_and_says_what_the_inflow_detects(tmp_path: Path) -> None:
    out = tmp_path / "power.json"
    result = runner.invoke(
        app,
        ["power", "--protocol", str(BC16), "--control-median", "49", "--inflow-per-month", "150", "--json", str(out)],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    one = {t["test"]: t for t in data["one_day"]["tests"]}
    # BC16's primary: days on benefit; median 49 days to any exit, a fifth other exits (the default), enrolment over
    # 12 months and the data cut at the last planned look (12 months): half are followed to the horizon.
    from trial.power import DAYS_PER_MONTH

    year = 12 * DAYS_PER_MONTH
    curve = parametric_control(49, HORIZON, 1.0, 0.2).with_follow_up(year, year)
    assert data["primary_test"] == "benefit_days"
    assert data["follow_up"]["followed_to_horizon"] == pytest.approx(1 - HORIZON / year)
    design = Design(alpha=0.05, sided=2, power=0.8)
    hr = hazard_ratio_for_days(curve, 1.0, "benefit_days")
    expected = rmst_total_n(curve, design, hr, "benefit_days")
    assert one["benefit_days"]["n_total"] == math.ceil(expected)
    assert one["benefit_days"]["enrolment_months"] == pytest.approx(expected / 150)
    assert one["rmst"]["n_total"] == math.ceil(rmst_total_n(curve, design, hr))
    assert data["detectable"]["n_per_arm"] == 900  # 150 a month for 12 months, 1:1
    assert data["interim"]["z_boundaries"] == pytest.approx([2.963, 1.969], abs=1e-3)
    # The terminal text (Danish by the protocol) states the one-day requirement with Danish thousands separators.
    flat = " ".join(result.output.split())
    assert "At påvise én sparet dag på ydelse" in flat
    assert f"{one['benefit_days']['n_per_arm']:,}".replace(",", ".") + " deltagere pr. arm" in flat
    english = runner.invoke(app, ["power", "--protocol", str(BC16), "--inflow-per-month", "150", "--lang", "en"])
    assert english.exit_code == 0, english.output
    flat = " ".join(english.output.split())
    assert f"needs {one['benefit_days']['n_per_arm']:,} participants per arm" in flat
    assert "With 900 per arm (12 months of enrolment at 150 a month) the trial can detect" in flat
    # Each planned look: what it needs for one day saved, and the smallest estimate that crosses it with 900 per arm.
    needs = data["interim"]["looks"]
    inflation = data["interim"]["inflation_factor"]
    se_final = 1.0 / (design.z_sum * math.sqrt(inflation))
    assert [look["se"] for look in needs["required"]] == pytest.approx([se_final / math.sqrt(0.5), se_final])
    assert needs["required"][1]["events"] == pytest.approx(one["logrank"]["events"] * inflation, rel=1e-3)
    null_se = math.sqrt(rmst_variance(curve, 1.0, "benefit_days") * (1 / 0.5 + 1 / 0.5) / 1800)
    first = needs["given"][0]
    assert first["smallest_crossing"] == pytest.approx(first["z_boundary"] * null_se / math.sqrt(0.5), rel=1e-3)
    assert f"At the first look (6 months) the report can call the boundary crossed only if the estimate exceeds " \
           f"{first['smallest_crossing']:.1f} days on benefit (|z| ≥ 2.963)" in flat


def test_cli_power_history_and_per_arm(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    lines = ["person_id;start;end;exit"]
    for i, d in enumerate(rng.exponential(70.0, 500).round().astype(int) + 1):
        lines.append(f"p{i};2018-03-01;{np.datetime64('2018-03-01') + np.timedelta64(int(d), 'D')};employment")
    path = tmp_path / "spells.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "p.json"
    result = runner.invoke(
        app, ["power", "--protocol", str(BC16), "--history", str(path), "--per-arm", "500", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["control"]["source"].startswith("Kaplan-Meier of 500")
    det = {t["test"]: t for t in data["detectable"]["tests"]}
    assert det["rmst"]["hazard_ratio"] > 1 and det["rmst"]["days_saved"] > 0


def test_cli_power_dju_binary_primary(tmp_path: Path) -> None:
    out = tmp_path / "dju.json"
    result = runner.invoke(app, ["power", "--protocol", str(DJU), "--inflow-per-month", "200", "--json", str(out)])
    assert result.exit_code == 0, result.output
    b = json.loads(out.read_text(encoding="utf-8"))["binary"]
    assert (b["control"], b["treatment"]) == (0.05, 0.30)
    # Independent check of the two-proportion size: Cohen's h and the normal approximation.
    h = 2 * math.asin(math.sqrt(0.30)) - 2 * math.asin(math.sqrt(0.05))
    assert b["n_per_arm"] == math.ceil(2 * (1.959964 + 0.841621) ** 2 / h**2)


def test_cli_power_errors_are_one_line() -> None:
    result = runner.invoke(app, ["power", "--protocol", str(BC16), "--days-saved", "500"])
    assert result.exit_code == 2
    assert result.output == ("error: --days-saved: must lie between 0 and 63.5 (the control arm's 65.3 days of "
                             "restricted mean time cannot shrink further by faster jobs); got 500\n")
