"""The vectorised bootstrap: it agrees with the analytic (survRM2) interval and with resampling rows one by one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trial.analysis import analyse
from trial.protocol import load_protocol
from trial.rmst import LifeTable, bootstrap_rmst, rmst

PROTOCOL = Path(__file__).parents[1] / "protocols" / "bc16-jobmatch.toml"
ORIGIN = pd.Timestamp("2020-01-01")


def simulated_trial(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Exponential times to employment (median 100 days; hazard ratio 1.15 under treatment), a competing exit,
    staggered enrolment over a year, integer days as in the registry."""
    rng = np.random.default_rng(seed)
    treated = rng.integers(0, 2, n)
    to_job = rng.exponential(100 / np.log(2) / np.where(treated == 1, 1.15, 1.0))
    to_education = rng.exponential(900, n)
    entry = rng.integers(0, 365, n)
    as_of = ORIGIN + pd.Timedelta(days=365 + 120)
    time = np.ceil(np.minimum(to_job, to_education)).astype(int)
    origin = ORIGIN + pd.to_timedelta(entry, unit="D")
    end = origin + pd.to_timedelta(time, unit="D")
    ids = [f"s{i:05d}" for i in range(n)]
    allocations = pd.DataFrame(
        {
            "person_id": ids,
            "arm": np.where(treated == 1, "treatment", "control"),
            "stratum": rng.integers(0, 4, n).astype(str),
            "randomised_on": origin,
            "sex": rng.choice(["k", "m"], n),
        }
    )
    spells = pd.DataFrame(
        {
            "person_id": ids,
            "start": origin - pd.Timedelta(days=3),
            "end": pd.Series(end).where(end <= as_of),
            "exit": np.where(end <= as_of, np.where(to_job < to_education, "employment", "education"), ""),
        }
    )
    return allocations, spells, as_of


def test_bootstrap_and_analytic_interval_widths_agree_on_10000_people() -> None:
    protocol = load_protocol(PROTOCOL)
    allocations, spells, as_of = simulated_trial(10_000, seed=11)
    result = analyse(protocol, allocations, spells, as_of, bootstrap=2000, seed=5)
    days = result.effects.days_saved
    analytic = days.ci[1] - days.ci[0]
    boot = days.ci_bootstrap[1] - days.ci_bootstrap[0]
    assert boot == pytest.approx(analytic, rel=0.10)
    # The effect is real (hazard ratio 1.15 on a median of 100 days): the interval excludes zero, right direction.
    assert days.ci[0] > 0
    assert result.effects.hazard_ratio.estimate == pytest.approx(1.15, abs=0.06)
    assert result.counts.analysed["total"] == 10_000


def test_bootstrap_matches_resampling_rows() -> None:
    """Multinomial cell counts have the same distribution as resampling rows: compare SEs with a plain row bootstrap."""
    rng = np.random.default_rng(2)
    time = rng.integers(1, 120, 400).astype(float)
    event = rng.random(400) < 0.7
    fast = bootstrap_rmst(time, event, 100, 3000, np.random.default_rng(9))
    slow = np.empty(600)
    for b in range(len(slow)):
        pick = rng.integers(0, 400, 400)
        slow[b] = rmst(LifeTable.from_data(time[pick], event[pick]), 100).estimate
    assert fast.mean() == pytest.approx(slow.mean(), abs=0.3)
    assert fast.std() == pytest.approx(slow.std(), rel=0.1)
    assert fast.std() == pytest.approx(rmst(LifeTable.from_data(time, event), 100).se, rel=0.1)


def test_seed_reproduces_and_changes_the_interval() -> None:
    protocol = load_protocol(PROTOCOL)
    allocations, spells, as_of = simulated_trial(600, seed=4)
    a = analyse(protocol, allocations, spells, as_of, bootstrap=300, seed=1).effects.days_saved
    b = analyse(protocol, allocations, spells, as_of, bootstrap=300, seed=1).effects.days_saved
    c = analyse(protocol, allocations, spells, as_of, bootstrap=300, seed=2).effects.days_saved
    assert a.ci_bootstrap == b.ci_bootstrap
    assert a.ci_bootstrap != c.ci_bootstrap


def test_rmst_equals_lifelines_area_under_km() -> None:
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    rng = np.random.default_rng(8)
    time, event = rng.exponential(50, 300), rng.random(300) < 0.6
    kmf = KaplanMeierFitter().fit(time, event)
    assert rmst(LifeTable.from_data(time, event), 80).estimate == pytest.approx(
        restricted_mean_survival_time(kmf, t=80), rel=1e-9
    )


def test_aalen_johansen_equals_statsmodels_with_ties() -> None:
    """On whole-day times with many ties, incidence and variance equal statsmodels' CumIncidenceRight, except where
    everyone still at risk exits at the last time: there statsmodels gives NaN (0 times infinity) and we take the
    limit, which drops the term with F(t) - F(t_j) = 0, as lifelines does."""
    from statsmodels.duration.survfunc import CumIncidenceRight

    from trial.rmst import aalen_johansen

    rng = np.random.default_rng(4)
    time, status = rng.integers(1, 60, 2000).astype(float), rng.integers(0, 3, 2000)
    time[-3:], status[-3:] = 99.0, [1, 2, 1]  # the last three at risk all exit on one day
    ours = aalen_johansen(time, status, 1)
    theirs = CumIncidenceRight(time, status)
    np.testing.assert_array_equal(ours.time, theirs.times)
    np.testing.assert_allclose(ours.cif, theirs.cinc[0], rtol=0, atol=1e-12)
    variance = theirs.cinc_se[0] ** 2
    assert np.isnan(variance[-1]) and np.isfinite(ours.variance[-1])
    np.testing.assert_allclose(ours.variance[:-1], variance[:-1], rtol=1e-9, atol=1e-15)


def test_aalen_johansen_equals_lifelines_without_ties() -> None:
    """On tie-free times (where lifelines needs no jitter) the incidence and its variance equal lifelines'."""
    from lifelines import AalenJohansenFitter

    from trial.rmst import aalen_johansen

    rng = np.random.default_rng(2)
    time, status = rng.exponential(10, 300), rng.integers(0, 3, 300)
    theirs = AalenJohansenFitter().fit(time, status, event_of_interest=1)
    ours = aalen_johansen(time, status, 1)
    assert np.allclose(ours.cif, theirs.cumulative_density_.to_numpy()[1:, 0], rtol=0, atol=1e-12)
    assert np.allclose(ours.variance, theirs.variance_.to_numpy()[1:], rtol=1e-9, atol=1e-15)
