"""Days on benefit: pseudo-observations, the strata-adjusted difference, the window estimator and the complier effect,
each against an independent computation (lifelines, statsmodels, a plain loop or a closed form)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trial.adjusted import adjusted_rmst_difference, design
from trial.analysis import analyse
from trial.outcomes import BenefitSpans
from trial.protocol import load_protocol
from trial.rmst import Cells, pseudo_observations
from trial.windows import window_days

DATA = Path(__file__).parent / "data"
PROTOCOL = Path(__file__).parents[1] / "protocols" / "bc16-jobmatch.toml"


def test_pseudo_observations_equal_leaving_each_person_out_with_lifelines() -> None:
    """On Rossi (weeks to arrest, tau 40 weeks): n·RMST − (n − 1)·RMST without person i, the RMST of each
    leave-one-out curve from lifelines' restricted_mean_survival_time."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    rossi = pd.read_csv(DATA / "rossi.csv").iloc[::3]  # every third person: 144 fits stay quick
    time, event = rossi["week"].to_numpy(float), rossi["arrest"].to_numpy().astype(bool)
    cells = Cells.of(time, event, 40.0)
    ours = pseudo_observations(cells.counts(), cells.gaps).reshape(-1)[cells.cell]
    n = len(time)
    full = restricted_mean_survival_time(KaplanMeierFitter().fit(time, event), t=40.0)
    for i in range(n):
        keep = np.arange(n) != i
        without = restricted_mean_survival_time(KaplanMeierFitter().fit(time[keep], event[keep]), t=40.0)
        assert ours[i] == pytest.approx(n * full - (n - 1) * without, abs=1e-8)


def _prognostic_trial(n: int, seed: int) -> tuple[pd.DataFrame, float]:
    """Exponential days on benefit whose rate depends strongly on two strata; treatment multiplies the rate by 1.25.

    Returns the data (everyone followed to the horizon) and the exact RMST difference averaged over the strata.
    """
    rng = np.random.default_rng(seed)
    field = rng.integers(0, 3, n)
    sex = rng.integers(0, 2, n)
    treated = rng.integers(0, 2, n)
    base = np.array([1 / 25, 1 / 70, 1 / 250])[field] * np.array([1.0, 1.4])[sex]
    time = np.ceil(rng.exponential(1 / (base * np.where(treated == 1, 1.25, 1.0))))
    horizon = 182

    def restricted(rate: np.ndarray) -> np.ndarray:  # Σ_{j<h} P(ceil(T) > j) = Σ exp(−rate j)
        return (1 - np.exp(-rate * horizon)) / (1 - np.exp(-rate))

    truth = float(np.mean(restricted(base) - restricted(base * 1.25)))
    frame = pd.DataFrame({"time": np.minimum(time, horizon), "ended": (time <= horizon).astype(int),
                          "treated": treated, "field": field.astype(str), "sex": sex.astype(str)})  # fmt: skip
    return frame, truth


def test_adjusting_for_prognostic_strata_narrows_the_interval_and_both_cover() -> None:
    frame, truth = _prognostic_trial(3_000, seed=4)
    strata = frame[["field", "sex"]]
    fit = adjusted_rmst_difference(frame["time"], frame["ended"], frame["treated"], strata, 182, 0,
                                   np.random.default_rng(1))  # fmt: skip
    adjusted = (-fit.estimate - 1.96 * fit.se, -fit.estimate + 1.96 * fit.se)
    from trial.rmst import LifeTable, rmst

    arms = [rmst(LifeTable.from_data(g["time"], g["ended"]), 182) for _, g in frame.groupby("treated")]
    plain = arms[0].estimate - arms[1].estimate
    se = math.hypot(arms[0].se, arms[1].se)
    assert fit.se < 0.8 * se  # the strata explain much of the spread of days on benefit
    assert adjusted[0] <= truth <= adjusted[1]
    assert plain - 1.96 * se <= truth <= plain + 1.96 * se


def test_adjusted_fit_is_statsmodels_ols_and_its_bootstrap_resamples_within_strata() -> None:
    """The bootstrap's linear map reproduces the OLS coefficient, and its spread agrees with a plain loop that
    resamples people within stratum × arm, recomputes pseudo-observations and refits statsmodels OLS."""
    from statsmodels.regression.linear_model import OLS

    frame, _ = _prognostic_trial(400, seed=9)
    strata = frame[["field", "sex"]]
    fit = adjusted_rmst_difference(frame["time"], frame["ended"], frame["treated"], strata, 182, 1500,
                                   np.random.default_rng(2))  # fmt: skip
    x = design(frame["treated"].to_numpy(), strata)
    cells = Cells.of(frame["time"], frame["ended"], 182)
    pseudo = pseudo_observations(cells.counts(), cells.gaps).reshape(-1)[cells.cell]
    assert fit.estimate == pytest.approx(OLS(pseudo, x.to_numpy()).fit().params[1], abs=1e-9)

    rng = np.random.default_rng(5)
    groups = list(frame.groupby(["field", "sex", "treated"]).indices.values())
    loop = []
    for _ in range(400):
        rows = np.concatenate([rng.choice(g, size=len(g)) for g in groups])
        sample = frame.iloc[rows].reset_index(drop=True)
        c = Cells.of(sample["time"], sample["ended"], 182)
        y = pseudo_observations(c.counts(), c.gaps).reshape(-1)[c.cell]
        loop.append(OLS(y, design(sample["treated"].to_numpy(), sample[["field", "sex"]]).to_numpy()).fit().params[1])
    assert fit.replicates.std() == pytest.approx(np.std(loop), rel=0.12)
    assert fit.replicates.std() == pytest.approx(fit.se, rel=0.15)


def test_window_days_equal_a_day_by_day_count_and_its_se_a_person_bootstrap() -> None:
    rng = np.random.default_rng(1)
    n, window = 300, 50
    observed = rng.integers(10, 120, n)
    person, start, end = [], [], []
    for i in range(n):
        t = 0
        while t < observed[i]:
            a = min(t + int(rng.integers(0, 20)), observed[i])
            b = min(a + int(rng.integers(1, 30)), observed[i])
            if b > a:
                person.append(i), start.append(a), end.append(b)
            t = b + 1
    spans = BenefitSpans(np.array(person), np.array(start), np.array(end))
    fit = window_days(spans, observed, np.arange(n), window)
    on = np.zeros((n, window))
    seen = np.arange(window)[None, :] < np.minimum(observed, window)[:, None]
    for i, a, b in zip(person, start, end, strict=True):
        on[i, a : min(b, window)] = 1
    assert fit.estimate == pytest.approx(((on * seen).sum(0) / seen.sum(0)).sum(), abs=1e-9)
    assert fit.n_complete == int((observed >= window).sum())
    draws = []
    for _ in range(1500):
        pick = rng.integers(0, n, n)
        draws.append(((on[pick] * seen[pick]).sum(0) / seen[pick].sum(0)).sum())
    assert fit.se == pytest.approx(np.std(draws), rel=0.08)
    assert window_days(spans, observed, np.arange(n), 200).estimate is None  # day 199 is observed for nobody


def _trial_with_receipt(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Everyone followed past the horizon (no censoring); 70% of the treatment arm receive, and their spells are
    30% shorter; recommendations are shown on day 1, while everyone is still on benefit."""
    rng = np.random.default_rng(seed)
    origin = pd.Timestamp("2024-01-01")
    treated = rng.integers(0, 2, n)
    received = (treated == 1) & (rng.random(n) < 0.7)
    days = 2 + np.ceil(rng.exponential(np.where(received, 56, 80))).astype(int)
    ids = [f"p{i:05d}" for i in range(n)]
    allocations = pd.DataFrame({"person_id": ids, "arm": np.where(treated == 1, "treatment", "control"),
                                "stratum": "all", "randomised_on": origin})  # fmt: skip
    spells = pd.DataFrame({"person_id": ids, "start": origin, "end": origin + pd.to_timedelta(days, unit="D"),
                           "exit": "employment"})  # fmt: skip
    shown = pd.DataFrame({"person_id": np.array(ids)[received], "posting_id": "x", "rank": 1,
                          "shown_at": (origin + pd.Timedelta(days=1, hours=10)).isoformat()})  # fmt: skip
    return allocations, spells, shown, origin + pd.Timedelta(days=2000)


def test_complier_interval_agrees_with_the_robust_instrumental_variable_variance() -> None:
    """Without censoring the RMST is the mean of min(T, 182) and the complier effect is the Wald / 2SLS estimator;
    its robust variance is the sum over people of their squared influence, (Y − ȳ_arm − β (D − d̄_arm)) / (n_arm ΔD)."""
    allocations, spells, shown, as_of = _trial_with_receipt(2_000, seed=3)
    result = analyse(load_protocol(PROTOCOL), allocations, spells, as_of, bootstrap=2000, seed=4,
                     recommendations=shown)  # fmt: skip
    cace = result.effects.cace_benefit_days_saved
    y = np.minimum((spells["end"] - spells["start"]).dt.days.to_numpy(float), 182)
    d = allocations["person_id"].isin(shown["person_id"]).to_numpy().astype(float)
    arm = allocations["arm"].to_numpy() == "treatment"
    gap = d[arm].mean() - d[~arm].mean()
    beta = (y[~arm].mean() - y[arm].mean()) / gap
    assert cace.estimate == pytest.approx(beta, rel=1e-9)
    influence = np.concatenate([
        (y[m] - y[m].mean() - (-beta) * (d[m] - d[m].mean())) / (m.sum() * gap) for m in (arm, ~arm)
    ])
    assert cace.se == pytest.approx(math.sqrt(np.sum(influence**2)), rel=0.1)
    assert cace.ci[0] < beta < cace.ci[1]
