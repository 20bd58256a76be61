"""McCall's UnempDur spells through the analysis library: Kaplan-Meier medians and Cox coefficients (Efron ties).

Filing a UI claim plays the treatment arm; exit to a full-time job is the event, part-time and unknown jobs compete,
still jobless is censored. Each person's randomisation date is set so that the data cut falls on their spell's end.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trial.analysis import analyse
from trial.protocol import parse_protocol
from trial.results import AnalysisResult

DATA = Path(__file__).parent / "data"
AS_OF = pd.Timestamp("2021-12-31")
INTERVAL_DAYS = 14

PROTOCOL = """
id = "unempdur"
title = "Displaced workers' unemployment spells (McCall 1996)"
version = "1"
[eligibility]
[[arms]]
name = "ui_claim"
role = "treatment"
[[arms]]
name = "no_claim"
role = "control"
[randomisation]
block_sizes = [2]
[outcomes]
event_exits = ["fulltime"]
competing_exits = ["parttime", "unknown_job"]
horizon_days = 406
index_window_days = 0
[analysis]
covariates = ["age", "reprate", "disrate", "logwage", "tenure"]
subgroups = []
bootstrap = 0
"""


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    data = pd.read_csv(DATA / "unempdur.csv")
    ids = [f"u{i:04d}" for i in range(len(data))]
    days = pd.to_timedelta(data["spell"] * INTERVAL_DAYS, unit="D")
    origin = AS_OF - days
    allocations = pd.DataFrame(
        {"person_id": ids, "arm": np.where(data["ui"] == "yes", "ui_claim", "no_claim"), "randomised_on": origin}
    )
    for column in ("age", "reprate", "disrate", "logwage", "tenure"):
        allocations[column] = data[column]
    exit_name = np.select(
        [data["censor1"] == 1, data["censor2"] == 1, data["censor3"] == 1], ["fulltime", "parttime", "unknown_job"], ""
    )
    spells = pd.DataFrame(
        {"person_id": ids, "start": origin, "end": pd.Series(AS_OF, index=data.index).where(exit_name != ""),
         "exit": exit_name}
    )  # fmt: skip
    return analyse(parse_protocol(PROTOCOL), allocations, spells, AS_OF)


def test_kaplan_meier_medians(result: AnalysisResult) -> None:
    """R survival: survfit(Surv(spell, censor1) ~ ui, data = Ecdat::UnempDur) gives medians 9 (ui = no, n 1,495) and
    20 (ui = yes, n 1,848) two-week intervals."""
    assert result.arms["no_claim"].n == 1495
    assert result.arms["ui_claim"].n == 1848
    assert result.arms["no_claim"].median_days / INTERVAL_DAYS == pytest.approx(9)
    assert result.arms["ui_claim"].median_days / INTERVAL_DAYS == pytest.approx(20)


def test_cox_coefficients(result: AnalysisResult) -> None:
    """R survival: coxph(Surv(spell, censor1) ~ ui + age + reprate + disrate + logwage + tenure,
    data = Ecdat::UnempDur, ties = "efron") gives the coefficients and standard errors below (tests/data/README.md)."""
    coefficients = result.effects.hazard_ratio_adjusted.coefficients
    expected = {
        "treated": (-1.0348, 0.0646),
        "age": (-0.0118, 0.0033),
        "reprate": (1.3510, 0.4363),
        "disrate": (-1.7999, 0.5016),
        "logwage": (0.6094, 0.0936),
        "tenure": (0.0061, 0.0059),
    }
    for name, (coef, se) in expected.items():
        assert coefficients[name].coef == pytest.approx(coef, rel=5e-4, abs=5e-5), name
        assert coefficients[name].se == pytest.approx(se, rel=5e-4, abs=5e-5), name


def test_competing_exits_are_a_separate_state(result: AnalysisResult) -> None:
    """Aalen-Johansen incidences of all exits plus the all-cause survival add up to one at every time."""
    from lifelines import KaplanMeierFitter

    data = pd.read_csv(DATA / "unempdur.csv")
    arm = result.arms["ui_claim"]
    curves = result.curves.cif["ui_claim"]
    mine = data[data["ui"] == "yes"]
    any_exit = (mine[["censor1", "censor2", "censor3"]].sum(axis=1) > 0).to_numpy()
    km = KaplanMeierFitter().fit(mine["spell"] * INTERVAL_DAYS, any_exit)
    for t in (70.0, 140.0, 280.0):
        total = sum(c.cif[int(np.searchsorted(c.time, t, side="right")) - 1] for c in curves.values())
        assert total + float(km.predict(t)) == pytest.approx(1.0, abs=1e-12)
    assert arm.competing == int((mine["censor2"] + mine["censor3"]).sum())
    assert arm.employment_rate == pytest.approx(curves["fulltime"].cif[-1], rel=1e-12)
